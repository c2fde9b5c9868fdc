package main

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit/lifecycle"
	"github.com/leadkit/leadkit/sim"
)

// TestReport runs a small business through the engine and checks that the
// report prints what the verification found: the funnel's stage-to-stage
// conversions, the old and new MQLs next to the simulator's truth, the
// attribution and the ROI tables.
func TestReport(t *testing.T) {
	r, err := simulate(context.Background(), sim.Config{Seed: 3, Leads: 2000}, nil)
	require.NoError(t, err)
	var buf bytes.Buffer
	r.print(&buf)
	out := buf.String()

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
	assert.NotRegexp(t, `(?m)^(sdr|sales) +[0-9]`, out)
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
	r, err := simulate(context.Background(), Config(3, 6000, 12), nil)
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
