package pool_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit/pool"
)

// A touch that happened before the graduation but arrived after it moves
// the graduation back to the first time the definition held; it never
// moves it forward, nor to a time the definition did not hold.
func TestBackdateMovesGraduationToWhenTheDefinitionHeld(t *testing.T) {
	p := newPool(t, pool.Policy{Conditions: []pool.Condition{{Name: "engaged", When: "prospect.touches_90d >= 3"}}})
	touch := func(id string, at time.Time) pool.Prospect {
		pr, _, err := p.Upsert(ctx, pool.Observation{ID: id, At: at, Touch: true, Identities: []pool.Identity{email("a@x.co")}})
		require.NoError(t, err)
		return pr
	}
	day := 24 * time.Hour
	touch("o1", t0)
	touch("o3", t0.Add(3*day))
	pr := touch("o9", t0.Add(9*day))
	g, ok, err := p.Qualify(ctx, pr.ID, t0.Add(9*day))
	require.NoError(t, err)
	require.True(t, ok)

	// Not graduated earlier on what the pool knew: two touches by day 3.
	_, ok, err = p.Backdate(ctx, pr.ID, t0.Add(3*day))
	require.NoError(t, err)
	assert.False(t, ok)

	// The day-2 touch arrives late: three touches by day 3.
	touch("o2", t0.Add(2*day))
	_, ok, err = p.Backdate(ctx, pr.ID, t0.Add(2*day))
	require.NoError(t, err)
	assert.False(t, ok, "two touches by day 2")
	back, ok, err := p.Backdate(ctx, pr.ID, t0.Add(3*day))
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, t0.Add(3*day), back.At)
	assert.Equal(t, g.LeadID, back.LeadID)
	assert.Equal(t, t0.Add(3*day), back.Lead.CreatedAt)
	got, err := p.Store().Get(ctx, pr.ID)
	require.NoError(t, err)
	assert.Equal(t, t0.Add(3*day), got.GraduatedAt)
	assert.Equal(t, pool.StatusGraduated, got.Status)

	_, ok, err = p.Backdate(ctx, pr.ID, t0.Add(5*day))
	require.NoError(t, err)
	assert.False(t, ok, "never forward")

	var active pool.Prospect
	for i, d := range []time.Duration{0, day, 2 * day, 3 * day} {
		active, _, err = p.Upsert(ctx, pool.Observation{ID: "b" + string(rune('0'+i)), At: t0.Add(d), Touch: true, Identities: []pool.Identity{email("b@x.co")}})
		require.NoError(t, err)
	}
	require.NotEqual(t, pr.ID, active.ID)
	require.Equal(t, pool.StatusActive, active.Status)
	_, ok, err = p.Backdate(ctx, active.ID, t0.Add(3*day))
	require.NoError(t, err)
	assert.False(t, ok, "a prospect that is not graduated")
}
