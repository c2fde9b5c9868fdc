package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/leadkit/leadkit"
)

// tables are the stores' tables, without their prefix.
var tables = []string{"stage_records", "stage_history", "events", "lead_states", "prospects", "prospect_keys", "pool_marks"}

// Grants returns the SQL that lets role use the stores of a table prefix
// and nothing more: read and write their rows (as the tables' row-level
// security admits: the rows of the tenant its calls set), take event
// sequence numbers, make the temporary table of bulk appends, and read
// the applied migrations (so that stores opened without SkipMigrate find
// nothing to do). Run it again after an upgrade adds tables. The application
// should connect as such a role, not as the tables' owner; the tables
// FORCE row-level security, so even the owner is held to the policies,
// but an owner may drop them. Superusers and roles with BYPASSRLS pass
// every policy: never run the application as one.
func Grants(prefix, role string) (string, error) {
	p, err := Options{TablePrefix: prefix}.prefix()
	if err != nil {
		return "", err
	}
	if role == "" || len(role) > 63 || strings.ContainsAny(role, "\x00$") {
		return "", fmt.Errorf("postgres: %w: role name %q: 1 to 63 bytes, no NUL or $", leadkit.ErrInvalid, role)
	}
	r := pgx.Identifier{role}.Sanitize()
	var b strings.Builder
	if schema, _, ok := strings.Cut(p, "."); ok {
		fmt.Fprintf(&b, "GRANT USAGE ON SCHEMA %s TO %s;\n", schema, r)
	}
	names := make([]string, len(tables))
	for i, t := range tables {
		names[i] = p + t
	}
	fmt.Fprintf(&b, "GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE %s TO %s;\n", strings.Join(names, ", "), r)
	fmt.Fprintf(&b, "GRANT USAGE, SELECT ON SEQUENCE %sevents_seq_seq TO %s;\n", p, r)
	fmt.Fprintf(&b, "GRANT SELECT ON TABLE %sschema_migrations TO %s;\n", p, r)
	fmt.Fprintf(&b, "DO $$BEGIN EXECUTE format('GRANT TEMPORARY ON DATABASE %%I TO %%s', current_database(), '%s');\n"+
		"EXCEPTION WHEN insufficient_privilege THEN RAISE NOTICE 'leadkit: TEMPORARY not granted (the database owner may grant it)'; END$$;\n", strings.ReplaceAll(r, "'", "''"))
	return b.String(), nil
}

// Grant runs Grants for role on db (as a role allowed to grant: the
// tables' owner), after the migrations (see Migrate).
func Grant(ctx context.Context, db DB, role string, o Options) error {
	sql, err := Grants(o.TablePrefix, role)
	if err != nil {
		return err
	}
	if db == nil {
		return fmt.Errorf("postgres: grant: %w: no database", leadkit.ErrInvalid)
	}
	err = run(ctx, db, leadkit.DefaultTenant, func(u unit) error {
		_, err := u.exec(ctx, sql)
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: grant to %q: %w", role, dbErr(err))
	}
	return nil
}
