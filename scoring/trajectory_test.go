package scoring

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
)

func TestTrajectory(t *testing.T) {
	m := mustCompile(t, ModelSpec{Name: "t",
		Dimensions: []DimensionSpec{
			{Name: "fit", Fit: []FitRule{{Name: "vp", When: `person.seniority == "vp"`, Points: 20}}},
			{Name: "engagement", Behavior: []BehaviorRule{
				{Name: "dl", Types: []string{"download"}, Points: 15, Decay: &DecaySpec{HalfLife: 5 * day}},
				{Name: "view", Types: []string{"page_view"}, Points: 2, Cap: 4},
				{Name: "unsub", Types: []string{"unsubscribed"}, Points: -20, Decay: &DecaySpec{Window: 3 * day}},
			}},
			{Name: "total", Expr: "fit + engagement"},
		},
	})
	d0 := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	r := rand.New(rand.NewPCG(9, 9))
	types := []string{"download", "page_view", "unsubscribed"}
	for c := range 50 {
		var evs []leadkit.Event
		for i := range r.IntN(12) {
			evs = append(evs, leadkit.Event{ID: fmt.Sprint(i), Type: types[r.IntN(3)], Time: d0.Add(time.Duration(r.IntN(20)) * 12 * time.Hour)})
		}
		lead := leadkit.Lead{ID: "l", Person: leadkit.Person{Seniority: "vp"}}
		asOf := d0.Add(8 * day)
		got, err := m.Trajectory(Input{Lead: lead, Events: evs, AsOf: asOf}, "total")
		require.NoError(t, err)
		// By hand: a full score at each distinct event time up to asOf,
		// leaving out unchanged scores.
		var times []time.Time
		for _, e := range evs {
			if !e.Time.After(asOf) {
				times = append(times, e.Time)
			}
		}
		slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
		times = slices.Compact(times)
		var want []ScorePoint
		for _, at := range times {
			res, err := m.Score(Input{Lead: lead, Events: evs, AsOf: at})
			require.NoError(t, err)
			v, _ := res.Dimension("total")
			if len(want) > 0 && math.Abs(want[len(want)-1].Score-v.Score) < 1e-9 {
				continue
			}
			want = append(want, ScorePoint{at, v.Score})
		}
		require.Len(t, got, len(want), "case %d", c)
		for i := range want {
			assert.Equal(t, want[i].Time, got[i].Time, "case %d", c)
			assert.InDelta(t, want[i].Score, got[i].Score, 1e-9, "case %d", c)
		}
	}
	_, err := m.Trajectory(Input{Lead: leadkit.Lead{ID: "l"}, AsOf: d0}, "nope")
	require.ErrorIs(t, err, leadkit.ErrNotFound)
	_, err = m.Trajectory(Input{Lead: leadkit.Lead{}, AsOf: d0}, "total")
	require.ErrorIs(t, err, leadkit.ErrInvalid)
}
