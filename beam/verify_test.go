package beam_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/textio"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	lkbeam "github.com/leadkit/leadkit/beam"
	"github.com/leadkit/leadkit/internal/simbiz"
	"github.com/leadkit/leadkit/journey"
	"github.com/leadkit/leadkit/lifecycle"
	"github.com/leadkit/leadkit/scoring"
	"github.com/leadkit/leadkit/sim"
	"github.com/leadkit/leadkit/stage"
)

func init() {
	register.Function1x2(tenantStageJSON)
	register.Function1x2(rejectedLeadJSON)
	register.Function1x2(rejectedJourneyJSON)
	register.Function1x2(rejectedVisitJSON)
}

func tenantStageJSON(v lkbeam.TenantStage) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

func rejectedLeadJSON(v lkbeam.RejectedLead) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

func rejectedJourneyJSON(v lkbeam.RejectedJourney) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

func rejectedVisitJSON(v lkbeam.Rejected) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

// business is a simulated business as a store would hold it: events,
// stage visits (each lead's Raw visit at its creation, then one per stage
// change) and lead records with their creation times.
type business struct {
	events []leadkit.Event
	visits []stage.Visit
	leads  []leadkit.Lead
}

func simBusiness(t *testing.T, seed uint64, leads int) business {
	t.Helper()
	s, err := sim.New(sim.Config{Seed: seed, Leads: leads})
	require.NoError(t, err)
	var b business
	for r := range s.Records() {
		switch r.Kind {
		case sim.KindEvent:
			b.events = append(b.events, r.Event)
		case sim.KindLead:
			b.leads = append(b.leads, leadkit.Lead{ID: r.Lead.ID, CreatedAt: r.Time})
			b.visits = append(b.visits, stage.Visit{LeadID: r.Lead.ID, Stage: sim.StageRaw, At: r.Time})
		case sim.KindStage:
			b.visits = append(b.visits, stage.Visit{LeadID: r.Stage.LeadID, Stage: r.Stage.To, At: r.Stage.At, Owner: r.Stage.Actor})
		}
	}
	return b
}

// verifyEngine is an engine over the classic stages with the simulated
// business's model, whose VerifyPlan gives the plans.
func verifyEngine(t *testing.T, stages []string) (*lifecycle.Engine, *stage.Machine) {
	t.Helper()
	spec, err := scoring.ParseModel([]byte(simbiz.Model))
	require.NoError(t, err)
	model, err := scoring.Compile(spec, scoring.Options{})
	require.NoError(t, err)
	machine, err := stage.New(stage.Classic(), stage.Options{})
	require.NoError(t, err)
	e, err := lifecycle.New(nil, model, machine, journey.NewMemoryStore(), lifecycle.Options{Facts: simbiz.Facts, Verify: lifecycle.VerifyOptions{
		Stages: stages, TouchTypes: []string{leadkit.EventPageView, leadkit.EventDownload, leadkit.EventWebinarAttended, leadkit.EventEmailClicked},
	}})
	require.NoError(t, err)
	return e, machine
}

// TestVerifyAggregatesOnPrism joins a simulated business's events,
// visits and lead records into journeys on Prism (shuffled, over several
// sources, with a few malformed inputs), runs the per-lead aggregates of
// lifecycle.Verify for the engine's stage plans (MQL, SAL, Won, and
// Recycled outside the funnel order, and MQL over the whole run, whose
// cycle times are past the summaries' exact threshold), and checks each against the
// library's function forms over the same data in one process (which
// lifecycle's tests check equal Verify's), byte for byte as JSON; the
// malformed inputs are the dead letters.
func TestVerifyAggregatesOnPrism(t *testing.T) {
	b := simBusiness(t, 3, 6000)
	e, machine := verifyEngine(t, []string{sim.StageMQL, sim.StageSAL, sim.StageWon, sim.StageRecycled})
	period := lifecycle.Period{From: time.Date(2025, 10, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2025, 11, 1, 0, 0, 0, 0, time.UTC)}
	plans, err := e.VerifyPlan(period)
	require.NoError(t, err)
	require.Len(t, plans, 4)
	// MQL over the whole run as well: past 1,024 leads its cycle times
	// are sketches, merged across the partial accumulators.
	all, err := e.VerifyPlan(lifecycle.Period{From: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)})
	require.NoError(t, err)
	plans = append(plans, all[0])
	order := machine.FunnelStages()
	// A lead that skips MQL (Raw straight to SAL in the period): it
	// reached MQL then, by stage.Reach, which Journeys applies with the
	// funnel order.
	june, oct := time.Date(2025, 6, 2, 0, 0, 0, 0, time.UTC), time.Date(2025, 10, 10, 0, 0, 0, 0, time.UTC)
	b.leads = append(b.leads, leadkit.Lead{ID: "skipper", CreatedAt: june})
	b.visits = append(b.visits, stage.Visit{LeadID: "skipper", Stage: sim.StageRaw, At: june}, stage.Visit{LeadID: "skipper", Stage: sim.StageSAL, At: oct})
	b.events = append(b.events, leadkit.Event{ID: "skipper-1", LeadID: "skipper", Type: leadkit.EventDownload, Channel: sim.ChannelContent, Content: "guide", Time: oct.Add(-time.Hour)})

	// In memory.
	created := map[string]time.Time{}
	for _, l := range b.leads {
		created[l.ID] = l.CreatedAt
	}
	reached, err := stage.Reach(b.visits, order)
	require.NoError(t, err)
	tls := timelinesOf(b.events)
	// The credit's function form is lifecycle's: one CreditAccumulator
	// over every lead's journey (lifecycle's tests check it is Verify's).
	js, err := journey.Journeys(tls, reached, created)
	require.NoError(t, err)
	var want []string
	sketched := 0
	for _, plan := range plans {
		r := lkbeam.TenantStage{Tenant: "acme", Stage: plan.Stage}
		r.Age, err = journey.SourceAge(tls, reached, created, plan.Stage, plan.Age)
		require.NoError(t, err)
		cycle := plan.Cycle
		cycle.Created = created
		r.Cycle, err = journey.CycleTimes(tls, reached, plan.Stage, cycle)
		require.NoError(t, err)
		r.Nurture, err = journey.NurturePower(tls, reached, plan.Stage, plan.Nurture)
		require.NoError(t, err)
		if plan.Phases != nil {
			r.Phases, err = journey.ContentPhases(tls, reached, created, plan.Stage, *plan.Phases)
			require.NoError(t, err)
			r.OldLeads, err = journey.OldLeadNurture(tls, reached, created, plan.Stage, *plan.OldLeads)
			require.NoError(t, err)
		}
		require.Positive(t, r.Age.Leads, plan.Stage)
		require.Positive(t, r.Cycle.Overall.N, plan.Stage)
		require.NotEmpty(t, r.Nurture, plan.Stage)
		credits, err := lifecycle.NewCreditAccumulator(plan.Stage, *plan.Attribution)
		require.NoError(t, err)
		for _, j := range js {
			require.NoError(t, credits.Add(j))
		}
		r.Attribution, r.Skipped, r.SkipReasons = credits.Result()
		require.Positive(t, r.Attribution[0].Result.TotalConversions(), plan.Stage)
		sketched = max(sketched, r.Cycle.Overall.N)
		line, err := json.Marshal(r)
		require.NoError(t, err)
		want = append(want, string(line))
	}
	slices.Sort(want)
	require.Greater(t, sketched, 1024, "the whole run's MQL cycle times are past the exact threshold")

	at := time.Date(2025, 10, 5, 0, 0, 0, 0, time.UTC)
	badEvents := []leadkit.Event{{ID: "no-lead", Type: leadkit.EventPageView, Time: at}}
	badVisits := []stage.Visit{{LeadID: b.leads[0].ID, Stage: "", At: at}}
	badLeads := []leadkit.Lead{{ID: "", CreatedAt: at}, {ID: "ancient", CreatedAt: time.Date(1200, 1, 1, 0, 0, 0, 0, time.UTC)}}

	for _, c := range []struct{ sources, fanout int }{{1, 1}, {3, 4}, {6, 16}} {
		t.Run(fmt.Sprintf("%d sources, fanout %d", c.sources, c.fanout), func(t *testing.T) {
			dir := t.TempDir()
			p, s := beam.NewPipelineWithRoot()
			rng := rand.New(rand.NewPCG(4, uint64(c.sources)))
			events := slices.Concat(b.events, badEvents)
			visits := slices.Concat(b.visits, badVisits)
			leads := slices.Concat(b.leads, badLeads)
			rng.Shuffle(len(events), func(i, j int) { events[i], events[j] = events[j], events[i] })
			rng.Shuffle(len(visits), func(i, j int) { visits[i], visits[j] = visits[j], visits[i] })
			out, err := lkbeam.Journeys(s, "acme", split(s, events, c.sources), split(s, visits, c.sources), split(s, leads, c.sources), lkbeam.JourneyOptions{Order: order})
			require.NoError(t, err)
			result, rejected, err := lkbeam.VerifyAggregates(s, plans, out.Journeys, lkbeam.FunnelOptions{Fanout: c.fanout})
			require.NoError(t, err)
			textio.Write(s, filepath.Join(dir, "result.jsonl"), beam.ParDo(s, tenantStageJSON, result))
			textio.Write(s, filepath.Join(dir, "events.jsonl"), beam.ParDo(s, rejectedEventJSON, out.RejectedEvents))
			textio.Write(s, filepath.Join(dir, "visits.jsonl"), beam.ParDo(s, rejectedVisitJSON, out.RejectedVisits))
			textio.Write(s, filepath.Join(dir, "leads.jsonl"), beam.ParDo(s, rejectedLeadJSON, out.RejectedLeads))
			textio.Write(s, filepath.Join(dir, "journeys.jsonl"), beam.ParDo(s, rejectedJourneyJSON, beam.Flatten(s, out.RejectedJourneys, rejected)))
			require.NoError(t, ptest.Run(p))

			assert.Equal(t, want, readLines(t, filepath.Join(dir, "result.jsonl")), "every plan's aggregates, the in-memory ones byte for byte")
			assert.Len(t, readLines(t, filepath.Join(dir, "events.jsonl")), 1)
			assert.Len(t, readLines(t, filepath.Join(dir, "visits.jsonl")), 1)
			deadLeads := readLines(t, filepath.Join(dir, "leads.jsonl"))
			require.Len(t, deadLeads, 2)
			assert.Contains(t, deadLeads[1], "outside leadkit's time range")
			assert.Empty(t, readLines(t, filepath.Join(dir, "journeys.jsonl")))
		})
	}
}

// split deals xs round-robin over n sources, flattened.
func split[T any](s beam.Scope, xs []T, n int) beam.PCollection {
	var parts []beam.PCollection
	for k := range n {
		var part []T
		for i := k; i < len(xs); i += n {
			part = append(part, xs[i])
		}
		parts = append(parts, beam.CreateList(s, part))
	}
	return beam.Flatten(s, parts...)
}

// TestVerifyAggregatesRefusesBadInput: no plans, a plan an accumulator
// refuses, or a bad tenant or order is an error at construction; a
// journey the accumulators would refuse (a visit of another lead, an
// event of another lead) is a dead letter, not a failed pipeline.
func TestVerifyAggregatesRefusesBadInput(t *testing.T) {
	p, s := beam.NewPipelineWithRoot()
	at := time.Date(2025, 10, 5, 0, 0, 0, 0, time.UTC)
	journeys := beam.CreateList(s, []lkbeam.TenantJourney{
		{Tenant: "acme", Journey: journey.LeadJourney{Timeline: journey.Timeline{LeadID: "a", Events: []leadkit.Event{{ID: "e", LeadID: "b", Type: "x", Time: at}}}}},
		{Tenant: "acme", Journey: journey.LeadJourney{Timeline: journey.Timeline{LeadID: "a"}, Visits: []stage.Visit{{LeadID: "b", Stage: "MQL", At: at}}}},
		{Tenant: "acme", Journey: journey.LeadJourney{Timeline: journey.Timeline{LeadID: "c"}, Visits: []stage.Visit{{LeadID: "c", Stage: "MQL", At: at}}}},
	})
	_, _, err := lkbeam.VerifyAggregates(s, nil, journeys, lkbeam.FunnelOptions{})
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
	_, _, err = lkbeam.VerifyAggregates(s, []lifecycle.StagePlan{{Stage: "MQL"}}, journeys, lkbeam.FunnelOptions{})
	assert.ErrorIs(t, err, leadkit.ErrInvalid, "source age needs From")
	empty := beam.CreateList(s, []leadkit.Event{})
	_, err = lkbeam.Journeys(s, "", empty, beam.CreateList(s, []stage.Visit{}), beam.CreateList(s, []leadkit.Lead{}), lkbeam.JourneyOptions{})
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
	_, err = lkbeam.Journeys(s, "acme", empty, beam.CreateList(s, []stage.Visit{}), beam.CreateList(s, []leadkit.Lead{}), lkbeam.JourneyOptions{Order: []string{"MQL", "MQL"}})
	assert.ErrorIs(t, err, leadkit.ErrInvalid)

	plans := []lifecycle.StagePlan{{Stage: "MQL", Age: journey.SourceAgeOptions{From: at.AddDate(0, 0, -5)}}}
	result, rejected, err := lkbeam.VerifyAggregates(s, plans, journeys, lkbeam.FunnelOptions{})
	require.NoError(t, err)
	dir := t.TempDir()
	textio.Write(s, filepath.Join(dir, "result.jsonl"), beam.ParDo(s, tenantStageJSON, result))
	textio.Write(s, filepath.Join(dir, "rejected.jsonl"), beam.ParDo(s, rejectedJourneyJSON, rejected))
	require.NoError(t, ptest.Run(p))
	dead := readLines(t, filepath.Join(dir, "rejected.jsonl"))
	require.Len(t, dead, 2)
	res := readLines(t, filepath.Join(dir, "result.jsonl"))
	require.Len(t, res, 1)
	var r lkbeam.TenantStage
	require.NoError(t, json.Unmarshal([]byte(res[0]), &r))
	assert.Equal(t, 1, r.Age.Leads, "only c's journey counted")
}
