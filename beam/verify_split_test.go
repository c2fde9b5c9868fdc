package beam

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/simbiz"
	"github.com/leadkit/leadkit/journey"
	"github.com/leadkit/leadkit/lifecycle"
	"github.com/leadkit/leadkit/scoring"
	"github.com/leadkit/leadkit/sim"
	"github.com/leadkit/leadkit/stage"
)

func splitJourneysAndPlans(t *testing.T) ([]journey.LeadJourney, []lifecycle.StagePlan) {
	s, err := sim.New(sim.Config{Seed: 7, Leads: 3000})
	require.NoError(t, err)
	var events []leadkit.Event
	var visits []stage.Visit
	created := map[string]time.Time{}
	for r := range s.Records() {
		switch r.Kind {
		case sim.KindEvent:
			events = append(events, r.Event)
		case sim.KindLead:
			created[r.Lead.ID] = r.Time
			visits = append(visits, stage.Visit{LeadID: r.Lead.ID, Stage: sim.StageRaw, At: r.Time})
		case sim.KindStage:
			visits = append(visits, stage.Visit{LeadID: r.Stage.LeadID, Stage: r.Stage.To, At: r.Stage.At, Owner: r.Stage.Actor})
		}
	}
	spec, err := scoring.ParseModel([]byte(simbiz.Model))
	require.NoError(t, err)
	model, err := scoring.Compile(spec, scoring.Options{})
	require.NoError(t, err)
	machine, err := stage.New(stage.Classic(), stage.Options{})
	require.NoError(t, err)
	e, err := lifecycle.New(nil, model, machine, journey.NewMemoryStore(), lifecycle.Options{Facts: simbiz.Facts, Verify: lifecycle.VerifyOptions{
		Stages:     []string{sim.StageMQL, sim.StageSAL, sim.StageWon, sim.StageRecycled},
		TouchTypes: []string{leadkit.EventPageView, leadkit.EventDownload, leadkit.EventWebinarAttended, leadkit.EventEmailClicked},
		Values:     map[string]lifecycle.Value{sim.StageWon: {Types: []string{"deal_won"}, Attr: "amount"}},
	}})
	require.NoError(t, err)
	plans, err := e.VerifyPlan(lifecycle.Period{From: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)})
	require.NoError(t, err)
	reached, err := stage.Reach(visits, machine.FunnelStages())
	require.NoError(t, err)
	byLead := map[string][]leadkit.Event{}
	for _, ev := range events {
		if ev.Validate() == nil {
			byLead[ev.LeadID] = append(byLead[ev.LeadID], ev)
		}
	}
	var tls []journey.Timeline
	for id, evs := range byLead {
		tls = append(tls, journey.NewTimeline(id, evs))
	}
	js, err := journey.Journeys(tls, reached, created)
	require.NoError(t, err)
	// Duplicated lead records (the same lead ID twice, one with a deal
	// whose amount is not a number): they meet in one shard, in any order.
	n := len(js)
	for i := 0; i < n; i += 97 {
		d := js[i]
		d.Events = append(append([]leadkit.Event(nil), d.Events...), leadkit.Event{ID: "dup-" + d.LeadID, LeadID: d.LeadID, Type: "deal_won", Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Attrs: map[string]any{"amount": fmt.Sprint("n", i%5)}})
		d.Visits = append(append([]stage.Visit(nil), d.Visits...), stage.Visit{LeadID: d.LeadID, Stage: sim.StageWon, At: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
		js = append(js, d)
	}
	return js, plans
}

func splitResults(t *testing.T, a *verifyAccumulator) string {
	b, err := json.Marshal(a.results())
	require.NoError(t, err)
	return string(b)
}

// Any order of adds, any split into partial accumulators (through their
// encoding), any order of merges: the same results, byte for byte.
func TestVerifyAnySplit(t *testing.T) {
	js, plans := splitJourneysAndPlans(t)
	anySplit(t, js, plans, false)
}

// The same with a tenant past the nurture keys cap only with all its
// leads: some splits refuse a lead, others a merge.
func TestVerifyAnySplitCapped(t *testing.T) {
	js, plans := splitJourneysAndPlans(t)
	big := journey.LeadJourney{Timeline: journey.Timeline{LeadID: "big"}}
	at := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	for i := range journey.MaxNurtureKeys - 3 {
		big.Events = append(big.Events, leadkit.Event{ID: fmt.Sprint("big", i), LeadID: "big", Type: leadkit.EventEmailClicked, Content: fmt.Sprint("k", i), Time: at.Add(time.Duration(i) * time.Second)})
	}
	js = append(js, big)
	anySplit(t, js, plans, true)
}

func anySplit(t *testing.T, js []journey.LeadJourney, plans []lifecycle.StagePlan, capped bool) {
	for _, j := range js {
		require.NoError(t, checkJourney("x", TenantJourney{Tenant: "acme", Journey: j}))
	}
	var err error
	one, err := newVerifyAccumulator(plans)
	require.NoError(t, err)
	for _, j := range js {
		one.add(j)
	}
	want := splitResults(t, one)
	if capped {
		require.Contains(t, want, `"error"`)
	} else {
		require.NotContains(t, want, `"error"`)
	}
	if !capped {
		require.Contains(t, want, `"skip_reasons"`, "some journeys skipped")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 8 {
		order := rng.Perm(len(js))
		k := 1 + rng.IntN(24)
		parts := make([]*verifyAccumulator, k)
		for i := range parts {
			parts[i], err = newVerifyAccumulator(plans)
			require.NoError(t, err)
		}
		for _, i := range order {
			parts[rng.IntN(k)].add(js[i])
		}
		for i, p := range parts {
			b, err := encodeVerifyAccumulator(p)
			require.NoError(t, err)
			parts[i], err = decodeVerifyAccumulator(b)
			require.NoError(t, err, "trial %d: a partial decodes", trial)
		}
		for len(parts) > 1 {
			i, j := rng.IntN(len(parts)), rng.IntN(len(parts)-1)
			if j >= i {
				j++
			}
			require.NoError(t, parts[i].merge(parts[j]))
			b, err := encodeVerifyAccumulator(parts[i])
			require.NoError(t, err)
			parts[i], err = decodeVerifyAccumulator(b)
			require.NoError(t, err, "trial %d: a merged accumulator decodes", trial)
			parts = append(parts[:j], parts[j+1:]...)
		}
		final, err := newVerifyAccumulator(plans)
		require.NoError(t, err)
		require.NoError(t, final.merge(parts[0]))
		assert.Equal(t, want, splitResults(t, final), "trial %d: %d shards", trial, k)
	}
}
