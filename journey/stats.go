package journey

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/leadkit/leadkit"
)

// Bin is one bar of a duration histogram: Count values d with
// From <= d < To (the last bin also holds d == To).
type Bin struct {
	From  leadkit.Duration `json:"from"`
	To    leadkit.Duration `json:"to"`
	Count int              `json:"count"`
}

// DurationStats summarises a sample of durations. In JSON its durations
// are text in leadkit's duration grammar ("3d4h", see [leadkit.Duration]).
type DurationStats struct {
	// N is the sample size; every other field is zero when it is zero.
	N    int              `json:"n"`
	Mean leadkit.Duration `json:"mean"`
	// Median is the middle value, or of an even sample the mean of the two
	// middle values. Mean and Median are computed exactly as the stage
	// package's funnel computes them (nanoseconds truncated), so durations
	// agree to the nanosecond. P90 interpolates linearly between order
	// statistics.
	Median leadkit.Duration `json:"median"`
	P90    leadkit.Duration `json:"p90"`
	Min    leadkit.Duration `json:"min"`
	Max    leadkit.Duration `json:"max"`
	// Histogram is the distribution (see [Histogram]).
	Histogram []Bin `json:"histogram,omitempty"`
}

// Summarize returns the statistics of ds with a histogram of bins bins (0:
// automatic, see [Histogram]). ds is not changed.
func Summarize(ds []time.Duration, bins int) DurationStats {
	if len(ds) == 0 {
		return DurationStats{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return DurationStats{
		N:         len(s),
		Mean:      leadkit.Duration(meanSorted(s)),
		Median:    leadkit.Duration(medianSorted(s)),
		P90:       leadkit.Duration(quantileSorted(s, 0.9)),
		Min:       leadkit.Duration(s[0]),
		Max:       leadkit.Duration(s[len(s)-1]),
		Histogram: histogramSorted(s, bins),
	}
}

// meanSorted sums in sorted order, so the result does not depend on the
// order the sample was collected in (shards merged in any order agree). It
// truncates like stagefunnel.MeanMedian.
func meanSorted(s []time.Duration) time.Duration {
	if len(s) == 0 {
		return 0
	}
	var sum float64
	for _, d := range s {
		sum += float64(d)
	}
	return time.Duration(sum / float64(len(s)))
}

// medianSorted is the median of a sorted sample, computed as
// stagefunnel.MeanMedian does.
func medianSorted(s []time.Duration) time.Duration {
	if len(s) == 0 {
		return 0
	}
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return s[m-1] + (s[m]-s[m-1])/2
}

// quantileSorted is the R-7 (linear interpolation) quantile of a sorted
// sample: h = (n-1)p, q = s[floor h] + (h - floor h)(s[floor h + 1] - s[floor h]).
func quantileSorted(s []time.Duration, p float64) time.Duration {
	if len(s) == 0 {
		return 0
	}
	h := float64(len(s)-1) * p
	lo := int(math.Floor(h))
	if lo >= len(s)-1 {
		return s[len(s)-1]
	}
	frac := h - float64(lo)
	return s[lo] + time.Duration(math.Round(frac*float64(s[lo+1]-s[lo])))
}

// MaxBins caps the number of histogram bins.
const MaxBins = 100

// Histogram buckets ds into bins equal-width bins from the smallest to the
// largest value; the width is rounded up to a whole second (at least one
// second). bins <= 0 chooses ceil(cbrt(n)), clamped to [1, MaxBins].
func Histogram(ds []time.Duration, bins int) []Bin {
	s := slices.Clone(ds)
	slices.Sort(s)
	return histogramSorted(s, bins)
}

func histogramSorted(s []time.Duration, bins int) []Bin {
	if len(s) == 0 {
		return nil
	}
	if bins <= 0 {
		bins = int(math.Ceil(math.Cbrt(float64(len(s)))))
	}
	bins = max(1, min(bins, MaxBins))
	lo, hi := s[0], s[len(s)-1]
	width := (hi - lo + time.Duration(bins) - 1) / time.Duration(bins)
	width = (width + time.Second - 1) / time.Second * time.Second
	if width < time.Second {
		width = time.Second
	}
	out := make([]Bin, bins)
	for i := range out {
		out[i] = Bin{From: leadkit.Duration(lo + time.Duration(i)*width), To: leadkit.Duration(lo + time.Duration(i+1)*width)}
	}
	for _, d := range s {
		i := int((d - lo) / width)
		if i >= bins {
			i = bins - 1
		}
		out[i].Count++
	}
	return out
}

// Period is the length of a cohort: leads are grouped by the calendar
// period (in UTC) their start time falls in.
type Period string

// Cohort periods. PeriodNone (the zero value) makes no cohorts.
const (
	PeriodNone    Period = ""
	PeriodDay     Period = "day"
	PeriodWeek    Period = "week" // ISO weeks, starting on Monday
	PeriodMonth   Period = "month"
	PeriodQuarter Period = "quarter"
	PeriodYear    Period = "year"
)

func (p Period) valid() bool {
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

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}
