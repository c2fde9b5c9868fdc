package postgres_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
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

// openPgx is openDB's schema with a pgx pool on it (closed at the end).
func openPgx(t testing.TB) (*pgxpool.Pool, string) {
	t.Helper()
	_, prefix := openDB(t)
	p, err := pgxpool.New(context.Background(), os.Getenv("LEADKIT_PG_DSN"))
	require.NoError(t, err)
	t.Cleanup(p.Close)
	return p, prefix
}

// Every store passes its conformance suite on a pgx pool too.
func TestPgxConformance(t *testing.T) {
	ctx := context.Background()
	t.Run("Stage", func(t *testing.T) {
		storetest.Stage(t, func(t *testing.T) stage.Store {
			p, prefix := openPgx(t)
			s, err := postgres.NewStageStore(ctx, postgres.Pgx(p), postgres.Options{TablePrefix: prefix})
			require.NoError(t, err)
			return s
		})
	})
	t.Run("Journey", func(t *testing.T) {
		storetest.Journey(t, func(t *testing.T) journey.Store {
			p, prefix := openPgx(t)
			s, err := postgres.NewJourneyStore(ctx, postgres.Pgx(p), postgres.Options{TablePrefix: prefix})
			require.NoError(t, err)
			return s
		})
	})
	t.Run("Pool", func(t *testing.T) {
		storetest.Pool(t, func(t *testing.T) pool.Store {
			p, prefix := openPgx(t)
			s, err := postgres.NewPoolStore(ctx, postgres.Pgx(p), postgres.Options{TablePrefix: prefix})
			require.NoError(t, err)
			return s
		})
	})
	t.Run("Lifecycle", func(t *testing.T) {
		storetest.Lifecycle(t, func(t *testing.T) lifecycle.Store {
			p, prefix := openPgx(t)
			s, err := postgres.NewLifecycleStore(ctx, postgres.Pgx(p), postgres.Options{TablePrefix: prefix})
			require.NoError(t, err)
			return s
		})
	})
}

// A stage change and events in the caller's pgx transaction commit with
// the application's own row or roll back with it; a failed call (a version
// conflict) leaves the transaction usable; a bulk append (COPY) runs in it
// too.
func TestPgxCallersTransaction(t *testing.T) {
	ctx := context.Background()
	p, prefix := openPgx(t)
	o := postgres.Options{TablePrefix: prefix, Tenant: "acme"}
	stages, err := postgres.NewStageStore(ctx, postgres.Pgx(p), o)
	require.NoError(t, err)
	events, err := postgres.NewJourneyStore(ctx, postgres.Pgx(p), o)
	require.NoError(t, err)
	m, err := stage.New(stage.Classic(), stage.Options{Store: stages})
	require.NoError(t, err)
	tasks := prefix + "crm_tasks"
	_, err = p.Exec(ctx, `CREATE TABLE `+tasks+` (lead text PRIMARY KEY)`)
	require.NoError(t, err)
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	batch := func(lead string, n int) []leadkit.Event {
		evs := make([]leadkit.Event, n)
		for i := range evs {
			evs[i] = leadkit.Event{ID: lead + "-" + time.Duration(i).String(), LeadID: lead, Type: "page_view", Time: at.Add(time.Duration(i) * time.Second)}
		}
		return evs
	}

	work := func(lead string, commit bool) {
		tx, err := p.Begin(ctx)
		require.NoError(t, err)
		defer tx.Rollback(ctx) //nolint:errcheck
		in := postgres.Pgx(tx)
		_, err = m.WithStore(stages.With(in)).Start(ctx, stage.Lead(lead), stage.StartOptions{})
		require.NoError(t, err)
		_, err = m.WithStore(stages.With(in)).Start(ctx, stage.Lead(lead), stage.StartOptions{})
		require.ErrorIs(t, err, leadkit.ErrConflict, "a failed call in the transaction")
		for _, size := range []int{1, 2500, 2500} { // one row, then the bulk path twice in one transaction
			_, err := events.With(in).Append(ctx, batch(lead, size)...)
			require.NoError(t, err)
		}
		_, err = tx.Exec(ctx, `INSERT INTO `+tasks+` (lead) VALUES ($1)`, lead)
		require.NoError(t, err, "the transaction is usable after the failed call")
		if commit {
			require.NoError(t, tx.Commit(ctx))
		} else {
			require.NoError(t, tx.Rollback(ctx))
		}
	}
	work("kept", true)
	work("dropped", false)
	count := func(lead string) [3]int {
		var out [3]int
		if _, err := m.Get(ctx, stage.Lead(lead)); err == nil {
			out[0] = 1
		}
		evs, err := events.Events(ctx, lead, time.Time{}, time.Time{})
		require.NoError(t, err)
		out[1] = len(evs)
		require.NoError(t, p.QueryRow(ctx, `SELECT count(*) FROM `+tasks+` WHERE lead = $1`, lead).Scan(&out[2]))
		return out
	}
	assert.Equal(t, [3]int{1, 2500, 1}, count("kept"), "committed together")
	assert.Equal(t, [3]int{0, 0, 0}, count("dropped"), "rolled back together")

	// A store call that fails inside its unit of work in the caller's
	// transaction leaves no savepoint open (neither ours nor one of pgx's
	// nested transactions): releasing one fails.
	prospects, err := postgres.NewPoolStore(ctx, postgres.Pgx(p), o)
	require.NoError(t, err)
	tx, err := p.Begin(ctx)
	require.NoError(t, err)
	defer tx.Rollback(ctx) //nolint:errcheck
	err = prospects.With(postgres.Pgx(tx)).Apply(ctx, pool.Mark{}, pool.Prospect{ID: "nobody", Version: 3, Status: pool.StatusActive, JoinedAt: at})
	require.ErrorIs(t, err, leadkit.ErrConflict)
	for _, name := range []string{"leadkit_unit", "sp_1", "sp_2"} {
		_, err = tx.Exec(ctx, `SAVEPOINT probe`)
		require.NoError(t, err)
		_, err = tx.Exec(ctx, `RELEASE SAVEPOINT `+name)
		assert.Error(t, err, "savepoint %s left by a failed call", name)
		_, err = tx.Exec(ctx, `ROLLBACK TO SAVEPOINT probe`)
		require.NoError(t, err)
	}

	// On a single pgx connection too.
	c, err := pgx.Connect(ctx, os.Getenv("LEADKIT_PG_DSN"))
	require.NoError(t, err)
	defer c.Close(ctx)
	_, err = stages.With(postgres.Pgx(c)).Get(ctx, stage.Key{Pipeline: m.Pipeline(), Subject: stage.Lead("kept")})
	require.NoError(t, err)
}

// otherConn is a connection of a database/sql driver other than pgx's
// (it wraps pgx's, but the stores cannot see through it): the stores take
// database/sql's own path, transactions through BeginTx and no COPY.
type otherConn struct{ *stdlib.Conn }

type otherConnector struct{ driver.Connector }

func (c otherConnector) Connect(ctx context.Context) (driver.Conn, error) {
	dc, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return otherConn{dc.(*stdlib.Conn)}, nil
}

// Every store passes its conformance suite on a database/sql pool of
// another driver too.
func TestOtherDriverConformance(t *testing.T) {
	ctx := context.Background()
	open := func(t *testing.T) (postgres.DB, string) {
		_, prefix := openDB(t)
		cfg, err := pgx.ParseConfig(os.Getenv("LEADKIT_PG_DSN"))
		require.NoError(t, err)
		db := sql.OpenDB(otherConnector{stdlib.GetConnector(*cfg)})
		t.Cleanup(func() { db.Close() })
		return postgres.SQL(db), prefix
	}
	t.Run("Stage", func(t *testing.T) {
		storetest.Stage(t, func(t *testing.T) stage.Store {
			db, prefix := open(t)
			s, err := postgres.NewStageStore(ctx, db, postgres.Options{TablePrefix: prefix})
			require.NoError(t, err)
			return s
		})
	})
	t.Run("Journey", func(t *testing.T) {
		storetest.Journey(t, func(t *testing.T) journey.Store {
			db, prefix := open(t)
			s, err := postgres.NewJourneyStore(ctx, db, postgres.Options{TablePrefix: prefix})
			require.NoError(t, err)
			return s
		})
	})
	t.Run("Pool", func(t *testing.T) {
		storetest.Pool(t, func(t *testing.T) pool.Store {
			db, prefix := open(t)
			s, err := postgres.NewPoolStore(ctx, db, postgres.Options{TablePrefix: prefix})
			require.NoError(t, err)
			return s
		})
	})
	t.Run("Lifecycle", func(t *testing.T) {
		storetest.Lifecycle(t, func(t *testing.T) lifecycle.Store {
			db, prefix := open(t)
			s, err := postgres.NewLifecycleStore(ctx, db, postgres.Options{TablePrefix: prefix})
			require.NoError(t, err)
			return s
		})
	})
}
