package attribution_test

import (
	"fmt"
	"math"
	"math/big"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/attribution"
)

func month(m time.Month) time.Time { return time.Date(2026, m, 1, 0, 0, 0, 0, time.UTC) }

// Missing is the rule for a cost that is not known: a key with rows in
// the range must have all of them; a key without rows in the range
// misses nothing.
func TestCostsMissing(t *testing.T) {
	c, err := attribution.NewCosts(attribution.CostTable{Period: leadkit.PeriodMonth, Rows: []attribution.CostRow{
		{Key: "ads", Period: "2026-01", Spend: 900},
		{Key: "ads", Period: "2026-02", Spend: 600},
		{Key: "webinar", Period: "2026-01", Spend: 1000},
		{Key: "print", Period: "2025-06", Spend: 50},
	}})
	require.NoError(t, err)
	from, to := month(1), month(3)
	for _, tc := range []struct {
		key        string
		start, end time.Time
		want       bool
	}{
		{"ads", month(1), month(2), false},
		{"ads", month(1), month(3), false},
		{"webinar", month(1), month(2), false},
		{"webinar", month(2), month(3), true},                  // a row in January, none in February
		{"webinar", month(1), month(3), true},                  // the two months
		{"webinar", month(2), month(2).AddDate(0, 0, 7), true}, // off the table's periods
		{"print", month(2), month(3), false},                   // no row in the range
		{"seo", month(2), month(3), false},                     // no row at all
	} {
		assert.Equal(t, tc.want, c.Missing(tc.key, tc.start, tc.end, from, to), "%s %s to %s", tc.key, tc.start, tc.end)
	}
	// A range that starts mid-month holds January's row.
	assert.True(t, c.Missing("webinar", month(2), month(3), month(1).AddDate(0, 0, 14), to))
	assert.False(t, c.Missing("webinar", month(2), month(3), month(2), to))
}

// A nil *Costs (what a failed NewCosts returns) is an empty table, not a
// panic.
func TestCostsNilIsEmpty(t *testing.T) {
	c, err := attribution.NewCosts(attribution.CostTable{Rows: []attribution.CostRow{{Key: "", Period: "x"}}})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	require.Nil(t, c)
	require.NotPanics(t, func() {
		assert.Empty(t, c.Keys())
		assert.Equal(t, leadkit.PeriodNone, c.Period())
		assert.Empty(t, c.Table().Rows)
		_, ok := c.Row("a", month(1))
		assert.False(t, ok)
		_, ok = c.Cost("a", month(1), month(2))
		assert.False(t, ok)
		assert.False(t, c.Missing("a", month(1), month(2), month(1), month(2)))
	})
}

// The keys of the totals (TotalKey) and of the leads without a channel
// (DefaultNoTouch, the pool's NoSource) are reserved: a cost row, a
// credited key or a group named "(total)" would read as the totals.
func TestROIReservedKeys(t *testing.T) {
	for _, key := range []string{attribution.TotalKey, attribution.DefaultNoTouch} {
		costs := attribution.CostTable{Period: leadkit.PeriodMonth, Rows: []attribution.CostRow{
			{Key: key, Period: "2026-01", Spend: 100},
			{Key: "paid", Period: "2026-01", Spend: 900},
		}}
		_, err := attribution.NewPeriodROIReport(costs, []attribution.Credit{{Stage: "MQL", Period: "2026-01",
			Result: attribution.Result{Conversions: map[string]float64{"paid": 1}}}}, attribution.ROIOptions{})
		require.ErrorIs(t, err, leadkit.ErrInvalid, key)
		assert.ErrorContains(t, err, fmt.Sprintf(`row 0 (key %q, period "2026-01"): key %q is reserved`, key, key))
		_, err = attribution.ReadCosts(strings.NewReader("key,period,spend\n"+key+",2026-01,1\n"), "")
		require.ErrorIs(t, err, leadkit.ErrInvalid, key)
		assert.ErrorContains(t, err, "csv line 2, column 1 (key): key")
		_, err = attribution.NewROIReport(map[string]float64{key: 1}, nil, attribution.ROIOptions{})
		require.ErrorIs(t, err, leadkit.ErrInvalid, key)
	}
	costs := attribution.CostTable{Period: leadkit.PeriodMonth, Rows: []attribution.CostRow{{Key: "paid", Period: "2026-01", Spend: 900}}}
	_, err := attribution.NewPeriodROIReport(costs, []attribution.Credit{{Stage: "MQL", Period: "2026-01",
		Result: attribution.Result{Conversions: map[string]float64{attribution.TotalKey: 1}}}}, attribution.ROIOptions{})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.ErrorContains(t, err, `conversions of "(total)": the key is reserved`)
	_, err = attribution.NewPeriodROIReport(costs, nil, attribution.ROIOptions{GroupBy: map[string]string{"paid": attribution.TotalKey}})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.ErrorContains(t, err, `group by: "(total)" is reserved`)
	// No-touch credit is still reported, uncosted.
	rep, err := attribution.NewPeriodROIReport(costs, []attribution.Credit{{Stage: "MQL", Period: "2026-01",
		Result: attribution.Result{Conversions: map[string]float64{attribution.DefaultNoTouch: 1}}}}, attribution.ROIOptions{})
	require.NoError(t, err)
	assert.Equal(t, []string{attribution.DefaultNoTouch}, rep.Uncosted)
}

// At the caps, a row's amounts are exact to the cent, and so is a sum of
// rows within the documented bound (n x S under 1e13).
func TestCostAmountsExactToTheCent(t *testing.T) {
	spend := attribution.MaxCostAmount - 0.01 // a spend under the cap, with cents
	heads := attribution.MaxPeopleCost / attribution.MaxCostAmount * 1000
	loaded := attribution.MaxPeopleCost / heads
	c, err := attribution.NewCosts(attribution.CostTable{Period: leadkit.PeriodMonth, Rows: []attribution.CostRow{
		{Key: "a", Period: "2026-01", Spend: spend, Headcount: heads, LoadedCost: loaded - 0.01},
	}})
	require.NoError(t, err)
	r, _ := c.Row("a", month(1))
	assert.NotEqual(t, attribution.MaxCostAmount, r.Spend, "the cents of a spend under the cap are kept")
	cents := func(x float64) int64 { return int64(math.Round(x * 100)) }
	assert.Equal(t, int64(attribution.MaxCostAmount*100-1), cents(r.Spend))
	assert.Equal(t, cents(r.Spend), cents(r.Cost()-r.PeopleCost()), "a row's cost is exact to the cent")
	assert.Equal(t, int64(attribution.MaxPeopleCost*100)-cents(heads*0.01), cents(r.PeopleCost()))

	// Over a cap: refused, the product of heads and loaded cost included.
	_, err = attribution.NewCosts(attribution.CostTable{Period: leadkit.PeriodMonth, Rows: []attribution.CostRow{
		{Key: "a", Period: "2026-01", Spend: attribution.MaxCostAmount * 2},
		{Key: "b", Period: "2026-01", Headcount: attribution.MaxHeadcount, LoadedCost: attribution.MaxCostAmount},
		{Key: "c", Period: "2026-01", Headcount: 2, LoadedCost: attribution.MaxPeopleCost/2 + 1},
		{Key: "d", Period: "2026-01", Headcount: 2, LoadedCost: attribution.MaxPeopleCost / 2}, // at the cap: fine
	}})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.ErrorContains(t, err, `row 0 (key "a", period "2026-01"): spend 2e+12 is over the cap of 1e+12`)
	assert.ErrorContains(t, err, `row 1 (key "b", period "2026-01"): people cost 1e+18 (headcount 1e+06 x loaded cost 1e+12) is over the cap of 1e+12 (MaxPeopleCost)`)
	assert.ErrorContains(t, err, `row 2 (key "c", period "2026-01"): people cost`)
	assert.NotContains(t, err.Error(), `key "d"`)

	// A sum: a year of months of 12 keys with cents, 144 rows adding up to
	// about 6.9e10 (n x S about 1e13), against the exact decimal sum.
	var rows []attribution.CostRow
	exact := new(big.Rat)
	for k := range 12 {
		for m := range 12 {
			s := fmt.Sprintf("%d.%02d", 400_000_000+k*7_654_321+m*123_457, (k*31+m*17)%100)
			x, _ := new(big.Rat).SetString(s)
			exact.Add(exact, x)
			v, _ := x.Float64()
			rows = append(rows, attribution.CostRow{Key: fmt.Sprint("k", k), Period: fmt.Sprintf("2026-%02d", m+1), Spend: v})
		}
	}
	rep, err := attribution.NewPeriodROIReport(attribution.CostTable{Period: leadkit.PeriodMonth, Rows: rows}, nil, attribution.ROIOptions{Period: leadkit.PeriodYear})
	require.NoError(t, err)
	want, _ := exact.Float64()
	require.Less(t, float64(len(rows))*want, 1e13)
	got := new(big.Rat).SetFloat64(rep.Total.Cost)
	diff, _ := new(big.Rat).Sub(got, exact).Float64()
	assert.Less(t, math.Abs(diff), 0.005, "the total %.2f is exact to the cent (off by %g)", rep.Total.Cost, diff)
}

// Bad input costs no more than good: ReadCosts keeps the first 20
// problems by line and counts the rest while reading, so a table of bad
// rows under MaxCostTableBytes (here a quarter of it, to stay fast) does
// not make an error per row.
func TestReadCostsManyBadRows(t *testing.T) {
	var b strings.Builder
	b.WriteString("key,period,spend\n")
	for b.Len() < attribution.MaxCostTableBytes/4 {
		b.WriteString("x\n")
	}
	in := b.String()
	bad := (len(in) - len("key,period,spend\n")) / 2
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := attribution.ReadCosts(strings.NewReader(in), leadkit.PeriodMonth)
	runtime.ReadMemStats(&after)
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	alloc := after.TotalAlloc - before.TotalAlloc
	assert.Less(t, alloc, uint64(6*len(in)), "reading %d bytes of bad CSV allocates %.1f MB: a few times the input at most", len(in), float64(alloc)/1e6)
	msg := err.Error()
	assert.Contains(t, msg, "attribution: csv line 2: 1 fields, header has 3")
	assert.Contains(t, msg, "attribution: csv line 21: 1 fields, header has 3")
	assert.NotContains(t, msg, "csv line 22:")
	assert.Contains(t, msg, fmt.Sprintf("%d more cost row errors", bad-20))
	assert.Less(t, len(msg), 4000)

	// The problems found reading and those of the rows read merge by
	// line: the first 20 by line are reported, the rest counted.
	b.Reset()
	b.WriteString("key,period,spend\n")
	for i := range 30 {
		if i%2 == 0 {
			fmt.Fprintf(&b, "k%d,2026-01,-1\n", i) // a row: checked after reading
		} else {
			fmt.Fprintf(&b, "k%d,2026-01,1,extra\n", i) // found reading
		}
	}
	_, err = attribution.ReadCosts(strings.NewReader(b.String()), "")
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	msg = err.Error()
	for line := 2; line <= 21; line++ {
		assert.Contains(t, msg, fmt.Sprintf("csv line %d", line)+map[bool]string{true: ", column 3 (spend): spend -1 is negative", false: ": 4 fields, header has 3"}[line%2 == 0])
	}
	assert.NotContains(t, msg, "csv line 22")
	assert.Contains(t, msg, "10 more cost row errors")
}
