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

// Regression tests of the outside review of the package; each says which
// finding it covers. Expected values are derived by hand.

// Finding 1: values over the size limits fail the lead, naming the field,
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

	// The reviewer's rule (0.88 s per lead before) no longer compiles, and
	// neither does its form without split.
	for _, src := range []string{
		`count(split(person.title, ""), count(split(person.title, ""), # == "a") > 0) > 0`,
		`count(company.tech_stack, count(company.tech_stack, # == "a") > 0) > 0`,
	} {
		_, err := Compile(ModelSpec{Name: "d", Dimensions: []DimensionSpec{{Name: "f", Fit: []FitRule{{Name: "r", When: src, Points: 1}}}}}, Options{})
		assert.ErrorIs(t, err, leadkit.ErrInvalid, src)
	}
}

// Finding 2: zero and implausible event times are errors for that lead,
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

// Finding 6: a reset and another rule on the same event give the same
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

// Finding 7: Clone keeps a snapshot that later Apply calls do not touch.
func TestStateClone(t *testing.T) {
	m := mustCompile(t, ModelSpec{Name: "w", Dimensions: []DimensionSpec{{Name: "e", Decay: &DecaySpec{Window: 1 * day},
		Behavior: []BehaviorRule{{Name: "r", Types: []string{"x"}, Points: 1}}}}})
	st := m.NewState()
	for i := 0; i < 4; i++ {
		require.NoError(t, m.Apply(&st, leadkit.Event{Type: "x", Time: asOf0.Add(time.Duration(i) * time.Hour)}))
	}
	saved := st.Clone()
	require.NoError(t, m.Apply(&st, leadkit.Event{Type: "x", Time: asOf0.Add(3 * day)}))
	var r Result
	require.NoError(t, m.ReadState(&r, &saved, leadkit.Lead{ID: "l1"}, asOf0.Add(4*time.Hour)))
	assert.Equal(t, 4.0, r.Dimensions[0].Score) // the four events within the day
	require.NoError(t, m.ReadState(&r, &st, leadkit.Lead{ID: "l1"}, asOf0.Add(3*day)))
	assert.Equal(t, 1.0, r.Dimensions[0].Score)
}

// Finding 8: WhyNot suggests only rules whose dimension reaches the target.
func TestWhyNotReach(t *testing.T) {
	spec := fitSpec()
	spec.Dimensions = append(spec.Dimensions,
		DimensionSpec{Name: "engagement", Behavior: []BehaviorRule{
			{Name: "download", Types: []string{"download"}, Points: 8, Cap: 16},
			{Name: "meeting", Types: []string{"meeting"}, Points: 30, Limit: &LimitSpec{Max: 1}},
			{Name: "webinar", Types: []string{"webinar"}, Points: 10},
		}})
	m := mustCompile(t, spec)
	lead := leadkit.Lead{ID: "l", Person: leadkit.Person{Seniority: "vp", Email: "a@acme.com"}}
	in := Input{Lead: lead, AsOf: asOf0, Events: []leadkit.Event{ev("download", 3*day), ev("download", 2*day), ev("meeting", day)}}
	g, err := m.WhyNot(in, Target{Dimension: "fit", Band: "A"})
	require.NoError(t, err)
	var got []string
	for _, s := range g.Suggestions {
		assert.Equal(t, "fit", s.Dimension)
		got = append(got, s.Rule)
	}
	// fit 20 of 50: size (+15), marketing (+10), budget (+10); no
	// engagement rule, blocked or not.
	assert.Equal(t, []string{"size", "marketing", "budget"}, got)

	// Finding 14: a target naming a threshold and a band is an error.
	_, err = m.WhyNot(in, Target{Threshold: "x", Dimension: "fit", Band: "A"})
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
	_, err = m.WhyNot(in, Target{Dimension: "fit"})
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
}

// Finding 9: rules worth 0 fresh points are not hits.
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

// Finding 14: Compare says which model failed; a failing shared predicate
// names a rule the event was dispatched to, and the others sharing it.
func TestErrorDetails(t *testing.T) {
	specA := fitSpec()
	specA.Version = "1"
	specA.Thresholds = []ThresholdSpec{{Name: "mql", Dimension: "fit", Value: 30}}
	specB := specA
	specB.Version = "2"
	specB.Fields = nil
	specB.Dimensions = []DimensionSpec{{Name: "fit", Fit: []FitRule{{Name: "vp", When: `person.seniority == "vp"`, Points: 40}}}}
	a, b := mustCompile(t, specA), mustCompile(t, specB)
	broken := vpLead()
	broken.ID = "bad"
	broken.Person.Custom = map[string]any{"budget": "x"}
	c, err := Compare(a, b, []Input{{Lead: vpLead(), AsOf: asOf0}, {Lead: broken, AsOf: asOf0}}, "mql")
	require.NoError(t, err)
	require.Len(t, c.Errors, 1)
	var ce *CompareError
	require.ErrorAs(t, c.Errors[0], &ce)
	assert.Equal(t, CompareError{Index: 1, LeadID: "bad", Model: "a", Name: "fit", Version: "1", Err: ce.Err}, *ce)
	assert.Contains(t, ce.Error(), `scoring: compare: input 1 (lead "bad"): model a (fit 1): scoring: lead "bad"`)
	var re *RuleError
	assert.ErrorAs(t, c.Errors[0], &re)

	m := mustCompile(t, ModelSpec{Name: "p", Fields: []leadkit.FieldSpec{{Name: "event.n", Type: leadkit.TypeNumber}}, Dimensions: []DimensionSpec{
		{Name: "d1", Behavior: []BehaviorRule{{Name: "dl", Types: []string{"download"}, When: "event.n > 1", Points: 1}}},
		{Name: "d2", Behavior: []BehaviorRule{
			{Name: "pv", Types: []string{"page_view"}, When: "event.n > 1", Points: 1},
			{Name: "any", When: "event.n > 1", Points: 1},
		}},
	}})
	bad := ev("page_view", day)
	bad.Attrs = map[string]any{"n": "two"}
	_, err = m.Score(Input{Lead: leadkit.Lead{ID: "l1"}, Events: []leadkit.Event{bad}, AsOf: asOf0})
	require.ErrorAs(t, err, &re)
	assert.Equal(t, "d2", re.Dimension)
	assert.Equal(t, "pv", re.Rule)
	assert.Contains(t, re.Msg, `(the same predicate serves rules "any")`)
}

// Finding 15: daysSince and event.age_days read the scoring as-of time.
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
	assert.ErrorContains(t, err, `rule "recent": its predicate reads the as-of time`)
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

// Finding 15: Crossings agrees with a brute-force scan of Score every 10
// minutes on benchmark leads.
func TestCrossingsMatchBruteForce(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	m := benchModel(t)
	in := benchInputs(crossLeads, 11)
	for _, x := range in {
		x.Events = x.Events[:crossEvents]
		x.AsOf = x.Events[len(x.Events)-1].Time.Add(20 * day)
		cs, err := m.Crossings(x, "mql")
		require.NoError(t, err)
		first := x.Events[0].Time
		r0, err := m.Score(Input{Lead: x.Lead, AsOf: first})
		require.NoError(t, err)
		prev := r0.Reached("mql")
		var brute []Crossing
		for tt := first; !tt.After(x.AsOf); tt = tt.Add(10 * time.Minute) {
			r, err := m.Score(Input{Lead: x.Lead, Events: x.Events, AsOf: tt})
			require.NoError(t, err)
			if now := r.Reached("mql"); now != prev {
				brute = append(brute, Crossing{Time: tt, Up: now})
				prev = now
			}
		}
		require.Len(t, cs, len(brute), "%s: brute force %v", x.Lead.ID, brute)
		for i := range brute {
			assert.Equal(t, brute[i].Up, cs[i].Up)
			// The scan sees a crossing at the first grid time at or after it.
			assert.False(t, cs[i].Time.After(brute[i].Time), "%s crossing %d", x.Lead.ID, i)
			assert.Less(t, brute[i].Time.Sub(cs[i].Time), 10*time.Minute, "%s crossing %d", x.Lead.ID, i)
		}
	}
}

var crossLeads, crossEvents = 6, 20

func BenchmarkCrossings(b *testing.B) {
	m := benchModel(b)
	in := benchInputs(16, 4)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := m.Crossings(in[i%len(in)], "mql"); err != nil {
			b.Fatal(err)
		}
	}
	reportLeads(b, 1)
}
