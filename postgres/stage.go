package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/stage"
)

// StageStore is a stage.Store in PostgreSQL: one row per subject and
// pipeline, and an append-only history table keyed by version, each row
// with its tenant.
type StageStore struct {
	binding
	records string
	history string
}

var (
	_ stage.Store                       = (*StageStore)(nil)
	_ stage.HistoryScanner              = (*StageStore)(nil)
	_ leadkit.TenantScoped[*StageStore] = (*StageStore)(nil)
)

// NewStageStore returns a StageStore on db, bound to o.Tenant, applying
// the migrations unless o.SkipMigrate is set.
func NewStageStore(ctx context.Context, db DB, o Options) (*StageStore, error) {
	b, p, err := open(ctx, db, o)
	if err != nil {
		return nil, err
	}
	return &StageStore{binding: b, records: p + "stage_records", history: p + "stage_history"}, nil
}

// With returns the store on db instead, sharing its tables and tenant:
// typically the caller's transaction, for one unit of work (see DB).
// Nothing is migrated.
func (s *StageStore) With(db DB) *StageStore {
	return rebind(s, binding{db: db, tenant: s.tenant})
}

// ForTenant returns the store bound to tenant (see leadkit.TenantScoped).
func (s *StageStore) ForTenant(tenant string) (*StageStore, error) {
	b, err := s.forTenant(tenant)
	if err != nil {
		return nil, err
	}
	return rebind(s, b), nil
}

// Get implements stage.Store.
func (s *StageStore) Get(ctx context.Context, key stage.Key) (stage.Record, error) {
	if err := key.Validate(); err != nil {
		return stage.Record{}, err
	}
	r := stage.Record{Key: key}
	err := s.readRow(ctx, `SELECT stage, sub_status, entered_at, updated_at, version FROM `+s.records+`
		WHERE `+tenantIs+` AND pipeline = $1 AND kind = $2 AND id = $3`,
		[]any{key.Pipeline, string(key.Kind), key.ID}, &r.Stage, &r.SubStatus, &r.EnteredAt, &r.UpdatedAt, &r.Version)
	if errors.Is(err, errNoRows) {
		return stage.Record{}, fmt.Errorf("postgres: %s in pipeline %q: %w", key.Subject, key.Pipeline, leadkit.ErrNotFound)
	}
	if err != nil {
		return stage.Record{}, fmt.Errorf("postgres: get %s: %w", key.Subject, dbErr(err))
	}
	r.EnteredAt, r.UpdatedAt = r.EnteredAt.UTC(), r.UpdatedAt.UTC()
	return r, nil
}

// errStale is a conditional write that matched no row.
var errStale = errors.New("stale version")

// Commit implements stage.Store: in one statement, a conditional insert
// (version 1) or update (stored version = rec.Version-1) of the record, and
// the history row when it wrote.
func (s *StageStore) Commit(ctx context.Context, rec stage.Record, e stage.Entry) error {
	// The same checks as every backend: bad input is ErrInvalid, never a
	// driver error.
	if err := stage.ValidateCommit(rec, e); err != nil {
		return fmt.Errorf("postgres: %w", dbErr(err))
	}
	// One statement: the record's conditional write, and the history row
	// only when it wrote.
	var write string
	if rec.Version == 1 {
		write = `INSERT INTO ` + s.records + ` (tenant, pipeline, kind, id, stage, sub_status, entered_at, updated_at, version)
			VALUES ($tenant, $1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING RETURNING 1`
	} else {
		write = `UPDATE ` + s.records + ` SET stage = $4, sub_status = $5, entered_at = $6, updated_at = $7, version = $8
			WHERE ` + tenantIs + ` AND pipeline = $1 AND kind = $2 AND id = $3 AND version = $8 - 1 RETURNING 1`
	}
	n, err := s.write(ctx, `WITH rec AS (`+write+`)
		INSERT INTO `+s.history+` (tenant, pipeline, kind, id, version, transition, from_stage, to_stage, sub_status, at, actor, reason, note, trigger)
		SELECT $tenant, $1::text, $2::text, $3::text, $9::bigint, $10::text, $11::text, $12::text, $13::text, $14::timestamptz, $15::text, $16::text, $17::text, $18::text FROM rec`,
		rec.Pipeline, string(rec.Kind), rec.ID, rec.Stage, rec.SubStatus, rec.EnteredAt.UTC().Truncate(leadkit.TimePrecision), rec.UpdatedAt.UTC().Truncate(leadkit.TimePrecision), rec.Version,
		e.Version, e.Transition, e.From, e.To, e.SubStatus, e.At.UTC().Truncate(leadkit.TimePrecision), e.Actor, e.Reason, e.Note, string(e.Trigger))
	if err == nil && n == 0 {
		err = errStale
	}
	if errors.Is(err, errStale) {
		return fmt.Errorf("postgres: commit %s version %d: %w", rec.Subject, rec.Version, leadkit.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("postgres: commit %s: %w", rec.Subject, dbErr(err))
	}
	return nil
}

// Rewind implements stage.Store: in one transaction, a conditional update
// (stored version = from) or delete of the record, and the delete of the
// history rows after rec.Version.
func (s *StageStore) Rewind(ctx context.Context, rec stage.Record, from int64) error {
	if err := stage.ValidateRewind(rec, from); err != nil {
		return fmt.Errorf("postgres: %w", dbErr(err))
	}
	err := s.run(ctx, func(u unit) error {
		var n int64
		var err error
		if rec.Version == 0 {
			n, err = u.exec(ctx, `DELETE FROM `+s.records+` WHERE `+tenantIs+` AND pipeline = $1 AND kind = $2 AND id = $3 AND version = $4`,
				rec.Pipeline, string(rec.Kind), rec.ID, from)
		} else {
			n, err = u.exec(ctx, `UPDATE `+s.records+` SET stage = $4, sub_status = $5, entered_at = $6, updated_at = $7, version = $8
				WHERE `+tenantIs+` AND pipeline = $1 AND kind = $2 AND id = $3 AND version = $9`,
				rec.Pipeline, string(rec.Kind), rec.ID, rec.Stage, rec.SubStatus, rec.EnteredAt.UTC().Truncate(leadkit.TimePrecision), rec.UpdatedAt.UTC().Truncate(leadkit.TimePrecision), rec.Version, from)
		}
		if err != nil {
			return err
		}
		if n == 0 {
			return errStale
		}
		_, err = u.exec(ctx, `DELETE FROM `+s.history+` WHERE `+tenantIs+` AND pipeline = $1 AND kind = $2 AND id = $3 AND version > $4`,
			rec.Pipeline, string(rec.Kind), rec.ID, rec.Version)
		return err
	})
	if errors.Is(err, errStale) {
		return fmt.Errorf("postgres: rewind %s from version %d: %w", rec.Subject, from, leadkit.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("postgres: rewind %s: %w", rec.Subject, dbErr(err))
	}
	return nil
}

const historyCols = `version, transition, from_stage, to_stage, sub_status, at, actor, reason, note, trigger`

// scanEntry reads the historyCols of a row, after the dest given first.
func scanEntry(rs rows, key stage.Key, first ...any) (stage.Entry, error) {
	e := stage.Entry{Key: key}
	var trig string
	err := rs.Scan(append(first, &e.Version, &e.Transition, &e.From, &e.To, &e.SubStatus, &e.At, &e.Actor, &e.Reason, &e.Note, &trig)...)
	e.Trigger = stage.Trigger(trig)
	e.At = e.At.UTC()
	return e, err
}

// History implements stage.Store.
func (s *StageStore) History(ctx context.Context, key stage.Key) ([]stage.Entry, error) {
	if err := key.Validate(); err != nil {
		return nil, err
	}
	out := []stage.Entry{}
	err := s.read(ctx, `SELECT `+historyCols+` FROM `+s.history+`
		WHERE `+tenantIs+` AND pipeline = $1 AND kind = $2 AND id = $3 ORDER BY version`, []any{key.Pipeline, string(key.Kind), key.ID}, func(rs rows) error {
		for rs.Next() {
			e, err := scanEntry(rs, key)
			if err != nil {
				return err
			}
			out = append(out, e)
		}
		return rs.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: history %s: %w", key.Subject, dbErr(err))
	}
	return out, nil
}

// Scan implements stage.Store. Records are read in pages of 1,000 in key
// order, so fn may call the store and no long transaction is held.
func (s *StageStore) Scan(ctx context.Context, pipeline string, fn func(stage.Record) error) error {
	if err := stage.ValidatePipeline(pipeline); err != nil {
		return err
	}
	var lastKind, lastID string
	for {
		var page []stage.Record
		err := s.read(ctx, `SELECT kind, id, stage, sub_status, entered_at, updated_at, version FROM `+s.records+`
			WHERE `+tenantIs+` AND pipeline = $1 AND (kind, id) > ($2, $3) ORDER BY kind, id LIMIT 1000`, []any{pipeline, lastKind, lastID}, func(rs rows) error {
			for rs.Next() {
				r := stage.Record{Key: stage.Key{Pipeline: pipeline}}
				var kind string
				if err := rs.Scan(&kind, &r.ID, &r.Stage, &r.SubStatus, &r.EnteredAt, &r.UpdatedAt, &r.Version); err != nil {
					return err
				}
				r.Kind = stage.Kind(kind)
				r.EnteredAt, r.UpdatedAt = r.EnteredAt.UTC(), r.UpdatedAt.UTC()
				page = append(page, r)
			}
			return rs.Err()
		})
		if err != nil {
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
	type hist struct {
		key stage.Key
		es  []stage.Entry
	}
	for {
		var hs []hist
		err := s.read(ctx, `WITH subjects AS (
				SELECT tenant, kind, id FROM `+s.records+` WHERE `+tenantIs+` AND pipeline = $1 AND (kind, id) > ($2, $3) ORDER BY kind, id LIMIT $4)
			SELECT h.kind, h.id, `+prefixed("h.", historyCols)+` FROM `+s.history+` h JOIN subjects USING (tenant, kind, id)
			WHERE h.`+tenantIs+` AND h.pipeline = $1 ORDER BY h.kind, h.id, h.version`, []any{pipeline, lastKind, lastID, page}, func(rs rows) error {
			for rs.Next() {
				var kind, id string
				e, err := scanEntry(rs, stage.Key{}, &kind, &id)
				if err != nil {
					return err
				}
				e.Key = stage.Key{Pipeline: pipeline, Subject: stage.Subject{Kind: stage.Kind(kind), ID: id}}
				if n := len(hs); n == 0 || hs[n-1].key != e.Key {
					hs = append(hs, hist{key: e.Key})
				}
				hs[len(hs)-1].es = append(hs[len(hs)-1].es, e)
			}
			return rs.Err()
		})
		if err != nil {
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
