package attribution_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/attribution"
)

// ROI per marketing function and quarter, from a monthly cost table with
// spend and people (headcount x loaded cost) and the credit per quarter.
// Content has credit but no cost row: its cost is unknown, not 0, and so
// is the quarter's total.
func ExampleNewPeriodROIReport() {
	costs, err := attribution.ReadCosts(strings.NewReader(`key,period,spend,headcount,loaded_cost
webinar,2026-01,1000,,
webinar,2026-02,1000,,
webinar,2026-03,1500,,
paid_search,2026-01,2000,,
paid_search,2026-02,2000,,
paid_search,2026-03,2000,,
events,2026-01,0,2,6000
events,2026-02,0,2,6000
events,2026-03,0,2,6000
`), "")
	if err != nil {
		fmt.Println(err)
		return
	}
	credits := []attribution.Credit{
		{Stage: "MQL", Period: "2026-Q1", Result: attribution.Result{Conversions: map[string]float64{"webinar": 40, "paid_search": 40, "content": 5}}},
		{Stage: "Won", Period: "2026-Q1", Result: attribution.Result{
			Conversions: map[string]float64{"webinar": 2, "paid_search": 1},
			Value:       map[string]float64{"webinar": 60000, "paid_search": 20000},
		}},
	}
	rep, err := attribution.NewPeriodROIReport(costs, credits, attribution.ROIOptions{
		GroupBy: map[string]string{"webinar": "events", "paid_search": "paid"},
		Period:  leadkit.PeriodQuarter,
		From:    time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		To:      time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	f := func(x *float64) string {
		if x == nil {
			return "-"
		}
		return fmt.Sprintf("%.2f", *x)
	}
	fmt.Println("function quarter   cost   heads MQLs cost/MQL MQL/head won value ROI")
	for _, r := range append(rep.Rows, rep.Total) {
		mql, _ := r.Stage("MQL")
		won, _ := r.Stage("Won")
		fmt.Printf("%-8s %-7s %7.0f %5.1f %4.0f %8s %8s %9.0f %s\n", r.Key, r.Period, r.Cost, r.Headcount, mql.Conversions, f(mql.CostPer), f(mql.PerHead), won.Value, f(won.ROI))
	}
	fmt.Println("no cost row:", rep.Uncosted, rep.Total.MissingCost)
	// Output:
	// function quarter   cost   heads MQLs cost/MQL MQL/head won value ROI
	// content  2026-Q1       0   0.0    5        -        -         0 -
	// events   2026-Q1   39500   2.0   40   987.50    20.00     60000 0.52
	// paid     2026-Q1    6000   0.0   40   150.00        -     20000 2.33
	// (total)            45500   2.0   85        -        -     80000 -
	// no cost row: [content] [{content 2026-01} {content 2026-02} {content 2026-03}]
}

// Whether a cost that is not known counts: over January and February,
// webinar has a row in January only, so its February cost is missing
// and February's total unknown; print's only row lies outside the range
// and seo has none, so they miss nothing there.
func ExampleCosts_Missing() {
	c, err := attribution.NewCosts(attribution.CostTable{Period: leadkit.PeriodMonth, Rows: []attribution.CostRow{
		{Key: "ads", Period: "2026-01", Spend: 900},
		{Key: "ads", Period: "2026-02", Spend: 600},
		{Key: "webinar", Period: "2026-01", Spend: 1000},
		{Key: "print", Period: "2025-06", Spend: 50},
	}})
	if err != nil {
		panic(err)
	}
	from, feb, to := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for _, key := range []string{"ads", "webinar", "print", "seo"} {
		cost, known := c.Cost(key, feb, to)
		fmt.Printf("%-7s February: cost %v known %v, missing %v\n", key, cost, known, c.Missing(key, feb, to, from, to))
	}
	// Output:
	// ads     February: cost 600 known true, missing false
	// webinar February: cost 0 known false, missing true
	// print   February: cost 0 known false, missing false
	// seo     February: cost 0 known false, missing false
}
