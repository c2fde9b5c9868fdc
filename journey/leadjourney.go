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
// accumulators of [SourceAge], [ContentPhases] and [OldLeadNurture] add,
// so a shard that holds all of a lead's records can fill one
// accumulator per shard and merge them.
type LeadJourney struct {
	// LeadID and Events are the lead's timeline (Events need not be
	// sorted; events without a time are ignored, as everywhere).
	Timeline
	// Visits are the lead's stage visits, each with this LeadID. Pass them
	// through [stage.Reach] for the one meaning of "reached a stage".
	Visits []stage.Visit `json:"visits"`
	// Created is the lead's creation time (leadkit.Lead.CreatedAt); zero
	// when unknown.
	Created time.Time `json:"created,omitzero"`
}

// validate checks a journey an accumulator is asked to add: a lead ID, and
// visits that pass [stage.Visit.Validate] and name the same lead.
func (j *LeadJourney) validate(what string) error {
	if j.LeadID == "" {
		return fmt.Errorf("journey: %s: %w: journey without a lead ID", what, leadkit.ErrInvalid)
	}
	if !j.Created.IsZero() && !leadkit.ValidTime(j.Created) {
		return fmt.Errorf("journey: %s: lead %q: %w: creation time outside %s", what, text.Clip(j.LeadID, 64), leadkit.ErrInvalid, leadkit.TimeRange)
	}
	for i, v := range j.Visits {
		if err := v.Validate(); err != nil {
			return fmt.Errorf("journey: %s: lead %q: visit %d: %w", what, text.Clip(j.LeadID, 64), i, err)
		}
		if v.LeadID != j.LeadID {
			return fmt.Errorf("journey: %s: lead %q: visit %d: %w: the visit is of lead %q", what, text.Clip(j.LeadID, 64), i, leadkit.ErrInvalid, text.Clip(v.LeadID, 64))
		}
	}
	return nil
}

// Journeys groups the inputs of the calculators by lead: one LeadJourney
// for every lead that a timeline, a visit or a creation time names, sorted
// by lead ID. The function forms ([SourceAge], [ContentPhases],
// [OldLeadNurture]) call it; a caller that fills accumulators shard by
// shard can call it per shard. Visits that fail [stage.Visit.Validate]
// are left out and reported in the error (the visit's index in visits);
// everything else is returned. Of two timelines of one lead the last is
// used, as the other calculators do. The journeys share the timelines'
// event slices.
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
	for _, tl := range timelines {
		if tl.LeadID != "" {
			get(tl.LeadID).Events = tl.Events
		}
	}
	for i, v := range visits {
		if err := validVisit(i, v); err != nil {
			errs.add(err)
			continue
		}
		j := get(v.LeadID)
		j.Visits = append(j.Visits, v)
	}
	for id, c := range created {
		if id != "" {
			get(id).Created = c
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
