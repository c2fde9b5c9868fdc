package postgres_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/postgres"
	"github.com/leadkit/leadkit/stage"
)

// Eight writers append overlapping batches of event IDs in random orders:
// every call succeeds (no deadlock reaches a caller), every event is
// stored once, and a lead's same-time events keep the order of the batch
// that stored them.
func TestAppendOverlappingBatchesDoesNotDeadlock(t *testing.T) {
	appendOverlapping(t, 3000, 8, 4, 1500, 1)
}

// appendOverlapping has writers append rounds of batches drawn from one
// pool of IDs in random orders (seeded by writer and salt) and checks
// that every call succeeds and every stored event was counted once as
// added.
func appendOverlapping(t *testing.T, poolSize, writers, rounds, batchSize int, salt uint64) {
	ctx := context.Background()
	s := newJourneyStore(t)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	pool := make([]leadkit.Event, poolSize)
	for i := range pool {
		pool[i] = leadkit.Event{ID: fmt.Sprintf("e%04d", i), LeadID: fmt.Sprintf("L%03d", i%300), Type: "page_view", Time: base.Add(time.Duration(i%7) * time.Hour)}
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	added := 0
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), salt))
			for range rounds {
				batch := make([]leadkit.Event, batchSize)
				for i, j := range r.Perm(len(pool))[:batchSize] {
					batch[i] = pool[j]
				}
				n, err := s.Append(ctx, batch...)
				mu.Lock()
				added += n
				if err != nil {
					errs = append(errs, err)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	require.Empty(t, errs)
	stored := 0
	for l := range 300 {
		evs, err := s.Events(ctx, fmt.Sprintf("L%03d", l), time.Time{}, time.Time{})
		require.NoError(t, err)
		stored += len(evs)
	}
	assert.Equal(t, stored, added, "each stored event was counted once as added")
	assert.LessOrEqual(t, stored, len(pool))
}

// A batch keeps its order for events of one lead at one instant, though
// the store inserts in ID order.
func TestAppendKeepsArrivalOrderAtOneInstant(t *testing.T) {
	ctx := context.Background()
	s := newJourneyStore(t)
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ids := []string{"z", "a", "m", "b"}
	var batch []leadkit.Event
	for _, id := range ids {
		batch = append(batch, leadkit.Event{ID: id, LeadID: "L1", Type: "page_view", Time: at})
	}
	_, err := s.Append(ctx, batch...)
	require.NoError(t, err)
	evs, err := s.Events(ctx, "L1", time.Time{}, time.Time{})
	require.NoError(t, err)
	var got []string
	for _, e := range evs {
		got = append(got, e.ID)
	}
	assert.Equal(t, ids, got)
}

// Processes that open the stores on a fresh database at once all succeed:
// the migrations take a lock.
func TestConcurrentMigrations(t *testing.T) {
	ctx := context.Background()
	_, prefix := openDB(t)
	dsn := os.Getenv("LEADKIT_PG_DSN")
	var wg sync.WaitGroup
	errs := make(chan error, 24)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db, err := sql.Open("pgx", dsn) // its own pool, as another process has
			if err != nil {
				errs <- err
				return
			}
			defer db.Close()
			if _, err := postgres.NewStageStore(ctx, postgres.SQL(db), postgres.Options{TablePrefix: prefix}); err != nil {
				errs <- err
			}
			if _, err := postgres.NewJourneyStore(ctx, postgres.SQL(db), postgres.Options{TablePrefix: prefix}); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// A server that cannot be reached is leadkit.ErrUnavailable, which says
// retry, on every store call.
func TestUnreachableServerIsUnavailable(t *testing.T) {
	ctx := context.Background()
	openDB(t) // skips without a server, like the others
	db, err := sql.Open("pgx", "postgres://postgres@127.0.0.1:1/postgres?sslmode=disable&connect_timeout=2")
	require.NoError(t, err)
	defer db.Close()
	_, err = postgres.NewStageStore(ctx, postgres.SQL(db), postgres.Options{})
	require.Error(t, err)
	assert.True(t, errors.Is(err, leadkit.ErrUnavailable), "%v", err)
	s, err := postgres.NewStageStore(ctx, postgres.SQL(db), postgres.Options{SkipMigrate: true})
	require.NoError(t, err)
	_, err = s.Get(ctx, stage.Key{Pipeline: "p", Subject: stage.Lead("L1")})
	assert.True(t, errors.Is(err, leadkit.ErrUnavailable), "%v", err)
	j, err := postgres.NewJourneyStore(ctx, postgres.SQL(db), postgres.Options{SkipMigrate: true})
	require.NoError(t, err)
	_, err = j.Append(ctx, leadkit.Event{ID: "e1", LeadID: "L1", Type: "page_view", Time: time.Now()})
	assert.True(t, errors.Is(err, leadkit.ErrUnavailable), "%v", err)
}

// The schema is versioned: Migrate records each migration once, applies
// nothing twice, and Migrations gives the files for other tools in order.
func TestMigrationsAreVersioned(t *testing.T) {
	ctx := context.Background()
	db, prefix := openDB(t)
	require.NoError(t, postgres.Migrate(ctx, postgres.SQL(db), postgres.Options{TablePrefix: prefix}))
	require.NoError(t, postgres.Migrate(ctx, postgres.SQL(db), postgres.Options{TablePrefix: prefix}))
	rows, err := db.QueryContext(ctx, `SELECT version, name FROM `+prefix+`schema_migrations ORDER BY version`)
	require.NoError(t, err)
	defer rows.Close()
	var got []string
	for rows.Next() {
		var v int
		var name string
		require.NoError(t, rows.Scan(&v, &name))
		got = append(got, fmt.Sprint(v, " ", name))
	}
	require.NoError(t, rows.Err())
	ms, err := postgres.MigrationsFor(prefix)
	require.NoError(t, err)
	require.NotEmpty(t, ms)
	var want []string
	for i, m := range ms {
		assert.Equal(t, i+1, m.Version, "versions without gaps")
		want = append(want, fmt.Sprint(m.Version, " ", m.Name))
	}
	assert.Equal(t, want, got)
	names, err := fs.Glob(postgres.Migrations(), "*.sql")
	require.NoError(t, err)
	assert.Len(t, names, len(ms))
}
