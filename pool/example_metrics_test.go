package pool_test

import (
	"fmt"
	"time"

	"github.com/leadkit/leadkit/pool"
)

// Pool metrics by month: size, inflow by source, outflow by reason,
// graduation rate and time, dormancy. Shards of a store scan each fill
// their own Metrics and Merge them.
func ExampleMetrics() {
	spec, err := pool.ParseMetricsSpec([]byte(`
from: 2026-01-01T00:00:00Z
to: 2026-03-01T00:00:00Z
bucket: month
dormant: 30d
`))
	if err != nil {
		panic(err)
	}
	day := func(m time.Month, d int) time.Time { return time.Date(2026, m, d, 0, 0, 0, 0, time.UTC) }
	shards := [][]pool.Prospect{{
		{ID: "a", Source: pool.Source{Channel: "webinar"}, Status: pool.StatusGraduated,
			JoinedAt: day(1, 5), GraduatedAt: day(1, 19), LeftAt: day(1, 19)},
		{ID: "b", Source: pool.Source{Channel: "ads"}, Status: pool.StatusActive, JoinedAt: day(1, 10)},
	}, {
		{ID: "c", Source: pool.Source{Channel: "ads"}, Status: pool.StatusOptedOut, JoinedAt: day(1, 12), LeftAt: day(2, 3)},
		{ID: "d", Source: pool.Source{Channel: "webinar"}, Status: pool.StatusGraduated,
			JoinedAt: day(2, 1), GraduatedAt: day(2, 22), LeftAt: day(2, 22)},
	}}
	var total *pool.Metrics
	for _, shard := range shards {
		m, err := pool.NewMetrics(spec)
		if err != nil {
			panic(err)
		}
		for _, p := range shard {
			if err := m.Add(p); err != nil {
				panic(err)
			}
		}
		if total == nil {
			total = m
		} else if err := total.Merge(m); err != nil {
			panic(err)
		}
	}
	r := total.Result()
	for _, b := range r.Buckets {
		fmt.Printf("%s: size %d, inflow %d (ads %d, webinar %d), graduated %d, opted out %d, rate %.2f, median %s, dormant %.0f%%\n",
			b.Label, b.Size, b.Inflow, b.BySource["ads"].Inflow, b.BySource["webinar"].Inflow,
			b.Outflow.Graduated, b.Outflow.OptedOut, b.GraduationRate, b.MedianTimeToGraduate, 100*b.DormantShare)
	}
	for _, src := range []string{"ads", "webinar"} {
		s := r.Totals.BySource[src]
		fmt.Printf("%s: joined %d, graduated %d, rate %.2f, median %s\n", src, s.Inflow, s.Graduated, s.GraduationRate, s.MedianTimeToGraduate)
	}
	// Output:
	// 2026-01: size 2, inflow 3 (ads 2, webinar 1), graduated 1, opted out 0, rate 0.33, median 2w, dormant 0%
	// 2026-02: size 1, inflow 1 (ads 0, webinar 1), graduated 1, opted out 1, rate 0.33, median 3w, dormant 100%
	// ads: joined 2, graduated 0, rate 0.00, median 0s
	// webinar: joined 2, graduated 2, rate 1.00, median 17d12h
}
