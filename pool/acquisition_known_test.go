package pool_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/attribution"
	"github.com/leadkit/leadkit/pool"
)

// A channel with cost rows in the range and none in a month makes that
// month's cost unknown even without prospects joining from it: the ROI
// report over the same table says the same.
func TestAcquisitionCostChannelMissingARowWithoutInflow(t *testing.T) {
	costs, err := attribution.ParseCosts([]byte(`
period: month
rows:
  - {key: ads, period: 2026-01, spend: 900}
  - {key: ads, period: 2026-02, spend: 600}
  - {key: webinar, period: 2026-01, spend: 1000, headcount: 1, loaded_cost: 500}
`))
	require.NoError(t, err)
	table, err := attribution.NewCosts(costs)
	require.NoError(t, err)
	from, to := day(1, 1), day(3, 1)
	m, err := pool.NewMetrics(pool.MetricsSpec{From: from, To: to, Bucket: leadkit.PeriodMonth})
	require.NoError(t, err)
	for _, p := range []pool.Prospect{joined("a", "ads", day(1, 3)), joined("c", "webinar", day(1, 9)), joined("d", "ads", day(2, 5))} {
		require.NoError(t, m.Add(p))
	}
	r, err := pool.AcquisitionCost(m.Result(), table)
	require.NoError(t, err)

	rep, err := attribution.NewPeriodROIReport(costs, nil, attribution.ROIOptions{Period: leadkit.PeriodMonth, From: from, To: to})
	require.NoError(t, err)
	require.Equal(t, "2026-02", rep.Periods[1].Period)
	require.True(t, rep.Periods[1].CostUnknown, "the report: webinar's February row is missing")

	feb := r.Buckets[1]
	assert.Nil(t, feb.All.Cost, "the same table gives the same unknown in both packages")
	assert.Nil(t, feb.All.CostPerProspect)
	web, ok := feb.Source("webinar")
	require.True(t, ok, "the channel whose cost is missing is listed")
	assertAcq(t, "webinar", 0, nil, nil, web)
	assertAcq(t, "ads", 1, ptr(600.0), ptr(600.0), mustSource(t, feb, "ads"))
	// January is known: 2,400 for 2 prospects.
	assertAcq(t, "", 2, ptr(2400.0), ptr(1200.0), r.Buckets[0].All)
	assert.True(t, rep.Periods[0].CostUnknown == (r.Buckets[0].All.Cost == nil))

	// A channel whose rows all fall outside the range misses nothing.
	costs.Rows = append(costs.Rows, attribution.CostRow{Key: "print", Period: "2025-06", Spend: 50})
	table, err = attribution.NewCosts(costs)
	require.NoError(t, err)
	r, err = pool.AcquisitionCost(m.Result(), table)
	require.NoError(t, err)
	_, listed := r.Buckets[0].Source("print")
	assert.False(t, listed)
	assertAcq(t, "", 2, ptr(2400.0), ptr(1200.0), r.Buckets[0].All)
}

func mustSource(t *testing.T, b pool.AcquisitionBucket, ch string) pool.SourceAcquisition {
	t.Helper()
	s, ok := b.Source(ch)
	require.True(t, ok, "%s %s", b.Label, ch)
	return s
}

// A month the cost table says nothing about (its rows start in March)
// has an unknown cost, not 0, and no cost per prospect, with or without
// prospects.
func TestAcquisitionCostMonthWithoutCostRowsIsUnknown(t *testing.T) {
	table, err := attribution.NewCosts(attribution.CostTable{Period: leadkit.PeriodMonth, Rows: []attribution.CostRow{
		{Key: "ads", Period: "2026-03", Spend: 900},
	}})
	require.NoError(t, err)
	m, err := pool.NewMetrics(pool.MetricsSpec{From: day(1, 1), To: day(4, 1), Bucket: leadkit.PeriodMonth})
	require.NoError(t, err)
	for _, p := range []pool.Prospect{joined("n1", "", day(1, 3)), joined("n2", "", day(1, 4)), joined("a1", "ads", day(3, 4))} {
		require.NoError(t, m.Add(p))
	}
	r, err := pool.AcquisitionCost(m.Result(), table)
	require.NoError(t, err)
	jan, feb, mar := r.Buckets[0], r.Buckets[1], r.Buckets[2]
	assertAcq(t, "", 2, nil, nil, jan.All)
	assertAcq(t, "", 0, nil, nil, feb.All)
	assertAcq(t, "", 1, ptr(900.0), ptr(900.0), mar.All)

	// The same when no row of the table falls in the range at all: no
	// channel misses a row, and still nothing covers the months.
	m, err = pool.NewMetrics(pool.MetricsSpec{From: day(1, 1), To: day(2, 1), Bucket: leadkit.PeriodMonth})
	require.NoError(t, err)
	require.NoError(t, m.Add(joined("n1", "", day(1, 3))))
	r, err = pool.AcquisitionCost(m.Result(), table)
	require.NoError(t, err)
	assertAcq(t, "", 1, nil, nil, r.Buckets[0].All)
	assertAcq(t, "", 1, nil, nil, r.Totals.All)
}

// Reserved and nil costs are refused: a channel named like the key of the
// prospects without a source (whose cost it would become), a channel
// without a name, and a nil *attribution.Costs (what a failed NewCosts
// returns), without a panic.
func TestAcquisitionCostRefusesReservedChannelsAndNilCosts(t *testing.T) {
	m, err := pool.NewMetrics(pool.MetricsSpec{From: day(1, 1), To: day(2, 1), Bucket: leadkit.PeriodMonth})
	require.NoError(t, err)
	require.NoError(t, m.Add(joined("n1", "", day(1, 3))))

	_, err = pool.AcquisitionCost(m.Result(), monthCosts{pool.NoSource: {"2026-01": 900}, "": {"2026-01": 1}})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.ErrorContains(t, err, `channel "(none)" has costs: it is the key of the prospects without a source (NoSource)`)
	assert.ErrorContains(t, err, "a channel with costs has no name")

	// attribution refuses the key itself.
	_, err = attribution.NewCosts(attribution.CostTable{Period: leadkit.PeriodMonth, Rows: []attribution.CostRow{{Key: pool.NoSource, Period: "2026-01", Spend: 900}}})
	require.ErrorIs(t, err, leadkit.ErrInvalid)

	c, err := attribution.NewCosts(attribution.CostTable{Rows: []attribution.CostRow{{Key: "", Period: "x"}}})
	require.Error(t, err)
	require.Nil(t, c)
	require.NotPanics(t, func() {
		_, err = pool.AcquisitionCost(m.Result(), c)
	})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.ErrorContains(t, err, "no costs")
}

// The bucket's total is known once the channels' costs cover it, even
// when only prospects without a source joined.
func TestAcquisitionCostCoveredMonthOnlyNoSource(t *testing.T) {
	table, err := attribution.NewCosts(attribution.CostTable{Period: leadkit.PeriodMonth, Rows: []attribution.CostRow{
		{Key: "ads", Period: "2026-01", Spend: 0}, {Key: "seo", Period: "2026-01", Spend: 300},
	}})
	require.NoError(t, err)
	m, err := pool.NewMetrics(pool.MetricsSpec{From: day(1, 1), To: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), Bucket: leadkit.PeriodMonth})
	require.NoError(t, err)
	require.NoError(t, m.Add(joined("n1", "", day(1, 3))))
	r, err := pool.AcquisitionCost(m.Result(), table)
	require.NoError(t, err)
	assertAcq(t, "", 1, ptr(300.0), ptr(300.0), r.Buckets[0].All)
	assertAcq(t, pool.NoSource, 1, nil, nil, mustSource(t, r.Buckets[0], pool.NoSource))
}
