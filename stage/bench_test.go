package stage_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/sim"
	"github.com/leadkit/leadkit/stage"
)

// The benchmarks compare the Machine (validation, optimistic versions,
// history, hooks) and the stage funnel with what a developer would write
// by hand, in the same run, on the stage changes of the simulated business
// of package sim (see benchdata_test.go). Run with:
//
//	go test ./stage -run XXX -bench . -benchmem
//
// (-stage.funnel.leads=100000 for a quicker BenchmarkFunnel).

// replayLeads is the size of the simulated business whose stage changes
// BenchmarkFire and BenchmarkAdvance replay: 10,000 leads make about 2,100
// MQL entries (the subjects), 4,100 sales decisions and 2,100
// qualifications per round.
const replayLeads = 10_000

// replaySide is one side of a replay benchmark: reset puts every subject
// back where it started (a fresh machine), op makes op k of the round.
type replaySide struct {
	reset func(b *testing.B)
	op    func(k int) error
}

// benchReplay runs the rounds of a replay of ops transitions on the
// Machine and on the map machine: "leadkit" and "map-baseline" each on its
// own (transitions/s; ns/op is one transition), and "ratio" both in turn,
// one round each per iteration, reporting their ns per transition and
// leadkit/map (the figure to quote on a shared machine: load that changes
// between the two sub-benchmarks does not skew it). Resets, and collecting
// their garbage, are not timed.
func benchReplay(b *testing.B, ops int, leadkit, baseline replaySide) {
	loop := func(b *testing.B, s replaySide) {
		s.reset(b)
		runtime.GC()
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			k := i % ops
			if i > 0 && k == 0 {
				b.StopTimer()
				s.reset(b)
				runtime.GC() // the last round's garbage, not charged to the next
				b.StartTimer()
			}
			if err := s.op(k); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "transitions/s")
	}
	b.Run("leadkit", func(b *testing.B) { loop(b, leadkit) })
	b.Run("map-baseline", func(b *testing.B) { loop(b, baseline) })
	b.Run("ratio", func(b *testing.B) {
		var took [2]time.Duration
		round := func(i int, s replaySide) {
			b.StopTimer()
			s.reset(b)
			runtime.GC()
			b.StartTimer()
			t0 := time.Now()
			for k := range ops {
				if err := s.op(k); err != nil {
					b.Fatal(err)
				}
			}
			took[i] += time.Since(t0)
		}
		for i := 0; i < b.N; i++ {
			round(0, leadkit)
			round(1, baseline)
		}
		n := float64(ops * b.N)
		b.ReportMetric(float64(took[0].Nanoseconds())/n, "leadkit-ns/transition")
		b.ReportMetric(float64(took[1].Nanoseconds())/n, "map-ns/transition")
		b.ReportMetric(float64(took[0])/float64(took[1]), "leadkit/map")
	})
}

// BenchmarkFire replays the simulated sales decisions (accept,
// qualify_sql, create_opportunity, win, lose, recycle, with their reason
// codes and times) as manual transitions of stage.Classic on subjects
// started in MQL when the leads qualified.
func BenchmarkFire(b *testing.B) {
	ctx := context.Background()
	def := stage.Classic()
	r := salesReplay(simStageData(b, replayLeads))
	var m *stage.Machine
	var subs []stage.Subject
	var mm *mapMachine
	benchReplay(b, len(r.Ops), replaySide{
		reset: func(b *testing.B) { m, subs = r.start(b, def) },
		op: func(k int) error {
			op := &r.Ops[k]
			_, err := m.Fire(ctx, subs[op.Subject], op.Transition, stage.Request{Actor: "sales", Reason: op.Reason, At: op.At})
			return err
		},
	}, replaySide{
		reset: func(*testing.B) { mm = newMapMachine(def, r) },
		op: func(k int) error {
			op := &r.Ops[k]
			return mm.fire(r.Subjects[op.Subject].ID, op.Transition, op.Reason, op.At)
		},
	})
}

// BenchmarkAdvance: one guarded automatic transition per call, the
// simulated leads' MQL entries (Raw -> MQL, Recycled -> MQL) at their
// times, by Classic's qualify with the guard `score >= 100 && grade in
// ["A", "B"]` on the facts; every call moves its subject.
func BenchmarkAdvance(b *testing.B) {
	ctx := context.Background()
	def := stage.Classic()
	def.Transitions[0].Guard = `score >= 100 && grade in ["A", "B"]`
	r := qualifyReplay(simStageData(b, replayLeads))
	facts := stage.Facts{"score": 120, "grade": "A"}
	var m *stage.Machine
	var subs []stage.Subject
	var mm *mapMachine
	benchReplay(b, len(r.Ops), replaySide{
		reset: func(b *testing.B) { m, subs = r.start(b, def) },
		op: func(k int) error {
			op := &r.Ops[k]
			if _, n, err := m.Advance(ctx, subs[op.Subject], facts, stage.Request{At: op.At}); err != nil || n != 1 {
				return fmt.Errorf("%d steps, %v", n, err)
			}
			return nil
		},
	}, replaySide{
		reset: func(*testing.B) { mm = newMapMachine(def, r) },
		op: func(k int) error {
			op := &r.Ops[k]
			// The guard, hand-written.
			score, _ := facts["score"].(int)
			grade, _ := facts["grade"].(string)
			if !(score >= 100 && (grade == "A" || grade == "B")) {
				return fmt.Errorf("guard")
			}
			return mm.fire(r.Subjects[op.Subject].ID, op.Transition, "", op.At)
		},
	})
}

// BenchmarkExplain measures "why not yet" on a three-clause guard.
func BenchmarkExplain(b *testing.B) {
	def := stage.Classic()
	def.Transitions[0].Guard = `score >= 100 && grade in ["A","B"] && (fit > 50 || engaged)`
	def.Facts["fit"], def.Facts["engaged"] = leadkit.TypeNumber, leadkit.TypeBool
	m, err := stage.New(def, stage.Options{})
	if err != nil {
		b.Fatal(err)
	}
	f := stage.Facts{"score": 120, "grade": "C", "fit": 10, "engaged": false}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := m.Explain("Raw", f); err != nil {
			b.Fatal(err)
		}
	}
}

// classicIndex numbers the stages of stage.Classic.
func classicIndex() map[string]int {
	idx := map[string]int{}
	for i, s := range stage.Classic().Stages {
		idx[s.Name] = i
	}
	return idx
}

// stageCounts is the hand-written baseline's result: visits per stage and
// moves between consecutive stages of a lead.
type stageCounts struct {
	entered []int
	moves   [][]int // from -> to
}

func newStageCounts(stages int) *stageCounts {
	c := &stageCounts{entered: make([]int, stages), moves: make([][]int, stages)}
	for i := range c.moves {
		c.moves[i] = make([]int, stages)
	}
	return c
}

// add is the hand-written baseline of the funnel: one plain pass over a
// lead's visits (in time order) that counts its visits to each stage and
// the moves between its consecutive stages.
func (c *stageCounts) add(visits []stage.Visit, idx map[string]int) {
	prev := -1
	for _, v := range visits {
		k := idx[v.Stage]
		c.entered[k]++
		if prev >= 0 {
			c.moves[prev][k]++
		}
		prev = k
	}
}

// countStages is the baseline over every lead of d.
func countStages(d *simStages, idx map[string]int) *stageCounts {
	c := newStageCounts(len(idx))
	for i := range d.Leads {
		c.add(d.Lead(i), idx)
	}
	return c
}

// BenchmarkFunnel computes Classic's stage funnel (Raw -> MQL -> SAL ->
// SQL -> Opportunity -> Won: entered, reached and skipped per stage, the
// conversion of every stage to every later one with mean and median times)
// over the stage histories of a simulated business of -stage.funnel.leads
// leads (default 1M; generating them is not timed), against the plain
// pass of stageCounts.add over the same visits. The two alternate by
// blocks of leads, so that load on a shared machine hits both alike:
// leads/s is a FunnelAccumulator fed one lead's visits at a time (its
// Result included), baseline-leads/s the plain pass, x-baseline the
// accumulator's time over the plain pass's; funnel-leads/s is the
// one-call stage.Funnel over all the visits (which groups them by lead in
// a map first), timed on its own.
func BenchmarkFunnel(b *testing.B) {
	d := simStageData(b, *funnelLeads)
	m, err := stage.New(stage.Classic(), stage.Options{})
	if err != nil {
		b.Fatal(err)
	}
	spec := m.FunnelSpec(stage.FunnelOptions{})
	idx := classicIndex()
	const block = 4096
	var acc, one, hand time.Duration
	var res stage.FunnelResult
	var counts *stageCounts
	runtime.GC() // the generator's garbage, not charged to the first round
	for b.Loop() {
		f, err := stage.NewFunnel(spec)
		if err != nil {
			b.Fatal(err)
		}
		counts = newStageCounts(len(idx))
		for lo := 0; lo < len(d.Leads); lo += block {
			hi := min(lo+block, len(d.Leads))
			t0 := time.Now()
			for i := lo; i < hi; i++ {
				if err := f.Add(d.Lead(i)); err != nil {
					b.Fatal(err)
				}
			}
			t1 := time.Now()
			for i := lo; i < hi; i++ {
				counts.add(d.Lead(i), idx)
			}
			acc += t1.Sub(t0)
			hand += time.Since(t1)
		}
		t0 := time.Now()
		res = f.Result()
		t1 := time.Now()
		if _, err := stage.Funnel(spec, d.Visits); err != nil {
			b.Fatal(err)
		}
		acc += t1.Sub(t0)
		one += time.Since(t1)
	}
	if res.Stages[0].Entered != len(d.Leads) || counts.entered[idx[sim.StageRaw]] != len(d.Leads) ||
		res.Stages[len(res.Stages)-1].Entered != counts.entered[idx[sim.StageWon]] {
		b.Fatalf("funnel %+v and plain count %v disagree", res.Stages, counts.entered)
	}
	leads := float64(len(d.Leads) * b.N)
	b.ReportMetric(leads/acc.Seconds(), "leads/s")
	b.ReportMetric(leads/hand.Seconds(), "baseline-leads/s")
	b.ReportMetric(float64(acc)/float64(hand), "x-baseline")
	b.ReportMetric(leads/one.Seconds(), "funnel-leads/s")
}

// BenchmarkFunnelByOwner is the funnel by owner (each step per SDR and
// sales rep, with the stages' SLAs) beside the plain funnel on the same
// simulated leads in the same run: the price of the owner breakdown.
func BenchmarkFunnelByOwner(b *testing.B) {
	d := simStageData(b, *funnelLeads)
	def := stage.Classic()
	for i := range def.Stages {
		switch def.Stages[i].Name {
		case "MQL":
			def.Stages[i].SLA = 2 * 24 * time.Hour
		case "SAL":
			def.Stages[i].SLA = 7 * 24 * time.Hour
		}
	}
	m, err := stage.New(def, stage.Options{})
	if err != nil {
		b.Fatal(err)
	}
	plainSpec := m.FunnelSpec(stage.FunnelOptions{})
	ownerSpec := m.FunnelSpec(stage.FunnelOptions{ByOwner: true, Now: benchNow()})
	run := func(spec stage.FunnelSpec) (stage.FunnelResult, time.Duration) {
		t0 := time.Now()
		f, err := stage.NewFunnel(spec)
		if err != nil {
			b.Fatal(err)
		}
		for i := range d.Leads {
			if err := f.Add(d.Lead(i)); err != nil {
				b.Fatal(err)
			}
		}
		r := f.Result()
		return r, time.Since(t0)
	}
	var owned, plain time.Duration
	var res, base stage.FunnelResult
	runtime.GC()
	for b.Loop() {
		var d1, d2 time.Duration
		res, d1 = run(ownerSpec)
		base, d2 = run(plainSpec)
		owned += d1
		plain += d2
	}
	// The owners partition every step of the plain funnel.
	for _, step := range res.Owners {
		c, _ := base.Conversion(step.From, step.To)
		n := 0
		for _, o := range step.Owners {
			n += o.Rate.Base
		}
		if n != c.Base {
			b.Fatalf("%s -> %s: owners' bases add up to %d, the funnel's base is %d", step.From, step.To, n, c.Base)
		}
	}
	if len(res.Owners[1].Owners) < 2 {
		b.Fatalf("MQL -> SAL has %d owners: the simulated SDRs are missing", len(res.Owners[1].Owners))
	}
	leads := float64(len(d.Leads) * b.N)
	b.ReportMetric(leads/owned.Seconds(), "leads/s")
	b.ReportMetric(leads/plain.Seconds(), "plain-leads/s")
	b.ReportMetric(float64(owned)/float64(plain), "x-plain")
}
