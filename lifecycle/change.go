package lifecycle

import (
	"fmt"
	"time"

	"github.com/leadkit/leadkit/pool"
	"github.com/leadkit/leadkit/scoring"
	"github.com/leadkit/leadkit/stage"
)

// ChangeKind tells what a Change is.
type ChangeKind string

// The kinds of change Ingest reports.
const (
	// Graduated: a prospect became a lead and was started in the stage
	// machine (Change.Graduation, Change.Stage the start entry).
	Graduated ChangeKind = "graduated"
	// Crossed: the lead's score reached a threshold or fell below it
	// (Change.Crossing).
	Crossed ChangeKind = "crossed"
	// Staged: the lead moved to another stage (Change.Stage).
	Staged ChangeKind = "staged"
	// Late: an event older than the lead's latest stage change (its
	// graduation included) came, and had not been applied. Recorded
	// changes are never rewritten (the CRM may have acted on them), so
	// its effect on stages counts from that change on: processing the
	// events in time order might have moved the lead differently before
	// it. Change.At and Cause are those of the earliest such event of the
	// call; one Late is reported per lead and call.
	Late ChangeKind = "late"
)

// Change is one thing Ingest changed, for the CRM to act on: notify sales
// of a new MQL, create a task, log a late event.
type Change struct {
	Kind   ChangeKind `json:"kind"`
	LeadID string     `json:"lead_id"`
	// At is when it happened (the time it is recorded at).
	At time.Time `json:"at"`
	// Cause is the ID of the event that caused it: the event at whose
	// time the change was decided.
	Cause string `json:"cause,omitempty"`
	// Graduation is set for Graduated.
	Graduation *pool.Graduation `json:"graduation,omitempty"`
	// Crossing is set for Crossed.
	Crossing *scoring.Crossing `json:"crossing,omitempty"`
	// Stage is the stage history entry of Graduated (the start) and
	// Staged.
	Stage *stage.Entry `json:"stage,omitempty"`
}

// String is a one-line summary of the change.
func (c Change) String() string {
	at := c.At.UTC().Format(time.RFC3339)
	switch {
	case c.Kind == Staged && c.Stage != nil:
		return fmt.Sprintf("%s %s: %s -> %s (%s)", at, c.LeadID, c.Stage.From, c.Stage.To, c.Stage.Transition)
	case c.Kind == Graduated && c.Stage != nil:
		return fmt.Sprintf("%s %s: graduated into %s", at, c.LeadID, c.Stage.To)
	case c.Kind == Crossed && c.Crossing != nil:
		dir := "reached"
		if !c.Crossing.Up {
			dir = "fell below"
		}
		return fmt.Sprintf("%s %s: %s %s (%g)", at, c.LeadID, dir, c.Crossing.Threshold, c.Crossing.Score)
	}
	return fmt.Sprintf("%s %s: %s (event %s)", at, c.LeadID, c.Kind, c.Cause)
}

// EventError is a refused event of an Ingest call: its index in the call,
// its ID and why.
type EventError struct {
	Index int
	ID    string
	Err   error
}

func (e *EventError) Error() string {
	return fmt.Sprintf("lifecycle: event %d (%q): %v", e.Index, clip(e.ID), e.Err)
}

func (e *EventError) Unwrap() error { return e.Err }

// LeadError is a lead whose processing failed in an Ingest call: its
// events are stored (unless the error says otherwise) and ingesting them
// again resumes where it stopped.
type LeadError struct {
	LeadID string
	Err    error
}

func (e *LeadError) Error() string {
	return fmt.Sprintf("lifecycle: lead %q: %v", clip(e.LeadID), e.Err)
}

func (e *LeadError) Unwrap() error { return e.Err }
