package leadkit

import (
	"fmt"
	"time"
)

// Period is a calendar period in UTC: the length of a cohort (leads
// grouped by the period their start time falls in), in stage funnels and
// journey's cycle times. (Scoring's frequency limits have their own
// scoring.Period, which adds "ever".)
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
