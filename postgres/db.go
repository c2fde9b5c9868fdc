package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"

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
// writes under a savepoint, so a call that fails with bad input, a
// version conflict or not-found writes nothing and leaves the transaction
// usable; the store never commits nor rolls back the caller's
// transaction. A deadlock or serialization failure (ErrConflict wrapping
// SQLSTATE 40P01 or 40001) in the caller's transaction is different:
// retry the caller's whole transaction, not the call, which would meet
// the same locks or snapshot; a lost connection (ErrUnavailable) ends the
// transaction, and so does a context canceled or past its deadline during
// a call (the drivers close the connection then).
//
// Give the stores the transaction itself, not the connection it runs on:
// on a *pgx.Conn or *sql.Conn a store begins and commits transactions of
// its own. A transaction, and a *pgx.Conn, is one session: use it from one
// goroutine at a time (pgx's are not safe for concurrent use at all).
// The stores do not serialize calls on it; calls interleaved on one
// transaction may fail, or undo each other's savepoints, but never touch
// another tenant's rows (every statement names its tenant). Pools of
// either driver are safe for concurrent use.
//
// Every call first sets the session setting leadkit.tenant, local to its
// transaction, to the store's tenant: the tables' row-level security
// policies admit that tenant's rows only (see Grant). In the caller's
// transaction the setting stays after a call that succeeds, so the
// application's own policies may read it too (a call that fails rolls it
// back with its savepoint).
type DB interface {
	// run runs fn in the unit of work of one store call, bound to tenant,
	// and commits it, or rolls it back when fn fails.
	run(ctx context.Context, tenant string, fn func(unit) error) error
	// read runs one query bound to tenant and calls fn with its rows: on
	// a pool or connection the tenant and the query go in one round trip
	// (a pipeline, which runs as one implicit transaction).
	read(ctx context.Context, tenant, q string, args []any, fn func(rows) error) error
	// write runs one statement bound to tenant and returns the rows it
	// affected, in one round trip like read.
	write(ctx context.Context, tenant, q string, args []any) (int64, error)
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
// It names pgx's types, as an adapter for pgx must; nothing else of this
// package's API does.
type PgxDB interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Begin(ctx context.Context) (pgx.Tx, error)
	CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, rows pgx.CopyFromSource) (int64, error)
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

var (
	_ PgxDB = (*pgx.Conn)(nil)
	_ PgxDB = (pgx.Tx)(nil)
)

// SQL returns the DB for a database/sql *sql.DB, *sql.Conn or *sql.Tx (a
// *sql.Tx is the caller's transaction: see DB).
func SQL(db SQLDB) DB {
	if isNil(db) {
		return nil
	}
	return sqlDB{db}
}

// Pgx returns the DB for a pgx *pgxpool.Pool, *pgx.Conn or pgx.Tx (a
// pgx.Tx is the caller's transaction: see DB).
func Pgx(db PgxDB) DB {
	if isNil(db) {
		return nil
	}
	return pgxDB{db}
}

// isNil reports whether v is nil or a nil pointer (a *sql.DB never
// opened): SQL and Pgx make no DB of it, and the stores refuse that.
func isNil(v any) bool {
	if v == nil {
		return true
	}
	r := reflect.ValueOf(v)
	return r.Kind() == reflect.Pointer && r.IsNil()
}

// unit is the transaction one store call runs in: its own, or a savepoint
// in the caller's, with the tenant set.
type unit interface {
	exec(ctx context.Context, q string, args ...any) (int64, error)
	query(ctx context.Context, q string, args ...any) (rows, error)
	queryRow(ctx context.Context, q string, args ...any) row
	// pgx returns the unit's pgx transaction, for COPY; nil when it has
	// none (the caller's *sql.Tx).
	pgx() pgx.Tx
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

// tenantArg stands for the unit's tenant in the stores' SQL: bindTenant
// makes it a parameter of the query. Every query names its tenant itself
// (tenantIs in conditions, the tenant column in inserts) rather than read
// the session setting: the setting is what the row-level security
// policies check, so a unit whose setting is not its tenant (two
// goroutines interleaving calls on one transaction, which the stores do
// not support) fails instead of touching another tenant's rows, and a
// connection that bypasses the policies (a superuser) still reads and
// writes the store's tenant only.
const tenantArg = "$tenant"

// tenantIs is the condition every query of the stores carries.
const tenantIs = `tenant = ` + tenantArg

// bindTenant writes tenantArg in q as its next parameter, tenant.
func bindTenant(q string, args []any, tenant string) (string, []any) {
	if !strings.Contains(q, tenantArg) {
		return q, args
	}
	return strings.ReplaceAll(q, tenantArg, "$"+strconv.Itoa(len(args)+1)), append(args[:len(args):len(args)], tenant)
}

// savepoint is the name of the savepoint of a call in the caller's
// database/sql transaction.
const savepoint = `leadkit_unit`

type sqlDB struct{ db SQLDB }

// sqlUnit is a unit of work through database/sql: a transaction of its
// own (own set) or a savepoint in the caller's.
type sqlUnit struct {
	q      SQLDB
	own    *sql.Tx
	tenant string
}

func (d sqlDB) run(ctx context.Context, tenant string, fn func(unit) error) error {
	set, err := setTenant(tenant)
	if err != nil {
		return err
	}
	// A pool or connection of the pgx driver takes pgx's path on its
	// connection: BEGIN and the tenant in one round trip, and COPY.
	return d.viaPgx(ctx, func(p pgxDB) error { return p.run(ctx, tenant, fn) },
		func(d sqlDB) error { return d.runSQL(ctx, tenant, set, fn) })
}

// viaPgx runs onPgx on the pgx connection of a pool or connection of the
// pgx driver (a connection taken from the pool for the call), and
// otherwise (a *sql.Tx, another driver) runs other.
func (d sqlDB) viaPgx(ctx context.Context, onPgx func(pgxDB) error, other func(sqlDB) error) error {
	var conn *sql.Conn
	switch db := d.db.(type) {
	case *sql.DB:
		c, err := db.Conn(ctx)
		if err != nil {
			return err
		}
		defer c.Close()
		conn = c
	case *sql.Conn:
		conn = db
	default:
		return other(d)
	}
	done := false
	err := conn.Raw(func(dc any) error {
		sc, isPgx := dc.(*stdlib.Conn)
		if !isPgx {
			return nil
		}
		done = true
		return onPgx(pgxDB{sc.Conn()})
	})
	if done {
		return err
	}
	return other(sqlDB{conn}) // another driver's connection
}

// runSQL is run through database/sql alone.
func (d sqlDB) runSQL(ctx context.Context, tenant, set string, fn func(unit) error) error {
	u := &sqlUnit{q: d.db, tenant: tenant}
	if tx, isTx := d.db.(*sql.Tx); isTx {
		// In the caller's transaction: a savepoint (statements without
		// arguments go in one round trip).
		if _, err := tx.ExecContext(ctx, `SAVEPOINT `+savepoint+`; `+set); err != nil {
			return err
		}
		if err := fn(u); err != nil {
			_, _ = tx.ExecContext(context.WithoutCancel(ctx), `ROLLBACK TO SAVEPOINT `+savepoint+`; RELEASE SAVEPOINT `+savepoint)
			return err
		}
		_, err := tx.ExecContext(ctx, `RELEASE SAVEPOINT `+savepoint)
		return err
	}
	type beginner interface {
		BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error)
	}
	b, ok := d.db.(beginner)
	if !ok {
		return fmt.Errorf("postgres: %w: %T is neither a *sql.Tx nor can begin transactions", leadkit.ErrInvalid, d.db)
	}
	own, err := b.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	u.own, u.q = own, own
	defer u.own.Rollback() //nolint:errcheck // a no-op after Commit
	if _, err := u.own.ExecContext(ctx, set); err != nil {
		return err
	}
	if err := fn(u); err != nil {
		return err
	}
	return u.own.Commit()
}

func (d sqlDB) read(ctx context.Context, tenant, q string, args []any, fn func(rows) error) error {
	return d.viaPgx(ctx, func(p pgxDB) error { return p.read(ctx, tenant, q, args, fn) },
		func(d sqlDB) error {
			set, err := setTenant(tenant)
			if err != nil {
				return err
			}
			return d.runSQL(ctx, tenant, set, func(u unit) error { return readIn(ctx, u, q, args, fn) })
		})
}

func (d sqlDB) write(ctx context.Context, tenant, q string, args []any) (n int64, err error) {
	err = d.viaPgx(ctx, func(p pgxDB) (err error) { n, err = p.write(ctx, tenant, q, args); return err },
		func(d sqlDB) error {
			set, err := setTenant(tenant)
			if err != nil {
				return err
			}
			return d.runSQL(ctx, tenant, set, func(u unit) (err error) { n, err = u.exec(ctx, q, args...); return err })
		})
	return n, err
}

// readIn is read in a unit of work.
func readIn(ctx context.Context, u unit, q string, args []any, fn func(rows) error) error {
	rs, err := u.query(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rs.Close()
	if err := fn(rs); err != nil {
		return err
	}
	return rs.Err()
}

func (u *sqlUnit) exec(ctx context.Context, q string, args ...any) (int64, error) {
	q, args = bindTenant(q, args, u.tenant)
	res, err := u.q.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (u *sqlUnit) query(ctx context.Context, q string, args ...any) (rows, error) {
	q, args = bindTenant(q, args, u.tenant)
	rs, err := u.q.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return sqlRows{rs}, nil
}

func (u *sqlUnit) queryRow(ctx context.Context, q string, args ...any) row {
	q, args = bindTenant(q, args, u.tenant)
	return u.q.QueryRowContext(ctx, q, args...)
}

func (u *sqlUnit) pgx() pgx.Tx { return nil }

// sqlRows gives *sql.Rows pgx's Close.
type sqlRows struct{ *sql.Rows }

func (r sqlRows) Close() { _ = r.Rows.Close() }

type pgxDB struct{ db PgxDB }

type pgxUnit struct {
	tx     pgx.Tx
	tenant string
}

// run starts a pgx transaction (a savepoint in the caller's) with the
// tenant set, on a pool or connection in one round trip with BEGIN.
func (d pgxDB) run(ctx context.Context, tenant string, fn func(unit) error) error {
	set, err := setTenant(tenant)
	if err != nil {
		return err
	}
	if tx, inTx := d.db.(pgx.Tx); inTx {
		// In the caller's transaction: a savepoint of our own, released
		// after a failure too (pgx's nested transactions leave it).
		if _, err := tx.Exec(ctx, `SAVEPOINT `+savepoint+`; `+set); err != nil {
			return err
		}
		if err := fn(pgxUnit{tx, tenant}); err != nil {
			_, _ = tx.Exec(context.WithoutCancel(ctx), `ROLLBACK TO SAVEPOINT `+savepoint+`; RELEASE SAVEPOINT `+savepoint)
			return err
		}
		_, err := tx.Exec(ctx, `RELEASE SAVEPOINT `+savepoint)
		return err
	}
	type txBeginner interface {
		BeginTx(ctx context.Context, opts pgx.TxOptions) (pgx.Tx, error)
	}
	var tx pgx.Tx
	if b, ok := d.db.(txBeginner); ok {
		if tx, err = b.BeginTx(ctx, pgx.TxOptions{BeginQuery: `BEGIN; ` + set}); err != nil {
			return err
		}
		defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // a no-op after Commit
	} else {
		if tx, err = d.db.Begin(ctx); err != nil {
			return err
		}
		defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // a no-op after Commit
		if _, err := tx.Exec(ctx, set); err != nil {
			return err
		}
	}
	if err := fn(pgxUnit{tx, tenant}); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

func (d pgxDB) read(ctx context.Context, tenant, q string, args []any, fn func(rows) error) error {
	if _, inTx := d.db.(pgx.Tx); inTx {
		// In the caller's transaction: under a savepoint, so that a read
		// that fails leaves the transaction usable.
		return d.run(ctx, tenant, func(u unit) error { return readIn(ctx, u, q, args, fn) })
	}
	br, err := d.pipeline(ctx, tenant, q, args)
	if err != nil {
		return err
	}
	defer br.Close()
	rs, err := br.Query()
	if err != nil {
		return err
	}
	defer rs.Close()
	if err := fn(rs); err != nil {
		return err
	}
	rs.Close()
	if err := rs.Err(); err != nil {
		return err
	}
	return br.Close()
}

// pipeline sends the tenant setting and one statement as one batch (one
// round trip, run as one implicit transaction) and reads the setting's
// result; the caller reads the statement's and closes the results.
func (d pgxDB) pipeline(ctx context.Context, tenant, q string, args []any) (pgx.BatchResults, error) {
	if err := leadkit.ValidateTenant(tenant); err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	// The tenant as an argument: pgx prepares and caches the batch's
	// statements per connection, one text for every tenant otherwise.
	var b pgx.Batch
	b.Queue(`SELECT set_config('leadkit.tenant', $1, true)`, tenant)
	q, args = bindTenant(q, args, tenant)
	b.Queue(q, args...)
	br := d.db.SendBatch(ctx, &b)
	if _, err := br.Exec(); err != nil {
		br.Close()
		return nil, err
	}
	return br, nil
}

func (d pgxDB) write(ctx context.Context, tenant, q string, args []any) (n int64, err error) {
	if _, inTx := d.db.(pgx.Tx); inTx {
		err = d.run(ctx, tenant, func(u unit) (err error) { n, err = u.exec(ctx, q, args...); return err })
		return n, err
	}
	br, err := d.pipeline(ctx, tenant, q, args)
	if err != nil {
		return 0, err
	}
	defer br.Close()
	tag, err := br.Exec()
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), br.Close()
}

func (u pgxUnit) exec(ctx context.Context, q string, args ...any) (int64, error) {
	q, args = bindTenant(q, args, u.tenant)
	tag, err := u.tx.Exec(ctx, q, args...)
	return tag.RowsAffected(), err
}

func (u pgxUnit) query(ctx context.Context, q string, args ...any) (rows, error) {
	q, args = bindTenant(q, args, u.tenant)
	return u.tx.Query(ctx, q, args...)
}

func (u pgxUnit) queryRow(ctx context.Context, q string, args ...any) row {
	q, args = bindTenant(q, args, u.tenant)
	return u.tx.QueryRow(ctx, q, args...)
}

func (u pgxUnit) pgx() pgx.Tx { return u.tx }

// errNoRows is what a row's Scan returns when there is none, for both
// drivers (pgx.ErrNoRows wraps sql.ErrNoRows).
var errNoRows = sql.ErrNoRows

// run runs fn in a unit of work bound to tenant (reads too: the tenant
// must be set for the policies to admit rows) and commits it, or rolls it
// back when fn fails.
func run(ctx context.Context, db DB, tenant string, fn func(u unit) error) error {
	return db.run(ctx, tenant, fn)
}

// scanPages calls fn with every row of the tenant's rows of table decoded
// from its JSON column col, in byte order of its key column, reading
// pages of 500 rows so that fn may call the store and no long transaction
// is held.
func scanPages[T any](ctx context.Context, b binding, table, key, col string, keyOf func(*T) string, fn func(T) error) error {
	const page = 500
	last, first := "", true
	for {
		var vs []T
		err := b.read(ctx, `SELECT `+col+` FROM `+table+` WHERE `+tenantIs+` AND ($1 OR `+key+` > $2) ORDER BY `+key+` LIMIT $3`, []any{first, last, page}, func(rs rows) error {
			for rs.Next() {
				var b []byte
				var v T
				err := rs.Scan(&b)
				if err == nil {
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
