// Command lifecycle streams a simulated B2B business through the lifecycle
// engine and verifies the last month of it.
//
// The simulator (package sim) plays the business: people touch the
// marketing channels, channels observe who they are, the SDR team calls
// the MQLs and sales moves them on. The engine plays the CRM's brain: the
// prospect pool graduates people into leads by its lead definition, the
// scoring model scores them, and the Classic stages make a lead an MQL
// when its score reaches 100, which fit and engagement alone cannot: the
// lead's hand-raise (the simulator's demo request) takes it there, so the
// engine's MQLs are the simulator's. Sales decisions (accept, qualify, open an
// opportunity, win, lose, recycle) come from the simulated sales team and
// are fired on the engine's stage machine as the manual transitions they
// are, when the engine's lead is in the stage they start from.
//
// Events go into Engine.Ingest in calls of about 1,000, in time order.
// Then, over the whole run: the stage funnel with stage-to-stage
// conversion and cycle times; the funnel diagnosis (each step by the SDR
// or sales rep who worked it, against its target); ROI per marketing
// function and quarter (Engine.ROI: the simulator's spend plus people
// costs the demo assumes and prints); and the pool's spend per new
// prospect per source channel and quarter (pool.AcquisitionCost). And
// Engine.Verify's report on the last month of the run: the stages reached
// in it with cycle times, with and without instant converters; this
// month's MQLs from old and new leads, and per channel the new leads it
// brought and the old ones it revived; the old leads that converted
// against those that did not, on the nurture touches they received; the
// nurture power of content and content by funnel phase; attribution of
// MQLs and deals; and ROI per channel, next to what the simulator planted.
//
//	go run ./examples/lifecycle                 # 100,000 leads: about 50 s and 2.5 GB
//	go run ./examples/lifecycle -leads 20000 -seed 7 -months 12
//
// A progress line (events, rate, ETA) is rewritten on a terminal and left
// out when standard output is not one.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/attribution"
	"github.com/leadkit/leadkit/examples/internal/business"
	"github.com/leadkit/leadkit/lifecycle"
	"github.com/leadkit/leadkit/pool"
	"github.com/leadkit/leadkit/sim"
	"github.com/leadkit/leadkit/stage"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run parses the flags, runs the demo and prints its report; it returns
// the exit code (2 for bad flags).
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("lifecycle", flag.ContinueOnError)
	fs.SetOutput(stderr)
	leads := fs.Int("leads", 100_000, "leads the simulated business creates over the run (everything is kept in memory: about 25 KB per lead, 2.5 GB at 100,000)")
	seed := fs.Uint64("seed", 1, "seed of the simulation (the same seed gives the same business)")
	months := fs.Int("months", 12, "months the run lasts; the last one is verified")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "lifecycle: unexpected arguments %q\n", fs.Args())
		return 2
	}
	if *leads < 1 || *months < 1 {
		fmt.Fprintf(stderr, "lifecycle: -leads and -months must be at least 1 (0 would silently mean the simulator's default)\n")
		return 2
	}
	r, err := simulate(context.Background(), business.DemoConfig(*seed, *leads, *months), newProgress(stdout))
	if err != nil {
		fmt.Fprintln(stderr, "lifecycle:", err)
		return 1
	}
	r.print(stdout)
	return 0
}

// report is what the demo found: the simulation's truth, the ingest
// figures and the verification.
type report struct {
	cfg    sim.Config
	truth  sim.Truth
	genDur time.Duration

	ingest business.Stats
	period lifecycle.Period
	month  sim.MonthTruth
	v      lifecycle.Verification
	// funnel is the stage funnel of every lead of the run.
	funnel stage.FunnelResult
	// diag is the funnel diagnosis of the whole run: by owner, against
	// the targets.
	diag   lifecycle.Diagnosis
	diagTo time.Time
	// staff are the demo's people per function, costs the cost table of
	// the run (the simulator's monthly channel spend rolled up per
	// function, and the staff's cost), roi the ROI per function and
	// quarter of the whole run.
	staff []business.Staffing
	costs attribution.CostTable
	roi   lifecycle.ROIResult
	// acquisition is the pool's cost per new prospect per source channel
	// and quarter (spend only: the people work on functions).
	acquisition pool.AcquisitionResult
}

// acquisitionCost is the pool's cost per new prospect per source channel
// and quarter of the run, from the prospects in p's store.
func acquisitionCost(ctx context.Context, p *pool.Pool, cfg sim.Config, t sim.Truth) (pool.AcquisitionResult, error) {
	m, err := pool.NewMetrics(pool.MetricsSpec{From: cfg.Start, To: cfg.Start.AddDate(0, cfg.Months, 0), Bucket: leadkit.PeriodQuarter})
	if err != nil {
		return pool.AcquisitionResult{}, err
	}
	if err := p.Store().Scan(ctx, m.Add); err != nil {
		return pool.AcquisitionResult{}, err
	}
	costs, err := attribution.NewCosts(business.ChannelCosts(t))
	if err != nil {
		return pool.AcquisitionResult{}, err
	}
	return pool.AcquisitionCost(m.Result(), costs)
}

// simulate builds the simulation and the engine, streams the one through
// the other and verifies the last month.
func simulate(ctx context.Context, cfg sim.Config, prog *progress) (*report, error) {
	s, err := sim.New(cfg)
	if err != nil {
		return nil, err
	}
	r := &report{cfg: s.Config()}
	// The truth is a pass of its own over the simulation: it gives the
	// number of events (for the ETA) and what to compare with.
	prog.note("simulating the business (one pass for the truth)...")
	t0 := time.Now()
	r.truth = s.Truth()
	r.genDur = time.Since(t0)

	var now time.Time
	clock := func() time.Time { return now }
	f, err := business.New(ctx, clock)
	if err != nil {
		return nil, err
	}
	prog.start(r.truth.Events)
	t0 = time.Now()
	for rec := range s.Records() {
		now = rec.Time
		if err := f.Record(ctx, rec); err != nil {
			return nil, err
		}
		prog.update(f.Stats().Events)
	}
	if err := f.Flush(ctx); err != nil {
		return nil, err
	}
	prog.done()
	r.ingest = f.Stats()
	r.ingest.Dur = time.Since(t0)

	// Verify the last month of the run, with what each channel cost in it.
	last := len(r.truth.Months) - 1
	r.month = r.truth.Months[last]
	r.period = lifecycle.Period{From: r.month.Month, To: r.month.Month.AddDate(0, 1, 0), Costs: map[string]float64{}}
	for _, c := range r.month.Costs {
		r.period.Costs[c.Channel] = c.Cost
	}
	prog.note("verifying...")
	if r.v, err = f.Engine().Verify(ctx, r.period); err != nil {
		return nil, err
	}
	if r.funnel, err = f.Engine().Machine().Funnel(ctx, stage.FunnelOptions{}); err != nil {
		return nil, err
	}
	// Diagnose the leads of the first half of the run: their journeys
	// (up to six months) have had time to end, so a lead still open is
	// not counted as lost.
	r.diagTo = r.cfg.Start.AddDate(0, (r.cfg.Months+1)/2, 0)
	if r.diag, err = f.Engine().Diagnose(ctx, lifecycle.DiagnoseOptions{From: r.cfg.Start, To: r.diagTo, Now: now}); err != nil {
		return nil, err
	}
	// ROI per function and quarter over the whole run.
	prog.note("ROI per function and quarter...")
	r.staff = business.DemoStaff(r.truth)
	r.costs = business.CostTable(r.truth, r.staff)
	if r.roi, err = f.Engine().ROI(ctx, lifecycle.ROIOptions{
		From: r.cfg.Start, To: r.cfg.Start.AddDate(0, r.cfg.Months, 0), Period: leadkit.PeriodQuarter,
		Costs: r.costs, Functions: business.Functions(), Stages: []string{sim.StageMQL, sim.StageWon}, Models: []string{"markov"},
	}); err != nil {
		return nil, err
	}
	if r.acquisition, err = acquisitionCost(ctx, f.Engine().Pool(), r.cfg, r.truth); err != nil {
		return nil, err
	}
	prog.note("")
	return r, nil
}
