package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/pool"
	"github.com/leadkit/leadkit/stage"
)

// rewind takes back the stage changes the engine recorded at or after
// from, the time of a late event, so that the replay decides them again
// with that event counted: the lead's stage history then reads as if the
// events had come in time order. Only the engine's own automatic changes
// are taken back, and only after the latest change someone else made (a
// manual transition, a sub-status): those stand, and the replay reports
// the event Late. The start is taken back when the lead would have been
// created earlier: without a pool, at its earliest event; with one, when
// its events fed in time order to a what-if copy of the pool graduate it
// earlier (the live pool is told, pool.Pool.Backdate). An imported or
// erased lead keeps its start.
//
// The lead's state is written first, as of the rewound record and with
// Pending set, so that whoever processes the lead next (this call again
// after a failure, another call, another engine) decides the taken-back
// changes again, and its stage snapshot is never newer than the stage
// store.
func (e *Engine) rewind(ctx context.Context, st *LeadState, rec stage.Record, from time.Time, evs []leadkit.Event, s *subject, log *changeLog) (rewound, error) {
	r := rewound{rec: rec}
	key := stage.Lead(st.LeadID)
	h, err := e.machine.History(ctx, key)
	if err != nil {
		return r, err
	}
	if n := len(h); n == 0 || h[n-1].Version != rec.Version {
		return r, fmt.Errorf("stage record moved on from version %d: %w", rec.Version, leadkit.ErrConflict)
	}
	cut, _ := slices.BinarySearchFunc(h, from, func(x stage.Entry, t time.Time) int { return x.At.Compare(t) })
	var g *pool.Graduation
	if cut == 0 {
		if g, err = e.regraduation(ctx, st, h[0], evs); err != nil {
			return r, err
		}
		if g == nil {
			cut = 1
		}
	}
	if !st.ErasedAt.IsZero() {
		// The changes up to an erasure were decided on a profile that is
		// gone: they stand.
		if i, _ := slices.BinarySearchFunc(h, st.ErasedAt, func(x stage.Entry, t time.Time) int {
			if x.At.After(t) {
				return 1
			}
			return -1
		}); i > cut {
			cut, g = i, nil
		}
	}
	for i := len(h) - 1; i >= cut; i-- {
		if h[i].Actor != e.actor || (h[i].Trigger != stage.TriggerAuto && (i > 0 || g == nil)) {
			// A start that stays is no obstacle: events before it count
			// from it in any order.
			r.blocked = i > 0
			cut = i + 1
			break
		}
	}
	if cut >= len(h) {
		return r, nil
	}
	keep := int64(0)
	if cut > 0 {
		keep = h[cut-1].Version
	}
	pre := *st
	pre.Stage = stage.RecordAt(h, keep)
	pre.Pending = from
	if g != nil {
		pre.Lead.CreatedAt, pre.Lead.Source = g.At, g.Lead.Source
	}
	pre.Version++
	if err := e.states.Put(ctx, pre); err != nil {
		return r, err
	}
	st.Version, st.Stage, st.Lead, st.Pending = pre.Version, pre.Stage, pre.Lead, pre.Pending
	next, removed, err := e.machine.Rewind(ctx, key, keep, rec.Version)
	if err != nil {
		return r, err
	}
	r.rec, r.changed = next, true
	cause := s.items[0].ev.ID
	for i := range removed {
		log.commit(Change{Kind: Revoked, LeadID: st.LeadID, At: removed[i].At, Cause: cause, Stage: &removed[i]})
	}
	if g == nil {
		return r, nil
	}
	r.rec, err = e.start(ctx, st.Lead, g.At, "", g, causeAt(s.items, g.At), log)
	r.restarted = true
	return r, err
}

// rewound is what rewind did.
type rewound struct {
	// rec is the record to replay from.
	rec stage.Record
	// changed is set when changes were taken back; restarted when the
	// lead was started again (st.Lead.CreatedAt is the new creation).
	changed, restarted bool
	// blocked is set when a change the engine does not take back (made by
	// someone else) stands at or after the late event: the event is Late.
	blocked bool
}

// regraduation is the earlier graduation a lead's late events give it, or
// nil: see rewind.
func (e *Engine) regraduation(ctx context.Context, st *LeadState, start stage.Entry, evs []leadkit.Event) (*pool.Graduation, error) {
	if st.Imported || !st.ErasedAt.IsZero() || start.Actor != e.actor || start.Trigger != stage.TriggerStart || len(evs) == 0 {
		return nil, nil
	}
	if e.pool == nil {
		// Every subject is a lead from its first event.
		at := e.notAfterNow(evs[0].Time)
		if !at.Before(start.At) {
			return nil, nil
		}
		return &pool.Graduation{LeadID: st.LeadID, At: at, Lead: leadkit.Lead{ID: st.LeadID, CreatedAt: at, Source: evs[0].Channel}}, nil
	}
	pr, ok, err := e.graduatedProspect(ctx, st.LeadID)
	if err != nil || !ok {
		return nil, err
	}
	// When would the subject's events, fed in time order, have graduated
	// it? A what-if pool answers: the live one holds what it knows now,
	// not what it knew at each time.
	w := &subject{id: st.LeadID}
	for i := range evs {
		if obs, err := e.observation(ctx, evs[i]); err == nil {
			w.items = append(w.items, item{index: -1, ev: &evs[i], obs: obs})
		}
	}
	g, _, ok, err := e.graduate(ctx, e.pool.WithStore(pool.NewMemoryStore()), w)
	if err != nil || !ok || !g.At.Before(start.At) {
		return nil, err
	}
	// Tell the live pool the events it would have seen before the
	// graduation (all stored ones: some may have been stored by a call
	// that failed, or by another engine not done with them), and when it
	// was. An observation the pool refuses was refused when it came.
	for _, it := range w.items {
		if !it.ev.Time.Before(start.At) {
			break
		}
		_, _, err := e.pool.Upsert(ctx, *it.obs)
		switch {
		case err == nil, errors.Is(err, leadkit.ErrNotFound), errors.Is(err, leadkit.ErrInvalid):
		default:
			return nil, err
		}
	}
	if _, _, err := e.pool.Backdate(ctx, pr.ID, g.At); err != nil {
		return nil, err
	}
	// The live pool's graduation time is the truth (moved by this call, or
	// by one that failed after moving it).
	if pr, ok, err = e.graduatedProspect(ctx, st.LeadID); err != nil || !ok {
		return nil, err
	}
	at := e.notAfterNow(pr.GraduatedAt)
	if !at.Before(start.At) {
		return nil, nil
	}
	return &pool.Graduation{ProspectID: pr.ID, LeadID: st.LeadID, At: at, Conditions: g.Conditions, Lead: pr.Lead(st.LeadID, at)}, nil
}

// graduatedProspect is the subject's prospect if it graduated into the
// lead of the same ID.
func (e *Engine) graduatedProspect(ctx context.Context, id string) (pool.Prospect, bool, error) {
	found, err := e.pool.Store().Find(ctx, []string{subjectKey(id)})
	if err != nil || len(found) == 0 {
		return pool.Prospect{}, false, err
	}
	pr := found[0]
	return pr, pr.Status == pool.StatusGraduated && pr.LeadID == id, nil
}

// missedByPool reports whether a stored event from before t is missing
// from the prospect's touches: the pool never saw it. Below the pool's
// cap on kept touches only the kept span is checked.
func missedByPool(pr *pool.Prospect, evs []leadkit.Event, t time.Time) bool {
	touches := pr.Touches
	for _, ev := range evs {
		if !ev.Time.Before(t) {
			break
		}
		if len(touches) >= pool.MaxTouches && ev.Time.Before(touches[0]) {
			continue
		}
		if _, ok := slices.BinarySearchFunc(touches, ev.Time, func(a, b time.Time) int { return a.Compare(b) }); !ok {
			return true
		}
	}
	return false
}
