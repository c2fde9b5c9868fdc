// Package postgres provides PostgreSQL implementations of leadkit's
// stores, for production: StageStore (stage.Store), JourneyStore
// (journey.Store), PoolStore (pool.Store: an identity is held by one
// prospect across processes, a prospect graduates once) and
// LifecycleStore (lifecycle.Store, the engine's lead states): engines in
// several processes can share them. It is a separate module, so importing the core
// never pulls a database driver into a user's module graph.
//
// Stores take a DB: postgres.SQL over database/sql's *sql.DB, *sql.Conn or
// *sql.Tx (open it with the pgx driver this package registers, name
// "pgx"), or postgres.Pgx over pgx's *pgxpool.Pool, *pgx.Conn or pgx.Tx:
//
//	err = postgres.Migrate(ctx, postgres.SQL(ownerDB), postgres.Options{})      // as the tables' owner, at deploy
//	err = postgres.Grant(ctx, postgres.SQL(ownerDB), "crm_app", postgres.Options{})
//	db, err := sql.Open("pgx", "postgres://crm_app@localhost:5432/crm")         // the application
//	stages, err := postgres.NewStageStore(ctx, postgres.SQL(db), postgres.Options{Tenant: "acme"})
//	m, err := stage.New(stage.Classic(), stage.Options{Store: stages})
//
// To make a stage change (or an event) part of the application's own
// transaction, bind the store to it for the unit of work; it commits or
// rolls back with the application's rows:
//
//	tx, err := pool.Begin(ctx) // a pgxpool.Pool; db.BeginTx alike
//	_, err = m.WithStore(stages.With(postgres.Pgx(tx))).Fire(ctx, lead, "accept", stage.Request{Actor: "ana"})
//	_, err = tx.Exec(ctx, `INSERT INTO crm_tasks ...`)
//	err = tx.Commit(ctx)
//
// # Tenants
//
// Every row carries its tenant and every key starts with it: the same
// event, lead or prospect ID in two tenants is two rows. A store is bound
// to one tenant (Options.Tenant, default leadkit.DefaultTenant; ForTenant
// gives the same store bound to another, cheaply, for one request of a
// multi-tenant product). Isolation is enforced by the database: each store
// call sets the session setting leadkit.tenant, local to its transaction,
// and row-level security policies on every table (FORCE ROW LEVEL
// SECURITY: the tables' owner is held to them too) admit only the rows of
// that tenant, for reads and writes alike. Connect the application as a
// role that neither owns the tables nor is a superuser or has BYPASSRLS
// (those pass every policy): Grant gives such a role what the stores
// need. The stores also filter by tenant themselves, so they stay correct
// on a connection that bypasses the policies.
//
// The schema is a list of versioned migrations (Migrations gives the SQL
// files, MigrationsFor and Schema the SQL for a table prefix). The stores
// apply the missing ones at construction (Migrate): in one transaction
// holding an advisory lock, so processes that open their stores at once
// on a fresh database do not race, and recorded in the prefix's
// schema_migrations table. A store opened when every migration is applied
// changes nothing (so the application role, which may not change the
// schema, opens its stores without SkipMigrate); with migrations pending,
// such a role gets an error wrapping leadkit.ErrInvalid that says to run
// Migrate as the owner. Set Options.SkipMigrate to run them with your own
// tool instead.
//
// Upgrading to a version with new migrations: stop the instances of the
// old version before the first new one migrates. Migration 0005 (tenants)
// in particular rewrites every key and turns on row-level security: old
// instances, which set no tenant, would read empty tables and fail to
// write. It locks the tables while it runs and keeps existing rows in the
// tenant leadkit.DefaultTenant.
//
// Tables are prefixed with Options.TablePrefix (default "leadkit_").
//
// Concurrency: every write is one transaction; optimistic versions are
// enforced by the database (a conditional UPDATE), so many application
// instances can share one database. Times are stored as timestamptz and read
// back in UTC.
//
// Errors: a deadlock or serialization failure wraps leadkit.ErrConflict,
// and a server that cannot be reached or a connection lost mid-call wraps
// leadkit.ErrUnavailable; in both cases the call may be repeated (every
// write is one transaction, and appends are idempotent by event ID); in
// the caller's transaction, repeat the whole transaction (see DB).
// Appends insert in event ID order, so concurrent overlapping batches do
// not deadlock; a batch of 2,000 events or more on a pgx connection (any
// DB but a *sql.Tx) goes through COPY into a staging table, then one
// insert of the events not stored yet (idempotent too: IDs a concurrent
// writer stores meanwhile are skipped).
package postgres
