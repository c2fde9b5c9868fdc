package journey

import (
	"github.com/leadkit/leadkit"
)

// Timeline is one lead's events in time order: sorted by Event.Time, stable
// for equal times (events with the same time keep the order they were
// appended in; a [Store] returns them in that order on every read). Funnels
// do not depend on the order of same-time events (they take them in step
// order); touches and paths keep it (FirstTouch takes the first listed).
//
// Timeline is the unit every calculator of this package (and of the
// attribution package) consumes. Calculators do not modify it; they assume
// the order above, which [Store.Events] and [NewTimeline] guarantee.
type Timeline struct {
	// LeadID names the lead; every event's LeadID should equal it.
	LeadID string `json:"lead_id"`
	// Events are the lead's events sorted by time.
	Events []leadkit.Event `json:"events"`
}

// NewTimeline returns the timeline of leadID built from events: it keeps the
// events whose LeadID is leadID and sorts them stably by time. The events
// slice is not modified.
func NewTimeline(leadID string, events []leadkit.Event) Timeline {
	out := make([]leadkit.Event, 0, len(events))
	for _, e := range events {
		if e.LeadID == leadID {
			out = append(out, e)
		}
	}
	leadkit.SortEvents(out)
	return Timeline{LeadID: leadID, Events: out}
}
