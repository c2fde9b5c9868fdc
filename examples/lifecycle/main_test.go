package main

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/attribution"
	"github.com/leadkit/leadkit/examples/internal/business"
	"github.com/leadkit/leadkit/journey"
	"github.com/leadkit/leadkit/lifecycle"
	"github.com/leadkit/leadkit/sim"
)

var (
	smallOnce sync.Once
	smallRep  *report
	smallOut  string
	smallErr  error
)

// small runs a small business (2,000 leads) through the engine once for
// the tests, and prints its report.
func small(t *testing.T) (*report, string) {
	t.Helper()
	smallOnce.Do(func() {
		smallRep, smallErr = simulate(context.Background(), sim.Config{Seed: 3, Leads: 2000}, nil)
		if smallErr == nil {
			var buf bytes.Buffer
			smallRep.print(&buf)
			smallOut = buf.String()
		}
	})
	require.NoError(t, smallErr)
	return smallRep, smallOut
}

// TestReport runs a small business through the engine and checks that the
// report prints what the verification found: the funnel's stage-to-stage
// conversions, the old and new MQLs next to the simulator's truth, the
// attribution and the ROI tables.
func TestReport(t *testing.T) {
	r, out := small(t)

	// Every simulated event went through the engine, and every lead the
	// engine has graduated out of the pool.
	assert.Equal(t, r.truth.Events, r.ingest.Events)
	assert.Equal(t, r.v.Leads, r.ingest.Changes[lifecycle.Graduated])
	// The hand-raise takes each simulated MQL to MQL in the engine too,
	// so every sales decision finds its lead where the simulator left it.
	assert.Positive(t, r.ingest.SimMQLs)
	assert.Equal(t, r.ingest.SimMQLs, r.ingest.Agreed, "every simulated MQL is an engine MQL")
	assert.Positive(t, r.ingest.Sales, "sales decisions reach the engine's stages")
	assert.Zero(t, r.ingest.SalesSkipped, "no sales decision finds its lead elsewhere")

	// The funnel: each stage to the next, with a rate between 0 and 100%
	// that is converted / base.
	conv := regexp.MustCompile(`(?m)^(\w+) -> (\w+) +(\d+) +(\d+) +([\d.]+)%`)
	var pairs []string
	for _, m := range conv.FindAllStringSubmatch(out, -1) {
		pairs = append(pairs, m[1]+">"+m[2])
		base, _ := strconv.Atoi(m[3])
		converted, _ := strconv.Atoi(m[4])
		rate, _ := strconv.ParseFloat(m[5], 64)
		assert.GreaterOrEqual(t, rate, 0.0, m[0])
		assert.LessOrEqual(t, rate, 100.0, m[0])
		assert.LessOrEqual(t, converted, base, m[0])
		if base > 0 {
			assert.InDelta(t, 100*float64(converted)/float64(base), rate, 0.051, m[0])
		}
		c, ok := r.funnel.Conversion(m[1], m[2])
		require.True(t, ok, m[0])
		assert.Equal(t, c.Base, base, m[0])
		assert.Equal(t, c.Converted, converted, m[0])
	}
	assert.Equal(t, []string{"Raw>MQL", "MQL>SAL", "SAL>SQL", "SQL>Opportunity", "Opportunity>Won"}, pairs)
	assert.Equal(t, r.v.Leads, r.funnel.Stages[0].Entered, "every lead entered the funnel")

	// This month's MQLs, old vs new: the engine's own numbers.
	mql, ok := r.stageResult(sim.StageMQL)
	require.True(t, ok)
	a := mql.Age
	require.Greater(t, a.Leads, 0, "MQLs in the verified month")
	assert.Equal(t, a.Leads, a.New+a.Earlier+a.Unknown)
	assert.Contains(t, out, fmt.Sprintf("engine: %d MQLs: %d new leads (created this month), %d earlier leads (created before it; %.1f%%), %d first time, %d repeat\n",
		a.Leads, a.New, a.Earlier, 100*a.EarlierShare, a.FirstTime, a.Repeat))
	old, all := oldShare(a, 90*24*time.Hour)
	assert.Equal(t, a.Leads, all, "every MQL has an age")
	assert.Regexp(t, fmt.Sprintf(`found \(engine Verify\) +%d +%d +%d +%d +%s`, a.Leads, a.FirstTime, a.Repeat, old, regexp.QuoteMeta(percent(old, all))), out)
	// ... next to the simulator's truth for the month.
	m := r.month
	assert.Regexp(t, fmt.Sprintf(`realised \(sim truth\) +%d +%d +%d +%d +%.1f%% +%.1f%%`, m.MQLs, m.FirstTime, m.Repeat, m.Old, 100*m.OldShare, 100*m.FirstTimeOldShare), out)
	assert.Regexp(t, `planted \(sim\) +40\.0%`, out)
	// The engine's MQLs of the month are the simulator's, first time and
	// repeat alike; its old share is at most the simulator's (a lead
	// graduates at or after its first touch, so it is younger in the
	// engine).
	assert.Equal(t, m.MQLs, a.Leads)
	assert.Equal(t, m.FirstTime, a.FirstTime)
	assert.Equal(t, m.Repeat, a.Repeat)
	assert.LessOrEqual(t, old, m.Old)

	// Attribution of MQLs and deals, by channel: the MQL columns credit
	// every entry of the month.
	assert.Contains(t, out, "-- Attribution by channel of the month's MQLs and deals won")
	assert.Regexp(t, `channel +MQL last_touch +MQL markov +Won last_touch +Won markov +won value markov +planted log-odds +MQL rate touched +untouched`, out)
	// Marketing's touches only: no SDR or sales row; each channel beside
	// its planted effect, the noise channel marked.
	assert.NotRegexp(t, `(?m)^(sdr|sales) +[0-9]`, section(t, out, "-- Attribution by channel"))
	for _, c := range r.truth.Channels {
		if c.Touched.Leads == 0 {
			continue
		}
		noise := ""
		if c.LogOdds == 0 {
			noise = ` \(noise\)`
		}
		assert.Regexp(t, fmt.Sprintf(`(?m)^%s +.* %.2f%s +%.1f%% +%.1f%% *$`, c.Channel, c.LogOdds, noise, 100*c.Touched.Rate, 100*c.Untouched.Rate), out)
	}
	lt, ok := mql.Credit("channel", "last_touch")
	require.True(t, ok)
	assert.Regexp(t, fmt.Sprintf(`(?m)^total +%.1f +`, lt.TotalConversions()), out)
	assert.Greater(t, lt.TotalConversions(), 0.0)

	// ROI per channel: every simulated channel with its cost.
	assert.Contains(t, out, "-- ROI per channel")
	for _, c := range r.month.Costs {
		assert.Regexp(t, fmt.Sprintf(`(?m)^%s +%.0f +`, c.Channel, c.Cost), out)
	}
	assert.Contains(t, out, "-- ROI per function")
	assert.Contains(t, out, "-- Nurture power of content towards MQL")
}

// TestDiagnosisFindsThePlantedPeople: the demo plants a weak screener
// (sdr-2) and a strong sales rep (ae-3); the diagnosis reads sdr-2's low
// MQL -> SAL rate as screening (its MQLs were called like the others'),
// puts ae-3 above the team and leaves the others without a reading, and
// the report prints each row.
func TestDiagnosisFindsThePlantedPeople(t *testing.T) {
	r, err := simulate(context.Background(), business.DemoConfig(3, 6000, 12), nil)
	require.NoError(t, err)
	var buf bytes.Buffer
	r.print(&buf)
	out := buf.String()
	owners := func(from, to string) map[string]lifecycle.OwnerDiagnosis {
		step, ok := r.diag.Step(from, to)
		require.True(t, ok, "%s -> %s", from, to)
		m := map[string]lifecycle.OwnerDiagnosis{}
		for _, o := range step.Owners {
			m[o.Owner] = o
		}
		return m
	}
	sdr := owners(sim.StageMQL, sim.StageSAL)
	require.Contains(t, sdr, "sdr-1")
	require.Contains(t, sdr, "sdr-2")
	assert.Equal(t, lifecycle.ReadingScreening, sdr["sdr-2"].Reading)
	assert.True(t, sdr["sdr-2"].Below)
	assert.Empty(t, sdr["sdr-1"].Reading)
	assert.Equal(t, 1.0, sdr["sdr-2"].Work.Worked.Value(), "the simulator calls every MQL")
	ae := owners(sim.StageSAL, sim.StageSQL)
	assert.True(t, ae["ae-3"].Above)
	for _, name := range []string{"ae-1", "ae-2", "ae-4"} {
		assert.Empty(t, ae[name].Reading, name)
		assert.False(t, ae[name].Above, name)
	}
	// The report prints the rows with the planted skills beside them.
	assert.Regexp(t, `(?m)^sdr-2 +[\d,]+ +[\d.]+% \[[\d.]+%, [\d.]+%\] +below +100% +1\.00 +[\d.]+d +\d+% +screening +-1\.0`, out)
	assert.Regexp(t, `(?m)^ae-3 +[\d,]+ +[\d.]+% \[[\d.]+%, [\d.]+%\] +above .* \+0\.8`, out)
}

// TestRun runs the command: flags, exit codes, no progress line when the
// output is not a terminal, and the same report for the same seed.
func TestRun(t *testing.T) {
	runs := func(args ...string) (string, string, int) {
		var out, errb bytes.Buffer
		code := run(args, &out, &errb)
		return out.String(), errb.String(), code
	}
	out, errs, code := runs("-leads", "1500", "-seed", "2", "-months", "9")
	require.Equal(t, 0, code, errs)
	assert.Empty(t, errs)
	assert.NotContains(t, out, "\r", "no progress line off a terminal")
	assert.Contains(t, out, "1,500 leads over 9 months")
	assert.Contains(t, out, "== Verification of September 2025")

	again, _, code := runs("-leads", "1500", "-seed", "2", "-months", "9")
	require.Equal(t, 0, code)
	assert.Equal(t, withoutTimes(out), withoutTimes(again))

	_, errs, code = runs("-leads", "nope")
	assert.Equal(t, 2, code)
	assert.Contains(t, errs, "invalid value")
	_, errs, code = runs("-leads", "-5")
	assert.Equal(t, 2, code, "a size below 1 is a usage error")
	assert.Contains(t, errs, "lifecycle: ")
}

// withoutTimes drops the lines that report wall-clock times.
func withoutTimes(s string) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		if !strings.Contains(l, "generated in") && !strings.Contains(l, "events/s") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

func TestProgressLine(t *testing.T) {
	assert.Equal(t, "500 / 1,000 events (50.0%)  500 events/s  ETA 1s", progressLine(500, 1000, time.Second))
	assert.Equal(t, "0 / 1,234,567 events (0.0%)  0 events/s  ETA ?", progressLine(0, 1234567, 0))
	assert.Equal(t, "999", thousands(999))
	assert.Equal(t, "-1,000", thousands(-1000))

	// Off a terminal it writes nothing.
	var buf bytes.Buffer
	p := newProgress(&buf)
	p.start(10)
	p.note("working")
	p.update(5)
	p.done()
	assert.Empty(t, buf.String())
	// On one, a line rewritten in place and cleared at the end.
	p = &progress{w: &buf, on: true}
	p.start(10)
	p.update(5)
	p.done()
	assert.True(t, strings.HasPrefix(buf.String(), "\r5 / 10 events (50.0%)"), buf.String())
	assert.True(t, strings.HasSuffix(buf.String(), "\r"))
}

// -leads 0 and -months 0 are refused, not silently the simulator's
// defaults.
func TestZeroSizesRefused(t *testing.T) {
	for _, args := range [][]string{{"-leads", "0"}, {"-months", "0"}, {"-leads", "-5"}} {
		var out, errs bytes.Buffer
		assert.Equal(t, 2, run(args, &out, &errs), "%v", args)
		assert.Contains(t, errs.String(), "must be at least 1")
	}
}

// row is a regexp matching a printed table row: the cells in order,
// separated by the table's padding (an empty first cell is the padding
// alone).
func row(cells ...string) *regexp.Regexp {
	q := make([]string, len(cells))
	for i, c := range cells {
		q[i] = regexp.QuoteMeta(c)
	}
	return regexp.MustCompile(`(?m)^ *` + strings.Join(q, ` +`) + ` *$`)
}

// section returns the printed section that starts with title, up to the
// next blank line.
func section(t *testing.T, out, title string) string {
	t.Helper()
	i := strings.Index(out, title)
	require.GreaterOrEqual(t, i, 0, "section %q", title)
	s := out[i:]
	if j := strings.Index(s, "\n\n"); j >= 0 {
		s = s[:j]
	}
	return s
}

// quarterTruth is what the simulator's Truth says of one quarter.
type quarterTruth struct {
	label         string
	spend, people float64
	spendOf       map[string]float64 // per function
	channelCost   map[string]float64 // per channel
	mqls, won     int
	revenue       float64
}

// truthQuarters adds the Truth's months up per quarter, with the staff's
// cost of each month (a third of its quarterly cost).
func truthQuarters(tr sim.Truth, staff []business.Staffing) []*quarterTruth {
	var qs []*quarterTruth
	for _, m := range tr.Months {
		_, label := leadkit.PeriodQuarter.Cohort(m.Month)
		if len(qs) == 0 || qs[len(qs)-1].label != label {
			qs = append(qs, &quarterTruth{label: label, spendOf: map[string]float64{}, channelCost: map[string]float64{}})
		}
		q := qs[len(qs)-1]
		for _, c := range m.Costs {
			q.spend += c.Cost
			q.spendOf[business.Functions()[c.Channel]] += c.Cost
			q.channelCost[c.Channel] += c.Cost
		}
		for _, s := range staff {
			q.people += s.Heads * s.PerQuarter / 3
		}
		q.mqls += m.MQLs
		q.won += m.Won
		q.revenue += m.Revenue
	}
	return qs
}

// TestReportROIAndSmallReports checks the sections on ROI per function and
// quarter, the pool's acquisition cost, instant converters, new vs
// revived leads per channel, old-lead nurture and content by phase
// against the results they print and the simulator's truth.
func TestReportROIAndSmallReports(t *testing.T) {
	r, out := small(t)
	tr, m := r.truth, r.month
	mql, ok := r.stageResult(sim.StageMQL)
	require.True(t, ok)
	a := mql.Age

	t.Run("roi", func(t *testing.T) {
		rep := r.roi.Report
		assert.Empty(t, r.roi.Unsolved)
		assert.Zero(t, r.roi.Skipped)
		assert.Empty(t, rep.PeriodsWithoutCosts)
		assert.Empty(t, rep.Uncosted)
		// The SDR team is the simulator's.
		i := slices.IndexFunc(r.staff, func(s business.Staffing) bool { return s.Function == business.SDRFunction })
		require.GreaterOrEqual(t, i, 0)
		assert.Equal(t, float64(tr.SDR.SDRs), r.staff[i].Heads)
		// The functions map is the one the engine verifies with: the
		// verified month's ROI per function costs what the month's
		// channels cost rolled up by it.
		require.NotNil(t, r.v.ROIByFunction)
		month := map[string]float64{}
		for _, c := range m.Costs {
			month[business.Functions()[c.Channel]] += c.Cost
		}
		require.Len(t, r.v.ROIByFunction.Rows, len(month))
		for _, x := range r.v.ROIByFunction.Rows {
			assert.InDelta(t, month[x.Key], x.Cost, 1e-6, x.Key)
		}

		// Each quarter: cost = the Truth months' spend + the stated
		// people; credited MQLs, deals and won value are the Truth's.
		qs := truthQuarters(tr, r.staff)
		require.Len(t, rep.Periods, len(qs))
		require.Len(t, qs, 4, "12 months are 4 quarters")
		for i, q := range qs {
			p := rep.Periods[i]
			require.Equal(t, q.label, p.Period)
			assert.False(t, p.CostUnknown, q.label)
			assert.InDelta(t, q.spend, p.Spend, 1e-6, q.label)
			assert.InDelta(t, q.people, p.PeopleCost, 1e-6, q.label)
			assert.InDelta(t, q.spend+q.people, p.Cost, 1e-6, q.label)
			mq, won := stageROI(p, "MQL/markov"), stageROI(p, "Won/markov")
			assert.InDelta(t, float64(q.mqls), mq.Conversions, 1e-6, q.label)
			assert.InDelta(t, float64(q.won), won.Conversions, 1e-6, q.label)
			assert.InDelta(t, q.revenue, won.Value, 1e-6*q.revenue, q.label)
			require.NotNil(t, won.ROI)
			assert.InDelta(t, (q.revenue-p.Cost)/p.Cost, *won.ROI, 1e-9, q.label)
			for _, s := range r.staff {
				x, ok := rep.Row(s.Function, q.label)
				require.True(t, ok, "%s %s", s.Function, q.label)
				assert.InDelta(t, q.spendOf[s.Function], x.Spend, 1e-6, "%s %s", s.Function, q.label)
				assert.InDelta(t, s.Heads*s.PerQuarter, x.PeopleCost, 1e-6, "%s %s", s.Function, q.label)
				assert.Equal(t, s.Heads, x.Headcount)
			}
			sdr, _ := rep.Row(business.SDRFunction, q.label)
			assert.Zero(t, stageROI(sdr, "MQL/markov").Conversions, "the SDR team is not credited")
		}
		// The printed rows: the stated assumptions, every function and
		// quarter, the quarters' totals, the run per function and overall.
		for _, s := range r.staff {
			assert.Regexp(t, row(s.Function, fmt.Sprintf("%g", s.Heads), "x", thousands(int(s.PerQuarter))), out)
		}
		printed := func(key, period string, x attribution.ROIRow) {
			mq, won := stageROI(x, "MQL/markov"), stageROI(x, "Won/markov")
			assert.Regexp(t, row(key, period, thousands(int(math.Round(x.Spend))), thousands(int(math.Round(x.PeopleCost))),
				fmt.Sprintf("%g", x.Headcount), thousands(int(math.Round(x.Cost))), fmt.Sprintf("%.1f", mq.Conversions), money(mq.CostPer),
				fmt.Sprintf("%.1f", won.Conversions), thousands(int(math.Round(won.Value))), ratio(won.ROI), oneDecimal(mq.PerHead)), out)
		}
		require.Len(t, rep.Rows, len(qs)*len(r.staff))
		for _, x := range rep.Rows {
			printed(x.Key, x.Period, x)
		}
		for _, p := range rep.Periods {
			printed("all", p.Period, p)
		}
		for _, x := range rep.Keys {
			printed(x.Key, "run", x)
		}
		printed("all", "run", rep.Total)
	})

	t.Run("acquisition", func(t *testing.T) {
		ac := r.acquisition
		qs := truthQuarters(tr, r.staff)
		require.Len(t, ac.Buckets, len(qs))
		run := map[string]int{}
		for i, q := range qs {
			b := ac.Buckets[i]
			require.Equal(t, q.label, b.Label)
			sum := 0
			for _, s := range b.Sources {
				// Each channel's spend in the quarter is the Truth's.
				require.NotNil(t, s.Cost, "%s %s", s.Channel, q.label)
				assert.InDelta(t, q.channelCost[s.Channel], *s.Cost, 1e-6, "%s %s", s.Channel, q.label)
				if s.Inflow > 0 {
					require.NotNil(t, s.CostPerProspect)
					assert.InDelta(t, *s.Cost/float64(s.Inflow), *s.CostPerProspect, 1e-9)
				}
				sum += s.Inflow
				run[s.Channel] += s.Inflow
			}
			assert.Equal(t, b.All.Inflow, sum, q.label)
			require.NotNil(t, b.All.Cost)
			assert.InDelta(t, q.spend, *b.All.Cost, 1e-6, q.label)
		}
		// Every simulated lead came into the pool as a prospect.
		assert.GreaterOrEqual(t, ac.Totals.All.Inflow, tr.Leads)
		cells := []string{"all"}
		for _, b := range append(slices.Clone(ac.Buckets), ac.Totals) {
			cells = append(cells, thousands(b.All.Inflow), oneDecimal(b.All.CostPerProspect))
		}
		assert.Regexp(t, row(cells...), out)
		for _, s := range ac.Totals.Sources {
			assert.Equal(t, run[s.Channel], s.Inflow, s.Channel)
		}
	})

	t.Run("instant converters", func(t *testing.T) {
		c := mql.Cycle
		require.NotNil(t, c.Instant)
		assert.Equal(t, c.Overall.N, c.Instants.Base)
		assert.Equal(t, c.Overall.N, c.Instants.Count+c.WithoutInstant.N)
		// Every MQL of the month, each once, as the simulator counts them.
		assert.Equal(t, m.MQLs, c.Overall.N+c.Skipped)
		// An instant converter became an MQL within the hour of its
		// creation: a new lead of the month, first time.
		assert.LessOrEqual(t, c.Instants.Count, a.New)
		sec := section(t, out, "-- Time from creation to MQL")
		for _, x := range []struct {
			name string
			s    journey.DurationStats
		}{{"all", c.Overall}, {"without instant converters", c.WithoutInstant}} {
			assert.Regexp(t, row(x.name, fmt.Sprint(x.s.N), days(time.Duration(x.s.Median)), days(time.Duration(x.s.P90)), days(time.Duration(x.s.Mean))), sec)
		}
		assert.Contains(t, sec, fmt.Sprintf("instant converters: %d of %d (%s)", c.Instants.Count, c.Overall.N, ratePercent1(c.Instants)))
	})

	t.Run("new vs revived per channel", func(t *testing.T) {
		require.NotEmpty(t, a.Channels)
		news, revived, email := 0, 0, -1
		sec := section(t, out, "-- This month's MQLs by channel")
		for _, c := range a.Channels {
			news += c.New
			revived += c.Revived
			if c.Key == sim.ChannelEmail {
				email = c.Revived
			}
			assert.Regexp(t, row(c.Key, fmt.Sprint(c.New), fmt.Sprint(c.Revived), interval(c.NewShare), ratePercent1(c.OfNew), ratePercent1(c.OfRevived)), sec)
		}
		assert.Equal(t, a.New, news+a.NewUnattributed)
		assert.Equal(t, a.Earlier, revived+a.EarlierUnattributed)
		assert.Regexp(t, row("total", fmt.Sprint(a.New), fmt.Sprint(a.Earlier)), sec)
		// The simulator nurtures its recycled leads back by email: email
		// revived every repeat MQL of the month.
		assert.GreaterOrEqual(t, email, m.Repeat)
		assert.Positive(t, m.Repeat)
	})

	t.Run("old-lead nurture", func(t *testing.T) {
		o := mql.OldLeads
		// The old leads that converted are the month's MQLs from earlier
		// leads (none stood at MQL or further at the month's start: a
		// recycled lead is out of the funnel until it qualifies again).
		assert.Equal(t, a.Earlier, o.Converted.Count)
		assert.Equal(t, o.OldLeads, o.Converted.Base)
		assert.Equal(t, o.Converted.Count, o.All.Converted.Touched.Base)
		assert.Equal(t, o.OldLeads-o.Converted.Count, o.All.NotConverted.Touched.Base)
		// The simulator's touches raise conversion: the converters had
		// more of them.
		require.NotNil(t, o.All.PerLeadRatio)
		assert.Greater(t, *o.All.PerLeadRatio, 1.0)
		sec := section(t, out, "-- Old leads (created before")
		assert.Contains(t, sec, fmt.Sprintf("old leads %s (%s already MQL or further at the month's start left out): %s converted (%s)",
			thousands(o.OldLeads), thousands(o.Excluded), thousands(o.Converted.Count), ratePercent1(o.Converted)))
		require.NotEmpty(t, o.Types)
		for _, c := range append([]journey.NurtureComparison{o.All}, o.Types...) {
			assert.Regexp(t, row(cmp.Or(c.Key, "all"), ratePercent1(c.Converted.Touched), ratio(c.Converted.PerLead),
				ratePercent1(c.NotConverted.Touched), ratio(c.NotConverted.PerLead), ratio(c.PerLeadRatio)), sec)
		}
	})

	t.Run("content phases", func(t *testing.T) {
		p := mql.Phases
		// Every lead was acquired by a touch at or before its creation,
		// and every lead that reached MQL over the run followed one.
		assert.Equal(t, r.v.Leads, p.Acquisition.Leads)
		reached := -1
		for _, s := range r.funnel.Stages {
			if s.Stage == sim.StageMQL {
				reached = s.Reached
			}
		}
		assert.Equal(t, reached, p.Acquisition.Converted.Count)
		sec := section(t, out, "-- Content by funnel phase")
		// The prospects that never became leads have no creation time:
		// their touches are in no phase.
		assert.Positive(t, r.v.Timelines-r.v.Leads)
		assert.Contains(t, sec, fmt.Sprintf("%s touches of prospects that never became leads are in no phase", thousands(p.Unplaced)))
		lines := strings.Split(sec, "\n")
		for _, u := range phaseUses(p) {
			assert.Regexp(t, row(string(u.phase), "all", fmt.Sprint(u.total.Touches), fmt.Sprint(u.total.Leads), converted(u.total.Converted)), sec)
			top := u.top(p.Content, phaseTop)
			if u.total.Touches > 0 {
				require.NotEmpty(t, top, u.phase)
			}
			// The top contents follow the phase's line, most touched first,
			// and none left out has more touches in the phase.
			at := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, string(u.phase)+" ") })
			require.GreaterOrEqual(t, at, 0)
			for k, c := range top {
				x := u.of(c)
				assert.Regexp(t, row("", contentName(c), fmt.Sprint(x.Touches), fmt.Sprint(x.Leads), converted(x.Converted), string(c.Serves)), lines[at+1+k])
				if k > 0 {
					assert.LessOrEqual(t, x.Touches, u.of(top[k-1]).Touches)
				}
			}
			if len(top) == phaseTop {
				for _, c := range p.Content {
					if !slices.ContainsFunc(top, func(x journey.ContentPhase) bool { return x.Key == c.Key && x.Type == c.Type }) {
						assert.LessOrEqual(t, u.of(c).Touches, u.of(top[phaseTop-1]).Touches)
					}
				}
			}
		}
	})
}

// TestTeamOutput: the SDR team's output over the run is every MQL the
// simulated SDRs accepted, and its cost per quarter is the stated staff
// cost; the report prints each quarter's row.
func TestTeamOutput(t *testing.T) {
	r, err := simulate(context.Background(), business.DemoConfig(3, 2000, 12), nil)
	require.NoError(t, err)
	accepted := 0
	for _, sdr := range r.truth.SDR.Team {
		accepted += sdr.Converted
	}
	moved := 0
	var buf bytes.Buffer
	r.print(&buf)
	out := buf.String()
	staff := business.DemoStaff(r.truth)
	i := slices.IndexFunc(staff, func(s business.Staffing) bool { return s.Function == business.SDRFunction })
	require.GreaterOrEqual(t, i, 0)
	for _, to := range r.roi.Teams {
		if to.Team != "sdr" {
			continue
		}
		require.NotNil(t, to.Cost, to.Period)
		assert.InDelta(t, staff[i].Heads*staff[i].PerQuarter, *to.Cost, 1e-6, to.Period)
		for _, mv := range to.Moved {
			assert.Equal(t, sim.StageSAL, mv.Stage)
			moved += mv.Count
			assert.Regexp(t, fmt.Sprintf(`(?m)^sdr +%s +SAL +%s +`, to.Period, thousands(mv.Count)), out)
		}
	}
	assert.Positive(t, accepted)
	assert.Equal(t, accepted, moved, "every simulated acceptance is the SDR team's output")
}
