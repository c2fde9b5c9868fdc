package storetest

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/journey"
	"github.com/leadkit/leadkit/lifecycle"
	"github.com/leadkit/leadkit/pool"
	"github.com/leadkit/leadkit/stage"
)

// tenantsOf returns two views of one store's storage bound to different
// tenants (the store's own and another), after checking that the store is
// tenant-scoped (leadkit.TenantScoped of its own type) and refuses bad
// tenant IDs. Every backend must keep tenants apart: the suites fail for a
// store without Tenant and ForTenant.
func tenantsOf[S any](t *testing.T, s S) (a, b S) {
	t.Helper()
	tenant, _ := tenantOf(t, s)
	require.NoError(t, leadkit.ValidateTenant(tenant), "the store's own tenant")
	other := "storetest-other"
	if tenant == other {
		other = "storetest-second"
	}
	for _, bad := range []string{"", "a b", "x'; --", strings.Repeat("t", leadkit.MaxTenantBytes+1), "é", ".", "..", "-x"} {
		_, err := forTenant(t, s, bad)
		assert.ErrorIsf(t, err, leadkit.ErrInvalid, "tenant %q", bad)
	}
	b, err := forTenant(t, s, other)
	require.NoError(t, err)
	got, _ := tenantOf(t, b)
	assert.Equal(t, other, got)
	return s, b
}

// tenantOf calls s.Tenant().
func tenantOf[S any](t *testing.T, s S) (string, bool) {
	t.Helper()
	ts, ok := any(s).(interface{ Tenant() string })
	require.Truef(t, ok, "%T has no Tenant method: every store is bound to a tenant (see leadkit.TenantScoped)", s)
	return ts.Tenant(), ok
}

// forTenant calls s.ForTenant(tenant), whose result is of the store's own
// type (see leadkit.TenantScoped), and returns it as an S.
func forTenant[S any](t *testing.T, s S, tenant string) (S, error) {
	t.Helper()
	var zero S
	m := reflect.ValueOf(s).MethodByName("ForTenant")
	require.Truef(t, m.IsValid(), "%T has no ForTenant method (see leadkit.TenantScoped)", s)
	mt := m.Type()
	require.Truef(t, mt.NumIn() == 1 && mt.In(0).Kind() == reflect.String && mt.NumOut() == 2 &&
		mt.Out(1) == reflect.TypeFor[error](), "%T.ForTenant is %v, want func(string) (%T, error)", s, mt, s)
	out := m.Call([]reflect.Value{reflect.ValueOf(tenant)})
	if err, _ := out[1].Interface().(error); err != nil {
		return zero, err
	}
	v, ok := out[0].Interface().(S)
	require.Truef(t, ok, "%T.ForTenant returns %v, which is not a %T", s, mt.Out(0), s)
	return v, nil
}

// back returns the view of b's storage bound to a's tenant again: it must
// see what a wrote (a view is the same storage, not a copy).
func back[S any](t *testing.T, a, b S) S {
	t.Helper()
	tenant, _ := tenantOf(t, a)
	again, err := forTenant(t, b, tenant)
	require.NoError(t, err)
	return again
}

// stageTenants: the same key in two tenants holds two records and two
// histories; neither tenant reads, lists, rewinds or conflicts with the
// other's.
func stageTenants(t *testing.T, s stage.Store) {
	ctx := context.Background()
	a, b := tenantsOf(t, s)
	k := key("p", "L1")
	ra, ea := change(k, 1, "", "Raw")
	require.NoError(t, a.Commit(ctx, ra, ea))
	ra2, ea2 := change(k, 2, "Raw", "MQL")
	require.NoError(t, a.Commit(ctx, ra2, ea2))
	_, err := b.Get(ctx, k)
	assert.ErrorIs(t, err, leadkit.ErrNotFound, "another tenant's record")
	h, err := b.History(ctx, k)
	require.NoError(t, err)
	assert.Empty(t, h, "another tenant's history")
	// The same key and version in b: no conflict with a's.
	rb, eb := change(k, 1, "", "Lead")
	require.NoError(t, b.Commit(ctx, rb, eb))
	got, err := b.Get(ctx, k)
	require.NoError(t, err)
	assert.Equal(t, "Lead", got.Stage)
	var listed []string
	require.NoError(t, b.Scan(ctx, "p", func(r stage.Record) error { listed = append(listed, r.Stage); return nil }))
	assert.Equal(t, []string{"Lead"}, listed, "a scan lists its own tenant's records only")
	require.NoError(t, b.Rewind(ctx, stage.Record{Key: k}, 1), "b removes its record")
	got, err = a.Get(ctx, k)
	require.NoError(t, err, "a's record stands")
	assert.Equal(t, int64(2), got.Version)
	h, err = back(t, a, b).History(ctx, k)
	require.NoError(t, err)
	assert.Len(t, h, 2, "the view bound to a's tenant again sees a's history")
}

// journeyTenants: the same event ID in two tenants is two events; neither
// tenant reads or lists the other's.
func journeyTenants(t *testing.T, s journey.Store) {
	ctx := context.Background()
	a, b := tenantsOf(t, s)
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	n, err := a.Append(ctx, leadkit.Event{ID: "e1", LeadID: "l1", Type: "form_submit", Content: "a's", Time: at},
		leadkit.Event{ID: "e2", LeadID: "only-a", Type: "page_view", Time: at})
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	n, err = b.Append(ctx, leadkit.Event{ID: "e1", LeadID: "l1", Type: "download", Content: "b's", Time: at.Add(time.Hour)})
	require.NoError(t, err)
	assert.Equal(t, 1, n, "an ID another tenant holds is new here")
	evs, err := b.Events(ctx, "l1", time.Time{}, time.Time{})
	require.NoError(t, err)
	require.Len(t, evs, 1)
	assert.Equal(t, "b's", evs[0].Content)
	evs, err = b.Events(ctx, "only-a", time.Time{}, time.Time{})
	require.NoError(t, err)
	assert.Empty(t, evs, "another tenant's lead")
	var leads []string
	require.NoError(t, b.ForEach(ctx, func(tl journey.Timeline) error { leads = append(leads, tl.LeadID); return nil }))
	assert.Equal(t, []string{"l1"}, leads)
	evs, err = back(t, a, b).Events(ctx, "l1", time.Time{}, time.Time{})
	require.NoError(t, err)
	require.Len(t, evs, 1)
	assert.Equal(t, "a's", evs[0].Content, "a's event is untouched")
}

// poolTenants: prospects, identities (unique per tenant) and observation
// marks of one tenant are invisible to another.
func poolTenants(t *testing.T, s pool.Store) {
	ctx := context.Background()
	a, b := tenantsOf(t, s)
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	p := func(id string, v int64, email string) pool.Prospect {
		return pool.Prospect{ID: id, Version: v, Status: pool.StatusActive, JoinedAt: at,
			Identities: []pool.Identity{{Kind: pool.Email, Value: email}}}
	}
	require.NoError(t, a.Apply(ctx, pool.Mark{ID: "o1", Hash: "h1"}, p("p1", 1, "a@x.co")))
	_, err := b.Get(ctx, "p1")
	assert.ErrorIs(t, err, leadkit.ErrNotFound, "another tenant's prospect")
	found, err := b.Find(ctx, []string{"email:a@x.co"})
	require.NoError(t, err)
	assert.Empty(t, found, "another tenant's identity")
	// The same ID, identity and observation in b: all new there.
	require.NoError(t, b.Apply(ctx, pool.Mark{ID: "o1", Hash: "other"}, p("p1", 1, "a@x.co")))
	require.NoError(t, b.Apply(ctx, pool.Mark{}, p("p2", 1, "b@x.co")))
	var ids []string
	require.NoError(t, b.Scan(ctx, func(p pool.Prospect) error { ids = append(ids, p.ID); return nil }))
	assert.Equal(t, []string{"p1", "p2"}, ids)
	a2 := back(t, a, b)
	found, err = a2.Find(ctx, []string{"email:a@x.co", "email:b@x.co"})
	require.NoError(t, err)
	require.Len(t, found, 1, "b's identity is not a's")
	assert.Equal(t, int64(1), found[0].Version)
	assert.ErrorIs(t, a2.Apply(ctx, pool.Mark{ID: "o1", Hash: "h1"}, p("p9", 1, "z@x.co")), pool.ErrSeen, "a's mark stands")
}

// lifecycleTenants: the same lead ID in two tenants holds two states.
func lifecycleTenants(t *testing.T, s lifecycle.Store, state func(id string, v int64) lifecycle.LeadState) {
	ctx := context.Background()
	a, b := tenantsOf(t, s)
	require.NoError(t, a.Put(ctx, state("L1", 1)))
	require.NoError(t, a.Put(ctx, state("L1", 2)))
	_, err := b.Get(ctx, "L1")
	assert.ErrorIs(t, err, leadkit.ErrNotFound, "another tenant's state")
	require.NoError(t, b.Put(ctx, state("L1", 1)), "the same lead and version in another tenant")
	var n int
	require.NoError(t, b.Scan(ctx, func(st lifecycle.LeadState) error { n++; assert.Equal(t, int64(1), st.Version); return nil }))
	assert.Equal(t, 1, n)
	got, err := back(t, a, b).Get(ctx, "L1")
	require.NoError(t, err)
	assert.Equal(t, int64(2), got.Version)
}
