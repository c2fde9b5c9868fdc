package attribution_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/attribution"
)

// A group's (a function's) cost row covers only the members without rows
// of their own: events has a people row every month and webinar, rolled
// into events, has spend rows for January and February only. March's
// webinar spend is missing, not 0, so events' Q1 cost is unknown and
// names the missing row.
func TestROIGroupRowDoesNotCoverAMembersMissingRow(t *testing.T) {
	costs, err := attribution.ReadCosts(strings.NewReader(`key,period,spend,headcount,loaded_cost
webinar,2026-01,1000,,
webinar,2026-02,1000,,
events,2026-01,0,2,6000
events,2026-02,0,2,6000
events,2026-03,0,2,6000
`), "")
	require.NoError(t, err)
	credits := []attribution.Credit{{Stage: "MQL", Period: "2026-Q1", Result: attribution.Result{Conversions: map[string]float64{"webinar": 40, "seminar": 5}}}}
	opts := attribution.ROIOptions{
		GroupBy: map[string]string{"webinar": "events", "seminar": "events"}, Period: leadkit.PeriodQuarter,
		From: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)}
	rep, err := attribution.NewPeriodROIReport(costs, credits, opts)
	require.NoError(t, err)
	row, ok := rep.Row("events", "2026-Q1")
	require.True(t, ok)
	assert.True(t, row.CostUnknown, "webinar's March spend row is missing")
	// seminar has no row of its own: events' rows cover it.
	assert.Equal(t, []attribution.CostGap{{Key: "webinar", Period: "2026-03"}}, row.MissingCost)
	assert.Equal(t, 1, row.MissingCostRows)
	mql, _ := row.Stage("MQL")
	assert.Nil(t, mql.CostPer, "no cost per MQL on an unknown cost")
	assert.True(t, rep.Total.CostUnknown)
	assert.Equal(t, []string{"webinar"}, rep.Uncosted)

	// With March's webinar row (0 spend), the quarter is known: 2,000 of
	// spend and 36,000 of people.
	costs.Rows = append(costs.Rows, attribution.CostRow{Key: "webinar", Period: "2026-03"})
	rep, err = attribution.NewPeriodROIReport(costs, credits, opts)
	require.NoError(t, err)
	row, _ = rep.Row("events", "2026-Q1")
	assert.False(t, row.CostUnknown)
	assert.Empty(t, row.MissingCost)
	assert.InDelta(t, 38_000, row.Cost, 1e-9)
	mql, _ = row.Stage("MQL")
	require.NotNil(t, mql.CostPer)
	assert.InDelta(t, 38_000.0/45, *mql.CostPer, 1e-9)
}
