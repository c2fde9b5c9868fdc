package learn_test

import (
	"math"
	"testing"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/scoring/learn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAUC(t *testing.T) {
	for _, c := range []struct {
		name   string
		scores []float64
		y      []bool
		want   float64
	}{
		{"perfect", []float64{1, 2, 3, 4}, []bool{false, false, true, true}, 1},
		{"reversed", []float64{1, 2, 3, 4}, []bool{true, true, false, false}, 0},
		{"three of four pairs", []float64{10, 20, 30, 40}, []bool{false, true, false, true}, 0.75},
		// Pairs (pos 1, neg 1) tie: half; (pos 2, neg 1) wins.
		{"ties count half", []float64{1, 1, 2}, []bool{true, false, true}, 0.75},
		{"all tied", []float64{5, 5, 5, 5}, []bool{true, false, true, false}, 0.5},
	} {
		got, err := learn.AUC(c.scores, c.y)
		require.NoError(t, err, c.name)
		assert.InDelta(t, c.want, got, 1e-12, c.name)
	}
	for _, c := range []struct {
		scores []float64
		y      []bool
		msg    string
	}{
		{[]float64{1}, []bool{true, false}, "1 scores for 2 outcomes"},
		{[]float64{1, math.NaN()}, []bool{true, false}, "score 1 is NaN"},
		{[]float64{1, 2}, []bool{true, true}, "2 converted and 0 not"},
	} {
		_, err := learn.AUC(c.scores, c.y)
		require.ErrorIs(t, err, leadkit.ErrInvalid)
		assert.ErrorContains(t, err, c.msg)
	}
}

// The deciles hold every held-out example once, the highest scores
// first, and add up.
func TestDeciles(t *testing.T) {
	res, err := learn.Fit(history(3000, 13), smallOpts())
	require.NoError(t, err)
	e := res.Evaluation
	require.Len(t, e.Deciles, 10)
	n, conv := 0, 0
	for k, d := range e.Deciles {
		assert.Equal(t, k+1, d.Decile)
		n += d.Examples
		conv += d.Converted
		assert.LessOrEqual(t, d.MinScore, d.MaxScore)
		if k > 0 {
			assert.LessOrEqual(t, d.MaxScore, e.Deciles[k-1].MinScore)
		}
		assert.InDelta(t, d.Rate/e.Rate, d.Lift, 1e-12)
		assert.InDelta(t, float64(conv)/float64(e.Converted), d.Capture, 1e-12)
		assert.InDelta(t, float64(conv)/float64(n)/e.Rate, d.CumulativeLift, 1e-12)
	}
	assert.Equal(t, e.Examples, n)
	assert.Equal(t, e.Converted, conv)
	assert.InDelta(t, 1, e.Deciles[9].Capture, 1e-12)
	assert.InDelta(t, 1, e.Deciles[9].CumulativeLift, 1e-12)
	assert.Greater(t, e.Deciles[0].Lift, 1.5)
	assert.Positive(t, e.Brier)
	assert.Less(t, e.Brier, e.Rate*(1-e.Rate), "better than predicting the base rate")
}
