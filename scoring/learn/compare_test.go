package learn_test

import (
	"testing"

	"github.com/leadkit/leadkit/scoring"
	"github.com/leadkit/leadkit/scoring/learn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const currentModel = `
name: current
fields: [{name: person.budget, type: number}]
dimensions:
  - name: fit
    fit:
      - {name: senior, when: 'person.seniority in ["vp", "director"]', points: 20}
      - {name: budget, when: 'person.budget > 0', points: 5}
  - name: engagement
    behavior:
      - {name: webinar, types: [webinar_attended], points: 10}
  - name: total
    expr: fit + engagement
`

// The current model is measured on the same held-out examples: its
// scores mapped to probabilities by a logistic fit on the training
// examples. Leads it cannot score are counted and reported.
func TestCompareWithCurrent(t *testing.T) {
	spec, err := scoring.ParseModel([]byte(currentModel))
	require.NoError(t, err)
	cur, err := scoring.Compile(spec, scoring.Options{})
	require.NoError(t, err)
	ex := history(4000, 12)
	ex[0].Lead.Person.Custom = map[string]any{"budget": "lots"} // the current model fails on it
	opts := smallOpts()
	opts.Current, opts.CurrentDimension = cur, "total"
	res, err := learn.Fit(ex, opts)
	require.NoError(t, err)
	requireClean(t, res)
	require.NotNil(t, res.Current)
	c := res.Current
	assert.Equal(t, "current", c.Model)
	assert.Equal(t, "total", c.Dimension)
	assert.Equal(t, "platt", c.Calibrated)
	assert.Equal(t, "scale", res.Evaluation.Calibrated)
	assert.Equal(t, res.HoldOut.Examples, c.Examples+c.Failed)
	w := warningsOf(res, learn.WarnCurrent)
	require.Len(t, w, 1)
	assert.Contains(t, w[0].Message, `failed to score 1 examples`)
	assert.Contains(t, w[0].Message, `example 0 (lead "lead-0")`)
	// The current model knows two of the three planted effects, coarsely.
	assert.Greater(t, c.AUC, 0.6)
	assert.Greater(t, res.Evaluation.AUC, c.AUC+0.02)
	assert.InDelta(t, c.Rate, c.MeanPredicted, 0.03, "Platt scaling is calibrated on average")

	// Its first dimension by default.
	opts.CurrentDimension = ""
	res, err = learn.Fit(ex, opts)
	require.NoError(t, err)
	assert.Equal(t, "fit", res.Current.Dimension)
}
