package postgres_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/journey"
	"github.com/leadkit/leadkit/lifecycle"
	"github.com/leadkit/leadkit/pool"
	"github.com/leadkit/leadkit/postgres"
	"github.com/leadkit/leadkit/stage"
	"github.com/leadkit/leadkit/storetest"
)

// appRole makes a login role that is neither superuser nor owner of the
// test's tables (nor BYPASSRLS), grants it the stores' tables with
// postgres.Grant, and returns a connection as it.
func appRole(t *testing.T, owner *sql.DB, prefix string) (*sql.DB, string) {
	t.Helper()
	ctx := context.Background()
	role := fmt.Sprintf("leadkit_app_%d", rand.Uint32())
	_, err := owner.ExecContext(ctx, `CREATE ROLE `+role+` LOGIN NOSUPERUSER NOBYPASSRLS NOINHERIT`)
	require.NoError(t, err)
	require.NoError(t, postgres.Grant(ctx, postgres.SQL(owner), role, postgres.Options{TablePrefix: prefix}))
	cfg, err := pgx.ParseConfig(os.Getenv("LEADKIT_PG_DSN"))
	require.NoError(t, err)
	cfg.User = role
	app := stdlib.OpenDB(*cfg)
	t.Cleanup(func() {
		app.Close()
		_, _ = owner.Exec(`DROP OWNED BY ` + role)
		_, _ = owner.Exec(`DROP ROLE ` + role)
	})
	return app, role
}

// Tenant isolation is enforced by the database: through the application
// role, raw SQL with no tenant or another tenant's setting reads, updates
// and deletes none of a tenant's rows and cannot write rows into it; the
// tables force row-level security and are not the role's.
func TestRowLevelSecurityKeepsTenantsApart(t *testing.T) {
	ctx := context.Background()
	owner, prefix := openDB(t)
	_, err := postgres.NewStageStore(ctx, postgres.SQL(owner), postgres.Options{TablePrefix: prefix}) // migrates
	require.NoError(t, err)
	app, role := appRole(t, owner, prefix)

	// The stores, through the application role, write a little of
	// everything for tenants acme and globex under the same IDs.
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	for _, tenant := range []string{"acme", "globex"} {
		o := postgres.Options{TablePrefix: prefix, Tenant: tenant, SkipMigrate: true}
		stages, err := postgres.NewStageStore(ctx, postgres.SQL(app), o)
		require.NoError(t, err)
		m, err := stage.New(stage.Classic(), stage.Options{Store: stages})
		require.NoError(t, err)
		_, err = m.Start(ctx, stage.Lead("L1"), stage.StartOptions{})
		require.NoError(t, err)
		events, err := postgres.NewJourneyStore(ctx, postgres.SQL(app), o)
		require.NoError(t, err)
		n, err := events.Append(ctx, leadkit.Event{ID: "e1", LeadID: "L1", Type: "download", Content: tenant, Time: at})
		require.NoError(t, err)
		require.Equal(t, 1, n)
		prospects, err := postgres.NewPoolStore(ctx, postgres.SQL(app), o)
		require.NoError(t, err)
		require.NoError(t, prospects.Apply(ctx, pool.Mark{ID: "o1", Hash: "h"}, pool.Prospect{ID: "p1", Version: 1, Status: pool.StatusActive, JoinedAt: at,
			Identities: []pool.Identity{{Kind: pool.Email, Value: "ana@acme.co"}}}))
		states, err := postgres.NewLifecycleStore(ctx, postgres.SQL(app), o)
		require.NoError(t, err)
		require.NoError(t, states.Put(ctx, lifecycle.LeadState{LeadID: "L1", Version: 1, Lead: leadkit.Lead{ID: "L1", CreatedAt: at}}))
	}

	tables := []string{"stage_records", "stage_history", "events", "lead_states", "prospects", "prospect_keys", "pool_marks"}
	// count runs fn's statement in a transaction of the application role
	// with leadkit.tenant set to setting ("" leaves it unset).
	inTx := func(setting string, fn func(tx *sql.Tx)) {
		tx, err := app.BeginTx(ctx, nil)
		require.NoError(t, err)
		defer tx.Rollback() //nolint:errcheck
		if setting != "" {
			_, err = tx.ExecContext(ctx, `SELECT set_config('leadkit.tenant', $1, true)`, setting)
			require.NoError(t, err)
		}
		fn(tx)
	}
	count := func(setting, table, where string) int {
		var n int
		inTx(setting, func(tx *sql.Tx) {
			require.NoError(t, tx.QueryRowContext(ctx, `SELECT count(*) FROM `+prefix+table+` `+where).Scan(&n))
		})
		return n
	}
	for _, table := range tables {
		assert.Equal(t, 0, count("", table, ""), "%s: no tenant set, no rows", table)
		assert.Equal(t, 0, count("initech", table, ""), "%s: another tenant's setting, no rows", table)
		assert.Equal(t, 0, count("globex", table, `WHERE tenant = 'acme'`), "%s: globex's setting asking for acme's rows", table)
		assert.Positive(t, count("acme", table, ""), "%s: acme's setting sees acme's rows", table)
		assert.Equal(t, count("acme", table, ""), count("acme", table, `WHERE tenant = 'acme'`), "%s: and only those", table)

		// Writes with the wrong setting touch nothing.
		inTx("globex", func(tx *sql.Tx) {
			res, err := tx.ExecContext(ctx, `UPDATE `+prefix+table+` SET tenant = 'globex' WHERE tenant = 'acme'`)
			require.NoError(t, err)
			n, _ := res.RowsAffected()
			assert.Zero(t, n, "%s: update of acme's rows under globex", table)
			res, err = tx.ExecContext(ctx, `DELETE FROM `+prefix+table+` WHERE tenant = 'acme'`)
			require.NoError(t, err)
			n, _ = res.RowsAffected()
			assert.Zero(t, n, "%s: delete of acme's rows under globex", table)
		})
	}
	// Rows written into another tenant than the setting's are refused.
	inTx("globex", func(tx *sql.Tx) {
		_, err := tx.ExecContext(ctx, `INSERT INTO `+prefix+`lead_states (tenant, lead_id, version, state) VALUES ('acme', 'L9', 1, '{}')`)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "row-level security")
	})
	inTx("globex", func(tx *sql.Tx) {
		_, err := tx.ExecContext(ctx, `UPDATE `+prefix+`lead_states SET tenant = 'acme'`)
		require.Error(t, err, "moving globex's row into acme")
	})
	inTx("", func(tx *sql.Tx) {
		_, err := tx.ExecContext(ctx, `INSERT INTO `+prefix+`lead_states (lead_id, version, state) VALUES ('L9', 1, '{}')`)
		require.Error(t, err, "a write without a tenant set")
	})
	// acme's rows are intact after all that.
	for _, table := range tables {
		assert.Positive(t, count("acme", table, ""), table)
	}

	// The tables force row-level security and the role owns none.
	var forced, owned int
	require.NoError(t, owner.QueryRowContext(ctx, `SELECT count(*) FILTER (WHERE c.relrowsecurity AND c.relforcerowsecurity),
		count(*) FILTER (WHERE pg_get_userbyid(c.relowner) = $2)
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'r' AND c.relname <> 'leadkit_schema_migrations'`,
		strings.TrimSuffix(prefix, ".leadkit_"), role).Scan(&forced, &owned))
	assert.Equal(t, len(tables), forced)
	assert.Zero(t, owned)
}

// asApp is a factory for the conformance suites: a fresh schema migrated
// by the owner, granted to a new application role, and the store opened
// through that role's connection without SkipMigrate (Migrate finds
// nothing to do). So the stores' own SQL is checked against the
// row-level security policies, which the owner in the other tests
// bypasses as a superuser.
func asApp[S any](open func(ctx context.Context, db postgres.DB, o postgres.Options) (S, error)) func(*testing.T) S {
	return func(t *testing.T) S {
		ctx := context.Background()
		owner, prefix := openDB(t)
		require.NoError(t, postgres.Migrate(ctx, postgres.SQL(owner), postgres.Options{TablePrefix: prefix}))
		app, _ := appRole(t, owner, prefix)
		s, err := open(ctx, postgres.SQL(app), postgres.Options{TablePrefix: prefix, Tenant: "acme"})
		require.NoError(t, err)
		return s
	}
}

// Every store passes its conformance suite through an application role
// held to the row-level security policies.
func TestAppRoleConformance(t *testing.T) {
	t.Run("Stage", func(t *testing.T) {
		storetest.Stage(t, asApp(func(ctx context.Context, db postgres.DB, o postgres.Options) (stage.Store, error) {
			return postgres.NewStageStore(ctx, db, o)
		}))
	})
	t.Run("Journey", func(t *testing.T) {
		storetest.Journey(t, asApp(func(ctx context.Context, db postgres.DB, o postgres.Options) (journey.Store, error) {
			return postgres.NewJourneyStore(ctx, db, o)
		}))
	})
	t.Run("Pool", func(t *testing.T) {
		storetest.Pool(t, asApp(func(ctx context.Context, db postgres.DB, o postgres.Options) (pool.Store, error) {
			return postgres.NewPoolStore(ctx, db, o)
		}))
	})
	t.Run("Lifecycle", func(t *testing.T) {
		storetest.Lifecycle(t, asApp(func(ctx context.Context, db postgres.DB, o postgres.Options) (lifecycle.Store, error) {
			return postgres.NewLifecycleStore(ctx, db, o)
		}))
	})
	t.Run("BulkAppend", func(t *testing.T) {
		s := asApp(func(ctx context.Context, db postgres.DB, o postgres.Options) (journey.Store, error) {
			return postgres.NewJourneyStore(ctx, db, o)
		})(t)
		evs := make([]leadkit.Event, 2500)
		at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
		for i := range evs {
			evs[i] = leadkit.Event{ID: fmt.Sprintf("e%05d", i), LeadID: fmt.Sprintf("L%d", i%50), Type: "page_view", Time: at.Add(time.Duration(i) * time.Second)}
		}
		n, err := s.Append(context.Background(), evs...)
		require.NoError(t, err)
		assert.Equal(t, len(evs), n)
		n, err = s.Append(context.Background(), evs...)
		require.NoError(t, err)
		assert.Zero(t, n, "idempotent")
	})
}

// A role that may only use the tables cannot migrate: it is told to run
// Migrate as the owner, with an error wrapping ErrInvalid, not a raw
// permission error.
func TestAppRoleCannotMigrate(t *testing.T) {
	ctx := context.Background()
	owner, prefix := openDB(t)
	require.NoError(t, postgres.Migrate(ctx, postgres.SQL(owner), postgres.Options{TablePrefix: prefix}))
	app, _ := appRole(t, owner, prefix)
	other := strings.TrimSuffix(prefix, "leadkit_") + "other_"
	_, err := postgres.NewStageStore(ctx, postgres.SQL(app), postgres.Options{TablePrefix: other})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.Contains(t, err.Error(), "run Migrate as the tables' owner")
}

// Grants names every table the migrations make, so a new table is never
// left out of the application role's grants.
func TestGrantsCoverEveryTable(t *testing.T) {
	ctx := context.Background()
	owner, prefix := openDB(t)
	require.NoError(t, postgres.Migrate(ctx, postgres.SQL(owner), postgres.Options{TablePrefix: prefix}))
	grants, err := postgres.Grants(prefix, "x")
	require.NoError(t, err)
	rows, err := owner.QueryContext(ctx, `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind IN ('r', 'S')`, strings.TrimSuffix(prefix, ".leadkit_"))
	require.NoError(t, err)
	defer rows.Close()
	named := map[string]bool{}
	for _, f := range strings.FieldsFunc(grants, func(r rune) bool { return r == ' ' || r == ',' || r == ';' || r == '\n' }) {
		named[f] = true
	}
	n := 0
	for rows.Next() {
		var name string
		require.NoError(t, rows.Scan(&name))
		assert.True(t, named[strings.TrimSuffix(prefix, "leadkit_")+name], "table or sequence %s is granted", name)
		n++
	}
	assert.Greater(t, n, 7)
}
