package sim_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/attribution"
	"github.com/leadkit/leadkit/journey"
	"github.com/leadkit/leadkit/lifecycle"
	"github.com/leadkit/leadkit/scoring"
	"github.com/leadkit/leadkit/sim"
	"github.com/leadkit/leadkit/stage"
)

// simStages is the simulator's funnel as a stage definition with manual
// transitions only, one per target stage ("to_MQL"...): the engine never
// moves a lead by itself, and the simulator's stage changes are fired as
// they come.
func simStages() stage.Definition {
	return stage.Definition{
		Name:    "sim",
		Initial: sim.StageRaw,
		Stages: []stage.Stage{
			{Name: sim.StageRaw, Category: stage.Marketing},
			{Name: sim.StageMQL, Category: stage.Marketing},
			{Name: sim.StageSAL, Category: stage.Sales},
			{Name: sim.StageSQL, Category: stage.Sales},
			{Name: sim.StageOpportunity, Category: stage.Sales},
			{Name: sim.StageWon, Category: stage.Customer, Terminal: true},
			{Name: sim.StageLost, Category: stage.Closed},
			{Name: sim.StageRecycled, Category: stage.Recycled},
		},
		Transitions: []stage.Transition{
			{Name: "to_MQL", From: []string{sim.StageRaw, sim.StageRecycled}, To: sim.StageMQL},
			{Name: "to_SAL", From: []string{sim.StageMQL}, To: sim.StageSAL},
			{Name: "to_SQL", From: []string{sim.StageSAL}, To: sim.StageSQL},
			{Name: "to_Opportunity", From: []string{sim.StageSQL}, To: sim.StageOpportunity},
			{Name: "to_Won", From: []string{sim.StageOpportunity}, To: sim.StageWon},
			{Name: "to_Lost", From: []string{sim.StageOpportunity}, To: sim.StageLost},
			{Name: "to_Recycled", From: []string{sim.StageMQL, sim.StageSAL, sim.StageSQL}, To: sim.StageRecycled},
			{Name: "renurture", From: []string{sim.StageLost}, To: sim.StageRecycled}, // as in stage.Classic; the simulator never takes it
		},
	}
}

// TestVerifyOldLeadShare streams a simulated business through a
// lifecycle.Engine and holds Engine.Verify to the planted old-lead share.
//
// The engine cannot decide the simulator's MQLs itself: a simulated lead
// qualifies by a random draw on its planted conversion probability, at a
// time drawn apart from its touches (its age at MQL, old for the planted
// share) at which it has no event, while the engine records a stage
// change at the time of the event that caused it, from a score of the
// events. So the leads are imported at their creation (Engine.AddLead),
// their events ingested, and the simulator's stage changes fired on the
// engine's machine as manual transitions at their times, in stream order.
// Verify then reads the histories, the timelines and the creation times
// from the engine's stores.
//
// Without recycling every MQL is a first-time one, so each steady month's
// MQLs are a binomial sample of the planted share: Verify must count per
// month exactly the MQLs and old MQLs the Truth reports, and its old
// share over the steady months must lie within four binomial standard
// errors of the planted share.
func TestVerifyOldLeadShare(t *testing.T) {
	ctx := context.Background()
	zero := 0.0
	s, err := sim.New(sim.Config{Seed: 41, Leads: 6000, RecycleRate: &zero})
	require.NoError(t, err)
	cfg := s.Config()
	end := cfg.Start.AddDate(0, cfg.Months, 0)
	clock := func() time.Time { return end }
	age := time.Duration(cfg.OldLeadAge)

	spec, err := scoring.ParseModel([]byte(`
name: sim
dimensions:
  - name: engagement
    behavior:
      - {name: touch, types: [page_view, form_submitted, email_opened, email_clicked, download, webinar_registered, webinar_attended, offline_event], points: 1}
`))
	require.NoError(t, err)
	model, err := scoring.Compile(spec, scoring.Options{})
	require.NoError(t, err)
	machine, err := stage.New(simStages(), stage.Options{Now: clock})
	require.NoError(t, err)
	e, err := lifecycle.New(nil, model, machine, journey.NewMemoryStore(), lifecycle.Options{
		Now:     clock,
		Unknown: lifecycle.UnknownRefuse,
		Verify: lifecycle.VerifyOptions{
			Stages:  []string{sim.StageMQL},
			Buckets: []time.Duration{age},
			Keys:    []attribution.TouchKey{attribution.ByChannel},
		},
	})
	require.NoError(t, err)

	// Stream: events are ingested in batches, flushed before a stage
	// change of a lead with events waiting, so each lead's events and
	// stage changes reach the engine in time order.
	var batch []leadkit.Event
	waiting := map[string]bool{}
	flush := func() {
		if len(batch) == 0 {
			return
		}
		_, err := e.Ingest(ctx, batch...)
		require.NoError(t, err)
		batch = batch[:0]
		clear(waiting)
	}
	fired := 0
	for r := range s.Records() {
		switch r.Kind {
		case sim.KindLead:
			_, err := e.AddLead(ctx, *r.Lead, "")
			require.NoError(t, err)
		case sim.KindEvent:
			batch = append(batch, r.Event)
			waiting[r.Event.LeadID] = true
			if len(batch) == 5000 {
				flush()
			}
		case sim.KindStage:
			if waiting[r.Stage.LeadID] {
				flush()
			}
			_, err := machine.Fire(ctx, stage.Lead(r.Stage.LeadID), "to_"+r.Stage.To, stage.Request{At: r.Stage.At, Reason: r.Stage.Reason})
			require.NoError(t, err, "%+v", r.Stage)
			fired++
		}
	}
	flush()
	tr := s.Truth()
	require.Equal(t, tr.StageChanges, fired)

	old, all := 0, 0
	steady := 0
	for i, m := range tr.Months {
		v, err := e.Verify(ctx, lifecycle.Period{From: m.Month, To: m.Month.AddDate(0, 1, 0)})
		require.NoError(t, err)
		require.Equal(t, tr.Leads, v.Leads)
		require.Len(t, v.Stages, 1)
		a := v.Stages[0].Age
		require.Len(t, a.Buckets, 2)
		assert.Equal(t, m.MQLs, a.Leads, "month %d", i+1)
		assert.Equal(t, m.FirstTime, a.FirstTime, "month %d", i+1)
		assert.Equal(t, m.Repeat, a.Repeat, "month %d", i+1)
		assert.Equal(t, m.Old, a.Buckets[1].Leads, "month %d", i+1)
		assert.Zero(t, a.Unknown, "month %d", i+1)
		if m.Steady {
			steady++
			old += a.Buckets[1].Leads
			all += a.Leads
		}
	}
	require.Positive(t, all)
	p := tr.Effects.OldLeadShare
	share := float64(old) / float64(all)
	se := math.Sqrt(p * (1 - p) / float64(all))
	t.Logf("%d leads, %d stage changes; %d steady months: %d MQLs, %d old: share %.4f, planted %.2f, se %.4f, z %.2f",
		tr.Leads, fired, steady, all, old, share, p, se, (share-p)/se)
	assert.InDelta(t, p, share, 4*se, "old share %.4f of %d steady-month MQLs", share, all)
}
