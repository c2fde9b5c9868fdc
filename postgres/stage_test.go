package postgres_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/postgres"
	"github.com/leadkit/leadkit/stage"
	"github.com/leadkit/leadkit/storetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// openDB connects to LEADKIT_PG_DSN (see scripts/pg.sh) and gives the test
// its own schema, dropped at the end. Without the variable the test is
// skipped, unless LEADKIT_PG_REQUIRED is set (CI sets both); a server that
// cannot be reached fails the test.
func openDB(t testing.TB) (*sql.DB, string) {
	t.Helper()
	dsn := os.Getenv("LEADKIT_PG_DSN")
	if dsn == "" {
		if os.Getenv("LEADKIT_PG_REQUIRED") != "" {
			t.Fatal("LEADKIT_PG_REQUIRED is set but LEADKIT_PG_DSN is not: the server-backed tests must run")
		}
		t.Skip("LEADKIT_PG_DSN not set: run eval \"$(./scripts/pg.sh)\" first")
	}
	db, err := sql.Open("pgx", dsn)
	require.NoError(t, err)
	db.SetMaxOpenConns(16)
	schema := fmt.Sprintf("t_%d", rand.Uint64()>>1)
	_, err = db.Exec("CREATE SCHEMA " + schema)
	require.NoError(t, err)
	t.Cleanup(func() {
		_, _ = db.Exec("DROP SCHEMA " + schema + " CASCADE")
		db.Close()
	})
	return db, schema + ".leadkit_"
}

func TestStageStoreConformance(t *testing.T) {
	storetest.Stage(t, func(t *testing.T) stage.Store {
		db, prefix := openDB(t)
		s, err := postgres.NewStageStore(context.Background(), postgres.SQL(db), postgres.Options{TablePrefix: prefix})
		require.NoError(t, err)
		return s
	})
}

func TestStageStoreWithMachine(t *testing.T) {
	ctx := context.Background()
	db, prefix := openDB(t)
	s, err := postgres.NewStageStore(ctx, postgres.SQL(db), postgres.Options{TablePrefix: prefix})
	require.NoError(t, err)
	// Migrating twice is harmless.
	_, err = postgres.NewStageStore(ctx, postgres.SQL(db), postgres.Options{TablePrefix: prefix})
	require.NoError(t, err)

	m, err := stage.New(stage.Classic(), stage.Options{Store: s})
	require.NoError(t, err)
	// More than one page of subjects, to exercise the paged scans.
	const n = 1203
	for i := range n {
		l := stage.Lead(fmt.Sprintf("L%04d", i))
		_, err := m.Start(ctx, l, stage.StartOptions{})
		require.NoError(t, err)
		if i%3 == 0 {
			_, _, err = m.Advance(ctx, l, stage.Facts{"score": 120}, stage.Request{})
			require.NoError(t, err)
		}
	}
	f, err := m.Funnel(ctx, stage.FunnelOptions{Stages: []string{"Raw", "MQL"}})
	require.NoError(t, err)
	assert.Equal(t, n, f.Stages[0].Reached)
	assert.Equal(t, (n+2)/3, f.Stages[1].Reached)

	// The same funnel from an in-memory copy of the histories agrees.
	mem := stage.NewMemoryStore()
	require.NoError(t, stage.ScanHistories(ctx, s, "classic", func(k stage.Key, h []stage.Entry) error {
		for _, e := range h {
			rec := stage.Record{Key: k, Stage: e.To, EnteredAt: e.At, UpdatedAt: e.At, Version: e.Version}
			if err := mem.Commit(ctx, rec, e); err != nil {
				return err
			}
		}
		return nil
	}))
	m2, err := stage.New(stage.Classic(), stage.Options{Store: mem})
	require.NoError(t, err)
	f2, err := m2.Funnel(ctx, stage.FunnelOptions{Stages: []string{"Raw", "MQL"}})
	require.NoError(t, err)
	assert.Equal(t, f, f2)

	_, err = m.Fire(ctx, stage.Lead("nobody"), "accept", stage.Request{})
	assert.ErrorIs(t, err, leadkit.ErrNotFound)
}

func TestBadPrefix(t *testing.T) {
	_, err := postgres.NewStageStore(context.Background(), nil, postgres.Options{TablePrefix: "x; DROP TABLE y"})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
}
