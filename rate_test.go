package leadkit_test

import (
	"encoding/json"
	"fmt"
	"math"
	"testing"

	"github.com/leadkit/leadkit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// wilsonByDefinition finds the interval's ends as the proportions p whose
// score test accepts the observed rate: |phat - p| = z sqrt(p(1-p)/n),
// solved by bisection on each side of phat (an independent route to the
// closed form).
func wilsonByDefinition(k, n int) (float64, float64) {
	const z = 1.959963984540054
	phat := float64(k) / float64(n)
	f := func(p float64) float64 { return math.Abs(phat-p) - z*math.Sqrt(p*(1-p)/float64(n)) }
	solve := func(lo, hi float64) float64 { // f(lo) and f(hi) of opposite signs
		for range 200 {
			mid := (lo + hi) / 2
			if (f(mid) > 0) == (f(lo) > 0) {
				lo = mid
			} else {
				hi = mid
			}
		}
		return (lo + hi) / 2
	}
	low, high := 0.0, 1.0
	if k > 0 {
		low = solve(0, phat)
	}
	if k < n {
		high = solve(1, phat)
	}
	return low, high
}

func TestRateWilsonInterval(t *testing.T) {
	for _, c := range [][2]int{{0, 1}, {1, 1}, {0, 10}, {3, 10}, {10, 10}, {81, 263}, {1, 1000}, {999, 1000}, {5000, 12000}} {
		r := leadkit.NewRate(c[0], c[1])
		low, high := wilsonByDefinition(c[0], c[1])
		require.NotNil(t, r.Rate)
		assert.InDelta(t, float64(c[0])/float64(c[1]), *r.Rate, 1e-15, "%v", c)
		assert.InDelta(t, low, *r.Low, 1e-9, "low %v", c)
		assert.InDelta(t, high, *r.High, 1e-9, "high %v", c)
		assert.LessOrEqual(t, *r.Low, *r.Rate, "%v", c)
		assert.GreaterOrEqual(t, *r.High, *r.Rate, "%v", c)
		assert.Equal(t, c[1] < leadkit.MinRateBase, r.Small, "%v", c)
	}
}

func TestRateNoData(t *testing.T) {
	r := leadkit.NewRate(0, 0)
	assert.Nil(t, r.Rate)
	assert.Nil(t, r.Low)
	assert.Nil(t, r.High)
	assert.True(t, r.Small)
	assert.Zero(t, r.Value())
	assert.False(t, r.Below(0.5))
	assert.False(t, r.Above(-1))
	b, err := json.Marshal(r)
	require.NoError(t, err)
	assert.JSONEq(t, `{"count":0,"base":0,"rate":null,"low":null,"high":null,"small":true}`, string(b))
	// Bad counts are clamped, never NaN.
	assert.Equal(t, 1.0, leadkit.NewRate(5, 3).Value())
	assert.Equal(t, 0.0, leadkit.NewRate(-2, 3).Value())
	assert.Nil(t, leadkit.NewRate(4, -1).Rate)
}

func TestRateBelowAbove(t *testing.T) {
	r := leadkit.NewRate(20, 100) // about [0.133, 0.289]
	assert.True(t, r.Below(0.3))
	assert.False(t, r.Below(0.25))
	assert.True(t, r.Above(0.1))
	assert.False(t, r.Above(0.15))
}

func TestRateJSONRoundTrip(t *testing.T) {
	r := leadkit.NewRate(7, 40)
	b, err := json.Marshal(r)
	require.NoError(t, err)
	var back leadkit.Rate
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, r, back)
}

func TestRatio(t *testing.T) {
	assert.Nil(t, leadkit.Ratio(1, 0))
	assert.Nil(t, leadkit.Ratio(0, 0))
	assert.Nil(t, leadkit.Ratio(math.MaxFloat64, 1e-300))
	assert.Nil(t, leadkit.Ratio(math.NaN(), 1))
	q := leadkit.Ratio(3, 4)
	require.NotNil(t, q)
	assert.Equal(t, 0.75, *q)
}

// An SDR accepted 12 of the 40 MQLs it worked: 30%, and with 40 leads the
// true rate could lie anywhere from about 18% to 45%.
func ExampleNewRate() {
	r := leadkit.NewRate(12, 40)
	fmt.Printf("%.0f%% [%.0f%%, %.0f%%] small=%v\n", *r.Rate*100, *r.Low*100, *r.High*100, r.Small)
	fmt.Println(r.Below(0.5), leadkit.NewRate(0, 0).Rate == nil)
	// Output:
	// 30% [18%, 45%] small=false
	// true true
}
