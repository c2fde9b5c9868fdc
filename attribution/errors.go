package attribution

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/leadkit/leadkit"
)

// The errors of this package wrap [leadkit.ErrInvalid], so callers test
// for bad input with errors.Is whatever the model; the typed errors below
// locate a problem for programs: a path by its index (*[PathError]), a
// table by line and column (*[CSVError]), a timeline by its lead and event
// (*[TimelineError]). Messages start with "attribution: ", name what and
// where, and put the cause last. A call that finds several problems
// reports them all at once (errors.Join), the first 20 one by one and then
// a count of the rest.

// PathError reports a bad [Path] given to a model: its index in the input and
// the problem. It wraps [leadkit.ErrInvalid].
type PathError struct {
	// Index is the position of the path in the input slice.
	Index int
	// Field names the offending field ("channels", "conversions", "value",
	// "nulls").
	Field string
	// Reason says what is wrong.
	Reason string
}

// Error implements the error interface.
func (e *PathError) Error() string {
	return fmt.Sprintf("attribution: path %d: %s: %s", e.Index, e.Field, e.Reason)
}

// Unwrap returns [leadkit.ErrInvalid].
func (e *PathError) Unwrap() error { return leadkit.ErrInvalid }

// CSVError is a problem at one place of a path table. Line is 1-based and
// counts the header; Column is the 1-based field number (0 when the problem
// is the whole row or the header); Field is the column's name when known.
// It wraps [leadkit.ErrInvalid].
type CSVError struct {
	Line   int
	Column int
	Field  string
	Reason string
}

// Error implements the error interface.
func (e *CSVError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "attribution: csv line %d", e.Line)
	if e.Column > 0 {
		fmt.Fprintf(&b, ", column %d", e.Column)
	}
	if e.Field != "" {
		fmt.Fprintf(&b, " (%s)", e.Field)
	}
	b.WriteString(": ")
	b.WriteString(e.Reason)
	return b.String()
}

// Unwrap returns [leadkit.ErrInvalid].
func (e *CSVError) Unwrap() error { return leadkit.ErrInvalid }

// TimelineError reports a timeline that could not be used: the lead and the
// reason. It wraps [leadkit.ErrInvalid].
type TimelineError struct {
	LeadID string
	// Event is the ID of the offending event, if any.
	Event  string
	Reason string
}

// Error implements the error interface.
func (e *TimelineError) Error() string {
	if e.Event != "" {
		return fmt.Sprintf("attribution: lead %q: event %q: %s", e.LeadID, e.Event, e.Reason)
	}
	return fmt.Sprintf("attribution: lead %q: %s", e.LeadID, e.Reason)
}

// Unwrap returns [leadkit.ErrInvalid].
func (e *TimelineError) Unwrap() error { return leadkit.ErrInvalid }

// maxErrors bounds how many errors one call reports one by one; the rest
// are counted.
const maxErrors = 20

// errorList collects the problems of one call: the first maxErrors, then
// a count.
type errorList struct {
	errs []error
	more int
}

func (l *errorList) add(err error) {
	if len(l.errs) < maxErrors {
		l.errs = append(l.errs, err)
	} else {
		l.more++
	}
}

// failed reports whether a problem was added.
func (l *errorList) failed() bool { return len(l.errs) > 0 }

// err joins the problems, ending with "attribution: N more <what>" when
// some were only counted; nil when there are none.
func (l *errorList) err(what string) error {
	if l.more == 0 {
		return errors.Join(l.errs...)
	}
	return errors.Join(append(slices.Clip(l.errs), fmt.Errorf("attribution: %w: %d more %s", leadkit.ErrInvalid, l.more, what))...)
}
