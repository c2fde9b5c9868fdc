package scoring

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/leadkit/leadkit"
)

// Errors of the package. Every one wraps [leadkit.ErrInvalid] or
// [leadkit.ErrNotFound] (unknown thresholds, dimensions and bands).

// ErrOutOfOrder reports an event older than the latest event applied to a
// State (or a read before it): rebuild the state with [Model.StateOf]. It
// wraps [leadkit.ErrInvalid].
var ErrOutOfOrder = fmt.Errorf("scoring: %w: event out of order", leadkit.ErrInvalid)

// RuleError is a problem with one part of a model, or a run-time failure of
// one rule for one lead. It wraps [leadkit.ErrInvalid].
type RuleError struct {
	// LeadID is set for run-time errors.
	LeadID string
	// Dimension, Rule and Part locate the problem: Part is the field of the
	// rule, e.g. "when", "points", "decay".
	Dimension string
	Rule      string
	Part      string
	// Line and Column locate an expression error (1-based, 0 if unknown).
	Line, Column int
	Msg          string
}

// Error formats the problem with its lead, dimension, rule, part and
// position.
func (e *RuleError) Error() string {
	var b strings.Builder
	b.WriteString("scoring: ")
	if e.LeadID != "" {
		fmt.Fprintf(&b, "lead %q: ", e.LeadID)
	}
	if e.Dimension != "" {
		fmt.Fprintf(&b, "dimension %q: ", e.Dimension)
	}
	if e.Rule != "" {
		fmt.Fprintf(&b, "rule %q: ", e.Rule)
	}
	if e.Part != "" {
		b.WriteString(e.Part + ": ")
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d, column %d: ", e.Line, e.Column)
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap returns [leadkit.ErrInvalid].
func (e *RuleError) Unwrap() error { return leadkit.ErrInvalid }

// CompareError is a lead that one of the compared models failed to score.
//
// In JSON it is an object whose "error" holds Err's message; decoding
// restores Err as an error with that message only (not its type).
type CompareError struct {
	// Index is the lead's position in the input, LeadID its ID.
	Index  int    `json:"index"`
	LeadID string `json:"lead_id"`
	// Model is "a" or "b"; Name and Version identify that model.
	Model   string `json:"model"`
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
	// Err is the scoring error (usually a *RuleError).
	Err error `json:"-"`
}

// compareErrorJSON is CompareError with Err as its message.
type compareErrorJSON struct {
	Index   int    `json:"index"`
	LeadID  string `json:"lead_id"`
	Model   string `json:"model"`
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
	Error   string `json:"error"`
}

// MarshalJSON writes Err as its message.
func (e CompareError) MarshalJSON() ([]byte, error) {
	j := compareErrorJSON{Index: e.Index, LeadID: e.LeadID, Model: e.Model, Name: e.Name, Version: e.Version}
	if e.Err != nil {
		j.Error = e.Err.Error()
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads what MarshalJSON writes; Err becomes an error with
// the message written.
func (e *CompareError) UnmarshalJSON(b []byte) error {
	var j compareErrorJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*e = CompareError{Index: j.Index, LeadID: j.LeadID, Model: j.Model, Name: j.Name, Version: j.Version}
	if j.Error != "" {
		e.Err = errors.New(j.Error)
	}
	return nil
}

// Error names the input, the model and the cause.
func (e *CompareError) Error() string {
	return fmt.Sprintf("scoring: compare: input %d (lead %q): model %s (%s %s): %v", e.Index, e.LeadID, e.Model, e.Name, e.Version, e.Err)
}

// Unwrap returns the scoring error.
func (e *CompareError) Unwrap() error { return e.Err }

// BatchError reports the leads of a batch that failed to score; every
// other lead was scored. errors.As finds the per-lead *RuleError values
// and errors.Is matches [leadkit.ErrInvalid].
type BatchError struct {
	// Errs has one entry per input: nil where the lead scored.
	Errs []error
	// Failed is the number of non-nil entries.
	Failed int
}

// Error summarizes the failures and shows the first.
func (e *BatchError) Error() string {
	for i, err := range e.Errs {
		if err != nil {
			return fmt.Sprintf("scoring: batch: %d of %d leads failed; input %d: %v", e.Failed, len(e.Errs), i, err)
		}
	}
	return fmt.Sprintf("scoring: batch: %d of %d leads failed", e.Failed, len(e.Errs))
}

// Unwrap returns the per-lead errors (the non-nil entries, in input order).
func (e *BatchError) Unwrap() []error {
	out := make([]error, 0, e.Failed)
	for _, err := range e.Errs {
		if err != nil {
			out = append(out, err)
		}
	}
	return out
}
