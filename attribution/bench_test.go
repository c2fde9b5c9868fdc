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

// benchTables are the synthetic tables the benchmarks run on: "Mixed", 10%
// of the paths converting (as in real path tables, where most journeys do
// not convert and rule models skip them), and "AllConvert", the same paths
// all converting, where every model must look at every touch.
var (
	benchOnce   sync.Once
	benchTables []benchTable
)

type benchTable struct {
	name  string
	paths []Path
}

// syntheticPaths makes n paths over 20 channels with skewed channel
// popularity, lengths 1..12 (mean about 4), a share convertEvery^-1
// converting (1: all).
func syntheticPaths(n, convertEvery int) []Path {
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
		if r.IntN(convertEvery) == 0 {
			p = Path{Channels: ch, Conversions: 1, Value: float64(10 + r.IntN(90))}
		}
		out[i] = p
	}
	return out
}

func loadBench(b *testing.B) []benchTable {
	benchOnce.Do(func() {
		benchTables = []benchTable{
			{"Mixed", syntheticPaths(*benchPaths, 10)},
			{"AllConvert", syntheticPaths(*benchPaths, 1)},
		}
	})
	b.ResetTimer()
	return benchTables
}

func reportPaths(b *testing.B, n int) {
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "paths/s")
}

// baselineGroup is the baseline for the rule-based models: the least work
// they must do, hand-written and without validation. It reads every path,
// skips those with nothing to credit (as the models do) and groups the
// conversions of the others by channel, one map lookup per touch (the
// models intern each touch's channel with one map lookup too).
func baselineGroup(paths []Path) map[string]float64 {
	m := make(map[string]float64, 32)
	for i := range paths {
		p := &paths[i]
		if p.Conversions == 0 && p.Value == 0 {
			continue
		}
		for _, c := range p.Channels {
			m[c] += p.Conversions
		}
	}
	return m
}

// baselineEveryPath is the baseline for Markov, which counts the
// transitions of every path, converting or not: one map lookup per touch
// of every path.
func baselineEveryPath(paths []Path) map[string]float64 {
	m := make(map[string]float64, 32)
	for i := range paths {
		p := &paths[i]
		w := p.Conversions + p.Nulls
		for _, c := range p.Channels {
			m[c] += w
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
	for ti := range loadBench(b) {
		tb := &benchTables[ti]
		b.Run(tb.name, func(b *testing.B) {
			for _, base := range []struct {
				name string
				f    func([]Path) map[string]float64
			}{{"Baseline", baselineGroup}, {"BaselineEveryPath", baselineEveryPath}} {
				b.Run(base.name, func(b *testing.B) {
					b.ReportAllocs()
					for range b.N {
						sinkMap = base.f(tb.paths)
					}
					reportPaths(b, len(tb.paths))
				})
			}
			for _, tc := range models {
				b.Run(tc.name, func(b *testing.B) {
					b.ReportAllocs()
					for range b.N {
						r, err := tc.m.Attribute(tb.paths)
						if err != nil {
							b.Fatal(err)
						}
						sinkMap = r.Conversions
					}
					reportPaths(b, len(tb.paths))
				})
			}
		})
	}
}

// BenchmarkMarkovSolve measures the solve alone (counts built once from the
// mixed table); paths/s is the paths behind the counts per second of
// solving.
func BenchmarkMarkovSolve(b *testing.B) {
	paths := loadBench(b)[0].paths
	for _, order := range []int{1, 2, 3} {
		b.Run("Order"+strconv.Itoa(order), func(b *testing.B) {
			m := Markov{Order: order}
			c, err := NewMarkovCounts(m)
			if err != nil {
				b.Fatal(err)
			}
			if err := c.AddPaths(paths); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				r, err := c.Result()
				if err != nil {
					b.Fatal(err)
				}
				sinkMap = r.Conversions
			}
			reportPaths(b, len(paths))
			b.ReportMetric(float64(c.States()), "states")
		})
	}
}
