package attribution

import (
	"fmt"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/text"
)

// MaxROIPeriods caps the calendar periods of an ROI report or of [Spans].
const MaxROIPeriods = 1000

// Span is one calendar period of a report: its label as
// leadkit.Period.Cohort writes it ("2026-Q1") and its bounds [Start, End),
// clipped to the report's range.
type Span struct {
	Label string    `json:"label"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// Spans cuts [from, to) into the calendar periods p, the first and last
// clipped to from and to: the periods of a report per quarter. At most
// [MaxROIPeriods]; errors wrap [leadkit.ErrInvalid].
func Spans(p leadkit.Period, from, to time.Time) ([]Span, error) {
	out, reason := spans(p, from, to)
	if reason != "" {
		return nil, fmt.Errorf("attribution: periods: %w: %s", leadkit.ErrInvalid, reason)
	}
	return out, nil
}

// spans is Spans, saying what is wrong instead of an error.
func spans(p leadkit.Period, from, to time.Time) ([]Span, string) {
	switch {
	case p == leadkit.PeriodNone:
		return nil, `no period (want "day", "week", "month", "quarter" or "year")`
	case !p.Valid():
		return nil, fmt.Sprintf(`unknown period %q (want "day", "week", "month", "quarter" or "year")`, text.Clip(string(p), 64))
	case !leadkit.ValidTime(from) || !leadkit.ValidTime(to):
		return nil, fmt.Sprintf("from %s and to %s must fall in %s", from.Format(time.RFC3339), to.Format(time.RFC3339), leadkit.TimeRange)
	case !to.After(from):
		return nil, fmt.Sprintf("to %s is not after from %s", to.Format(time.RFC3339), from.Format(time.RFC3339))
	}
	from, to = from.UTC(), to.UTC()
	var out []Span
	start, label := p.Cohort(from)
	for start.Before(to) {
		if len(out) == MaxROIPeriods {
			return nil, fmt.Sprintf("more than %d %s periods from %s to %s (MaxROIPeriods)", MaxROIPeriods, p, from.Format(time.RFC3339), to.Format(time.RFC3339))
		}
		next := p.Next(start)
		out = append(out, Span{Label: label, Start: maxTime(start, from), End: minTime(next, to)})
		start, label = p.Cohort(next)
	}
	return out, ""
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// nests reports whether every period of kind inner lies within one period
// of kind outer (a month in a quarter; a week in no month).
func nests(inner, outer leadkit.Period) bool {
	if inner == outer || inner == leadkit.PeriodDay {
		return true
	}
	switch inner {
	case leadkit.PeriodMonth:
		return outer == leadkit.PeriodQuarter || outer == leadkit.PeriodYear
	case leadkit.PeriodQuarter:
		return outer == leadkit.PeriodYear
	}
	return false
}
