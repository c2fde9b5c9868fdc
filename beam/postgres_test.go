package beam_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	lkbeam "github.com/leadkit/leadkit/beam"
	"github.com/leadkit/leadkit/journey"
	"github.com/leadkit/leadkit/pool"
	"github.com/leadkit/leadkit/postgres"
	"github.com/leadkit/leadkit/sim"
)

// pgSchema connects to LEADKIT_PG_DSN (or skips) and makes a schema and a
// login role of their own for one test, dropped after it: the DSN, the
// owner's database, the role and the table prefix in the schema.
func pgSchema(t *testing.T) (dsn string, owner *sql.DB, role, prefix string) {
	t.Helper()
	dsn = os.Getenv("LEADKIT_PG_DSN")
	if dsn == "" {
		t.Skip("LEADKIT_PG_DSN is not set")
	}
	ctx := context.Background()
	owner, err := sql.Open("pgx", dsn)
	require.NoError(t, err)
	t.Cleanup(func() { owner.Close() })
	n := rand.Uint32()
	schema := fmt.Sprintf("beamio_%d", n)
	role = fmt.Sprintf("beamio_reader_%d", n)
	_, err = owner.ExecContext(ctx, `CREATE SCHEMA `+schema)
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = owner.Exec(`DROP SCHEMA ` + schema + ` CASCADE`) })
	_, err = owner.ExecContext(ctx, `CREATE ROLE `+role+` LOGIN`)
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = owner.Exec(`DROP OWNED BY ` + role + `; DROP ROLE ` + role) })
	return dsn, owner, role, schema + ".leadkit_"
}

// TestReadPostgresOnPrism writes the events of a simulated business
// through postgres.JourneyStore into two tenants' rows of a fresh schema,
// reads one tenant with ReadPostgres on Prism, connected as a role
// without BYPASSRLS (so the tables' row-level security is what keeps the
// other tenant out), and checks that the events are the ones the store
// returns for that tenant, and that the journey funnel of Timelines and
// JourneyFunnel over them equals journey.Funnel over the store's
// timelines. It needs a server: set LEADKIT_PG_DSN (scripts/pg.sh starts
// one).
func TestReadPostgresOnPrism(t *testing.T) {
	ctx := context.Background()
	dsn, owner, role, prefix := pgSchema(t)

	// The tenant's events, written as the application does, and another
	// tenant's under the same IDs.
	s0, err := sim.New(sim.Config{Seed: 3, Leads: 1100})
	require.NoError(t, err)
	events := slices.Collect(s0.Events())
	acme, err := postgres.NewJourneyStore(ctx, postgres.SQL(owner), postgres.Options{Tenant: "acme", TablePrefix: prefix})
	require.NoError(t, err)
	added, err := acme.Append(ctx, events...)
	require.NoError(t, err)
	require.Equal(t, len(events), added)
	other, err := acme.ForTenant("other")
	require.NoError(t, err)
	_, err = other.Append(ctx, events[:50]...)
	require.NoError(t, err)
	_, err = other.Append(ctx, leadkit.Event{ID: "only-other", LeadID: "x", Type: "page_view", Time: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)})
	require.NoError(t, err)
	require.NoError(t, postgres.Grant(ctx, postgres.SQL(owner), role, postgres.Options{TablePrefix: prefix}))

	// What the store returns for the tenant.
	var stored []leadkit.Event
	var tls []journey.Timeline
	require.NoError(t, acme.ForEach(ctx, func(tl journey.Timeline) error {
		stored = append(stored, tl.Events...)
		tls = append(tls, tl)
		return nil
	}))
	require.Len(t, stored, len(events))
	spec := journey.FunnelSpec{
		Steps: []journey.Step{
			{Name: "engaged", Types: []string{leadkit.EventPageView, leadkit.EventDownload, leadkit.EventWebinarAttended}},
			{Name: "form", Types: []string{leadkit.EventFormSubmitted}},
			{Name: "deal", Types: []string{sim.EventDealWon}},
		},
		Window: 180 * 24 * time.Hour,
	}
	want, err := journey.Funnel(spec, tls)
	require.NoError(t, err)
	require.Equal(t, 1100, want.Leads, "three pages of ForEach")

	out := t.TempDir()
	p, s := beam.NewPipelineWithRoot()
	got, err := lkbeam.ReadPostgres(s, lkbeam.PostgresSource{
		DSN:         strings.Replace(dsn, "postgres@", role+"@", 1),
		Tenant:      "acme",
		TablePrefix: prefix,
	})
	require.NoError(t, err)
	lkbeam.WriteJSON(s, filepath.Join(out, "events.jsonl"), got)
	timelines, _, err := lkbeam.Timelines(s, "acme", got)
	require.NoError(t, err)
	funnel, _, err := lkbeam.JourneyFunnel(s, spec, timelines, lkbeam.FunnelOptions{Fanout: 4})
	require.NoError(t, err)
	lkbeam.WriteJSON(s, filepath.Join(out, "funnel.jsonl"), funnel)
	start := time.Now()
	require.NoError(t, ptest.Run(p))
	t.Logf("pipeline of %d events from postgres ran in %s", len(stored), time.Since(start).Round(time.Millisecond))

	assert.Equal(t, jsonLines(t, stored), fileLines(t, filepath.Join(out, "events.jsonl")), "the tenant's events, as the store returns them")
	assert.Equal(t, jsonLines(t, []lkbeam.TenantFunnel{{Tenant: "acme", Result: want}}), fileLines(t, filepath.Join(out, "funnel.jsonl")))
}

// TestReadPostgresProspectsOnPrism: a tenant's pool, kept by the
// postgres module's store (a real pool fed a simulated business's
// observations, another tenant's under the same IDs), read by a role held
// to row-level security, is what the store's Scan lists, and PoolMetrics
// over it equals one pool.Metrics over that list.
func TestReadPostgresProspectsOnPrism(t *testing.T) {
	ctx := context.Background()
	dsn, owner, role, prefix := pgSchema(t)

	acme, err := postgres.NewPoolStore(ctx, postgres.SQL(owner), postgres.Options{Tenant: "acme", TablePrefix: prefix})
	require.NoError(t, err)
	other, err := acme.ForTenant("other")
	require.NoError(t, err)
	for _, st := range []pool.Store{acme, other} {
		feedPool(t, st, 4, 500)
	}
	require.NoError(t, postgres.Grant(ctx, postgres.SQL(owner), role, postgres.Options{TablePrefix: prefix}))
	var stored []pool.Prospect
	require.NoError(t, acme.Scan(ctx, func(p pool.Prospect) error {
		stored = append(stored, p)
		return nil
	}))
	require.Greater(t, len(stored), 500, "more than one page of Scan")
	first := stored[0].JoinedAt
	for _, p := range stored {
		if p.JoinedAt.Before(first) {
			first = p.JoinedAt
		}
	}
	spec := pool.MetricsSpec{From: first, To: first.AddDate(1, 0, 0), Bucket: leadkit.PeriodMonth}
	m, err := pool.NewMetrics(spec)
	require.NoError(t, err)
	for _, p := range stored {
		require.NoError(t, m.Add(p))
	}
	want := m.Result()
	require.Positive(t, want.Totals.Outflow.Graduated)

	out := t.TempDir()
	p, s := beam.NewPipelineWithRoot()
	got, err := lkbeam.ReadPostgresProspects(s, lkbeam.PostgresSource{
		DSN:         strings.Replace(dsn, "postgres@", role+"@", 1),
		Tenant:      "acme",
		TablePrefix: prefix,
	})
	require.NoError(t, err)
	lkbeam.WriteJSON(s, filepath.Join(out, "prospects.jsonl"), got)
	metrics, _, err := lkbeam.PoolMetrics(s, "acme", spec, got, lkbeam.FunnelOptions{Fanout: 4})
	require.NoError(t, err)
	lkbeam.WriteJSON(s, filepath.Join(out, "metrics.jsonl"), metrics)
	require.NoError(t, ptest.Run(p))

	assert.Equal(t, jsonLines(t, stored), fileLines(t, filepath.Join(out, "prospects.jsonl")), "the tenant's prospects, as the store lists them")
	assert.Equal(t, jsonLines(t, []lkbeam.TenantPoolMetrics{{Tenant: "acme", Result: want}}), fileLines(t, filepath.Join(out, "metrics.jsonl")))
}

// TestReadPostgresRefusesBadSource: a bad tenant, table prefix or an
// empty DSN is an error when the pipeline is built.
func TestReadPostgresRefusesBadSource(t *testing.T) {
	_, s := beam.NewPipelineWithRoot()
	for _, src := range []lkbeam.PostgresSource{
		{DSN: "postgres://x@localhost/db", Tenant: "-acme"},
		{DSN: "postgres://x@localhost/db", Tenant: "acme", TablePrefix: "bad prefix"},
		{Tenant: "acme"},
	} {
		_, err := lkbeam.ReadPostgres(s, src)
		assert.ErrorIs(t, err, leadkit.ErrInvalid, "%+v", src)
		_, err = lkbeam.ReadPostgresProspects(s, src)
		assert.ErrorIs(t, err, leadkit.ErrInvalid, "prospects: %+v", src)
	}
}
