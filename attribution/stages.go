package attribution

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/text"
	"github.com/leadkit/leadkit/journey"
	"github.com/leadkit/leadkit/stage"
)

// StageEventType is the event type under which [WithStageEntries] marks a
// lead's entry into a stage: "stage:" and the stage's name.
func StageEventType(stageName string) string { return "stage:" + stageName }

// WithStageEntries returns timelines with each lead's first visit to the
// stage (from stage histories: stage.Visits, through stage.Reach to count
// leads that skipped it) marked by an event of type
// StageEventType(stageName) at the visit's time, so that "attribute MQLs to
// channels" is Conversion{Types: []string{StageEventType("MQL")}} with no
// invented events. The marker has no channel, campaign or content, so it is
// never a touch; its ID is "stage:<stage>:<lead ID>". A lead with a visit
// but no timeline gets a timeline of its own (a conversion without
// touches). The given timelines are not modified. Bad visits (see
// stage.Visit.Validate) are skipped and reported together, wrapping
// leadkit.ErrInvalid; the others are used.
func WithStageEntries(timelines []journey.Timeline, visits []stage.Visit, stageName string) ([]journey.Timeline, error) {
	entries, errs, err := stageEntries(visits, stageName)
	if err != nil {
		return nil, err
	}
	typ := StageEventType(stageName)
	mark := func(lead string, evs []leadkit.Event) journey.Timeline {
		evs = append(slices.Clone(evs), leadkit.Event{ID: typ + ":" + lead, LeadID: lead, Type: typ, Time: entries[lead][0]})
		leadkit.SortEvents(evs)
		return journey.Timeline{LeadID: lead, Events: evs}
	}
	return eachLead(timelines, entries, func(lead string, evs []leadkit.Event) []journey.Timeline {
		return []journey.Timeline{mark(lead, evs)}
	}), errs
}

// stageEntries collects each lead's entries into the stage, in time
// order; bad visits are returned as one error, a bad stage name as err.
func stageEntries(visits []stage.Visit, stageName string) (entries map[string][]time.Time, bad, err error) {
	if msg := leadkit.CheckText(stageName, leadkit.MaxNameBytes); stageName == "" || msg != "" {
		return nil, nil, fmt.Errorf("attribution: stage entries: %w: stage name %q %s", leadkit.ErrInvalid, text.Clip(stageName, 64), msg)
	}
	var errs []error
	entries = map[string][]time.Time{}
	for i, v := range visits {
		if err := v.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("attribution: stage entries: visit %d: %w", i, err))
			continue
		}
		if v.Stage == stageName {
			entries[v.LeadID] = append(entries[v.LeadID], v.At.UTC())
		}
	}
	for _, at := range entries {
		slices.SortFunc(at, func(a, b time.Time) int { return a.Compare(b) })
	}
	return entries, errors.Join(errs...), nil
}

// eachLead rewrites the timelines of the leads with entries by fn (the
// others are kept as they are), then adds fn's timelines for the leads
// with entries but no timeline, in lead ID order.
func eachLead(timelines []journey.Timeline, entries map[string][]time.Time, fn func(lead string, evs []leadkit.Event) []journey.Timeline) []journey.Timeline {
	out := make([]journey.Timeline, 0, len(timelines)+len(entries))
	done := map[string]bool{}
	for _, tl := range timelines {
		if _, ok := entries[tl.LeadID]; !ok {
			out = append(out, tl)
			continue
		}
		done[tl.LeadID] = true
		out = append(out, fn(tl.LeadID, tl.Events)...)
	}
	var rest []string
	for lead := range entries {
		if !done[lead] {
			rest = append(rest, lead)
		}
	}
	slices.Sort(rest)
	for _, lead := range rest {
		out = append(out, fn(lead, nil)...)
	}
	return out
}

// SplitAtStageEntries is WithStageEntries for every entry into the stage,
// not only the first: a lead that entered it k times (a recycled MQL that
// came back) gives k converting journeys, each made of its events after
// the previous entry up to this one (a touch at the very time of an entry
// counts for that entry) and ended by a marker of type
// StageEventType(stageName) with the ID "stage:<stage>:<lead ID>:<k>", and
// its events after the last entry give one more, non-converting journey.
// Leads without an entry keep their timeline. The pieces of one lead
// share its lead ID, in time order. Bad visits are skipped and reported
// together, wrapping leadkit.ErrInvalid; the given timelines are not
// modified.
func SplitAtStageEntries(timelines []journey.Timeline, visits []stage.Visit, stageName string) ([]journey.Timeline, error) {
	entries, errs, err := stageEntries(visits, stageName)
	if err != nil {
		return nil, err
	}
	typ := StageEventType(stageName)
	return eachLead(timelines, entries, func(lead string, evs []leadkit.Event) []journey.Timeline {
		var out []journey.Timeline
		i := 0
		for k, t := range entries[lead] {
			var piece []leadkit.Event
			for ; i < len(evs) && !evs[i].Time.After(t); i++ {
				piece = append(piece, evs[i])
			}
			piece = append(piece, leadkit.Event{ID: fmt.Sprintf("%s:%s:%d", typ, lead, k+1), LeadID: lead, Type: typ, Time: t})
			out = append(out, journey.Timeline{LeadID: lead, Events: piece})
		}
		if i < len(evs) {
			out = append(out, journey.Timeline{LeadID: lead, Events: slices.Clone(evs[i:])})
		}
		return out
	}), errs
}
