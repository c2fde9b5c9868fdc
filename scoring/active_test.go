package scoring

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"slices"
	"testing"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A rule with active dates scores what the same rule without them scores
// on the events inside the dates alone: limits, decay, bonuses and counts
// see only those events.
func TestActiveDatesAreAFilter(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	types := []string{"page_view", "download"}
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for iter := range 300 {
		spec := randomModel(r)
		dim := spec.Dimensions[0]
		br := dim.Behavior[r.Intn(len(dim.Behavior))]
		br.Reset, br.Active = false, nil
		from := base.Add(time.Duration(r.Intn(60)) * day)
		to := from.Add(time.Duration(1+r.Intn(60)) * day)
		plain := ModelSpec{Name: "p", Fields: spec.Fields, Dimensions: []DimensionSpec{{Name: "d", Decay: dim.Decay, Behavior: []BehaviorRule{br}}}}
		br.Active = &ActiveSpec{From: from, To: to}
		active := ModelSpec{Name: "a", Fields: spec.Fields, Dimensions: []DimensionSpec{{Name: "d", Decay: dim.Decay, Behavior: []BehaviorRule{br}}}}
		mp, ma := mustCompile(t, plain), mustCompile(t, active)
		var evs, inside []leadkit.Event
		for i := range r.Intn(15) {
			e := leadkit.Event{ID: string(rune('a' + i)), LeadID: "l", Type: types[r.Intn(2)], Channel: "email",
				Time: base.Add(time.Duration(r.Int63n(int64(150 * day)))).Truncate(time.Hour)}
			if i > 0 && r.Intn(6) == 0 {
				e.Time = from // on the edge: counts
			}
			if i > 0 && r.Intn(6) == 0 {
				e.Time = to // on the edge: does not
			}
			evs = append(evs, e)
		}
		leadkit.SortEvents(evs)
		for _, e := range evs {
			if !e.Time.Before(from) && e.Time.Before(to) {
				inside = append(inside, e)
			}
		}
		asOf := base.Add(160 * day)
		want, err := mp.Score(Input{Lead: leadkit.Lead{ID: "l"}, Events: inside, AsOf: asOf})
		require.NoError(t, err)
		got, err := ma.Score(Input{Lead: leadkit.Lead{ID: "l"}, Events: evs, AsOf: asOf})
		require.NoError(t, err)
		assertSameScores(t, want, got, fmt.Sprintf("iter %d", iter))
	}
}

// The dates are data: "2025-01-01" or RFC 3339, written back the same
// way; bad dates and empty ranges are refused naming the rule.
func TestActiveSpecText(t *testing.T) {
	s, err := ParseModel([]byte("name: m\ndimensions:\n  - name: d\n    behavior:\n      - {name: spring webinar, types: [webinar_attended], points: 10, active: {from: 2025-03-01, to: '2025-06-01T12:00:00+02:00'}}\n"))
	require.NoError(t, err)
	a := s.Dimensions[0].Behavior[0].Active
	require.NotNil(t, a)
	assert.Equal(t, time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), a.From)
	assert.Equal(t, time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC), a.To)
	b, err := s.Dimensions[0].Behavior[0].Active.MarshalJSON()
	require.NoError(t, err)
	assert.JSONEq(t, `{"from":"2025-03-01","to":"2025-06-01T10:00:00Z"}`, string(b))

	for _, bad := range []string{"{from: 2025-13-01}", "{from: yesterday}", "{start: 2025-01-01}", "{from: 1850-01-01}"} {
		_, err := ParseModel([]byte("name: m\ndimensions:\n  - name: d\n    behavior:\n      - {name: r, points: 1, active: " + bad + "}\n"))
		assert.ErrorIs(t, err, leadkit.ErrInvalid, bad)
	}
	_, err = Compile(ModelSpec{Name: "m", Dimensions: []DimensionSpec{{Name: "d", Behavior: []BehaviorRule{{Name: "r", Points: 1,
		Active: &ActiveSpec{From: time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}}}}}}, Options{})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.Contains(t, err.Error(), `rule "r"`)
	assert.Contains(t, err.Error(), "from must be before to")
}

// WhyNot does not suggest a rule whose dates are over.
func TestWhyNotSkipsInactiveRules(t *testing.T) {
	m := mustCompile(t, ModelSpec{Name: "m", Dimensions: []DimensionSpec{{Name: "d", Behavior: []BehaviorRule{
		{Name: "old campaign", Types: []string{"webinar_attended"}, Points: 50, Active: &ActiveSpec{To: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}},
		{Name: "download", Types: []string{"download"}, Points: 10},
	}}}, Thresholds: []ThresholdSpec{{Name: "mql", Dimension: "d", Value: 30}}})
	g, err := m.WhyNot(Input{Lead: leadkit.Lead{ID: "l"}, AsOf: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)}, Target{Threshold: "mql"})
	require.NoError(t, err)
	require.Len(t, g.Suggestions, 2)
	assert.Equal(t, "download", g.Suggestions[0].Rule)
	assert.Empty(t, g.Suggestions[0].Blocked)
	assert.Equal(t, "old campaign", g.Suggestions[1].Rule)
	assert.Equal(t, BlockedInactive, g.Suggestions[1].Blocked)
}

// OnlyBehavior leaves out the fit rules: a rep cannot change a lead's
// seniority.
func TestWhyNotOnlyBehavior(t *testing.T) {
	m := mustCompile(t, ModelSpec{Name: "m", Dimensions: []DimensionSpec{
		{Name: "fit", Fit: []FitRule{{Name: "vp", When: `person.seniority == "vp"`, Points: 40}}},
		{Name: "engagement", Behavior: []BehaviorRule{{Name: "download", Types: []string{"download"}, Points: 10}}},
		{Name: "total", Expr: "fit + engagement"},
	}, Thresholds: []ThresholdSpec{{Name: "mql", Dimension: "total", Value: 30}}})
	in := Input{Lead: leadkit.Lead{ID: "l"}, AsOf: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)}
	all, err := m.WhyNot(in, Target{Threshold: "mql"})
	require.NoError(t, err)
	var rules []string
	for _, s := range all.Suggestions {
		rules = append(rules, s.Rule)
	}
	assert.Equal(t, []string{"vp", "download"}, rules)
	acts, err := m.WhyNot(in, Target{Threshold: "mql", OnlyBehavior: true})
	require.NoError(t, err)
	require.Len(t, acts.Suggestions, 1)
	assert.Equal(t, "download", acts.Suggestions[0].Rule)
	assert.Equal(t, KindBehavior, acts.Suggestions[0].Kind)
	assert.Equal(t, all.Missing, acts.Missing)
}

// A late event is refused by Apply, which leaves the state as it was;
// StateOf over every event, the late one included and in any order, is
// the exact rebuild: it equals a full rescore.
func TestLateEventRebuild(t *testing.T) {
	r := rand.New(rand.NewSource(11))
	sims := simInputs(benchSim(t, 100, 11, 30), 50)
	for iter := range 50 {
		m := mustCompile(t, randomModel(r))
		in := sims[iter]
		evs := in.Events
		if len(evs) < 3 {
			continue
		}
		late := r.Intn(len(evs) - 1)
		var rest []leadkit.Event
		rest = append(rest, evs[:late]...)
		rest = append(rest, evs[late+1:]...)
		st, err := m.StateOf(Input{Lead: in.Lead, Events: rest, AsOf: rest[len(rest)-1].Time})
		require.NoError(t, err)
		before, err := json.Marshal(st)
		require.NoError(t, err)
		err = m.Apply(&st, evs[late])
		if evs[late].Time.Before(rest[len(rest)-1].Time) {
			require.ErrorIs(t, err, ErrOutOfOrder)
			after, err := json.Marshal(st)
			require.NoError(t, err)
			assert.JSONEq(t, string(before), string(after), "a refused event leaves the state as it was")
		}
		shuffled := slices.Clone(evs)
		r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		asOf := evs[len(evs)-1].Time.Add(time.Duration(r.Intn(30)) * day)
		rebuilt, err := m.StateOf(Input{Lead: in.Lead, Events: shuffled, AsOf: evs[len(evs)-1].Time})
		require.NoError(t, err)
		var got Result
		require.NoError(t, m.ReadState(&got, &rebuilt, in.Lead, asOf))
		want, err := m.Score(Input{Lead: in.Lead, Events: evs, AsOf: asOf})
		require.NoError(t, err)
		assertSameScores(t, want, got, fmt.Sprintf("iter %d", iter))
	}
}

// An event outside a rule's dates does not run the rule's predicate or
// points expression: as if the rule's types excluded it, it cannot fail
// the lead.
func TestInactiveRulesDoNotRun(t *testing.T) {
	m := mustCompile(t, ModelSpec{Name: "m", Fields: []leadkit.FieldSpec{{Name: "event.amount", Type: leadkit.TypeNumber}},
		Dimensions: []DimensionSpec{{Name: "d", Behavior: []BehaviorRule{
			{Name: "deal", Types: []string{"deal"}, PointsExpr: "1000 / event.amount", Cap: 50, Active: &ActiveSpec{From: at0}},
			{Name: "big", Types: []string{"quote"}, When: "1000 / event.amount > 1", Points: 5, Active: &ActiveSpec{From: at0}},
		}}}})
	old := []leadkit.Event{evAt("old", "deal", -30*day), evAt("oldq", "quote", -29*day)}
	res, err := m.Score(Input{Lead: leadkit.Lead{ID: "l"}, Events: old, AsOf: at0.Add(day)})
	require.NoError(t, err)
	assert.Zero(t, res.Dimensions[0].Score)
	st := m.NewState()
	for _, e := range old {
		require.NoError(t, m.Apply(&st, e))
	}
	// Inside the dates the same event fails the lead, naming the rule.
	_, err = m.Score(Input{Lead: leadkit.Lead{ID: "l"}, Events: []leadkit.Event{evAt("new", "deal", day)}, AsOf: at0.Add(2 * day)})
	assert.ErrorContains(t, err, `rule "deal"`)
}
