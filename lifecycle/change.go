package lifecycle

import (
	"fmt"
	"strings"
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
	// Revoked: a stage change the engine had recorded was taken back,
	// because an event older than it came (Change.Stage is the removed
	// entry, Change.At its time, Cause the late event). The changes decided
	// again with that event counted follow as Graduated and Staged; a
	// change decided again exactly as before is reported neither way.
	// Revocations come first in a call's changes for the lead, latest
	// first (the order they are undone in).
	Revoked ChangeKind = "revoked"
	// Late: an event older than the lead's latest stage change came, and
	// had not been applied, and that change is one the engine does not
	// take back: a manual transition, a sub-status, an import's start (see
	// the package documentation). Its effect on stages counts from that
	// change on: processing the events in time order might have moved the
	// lead differently before it. Change.At and Cause are those of the
	// earliest such event of the call; one Late is reported per lead and
	// call.
	Late ChangeKind = "late"
)

// Change is one thing Ingest changed, for the CRM to act on: notify sales
// of a new MQL, create a task, log a late event.
type Change struct {
	// Kind says what changed.
	Kind ChangeKind `json:"kind"`
	// LeadID is the lead (the subject of the events).
	LeadID string `json:"lead_id"`
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
	// Staged, and the removed entry of Revoked.
	Stage *stage.Entry `json:"stage,omitempty"`
}

// String is a one-line summary of the change.
func (c Change) String() string {
	at := c.At.UTC().Format(time.RFC3339)
	switch {
	case c.Kind == Staged && c.Stage != nil:
		return fmt.Sprintf("%s %s: %s -> %s (%s)", at, c.LeadID, c.Stage.From, c.Stage.To, c.Stage.Transition)
	case c.Kind == Revoked && c.Stage != nil:
		return fmt.Sprintf("%s %s: revoked %s -> %s (event %s came late)", at, c.LeadID, c.Stage.From, c.Stage.To, c.Cause)
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

// EventError is an event of an Ingest call that does not count, or does
// not count in full: refused, or stored but not scored.
type EventError struct {
	// Index is the event's position in the call's events.
	Index int
	// ID is the event's ID.
	ID string
	// Err says why; it wraps leadkit.ErrInvalid.
	Err error
}

// Error names the event by index and ID.
func (e *EventError) Error() string {
	return fmt.Sprintf("lifecycle: event %d (%q): %v", e.Index, clip(e.ID), e.Err)
}

// Unwrap returns Err.
func (e *EventError) Unwrap() error { return e.Err }

// LeadError is a problem with a lead's processing in an Ingest call.
type LeadError struct {
	// LeadID is the lead (empty when the whole call's events could not be
	// stored).
	LeadID string
	// Err says what went wrong.
	Err error
	// Retry is set when ingesting the same events again can complete the
	// lead: a store failed, or other writers kept winning. Without it the
	// problem lasts (a guard that fails at run time, a hook's veto, a
	// subject the engine cannot make a lead of) and the lead's processing
	// went on without that step.
	Retry bool
}

// Error says which lead, what went wrong and whether to retry.
func (e *LeadError) Error() string {
	msg := strings.TrimPrefix(e.Err.Error(), "lifecycle: ")
	retry := ""
	if e.Retry {
		retry = " (retry)"
	}
	if e.LeadID == "" {
		return "lifecycle: " + msg + retry
	}
	return fmt.Sprintf("lifecycle: lead %q: %s%s", clip(e.LeadID), msg, retry)
}

// Unwrap returns Err.
func (e *LeadError) Unwrap() error { return e.Err }
