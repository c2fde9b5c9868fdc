package learn

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/mat"
)

// twoByTwo is a binary feature: 100 examples at x=0 with 20 converted,
// 100 at x=1 with 60 converted.
func twoByTwo() (*mat.Dense, []float64) {
	x := mat.NewDense(200, 2, nil)
	y := make([]float64, 200)
	for i := range 200 {
		x.Set(i, 0, 1)
		if i >= 100 {
			x.Set(i, 1, 1)
		}
		if (i < 100 && i < 20) || (i >= 100 && i < 160) {
			y[i] = 1
		}
	}
	return x, y
}

// The maximum likelihood of a 2x2 table is known in closed form: the
// intercept is the log-odds at x=0, the coefficient the log odds ratio,
// with standard error sqrt(1/a + 1/b + 1/c + 1/d).
func TestFitLogitTwoByTwo(t *testing.T) {
	x, y := twoByTwo()
	fit := fitLogit(x, y, 1e-9)
	require.True(t, fit.converged, fit.status)
	assert.InDelta(t, math.Log(20.0/80), fit.beta[0], 1e-6)
	assert.InDelta(t, math.Log(60.0/40)-math.Log(20.0/80), fit.beta[1], 1e-6)
	assert.InDelta(t, math.Sqrt(1.0/20+1.0/80+1.0/60+1.0/40), math.Sqrt(fit.cov.At(1, 1)), 1e-6)
	assert.InDelta(t, math.Sqrt(1.0/20+1.0/80), math.Sqrt(fit.cov.At(0, 0)), 1e-6)
	ll := 20*math.Log(0.2) + 80*math.Log(0.8) + 60*math.Log(0.6) + 40*math.Log(0.4)
	assert.InDelta(t, ll, fit.ll, 1e-6)
}

// A strong penalty pulls the coefficient to 0 but not the intercept,
// which then fits the overall rate.
func TestFitLogitRidge(t *testing.T) {
	x, y := twoByTwo()
	fit := fitLogit(x, y, 1e6)
	assert.InDelta(t, 0, fit.beta[1], 1e-3)
	assert.InDelta(t, math.Log(80.0/120), fit.beta[0], 1e-3)
	mild := fitLogit(x, y, 10)
	assert.Less(t, mild.beta[1], math.Log(6), "shrunk")
	assert.Greater(t, mild.beta[1], 0.5)
}

// Perfect separation has no maximum likelihood; the penalty keeps the
// coefficient finite.
func TestFitLogitSeparation(t *testing.T) {
	x := mat.NewDense(40, 2, nil)
	y := make([]float64, 40)
	for i := range 40 {
		x.Set(i, 0, 1)
		if i >= 20 {
			x.Set(i, 1, 1)
			y[i] = 1
		}
	}
	fit := fitLogit(x, y, 1)
	for _, b := range fit.beta {
		assert.False(t, math.IsNaN(b) || math.IsInf(b, 0))
	}
	assert.Greater(t, fit.beta[1], 3.0)
	assert.False(t, math.IsNaN(fit.cov.At(1, 1)))
}
