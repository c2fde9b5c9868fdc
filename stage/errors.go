package stage

import (
	"errors"
	"fmt"
	"strings"

	"github.com/leadkit/leadkit"
)

// Conditions of a failed transition, beside the leadkit sentinels. A
// *TransitionError wraps one of these and the matching leadkit sentinel, so
// errors.Is works with either.
var (
	// ErrUnknownTransition: no transition has that name (also ErrInvalid; not
	// ErrNotFound, which is kept for an unknown subject).
	ErrUnknownTransition = errors.New("stage: unknown transition")
	// ErrNotAllowed: the transition does not leave from the current stage,
	// would move the subject back while forward-only, lacks a required reason
	// code, or names an unknown sub-status (also ErrInvalid).
	ErrNotAllowed = errors.New("stage: transition not allowed")
	// ErrGuardFailed: the transition's guard is false on the facts given
	// (also ErrInvalid).
	ErrGuardFailed = errors.New("stage: guard does not hold")
	// ErrVetoed: an entry or exit hook refused the change; the hook's error
	// is wrapped too.
	ErrVetoed = errors.New("stage: vetoed by hook")
)

// TransitionError describes a change that was refused. Nothing was written.
type TransitionError struct {
	Key        Key
	Transition string // the transition's name, when one was involved
	From, To   string // the current stage and the target, when known
	Msg        string // what went wrong, for people
	// Err is the condition: ErrUnknownTransition, ErrNotAllowed,
	// ErrGuardFailed, ErrVetoed, or a leadkit sentinel (ErrNotFound for an
	// unknown subject, ErrConflict for a stale version).
	Err error
	// Cause is the underlying error, e.g. a hook's or a guard's.
	Cause error
}

// Error describes the refused change: subject, pipeline, transition,
// stages, what went wrong and the cause.
func (e *TransitionError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "stage: %s in pipeline %q", e.Key.Subject, e.Key.Pipeline)
	if e.Transition != "" {
		fmt.Fprintf(&b, ": transition %q", e.Transition)
	}
	if e.From != "" || e.To != "" {
		fmt.Fprintf(&b, " (%s -> %s)", orDash(e.From), orDash(e.To))
	}
	if e.Msg != "" {
		b.WriteString(": " + e.Msg)
	}
	if e.Cause != nil {
		b.WriteString(": " + e.Cause.Error())
	}
	return b.String()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// Unwrap returns the condition, the leadkit sentinel it implies and the
// cause.
func (e *TransitionError) Unwrap() []error {
	errs := []error{e.Err}
	switch e.Err {
	case ErrUnknownTransition, ErrNotAllowed, ErrGuardFailed:
		errs = append(errs, leadkit.ErrInvalid)
	}
	if e.Cause != nil {
		errs = append(errs, e.Cause)
	}
	return errs
}

// DefinitionError is one problem in a Definition found by New. New returns
// all of them joined with errors.Join; each wraps leadkit.ErrInvalid.
type DefinitionError struct {
	// Where locates the problem: `stage "MQL"`, `transition "qualify"`,
	// `transition "qualify" guard`, `initial`, `facts "score"`.
	Where string
	// Line and Column locate a guard error in the guard (1-based); zero
	// otherwise.
	Line, Column int
	Msg          string
}

// Error formats the problem with its location.
func (e *DefinitionError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("stage: %s: line %d, column %d: %s", e.Where, e.Line, e.Column, e.Msg)
	}
	return fmt.Sprintf("stage: %s: %s", e.Where, e.Msg)
}

// Unwrap returns leadkit.ErrInvalid.
func (e *DefinitionError) Unwrap() error { return leadkit.ErrInvalid }
