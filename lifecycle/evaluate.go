package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/scoring"
	"github.com/leadkit/leadkit/stage"
)

// evaluator walks one lead's events in time order: it adds them to the
// score states and, at each evaluation point, reads the score, reports
// threshold crossings and advances the stage.
type evaluator struct {
	e   *Engine
	st  *LeadState
	rec stage.Record
	log *changeLog
	// prev are the thresholds reached at the previous evaluation;
	// crossings are reported at evaluation points at or after reportFrom
	// (earlier points were reported when they were first processed).
	prev       []string
	reportFrom time.Time
	*scratch
	// subject receives the problems that do not stop the lead: events
	// the model cannot score, guards failing at run time, vetoes.
	subject *subject
	// unchecked is set while rec, taken from the lead's state, has not
	// been checked against the stage store by an Advance.
	unchecked bool
	// pre follows the thresholds through the evaluations before reportFrom.
	pre []preStatus
	// rebuild is set when the evaluator reads the lead's whole history.
	rebuild bool
	// profile, when set, is the lead's profile as known at the time being
	// evaluated (a replay of events that update it); else st.Lead is.
	profile *profile
	// owned is set when st is the subject's buffer, which nothing else
	// refers to: a MemoryStore then keeps its memory instead of a copy.
	owned bool
}

// scratch is the reusable memory of an evaluation: reading a score into a
// used Result allocates nothing.
type scratch struct {
	full, since, mixed scoring.Result
	ev                 evaluator
	reached            [2][]string
	// facts is the stage facts map of the last Advance, reused while no
	// transition (nor its hooks) can have kept it; nil otherwise.
	facts stage.Facts
}

// newEvaluator returns an evaluator with scratch memory from the engine's
// pool; release returns it.
func (e *Engine) newEvaluator(st *LeadState, rec stage.Record, unchecked bool, log *changeLog, reportFrom time.Time) *evaluator {
	sc, _ := e.scratch.Get().(*scratch)
	if sc == nil {
		sc = &scratch{}
	}
	sc.ev = evaluator{e: e, st: st, rec: rec, log: log, prev: st.Reached, reportFrom: reportFrom, unchecked: unchecked, scratch: sc}
	return &sc.ev
}

func (v *evaluator) release() {
	sc, e := v.scratch, v.e
	sc.ev = evaluator{}
	e.scratch.Put(sc)
}

// add applies one event to the lead's score states. An event the model
// cannot score (an attribute of the wrong type for a rule) is reported
// and skipped: it never blocks the lead's other events.
func (v *evaluator) add(ev *leadkit.Event) error {
	sc := &v.st.Score
	same := ev.Time.Equal(sc.Updated)
	// An event that is not scored is not counted in Events either, so a
	// redelivery of it is never counted twice.
	if same && len(sc.LastIDs) >= scoring.MaxEvents {
		if !v.rebuild {
			return errRebuild
		}
		v.unscored(ev.ID)
		v.problem(ev.ID, fmt.Errorf("%w: more than %d events of the lead at one instant: not scored", leadkit.ErrInvalid, scoring.MaxEvents))
		return nil
	}
	before := len(sc.LastIDs)
	if err := v.e.model.Apply(sc, *ev); err != nil {
		if errors.Is(err, scoring.ErrOutOfOrder) {
			return err // a defect of the engine: events come in time order
		}
		if !v.rebuild {
			return errRebuild
		}
		v.unscored(ev.ID)
		v.problem(ev.ID, fmt.Errorf("not scored: %w", err))
		return nil
	}
	if same && len(sc.LastIDs) == before {
		return nil // applied before (Apply skips a redelivered event)
	}
	v.st.Events++
	v.st.Digest += idHash(ev.ID)
	if !v.st.SinceFrom.IsZero() && ev.Time.After(v.st.SinceFrom) {
		if err := v.e.model.Apply(&v.st.Since, *ev); err == nil && v.e.requal.touch(ev) {
			v.st.SinceTouches++
		}
	}
	return nil
}

// errRebuild stops the fast path at an event the model cannot score:
// such an event is counted (Unscored, Digest) by a rebuild only, which
// reads every stored event once, where the fast path could not tell a
// redelivery of it from a new one.
var errRebuild = errors.New("lifecycle: an unscorable event: rebuild")

// unscored counts an event the model cannot score, in a rebuild only (see
// errRebuild).
func (v *evaluator) unscored(id string) {
	if v.rebuild {
		v.st.Unscored++
		v.st.Digest += idHash(id)
	}
}

// idHash is an event ID's term in LeadState.Digest: 64-bit FNV-1a,
// finished with MurmurHash3's mixer. FNV-1a alone ends with a XOR and a
// multiplication by the last byte, so the sums of the hashes of IDs that
// differ in their last character cancel out ("e-4" + "e-2" can equal
// "e-7" + "e-3"); the mixer spreads every bit over the word.
func idHash(id string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(id); i++ {
		h ^= uint64(id[i])
		h *= 1099511628211
	}
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

// problem records an event's problem that does not stop the lead.
func (v *evaluator) problem(id string, err error) {
	if v.subject != nil {
		v.subject.eventErr(id, err)
	}
}

// lasting records a problem of the lead that does not stop it.
func (v *evaluator) lasting(err error) {
	if v.subject != nil {
		v.subject.errs = append(v.subject.errs, &LeadError{LeadID: v.st.LeadID, Err: err})
	}
}

// evaluate reads the score at t and advances the stage with its facts.
func (v *evaluator) evaluate(ctx context.Context, t time.Time, cause string) error {
	e := v.e
	lead := &v.st.Lead
	if v.profile != nil {
		lead = &v.profile.lead
	}
	if err := e.model.ReadState(&v.full, &v.st.Score, *lead, t); err != nil {
		v.lasting(fmt.Errorf("score at %s: %w", t.Format(time.RFC3339Nano), err))
		return nil
	}
	res := &v.full
	policy := e.requal.active(v.rec.Stage)
	if policy && len(e.requal.reset) > 0 {
		if err := e.model.ReadState(&v.since, &v.st.Since, *lead, t); err != nil {
			v.lasting(fmt.Errorf("score since the recycle at %s: %w", t.Format(time.RFC3339Nano), err))
			return nil
		}
		res = v.mix()
	}
	v.crossings(&v.full, t, cause) // the lead's score, whatever the policy reads
	if policy && e.requal.blocks(v.st.SinceFrom, v.st.SinceTouches, t) {
		return nil
	}
	if t.Before(v.rec.UpdatedAt) {
		return nil // a stage change after t stands (made by someone else): the event is Late
	}
	at := e.notAfterNow(t)
	if at.Before(v.rec.UpdatedAt) {
		at = v.rec.UpdatedAt
	}
	facts := v.facts
	if facts == nil {
		facts = make(stage.Facts, len(e.facts))
	}
	for _, f := range e.facts {
		facts[f.name] = res.Fact(f.ref) // every key, so nothing of the last use is left
	}
	rec, n, err := e.machine.Advance(ctx, stage.Lead(v.st.LeadID), facts, stage.Request{Actor: e.actor, At: at, Version: v.rec.Version})
	v.facts = nil
	if n == 0 && err == nil {
		// No transition was tried, so no hook saw the map: Advance read
		// it and kept nothing.
		v.facts = facts
	}
	v.unchecked = false
	if n > 0 {
		h, herr := e.machine.History(ctx, stage.Lead(v.st.LeadID))
		if herr != nil {
			// The lead's state is not written: the next call reads the
			// history and reports these changes (see recover).
			return herr
		}
		for i := range h {
			if h[i].Version > v.rec.Version && h[i].Version <= rec.Version {
				v.log.commit(Change{Kind: Staged, LeadID: v.st.LeadID, At: h[i].At, Cause: cause, Stage: &h[i]})
			}
		}
		v.entered(rec)
	}
	switch {
	case err == nil:
	case errors.Is(err, leadkit.ErrNotFound):
		// Another engine took the lead's start back and is starting it
		// again: decide again on what it leaves.
		return fmt.Errorf("stage record gone: %w", leadkit.ErrConflict)
	case errors.Is(err, leadkit.ErrInvalid) && n == 0 && v.moved(ctx):
		// Refused for the record as it is now, not as this attempt read
		// it (another engine started it again at another time, with the
		// same version): decide again on what it holds.
		return fmt.Errorf("stage record moved: %w", leadkit.ErrConflict)
	case errors.Is(err, stage.ErrVetoed) || errors.Is(err, stage.ErrGuardFailed) || errors.Is(err, leadkit.ErrInvalid) && !errors.Is(err, leadkit.ErrConflict):
		// A guard that failed at run time, a hook's veto, a definition
		// whose automatic transitions loop, a clock behind the events: the
		// problem lasts, so the lead stays (or stops where the chain
		// stopped) and its other events count.
		v.lasting(fmt.Errorf("advance at %s: %w", at.Format(time.RFC3339Nano), err))
	default:
		// A conflict (another writer moved the lead: the attempt starts
		// again) or a failure (a store, a clock): stop before the state
		// moves past this point, so that ingesting the events again
		// decides it again.
		return err
	}
	v.rec = rec
	return nil
}

// moved reports whether the lead's stored stage record differs from the
// one this attempt decides on (a failed read counts as moved: the attempt
// starts again).
func (v *evaluator) moved(ctx context.Context) bool {
	cur, err := v.e.machine.Get(ctx, stage.Lead(v.st.LeadID))
	return err != nil || cur != v.rec
}

// entered starts or ends the score since a recycle when the lead moved.
func (v *evaluator) entered(rec stage.Record) {
	if v.e.requal.active(rec.Stage) {
		v.st.Since, v.st.SinceFrom, v.st.SinceTouches = v.e.model.NewState(), rec.EnteredAt, 0
		return
	}
	v.st.Since, v.st.SinceFrom, v.st.SinceTouches = scoring.State{}, time.Time{}, 0
}

// mix returns the full score with the policy's reset dimensions (and the
// thresholds and matrix cell that read them) taken from the score since
// the recycle.
func (v *evaluator) mix() *scoring.Result {
	m := &v.mixed
	m.LeadID, m.AccountID, m.AsOf, m.Cell, m.Hits = v.full.LeadID, v.full.AccountID, v.full.AsOf, v.full.Cell, nil
	m.Dimensions = append(m.Dimensions[:0], v.full.Dimensions...)
	m.Thresholds = append(m.Thresholds[:0], v.full.Thresholds...)
	reset := map[string]bool{}
	for _, i := range v.e.requal.reset {
		m.Dimensions[i] = v.since.Dimensions[i]
		reset[m.Dimensions[i].Name] = true
	}
	for i, th := range m.Thresholds {
		if reset[th.Dimension] {
			m.Thresholds[i] = v.since.Thresholds[i]
		}
	}
	if mx := v.e.matrix; mx != nil && (reset[mx.Rows] || reset[mx.Columns]) {
		m.Cell = v.since.Cell
	}
	return m
}

// crossings reports the thresholds reached or left since the previous
// evaluation.
func (v *evaluator) crossings(res *scoring.Result, t time.Time, cause string) {
	if t.Before(v.reportFrom) {
		// Reported when first processed, so prev stays the stored status;
		// but note when each threshold's status last changed here, so a
		// change a late event made is reported at its time.
		if v.pre == nil {
			v.pre = make([]preStatus, len(res.Thresholds))
		}
		// The first of these evaluations is the baseline: what came before
		// it is not known here.
		for i, th := range res.Thresholds {
			if v.pre[i].known && th.Reached != v.pre[i].reached {
				d, _ := res.Dimension(th.Dimension)
				v.pre[i].changed, v.pre[i].cause, v.pre[i].score = t, cause, d.Score
			}
			v.pre[i].known, v.pre[i].reached = true, th.Reached
		}
		return
	}
	// Two buffers take turns holding the thresholds reached now and at
	// the previous evaluation.
	now := v.reached[0][:0]
	for _, th := range res.Thresholds {
		if th.Reached {
			now = append(now, th.Name)
		}
	}
	v.reached[0], v.reached[1] = v.reached[1], now
	for i, th := range res.Thresholds {
		if th.Reached == slices.Contains(v.prev, th.Name) {
			continue
		}
		d, _ := res.Dimension(th.Dimension)
		at, why, score := t, cause, d.Score
		if i < len(v.pre) && v.pre[i].known && v.pre[i].reached == th.Reached && !v.pre[i].changed.IsZero() {
			at, why, score = v.pre[i].changed, v.pre[i].cause, v.pre[i].score // a late event's doing
		}
		c := scoring.Crossing{Threshold: th.Name, Time: at, Up: th.Reached, Score: score}
		v.log.tentative(Change{Kind: Crossed, LeadID: v.st.LeadID, At: at, Cause: why, Crossing: &c})
	}
	v.pre = nil
	v.prev = now
}

// preStatus is a threshold's status at the evaluations before the ones
// that report (a rebuild's), and when it last changed there.
type preStatus struct {
	known, reached bool
	changed        time.Time
	cause          string
	score          float64
}

// save writes the lead's state; the errors of events and evaluations that
// were skipped come back with the store's.
func (v *evaluator) save(ctx context.Context) error {
	if v.unchecked {
		// No Advance checked the stage record the lead was decided on (the
		// policy held it, or every event came before its latest change).
		rec, err := v.e.machine.Get(ctx, stage.Lead(v.st.LeadID))
		if err != nil {
			return err
		}
		if rec.Version != v.rec.Version {
			return fmt.Errorf("stage record moved from version %d to %d: %w", v.rec.Version, rec.Version, leadkit.ErrConflict)
		}
	}
	v.st.Stage = v.rec
	v.st.Reached = nil
	if len(v.prev) > 0 {
		v.st.Reached = slices.Clone(v.prev)
	}
	v.st.Version++
	if ms, ok := v.e.states.(*MemoryStore); ok && v.owned {
		// The store keeps the buffer and hands back the replaced
		// version's memory as the subject's buffer, which nothing reads
		// before the next state read into it: the state is not copied.
		return ms.putOwned(ctx, v.subject.slot, &v.subject.buf)
	}
	return v.e.states.Put(ctx, *v.st)
}
