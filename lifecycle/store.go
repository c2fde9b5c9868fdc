package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/tenants"
	"github.com/leadkit/leadkit/internal/text"
	"github.com/leadkit/leadkit/scoring"
	"github.com/leadkit/leadkit/stage"
)

// LeadState is what the engine keeps per lead besides the stage record and
// the events: the lead's profile, its incremental score and the
// bookkeeping of the requalification policy. It is plain data (JSON).
type LeadState struct {
	// LeadID is the lead, which is also the subject its events name.
	LeadID string `json:"lead_id"`
	// Lead is the profile fit rules read (from the pool's graduation; its
	// CreatedAt is the graduation time).
	Lead leadkit.Lead `json:"lead"`
	// PersonStamps and CompanyStamps record when each profile field was
	// last set by an event, so the latest observation wins whatever the
	// order events come in.
	PersonStamps  leadkit.Stamps `json:"person_stamps,omitempty"`
	CompanyStamps leadkit.Stamps `json:"company_stamps,omitempty"`
	// ErasedAt is when the lead's personal data was erased (Engine.Erase):
	// events up to then never set its profile again.
	ErasedAt time.Time `json:"erased_at,omitzero"`
	// Imported is set for a lead made by Engine.AddLead: its creation is
	// the caller's, so late events never move it.
	Imported bool `json:"imported,omitempty"`
	// Origin is the profile the lead started with (from the pool or the
	// import), kept when events update the profile (Options.Observe):
	// replays read the profile as known at earlier times from it and the
	// stored events.
	Origin *Profile `json:"origin,omitempty"`
	// Score counts every applied event of the lead.
	Score scoring.State `json:"score"`
	// Events is the number of the lead's stored events Score counts (an
	// event the model cannot score is not one): a rebuild that finds more
	// knows new events came. Unscored counts the others.
	Events   int `json:"events"`
	Unscored int `json:"unscored,omitempty"`
	// Digest is the sum (mod 2^64) of a hash of each event ID that Events
	// and Unscored count: a replay that finds stored events the state has
	// not counted tells those its call brings from others (stored by a
	// call that failed, or by another engine) without keeping every ID.
	// It is not proof against IDs crafted to collide; a collision only
	// makes a late event count from its own time instead of the lead's
	// first event.
	Digest uint64 `json:"digest,omitempty"`
	// Since counts the events after SinceFrom, the time the lead entered
	// the requalification stage it is in (zero when it is in none): what
	// the policy's reset dimensions are read from.
	Since     scoring.State `json:"since,omitzero"`
	SinceFrom time.Time     `json:"since_from,omitzero"`
	// SinceTouches counts the events after SinceFrom that are touches of
	// the policy (Requalify.TouchTypes).
	SinceTouches int `json:"since_touches,omitempty"`
	// Pending is set while stage changes are being decided again (see the
	// package documentation on late events): the engine's changes from
	// this time on were taken back, and whichever engine next processes
	// the lead decides them again before anything else. Zero otherwise.
	Pending time.Time `json:"pending,omitzero"`
	// Stage is the lead's stage record as of the state's last write: the
	// engine decides on it and Advance's version check catches a change
	// made meanwhile (a manual transition), so the stage store is read
	// only then.
	Stage stage.Record `json:"stage"`
	// Reached are the score thresholds reached at the latest evaluation,
	// in model order: threshold crossings are reported against them.
	Reached []string `json:"reached,omitempty"`
	// Version is the optimistic version: 1 when created, +1 per write.
	Version int64 `json:"version"`
}

// Clone returns a deep copy of s.
func (s LeadState) Clone() LeadState {
	s.Lead = s.Lead.Clone()
	s.Origin = s.Origin.Clone()
	s.Score = s.Score.Clone()
	s.Since = s.Since.Clone()
	s.Reached = slices.Clone(s.Reached)
	s.PersonStamps = maps.Clone(s.PersonStamps)
	s.CompanyStamps = maps.Clone(s.CompanyStamps)
	return s
}

// Store keeps the engine's LeadStates. Implementations must be safe for
// concurrent use and pass storetest.Lifecycle.
//
// Contract:
//   - Get returns a lead's state, or an error wrapping leadkit.ErrNotFound;
//     a lead ID no write could store is an error wrapping
//     leadkit.ErrInvalid (see leadkit.ValidateID).
//   - Put writes a state checked with ValidateState (else an error wrapping
//     leadkit.ErrInvalid and nothing written). Version 1 creates it and
//     fails with leadkit.ErrConflict if the lead exists; a later version
//     succeeds only if the stored one is Version-1, else leadkit.ErrConflict
//     and nothing is written. Stored states are copies: neither the caller
//     nor a reader shares them.
//   - Scan calls fn with every state in lead ID order; fn may call the store.
type Store interface {
	Get(ctx context.Context, leadID string) (LeadState, error)
	Put(ctx context.Context, s LeadState) error
	Scan(ctx context.Context, fn func(LeadState) error) error
}

// ValidateState checks what a Store may keep, the same on every backend:
// the lead ID, the lead's profile, times in leadkit's range, the caps on
// the lists (a score state's rules, event IDs and each rule's Ops, at
// most scoring.MaxOps) and finite numbers in the score states.
func ValidateState(s LeadState) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("lifecycle: state of %q: %w: %s", clip(s.LeadID), leadkit.ErrInvalid, fmt.Sprintf(format, args...))
	}
	if err := leadkit.ValidateID("lead ID", s.LeadID); err != nil {
		return fmt.Errorf("lifecycle: state: %w", err)
	}
	if s.Version < 1 {
		return bad("version %d, want at least 1", s.Version)
	}
	if s.Lead.ID != s.LeadID {
		return bad("the lead's ID is %q", clip(s.Lead.ID))
	}
	if err := s.Lead.Validate(); err != nil {
		return bad("%v", err)
	}
	if err := s.Origin.validate(); err != nil {
		return bad("origin: %v", err)
	}

	for _, t := range []struct {
		what string
		v    time.Time
	}{{"created at", s.Lead.CreatedAt}, {"pending", s.Pending}, {"since", s.SinceFrom}, {"score updated", s.Score.Updated}, {"since updated", s.Since.Updated}} {
		if !t.v.IsZero() && !leadkit.ValidTime(t.v) {
			return bad("%s time outside %s", t.what, leadkit.TimeRange)
		}
	}
	if s.Stage.Version > 0 {
		if err := s.Stage.Key.Validate(); err != nil || s.Stage.ID != s.LeadID || s.Stage.Kind != stage.KindLead {
			return bad("stage record of another subject (%v)", err)
		}
		for _, x := range []string{s.Stage.Stage, s.Stage.SubStatus} {
			if msg := leadkit.CheckText(x, leadkit.MaxNameBytes); msg != "" {
				return bad("stage record: %s", msg)
			}
		}
		if !leadkit.ValidTime(s.Stage.EnteredAt) || !leadkit.ValidTime(s.Stage.UpdatedAt) {
			return bad("stage record time outside %s", leadkit.TimeRange)
		}
	} else if s.Stage != (stage.Record{}) {
		return bad("stage record without a version")
	}
	for _, st := range []leadkit.Stamps{s.PersonStamps, s.CompanyStamps} {
		if err := st.Validate(); err != nil {
			return fmt.Errorf("lifecycle: state of %q: %w", clip(s.LeadID), err)
		}
	}
	if !s.ErasedAt.IsZero() && !leadkit.ValidTime(s.ErasedAt) {
		return bad("erased at outside %s", leadkit.TimeRange)
	}
	if s.SinceTouches < 0 || s.Events < 0 || s.Unscored < 0 {
		return bad("negative count")
	}
	if len(s.Reached) > scoring.MaxThresholds {
		return bad("%d thresholds reached, at most %d", len(s.Reached), scoring.MaxThresholds)
	}
	for _, r := range s.Reached {
		if msg := leadkit.CheckText(r, leadkit.MaxNameBytes); msg != "" || r == "" {
			return bad("threshold reached %q %s", clip(r), msg)
		}
	}
	for _, st := range []scoring.State{s.Score, s.Since} {
		if st.LeadID != "" && st.LeadID != s.LeadID {
			return bad("a score state of lead %q", clip(st.LeadID))
		}
		if len(st.Rules) > scoring.MaxRules || len(st.LastIDs) > scoring.MaxEvents {
			return bad("a score state over the caps (%d rules, %d IDs)", len(st.Rules), len(st.LastIDs))
		}
		if msg := leadkit.CheckText(st.Model, leadkit.MaxStringBytes); msg != "" {
			return bad("score state model %s", msg)
		}
		for _, id := range st.LastIDs {
			if msg := leadkit.CheckText(id, leadkit.MaxIDBytes); msg != "" {
				return bad("score state event ID %s", msg)
			}
		}
		for i, r := range st.Rules {
			// A multiply rule keeps at most MaxOps changes; every number
			// is finite (JSON, as a database keeps it, has no NaN). Rules
			// are named by their place in the model's rule order (the
			// state holds no names).
			if len(r.Ops) > scoring.MaxOps {
				return bad("score state rule %d (of model %q, in its rule order) with %d ops, at most %d (scoring.MaxOps)", i, text.Clip(st.Model, 64), len(r.Ops), scoring.MaxOps)
			}
			for _, v := range [...]float64{r.Lifetime, r.Value, r.OpsValue, r.OpsLifetime} {
				if _, err := leadkit.Number(v); err != nil {
					return bad("score state rule %d: %v", i, err)
				}
			}
			for _, v := range r.Ops {
				if _, err := leadkit.Number(v); err != nil {
					return bad("score state rule %d ops: %v", i, err)
				}
			}
			// A rule's times are those of events the state applied.
			if up := st.Updated.UnixNano(); !st.Updated.IsZero() && (r.At > up || r.Last > up || r.First > up) {
				return bad("score state rule %d: a time after the state's last event (%s)", i, st.Updated.Format(time.RFC3339Nano))
			}
		}
	}
	return nil
}

// MemoryStore is the in-memory Store. It keeps each state in its own
// allocation (a new lead never copies the others, as the growth of one
// slice of states would) and writes a new version over the old one,
// reusing its memory, so a write allocates nothing in the steady state.
//
// A MemoryStore is bound to one tenant (leadkit.DefaultTenant from
// NewMemoryStore); ForTenant gives views of the same storage bound to
// others, which never see each other's states.
type MemoryStore struct {
	*memData // the tenant's states
	tenant   string
	all      *tenants.Set[memData]
}

type memData struct {
	mu     sync.RWMutex
	states map[string]*memSlot // lead ID -> its state
}

// memSlot holds a lead's state. The engine's own writes hand the store
// their buffer and take the replaced state's memory back, by swapping the
// pointer: the slot stays, so the engine that read it writes without a
// second lookup.
type memSlot struct{ st *LeadState }

var (
	_ Store                              = (*MemoryStore)(nil)
	_ leadkit.TenantScoped[*MemoryStore] = (*MemoryStore)(nil)
)

// NewMemoryStore returns an empty in-memory Store bound to
// leadkit.DefaultTenant.
func NewMemoryStore() *MemoryStore {
	all := tenants.New(func() *memData { return &memData{states: map[string]*memSlot{}} })
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
		return nil, fmt.Errorf("lifecycle: %w", err)
	}
	return &MemoryStore{memData: d, tenant: tenant, all: s.all}, nil
}

// Get implements Store.
func (s *MemoryStore) Get(ctx context.Context, leadID string) (LeadState, error) {
	if err := ctx.Err(); err != nil {
		return LeadState{}, err
	}
	if err := leadkit.ValidateID("lead ID", leadID); err != nil {
		return LeadState{}, fmt.Errorf("lifecycle: get: %w", err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	sl, ok := s.states[leadID]
	if !ok {
		return LeadState{}, fmt.Errorf("lifecycle: lead %q: %w", clip(leadID), leadkit.ErrNotFound)
	}
	return sl.st.Clone(), nil
}

// getInto is Get into dst, reusing dst's memory (the engine reads each
// lead's state into a buffer it keeps): it returns the lead's slot (nil
// when it has no state) for putOwned, and allocates nothing in the steady
// state. dst must not share memory with anything its caller still uses.
// The engine's lead IDs are those of valid events, so the ID is not
// checked again.
func (s *MemoryStore) getInto(ctx context.Context, leadID string, dst *LeadState) (*memSlot, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	sl, ok := s.states[leadID]
	if !ok {
		return nil, nil
	}
	sl.st.copyInto(dst)
	return sl, nil
}

// Put implements Store.
func (s *MemoryStore) Put(ctx context.Context, st LeadState) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := ValidateState(st); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sl, err := s.slot(&st)
	if err != nil {
		return err
	}
	st.copyInto(sl.st)
	return nil
}

// putOwned writes *buf, which the caller hands over (nothing else may
// refer to it), with the checks of Put: the store keeps the buffer, and
// *buf becomes the replaced version's memory (a new LeadState for a new
// lead), for the caller to reuse; nothing is copied. sl, when set, is the
// slot getInto returned. On an error *buf is left as it was.
func (s *MemoryStore) putOwned(ctx context.Context, sl *memSlot, buf **LeadState) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	st := *buf
	if err := ValidateState(*st); err != nil {
		return err // the same check as every backend's
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if sl == nil || sl.st.LeadID != st.LeadID {
		var err error
		if sl, err = s.slot(st); err != nil {
			return err
		}
	} else if have := sl.st.Version; have != st.Version-1 {
		return fmt.Errorf("lifecycle: lead %q at version %d, not %d: %w", clip(st.LeadID), have, st.Version-1, leadkit.ErrConflict)
	}
	sl.st, *buf = st, sl.st
	return nil
}

// slot returns the slot st is written to, after the version check (a new
// lead's is created, holding an empty state); the caller holds s.mu.
func (s *MemoryStore) slot(st *LeadState) (*memSlot, error) {
	var have int64
	sl, ok := s.states[st.LeadID]
	if ok {
		have = sl.st.Version
	}
	if have != st.Version-1 {
		return nil, fmt.Errorf("lifecycle: lead %q at version %d, not %d: %w", clip(st.LeadID), have, st.Version-1, leadkit.ErrConflict)
	}
	if !ok {
		sl = &memSlot{st: &LeadState{}}
		s.states[st.LeadID] = sl
	}
	return sl, nil
}

// copyInto writes a deep copy of s into dst, reusing dst's memory.
func (s *LeadState) copyInto(dst *LeadState) {
	score, since, reached := dst.Score, dst.Since, dst.Reached
	*dst = *s
	dst.Lead = s.Lead.Clone()
	dst.Origin = s.Origin.Clone()
	dst.Score, dst.Since = score, since
	s.Score.CopyTo(&dst.Score)
	s.Since.CopyTo(&dst.Since)
	dst.Reached = nil
	if s.Reached != nil {
		dst.Reached = append(reached[:0], s.Reached...)
	}
	dst.PersonStamps = maps.Clone(s.PersonStamps)
	dst.CompanyStamps = maps.Clone(s.CompanyStamps)
}

// Scan implements Store.
func (s *MemoryStore) Scan(ctx context.Context, fn func(LeadState) error) error {
	s.mu.RLock()
	ids := make([]string, 0, len(s.states))
	for id := range s.states {
		ids = append(ids, id)
	}
	s.mu.RUnlock()
	sort.Strings(ids)
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return err
		}
		st, err := s.Get(ctx, id)
		if errors.Is(err, leadkit.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if err := fn(st); err != nil {
			return err
		}
	}
	return nil
}
