package attribution

import (
	"flag"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"
)

// benchPaths sets the size of the synthetic table the benchmarks use.
// Measure the goal with the default (1M paths); use e.g.
// -attribution.paths=100000 for quick runs.
var benchPaths = flag.Int("attribution.paths", 1_000_000, "number of synthetic paths in benchmarks")

var (
	benchOnce sync.Once
	benchData []Path
)

// syntheticPaths makes n paths over 20 channels with skewed channel
// popularity, lengths 1..12 (mean about 4), 10% converting.
func syntheticPaths(n int) []Path {
	r := rand.New(rand.NewPCG(7, 11))
	names := make([]string, 20)
	for i := range names {
		names[i] = "channel_" + strconv.Itoa(i)
	}
	pick := func() string { // skewed: low ids more common
		a, b := r.IntN(20), r.IntN(20)
		return names[min(a, b)]
	}
	out := make([]Path, n)
	for i := range out {
		l := 1
		for l < 12 && r.IntN(4) != 0 {
			l++
		}
		ch := make([]string, l)
		for j := range ch {
			ch[j] = pick()
		}
		p := Path{Channels: ch, Nulls: 1}
		if r.IntN(10) == 0 {
			p = Path{Channels: ch, Conversions: 1, Value: float64(10 + r.IntN(90))}
		}
		out[i] = p
	}
	return out
}

func loadBench(b *testing.B) []Path {
	benchOnce.Do(func() { benchData = syntheticPaths(*benchPaths) })
	b.ResetTimer()
	return benchData
}

func reportPaths(b *testing.B, n int) {
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "paths/s")
}

// baselineGroup is the baseline: one plain pass that reads every touch of
// every path and groups the conversions by channel in a map (the least any
// model must do), hand-written, no validation.
func baselineGroup(paths []Path) map[string]float64 {
	m := make(map[string]float64, 32)
	for i := range paths {
		p := &paths[i]
		for _, c := range p.Channels {
			m[c] += p.Conversions
		}
	}
	return m
}

var sinkMap map[string]float64

func BenchmarkAttribution(b *testing.B) {
	models := []struct {
		name string
		m    Model
	}{
		{"FirstTouch", FirstTouch{}},
		{"LastTouch", LastTouch{}},
		{"LastNonDirect", LastNonDirect{Direct: "channel_0"}},
		{"Linear", Linear{}},
		{"PositionBased", PositionBased{}},
		{"Shapley", Shapley{}},
		{"Markov1", Markov{Order: 1}},
		{"Markov3", Markov{Order: 3}},
	}
	b.Run("Baseline", func(b *testing.B) {
		paths := loadBench(b)
		b.ReportAllocs()
		for range b.N {
			sinkMap = baselineGroup(paths)
		}
		reportPaths(b, len(paths))
	})
	for _, tc := range models {
		b.Run(tc.name, func(b *testing.B) {
			paths := loadBench(b)
			b.ReportAllocs()
			for range b.N {
				r, err := tc.m.Attribute(paths)
				if err != nil {
					b.Fatal(err)
				}
				sinkMap = r.Conversions
			}
			reportPaths(b, len(paths))
		})
	}
}

// BenchmarkMarkovSolve measures the solve alone (counts built once).
func BenchmarkMarkovSolve(b *testing.B) {
	for _, order := range []int{1, 3} {
		b.Run("Order"+strconv.Itoa(order), func(b *testing.B) {
			paths := loadBench(b)
			m := Markov{Order: order}
			c, err := m.NewCounts()
			if err != nil {
				b.Fatal(err)
			}
			if err := c.AddPaths(paths); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for range b.N {
				r, err := m.AttributeCounts(c)
				if err != nil {
					b.Fatal(err)
				}
				sinkMap = r.Conversions
			}
			b.ReportMetric(float64(c.States()), "states")
		})
	}
}
