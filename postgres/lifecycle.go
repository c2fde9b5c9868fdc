package postgres

import (
	"context"
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
	binding
	states string
}

var (
	_ lifecycle.Store                       = (*LifecycleStore)(nil)
	_ leadkit.TenantScoped[*LifecycleStore] = (*LifecycleStore)(nil)
)

// NewLifecycleStore returns a LifecycleStore on db, bound to o.Tenant,
// applying the migrations unless o.SkipMigrate is set.
func NewLifecycleStore(ctx context.Context, db DB, o Options) (*LifecycleStore, error) {
	b, p, err := open(ctx, db, o)
	if err != nil {
		return nil, err
	}
	return &LifecycleStore{binding: b, states: p + "lead_states"}, nil
}

// With returns the store on db instead, sharing its table and tenant (see
// DB).
func (s *LifecycleStore) With(db DB) *LifecycleStore {
	return rebind(s, binding{db: db, tenant: s.tenant})
}

// ForTenant returns the store bound to tenant (see leadkit.TenantScoped).
func (s *LifecycleStore) ForTenant(tenant string) (*LifecycleStore, error) {
	b, err := s.forTenant(tenant)
	if err != nil {
		return nil, err
	}
	return rebind(s, b), nil
}

// Get implements lifecycle.Store.
func (s *LifecycleStore) Get(ctx context.Context, leadID string) (lifecycle.LeadState, error) {
	if err := leadkit.ValidateID("lead ID", leadID); err != nil {
		return lifecycle.LeadState{}, fmt.Errorf("postgres: lead state: %w", err)
	}
	var b []byte
	err := s.readRow(ctx, `SELECT state FROM `+s.states+` WHERE `+tenantIs+` AND lead_id = $1`, []any{leadID}, &b)
	if errors.Is(err, errNoRows) {
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
	var n int64
	if st.Version == 1 {
		n, err = s.write(ctx, `INSERT INTO `+s.states+` (tenant, lead_id, version, state) VALUES ($tenant, $1, 1, $2) ON CONFLICT DO NOTHING`, st.LeadID, string(b))
	} else {
		n, err = s.write(ctx, `UPDATE `+s.states+` SET version = $2, state = $3 WHERE `+tenantIs+` AND lead_id = $1 AND version = $2 - 1`, st.LeadID, st.Version, string(b))
	}
	if err == nil && n == 0 {
		err = errStale
	}
	if errors.Is(err, errStale) {
		return fmt.Errorf("postgres: lead state %q version %d: %w", st.LeadID, st.Version, leadkit.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("postgres: put lead state %q: %w", st.LeadID, dbErr(err))
	}
	return nil
}

// Scan implements lifecycle.Store: the states in lead ID order, read a
// page of 500 at a time, so fn may call the store and no long
// transaction is held.
func (s *LifecycleStore) Scan(ctx context.Context, fn func(lifecycle.LeadState) error) error {
	return scanPages(ctx, s.binding, s.states, "lead_id", "state", func(st *lifecycle.LeadState) string { return st.LeadID }, fn)
}
