package beam_test

import (
	"cmp"
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
	"github.com/leadkit/leadkit/journey"
	"github.com/leadkit/leadkit/sim"
	"github.com/leadkit/leadkit/stage"
)

func init() {
	register.Function1x2(tenantGoldenPathsJSON)
}

func tenantGoldenPathsJSON(v lkbeam.TenantGoldenPaths) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

// canonicalTimelines groups valid events by lead into timelines sorted as
// Journeys sorts them (by time, then ID, type, channel, campaign and
// content), so that same-time events are in the same order.
func canonicalTimelines(events []leadkit.Event) []journey.Timeline {
	tls := timelinesOf(events)
	for _, tl := range tls {
		slices.SortFunc(tl.Events, func(a, b leadkit.Event) int {
			return cmp.Or(a.Time.Compare(b.Time), cmp.Compare(a.ID, b.ID), cmp.Compare(a.Type, b.Type),
				cmp.Compare(a.Channel, b.Channel), cmp.Compare(a.Campaign, b.Campaign), cmp.Compare(a.Content, b.Content))
		})
	}
	return tls
}

// goldenWant is the in-memory golden paths of a business's journeys, as
// journey.Journeys makes them (every lead a timeline, a visit or a lead
// record names), for each spec, as JSON lines.
func goldenWant(t *testing.T, tenant string, b business, order []string, specs []lkbeam.GoldenSpec) []string {
	t.Helper()
	created := map[string]time.Time{}
	for _, l := range b.leads {
		created[l.ID] = l.CreatedAt
	}
	var visits []stage.Visit
	for _, v := range b.visits {
		if v.Validate() == nil {
			visits = append(visits, v)
		}
	}
	reached, err := stage.Reach(visits, order)
	require.NoError(t, err)
	js, err := journey.Journeys(canonicalTimelines(b.events), reached, created)
	require.NoError(t, err)
	var tls []journey.Timeline
	var vs []stage.Visit
	for _, j := range js {
		tls = append(tls, j.Timeline)
		vs = append(vs, j.Visits...)
	}
	var want []string
	for _, spec := range specs {
		conv, other, err := journey.ConversionPaths(tls, vs, spec.Stage, spec.Key)
		require.NoError(t, err)
		r := lkbeam.TenantGoldenPaths{Tenant: tenant, Stage: spec.Stage}
		r.Paths, err = journey.GoldenPaths(conv, other, spec.Patterns)
		if err != nil {
			r.Error = err.Error()
		} else {
			require.NotEmpty(t, r.Paths, "%s: a test with paths", spec.Stage)
		}
		line, err := json.Marshal(r)
		require.NoError(t, err)
		want = append(want, string(line))
	}
	return want
}

// TestGoldenPathsOnPrism joins two tenants' simulated businesses into
// journeys on Prism (inputs shuffled, over 1 and several sources, with
// malformed events and visits, and journeys no Journeys makes), mines
// each tenant's golden paths into MQL by channel, into SAL by content and
// into Won with a MaxPatterns too low (an error in the result), and
// checks each against journey.GoldenPaths over journey.ConversionPaths of
// the same journeys in one process, byte for byte as JSON; the malformed
// inputs are the dead letters.
func TestGoldenPathsOnPrism(t *testing.T) {
	machine, err := stage.New(stage.Classic(), stage.Options{})
	require.NoError(t, err)
	order := machine.FunnelStages()
	tenants := []struct {
		name string
		b    business
	}{{"acme", simBusiness(t, 3, 1500)}, {"globex", simBusiness(t, 8, 600)}}
	specs := []lkbeam.GoldenSpec{
		{Stage: sim.StageMQL, Key: journey.KeyChannel, Patterns: journey.PatternOptions{MinSupport: 15, MaxLength: 3, CollapseRepeats: true}},
		{Stage: sim.StageSAL, Key: journey.KeyContent, Patterns: journey.PatternOptions{MinSupport: 10, MaxLength: 2}},
		{Stage: sim.StageWon, Key: journey.KeyType, Patterns: journey.PatternOptions{MinSupport: 1, MaxPatterns: 5}},
	}
	var want []string
	for _, tn := range tenants {
		want = append(want, goldenWant(t, tn.name, tn.b, order, specs)...)
	}
	slices.Sort(want)
	assert.Contains(t, fmt.Sprint(want), "more than 5 patterns")

	at := time.Date(2025, 10, 5, 0, 0, 0, 0, time.UTC)
	badEvents := []leadkit.Event{{ID: "no-lead", Type: leadkit.EventPageView, Time: at}}
	badVisits := []stage.Visit{{LeadID: tenants[0].b.leads[0].ID, Stage: "", At: at}}
	badJourneys := []lkbeam.TenantJourney{
		{Tenant: "acme", Journey: journey.LeadJourney{Timeline: journey.Timeline{LeadID: "a", Events: []leadkit.Event{{ID: "e", LeadID: "b", Type: "x", Time: at}}}}},
		{Tenant: "acme", Journey: journey.LeadJourney{Timeline: journey.Timeline{LeadID: "a"}, Visits: []stage.Visit{{LeadID: "b", Stage: sim.StageMQL, At: at}}}},
		{Tenant: "", Journey: journey.LeadJourney{Timeline: journey.Timeline{LeadID: "c"}, Visits: []stage.Visit{{LeadID: "c", Stage: sim.StageMQL, At: at}}}},
		{Tenant: "acme", Journey: journey.LeadJourney{Timeline: journey.Timeline{LeadID: ""}}},
	}

	for _, c := range []struct{ sources, fanout int }{{1, 1}, {5, 16}} {
		t.Run(fmt.Sprintf("%d sources, fanout %d", c.sources, c.fanout), func(t *testing.T) {
			dir := t.TempDir()
			p, s := beam.NewPipelineWithRoot()
			rng := rand.New(rand.NewPCG(7, uint64(c.sources)))
			var journeys, deadEvents, deadVisits, deadJourneys []beam.PCollection
			for i, tn := range tenants {
				events, visits, leads := slices.Clone(tn.b.events), slices.Clone(tn.b.visits), slices.Clone(tn.b.leads)
				if i == 0 {
					events, visits = append(events, badEvents...), append(visits, badVisits...)
				}
				rng.Shuffle(len(events), func(i, j int) { events[i], events[j] = events[j], events[i] })
				rng.Shuffle(len(visits), func(i, j int) { visits[i], visits[j] = visits[j], visits[i] })
				rng.Shuffle(len(leads), func(i, j int) { leads[i], leads[j] = leads[j], leads[i] })
				out, err := lkbeam.Journeys(s, tn.name, split(s, events, c.sources), split(s, visits, c.sources), split(s, leads, c.sources), lkbeam.JourneyOptions{Order: order})
				require.NoError(t, err)
				journeys = append(journeys, out.Journeys)
				deadEvents = append(deadEvents, out.RejectedEvents)
				deadVisits = append(deadVisits, out.RejectedVisits)
				deadJourneys = append(deadJourneys, out.RejectedJourneys)
			}
			journeys = append(journeys, beam.CreateList(s, badJourneys))
			all := beam.Flatten(s, journeys...)
			var results []beam.PCollection
			for _, spec := range specs {
				result, rejected, err := lkbeam.GoldenPaths(s, spec, all, lkbeam.FunnelOptions{Fanout: c.fanout})
				require.NoError(t, err)
				results = append(results, result)
				if spec.Stage == sim.StageMQL {
					deadJourneys = append(deadJourneys, rejected)
				}
			}
			textio.Write(s, filepath.Join(dir, "result.jsonl"), beam.ParDo(s, tenantGoldenPathsJSON, beam.Flatten(s, results...)))
			textio.Write(s, filepath.Join(dir, "events.jsonl"), beam.ParDo(s, rejectedEventJSON, beam.Flatten(s, deadEvents...)))
			textio.Write(s, filepath.Join(dir, "visits.jsonl"), beam.ParDo(s, rejectedVisitJSON, beam.Flatten(s, deadVisits...)))
			textio.Write(s, filepath.Join(dir, "journeys.jsonl"), beam.ParDo(s, rejectedJourneyJSON, beam.Flatten(s, deadJourneys...)))
			require.NoError(t, ptest.Run(p))

			got := readLines(t, filepath.Join(dir, "result.jsonl"))
			require.Len(t, got, len(want))
			for i := range want {
				assert.Equal(t, want[i], got[i], "golden paths %d, the in-memory ones byte for byte", i)
			}
			assert.Len(t, readLines(t, filepath.Join(dir, "events.jsonl")), 1)
			assert.Len(t, readLines(t, filepath.Join(dir, "visits.jsonl")), 1)
			dead := readLines(t, filepath.Join(dir, "journeys.jsonl"))
			require.Len(t, dead, len(badJourneys))
			var reasons []string
			for _, line := range dead {
				var r lkbeam.RejectedJourney
				require.NoError(t, json.Unmarshal([]byte(line), &r))
				require.NotEmpty(t, r.Reason)
				reasons = append(reasons, r.Reason)
			}
			assert.Contains(t, fmt.Sprint(reasons), "tenant is empty")
			assert.Contains(t, fmt.Sprint(reasons), `a visit of lead "b" in the journey of "a"`)
		})
	}
}

// TestGoldenPathsRefusesBadSpec: no stage, an unknown key or pattern
// options the accumulator refuses are errors at construction.
func TestGoldenPathsRefusesBadSpec(t *testing.T) {
	_, s := beam.NewPipelineWithRoot()
	journeys := beam.CreateList(s, []lkbeam.TenantJourney{})
	for name, spec := range map[string]lkbeam.GoldenSpec{
		"no stage":      {Key: journey.KeyChannel},
		"bad stage":     {Stage: "MQL\x00", Key: journey.KeyChannel},
		"no key":        {Stage: "MQL"},
		"unknown key":   {Stage: "MQL", Key: "colour"},
		"max gap":       {Stage: "MQL", Key: journey.KeyChannel, Patterns: journey.PatternOptions{MaxGap: time.Hour}},
		"negative":      {Stage: "MQL", Key: journey.KeyChannel, Patterns: journey.PatternOptions{MinSupport: -1}},
		"negative caps": {Stage: "MQL", Key: journey.KeyChannel, Patterns: journey.PatternOptions{MaxPatterns: -1}},
	} {
		_, _, err := lkbeam.GoldenPaths(s, spec, journeys, lkbeam.FunnelOptions{})
		assert.ErrorIs(t, err, leadkit.ErrInvalid, name)
	}
	_, _, err := lkbeam.GoldenPaths(s, lkbeam.GoldenSpec{Stage: "MQL", Key: journey.KeyChannel}, journeys, lkbeam.FunnelOptions{})
	assert.NoError(t, err)
}

// TestTenantGoldenPathsJSON: the result type round-trips through JSON,
// byte for byte.
func TestTenantGoldenPathsJSON(t *testing.T) {
	for _, v := range []lkbeam.TenantGoldenPaths{
		{Tenant: "acme", Stage: "MQL", Paths: []journey.GoldenPath{{Items: []string{"web", "email"}, Converted: 3, Other: 7, Confidence: 0.3, Lift: 1.0 / 3}}},
		{Tenant: "acme", Stage: "MQL", Paths: []journey.GoldenPath{}},
		{Tenant: "acme", Stage: "MQL", Error: "journey: patterns: too many"},
	} {
		b, err := json.Marshal(v)
		require.NoError(t, err)
		var back lkbeam.TenantGoldenPaths
		require.NoError(t, json.Unmarshal(b, &back))
		assert.Equal(t, v, back)
		b2, err := json.Marshal(back)
		require.NoError(t, err)
		assert.Equal(t, string(b), string(b2))
	}
}

// TestGoldenPathsIgnoreSequenceOrder: journey.GoldenPaths gives the same
// result whatever the order of the sequences (the miner counts a
// multiset; ties rank by items), which is why the per-shard accumulators
// can meet in any order; and so does the accumulator, which GoldenPaths
// merges.
func TestGoldenPathsIgnoreSequenceOrder(t *testing.T) {
	b := simBusiness(t, 11, 800)
	machine, err := stage.New(stage.Classic(), stage.Options{})
	require.NoError(t, err)
	reached, err := stage.Reach(b.visits, machine.FunnelStages())
	require.NoError(t, err)
	conv, other, err := journey.ConversionPaths(canonicalTimelines(b.events), reached, sim.StageMQL, journey.KeyChannel)
	require.NoError(t, err)
	opts := journey.PatternOptions{MinSupport: 5, MaxLength: 3}
	want, err := journey.GoldenPaths(conv, other, opts)
	require.NoError(t, err)
	require.NotEmpty(t, want)
	rng := rand.New(rand.NewPCG(1, 2))
	for range 5 {
		rng.Shuffle(len(conv), func(i, j int) { conv[i], conv[j] = conv[j], conv[i] })
		rng.Shuffle(len(other), func(i, j int) { other[i], other[j] = other[j], other[i] })
		got, err := journey.GoldenPaths(conv, other, opts)
		require.NoError(t, err)
		require.Equal(t, want, got)
		c, err := journey.NewPatternAccumulator(opts)
		require.NoError(t, err)
		o, err := journey.NewPatternAccumulator(opts)
		require.NoError(t, err)
		for _, s := range conv {
			require.NoError(t, c.Add(s))
		}
		for _, s := range other {
			require.NoError(t, o.Add(s))
		}
		got, err = c.GoldenPaths(o)
		require.NoError(t, err)
		require.Equal(t, want, got)
	}
}
