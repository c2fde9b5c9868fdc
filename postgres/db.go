package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/leadkit/leadkit"
)

// DB is a database the stores run their SQL on: make one with SQL (a
// *sql.DB, *sql.Conn or *sql.Tx of database/sql) or Pgx (a
// *pgxpool.Pool, *pgx.Conn or pgx.Tx). On a pool or a connection each
// store call is a transaction of its own; on a transaction, the caller's:
// a stage change or an event and the application's own rows (a CRM's
// task, an audit row) commit or roll back together. There each call
// writes under a savepoint, so a call that fails (a version conflict, bad
// input, even a deadlock) writes nothing and leaves the transaction
// usable; the store never commits nor rolls back the caller's
// transaction, and only a lost connection (leadkit.ErrUnavailable) ends
// it.
//
// Every call first sets the session setting leadkit.tenant, local to its
// transaction, to the store's tenant: the tables' row-level security
// policies admit that tenant's rows only (see Grant). In the caller's
// transaction the setting stays for the rest of it, so the application's
// own policies may read it too.
type DB interface {
	// begin starts the unit of work of one store call, bound to tenant.
	begin(ctx context.Context, tenant string) (unit, error)
	// bulk runs fn in a unit of work on a pgx connection, for COPY; ok
	// is false when there is none (the caller's *sql.Tx).
	bulk(ctx context.Context, tenant string, fn func(pgx.Tx) error) (ok bool, err error)
}

// SQLDB is what database/sql's *sql.DB, *sql.Conn and *sql.Tx have in
// common; open the *sql.DB with the pgx driver this package registers
// (driver name "pgx"), or with stdlib.OpenDBFromPool over a pgxpool.Pool.
type SQLDB interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

var (
	_ SQLDB = (*sql.DB)(nil)
	_ SQLDB = (*sql.Conn)(nil)
	_ SQLDB = (*sql.Tx)(nil)
)

// PgxDB is what pgx's *pgxpool.Pool, *pgx.Conn and pgx.Tx have in common.
type PgxDB interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Begin(ctx context.Context) (pgx.Tx, error)
	CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, rows pgx.CopyFromSource) (int64, error)
}

var (
	_ PgxDB = (*pgx.Conn)(nil)
	_ PgxDB = (pgx.Tx)(nil)
)

// SQL returns the DB for a database/sql *sql.DB, *sql.Conn or *sql.Tx (a
// *sql.Tx is the caller's transaction: see DB).
func SQL(db SQLDB) DB { return sqlDB{db} }

// Pgx returns the DB for a pgx *pgxpool.Pool, *pgx.Conn or pgx.Tx (a
// pgx.Tx is the caller's transaction: see DB).
func Pgx(db PgxDB) DB { return pgxDB{db} }

// unit is the transaction one store call runs in: its own, or a savepoint
// in the caller's, with the tenant set.
type unit interface {
	exec(ctx context.Context, q string, args ...any) (int64, error)
	query(ctx context.Context, q string, args ...any) (rows, error)
	queryRow(ctx context.Context, q string, args ...any) row
	commit(ctx context.Context) error
	// rollback undoes the unit's writes (a no-op after commit).
	rollback(ctx context.Context)
}

// rows and row are what the stores read results through: pgx's and
// database/sql's alike.
type rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

type row interface{ Scan(dest ...any) error }

// setTenant is the statement that binds a unit to its tenant. The tenant
// is written into it: ValidateTenant admits letters, digits and - _ . :
// only, checked again here, so it needs no quoting, and the statement
// can share a round trip with BEGIN or SAVEPOINT.
func setTenant(tenant string) (string, error) {
	if err := leadkit.ValidateTenant(tenant); err != nil {
		return "", fmt.Errorf("postgres: %w", err)
	}
	return `SELECT set_config('leadkit.tenant', '` + tenant + `', true)`, nil
}

// tenantIs is the condition every query of the stores carries: the rows
// of the unit's tenant. The row-level security policies say the same,
// but a superuser or the tables' owner without FORCE ROW LEVEL SECURITY
// bypasses them; the stores stay correct for those connections too.
const tenantIs = `tenant = current_setting('leadkit.tenant')`

// savepoint is the name of the savepoint of a call in the caller's
// database/sql transaction.
const savepoint = `leadkit_unit`

type sqlDB struct{ db SQLDB }

type sqlUnit struct {
	q   SQLDB
	own *sql.Tx // nil in the caller's transaction
	ctx context.Context
}

func (d sqlDB) begin(ctx context.Context, tenant string) (unit, error) {
	set, err := setTenant(tenant)
	if err != nil {
		return nil, err
	}
	type beginner interface {
		BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error)
	}
	if b, ok := d.db.(beginner); ok {
		tx, err := b.BeginTx(ctx, nil)
		if err != nil {
			return nil, err
		}
		u := &sqlUnit{q: tx, own: tx, ctx: ctx}
		if _, err := tx.ExecContext(ctx, set); err != nil {
			u.rollback(ctx)
			return nil, err
		}
		return u, nil
	}
	// Without arguments the statements go in one round trip.
	if _, err := d.db.ExecContext(ctx, `SAVEPOINT `+savepoint+`; `+set); err != nil {
		return nil, err
	}
	return &sqlUnit{q: d.db, ctx: ctx}, nil
}

func (d sqlDB) bulk(ctx context.Context, tenant string, fn func(pgx.Tx) error) (bool, error) {
	var conn *sql.Conn
	switch db := d.db.(type) {
	case *sql.DB:
		c, err := db.Conn(ctx)
		if err != nil {
			return true, err
		}
		defer c.Close()
		conn = c
	case *sql.Conn:
		conn = db
	default:
		return false, nil
	}
	ok := true
	err := conn.Raw(func(dc any) error {
		sc, isPgx := dc.(*stdlib.Conn)
		if !isPgx {
			ok = false
			return nil
		}
		_, err := pgxDB{sc.Conn()}.bulk(ctx, tenant, fn)
		return err
	})
	return ok, err
}

func (u *sqlUnit) exec(ctx context.Context, q string, args ...any) (int64, error) {
	res, err := u.q.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (u *sqlUnit) query(ctx context.Context, q string, args ...any) (rows, error) {
	rs, err := u.q.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return sqlRows{rs}, nil
}

func (u *sqlUnit) queryRow(ctx context.Context, q string, args ...any) row {
	return u.q.QueryRowContext(ctx, q, args...)
}

func (u *sqlUnit) commit(ctx context.Context) error {
	if u.own != nil {
		return u.own.Commit()
	}
	if _, err := u.q.ExecContext(ctx, `RELEASE SAVEPOINT `+savepoint); err != nil {
		return err
	}
	u.q = nil // done: a later rollback does nothing
	return nil
}

func (u *sqlUnit) rollback(ctx context.Context) {
	if u.own != nil {
		_ = u.own.Rollback()
		return
	}
	if u.q != nil {
		_, _ = u.q.ExecContext(context.WithoutCancel(ctx), `ROLLBACK TO SAVEPOINT `+savepoint+`; RELEASE SAVEPOINT `+savepoint)
		u.q = nil
	}
}

// sqlRows gives *sql.Rows pgx's Close.
type sqlRows struct{ *sql.Rows }

func (r sqlRows) Close() { _ = r.Rows.Close() }

type pgxDB struct{ db PgxDB }

type pgxUnit struct{ tx pgx.Tx }

func (d pgxDB) begin(ctx context.Context, tenant string) (unit, error) {
	tx, err := d.beginTx(ctx, tenant)
	if err != nil {
		return nil, err
	}
	return pgxUnit{tx}, nil
}

// beginTx starts a pgx transaction (a savepoint in the caller's) with the
// tenant set: on a pool or connection in one round trip with BEGIN.
func (d pgxDB) beginTx(ctx context.Context, tenant string) (pgx.Tx, error) {
	set, err := setTenant(tenant)
	if err != nil {
		return nil, err
	}
	type txBeginner interface {
		BeginTx(ctx context.Context, opts pgx.TxOptions) (pgx.Tx, error)
	}
	if _, inTx := d.db.(pgx.Tx); !inTx {
		if b, ok := d.db.(txBeginner); ok {
			return b.BeginTx(ctx, pgx.TxOptions{BeginQuery: `BEGIN; ` + set})
		}
	}
	tx, err := d.db.Begin(ctx) // in the caller's transaction: a savepoint
	if err != nil {
		return nil, err
	}
	if _, err := tx.Exec(ctx, set); err != nil {
		_ = tx.Rollback(context.WithoutCancel(ctx))
		return nil, err
	}
	return tx, nil
}

func (d pgxDB) bulk(ctx context.Context, tenant string, fn func(pgx.Tx) error) (bool, error) {
	tx, err := d.beginTx(ctx, tenant)
	if err != nil {
		return true, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // a no-op after Commit
	if err := fn(tx); err != nil {
		return true, err
	}
	return true, tx.Commit(ctx)
}

func (u pgxUnit) exec(ctx context.Context, q string, args ...any) (int64, error) {
	tag, err := u.tx.Exec(ctx, q, args...)
	return tag.RowsAffected(), err
}

func (u pgxUnit) query(ctx context.Context, q string, args ...any) (rows, error) {
	return u.tx.Query(ctx, q, args...)
}

func (u pgxUnit) queryRow(ctx context.Context, q string, args ...any) row {
	return u.tx.QueryRow(ctx, q, args...)
}

func (u pgxUnit) commit(ctx context.Context) error { return u.tx.Commit(ctx) }

func (u pgxUnit) rollback(ctx context.Context) { _ = u.tx.Rollback(context.WithoutCancel(ctx)) }

// errNoRows is what a row's Scan returns when there is none, for both
// drivers (pgx.ErrNoRows wraps sql.ErrNoRows).
var errNoRows = sql.ErrNoRows

// run runs fn in a unit of work bound to tenant (reads too: the tenant
// must be set for the policies to admit rows) and commits it, or rolls it
// back when fn fails.
func run(ctx context.Context, db DB, tenant string, fn func(u unit) error) error {
	u, err := db.begin(ctx, tenant)
	if err != nil {
		return err
	}
	if err := fn(u); err != nil {
		u.rollback(ctx)
		return err
	}
	return u.commit(ctx)
}

// scanPages calls fn with every row of the tenant's rows of table decoded
// from its JSON column col, in byte order of its key column, reading
// pages of 500 rows so that fn may call the store and no long transaction
// is held.
func scanPages[T any](ctx context.Context, db DB, tenant, table, key, col string, keyOf func(*T) string, fn func(T) error) error {
	const page = 500
	last, first := "", true
	for {
		var vs []T
		err := run(ctx, db, tenant, func(u unit) error {
			rs, err := u.query(ctx, `SELECT `+col+` FROM `+table+` WHERE `+tenantIs+` AND ($1 OR `+key+` > $2) ORDER BY `+key+` LIMIT $3`, first, last, page)
			if err != nil {
				return err
			}
			defer rs.Close()
			for rs.Next() {
				var b []byte
				var v T
				if err = rs.Scan(&b); err == nil {
					err = json.Unmarshal(b, &v)
				}
				if err != nil {
					return err
				}
				vs = append(vs, v)
			}
			return rs.Err()
		})
		if err != nil {
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
