package pool_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/pool"
)

func TestMetricsBrute(t *testing.T) {
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	to := time.Date(2026, 4, 15, 0, 0, 0, 0, time.UTC)
	spec := pool.MetricsSpec{From: from, To: to, Bucket: leadkit.PeriodMonth, Dormant: 20 * 24 * time.Hour}
	for seed := range 200 {
		r := rand.New(rand.NewPCG(uint64(seed), 1))
		rt := func() time.Time {
			// coarse grid so ties with bucket ends happen
			return from.Add(time.Duration(r.IntN(160)-30) * 24 * time.Hour)
		}
		var ps []pool.Prospect
		for i := range 30 {
			j := rt()
			p := pool.Prospect{ID: fmt.Sprintf("p%d", i), JoinedAt: j, Status: pool.StatusActive, Version: 1, Source: pool.Source{Channel: []string{"", "web", "ads"}[r.IntN(3)]}}
			for range r.IntN(4) {
				p.Touches = append(p.Touches, j.Add(time.Duration(r.IntN(100))*24*time.Hour))
			}
			slices.SortFunc(p.Touches, func(a, b time.Time) int { return a.Compare(b) })
			if len(p.Touches) > 0 {
				p.LastActivityAt = p.Touches[len(p.Touches)-1]
			}
			if r.IntN(2) == 0 {
				st := []pool.Status{pool.StatusGraduated, pool.StatusOptedOut, pool.StatusErased, pool.StatusMerged}[r.IntN(4)]
				p.Status = st
				p.LeftAt = j.Add(time.Duration(r.IntN(60)) * 24 * time.Hour)
				if st == pool.StatusGraduated {
					p.GraduatedAt = p.LeftAt
				}
			}
			ps = append(ps, p)
		}
		// two shards merged
		m1, _ := pool.NewMetrics(spec)
		m2, _ := pool.NewMetrics(spec)
		for i, p := range ps {
			if i%2 == 0 {
				require.NoError(t, m1.Add(p))
			} else {
				require.NoError(t, m2.Add(p))
			}
		}
		require.NoError(t, m1.Merge(m2))
		res := m1.Result()
		for _, b := range res.Buckets {
			in := func(p pool.Prospect, at time.Time) bool {
				return p.JoinedAt.Before(at) && (p.LeftAt.IsZero() || !p.LeftAt.Before(at))
			}
			var want pool.MetricsBucket
			for _, p := range ps {
				if in(p, b.Start) {
					want.SizeAtStart++
				}
				if in(p, b.End) {
					want.Size++
					last := p.JoinedAt
					for _, x := range append([]time.Time{p.LastActivityAt}, p.Touches...) {
						if x.Before(b.End) && x.After(last) {
							last = x
						}
					}
					if b.End.Sub(last) >= spec.Dormant {
						want.Dormant++
					}
				}
				if !p.JoinedAt.Before(b.Start) && p.JoinedAt.Before(b.End) {
					want.Inflow++
				}
				if !p.LeftAt.IsZero() && !p.LeftAt.Before(b.Start) && p.LeftAt.Before(b.End) {
					switch p.Status {
					case pool.StatusGraduated:
						want.Outflow.Graduated++
					case pool.StatusOptedOut:
						want.Outflow.OptedOut++
					case pool.StatusErased:
						want.Outflow.Erased++
					case pool.StatusMerged:
						want.Outflow.Merged++
					}
				}
			}
			got := pool.MetricsBucket{SizeAtStart: b.SizeAtStart, Size: b.Size, Inflow: b.Inflow, Outflow: b.Outflow, Dormant: b.Dormant}
			require.Equal(t, want, got, "seed %d bucket %s", seed, b.Label)
		}
	}
}
