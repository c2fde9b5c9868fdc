package main

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"math"
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
	r.printROIByQuarter(w)
	r.printAcquisition(w)

	v := r.v
	fmt.Fprintf(w, "\n== Verification of %s (%s to %s)\n", v.From.Format("January 2006"), v.From.Format("2006-01-02"), v.To.Format("2006-01-02"))
	fmt.Fprintf(w, "%s leads, %s timelines (prospects included)\n", thousands(v.Leads), thousands(v.Timelines))
	r.printStages(w)
	r.printInstant(w)
	r.printOldNew(w)
	r.printChannelsNewOld(w)
	r.printOldLeadNurture(w)
	r.printNurture(w)
	r.printPhases(w)
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
				ratePercent(o.Work.Worked), ratio(o.Work.PerStay), daysOf(o.Work.FirstMedian), ratePercent(o.Breaches), cmp.Or(string(o.Reading), "-"), skill)
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

// printROIByQuarter prints the ROI per function and quarter of the whole
// run: cost (the simulator's spend plus the demo's assumed people),
// credited MQLs and deals won by Markov, ROI and MQLs per head.
func (r *report) printROIByQuarter(w io.Writer) {
	rep := r.roi.Report
	fmt.Fprintln(w, "\n== ROI per function and quarter (whole run; MQLs and deals won credited by Markov to marketing's touches)")
	fmt.Fprintln(w, "cost = spend (the simulator's monthly channel costs, rolled up per function) + people; the people are the demo's")
	fmt.Fprintln(w, "assumption (the simulator plays no marketers), at a loaded cost per head per quarter:")
	for _, s := range r.staff {
		fmt.Fprintf(w, "  %-7s %g x %s\n", s.Function, s.Heads, thousands(int(s.PerQuarter)))
	}
	tw := table(w)
	fmt.Fprintln(tw, "function\tquarter\tspend\tpeople\theads\tcost\tMQLs\tcost/MQL\twon\twon value\tROI\tMQLs/head\t")
	row := func(key, period string, x attribution.ROIRow) {
		mql, won := stageROI(x, "MQL/markov"), stageROI(x, "Won/markov")
		cost := thousands(int(math.Round(x.Cost)))
		if x.CostUnknown {
			cost = "unknown"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%g\t%s\t%.1f\t%s\t%.1f\t%s\t%s\t%s\t\n", key, period,
			thousands(int(math.Round(x.Spend))), thousands(int(math.Round(x.PeopleCost))), x.Headcount, cost,
			mql.Conversions, money(mql.CostPer), won.Conversions, thousands(int(math.Round(won.Value))), ratio(won.ROI), oneDecimal(mql.PerHead))
	}
	for _, p := range rep.Periods {
		for _, x := range rep.Rows {
			if x.Period == p.Period {
				row(x.Key, x.Period, x)
			}
		}
		row("all", p.Period, p)
	}
	for _, x := range rep.Keys {
		row(x.Key, "run", x)
	}
	row("all", "run", rep.Total)
	tw.Flush()
	if len(rep.PeriodsWithoutCosts) > 0 || len(rep.Uncosted) > 0 {
		fmt.Fprintf(w, "(costs unknown: quarters without cost rows %v, functions with credit and no cost %v)\n", rep.PeriodsWithoutCosts, rep.Uncosted)
	}
	for _, u := range r.roi.Unsolved {
		fmt.Fprintf(w, "(no credit: %s)\n", u)
	}
	if r.roi.Skipped > 0 {
		fmt.Fprintf(w, "(%d journeys left out of the credit, e.g. %s)\n", r.roi.Skipped, r.roi.SkipReasons[0])
	}
	fmt.Fprintln(w, "(ROI = (won value - cost) / cost, with the deals won in the quarter: the run starts empty, so its first")
	fmt.Fprintln(w, " quarter pays for leads that close later. The SDR team's calls follow the MQL and are not marketing touches,")
	fmt.Fprintln(w, " so sdr earns no credit: its row is its cost, which the totals carry; its output is below. Credit is not")
	fmt.Fprintln(w, " effect: see the caveat under the attribution below.)")
	r.printTeams(w)
}

// printTeams prints what the teams that work leads moved on per quarter,
// for their cost: the SDR function's output.
func (r *report) printTeams(w io.Writer) {
	fmt.Fprintln(w, "\n-- Team output per quarter (leads moved on from the stages each team owns, for the team's cost)")
	tw := table(w)
	fmt.Fprintln(tw, "team\tquarter\tmoved to\tleads\tcost\tcost per lead\tper head\t")
	for _, to := range r.roi.Teams {
		for _, mv := range to.Moved {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", to.Team, to.Period, mv.Stage, thousands(mv.Count), money(to.Cost), money(mv.CostPer), oneDecimal(mv.PerHead))
		}
	}
	tw.Flush()
}

// printInstant prints the month's time to MQL with and without the leads
// that became MQLs at once.
func (r *report) printInstant(w io.Writer) {
	mql, ok := r.stageResult(sim.StageMQL)
	if !ok {
		return
	}
	c := mql.Cycle
	within := "-"
	if c.Instant != nil {
		within = c.Instant.String()
	}
	fmt.Fprintf(w, "\n-- Time from creation to MQL, this month's MQLs, with and without the instant converters (MQL within %s of creation)\n", within)
	tw := table(w)
	fmt.Fprintln(tw, "leads\tn\tmedian\tp90\tmean\t")
	for _, x := range []struct {
		name string
		s    journey.DurationStats
	}{{"all", c.Overall}, {"without instant converters", c.WithoutInstant}} {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t\n", x.name, x.s.N, days(time.Duration(x.s.Median)), days(time.Duration(x.s.P90)), days(time.Duration(x.s.Mean)))
	}
	tw.Flush()
	fmt.Fprintf(w, "instant converters: %d of %d (%s)", c.Instants.Count, c.Instants.Base, ratePercent1(c.Instants))
	if c.Skipped > 0 {
		fmt.Fprintf(w, "; %d MQLs without a start left out", c.Skipped)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "(a lead is created when it graduates from the pool; one that graduates at the hand-raise that makes it an")
	fmt.Fprintln(w, " MQL converts at registration, and would pull the others' cycle time towards zero. The simulator's leads")
	fmt.Fprintln(w, " raise their hand days to weeks after their first touch, so instant converters are rare here)")
}

// printChannelsNewOld prints which channels brought the month's MQLs as
// new leads and which revived old ones.
func (r *report) printChannelsNewOld(w io.Writer) {
	mql, ok := r.stageResult(sim.StageMQL)
	if !ok {
		return
	}
	a := mql.Age
	fmt.Fprintln(w, "\n-- This month's MQLs by channel: new leads it brought (their first touch) vs earlier leads it revived (their last touch before the MQL)")
	tw := table(w)
	fmt.Fprintln(tw, "channel\tnew\trevived\tnew share\tof new\tof revived\t")
	for _, c := range a.Channels {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\t\n", c.Key, c.New, c.Revived, interval(c.NewShare), ratePercent1(c.OfNew), ratePercent1(c.OfRevived))
	}
	if a.NewUnattributed+a.EarlierUnattributed > 0 {
		fmt.Fprintf(tw, "(no channel)\t%d\t%d\t\t\t\t\n", a.NewUnattributed, a.EarlierUnattributed)
	}
	fmt.Fprintf(tw, "total\t%d\t%d\t\t\t\t\n", a.New, a.Earlier)
	tw.Flush()
	fmt.Fprintf(w, "(the simulator nurtures rejected MQLs back by email: its %d repeat MQLs of the month are among email's revived)\n", r.month.Repeat)
}

// printOldLeadNurture compares the old leads that became MQLs in the
// month with those that did not, on the nurture touches they received.
func (r *report) printOldLeadNurture(w io.Writer) {
	mql, ok := r.stageResult(sim.StageMQL)
	if !ok {
		return
	}
	o := mql.OldLeads
	fmt.Fprintf(w, "\n-- Old leads (created before %s) that became MQLs in the month vs those that did not, on their touches in the %s before\n",
		o.From.Format("2 January 2006"), o.Lookback)
	fmt.Fprintf(w, "old leads %s (%s already MQL or further at the month's start left out): %s converted (%s)\n",
		thousands(o.OldLeads), thousands(o.Excluded), thousands(o.Converted.Count), ratePercent1(o.Converted))
	tw := table(w)
	fmt.Fprintln(tw, "touches\tconverted: touched\tper lead\tnot converted: touched\tper lead\tratio per lead\t")
	for _, c := range append([]journey.NurtureComparison{o.All}, o.Types...) {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t\n", cmp.Or(c.Key, "all"), ratePercent1(c.Converted.Touched), ratio(c.Converted.PerLead),
			ratePercent1(c.NotConverted.Touched), ratio(c.NotConverted.PerLead), ratio(c.PerLeadRatio))
	}
	tw.Flush()
	fmt.Fprintln(w, "(touched: the share of the group with at least one such touch; per lead: touches per lead of the group; the")
	fmt.Fprintln(w, " lookback ends at the MQL, or at the month's end for the leads that did not convert)")
}

// phaseTop is how many contents per phase printPhases lists.
const phaseTop = 3

// phaseUses are the three phases, each with its total and a content's use
// of it.
func phaseUses(p journey.ContentPhasesResult) []phaseUse {
	return []phaseUse{
		{journey.PhaseAcquisition, p.Acquisition, func(c journey.ContentPhase) journey.PhaseUse { return c.Acquisition }},
		{journey.PhaseNurture, p.Nurture, func(c journey.ContentPhase) journey.PhaseUse { return c.Nurture }},
		{journey.PhaseSales, p.Sales, func(c journey.ContentPhase) journey.PhaseUse { return c.Sales }},
	}
}

type phaseUse struct {
	phase journey.Phase
	total journey.PhaseUse
	of    func(journey.ContentPhase) journey.PhaseUse
}

// top returns the n contents with the most touches in the phase (none
// without touches in it), by touches, then as the result sorts them.
func (u phaseUse) top(content []journey.ContentPhase, n int) []journey.ContentPhase {
	var out []journey.ContentPhase
	for _, c := range content {
		if u.of(c).Touches > 0 {
			out = append(out, c)
		}
	}
	slices.SortStableFunc(out, func(a, b journey.ContentPhase) int { return cmp.Compare(u.of(b).Touches, u.of(a).Touches) })
	return out[:min(n, len(out))]
}

// contentName is a content's key, marked when it is an event type (touches
// without a content).
func contentName(c journey.ContentPhase) string {
	if c.Type {
		return c.Key + " (type)"
	}
	return c.Key
}

// printPhases prints content grouped by the funnel phase it serves.
func (r *report) printPhases(w io.Writer) {
	mql, ok := r.stageResult(sim.StageMQL)
	if !ok {
		return
	}
	p := mql.Phases
	fmt.Fprintf(w, "\n-- Content by funnel phase (every lead's history; per phase all content, then the top %d by touches in it)\n", phaseTop)
	tw := table(w)
	fmt.Fprintln(tw, "phase\tcontent\ttouches\tleads\tconverted after\tserves mostly\t")
	for _, u := range phaseUses(p) {
		fmt.Fprintf(tw, "%s\tall\t%d\t%d\t%s\t\t\n", u.phase, u.total.Touches, u.total.Leads, converted(u.total.Converted))
		for _, c := range u.top(p.Content, phaseTop) {
			x := u.of(c)
			fmt.Fprintf(tw, "\t%s\t%d\t%d\t%s\t%s\t\n", contentName(c), x.Touches, x.Leads, converted(x.Converted), c.Serves)
		}
	}
	tw.Flush()
	serves := map[journey.Phase]int{}
	for _, c := range p.Content {
		serves[c.Serves]++
	}
	fmt.Fprintf(w, "%d contents serve acquisition mostly, %d nurture, %d sales; %s touches of prospects that never became leads are in no phase\n",
		serves[journey.PhaseAcquisition], serves[journey.PhaseNurture], serves[journey.PhaseSales], thousands(p.Unplaced))
	fmt.Fprintln(w, "(acquisition: touches at or before the lead's creation; nurture: before its MQL, or while recycled; sales: at")
	fmt.Fprintln(w, " the MQL or after. A content serves the phase of most of its touches. Converted after: the leads it reached")
	fmt.Fprintf(w, " that became MQLs after it; after a sales touch, those that reached %s)\n", cmp.Or(p.Outcome, "-"))
}

// converted writes a count with its rate: "120 (8.1%)", "-" for no data.
func converted(r leadkit.Rate) string {
	if r.Rate == nil {
		return "-"
	}
	return fmt.Sprintf("%d (%.1f%%)", r.Count, 100**r.Rate)
}

// ratePercent1 writes a rate with one decimal, "-" for no data.
func ratePercent1(r leadkit.Rate) string {
	if r.Rate == nil {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100**r.Rate)
}

func oneDecimal(p *float64) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprintf("%.1f", *p)
}

// printAcquisition prints the pool's cost per new prospect per source
// channel and quarter.
func (r *report) printAcquisition(w io.Writer) {
	a := r.acquisition
	fmt.Fprintln(w, "\n== The pool's acquisition cost: new prospects per source channel and quarter, and the spend per new prospect")
	tw := table(w)
	fmt.Fprint(tw, "channel\t")
	for _, b := range a.Buckets {
		fmt.Fprintf(tw, "%s new\tper new\t", b.Label)
	}
	fmt.Fprintln(tw, "run new\tper new\t")
	buckets := append(slices.Clone(a.Buckets), a.Totals)
	var channels []string
	for _, s := range a.Totals.Sources {
		channels = append(channels, s.Channel)
	}
	for _, ch := range append(channels, "all") {
		fmt.Fprintf(tw, "%s\t", cmp.Or(ch, "(no source)"))
		for _, b := range buckets {
			s := b.All
			if ch != "all" {
				s, _ = b.Source(ch)
			}
			fmt.Fprintf(tw, "%s\t%s\t", thousands(s.Inflow), oneDecimal(s.CostPerProspect))
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	fmt.Fprintln(w, "(a prospect's source is the channel it was first seen on; the spend is the channel's, people are not in it;")
	fmt.Fprintln(w, " per new: the channel's spend in the quarter over the prospects it brought into the pool)")
}

// daysOf writes a duration that may be missing (no data: "-").
func daysOf(d *leadkit.Duration) string {
	if d == nil {
		return "-"
	}
	return days(time.Duration(*d))
}
