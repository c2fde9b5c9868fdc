package pool

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/tenants"
)

// ErrSeen reports an observation that was already applied: replaying an
// observation changes nothing. It is not an error for [Pool.Upsert], which
// returns the prospect as it is.
var ErrSeen = errors.New("pool: observation already applied")

// ErrReused reports an observation ID applied before with other content:
// an ID names one observation. It wraps leadkit.ErrInvalid.
var ErrReused = fmt.Errorf("pool: observation ID used before for other content: %w", leadkit.ErrInvalid)

// Mark identifies an observation in a write: its ID and a fingerprint of
// its content. The zero Mark is a write without an observation.
type Mark struct {
	ID   string `json:"id"`
	Hash string `json:"hash"`
}

// Store keeps prospects, their identity index and the IDs of applied
// observations. Implementations must be safe for concurrent use.
//
// Contract:
//   - Get returns a prospect by ID, or an error wrapping leadkit.ErrNotFound.
//   - Find returns the prospects that hold any of the identity keys (see
//     [Identity.Key]), each once, in ID order; merged and erased prospects
//     hold none (see [Status.Indexed]).
//   - Apply writes prospects atomically, all or nothing. A prospect of
//     Version 1 is created (leadkit.ErrConflict if the ID exists); any other
//     must find the stored version one lower (else leadkit.ErrConflict).
//     Every identity key of a written prospect that is not merged must be
//     free or held by a prospect of the same write (else
//     leadkit.ErrConflict: another writer claimed it first), and no key
//     may be held by two prospects of the write; a merged or erased
//     prospect releases its keys. A non-zero Mark is recorded with the
//     write; a Mark already recorded fails with ErrSeen, an ID recorded
//     with another Hash with ErrReused, and neither writes anything.
//   - Scan calls fn with every prospect in ID order; fn may call the store.
type Store interface {
	Get(ctx context.Context, id string) (Prospect, error)
	Find(ctx context.Context, keys []string) ([]Prospect, error)
	Apply(ctx context.Context, obs Mark, ps ...Prospect) error
	Scan(ctx context.Context, fn func(Prospect) error) error
}

// MemoryStore is the in-memory [Store], the default. Its zero value is not
// usable; call [NewMemoryStore]. A MemoryStore is bound to one tenant
// ([leadkit.DefaultTenant] from NewMemoryStore); ForTenant gives views of
// the same storage bound to others: prospects, identities and observations
// of one tenant are never seen by another, even under the same IDs.
type MemoryStore struct {
	*memData // the tenant's prospects
	tenant   string
	all      *tenants.Set[memData]
}

type memData struct {
	mu    sync.RWMutex
	byID  map[string]Prospect
	keys  map[string]string // identity key -> prospect ID
	seen  map[string]string // observation ID -> hash
	order []string          // IDs, kept sorted lazily
	dirty bool
}

var (
	_ Store                              = (*MemoryStore)(nil)
	_ leadkit.TenantScoped[*MemoryStore] = (*MemoryStore)(nil)
)

// NewMemoryStore returns an empty in-memory store bound to
// [leadkit.DefaultTenant].
func NewMemoryStore() *MemoryStore {
	all := tenants.New(func() *memData {
		return &memData{byID: map[string]Prospect{}, keys: map[string]string{}, seen: map[string]string{}}
	})
	d, _ := all.Get(leadkit.DefaultTenant)
	return &MemoryStore{memData: d, tenant: leadkit.DefaultTenant, all: all}
}

// Tenant returns the tenant the store is bound to.
func (s *MemoryStore) Tenant() string { return s.tenant }

// ForTenant returns the same storage bound to tenant (see
// leadkit.TenantScoped).
func (s *MemoryStore) ForTenant(tenant string) (*MemoryStore, error) {
	d, err := s.all.Get(tenant)
	if err != nil {
		return nil, fmt.Errorf("pool: %w", err)
	}
	return &MemoryStore{memData: d, tenant: tenant, all: s.all}, nil
}

// Get implements [Store].
func (s *MemoryStore) Get(ctx context.Context, id string) (Prospect, error) {
	if err := ctx.Err(); err != nil {
		return Prospect{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	p, ok := s.byID[id]
	if !ok {
		return Prospect{}, fmt.Errorf("pool: prospect %q: %w", clip(id), leadkit.ErrNotFound)
	}
	return p.Clone(), nil
}

// Find implements [Store].
func (s *MemoryStore) Find(ctx context.Context, keys []string) ([]Prospect, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	ids := map[string]bool{}
	for _, k := range keys {
		if id, ok := s.keys[k]; ok {
			ids[id] = true
		}
	}
	var out []Prospect
	for _, id := range slices.Sorted(maps.Keys(ids)) {
		out = append(out, s.byID[id].Clone())
	}
	return out, nil
}

// Apply implements [Store].
func (s *MemoryStore) Apply(ctx context.Context, obs Mark, ps ...Prospect) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := ValidateWrite(ps); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if obs.ID != "" {
		if h, dup := s.seen[obs.ID]; dup {
			if h != obs.Hash {
				return fmt.Errorf("pool: observation %q: %w", clip(obs.ID), ErrReused)
			}
			return fmt.Errorf("pool: observation %q: %w", clip(obs.ID), ErrSeen)
		}
	}
	writing := map[string]bool{}
	claimed := map[string]string{}
	for _, p := range ps {
		if !p.Status.Indexed() {
			continue
		}
		for _, k := range p.Keys() {
			if other, ok := claimed[k]; ok && other != p.ID {
				return fmt.Errorf("pool: identity %q is given to prospects %q and %q in one write: %w", clip(k), clip(other), clip(p.ID), leadkit.ErrConflict)
			}
			claimed[k] = p.ID
		}
	}
	for _, p := range ps {
		writing[p.ID] = true
	}
	for _, p := range ps {
		have, exists := s.byID[p.ID]
		switch {
		case p.Version == 1 && exists:
			return fmt.Errorf("pool: prospect %q exists: %w", clip(p.ID), leadkit.ErrConflict)
		case p.Version > 1 && (!exists || have.Version != p.Version-1):
			return fmt.Errorf("pool: prospect %q version %d: stored version is %d: %w", clip(p.ID), p.Version, have.Version, leadkit.ErrConflict)
		}
		if !p.Status.Indexed() {
			continue
		}
		for _, k := range p.Keys() {
			if owner, ok := s.keys[k]; ok && owner != p.ID && !writing[owner] {
				return fmt.Errorf("pool: identity %q is held by prospect %q: %w", clip(k), clip(owner), leadkit.ErrConflict)
			}
		}
	}
	for _, p := range ps {
		if old, ok := s.byID[p.ID]; ok {
			for _, k := range old.Keys() {
				if s.keys[k] == p.ID {
					delete(s.keys, k)
				}
			}
		} else {
			s.order = append(s.order, p.ID)
			s.dirty = true
		}
		s.byID[p.ID] = p.Clone()
	}
	for _, p := range ps {
		if p.Status.Indexed() {
			for _, k := range p.Keys() {
				s.keys[k] = p.ID
			}
		}
	}
	if obs.ID != "" {
		s.seen[obs.ID] = obs.Hash
	}
	return nil
}

// Scan implements [Store]. It works on a snapshot of the IDs, so fn may
// call the store.
func (s *MemoryStore) Scan(ctx context.Context, fn func(Prospect) error) error {
	s.mu.Lock()
	if s.dirty {
		slices.Sort(s.order)
		s.dirty = false
	}
	ids := slices.Clone(s.order)
	s.mu.Unlock()
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return err
		}
		s.mu.RLock()
		p, ok := s.byID[id]
		s.mu.RUnlock()
		if !ok {
			continue
		}
		if err := fn(p.Clone()); err != nil {
			return err
		}
	}
	return nil
}

// ValidateWrite checks the prospects of one Apply with ValidateProspect
// and refuses the same prospect twice in one write, so every backend
// accepts and refuses the same writes; the error wraps leadkit.ErrInvalid.
func ValidateWrite(ps []Prospect) error {
	seen := make(map[string]bool, len(ps))
	for _, p := range ps {
		if err := ValidateProspect(p); err != nil {
			return err
		}
		if seen[p.ID] {
			return fmt.Errorf("pool: prospect %q: %w: twice in one write", clip(p.ID), leadkit.ErrInvalid)
		}
		seen[p.ID] = true
	}
	return nil
}

// ValidateProspect checks what a Store is asked to write, so that every
// backend accepts the same prospects: an ID, a version of at least 1, a
// known status, identities and tags within their caps, valid text. Store
// implementations call it in Apply; the error wraps leadkit.ErrInvalid.
func ValidateProspect(p Prospect) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("pool: prospect %q: %w: %s", clip(p.ID), leadkit.ErrInvalid, fmt.Sprintf(format, args...))
	}
	if err := leadkit.ValidateID("prospect ID", p.ID); err != nil {
		return fmt.Errorf("pool: %w", err)
	}
	if p.Version < 1 {
		return bad("version %d, want at least 1", p.Version)
	}
	if !p.Status.Valid() {
		return bad("unknown status %q", p.Status)
	}
	if len(p.Identities) > MaxIdentities {
		return bad("%d identities, the limit is %d", len(p.Identities), MaxIdentities)
	}
	for i, id := range p.Identities {
		if !id.Kind.Valid() {
			return bad("identity %d: unknown kind %q", i+1, clip(string(id.Kind)))
		}
		if msg := leadkit.CheckText(id.Value, leadkit.MaxIDBytes); msg != "" {
			return bad("identity %d value %s", i+1, msg)
		}
		if msg := leadkit.CheckText(id.Invalid, leadkit.MaxStringBytes); msg != "" {
			return bad("identity %d note %s", i+1, msg)
		}
	}
	if err := p.Person.Validate(); err != nil {
		return fmt.Errorf("pool: prospect %q: %w", clip(p.ID), err)
	}
	if err := p.Company.Validate(); err != nil {
		return fmt.Errorf("pool: prospect %q: %w", clip(p.ID), err)
	}
	for _, f := range []struct {
		what, v string
		max     int
	}{{"consent how", p.Consent.How, leadkit.MaxNameBytes}, {"source channel", p.Source.Channel, leadkit.MaxNameBytes},
		{"source campaign", p.Source.Campaign, leadkit.MaxNameBytes}, {"left as", string(p.LeftAs), leadkit.MaxNameBytes}} {
		if msg := leadkit.CheckText(f.v, f.max); msg != "" {
			return bad("%s %s", f.what, msg)
		}
	}
	if _, err := leadkit.Number(p.Score); err != nil {
		return bad("score: %v", err)
	}
	for _, t := range []time.Time{p.JoinedAt, p.LastActivityAt, p.GraduatedAt, p.LeftAt, p.Consent.At} {
		if !t.IsZero() && !leadkit.ValidTime(t) {
			return bad("time %s outside %s", t.UTC().Format(time.RFC3339), leadkit.TimeRange)
		}
	}
	for _, st := range []leadkit.Stamps{p.PersonStamps, p.CompanyStamps} {
		if err := st.Validate(); err != nil {
			return fmt.Errorf("pool: prospect %q: %w", clip(p.ID), err)
		}
	}
	if len(p.Touches) > MaxTouches {
		return bad("%d touches, the limit is %d", len(p.Touches), MaxTouches)
	}
	if len(p.PastLeads) > MaxPastLeads || len(p.Absorbed) > MaxAbsorbed {
		return bad("%d past leads and %d absorbed prospects, the limits are %d and %d", len(p.PastLeads), len(p.Absorbed), MaxPastLeads, MaxAbsorbed)
	}
	for _, f := range []struct{ what, v string }{{"lead ID", p.LeadID}, {"merged_into", p.MergedInto}} {
		if f.v != "" {
			if err := leadkit.ValidateID(f.what, f.v); err != nil {
				return fmt.Errorf("pool: prospect %q: %w", clip(p.ID), err)
			}
		}
	}
	for _, ids := range [][]string{p.PastLeads, p.Absorbed} {
		for _, v := range ids {
			if err := leadkit.ValidateID("listed ID", v); err != nil {
				return fmt.Errorf("pool: prospect %q: %w", clip(p.ID), err)
			}
		}
	}
	if (p.Status == StatusGraduated) != (p.LeadID != "") {
		return bad("status %s with lead ID %q", p.Status, clip(p.LeadID))
	}
	if len(p.Tags) > MaxTags {
		return bad("%d tags, the limit is %d", len(p.Tags), MaxTags)
	}
	for _, t := range p.Tags {
		if msg := leadkit.CheckText(t, leadkit.MaxNameBytes); msg != "" {
			return bad("tag %s", msg)
		}
	}
	return nil
}
