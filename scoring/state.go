package scoring

import (
	"fmt"
	"slices"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/text"
)

// State is a lead's incremental behavior score: compact per-rule counters
// with their last-update times, decayed lazily when read. It is plain data
// (JSON-serializable) so it can be stored with the lead. Fit rules are not
// in the state: they are evaluated against the lead when the state is read.
//
// A State is updated by [Model.Apply] one event at a time in O(rules
// matching the event) and read with [Model.ReadState]; the result equals a
// full [Model.Score] over the same events within float rounding.
//
// Apply updates a State in place, reusing its slices: a plain copy
// (saved := st) shares them and changes with st. Keep a snapshot with
// [State.Clone].
type State struct {
	// Model is the fingerprint of the model that built the state.
	Model string `json:"model"`
	// LeadID is the lead the state counts: set by [Model.StateOf] or by
	// the first event applied with a lead ID. Events of another lead are
	// refused, and ReadState refuses another lead.
	LeadID string `json:"lead_id,omitempty"`
	// Updated is the time of the latest applied event.
	Updated time.Time `json:"updated,omitzero"`
	// LastIDs are the IDs of the events applied at time Updated. Apply
	// is idempotent by event ID: a redelivered event at that time is
	// skipped, and an older one is refused with ErrOutOfOrder, so either
	// way it counts once. (Events without an ID cannot be recognized and
	// count each time.)
	LastIDs []string `json:"last_ids,omitempty"`
	// Rules holds one entry per behavior rule, in model order.
	Rules []RuleState `json:"rules"`

	// ids finds an ID in LastIDs when many events share one instant (a
	// date-only import): ID -> position, for the LastIDs whose first
	// element idsBase points to and whose length it has; a copy or a
	// decoded state whose LastIDs differ builds its own.
	ids     map[string]int
	idsBase *string
}

// idsIndexFrom is the number of same-instant IDs from which Apply looks
// them up in an index instead of scanning.
const idsIndexFrom = 64

// indexed reports whether st.ids was built for st.LastIDs: the same
// array, the same length, and its first, middle and last IDs where the
// index says (a decoded state reusing the array holds other IDs there).
func (st *State) indexed() bool {
	n := len(st.LastIDs)
	if st.ids == nil || n == 0 || st.idsBase != &st.LastIDs[0] || len(st.ids) != n {
		return false
	}
	for _, i := range [3]int{0, n / 2, n - 1} {
		if j, ok := st.ids[st.LastIDs[i]]; !ok || j != i {
			return false
		}
	}
	return true
}

// seen reports whether id is among st.LastIDs.
func (st *State) seen(id string) bool {
	if len(st.LastIDs) < idsIndexFrom {
		return slices.Contains(st.LastIDs, id)
	}
	if !st.indexed() {
		st.ids = make(map[string]int, len(st.LastIDs))
		for i, x := range st.LastIDs {
			st.ids[x] = i
		}
		st.idsBase = &st.LastIDs[0]
	}
	i, ok := st.ids[id]
	return ok && i < len(st.LastIDs) && st.LastIDs[i] == id
}

// RuleState is the counter of one behavior rule. Times are Unix
// nanoseconds.
type RuleState struct {
	// N counts occurrences since the last reset; BucketN of them fell in
	// the current limit period Bucket.
	N       int32 `json:"n,omitempty"`
	BucketN int32 `json:"bucket_n,omitempty"`
	Bucket  int64 `json:"bucket,omitempty"`
	// First and Last are the first and latest counted occurrences.
	First int64 `json:"first,omitempty"`
	Last  int64 `json:"last,omitempty"`
	// Lifetime is the undecayed sum.
	Lifetime float64 `json:"lifetime,omitempty"`
	// Value is the sum without decay, the decayed sum as of At (half-life
	// decay), or the settled part of step decay.
	Value float64 `json:"value,omitempty"`
	At    int64   `json:"at,omitempty"`
	// Times are occurrences still inside a window or a decay step.
	Times []int64 `json:"times,omitempty"`
	// Recent are the counted occurrences inside a rolling limit's span
	// (LimitSpec.Every), ascending.
	Recent []int64 `json:"recent,omitempty"`
	// Step is how far along its Sequence a path rule is.
	Step int32 `json:"step,omitempty"`
	// Ops are a multiply rule's changes to the other rules of its
	// dimension: Ops[0] what it changed of their lifetime points, then
	// per decay class of the dimension (the rules without decay, then
	// each half-life, in model order of first use) what it changed of
	// their decayed points, then per class the points it made them
	// forget above their caps, all as of At. A change is what an
	// occurrence did to what a rule showed then (its points decayed to
	// then, within its cap, after minus before), less what later
	// occurrences of the rule undid of it (points banked back to the
	// cap); changes decay with the rules changed, and rules sharing a
	// decay decay alike, so one number per class decays exactly. At most
	// [MaxOps] entries. Results list them as the multiply rule's own
	// points. For a multiply rule, At is the time Ops are as of.
	Ops []float64 `json:"ops,omitempty"`
	// OpsValue and OpsLifetime are, for a rule that multiply rules
	// scale, the sum of their changes to its decayed points (as of At,
	// decaying with Value) and to its lifetime points: Value less
	// OpsValue is what the rule's own occurrences banked, what it would
	// have without the multiplies (results list the difference as the
	// multiplies').
	OpsValue    float64 `json:"ops_value,omitempty"`
	OpsLifetime float64 `json:"ops_lifetime,omitempty"`
}

// CopyTo writes a deep copy of s into dst, reusing dst's slices: the
// allocation-free Clone for stores that keep a state and overwrite it.
func (s State) CopyTo(dst *State) {
	ids, rules := dst.LastIDs, dst.Rules
	*dst = s
	dst.ids, dst.idsBase = nil, nil
	dst.LastIDs = nil
	if s.LastIDs != nil {
		dst.LastIDs = append(ids[:0], s.LastIDs...)
	}
	dst.Rules = nil
	if s.Rules != nil {
		if cap(rules) < len(s.Rules) {
			rules = make([]RuleState, len(s.Rules))
		}
		rules = rules[:len(s.Rules)]
		for i, r := range s.Rules {
			times, recent, ops := rules[i].Times, rules[i].Recent, rules[i].Ops
			rules[i] = r
			if r.Times != nil {
				rules[i].Times = append(times[:0], r.Times...)
			}
			if r.Recent != nil {
				rules[i].Recent = append(recent[:0], r.Recent...)
			}
			if r.Ops != nil {
				rules[i].Ops = append(ops[:0], r.Ops...)
			}
		}
		dst.Rules = rules
	}
}

// Clone returns a deep copy of s that later changes to s do not affect.
func (s State) Clone() State {
	c := s
	c.LastIDs = append([]string(nil), s.LastIDs...)
	c.ids, c.idsBase = nil, nil
	c.Rules = make([]RuleState, len(s.Rules))
	copy(c.Rules, s.Rules)
	for i := range c.Rules {
		if t := c.Rules[i].Times; t != nil {
			c.Rules[i].Times = append([]int64(nil), t...)
		}
		if t := c.Rules[i].Recent; t != nil {
			c.Rules[i].Recent = append([]int64(nil), t...)
		}
		if o := c.Rules[i].Ops; o != nil {
			c.Rules[i].Ops = append([]float64(nil), o...)
		}
	}
	return c
}

// NewState returns the empty state of a lead without events.
func (m *Model) NewState() State {
	return State{Model: m.fingerprint, Rules: make([]RuleState, len(m.beh))}
}

// incremental reports whether the model can keep states: not when a
// predicate reads the as-of time, since Apply evaluates predicates once,
// before the time a state is read at is known.
func (m *Model) incremental() error {
	if m.asOfPred != "" {
		return fmt.Errorf("scoring: %w: model %q: rule %q: its predicate or points expression reads the as-of time (event.age_days or daysSince), so the model has no incremental state; use Score", leadkit.ErrInvalid, m.spec.Name, m.asOfPred)
	}
	return nil
}

// replay prepares a replay of in's events in time order, the one
// preamble of StateOf, Crossings and Trajectory: the model must have an
// incremental state; it returns a scratch holding the lead (give it back
// with put), the events' order and the as-of time.
func (m *Model) replay(in *Input) (*scratch, []int, time.Time, error) {
	if err := m.incremental(); err != nil {
		return nil, nil, time.Time{}, err
	}
	asOf, err := m.asOf(in)
	if err != nil {
		return nil, nil, time.Time{}, err
	}
	sc := m.get()
	order, err := m.eventOrder(sc, in)
	if err != nil {
		m.put(sc)
		return nil, nil, time.Time{}, err
	}
	sc.lead = in.Lead
	return sc, order, asOf, nil
}

// StateOf builds the state of in's events up to in.AsOf (zero: now, see
// [Options].Now).
func (m *Model) StateOf(in Input) (State, error) {
	sc, order, asOf, err := m.replay(&in)
	if err != nil {
		return State{}, err
	}
	defer m.put(sc)
	st := m.NewState()
	st.LeadID = in.Lead.ID
	sc.c = m.ctx(&sc.lead, asOf)
	for _, i := range order {
		ev := &in.Events[i]
		if ev.Time.After(asOf) {
			continue
		}
		if err := m.apply(sc, &st, ev); err != nil {
			return State{}, err
		}
	}
	return st, nil
}

func (m *Model) checkState(st *State) error {
	if st.Model != m.fingerprint || len(st.Rules) != len(m.beh) {
		return fmt.Errorf("scoring: %w: state was built by another model (%q, this is %q)", leadkit.ErrInvalid, st.Model, m.fingerprint)
	}
	if !st.Updated.IsZero() && !validTime(st.Updated) {
		return fmt.Errorf("scoring: %w: state updated at %s, outside %s", leadkit.ErrInvalid, st.Updated.Format(time.RFC3339), timeRange)
	}
	if m.mult {
		// A multiply's changes are as of At, a time it was applied at:
		// never after the state's last event (read later, they would
		// grow instead of decaying).
		for i := range m.beh {
			if s := &st.Rules[i]; m.beh[i].multiply && len(s.Ops) > 0 && s.At > st.Updated.UnixNano() {
				return fmt.Errorf("scoring: %w: state of lead %q: rule %q's changes are as of %s, after the state's last event (%s)", leadkit.ErrInvalid, text.Clip(st.LeadID, 64), m.beh[i].name, time.Unix(0, s.At).UTC().Format(time.RFC3339Nano), st.Updated.Format(time.RFC3339Nano))
			}
		}
	}
	return m.incremental()
}

// Apply adds one event to st. Events must come in time order (equal times
// are fine); an older event returns an error wrapping [ErrOutOfOrder] and
// leaves st unchanged, as does an event whose time is zero or outside the
// years 1900 to 2149. Behavior predicates read only the event, so Apply
// needs nothing else.
func (m *Model) Apply(st *State, ev leadkit.Event) error {
	if err := m.checkState(st); err != nil {
		return err
	}
	if !validTime(ev.Time) {
		return eventTimeErr(ev.LeadID, &ev)
	}
	sc := m.get()
	defer m.put(sc)
	sc.ev = ev
	sc.c = m.ctx(&sc.lead, ev.Time)
	return m.apply(sc, st, &sc.ev)
}

func (m *Model) apply(sc *scratch, st *State, ev *leadkit.Event) error {
	if ev.LeadID != "" && st.LeadID != "" && ev.LeadID != st.LeadID {
		return &RuleError{LeadID: st.LeadID, Part: fmt.Sprintf("event %q", text.Clip(ev.ID, 64)), Msg: fmt.Sprintf("belongs to lead %q, not to this state's lead", text.Clip(ev.LeadID, 64))}
	}
	if len(ev.ID) > leadkit.MaxIDBytes {
		return &RuleError{LeadID: st.LeadID, Part: "event", Msg: fmt.Sprintf("ID is %d bytes, the limit is %d", len(ev.ID), leadkit.MaxIDBytes)}
	}
	if ev.Time.Before(st.Updated) {
		return fmt.Errorf("%w: event %q at %s is before %s", ErrOutOfOrder, ev.ID, ev.Time.UTC().Format(time.RFC3339Nano), st.Updated.Format(time.RFC3339Nano))
	}
	same := ev.Time.Equal(st.Updated)
	if same && ev.ID != "" && st.seen(ev.ID) {
		return nil // a redelivery: counted once
	}
	rt := m.dispatch(ev.Type)
	rules := rt.rules
	// Evaluate every predicate and points expression first so an error
	// leaves st unchanged.
	if len(rt.preds) > 0 {
		if err := m.evalPreds(sc, ev, rules, rt.preds); err != nil {
			return err
		}
	}
	if len(rt.pts) > 0 {
		if err := m.evalPoints(sc, ev, rt); err != nil {
			return err
		}
	}
	st.Updated = ev.Time.UTC()
	if st.LeadID == "" {
		st.LeadID = ev.LeadID
	}
	if !same {
		st.LastIDs = st.LastIDs[:0]
		st.ids, st.idsBase = nil, nil
	}
	if ev.ID != "" {
		indexed := st.indexed()
		st.LastIDs = append(st.LastIDs, ev.ID)
		if indexed {
			st.ids[ev.ID] = len(st.LastIDs) - 1
			st.idsBase = &st.LastIDs[0]
		} else {
			st.ids, st.idsBase = nil, nil
		}
	}
	m.count(sc, st.Rules, rt, ev.Time.UnixNano(), anyTime)
	return nil
}

// ReadState writes into dst the score of lead with the behavior in st at
// asOf (zero: now, see [Options].Now), which must not be before
// st.Updated. Fit rules are evaluated against lead. It allocates nothing
// with a reused dst.
func (m *Model) ReadState(dst *Result, st *State, lead leadkit.Lead, asOf time.Time) error {
	if err := m.checkState(st); err != nil {
		return err
	}
	if err := m.checkLead(&lead); err != nil {
		return err
	}
	if st.LeadID != "" && lead.ID != st.LeadID {
		return &RuleError{LeadID: lead.ID, Part: "state", Msg: fmt.Sprintf("counts lead %q, not this lead", text.Clip(st.LeadID, 64))}
	}
	sc := m.get()
	defer m.put(sc)
	sc.lead = lead
	return m.readState(sc, dst, st, asOf, true)
}

// readState is ReadState with the lead in sc.lead; fit re-evaluates the
// fit rules (else sc.fitOn is reused).
func (m *Model) readState(sc *scratch, dst *Result, st *State, asOf time.Time, fit bool) error {
	if asOf.IsZero() {
		asOf = m.now()
	}
	if !validTime(asOf) {
		return &RuleError{LeadID: sc.lead.ID, Part: "as-of time", Msg: fmt.Sprintf("%s is outside %s", asOf.UTC().Format(time.RFC3339), timeRange)}
	}
	asOf = asOf.UTC()
	if asOf.Before(st.Updated) {
		return fmt.Errorf("%w: read at %s is before the state's last event at %s", ErrOutOfOrder, asOf.Format(time.RFC3339Nano), st.Updated.Format(time.RFC3339Nano))
	}
	sc.c = m.ctx(&sc.lead, asOf)
	if fit {
		if err := m.fitPass(sc); err != nil {
			return err
		}
	}
	return m.finish(sc, st.Rules, dst, asOf)
}
