package journey

import (
	"math"
	"slices"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/stats"
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
		Mean:      leadkit.Duration(stats.MeanSorted(s)),
		Median:    leadkit.Duration(stats.MedianSorted(s)),
		P90:       leadkit.Duration(quantileSorted(s, 0.9)),
		Min:       leadkit.Duration(s[0]),
		Max:       leadkit.Duration(s[len(s)-1]),
		Histogram: histogramSorted(s, bins),
	}
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

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}
