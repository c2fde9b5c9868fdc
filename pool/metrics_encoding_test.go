package pool_test

import (
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/binenc"
	"github.com/leadkit/leadkit/internal/binenctest"
	"github.com/leadkit/leadkit/pool"
)

func metricsJSON(t testing.TB, m *pool.Metrics) string {
	b, err := json.Marshal(m.Result())
	require.NoError(t, err)
	return string(b)
}

func metricsBinary(t testing.TB, m *pool.Metrics) []byte {
	b, err := m.MarshalBinary()
	require.NoError(t, err)
	return b
}

// TestMetricsShardsByteIdentical: prospects split into random shards,
// added in random orders and merged in random orders give byte-identical
// results and encodings, with times to graduate kept exactly and (a
// threshold of 4) in sketches; the encoding reads back to the same
// result and bytes.
func TestMetricsShardsByteIdentical(t *testing.T) {
	for seed := uint64(1); seed <= 12; seed++ {
		rng := rand.New(rand.NewPCG(seed, 17))
		s := randomMetricsSpec(rng)
		if seed%2 == 0 {
			s.Quantiles = leadkit.Quantiles{Exact: 4, Accuracy: 0.02}
		}
		ps := metricsProspects(rng, s, 600)
		one := metricsOf(t, s, ps)
		want, wantBin := metricsJSON(t, one), metricsBinary(t, one)
		for range 3 {
			rng.Shuffle(len(ps), func(i, j int) { ps[i], ps[j] = ps[j], ps[i] })
			shards := make([][]pool.Prospect, 1+rng.IntN(6))
			for _, p := range ps {
				k := rng.IntN(len(shards))
				shards[k] = append(shards[k], p)
			}
			accs := make([]*pool.Metrics, len(shards))
			for i, sh := range shards {
				// each shard travels through its encoding
				var m pool.Metrics
				require.NoError(t, m.UnmarshalBinary(metricsBinary(t, metricsOf(t, s, sh))))
				accs[i] = &m
			}
			rng.Shuffle(len(accs), func(i, j int) { accs[i], accs[j] = accs[j], accs[i] })
			for _, a := range accs[1:] {
				require.NoError(t, accs[0].Merge(a))
			}
			require.Equal(t, want, metricsJSON(t, accs[0]), "seed %d", seed)
			require.Equal(t, wantBin, metricsBinary(t, accs[0]), "seed %d", seed)
		}
		var back pool.Metrics
		require.NoError(t, back.UnmarshalBinary(wantBin))
		assert.Equal(t, want, metricsJSON(t, &back))
	}
}

// TestMetricsBinaryRefused: what is not an encoding of metrics a pool can
// have is an error wrapping ErrInvalid, and the accumulator is left as it
// was.
func TestMetricsBinaryRefused(t *testing.T) {
	_, err := new(pool.Metrics).MarshalBinary()
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
	rng := rand.New(rand.NewPCG(3, 3))
	s := randomMetricsSpec(rng)
	acc := metricsOf(t, s, metricsProspects(rng, s, 50))
	good := metricsBinary(t, acc)
	before := metricsJSON(t, acc)
	for cut := range len(good) {
		require.ErrorIs(t, acc.UnmarshalBinary(good[:cut]), leadkit.ErrInvalid, "prefix %d", cut)
	}
	for i := range good {
		b := append([]byte(nil), good...)
		b[i] ^= 0x41
		if err := acc.UnmarshalBinary(b); err != nil {
			require.ErrorIs(t, err, leadkit.ErrInvalid)
			require.Equal(t, before, metricsJSON(t, acc))
		} else {
			require.NoError(t, acc.UnmarshalBinary(good))
		}
	}
	assert.ErrorContains(t, acc.UnmarshalBinary([]byte("LKPM\x02")), "unknown format version")
	assert.ErrorContains(t, acc.UnmarshalBinary(append(good, 0)), "1 bytes after the end")
	assert.Equal(t, before, metricsJSON(t, acc))
}

// TestMetricsSizeBounded: past the threshold the encoding stops growing
// with the graduates: 10k and 200k graduations in one bucket and source
// encode to about the same size.
func TestMetricsSizeBounded(t *testing.T) {
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := pool.MetricsSpec{From: from, To: from.AddDate(0, 1, 0), Bucket: leadkit.PeriodMonth}
	size := func(n int) int {
		rng := rand.New(rand.NewPCG(5, 5))
		m, err := pool.NewMetrics(s)
		require.NoError(t, err)
		for i := range n {
			joined := from.Add(-time.Duration(rng.Int64N(int64(200 * leadkit.Day))))
			left := from.Add(time.Duration(rng.Int64N(int64(30 * leadkit.Day))))
			require.NoError(t, m.Add(pool.Prospect{ID: "p" + string(rune('a'+i%26)) + time.Duration(i).String(), Status: pool.StatusGraduated,
				JoinedAt: joined, LeftAt: left, GraduatedAt: left, Source: pool.Source{Channel: "web"}}))
		}
		return len(metricsBinary(t, m))
	}
	small, large := size(10_000), size(200_000)
	t.Logf("pool metrics encoded: %d bytes at 10k graduates, %d at 200k", small, large)
	assert.Less(t, large, small+small/2)
}

// FuzzMetricsBinary decodes arbitrary bytes: refused with ErrInvalid or
// decoded into metrics whose encoding is canonical and whose result
// encodes as JSON, and that merge with their copy into a state whose
// encoding decodes (or the merge is refused at the cap).
func FuzzMetricsBinary(f *testing.F) {
	rng := rand.New(rand.NewPCG(8, 8))
	for _, q := range []leadkit.Quantiles{{}, {Exact: 1, Accuracy: 0.05}} {
		s := randomMetricsSpec(rng)
		s.Quantiles = q
		m, err := pool.NewMetrics(s)
		if err != nil {
			f.Fatal(err)
		}
		for _, p := range metricsProspects(rng, s, 8) {
			if err := m.Add(p); err != nil {
				f.Fatal(err)
			}
		}
		b, err := m.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	// counts past math.MaxInt32, and at the cap (a merge with itself is refused)
	one := countsMetrics(f, graduate("g"))
	f.Add(binenctest.Encode(f, binenctest.Scaled(f, one, 1<<32+3)))
	f.Add(binenctest.Encode(f, binenctest.Scaled(f, one, binenc.MaxTotal)))
	f.Fuzz(func(t *testing.T, data []byte) {
		binenctest.FuzzDecode(t, data, func(m *pool.Metrics) any { return m.Result() }, false)
	})
}

// TestMetricsQuantilesSpec: the quantile settings read from JSON and are
// validated by NewMetrics.
func TestMetricsQuantilesSpec(t *testing.T) {
	s, err := pool.ParseMetricsSpec([]byte(`{"from": "2026-01-01T00:00:00Z", "to": "2026-03-01T00:00:00Z", "bucket": "month", "quantiles": {"exact": 5, "accuracy": 0.02}}`))
	require.NoError(t, err)
	assert.Equal(t, leadkit.Quantiles{Exact: 5, Accuracy: 0.02}, s.Quantiles)
	_, err = pool.NewMetrics(s)
	require.NoError(t, err)
	s.Quantiles.Accuracy = 2
	_, err = pool.NewMetrics(s)
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.ErrorContains(t, err, "pool: metrics: leadkit: invalid input: quantiles: accuracy 2")
}
