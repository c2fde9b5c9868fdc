package pool_test

import (
	"fmt"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/attribution"
	"github.com/leadkit/leadkit/pool"
)

// The pool's acquisition cost per prospect over time: inflow by source
// channel per month (Metrics) joined with a monthly cost table. February
// has no webinar row, so the webinar's cost there, and the month's, are
// unknown rather than 0.
func ExampleAcquisitionCost() {
	costs, err := attribution.ParseCosts([]byte(`
period: month
rows:
  - {key: ads, period: 2026-01, spend: 900}
  - {key: ads, period: 2026-02, spend: 600}
  - {key: webinar, period: 2026-01, spend: 1000, headcount: 1, loaded_cost: 500}
`))
	if err != nil {
		panic(err)
	}
	table, err := attribution.NewCosts(costs)
	if err != nil {
		panic(err)
	}
	m, err := pool.NewMetrics(pool.MetricsSpec{From: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), Bucket: leadkit.PeriodMonth})
	if err != nil {
		panic(err)
	}
	day := func(mo time.Month, d int) time.Time { return time.Date(2026, mo, d, 9, 0, 0, 0, time.UTC) }
	for _, p := range []pool.Prospect{
		{ID: "a", Source: pool.Source{Channel: "ads"}, Status: pool.StatusActive, JoinedAt: day(1, 3)},
		{ID: "b", Source: pool.Source{Channel: "ads"}, Status: pool.StatusActive, JoinedAt: day(1, 20)},
		{ID: "c", Source: pool.Source{Channel: "webinar"}, Status: pool.StatusActive, JoinedAt: day(1, 9)},
		{ID: "d", Source: pool.Source{Channel: "ads"}, Status: pool.StatusActive, JoinedAt: day(2, 5)},
		{ID: "e", Source: pool.Source{Channel: "webinar"}, Status: pool.StatusActive, JoinedAt: day(2, 9)},
	} {
		if err := m.Add(p); err != nil {
			panic(err)
		}
	}
	r, err := pool.AcquisitionCost(m.Result(), table)
	if err != nil {
		panic(err)
	}
	f := func(x *float64) string {
		if x == nil {
			return "unknown"
		}
		return fmt.Sprintf("%.0f", *x)
	}
	for _, b := range r.Buckets {
		for _, s := range b.Sources {
			fmt.Printf("%s %-8s %d new, cost %s, per prospect %s\n", b.Label, s.Channel, s.Inflow, f(s.Cost), f(s.CostPerProspect))
		}
		fmt.Printf("%s all      %d new, cost %s, per prospect %s\n", b.Label, b.All.Inflow, f(b.All.Cost), f(b.All.CostPerProspect))
	}
	// Output:
	// 2026-01 ads      2 new, cost 900, per prospect 450
	// 2026-01 webinar  1 new, cost 1500, per prospect 1500
	// 2026-01 all      3 new, cost 2400, per prospect 800
	// 2026-02 ads      1 new, cost 600, per prospect 600
	// 2026-02 webinar  1 new, cost unknown, per prospect unknown
	// 2026-02 all      2 new, cost unknown, per prospect unknown
}
