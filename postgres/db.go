package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
)

// DB is what a store runs its SQL on: a *sql.DB (each write is a
// transaction of the store's own), a *sql.Conn (the same, on that
// connection), or a *sql.Tx: the caller's transaction, so that a stage
// change or an event and the application's own rows (a CRM's task, an
// audit row) commit or roll back together. On a *sql.Tx the store never
// commits nor rolls back the transaction: each call writes under a
// savepoint, so a call that fails (a version conflict, bad input, even a
// deadlock) writes nothing and leaves the transaction usable; only a lost
// connection (leadkit.ErrUnavailable) ends it.
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

// unit is the transaction one store call writes in: its own, or a
// savepoint in the caller's.
type unit struct {
	DB
	own *sql.Tx // nil in the caller's transaction
	ctx context.Context
}

// begin starts the unit of work of one store call on db: a transaction of
// its own, or a savepoint in the caller's transaction, so that a call
// that fails writes nothing there either and leaves it usable.
func begin(ctx context.Context, db DB) (*unit, error) {
	if b, ok := db.(beginner); ok {
		tx, err := b.BeginTx(ctx, nil)
		if err != nil {
			return nil, err
		}
		return &unit{DB: tx, own: tx, ctx: ctx}, nil
	}
	if _, err := db.ExecContext(ctx, `SAVEPOINT leadkit_unit`); err != nil {
		return nil, err
	}
	return &unit{DB: db, ctx: ctx}, nil
}

// rollback undoes the unit's writes: its transaction, or back to its
// savepoint (a no-op after commit).
func (u *unit) rollback() {
	if u.own != nil {
		_ = u.own.Rollback()
		return
	}
	if u.DB != nil {
		_, _ = u.DB.ExecContext(context.WithoutCancel(u.ctx), `ROLLBACK TO SAVEPOINT leadkit_unit`)
		_, _ = u.DB.ExecContext(context.WithoutCancel(u.ctx), `RELEASE SAVEPOINT leadkit_unit`)
	}
}

// commit keeps the unit's writes: it commits its own transaction, or
// releases its savepoint (the caller commits).
func (u *unit) commit() error {
	if u.own != nil {
		return u.own.Commit()
	}
	_, err := u.DB.ExecContext(u.ctx, `RELEASE SAVEPOINT leadkit_unit`)
	if err == nil {
		u.DB = nil // done: a later rollback does nothing
	}
	return err
}

// scanPages calls fn with every row of table decoded from its JSON column
// col, in byte order of its key column, reading pages of 500 rows so that
// fn may call the store and no long transaction is held.
func scanPages[T any](ctx context.Context, db DB, table, key, col string, keyOf func(*T) string, fn func(T) error) error {
	const page = 500
	last, first := "", true
	for {
		rows, err := db.QueryContext(ctx, `SELECT `+col+` FROM `+table+` WHERE $1 OR `+key+` > $2 ORDER BY `+key+` LIMIT $3`, first, last, page)
		if err != nil {
			return fmt.Errorf("postgres: scan %s: %w", table, dbErr(err))
		}
		var vs []T
		for rows.Next() {
			var b []byte
			var v T
			if err = rows.Scan(&b); err == nil {
				err = json.Unmarshal(b, &v)
			}
			if err != nil {
				rows.Close()
				return fmt.Errorf("postgres: scan %s: %w", table, dbErr(err))
			}
			vs = append(vs, v)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("postgres: scan %s: %w", table, dbErr(err))
		}
		for _, v := range vs {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := fn(v); err != nil {
				return err
			}
		}
		if len(vs) < page {
			return nil
		}
		last, first = keyOf(&vs[len(vs)-1]), false
	}
}
