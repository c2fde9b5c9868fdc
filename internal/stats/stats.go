// Package stats holds the summary statistics every leadkit package computes
// the same way, so that a stage funnel's conversion times and a journey's
// cycle times agree to the nanosecond.
package stats

import (
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

// MeanSorted is the mean of a sorted sample, summed in sorted order so the
// result does not depend on the order the sample was collected in (shards
// merged in any order agree), truncated to the nanosecond; 0 for none.
func MeanSorted(s []time.Duration) time.Duration {
	if len(s) == 0 {
		return 0
	}
	var sum float64
	for _, d := range s {
		sum += float64(d)
	}
	return time.Duration(sum / float64(len(s)))
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
