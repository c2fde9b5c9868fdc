package postgres_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/journey"
	"github.com/leadkit/leadkit/lifecycle"
	"github.com/leadkit/leadkit/pool"
	"github.com/leadkit/leadkit/postgres"
	"github.com/leadkit/leadkit/stage"
)

// A prefix the validation accepts whose table names PostgreSQL truncates
// to 63 bytes: stage_records and stage_history become one table.
func TestLongPrefixCollides(t *testing.T) {
	ctx := context.Background()
	db, prefix := openDB(t)
	schema := prefix[:strings.IndexByte(prefix, '.')+1]
	long := schema + strings.Repeat("x", 57)
	s, err := postgres.NewStageStore(ctx, postgres.SQL(db), postgres.Options{TablePrefix: long})
	if err != nil {
		assert.ErrorIs(t, err, leadkit.ErrInvalid, "a prefix PostgreSQL cannot hold is bad input, refused before any SQL: %v", err)
		return
	}
	m, err := stage.New(stage.Classic(), stage.Options{Store: s})
	require.NoError(t, err)
	_, err = m.Start(ctx, stage.Lead("L1"), stage.StartOptions{})
	assert.NoError(t, err, "a prefix accepted by Options must give working tables (or be refused up front)")
	var n int
	require.NoError(t, db.QueryRowContext(ctx, `SELECT count(*) FROM information_schema.tables WHERE table_schema = $1`, strings.TrimSuffix(schema, ".")).Scan(&n))
	t.Logf("tables created in the schema: %d", n)
}

// With a 50-byte prefix the index prospect_keys_prospect is truncated to
// the name of the table prospect_keys: CREATE INDEX IF NOT EXISTS skips it
// with a notice, and Migrate records success.
func TestPrefixIndexSilentlySkipped(t *testing.T) {
	ctx := context.Background()
	db, prefix := openDB(t)
	schema := prefix[:strings.IndexByte(prefix, '.')+1]
	_, err := postgres.NewPoolStore(ctx, postgres.SQL(db), postgres.Options{TablePrefix: schema + strings.Repeat("y", 50)})
	require.ErrorIs(t, err, leadkit.ErrInvalid, "a prefix whose names PostgreSQL would cut is refused")
	long := schema + strings.Repeat("y", 41)
	_, err = postgres.NewPoolStore(ctx, postgres.SQL(db), postgres.Options{TablePrefix: long})
	require.NoError(t, err)
	var n int
	require.NoError(t, db.QueryRowContext(ctx, `SELECT count(*) FROM pg_indexes WHERE schemaname = $1 AND indexdef LIKE '%(tenant, prospect_id)%'`, strings.TrimSuffix(schema, ".")).Scan(&n))
	assert.Equal(t, 1, n, "the index on prospect_keys(prospect_id) exists")
}

// Too many connections (SQLSTATE 53300) is a server that cannot take the
// call now: a retry may succeed, like 57P03.
func TestTooManyConnectionsIsUnavailable(t *testing.T) {
	ctx := context.Background()
	db, _ := openDB(t)
	role := fmt.Sprintf("reg_%d", rand.Uint32())
	_, err := db.ExecContext(ctx, `CREATE ROLE `+role+` LOGIN CONNECTION LIMIT 0`)
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = db.Exec(`DROP ROLE ` + role) })
	dsn := strings.Replace(os.Getenv("LEADKIT_PG_DSN"), "postgres@", role+"@", 1)
	db2, err := sql.Open("pgx", dsn)
	require.NoError(t, err)
	defer db2.Close()
	_, err = postgres.NewJourneyStore(ctx, postgres.SQL(db2), postgres.Options{})
	require.Error(t, err)
	assert.ErrorIs(t, err, leadkit.ErrUnavailable, "%v", err)
}

// Events a few hundred nanoseconds apart: the memory store orders them by
// time; postgres keeps microseconds and orders them by arrival, and a
// range starting between them drops them.
func TestSubMicrosecondOrder(t *testing.T) {
	ctx := context.Background()
	s := newJourneyStore(t)
	mem := journey.NewMemoryStore()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	late := leadkit.Event{ID: "e1", LeadID: "L", Type: "page_view", Time: base.Add(900)}
	early := leadkit.Event{ID: "e2", LeadID: "L", Type: "page_view", Time: base.Add(100)}
	for _, st := range []journey.Store{s, mem} {
		_, err := st.Append(ctx, late, early)
		require.NoError(t, err)
	}
	ids := func(st journey.Store, from time.Time) []string {
		evs, err := st.Events(ctx, "L", from, time.Time{})
		require.NoError(t, err)
		var out []string
		for _, e := range evs {
			out = append(out, e.ID)
		}
		return out
	}
	assert.Equal(t, ids(mem, time.Time{}), ids(s, time.Time{}), "timeline order")
	assert.Equal(t, ids(mem, base.Add(500)), ids(s, base.Add(500)), "events at or after from")
}

// ICU database (the usual production locale, not C): Scan and Find come
// in the database's collation, not in the ID order the contract and the
// memory stores give.
func TestNonCCollationOrder(t *testing.T) {
	ctx := context.Background()
	admin, _ := openDB(t)
	name := fmt.Sprintf("reg_icu_%d", rand.Uint32())
	_, err := admin.ExecContext(ctx, `CREATE DATABASE `+name+` TEMPLATE template0 ENCODING 'UTF8' LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'`)
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = admin.Exec(`DROP DATABASE ` + name + ` WITH (FORCE)`) })
	db, err := sql.Open("pgx", strings.Replace(os.Getenv("LEADKIT_PG_DSN"), "/postgres?", "/"+name+"?", 1))
	require.NoError(t, err)
	defer db.Close()

	ids := []string{"b", "B", "a-c", "ab", "a", "Z", "_x"}
	want := slices.Sorted(slices.Values(ids))

	ps, err := postgres.NewPoolStore(ctx, postgres.SQL(db), postgres.Options{})
	require.NoError(t, err)
	for _, id := range ids {
		require.NoError(t, ps.Apply(ctx, pool.Mark{}, regProspect(id, 1, id+"@x.co")))
	}
	var got []string
	require.NoError(t, ps.Scan(ctx, func(p pool.Prospect) error { got = append(got, p.ID); return nil }))
	assert.Equal(t, want, got, "pool Scan order")

	ls, err := postgres.NewLifecycleStore(ctx, postgres.SQL(db), postgres.Options{})
	require.NoError(t, err)
	for _, id := range ids {
		require.NoError(t, ls.Put(ctx, lifecycle.LeadState{LeadID: id, Lead: leadkit.Lead{ID: id}, Version: 1}))
	}
	got = nil
	require.NoError(t, ls.Scan(ctx, func(st lifecycle.LeadState) error { got = append(got, st.LeadID); return nil }))
	assert.Equal(t, want, got, "lifecycle Scan order")
}
