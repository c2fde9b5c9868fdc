package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/stage"
)

// Options configures the stores. The zero value is the default.
type Options struct {
	// TablePrefix is prepended to every table name; default "leadkit_". It
	// may hold a schema ("crm.leadkit_"); letters, digits, _ and one dot,
	// and at most 41 bytes after the dot.
	TablePrefix string
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

// StageStore is a stage.Store in PostgreSQL: one row per subject and
// pipeline, and an append-only history table keyed by version.
type StageStore struct {
	db      DB
	records string
	history string
}

var (
	_ stage.Store          = (*StageStore)(nil)
	_ stage.HistoryScanner = (*StageStore)(nil)
)

// With returns the store on db instead, sharing its tables: typically a
// *sql.Tx of the caller's, for one unit of work (see DB). Nothing is
// migrated.
func (s *StageStore) With(db DB) *StageStore {
	c := *s
	c.db = db
	return &c
}

// NewStageStore returns a StageStore on db, creating its tables unless
// o.SkipMigrate is set.
func NewStageStore(ctx context.Context, db DB, o Options) (*StageStore, error) {
	p, err := o.prefix()
	if err != nil {
		return nil, err
	}
	s := &StageStore{db: db, records: p + "stage_records", history: p + "stage_history"}
	if !o.SkipMigrate {
		if err := Migrate(ctx, db, o); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Get implements stage.Store.
func (s *StageStore) Get(ctx context.Context, key stage.Key) (stage.Record, error) {
	if err := key.Validate(); err != nil {
		return stage.Record{}, err
	}
	r := stage.Record{Key: key}
	err := s.db.QueryRowContext(ctx,
		`SELECT stage, sub_status, entered_at, updated_at, version FROM `+s.records+` WHERE pipeline = $1 AND kind = $2 AND id = $3`,
		key.Pipeline, key.Kind, key.ID).Scan(&r.Stage, &r.SubStatus, &r.EnteredAt, &r.UpdatedAt, &r.Version)
	if errors.Is(err, sql.ErrNoRows) {
		return stage.Record{}, fmt.Errorf("postgres: %s in pipeline %q: %w", key.Subject, key.Pipeline, leadkit.ErrNotFound)
	}
	if err != nil {
		return stage.Record{}, fmt.Errorf("postgres: get %s: %w", key.Subject, dbErr(err))
	}
	r.EnteredAt, r.UpdatedAt = r.EnteredAt.UTC(), r.UpdatedAt.UTC()
	return r, nil
}

// Commit implements stage.Store: in one transaction, a conditional insert
// (version 1) or update (stored version = rec.Version-1) of the record, and
// the history row.
func (s *StageStore) Commit(ctx context.Context, rec stage.Record, e stage.Entry) (err error) {
	// The same checks as every backend: bad input is ErrInvalid, never a
	// driver error.
	if err := stage.ValidateCommit(rec, e); err != nil {
		return fmt.Errorf("postgres: %w", dbErr(err))
	}
	tx, err := begin(ctx, s.db)
	if err != nil {
		return fmt.Errorf("postgres: commit %s: %w", rec.Subject, dbErr(err))
	}
	defer func() {
		if err != nil {
			tx.rollback()
		}
	}()
	var res sql.Result
	if rec.Version == 1 {
		res, err = tx.ExecContext(ctx, `INSERT INTO `+s.records+` (pipeline, kind, id, stage, sub_status, entered_at, updated_at, version)
			VALUES ($1, $2, $3, $4, $5, $6, $7, 1) ON CONFLICT DO NOTHING`,
			rec.Pipeline, rec.Kind, rec.ID, rec.Stage, rec.SubStatus, rec.EnteredAt.UTC(), rec.UpdatedAt.UTC())
	} else {
		res, err = tx.ExecContext(ctx, `UPDATE `+s.records+` SET stage = $4, sub_status = $5, entered_at = $6, updated_at = $7, version = $8
			WHERE pipeline = $1 AND kind = $2 AND id = $3 AND version = $8 - 1`,
			rec.Pipeline, rec.Kind, rec.ID, rec.Stage, rec.SubStatus, rec.EnteredAt.UTC(), rec.UpdatedAt.UTC(), rec.Version)
	}
	if err != nil {
		return fmt.Errorf("postgres: commit %s: %w", rec.Subject, dbErr(err))
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("postgres: commit %s: %w", rec.Subject, dbErr(err))
	} else if n == 0 {
		return fmt.Errorf("postgres: commit %s version %d: %w", rec.Subject, rec.Version, leadkit.ErrConflict)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO `+s.history+` (pipeline, kind, id, version, transition, from_stage, to_stage, sub_status, at, actor, reason, note, trigger)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		e.Pipeline, e.Kind, e.ID, e.Version, e.Transition, e.From, e.To, e.SubStatus, e.At.UTC(), e.Actor, e.Reason, e.Note, string(e.Trigger))
	if err != nil {
		return fmt.Errorf("postgres: commit %s history: %w", rec.Subject, dbErr(err))
	}
	if err = tx.commit(); err != nil {
		return fmt.Errorf("postgres: commit %s: %w", rec.Subject, dbErr(err))
	}
	return nil
}

// Rewind implements stage.Store: in one transaction, a conditional update
// (stored version = from) or delete of the record, and the delete of the
// history rows after rec.Version.
func (s *StageStore) Rewind(ctx context.Context, rec stage.Record, from int64) (err error) {
	if err := stage.ValidateRewind(rec, from); err != nil {
		return fmt.Errorf("postgres: %w", dbErr(err))
	}
	tx, err := begin(ctx, s.db)
	if err != nil {
		return fmt.Errorf("postgres: rewind %s: %w", rec.Subject, dbErr(err))
	}
	defer func() {
		if err != nil {
			tx.rollback()
		}
	}()
	var res sql.Result
	if rec.Version == 0 {
		res, err = tx.ExecContext(ctx, `DELETE FROM `+s.records+` WHERE pipeline = $1 AND kind = $2 AND id = $3 AND version = $4`,
			rec.Pipeline, rec.Kind, rec.ID, from)
	} else {
		res, err = tx.ExecContext(ctx, `UPDATE `+s.records+` SET stage = $4, sub_status = $5, entered_at = $6, updated_at = $7, version = $8
			WHERE pipeline = $1 AND kind = $2 AND id = $3 AND version = $9`,
			rec.Pipeline, rec.Kind, rec.ID, rec.Stage, rec.SubStatus, rec.EnteredAt.UTC(), rec.UpdatedAt.UTC(), rec.Version, from)
	}
	if err != nil {
		return fmt.Errorf("postgres: rewind %s: %w", rec.Subject, dbErr(err))
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("postgres: rewind %s: %w", rec.Subject, dbErr(err))
	} else if n == 0 {
		return fmt.Errorf("postgres: rewind %s from version %d: %w", rec.Subject, from, leadkit.ErrConflict)
	}
	_, err = tx.ExecContext(ctx, `DELETE FROM `+s.history+` WHERE pipeline = $1 AND kind = $2 AND id = $3 AND version > $4`,
		rec.Pipeline, rec.Kind, rec.ID, rec.Version)
	if err != nil {
		return fmt.Errorf("postgres: rewind %s history: %w", rec.Subject, dbErr(err))
	}
	if err = tx.commit(); err != nil {
		return fmt.Errorf("postgres: rewind %s: %w", rec.Subject, dbErr(err))
	}
	return nil
}

const historyCols = `version, transition, from_stage, to_stage, sub_status, at, actor, reason, note, trigger`

func scanEntry(rows *sql.Rows, key stage.Key) (stage.Entry, error) {
	e := stage.Entry{Key: key}
	var trig string
	err := rows.Scan(&e.Version, &e.Transition, &e.From, &e.To, &e.SubStatus, &e.At, &e.Actor, &e.Reason, &e.Note, &trig)
	e.Trigger = stage.Trigger(trig)
	e.At = e.At.UTC()
	return e, err
}

// History implements stage.Store.
func (s *StageStore) History(ctx context.Context, key stage.Key) ([]stage.Entry, error) {
	if err := key.Validate(); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+historyCols+` FROM `+s.history+`
		WHERE pipeline = $1 AND kind = $2 AND id = $3 ORDER BY version`, key.Pipeline, key.Kind, key.ID)
	if err != nil {
		return nil, fmt.Errorf("postgres: history %s: %w", key.Subject, dbErr(err))
	}
	defer rows.Close()
	out := []stage.Entry{}
	for rows.Next() {
		e, err := scanEntry(rows, key)
		if err != nil {
			return nil, fmt.Errorf("postgres: history %s: %w", key.Subject, dbErr(err))
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// Scan implements stage.Store. Records are read in pages of 1,000 in key
// order, so fn may call the store and no long transaction is held.
func (s *StageStore) Scan(ctx context.Context, pipeline string, fn func(stage.Record) error) error {
	if err := stage.ValidatePipeline(pipeline); err != nil {
		return err
	}
	var lastKind, lastID string
	for {
		rows, err := s.db.QueryContext(ctx, `SELECT kind, id, stage, sub_status, entered_at, updated_at, version FROM `+s.records+`
			WHERE pipeline = $1 AND (kind, id) > ($2, $3) ORDER BY kind, id LIMIT 1000`, pipeline, lastKind, lastID)
		if err != nil {
			return fmt.Errorf("postgres: scan %q: %w", pipeline, dbErr(err))
		}
		var page []stage.Record
		for rows.Next() {
			r := stage.Record{Key: stage.Key{Pipeline: pipeline}}
			if err := rows.Scan(&r.Kind, &r.ID, &r.Stage, &r.SubStatus, &r.EnteredAt, &r.UpdatedAt, &r.Version); err != nil {
				rows.Close()
				return fmt.Errorf("postgres: scan %q: %w", pipeline, dbErr(err))
			}
			r.EnteredAt, r.UpdatedAt = r.EnteredAt.UTC(), r.UpdatedAt.UTC()
			page = append(page, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("postgres: scan %q: %w", pipeline, dbErr(err))
		}
		for _, r := range page {
			if err := fn(r); err != nil {
				return err
			}
		}
		if len(page) < 1000 {
			return nil
		}
		lastKind, lastID = string(page[len(page)-1].Kind), page[len(page)-1].ID
	}
}

// ScanHistories implements stage.HistoryScanner: histories in pages of
// subjects, one query per page.
func (s *StageStore) ScanHistories(ctx context.Context, pipeline string, fn func(stage.Key, []stage.Entry) error) error {
	if err := stage.ValidatePipeline(pipeline); err != nil {
		return err
	}
	var lastKind, lastID string
	const page = 500
	for {
		rows, err := s.db.QueryContext(ctx, `WITH subjects AS (
				SELECT kind, id FROM `+s.records+` WHERE pipeline = $1 AND (kind, id) > ($2, $3) ORDER BY kind, id LIMIT $4)
			SELECT h.kind, h.id, `+prefixed("h.", historyCols)+` FROM `+s.history+` h JOIN subjects USING (kind, id)
			WHERE h.pipeline = $1 ORDER BY h.kind, h.id, h.version`, pipeline, lastKind, lastID, page)
		if err != nil {
			return fmt.Errorf("postgres: scan histories %q: %w", pipeline, dbErr(err))
		}
		type hist struct {
			key stage.Key
			es  []stage.Entry
		}
		var hs []hist
		for rows.Next() {
			var kind, id string
			e := stage.Entry{}
			var trig string
			if err := rows.Scan(&kind, &id, &e.Version, &e.Transition, &e.From, &e.To, &e.SubStatus, &e.At, &e.Actor, &e.Reason, &e.Note, &trig); err != nil {
				rows.Close()
				return fmt.Errorf("postgres: scan histories %q: %w", pipeline, dbErr(err))
			}
			key := stage.Key{Pipeline: pipeline, Subject: stage.Subject{Kind: stage.Kind(kind), ID: id}}
			e.Key, e.Trigger, e.At = key, stage.Trigger(trig), e.At.UTC()
			if n := len(hs); n == 0 || hs[n-1].key != key {
				hs = append(hs, hist{key: key})
			}
			hs[len(hs)-1].es = append(hs[len(hs)-1].es, e)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("postgres: scan histories %q: %w", pipeline, dbErr(err))
		}
		for _, h := range hs {
			if err := fn(h.key, h.es); err != nil {
				return err
			}
		}
		if len(hs) < page {
			return nil
		}
		lastKind, lastID = string(hs[len(hs)-1].key.Kind), hs[len(hs)-1].key.ID
	}
}

func prefixed(p, cols string) string {
	parts := strings.Split(cols, ", ")
	for i := range parts {
		parts[i] = p + parts[i]
	}
	return strings.Join(parts, ", ")
}
