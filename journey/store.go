package journey

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/tenants"
)

// Store keeps the events of every lead. Implementations must be safe for
// concurrent use and pass the storetest.Journey conformance suite.
//
// Contract:
//   - Append validates every event with [leadkit.Event.Validate]. A bad
//     event never costs the good ones: every valid event whose ID is new is
//     stored and added counts them, and the error wraps [leadkit.ErrInvalid]
//     and names every bad event (its index in the call and its ID), which
//     is not stored. An ID already stored (or repeated within the call) is
//     kept once, the first write wins. Times are stored in UTC; attributes
//     in the shapes JSON gives back ([leadkit.NormalizeAttrs]: numbers as
//     float64, times as RFC 3339 text, lists as []any), deep-copied, so
//     every backend returns the same values and no caller shares them.
//   - Events returns a lead's events with from <= Time < to, sorted by time;
//     events with equal times come back in the order they were appended. A
//     zero from or to leaves that side open. An unknown lead has no events
//     (an empty result, not an error); a lead ID that no event could
//     carry (empty, over [leadkit.MaxIDBytes], not valid text) is an
//     error wrapping [leadkit.ErrInvalid] (see [leadkit.ValidateID]).
//   - ForEach calls fn with the full [Timeline] of every lead that has
//     events, in ascending lead ID order, once per lead. It stops at the
//     first error of fn or of ctx and returns it. fn may call the store.
type Store interface {
	Append(ctx context.Context, events ...leadkit.Event) (added int, err error)
	Events(ctx context.Context, leadID string, from, to time.Time) ([]leadkit.Event, error)
	ForEach(ctx context.Context, fn func(Timeline) error) error
}

// MemoryStore is the in-memory [Store]: the default of this package, safe
// for concurrent use. Its zero value is not usable; call [NewMemoryStore].
// A MemoryStore is bound to one tenant ([leadkit.DefaultTenant] from
// NewMemoryStore); ForTenant gives views of the same storage bound to
// others, which never see each other's events, even under the same IDs.
type MemoryStore struct {
	*memData // the tenant's events
	tenant   string
	all      *tenants.Set[memData]
}

type memData struct {
	mu    sync.RWMutex
	ids   map[string]struct{}
	leads map[string][]leadkit.Event
}

var (
	_ Store                              = (*MemoryStore)(nil)
	_ leadkit.TenantScoped[*MemoryStore] = (*MemoryStore)(nil)
)

// NewMemoryStore returns an empty in-memory store bound to
// [leadkit.DefaultTenant].
func NewMemoryStore() *MemoryStore {
	all := tenants.New(func() *memData {
		return &memData{ids: map[string]struct{}{}, leads: map[string][]leadkit.Event{}}
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
		return nil, fmt.Errorf("journey: %w", err)
	}
	return &MemoryStore{memData: d, tenant: tenant, all: s.all}, nil
}

// Append stores events; see [Store] for the contract.
func (s *MemoryStore) Append(ctx context.Context, events ...leadkit.Event) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	valid, bad := leadkit.ValidEvents(events)
	if bad != nil {
		bad = fmt.Errorf("journey: append: %w", bad)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	added := 0
	for _, e := range valid {
		if _, dup := s.ids[e.ID]; dup {
			continue
		}
		s.ids[e.ID] = struct{}{}
		e.Time = e.Time.UTC().Truncate(leadkit.TimePrecision)
		e.Attrs = leadkit.NormalizeAttrs(e.Attrs)
		list := s.leads[e.LeadID]
		// Insert after every event with Time <= e.Time: arrival order for
		// equal times, and O(1) for the usual in-order arrival.
		i := len(list)
		if i > 0 && list[i-1].Time.After(e.Time) {
			i = sort.Search(len(list), func(k int) bool { return list[k].Time.After(e.Time) })
		}
		s.leads[e.LeadID] = slices.Insert(list, i, e)
		added++
	}
	return added, bad
}

// Events returns a lead's events in [from, to); see [Store].
func (s *MemoryStore) Events(ctx context.Context, leadID string, from, to time.Time) ([]leadkit.Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := leadkit.ValidateID("lead ID", leadID); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return copyRange(s.leads[leadID], from.Truncate(leadkit.TimePrecision), to.Truncate(leadkit.TimePrecision)), nil
}

// ForEach calls fn with every lead's timeline; see [Store].
func (s *MemoryStore) ForEach(ctx context.Context, fn func(Timeline) error) error {
	s.mu.RLock()
	ids := slices.Sorted(maps.Keys(s.leads))
	s.mu.RUnlock()
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return err
		}
		s.mu.RLock()
		evs := copyRange(s.leads[id], time.Time{}, time.Time{})
		s.mu.RUnlock()
		if err := fn(Timeline{LeadID: id, Events: evs}); err != nil {
			return err
		}
	}
	return nil
}

// copyRange copies the events of a sorted list with from <= Time < to,
// deep-copying attributes so callers cannot change the store's state.
func copyRange(list []leadkit.Event, from, to time.Time) []leadkit.Event {
	lo, hi := 0, len(list)
	if !from.IsZero() {
		lo = sort.Search(len(list), func(k int) bool { return !list[k].Time.Before(from) })
	}
	if !to.IsZero() {
		hi = sort.Search(len(list), func(k int) bool { return !list[k].Time.Before(to) })
	}
	if hi < lo {
		hi = lo
	}
	out := make([]leadkit.Event, hi-lo)
	copy(out, list[lo:hi])
	for i := range out {
		out[i].Attrs = leadkit.NormalizeAttrs(out[i].Attrs)
	}
	return out
}

// Timelines reads every lead's timeline from store into a slice, in lead ID
// order. It is a convenience for analyses that fit in memory; stream with
// Store.ForEach and an accumulator otherwise.
func Timelines(ctx context.Context, store Store) ([]Timeline, error) {
	var out []Timeline
	err := store.ForEach(ctx, func(tl Timeline) error {
		out = append(out, tl)
		return nil
	})
	return out, err
}
