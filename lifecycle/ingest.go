package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/pool"
	"github.com/leadkit/leadkit/scoring"
	"github.com/leadkit/leadkit/stage"
)

// item is one accepted event of a call.
type item struct {
	index int
	ev    *leadkit.Event    // in call.norm
	obs   *pool.Observation // for prospects' events
}

// subject is the events of one subject in a call.
type subject struct {
	id    string
	items []item
	state *LeadState // read when resolving; nil when it has none
	buf   LeadState  // holds the state read
	known bool       // a lead or a prospect
	// reread makes the stage record be read from the stage store, not
	// taken from the state (after a conflict).
	reread bool
	log    changeLog
}

// Ingest stores events and moves their subjects along: see the package
// documentation for the flow. It returns what changed, in the order it
// happened per lead (leads in the order of their first event in the
// call). Refused events (invalid, unknown subject under UnknownRefuse,
// refused by Options.Observe) are *EventErrors; the others are processed
// whatever happens to them. A lead whose processing failed (a store
// down, a guard failing at run time) is a *LeadError; its events are
// stored first, so ingesting them again completes it. Changes are
// reported at least once: a call repeated after a failure may report a
// threshold crossing again, never a stage change or a graduation.
func (e *Engine) Ingest(ctx context.Context, events ...leadkit.Event) ([]Change, error) {
	if len(events) > MaxEventsPerCall {
		return nil, fmt.Errorf("lifecycle: ingest: %w: %d events, at most %d per call", leadkit.ErrInvalid, len(events), MaxEventsPerCall)
	}
	c := e.newCall()
	defer e.calls.Put(c)
	if cap(c.norm) < len(events) {
		c.norm = make([]leadkit.Event, 0, len(events)) // never grows below: items point into it
	}
	var errs []error
	for i, ev := range events {
		if err := ev.Validate(); err != nil {
			errs = append(errs, &EventError{Index: i, ID: ev.ID, Err: err})
			continue
		}
		if _, dup := c.seen[ev.ID]; dup {
			continue // repeated within the call: kept once, like a store does
		}
		c.seen[ev.ID] = struct{}{}
		ev.Time = ev.Time.UTC()
		c.norm = append(c.norm, ev)
		s := c.subs[ev.LeadID]
		if s == nil {
			s = c.subject(ev.LeadID)
		}
		s.items = append(s.items, item{index: i, ev: &c.norm[len(c.norm)-1]})
	}
	order := c.order
	refused := len(errs)
	for _, s := range order {
		if err := e.resolve(ctx, s); err != nil {
			for _, it := range s.items {
				errs = append(errs, &EventError{Index: it.index, ID: it.ev.ID, Err: err})
			}
			s.items = nil
			continue
		}
		kept := s.items[:0]
		for _, it := range s.items {
			if s.state == nil && e.pool != nil {
				obs, err := e.observation(*it.ev)
				if err != nil {
					errs = append(errs, &EventError{Index: it.index, ID: it.ev.ID, Err: err})
					continue
				}
				it.obs = obs
			}
			kept = append(kept, it)
		}
		s.items = kept
	}
	accepted := c.norm
	if len(errs) > refused {
		// Some subjects or observations were refused: store the others.
		accepted = c.accepted[:0]
		for _, s := range order {
			for _, it := range s.items {
				accepted = append(accepted, *it.ev)
			}
		}
		c.accepted = accepted
	}
	if err := e.store(ctx, accepted, &errs); err != nil {
		return nil, errors.Join(append(errs, err)...)
	}
	var changes []Change
	for _, s := range order {
		if len(s.items) == 0 {
			continue
		}
		slices.SortStableFunc(s.items, func(a, b item) int { return a.ev.Time.Compare(b.ev.Time) })
		cs, err := e.process(ctx, s)
		changes = append(changes, cs...)
		if err != nil {
			errs = append(errs, &LeadError{LeadID: s.id, Err: err})
		}
	}
	return changes, errors.Join(errs...)
}

// call is the reusable memory of an Ingest call.
type call struct {
	seen     map[string]struct{}
	subs     map[string]*subject
	order    []*subject
	free     []*subject
	norm     []leadkit.Event // the call's valid events, UTC, each ID once
	accepted []leadkit.Event
}

// newCall returns an empty call from the engine's pool.
func (e *Engine) newCall() *call {
	c, _ := e.calls.Get().(*call)
	if c == nil {
		return &call{seen: map[string]struct{}{}, subs: map[string]*subject{}}
	}
	clear(c.seen)
	clear(c.subs)
	for _, s := range c.order {
		// Drop what the last call read; the slices' old elements are
		// overwritten by this call.
		*s = subject{items: s.items[:0], log: changeLog{changes: s.log.changes[:0], committed: s.log.committed[:0]}}
		c.free = append(c.free, s)
	}
	c.order = c.order[:0]
	c.accepted = c.accepted[:0]
	c.norm = c.norm[:0]
	return c
}

// subject returns a new subject of the call.
func (c *call) subject(id string) *subject {
	var s *subject
	if n := len(c.free); n > 0 {
		s, c.free = c.free[n-1], c.free[:n-1]
	} else {
		s = &subject{}
	}
	s.id = id
	c.subs[id] = s
	c.order = append(c.order, s)
	return s
}

// resolve reads what the engine knows of a subject and applies the
// unknown-subject option.
func (e *Engine) resolve(ctx context.Context, s *subject) error {
	var err error
	s.buf, err = e.states.Get(ctx, s.id)
	switch {
	case err == nil:
		s.state, s.known = &s.buf, true
		return nil
	case !errors.Is(err, leadkit.ErrNotFound):
		return err
	}
	if e.pool != nil {
		found, err := e.pool.Store().Find(ctx, []string{subjectKey(s.id)})
		if err != nil {
			return err
		}
		s.known = len(found) > 0
	}
	if !s.known && e.unknown == UnknownRefuse {
		return fmt.Errorf("%w: unknown subject %q (Options.Unknown is %q)", leadkit.ErrInvalid, clip(s.id), UnknownRefuse)
	}
	return nil
}

// subjectKey is the pool identity key of a subject.
func subjectKey(id string) string {
	k, _ := pool.Identity{Kind: pool.Subject, Value: id}.Key()
	return k
}

// observation is the pool observation of a prospect's event.
func (e *Engine) observation(ev leadkit.Event) (*pool.Observation, error) {
	obs := &pool.Observation{
		ID: ev.ID, At: ev.Time, Touch: true,
		Identities: []pool.Identity{{Kind: pool.Subject, Value: ev.LeadID}},
		Source:     pool.Source{Channel: ev.Channel, Campaign: ev.Campaign},
	}
	if e.observe != nil {
		if err := e.observe(ev, obs); err != nil {
			return nil, fmt.Errorf("%w: Options.Observe: %w", leadkit.ErrInvalid, err)
		}
		if obs.ID != ev.ID || len(obs.Identities) == 0 || obs.Identities[0] != (pool.Identity{Kind: pool.Subject, Value: ev.LeadID}) {
			return nil, fmt.Errorf("%w: Options.Observe changed the observation's ID or its subject identity", leadkit.ErrInvalid)
		}
	}
	return obs, nil
}

// store appends the accepted events; a bad one (which the store refuses
// though it passed validation) is found by appending one at a time, so it
// costs none of the others.
func (e *Engine) store(ctx context.Context, evs []leadkit.Event, errs *[]error) error {
	if len(evs) == 0 {
		return nil
	}
	_, err := e.events.Append(ctx, evs...)
	if err == nil || !errors.Is(err, leadkit.ErrInvalid) {
		return err
	}
	for _, ev := range evs {
		if _, err := e.events.Append(ctx, ev); err != nil {
			if !errors.Is(err, leadkit.ErrInvalid) {
				return err
			}
			*errs = append(*errs, &EventError{Index: -1, ID: ev.ID, Err: err})
		}
	}
	return nil
}

// process applies one subject's events, retrying on conflicts with other
// writers. Changes reported by a failed attempt that did commit (a stage
// change, a graduation) are kept.
func (e *Engine) process(ctx context.Context, s *subject) ([]Change, error) {
	out := &s.log
	for attempt := range maxRetries {
		if attempt > 0 {
			s.state, s.reread = nil, true
			var err error
			s.buf, err = e.states.Get(ctx, s.id)
			switch {
			case err == nil:
				s.state = &s.buf
			case !errors.Is(err, leadkit.ErrNotFound):
				return out.final(), err
			}
		}
		out.startAttempt()
		err := e.processOnce(ctx, s, out)
		if errors.Is(err, leadkit.ErrConflict) {
			continue
		}
		res := out.final()
		if e.notify != nil {
			for _, c := range res {
				e.notify(ctx, c)
			}
		}
		return res, err
	}
	return out.final(), fmt.Errorf("%w: still conflicting after %d attempts", leadkit.ErrConflict, maxRetries)
}

// changeLog collects a lead's changes over attempts, in the order they
// happened: committed ones (graduations, stage changes) stay, the others
// belong to the attempt that found them.
type changeLog struct {
	changes   []Change
	committed []bool
}

// startAttempt drops the changes of the previous attempt that were not
// committed.
func (l *changeLog) startAttempt() {
	keep, kc := l.changes[:0], l.committed[:0]
	for i, c := range l.changes {
		if l.committed[i] {
			keep, kc = append(keep, c), append(kc, true)
		}
	}
	l.changes, l.committed = keep, kc
}

func (l *changeLog) commit(c Change) {
	l.changes, l.committed = append(l.changes, c), append(l.committed, true)
}
func (l *changeLog) tentative(c Change) {
	l.changes, l.committed = append(l.changes, c), append(l.committed, false)
}

// final is every change, in time order and, at one time, in the order
// found.
func (l *changeLog) final() []Change {
	out := slices.Clone(l.changes)
	slices.SortStableFunc(out, func(a, b Change) int { return a.At.Compare(b.At) })
	return out
}

// processOnce is one attempt at a subject's events.
func (e *Engine) processOnce(ctx context.Context, s *subject, log *changeLog) error {
	if s.state == nil {
		return e.admit(ctx, s, log)
	}
	st := s.state
	var rec stage.Record
	var err error
	known := st.Stage.Version > 0 && !s.reread
	if known {
		rec = st.Stage // checked by Advance's version, or in save
	} else {
		rec, err = e.machine.Get(ctx, stage.Lead(s.id))
	}
	if errors.Is(err, leadkit.ErrNotFound) {
		// The lead's state exists but its stage record does not (removed
		// from the stage store): start it again at its creation.
		rec, err = e.start(ctx, st.Lead, st.Lead.CreatedAt, nil, "", log)
	}
	if err != nil {
		return err
	}
	cursor := st.Score.Updated
	rebuild := st.Score.Model != e.model.Fingerprint() || e.requal.active(rec.Stage) != !st.SinceFrom.IsZero() ||
		(e.requal.active(rec.Stage) && !st.SinceFrom.Equal(rec.EnteredAt))
	from := s.items[0].ev.Time
	if from.Before(cursor) {
		rebuild = true
	}
	if rebuild {
		return e.replay(ctx, st, rec, known, from, s.items, log)
	}
	return e.apply(ctx, st, rec, known, s.items, log)
}

// admit handles a subject that is not a lead yet: its events update its
// prospect, which may graduate; a graduated prospect becomes a lead,
// started in the stage machine at the graduation time and scored on its
// whole history.
func (e *Engine) admit(ctx context.Context, s *subject, log *changeLog) error {
	var g pool.Graduation
	if e.pool == nil {
		at := s.items[0].ev.Time
		g = pool.Graduation{LeadID: s.id, At: at, Lead: leadkit.Lead{ID: s.id, CreatedAt: at, Source: s.items[0].ev.Channel}}
	} else {
		var ok bool
		var err error
		if g, ok, err = e.graduate(ctx, s); err != nil || !ok {
			return err
		}
	}
	rec, err := e.start(ctx, g.Lead, g.At, &g, causeAt(s.items, g.At), log)
	if err != nil {
		return err
	}
	st := &LeadState{LeadID: s.id, Lead: g.Lead, Score: e.model.NewState()}
	return e.replay(ctx, st, rec, false, g.At, s.items, log)
}

// causeAt is the ID of the last event at or before t, else the first.
func causeAt(items []item, t time.Time) string {
	id := items[0].ev.ID
	for _, it := range items {
		if it.ev.Time.After(t) {
			break
		}
		id = it.ev.ID
	}
	return id
}

// graduate records a prospect's events in the pool and qualifies it at
// the time of each of its events from the earliest of the call on, in
// time order, so that it graduates at the first event after which the
// lead definition holds, whatever the order the events came in.
func (e *Engine) graduate(ctx context.Context, s *subject) (pool.Graduation, bool, error) {
	var pr pool.Prospect
	var errs []error
	for _, it := range s.items {
		p, _, err := e.pool.Upsert(ctx, *it.obs)
		if err != nil {
			if !errors.Is(err, leadkit.ErrInvalid) {
				// The pool is unavailable: qualifying without this touch
				// could graduate the prospect at the wrong time.
				return pool.Graduation{}, false, err
			}
			errs = append(errs, fmt.Errorf("event %q: %w", clip(it.ev.ID), err))
			continue
		}
		pr = p
	}
	if pr.ID == "" {
		found, err := e.pool.Store().Find(ctx, []string{subjectKey(s.id)})
		if err != nil || len(found) == 0 {
			return pool.Graduation{}, false, errors.Join(append(errs, err)...)
		}
		pr = found[0]
	}
	if pr.Status == pool.StatusGraduated {
		// Graduated before (by another engine, by a crashed call, by
		// QualifyAll): take it from the prospect.
		at := pr.GraduatedAt
		return pool.Graduation{ProspectID: pr.ID, LeadID: pr.LeadID, At: at, Lead: pr.Lead(pr.LeadID, at)}, true, errors.Join(errs...)
	}
	times, err := e.candidates(ctx, s.id, pr, s.items[0].ev.Time)
	if err != nil {
		return pool.Graduation{}, false, errors.Join(append(errs, err)...)
	}
	for _, t := range times {
		g, ok, err := e.pool.Qualify(ctx, pr.ID, t)
		if err != nil {
			return pool.Graduation{}, false, errors.Join(append(errs, err)...)
		}
		if ok {
			if g.LeadID != s.id {
				return pool.Graduation{}, false, fmt.Errorf("%w: the pool graduated subject %q into lead %q", leadkit.ErrInvalid, clip(s.id), clip(g.LeadID))
			}
			return g, true, errors.Join(errs...)
		}
	}
	return pool.Graduation{}, false, errors.Join(errs...)
}

// candidates lists the times a prospect may graduate at from `from` on:
// the distinct times of its events, ascending. Every event of a prospect
// is a touch of the pool, so they are the prospect's touch times, unless
// the pool's cap on kept touches cut some: then they are read from the
// journey store.
func (e *Engine) candidates(ctx context.Context, id string, pr pool.Prospect, from time.Time) ([]time.Time, error) {
	i, _ := slices.BinarySearchFunc(pr.Touches, from, func(a, b time.Time) int { return a.Compare(b) })
	if len(pr.Touches) < pool.MaxTouches || i > 0 {
		var out []time.Time
		for _, t := range pr.Touches[i:] {
			if n := len(out); n == 0 || !out[n-1].Equal(t) {
				out = append(out, t)
			}
		}
		return out, nil
	}
	evs, err := e.events.Events(ctx, id, from, time.Time{})
	if err != nil {
		return nil, err
	}
	var out []time.Time
	for _, ev := range evs {
		if n := len(out); n == 0 || !out[n-1].Equal(ev.Time) {
			out = append(out, ev.Time)
		}
	}
	return out, nil
}

// start puts a new lead in the stage machine at at (not after now); a
// lead already started (by another engine, or before a crash) is read.
// The start is reported as a graduation when g is set.
func (e *Engine) start(ctx context.Context, lead leadkit.Lead, at time.Time, g *pool.Graduation, cause string, log *changeLog) (stage.Record, error) {
	at = e.notAfterNow(at)
	rec, err := e.machine.Start(ctx, stage.Lead(lead.ID), stage.StartOptions{At: at, Actor: e.actor})
	switch {
	case err == nil:
		if g != nil {
			h, herr := e.machine.History(ctx, stage.Lead(lead.ID))
			c := Change{Kind: Graduated, LeadID: lead.ID, At: at, Cause: cause, Graduation: g}
			if herr == nil && len(h) > 0 {
				c.Stage = &h[0]
			}
			log.commit(c)
		}
		return rec, nil
	case errors.Is(err, leadkit.ErrConflict):
		return e.machine.Get(ctx, stage.Lead(lead.ID))
	}
	return stage.Record{}, err
}

func (e *Engine) notAfterNow(t time.Time) time.Time {
	if now := e.now().UTC(); t.After(now) {
		return now
	}
	return t
}

// apply is the fast path: every event is at or after the lead's last
// applied one. They are added to the score state, and the stage is
// advanced at each of their times.
func (e *Engine) apply(ctx context.Context, st *LeadState, rec stage.Record, unchecked bool, items []item, log *changeLog) error {
	ev := e.newEvaluator(st, rec, unchecked, log, st.Score.Updated)
	defer ev.release()
	for i := 0; i < len(items); {
		t := items[i].ev.Time
		cause := ""
		for ; i < len(items) && items[i].ev.Time.Equal(t); i++ {
			if err := ev.add(items[i].ev); err != nil {
				return err
			}
			cause = items[i].ev.ID
		}
		if err := ev.evaluate(ctx, t, cause); err != nil {
			return err
		}
	}
	return ev.save(ctx)
}

// replay rebuilds the lead's score state from its stored history and
// advances the stage at the time of each stored event from `from` on
// (but not before the latest stage change, which is never rewritten).
func (e *Engine) replay(ctx context.Context, st *LeadState, rec stage.Record, unchecked bool, from time.Time, items []item, log *changeLog) error {
	evs, err := e.events.Events(ctx, st.LeadID, time.Time{}, time.Time{})
	if err != nil {
		return err
	}
	oldCursor := st.Score.Updated
	fresh := *st
	fresh.Score, fresh.Events = e.model.NewState(), 0
	fresh.Since, fresh.SinceFrom, fresh.SinceTouches = scoring.State{}, time.Time{}, 0
	if e.requal.active(rec.Stage) {
		fresh.SinceFrom = rec.EnteredAt
		fresh.Since = e.model.NewState()
	}
	ev := e.newEvaluator(&fresh, rec, unchecked, log, oldCursor)
	defer ev.release()
	evalFrom := from
	if evalFrom.Before(rec.UpdatedAt) {
		evalFrom = rec.UpdatedAt
	}
	for i := 0; i < len(evs); {
		t := evs[i].Time
		cause := ""
		for ; i < len(evs) && evs[i].Time.Equal(t); i++ {
			if err := ev.add(&evs[i]); err != nil {
				return err
			}
			cause = evs[i].ID
		}
		if !t.Before(evalFrom) {
			if err := ev.evaluate(ctx, t, cause); err != nil {
				return err
			}
		}
	}
	if known := st.Events; st.Version > 0 && fresh.Events > known && from.Before(rec.UpdatedAt) {
		// Events the state had not counted came, older than the latest
		// stage change: report the earliest of the call.
		for _, it := range items {
			if it.ev.Time.Before(rec.UpdatedAt) {
				log.tentative(Change{Kind: Late, LeadID: st.LeadID, At: it.ev.Time, Cause: it.ev.ID})
				break
			}
		}
	}
	return ev.save(ctx)
}
