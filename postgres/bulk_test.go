package postgres_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/postgres"
)

// A writer that stores one of a bulk batch's IDs after the bulk path
// looked for stored IDs makes the bulk path's plain insert wait for it
// and, once it commits, fail on the unique key; the bulk path then
// inserts again with ON CONFLICT DO NOTHING. The call succeeds, the ID
// keeps the other writer's event, every other event is stored once.
func TestAppendBulkRacedByAnotherWriter(t *testing.T) {
	ctx := context.Background()
	db, prefix := openDB(t)
	s, err := postgres.NewJourneyStore(ctx, postgres.SQL(db), postgres.Options{TablePrefix: prefix})
	require.NoError(t, err)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var evs []leadkit.Event
	for i := range 3000 {
		evs = append(evs, leadkit.Event{ID: fmt.Sprintf("r%04d", i), LeadID: fmt.Sprintf("L%02d", i%30), Type: "page_view", Time: base})
	}
	tx, err := db.BeginTx(ctx, nil)
	require.NoError(t, err)
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	n, err := s.With(postgres.SQL(tx)).Append(ctx, leadkit.Event{ID: evs[1500].ID, LeadID: "other", Type: "page_view", Time: base})
	require.NoError(t, err)
	require.Equal(t, 1, n)

	type result struct {
		n   int
		err error
	}
	done := make(chan result, 1)
	go func() {
		n, err := s.Append(ctx, evs...)
		done <- result{n, err}
	}()
	// The bulk insert waits for the uncommitted row of tx.
	require.Eventually(t, func() bool {
		var waiting int
		err := db.QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE wait_event_type = 'Lock' AND query LIKE 'INSERT INTO ' || $1 || ' %'`, prefix+"events").Scan(&waiting)
		return err == nil && waiting == 1
	}, 10*time.Second, 5*time.Millisecond, "the bulk insert never waited for the other writer")
	require.NoError(t, tx.Commit())
	r := <-done
	require.NoError(t, r.err)
	assert.Equal(t, 2999, r.n)

	other, err := s.Events(ctx, "other", time.Time{}, time.Time{})
	require.NoError(t, err)
	require.Len(t, other, 1)
	assert.Equal(t, evs[1500].ID, other[0].ID)
	stored := 0
	for l := range 30 {
		got, err := s.Events(ctx, fmt.Sprintf("L%02d", l), time.Time{}, time.Time{})
		require.NoError(t, err)
		stored += len(got)
	}
	assert.Equal(t, 2999, stored)
}

// Writers append overlapping bulk batches (2,000 events and more) of one
// pool of IDs in random orders: every call succeeds (no deadlock, no
// unique violation reaches a caller), every event is stored once and
// counted once as added.
func TestAppendOverlappingBulkBatches(t *testing.T) {
	appendOverlapping(t, 5000, 4, 3, 2500, 2)
}

// Two tenants append bulk batches of the same event IDs, as the tables'
// owner and as an application role held to row-level security: each
// tenant stores all of its batch (another tenant's IDs are not stored
// IDs), a redelivery adds nothing, and each tenant reads its own events.
func TestAppendBulkTenants(t *testing.T) {
	ctx := context.Background()
	owner, prefix := openDB(t)
	_, err := postgres.NewJourneyStore(ctx, postgres.SQL(owner), postgres.Options{TablePrefix: prefix}) // migrates
	require.NoError(t, err)
	app, _ := appRole(t, owner, prefix)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name string
		db   *sql.DB
	}{{"owner", owner}, {"app", app}} {
		t.Run(c.name, func(t *testing.T) {
			for _, tenant := range []string{c.name + "-a", c.name + "-b"} {
				s, err := postgres.NewJourneyStore(ctx, postgres.SQL(c.db), postgres.Options{TablePrefix: prefix, Tenant: tenant, SkipMigrate: true})
				require.NoError(t, err)
				var evs []leadkit.Event
				for i := range 2500 {
					evs = append(evs, leadkit.Event{ID: fmt.Sprintf("t%04d", i), LeadID: fmt.Sprintf("L%02d", i%25), Type: "page_view", Content: tenant, Time: base})
				}
				n, err := s.Append(ctx, evs...)
				require.NoError(t, err)
				assert.Equal(t, 2500, n, tenant)
				n, err = s.Append(ctx, evs...)
				require.NoError(t, err)
				assert.Zero(t, n, "%s: a redelivery", tenant)
				got, err := s.Events(ctx, "L07", time.Time{}, time.Time{})
				require.NoError(t, err)
				require.Len(t, got, 100)
				for _, e := range got {
					assert.Equal(t, tenant, e.Content)
				}
			}
		})
	}
}
