package lifecycle_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/lifecycle"
	"github.com/leadkit/leadkit/scoring"
	"github.com/leadkit/leadkit/scoring/learn"
	"github.com/leadkit/leadkit/stage"
)

// TestScoreHistories: each lead's trajectory is the model's replay of its
// stored events, and the worked and outcome times its first reach of the
// stages, skipped ones included; the histories feed
// learn.RecommendThreshold directly.
func TestScoreHistories(t *testing.T) {
	p, e := verifyFixture(t)
	// Move old on to SAL and SQL, and import a lead straight into SQL: it
	// reached MQL (worked) when it entered SQL.
	_, err := p.machine.Fire(ctx, stage.Lead("old"), "accept", stage.Request{Actor: "ana", At: time.Date(2026, 3, 12, 0, 0, 0, 0, time.UTC)})
	require.NoError(t, err)
	_, err = p.machine.Fire(ctx, stage.Lead("old"), "qualify_sql", stage.Request{Actor: "bo", At: time.Date(2026, 3, 20, 0, 0, 0, 0, time.UTC)})
	require.NoError(t, err)
	imported := time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC)
	_, err = e.AddLead(ctx, leadkit.Lead{ID: "crm", CreatedAt: imported}, "SQL")
	require.NoError(t, err)

	got := map[string]lifecycle.ScoreHistory{}
	err = e.ScoreHistories(ctx, lifecycle.ScoreHistoryOptions{Dimension: "total", Worked: "MQL", Outcome: "SQL", AsOf: now}, func(h lifecycle.ScoreHistory) error {
		got[h.LeadID] = h
		return nil
	})
	require.NoError(t, err)
	assert.Len(t, got, 5, "old, new, cold, done and the imported lead")
	for id, h := range got {
		st, err := p.states.Get(ctx, id)
		require.NoError(t, err)
		evs, err := p.events.Events(ctx, id, time.Time{}, time.Time{})
		require.NoError(t, err)
		var want []scoring.ScorePoint
		if len(evs) > 0 {
			want, err = p.model.Trajectory(scoring.Input{Lead: st.Lead, Events: evs, AsOf: now}, "total")
			require.NoError(t, err)
		}
		assert.Equal(t, want, h.Scores, id)
	}
	mqlOld, err := p.machine.History(ctx, stage.Lead("old"))
	require.NoError(t, err)
	assert.Equal(t, mqlOld[1].At, got["old"].WorkedAt, "old's MQL entry")
	assert.Equal(t, time.Date(2026, 3, 20, 0, 0, 0, 0, time.UTC), got["old"].OutcomeAt)
	assert.Equal(t, imported, got["crm"].WorkedAt, "skipped MQL on its way to SQL: reached it then")
	assert.Equal(t, imported, got["crm"].OutcomeAt)
	assert.True(t, got["cold"].WorkedAt.IsZero())

	// Straight into the recommendation.
	var leads []learn.CapacityLead
	for _, id := range []string{"old", "new", "cold", "done", "crm"} {
		h := got[id]
		leads = append(leads, learn.CapacityLead{ID: h.LeadID, Scores: h.Scores, Worked: !h.WorkedAt.IsZero(), SQLAt: h.OutcomeAt})
	}
	r, err := learn.RecommendThreshold(learn.CapacitySpec{From: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC),
		Thresholds: []float64{50, 100}, Capacity: learn.SDRCapacity{SDRs: 1, CallsPerSDRPerDay: 10, CallsPerMQL: 1}}, leads)
	require.NoError(t, err)
	assert.Equal(t, 5, r.Leads)
	assert.Equal(t, 1, r.Unscored, "the import has no events: no score")

	// As of March 15: old reached SAL, not SQL yet; new (created March 10)
	// is a lead; the import (March 15, midnight) too, crm's SQL entry
	// included; a lead created later is none.
	mid := time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC)
	got = map[string]lifecycle.ScoreHistory{}
	err = e.ScoreHistories(ctx, lifecycle.ScoreHistoryOptions{Dimension: "total", Worked: "MQL", Outcome: "SQL", AsOf: mid}, func(h lifecycle.ScoreHistory) error {
		got[h.LeadID] = h
		return nil
	})
	require.NoError(t, err)
	assert.True(t, got["old"].OutcomeAt.IsZero(), "old reached SQL after AsOf")
	assert.False(t, got["old"].WorkedAt.IsZero())
	for _, sp := range got["new"].Scores {
		assert.False(t, sp.Time.After(mid), "no score after AsOf")
	}
	early := time.Date(2026, 2, 20, 0, 0, 0, 0, time.UTC)
	got = map[string]lifecycle.ScoreHistory{}
	err = e.ScoreHistories(ctx, lifecycle.ScoreHistoryOptions{Dimension: "total", Worked: "MQL", Outcome: "SQL", AsOf: early}, func(h lifecycle.ScoreHistory) error {
		got[h.LeadID] = h
		return nil
	})
	require.NoError(t, err)
	assert.NotContains(t, got, "new", "created in March, after AsOf")
	assert.Contains(t, got, "old")

	err = e.ScoreHistories(ctx, lifecycle.ScoreHistoryOptions{Dimension: "nope", Worked: "SQL", Outcome: "MQL"}, nil)
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.Contains(t, err.Error(), `dimension "nope"`)
	assert.Contains(t, err.Error(), `does not come after`)
	err = e.ScoreHistories(ctx, lifecycle.ScoreHistoryOptions{Dimension: "total", Worked: "nope", Outcome: "nada"}, nil)
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.Contains(t, err.Error(), `"nope"`)
	assert.Contains(t, err.Error(), `"nada"`)
	stop := fmt.Errorf("stop")
	err = e.ScoreHistories(ctx, lifecycle.ScoreHistoryOptions{Dimension: "total", Worked: "MQL", Outcome: "SQL"}, func(lifecycle.ScoreHistory) error { return stop })
	require.ErrorIs(t, err, stop)
}
