package stats_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/binenc"
	"github.com/leadkit/leadkit/internal/stats"
)

// view is everything a summary reports, as JSON: two summaries of one
// multiset must give the same bytes.
func view(t testing.TB, s *stats.Summary) string {
	var each [][2]int64
	s.Each(func(d time.Duration, c int) { each = append(each, [2]int64{int64(d), int64(c)}) })
	b, err := json.Marshal(map[string]any{"n": s.N(), "exact": s.Exact(), "mean": s.Mean(), "median": s.Median(),
		"p10": s.Quantile(0.1), "p90": s.Quantile(0.9), "min": s.Min(), "max": s.Max(), "each": each,
		"bin": s.AppendBinary(nil)})
	require.NoError(t, err)
	return string(b)
}

// samples are multisets of durations of several shapes: uniform,
// log-normal (cycle times), exponential, heavy-tailed, with zeros and
// ties.
func samples(rng *rand.Rand, n int) map[string][]time.Duration {
	out := map[string][]time.Duration{}
	gen := func(name string, f func() float64) {
		ds := make([]time.Duration, n)
		for i := range ds {
			ds[i] = time.Duration(max(0, min(f(), float64(leadkit.MaxDuration))))
		}
		out[name] = ds
	}
	day := float64(24 * time.Hour)
	gen("uniform", func() float64 { return rng.Float64() * 90 * day })
	gen("lognormal", func() float64 { return math.Exp(rng.NormFloat64()*1.5) * 3 * day })
	gen("exponential", func() float64 { return rng.ExpFloat64() * day })
	gen("pareto", func() float64 { return float64(time.Minute) / math.Pow(1-rng.Float64(), 1.5) })
	gen("zeros and ties", func() float64 {
		switch rng.IntN(4) {
		case 0:
			return 0
		case 1:
			return float64(time.Hour)
		}
		return float64(rng.IntN(100)) * float64(time.Minute)
	})
	gen("nanoseconds", func() float64 { return float64(rng.IntN(50)) })
	return out
}

// TestSummaryExactBelowThreshold: up to the threshold a summary is the
// sample itself: the statistics of MeanSorted, MedianSorted and
// QuantileSorted, whatever the order.
func TestSummaryExactBelowThreshold(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	p, err := stats.NewParams(leadkit.Quantiles{Exact: 300})
	require.NoError(t, err)
	for _, n := range []int{0, 1, 2, 3, 299, 300} {
		for name, ds := range samples(rng, n) {
			s := p.New()
			for _, d := range ds {
				s.Add(d)
			}
			sorted := slices.Sorted(slices.Values(ds))
			require.True(t, s.Exact(), "%s %d", name, n)
			assert.Equal(t, n, s.N())
			assert.Equal(t, stats.MeanSorted(sorted), s.Mean(), "%s %d", name, n)
			assert.Equal(t, stats.MedianSorted(sorted), s.Median(), "%s %d", name, n)
			assert.Equal(t, stats.QuantileSorted(sorted, 0.9), s.Quantile(0.9), "%s %d", name, n)
			assert.Equal(t, binenc.AppendSortedDurations(nil, ds), s.AppendBinary(nil), "the exact layout is the durations'")
		}
	}
}

// TestMeanSortedExact: the mean is the exact sum over n, truncated toward
// zero, also where a float64 sum would round, and for negative samples.
func TestMeanSortedExact(t *testing.T) {
	big1 := time.Duration(math.MaxInt64)
	for _, c := range []struct {
		in   []time.Duration
		want time.Duration
	}{
		{[]time.Duration{big1, big1, big1}, big1},
		{[]time.Duration{big1, 1}, big1/2 + 1},
		{[]time.Duration{-3, -4}, -3},
		{[]time.Duration{math.MinInt64, math.MinInt64}, math.MinInt64},
		{[]time.Duration{1 << 53, 1, 1}, (1<<53 + 2) / 3},
	} {
		assert.Equal(t, c.want, stats.MeanSorted(c.in), "%v", c.in)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 200 {
		ds := make([]time.Duration, 1+rng.IntN(50))
		sum := new(big.Int)
		for i := range ds {
			ds[i] = time.Duration(rng.Int64N(math.MaxInt64))
			sum.Add(sum, big.NewInt(int64(ds[i])))
		}
		want := sum.Quo(sum, big.NewInt(int64(len(ds))))
		assert.Equal(t, want.Int64(), int64(stats.MeanSorted(ds)))
	}
}

// TestSummaryDeterministic: random multisets, split into random shards
// added in random orders and merged in random orders, give byte-identical
// results and encodings, on both sides of the threshold and across it
// (halves exact, their merge past it).
func TestSummaryDeterministic(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	p, err := stats.NewParams(leadkit.Quantiles{Exact: 64})
	require.NoError(t, err)
	for _, n := range []int{0, 1, 40, 64, 65, 100, 127, 128, 129, 5000} {
		for name, ds := range samples(rng, n) {
			one := p.New()
			for _, d := range ds {
				one.Add(d)
			}
			want := view(t, &one)
			for trial := range 8 {
				shuffled := slices.Clone(ds)
				rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
				k := 1 + rng.IntN(6)
				if trial == 0 {
					k = 2 // two halves: each exact below 129, their merge past it
				}
				shards := p.Summaries(k)
				for i, d := range shuffled {
					x := i * k / max(len(shuffled), 1)
					if trial > 0 {
						x = rng.IntN(k)
					}
					shards[x].Add(d)
				}
				// merge in a random tree order
				for len(shards) > 1 {
					i, j := rng.IntN(len(shards)), rng.IntN(len(shards)-1)
					if j >= i {
						j++
					}
					shards[i].Merge(&shards[j])
					shards = slices.Delete(shards, j, j+1)
				}
				require.Equal(t, want, view(t, &shards[0]), "%s, n=%d, %d shards", name, n, k)
				c := shards[0].Clone()
				require.Equal(t, want, view(t, &c), "a clone")
			}
		}
	}
}

// TestSummaryWithinAccuracy: past the threshold every reported median and
// quantile lies within the documented relative accuracy (plus rounding to
// the nanosecond) of the exact one, on large random and skewed samples
// and for each setting of the accuracy; count, mean, min and max are
// exact.
func TestSummaryWithinAccuracy(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, acc := range []float64{0, leadkit.MinQuantileAccuracy, 0.005, 0.02, leadkit.MaxQuantileAccuracy} {
		p, err := stats.NewParams(leadkit.Quantiles{Accuracy: acc})
		require.NoError(t, err)
		alpha := p.Quantiles().Accuracy
		for _, n := range []int{1025, 4000, 100_000} {
			for name, ds := range samples(rng, n) {
				s := p.New()
				for _, d := range ds {
					s.Add(d)
				}
				require.False(t, s.Exact())
				sorted := slices.Sorted(slices.Values(ds))
				within := func(what string, got, exact time.Duration) {
					t.Helper()
					bound := alpha*float64(exact) + 1
					assert.LessOrEqual(t, math.Abs(float64(got-exact)), bound, "%s of %s, n=%d, accuracy %g: got %d, exact %d", what, name, n, alpha, got, exact)
				}
				within("median", s.Median(), stats.MedianSorted(sorted))
				for _, q := range []float64{0.01, 0.25, 0.5, 0.75, 0.9, 0.99} {
					// R-7 interpolates two neighbours: within alpha of each.
					h := float64(n-1) * q
					lo := sorted[int(h)]
					hi := sorted[min(int(h)+1, n-1)]
					got := s.Quantile(q)
					assert.True(t, float64(got) >= (1-alpha)*float64(lo)-1 && float64(got) <= (1+alpha)*float64(hi)+1,
						"p%g of %s: %d outside [%d, %d] widened by %g", q*100, name, got, lo, hi, alpha)
				}
				assert.Equal(t, n, s.N())
				assert.Equal(t, stats.MeanSorted(sorted), s.Mean())
				assert.Equal(t, sorted[0], s.Min())
				assert.Equal(t, sorted[n-1], s.Max())
			}
		}
	}
}

// TestSummarySizeBounded: past the threshold the encoding's size depends
// on the spread of the durations, not on how many there are.
func TestSummarySizeBounded(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	size := func(n int) int {
		s := stats.DefaultParams().New()
		for range n {
			s.Add(time.Duration(math.Exp(rng.NormFloat64()*2) * float64(24*time.Hour)))
		}
		return len(s.AppendBinary(nil))
	}
	small, large := size(10_000), size(1_000_000)
	t.Logf("encoded: %d bytes at 10k durations, %d at 1M", small, large)
	assert.Less(t, large, 2*small, "100 times the durations, not twice the bytes")
	assert.Less(t, large, 16<<10)
}

// TestSummaryBinaryRoundTrip: what AppendBinary writes ReadSummary reads
// back to the same summary, on both sides of the threshold.
func TestSummaryBinaryRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	p, err := stats.NewParams(leadkit.Quantiles{Exact: 16, Accuracy: 0.02})
	require.NoError(t, err)
	for _, n := range []int{0, 1, 16, 17, 1000} {
		for name, ds := range samples(rng, n) {
			s := p.New()
			for _, d := range ds {
				s.Add(d)
			}
			b := s.AppendBinary(nil)
			d := binenc.Decoder{B: b, Prefix: "test: "}
			got := stats.ReadSummary(&d, p, n, leadkit.MaxDuration, "over")
			require.NoError(t, d.Err, "%s %d", name, n)
			assert.Empty(t, d.B)
			assert.Equal(t, view(t, &s), view(t, &got), "%s %d", name, n)
		}
	}
}

// TestSummaryBinaryRefused: a sketch that no sample gives is refused.
func TestSummaryBinaryRefused(t *testing.T) {
	p, err := stats.NewParams(leadkit.Quantiles{Exact: 2})
	require.NoError(t, err)
	s := p.New()
	for _, d := range []time.Duration{time.Hour, 2 * time.Hour, 3 * time.Hour} {
		s.Add(d)
	}
	good := s.AppendBinary(nil)
	read := func(b []byte, n int, limit time.Duration) error {
		d := binenc.Decoder{B: b, Prefix: "test: "}
		stats.ReadSummary(&d, p, n, limit, "over the limit")
		if d.Err == nil && len(d.B) > 0 {
			return errors.New("trailing bytes")
		}
		return d.Err
	}
	require.NoError(t, read(good, 3, leadkit.MaxDuration))
	for cut := range len(good) {
		assert.ErrorIs(t, read(good[:cut], 3, leadkit.MaxDuration), leadkit.ErrInvalid, "prefix %d", cut)
	}
	assert.ErrorContains(t, read(good, 4, leadkit.MaxDuration), "counts add up to 3, not 4")
	assert.ErrorContains(t, read(good, 30, leadkit.MaxDuration), "sum below n times the minimum")
	assert.ErrorContains(t, read(good, 3, 2*time.Hour), "over the limit")
	// every byte flipped: refused or read as another valid sketch, never a panic
	for i := range good {
		for _, x := range []byte{1, 0x80, 0xff} {
			b := slices.Clone(good)
			b[i] ^= x
			_ = read(b, 3, leadkit.MaxDuration)
		}
	}
}

// FuzzSummaryBinary reads arbitrary bytes as a sketch of n durations:
// refused with ErrInvalid or read into a summary whose encoding is
// canonical (it reads back to the same bytes).
func FuzzSummaryBinary(f *testing.F) {
	p, err := stats.NewParams(leadkit.Quantiles{Exact: 2, Accuracy: 0.05})
	if err != nil {
		f.Fatal(err)
	}
	for _, ds := range [][]time.Duration{{0, 0, 0}, {1, 2, 3, 4}, {time.Hour, time.Minute, 0, 7 * 24 * time.Hour}} {
		s := p.New()
		for _, d := range ds {
			s.Add(d)
		}
		f.Add(uint16(len(ds)), s.AppendBinary(nil))
	}
	f.Fuzz(func(t *testing.T, n uint16, data []byte) {
		d := binenc.Decoder{B: data, Prefix: "fuzz: "}
		s := stats.ReadSummary(&d, p, int(n), leadkit.MaxDuration, "over")
		if d.Err != nil {
			if !errors.Is(d.Err, leadkit.ErrInvalid) {
				t.Fatalf("error not ErrInvalid: %v", d.Err)
			}
			return
		}
		if s.N() != int(n) {
			t.Fatalf("read %d durations, want %d", s.N(), n)
		}
		enc := s.AppendBinary(nil)
		d2 := binenc.Decoder{B: enc, Prefix: "fuzz: "}
		again := stats.ReadSummary(&d2, p, int(n), leadkit.MaxDuration, "over")
		if d2.Err != nil || len(d2.B) > 0 {
			t.Fatalf("own encoding refused: %v", d2.Err)
		}
		if string(again.AppendBinary(nil)) != string(enc) {
			t.Fatal("encoding not canonical")
		}
		_ = s.Median()
		_ = s.Quantile(0.9)
		s.Merge(&again)
	})
}

// ExampleSummary: past its threshold a summary keeps a sketch. Its
// median, 14h, lies within 1% of the exact 13h53m19.5s (0.8% off); its
// count, mean, minimum and maximum are exact.
func ExampleSummary() {
	s := stats.DefaultParams().New()
	for i := range 100_000 {
		s.Add(time.Duration(i) * time.Second)
	}
	fmt.Println(s.N(), s.Exact(), s.Mean(), s.Median().Round(time.Minute), s.Min(), s.Max())
	// Output: 100000 false 13h53m19.5s 14h0m0s 0s 27h46m39s
}

func TestNewParamsRefused(t *testing.T) {
	for _, q := range []leadkit.Quantiles{{Exact: -1}, {Exact: leadkit.MaxQuantileExact + 1}, {Accuracy: 0.5}, {Accuracy: -0.01}, {Accuracy: math.NaN()}, {Accuracy: 1e-4}} {
		_, err := stats.NewParams(q)
		assert.ErrorIs(t, err, leadkit.ErrInvalid, "%+v", q)
	}
	p, err := stats.NewParams(leadkit.Quantiles{})
	require.NoError(t, err)
	assert.Equal(t, leadkit.Quantiles{Exact: leadkit.DefaultQuantileExact, Accuracy: leadkit.DefaultQuantileAccuracy}, p.Quantiles())
}
