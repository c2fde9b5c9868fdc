package learn_test

import (
	"strings"
	"testing"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/scoring"
	"github.com/leadkit/leadkit/scoring/learn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The emitted rules are the bins: compiled and scored on every example,
// each kept feature contributes at most one rule (its bins are
// exclusive), the base rule always fires, and the score is the sum of
// the rules that fired.
func TestRulesAreExclusiveBins(t *testing.T) {
	ex := history(3000, 6)
	// Exercise every kind of bin: a custom number with missing values,
	// a text field with rare values, a 30-day window.
	for i := range ex {
		if i%5 != 0 {
			ex[i].Lead.Person.Custom = map[string]any{"budget": float64(i%97) * 1000}
		}
		if i%50 == 0 {
			ex[i].Lead.Company.Industry = "rare-" + ex[i].Lead.ID
		}
	}
	opts := learn.Options{
		Declare: []leadkit.FieldSpec{{Name: "person.budget", Type: leadkit.TypeNumber}},
		Fields:  []string{"person.seniority", "company.employees", "company.industry", "person.budget"},
		Seed:    2, MinSupport: 40,
	}
	res, err := learn.Fit(ex, opts)
	require.NoError(t, err)
	requireClean(t, res)
	m, err := scoring.Compile(res.Spec, scoring.Options{})
	require.NoError(t, err)
	featureOfRule := map[string]string{}
	for _, f := range res.Features {
		for _, r := range f.Rules {
			featureOfRule[r.Name] = f.Name
		}
	}
	kinds := map[string]bool{}
	for _, f := range res.Features {
		for _, r := range f.Rules {
			kinds[r.Bin] = true
		}
	}
	assert.True(t, kinds["other"] && kinds["missing"], "the data has other and missing bins: %v", kinds)
	for i, e := range ex {
		r, err := m.Score(scoring.Input{Lead: e.Lead, Events: e.Events, AsOf: e.CutOff})
		require.NoError(t, err)
		per := map[string]int{}
		sum, base := 0.0, false
		for _, h := range r.Hits {
			sum += h.Points
			if h.Rule == "base" {
				base = true
				continue
			}
			f, ok := featureOfRule[h.Rule]
			require.True(t, ok, "rule %q fired but is in no feature", h.Rule)
			per[f]++
		}
		require.True(t, base, "example %d: no base", i)
		for f, n := range per {
			require.Equal(t, 1, n, "example %d: %d rules of %s fired", i, n, f)
		}
		require.Equal(t, sum, r.Dimensions[0].Score, "example %d", i)
	}
}

// Every rule name is unique and starts with its feature's name; the
// rule's evidence adds up to the training set.
func TestRuleEvidence(t *testing.T) {
	res, err := learn.Fit(history(3000, 7), smallOpts())
	require.NoError(t, err)
	for _, f := range res.Features {
		support := 0
		for _, r := range f.Rules {
			assert.True(t, strings.HasPrefix(r.Name, f.Name+" "), r.Name)
			support += r.Support
			assert.InDelta(t, float64(r.Converted)/float64(r.Support), r.Rate, 1e-12)
			assert.LessOrEqual(t, r.Effect.Low, r.Effect.Value)
			assert.GreaterOrEqual(t, r.Effect.High, r.Effect.Value)
			assert.InDelta(t, f.Coefficient.Value*r.WoE, r.Effect.Value, 1e-12)
			assert.InDelta(t, res.Scale.Factor*r.Effect.Value, r.Points, 0.5)
		}
		assert.Equal(t, res.Training.Examples, support, "%s: every training example is in one bin", f.Name)
		assert.Positive(t, f.Coefficient.Value)
		assert.Less(t, f.Coefficient.Low, f.Coefficient.Value)
	}
	// The planted effects are significant: their intervals exclude 0.
	for _, name := range []string{"person.seniority", "company.employees", "webinar ever"} {
		f, ok := featureOf(res, name)
		require.True(t, ok, name)
		assert.Positive(t, f.Coefficient.Low, name)
	}
	// Seniority in its planted order.
	var prev float64
	for k, v := range []string{`"individual"`, `"manager"`, `"director"`, `"vp"`} {
		pts, ok := rulePoints(res, "person.seniority", v)
		require.True(t, ok)
		if k > 0 {
			assert.Greater(t, pts, prev, v)
		}
		prev = pts
	}
}

// The scale's probability is the inverse of its score, and the learned
// model's predictions are calibrated on average on held-out data.
func TestScale(t *testing.T) {
	res, err := learn.Fit(history(5000, 8), smallOpts())
	require.NoError(t, err)
	s := res.Scale
	for _, p := range []float64{0.01, 0.2, 0.5, 0.9} {
		assert.InDelta(t, p, s.Probability(s.Score(p)), 1e-12)
	}
	assert.InDelta(t, s.BaseOdds/(1+s.BaseOdds), s.Probability(s.BaseScore), 1e-12)
	odds := func(score float64) float64 { p := s.Probability(score); return p / (1 - p) }
	assert.InDelta(t, 2, odds(s.BaseScore+s.PDO)/odds(s.BaseScore), 1e-9, "PDO points double the odds")
	assert.InDelta(t, res.Training.Rate/(1-res.Training.Rate), s.BaseOdds, 1e-12, "default base odds: the training odds")

	e := res.Evaluation
	assert.InDelta(t, e.Rate, e.MeanPredicted, 0.03)
	first, last := e.Deciles[0], e.Deciles[len(e.Deciles)-1]
	assert.Greater(t, first.Rate, last.Rate)
	assert.Greater(t, first.Predicted, last.Predicted)
	for _, d := range e.Deciles {
		assert.InDelta(t, d.Rate, d.Predicted, 0.1, "decile %d", d.Decile)
	}
}
