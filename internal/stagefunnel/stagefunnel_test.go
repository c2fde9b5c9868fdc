package stagefunnel

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func day(n int) time.Time { return t0.Add(time.Duration(n) * 24 * time.Hour) }

func conv(r Result, from, to string) Conversion {
	for _, c := range r.Conversions {
		if c.From == from && c.To == to {
			return c
		}
	}
	return Conversion{}
}

func TestFunnelHandCounted(t *testing.T) {
	a, err := New(Spec{Stages: []string{"Raw", "MQL", "SAL", "SQL"}})
	require.NoError(t, err)
	// lead 1: Raw d0 -> MQL d2 -> SAL d5 -> SQL d9
	a.Add([]Visit{{Stage: "Raw", At: day(0)}, {Stage: "MQL", At: day(2)}, {Stage: "SAL", At: day(5)}, {Stage: "SQL", At: day(9)}})
	// lead 2: Raw d0 -> SQL d4 (skips MQL and SAL), unsorted input
	a.Add([]Visit{{Stage: "SQL", At: day(4)}, {Stage: "Raw", At: day(0)}})
	// lead 3: Raw d1 -> MQL d3 -> Recycled (ignored) -> MQL d20 (first entry counts)
	a.Add([]Visit{{Stage: "Raw", At: day(1)}, {Stage: "MQL", At: day(3)}, {Stage: "Recycled", At: day(10)}, {Stage: "MQL", At: day(20)}})
	// lead 4: Raw only
	a.Add([]Visit{{Stage: "Raw", At: day(1)}})
	r := a.Result()

	// Entered / Reached counted by hand from the four leads above.
	assert.Equal(t, []StageCount{
		{"Raw", 4, 4, 0},
		{"MQL", 2, 3, 1},
		{"SAL", 1, 2, 1},
		{"SQL", 2, 2, 0},
	}, r.Stages)
	assert.Len(t, r.Conversions, 6)

	c := conv(r, "Raw", "MQL") // leads 1 (2d), 2 (4d), 3 (2d)
	assert.Equal(t, 4, c.Base)
	assert.Equal(t, 3, c.Converted)
	assert.InDelta(t, 0.75, c.Rate, 1e-12)
	assert.Equal(t, 2*24*time.Hour, c.Median)
	assert.Equal(t, (2+4+2)*24*time.Hour/3, c.Mean)

	c = conv(r, "MQL", "SQL") // leads 1 (7d) and 2 (0d: both reached on day 4)
	assert.Equal(t, 3, c.Base)
	assert.Equal(t, 2, c.Converted)
	assert.Equal(t, 3*24*time.Hour+12*time.Hour, c.Median) // mean of 0d and 7d
}

func TestCohort(t *testing.T) {
	a, err := New(Spec{Stages: []string{"Raw", "MQL"}, From: day(1), To: day(2)})
	require.NoError(t, err)
	assert.False(t, a.Add([]Visit{{Stage: "Raw", At: day(0)}, {Stage: "MQL", At: day(1)}}))
	assert.True(t, a.Add([]Visit{{Stage: "Raw", At: day(1)}}))
	assert.False(t, a.Add([]Visit{{Stage: "Raw", At: day(2)}}), "To is exclusive")
	assert.True(t, a.Add([]Visit{{Stage: "MQL", At: day(1).Add(time.Hour)}}), "entered at MQL: reached Raw then")
	assert.False(t, a.Add([]Visit{{Stage: "Other", At: day(1)}}))
	r := a.Result()
	assert.Equal(t, 2, r.Stages[0].Reached)
	assert.Equal(t, 1, r.Stages[1].Entered)
}

func TestSpecErrors(t *testing.T) {
	_, err := New(Spec{Stages: []string{"A"}})
	require.ErrorContains(t, err, "at least two")
	_, err = New(Spec{Stages: []string{"A", "", "A"}, From: day(2), To: day(1)})
	require.ErrorContains(t, err, "empty name")
	require.ErrorContains(t, err, `"A" listed twice`)
	require.ErrorContains(t, err, "before it starts")
}

// Sharded accumulation merged must equal one pass.
func TestMergeEqualsSinglePass(t *testing.T) {
	spec := Spec{Stages: []string{"A", "B", "C", "D", "E"}, From: day(3)}
	rng := rand.New(rand.NewPCG(1, 2))
	var leads [][]Visit
	for range 500 {
		var vs []Visit
		for range rng.IntN(6) {
			vs = append(vs, Visit{Stage: spec.Stages[rng.IntN(5)], At: day(rng.IntN(30))})
		}
		leads = append(leads, vs)
	}
	one, _ := New(spec)
	shards := []*Accumulator{}
	for range 3 {
		s, _ := New(spec)
		shards = append(shards, s)
	}
	for i, l := range leads {
		one.Add(l)
		shards[i%3].Add(l)
	}
	require.NoError(t, shards[0].Merge(shards[1]))
	require.NoError(t, shards[0].Merge(shards[2]))
	want, got := one.Result(), shards[0].Result()
	assert.Equal(t, want.Stages, got.Stages)
	for i := range want.Conversions {
		assert.Equal(t, want.Conversions[i].Converted, got.Conversions[i].Converted)
		assert.Equal(t, want.Conversions[i].Median, got.Conversions[i].Median)
		assert.InDelta(t, float64(want.Conversions[i].Mean), float64(got.Conversions[i].Mean), 1)
	}
	other, _ := New(Spec{Stages: []string{"A", "B"}})
	assert.Error(t, one.Merge(other))
}

func TestMeanMedian(t *testing.T) {
	m, med := MeanMedian([]time.Duration{4, 1, 3, 2})
	assert.Equal(t, time.Duration(2), m) // 2.5 truncated
	assert.Equal(t, time.Duration(2), med)
	m, med = MeanMedian([]time.Duration{10, 30, 20})
	assert.Equal(t, time.Duration(20), m)
	assert.Equal(t, time.Duration(20), med)
	m, med = MeanMedian(nil)
	assert.Zero(t, m)
	assert.Zero(t, med)
}

func TestImpliedVisitsReachButDoNotEnter(t *testing.T) {
	a, err := New(Spec{Stages: []string{"MQL", "SAL"}})
	require.NoError(t, err)
	a.Add([]Visit{{Stage: "MQL", At: day(0)}, {Stage: "SAL", At: day(3), Implied: true}})
	r := a.Result()
	assert.Equal(t, StageCount{"SAL", 0, 1, 1}, r.Stages[1])
	assert.Equal(t, 3*24*time.Hour, r.Conversions[0].Median)
}
