package postgres

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver

	"github.com/leadkit/leadkit"
)

// Options configures the stores. The zero value is the default.
type Options struct {
	// TablePrefix is prepended to every table name; default "leadkit_". It
	// may hold a schema ("crm.leadkit_"); letters, digits, _ and one dot,
	// and at most 41 bytes after the dot.
	TablePrefix string
	// Tenant is the tenant the store is bound to (see
	// leadkit.ValidateTenant); default leadkit.DefaultTenant. A store
	// reads and writes its tenant's rows only; ForTenant gives the same
	// store bound to another.
	Tenant string
	// SkipMigrate skips applying the migrations at construction (see
	// Migrate, Migrations).
	SkipMigrate bool
}

// maxPrefix caps the table part of a prefix so that the longest name it
// makes ("prospect_keys_prospect", 22 bytes) fits PostgreSQL's 63.
const maxPrefix = 63 - len("prospect_keys_prospect")

var prefixRE = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*\.)?[A-Za-z_][A-Za-z0-9_]*$`)

func (o Options) prefix() (string, error) {
	p := o.TablePrefix
	if p == "" {
		p = "leadkit_"
	}
	if !prefixRE.MatchString(p) {
		return "", fmt.Errorf("postgres: %w: table prefix %q: use letters, digits, _ and at most one dot", leadkit.ErrInvalid, p)
	}
	if _, table, _ := strings.Cut(p, "."); len(table) > maxPrefix || !strings.Contains(p, ".") && len(p) > maxPrefix {
		return "", fmt.Errorf("postgres: %w: table prefix %q: at most %d bytes before the table names (PostgreSQL cuts names at 63)", leadkit.ErrInvalid, p, maxPrefix)
	}
	return p, nil
}

// binding is what every store holds: the database and the tenant it is
// bound to.
type binding struct {
	db     DB
	tenant string
}

// Tenant returns the tenant the store is bound to.
func (b binding) Tenant() string { return b.tenant }

// errNoDB is the error of a store call without a database: With(nil),
// or With of a nil transaction (one whose BeginTx failed).
var errNoDB = fmt.Errorf("postgres: %w: no database (With was given a nil one)", leadkit.ErrInvalid)

// run runs fn in a unit of work of the store's tenant (see run).
func (b binding) run(ctx context.Context, fn func(u unit) error) error {
	if b.db == nil {
		return errNoDB
	}
	return run(ctx, b.db, b.tenant, fn)
}

// read runs one query of the store's tenant and calls fn with its rows
// (see DB).
func (b binding) read(ctx context.Context, q string, args []any, fn func(rows) error) error {
	if b.db == nil {
		return errNoDB
	}
	return b.db.read(ctx, b.tenant, q, args, fn)
}

// write runs one statement of the store's tenant (see DB).
func (b binding) write(ctx context.Context, q string, args ...any) (int64, error) {
	if b.db == nil {
		return 0, errNoDB
	}
	return b.db.write(ctx, b.tenant, q, args)
}

// readRow reads the one row of a query into dest; no row is errNoRows.
func (b binding) readRow(ctx context.Context, q string, args []any, dest ...any) error {
	return b.read(ctx, q, args, func(rs rows) error {
		if !rs.Next() {
			if err := rs.Err(); err != nil {
				return err
			}
			return errNoRows
		}
		return rs.Scan(dest...)
	})
}

// open checks the options, applies the migrations unless told not to, and
// returns the store's binding and table prefix.
func open(ctx context.Context, db DB, o Options) (binding, string, error) {
	p, err := o.prefix()
	if err != nil {
		return binding{}, "", err
	}
	tenant := o.Tenant
	if tenant == "" {
		tenant = leadkit.DefaultTenant
	}
	if err := leadkit.ValidateTenant(tenant); err != nil {
		return binding{}, "", fmt.Errorf("postgres: %w", err)
	}
	if db == nil {
		return binding{}, "", fmt.Errorf("postgres: %w: no database (use postgres.SQL or postgres.Pgx)", leadkit.ErrInvalid)
	}
	if !o.SkipMigrate {
		if err := Migrate(ctx, db, o); err != nil {
			return binding{}, "", err
		}
	}
	return binding{db: db, tenant: tenant}, p, nil
}

// rebind returns a copy of store s bound as b: every store's With and
// ForTenant.
func rebind[S any, P interface {
	*S
	setBinding(binding)
}](s *S, b binding) *S {
	c := *s
	P(&c).setBinding(b)
	return &c
}

func (b *binding) setBinding(n binding) { *b = n }

// forTenant returns b bound to tenant.
func (b binding) forTenant(tenant string) (binding, error) {
	if err := leadkit.ValidateTenant(tenant); err != nil {
		return binding{}, fmt.Errorf("postgres: %w", err)
	}
	b.tenant = tenant
	return b, nil
}
