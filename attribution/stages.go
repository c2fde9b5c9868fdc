package attribution

import (
	"errors"
	"fmt"
	"slices"

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
	if msg := leadkit.CheckText(stageName, leadkit.MaxNameBytes); stageName == "" || msg != "" {
		return nil, fmt.Errorf("attribution: stage entries: %w: stage name %q %s", leadkit.ErrInvalid, text.Clip(stageName, 64), msg)
	}
	var errs []error
	first := map[string]stage.Visit{}
	for i, v := range visits {
		if err := v.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("attribution: stage entries: visit %d: %w", i, err))
			continue
		}
		if v.Stage != stageName {
			continue
		}
		if f, ok := first[v.LeadID]; !ok || v.At.Before(f.At) {
			first[v.LeadID] = v
		}
	}
	typ := StageEventType(stageName)
	marker := func(v stage.Visit) leadkit.Event {
		return leadkit.Event{ID: typ + ":" + v.LeadID, LeadID: v.LeadID, Type: typ, Time: v.At.UTC()}
	}
	out := make([]journey.Timeline, 0, len(timelines)+len(first))
	done := map[string]bool{}
	for _, tl := range timelines {
		v, ok := first[tl.LeadID]
		if !ok {
			out = append(out, tl)
			continue
		}
		done[tl.LeadID] = true
		evs := append(slices.Clone(tl.Events), marker(v))
		leadkit.SortEvents(evs)
		out = append(out, journey.Timeline{LeadID: tl.LeadID, Events: evs})
	}
	var rest []string
	for lead := range first {
		if !done[lead] {
			rest = append(rest, lead)
		}
	}
	slices.Sort(rest)
	for _, lead := range rest {
		out = append(out, journey.Timeline{LeadID: lead, Events: []leadkit.Event{marker(first[lead])}})
	}
	return out, errors.Join(errs...)
}
