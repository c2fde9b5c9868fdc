package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/leadkit/leadkit"
)

// copyFrom is the batch size from which Append takes the bulk path.
const copyFrom = 2000

// appendCopy is Append's bulk path: COPY into a temporary table, then one
// idempotent insert (ON CONFLICT DO NOTHING) in event ID order, with seq
// values in the batch's order, all in one transaction (measured faster
// than one insert of the batch as arrays). It needs a
// connection of the pgx driver (a *sql.DB or *sql.Conn opened with
// "pgx"); ok is false when db is another (the caller's *sql.Tx: Append
// then inserts in chunks).
func (s *JourneyStore) appendCopy(ctx context.Context, valid []leadkit.Event) (added int, ok bool, err error) {
	var conn *sql.Conn
	switch db := s.db.(type) {
	case *sql.DB:
		if conn, err = db.Conn(ctx); err != nil {
			return 0, true, fmt.Errorf("postgres: append: %w", dbErr(err))
		}
		defer conn.Close()
	case *sql.Conn:
		conn = db
	default:
		return 0, false, nil
	}
	err = conn.Raw(func(dc any) error {
		sc, isPgx := dc.(*stdlib.Conn)
		if !isPgx {
			return errNotPgx
		}
		ok = true
		added, err = s.copyOn(ctx, sc.Conn(), valid)
		return err
	})
	if err == errNotPgx {
		return 0, false, nil
	}
	if err != nil {
		return 0, true, fmt.Errorf("postgres: append: %w", dbErr(err))
	}
	return added, true, nil
}

var errNotPgx = fmt.Errorf("postgres: not a pgx connection")

var eventColumns = []string{"id", "lead_id", "type", "channel", "campaign", "content", "time", "attrs", "seq"}

// copyOn runs the bulk path on one pgx connection.
func (s *JourneyStore) copyOn(ctx context.Context, c *pgx.Conn, valid []leadkit.Event) (int, error) {
	tx, err := c.Begin(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
	seqRows, err := tx.Query(ctx, `SELECT nextval(pg_get_serial_sequence($1, 'seq')) FROM generate_series(1, $2)`, s.events, len(valid))
	if err != nil {
		return 0, err
	}
	seqs, err := pgx.CollectRows(seqRows, pgx.RowTo[int64])
	if err != nil {
		return 0, err
	}
	if len(seqs) != len(valid) {
		return 0, fmt.Errorf("sequence: %d of %d values", len(seqs), len(valid))
	}
	slices.Sort(seqs)
	data := make([][]any, len(valid))
	for i, e := range valid {
		var attrs any
		if len(e.Attrs) > 0 {
			b, err := json.Marshal(leadkit.NormalizeAttrs(e.Attrs))
			if err != nil {
				return 0, fmt.Errorf("event %q: %w: attrs: %v", e.ID, leadkit.ErrInvalid, err)
			}
			attrs = json.RawMessage(b)
		}
		data[i] = []any{e.ID, e.LeadID, e.Type, e.Channel, e.Campaign, e.Content, e.Time.UTC(), attrs, seqs[i]}
	}
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE leadkit_staging (LIKE `+s.events+`) ON COMMIT DROP`); err != nil {
		return 0, err
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"leadkit_staging"}, eventColumns, pgx.CopyFromRows(data)); err != nil {
		return 0, err
	}
	cols := strings.Join(eventColumns, ", ")
	tag, err := tx.Exec(ctx, `INSERT INTO `+s.events+` (`+cols+`) SELECT `+cols+` FROM leadkit_staging ORDER BY id COLLATE "C", seq ON CONFLICT (id) DO NOTHING`)
	if err != nil {
		return 0, err
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, err
	}
	return int(tag.RowsAffected()), nil
}
