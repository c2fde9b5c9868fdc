package scoring

import (
	"fmt"
	"math"
	"math/rand"
	"testing"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// "Why 72?" by hand: two rules give 30 and 40 points, the cap takes 20;
// a download half decayed shows what time took.
func TestExplainAddsUp(t *testing.T) {
	m := mustCompile(t, ModelSpec{Name: "m", Dimensions: []DimensionSpec{
		{Name: "fit", Max: f64(50), Fit: []FitRule{
			{Name: "vp", When: `person.seniority == "vp"`, Points: 30},
			{Name: "enterprise", When: `company.employees >= 1000`, Points: 40},
		}},
		{Name: "engagement", Decay: &DecaySpec{HalfLife: 30 * day}, Behavior: []BehaviorRule{{Name: "download", Types: []string{"download"}, Points: 20}}},
		{Name: "total", Expr: "fit + engagement"},
	}})
	asOf := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	res, err := m.Score(Input{Lead: leadkit.Lead{ID: "l", Person: leadkit.Person{Seniority: "vp"}, Company: leadkit.Company{Employees: 5000}},
		Events: []leadkit.Event{{ID: "1", LeadID: "l", Type: "download", Time: asOf.Add(-30 * day)}}, AsOf: asOf})
	require.NoError(t, err)

	fit, err := m.Explain(res, "fit")
	require.NoError(t, err)
	assert.Equal(t, 50.0, fit.Score)
	assert.Equal(t, 70.0, fit.Raw)
	assert.Equal(t, -20.0, fit.Clamp)
	require.Len(t, fit.Rules, 2)
	assert.Equal(t, "vp", fit.Rules[0].Rule)
	assert.Equal(t, 30.0, fit.Rules[0].Points)

	eng, err := m.Explain(res, "engagement")
	require.NoError(t, err)
	require.Len(t, eng.Rules, 1)
	assert.InDelta(t, 10, eng.Rules[0].Points, 1e-9)
	assert.InDelta(t, 20, eng.Rules[0].Lifetime, 1e-9)
	assert.InDelta(t, 10, eng.Rules[0].Decayed, 1e-9)
	assert.Zero(t, eng.Clamp)

	total, err := m.Explain(res, "total")
	require.NoError(t, err)
	assert.Equal(t, "fit + engagement", total.Expr)
	require.Len(t, total.Inputs, 2)
	assert.InDelta(t, 60, total.Score, 1e-9)
	assert.InDelta(t, total.Inputs[0].Score+total.Inputs[1].Score, total.Raw, 1e-9)

	_, err = m.Explain(res, "nope")
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
	_, err = m.Explain(Result{}, "fit")
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
}

// On random models and leads, every rule dimension's parts add up to its
// score: the rules' points plus the clamp.
func TestExplainAddsUpOnRandomModels(t *testing.T) {
	r := rand.New(rand.NewSource(9))
	sims := simInputs(benchSim(t, 200, 9, 30), 100)
	for iter := range 100 {
		spec := randomModel(r)
		spec.Dimensions[0].Max = f64(float64(r.Intn(60)))
		spec.Dimensions[0].Min = f64(-float64(r.Intn(20)))
		m := mustCompile(t, spec)
		in := sims[iter]
		in.AsOf = in.Events[len(in.Events)-1].Time.Add(time.Duration(r.Intn(60)) * day)
		res, err := m.Score(in)
		require.NoError(t, err)
		for _, d := range res.Dimensions {
			e, err := m.Explain(res, d.Name)
			require.NoError(t, err)
			sum := e.Clamp
			for _, rc := range e.Rules {
				sum += rc.Points
				assert.InDelta(t, rc.Lifetime-rc.Points, rc.Decayed, 1e-9)
			}
			if e.Expr == "" {
				assert.InDelta(t, d.Score, sum, 1e-9*math.Max(1, math.Abs(d.Score)), fmt.Sprintf("iter %d %s", iter, d.Name))
			}
			assert.InDelta(t, d.Score, e.Raw+e.Clamp, 1e-9*math.Max(1, math.Abs(d.Score)))
		}
	}
}
