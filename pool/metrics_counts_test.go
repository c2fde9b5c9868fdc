package pool_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/binenc"
	"github.com/leadkit/leadkit/internal/binenctest"
	"github.com/leadkit/leadkit/pool"
)

var countsFrom = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// countsMetrics returns pool metrics over the first quarter of 2026 by
// month holding ps.
func countsMetrics(t testing.TB, ps ...pool.Prospect) *pool.Metrics {
	t.Helper()
	m, err := pool.NewMetrics(pool.MetricsSpec{From: countsFrom, To: countsFrom.AddDate(0, 3, 0), Bucket: leadkit.PeriodMonth})
	require.NoError(t, err)
	for _, p := range ps {
		require.NoError(t, m.Add(p))
	}
	return m
}

// graduate is a prospect from web that joined in January and graduated
// in February.
func graduate(id string) pool.Prospect {
	return pool.Prospect{ID: id, Status: pool.StatusGraduated, Source: pool.Source{Channel: "web"},
		JoinedAt: countsFrom.AddDate(0, 0, 3), GraduatedAt: countsFrom.AddDate(0, 1, 3), LeftAt: countsFrom.AddDate(0, 1, 3)}
}

// Pool metrics merged over many workers count prospects past
// math.MaxInt32 (the decoder used to refuse those, so a merged state
// failed a Beam pipeline in its coder): such a state encodes and decodes
// to itself.
func TestMetricsCountsPastMaxInt32(t *testing.T) {
	const k = 1<<32 + 3
	one := countsMetrics(t, graduate("g"),
		pool.Prospect{ID: "a", Status: pool.StatusActive, Source: pool.Source{Channel: "web"}, JoinedAt: countsFrom.AddDate(0, -1, 0), LastActivityAt: countsFrom.AddDate(0, 2, 20)},
		pool.Prospect{ID: "o", Status: pool.StatusOptedOut, JoinedAt: countsFrom.AddDate(-1, 0, 0), LeftAt: countsFrom.AddDate(0, 2, 1)})
	binenctest.ScaledCounts(t, one, 1<<32+3, func(m *pool.Metrics) []int {
		r := m.Result()
		tot := r.Totals
		return []int{r.Prospects, tot.SizeAtStart, tot.Inflow, tot.Outflow.Graduated, tot.Outflow.OptedOut, r.Buckets[1].Size,
			r.Buckets[1].Dormant, tot.Size - tot.Dormant, tot.BySource["web"].Graduated}
	})
}

// Add and Merge refuse to count prospects past 2^53-1 (the cap of every
// count that merges sum, journey.MaxCount: exact in float64 and
// decoded), with an error wrapping ErrInvalid that names the metrics and
// the cap, and nothing changes; up to it they go on.
func TestMetricsCountsCapped(t *testing.T) {
	over := fmt.Sprintf("more than %d prospects (journey.MaxCount)", binenc.MaxTotal)
	binenctest.Capped(t, countsMetrics(t, graduate("g")), binenc.MaxTotal, func(m *pool.Metrics) any { return m.Result() },
		"pool: metrics: leadkit: invalid input: merged, "+over, "pool: metrics: leadkit: invalid input: "+over,
		func(m *pool.Metrics) error { return m.Add(graduate("h")) })
}
