package journey

import (
	"math"
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
	// statistics. In a funnel's TimeToConvert past its spec's Quantiles
	// threshold, N, Mean, Min and Max stay exact while Median and P90 lie
	// within the sketch's accuracy (1% by default) of the exact ones and
	// the histogram's counts are the sketch's (see [leadkit.Quantiles]);
	// the same holds for the statistics of [CycleTimes] past 1,024 leads
	// (the default threshold).
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
	s := stats.ExactOf(ds)
	return summarize(&s, bins)
}

// summarize is Summarize over a summary: exact when s keeps its
// durations; past its threshold the median and P90 are the sketch's
// (within its accuracy of the exact ones) and the histogram counts each
// sketch bucket in the bin of its representative value, so a bin's count
// may include durations within the accuracy beyond its edges.
func summarize(s *stats.Summary, bins int) DurationStats {
	if s.N() == 0 {
		return DurationStats{}
	}
	return DurationStats{
		N:         s.N(),
		Mean:      leadkit.Duration(s.Mean()),
		Median:    leadkit.Duration(s.Median()),
		P90:       leadkit.Duration(s.Quantile(0.9)),
		Min:       leadkit.Duration(s.Min()),
		Max:       leadkit.Duration(s.Max()),
		Histogram: histogram(s, bins),
	}
}

// MaxBins caps the number of histogram bins.
const MaxBins = 100

// Histogram buckets ds into bins equal-width bins from the smallest to the
// largest value; the width is rounded up to a whole second (at least one
// second). bins <= 0 chooses ceil(cbrt(n)), clamped to [1, MaxBins].
func Histogram(ds []time.Duration, bins int) []Bin {
	s := stats.ExactOf(ds)
	return histogram(&s, bins)
}

func histogram(s *stats.Summary, bins int) []Bin {
	if s.N() == 0 {
		return nil
	}
	if bins <= 0 {
		bins = int(math.Ceil(math.Cbrt(float64(s.N()))))
	}
	bins = max(1, min(bins, MaxBins))
	lo, hi := s.Min(), s.Max()
	width := (hi - lo + time.Duration(bins) - 1) / time.Duration(bins)
	width = (width + time.Second - 1) / time.Second * time.Second
	if width < time.Second {
		width = time.Second
	}
	out := make([]Bin, bins)
	for i := range out {
		out[i] = Bin{From: leadkit.Duration(lo + time.Duration(i)*width), To: leadkit.Duration(lo + time.Duration(i+1)*width)}
	}
	s.Each(func(d time.Duration, count int) {
		i := int((d - lo) / width)
		if i >= bins {
			i = bins - 1
		}
		out[i].Count += count
	})
	return out
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}
