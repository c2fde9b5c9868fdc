// Package postgres provides PostgreSQL implementations of leadkit's
// stores, for production: StageStore (stage.Store), JourneyStore
// (journey.Store), PoolStore (pool.Store: an identity is held by one
// prospect across processes, a prospect graduates once) and
// LifecycleStore (lifecycle.Store, the engine's lead states): engines in
// several processes can share them. It is a separate module, so importing the core
// never pulls a database driver into a user's module graph.
//
// Stores take a DB: a *sql.DB, a *sql.Conn or a *sql.Tx. Open one with
// the pgx driver this package registers (name "pgx"):
//
//	db, err := sql.Open("pgx", "postgres://user:pass@localhost:5432/crm")
//	stages, err := postgres.NewStageStore(ctx, db, postgres.Options{})
//	m, err := stage.New(stage.Classic(), stage.Options{Store: stages})
//
// To make a stage change (or an event) part of the application's own
// transaction, bind the store to it for the unit of work; it commits or
// rolls back with the application's rows:
//
//	tx, err := db.BeginTx(ctx, nil)
//	_, err = m.WithStore(stages.With(tx)).Fire(ctx, lead, "accept", stage.Request{Actor: "ana"})
//	_, err = tx.ExecContext(ctx, `INSERT INTO crm_tasks ...`)
//	err = tx.Commit()
//
// The schema is a list of versioned migrations (Migrations gives the SQL
// files, MigrationsFor and Schema the SQL for a table prefix). The stores
// apply the missing ones at construction (Migrate): in one transaction
// holding an advisory lock, so processes that open their stores at once
// on a fresh database do not race, and recorded in the prefix's
// schema_migrations table. Set Options.SkipMigrate to run them with your
// own tool instead. Tables are prefixed with Options.TablePrefix (default
// "leadkit_").
//
// Concurrency: every write is one transaction; optimistic versions are
// enforced by the database (a conditional UPDATE), so many application
// instances can share one database. Times are stored as timestamptz and read
// back in UTC.
//
// Errors: a deadlock or serialization failure wraps leadkit.ErrConflict,
// and a server that cannot be reached or a connection lost mid-call wraps
// leadkit.ErrUnavailable; in both cases the call may be repeated (every
// write is one transaction, and appends are idempotent by event ID).
// Appends insert in event ID order, so concurrent overlapping batches do
// not deadlock; a batch of 2,000 events or more on a *sql.DB or *sql.Conn
// of the pgx driver goes through COPY into a staging table, then one
// idempotent insert.
package postgres
