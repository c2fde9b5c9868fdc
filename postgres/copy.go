package postgres

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/leadkit/leadkit"
)

// copyFrom is the batch size from which Append takes the bulk path.
const copyFrom = 2000

// appendCopy is Append's bulk path (see copyOn): COPY into a temporary
// table, then one insert in event ID order of the events the table does
// not hold yet, in one unit of work. It needs a pgx connection (a DB from
// Pgx, or from SQL over a *sql.DB or *sql.Conn of the pgx driver); ok is
// false when there is none (a *sql.Tx: Append then inserts in chunks).
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

// copyOn runs the bulk path in tx, with the results of the chunked
// inserts (INSERT ... ON CONFLICT (tenant, id) DO NOTHING in ID order,
// seq values in the batch's order):
//
//   - An ID's later repeats in the batch are dropped: the first delivery
//     is kept, as ON CONFLICT DO NOTHING keeps it.
//   - One query finds which of the IDs the tenant's rows already hold (an
//     index probe each, as ON CONFLICT makes); those are dropped too. A
//     batch stored before ends here, having written nothing.
//   - COPY puts the rest, with the store's tenant, into a temporary
//     staging table in the batch's order. The staging table takes the
//     event table's default for seq (LIKE ... INCLUDING DEFAULTS): it
//     numbers the rows from the event table's sequence in the batch's
//     order, as COPY reads them.
//   - One plain INSERT ... SELECT ... ORDER BY id moves them into the
//     event table in byte order of IDs (the column's collation is "C";
//     the tenant is one), so that concurrent writers of the same IDs
//     take them in one order and do not deadlock. The staging table is
//     there because COPY FROM refuses tables under row-level security.
//
// A writer that stores one of the IDs after the probe (or has it
// uncommitted then) makes the plain INSERT wait for it and, when it
// commits, fail on the unique key. The INSERT runs under a savepoint:
// copyOn rolls back to it and inserts from the staging table again with
// ON CONFLICT (tenant, id) DO NOTHING, which skips the IDs stored
// meanwhile.
//
// What makes this path fast (BenchmarkAppend: 0.6-0.65 of a raw COPY's
// rate, medians, against 0.35-0.4 for an INSERT ... ON CONFLICT of every
// staged row after fetching their seq values): ON CONFLICT's speculative
// insertion added half to the insert's time, the fetch evaluated
// pg_get_serial_sequence for every row (a quarter of the time; see
// nextSeqs), and copyData encodes the COPY data as it is sent.
func (s *JourneyStore) copyOn(ctx context.Context, tx pgx.Tx, valid []leadkit.Event) (int, error) {
	seen := make(map[string]bool, len(valid))
	keep := make([]int, 0, len(valid)) // indexes into valid, in arrival order
	for i := range valid {
		if !seen[valid[i].ID] {
			seen[valid[i].ID] = true
			keep = append(keep, i)
		}
	}
	ids := make([]string, len(keep))
	for j, i := range keep {
		ids[j] = valid[i].ID
	}
	// The IDs are behind a scalar subquery, whose length the planner does
	// not know: knowing it (id = ANY($1)), it scanned the whole table
	// once they were a few percent of it, 62 ms for 20,000 IDs in 500,000
	// rows against 25 for probing the key (a correlated subquery per ID
	// probes too, at 10 ms more on a small table).
	q, args := bindTenant(`SELECT id FROM `+s.events+` WHERE `+tenantIs+` AND id = ANY((SELECT $1::text[])::text[])`, []any{ids}, s.tenant)
	rows, _ := tx.Query(ctx, q, args...)
	stored, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return 0, err
	}
	if len(stored) > 0 {
		skip := make(map[string]bool, len(stored))
		for _, id := range stored {
			skip[id] = true
		}
		keep = slices.DeleteFunc(keep, func(i int) bool { return skip[valid[i].ID] })
	}
	if len(keep) == 0 {
		return 0, nil
	}

	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE leadkit_staging (LIKE `+s.events+` INCLUDING DEFAULTS) ON COMMIT DROP`); err != nil {
		return 0, err
	}
	data := &copyData{tenant: s.tenant, events: valid, rows: keep}
	if _, err := tx.Conn().PgConn().CopyFrom(ctx, data, `COPY leadkit_staging (`+copyColumns+`) FROM STDIN BINARY`); err != nil {
		if data.err != nil {
			return 0, data.err
		}
		return 0, err
	}

	cols := copyColumns + `, seq`
	insert := `INSERT INTO ` + s.events + ` (` + cols + `) SELECT ` + cols + ` FROM leadkit_staging ORDER BY id`
	sp, err := tx.Begin(ctx) // a savepoint
	if err != nil {
		return 0, err
	}
	tag, err := sp.Exec(ctx, insert)
	if pe := (*pgconn.PgError)(nil); errors.As(err, &pe) && pe.Code == "23505" { // unique_violation
		if err := sp.Rollback(ctx); err != nil {
			return 0, err
		}
		tag, err = tx.Exec(ctx, insert+` ON CONFLICT (tenant, id) DO NOTHING`)
	} else if err == nil {
		err = sp.Commit(ctx)
	}
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

// copyColumns are the staging table's columns copyData writes (appendRow
// in this order): the tenant and the event's fields; the staging table's
// default fills in seq.
const copyColumns = `tenant, id, lead_id, type, channel, campaign, content, time, attrs`

// copyData is the COPY stream, in PostgreSQL's binary format, of the rows
// copyOn stages: events[rows[0]], events[rows[1]], ... of tenant, in
// copyColumns. Read encodes rows as pgconn asks for them, a buffer's
// worth at a time, so that the server copies one part while the next is
// encoded.
//
// It writes the binary format itself, for the column types of the event
// table (text, timestamptz, jsonb), instead of handing values to pgx's
// CopyFrom: that looks up an encode plan for every value, and took twice
// as long over the rows as the server took to copy them.
type copyData struct {
	tenant string
	events []leadkit.Event
	rows   []int
	next   int    // in rows
	buf    []byte // encoded; buf[off:] not read yet
	off    int
	done   bool  // the trailer is in buf
	err    error // an event's attributes that cannot be encoded
}

// copyHeader starts a binary COPY stream: the signature, no flags, no
// header extension.
const copyHeader = "PGCOPY\n\xff\r\n\x00" + "\x00\x00\x00\x00" + "\x00\x00\x00\x00"

// y2k is 2000-01-01 in microseconds since the Unix epoch: timestamptz
// counts microseconds from it.
const y2k = 946684800 * 1000000

func (d *copyData) Read(p []byte) (int, error) {
	if d.buf == nil {
		d.buf = append(make([]byte, 0, 2*len(p)), copyHeader...)
	}
	// Move what was not read (part of a row) to the start, then encode
	// rows until p can be filled.
	d.buf = d.buf[:copy(d.buf, d.buf[d.off:])]
	d.off = 0
	for len(d.buf) < len(p) && !d.done {
		if d.next == len(d.rows) {
			d.buf = binary.BigEndian.AppendUint16(d.buf, 0xffff) // the trailer: a tuple of -1 fields
			d.done = true
			break
		}
		if d.buf, d.err = appendRow(d.buf, d.tenant, &d.events[d.rows[d.next]]); d.err != nil {
			return 0, d.err
		}
		d.next++
	}
	d.off = copy(p, d.buf)
	if d.done && d.off == len(d.buf) {
		return d.off, io.EOF
	}
	return d.off, nil
}

// appendRow appends the tuple of e of tenant in copyColumns: the field
// count, then each field's length and value (a length of -1 is NULL).
func appendRow(b []byte, tenant string, e *leadkit.Event) ([]byte, error) {
	b = binary.BigEndian.AppendUint16(b, 9)
	for _, s := range [...]string{tenant, e.ID, e.LeadID, e.Type, e.Channel, e.Campaign, e.Content} {
		b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	// Microseconds, truncated as pgx and the memory store truncate.
	b = binary.BigEndian.AppendUint32(b, 8)
	b = binary.BigEndian.AppendUint64(b, uint64(e.Time.Unix()*1000000+int64(e.Time.Nanosecond()/1000)-y2k))
	if len(e.Attrs) == 0 {
		return binary.BigEndian.AppendUint32(b, 0xffffffff), nil
	}
	j, err := json.Marshal(leadkit.NormalizeAttrs(e.Attrs))
	if err != nil {
		return b, fmt.Errorf("event %q: %w: attrs: %v", e.ID, leadkit.ErrInvalid, err)
	}
	b = binary.BigEndian.AppendUint32(b, uint32(1+len(j)))
	b = append(b, 1) // jsonb's binary format version
	return append(b, j...), nil
}
