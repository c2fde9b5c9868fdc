package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/leadkit/leadkit"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the schema as versioned SQL files ("0001_stage.sql",
// ...), in the default table prefix "leadkit_", for teams that run their
// own migration tool (then set Options.SkipMigrate). Files are applied in
// name order; each is idempotent.
func Migrations() fs.FS {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		panic(err) // the embedded directory exists
	}
	return sub
}

// Migration is one versioned schema change.
type Migration struct {
	// Version orders the migrations (the file name's number).
	Version int
	// Name is the file name.
	Name string
	// SQL is the change, for a table prefix.
	SQL string
}

var migrationName = regexp.MustCompile(`^(\d{4})_[a-z0-9_]+\.sql$`)

// MigrationsFor returns the migrations in version order with their SQL
// written for a table prefix (see Options.TablePrefix).
func MigrationsFor(prefix string) ([]Migration, error) {
	p, err := Options{TablePrefix: prefix}.prefix()
	if err != nil {
		return nil, err
	}
	names, err := fs.Glob(Migrations(), "*.sql")
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	out := make([]Migration, 0, len(names))
	for _, name := range names {
		m := migrationName.FindStringSubmatch(path.Base(name))
		if m == nil {
			return nil, fmt.Errorf("postgres: migration file %q is not named NNNN_name.sql", name)
		}
		b, err := fs.ReadFile(Migrations(), name)
		if err != nil {
			return nil, err
		}
		v, _ := strconv.Atoi(m[1])
		out = append(out, Migration{Version: v, Name: name, SQL: withPrefix(string(b), p)})
	}
	return out, nil
}

var bareName = regexp.MustCompile(`(INDEX IF NOT EXISTS|CONSTRAINT IF EXISTS|ADD CONSTRAINT) leadkit_`)

// withPrefix writes the default prefix of sql's tables as p; the names of
// indexes and constraints being made take p without its schema (they live
// in their table's schema).
func withPrefix(sql, p string) string {
	bare := p[strings.LastIndexByte(p, '.')+1:]
	sql = bareName.ReplaceAllString(sql, "$1 \x00")
	sql = strings.ReplaceAll(sql, "leadkit_", p)
	return strings.ReplaceAll(sql, "\x00", bare)
}

// Schema returns the whole schema's DDL for a table prefix: every
// migration, in order.
func Schema(prefix string) (string, error) {
	ms, err := MigrationsFor(prefix)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, m := range ms {
		fmt.Fprintf(&b, "-- %s\n%s\n", m.Name, m.SQL)
	}
	return b.String(), nil
}

// migrationLock is the key of the advisory lock migrations take (any
// fixed number; this one spells "leadkit").
const migrationLock = 0x6c6561646b6974

// Migrate brings the schema of a table prefix up to date: in one
// transaction holding a database-wide advisory lock (so processes that
// open their stores at once on a fresh database do not race), it applies
// the migrations not yet recorded in the prefix's schema_migrations table
// and records them. It is idempotent; the stores call it at construction
// unless Options.SkipMigrate is set.
func Migrate(ctx context.Context, db DB, o Options) error {
	p, err := o.prefix()
	if err != nil {
		return err
	}
	ms, err := MigrationsFor(p)
	if err != nil {
		return err
	}
	if db == nil {
		return fmt.Errorf("postgres: migrate: %w: no database", leadkit.ErrInvalid)
	}
	table := p + "schema_migrations"
	if current(ctx, db, table, ms) {
		return nil // nothing to do: no lock, no DDL, so a role that may only use the tables opens its stores
	}
	err = run(ctx, db, leadkit.DefaultTenant, func(u unit) error {
		if _, err := u.exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrationLock)); err != nil {
			return err
		}
		if _, err := u.exec(ctx, `CREATE TABLE IF NOT EXISTS `+table+` (
			version    integer     PRIMARY KEY,
			name       text        NOT NULL,
			applied_at timestamptz NOT NULL DEFAULT now()
		)`); err != nil {
			return err
		}
		applied := map[int]bool{}
		rs, err := u.query(ctx, `SELECT version FROM `+table)
		if err != nil {
			return err
		}
		for rs.Next() {
			var v int
			if err := rs.Scan(&v); err != nil {
				rs.Close()
				return err
			}
			applied[v] = true
		}
		rs.Close()
		if err := rs.Err(); err != nil {
			return err
		}
		for _, m := range ms {
			if applied[m.Version] {
				continue
			}
			if _, err := u.exec(ctx, m.SQL); err != nil {
				return fmt.Errorf("%s: %w", m.Name, dbErr(err))
			}
			if _, err := u.exec(ctx, `INSERT INTO `+table+` (version, name) VALUES ($1, $2)`, m.Version, m.Name); err != nil {
				return fmt.Errorf("%s: %w", m.Name, dbErr(err))
			}
		}
		return nil
	})
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "42501" {
		return fmt.Errorf("postgres: migrate: %w: the role may not change the schema (%v): run Migrate as the tables' owner, then Grant, and open the stores with SkipMigrate or after the migrations are applied", leadkit.ErrInvalid, err)
	}
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", dbErr(err))
	}
	return nil
}

// current reports whether every migration is recorded as applied in
// table; any error (no table yet) says no.
func current(ctx context.Context, db DB, table string, ms []Migration) bool {
	applied := map[int]bool{}
	err := db.read(ctx, leadkit.DefaultTenant, `SELECT version FROM `+table, nil, func(rs rows) error {
		for rs.Next() {
			var v int
			if err := rs.Scan(&v); err != nil {
				return err
			}
			applied[v] = true
		}
		return nil
	})
	if err != nil {
		return false
	}
	for _, m := range ms {
		if !applied[m.Version] {
			return false
		}
	}
	return true
}
