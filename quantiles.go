package leadkit

import (
	"fmt"
	"math"
)

// Quantiles says how a mergeable accumulator keeps the durations behind
// its medians (and other quantiles): the stage funnel's conversion times,
// the journey funnel's step times and time to convert, the time to the
// first work touch, the pool's time to graduate. It is a field of those
// specs (stage.FunnelSpec, journey.FunnelSpec, journey.WorkSpec,
// pool.MetricsSpec); its zero value is the default, the same in every
// package, and the one journey's cycle times (journey.CycleAccumulator,
// and so journey.CycleTimes and lifecycle.Verify's Cycle) are kept at.
//
// A sample of up to Exact durations is kept whole, and its median is
// exact. Past Exact the durations are counted in a DDSketch (a histogram
// with logarithmic buckets, github.com/DataDog/sketches-go's mapping) of
// relative accuracy Accuracy: each order statistic it reports lies within
// Accuracy (relatively, then rounded to the nanosecond) of the true
// sample value of that rank, so a median (the mean of the two middle
// values of an even sample) lies within Accuracy of the exact median, and
// the memory of one sample no longer grows with its size (a few
// kilobytes, whatever the number of leads). The count, mean, minimum and
// maximum stay exact in both modes. Which mode a sample is in depends on
// its size alone, never on the order durations were added or
// accumulators merged, so results are the same byte for byte however the
// input was split into shards.
type Quantiles struct {
	// Exact is the largest sample kept whole (8 bytes per duration);
	// zero means DefaultQuantileExact, at most MaxQuantileExact.
	Exact int `json:"exact,omitempty"`
	// Accuracy is the relative accuracy of the quantiles of a larger
	// sample; zero means DefaultQuantileAccuracy, otherwise in
	// [MinQuantileAccuracy, MaxQuantileAccuracy].
	Accuracy float64 `json:"accuracy,omitempty"`
}

// The defaults and caps of [Quantiles].
const (
	// DefaultQuantileExact keeps samples of up to 1,024 durations whole:
	// 8 KiB, about the size of the sketch that replaces them (durations
	// from seconds to a year at 1% take some 700 buckets). Past it the
	// median's own sampling error (about 4% of the spread at 1,000) dwarfs
	// the sketch's 1%.
	DefaultQuantileExact = 1024
	// MaxQuantileExact caps Quantiles.Exact (512 KiB per sample).
	MaxQuantileExact = 1 << 16
	// DefaultQuantileAccuracy is 1%: a median within 1% of the exact one.
	DefaultQuantileAccuracy = 0.01
	// MinQuantileAccuracy and MaxQuantileAccuracy bound
	// Quantiles.Accuracy: 0.1% needs ten times the buckets of 1% (at most
	// about 22,000, 175 KiB per sample, for durations from a nanosecond
	// to MaxDuration).
	MinQuantileAccuracy = 0.001
	MaxQuantileAccuracy = 0.1
)

// Resolved returns q with its zero fields set to the defaults.
func (q Quantiles) Resolved() Quantiles {
	if q.Exact == 0 {
		q.Exact = DefaultQuantileExact
	}
	if q.Accuracy == 0 {
		q.Accuracy = DefaultQuantileAccuracy
	}
	return q
}

// Validate checks q against the caps; the error wraps [ErrInvalid].
func (q Quantiles) Validate() error {
	switch {
	case q.Exact < 0 || q.Exact > MaxQuantileExact:
		return fmt.Errorf("%w: quantiles: exact %d out of range [0, %d]", ErrInvalid, q.Exact, MaxQuantileExact)
	case math.IsNaN(q.Accuracy) || q.Accuracy != 0 && (q.Accuracy < MinQuantileAccuracy || q.Accuracy > MaxQuantileAccuracy):
		return fmt.Errorf("%w: quantiles: accuracy %g out of range [%g, %g] (0: the default %g)", ErrInvalid, q.Accuracy,
			MinQuantileAccuracy, MaxQuantileAccuracy, DefaultQuantileAccuracy)
	}
	return nil
}
