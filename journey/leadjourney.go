package journey

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/text"
	"github.com/leadkit/leadkit/stage"
)

// LeadJourney is everything the per-lead accumulators know of one lead:
// its events, its stage visits and its creation time. It is the unit the
// accumulators of [SourceAge], [ContentPhases], [OldLeadNurture],
// [CycleTimes] and [NurturePower] add,
// so a shard that holds all of a lead's records can fill one
// accumulator per shard and merge them.
type LeadJourney struct {
	// LeadID and Events are the lead's timeline. Events need not be
	// sorted; an event without a time is ignored, as everywhere. Every
	// other event must pass [leadkit.Event.Validate] and be of this lead:
	// its LeadID is LeadID, or empty (the timeline names the lead).
	Timeline
	// Visits are the lead's stage visits, each with this LeadID. Pass them
	// through [stage.Reach] for the one meaning of "reached a stage".
	Visits []stage.Visit `json:"visits"`
	// Created is the lead's creation time (leadkit.Lead.CreatedAt); zero
	// when unknown, else in leadkit's time range ([leadkit.ValidTime]).
	Created time.Time `json:"created,omitzero"`
}

// validate checks a journey an accumulator is asked to add: a valid lead
// ID, a creation time in range, visits that pass [stage.Visit.Validate]
// and events that pass [checkEvent], all of this lead. It reports every
// problem (up to maxErrors), each with its index in Visits or Events.
func (j *LeadJourney) validate(what string) error {
	if err := leadkit.ValidateID("lead ID", j.LeadID); err != nil {
		return fmt.Errorf("journey: %s: journey: %w", what, err)
	}
	lead := text.Clip(j.LeadID, 64)
	var errs errorList
	if err := checkCreated(j.Created); err != nil {
		errs.add(fmt.Errorf("journey: %s: lead %q: %w", what, lead, err))
	}
	for i, v := range j.Visits {
		if err := v.Validate(); err != nil {
			errs.add(fmt.Errorf("journey: %s: lead %q: visit %d: %w", what, lead, i, err))
		} else if v.LeadID != j.LeadID {
			errs.add(fmt.Errorf("journey: %s: lead %q: visit %d: %w: the visit is of lead %q", what, lead, i, leadkit.ErrInvalid, text.Clip(v.LeadID, 64)))
		}
	}
	for i := range j.Events {
		if err := checkEvent(j.LeadID, &j.Events[i]); err != nil {
			errs.add(fmt.Errorf("journey: %s: lead %q: event %d: %w", what, lead, i, err))
		}
	}
	return errs.err()
}

// checkCreated checks a creation time: zero (unknown) or in leadkit's
// time range.
func checkCreated(c time.Time) error {
	if c.IsZero() || leadkit.ValidTime(c) {
		return nil
	}
	return fmt.Errorf("%w: creation time %s is outside %s", leadkit.ErrInvalid, c.UTC().Format(time.RFC3339), leadkit.TimeRange)
}

// checkEvent checks an event of lead's timeline: of another lead (a
// LeadID that is neither lead nor empty), or with a time and failing
// [leadkit.Event.Validate] (checked as lead's when its LeadID is empty),
// it is bad. An event without a time is ignored by every calculator, and
// passes.
func checkEvent(lead string, e *leadkit.Event) error {
	switch {
	case e.LeadID != "" && e.LeadID != lead:
		return fmt.Errorf("%w: event %q is of lead %q", leadkit.ErrInvalid, text.Clip(e.ID, 64), text.Clip(e.LeadID, 64))
	case e.Time.IsZero():
		return nil
	case e.LeadID == "":
		c := *e
		c.LeadID = lead
		return c.Validate()
	}
	return e.Validate()
}

// Journeys groups the inputs of the calculators by lead: one LeadJourney
// for every lead that a timeline, a visit or a creation time names, sorted
// by lead ID. The function forms ([SourceAge], [ContentPhases],
// [OldLeadNurture], [CycleTimes], [NurturePower]) call it; a caller that fills accumulators shard by
// shard can call it per shard. Bad entries are left out and named in the
// error (every one, up to ten, and a count of the rest): a visit that
// fails [stage.Visit.Validate] (by its index in visits), a timeline whose
// LeadID is not a valid ID and an event that is of another lead or fails
// [leadkit.Event.Validate] (by the timeline's index in timelines and the
// event's in it), a creation time outside leadkit's time range (the lead
// is then of unknown creation) or of a lead ID that is not valid, and a
// timeline of a lead that has a later one in timelines: of several
// timelines of one lead the last is used and the others are named (by
// index) in the error, not merged (two pieces of one history may share
// events; merge them into one timeline first).
// Everything else is returned, so the accumulators' Add accepts every
// journey Journeys returns, and a function form is one pass of its
// accumulator over Journeys. The journeys share the timelines'
// event slices, except the timelines with a bad event (a journey then
// holds a copy without it).
func Journeys(timelines []Timeline, visits []stage.Visit, created map[string]time.Time) ([]LeadJourney, error) {
	var errs errorList
	out := journeys(timelines, visits, created, &errs)
	return out, errs.err()
}

func journeys(timelines []Timeline, visits []stage.Visit, created map[string]time.Time, errs *errorList) []LeadJourney {
	byLead := map[string]*LeadJourney{}
	get := func(id string) *LeadJourney {
		j := byLead[id]
		if j == nil {
			j = &LeadJourney{Timeline: Timeline{LeadID: id}}
			byLead[id] = j
		}
		return j
	}
	// The last timeline of each lead is the one used.
	last := map[string]int{}
	for i, tl := range timelines {
		if err := leadkit.ValidateID("lead ID", tl.LeadID); err != nil {
			errs.add(fmt.Errorf("journey: timeline %d: %w", i, err))
			continue
		}
		last[tl.LeadID] = i
	}
	for i, tl := range timelines {
		k, ok := last[tl.LeadID]
		if !ok {
			continue
		}
		if k != i {
			errs.add(fmt.Errorf("journey: timeline %d (lead %q): %w: the lead has a later timeline (%d), the one used; merge a lead's events into one timeline", i, text.Clip(tl.LeadID, 64), leadkit.ErrInvalid, k))
			continue
		}
		events, copied := tl.Events, false
		for k := range tl.Events {
			if err := checkEvent(tl.LeadID, &tl.Events[k]); err != nil {
				errs.add(fmt.Errorf("journey: timeline %d (lead %q): event %d: %w", i, text.Clip(tl.LeadID, 64), k, err))
				if !copied {
					events, copied = slices.Clone(tl.Events[:k]), true // the good ones so far
				}
			} else if copied {
				events = append(events, tl.Events[k])
			}
		}
		get(tl.LeadID).Events = events
	}
	for i, v := range visits {
		if err := validVisit(i, v); err != nil {
			errs.add(err)
			continue
		}
		j := get(v.LeadID)
		j.Visits = append(j.Visits, v)
	}
	var badCreated []string
	for id, c := range created {
		switch {
		case leadkit.ValidateID("lead ID", id) != nil:
			badCreated = append(badCreated, id)
		case checkCreated(c) != nil:
			badCreated = append(badCreated, id)
			get(id) // the lead is known, its creation is not
		default:
			get(id).Created = c
		}
	}
	slices.Sort(badCreated)
	for _, id := range badCreated {
		if err := leadkit.ValidateID("lead ID", id); err != nil {
			errs.add(fmt.Errorf("journey: creation times: %w", err))
		} else {
			errs.add(fmt.Errorf("journey: lead %q: %w", text.Clip(id, 64), checkCreated(created[id])))
		}
	}
	out := make([]LeadJourney, 0, len(byLead))
	for _, id := range slices.Sorted(maps.Keys(byLead)) {
		out = append(out, *byLead[id])
	}
	return out
}

// funnelOrder checks a funnel order (distinct, non-empty stage names, as
// [stage.Reach] requires) that must hold stage, and returns the position
// of each stage.
func funnelOrder(what string, order []string, st string) (map[string]int, error) {
	var errs errorList
	if len(order) == 0 {
		errs.add(fmt.Errorf("journey: %s: %w: needs the funnel order (e.g. stage.Machine.FunnelStages())", what, leadkit.ErrInvalid))
	} else if _, err := stage.Reach(nil, order); err != nil {
		errs.add(fmt.Errorf("journey: %s: %w", what, err))
	}
	pos := make(map[string]int, len(order))
	for i, s := range order {
		if _, dup := pos[s]; !dup {
			pos[s] = i
		}
	}
	if _, ok := pos[st]; len(order) > 0 && !ok && st != "" {
		errs.add(fmt.Errorf("journey: %s: %w: stage %q is not in the funnel order", what, leadkit.ErrInvalid, text.Clip(st, 64)))
	}
	return pos, errs.err()
}

// standings orders a lead's visits so that [standingAt] can tell where the
// lead stood at any time: by time, and at one time the stages of the
// funnel order before those outside it (as [stage.Reach] takes them: at
// one instant a lead passes the funnel stages before it leaves the
// funnel), then as listed. buf is reused.
func standings(buf []stage.Visit, visits []stage.Visit, pos map[string]int) []stage.Visit {
	buf = append(buf[:0], visits...)
	rank := func(s string) int {
		if p, ok := pos[s]; ok {
			return p
		}
		return len(pos)
	}
	slices.SortStableFunc(buf, func(a, b stage.Visit) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		return rank(a.Stage) - rank(b.Stage)
	})
	return buf
}

// standingAt returns the stage the lead stood in just before t: the stage
// of its last visit (in the order of [standings]) strictly before t, or
// false when it had none. A visit at t itself has not happened yet: the
// form that makes a lead an MQL is a touch of the lead before it was one.
func standingAt(sorted []stage.Visit, t time.Time) (string, bool) {
	i, _ := slices.BinarySearchFunc(sorted, t, func(v stage.Visit, t time.Time) int {
		if v.At.Before(t) {
			return -1
		}
		return 1
	})
	if i == 0 {
		return "", false
	}
	return sorted[i-1].Stage, true
}
