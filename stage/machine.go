package stage

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/lang"
)

// HookFunc is an entry or exit hook. Returning an error vetoes the change:
// nothing is written and the caller gets a *TransitionError wrapping
// ErrVetoed and the hook's error.
type HookFunc func(ctx context.Context, c Change) error

// Hooks maps stage names to the hooks that run when a subject leaves (Exit)
// or enters (Enter) that stage. The name "*" runs for every stage. Exit hooks
// of the current stage run first, then entry hooks of the target, each in
// slice order; the first error vetoes. Hooks run before the change is
// stored, so they must not assume it will be (use Options.OnCommit for
// effects after the fact). They do not run for sub-status changes.
type Hooks struct {
	Enter map[string][]HookFunc
	Exit  map[string][]HookFunc
}

// Change is a proposed or committed change, as hooks and OnCommit see it.
type Change struct {
	Entry
	// Facts are the facts the change was decided on (nil for manual changes
	// fired without facts).
	Facts Facts
}

// Options configures a Machine. The zero value is a working default.
type Options struct {
	// Store keeps records and histories; nil means a new MemoryStore.
	Store Store
	// Now returns the current time; nil means time.Now. Times are stored
	// in UTC.
	Now func() time.Time
	// Hooks are entry and exit hooks by stage name.
	Hooks Hooks
	// OnCommit, if set, is called after every committed change, in the
	// goroutine that made it.
	OnCommit func(ctx context.Context, c Change)
	// MaxGuardNodes caps a guard's size (default 1000 expression nodes).
	MaxGuardNodes uint
	// GuardMemoryBudget caps what one guard evaluation on the expr VM may
	// allocate (default 100,000 VM units).
	GuardMemoryBudget uint
	// MaxGuardCost bounds the estimated worst-case work of one guard
	// evaluation on facts at the size caps (default 10^6 units, about
	// 15-25 ms): New refuses a guard above it, typically one that
	// compares list facts with each other or nests predicates over them.
	// It is the same cost model and unit as scoring's Options.MaxCost.
	MaxGuardCost int
	// MaxDecisionCost bounds the summed worst-case cost of the automatic
	// guards leaving one stage (transitions from "*" included): what one
	// Advance step may evaluate, and half of what Explain evaluates (it
	// reads every clause too). Default 10^6 units (like scoring's bound on
	// a model's fit rules together) or MaxGuardCost if that is higher.
	MaxDecisionCost int
	// MaxAutoSteps caps how many automatic transitions one Advance may chain
	// (default: the number of stages).
	MaxAutoSteps int
}

// Machine is a compiled stage model bound to a Store. It is immutable and
// safe for concurrent use; concurrent changes to one subject are serialised
// by the store's optimistic versions (the loser gets ErrConflict).
type Machine struct {
	def      Definition
	opts     Options
	store    Store
	now      func() time.Time
	rank     map[string]int
	trans    map[string]*compiledTransition
	outgoing [][]*compiledTransition // by stage rank, in definition order
	auto     [][]*compiledTransition // automatic subset of outgoing
	fwd      []int                   // forward rank by stage rank, see Definition.forwardRanks
	facts    *factEnv
	limits   lang.Limits
	maxSteps int
}

// Definition returns a copy of the machine's definition.
func (m *Machine) Definition() Definition { return m.def.Clone() }

// Pipeline returns the pipeline name (Definition.Name).
func (m *Machine) Pipeline() string { return m.def.Name }

// Store returns the machine's store.
func (m *Machine) Store() Store { return m.store }

// WithStore returns a machine like m (the same compiled definition,
// hooks and clock) over another store: for example a store bound to the
// caller's database transaction for one request, so that a transition and
// the application's own rows commit together. It costs a copy of a small
// struct; m is unchanged.
func (m *Machine) WithStore(s Store) *Machine {
	c := *m
	c.store = s
	return &c
}

// Rank returns a stage's position in the definition (its funnel order) and
// whether the stage exists.
func (m *Machine) Rank(stage string) (int, bool) {
	r, ok := m.rank[stage]
	return r, ok
}

func (m *Machine) key(s Subject) Key { return Key{Pipeline: m.def.Name, Subject: s} }

func (m *Machine) stamp() time.Time { return m.now().UTC().Truncate(leadkit.TimePrecision) }

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// when is the time of a change to rec requested by req: req.At, or now.
// A history stays in time order: req.At may not precede the record's latest
// change nor lie in the future, and now, if the clock is behind the latest
// change (back-dated imports, clock skew between hosts), is taken as that
// change's time.
func (m *Machine) when(rec Record, req Request, transition, to string) (time.Time, error) {
	now := m.stamp()
	if req.At.IsZero() {
		return maxTime(now, rec.UpdatedAt), nil
	}
	at := req.At.UTC().Truncate(leadkit.TimePrecision) // as every store keeps it
	terr := func(msg string) error {
		return &TransitionError{Key: rec.Key, Transition: transition, From: rec.Stage, To: to, Msg: msg, Err: leadkit.ErrInvalid}
	}
	if !leadkit.ValidTime(at) {
		return time.Time{}, terr(fmt.Sprintf("time %s is outside %s", at.Format(time.RFC3339), leadkit.TimeRange))
	}
	if at.After(now) {
		return time.Time{}, terr(fmt.Sprintf("time %s is in the future (now is %s)", at.Format(time.RFC3339Nano), now.Format(time.RFC3339Nano)))
	}
	if at.Before(rec.UpdatedAt) {
		return time.Time{}, terr(fmt.Sprintf("time %s is before the record's latest change at %s", at.Format(time.RFC3339Nano), rec.UpdatedAt.Format(time.RFC3339Nano)))
	}
	return at, nil
}

// Request carries the optional details of a change.
type Request struct {
	// Actor is who made the change (a user ID, "system", "scoring").
	Actor string
	// Reason is a reason code; required, and checked against the list, on
	// transitions that define Reasons.
	Reason string
	// Note is free text kept in the history.
	Note string
	// Facts are the values the transition's guard reads, if it has one.
	Facts Facts
	// Version, when non-zero, is the version the caller last read: the
	// change fails with leadkit.ErrConflict if the record moved on since.
	Version int64
	// SubStatus sets the sub-status in the target stage (must be one of the
	// stage's SubStatuses).
	SubStatus string
	// At, when set, is when the change happened: imports, replays and
	// back-dated calls record it instead of now (guards' daysSince measure
	// to it too). It may not precede the record's latest change
	// (Record.UpdatedAt) nor lie in the future, so a history stays in time
	// order: either is an error wrapping leadkit.ErrInvalid, as is a time
	// outside leadkit's range. Without At, a change is recorded now, or at
	// the latest change if the clock is behind it.
	At time.Time
}

// StartOptions configures Start.
type StartOptions struct {
	// Stage to start in; default Definition.Initial. Use it to import
	// subjects that are already further down the pipeline.
	Stage string
	// At is the start time; default now. Importers set it to keep history;
	// like Request.At it may not lie in the future or outside leadkit's
	// time range (an error wrapping leadkit.ErrInvalid, before any hook
	// runs).
	At    time.Time
	Actor string
	Note  string
}

// Start enters a subject into the pipeline. It fails with
// leadkit.ErrConflict if the subject is already in it.
func (m *Machine) Start(ctx context.Context, s Subject, o StartOptions) (Record, error) {
	key := m.key(s)
	if err := key.validate(); err != nil {
		return Record{}, &TransitionError{Key: key, Msg: err.Error(), Err: ErrNotAllowed}
	}
	st := o.Stage
	if st == "" {
		st = m.def.Initial
	}
	if _, ok := m.rank[st]; !ok {
		return Record{}, &TransitionError{Key: key, To: st, Msg: "unknown stage", Err: ErrNotAllowed}
	}
	at, err := m.when(Record{Key: key}, Request{At: o.At}, "", st)
	if err != nil {
		return Record{}, err
	}
	rec := Record{Key: key, Stage: st, EnteredAt: at, UpdatedAt: at, Version: 1}
	e := Entry{Key: key, Version: 1, To: st, At: at, Actor: o.Actor, Note: o.Note, Trigger: TriggerStart}
	if err := m.runHooks(ctx, "", st, Change{Entry: e}); err != nil {
		return Record{}, &TransitionError{Key: key, To: st, Msg: "entry hook refused", Err: ErrVetoed, Cause: err}
	}
	if err := m.store.Commit(ctx, rec, e); err != nil {
		if errors.Is(err, leadkit.ErrConflict) {
			return Record{}, &TransitionError{Key: key, To: st, Msg: "already in this pipeline", Err: leadkit.ErrConflict, Cause: err}
		}
		return Record{}, err
	}
	m.committed(ctx, Change{Entry: e})
	return rec, nil
}

// Get returns a subject's current record (leadkit.ErrNotFound if it is not
// in the pipeline).
func (m *Machine) Get(ctx context.Context, s Subject) (Record, error) {
	return m.store.Get(ctx, m.key(s))
}

// History returns a subject's changes in order.
func (m *Machine) History(ctx context.Context, s Subject) ([]Entry, error) {
	return m.store.History(ctx, m.key(s))
}

func (m *Machine) load(ctx context.Context, key Key, name string, want int64) (Record, error) {
	if want < 0 {
		return Record{}, &TransitionError{Key: key, Transition: name, Msg: fmt.Sprintf("version %d is negative (0 means the current version)", want), Err: leadkit.ErrInvalid}
	}
	if err := key.validate(); err != nil {
		return Record{}, &TransitionError{Key: key, Transition: name, Msg: err.Error(), Err: leadkit.ErrInvalid}
	}
	rec, err := m.store.Get(ctx, key)
	if err != nil {
		if errors.Is(err, leadkit.ErrNotFound) {
			return rec, &TransitionError{Key: key, Transition: name, Msg: "not in this pipeline", Err: leadkit.ErrNotFound}
		}
		return rec, err
	}
	if want != 0 && rec.Version != want {
		return rec, &TransitionError{Key: key, Transition: name, From: rec.Stage,
			Msg: fmt.Sprintf("stale version %d, current is %d", want, rec.Version), Err: leadkit.ErrConflict}
	}
	return rec, nil
}

// Fire takes the manual (or automatic) transition named name for subject s.
// It checks that the transition leaves from the current stage, the reason
// code, forward-only, the guard (on req.Facts) and the hooks, then commits
// with the next version. Every failure is a *TransitionError and writes
// nothing.
func (m *Machine) Fire(ctx context.Context, s Subject, name string, req Request) (Record, error) {
	key := m.key(s)
	t, ok := m.trans[name]
	if !ok {
		return Record{}, &TransitionError{Key: key, Transition: name, Msg: "no such transition", Err: ErrUnknownTransition}
	}
	rec, err := m.load(ctx, key, name, req.Version)
	if err != nil {
		return Record{}, err
	}
	return m.take(ctx, rec, t, req, TriggerManual)
}

// current returns the rank of a record's stage. A record written under
// another version of the definition can name a stage this one lacks: it is
// refused rather than read as the first stage.
func (m *Machine) current(rec Record, transition string) (int, error) {
	r, ok := m.rank[rec.Stage]
	if !ok {
		return 0, &TransitionError{Key: rec.Key, Transition: transition, From: rec.Stage,
			Msg: fmt.Sprintf("the record's stage %q is not in definition %q", rec.Stage, m.def.Name), Err: ErrNotAllowed}
	}
	return r, nil
}

// take checks and commits one transition. Automatic transitions arrive
// with their guard already evaluated by Advance.
func (m *Machine) take(ctx context.Context, rec Record, t *compiledTransition, req Request, trig Trigger) (Record, error) {
	from, err := m.current(rec, t.Name)
	if err != nil {
		return Record{}, err
	}
	terr := func(msg string, cond, cause error) error {
		return &TransitionError{Key: rec.Key, Transition: t.Name, From: rec.Stage, To: t.To, Msg: msg, Err: cond, Cause: cause}
	}
	if !t.from[from] {
		if t.ForwardOnly && m.fwd[t.to] <= m.fwd[from] {
			return Record{}, terr("forward-only transition would move back", ErrNotAllowed, nil)
		}
		return Record{}, terr("does not leave from the current stage", ErrNotAllowed, nil)
	}
	if t.reasons != nil && !t.reasons[req.Reason] {
		if req.Reason == "" {
			return Record{}, terr(fmt.Sprintf("needs a reason code, one of %v", t.Reasons), ErrNotAllowed, nil)
		}
		return Record{}, terr(fmt.Sprintf("reason %q is not one of %v", req.Reason, t.Reasons), ErrNotAllowed, nil)
	}
	if req.SubStatus != "" && !slices.Contains(m.def.Stages[t.to].SubStatuses, req.SubStatus) {
		return Record{}, terr(fmt.Sprintf("unknown sub-status %q", req.SubStatus), ErrNotAllowed, nil)
	}
	at, err := m.when(rec, req, t.Name, t.To)
	if err != nil {
		return Record{}, err
	}
	if t.guard != nil && trig != TriggerAuto {
		holds, err := m.evalGuard(t, req.Facts, at)
		if err != nil {
			return Record{}, terr("guard failed", ErrGuardFailed, err)
		}
		if !holds {
			return Record{}, terr(fmt.Sprintf("guard %q is false", t.guard), ErrGuardFailed, nil)
		}
	}
	e := Entry{
		Key: rec.Key, Version: rec.Version + 1, Transition: t.Name, From: rec.Stage, To: t.To,
		SubStatus: req.SubStatus, At: at, Actor: req.Actor, Reason: req.Reason, Note: req.Note, Trigger: trig,
	}
	c := Change{Entry: e, Facts: req.Facts}
	if err := m.runHooks(ctx, rec.Stage, t.To, c); err != nil {
		return Record{}, terr("hook refused", ErrVetoed, err)
	}
	next := Record{Key: rec.Key, Stage: t.To, SubStatus: req.SubStatus, EnteredAt: at, UpdatedAt: at, Version: e.Version}
	if err := m.store.Commit(ctx, next, e); err != nil {
		return Record{}, m.commitError(rec.Key, t.Name, rec.Stage, t.To, err)
	}
	m.committed(ctx, c)
	return next, nil
}

func (m *Machine) commitError(key Key, name, from, to string, err error) error {
	if errors.Is(err, leadkit.ErrConflict) {
		return &TransitionError{Key: key, Transition: name, From: from, To: to, Msg: "changed concurrently", Err: leadkit.ErrConflict, Cause: err}
	}
	return err
}

// runHooks runs the exit hooks of from (none on Start, when from is ""),
// then the entry hooks of to; the first error vetoes.
func (m *Machine) runHooks(ctx context.Context, from, to string, c Change) error {
	var lists [4][]HookFunc
	if from != "" {
		lists[0], lists[1] = m.opts.Hooks.Exit[from], m.opts.Hooks.Exit["*"]
	}
	lists[2], lists[3] = m.opts.Hooks.Enter[to], m.opts.Hooks.Enter["*"]
	for _, list := range lists {
		for _, h := range list {
			if err := h(ctx, c); err != nil {
				return err
			}
		}
	}
	return nil
}

func (m *Machine) committed(ctx context.Context, c Change) {
	if m.opts.OnCommit != nil {
		m.opts.OnCommit(ctx, c)
	}
}

func (m *Machine) evalGuard(t *compiledTransition, facts Facts, at time.Time) (bool, error) {
	ec, err := m.facts.env(facts, at)
	if err != nil {
		return false, err
	}
	defer m.facts.put(ec)
	return t.guard.holds(ec)
}

// Advance evaluates the automatic transitions that leave the subject's
// current stage, in definition order, and takes the first whose guard holds
// on facts (skipping forward-only ones that would move it back). It repeats
// from the new stage, so a lead whose score jumps can pass several automatic
// stages in one call; each step is its own history entry. It returns the
// final record and the number of steps taken.
//
// Guards read facts; req.Facts, req.Reason and req.SubStatus are ignored
// (automatic transitions take no reason and clear the sub-status). Advance
// never enters a stage twice in one call: when the next ready transition
// would (automatic transitions in a loop), or when Options.MaxAutoSteps
// steps were taken and another transition is still ready, it stops with a
// *TransitionError wrapping ErrNotAllowed. A guard that fails at run time is
// an error naming the transition. Steps already taken stay committed.
func (m *Machine) Advance(ctx context.Context, s Subject, facts Facts, req Request) (Record, int, error) {
	key := m.key(s)
	rec, err := m.load(ctx, key, "", req.Version)
	if err != nil {
		return rec, 0, err
	}
	req.Facts = facts
	req.Reason, req.SubStatus = "", ""
	at, err := m.when(rec, req, "", "")
	if err != nil {
		return rec, 0, err
	}
	ec, err := m.facts.env(facts, at)
	if err != nil {
		return rec, 0, &TransitionError{Key: rec.Key, From: rec.Stage, Msg: "bad facts", Err: ErrGuardFailed, Cause: err}
	}
	defer m.facts.put(ec)
	var visited []string
	for steps := 0; ; steps++ {
		t, err := m.nextAuto(rec, ec)
		if err != nil || t == nil {
			return rec, steps, err
		}
		visited = append(visited, rec.Stage)
		if slices.Contains(visited, t.To) {
			return rec, steps, &TransitionError{Key: rec.Key, Transition: t.Name, From: rec.Stage, To: t.To,
				Msg: fmt.Sprintf("automatic transitions loop: %s -> %s", strings.Join(visited, " -> "), t.To), Err: ErrNotAllowed}
		}
		if steps == m.maxSteps {
			return rec, steps, &TransitionError{Key: rec.Key, Transition: t.Name, From: rec.Stage, To: t.To,
				Msg: fmt.Sprintf("stopped after MaxAutoSteps (%d) automatic steps", m.maxSteps), Err: ErrNotAllowed}
		}
		next, err := m.take(ctx, rec, t, req, TriggerAuto)
		if err != nil {
			return rec, steps, err
		}
		rec = next
	}
}

// nextAuto returns the first automatic transition from rec's stage whose
// guard holds on env, or nil.
func (m *Machine) nextAuto(rec Record, ec *evalCtx) (*compiledTransition, error) {
	from, err := m.current(rec, "")
	if err != nil {
		return nil, err
	}
	for _, t := range m.auto[from] {
		ok, err := t.guard.holds(ec)
		if err != nil {
			return nil, &TransitionError{Key: rec.Key, Transition: t.Name, From: rec.Stage, To: t.To, Msg: "guard failed", Err: ErrGuardFailed, Cause: err}
		}
		if ok {
			return t, nil
		}
	}
	return nil, nil
}

// SetSubStatus changes the sub-status within the current stage (e.g. SAL:
// contacted -> meeting_set), recorded as a history entry with
// TriggerSubStatus. An empty status clears it. Setting the status the
// record already has writes nothing and returns the record.
func (m *Machine) SetSubStatus(ctx context.Context, s Subject, status string, req Request) (Record, error) {
	key := m.key(s)
	rec, err := m.load(ctx, key, "", req.Version)
	if err != nil {
		return Record{}, err
	}
	r, err := m.current(rec, "")
	if err != nil {
		return Record{}, err
	}
	if status != "" && !slices.Contains(m.def.Stages[r].SubStatuses, status) {
		return Record{}, &TransitionError{Key: key, From: rec.Stage, To: rec.Stage,
			Msg: fmt.Sprintf("stage has no sub-status %q", status), Err: ErrNotAllowed}
	}
	if status == rec.SubStatus {
		return rec, nil // nothing changes, nothing is written
	}
	at, err := m.when(rec, req, "", rec.Stage)
	if err != nil {
		return Record{}, err
	}
	e := Entry{Key: key, Version: rec.Version + 1, From: rec.Stage, To: rec.Stage, SubStatus: status, At: at,
		Actor: req.Actor, Reason: req.Reason, Note: req.Note, Trigger: TriggerSubStatus}
	next := rec
	next.SubStatus, next.UpdatedAt, next.Version = status, at, e.Version
	if err := m.store.Commit(ctx, next, e); err != nil {
		return Record{}, m.commitError(key, "", rec.Stage, rec.Stage, err)
	}
	m.committed(ctx, Change{Entry: e})
	return next, nil
}

// Explanation tells whether an automatic transition would fire and, if
// not, why.
type Explanation struct {
	Transition string `json:"transition"`
	To         string `json:"to"`
	// Ready is true when the guard holds: Advance would take it (if no
	// earlier transition is ready too).
	Ready bool `json:"ready"`
	// Blocked lists the parts of the guard that are false: the false parts of
	// an "and", every part of a false "or". When the guard fails to evaluate
	// it holds one clause, the whole guard, with the error.
	Blocked []Clause `json:"blocked,omitempty"`
}

// Explain answers "why not yet" for a subject in stage with these facts:
// for each automatic transition leaving stage, whether it is ready and which
// parts of its guard block it.
func (m *Machine) Explain(stage string, facts Facts) ([]Explanation, error) {
	from, ok := m.rank[stage]
	if !ok {
		return nil, fmt.Errorf("stage: explain: %w: unknown stage %q", leadkit.ErrInvalid, stage)
	}
	ec, err := m.facts.env(facts, m.stamp())
	if err != nil {
		return nil, fmt.Errorf("stage: explain: %w", err)
	}
	defer m.facts.put(ec)
	var out []Explanation
	for _, t := range m.auto[from] {
		ex := Explanation{Transition: t.Name, To: t.To}
		ex.Ready, ex.Blocked = t.guard.explain(m.facts, ec)
		out = append(out, ex)
	}
	return out, nil
}

// WhyNotYet is Explain for a subject's current stage.
func (m *Machine) WhyNotYet(ctx context.Context, s Subject, facts Facts) ([]Explanation, error) {
	rec, err := m.load(ctx, m.key(s), "", 0)
	if err != nil {
		return nil, err
	}
	return m.Explain(rec.Stage, facts)
}

// Rewind takes back the changes of subject s after version keep: the
// record returns to what it was after that entry, the later entries leave
// the history, and they are returned (oldest first). version is the
// version the caller last read: if the record moved on since, the result
// is an error wrapping leadkit.ErrConflict and nothing changes. keep 0
// removes the subject from the pipeline (Start may enter it again).
//
// Rewind is for systems that derive stage changes from data and must
// correct them when older data arrives (lifecycle's engine does, for the
// changes it made itself); a history is otherwise append-only. No hooks run
// and OnCommit is not called: the changes happened once and are taken
// back, and the caller reports that. Versions are reused: the next change
// after a rewind to keep has version keep+1, so that a corrected history
// reads exactly as if it had been recorded in order.
func (m *Machine) Rewind(ctx context.Context, s Subject, keep, version int64) (Record, []Entry, error) {
	key := m.key(s)
	if err := key.validate(); err != nil {
		return Record{}, nil, &TransitionError{Key: key, Msg: err.Error(), Err: leadkit.ErrInvalid}
	}
	if keep < 0 || keep >= version {
		return Record{}, nil, &TransitionError{Key: key, Msg: fmt.Sprintf("rewind to version %d from version %d (want 0 <= to < from)", keep, version), Err: leadkit.ErrInvalid}
	}
	h, err := m.store.History(ctx, key)
	if err != nil {
		return Record{}, nil, err
	}
	if n := len(h); n == 0 || h[n-1].Version != version {
		have := int64(0)
		if n > 0 {
			have = h[n-1].Version
		}
		return Record{}, nil, &TransitionError{Key: key, Msg: fmt.Sprintf("rewind: stale version %d, current is %d", version, have), Err: leadkit.ErrConflict}
	}
	rec := RecordAt(h, keep)
	rec.Key = key
	if err := m.store.Rewind(ctx, rec, version); err != nil {
		return Record{}, nil, m.commitError(key, "", "", "", err)
	}
	i, _ := slices.BinarySearchFunc(h, keep+1, func(e Entry, v int64) int { return cmp.Compare(e.Version, v) })
	return rec, h[i:], nil
}

// recordAfter is the record of key as it stood after the entry with version
// keep (the zero record with key for keep 0).
func recordAfter(key Key, h []Entry, keep int64) Record {
	rec := Record{Key: key}
	for _, e := range h {
		if e.Version > keep {
			break
		}
		if e.Trigger != TriggerSubStatus {
			rec.Stage, rec.EnteredAt = e.To, e.At
		}
		rec.SubStatus, rec.UpdatedAt, rec.Version = e.SubStatus, e.At, e.Version
	}
	return rec
}

// RecordAt is the record a history describes as of version (the zero
// Record for version 0 or an empty history): what Get returned right
// after that change. A sub-status change keeps the time the stage was
// entered; every other entry enters its stage.
func RecordAt(history []Entry, version int64) Record {
	if len(history) == 0 || version == 0 {
		return Record{}
	}
	return recordAfter(history[0].Key, history, version)
}
