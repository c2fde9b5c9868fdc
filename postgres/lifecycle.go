package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/lifecycle"
)

// LifecycleStore is a lifecycle.Store in PostgreSQL: one row per lead, the
// state as jsonb beside its version, so engines in several processes share
// the leads' states under the same optimistic versions as in memory.
type LifecycleStore struct {
	db     DB
	states string
}

var _ lifecycle.Store = (*LifecycleStore)(nil)

// NewLifecycleStore returns a LifecycleStore on db, applying the
// migrations unless o.SkipMigrate is set.
func NewLifecycleStore(ctx context.Context, db DB, o Options) (*LifecycleStore, error) {
	p, err := o.prefix()
	if err != nil {
		return nil, err
	}
	s := &LifecycleStore{db: db, states: p + "lead_states"}
	if !o.SkipMigrate {
		if err := Migrate(ctx, db, o); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// With returns the store on db instead, sharing its table (see DB).
func (s *LifecycleStore) With(db DB) *LifecycleStore {
	c := *s
	c.db = db
	return &c
}

// Get implements lifecycle.Store.
func (s *LifecycleStore) Get(ctx context.Context, leadID string) (lifecycle.LeadState, error) {
	if err := leadkit.ValidateID("lead ID", leadID); err != nil {
		return lifecycle.LeadState{}, fmt.Errorf("postgres: lead state: %w", err)
	}
	var b []byte
	err := s.db.QueryRowContext(ctx, `SELECT state FROM `+s.states+` WHERE lead_id = $1`, leadID).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return lifecycle.LeadState{}, fmt.Errorf("postgres: lead %q: %w", leadID, leadkit.ErrNotFound)
	}
	if err != nil {
		return lifecycle.LeadState{}, fmt.Errorf("postgres: lead state %q: %w", leadID, dbErr(err))
	}
	var st lifecycle.LeadState
	if err := json.Unmarshal(b, &st); err != nil {
		return lifecycle.LeadState{}, fmt.Errorf("postgres: lead state %q: %w", leadID, err)
	}
	return st, nil
}

// Put implements lifecycle.Store: a conditional insert (version 1) or
// update (stored version = st.Version-1).
func (s *LifecycleStore) Put(ctx context.Context, st lifecycle.LeadState) error {
	if err := lifecycle.ValidateState(st); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("postgres: lead state %q: %w: %v", st.LeadID, leadkit.ErrInvalid, err)
	}
	var res sql.Result
	if st.Version == 1 {
		res, err = s.db.ExecContext(ctx, `INSERT INTO `+s.states+` (lead_id, version, state) VALUES ($1, 1, $2) ON CONFLICT DO NOTHING`, st.LeadID, string(b))
	} else {
		res, err = s.db.ExecContext(ctx, `UPDATE `+s.states+` SET version = $2, state = $3 WHERE lead_id = $1 AND version = $2 - 1`, st.LeadID, st.Version, string(b))
	}
	if err != nil {
		return fmt.Errorf("postgres: put lead state %q: %w", st.LeadID, dbErr(err))
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("postgres: put lead state %q: %w", st.LeadID, dbErr(err))
	} else if n == 0 {
		return fmt.Errorf("postgres: lead state %q version %d: %w", st.LeadID, st.Version, leadkit.ErrConflict)
	}
	return nil
}

// Scan implements lifecycle.Store: the states in lead ID order, read a
// page of 500 at a time, so fn may call the store and no long
// transaction is held.
func (s *LifecycleStore) Scan(ctx context.Context, fn func(lifecycle.LeadState) error) error {
	return scanPages(ctx, s.db, s.states, "lead_id", "state", func(st *lifecycle.LeadState) string { return st.LeadID }, fn)
}
