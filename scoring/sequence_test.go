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

// holds reports whether types holds seq in order, gaps allowed, and the
// index at which it completes (-1 if it does not).
func holds(types, seq []string) int {
	k := 0
	for i, t := range types {
		if k < len(seq) && t == seq[k] {
			k++
			if k == len(seq) {
				return i
			}
		}
	}
	return -1
}

// A path rule gives its points once, from the event that completes the
// sequence, checked against a subsequence search by hand; the
// incremental path agrees.
func TestSequenceRulesByBruteForce(t *testing.T) {
	r := rand.New(rand.NewSource(17))
	types := []string{"webinar_attended", "download", "page_view", "meeting"}
	base := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	for iter := range 400 {
		seq := []string{types[r.Intn(4)], types[r.Intn(4)]}
		if r.Intn(3) == 0 {
			seq = append(seq, types[r.Intn(4)])
		}
		var decay *DecaySpec
		if r.Intn(2) == 0 {
			decay = &DecaySpec{HalfLife: time.Duration(1+r.Intn(30)) * day}
		}
		m := mustCompile(t, ModelSpec{Name: "p", Dimensions: []DimensionSpec{{Name: "d", Decay: decay, Behavior: []BehaviorRule{
			{Name: "path", Sequence: seq, Points: 25},
			{Name: "views", Types: []string{"page_view"}, Points: 1},
		}}}})
		var evs []leadkit.Event
		var ts []string
		for i := range r.Intn(12) {
			typ := types[r.Intn(4)]
			evs = append(evs, leadkit.Event{ID: fmt.Sprint(i), LeadID: "l", Type: typ, Time: base.Add(time.Duration(i) * time.Hour)})
			ts = append(ts, typ)
		}
		asOf := base.Add(20 * day)
		want := 0.0
		views := 0
		for _, x := range ts {
			if x == "page_view" {
				views++
			}
		}
		if k := holds(ts, seq); k >= 0 {
			want = 25
			if decay != nil {
				want = 25 * factorAt(asOf.Sub(evs[k].Time), decay.HalfLife)
			}
		}
		wantViews := float64(views)
		res, err := m.Score(Input{Lead: leadkit.Lead{ID: "l"}, Events: evs, AsOf: asOf})
		require.NoError(t, err)
		path := 0.0
		for _, h := range res.Hits {
			if h.Rule == "path" {
				path = h.Points
			}
		}
		assert.InDelta(t, want, path, 1e-9, "iter %d: %v in %v", iter, seq, ts)
		if decay == nil {
			assert.InDelta(t, want+wantViews, res.Dimensions[0].Score, 1e-9)
		}
		st, err := m.StateOf(Input{Lead: leadkit.Lead{ID: "l"}, Events: evs, AsOf: base.Add(day)})
		require.NoError(t, err)
		var got Result
		require.NoError(t, m.ReadState(&got, &st, leadkit.Lead{ID: "l"}, asOf))
		assertSameScores(t, res, got, fmt.Sprintf("iter %d", iter))
	}
}

// factorAt is a half-life's share after age.
func factorAt(age, halfLife time.Duration) float64 {
	return math.Exp2(-float64(age) / float64(halfLife))
}

// A reset starts the path again; active dates and predicates apply to
// each step; bad paths are refused naming the rule.
func TestSequenceRuleResetsAndErrors(t *testing.T) {
	m := mustCompile(t, ModelSpec{Name: "p", Dimensions: []DimensionSpec{{Name: "d", Behavior: []BehaviorRule{
		{Name: "path", Sequence: []string{"webinar_attended", "download"}, Points: 25},
		{Name: "unsubscribed", Types: []string{"unsubscribed"}, Points: 0, Reset: true},
	}}}})
	at := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	ev := func(id, typ string, h int) leadkit.Event {
		return leadkit.Event{ID: id, LeadID: "l", Type: typ, Time: at.Add(time.Duration(h) * time.Hour)}
	}
	score := func(evs ...leadkit.Event) float64 {
		res, err := m.Score(Input{Lead: leadkit.Lead{ID: "l"}, Events: evs, AsOf: at.Add(day)})
		require.NoError(t, err)
		return res.Dimensions[0].Score
	}
	assert.Equal(t, 25.0, score(ev("1", "webinar_attended", 0), ev("2", "page_view", 1), ev("3", "download", 2)))
	assert.Zero(t, score(ev("1", "download", 0), ev("2", "webinar_attended", 1)), "out of order")
	assert.Zero(t, score(ev("1", "webinar_attended", 0), ev("u", "unsubscribed", 1), ev("3", "download", 2)), "a reset starts the path again")
	assert.Equal(t, 25.0, score(ev("1", "webinar_attended", 0), ev("2", "download", 1), ev("3", "webinar_attended", 2), ev("4", "download", 3)), "once")

	for name, br := range map[string]BehaviorRule{
		"types too":   {Name: "r", Sequence: []string{"a", "b"}, Types: []string{"a"}, Points: 1},
		"limit":       {Name: "r", Sequence: []string{"a", "b"}, Points: 1, Limit: &LimitSpec{Max: 1}},
		"count":       {Name: "r", Sequence: []string{"a", "b"}, Points: 1, Count: &CountSpec{Min: 1}},
		"empty step":  {Name: "r", Sequence: []string{"a", ""}, Points: 1},
		"too long":    {Name: "r", Sequence: make([]string, MaxSequence+1), Points: 1},
		"points expr": {Name: "r", Sequence: []string{"a", "b"}, PointsExpr: "1"},
	} {
		_, err := Compile(ModelSpec{Name: "m", Dimensions: []DimensionSpec{{Name: "d", Behavior: []BehaviorRule{br}}}}, Options{})
		require.Error(t, err, name)
		assert.ErrorIs(t, err, leadkit.ErrInvalid, name)
		assert.Contains(t, err.Error(), `rule "r"`, name)
	}
}

// WhyNot names a path's next step: the last one closes it, an earlier one
// is blocked (one event does not finish the path).
func TestWhyNotPathRules(t *testing.T) {
	m := mustCompile(t, ModelSpec{Name: "p", Dimensions: []DimensionSpec{{Name: "d", Behavior: []BehaviorRule{
		{Name: "golden", Sequence: []string{"webinar_attended", "download"}, Points: 25},
	}}}, Thresholds: []ThresholdSpec{{Name: "mql", Dimension: "d", Value: 20}}})
	at := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	why := func(evs ...leadkit.Event) Suggestion {
		g, err := m.WhyNot(Input{Lead: leadkit.Lead{ID: "l"}, Events: evs, AsOf: at.Add(day)}, Target{Threshold: "mql", OnlyBehavior: true})
		require.NoError(t, err)
		require.Len(t, g.Suggestions, 1)
		return g.Suggestions[0]
	}
	s := why()
	assert.Equal(t, BlockedPath, s.Blocked)
	assert.Equal(t, "webinar_attended", s.Next)
	s = why(leadkit.Event{ID: "1", LeadID: "l", Type: "webinar_attended", Time: at})
	assert.Empty(t, s.Blocked)
	assert.Equal(t, "download", s.Next)
	assert.Equal(t, 25.0, s.Gain)
	assert.True(t, s.Closes)
}
