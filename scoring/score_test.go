package scoring

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Expected values in this file are computed by hand from the rule
// definitions; each case says how.

var asOf0 = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC) // a Sunday

func f64(v float64) *float64 { return &v }

func mustCompile(t testing.TB, spec ModelSpec) *Model {
	t.Helper()
	m, err := Compile(spec, Options{})
	require.NoError(t, err)
	return m
}

// ev makes an event of type typ at asOf0 minus ago.
func ev(typ string, ago time.Duration) leadkit.Event {
	return leadkit.Event{ID: fmt.Sprintf("%s-%d", typ, ago), Type: typ, Time: asOf0.Add(-ago)}
}

func score(t *testing.T, m *Model, l leadkit.Lead, evs ...leadkit.Event) Result {
	t.Helper()
	if l.ID == "" {
		l.ID = "l1"
	}
	r, err := m.Score(Input{Lead: l, Events: evs, AsOf: asOf0})
	require.NoError(t, err)
	return r
}

func dim(t *testing.T, r Result, name string) DimensionScore {
	t.Helper()
	d, ok := r.Dimension(name)
	require.True(t, ok, name)
	return d
}

func fitSpec() ModelSpec {
	return ModelSpec{
		Name:   "fit",
		Fields: []leadkit.FieldSpec{{Name: "person.budget", Type: leadkit.TypeNumber}},
		Dimensions: []DimensionSpec{{
			Name:  "fit",
			Bands: []BandSpec{{Name: "A", Min: f64(50)}, {Name: "B", Min: f64(30)}, {Name: "C", Min: f64(10)}, {Name: "D"}},
			Fit: []FitRule{
				{Name: "senior", When: `person.seniority in ["vp", "c_level"]`, Points: 20},
				{Name: "marketing", When: `lower(person.title) contains "marketing"`, Points: 10},
				{Name: "freemail", When: `domain(person.email) in ["gmail.com", "yahoo.com"]`, Points: -15},
				{Name: "size", When: `company.employees >= 200`, Points: 15},
				{Name: "budget", When: `person.budget >= 50000`, Points: 10},
				{Name: "student", When: `person.seniority == "student"`, Points: -20},
			},
		}},
	}
}

func vpLead() leadkit.Lead {
	return leadkit.Lead{ID: "l1", AccountID: "a1",
		Person:  leadkit.Person{Seniority: "vp", Title: "Head of MARKETING", Email: "jo@Gmail.com", Custom: map[string]any{"budget": 60000}},
		Company: leadkit.Company{Employees: 500},
	}
}

func TestFitRules(t *testing.T) {
	m := mustCompile(t, fitSpec())
	r := score(t, m, vpLead())
	// senior 20 + marketing 10 - freemail 15 + size 15 + budget 10 = 40 -> band B (>= 30).
	fit := dim(t, r, "fit")
	assert.Equal(t, 40.0, fit.Score)
	assert.Equal(t, 40.0, fit.Lifetime)
	assert.Equal(t, "B", fit.Band)
	var fired []string
	for _, h := range r.Hits {
		fired = append(fired, h.Rule)
		assert.Equal(t, KindFit, h.Kind)
	}
	assert.Equal(t, []string{"senior", "marketing", "freemail", "size", "budget"}, fired)
	assert.Equal(t, "l1", r.LeadID)
	assert.Equal(t, "a1", r.AccountID)

	// A student with no other match: -20, band D (the catch-all).
	r = score(t, m, leadkit.Lead{ID: "s", Person: leadkit.Person{Seniority: "student"}})
	assert.Equal(t, -20.0, dim(t, r, "fit").Score)
	assert.Equal(t, "D", dim(t, r, "fit").Band)

	// Floor and cap: clamp to [0, 35].
	spec := fitSpec()
	spec.Dimensions[0].Min, spec.Dimensions[0].Max = f64(0), f64(35)
	m = mustCompile(t, spec)
	assert.Equal(t, 35.0, dim(t, score(t, m, vpLead()), "fit").Score)
	assert.Equal(t, 0.0, dim(t, score(t, m, leadkit.Lead{Person: leadkit.Person{Seniority: "student"}}), "fit").Score)
}

func behSpec(rules ...BehaviorRule) ModelSpec {
	return ModelSpec{Name: "b", Dimensions: []DimensionSpec{{Name: "engagement", Behavior: rules}}}
}

func TestBehaviorRules(t *testing.T) {
	days := func(d float64) time.Duration { return time.Duration(d * float64(day)) }
	cases := []struct {
		name            string
		rule            BehaviorRule
		events          []leadkit.Event
		fresh, lifetime float64
		count           int
	}{
		{
			// 29 days ago counts, 31 days ago is outside the window, the
			// future event is ignored: fresh 8, lifetime 16.
			name:   "window",
			rule:   BehaviorRule{Name: "r", Types: []string{"download"}, Points: 8, Decay: &DecaySpec{Window: 30 * day}},
			events: []leadkit.Event{ev("download", days(29)), ev("download", days(31)), ev("download", -days(1))},
			fresh:  8, lifetime: 16, count: 2,
		},
		{
			name:   "other types ignored",
			rule:   BehaviorRule{Name: "r", Types: []string{"download"}, Points: 8},
			events: []leadkit.Event{ev("page_view", days(1)), ev("download", days(2))},
			fresh:  8, lifetime: 8, count: 1,
		},
		{
			name:   "any type",
			rule:   BehaviorRule{Name: "r", Points: 1},
			events: []leadkit.Event{ev("page_view", days(1)), ev("download", days(2))},
			fresh:  2, lifetime: 2, count: 2,
		},
		{
			// 5 x 1 point capped at 3.
			name:   "cap",
			rule:   BehaviorRule{Name: "r", Types: []string{"page_view"}, Points: 1, Cap: 3},
			events: []leadkit.Event{ev("page_view", 1), ev("page_view", 2), ev("page_view", 3), ev("page_view", 4), ev("page_view", 5)},
			fresh:  3, lifetime: 3, count: 5,
		},
		{
			// Negative points are capped at -cap: 3 x -10 -> -25.
			name:   "negative cap",
			rule:   BehaviorRule{Name: "r", Types: []string{"unsubscribed"}, Points: -10, Cap: 25},
			events: []leadkit.Event{ev("unsubscribed", 1), ev("unsubscribed", 2), ev("unsubscribed", 3)},
			fresh:  -25, lifetime: -25, count: 3,
		},
		{
			// The first form (40 days ago, with the +5 bonus) left the
			// window: fresh 10; lifetime 10+5+10 = 25.
			name:   "first bonus decays with its occurrence",
			rule:   BehaviorRule{Name: "r", Types: []string{"form_submitted"}, Points: 10, FirstBonus: 5, Decay: &DecaySpec{Window: 30 * day}},
			events: []leadkit.Event{ev("form_submitted", days(40)), ev("form_submitted", days(10))},
			fresh:  10, lifetime: 25, count: 2,
		},
		{
			// At most 1 per UTC day: three on May 30, one on May 31 -> 2 x 4.
			name:   "limit per day",
			rule:   BehaviorRule{Name: "r", Types: []string{"page_view"}, Points: 4, Limit: &LimitSpec{Max: 1, Per: PerDay}},
			events: []leadkit.Event{ev("page_view", days(1.9)), ev("page_view", days(1.5)), ev("page_view", days(1.1)), ev("page_view", days(0.5))},
			fresh:  8, lifetime: 8, count: 2,
		},
		{
			// ISO weeks: Sat May 24 is in the week of May 19; Mon May 26 and
			// Sun Jun 1 (00:00) share the week of May 26 -> 2 counted.
			name:   "limit per week",
			rule:   BehaviorRule{Name: "r", Types: []string{"page_view"}, Points: 1, Limit: &LimitSpec{Max: 1, Per: PerWeek}},
			events: []leadkit.Event{ev("page_view", days(8)), ev("page_view", days(6)), ev("page_view", 0)},
			fresh:  2, lifetime: 2, count: 2,
		},
		{
			// Months: May 2 and May 31 share May; Apr 30 is April -> 2 of 3.
			name:   "limit per month",
			rule:   BehaviorRule{Name: "r", Types: []string{"page_view"}, Points: 1, Limit: &LimitSpec{Max: 1, Per: PerMonth}},
			events: []leadkit.Event{ev("page_view", days(32)), ev("page_view", days(30)), ev("page_view", days(1))},
			fresh:  2, lifetime: 2, count: 2,
		},
		{
			name:   "once",
			rule:   BehaviorRule{Name: "r", Types: []string{"meeting"}, Points: 30, Limit: &LimitSpec{Max: 1, Per: PerEver}},
			events: []leadkit.Event{ev("meeting", days(3)), ev("meeting", days(2))},
			fresh:  30, lifetime: 30, count: 1,
		},
		{
			// Half-life 10 days: 20 points 10 days ago -> 10, 20 days ago -> 5.
			name:   "half-life",
			rule:   BehaviorRule{Name: "r", Types: []string{"meeting"}, Points: 20, Decay: &DecaySpec{HalfLife: 10 * day}},
			events: []leadkit.Event{ev("meeting", days(20)), ev("meeting", days(10))},
			fresh:  15, lifetime: 40, count: 2,
		},
		{
			// Steps keep 50% after 3 months, 0% after 6: events on May 1
			// (1 month, 10), Feb 1 (4 months, 5), Nov 1 (7 months, 0) and
			// exactly Mar 1 (3 months to the day, 5) -> 20.
			name: "steps",
			rule: BehaviorRule{Name: "r", Types: []string{"download"}, Points: 10,
				Decay: &DecaySpec{Steps: []DecayStep{{AfterMonths: 3, KeepPercent: 50}, {AfterMonths: 6, KeepPercent: 0}}}},
			events: []leadkit.Event{
				{ID: "a", Type: "download", Time: time.Date(2024, 11, 1, 0, 0, 0, 0, time.UTC)},
				{ID: "b", Type: "download", Time: time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC)},
				{ID: "c", Type: "download", Time: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)},
				{ID: "d", Type: "download", Time: time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC)},
			},
			fresh: 20, lifetime: 40, count: 4,
		},
		{
			// Recency +5 while the last occurrence is within 7 days: 2 + 5;
			// lifetime has no recency.
			name:   "recency",
			rule:   BehaviorRule{Name: "r", Types: []string{"page_view"}, Points: 2, Recency: &RecencySpec{Within: 7 * day, Points: 5}},
			events: []leadkit.Event{ev("page_view", days(3))},
			fresh:  7, lifetime: 2, count: 1,
		},
		{
			name:   "recency expired",
			rule:   BehaviorRule{Name: "r", Types: []string{"page_view"}, Points: 2, Recency: &RecencySpec{Within: 7 * day, Points: 5}},
			events: []leadkit.Event{ev("page_view", days(8))},
			fresh:  2, lifetime: 2, count: 1,
		},
		{
			// Event predicate over the content and a declared attribute.
			name:   "predicate",
			rule:   BehaviorRule{Name: "r", Types: []string{"page_view"}, When: `event.content startsWith "/pricing" || event.amount > 100`, Points: 3},
			events: []leadkit.Event{{ID: "1", Type: "page_view", Content: "/pricing/x", Time: asOf0}, {ID: "2", Type: "page_view", Content: "/blog", Time: asOf0}, {ID: "3", Type: "page_view", Attrs: map[string]any{"amount": 150}, Time: asOf0}},
			fresh:  6, lifetime: 6, count: 2,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			spec := behSpec(c.rule)
			spec.Fields = []leadkit.FieldSpec{{Name: "event.amount", Type: leadkit.TypeNumber}}
			m := mustCompile(t, spec)
			r := score(t, m, leadkit.Lead{ID: "l1"}, c.events...)
			d := dim(t, r, "engagement")
			assert.InDelta(t, c.fresh, d.Score, 1e-9, "fresh")
			assert.InDelta(t, c.lifetime, d.Lifetime, 1e-9, "lifetime")
			require.Len(t, r.Hits, 1)
			assert.Equal(t, c.count, r.Hits[0].Count)

			// The incremental path agrees on every hand-computed case.
			st, err := m.StateOf(Input{Lead: leadkit.Lead{ID: "l1"}, Events: c.events, AsOf: asOf0})
			require.NoError(t, err)
			var rs Result
			require.NoError(t, m.ReadState(&rs, &st, leadkit.Lead{ID: "l1"}, asOf0))
			assert.InDelta(t, c.fresh, dim(t, rs, "engagement").Score, 1e-9, "incremental fresh")
			assert.InDelta(t, c.lifetime, dim(t, rs, "engagement").Lifetime, 1e-9, "incremental lifetime")
		})
	}
}

func TestReset(t *testing.T) {
	m := mustCompile(t, ModelSpec{Name: "r", Dimensions: []DimensionSpec{
		{Name: "engagement", Behavior: []BehaviorRule{
			{Name: "download", Types: []string{"download"}, Points: 10, FirstBonus: 5},
			{Name: "unsub", Types: []string{"unsubscribed"}, Points: -1, Reset: true},
		}},
		{Name: "other", Behavior: []BehaviorRule{{Name: "d", Types: []string{"download"}, Points: 1}}},
	}})
	// Two downloads (10+5, 10) are wiped by the reset; after it: -1 for the
	// unsubscribe, then a download with a fresh first bonus (10+5) -> 14.
	// The other dimension is untouched: 3 downloads x 1.
	r := score(t, m, leadkit.Lead{}, ev("download", 5*day), ev("download", 4*day), ev("unsubscribed", 3*day), ev("download", 2*day))
	assert.Equal(t, 14.0, dim(t, r, "engagement").Score)
	assert.Equal(t, 14.0, dim(t, r, "engagement").Lifetime)
	assert.Equal(t, 3.0, dim(t, r, "other").Score)
}

func TestDerivedThresholdsMatrix(t *testing.T) {
	spec := ModelSpec{
		Name: "d",
		Dimensions: []DimensionSpec{
			// Listed before its dependency: order comes from the expressions.
			{Name: "double", Expr: "total * 2"},
			{Name: "total", Expr: `fit * 0.5 + engagement + $env["interest:ai"]`, Max: f64(100)},
			{Name: "fit", Bands: []BandSpec{{Name: "A", Min: f64(20)}, {Name: "B"}}, Fit: []FitRule{{Name: "vp", When: `person.seniority == "vp"`, Points: 30}}},
			{Name: "engagement", Bands: []BandSpec{{Name: "1", Min: f64(10)}, {Name: "2"}}, Behavior: []BehaviorRule{{Name: "dl", Types: []string{"download"}, Points: 8}}},
			{Name: "interest:ai", Behavior: []BehaviorRule{{Name: "ai", Types: []string{"download"}, When: `event.content contains "ai"`, Points: 4}}},
		},
		Thresholds: []ThresholdSpec{{Name: "mql", Dimension: "total", Value: 30}, {Name: "sql", Dimension: "double", Value: 100}},
		Matrix:     &MatrixSpec{Rows: "fit", Columns: "engagement"},
	}
	m := mustCompile(t, spec)
	e := ev("download", day)
	e.Content = "ai-guide"
	r := score(t, m, leadkit.Lead{Person: leadkit.Person{Seniority: "vp"}}, e)
	// fit 30 (A), engagement 8 (2), interest:ai 4; total = 15 + 8 + 4 = 27;
	// double = 54. mql (>= 30) not reached, sql (>= 100) not reached.
	assert.Equal(t, 27.0, dim(t, r, "total").Score)
	assert.Equal(t, 54.0, dim(t, r, "double").Score)
	assert.Equal(t, "A2", r.Cell)
	assert.False(t, r.Reached("mql"))
	// A second download: engagement 16 (1), ai 8: total = 15 + 16 + 8 = 39.
	e2 := e
	e2.ID = "second-download"
	r = score(t, m, leadkit.Lead{Person: leadkit.Person{Seniority: "vp"}}, e, e2)
	assert.Equal(t, 39.0, dim(t, r, "total").Score)
	assert.Equal(t, "A1", r.Cell)
	assert.True(t, r.Reached("mql"))
	assert.Equal(t, []string{"double", "total", "fit", "engagement", "interest:ai"}, m.Dimensions())
}

func TestRunTimeErrors(t *testing.T) {
	m := mustCompile(t, fitSpec())
	l := vpLead()
	l.Person.Custom = map[string]any{"budget": "lots"}
	_, err := m.Score(Input{Lead: l})
	require.Error(t, err)
	var re *RuleError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, "l1", re.LeadID)
	assert.Equal(t, "budget", re.Rule)
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.Contains(t, err.Error(), `scoring: lead "l1": dimension "fit": rule "budget": when: person.budget: want a number, got the string "lots"`)

	// A derived dimension dividing by zero yields NaN: an error naming it.
	m = mustCompile(t, ModelSpec{Name: "n", Dimensions: []DimensionSpec{
		{Name: "a"}, {Name: "ratio", Expr: "a / a"},
	}})
	_, err = m.Score(Input{Lead: leadkit.Lead{ID: "x"}})
	require.ErrorAs(t, err, &re)
	assert.Equal(t, "ratio", re.Dimension)
	assert.Contains(t, err.Error(), "NaN")
}

func TestUnsortedEventsAndDefaultAsOf(t *testing.T) {
	m := mustCompile(t, behSpec(
		BehaviorRule{Name: "r", Types: []string{"page_view"}, Points: 1, FirstBonus: 10, Limit: &LimitSpec{Max: 2, Per: PerDay}, Decay: &DecaySpec{HalfLife: 3 * day}},
	))
	evs := []leadkit.Event{ev("page_view", 3*time.Hour), ev("page_view", 30*time.Hour), ev("page_view", 2*time.Hour), ev("page_view", time.Hour), ev("page_view", 50*time.Hour)}
	sortedEvs := []leadkit.Event{evs[4], evs[1], evs[0], evs[2], evs[3]}
	a := score(t, m, leadkit.Lead{}, evs...)
	b := score(t, m, leadkit.Lead{}, sortedEvs...)
	assert.Equal(t, a, b)
}

// TestZeroAsOfIsNow: a zero AsOf means now, read from Options.Now (before
// the fix it meant the latest event time, so a lead never decayed).
func TestZeroAsOfIsNow(t *testing.T) {
	spec := behSpec(BehaviorRule{Name: "r", Types: []string{"meeting"}, Points: 40, Decay: &DecaySpec{HalfLife: 10 * day}})
	now := asOf0.Add(20 * day)
	m, err := Compile(spec, Options{Now: func() time.Time { return now }})
	require.NoError(t, err)
	in := Input{Lead: leadkit.Lead{ID: "l"}, Events: []leadkit.Event{ev("meeting", 0)}}
	r, err := m.Score(in)
	require.NoError(t, err)
	assert.Equal(t, now, r.AsOf)
	// 40 points two half-lives ago: 10.
	assert.InDelta(t, 10.0, r.Dimensions[0].Score, 1e-9)
	st, err := m.StateOf(in)
	require.NoError(t, err)
	var rs Result
	require.NoError(t, m.ReadState(&rs, &st, in.Lead, time.Time{}))
	assert.InDelta(t, 10.0, rs.Dimensions[0].Score, 1e-9)
	// The default clock is the wall clock: an event at the real now is
	// fresh.
	m = mustCompile(t, spec)
	before := time.Now()
	r, err = m.Score(Input{Lead: leadkit.Lead{ID: "l1"}, Events: []leadkit.Event{{ID: "e", Type: "meeting", Time: before}}})
	require.NoError(t, err)
	assert.False(t, r.AsOf.Before(before))
	assert.InDelta(t, 40.0, r.Dimensions[0].Score, 0.01)
}

func TestScoreIntoZeroAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	m := benchModel(t)
	in := benchInputs(t, 8, 5)
	var res Result
	require.NoError(t, m.ScoreInto(&res, in[0]))
	i := 0
	allocs := testing.AllocsPerRun(200, func() {
		_ = m.ScoreInto(&res, in[i%len(in)])
		i++
	})
	assert.Zero(t, allocs)
}

func TestBatch(t *testing.T) {
	m := mustCompile(t, fitSpec())
	in := make([]Input, 300)
	bad := 0
	for i := range in {
		in[i] = Input{Lead: vpLead(), AsOf: asOf0}
		in[i].Lead.ID = fmt.Sprint(i)
		if i%7 == 3 {
			in[i].Lead.Person.Custom = map[string]any{"budget": true} // wrong type
			bad++
		}
	}
	for _, workers := range []int{0, 1, 2, 4} {
		out := make([]Result, len(in))
		err := m.ScoreBatch(out, in, workers)
		var be *BatchError
		require.ErrorAs(t, err, &be)
		require.Len(t, be.Errs, len(in))
		assert.Equal(t, bad, be.Failed)
		assert.ErrorIs(t, err, leadkit.ErrInvalid)
		assert.Contains(t, err.Error(), fmt.Sprintf("scoring: batch: %d of 300 leads failed; input 3: ", bad))
		var re *RuleError
		require.ErrorAs(t, err, &re)
		assert.Equal(t, "3", re.LeadID, "the first failure")
		for i := range in {
			if i%7 == 3 {
				require.ErrorAs(t, be.Errs[i], &re, "lead %d", i)
				assert.Equal(t, fmt.Sprint(i), re.LeadID)
				assert.Empty(t, out[i].Dimensions)
				continue
			}
			require.NoError(t, be.Errs[i])
			want, err := m.Score(in[i])
			require.NoError(t, err)
			assert.Equal(t, want, out[i])
		}
	}
	// Every lead scored: nil.
	good := in[:3]
	require.NoError(t, m.ScoreBatch(make([]Result, 3), good, 2))
	err := m.ScoreBatch(make([]Result, 1), in, 2)
	assert.True(t, errors.Is(err, leadkit.ErrInvalid))
}

func TestBatchZeroAllocsPerLead(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	m := benchModel(t)
	in := benchInputs(t, 64, 6)
	out := make([]Result, len(in))
	for _, workers := range []int{1, 2} {
		require.NoError(t, m.ScoreBatch(out, in, workers))
		allocs := testing.AllocsPerRun(20, func() { _ = m.ScoreBatch(out, in, workers) })
		// A batch may allocate its goroutines and closures (a few per
		// worker), never one per lead: 64 leads per run.
		assert.Less(t, allocs, 4.0+4*float64(workers), "workers=%d", workers)
	}
}

// A reset and another rule on the same event give the same
// score in either rule order: each demo event resets, then counts.
func TestResetOrder(t *testing.T) {
	for _, resetFirst := range []bool{false, true} {
		demo := BehaviorRule{Name: "demo", Types: []string{"demo"}, Points: 10, FirstBonus: 5}
		restart := BehaviorRule{Name: "restart", Types: []string{"demo"}, Points: 0, Reset: true}
		rules := []BehaviorRule{demo, restart}
		if resetFirst {
			rules = []BehaviorRule{restart, demo}
		}
		m := mustCompile(t, ModelSpec{Name: "r", Dimensions: []DimensionSpec{{Name: "e", Behavior: rules}}})
		in := Input{Lead: leadkit.Lead{ID: "l1"}, Events: []leadkit.Event{ev("demo", 2*day), ev("demo", day)}, AsOf: asOf0}
		r, err := m.Score(in)
		require.NoError(t, err)
		// Only the last demo survives its own reset: 10 + 5 first bonus.
		assert.Equal(t, 15.0, r.Dimensions[0].Score, "reset first %v", resetFirst)
		assert.Equal(t, 15.0, r.Dimensions[0].Lifetime, "reset first %v", resetFirst)
		st, err := m.StateOf(in)
		require.NoError(t, err)
		var rs Result
		require.NoError(t, m.ReadState(&rs, &st, leadkit.Lead{ID: "l1"}, asOf0))
		assert.Equal(t, 15.0, rs.Dimensions[0].Score, "incremental, reset first %v", resetFirst)
	}
}

// Rules worth 0 fresh points are not hits.
func TestHitsSkipZero(t *testing.T) {
	m := mustCompile(t, ModelSpec{Name: "h", Dimensions: []DimensionSpec{
		{Name: "fit", Fit: []FitRule{{Name: "zero", When: "true", Points: 0}, {Name: "one", When: "true", Points: 1}}},
		{Name: "e", Behavior: []BehaviorRule{
			{Name: "old", Types: []string{"x"}, Points: 5, Decay: &DecaySpec{Window: 10 * day}},
			{Name: "new", Types: []string{"y"}, Points: 2},
			{Name: "marker", Types: []string{"y"}, Points: 0},
		}}}})
	r, err := m.Score(Input{Lead: leadkit.Lead{ID: "l1"}, Events: []leadkit.Event{ev("x", 20*day), ev("y", day)}, AsOf: asOf0})
	require.NoError(t, err)
	var got []string
	for _, h := range r.Hits {
		got = append(got, h.Rule)
	}
	assert.Equal(t, []string{"one", "new"}, got)
	// The expired rule still counts in the lifetime score: 5 + 2.
	assert.Equal(t, 7.0, r.Dimensions[1].Lifetime)
	assert.Equal(t, 2.0, r.Dimensions[1].Score)
}

// A failing shared predicate names a rule the event was dispatched to,
// and the others sharing it.
func TestSharedPredicateError(t *testing.T) {
	var re *RuleError
	m := mustCompile(t, ModelSpec{Name: "p", Fields: []leadkit.FieldSpec{{Name: "event.n", Type: leadkit.TypeNumber}}, Dimensions: []DimensionSpec{
		{Name: "d1", Behavior: []BehaviorRule{{Name: "dl", Types: []string{"download"}, When: "event.n > 1", Points: 1}}},
		{Name: "d2", Behavior: []BehaviorRule{
			{Name: "pv", Types: []string{"page_view"}, When: "event.n > 1", Points: 1},
			{Name: "any", When: "event.n > 1", Points: 1},
		}},
	}})
	bad := ev("page_view", day)
	bad.Attrs = map[string]any{"n": "two"}
	_, err := m.Score(Input{Lead: leadkit.Lead{ID: "l1"}, Events: []leadkit.Event{bad}, AsOf: asOf0})
	require.ErrorAs(t, err, &re)
	assert.Equal(t, "d2", re.Dimension)
	assert.Equal(t, "pv", re.Rule)
	assert.Contains(t, re.Msg, `(the same predicate serves rules "any")`)
}

// DaysSince and event.age_days read the scoring as-of time.
func TestDaysSince(t *testing.T) {
	spec := ModelSpec{Name: "t", Fields: []leadkit.FieldSpec{{Name: "person.last_login", Type: leadkit.TypeTime}},
		Dimensions: []DimensionSpec{
			{Name: "fit", Fit: []FitRule{
				{Name: "active", When: `daysSince(person.last_login) <= 30`, Points: 10},
				{Name: "new", When: `daysSince(lead.created_at) < 7`, Points: 5},
			}},
			{Name: "e", Behavior: []BehaviorRule{{Name: "recent", Types: []string{"x"}, When: `event.age_days < 10`, Points: 1}}},
		}}
	m := mustCompile(t, spec)
	lead := leadkit.Lead{ID: "l", CreatedAt: asOf0.Add(-3 * day), Person: leadkit.Person{Custom: map[string]any{"last_login": "2025-05-01T00:00:00Z"}}}
	evs := []leadkit.Event{ev("x", 12*day), ev("x", 9*day), ev("x", 0)}
	// At asOf0 (June 1): last login 31 days ago (no), created 3 days ago
	// (yes), two events younger than 10 days.
	r, err := m.Score(Input{Lead: lead, Events: evs, AsOf: asOf0})
	require.NoError(t, err)
	assert.Equal(t, 5.0, r.Dimensions[0].Score)
	assert.Equal(t, 2.0, r.Dimensions[1].Score)
	// Replayed at May 25: login 24 days ago (yes), the lead did not exist
	// yet (created in the future: -4 days < 7, yes); two events are
	// before the as-of time, 5 and 2 days old.
	r, err = m.Score(Input{Lead: lead, Events: evs, AsOf: asOf0.Add(-7 * day)})
	require.NoError(t, err)
	assert.Equal(t, 15.0, r.Dimensions[0].Score)
	assert.Equal(t, 2.0, r.Dimensions[1].Score)
	// A predicate on event age cannot be kept incrementally.
	_, err = m.StateOf(Input{Lead: lead, Events: evs, AsOf: asOf0})
	assert.ErrorContains(t, err, `rule "recent": its predicate or points expression reads the as-of time`)
	st := State{Model: m.Fingerprint(), Rules: make([]RuleState, 1)}
	assert.ErrorIs(t, m.Apply(&st, evs[0]), leadkit.ErrInvalid)
	// Without it, fit rules on time are fine incrementally: read at a time,
	// they see that time.
	spec.Dimensions[1].Behavior[0].When = ""
	m = mustCompile(t, spec)
	st, err = m.StateOf(Input{Lead: lead, AsOf: asOf0})
	require.NoError(t, err)
	require.NoError(t, m.ReadState(&r, &st, lead, asOf0.Add(-7*day)))
	assert.Equal(t, 15.0, r.Dimensions[0].Score)
	// A wrong value names the field.
	lead.Person.Custom["last_login"] = "last week"
	_, err = m.Score(Input{Lead: lead, AsOf: asOf0})
	assert.ErrorContains(t, err, `rule "active": when: person.last_login: want an RFC 3339 time, got "last week"`)
}

var at0 = time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)

func evAt(id, typ string, at time.Duration) leadkit.Event {
	return leadkit.Event{ID: id, LeadID: "l", Type: typ, Time: at0.Add(at)}
}
