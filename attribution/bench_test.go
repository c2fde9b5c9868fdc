package attribution

import (
	"bytes"
	"flag"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/leadkit/leadkit/sim"
)

// benchLeads sets the size of the simulated business whose path table the
// benchmarks run on. Measure the goal with the default (1M leads, about
// 530,000 distinct paths); use e.g. -attribution.leads=100000 for quick
// runs (about 70,000 paths).
var benchLeads = flag.Int("attribution.leads", 1_000_000, "simulated leads behind the benchmarks' path table")

// benchTables are the path tables the benchmarks run on, made once per
// process from package sim's default business (8 marketing channels, the
// noise channel purchased_list among them; 12 months): sim.WritePaths
// writes every lead's first journey as a ChannelAttribution table, one row
// per distinct path with its conversions (reached MQL), deal value and
// nulls, and ReadPaths reads it, as a user's table would be read.
//
//   - "Mixed" is that table as written: about 19% of the journeys and 30%
//     of the rows convert (a row converts when any of its journeys does),
//     the rest only have nulls, which rule models skip.
//   - "AllConvert" is the same rows with every journey converting
//     (conversions + nulls, no nulls), where every model must look at
//     every touch.
//
// A row aggregates the journeys along one path, so the benchmarks report
// paths/s (rows of the table, what the models iterate: the unit of the
// synthetic table used before, where each row was one journey) and
// journeys/s (the leads behind those rows).
var (
	benchOnce   sync.Once
	benchTables []benchTable
	benchErr    error
)

type benchTable struct {
	name     string
	paths    []Path
	journeys float64 // conversions + nulls
}

// simPaths runs the simulation and reads its path table.
func simPaths(leads int) ([]Path, error) {
	s, err := sim.New(sim.Config{Seed: 7, Leads: leads})
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := s.WritePaths(&buf); err != nil {
		return nil, err
	}
	return ReadPaths(&buf, CSVOptions{})
}

func loadBench(b *testing.B) []benchTable {
	benchOnce.Do(func() {
		mixed, err := simPaths(*benchLeads)
		if err != nil {
			benchErr = err
			return
		}
		all := make([]Path, len(mixed))
		for i, p := range mixed {
			all[i] = Path{Channels: p.Channels, Conversions: p.Conversions + p.Nulls, Value: p.Value}
		}
		for _, t := range []struct {
			name  string
			paths []Path
		}{{"Mixed", mixed}, {"AllConvert", all}} {
			conv, _, nulls := Totals(t.paths)
			benchTables = append(benchTables, benchTable{t.name, t.paths, conv + nulls})
		}
		runtime.GC() // the simulation's garbage is not the models' to collect
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	b.ResetTimer()
	return benchTables
}

func reportPaths(b *testing.B, t *benchTable) {
	b.ReportMetric(float64(len(t.paths))*float64(b.N)/b.Elapsed().Seconds(), "paths/s")
	b.ReportMetric(t.journeys*float64(b.N)/b.Elapsed().Seconds(), "journeys/s")
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

// BenchmarkAttribution runs every model and both baselines on each table
// of benchTables, in the same run. Each model's sub-benchmark also runs its
// floor after every pass, with the timer stopped (baselineGroup for the
// rule-based models, baselineEveryPath for Markov), and reports x-floor,
// the model's time over the floor's in those interleaved passes: a ratio
// that load on a shared machine shifts less than one taken between
// sub-benchmarks run seconds apart.
func BenchmarkAttribution(b *testing.B) {
	models := []struct {
		name  string
		m     Model
		floor func([]Path) map[string]float64
	}{
		{"FirstTouch", FirstTouch{}, baselineGroup},
		{"LastTouch", LastTouch{}, baselineGroup},
		{"LastNonDirect", LastNonDirect{Direct: sim.ChannelWebsite}, baselineGroup},
		{"Linear", Linear{}, baselineGroup},
		{"PositionBased", PositionBased{}, baselineGroup},
		{"Shapley", Shapley{}, baselineGroup},
		{"Markov1", Markov{Order: 1}, baselineEveryPath},
		{"Markov3", Markov{Order: 3}, baselineEveryPath},
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
					reportPaths(b, tb)
				})
			}
			for _, tc := range models {
				b.Run(tc.name, func(b *testing.B) {
					b.ReportAllocs()
					var model, floor time.Duration
					for range b.N {
						t0 := time.Now()
						r, err := tc.m.Attribute(tb.paths)
						if err != nil {
							b.Fatal(err)
						}
						model += time.Since(t0)
						sinkMap = r.Conversions
						b.StopTimer()
						t1 := time.Now()
						sinkMap = tc.floor(tb.paths)
						floor += time.Since(t1)
						b.StartTimer()
					}
					reportPaths(b, tb)
					b.ReportMetric(float64(model)/float64(floor), "x-floor")
				})
			}
		})
	}
}

// BenchmarkMarkovSolve measures the solve alone (counts built once from the
// mixed table); paths/s is the paths behind the counts per second of
// solving.
func BenchmarkMarkovSolve(b *testing.B) {
	tb := &loadBench(b)[0]
	paths := tb.paths
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
			reportPaths(b, tb)
			b.ReportMetric(float64(c.States()), "states")
		})
	}
}
