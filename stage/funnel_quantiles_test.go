package stage_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/stats"
	"github.com/leadkit/leadkit/stage"
)

// TestFunnelShardsByteIdentical: the simulated leads split into random
// shards, added in random orders, each shard shipped through its binary
// encoding, and merged in a random order give the result and the
// encoding of one pass byte for byte: with the default quantiles (some
// conversions past 1,024 subjects: sketches) and with a threshold of 16
// (every conversion and owner step a sketch, halves exact whose merge is
// not).
func TestFunnelShardsByteIdentical(t *testing.T) {
	d := simStageData(t, 2000)
	n := len(d.Leads)
	rng := rand.New(rand.NewPCG(21, 22))
	for name, spec := range encodingSpecs(t) {
		for _, q := range []leadkit.Quantiles{{}, {Exact: 16, Accuracy: 0.02}} {
			spec.Quantiles = q
			one := fill(t, spec, d, 0, n)
			want := resultJSON(t, one)
			wantBin, err := one.MarshalBinary()
			require.NoError(t, err)
			for trial := range 3 {
				order := rng.Perm(n)
				k := 1 + rng.IntN(7)
				if trial == 0 {
					k = 2
				}
				shards := make([]*stage.FunnelAccumulator, k)
				for i := range shards {
					shards[i], err = stage.NewFunnel(spec)
					require.NoError(t, err)
				}
				for x, i := range order {
					s := x * k / n
					if trial > 0 {
						s = rng.IntN(k)
					}
					require.NoError(t, shards[s].Add(d.Lead(i)))
				}
				for i, s := range shards {
					b, err := s.MarshalBinary()
					require.NoError(t, err)
					shards[i] = new(stage.FunnelAccumulator)
					require.NoError(t, shards[i].UnmarshalBinary(b))
				}
				rng.Shuffle(k, func(i, j int) { shards[i], shards[j] = shards[j], shards[i] })
				for _, s := range shards[1:] {
					require.NoError(t, shards[0].Merge(s))
				}
				require.Equal(t, want, resultJSON(t, shards[0]), "%s %+v, %d shards", name, q, k)
				got, err := shards[0].MarshalBinary()
				require.NoError(t, err)
				require.Equal(t, wantBin, got, "%s %+v, %d shards", name, q, k)
			}
		}
	}
}

// twoStage adds n leads to an MQL -> SQL funnel, converting after
// durations drawn by gen, and returns them.
func twoStage(t testing.TB, acc *stage.FunnelAccumulator, n int, gen func() time.Duration) []time.Duration {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ds := make([]time.Duration, n)
	vs := make([]stage.Visit, 2)
	for i := range ds {
		ds[i] = gen()
		id := "L" + time.Duration(i).String()
		vs[0] = stage.Visit{LeadID: id, Stage: "MQL", At: t0}
		vs[1] = stage.Visit{LeadID: id, Stage: "SQL", At: t0.Add(ds[i])}
		require.NoError(t, acc.Add(vs))
	}
	return ds
}

// TestFunnelMedianWithinAccuracy: past the threshold a conversion's
// median lies within the documented accuracy of the exact median (on
// uniform, log-normal and heavy-tailed conversion times), and its mean is
// the exact one.
func TestFunnelMedianWithinAccuracy(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	day := float64(24 * time.Hour)
	for name, gen := range map[string]func() time.Duration{
		"uniform":   func() time.Duration { return time.Duration(rng.Float64() * 60 * day) },
		"lognormal": func() time.Duration { return time.Duration(math.Exp(rng.NormFloat64()*1.2) * 2 * day) },
		"pareto": func() time.Duration {
			return time.Duration(min(float64(time.Minute)/math.Pow(1-rng.Float64(), 2), 3000*day))
		},
		"whole days": func() time.Duration {
			return time.Duration(rng.IntN(30)) * 24 * time.Hour
		},
	} {
		for _, acc := range []float64{0, 0.002, 0.05} {
			f, err := stage.NewFunnel(stage.FunnelSpec{Stages: []string{"MQL", "SQL"}, Quantiles: leadkit.Quantiles{Accuracy: acc}})
			require.NoError(t, err)
			ds := twoStage(t, f, 20_000, gen)
			slices.Sort(ds)
			c, _ := f.Result().Conversion("MQL", "SQL")
			alpha := acc
			if alpha == 0 {
				alpha = leadkit.DefaultQuantileAccuracy
			}
			exact := stats.MedianSorted(ds)
			assert.LessOrEqual(t, math.Abs(float64(time.Duration(c.Median)-exact)), alpha*float64(exact)+1,
				"%s at %g: median %s, exact %s", name, alpha, time.Duration(c.Median), exact)
			assert.Equal(t, leadkit.Duration(stats.MeanSorted(ds)), c.Mean, name)
		}
	}
}

// TestFunnelEncodingSizeBounded: past the threshold an accumulator's
// encoding stops growing with the leads: 10k and 1M conversions encode to
// a kilobyte or two (what grows is the spread the sample reaches, a
// bucket per 2% of it, and the bytes of each bucket's count), where the
// durations themselves would take megabytes.
func TestFunnelEncodingSizeBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("a million leads")
	}
	size := func(n int) int {
		rng := rand.New(rand.NewPCG(2, 2))
		f, err := stage.NewFunnel(stage.FunnelSpec{Stages: []string{"MQL", "SQL"}})
		require.NoError(t, err)
		twoStage(t, f, n, func() time.Duration {
			return time.Duration(math.Exp(rng.NormFloat64()*1.5) * float64(48*time.Hour)).Truncate(time.Second)
		})
		b, err := f.MarshalBinary()
		require.NoError(t, err)
		return len(b)
	}
	small, large := size(10_000), size(1_000_000)
	t.Logf("stage funnel encoded: %d bytes at 10k leads, %d at 1M", small, large)
	assert.Less(t, large, 2*small, "100 times the leads, not twice the bytes")
	assert.Less(t, large, 16<<10)
}

// TestFunnelQuantilesValidated: quantile settings past the caps are
// refused with the funnel's other problems, as every spec field is.
func TestFunnelQuantilesValidated(t *testing.T) {
	for _, q := range []leadkit.Quantiles{{Exact: -1}, {Exact: leadkit.MaxQuantileExact + 1}, {Accuracy: 0.5}, {Accuracy: 1e-5}} {
		_, err := stage.NewFunnel(stage.FunnelSpec{Stages: []string{"MQL"}, Quantiles: q})
		require.ErrorIs(t, err, leadkit.ErrInvalid)
		assert.ErrorContains(t, err, "stage: funnel: leadkit: invalid input: quantiles: ")
		assert.ErrorContains(t, err, "at least two stages", "every problem at once")
	}
	spec, err := stage.ParseFunnelSpec([]byte(`{"stages": ["MQL", "SQL"], "quantiles": {"exact": 100, "accuracy": 0.02}}`))
	require.NoError(t, err)
	assert.Equal(t, leadkit.Quantiles{Exact: 100, Accuracy: 0.02}, spec.Quantiles)
}
