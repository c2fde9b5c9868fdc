package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
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
	// buf holds the state read; allocated once per subject of the
	// call's pool, it keeps its memory from call to call. slot is where a
	// MemoryStore keeps the lead's state (nil: none, or another store).
	buf   *LeadState
	slot  *memSlot
	known bool // a lead or a prospect (looked up under UnknownRefuse only)
	// reread makes the stage record be read from the stage store, not
	// taken from the state (after a conflict).
	reread bool
	// verify makes the events be checked against the journey store before
	// they count (the call's append kept fewer than it was given).
	verify bool
	// rebuild sends the subject's next attempt through a rebuild (the
	// fast path met an event the model cannot score); full makes it
	// decide the lead again from its first event.
	rebuild, full bool
	// prospect is the prospect a new lead graduated from, as the pool
	// held it then; adopted is set when another call or engine graduated
	// it, on what the pool knew then.
	prospect *pool.Prospect
	adopted  bool
	log      changeLog
	// errs are the problems of single events and the lasting problems of
	// the lead found while processing it; they do not stop it.
	errs []error
}

// eventErr records a problem of one event: an *EventError with its index
// when the event is one of the call's, else a lasting problem of the lead.
func (s *subject) eventErr(id string, err error) {
	for _, it := range s.items {
		if it.ev.ID == id {
			s.errs = append(s.errs, &EventError{Index: it.index, ID: id, Err: err})
			return
		}
	}
	s.errs = append(s.errs, &LeadError{LeadID: s.id, Err: fmt.Errorf("stored event %q: %w", clip(id), err)})
}

// Ingest stores events and moves their subjects along: see the package
// documentation for the flow. It returns what changed, in time order per
// lead (leads in the order of their first event in the call).
//
// Errors: an event that cannot count (invalid, for an unknown subject
// under UnknownRefuse, refused by Options.Observe or by the pool, an ID
// already used with other content, one the model cannot score) is an
// *EventError with its index and ID; the call's other events count
// whatever happens to it. A lead whose processing stopped is a
// *LeadError: with Retry set (a store failed, or other writers kept
// winning) its events are stored and ingesting them again completes it;
// without, the problem lasts (a guard failing at run time, a hook's veto)
// and the lead went on without that step. The errors come joined.
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
		ev.Time = ev.Time.UTC().Truncate(leadkit.TimePrecision) // as every store keeps it
		if j, dup := c.seen[ev.ID]; dup {
			// Repeated within the call: kept once, like a store does; a
			// repeat with other content cannot be the same event.
			if !sameEvent(c.norm[j], ev) {
				errs = append(errs, &EventError{Index: i, ID: ev.ID, Err: fmt.Errorf("%w: event ID used earlier in the call for other content", leadkit.ErrInvalid)})
			}
			continue
		}
		c.seen[ev.ID] = len(c.norm)
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
			if errors.Is(err, leadkit.ErrInvalid) {
				for _, it := range s.items {
					errs = append(errs, &EventError{Index: it.index, ID: it.ev.ID, Err: err})
				}
			} else {
				errs = append(errs, &LeadError{LeadID: s.id, Err: fmt.Errorf("not stored: %w", err), Retry: true})
			}
			s.items = nil
			continue
		}
		if e.pool == nil && s.state == nil && e.observe == nil {
			continue
		}
		kept := s.items[:0]
		for _, it := range s.items {
			if s.state == nil && e.pool != nil || e.observe != nil {
				obs, err := e.observation(ctx, *it.ev)
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
	added, err := e.store(ctx, c, accepted, &errs)
	if err != nil {
		return nil, errors.Join(append(errs, &LeadError{Err: fmt.Errorf("events not stored: %w", err), Retry: true})...)
	}
	verify := added < len(accepted) // replays, refused events or IDs taken: the store says what counts
	var changes []Change
	for _, s := range order {
		if len(s.items) == 0 {
			continue
		}
		s.verify = verify
		slices.SortStableFunc(s.items, func(a, b item) int { return a.ev.Time.Compare(b.ev.Time) })
		cs, err := e.process(ctx, s)
		changes = append(changes, cs...)
		errs = append(errs, s.errs...)
		if err != nil {
			errs = append(errs, &LeadError{LeadID: s.id, Err: err, Retry: !errors.Is(err, leadkit.ErrInvalid)})
		}
	}
	return changes, errors.Join(errs...)
}

// sameEvent reports whether two events with one ID have the same content.
func sameEvent(a, b leadkit.Event) bool {
	return a.LeadID == b.LeadID && a.Type == b.Type && a.Channel == b.Channel && a.Campaign == b.Campaign &&
		a.Content == b.Content && a.Time.Equal(b.Time) && reflect.DeepEqual(leadkit.NormalizeAttrs(a.Attrs), leadkit.NormalizeAttrs(b.Attrs))
}

// call is the reusable memory of an Ingest call.
type call struct {
	seen     map[string]int // event ID -> index in norm
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
		return &call{seen: map[string]int{}, subs: map[string]*subject{}}
	}
	clear(c.seen)
	clear(c.subs)
	for _, s := range c.order {
		// Drop what the last call read; the slices' old elements are
		// overwritten by this call, and buf's memory by the next state
		// read into it.
		*s = subject{items: s.items[:0], buf: s.buf, log: changeLog{changes: s.log.changes[:0], committed: s.log.committed[:0]}, errs: s.errs[:0]}
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
	ok, err := e.readState(ctx, s)
	switch {
	case err != nil:
		return err
	case ok:
		s.state, s.known = s.buf, true
		return nil
	}
	if e.unknown != UnknownRefuse {
		return nil // a prospect, or one made of its events
	}
	if e.pool != nil {
		found, err := e.pool.Store().Find(ctx, []string{subjectKey(s.id)})
		if err != nil {
			return err
		}
		s.known = len(found) > 0
	}
	if !s.known {
		return fmt.Errorf("%w: unknown subject %q (Options.Unknown is %q)", leadkit.ErrInvalid, clip(s.id), UnknownRefuse)
	}
	return nil
}

// readState reads the subject's state into s.buf and reports whether it
// has one. A MemoryStore copies it into the buffer's memory, which the
// call's subjects keep from call to call; other stores' Get allocates.
func (e *Engine) readState(ctx context.Context, s *subject) (bool, error) {
	if s.buf == nil {
		s.buf = &LeadState{}
	}
	if ms, ok := e.states.(*MemoryStore); ok {
		sl, err := ms.getInto(ctx, s.id, s.buf)
		s.slot = sl
		return sl != nil, err
	}
	st, err := e.states.Get(ctx, s.id)
	switch {
	case err == nil:
		*s.buf = st
		return true, nil
	case errors.Is(err, leadkit.ErrNotFound):
		return false, nil
	}
	return false, err
}

// subjectKey is the pool identity key of a subject.
func subjectKey(id string) string {
	k, _ := pool.Identity{Kind: pool.Subject, Value: id}.Key()
	return k
}

// observation is the pool observation of a prospect's event.
func (e *Engine) observation(ctx context.Context, ev leadkit.Event) (*pool.Observation, error) {
	obs := &pool.Observation{
		ID: ev.ID, At: ev.Time, Touch: true,
		Identities: []pool.Identity{{Kind: pool.Subject, Value: ev.LeadID}},
		Source:     pool.Source{Channel: ev.Channel, Campaign: ev.Campaign},
	}
	if e.observe != nil {
		if err := e.observe(ctx, ev, obs); err != nil {
			return nil, fmt.Errorf("%w: Options.Observe: %w", leadkit.ErrInvalid, err)
		}
		if obs.ID != ev.ID || len(obs.Identities) == 0 || obs.Identities[0] != (pool.Identity{Kind: pool.Subject, Value: ev.LeadID}) {
			return nil, fmt.Errorf("%w: Options.Observe changed the observation's ID or its subject identity", leadkit.ErrInvalid)
		}
	}
	return obs, nil
}

// store appends the accepted events and returns how many were new. A bad
// one (which the store refuses though it passed validation) is found by
// appending one at a time, so it costs none of the others; it is dropped
// from its subject.
func (e *Engine) store(ctx context.Context, c *call, evs []leadkit.Event, errs *[]error) (int, error) {
	if len(evs) == 0 {
		return 0, nil
	}
	added, err := e.events.Append(ctx, evs...)
	if err == nil || !errors.Is(err, leadkit.ErrInvalid) {
		return added, err
	}
	added = 0
	bad := map[string]error{}
	for _, ev := range evs {
		n, err := e.events.Append(ctx, ev)
		switch {
		case err == nil:
			added += n
		case errors.Is(err, leadkit.ErrInvalid):
			bad[ev.ID] = err
		default:
			return added, err
		}
	}
	for _, s := range c.order {
		kept := s.items[:0]
		for _, it := range s.items {
			if err, ok := bad[it.ev.ID]; ok {
				*errs = append(*errs, &EventError{Index: it.index, ID: it.ev.ID, Err: err})
				continue
			}
			kept = append(kept, it)
		}
		s.items = kept
	}
	return added, nil
}

// verifyItems checks the subject's events against the journey store:
// one whose ID the store holds for another subject, or with other
// content, or not at all, does not count (an *EventError); the stored
// event is the one that counts.
func (e *Engine) verifyItems(ctx context.Context, s *subject) error {
	stored, err := e.events.Events(ctx, s.id, time.Time{}, time.Time{})
	if err != nil {
		return err
	}
	byID := make(map[string]*leadkit.Event, len(stored))
	for i := range stored {
		byID[stored[i].ID] = &stored[i]
	}
	kept := s.items[:0]
	for _, it := range s.items {
		x, ok := byID[it.ev.ID]
		switch {
		case !ok:
			s.errs = append(s.errs, &EventError{Index: it.index, ID: it.ev.ID, Err: fmt.Errorf("%w: event ID stored before for another subject: not counted", leadkit.ErrInvalid)})
			continue
		case !sameEvent(*x, *it.ev):
			s.errs = append(s.errs, &EventError{Index: it.index, ID: it.ev.ID, Err: fmt.Errorf("%w: event ID stored before with other content: the stored event counts", leadkit.ErrInvalid)})
			it.ev = x
		}
		kept = append(kept, it)
	}
	s.items = kept
	slices.SortStableFunc(s.items, func(a, b item) int { return a.ev.Time.Compare(b.ev.Time) })
	return nil
}

// process applies one subject's events, retrying on conflicts with other
// writers. Changes reported by a failed attempt that did commit (a stage
// change, a graduation) are kept.
func (e *Engine) process(ctx context.Context, s *subject) (res []Change, err error) {
	out := &s.log
	defer func() {
		res = out.final()
		if e.notify != nil {
			for _, c := range res {
				e.notify(ctx, c)
			}
		}
	}()
	if s.verify {
		if err := e.verifyItems(ctx, s); err != nil {
			return nil, err
		}
		if len(s.items) == 0 {
			return nil, nil
		}
	}
	base := len(s.errs) // the problems found before the attempts
	for attempt := range maxRetries {
		s.errs = s.errs[:base]
		if attempt > 0 {
			if err := backoff(ctx, attempt); err != nil {
				return nil, err
			}
			s.state, s.reread = nil, true
			ok, err := e.readState(ctx, s)
			if err != nil {
				return nil, err
			}
			if ok {
				s.state = s.buf
			}
		}
		out.startAttempt()
		wrote := len(out.changes)
		err := e.processOnce(ctx, s, out)
		if errors.Is(err, errRebuild) {
			// Stage changes the fast path committed before are kept and
			// read again.
			s.rebuild = true
			continue
		}
		if errors.Is(err, leadkit.ErrConflict) || errors.Is(err, leadkit.ErrNotFound) {
			// Another writer moved the lead, or took its start back while
			// this attempt read it (see rewind): read the stores again.
			// An attempt that changed stages on what it had read, and lost
			// the race to write the lead's state, may have acted on a view
			// another engine had changed meanwhile (a start taken back and
			// made again has the same version): the next attempt decides
			// the lead again from its first event.
			if len(out.changes) > wrote {
				s.full = true
			}
			continue
		}
		return nil, err
	}
	return nil, fmt.Errorf("%w: still conflicting after %d attempts", leadkit.ErrConflict, maxRetries)
}

// backoff waits before attempt (the second on), a random time up to
// 50µs x 2^attempt (at most about 50ms), so that engines that keep moving
// the same lead do not keep colliding in step. The first retry does not
// wait.
func backoff(ctx context.Context, attempt int) error {
	if attempt < 2 {
		return nil
	}
	d := time.Duration(rand.Int64N(int64(50*time.Microsecond) << min(attempt, 10)))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
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

// final is every change: revocations first (latest first, the order
// they are undone in), then the others in time order; at one time a graduation comes first, then crossings, then the
// stage changes they led to, then late events, each kind in the order
// found. A revoked entry that was committed again as it was (the late
// event changed nothing about it) is reported neither way.
func (l *changeLog) final() []Change {
	out := slices.Clone(l.changes)
	for i := range out {
		if out[i].Kind != Revoked {
			continue
		}
		for j := range out {
			if (out[j].Kind == Staged || out[j].Kind == Graduated) && sameEntry(out[i].Stage, out[j].Stage) {
				out[i].Kind, out[j].Kind = "", ""
				break
			}
		}
	}
	out = slices.DeleteFunc(out, func(c Change) bool { return c.Kind == "" })
	slices.SortStableFunc(out, func(a, b Change) int {
		if ra, rb := a.Kind == Revoked, b.Kind == Revoked; ra != rb {
			if ra {
				return -1
			}
			return 1
		} else if ra {
			return int(b.Stage.Version - a.Stage.Version) // latest first, as undone
		}
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		return a.Kind.rank() - b.Kind.rank()
	})
	return out
}

// sameEntry reports whether two history entries record the same change.
func sameEntry(a, b *stage.Entry) bool {
	if a == nil || b == nil {
		return false
	}
	x, y := *a, *b
	x.At, y.At = time.Time{}, time.Time{}
	return x == y && a.At.Equal(b.At)
}

// rank orders the kinds of changes that happen at one time.
func (k ChangeKind) rank() int {
	switch k {
	case Graduated:
		return 0
	case Crossed:
		return 1
	case Staged:
		return 2
	}
	return 3
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
	if errors.Is(err, leadkit.ErrNotFound) && st.Stage.Version > 0 && !s.reread {
		// Another engine may be starting the lead again at an earlier time
		// (see rewind), which its state, read again, says.
		return fmt.Errorf("stage record gone: %w", leadkit.ErrConflict)
	}
	if errors.Is(err, leadkit.ErrNotFound) {
		// The lead's state exists but its stage record does not (a start
		// taken back, or removed from the stage store): start it again at
		// its creation.
		var g *pool.Graduation
		if !st.Imported {
			g = &pool.Graduation{LeadID: st.LeadID, At: st.Lead.CreatedAt, Lead: st.Lead.Clone()}
		}
		rec, err = e.start(ctx, st.Lead, st.Lead.CreatedAt, "", g, "", log)
	}
	if err != nil {
		return err
	}
	if !known && rec.Version > st.Stage.Version {
		// Changes the engine made after the state was last written (by a
		// call that failed before writing it) were perhaps never reported;
		// from version 0 (a start taken back, see rewind), the start too.
		if err := e.recover(ctx, s.id, st, st.Stage.Version, rec.Version, log); err != nil {
			return err
		}
	}
	cursor := st.Score.Updated
	rebuild := st.Score.Model != e.model.Fingerprint() || e.requal.active(rec.Stage) != !st.SinceFrom.IsZero() ||
		(e.requal.active(rec.Stage) && !st.SinceFrom.Equal(rec.EnteredAt))
	from := s.items[0].ev.Time
	// Late: older than the lead's latest applied event, or at (or, clamped
	// to the clock, before) its latest stage change.
	late := from.Before(cursor) || !e.notAfterNow(from).After(rec.UpdatedAt) || !st.Pending.IsZero()
	if rebuild || late || s.rebuild || s.full {
		return e.replay(ctx, st, rec, known, from, !rebuild && !s.rebuild && !s.full, s, log)
	}
	return e.apply(ctx, st, rec, known, s, log)
}

// admit handles a subject that is not a lead yet: its events update its
// prospect, which may graduate; a graduated prospect becomes a lead,
// started in the stage machine at the graduation time (not after now)
// and scored on its whole history.
func (e *Engine) admit(ctx context.Context, s *subject, log *changeLog) error {
	var g pool.Graduation
	var pr pool.Prospect
	if e.pool == nil {
		at := s.items[0].ev.Time
		g = pool.Graduation{LeadID: s.id, At: at, Lead: leadkit.Lead{ID: s.id, CreatedAt: at, Source: s.items[0].ev.Channel}}
	} else {
		var ok bool
		var err error
		if g, pr, ok, err = e.graduate(ctx, e.pool, s); err != nil || !ok {
			return err
		}
	}
	return e.create(ctx, s, g, pr, "", false, log)
}

// create starts a lead in the stage machine (in its initial stage, or
// in startIn) and writes its first state, its history scored and the
// stage advanced from its creation on.
func (e *Engine) create(ctx context.Context, s *subject, g pool.Graduation, pr pool.Prospect, startIn string, imported bool, log *changeLog) error {
	g.At = e.notAfterNow(g.At)
	g.Lead.CreatedAt = g.At
	rec, err := e.start(ctx, g.Lead, g.At, startIn, &g, causeAt(s.items, g.At), log)
	if err != nil {
		return err
	}
	st := &LeadState{LeadID: s.id, Lead: g.Lead, Imported: imported, Score: e.model.NewState(), PersonStamps: maps.Clone(pr.PersonStamps), CompanyStamps: maps.Clone(pr.CompanyStamps)}
	if e.observe != nil {
		// Events update the profile: keep the one it started with, for
		// replays to read the profile as of earlier times.
		st.Origin = &Profile{Person: st.Lead.Person.Clone(), Company: st.Lead.Company.Clone(), PersonStamps: maps.Clone(st.PersonStamps), CompanyStamps: maps.Clone(st.CompanyStamps)}
	}
	if e.pool != nil && !imported && pr.ID != "" {
		s.prospect = &pr
	}
	return e.replay(ctx, st, rec, false, g.At, false, s, log)
}

// causeAt is the ID of the last event at or before t, else the first
// ("" without events).
func causeAt(items []item, t time.Time) string {
	if len(items) == 0 {
		return ""
	}
	id := items[0].ev.ID
	for _, it := range items {
		if it.ev.Time.After(t) {
			break
		}
		id = it.ev.ID
	}
	return id
}

// graduate records a prospect's events in the pool, in time order, and
// after each one qualifies the prospect at the times of its touches up to
// the next one (touches of earlier calls included): so it graduates at the
// first touch after which the lead definition holds, on what the pool
// knew then, however the events were split into calls. pl is the engine's
// pool, or a what-if copy of it (see regraduation). An observation the
// pool refuses is that event's *EventError; the event still counts in
// the score.
func (e *Engine) graduate(ctx context.Context, pl *pool.Pool, s *subject) (pool.Graduation, pool.Prospect, bool, error) {
	var pr pool.Prospect
	for k, it := range s.items {
		p, _, err := pl.Upsert(ctx, *it.obs)
		switch {
		case err == nil:
			pr = p
		case errors.Is(err, leadkit.ErrInvalid):
			s.eventErr(it.ev.ID, err)
		case errors.Is(err, leadkit.ErrNotFound):
			// Applied before, to a prospect since erased or merged away:
			// nothing to do.
		default:
			// The pool is unavailable: qualifying without this touch
			// could graduate the prospect at the wrong time.
			return pool.Graduation{}, pr, false, err
		}
		if pr.ID == "" {
			found, err := pl.Store().Find(ctx, []string{subjectKey(s.id)})
			if err != nil {
				return pool.Graduation{}, pr, false, err
			}
			if len(found) == 0 {
				continue
			}
			pr = found[0]
		}
		if pr.Status == pool.StatusGraduated {
			// Graduated before (by another engine, by a failed call, by
			// QualifyAll): take it from the prospect.
			if pr.LeadID != s.id {
				return pool.Graduation{}, pr, false, e.elsewhere(s, pr)
			}
			at := pr.GraduatedAt
			s.adopted = true
			return pool.Graduation{ProspectID: pr.ID, LeadID: pr.LeadID, At: at, Lead: pr.Lead(pr.LeadID, at)}, pr, true, nil
		}
		if pr.Status != pool.StatusActive {
			continue
		}
		until := time.Time{}
		if k+1 < len(s.items) {
			until = s.items[k+1].ev.Time
		}
		times, err := e.candidates(ctx, s.id, pr, it.ev.Time, until)
		if err != nil {
			return pool.Graduation{}, pr, false, err
		}
		for _, t := range times {
			g, ok, err := pl.Qualify(ctx, pr.ID, t)
			if err != nil {
				return pool.Graduation{}, pr, false, err
			}
			if ok {
				if g.LeadID != s.id {
					return pool.Graduation{}, pr, false, fmt.Errorf("%w: the pool graduated subject %q into lead %q", leadkit.ErrInvalid, clip(s.id), clip(g.LeadID))
				}
				return g, pr, true, nil
			}
		}
	}
	if pr.ID != "" && pr.Status == pool.StatusActive {
		// Another call or engine may have graduated the prospect while
		// this one qualified it, on touches without this call's: take
		// the lead up (adopted, so this call's earlier events are
		// checked against its graduation time).
		cur, err := pl.Store().Get(ctx, pr.ID)
		switch {
		case errors.Is(err, leadkit.ErrNotFound):
		case err != nil:
			return pool.Graduation{}, pr, false, err
		case cur.Status == pool.StatusGraduated && cur.LeadID == s.id:
			s.adopted = true
			return pool.Graduation{ProspectID: cur.ID, LeadID: cur.LeadID, At: cur.GraduatedAt, Lead: cur.Lead(cur.LeadID, cur.GraduatedAt)}, cur, true, nil
		}
	}
	return pool.Graduation{}, pr, false, nil
}

// elsewhere is the lasting error of a subject whose prospect became a lead
// under another ID (merged into a prospect graduated outside the engine).
func (e *Engine) elsewhere(s *subject, pr pool.Prospect) error {
	s.errs = append(s.errs, &LeadError{LeadID: s.id, Err: fmt.Errorf("%w: its prospect %q became lead %q outside this engine (merged with a prospect graduated by another system): its events are stored, not scored",
		leadkit.ErrInvalid, clip(pr.ID), clip(pr.LeadID))})
	return nil
}

// candidates lists the times a prospect may graduate at, from `from` up
// to until (zero: no bound): the distinct times of its events, ascending.
// Every event of a prospect is a touch of the pool, so they are the
// prospect's touch times, unless the pool's cap on kept touches cut some:
// then they are read from the journey store.
func (e *Engine) candidates(ctx context.Context, id string, pr pool.Prospect, from, until time.Time) ([]time.Time, error) {
	i, _ := slices.BinarySearchFunc(pr.Touches, from, func(a, b time.Time) int { return a.Compare(b) })
	if len(pr.Touches) < pool.MaxTouches || i > 0 {
		var out []time.Time
		for _, t := range pr.Touches[i:] {
			if !until.IsZero() && !t.Before(until) {
				break
			}
			if n := len(out); n == 0 || !out[n-1].Equal(t) {
				out = append(out, t)
			}
		}
		return out, nil
	}
	evs, err := e.events.Events(ctx, id, from, until)
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

// start puts a new lead in the stage machine at at; a lead already
// started (by another engine, or by a call that failed before writing the
// lead's state) is read. The start is reported as a graduation when g is
// set: by the call that made it, or, when the lead has no state yet, by
// the next one (at least once).
func (e *Engine) start(ctx context.Context, lead leadkit.Lead, at time.Time, startIn string, g *pool.Graduation, cause string, log *changeLog) (stage.Record, error) {
	rec, err := e.machine.Start(ctx, stage.Lead(lead.ID), stage.StartOptions{Stage: startIn, At: at, Actor: e.actor})
	existed := false
	switch {
	case err == nil:
	case errors.Is(err, leadkit.ErrConflict):
		existed = true
		if rec, err = e.machine.Get(ctx, stage.Lead(lead.ID)); err != nil {
			return rec, err
		}
	default:
		return stage.Record{}, err
	}
	if g == nil {
		return rec, nil
	}
	if !existed {
		// The start entry, as Start wrote it.
		en := &stage.Entry{Key: rec.Key, Version: 1, To: rec.Stage, At: rec.EnteredAt, Actor: e.actor, Trigger: stage.TriggerStart}
		log.commit(Change{Kind: Graduated, LeadID: lead.ID, At: en.At, Cause: cause, Graduation: g, Stage: en})
		return rec, nil
	}
	h, err := e.machine.History(ctx, stage.Lead(lead.ID))
	if err != nil {
		return rec, err
	}
	if len(h) > 0 && h[0].Actor == e.actor && !h[0].At.Equal(at) {
		// Another call or engine started the lead at another time (on
		// what it knew then, or while this one was moving the start):
		// decide again on the stores as they are now.
		return rec, fmt.Errorf("lead started at %s by another call, not %s: %w", h[0].At.Format(time.RFC3339Nano), at.Format(time.RFC3339Nano), leadkit.ErrConflict)
	}
	if len(h) > 0 && h[0].Actor == e.actor {
		log.commit(Change{Kind: Graduated, LeadID: lead.ID, At: h[0].At, Cause: cause, Graduation: g, Stage: &h[0]})
	}
	// A call that failed before writing the lead's first state may have
	// moved it further.
	return rec, e.recover(ctx, lead.ID, nil, 1, rec.Version, log)
}

// recover reports the automatic stage changes the engine made from
// version after+1 to upTo, which a failed call may not have reported, and
// the engine's start of the lead (version 1) as its graduation when st is
// given.
func (e *Engine) recover(ctx context.Context, id string, st *LeadState, after, upTo int64, log *changeLog) error {
	h, err := e.machine.History(ctx, stage.Lead(id))
	if err != nil {
		return err
	}
	for i := range h {
		if h[i].Version <= after || h[i].Version > upTo || h[i].Actor != e.actor {
			continue
		}
		switch {
		case h[i].Trigger == stage.TriggerAuto:
			log.commit(Change{Kind: Staged, LeadID: id, At: h[i].At, Stage: &h[i]})
		case h[i].Trigger == stage.TriggerStart && st != nil && !st.Imported:
			g := &pool.Graduation{LeadID: id, At: h[i].At, Lead: st.Lead.Clone()}
			log.commit(Change{Kind: Graduated, LeadID: id, At: h[i].At, Graduation: g, Stage: &h[i]})
		}
	}
	return nil
}

func (e *Engine) notAfterNow(t time.Time) time.Time {
	if now := e.now().UTC().Truncate(leadkit.TimePrecision); t.After(now) {
		return now
	}
	return t
}

// apply is the fast path: every event is at or after the lead's last
// applied one. They are added to the score state, and the stage is
// advanced at each of their times.
func (e *Engine) apply(ctx context.Context, st *LeadState, rec stage.Record, unchecked bool, s *subject, log *changeLog) error {
	items := s.items
	ev := e.newEvaluator(st, rec, unchecked, log, st.Score.Updated)
	ev.subject, ev.owned = s, st == s.buf
	defer ev.release()
	for i := 0; i < len(items); {
		t := items[i].ev.Time
		cause := ""
		first := i
		for ; i < len(items) && items[i].ev.Time.Equal(t); i++ {
			if err := ev.add(items[i].ev); err != nil {
				return err
			}
			cause = items[i].ev.ID
		}
		// The profile as known at t: fit rules read no later update.
		updateProfile(st, s, items[first:i])
		if err := ev.evaluate(ctx, t, cause); err != nil {
			return err
		}
	}
	return ev.save(ctx)
}

// replay rebuilds the lead's score state from its stored history and
// advances the stage at the time of each stored event from `from` on.
// The engine's own stage changes at or after from are taken back first
// (see rewind); evaluation starts after the latest change that stands.
// With onlyLate set (the rebuild is due to events older than the lead's
// latest one and nothing else), a history that holds no event the state
// has not counted is a replay: nothing changes.
func (e *Engine) replay(ctx context.Context, st *LeadState, rec stage.Record, unchecked bool, from time.Time, onlyLate bool, s *subject, log *changeLog) error {
	evs, err := e.events.Events(ctx, st.LeadID, time.Time{}, time.Time{})
	if err != nil {
		return err
	}
	if onlyLate && len(evs) == st.Events+st.Unscored && !hasProfile(s.items) && st.Pending.IsZero() {
		return nil // replays: every stored event was seen already
	}
	isNew := st.Version == 0
	switch {
	case s.full && len(evs) > 0:
		from = evs[0].Time
	case !isNew && !onlyCallsEvents(st, evs, s.items):
		// Stored events that the state has not counted and the call may not
		// bring (stored by a call that failed after its append, or by
		// another engine not done with them): they count from their time,
		// whichever it is, so evaluate from the first event.
		from = evs[0].Time
	case isNew && s.prospect != nil && (s.adopted && s.items[0].ev.Time.Before(from) || missedByPool(s.prospect, evs, from)):
		// Events from before the graduation that it was not decided on:
		// the call's own, when another call or engine graduated the
		// prospect meanwhile, or stored ones the pool never saw (the same
		// causes). They may have graduated it earlier.
		from = evs[0].Time
	}
	if !st.Pending.IsZero() && st.Pending.Before(from) {
		// Changes taken back by a call that did not finish deciding them
		// again.
		from = st.Pending
	}
	// A stage change recorded at or after the first event to count again
	// (at the same instant too: an instant is decided on all its events;
	// clamped like the changes, for events after the clock) is decided
	// again; a new lead's start only if such an event came before it.
	var rw rewound
	evalFrom := from
	if at := e.notAfterNow(from); at.Before(rec.UpdatedAt) || !isNew && at.Equal(rec.UpdatedAt) {
		if rw, err = e.rewind(ctx, st, rec, at, evs, s, log); err != nil {
			return err
		}
		rec = rw.rec
		if rw.changed {
			unchecked = false
			// The changes taken back were recorded at or after at (events
			// after the clock are recorded at its time): every event from
			// there on is evaluated again.
			evalFrom = at
		}
		if rw.restarted {
			from, evalFrom = st.Lead.CreatedAt, st.Lead.CreatedAt
		}
	}
	// Evaluations before an erasure read a profile that is gone: an event
	// before it counts in the score and, in stages, from the erasure on.
	erasedLate := !st.ErasedAt.IsZero() && from.Before(st.ErasedAt)
	oldCursor := st.Score.Updated
	fresh := *st
	fresh.Pending = time.Time{} // decided below
	updateProfile(&fresh, s, s.items)
	fresh.Score, fresh.Events, fresh.Unscored, fresh.Digest = e.model.NewState(), 0, 0, 0
	fresh.Since, fresh.SinceFrom, fresh.SinceTouches = scoring.State{}, time.Time{}, 0
	if e.requal.active(rec.Stage) {
		fresh.SinceFrom = rec.EnteredAt
		fresh.Since = e.model.NewState()
	}
	ev := e.newEvaluator(&fresh, rec, unchecked, log, oldCursor)
	ev.subject, ev.rebuild = s, true
	defer ev.release()
	if evalFrom.Before(rec.UpdatedAt) {
		evalFrom = rec.UpdatedAt
	}
	if erasedLate && evalFrom.Before(st.ErasedAt) {
		evalFrom = st.ErasedAt
	}
	if e.observe != nil && fresh.ErasedAt.IsZero() {
		// Events update the profile: evaluate each time on the profile as
		// known then, not on what later events set.
		ev.profile = profileAsOf(&fresh, evalFrom)
	}
	// A new lead is evaluated at its creation too, so a history that
	// already qualifies it moves it then (an import, a creation clamped
	// to now).
	atFrom := isNew || rw.restarted
	for i := 0; i < len(evs); {
		t := evs[i].Time
		if atFrom && t.After(from) {
			if err := ev.evaluate(ctx, from, ""); err != nil {
				return err
			}
			atFrom = false
		}
		cause := ""
		for ; i < len(evs) && evs[i].Time.Equal(t); i++ {
			if err := ev.add(&evs[i]); err != nil {
				return err
			}
			if ev.profile != nil {
				ev.profile.observe(ctx, e, &evs[i])
			}
			cause = evs[i].ID
		}
		if !t.Before(evalFrom) {
			if t.Equal(from) {
				atFrom = false
			}
			if err := ev.evaluate(ctx, t, cause); err != nil {
				return err
			}
		}
	}
	if atFrom {
		if err := ev.evaluate(ctx, from, ""); err != nil {
			return err
		}
	}
	if (rw.blocked || erasedLate) && fresh.Events > st.Events {
		// Events the state had not counted came, older than a stage change
		// that stands: report the earliest of the call.
		for _, it := range s.items {
			if it.ev.Time.Before(rec.UpdatedAt) {
				log.tentative(Change{Kind: Late, LeadID: st.LeadID, At: it.ev.Time, Cause: it.ev.ID})
				break
			}
		}
	}
	return ev.save(ctx)
}

// onlyCallsEvents reports whether the stored events the state has not
// counted are exactly the call's events (by count and digest). When the
// call mixes redeliveries with new events this cannot be told and it
// reports false.
func onlyCallsEvents(st *LeadState, evs []leadkit.Event, items []item) bool {
	if len(evs)-(st.Events+st.Unscored) != len(items) {
		return false
	}
	var all, call uint64
	for i := range evs {
		all += idHash(evs[i].ID)
	}
	for _, it := range items {
		call += idHash(it.ev.ID)
	}
	return all-st.Digest == call
}
