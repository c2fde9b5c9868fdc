package postgres

import (
	"context"
	"database/sql"
)

// DB is what a store runs its SQL on: a *sql.DB (each write is a
// transaction of the store's own), a *sql.Conn (the same, on that
// connection), or a *sql.Tx: the caller's transaction, so that a stage
// change or an event and the application's own rows (a CRM's task, an
// audit row) commit or roll back together. On a *sql.Tx the store never
// commits nor rolls back; after an error that wraps leadkit.ErrConflict
// or leadkit.ErrUnavailable (a deadlock, a lost connection) PostgreSQL has
// aborted that transaction: roll it back and run the unit of work again.
// With pgx, stdlib.OpenDBFromPool gives a *sql.DB over a pgxpool.Pool.
type DB interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

var (
	_ DB = (*sql.DB)(nil)
	_ DB = (*sql.Conn)(nil)
	_ DB = (*sql.Tx)(nil)
)

// beginner is a DB that can start a transaction of the store's own.
type beginner interface {
	BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error)
}

// unit is the transaction one store call writes in: its own, or the
// caller's.
type unit struct {
	DB
	own *sql.Tx // nil in the caller's transaction
}

// begin starts the unit of work of one store call on db.
func begin(ctx context.Context, db DB) (*unit, error) {
	if b, ok := db.(beginner); ok {
		tx, err := b.BeginTx(ctx, nil)
		if err != nil {
			return nil, err
		}
		return &unit{DB: tx, own: tx}, nil
	}
	return &unit{DB: db}, nil
}

// rollback ends a transaction of the store's own without its writes (a
// no-op after commit, and in the caller's transaction).
func (u *unit) rollback() {
	if u.own != nil {
		_ = u.own.Rollback()
	}
}

// commit ends a transaction of the store's own with its writes; in the
// caller's transaction the caller commits.
func (u *unit) commit() error {
	if u.own != nil {
		return u.own.Commit()
	}
	return nil
}
