package journey

import (
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/sim"
	"github.com/leadkit/leadkit/stage"
)

// The benchmarks run on simulated businesses (package sim): every lead's
// events grouped by LeadID into a Timeline, in the time order sim emits
// them, and the stage changes as visits.
//
//   - "sim": sim's default business, 145,000 leads created over 12 months,
//     1.03M events. A lead has about 7 events (Poisson touches from 8
//     marketing channels spread over up to six months, then an SDR call and
//     sales events for the leads that reach MQL), of 13 types.
//   - "dense": the same channels touching 7 times as often, 22,000 leads
//     with about 46 events each (1.01M events), near the shape of the
//     benchmarks' former synthetic data (20,000 leads x 50 events), where
//     a lead has more events within the funnel's window, so the naive
//     funnel's rescans cost more per event.
var benchSims = []benchSim{
	{name: "sim", cfg: func() sim.Config { return sim.Config{Seed: 2026, Leads: 145_000} }},
	{name: "dense", cfg: func() sim.Config {
		chs := sim.DefaultChannels()
		for i := range chs {
			chs[i].Touches *= 7
		}
		return sim.Config{Seed: 2026, Leads: 22_000, Channels: chs}
	}},
}

type benchSim struct {
	name string
	cfg  func() sim.Config
	once sync.Once
	data benchData
	err  error
}

// benchData is a simulated business read into the package's inputs.
type benchData struct {
	timelines []Timeline // in order of each lead's first event
	visits    []stage.Visit
	events    int
}

// load runs the simulation once per process.
func (s *benchSim) load(b *testing.B) *benchData {
	b.Helper()
	s.once.Do(func() {
		sm, err := sim.New(s.cfg())
		if err != nil {
			s.err = err
			return
		}
		d := &s.data
		idx := map[string]int{}
		for r := range sm.Records() {
			switch r.Kind {
			case sim.KindEvent:
				i, ok := idx[r.Event.LeadID]
				if !ok {
					i = len(d.timelines)
					idx[r.Event.LeadID] = i
					d.timelines = append(d.timelines, Timeline{LeadID: r.Event.LeadID})
				}
				d.timelines[i].Events = append(d.timelines[i].Events, r.Event)
				d.events++
			case sim.KindStage:
				d.visits = append(d.visits, stage.Visit{LeadID: r.Stage.LeadID, Stage: r.Stage.To, At: r.Stage.At})
			}
		}
		// Copy the events into one array in timeline order, so that the
		// benchmarks measure the calculators rather than the layout the
		// appends above leave (slices scattered over the heap, with spare
		// capacity): on the 7-event leads of "sim" that layout made every
		// pass about twice as slow, mostly cache misses on the first read
		// of each event.
		all := make([]leadkit.Event, 0, d.events)
		for i := range d.timelines {
			n := len(all)
			all = append(all, d.timelines[i].Events...)
			d.timelines[i].Events = all[n:len(all):len(all)]
		}
		runtime.GC() // the simulation's garbage is not the benchmarks' to collect
	})
	if s.err != nil {
		b.Fatal(s.err)
	}
	b.ResetTimer()
	return &s.data
}

// benchSpec is a 4-step funnel over sim's event types, from a website
// visit through real email engagement (the predicate leaves out the opens
// of the purchased list, the noise channel) and content, webinar or
// offline engagement to the SDR's call or a sales meeting, within 90 days:
// sim's journeys last up to six months, and with the default 14 days only
// 1,704 of the "sim" business's leads reach the last step (7,785 within 90
// days: 127,574 visit, 73,757 nurtured, 32,146 engaged).
var benchSpec = FunnelSpec{Window: 90 * 24 * time.Hour, Steps: []Step{
	{Name: "visit", Types: []string{leadkit.EventPageView}},
	{Name: "nurtured", Types: []string{leadkit.EventEmailOpened, leadkit.EventEmailClicked}, When: `event.channel != "purchased_list"`},
	{Name: "engaged", Types: []string{leadkit.EventDownload, leadkit.EventWebinarAttended, leadkit.EventOfflineEvent}},
	{Name: "sales", Types: []string{leadkit.EventSDRCall, leadkit.EventMeeting}},
}}

// naiveEnv is what the naive baseline's predicates read: the event under
// the names of the funnel's dialect, for expr directly.
type naiveEnv struct {
	Event naiveEvent `expr:"event"`
}

type naiveEvent struct {
	ID       string    `expr:"id"`
	Type     string    `expr:"type"`
	Channel  string    `expr:"channel"`
	Campaign string    `expr:"campaign"`
	Content  string    `expr:"content"`
	Time     time.Time `expr:"time"`
}

// exprPredicates compiles the steps' When sources with expr itself, as a
// straightforward implementation would, into predicates run on one reused
// VM (nil for a step without When).
func exprPredicates(b *testing.B, spec FunnelSpec) []func(*leadkit.Event) bool {
	var machine vm.VM
	var env naiveEnv
	preds := make([]func(*leadkit.Event) bool, len(spec.Steps))
	for i, s := range spec.Steps {
		if s.When == "" {
			continue
		}
		prog, err := expr.Compile(s.When, expr.Env(naiveEnv{}), expr.AsBool())
		if err != nil {
			b.Fatal(err)
		}
		preds[i] = func(e *leadkit.Event) bool {
			env.Event = naiveEvent{ID: e.ID, Type: e.Type, Channel: e.Channel, Campaign: e.Campaign, Content: e.Content, Time: e.Time}
			out, err := machine.Run(prog, &env) // a pointer: no boxing per call
			return err == nil && out.(bool)
		}
	}
	return preds
}

// goPredicates are benchSpec's predicates written by hand in Go.
var goPredicates = []func(*leadkit.Event) bool{
	nil,
	func(e *leadkit.Event) bool { return e.Channel != sim.ChannelPurchasedList },
	nil,
	nil,
}

// naiveFunnel is the straightforward implementation the accumulator is
// measured against: for every attempt it re-tests each candidate event
// against the step it looks for (type list scan, then the predicate), so
// predicates run once per (attempt, event) instead of once per event.
// preds[k] is step k's When (nil: none).
func naiveFunnel(spec FunnelSpec, preds []func(*leadkit.Event) bool, tls []Timeline) []int {
	window := spec.Window
	if window == 0 {
		window = DefaultWindow
	}
	match := func(k int, e *leadkit.Event) bool {
		if !slices.Contains(spec.Steps[k].Types, e.Type) {
			return false
		}
		return preds[k] == nil || preds[k](e)
	}
	counts := make([]int, len(spec.Steps))
	for _, tl := range tls {
		best := 0
		for s := range tl.Events {
			if !match(0, &tl.Events[s]) {
				continue
			}
			k := 1
			for j := s + 1; j < len(tl.Events) && k < len(spec.Steps); j++ {
				if tl.Events[j].Time.Sub(tl.Events[s].Time) > window {
					break
				}
				if match(k, &tl.Events[j]) {
					k++
				}
			}
			best = max(best, k)
		}
		for k := range best {
			counts[k]++
		}
	}
	return counts
}

// BenchmarkFunnel runs a 4-step funnel (one step with a predicate) over
// each simulated business of benchSims (about 1M events each): the
// accumulator against the naive implementation, on the same data in the
// same run, with the predicate compiled by expr (naive) and written in Go
// (naive-go). All three must count the same leads at every step. The
// naive sub-benchmarks also run the accumulator after every pass, with
// the timer stopped, and report x-accumulator, the naive time over the
// accumulator's in those interleaved passes (a ratio that load on a
// shared machine shifts less than one taken between sub-benchmarks).
func BenchmarkFunnel(b *testing.B) {
	f, err := CompileFunnel(benchSpec)
	if err != nil {
		b.Fatal(err)
	}
	exprPreds := exprPredicates(b, benchSpec)
	for i := range benchSims {
		bs := &benchSims[i]
		b.Run(bs.name, func(b *testing.B) {
			d := bs.load(b)
			tls := d.timelines
			want := naiveFunnel(benchSpec, exprPreds, tls)
			if got := naiveFunnel(benchSpec, goPredicates, tls); !slices.Equal(want, got) {
				b.Fatalf("naive with Go predicates %v != with expr %v", got, want)
			}
			r, err := f.Run(tls)
			if err != nil {
				b.Fatal(err)
			}
			if !slices.Equal(want, counts(r)) {
				b.Fatalf("accumulator %v != naive %v", counts(r), want)
			}
			b.Logf("%s: %d leads, %d events, funnel %v", bs.name, len(tls), d.events, want)
			if want[len(want)-1] == 0 {
				b.Fatalf("no lead reaches the last step: %v", want)
			}
			report := func(b *testing.B) {
				b.ReportMetric(float64(d.events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
				b.ReportMetric(float64(d.events)/float64(len(tls)), "events/lead")
			}
			b.Run("accumulator", func(b *testing.B) {
				b.ReportAllocs()
				acc := f.NewAccumulator()
				b.ResetTimer()
				for range b.N {
					for _, tl := range tls {
						if err := acc.Add(tl); err != nil {
							b.Fatal(err)
						}
					}
				}
				report(b)
			})
			for _, nv := range []struct {
				name  string
				preds []func(*leadkit.Event) bool
			}{{"naive", exprPreds}, {"naive-go", goPredicates}} {
				b.Run(nv.name, func(b *testing.B) {
					b.ReportAllocs()
					acc := f.NewAccumulator()
					var naive, accumulator time.Duration
					for range b.N {
						t0 := time.Now()
						naiveFunnel(benchSpec, nv.preds, tls)
						naive += time.Since(t0)
						b.StopTimer()
						t1 := time.Now()
						for _, tl := range tls {
							if err := acc.Add(tl); err != nil {
								b.Fatal(err)
							}
						}
						accumulator += time.Since(t1)
						b.StartTimer()
					}
					report(b)
					b.ReportMetric(float64(naive)/float64(accumulator), "x-accumulator")
				})
			}
		})
	}
}

// naivePatterns is the textbook level-wise (GSP-style) miner: candidates
// of length k+1 are the frequent k-patterns extended by every frequent
// item, and each candidate is tested against every sequence with a
// subsequence scan. maxLen caps the pattern length (0: none).
func naivePatterns(seqs [][]string, minSup, maxLen int) int {
	contains := func(s, p []string) bool {
		i := 0
		for _, x := range s {
			if i < len(p) && x == p[i] {
				i++
			}
		}
		return i == len(p)
	}
	count := func(p []string) int {
		n := 0
		for _, s := range seqs {
			if contains(s, p) {
				n++
			}
		}
		return n
	}
	var items []string
	seen := map[string]bool{}
	for _, s := range seqs {
		for _, x := range s {
			if !seen[x] {
				seen[x] = true
				items = append(items, x)
			}
		}
	}
	var level [][]string
	for _, it := range items {
		if count([]string{it}) >= minSup {
			level = append(level, []string{it})
		}
	}
	total := len(level)
	freqItems := slices.Concat(level...)
	for depth := 1; len(level) > 0 && (maxLen == 0 || depth < maxLen); depth++ {
		var next [][]string
		for _, p := range level {
			for _, it := range freqItems {
				c := append(slices.Clone(p), it)
				if count(c) >= minSup {
					next = append(next, c)
				}
			}
		}
		total += len(next)
		level = next
	}
	return total
}

// BenchmarkMinePatterns mines the event-type sequences of the first
// 100,000 leads of the "sim" business (whole timelines, about 7 items of
// 13 types each, sales events included) at 1% minimum support with
// PrefixSpan. The naive level-wise miner cannot run that in a benchmark,
// so the baseline runs on two smaller inputs at the same relative
// support: the first 1,000 sequences (all lengths) and the first 10,000
// with patterns capped at length 3, each against PrefixSpan on the same
// input; compare their sequences/s. Every sub-benchmark can run alone:
// the expected pattern counts are computed before them.
func BenchmarkMinePatterns(b *testing.B) {
	d := benchSims[0].load(b)
	if len(d.timelines) < 100_000 {
		b.Fatalf("%d timelines, want at least 100,000", len(d.timelines))
	}
	seqs := make([][]string, 100_000)
	for i := range seqs {
		seqs[i] = Sequence(d.timelines[i], KeyType)
	}
	sample1k, sample10k := seqs[:1_000], seqs[:10_000]
	mine := func(b *testing.B, s [][]string, opts PatternOptions) int {
		ps, err := MinePatterns(s, opts)
		if err != nil {
			b.Fatal(err)
		}
		return len(ps)
	}
	opts1k := PatternOptions{MinSupport: 10}
	opts10k := PatternOptions{MinSupport: 100, MaxLength: 3}
	want1k, want10k := mine(b, sample1k, opts1k), mine(b, sample10k, opts10k)
	b.ResetTimer()
	run := func(name string, n int, fn func(b *testing.B) int, want int) {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			var got int
			for range b.N {
				got = fn(b)
			}
			if want >= 0 && got != want {
				b.Fatalf("found %d patterns, want %d", got, want)
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "sequences/s")
			b.ReportMetric(float64(got), "patterns")
		})
	}
	run("prefixspan-100k", len(seqs), func(b *testing.B) int { return mine(b, seqs, PatternOptions{MinSupport: 1000}) }, -1)
	run("prefixspan-1k", len(sample1k), func(b *testing.B) int { return mine(b, sample1k, opts1k) }, want1k)
	run("naive-1k", len(sample1k), func(*testing.B) int { return naivePatterns(sample1k, 10, 0) }, want1k)
	run("prefixspan-10k-len3", len(sample10k), func(b *testing.B) int { return mine(b, sample10k, opts10k) }, want10k)
	run("naive-10k-len3", len(sample10k), func(*testing.B) int { return naivePatterns(sample10k, 100, 3) }, want10k)
}

// BenchmarkGoldenPaths compares the event-type paths of the "sim"
// business's leads that reached MQL (cut at their first MQL, by
// ConversionPaths over sim's stage changes) against the other leads'
// whole paths, at 1% of the converted as minimum support.
func BenchmarkGoldenPaths(b *testing.B) {
	d := benchSims[0].load(b)
	conv, other, err := ConversionPaths(d.timelines, d.visits, sim.StageMQL, KeyType)
	if err != nil {
		b.Fatal(err)
	}
	opts := PatternOptions{MinSupport: len(conv) / 100}
	b.ReportAllocs()
	b.ResetTimer()
	var paths []GoldenPath
	for range b.N {
		if paths, err = GoldenPaths(conv, other, opts); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(conv)+len(other))*float64(b.N)/b.Elapsed().Seconds(), "sequences/s")
	b.ReportMetric(float64(len(conv)), "converted")
	b.ReportMetric(float64(len(paths)), "paths")
}
