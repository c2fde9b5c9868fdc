package attribution

import (
	"fmt"
	"strconv"
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
		next := nextPeriod(p, start)
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

// nextPeriod returns the start of the period after the one starting at s.
func nextPeriod(p leadkit.Period, s time.Time) time.Time {
	switch p {
	case leadkit.PeriodDay:
		return s.AddDate(0, 0, 1)
	case leadkit.PeriodWeek:
		return s.AddDate(0, 0, 7)
	case leadkit.PeriodMonth:
		return s.AddDate(0, 1, 0)
	case leadkit.PeriodQuarter:
		return s.AddDate(0, 3, 0)
	}
	return s.AddDate(1, 0, 0)
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

// parsePeriodLabel reads s as the label of a calendar period, as
// leadkit.Period.Cohort writes it: "2026" (year), "2026-Q1" (quarter),
// "2026-03" (month), "2026-W09" (ISO week), "2026-03-02" (day). With want
// set, s must be a label of that kind, or the first day of such a period
// ("2026-01-01" for 2026-Q1). It returns the period's kind and start.
func parsePeriodLabel(s string, want leadkit.Period) (leadkit.Period, time.Time, error) {
	bad := func(format string, args ...any) (leadkit.Period, time.Time, error) {
		return "", time.Time{}, fmt.Errorf("period %q: %s", text.Clip(s, 64), fmt.Sprintf(format, args...))
	}
	digits := func(t string) (int, bool) {
		if t == "" {
			return 0, false
		}
		for i := 0; i < len(t); i++ {
			if t[i] < '0' || t[i] > '9' {
				return 0, false
			}
		}
		n, err := strconv.Atoi(t)
		return n, err == nil
	}
	if s == "" {
		return bad("no period")
	}
	var (
		kind  leadkit.Period
		start time.Time
	)
	y, ok := digits(s[:min(4, len(s))])
	if !ok || len(s) < 4 {
		return bad("want a label such as 2026, 2026-Q1, 2026-03, 2026-W09 or 2026-03-02")
	}
	rest := s[4:]
	switch {
	case rest == "":
		kind, start = leadkit.PeriodYear, time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC)
	case len(rest) == 3 && rest[:2] == "-Q":
		q, ok := digits(rest[2:])
		if !ok || q < 1 || q > 4 {
			return bad("no quarter %s", rest[2:])
		}
		kind, start = leadkit.PeriodQuarter, time.Date(y, time.Month(3*q-2), 1, 0, 0, 0, 0, time.UTC)
	case len(rest) == 4 && rest[:2] == "-W":
		w, ok := digits(rest[2:])
		if !ok || w < 1 || w > 53 {
			return bad("no week %s", rest[2:])
		}
		// ISO week 1 holds January 4th; weeks start on Monday.
		jan4 := time.Date(y, 1, 4, 0, 0, 0, 0, time.UTC)
		monday := jan4.AddDate(0, 0, -((int(jan4.Weekday()) + 6) % 7))
		kind, start = leadkit.PeriodWeek, monday.AddDate(0, 0, 7*(w-1))
	case len(rest) == 3 && rest[0] == '-':
		m, ok := digits(rest[1:])
		if !ok || m < 1 || m > 12 {
			return bad("no month %s", rest[1:])
		}
		kind, start = leadkit.PeriodMonth, time.Date(y, time.Month(m), 1, 0, 0, 0, 0, time.UTC)
	case len(rest) == 6 && rest[0] == '-' && rest[3] == '-':
		t, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return bad("not a date")
		}
		kind, start = leadkit.PeriodDay, t
	default:
		return bad("want a label such as 2026, 2026-Q1, 2026-03, 2026-W09 or 2026-03-02")
	}
	if !leadkit.ValidTime(start) {
		return bad("outside %s", leadkit.TimeRange)
	}
	// A label must be the one Cohort writes (week 53 of a year with 52
	// is not).
	if _, label := kind.Cohort(start); label != s {
		return bad("not a %s label (%s is %s)", kind, leadkit.FormatDate(start), label)
	}
	if want != leadkit.PeriodNone && kind != want {
		if kind == leadkit.PeriodDay {
			// The first day of a period of kind want.
			if ws, _ := want.Cohort(start); ws.Equal(start) && leadkit.ValidTime(nextPeriod(want, start)) {
				return want, start, nil
			}
			_, label := want.Cohort(start)
			return bad("is not the first day of a %s (it falls in %s)", want, label)
		}
		return bad("is a %s, the table is by %s", kind, want)
	}
	return kind, start, nil
}
