package learn

import (
	"math"
	"testing"

	"github.com/leadkit/leadkit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestQuantileGroups(t *testing.T) {
	var ds []distinct
	for v := 1; v <= 100; v++ {
		ds = append(ds, distinct{v: float64(v), n: 1})
	}
	gs := quantileGroups(ds, 100, 4)
	require.Len(t, gs, 4)
	for k, g := range gs {
		assert.Equal(t, 25*k, g.first, "group %d", k)
		assert.Equal(t, 25, g.n)
	}

	// A value is never split: half the examples at 0 make one group.
	ds = []distinct{{v: 0, n: 50}}
	for v := 1; v <= 50; v++ {
		ds = append(ds, distinct{v: float64(v), n: 1})
	}
	gs = quantileGroups(ds, 100, 4)
	require.Len(t, gs, 3)
	assert.Equal(t, []int{0, 1, 26}, []int{gs[0].first, gs[1].first, gs[2].first})
	assert.Equal(t, []int{50, 25, 25}, []int{gs[0].n, gs[1].n, gs[2].n})

	// Fewer distinct values than bins: one group each.
	gs = quantileGroups([]distinct{{v: 1, n: 3}, {v: 2, n: 4}}, 7, 10)
	assert.Equal(t, []group{{first: 0, n: 3}, {first: 1, n: 4}}, gs)
}

func TestMergeSmall(t *testing.T) {
	// The smallest group (3) joins its smaller neighbour (40), then the
	// first (5) its only one.
	gs := mergeSmall([]group{{0, 5, 1}, {1, 40, 4}, {2, 3, 0}, {3, 50, 9}}, 10)
	assert.Equal(t, []group{{0, 48, 5}, {3, 50, 9}}, gs)
	// Not enough for two groups: one is left.
	gs = mergeSmall([]group{{0, 5, 1}, {1, 4, 0}}, 10)
	assert.Equal(t, []group{{0, 9, 1}}, gs)
}

func TestMonotone(t *testing.T) {
	// Rates 0.1, 0.3, 0.2, 0.5: rising, the middle pair pooled.
	gs := monotone([]group{{0, 100, 10}, {1, 100, 30}, {2, 100, 20}, {3, 100, 50}})
	assert.Equal(t, []group{{0, 100, 10}, {1, 200, 50}, {3, 100, 50}}, gs)
	// Rates 0.5, 0.2, 0.3, 0.1: falling.
	gs = monotone([]group{{0, 100, 50}, {1, 100, 20}, {2, 100, 30}, {3, 100, 10}})
	assert.Equal(t, []group{{0, 100, 50}, {1, 200, 50}, {3, 100, 10}}, gs)
	// A U shape cannot be kept: pooled to what fits best.
	gs = monotone([]group{{0, 100, 50}, {1, 100, 10}, {2, 100, 60}})
	assert.Len(t, gs, 2)
}

func TestRangeBins(t *testing.T) {
	// 40 zeros (missing), then 1..120; conversion rises with the value.
	var vals []float64
	var y []bool
	var rows []int
	for i := range 40 {
		vals = append(vals, 0)
		y = append(y, i%4 == 0)
	}
	for v := 1; v <= 120; v++ {
		vals = append(vals, float64(v))
		y = append(y, v%3 == 0 || v > 80)
	}
	for i := range vals {
		rows = append(rows, i)
	}
	bins := rangeBins(vals, y, rows, func(v float64) bool { return v == 0 }, 3, 30, false)
	require.Len(t, bins, 3)
	assert.Equal(t, bin{kind: binRange, lo: math.Inf(-1), hi: 81, n: 80, pos: 26}, bins[0], "1..80 (two tertiles at the same rate, pooled)")
	assert.Equal(t, bin{kind: binRange, lo: 81, hi: math.Inf(1), n: 40, pos: 40}, bins[1])
	assert.Equal(t, bin{kind: binMissing, n: 40, pos: 10}, bins[2])
	assert.Equal(t, "< 81", bins[0].label(false))
	assert.Equal(t, ">= 81", bins[1].label(false))
	assert.Equal(t, "missing", bins[2].label(false))

	ft := &feature{field: fieldDef{name: "company.employees", typ: leadkit.TypeNumber}, numeric: true, bins: bins, nRanges: 2}
	assert.Equal(t, "company.employees < 81 && company.employees != 0", ft.fitExpr(&bins[0]))
	assert.Equal(t, "company.employees >= 81", ft.fitExpr(&bins[1]))
	assert.Equal(t, "company.employees == 0", ft.fitExpr(&bins[2]))
	ft.nums = []float64{-5, 0, 80.5, 81, 1e9}
	var at []int
	for i := range ft.nums {
		at = append(at, ft.place(i))
	}
	assert.Equal(t, []int{0, 2, 0, 1, 1}, at)
}

func TestCountBins(t *testing.T) {
	b := []bin{
		{kind: binRange, lo: math.Inf(-1), hi: 1},
		{kind: binRange, lo: 1, hi: 2},
		{kind: binRange, lo: 2, hi: 4},
		{kind: binRange, lo: 4, hi: math.Inf(1)},
	}
	ft := &feature{count: true, numeric: true, window: 0}
	var labels []string
	var specs []string
	for i := range b {
		labels = append(labels, b[i].label(true))
		cs := ft.countSpec(&b[i])
		max := "nil"
		if cs.Max != nil {
			max = num(float64(*cs.Max))
		}
		specs = append(specs, num(float64(cs.Min))+".."+max)
	}
	assert.Equal(t, []string{"0", "1", "2-3", "4+"}, labels)
	assert.Equal(t, []string{"0..0", "1..1", "2..3", "4..nil"}, specs)
}

func TestCategoryBins(t *testing.T) {
	var strs []string
	var y []bool
	add := func(v string, n, pos int) {
		for i := range n {
			strs = append(strs, v)
			y = append(y, i < pos)
		}
	}
	add("vp", 50, 30)
	add("manager", 60, 12)
	add("intern", 10, 0) // rare: other
	add("", 20, 2)       // missing
	add("director", 40, 10)
	var rows []int
	for i := range strs {
		rows = append(rows, i)
	}
	bins := categoryBins(strs, y, rows, 2, 30, false)
	require.Len(t, bins, 4)
	assert.Equal(t, bin{kind: binValue, value: "manager", n: 60, pos: 12}, bins[0], "the most frequent first")
	assert.Equal(t, bin{kind: binValue, value: "vp", n: 50, pos: 30}, bins[1])
	assert.Equal(t, bin{kind: binOther, n: 50, pos: 10}, bins[2], "director (over the 2 categories) and intern (rare)")
	assert.Equal(t, bin{kind: binMissing, n: 20, pos: 2}, bins[3])

	ft := &feature{field: fieldDef{name: "person.seniority", typ: leadkit.TypeString}, bins: bins}
	assert.Equal(t, `person.seniority == "manager"`, ft.fitExpr(&bins[0]))
	assert.Equal(t, `person.seniority not in ["", "manager", "vp"]`, ft.fitExpr(&bins[2]))
	assert.Equal(t, `person.seniority == ""`, ft.fitExpr(&bins[3]))
	assert.Equal(t, `"manager"`, bins[0].label(false))

	// Evidence: the missing bin (20) is under the minimum support.
	iv := evidence(bins, 54, 126, 30)
	assert.Equal(t, DropSupport, bins[3].dropped)
	pos, neg := 54+smooth*3, 126+smooth*3
	want := math.Log(((12 + smooth) / pos) / ((48 + smooth) / neg))
	assert.InDelta(t, want, bins[0].woe, 1e-12)
	assert.InDelta(t, 1/(12+smooth)+1/(48+smooth), bins[0].woeVar, 1e-12)
	var wantIV float64
	for _, b := range bins[:3] {
		dp, dn := (float64(b.pos)+smooth)/pos, (float64(b.n-b.pos)+smooth)/neg
		wantIV += (dp - dn) * math.Log(dp/dn)
	}
	assert.InDelta(t, wantIV, iv, 1e-12)
	assert.Positive(t, bins[1].woe, "vp converts above the average")

	// Bools are true and false, missing reading as false.
	bins = categoryBins([]string{"true", "false", "false"}, []bool{true, false, false}, []int{0, 1, 2}, 10, 1, true)
	require.Len(t, bins, 2)
	ft = &feature{field: fieldDef{name: "person.newsletter", typ: leadkit.TypeBool}, bins: bins}
	assert.Equal(t, "person.newsletter == false", ft.fitExpr(&bins[0]))
	assert.Equal(t, "person.newsletter == true", ft.fitExpr(&bins[1]))
}
