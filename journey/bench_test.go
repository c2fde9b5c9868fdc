package journey

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"

	"github.com/leadkit/leadkit"
)

// benchTimelines makes leads*perLead events deterministically: 20 event
// types with a skewed (1/rank) distribution over 90 days.
func benchTimelines(leads, perLead int) []Timeline {
	rng := rand.New(rand.NewPCG(2026, 1))
	types := benchTypes()
	channels := []string{"web", "email", "paid", "event", "sales"}
	weights := zipfCDF(len(types))
	out := make([]Timeline, leads)
	for i := range out {
		lead := fmt.Sprintf("lead%07d", i)
		evs := make([]leadkit.Event, perLead)
		t := t0.Add(time.Duration(rng.Int64N(int64(30 * 24 * time.Hour))))
		for j := range evs {
			t = t.Add(time.Duration(rng.Int64N(int64(36 * time.Hour))))
			evs[j] = leadkit.Event{LeadID: lead, Type: types[pick(rng, weights)], Channel: channels[rng.IntN(len(channels))], Time: t}
		}
		out[i] = Timeline{LeadID: lead, Events: evs}
	}
	return out
}

func benchTypes() []string {
	types := []string{"page_view", "email_opened", "email_clicked", "download", "form_submitted",
		"webinar_registered", "webinar_attended", "sdr_call", "meeting", "sales_follow_up"}
	for i := len(types); i < 20; i++ {
		types = append(types, fmt.Sprintf("custom_%d", i))
	}
	return types
}

func zipfCDF(n int) []float64 {
	cdf := make([]float64, n)
	sum := 0.0
	for i := range n {
		sum += 1 / float64(i+1)
		cdf[i] = sum
	}
	for i := range cdf {
		cdf[i] /= sum
	}
	return cdf
}

func pick(rng *rand.Rand, cdf []float64) int {
	i, _ := slices.BinarySearch(cdf, rng.Float64())
	return min(i, len(cdf)-1)
}

var benchSpec = FunnelSpec{Steps: []Step{
	{Name: "visit", Types: []string{"page_view"}},
	{Name: "download", Types: []string{"download", "form_submitted"}},
	{Name: "webinar", Types: []string{"webinar_attended"}, When: `event.channel != "paid"`},
	{Name: "meeting", Types: []string{"meeting", "sdr_call"}},
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
func exprPredicates(spec FunnelSpec) []func(*leadkit.Event) bool {
	var machine vm.VM
	var env naiveEnv
	preds := make([]func(*leadkit.Event) bool, len(spec.Steps))
	for i, s := range spec.Steps {
		if s.When == "" {
			continue
		}
		prog, err := expr.Compile(s.When, expr.Env(naiveEnv{}), expr.AsBool())
		if err != nil {
			panic(err)
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
	nil,
	func(e *leadkit.Event) bool { return e.Channel != "paid" },
	nil,
}

// naiveFunnel is the straightforward implementation the accumulator is
// measured against: for every attempt it re-tests each candidate event
// against the step it looks for (type list scan, then the predicate), so
// predicates run once per (attempt, event) instead of once per event.
// preds[k] is step k's When (nil: none).
func naiveFunnel(spec FunnelSpec, preds []func(*leadkit.Event) bool, tls []Timeline) []int {
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
				if tl.Events[j].Time.Sub(tl.Events[s].Time) > DefaultWindow {
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

// BenchmarkFunnel runs a 4-step funnel (one step with a predicate) over 1M
// events (20,000 leads x 50 events): the accumulator against the naive
// implementation, on the same data in the same run, with the predicate
// compiled by expr (naive) and written in Go (naive-go).
func BenchmarkFunnel(b *testing.B) {
	tls := benchTimelines(20_000, 50)
	const events = 20_000 * 50
	f, err := CompileFunnel(benchSpec)
	if err != nil {
		b.Fatal(err)
	}
	exprPreds := exprPredicates(benchSpec)
	want := naiveFunnel(benchSpec, exprPreds, tls)
	if got := naiveFunnel(benchSpec, goPredicates, tls); !slices.Equal(want, got) {
		b.Fatalf("naive with Go predicates %v != with expr %v", got, want)
	}
	r, _ := f.Run(tls)
	if !slices.Equal(want, counts(r)) {
		b.Fatalf("accumulator %v != naive %v", counts(r), want)
	}
	b.Run("accumulator", func(b *testing.B) {
		b.ReportAllocs()
		acc := f.NewAccumulator()
		b.ResetTimer()
		for range b.N {
			for _, tl := range tls {
				_ = acc.Add(tl)
			}
		}
		b.ReportMetric(float64(events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
	b.Run("naive", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			naiveFunnel(benchSpec, exprPreds, tls)
		}
		b.ReportMetric(float64(events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
	b.Run("naive-go", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			naiveFunnel(benchSpec, goPredicates, tls)
		}
		b.ReportMetric(float64(events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
}

func benchSequences(n, length int) [][]string {
	rng := rand.New(rand.NewPCG(7, 2026))
	types := benchTypes()
	cdf := zipfCDF(len(types))
	out := make([][]string, n)
	for i := range out {
		s := make([]string, length)
		for j := range s {
			s[j] = types[pick(rng, cdf)]
		}
		out[i] = s
	}
	return out
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

// BenchmarkMinePatterns mines 100,000 sequences of length 10 over 20
// channel types (skewed) at 1% minimum support with PrefixSpan. The naive
// level-wise miner cannot run that in a benchmark (over a minute for 10,000
// sequences of any length), so the baseline runs on two smaller inputs at
// the same relative support: 1,000 sequences (all lengths) and 10,000
// sequences with patterns capped at length 3, each against PrefixSpan on
// the same input; compare their sequences/s. Every sub-benchmark can run
// alone: the expected pattern counts are computed before them.
func BenchmarkMinePatterns(b *testing.B) {
	seqs := benchSequences(100_000, 10)
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

// BenchmarkGoldenPaths compares 50,000 converted against 50,000 other
// sequences.
func BenchmarkGoldenPaths(b *testing.B) {
	seqs := benchSequences(100_000, 10)
	b.ReportAllocs()
	for range b.N {
		if _, err := GoldenPaths(seqs[:50_000], seqs[50_000:], PatternOptions{MinSupport: 500}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(seqs))*float64(b.N)/b.Elapsed().Seconds(), "sequences/s")
}
