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

// Occurrence counts against counting by hand: each count rule gives its
// points once when the number of its events in the window before the
// as-of time is in its range (lifetime: all of them), however many
// events there are.
func TestCountRulesByBruteForce(t *testing.T) {
	two, zero := 3, 0
	rules := []BehaviorRule{
		{Name: "downloader", Types: []string{"download"}, Points: 15, Count: &CountSpec{Min: 2, Max: &two, Window: 30 * day}},
		{Name: "quiet", Types: []string{"page_view", "download"}, Points: -10, Count: &CountSpec{Min: 0, Max: &zero, Window: 14 * day}},
		{Name: "five of anything", Points: 5, Count: &CountSpec{Min: 5}},
	}
	m := mustCompile(t, ModelSpec{Name: "counts", Dimensions: []DimensionSpec{{Name: "engagement", Behavior: rules}}})
	r := rand.New(rand.NewSource(7))
	types := []string{"page_view", "download", "email_opened"}
	base := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	for iter := range 500 {
		var evs []leadkit.Event
		for i := range r.Intn(12) {
			evs = append(evs, leadkit.Event{ID: string(rune('a' + i)), LeadID: "l", Type: types[r.Intn(len(types))],
				Time: base.Add(time.Duration(r.Int63n(int64(90 * day))))})
		}
		leadkit.SortEvents(evs)
		asOf := base.Add(90 * day).Add(time.Duration(r.Int63n(int64(30 * day))))
		want, wantLife := 0.0, 0.0
		var hits []string
		for _, br := range rules {
			n, all := 0, 0
			for _, e := range evs {
				if len(br.Types) > 0 && !slices.Contains(br.Types, e.Type) {
					continue
				}
				all++
				if br.Count.Window == 0 || asOf.Sub(e.Time) < br.Count.Window {
					n++
				}
			}
			in := func(k int) bool { return k >= br.Count.Min && (br.Count.Max == nil || k <= *br.Count.Max) }
			if in(n) {
				want += br.Points
				hits = append(hits, br.Name)
			}
			if in(all) {
				wantLife += br.Points
			}
		}
		res, err := m.Score(Input{Lead: leadkit.Lead{ID: "l"}, Events: evs, AsOf: asOf})
		require.NoError(t, err)
		d, _ := res.Dimension("engagement")
		assert.Equal(t, want, d.Score, "iter %d", iter)
		assert.Equal(t, wantLife, d.Lifetime, "iter %d", iter)
		var got []string
		for _, h := range res.Hits {
			got = append(got, h.Rule)
		}
		assert.ElementsMatch(t, hits, got, "iter %d", iter)
	}
}

// A count rule counts what its limit lets through and starts again at a
// reset, like any behavior rule.
func TestCountRulesWithLimitAndReset(t *testing.T) {
	m := mustCompile(t, ModelSpec{Name: "counts", Dimensions: []DimensionSpec{{Name: "e", Behavior: []BehaviorRule{
		{Name: "three days", Types: []string{"page_view"}, Points: 20, Limit: &LimitSpec{Max: 1, Per: PerDay}, Count: &CountSpec{Min: 3}},
		{Name: "unsubscribe", Types: []string{"unsubscribed"}, Points: 0, Reset: true},
	}}}})
	at := func(d, h int) time.Time { return time.Date(2025, 3, d, h, 0, 0, 0, time.UTC) }
	ev := func(id, typ string, t time.Time) leadkit.Event {
		return leadkit.Event{ID: id, LeadID: "l", Type: typ, Time: t}
	}
	score := func(evs ...leadkit.Event) float64 {
		res, err := m.Score(Input{Lead: leadkit.Lead{ID: "l"}, Events: evs, AsOf: at(20, 0)})
		require.NoError(t, err)
		d, _ := res.Dimension("e")
		return d.Score
	}
	// Five views on two days count twice: below three.
	assert.Zero(t, score(ev("1", "page_view", at(1, 9)), ev("2", "page_view", at(1, 10)), ev("3", "page_view", at(1, 11)), ev("4", "page_view", at(2, 9)), ev("5", "page_view", at(2, 10))))
	assert.Equal(t, 20.0, score(ev("1", "page_view", at(1, 9)), ev("2", "page_view", at(2, 9)), ev("3", "page_view", at(3, 9))))
	// A reset after two days leaves one.
	assert.Zero(t, score(ev("1", "page_view", at(1, 9)), ev("2", "page_view", at(2, 9)), ev("u", "unsubscribed", at(2, 12)), ev("3", "page_view", at(3, 9))))
}

func TestCountRuleCompileErrors(t *testing.T) {
	one, minus := 1, -1
	for name, br := range map[string]BehaviorRule{
		"min over max": {Name: "r", Points: 1, Count: &CountSpec{Min: 2, Max: &one}},
		"negative min": {Name: "r", Points: 1, Count: &CountSpec{Min: -1}},
		"negative max": {Name: "r", Points: 1, Count: &CountSpec{Max: &minus}},
		"huge min":     {Name: "r", Points: 1, Count: &CountSpec{Min: MaxCount + 1}},
		"window":       {Name: "r", Points: 1, Count: &CountSpec{Min: 1, Window: -day}},
		"decay":        {Name: "r", Points: 1, Count: &CountSpec{Min: 1}, Decay: &DecaySpec{HalfLife: day}},
		"recency":      {Name: "r", Points: 1, Count: &CountSpec{Min: 1}, Recency: &RecencySpec{Within: day, Points: 1}},
		"first bonus":  {Name: "r", Points: 1, Count: &CountSpec{Min: 1}, FirstBonus: 2},
	} {
		_, err := Compile(ModelSpec{Name: "m", Dimensions: []DimensionSpec{{Name: "d", Behavior: []BehaviorRule{br}}}}, Options{})
		require.Error(t, err, name)
		assert.ErrorIs(t, err, leadkit.ErrInvalid, name)
		assert.Contains(t, err.Error(), `rule "r"`, name)
		assert.Contains(t, err.Error(), "count", name)
	}
	// A dimension's decay does not apply to its count rules.
	m := mustCompile(t, ModelSpec{Name: "m", Dimensions: []DimensionSpec{{Name: "d", Decay: &DecaySpec{HalfLife: day},
		Behavior: []BehaviorRule{{Name: "r", Points: 10, Count: &CountSpec{Min: 1}}}}}})
	res, err := m.Score(Input{Lead: leadkit.Lead{ID: "l"}, Events: []leadkit.Event{{ID: "1", LeadID: "l", Type: "x", Time: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}}, AsOf: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)})
	require.NoError(t, err)
	d, _ := res.Dimension("d")
	assert.Equal(t, 10.0, d.Score)
}

// The window is text in JSON and YAML, like every duration of a model.
func TestCountSpecText(t *testing.T) {
	s, err := ParseModel([]byte("name: m\ndimensions:\n  - name: d\n    behavior:\n      - {name: r, types: [download], points: 10, count: {min: 2, max: 4, window: 30d}}\n"))
	require.NoError(t, err)
	c := s.Dimensions[0].Behavior[0].Count
	require.NotNil(t, c)
	assert.Equal(t, 2, c.Min)
	assert.Equal(t, 4, *c.Max)
	assert.Equal(t, 30*day, c.Window)
	b, err := json.Marshal(s)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"count":{"min":2,"max":4,"window":"30d"}`)
	back, err := ParseModel(b)
	require.NoError(t, err)
	assert.Equal(t, s, back)
	_, err = ParseModel([]byte("name: m\ndimensions:\n  - name: d\n    behavior:\n      - {name: r, points: 10, count: {min: 2, window: 30}}\n"))
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
	_, err = ParseModel([]byte("name: m\ndimensions:\n  - name: d\n    behavior:\n      - {name: r, points: 10, count: {mni: 2}}\n"))
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
}

// A count rule keeps only the occurrence times that can decide it, and
// still counts like counting by hand (TestCountRulesByBruteForce).
func TestCountRuleStateBounded(t *testing.T) {
	m := mustCompile(t, ModelSpec{Name: "m", Dimensions: []DimensionSpec{{Name: "d", Behavior: []BehaviorRule{
		{Name: "c", Types: []string{"v"}, Points: 10, Count: &CountSpec{Min: 3, Window: 100000 * day}}}}}})
	st := m.NewState()
	for i := range 5000 {
		require.NoError(t, m.Apply(&st, leadkit.Event{ID: fmt.Sprint(i), LeadID: "l", Type: "v", Time: at0.Add(time.Duration(i) * time.Minute)}))
	}
	assert.LessOrEqual(t, len(st.Rules[0].Times), 3)
	var res Result
	require.NoError(t, m.ReadState(&res, &st, leadkit.Lead{ID: "l"}, at0.Add(10*day)))
	assert.Equal(t, 10.0, res.Dimensions[0].Score)
}
