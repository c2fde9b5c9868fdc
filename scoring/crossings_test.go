package scoring

import (
	"testing"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

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

// Crossings agrees with a brute-force scan of Score every 10
// minutes on benchmark leads.
func TestCrossingsMatchBruteForce(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	m := benchModel(t)
	in := benchInputs(t, crossLeads, 11)
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
	in := benchInputs(b, 16, 4)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := m.Crossings(in[i%len(in)], "mql"); err != nil {
			b.Fatal(err)
		}
	}
	reportLeads(b, 1)
}
