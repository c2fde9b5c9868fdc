package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/attribution"
	"github.com/leadkit/leadkit/examples/internal/business"
	"github.com/leadkit/leadkit/journey"
	"github.com/leadkit/leadkit/lifecycle"
	"github.com/leadkit/leadkit/scoring"
	"github.com/leadkit/leadkit/sim"
	"github.com/leadkit/leadkit/stage"
)

// data is what the report is drawn from: the verification of the last
// month of the run and a few figures over the whole run, computed from
// the engine's stores.
type data struct {
	Config sim.Config
	// Truth is what the simulator planted and realised.
	Truth sim.Truth
	// Period is the verified month.
	Period lifecycle.Period
	V      lifecycle.Verification
	// Funnel is the stage funnel of every lead of the run.
	Funnel stage.FunnelResult
	// Months are the MQLs of every month of the run, from new leads
	// (created in the month), earlier ones (created before it, less than
	// oldAge before the MQL) and old ones (at least oldAge before).
	Months []monthMQLs
	// Channels are the channels credited for the month's MQLs, sorted;
	// LastTouch and Markov their credit (conversions).
	Channels          []string
	LastTouch, Markov map[string]float64
	// Golden are the top golden paths (touch types) to MQL over the run;
	// Planted is the simulator's planted path.
	Planted []string
	Golden  []journey.GoldenPath
	// TimeToMQL counts the leads by days from creation to first MQL.
	TimeToMQL []bucket
	// Grades is the distribution of fit + engagement by fit grade, over
	// the leads at the end of the run, with the share of each band that
	// became an MQL (the hand-raise, which takes a lead there, is left
	// out of the score).
	Grades []string
	Bands  []scoreBand
	// Diag is the funnel diagnosis of the leads that reached the funnel
	// before DiagTo (the first half of the run: their journeys have had
	// time to end), by who worked each step, against the targets.
	Diag   lifecycle.Diagnosis
	DiagTo time.Time
	// Staff are the people the demo assumes on each function, ROI the
	// ROI per function and quarter of the whole run with their cost and
	// the simulator's spend.
	Staff []business.Staffing
	ROI   lifecycle.ROIResult
}

type monthMQLs struct {
	Month             time.Time
	New, Earlier, Old int
}

// oldAge is the age at MQL from which a lead counts as old: the
// simulator's planted OldLeadAge and the lifecycle example's threshold.
const oldAge = 90 * 24 * time.Hour

type bucket struct {
	Label string
	Leads int
}

type scoreBand struct {
	Label string
	// Leads per grade (index of data.Grades); MQL of them became MQLs.
	Leads, MQL []int
}

// timeBuckets are the time-to-MQL histogram's bounds in days.
var timeBuckets = []int{0, 7, 14, 30, 60, 90, 180, 365}

// scoreBounds are the lower bounds of the score bands.
var scoreBounds = []float64{0, 10, 20, 30, 40, 50, 60, 70, 80}

// build simulates the business, streams it through the engine and
// computes the report's data.
func build(ctx context.Context, cfg sim.Config) (*data, error) {
	s, err := sim.New(cfg)
	if err != nil {
		return nil, err
	}
	cfg = s.Config()
	var now time.Time
	f, err := business.New(ctx, func() time.Time { return now })
	if err != nil {
		return nil, err
	}
	for rec := range s.Records() {
		now = rec.Time
		if err := f.Record(ctx, rec); err != nil {
			return nil, err
		}
	}
	if err := f.Flush(ctx); err != nil {
		return nil, err
	}
	truth := s.Truth()
	last := truth.Months[len(truth.Months)-1]
	d := &data{Config: cfg, Truth: truth}
	d.Period = lifecycle.Period{From: last.Month, To: last.Month.AddDate(0, 1, 0), Costs: map[string]float64{}}
	for _, c := range last.Costs {
		d.Period.Costs[c.Channel] = c.Cost
	}
	e := f.Engine()
	if d.V, err = e.Verify(ctx, d.Period); err != nil {
		return nil, err
	}
	if mql, ok := stageResult(d.V, sim.StageMQL); ok {
		d.LastTouch, _ = creditOf(mql, "last_touch")
		d.Markov, _ = creditOf(mql, "markov")
		d.Channels = slices.Sorted(maps.Keys(union(d.LastTouch, d.Markov)))
	}
	if err := d.runFigures(ctx, e); err != nil {
		return nil, err
	}
	// The diagnosis of the first half of the run, and ROI per function
	// and quarter of the whole run.
	end := cfg.Start.AddDate(0, cfg.Months, 0)
	d.DiagTo = cfg.Start.AddDate(0, (cfg.Months+1)/2, 0)
	if d.Diag, err = e.Diagnose(ctx, lifecycle.DiagnoseOptions{From: cfg.Start, To: d.DiagTo, Now: now}); err != nil {
		return nil, err
	}
	d.Staff = business.DemoStaff(truth)
	if d.ROI, err = e.ROI(ctx, lifecycle.ROIOptions{
		From: cfg.Start, To: end, Period: leadkit.PeriodQuarter, Costs: business.CostTable(truth, d.Staff),
		Functions: business.Functions(), Stages: []string{sim.StageMQL, sim.StageWon}, Models: []string{"markov"},
	}); err != nil {
		return nil, err
	}
	return d, nil
}

func stageResult(v lifecycle.Verification, name string) (lifecycle.StageResult, bool) {
	for _, s := range v.Stages {
		if s.Stage == name {
			return s, true
		}
	}
	return lifecycle.StageResult{}, false
}

func creditOf(s lifecycle.StageResult, model string) (map[string]float64, bool) {
	r, ok := s.Credit(attribution.ByChannel, model)
	if r.Conversions == nil {
		r.Conversions = map[string]float64{}
	}
	return r.Conversions, ok
}

func union(a, b map[string]float64) map[string]float64 {
	out := maps.Clone(a)
	maps.Copy(out, b)
	return out
}

// runFigures computes the figures over the whole run: MQLs by month, time
// to MQL, golden paths and the score distribution.
func (d *data) runFigures(ctx context.Context, e *lifecycle.Engine) (err error) {
	created := map[string]time.Time{}
	states := map[string]lifecycle.LeadState{}
	if err := e.States().Scan(ctx, func(s lifecycle.LeadState) error {
		created[s.LeadID] = s.Lead.CreatedAt
		states[s.LeadID] = s
		return nil
	}); err != nil {
		return err
	}
	m := e.Machine()
	if d.Funnel, err = m.Funnel(ctx, stage.FunnelOptions{}); err != nil {
		return err
	}
	var visits []stage.Visit
	if err := stage.ScanHistories(ctx, m.Store(), m.Pipeline(), func(_ stage.Key, h []stage.Entry) error {
		visits = append(visits, stage.Visits(h)...)
		return nil
	}); err != nil {
		return err
	}
	visits, err = stage.Reach(visits, m.FunnelStages())
	if err != nil {
		return err
	}

	// MQLs by month: each lead once a month, new when created in it.
	start := d.Config.Start
	d.Months = make([]monthMQLs, d.Config.Months)
	for i := range d.Months {
		d.Months[i].Month = start.AddDate(0, i, 0)
	}
	seen := map[string]bool{}
	firstMQL := map[string]time.Time{}
	for _, v := range visits {
		switch v.Stage {
		case sim.StageMQL:
			if t, ok := firstMQL[v.LeadID]; !ok || v.At.Before(t) {
				firstMQL[v.LeadID] = v.At
			}
			i := monthIndex(start, v.At)
			if i < 0 || i >= len(d.Months) {
				continue
			}
			key := fmt.Sprintf("%d/%s", i, v.LeadID)
			if seen[key] {
				continue
			}
			seen[key] = true
			switch c, ok := created[v.LeadID]; {
			case !ok || !c.Before(d.Months[i].Month):
				d.Months[i].New++
			case v.At.Sub(c) >= oldAge:
				d.Months[i].Old++
			default:
				d.Months[i].Earlier++
			}
		}
	}

	// Time to MQL, from creation to the first MQL entry.
	for i, lo := range timeBuckets {
		label := fmt.Sprintf("%d+ d", lo)
		if i+1 < len(timeBuckets) {
			label = fmt.Sprintf("%d-%d d", lo, timeBuckets[i+1])
		}
		d.TimeToMQL = append(d.TimeToMQL, bucket{Label: label})
	}
	for id, at := range firstMQL {
		c, ok := created[id]
		if !ok || at.Before(c) {
			continue
		}
		days := int(at.Sub(c).Hours() / 24)
		i := len(timeBuckets) - 1
		for i > 0 && days < timeBuckets[i] {
			i--
		}
		d.TimeToMQL[i].Leads++
	}

	// Golden paths to MQL: the touch types in order, the hand-raise (the
	// conversion itself) left out.
	timelines, err := journey.Timelines(ctx, e.Journey())
	if err != nil {
		return err
	}
	for i := range timelines {
		timelines[i].Events = slices.DeleteFunc(timelines[i].Events, func(ev leadkit.Event) bool { return ev.Type == sim.EventHandRaise })
	}
	conv, other, err := journey.ConversionPaths(timelines, visits, sim.StageMQL, journey.KeyType)
	if err != nil {
		return err
	}
	gp, err := journey.GoldenPaths(conv, other, journey.PatternOptions{
		MinSupport: max(2, len(conv)/50), MaxLength: 2,
	})
	if err != nil {
		return err
	}
	d.Golden = gp[:min(10, len(gp))]
	d.Planted = d.Config.Golden.Items

	// Fit + engagement by grade at the end of the run.
	end := start.AddDate(0, d.Config.Months, 0)
	grades := map[string]bool{}
	type scored struct {
		grade string
		band  int
		mql   bool
	}
	var all []scored
	var res scoring.Result
	for id, st := range states {
		sc := st.Score
		if err := e.Model().ReadState(&res, &sc, st.Lead, end); err != nil {
			return err
		}
		grade, total := "", 0.0
		for _, dim := range res.Dimensions {
			switch dim.Name {
			case "fit":
				grade = dim.Band
				total += dim.Score
			case "engagement":
				total += dim.Score
			}
		}
		if grade == "" {
			grade = "-"
		}
		grades[grade] = true
		b := len(scoreBounds) - 1
		for b > 0 && total < scoreBounds[b] {
			b--
		}
		_, mql := firstMQL[id]
		all = append(all, scored{grade, b, mql})
	}
	d.Grades = slices.Sorted(maps.Keys(grades))
	for i, lo := range scoreBounds {
		label := fmt.Sprintf("%g+", lo)
		if i+1 < len(scoreBounds) {
			label = fmt.Sprintf("%g-%g", lo, scoreBounds[i+1])
		}
		d.Bands = append(d.Bands, scoreBand{Label: label, Leads: make([]int, len(d.Grades)), MQL: make([]int, len(d.Grades))})
	}
	for _, s := range all {
		g := slices.Index(d.Grades, s.grade)
		d.Bands[s.band].Leads[g]++
		if s.mql {
			d.Bands[s.band].MQL[g]++
		}
	}
	return nil
}

func monthIndex(start, t time.Time) int {
	t = t.UTC()
	return (t.Year()-start.Year())*12 + int(t.Month()) - int(start.Month())
}
