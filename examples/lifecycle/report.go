package main

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/attribution"
	"github.com/leadkit/leadkit/journey"
	"github.com/leadkit/leadkit/lifecycle"
	"github.com/leadkit/leadkit/sim"
)

// print writes the report as text, its tables aligned.
func (r *report) print(w io.Writer) {
	t := r.truth
	fmt.Fprintf(w, "== The simulated business (seed %d)\n", r.cfg.Seed)
	fmt.Fprintf(w, "%s leads over %d months from %s: %s events, %s pool observations, %s stage changes (generated in %s)\n",
		thousands(t.Leads), r.cfg.Months, r.cfg.Start.Format("2006-01-02"), thousands(t.Events), thousands(t.Observations),
		thousands(t.StageChanges), r.genDur.Round(time.Millisecond))

	in := r.ingest
	fmt.Fprintln(w, "\n== Through the engine")
	rate := 0.0
	if s := in.Dur.Seconds(); s > 0 {
		rate = float64(in.Events) / s
	}
	fmt.Fprintf(w, "%s events in %s Ingest calls in %s (%s events/s)\n", thousands(in.Events), thousands(in.Calls),
		in.Dur.Round(time.Millisecond), thousands(int(rate)))
	fmt.Fprintf(w, "changes: %s graduated, %s staged, %s crossed\n", thousands(in.Changes[lifecycle.Graduated]),
		thousands(in.Changes[lifecycle.Staged]), thousands(in.Changes[lifecycle.Crossed]))
	if in.EventErrors > 0 {
		fmt.Fprintf(w, "events with a problem (stored and scored all the same): %s, e.g. %s\n", thousands(in.EventErrors), in.FirstEventError)
	}
	fmt.Fprintf(w, "sales decisions fired: %s; not applicable (the engine's lead was not in their from-stage): %s\n",
		thousands(in.Sales), thousands(in.SalesSkipped))
	fmt.Fprintf(w, "simulated MQLs the engine had also made MQLs by then: %s of %s (%s)\n",
		thousands(in.Agreed), thousands(in.SimMQLs), percent(in.Agreed, in.SimMQLs))

	r.printFunnel(w)
	r.printDiagnosis(w)

	v := r.v
	fmt.Fprintf(w, "\n== Verification of %s (%s to %s)\n", v.From.Format("January 2006"), v.From.Format("2006-01-02"), v.To.Format("2006-01-02"))
	fmt.Fprintf(w, "%s leads, %s timelines (prospects included)\n", thousands(v.Leads), thousands(v.Timelines))
	r.printStages(w)
	r.printOldNew(w)
	r.printNurture(w)
	r.printAttribution(w)
	r.printROI(w)
}

func (r *report) printFunnel(w io.Writer) {
	f := r.funnel
	fmt.Fprintln(w, "\n== Stage funnel of the whole run (every lead, by the stages it reached; skipping one counts as passing it)")
	tw := table(w)
	fmt.Fprintln(tw, "stage\tentered\treached\t")
	for _, s := range f.Stages {
		fmt.Fprintf(tw, "%s\t%d\t%d\t\n", s.Stage, s.Entered, s.Reached)
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = table(w)
	fmt.Fprintln(tw, "conversion\tbase\tconverted\trate\tmedian time\tmean time\t")
	for i := 1; i < len(f.Stages); i++ {
		c, ok := f.Conversion(f.Stages[i-1].Stage, f.Stages[i].Stage)
		if !ok {
			continue
		}
		fmt.Fprintf(tw, "%s -> %s\t%d\t%d\t%.1f%%\t%s\t%s\t\n", c.From, c.To, c.Base, c.Converted, 100*c.Rate,
			days(time.Duration(c.Median)), days(time.Duration(c.Mean)))
	}
	tw.Flush()
}

func (r *report) printStages(w io.Writer) {
	fmt.Fprintln(w, "\n-- Stages reached in the month, cycle time from creation")
	tw := table(w)
	fmt.Fprintln(tw, "stage\tleads\tfirst time\trepeat\tcycle median\tcycle p90\tcycle mean\t")
	for _, s := range r.v.Stages {
		c := s.Cycle.Overall
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t%s\t%s\t\n", s.Stage, s.Age.Leads, s.Age.FirstTime, s.Age.Repeat,
			days(time.Duration(c.Median)), days(time.Duration(c.P90)), days(time.Duration(c.Mean)))
	}
	tw.Flush()
}

// stageResult returns the verification of one stage.
func (r *report) stageResult(name string) (lifecycle.StageResult, bool) {
	for _, s := range r.v.Stages {
		if s.Stage == name {
			return s, true
		}
	}
	return lifecycle.StageResult{}, false
}

// oldShare is the share of the age-bucketed leads at least age old.
func oldShare(a journey.SourceAgeResult, age time.Duration) (old, all int) {
	for _, b := range a.Buckets {
		all += b.Leads
		if time.Duration(b.From) >= age {
			old += b.Leads
		}
	}
	return old, all
}

func (r *report) printOldNew(w io.Writer) {
	mql, ok := r.stageResult(sim.StageMQL)
	if !ok {
		return
	}
	a, m, e := mql.Age, r.month, r.truth.Effects
	age := time.Duration(e.OldLeadAge)
	fmt.Fprintf(w, "\n-- This month's MQLs: old vs new leads\n")
	fmt.Fprintf(w, "engine: %d MQLs: %d new leads (created this month), %d earlier leads (created before it; %.1f%%), %d first time, %d repeat\n",
		a.Leads, a.New, a.Earlier, 100*a.EarlierShare, a.FirstTime, a.Repeat)
	tw := table(w)
	fmt.Fprintln(tw, "age at MQL\tleads\tshare\t")
	for _, b := range a.Buckets {
		to := "older"
		if b.To > 0 {
			to = b.To.String()
		}
		fmt.Fprintf(tw, "%s - %s\t%d\t%.1f%%\t\n", b.From, to, b.Leads, 100*b.Share)
	}
	tw.Flush()
	old, all := oldShare(a, age)
	steady := ""
	if !m.Steady {
		steady = " (not a steady month: its old MQLs are cut short by the start of the run)"
	}
	fmt.Fprintf(w, "\nold (at least %s) share of MQLs%s:\n", e.OldLeadAge, steady)
	tw = table(w)
	fmt.Fprintln(tw, "\tMQLs\tfirst time\trepeat\told\told share\tfirst-time old share\t")
	fmt.Fprintf(tw, "planted (sim)\t\t\t\t\t\t%.1f%%\t\n", 100*e.OldLeadShare)
	fmt.Fprintf(tw, "realised (sim truth)\t%d\t%d\t%d\t%d\t%.1f%%\t%.1f%%\t\n", m.MQLs, m.FirstTime, m.Repeat, m.Old, 100*m.OldShare, 100*m.FirstTimeOldShare)
	fmt.Fprintf(tw, "found (engine Verify)\t%d\t%d\t%d\t%d\t%s\t\t\n", a.Leads, a.FirstTime, a.Repeat, old, percent(old, all))
	tw.Flush()
	fmt.Fprintln(w, "(the engine's MQLs are the simulator's; the simulator ages a lead from its first touch, the engine from its")
	fmt.Fprintln(w, " graduation out of the pool, which comes at or after it: the engine's leads are younger by that much)")
}

func (r *report) printNurture(w io.Writer) {
	mql, ok := r.stageResult(sim.StageMQL)
	if !ok {
		return
	}
	n := slices.Clone(mql.Nurture)
	slices.SortStableFunc(n, func(a, b journey.ContentPower) int {
		return cmp.Or(cmp.Compare(b.Power, a.Power), cmp.Compare(b.Converted, a.Converted), cmp.Compare(a.Key, b.Key))
	})
	fmt.Fprintf(w, "\n-- Nurture power of content towards MQL (%d contents touched in the month; top 10)\n", len(n))
	tw := table(w)
	fmt.Fprintln(tw, "content\tsent\tleads\tconverted\tpower\trate\t")
	for _, c := range n[:min(10, len(n))] {
		key := c.Key
		if key == "" {
			key = "(none)"
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.3f\t%.1f%%\t\n", key, c.Sent, c.Leads, c.Converted, c.Power, 100*c.Rate)
	}
	tw.Flush()
	fmt.Fprintln(w, "(sent: touches with the content in the month; leads: the leads they reached; converted: those leads that")
	fmt.Fprintln(w, " became MQLs after the touch; power = converted / sent, rate = converted / leads)")
}

func (r *report) printAttribution(w io.Writer) {
	type col struct {
		stage, model string
		res          attribution.Result
		ok           bool
	}
	var cols []col
	for _, st := range []string{sim.StageMQL, sim.StageWon} {
		s, ok := r.stageResult(st)
		if !ok {
			continue
		}
		for _, m := range []string{"last_touch", "markov"} {
			res, ok := s.Credit(attribution.ByChannel, m)
			cols = append(cols, col{st, m, res, ok})
		}
		for _, a := range s.Attribution {
			if a.Error != "" {
				fmt.Fprintf(w, "(%s %s by %s: %s)\n", st, a.Model, a.Key, a.Error)
			}
		}
		if s.Skipped > 0 {
			fmt.Fprintf(w, "(%s: %d journeys left out of attribution, e.g. %s)\n", st, s.Skipped, s.SkipReasons[0])
		}
	}
	if len(cols) == 0 {
		return
	}
	channels := map[string]bool{}
	for _, c := range cols {
		for k := range c.res.Conversions {
			channels[k] = true
		}
	}
	planted := map[string]sim.ChannelTruth{}
	for _, c := range r.truth.Channels {
		planted[c.Channel] = c
	}
	fmt.Fprintln(w, "\n-- Attribution by channel of the month's MQLs and deals won (marketing touches; conversions credited; Won value by Markov)")
	tw := table(w)
	fmt.Fprint(tw, "channel\t")
	for _, c := range cols {
		fmt.Fprintf(tw, "%s %s\t", c.stage, c.model)
	}
	fmt.Fprintln(tw, "won value markov\tplanted log-odds\tMQL rate touched\tuntouched\t")
	total := make([]float64, len(cols))
	for _, ch := range slices.Sorted(maps.Keys(channels)) {
		fmt.Fprintf(tw, "%s\t", ch)
		for i, c := range cols {
			fmt.Fprintf(tw, "%.1f\t", c.res.Conversions[ch])
			total[i] += c.res.Conversions[ch]
		}
		fmt.Fprintf(tw, "%.0f\t", cols[len(cols)-1].res.Value[ch])
		if p, ok := planted[ch]; ok {
			noise := ""
			if p.LogOdds == 0 {
				noise = " (noise)"
			}
			fmt.Fprintf(tw, "%.2f%s\t%.1f%%\t%.1f%%\t\n", p.LogOdds, noise, 100*p.Touched.Rate, 100*p.Untouched.Rate)
		} else {
			fmt.Fprint(tw, "\t\t\t\n")
		}
	}
	fmt.Fprint(tw, "total\t")
	for _, x := range total {
		fmt.Fprintf(tw, "%.1f\t", x)
	}
	fmt.Fprintf(tw, "%.0f\t\t\t\t\n", cols[len(cols)-1].res.TotalValue())
	tw.Flush()
	fmt.Fprintln(w, "(credit shares each conversion out among the channels on its path; it is not a channel's effect. The")
	fmt.Fprintln(w, " simulator's truth beside it: each channel's planted log-odds of a first MQL, and over the run the MQL rate")
	fmt.Fprintln(w, " of leads it touched vs those it did not. A frequent channel earns credit even when, like a noise channel,")
	fmt.Fprintln(w, " it changes nothing.)")
	fmt.Fprintf(w, "sim truth for the month: %d deals won, revenue %.0f\n", r.month.Won, r.month.Revenue)
}

// stageROI finds a stage's column ("MQL/markov") in an ROI row.
func stageROI(row attribution.ROIRow, name string) attribution.StageROI {
	for _, s := range row.Stages {
		if s.Stage == name {
			return s
		}
	}
	return attribution.StageROI{}
}

func (r *report) printROI(w io.Writer) {
	print := func(title string, rep attribution.ROIReport) {
		fmt.Fprintf(w, "\n-- %s (costs of the month from the simulator; credit by Markov)\n", title)
		tw := table(w)
		fmt.Fprintln(tw, "key\tcost\tMQLs\tcost per MQL\twon\trevenue\tROAS\tROI\t")
		for _, row := range append(slices.Clone(rep.Rows), rep.Total) {
			mql, won := stageROI(row, "MQL/markov"), stageROI(row, "Won/markov")
			key := row.Key
			if key == "" {
				key = "total"
			}
			fmt.Fprintf(tw, "%s\t%.0f\t%.1f\t%s\t%.1f\t%.0f\t%s\t%s\t\n", key, row.Cost, mql.Conversions, money(mql.CostPer),
				won.Conversions, won.Value, ratio(won.ROAS), ratio(won.ROI))
		}
		tw.Flush()
	}
	print("ROI per channel", r.v.ROI)
	if r.v.ROIByFunction != nil {
		print("ROI per function", *r.v.ROIByFunction)
	}
	fmt.Fprintln(w, "(returns follow the credit above, so they carry its caveat: a channel's ROI is what its share of the")
	fmt.Fprintln(w, " credit brought, not what the business would lose without it)")
}

func table(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
}

func percent(n, of int) string {
	if of == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(n)/float64(of))
}

func days(d time.Duration) string {
	if d == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1fd", d.Hours()/24)
}

func money(p *float64) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprintf("%.0f", *p)
}

func ratio(p *float64) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprintf("%.2f", *p)
}

// printDiagnosis prints each step of the run's funnel beside its target
// and per owner (the SDRs on MQL -> SAL, the sales reps after), with the
// skill the simulator planted in each.
func (r *report) printDiagnosis(w io.Writer) {
	d := r.diag
	planted := map[string]float64{}
	for _, p := range r.truth.SDR.Team {
		planted[p.Name] = p.LogOdds
	}
	for _, p := range r.truth.Sales {
		planted[p.Name] = p.LogOdds
	}
	fmt.Fprintf(w, "\n== Funnel diagnosis of the leads created before %s, whose journeys have had time to end (each step by who worked it; rates with 95%% intervals)\n",
		r.diagTo.Format("2006-01-02"))
	if c := d.Gaps.Costliest; c != nil {
		fmt.Fprintf(w, "the costliest gap: %s -> %s, %.1f%% against a target of %.1f%%: %.1f won deals lost\n", c.From, c.To, 100*c.Rate.Value(), 100**c.Target, *c.Lost)
	}
	for _, step := range d.Steps {
		if len(step.Owners) < 2 {
			continue // worked by nobody in particular (Raw -> MQL: the model)
		}
		target := "none"
		if step.Target != nil {
			target = fmt.Sprintf("%.0f%%", 100**step.Target)
		}
		fmt.Fprintf(w, "\n%s -> %s (team %s): %s, target %s\n", step.From, step.To, cmp.Or(step.Team, "-"), interval(step.Rate), target)
		tw := table(w)
		fmt.Fprintln(tw, "owner\tleads\trate\tvs team\tworked\tcalls/lead\tfirst call\tSLA breaches\treading\tplanted\t")
		for _, o := range step.Owners {
			vs := ""
			switch {
			case o.Below:
				vs = "below"
			case o.Above:
				vs = "above"
			}
			skill := ""
			if p, ok := planted[o.Owner]; ok {
				skill = fmt.Sprintf("%+.1f", p)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", cmp.Or(o.Owner, "(nobody)"), thousands(o.Rate.Base), interval(o.Rate), vs,
				ratePercent(o.Work.Worked), ratio(o.Work.PerStay), days(time.Duration(o.Work.FirstMedian)), ratePercent(o.Breaches), cmp.Or(string(o.Reading), "-"), skill)
		}
		tw.Flush()
	}
}

// interval writes a rate with its interval: "52.1% [49.0%, 55.2%]".
func interval(r leadkit.Rate) string {
	if r.Rate == nil {
		return "no data"
	}
	return fmt.Sprintf("%.1f%% [%.1f%%, %.1f%%]", 100**r.Rate, 100**r.Low, 100**r.High)
}

// ratePercent writes a rate without its interval, "-" for no data.
func ratePercent(r leadkit.Rate) string {
	if r.Rate == nil {
		return "-"
	}
	return fmt.Sprintf("%.0f%%", 100**r.Rate)
}
