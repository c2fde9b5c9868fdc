package beam

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/journey"
	"github.com/leadkit/leadkit/pool"
	"github.com/leadkit/leadkit/postgres"
)

func init() {
	register.DoFn3x1[context.Context, []byte, func(leadkit.Event), error](&readPostgresFn{})
	register.DoFn3x1[context.Context, []byte, func(pool.Prospect), error](&readProspectsFn{})
	register.Emitter1[pool.Prospect]()
}

// PostgresSource says which events ReadPostgres reads: one tenant's, from
// the tables of the postgres module (github.com/leadkit/leadkit/postgres).
type PostgresSource struct {
	// DSN is the connection string, for the pgx driver ("postgres://
	// crm_reader@db:5432/crm"). It travels in the pipeline to the workers:
	// put no password in it on a shared runner; use a password file or the
	// PG* environment variables of the workers instead.
	DSN string `json:"dsn"`
	// Tenant is the tenant whose events are read (see
	// leadkit.ValidateTenant); "" means leadkit.DefaultTenant.
	Tenant string `json:"tenant"`
	// TablePrefix is the tables' prefix, as in postgres.Options; ""
	// means "leadkit_".
	TablePrefix string `json:"table_prefix"`
}

// ReadPostgres reads the events of src.Tenant from the postgres module's
// event table: events is a PCollection of leadkit.Event, every event of
// the tenant once, as postgres.JourneyStore returns them (times in UTC
// at microsecond precision, attribute numbers as float64). Pass it to
// Timelines with the same tenant.
//
// The read is postgres.JourneyStore.ForEach, the store's own code: it
// sets leadkit.tenant in each transaction, so the tables' row-level
// security admits the tenant's rows only (connect as a role without
// BYPASSRLS; see postgres.Grant), and filters by tenant itself too. Its
// query reads the leads in pages of 500, in lead ID order, one short
// transaction per page:
//
//	WITH leads AS (SELECT DISTINCT tenant, lead_id FROM leadkit_events
//	               WHERE tenant = $tenant AND lead_id > $last ORDER BY lead_id LIMIT 500)
//	SELECT id, lead_id, type, channel, campaign, content, time, attrs
//	FROM leadkit_events JOIN leads USING (tenant, lead_id)
//	WHERE tenant = $tenant ORDER BY lead_id, time, seq
//
// so a worker holds the events of 500 leads at a time (the cap on its
// memory), and no transaction stays open while the pipeline works.
// Pages are separate transactions: events appended during the read are
// in it if their lead's page is read after them. The tables must be
// migrated (postgres.Migrate); ReadPostgres migrates nothing.
//
// One worker reads the whole tenant, in order; the stages after it
// (Timelines, the funnels) run in parallel. A read split into ranges of
// leads would need a scan by range from the postgres module, which it
// does not offer yet.
//
// A tenant leadkit.ValidateTenant refuses, a table prefix the postgres
// module refuses, or an empty DSN is an error (wrapping
// leadkit.ErrInvalid) before the pipeline runs; a database that cannot be
// reached fails the pipeline.
func ReadPostgres(s beam.Scope, src PostgresSource) (events beam.PCollection, err error) {
	if err := src.check("read postgres"); err != nil {
		return beam.PCollection{}, err
	}
	s = s.Scope("leadkit.ReadPostgres")
	return beam.ParDo(s, &readPostgresFn{pgReader{Source: src}}, beam.Impulse(s)), nil
}

// check fills the default tenant and checks src, for the reader what.
func (src *PostgresSource) check(what string) error {
	if src.Tenant == "" {
		src.Tenant = leadkit.DefaultTenant
	}
	if err := leadkit.ValidateTenant(src.Tenant); err != nil {
		return fmt.Errorf("leadkit beam: %s: %w", what, err)
	}
	if _, err := postgres.Schema(src.TablePrefix); err != nil {
		return fmt.Errorf("leadkit beam: %s: %w", what, err)
	}
	if src.DSN == "" {
		return fmt.Errorf("leadkit beam: %s: %w: no DSN", what, leadkit.ErrInvalid)
	}
	return nil
}

// ReadPostgresProspects reads the prospect pool of src.Tenant from the
// postgres module's prospect table: prospects is a PCollection of
// pool.Prospect, every prospect of the tenant once (merged and erased
// ones included), as postgres.PoolStore.Scan returns them: the input of
// PoolMetrics with the same tenant. The read is the store's own Scan (in
// pages of 500 prospects in ID order, one short transaction per page,
// under the tenant's row-level security), on one worker, as
// ReadPostgres reads events; the same source checks apply.
func ReadPostgresProspects(s beam.Scope, src PostgresSource) (prospects beam.PCollection, err error) {
	if err := src.check("read postgres prospects"); err != nil {
		return beam.PCollection{}, err
	}
	s = s.Scope("leadkit.ReadPostgresProspects")
	return beam.ParDo(s, &readProspectsFn{pgReader{Source: src}}, beam.Impulse(s)), nil
}

// readProspectsFn reads a tenant's prospects through a PoolStore.
type readProspectsFn struct{ pgReader }

// ProcessElement emits every prospect of the tenant.
func (fn *readProspectsFn) ProcessElement(ctx context.Context, _ []byte, emit func(pool.Prospect)) error {
	store, err := postgres.NewPoolStore(ctx, postgres.SQL(fn.db), postgres.Options{
		Tenant: fn.Source.Tenant, TablePrefix: fn.Source.TablePrefix, SkipMigrate: true})
	if err != nil {
		return fmt.Errorf("leadkit beam: read postgres prospects: %w", err)
	}
	if err := store.Scan(ctx, func(p pool.Prospect) error { emit(p); return nil }); err != nil {
		return fmt.Errorf("leadkit beam: read postgres prospects: tenant %q: %w", fn.Source.Tenant, err)
	}
	return nil
}

// pgReader is what the readers share: the source, and the database
// opened for it on a worker.
type pgReader struct {
	Source PostgresSource `json:"source"`

	db *sql.DB
}

// Setup opens the database (connections are made when needed).
func (r *pgReader) Setup() error {
	db, err := sql.Open("pgx", r.Source.DSN)
	if err != nil {
		return fmt.Errorf("leadkit beam: read postgres: %w", err)
	}
	r.db = db
	return nil
}

// Teardown closes the database.
func (r *pgReader) Teardown() error {
	if r.db == nil {
		return nil
	}
	return r.db.Close()
}

// readPostgresFn reads a tenant's events through a JourneyStore.
type readPostgresFn struct{ pgReader }

// ProcessElement emits every event of the tenant.
func (fn *readPostgresFn) ProcessElement(ctx context.Context, _ []byte, emit func(leadkit.Event)) error {
	store, err := postgres.NewJourneyStore(ctx, postgres.SQL(fn.db), postgres.Options{
		Tenant: fn.Source.Tenant, TablePrefix: fn.Source.TablePrefix, SkipMigrate: true})
	if err != nil {
		return fmt.Errorf("leadkit beam: read postgres: %w", err)
	}
	err = store.ForEach(ctx, func(tl journey.Timeline) error {
		for _, e := range tl.Events {
			emit(e)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("leadkit beam: read postgres: tenant %q: %w", fn.Source.Tenant, err)
	}
	return nil
}
