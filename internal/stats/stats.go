// Package stats holds the summary statistics every leadkit package computes
// the same way, so that a stage funnel's conversion times and a journey's
// cycle times agree to the nanosecond.
package stats

import (
	"math"
	"math/bits"
	"slices"
	"time"
)

// MeanMedian returns the mean and median of ds (zero for none); the median
// of an even sample is the mean of the two middle values. ds is not changed.
func MeanMedian(ds []time.Duration) (mean, median time.Duration) {
	s := slices.Clone(ds)
	slices.Sort(s)
	return MeanSorted(s), MedianSorted(s)
}

// MeanSorted is the mean of a sample, truncated toward zero to the
// nanosecond (0 for none). The sum is exact (128 bits of nanoseconds), so
// the mean does not depend on the order the sample was collected or
// sorted in: shards merged in any order agree, and a [Summary] past its
// exact threshold, which keeps the same sum, gives the same mean. (Until
// the sketches came, the sum was a float64 taken in sorted order: the
// same up to rounding.)
func MeanSorted(s []time.Duration) time.Duration {
	if len(s) == 0 {
		return 0
	}
	var hi, lo uint64 // two's complement
	for _, d := range s {
		var c uint64
		lo, c = bits.Add64(lo, uint64(d), 0)
		hi += c
		if d < 0 {
			hi-- // sign extension
		}
	}
	n := uint64(len(s))
	if int64(hi) >= 0 {
		return div128(hi, lo, n)
	}
	lo, c := bits.Add64(^lo, 1, 0) // |sum|
	hi = ^hi + c
	return -div128(hi, lo, n)
}

// MedianSorted is the median of a sorted sample: the middle value, or the
// mean of the two middle values of an even sample; 0 for none.
func MedianSorted(s []time.Duration) time.Duration {
	if len(s) == 0 {
		return 0
	}
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return s[m-1] + (s[m]-s[m-1])/2
}

// QuantileSorted is the R-7 (linear interpolation) quantile of a sorted
// sample for q in [0, 1]: h = (n-1)q, s[floor h] + (h - floor h)(s[floor h + 1] - s[floor h]),
// rounded to the nanosecond; 0 for none.
func QuantileSorted(s []time.Duration, q float64) time.Duration {
	if len(s) == 0 {
		return 0
	}
	h := float64(len(s)-1) * q
	lo := int(math.Floor(h))
	if lo >= len(s)-1 {
		return s[len(s)-1]
	}
	frac := h - float64(lo)
	return s[lo] + time.Duration(math.Round(frac*float64(s[lo+1]-s[lo])))
}
