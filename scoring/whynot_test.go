package scoring

import (
	"testing"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

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

// WhyNot suggests only rules whose dimension reaches the target.
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

	// A target naming a threshold and a band is an error.
	_, err = m.WhyNot(in, Target{Threshold: "x", Dimension: "fit", Band: "A"})
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
	_, err = m.WhyNot(in, Target{Dimension: "fit"})
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
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
		g, err := m.WhyNot(Input{Lead: leadkit.Lead{ID: "l"}, Events: evs, AsOf: at0.Add(day)}, Target{Threshold: "mql"})
		require.NoError(t, err)
		out := map[string]Blocker{}
		for _, s := range g.Suggestions {
			out[s.Rule] = s.Blocked
		}
		return out
	}
	b := blocked(evAt("1", "page_view", 0))
	assert.Equal(t, Blocker(""), b["download"])
	assert.Equal(t, BlockedCount, b["three visits"], "one more visit makes two of three")
	b = blocked(evAt("1", "page_view", 0), evAt("c", "competitor_seen", time.Hour))
	assert.Equal(t, BlockedSet, b["download"], "the competitor rule holds the dimension at 0")
}
