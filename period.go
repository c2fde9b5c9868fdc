package leadkit

import (
	"fmt"
	"strconv"
	"time"

	"github.com/leadkit/leadkit/internal/text"
)

// Period is a calendar period in UTC: the length of a cohort (leads
// grouped by the period their start time falls in, in stage funnels and
// journey's cycle times), of a report's rows (ROI per quarter, the pool's
// metrics per month) and of a cost table's rows. (Scoring's frequency
// limits have their own scoring.Period, which adds "ever".)
type Period string

// Calendar periods. PeriodNone (the zero value) is no period: no cohorts.
const (
	PeriodNone    Period = ""
	PeriodDay     Period = "day"
	PeriodWeek    Period = "week" // ISO weeks, starting on Monday
	PeriodMonth   Period = "month"
	PeriodQuarter Period = "quarter"
	PeriodYear    Period = "year"
)

// Valid reports whether p is one of the periods above.
func (p Period) Valid() bool {
	switch p {
	case PeriodNone, PeriodDay, PeriodWeek, PeriodMonth, PeriodQuarter, PeriodYear:
		return true
	}
	return false
}

// Cohort returns the start (UTC) and label of the period t falls in:
// "2026-03-01" for a day, "2026-W09" for a week, "2026-03" for a month,
// "2026-Q1" for a quarter, "2026" for a year, and "" for PeriodNone.
func (p Period) Cohort(t time.Time) (start time.Time, label string) {
	t = t.UTC()
	y, m, d := t.Date()
	switch p {
	case PeriodDay:
		s := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
		return s, s.Format("2006-01-02")
	case PeriodWeek:
		wd := (int(t.Weekday()) + 6) % 7 // Monday = 0
		s := time.Date(y, m, d-wd, 0, 0, 0, 0, time.UTC)
		iy, iw := s.ISOWeek()
		return s, fmt.Sprintf("%04d-W%02d", iy, iw)
	case PeriodMonth:
		s := time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
		return s, s.Format("2006-01")
	case PeriodQuarter:
		q := (int(m) - 1) / 3
		s := time.Date(y, time.Month(q*3+1), 1, 0, 0, 0, 0, time.UTC)
		return s, fmt.Sprintf("%04d-Q%d", y, q+1)
	case PeriodYear:
		s := time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC)
		return s, fmt.Sprintf("%04d", y)
	}
	return time.Time{}, ""
}

// Next returns the start of the period after the one that starts at
// start (a start Cohort returned).
func (p Period) Next(start time.Time) time.Time {
	switch p {
	case PeriodDay:
		return start.AddDate(0, 0, 1)
	case PeriodWeek:
		return start.AddDate(0, 0, 7)
	case PeriodMonth:
		return start.AddDate(0, 1, 0)
	case PeriodQuarter:
		return start.AddDate(0, 3, 0)
	}
	return start.AddDate(1, 0, 0)
}

// ParsePeriod reads s as the label of a calendar period, as
// Period.Cohort writes it: "2026" (year), "2026-Q1" (quarter),
// "2026-03" (month), "2026-W09" (ISO week), "2026-03-02" (day). With want
// set, s must be a label of that kind, or the first day of such a period
// ("2026-01-01" for 2026-Q1). It returns the period's kind and start;
// any other text is an error wrapping ErrInvalid.
func ParsePeriod(s string, want Period) (Period, time.Time, error) {
	bad := func(format string, args ...any) (Period, time.Time, error) {
		return "", time.Time{}, &periodError{fmt.Sprintf("period %q: %s", text.Clip(s, 64), fmt.Sprintf(format, args...))}
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
		kind  Period
		start time.Time
	)
	y, ok := digits(s[:min(4, len(s))])
	if !ok || len(s) < 4 {
		return bad("want a label such as 2026, 2026-Q1, 2026-03, 2026-W09 or 2026-03-02")
	}
	rest := s[4:]
	switch {
	case rest == "":
		kind, start = PeriodYear, time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC)
	case len(rest) == 3 && rest[:2] == "-Q":
		q, ok := digits(rest[2:])
		if !ok || q < 1 || q > 4 {
			return bad("no quarter %s", rest[2:])
		}
		kind, start = PeriodQuarter, time.Date(y, time.Month(3*q-2), 1, 0, 0, 0, 0, time.UTC)
	case len(rest) == 4 && rest[:2] == "-W":
		w, ok := digits(rest[2:])
		if !ok || w < 1 || w > 53 {
			return bad("no week %s", rest[2:])
		}
		// ISO week 1 holds January 4th; weeks start on Monday.
		jan4 := time.Date(y, 1, 4, 0, 0, 0, 0, time.UTC)
		monday := jan4.AddDate(0, 0, -((int(jan4.Weekday()) + 6) % 7))
		kind, start = PeriodWeek, monday.AddDate(0, 0, 7*(w-1))
	case len(rest) == 3 && rest[0] == '-':
		m, ok := digits(rest[1:])
		if !ok || m < 1 || m > 12 {
			return bad("no month %s", rest[1:])
		}
		kind, start = PeriodMonth, time.Date(y, time.Month(m), 1, 0, 0, 0, 0, time.UTC)
	case len(rest) == 6 && rest[0] == '-' && rest[3] == '-':
		t, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return bad("not a date")
		}
		kind, start = PeriodDay, t
	default:
		return bad("want a label such as 2026, 2026-Q1, 2026-03, 2026-W09 or 2026-03-02")
	}
	if !ValidTime(start) {
		return bad("outside %s", TimeRange)
	}
	// A label must be the one Cohort writes (week 53 of a year with 52
	// is not).
	if _, label := kind.Cohort(start); label != s {
		return bad("not a %s label (%s is %s)", kind, FormatDate(start), label)
	}
	if want != PeriodNone && kind != want {
		if kind == PeriodDay {
			// The first day of a period of kind want.
			if ws, _ := want.Cohort(start); ws.Equal(start) {
				return want, start, nil
			}
			_, label := want.Cohort(start)
			return bad("is not the first day of a %s (it falls in %s)", want, label)
		}
		return bad("is a %s, not a %s", kind, want)
	}
	return kind, start, nil
}

// periodError is a bad period label: its message names the label (callers
// add where it was), and it wraps ErrInvalid.
type periodError struct{ msg string }

func (e *periodError) Error() string { return e.msg }
func (e *periodError) Unwrap() error { return ErrInvalid }
