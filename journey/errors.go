package journey

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/text"
	"github.com/leadkit/leadkit/stage"
)

// The errors of this package wrap the leadkit sentinels, so callers test
// conditions with errors.Is(err, leadkit.ErrInvalid) whatever the
// calculator; the typed errors below carry the location of a problem for
// programs. Messages start with "journey: ", name what and where, and put
// the cause last.

// StepError reports a step that cannot be compiled. It wraps
// [leadkit.ErrInvalid]; Line and Column locate the problem in When (1-based,
// columns counted in runes; zero when it is not in the expression).
type StepError struct {
	Step   string // the step's name
	Index  int    // 1-based position in FunnelSpec.Steps
	Field  string // "name", "types" or "when"
	Line   int
	Column int
	Err    error
}

// Error formats the problem as "journey: step N \"name\": field: message".
func (e *StepError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "journey: step %d", e.Index)
	if e.Step != "" {
		fmt.Fprintf(&b, " %q", text.Clip(e.Step, 64))
	}
	fmt.Fprintf(&b, ": %s: %v", e.Field, e.Err)
	return b.String()
}

// Unwrap returns leadkit.ErrInvalid and the underlying error.
func (e *StepError) Unwrap() []error { return []error{leadkit.ErrInvalid, e.Err} }

// PathError reports an item that a path or pattern calculator refuses
// ([PathAccumulator.Add], [PatternAccumulator.Add], [MinePatterns],
// [MineTimedPatterns], [GoldenPaths]): an empty item, one that is not
// valid text or is over [leadkit.MaxStringBytes], or, in a path, one of the
// markers [PathStart] and [PathEnd]. It wraps [leadkit.ErrInvalid].
type PathError struct {
	// Where names the path: "path", "sequence 3", "other sequence 2"
	// (1-based positions in the input).
	Where string
	// Item is the 1-based position of the item in the path and Value the
	// item.
	Item  int
	Value string
	// Msg is what is wrong with it.
	Msg string
}

// Error formats the problem as "journey: where: item N \"value\": message".
func (e *PathError) Error() string {
	return fmt.Sprintf("journey: %s: item %d %q: %s", e.Where, e.Item, text.Clip(e.Value, 64), e.Msg)
}

// Unwrap returns leadkit.ErrInvalid.
func (e *PathError) Unwrap() error { return leadkit.ErrInvalid }

// errorList collects errors up to a cap and counts the rest.
type errorList struct {
	errs []error
	more int
}

// maxErrors is the most errors a calculator reports one by one; the rest
// are counted.
const maxErrors = 10

func (l *errorList) add(err error) {
	switch {
	case err == nil:
	case len(l.errs) < maxErrors:
		l.errs = append(l.errs, err)
	default:
		l.more++
	}
}

func (l *errorList) err() error {
	if l.more > 0 {
		return errors.Join(append(slices.Clone(l.errs), fmt.Errorf("journey: and %d more errors", l.more))...)
	}
	return errors.Join(l.errs...)
}

// validVisit checks the i-th stage visit an analysis reads.
func validVisit(i int, v stage.Visit) error {
	if err := v.Validate(); err != nil {
		return fmt.Errorf("journey: stage entry %d: %w", i, err)
	}
	return nil
}

// checkNames checks a list of names an option holds (event types, stage
// names): at most limit of them (over it, the list is not checked item by
// item), each non-empty valid text of at most [leadkit.MaxNameBytes].
// noun names the list in the count ("types", "closed stages"), field its
// items ("types[3]").
func checkNames(what, field, noun string, names []string, limit int, errs *errorList) {
	if len(names) > limit {
		errs.add(fmt.Errorf("journey: %s: %w: %d %s, at most %d", what, leadkit.ErrInvalid, len(names), noun, limit))
		return
	}
	for i, n := range names {
		msg := leadkit.CheckText(n, leadkit.MaxNameBytes)
		if n == "" {
			msg = "empty"
		}
		if msg != "" {
			errs.add(fmt.Errorf("journey: %s: %w: %s[%d]: %s", what, leadkit.ErrInvalid, field, i, msg))
		}
	}
}

// checkTime checks a time an option holds: zero (not set) or in leadkit's
// time range, so that a result that repeats it encodes.
func checkTime(what, name string, t time.Time, errs *errorList) {
	if !t.IsZero() && !leadkit.ValidTime(t) {
		errs.add(fmt.Errorf("journey: %s: %w: %s %s is outside %s", what, leadkit.ErrInvalid, name, t.UTC().Format(time.RFC3339), leadkit.TimeRange))
	}
}

// checkDuration checks a duration an option holds: from 0 (or from
// -leadkit.MaxDuration when negative is allowed) to leadkit.MaxDuration,
// so that the duration grammar writes it and reads it back.
func checkDuration(what, name string, d time.Duration, negative bool, errs *errorList) {
	switch {
	case d < 0 && !negative:
		errs.add(fmt.Errorf("journey: %s: %w: %s %v is negative", what, leadkit.ErrInvalid, name, d))
	case d > leadkit.MaxDuration || d < -leadkit.MaxDuration:
		errs.add(fmt.Errorf("journey: %s: %w: %s %s: at most %s", what, leadkit.ErrInvalid, name, leadkit.FormatDuration(d), leadkit.FormatDuration(leadkit.MaxDuration)))
	}
}
