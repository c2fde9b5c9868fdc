package stats_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/leadkit/leadkit/internal/stats"
	"github.com/stretchr/testify/assert"
)

func TestMeanMedian(t *testing.T) {
	for _, c := range []struct {
		in           []time.Duration
		mean, median time.Duration
	}{
		{nil, 0, 0},
		{[]time.Duration{5}, 5, 5},
		{[]time.Duration{3, 1, 2}, 2, 2},
		{[]time.Duration{2, 1}, 1, 1}, // 1.5 truncates to 1 in both
		{[]time.Duration{10, 0, 4, 6}, 5, 5},
	} {
		in := append([]time.Duration(nil), c.in...)
		mean, median := stats.MeanMedian(c.in)
		assert.Equal(t, c.mean, mean, "%v", c.in)
		assert.Equal(t, c.median, median, "%v", c.in)
		assert.Equal(t, in, c.in, "the input is not changed")
	}
}

func ExampleMeanMedian() {
	mean, median := stats.MeanMedian([]time.Duration{48 * time.Hour, 0, 24 * time.Hour, 12 * time.Hour})
	fmt.Println(mean, median)
	// Output: 21h0m0s 18h0m0s
}
