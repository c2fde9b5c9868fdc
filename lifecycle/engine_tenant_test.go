package lifecycle_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/journey"
	"github.com/leadkit/leadkit/lifecycle"
	"github.com/leadkit/leadkit/pool"
	"github.com/leadkit/leadkit/scoring"
	"github.com/leadkit/leadkit/stage"
)

// forTenant returns parts whose stores are views of p's storage bound to
// tenant.
func (p *parts) forTenant(t *testing.T, tenant string) *parts {
	t.Helper()
	q := *p
	var err error
	q.events, err = p.events.(*journey.MemoryStore).ForTenant(tenant)
	require.NoError(t, err)
	q.states, err = p.states.(*lifecycle.MemoryStore).ForTenant(tenant)
	require.NoError(t, err)
	q.stages, err = p.stages.(*stage.MemoryStore).ForTenant(tenant)
	require.NoError(t, err)
	q.pstore, err = p.pstore.(*pool.MemoryStore).ForTenant(tenant)
	require.NoError(t, err)
	return &q
}

// Two tenants' engines over the same storage, fed the same event and lead
// IDs, keep apart: each scores, graduates and stages its own events only.
func TestEngineTenantsKeepApart(t *testing.T) {
	shared := newParts(t)
	acme, beta := shared.forTenant(t, "acme"), shared.forTenant(t, "beta")
	ea, eb := acme.engine(t, lifecycle.Options{}), beta.engine(t, lifecycle.Options{})
	assert.Equal(t, "acme", ea.Tenant())
	assert.Equal(t, "beta", eb.Tenant())

	// acme's L1 attends a webinar and downloads (70 points, not an MQL);
	// beta's L1, under the same event IDs, visits a page twice.
	_, err := ea.Ingest(ctx, ev("e1", "L1", "webinar_attended", t0), ev("e2", "L1", "download", t0.Add(hours(1))))
	require.NoError(t, err)
	_, err = eb.Ingest(ctx, ev("e1", "L1", "page_view", t0), ev("e2", "L1", "page_view", t0.Add(hours(1))))
	require.NoError(t, err)

	sa, err := acme.states.Get(ctx, "L1")
	require.NoError(t, err)
	sb, err := beta.states.Get(ctx, "L1")
	require.NoError(t, err)
	assert.Equal(t, 2, sa.Events)
	assert.Equal(t, 2, sb.Events)
	engagement := func(p *parts, st lifecycle.LeadState) float64 {
		evs, err := p.events.Events(ctx, "L1", time.Time{}, time.Time{})
		require.NoError(t, err)
		r, err := p.model.Score(scoring.Input{Lead: st.Lead, Events: evs, AsOf: now})
		require.NoError(t, err)
		d, ok := r.Dimension("engagement")
		require.True(t, ok)
		return d.Score
	}
	assert.Greater(t, engagement(acme, sa), engagement(beta, sb), "each tenant scores its own events")

	evs, err := beta.events.Events(ctx, "L1", time.Time{}, time.Time{})
	require.NoError(t, err)
	require.Len(t, evs, 2)
	assert.Equal(t, "page_view", evs[0].Type)
	_, err = shared.states.Get(ctx, "L1")
	assert.ErrorIs(t, err, leadkit.ErrNotFound, "the default tenant has no lead")
}

// An engine serves one tenant: stores bound to different tenants are
// refused at New, naming both tenants.
func TestEngineTenantMismatch(t *testing.T) {
	p := newParts(t)
	acmeStages, err := p.stages.(*stage.MemoryStore).ForTenant("acme")
	require.NoError(t, err)
	m, err := stage.New(stage.Classic(), stage.Options{Store: acmeStages})
	require.NoError(t, err)
	_, err = lifecycle.New(nil, p.model, m, journey.NewMemoryStore(), lifecycle.Options{Facts: map[string]string{"score": "total", "grade": "fit_band"}})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.Contains(t, err.Error(), `tenant "acme"`)
	assert.Contains(t, err.Error(), `tenant "default"`)
}
