package pool_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/pool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSegmentsAndDormancy(t *testing.T) {
	p := newPool(t, pool.Policy{Segments: []pool.Condition{
		{Name: "saas", When: `company.industry == "software"`},
		{Name: "ai readers", When: `"ai" in prospect.tags`},
	}})
	for i := range 7 {
		obs := pool.Observation{ID: fmt.Sprintf("o%d", i), At: t0.Add(time.Duration(i) * 24 * time.Hour),
			Identities: []pool.Identity{email(fmt.Sprintf("p%d@acme.com", i))}, Touch: i%2 == 0}
		if i < 5 {
			obs.Company.Industry = "software"
		}
		if i%3 == 0 {
			obs.Tags = []string{"ai"}
		}
		if i == 4 {
			obs.Consent = &pool.Consent{OptedOut: true}
		}
		_, _, err := p.Upsert(ctx, obs)
		require.NoError(t, err)
	}
	// saas: p0..p4 (p001..p005), p4 opted out: 4 members, paged by 3.
	page, next, err := p.Segment(ctx, "saas", "", 3, time.Time{})
	require.NoError(t, err)
	assert.Len(t, page, 3)
	require.NotEmpty(t, next)
	rest, next, err := p.Segment(ctx, "saas", next, 3, time.Time{})
	require.NoError(t, err)
	assert.Len(t, rest, 1)
	assert.Empty(t, next)
	counts, err := p.SegmentCounts(ctx, time.Time{})
	require.NoError(t, err)
	assert.Equal(t, map[string]int{"saas": 4, "ai readers": 3}, counts) // p0, p3, p6
	_, _, err = p.Segment(ctx, "nope", "", 10, time.Time{})
	assert.ErrorIs(t, err, leadkit.ErrNotFound)
	_, _, err = p.Segment(ctx, "saas", "", 0, time.Time{})
	assert.ErrorIs(t, err, leadkit.ErrInvalid)

	// Dormant at t0+30d for 26 days: last activity (or join) on or before
	// day 4: p0 (day 0), p1 (day 1), p2 (day 2), p3 (day 3); p4 opted out.
	asOf := t0.Add(30 * 24 * time.Hour)
	d, _, err := p.Dormant(ctx, "", 26*24*time.Hour, "", 100, asOf)
	require.NoError(t, err)
	assert.Len(t, d, 4)
	d, _, err = p.Dormant(ctx, "ai readers", 26*24*time.Hour, "", 100, asOf)
	require.NoError(t, err)
	require.Len(t, d, 2, "p0 and p3")
}

func TestEraseAndReenter(t *testing.T) {
	p := newPool(t, pool.Policy{})
	pr, _, err := p.Upsert(ctx, pool.Observation{ID: "o1", At: t0, Identities: []pool.Identity{email("gone@acme.com")},
		Person: leadkit.Person{FirstName: "Gone"}, Source: pool.Source{Channel: "ads"}, Tags: []string{"x"}, Touch: true})
	require.NoError(t, err)
	e, err := p.Erase(ctx, pr.ID, t0.Add(time.Hour))
	require.NoError(t, err)
	assert.Equal(t, pool.StatusErased, e.Status)
	assert.Empty(t, e.Identities)
	assert.Equal(t, leadkit.Person{}, e.Person)
	assert.Empty(t, e.Tags)
	assert.Equal(t, "ads", e.Source.Channel, "anonymous facts remain")
	again, err := p.Erase(ctx, pr.ID, t0.Add(2*time.Hour))
	require.NoError(t, err)
	assert.Equal(t, e, again, "idempotent")
	// The identity seen again is a new prospect.
	n, res, err := p.Upsert(ctx, pool.Observation{ID: "o2", Identities: []pool.Identity{email("gone@acme.com")}})
	require.NoError(t, err)
	assert.True(t, res.Created)
	assert.NotEqual(t, pr.ID, n.ID)

	g, ok, err := p.Qualify(ctx, n.ID, time.Time{})
	require.NoError(t, err)
	require.True(t, ok)
	back, err := p.Reenter(ctx, n.ID, time.Time{})
	require.NoError(t, err)
	assert.Equal(t, pool.StatusActive, back.Status)
	assert.Equal(t, []string{g.LeadID}, back.PastLeads)
	_, err = p.Reenter(ctx, n.ID, time.Time{})
	assert.ErrorIs(t, err, leadkit.ErrInvalid, "only graduated prospects re-enter")
	_, ok, err = p.Qualify(ctx, n.ID, time.Time{})
	require.NoError(t, err)
	assert.True(t, ok, "it can graduate again")
}
