package scoring

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var revT = time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)

func revEv(id, typ string, at time.Duration) leadkit.Event {
	return leadkit.Event{ID: id, LeadID: "l", Type: typ, Time: revT.Add(at)}
}

// A points expression that reads the as-of time cannot be kept in a
// state (Apply reads it at the event's time): the model is refused for
// states, like a predicate that does; a fit rule's makes crossings
// re-read the fit rules as time passes.
func TestPointsExpressionReadingTheAsOfTime(t *testing.T) {
	m := mustCompile(t, ModelSpec{Name: "m", Dimensions: []DimensionSpec{{Name: "d", Behavior: []BehaviorRule{{Name: "r", Types: []string{"v"}, PointsExpr: "event.age_days"}}}}})
	res, err := m.Score(Input{Lead: leadkit.Lead{ID: "l"}, Events: []leadkit.Event{revEv("1", "v", 0)}, AsOf: revT.Add(5 * day)})
	require.NoError(t, err)
	assert.Equal(t, 5.0, res.Dimensions[0].Score)
	st := m.NewState()
	err = m.Apply(&st, revEv("1", "v", 0))
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.ErrorContains(t, err, "points expression reads the as-of time")

	f := mustCompile(t, ModelSpec{Name: "f", Dimensions: []DimensionSpec{{Name: "d", Fit: []FitRule{{Name: "age", When: "true", PointsExpr: "lead.age_days", Cap: 100}}}},
		Thresholds: []ThresholdSpec{{Name: "t", Dimension: "d", Value: 30}}})
	lead := leadkit.Lead{ID: "l", CreatedAt: revT}
	fst := f.NewState()
	c, ok, err := f.NextCrossing(&fst, lead, "t", revT.Add(day), revT.Add(100*day))
	require.NoError(t, err)
	require.True(t, ok, "the fit points grow with the lead's age")
	assert.WithinDuration(t, revT.Add(30*day), c.Time, time.Second)
}

// Repeated multiplies stay finite (a state could not be saved at +Inf,
// and a factor of 0 turned it into NaN), and a capped rule is halved
// from its cap.
func TestMultiplyBounded(t *testing.T) {
	m := opModel(t, nil,
		BehaviorRule{Name: "a", Types: []string{"download"}, Points: 1, Cap: 10},
		BehaviorRule{Name: "boost", Types: []string{"demo"}, Op: OpMultiply, Factor: 1e9},
		BehaviorRule{Name: "zero", Types: []string{"unsub"}, Op: OpMultiply, Factor: 0})
	evs := []leadkit.Event{revEv("d", "download", 0)}
	for i := range 40 {
		evs = append(evs, revEv(fmt.Sprint(i), "demo", time.Duration(i+1)*time.Minute))
	}
	st := m.NewState()
	for _, e := range evs {
		require.NoError(t, m.Apply(&st, e))
	}
	_, err := json.Marshal(st)
	require.NoError(t, err, "the state stays finite")
	evs = append(evs, revEv("u", "unsub", time.Hour))
	res, err := m.Score(Input{Lead: leadkit.Lead{ID: "l"}, Events: evs, AsOf: revT.Add(day)})
	require.NoError(t, err)
	assert.Zero(t, res.Dimensions[0].Score)

	half := opModel(t, nil,
		BehaviorRule{Name: "view", Types: []string{"v"}, Points: 10, Cap: 20},
		BehaviorRule{Name: "halve", Types: []string{"unsub"}, Op: OpMultiply, Factor: 0.5})
	evs = nil
	for i := range 10 {
		evs = append(evs, revEv(fmt.Sprint(i), "v", time.Duration(i)*time.Minute))
	}
	evs = append(evs, revEv("u", "unsub", time.Hour))
	res, err = half.Score(Input{Lead: leadkit.Lead{ID: "l"}, Events: evs, AsOf: revT.Add(day)})
	require.NoError(t, err)
	assert.Equal(t, 10.0, res.Dimensions[0].Score, "a capped 20 halved")
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

// A rolling limit keeps its recent times without allocating per event.
func TestRollingLimitAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under the race detector: allocations are counted without it")
	}
	m := mustCompile(t, ModelSpec{Name: "m", Dimensions: []DimensionSpec{{Name: "d", Behavior: []BehaviorRule{
		{Name: "c", Types: []string{"c"}, Points: 5, Limit: &LimitSpec{Max: 1, Every: time.Hour}}}}}})
	st := m.NewState()
	evs := make([]leadkit.Event, 400)
	for i := range evs {
		evs[i] = leadkit.Event{ID: fmt.Sprint(i), LeadID: "l", Type: "c", Time: revT.Add(time.Duration(i) * 2 * time.Hour)}
	}
	for _, e := range evs[:100] {
		require.NoError(t, m.Apply(&st, e))
	}
	i := 100
	allocs := testing.AllocsPerRun(200, func() {
		if err := m.Apply(&st, evs[i]); err != nil {
			panic(err)
		}
		i++
	})
	assert.Zero(t, allocs)
	assert.Len(t, st.Rules[0].Recent, 1)
}

// An event outside a rule's dates does not run the rule's predicate or
// points expression: as if the rule's types excluded it, it cannot fail
// the lead.
func TestInactiveRulesDoNotRun(t *testing.T) {
	m := mustCompile(t, ModelSpec{Name: "m", Fields: []leadkit.FieldSpec{{Name: "event.amount", Type: leadkit.TypeNumber}},
		Dimensions: []DimensionSpec{{Name: "d", Behavior: []BehaviorRule{
			{Name: "deal", Types: []string{"deal"}, PointsExpr: "1000 / event.amount", Cap: 50, Active: &ActiveSpec{From: revT}},
			{Name: "big", Types: []string{"quote"}, When: "1000 / event.amount > 1", Points: 5, Active: &ActiveSpec{From: revT}},
		}}}})
	old := []leadkit.Event{revEv("old", "deal", -30*day), revEv("oldq", "quote", -29*day)}
	res, err := m.Score(Input{Lead: leadkit.Lead{ID: "l"}, Events: old, AsOf: revT.Add(day)})
	require.NoError(t, err)
	assert.Zero(t, res.Dimensions[0].Score)
	st := m.NewState()
	for _, e := range old {
		require.NoError(t, m.Apply(&st, e))
	}
	// Inside the dates the same event fails the lead, naming the rule.
	_, err = m.Score(Input{Lead: leadkit.Lead{ID: "l"}, Events: []leadkit.Event{revEv("new", "deal", day)}, AsOf: revT.Add(2 * day)})
	assert.ErrorContains(t, err, `rule "deal"`)
}

// WhyNot does not promise what a set rule takes back, and tells a count
// rule that needs more occurrences from a capped one.
func TestWhyNotWithSetAndCountRules(t *testing.T) {
	max0 := 0
	m := mustCompile(t, ModelSpec{Name: "m", Dimensions: []DimensionSpec{{Name: "d", Behavior: []BehaviorRule{
		{Name: "download", Types: []string{"download"}, Points: 10},
		{Name: "three visits", Types: []string{"page_view"}, Points: 20, Count: &CountSpec{Min: 3, Window: 30 * day}},
		{Name: "competitor", Types: []string{"competitor_seen"}, Points: 0, Op: OpSet, Count: &CountSpec{Min: 1, Window: 90 * day}},
		{Name: "quiet", Points: -5, Count: &CountSpec{Min: 0, Max: &max0, Window: 365 * day}},
	}}}, Thresholds: []ThresholdSpec{{Name: "mql", Dimension: "d", Value: 10}}})
	blocked := func(evs ...leadkit.Event) map[string]Blocker {
		g, err := m.WhyNot(Input{Lead: leadkit.Lead{ID: "l"}, Events: evs, AsOf: revT.Add(day)}, Target{Threshold: "mql"})
		require.NoError(t, err)
		out := map[string]Blocker{}
		for _, s := range g.Suggestions {
			out[s.Rule] = s.Blocked
		}
		return out
	}
	b := blocked(revEv("1", "page_view", 0))
	assert.Equal(t, Blocker(""), b["download"])
	assert.Equal(t, BlockedCount, b["three visits"], "one more visit makes two of three")
	b = blocked(revEv("1", "page_view", 0), revEv("c", "competitor_seen", time.Hour))
	assert.Equal(t, BlockedSet, b["download"], "the competitor rule holds the dimension at 0")
}

// A count rule keeps only the occurrence times that can decide it, and
// still counts like counting by hand (TestCountRulesByBruteForce).
func TestCountRuleStateBounded(t *testing.T) {
	m := mustCompile(t, ModelSpec{Name: "m", Dimensions: []DimensionSpec{{Name: "d", Behavior: []BehaviorRule{
		{Name: "c", Types: []string{"v"}, Points: 10, Count: &CountSpec{Min: 3, Window: 100000 * day}}}}}})
	st := m.NewState()
	for i := range 5000 {
		require.NoError(t, m.Apply(&st, leadkit.Event{ID: fmt.Sprint(i), LeadID: "l", Type: "v", Time: revT.Add(time.Duration(i) * time.Minute)}))
	}
	assert.LessOrEqual(t, len(st.Rules[0].Times), 3)
	var res Result
	require.NoError(t, m.ReadState(&res, &st, leadkit.Lead{ID: "l"}, revT.Add(10*day)))
	assert.Equal(t, 10.0, res.Dimensions[0].Score)
}

// A set rule's hit reports the lifetime it sets, and none when its
// lifetime count is out of range (the lifetime is then the other rules').
func TestSetRuleHitLifetime(t *testing.T) {
	max0 := 0
	m := opModel(t, nil,
		BehaviorRule{Name: "view", Types: []string{"v"}, Points: 10},
		BehaviorRule{Name: "quiet", Points: 5, Op: OpSet, Count: &CountSpec{Min: 0, Max: &max0, Window: 7 * day}})
	res, err := m.Score(Input{Lead: leadkit.Lead{ID: "l"}, Events: []leadkit.Event{revEv("1", "v", 0)}, AsOf: revT.Add(30 * day)})
	require.NoError(t, err)
	require.Len(t, res.Hits, 1)
	assert.Equal(t, "quiet", res.Hits[0].Rule)
	assert.Equal(t, 5.0, res.Hits[0].Points)
	assert.Equal(t, 5.0, res.Dimensions[0].Score)
	assert.Zero(t, res.Hits[0].Lifetime)
	assert.Equal(t, 10.0, res.Dimensions[0].Lifetime, "the lifetime count (1) is out of the set rule's range: the view's lifetime stands")
}
