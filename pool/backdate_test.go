package pool_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit/pool"
)

// Observations that come out of order: the pool graduates on what it has
// when asked; a what-if pool fed them in time order shows the earlier
// time, and Backdate moves the graduation there. It never moves one
// forward, nor a prospect that is not graduated.
func TestBackdateAfterAWhatIfReplay(t *testing.T) {
	pol := pool.Policy{Conditions: []pool.Condition{{Name: "reachable", When: "prospect.has_email"}, {Name: "engaged", When: "prospect.touches_90d >= 2"}}}
	p := newPool(t, pol)
	day := 24 * time.Hour
	subj := pool.Identity{Kind: pool.Subject, Value: "v1"}
	obs := []pool.Observation{
		{ID: "pv", At: t0, Touch: true, Identities: []pool.Identity{subj}},
		{ID: "form", At: t0.Add(2 * day), Touch: true, Identities: []pool.Identity{subj, email("a@x.co")}},
		{ID: "pv2", At: t0.Add(5 * day), Touch: true, Identities: []pool.Identity{subj}},
	}
	// Arrival order: pv2, form (the pool graduates it at day 5, the first
	// time it is asked with two touches), then pv.
	var pr pool.Prospect
	for _, i := range []int{2, 1} {
		var err error
		pr, _, err = p.Upsert(ctx, obs[i])
		require.NoError(t, err)
	}
	g, ok, err := p.Qualify(ctx, pr.ID, t0.Add(5*day))
	require.NoError(t, err)
	require.True(t, ok)
	_, _, err = p.Upsert(ctx, obs[0])
	require.NoError(t, err)

	// What-if: in time order, the prospect qualifies at the form (day 2).
	w := p.WithStore(pool.NewMemoryStore())
	var when time.Time
	for _, o := range obs {
		wp, _, err := w.Upsert(ctx, o)
		require.NoError(t, err)
		if _, ok, err := w.Qualify(ctx, wp.ID, o.At); err != nil {
			require.NoError(t, err)
		} else if ok {
			when = o.At
			break
		}
	}
	require.Equal(t, t0.Add(2*day), when)
	live, err := p.Store().Get(ctx, pr.ID)
	require.NoError(t, err)
	assert.Equal(t, g.At, live.GraduatedAt, "the what-if pool writes nothing to the live one")

	back, ok, err := p.Backdate(ctx, pr.ID, when)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, when, back.At)
	assert.Equal(t, g.LeadID, back.LeadID)
	assert.Equal(t, when, back.Lead.CreatedAt)
	live, err = p.Store().Get(ctx, pr.ID)
	require.NoError(t, err)
	assert.Equal(t, when, live.GraduatedAt)
	assert.Equal(t, pool.StatusGraduated, live.Status)

	_, ok, err = p.Backdate(ctx, pr.ID, t0.Add(3*day))
	require.NoError(t, err)
	assert.False(t, ok, "never forward")

	other, _, err := p.Upsert(ctx, pool.Observation{ID: "b", At: t0, Identities: []pool.Identity{email("b@x.co")}})
	require.NoError(t, err)
	_, ok, err = p.Backdate(ctx, other.ID, t0)
	require.NoError(t, err)
	assert.False(t, ok, "a prospect that is not graduated")
	_, _, err = p.Backdate(ctx, other.ID, time.Date(-5000, 1, 1, 0, 0, 0, 0, time.UTC))
	assert.Error(t, err)
}
