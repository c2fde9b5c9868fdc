package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/journey"
)

// JourneyStore is a journey.Store in PostgreSQL: one row per event, keyed
// by event ID, so appends are idempotent across processes. Attributes are
// stored as jsonb (numbers read back as float64) and times as timestamptz
// (microsecond precision, read back in UTC).
type JourneyStore struct {
	db     DB
	events string
}

var _ journey.Store = (*JourneyStore)(nil)

// With returns the store on db instead, sharing its tables: typically a
// *sql.Tx of the caller's, for one unit of work (see DB). Nothing is
// migrated.
func (s *JourneyStore) With(db DB) *JourneyStore {
	c := *s
	c.db = db
	return &c
}

// NewJourneyStore returns a JourneyStore on db, creating its table unless
// o.SkipMigrate is set.
func NewJourneyStore(ctx context.Context, db DB, o Options) (*JourneyStore, error) {
	p, err := o.prefix()
	if err != nil {
		return nil, err
	}
	s := &JourneyStore{db: db, events: p + "events"}
	if !o.SkipMigrate {
		if err := Migrate(ctx, db, o); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// appendChunk bounds the rows of one INSERT (9 parameters a row, under
// PostgreSQL's 65,535).
const appendChunk = 1000

// Append implements journey.Store: the valid events are inserted in one
// transaction with ON CONFLICT (id) DO NOTHING; invalid ones are reported.
// Rows are inserted in event ID order, so concurrent batches of the same
// IDs lock them in one order and never deadlock; each row's seq, which
// orders a lead's events at one instant, is taken from the sequence in
// the batch's own order, so that order is kept. A deadlock or
// serialization failure that still happens wraps leadkit.ErrConflict, a
// lost server leadkit.ErrUnavailable: nothing was written, and the call
// may be repeated.
func (s *JourneyStore) Append(ctx context.Context, events ...leadkit.Event) (int, error) {
	valid, bad := leadkit.ValidEvents(events)
	if bad != nil {
		bad = fmt.Errorf("postgres: append: %w", bad)
	}
	if len(valid) == 0 {
		return 0, bad
	}
	type row struct {
		e   *leadkit.Event
		seq int64
	}
	if len(valid) >= copyFrom {
		if n, ok, err := s.appendCopy(ctx, valid); ok {
			if err != nil {
				return 0, err
			}
			return n, bad
		}
	}
	rows := make([]row, len(valid))
	for i := range valid {
		rows[i].e = &valid[i]
	}
	tx, err := begin(ctx, s.db)
	if err != nil {
		return 0, fmt.Errorf("postgres: append: %w", dbErr(err))
	}
	defer tx.rollback()
	seqs, err := tx.QueryContext(ctx, `SELECT nextval(pg_get_serial_sequence($1, 'seq')) FROM generate_series(1, $2)`, s.events, len(rows))
	if err != nil {
		return 0, fmt.Errorf("postgres: append: %w", dbErr(err))
	}
	got := make([]int64, 0, len(rows))
	for seqs.Next() {
		var v int64
		if err := seqs.Scan(&v); err != nil {
			seqs.Close()
			return 0, fmt.Errorf("postgres: append: %w", dbErr(err))
		}
		got = append(got, v)
	}
	if err := seqs.Err(); err != nil || len(got) != len(rows) {
		return 0, fmt.Errorf("postgres: append: sequence: %w (%d of %d values)", dbErr(err), len(got), len(rows))
	}
	slices.Sort(got)
	for i := range rows {
		rows[i].seq = got[i]
	}
	slices.SortStableFunc(rows, func(a, b row) int { return strings.Compare(a.e.ID, b.e.ID) })
	added := 0
	for start := 0; start < len(rows); start += appendChunk {
		chunk := rows[start:min(start+appendChunk, len(rows))]
		var q strings.Builder
		q.WriteString(`INSERT INTO ` + s.events + ` (id, lead_id, type, channel, campaign, content, time, attrs, seq) VALUES `)
		args := make([]any, 0, 9*len(chunk))
		for i, r := range chunk {
			e := r.e
			if i > 0 {
				q.WriteString(", ")
			}
			n := len(args)
			fmt.Fprintf(&q, "($%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d)", n+1, n+2, n+3, n+4, n+5, n+6, n+7, n+8, n+9)
			var attrs any
			if len(e.Attrs) > 0 {
				b, err := json.Marshal(leadkit.NormalizeAttrs(e.Attrs))
				if err != nil {
					return 0, fmt.Errorf("postgres: append event %q: %w: attrs: %v", e.ID, leadkit.ErrInvalid, err)
				}
				attrs = string(b)
			}
			args = append(args, e.ID, e.LeadID, e.Type, e.Channel, e.Campaign, e.Content, e.Time.UTC(), attrs, r.seq)
		}
		q.WriteString(" ON CONFLICT (id) DO NOTHING")
		res, err := tx.ExecContext(ctx, q.String(), args...)
		if err != nil {
			return 0, fmt.Errorf("postgres: append: %w", dbErr(err))
		}
		n, err := res.RowsAffected()
		if err != nil {
			return 0, fmt.Errorf("postgres: append: %w", dbErr(err))
		}
		added += int(n)
	}
	if err := tx.commit(); err != nil {
		return 0, fmt.Errorf("postgres: append: %w", dbErr(err))
	}
	return added, bad
}

const eventCols = `id, lead_id, type, channel, campaign, content, time, attrs`

func scanEvents(rows *sql.Rows) ([]leadkit.Event, error) {
	defer rows.Close()
	out := []leadkit.Event{}
	for rows.Next() {
		var e leadkit.Event
		var attrs []byte
		if err := rows.Scan(&e.ID, &e.LeadID, &e.Type, &e.Channel, &e.Campaign, &e.Content, &e.Time, &attrs); err != nil {
			return nil, err
		}
		e.Time = e.Time.UTC()
		if len(attrs) > 0 {
			if err := json.Unmarshal(attrs, &e.Attrs); err != nil {
				return nil, fmt.Errorf("event %q attrs: %w", e.ID, err)
			}
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC()
}

// Events implements journey.Store.
func (s *JourneyStore) Events(ctx context.Context, leadID string, from, to time.Time) ([]leadkit.Event, error) {
	if err := leadkit.ValidateID("lead ID", leadID); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+eventCols+` FROM `+s.events+`
		WHERE lead_id = $1 AND ($2::timestamptz IS NULL OR time >= $2) AND ($3::timestamptz IS NULL OR time < $3)
		ORDER BY time, seq`, leadID, nullTime(from), nullTime(to))
	if err != nil {
		return nil, fmt.Errorf("postgres: events of %q: %w", leadID, dbErr(err))
	}
	evs, err := scanEvents(rows)
	if err != nil {
		return nil, fmt.Errorf("postgres: events of %q: %w", leadID, dbErr(err))
	}
	return evs, nil
}

// ForEach implements journey.Store, reading leads in pages of 500 so fn
// may call the store and no long transaction is held.
func (s *JourneyStore) ForEach(ctx context.Context, fn func(journey.Timeline) error) error {
	const page = 500
	last, first := "", true
	for {
		rows, err := s.db.QueryContext(ctx, `WITH leads AS (
				SELECT DISTINCT lead_id FROM `+s.events+` WHERE $1 OR lead_id > $2 ORDER BY lead_id LIMIT $3)
			SELECT `+eventCols+` FROM `+s.events+` JOIN leads USING (lead_id) ORDER BY lead_id, time, seq`, first, last, page)
		if err != nil {
			return fmt.Errorf("postgres: scan timelines: %w", dbErr(err))
		}
		evs, err := scanEvents(rows)
		if err != nil {
			return fmt.Errorf("postgres: scan timelines: %w", dbErr(err))
		}
		leads := 0
		for i := 0; i < len(evs); {
			j := i
			for j < len(evs) && evs[j].LeadID == evs[i].LeadID {
				j++
			}
			leads++
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := fn(journey.Timeline{LeadID: evs[i].LeadID, Events: evs[i:j:j]}); err != nil {
				return err
			}
			last = evs[i].LeadID
			i = j
		}
		first = false
		if leads < page {
			return nil
		}
	}
}
