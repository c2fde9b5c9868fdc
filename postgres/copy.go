package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/leadkit/leadkit"
)

// copyFrom is the batch size from which Append takes the bulk path.
const copyFrom = 2000

// appendCopy is Append's bulk path: COPY into a temporary table, then one
// idempotent insert (ON CONFLICT DO NOTHING) in event ID order, with seq
// values in the batch's order, all in one transaction (measured faster
// than one insert of the batch as arrays). It needs a pgx connection (a
// DB from Pgx, or from SQL over a *sql.DB or *sql.Conn of the pgx
// driver); ok is false when there is none (a *sql.Tx: Append then
// inserts in chunks).
func (s *JourneyStore) appendCopy(ctx context.Context, valid []leadkit.Event) (added int, ok bool, err error) {
	err = s.run(ctx, func(u unit) error {
		tx := u.pgx()
		if tx == nil {
			return nil
		}
		ok = true
		added, err = s.copyOn(ctx, tx, valid)
		return err
	})
	if err != nil {
		return 0, true, fmt.Errorf("postgres: append: %w", dbErr(err))
	}
	return added, ok, nil
}

var eventColumns = []string{"id", "lead_id", "type", "channel", "campaign", "content", "time", "attrs", "seq"}

// copyOn runs the bulk path in tx.
func (s *JourneyStore) copyOn(ctx context.Context, tx pgx.Tx, valid []leadkit.Event) (int, error) {
	seqs, err := nextSeqs(ctx, pgxUnit{tx, s.tenant}, s.events, len(valid))
	if err != nil {
		return 0, err
	}
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
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE leadkit_staging (LIKE `+s.events+` INCLUDING DEFAULTS) ON COMMIT DROP`); err != nil {
		return 0, err
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"leadkit_staging"}, eventColumns, pgx.CopyFromRows(data)); err != nil {
		return 0, err
	}
	cols := strings.Join(eventColumns, ", ")
	tag, err := tx.Exec(ctx, `INSERT INTO `+s.events+` (`+cols+`) SELECT `+cols+` FROM leadkit_staging ORDER BY id COLLATE "C", seq ON CONFLICT (tenant, id) DO NOTHING`)
	if err != nil {
		return 0, err
	}
	// In the caller's transaction ON COMMIT comes later: drop it now, for
	// the next Append of that transaction.
	if _, err := tx.Exec(ctx, `DROP TABLE leadkit_staging`); err != nil {
		return 0, err
	}
	return int(tag.RowsAffected()), nil
}
