package scoring

import (
	"testing"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCompare(t *testing.T) {
	specA := fitSpec()
	specA.Thresholds = []ThresholdSpec{{Name: "mql", Dimension: "fit", Value: 30}}
	specB := fitSpec()
	specB.Thresholds = specA.Thresholds
	specB.Dimensions[0].Fit[0].Points = -10 // senior
	specB.Dimensions[0].Fit[3].Points = 25  // size
	a, b := mustCompile(t, specA), mustCompile(t, specB)

	manager := leadkit.Lead{ID: "mgr", Person: leadkit.Person{Seniority: "manager", Title: "Marketing Manager", Email: "x@acme.com"}, Company: leadkit.Company{Employees: 500}}
	student := leadkit.Lead{ID: "stu", Person: leadkit.Person{Seniority: "student"}}
	broken := vpLead()
	broken.ID = "bad"
	broken.Person.Custom = map[string]any{"budget": "x"}
	in := []Input{{Lead: vpLead()}, {Lead: manager}, {Lead: student}, {Lead: broken}}

	c, err := Compare(a, b, in, "mql")
	require.NoError(t, err)
	// vp: A = 20+10-15+15+10 = 40 (reached), B = -10+10-15+25+10 = 20: down.
	// manager: A = 10+15 = 25, B = 10+25 = 35: up. student: -20 both.
	require.Len(t, c.Leads, 3)
	assert.Equal(t, LeadDiff{LeadID: "l1", A: 40, B: 20, Delta: -20, ReachedA: true}, c.Leads[0])
	assert.Equal(t, LeadDiff{LeadID: "mgr", A: 25, B: 35, Delta: 10, ReachedB: true}, c.Leads[1])
	assert.Equal(t, 1, c.Up)
	assert.Equal(t, 1, c.Down)
	assert.InDelta(t, 10.0, c.MeanAbsDelta, 1e-12) // (20+10+0)/3
	assert.Len(t, c.Errors, 2)

	_, err = Compare(a, b, in, "sql")
	assert.ErrorIs(t, err, leadkit.ErrNotFound)
}

func crossingModel(t *testing.T) *Model {
	return mustCompile(t, ModelSpec{Name: "x",
		Dimensions: []DimensionSpec{{Name: "engagement", Behavior: []BehaviorRule{
			{Name: "dl", Types: []string{"download"}, Points: 15, Decay: &DecaySpec{Window: 7 * day}},
			{Name: "unsub", Types: []string{"unsubscribed"}, Points: -20, Decay: &DecaySpec{Window: 3 * day}},
			{Name: "meeting", Types: []string{"meeting"}, Points: 40, Decay: &DecaySpec{HalfLife: 10 * day}},
		}}},
		Thresholds: []ThresholdSpec{{Name: "mql", Dimension: "engagement", Value: 10}},
	})
}

func TestCrossings(t *testing.T) {
	m := crossingModel(t)
	d0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	evs := []leadkit.Event{
		{ID: "1", Type: "download", Time: d0},
		{ID: "2", Type: "unsubscribed", Time: d0.Add(day)},
	}
	got, err := m.Crossings(Input{Lead: leadkit.Lead{ID: "l1"}, Events: evs, AsOf: d0.Add(10 * day)}, "mql")
	require.NoError(t, err)
	// d0: 15 (up). d1: 15-20 = -5 (down). d4: the unsubscribe leaves its
	// 3-day window: 15 (up). d7: the download leaves its 7-day window: 0
	// (down).
	want := []struct {
		at time.Time
		up bool
		v  float64
	}{{d0, true, 15}, {d0.Add(day), false, -5}, {d0.Add(4 * day), true, 15}, {d0.Add(7 * day), false, 0}}
	require.Len(t, got, len(want))
	for i, w := range want {
		assert.Equal(t, w.up, got[i].Up, i)
		assert.WithinDuration(t, w.at, got[i].Time, time.Millisecond, i)
		assert.Equal(t, w.v, got[i].Score, i)
	}
	// Replaying before the last crossing drops it.
	got, err = m.Crossings(Input{Lead: leadkit.Lead{ID: "l1"}, Events: evs, AsOf: d0.Add(5 * day)}, "mql")
	require.NoError(t, err)
	assert.Len(t, got, 3)
}

func TestNextCrossingDecay(t *testing.T) {
	m := crossingModel(t)
	d0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	st, err := m.StateOf(Input{Lead: leadkit.Lead{ID: "l1"}, Events: []leadkit.Event{{ID: "m", Type: "meeting", Time: d0}}})
	require.NoError(t, err)
	// 40 * 2^(-t/10d) = 10 at t = 20 days.
	c, ok, err := m.NextCrossing(&st, leadkit.Lead{ID: "l1"}, "mql", d0, d0.Add(60*day))
	require.NoError(t, err)
	require.True(t, ok)
	assert.False(t, c.Up)
	assert.WithinDuration(t, d0.Add(20*day), c.Time, time.Millisecond)
	// Not within 10 days.
	_, ok, err = m.NextCrossing(&st, leadkit.Lead{ID: "l1"}, "mql", d0, d0.Add(10*day))
	require.NoError(t, err)
	assert.False(t, ok)
}

func TestWhyNot(t *testing.T) {
	spec := fitSpec()
	spec.Dimensions = append(spec.Dimensions,
		DimensionSpec{Name: "engagement", Behavior: []BehaviorRule{
			{Name: "download", Types: []string{"download"}, Points: 8, Cap: 16},
			{Name: "meeting", Types: []string{"meeting"}, Points: 30, Limit: &LimitSpec{Max: 1}},
			{Name: "webinar", Types: []string{"webinar_attended"}, Points: 10, FirstBonus: 5},
			{Name: "unsub", Types: []string{"unsubscribed"}, Points: -30},
		}},
		DimensionSpec{Name: "total", Expr: "fit + engagement"})
	spec.Thresholds = []ThresholdSpec{{Name: "sql", Dimension: "total", Value: 80}}
	m := mustCompile(t, spec)
	lead := leadkit.Lead{ID: "l", Person: leadkit.Person{Seniority: "vp", Email: "a@acme.com"}}
	in := Input{Lead: lead, AsOf: asOf0, Events: []leadkit.Event{ev("download", 3*day), ev("download", 2*day), ev("meeting", day)}}
	g, err := m.WhyNot(in, Target{Threshold: "sql"})
	require.NoError(t, err)
	// fit 20 (senior) + engagement 16 (capped) + 30 = 66; 14 missing.
	assert.Equal(t, 66.0, g.Score)
	assert.Equal(t, 14.0, g.Missing)
	assert.False(t, g.Reached)
	type sug struct {
		rule    string
		gain    float64
		closes  bool
		blocked Blocker
	}
	var got []sug
	for _, s := range g.Suggestions {
		got = append(got, sug{s.Rule, s.Gain, s.Closes, s.Blocked})
	}
	// size (+15 fit) and webinar (+10 +5 first bonus) close the gap;
	// marketing (+10) and budget (+10) do not; download is capped and the
	// meeting already counted its one allowed occurrence.
	assert.Equal(t, []sug{
		{"size", 15, true, ""}, {"webinar", 15, true, ""},
		{"marketing", 10, false, ""}, {"budget", 10, false, ""},
		{"download", 0, false, BlockedCap}, {"meeting", 0, false, BlockedLimit},
	}, got)

	// Band target: fit band A needs 50, the lead has 20.
	g, err = m.WhyNot(in, Target{Dimension: "fit", Band: "A"})
	require.NoError(t, err)
	assert.Equal(t, 30.0, g.Missing)
	_, err = m.WhyNot(in, Target{Dimension: "fit", Band: "Z"})
	assert.ErrorIs(t, err, leadkit.ErrNotFound)
}

func TestRollUp(t *testing.T) {
	res := []Result{
		{LeadID: "1", AccountID: "a1", Dimensions: []DimensionScore{{Name: "fit", Score: 10}}},
		{LeadID: "2", AccountID: "a1", Dimensions: []DimensionScore{{Name: "fit", Score: 30}}},
		{LeadID: "3", AccountID: "a1", Dimensions: []DimensionScore{{Name: "fit", Score: 20}}},
		{LeadID: "4", AccountID: "a2", Dimensions: []DimensionScore{{Name: "fit", Score: 5}}},
		{LeadID: "5", Dimensions: []DimensionScore{{Name: "fit", Score: 99}}},
	}
	cases := []struct {
		agg    Aggregate
		a1, a2 float64
	}{
		{Aggregate{Method: RollSum}, 60, 5},
		{Aggregate{Method: RollMax}, 30, 5},
		{Aggregate{Method: RollAvgTop, N: 2}, 25, 5}, // (30+20)/2; a2 has one contact
	}
	for _, c := range cases {
		got, err := RollUp(res, "fit", c.agg)
		require.NoError(t, err)
		assert.Equal(t, []AccountScore{{AccountID: "a1", Score: c.a1, Contacts: 3}, {AccountID: "a2", Score: c.a2, Contacts: 1}}, got, c.agg.Method)
	}
	_, err := RollUp(res, "fit", Aggregate{Method: "median"})
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
	_, err = RollUp(res, "fit", Aggregate{Method: RollAvgTop})
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
	_, err = RollUp(res, "nope", Aggregate{Method: RollSum})
	assert.ErrorIs(t, err, leadkit.ErrNotFound)
}
