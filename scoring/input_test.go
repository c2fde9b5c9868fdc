package scoring

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A State is one lead's too, and Apply is idempotent by event ID like
// Score: a redelivered event counted twice and another lead's event
// counted in (30 points where Score gave 10).
func TestStateBelongsToOneLead(t *testing.T) {
	m := mustCompile(t, behSpec(BehaviorRule{Name: "dl", Types: []string{"download"}, Points: 10}))
	lead := leadkit.Lead{ID: "l1"}
	e := ev("download", 2*day)
	e.LeadID = "l1"
	want := score(t, m, lead, e, e)

	st := m.NewState()
	require.NoError(t, m.Apply(&st, e))
	require.NoError(t, m.Apply(&st, e), "a redelivery at the latest time is skipped")
	later := ev("download", day)
	later.LeadID = "l1"
	require.NoError(t, m.Apply(&st, later))
	err := m.Apply(&st, e)
	assert.ErrorIs(t, err, ErrOutOfOrder, "an older redelivery is refused and counts nothing")
	other := later
	other.ID, other.LeadID = "e2", "someone-else"
	err = m.Apply(&st, other)
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.ErrorContains(t, err, `belongs to lead "someone-else"`)
	long := later
	long.ID = strings.Repeat("x", leadkit.MaxIDBytes+1)
	assert.ErrorContains(t, m.Apply(&st, long), "the limit is 256")
	_, err = m.Score(Input{Lead: lead, Events: []leadkit.Event{later, long}, AsOf: asOf0})
	assert.ErrorContains(t, err, "event 2: ID is 257 bytes, the limit is 256")
	_, err = m.Score(Input{Lead: lead, Events: make([]leadkit.Event, MaxEvents+1), AsOf: asOf0})
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.ErrorContains(t, err, "100001 events, the limit is 100000")

	var r Result
	require.NoError(t, m.ReadState(&r, &st, lead, asOf0))
	assert.Equal(t, dim(t, want, "engagement").Score+10, dim(t, r, "engagement").Score, "e once, later once")
	err = m.ReadState(&r, &st, leadkit.Lead{ID: "l2"}, asOf0)
	assert.ErrorContains(t, err, `counts lead "l1", not this lead`)

	// Events at one time: each ID once, in any order of redelivery.
	st = m.NewState()
	a, b := e, e
	b.ID = "other-id"
	for _, x := range []leadkit.Event{a, b, a, b, a} {
		require.NoError(t, m.Apply(&st, x))
	}
	require.NoError(t, m.ReadState(&r, &st, lead, asOf0))
	assert.Equal(t, 20.0, dim(t, r, "engagement").Score)
	// The state survives JSON with its lead and IDs.
	js, err := json.Marshal(st)
	require.NoError(t, err)
	var back State
	require.NoError(t, json.Unmarshal(js, &back))
	require.NoError(t, m.Apply(&back, a))
	require.NoError(t, m.ReadState(&r, &back, lead, asOf0))
	assert.Equal(t, 20.0, dim(t, r, "engagement").Score)
}

// A score is a lead's: the lead needs an ID, events of another lead are
// refused, and an event ID counts once however often it is given (as a
// store keeps one event per ID).
func TestInputBelongsToOneLead(t *testing.T) {
	m := mustCompile(t, behSpec(BehaviorRule{Name: "dl", Types: []string{"download"}, Points: 10}))
	e1, e2 := ev("download", 2*day), ev("download", day)

	_, err := m.Score(Input{Events: []leadkit.Event{e1}, AsOf: asOf0})
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.ErrorContains(t, err, "lead has no ID")

	other := e2
	other.LeadID = "someone-else"
	_, err = m.Score(Input{Lead: leadkit.Lead{ID: "l1"}, Events: []leadkit.Event{e1, other}, AsOf: asOf0})
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.ErrorContains(t, err, `event "download-86400000000000": belongs to lead "someone-else"`)

	mine := e2
	mine.LeadID = "l1"
	once := score(t, m, leadkit.Lead{ID: "l1"}, e1, mine)
	assert.Equal(t, 20.0, dim(t, once, "engagement").Score)
	for name, evs := range map[string][]leadkit.Event{
		"replayed":             {e1, mine, e1, mine},
		"replayed unsorted":    {mine, e1, mine},
		"same ID, later time":  {e1, mine, func() leadkit.Event { x := e1; x.Time = asOf0; return x }()},
		"same ID, other types": {e1, mine, func() leadkit.Event { x := e1; x.Type = "download"; return x }()},
	} {
		r := score(t, m, leadkit.Lead{ID: "l1"}, evs...)
		assert.Equal(t, 20.0, dim(t, r, "engagement").Score, name)
		// The incremental path agrees.
		st, err := m.StateOf(Input{Lead: leadkit.Lead{ID: "l1"}, Events: evs, AsOf: asOf0})
		require.NoError(t, err, name)
		var rs Result
		require.NoError(t, m.ReadState(&rs, &st, leadkit.Lead{ID: "l1"}, asOf0), name)
		assert.Equal(t, 20.0, dim(t, rs, "engagement").Score, name)
	}
	// Many events, one repeated far apart: the open-addressing table
	// finds it.
	var many []leadkit.Event
	for i := 0; i < 500; i++ {
		e := ev("download", time.Duration(i+1)*time.Minute)
		e.ID = fmt.Sprintf("id-%d", i)
		many = append(many, e)
	}
	many = append(many, many[3])
	r := score(t, m, leadkit.Lead{ID: "l1"}, many...)
	assert.Equal(t, 5000.0, dim(t, r, "engagement").Score)
}

// Scores stay within MaxPoints: a derived dimension of 2e10 is held at
// it (its explanation's clamp shows the cut), as a sum of rules beyond
// it is; an int() overflow is an error naming the dimension, not a
// number.
func TestScoresBounded(t *testing.T) {
	spec := ModelSpec{Name: "m", Dimensions: []DimensionSpec{
		{Name: "fit", Fit: []FitRule{{Name: "all", When: "true", Points: 1e9}}},
		{Name: "big", Expr: "fit * 20"},
	}}
	m := mustCompile(t, spec)
	res, err := m.Score(Input{Lead: leadkit.Lead{ID: "l1"}, AsOf: asOf0})
	require.NoError(t, err)
	assert.Equal(t, float64(MaxPoints), res.Dimensions[1].Score)
	assert.Equal(t, 2e10, res.Dimensions[1].Raw)
	e, err := m.Explain(res, "big")
	require.NoError(t, err)
	assert.Equal(t, float64(MaxPoints)-2e10, e.Clamp)
	var re *RuleError

	spec.Dimensions[1].Expr = "int(fit * 1e30)"
	m = mustCompile(t, spec)
	_, err = m.Score(Input{Lead: leadkit.Lead{ID: "l1"}, AsOf: asOf0})
	require.ErrorAs(t, err, &re)
	assert.Equal(t, "big", re.Dimension)
	assert.Contains(t, re.Msg, "out of range")

	// Many events of a big rule: the sum, not a single rule, passes the
	// bound. A rule dimension is held at it (the lead still scores, and
	// Raw keeps the sum).
	m = mustCompile(t, behSpec(BehaviorRule{Name: "dl", Types: []string{"download"}, Points: 6e8}))
	r, err := m.Score(Input{Lead: leadkit.Lead{ID: "l1"}, Events: []leadkit.Event{ev("download", 2*day), ev("download", day)}, AsOf: asOf0})
	require.NoError(t, err)
	assert.Equal(t, float64(MaxPoints), r.Dimensions[0].Score)
	assert.Equal(t, 1.2e9, r.Dimensions[0].Raw)
}

// Results never depend on the host: method calls on times are refused.
func TestRulesCannotReadTheHost(t *testing.T) {
	for _, src := range []string{`lead.created_at.Local().Hour() > 3`, `string(lead.created_at.Local()) contains "JST"`, `now() > lead.created_at`} {
		_, err := Compile(ModelSpec{Name: "m", Dimensions: []DimensionSpec{{Name: "f", Fit: []FitRule{{Name: "r", When: src, Points: 1}}}}}, Options{})
		require.Error(t, err, src)
		assert.ErrorIs(t, err, leadkit.ErrInvalid)
	}
}

func TestDurationsInModels(t *testing.T) {
	doc := `
name: m
dimensions:
  - name: e
    decay: {half_life: 2w}
    behavior:
      - {name: dl, types: [download], points: 10, decay: {window: 30d}, recency: {within: 1d12h, points: 2}}
`
	spec, err := ParseModel([]byte(doc))
	require.NoError(t, err)
	assert.Equal(t, 14*day, spec.Dimensions[0].Decay.HalfLife)
	assert.Equal(t, 30*day, spec.Dimensions[0].Behavior[0].Decay.Window)
	assert.Equal(t, 36*time.Hour, spec.Dimensions[0].Behavior[0].Recency.Within)

	b, err := json.Marshal(spec)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"half_life":"2w"`)
	assert.Contains(t, string(b), `"within":"1d12h"`)
	back, err := ParseModel(b)
	require.NoError(t, err)
	assert.Equal(t, spec, back)

	for _, bad := range []string{
		strings.Replace(doc, "window: 30d", "window: 30", 1),
		strings.Replace(doc, "window: 30d", "window_days: 30", 1),
		strings.Replace(doc, "within: 1d12h", "within: 1.5", 1),
		strings.Replace(doc, "half_life: 2w", "half_life: 2 weeks", 1),
	} {
		_, err := ParseModel([]byte(bad))
		assert.ErrorIs(t, err, leadkit.ErrInvalid, bad)
	}
	_, err = Compile(ModelSpec{Name: "m", Dimensions: []DimensionSpec{{Name: "e", Decay: &DecaySpec{Window: -day}}}}, Options{})
	assert.ErrorContains(t, err, "window must be positive")
}

func TestModelCaps(t *testing.T) {
	spec := ModelSpec{Name: "m"}
	for i := 0; i <= MaxDimensions; i++ {
		spec.Dimensions = append(spec.Dimensions, DimensionSpec{Name: fmt.Sprintf("d%d", i)})
	}
	_, err := Compile(spec, Options{})
	assert.ErrorContains(t, err, "101 dimensions, the limit is 100")

	spec = ModelSpec{Name: strings.Repeat("n", leadkit.MaxNameBytes+1), Dimensions: []DimensionSpec{{Name: "a\x00b"}}}
	_, err = Compile(spec, Options{})
	assert.ErrorContains(t, err, "name is 257 bytes, the limit is 256")
	assert.ErrorContains(t, err, "contains a NUL byte")

	_, err = ParseModel([]byte(strings.Repeat(" ", leadkit.MaxDocumentBytes+1)))
	assert.ErrorContains(t, err, "the limit is 1048576")
}

// Values over the size limits fail the lead, naming the field,
// and only for rules that read it.
func TestInputSizeLimits(t *testing.T) {
	m := mustCompile(t, ModelSpec{Name: "m", Fields: []leadkit.FieldSpec{{Name: "event.tags", Type: leadkit.TypeStrings}},
		Dimensions: []DimensionSpec{
			{Name: "fit", Fit: []FitRule{
				{Name: "title", When: `lower(person.title) contains "cto"`, Points: 5},
				{Name: "stack", When: `"aws" in company.tech_stack`, Points: 3},
			}},
			{Name: "e", Behavior: []BehaviorRule{{Name: "vip", Types: []string{"x"}, When: `"vip" in event.tags`, Points: 1}}},
		}})
	ok := strings.Repeat("a", leadkit.MaxStringBytes)
	in := Input{Lead: leadkit.Lead{ID: "l", Person: leadkit.Person{Title: ok + "x"}}, AsOf: asOf0}
	_, err := m.Score(in)
	var re *RuleError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, "title", re.Rule)
	assert.Contains(t, err.Error(), `lead "l": dimension "fit": rule "title": when: person.title: value is 4097 bytes, the limit is 4096`)

	in.Lead.Person.Title = ok // exactly at the limit: fine
	in.Lead.Company.TechStack = make([]string, leadkit.MaxListItems+1)
	_, err = m.Score(in)
	assert.ErrorContains(t, err, `rule "stack": when: company.tech_stack: list has 1001 items, the limit is 1000`)

	in.Lead.Company.TechStack = []string{"aws"}
	in.Events = []leadkit.Event{{ID: "e1", Type: "x", Time: asOf0, Attrs: map[string]any{"tags": []any{ok + "b"}}}}
	_, err = m.Score(in)
	assert.ErrorContains(t, err, `rule "vip": when (event "e1"): event.tags: item 1 is 4097 bytes, the limit is 4096`)

	// A rule nesting list predicates over a split string (0.88 s per
	// lead when such rules compiled) does not compile, nor its form
	// without split.
	for _, src := range []string{
		`count(split(person.title, ""), count(split(person.title, ""), # == "a") > 0) > 0`,
		`count(company.tech_stack, count(company.tech_stack, # == "a") > 0) > 0`,
	} {
		_, err := Compile(ModelSpec{Name: "d", Dimensions: []DimensionSpec{{Name: "f", Fit: []FitRule{{Name: "r", When: src, Points: 1}}}}}, Options{})
		assert.ErrorIs(t, err, leadkit.ErrInvalid, src)
	}
}

// Zero and implausible event times are errors for that lead,
// naming the event, on every path; times at the edges of the range stay
// finite and agree between the full and the incremental path.
func TestEventTimes(t *testing.T) {
	for _, d := range []*DecaySpec{{Window: 30 * day}, {HalfLife: 30 * day}, nil} {
		m := mustCompile(t, ModelSpec{Name: "z", Dimensions: []DimensionSpec{{Name: "e", Decay: d, Max: f64(100),
			Behavior: []BehaviorRule{{Name: "r", Types: []string{"x"}, Points: 10, Recency: &RecencySpec{Within: 7 * day, Points: 3}}}}}})
		for _, bad := range []time.Time{{}, time.Date(1899, 12, 31, 0, 0, 0, 0, time.UTC), time.Date(2150, 1, 1, 0, 0, 0, 0, time.UTC)} {
			evs := []leadkit.Event{{ID: "ok", Type: "x", Time: asOf0.Add(-100 * day)}, {ID: "bad", Type: "x", Time: bad}}
			in := Input{Lead: leadkit.Lead{ID: "l"}, Events: evs, AsOf: asOf0}
			_, err := m.Score(in)
			require.ErrorIs(t, err, leadkit.ErrInvalid)
			assert.Contains(t, err.Error(), `scoring: lead "l": event "bad": time `)
			_, err = m.StateOf(in)
			assert.ErrorContains(t, err, `event "bad": time `)
			st := m.NewState()
			assert.ErrorIs(t, m.Apply(&st, evs[1]), leadkit.ErrInvalid)
			assert.Equal(t, m.NewState(), st)
			_, err = m.WhyNot(in, Target{Dimension: "e", Band: "x"})
			assert.Error(t, err)
			_, err = m.Crossings(in, "none")
			assert.Error(t, err)
		}
		// As-of times are checked too.
		_, err := m.Score(Input{Lead: leadkit.Lead{ID: "l1"}, AsOf: time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)})
		assert.ErrorContains(t, err, "as-of time: 2200-01-01T00:00:00Z is outside years 1900 to 2149")

		// The edges: an event on 1900-01-01 read at the end of 2149.
		lo, hi := time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2149, 12, 31, 23, 59, 59, 0, time.UTC)
		evs := []leadkit.Event{{ID: "a", Type: "x", Time: lo}, {ID: "b", Type: "x", Time: lo.Add(day)}}
		for _, at := range []time.Time{lo.Add(2 * day), hi} {
			in := Input{Lead: leadkit.Lead{ID: "l1"}, Events: evs, AsOf: at}
			r, err := m.Score(in)
			require.NoError(t, err)
			for _, h := range r.Hits {
				assert.False(t, math.IsInf(h.Points, 0) || math.IsNaN(h.Points))
			}
			st, err := m.StateOf(in)
			require.NoError(t, err)
			_, err = json.Marshal(st)
			require.NoError(t, err)
			var rs Result
			require.NoError(t, m.ReadState(&rs, &st, leadkit.Lead{ID: "l1"}, at))
			assertSameScores(t, r, rs, fmt.Sprintf("%v at %s", d, at))
		}
	}
}
