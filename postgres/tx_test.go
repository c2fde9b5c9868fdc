package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/postgres"
	"github.com/leadkit/leadkit/stage"
)

// A stage change, an event and the application's own row in one of the
// caller's transactions commit together or roll back together.
func TestStoresJoinTheCallersTransaction(t *testing.T) {
	ctx := context.Background()
	db, prefix := openDB(t)
	stages, err := postgres.NewStageStore(ctx, postgres.SQL(db), postgres.Options{TablePrefix: prefix})
	require.NoError(t, err)
	events, err := postgres.NewJourneyStore(ctx, postgres.SQL(db), postgres.Options{TablePrefix: prefix})
	require.NoError(t, err)
	m, err := stage.New(stage.Classic(), stage.Options{Store: stages})
	require.NoError(t, err)
	tasks := prefix + "crm_tasks"
	_, err = db.ExecContext(ctx, `CREATE TABLE `+tasks+` (lead text PRIMARY KEY)`)
	require.NoError(t, err)

	work := func(lead string, commit bool) {
		tx, err := db.BeginTx(ctx, nil)
		require.NoError(t, err)
		_, err = m.WithStore(stages.With(postgres.SQL(tx))).Start(ctx, stage.Lead(lead), stage.StartOptions{})
		require.NoError(t, err)
		n, err := events.With(postgres.SQL(tx)).Append(ctx, leadkit.Event{ID: "e-" + lead, LeadID: lead, Type: "page_view", Time: time.Now()})
		require.NoError(t, err)
		require.Equal(t, 1, n)
		_, err = tx.ExecContext(ctx, `INSERT INTO `+tasks+` (lead) VALUES ($1)`, lead)
		require.NoError(t, err)
		// Outside the transaction nothing is visible yet.
		_, err = m.Get(ctx, stage.Lead(lead))
		assert.ErrorIs(t, err, leadkit.ErrNotFound)
		if commit {
			require.NoError(t, tx.Commit())
		} else {
			require.NoError(t, tx.Rollback())
		}
	}
	work("kept", true)
	work("dropped", false)

	count := func(lead string) (stages, evs, rows int) {
		if _, err := m.Get(ctx, stage.Lead(lead)); err == nil {
			stages = 1
		}
		got, err := events.Events(ctx, lead, time.Time{}, time.Time{})
		require.NoError(t, err)
		require.NoError(t, db.QueryRowContext(ctx, `SELECT count(*) FROM `+tasks+` WHERE lead = $1`, lead).Scan(&rows))
		return stages, len(got), rows
	}
	s, e, r := count("kept")
	assert.Equal(t, [3]int{1, 1, 1}, [3]int{s, e, r}, "committed together")
	s, e, r = count("dropped")
	assert.Equal(t, [3]int{0, 0, 0}, [3]int{s, e, r}, "rolled back together")

	// A version conflict inside the caller's transaction is the usual
	// error and leaves the transaction usable.
	tx, err := db.BeginTx(ctx, nil)
	require.NoError(t, err)
	defer tx.Rollback() //nolint:errcheck
	_, err = m.WithStore(stages.With(postgres.SQL(tx))).Start(ctx, stage.Lead("kept"), stage.StartOptions{})
	assert.ErrorIs(t, err, leadkit.ErrConflict)
	var one int
	require.NoError(t, tx.QueryRowContext(ctx, `SELECT 1`).Scan(&one))
}

// A backend terminated in the middle of a unit of work leaves nothing of
// it; the error says the call may be retried, and the retry succeeds.
func TestBackendKilledMidTransaction(t *testing.T) {
	ctx := context.Background()
	db, prefix := openDB(t)
	stages, err := postgres.NewStageStore(ctx, postgres.SQL(db), postgres.Options{TablePrefix: prefix})
	require.NoError(t, err)
	events, err := postgres.NewJourneyStore(ctx, postgres.SQL(db), postgres.Options{TablePrefix: prefix})
	require.NoError(t, err)
	m, err := stage.New(stage.Classic(), stage.Options{Store: stages})
	require.NoError(t, err)
	unit := func(kill bool) error {
		conn, err := db.Conn(ctx) // one connection, so its backend can be found
		require.NoError(t, err)
		defer conn.Close()
		tx, err := conn.BeginTx(ctx, nil)
		require.NoError(t, err)
		defer tx.Rollback() //nolint:errcheck
		if _, err := m.WithStore(stages.With(postgres.SQL(tx))).Start(ctx, stage.Lead("K"), stage.StartOptions{}); err != nil {
			return err
		}
		if kill {
			var pid int
			require.NoError(t, tx.QueryRowContext(ctx, `SELECT pg_backend_pid()`).Scan(&pid))
			_, err := db.ExecContext(ctx, `SELECT pg_terminate_backend($1)`, pid)
			require.NoError(t, err)
		}
		if _, err := events.With(postgres.SQL(tx)).Append(ctx, leadkit.Event{ID: "k1", LeadID: "K", Type: "page_view", Time: time.Now()}); err != nil {
			return err
		}
		return tx.Commit()
	}
	err = unit(true)
	require.Error(t, err)
	assert.ErrorIs(t, err, leadkit.ErrUnavailable, "%v", err)
	_, err = m.Get(ctx, stage.Lead("K"))
	assert.ErrorIs(t, err, leadkit.ErrNotFound, "no partial write")
	evs, err := events.Events(ctx, "K", time.Time{}, time.Time{})
	require.NoError(t, err)
	assert.Empty(t, evs, "no partial write")
	require.NoError(t, unit(false), "the retry succeeds")
	_, err = m.Get(ctx, stage.Lead("K"))
	assert.NoError(t, err)
}
