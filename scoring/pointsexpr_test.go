package scoring

import (
	"fmt"
	"testing"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Points that scale with a value: a fit rule's from the company's size,
// capped; a behavior rule's from each event's amount, the rule's cap
// bounding the total.
func TestPointsFromExpressions(t *testing.T) {
	m := mustCompile(t, ModelSpec{Name: "m",
		Fields: []leadkit.FieldSpec{{Name: "event.amount", Type: leadkit.TypeNumber}},
		Dimensions: []DimensionSpec{
			{Name: "fit", Fit: []FitRule{{Name: "size", When: "company.employees > 0", PointsExpr: "company.employees / 100", Cap: 20}}},
			{Name: "intent", Behavior: []BehaviorRule{{Name: "quote value", Types: []string{"quote_requested"}, PointsExpr: "event.amount / 1000", Cap: 50}}},
		}})
	asOf := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	score := func(employees int, amounts ...float64) (fit, intent float64) {
		var evs []leadkit.Event
		for i, a := range amounts {
			evs = append(evs, leadkit.Event{ID: string(rune('a' + i)), LeadID: "l", Type: "quote_requested", Time: asOf.Add(-time.Duration(i+1) * time.Hour), Attrs: map[string]any{"amount": a}})
		}
		leadkit.SortEvents(evs)
		res, err := m.Score(Input{Lead: leadkit.Lead{ID: "l", Company: leadkit.Company{Employees: employees}}, Events: evs, AsOf: asOf})
		require.NoError(t, err)
		f, _ := res.Dimension("fit")
		i, _ := res.Dimension("intent")
		// The incremental path agrees.
		st, err := m.StateOf(Input{Lead: leadkit.Lead{ID: "l"}, Events: evs, AsOf: asOf})
		require.NoError(t, err)
		var got Result
		require.NoError(t, m.ReadState(&got, &st, leadkit.Lead{ID: "l", Company: leadkit.Company{Employees: employees}}, asOf))
		assertSameScores(t, res, got, "incremental")
		return f.Score, i.Score
	}
	f, i := score(500, 10000, 25000)
	assert.Equal(t, 5.0, f)
	assert.Equal(t, 35.0, i)
	f, i = score(5000, 10000, 30000, 25000)
	assert.Equal(t, 20.0, f, "capped")
	assert.Equal(t, 50.0, i, "the rule's cap bounds the total")
	f, i = score(0)
	assert.Zero(t, f)
	assert.Zero(t, i)
}

// A value that is not finite is an error for the lead naming the rule
// and event; the incremental state is left as it was.
func TestPointsExpressionNotFinite(t *testing.T) {
	m := mustCompile(t, ModelSpec{Name: "m",
		Fields: []leadkit.FieldSpec{{Name: "event.amount", Type: leadkit.TypeNumber}},
		Dimensions: []DimensionSpec{
			{Name: "fit", Fit: []FitRule{{Name: "inverse", When: "true", PointsExpr: "100 / company.employees"}}},
			{Name: "intent", Behavior: []BehaviorRule{{Name: "ratio", Types: []string{"q"}, PointsExpr: "1 / event.amount"}}},
		}})
	asOf := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	_, err := m.Score(Input{Lead: leadkit.Lead{ID: "l"}, AsOf: asOf})
	var re *RuleError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, "inverse", re.Rule)
	assert.Equal(t, "points_expr", re.Part)

	st := m.NewState()
	ok := leadkit.Event{ID: "1", LeadID: "l", Type: "q", Time: asOf.Add(-2 * time.Hour), Attrs: map[string]any{"amount": 4.0}}
	require.NoError(t, m.Apply(&st, ok))
	before := st.Clone()
	err = m.Apply(&st, leadkit.Event{ID: "2", LeadID: "l", Type: "q", Time: asOf.Add(-time.Hour), Attrs: map[string]any{"amount": 0.0}})
	require.ErrorAs(t, err, &re)
	assert.Equal(t, "ratio", re.Rule)
	assert.Contains(t, re.Error(), `event "2"`)
	assert.Equal(t, before.Updated, st.Updated, "a failed event leaves the state as it was")
	assert.Equal(t, before.LastIDs, st.LastIDs)
}

func TestPointsExpressionCompileErrors(t *testing.T) {
	for name, br := range map[string]BehaviorRule{
		"both":         {Name: "r", Points: 1, PointsExpr: "2"},
		"count":        {Name: "r", PointsExpr: "2", Count: &CountSpec{Min: 1}},
		"window decay": {Name: "r", PointsExpr: "2", Decay: &DecaySpec{Window: day}},
		"steps decay":  {Name: "r", PointsExpr: "2", Decay: &DecaySpec{Steps: []DecayStep{{AfterMonths: 1, KeepPercent: 50}}}},
		"not a number": {Name: "r", PointsExpr: `event.channel + "x"`},
	} {
		_, err := Compile(ModelSpec{Name: "m", Dimensions: []DimensionSpec{{Name: "d", Behavior: []BehaviorRule{br}}}}, Options{})
		require.Error(t, err, name)
		assert.ErrorIs(t, err, leadkit.ErrInvalid, name)
		assert.Contains(t, err.Error(), "points_expr", name)
	}
	_, err := Compile(ModelSpec{Name: "m", Dimensions: []DimensionSpec{{Name: "d", Fit: []FitRule{{Name: "f", When: "true", Points: 3, PointsExpr: "2"}}}}}, Options{})
	assert.ErrorContains(t, err, "points or points_expr, not both")
	_, err = Compile(ModelSpec{Name: "m", Dimensions: []DimensionSpec{{Name: "d", Fit: []FitRule{{Name: "f", When: "true", PointsExpr: "company.employees", Cap: -1}}}}}, Options{})
	assert.ErrorContains(t, err, "cap")
}

// A points expression that reads the as-of time cannot be kept in a
// state (Apply reads it at the event's time): the model is refused for
// states, like a predicate that does; a fit rule's makes crossings
// re-read the fit rules as time passes.
func TestPointsExpressionReadingTheAsOfTime(t *testing.T) {
	m := mustCompile(t, ModelSpec{Name: "m", Dimensions: []DimensionSpec{{Name: "d", Behavior: []BehaviorRule{{Name: "r", Types: []string{"v"}, PointsExpr: "event.age_days"}}}}})
	res, err := m.Score(Input{Lead: leadkit.Lead{ID: "l"}, Events: []leadkit.Event{evAt("1", "v", 0)}, AsOf: at0.Add(5 * day)})
	require.NoError(t, err)
	assert.Equal(t, 5.0, res.Dimensions[0].Score)
	st := m.NewState()
	err = m.Apply(&st, evAt("1", "v", 0))
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.ErrorContains(t, err, "points expression reads the as-of time")

	f := mustCompile(t, ModelSpec{Name: "f", Dimensions: []DimensionSpec{{Name: "d", Fit: []FitRule{{Name: "age", When: "true", PointsExpr: "lead.age_days", Cap: 100}}}},
		Thresholds: []ThresholdSpec{{Name: "t", Dimension: "d", Value: 30}}})
	lead := leadkit.Lead{ID: "l", CreatedAt: at0}
	fst := f.NewState()
	c, ok, err := f.NextCrossing(&fst, lead, "t", at0.Add(day), at0.Add(100*day))
	require.NoError(t, err)
	require.True(t, ok, "the fit points grow with the lead's age")
	assert.WithinDuration(t, at0.Add(30*day), c.Time, time.Second)
}

// Points expressions count towards the event cost limit like predicates.
func TestPointsExpressionsCost(t *testing.T) {
	var rules []BehaviorRule
	for i := range 40 {
		rules = append(rules, BehaviorRule{Name: fmt.Sprint("r", i), Types: []string{"x"}, PointsExpr: fmt.Sprintf("any(event.tags, # == %q) ? 1 : 0", fmt.Sprint(i))})
	}
	_, err := Compile(ModelSpec{Name: "m", Fields: []leadkit.FieldSpec{{Name: "event.tags", Type: leadkit.TypeStrings}},
		Dimensions: []DimensionSpec{{Name: "d", Behavior: rules}}}, Options{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "units of work per event")
}
