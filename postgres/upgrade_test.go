package postgres_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/pool"
	"github.com/leadkit/leadkit/postgres"
	"github.com/leadkit/leadkit/stage"
)

// A database made before tenants (migrations 1 to 4, with rows) is brought
// up to date by Migrate: its rows belong to the default tenant, which
// reads them as before; other tenants see none of them.
func TestUpgradeToTenants(t *testing.T) {
	ctx := context.Background()
	db, prefix := openDB(t)
	ms, err := postgres.MigrationsFor(prefix)
	require.NoError(t, err)
	require.Greater(t, len(ms), 4)
	_, err = db.ExecContext(ctx, `CREATE TABLE `+prefix+`schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`)
	require.NoError(t, err)
	for _, m := range ms[:4] {
		_, err := db.ExecContext(ctx, m.SQL)
		require.NoError(t, err, m.Name)
		_, err = db.ExecContext(ctx, `INSERT INTO `+prefix+`schema_migrations (version, name) VALUES ($1, $2)`, m.Version, m.Name)
		require.NoError(t, err)
	}
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	_, err = db.ExecContext(ctx, `INSERT INTO `+prefix+`events (id, lead_id, type, time) VALUES ('old-1', 'L1', 'download', $1)`, at)
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, `INSERT INTO `+prefix+`stage_records (pipeline, kind, id, stage, entered_at, updated_at, version) VALUES ('classic', 'lead', 'L1', 'MQL', $1, $1, 1)`, at)
	require.NoError(t, err)

	require.NoError(t, postgres.Migrate(ctx, postgres.SQL(db), postgres.Options{TablePrefix: prefix}))
	events, err := postgres.NewJourneyStore(ctx, postgres.SQL(db), postgres.Options{TablePrefix: prefix})
	require.NoError(t, err)
	evs, err := events.Events(ctx, "L1", time.Time{}, time.Time{})
	require.NoError(t, err)
	require.Len(t, evs, 1, "the default tenant reads the old rows")
	assert.Equal(t, "old-1", evs[0].ID)
	stages, err := postgres.NewStageStore(ctx, postgres.SQL(db), postgres.Options{TablePrefix: prefix})
	require.NoError(t, err)
	rec, err := stages.Get(ctx, stage.Key{Pipeline: "classic", Subject: stage.Lead("L1")})
	require.NoError(t, err)
	assert.Equal(t, "MQL", rec.Stage)

	acme, err := events.ForTenant("acme")
	require.NoError(t, err)
	evs, err = acme.Events(ctx, "L1", time.Time{}, time.Time{})
	require.NoError(t, err)
	assert.Empty(t, evs, "another tenant sees none of them")
	n, err := acme.Append(ctx, leadkit.Event{ID: "old-1", LeadID: "L1", Type: "page_view", Time: at})
	require.NoError(t, err)
	assert.Equal(t, 1, n, "and may use the same IDs")
}

// Bad tenant IDs are refused at construction, as by the memory stores.
func TestBadTenantRefused(t *testing.T) {
	for _, bad := range []string{"a b", "x'; DROP TABLE y; --", "é"} {
		_, err := postgres.NewStageStore(context.Background(), postgres.SQL(nil), postgres.Options{Tenant: bad, SkipMigrate: true})
		assert.ErrorIs(t, err, leadkit.ErrInvalid, bad)
	}
}

// A nil database, or a nil pointer to one, is refused with ErrInvalid, not
// a panic at the first call.
func TestNilDatabaseRefused(t *testing.T) {
	for name, db := range map[string]postgres.DB{
		"nil *sql.DB":       postgres.SQL((*sql.DB)(nil)),
		"nil *sql.Tx":       postgres.SQL((*sql.Tx)(nil)),
		"nil pgx":           postgres.Pgx(nil),
		"nil *pgxpool.Pool": postgres.Pgx((*pgxpool.Pool)(nil)),
		"nil *pgx.Conn":     postgres.Pgx((*pgx.Conn)(nil)),
	} {
		_, err := postgres.NewStageStore(context.Background(), db, postgres.Options{})
		assert.ErrorIs(t, err, leadkit.ErrInvalid, name)
		assert.ErrorIs(t, postgres.Migrate(context.Background(), db, postgres.Options{}), leadkit.ErrInvalid, name)
		assert.ErrorIs(t, postgres.Grant(context.Background(), db, "app", postgres.Options{}), leadkit.ErrInvalid, name)
	}
}

// A store given a nil database by With (a transaction whose BeginTx
// failed, unchecked) fails every call with ErrInvalid instead of
// panicking.
func TestWithNilDatabase(t *testing.T) {
	ctx := context.Background()
	db, prefix := openDB(t)
	o := postgres.Options{TablePrefix: prefix}
	stages, err := postgres.NewStageStore(ctx, postgres.SQL(db), o)
	require.NoError(t, err)
	events, err := postgres.NewJourneyStore(ctx, postgres.SQL(db), o)
	require.NoError(t, err)
	prospects, err := postgres.NewPoolStore(ctx, postgres.SQL(db), o)
	require.NoError(t, err)
	states, err := postgres.NewLifecycleStore(ctx, postgres.SQL(db), o)
	require.NoError(t, err)
	nilTx := postgres.SQL((*sql.Tx)(nil))
	_, err = stages.With(nilTx).Get(ctx, stage.Key{Pipeline: "p", Subject: stage.Lead("L1")})
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
	_, err = events.With(nilTx).Append(ctx, leadkit.Event{ID: "e1", LeadID: "L1", Type: "t", Time: time.Now()})
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.ErrorIs(t, prospects.With(nilTx).Scan(ctx, func(pool.Prospect) error { return nil }), leadkit.ErrInvalid)
	assert.ErrorIs(t, states.With(nilTx).Put(ctx, leadState("L1", "x", 1)), leadkit.ErrInvalid)
}
