package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"html"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/examples/internal/business"
	"github.com/leadkit/leadkit/sim"
)

var update = flag.Bool("update", false, "copy the browser screenshot to docs/report.png")

var (
	smallOnce sync.Once
	smallData *data
	smallErr  error
)

// small builds the report data of a small business once for the tests.
func small(t *testing.T) *data {
	t.Helper()
	smallOnce.Do(func() {
		smallData, smallErr = build(context.Background(), business.DemoConfig(1, 2000, 12))
	})
	require.NoError(t, smallErr)
	return smallData
}

func render(t *testing.T, d *data) (string, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "report.html")
	require.NoError(t, writeFile(d, path))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return path, string(b)
}

// TestReportContent checks the page against the verification it was
// built from, without a browser.
func TestReportContent(t *testing.T) {
	d := small(t)
	_, page := render(t, d)
	v := d.V

	assert.True(t, strings.HasPrefix(page, "<!DOCTYPE html>"))
	for _, bad := range []string{"<script", "<link", "@import", "http://", "https://"} {
		if bad == "http://" {
			// The SVG namespace is the one URL allowed.
			assert.Equal(t, strings.Count(page, "http://"), strings.Count(page, `xmlns="http://www.w3.org/2000/svg"`))
			continue
		}
		assert.NotContains(t, page, bad, "the report must be self-contained")
	}
	for _, c := range d.charts() {
		assert.Contains(t, page, `<svg id="`+c.ID+`"`)
		assert.Contains(t, page, "<h2>"+html.EscapeString(c.Title)+"</h2>")
		assert.Contains(t, page, ">"+html.EscapeString(c.XLabel)+"</text>")
		assert.Contains(t, page, ">"+html.EscapeString(c.YLabel)+"</text>")
	}
	ids := map[string]bool{}
	for _, c := range d.charts() {
		ids[c.ID] = true
	}
	for _, id := range []string{"funnel", "diagnosis-mql-sal", "diagnosis-sal-sql", "mqls-by-month", "attribution", "roi-by-quarter", "time-to-mql", "score-by-grade"} {
		assert.True(t, ids[id], "chart %s", id)
	}
	for _, title := range []string{"Stage conversion", "Top golden paths to MQL (whole run)"} {
		assert.Contains(t, page, "<h2>"+title+"</h2>")
	}
	bars := regexp.MustCompile(`<rect class="bar"`).FindAllStringIndex(page, -1)
	want := 0
	for _, c := range d.charts() {
		want += c.bars()
	}
	assert.Len(t, bars, want)
	whiskers := 0
	for _, c := range d.charts() {
		if c.Low != nil {
			whiskers += c.bars()
		}
	}
	assert.Positive(t, whiskers)
	assert.Equal(t, whiskers, strings.Count(page, `<path class="whisker"`))

	// The tables hold the verification's numbers.
	require.NotEmpty(t, d.Funnel.Stages)
	for _, s := range d.Funnel.Stages {
		assert.Contains(t, page, fmt.Sprintf("<tr><td>%s</td><td class=\"n\">%d</td><td class=\"n\">%d</td><td class=\"n\">%d</td></tr>", s.Stage, s.Entered, s.Reached, s.Skipped))
	}
	for i := 1; i < len(d.Funnel.Stages); i++ {
		c, ok := d.Funnel.Conversion(d.Funnel.Stages[i-1].Stage, d.Funnel.Stages[i].Stage)
		require.True(t, ok)
		assert.Contains(t, page, fmt.Sprintf("<tr><td>%s</td><td class=\"n\">%s</td><td class=\"n\">%d</td><td class=\"n\">%d</td><td class=\"n\">%.1f%%</td>", c.From, c.To, c.Base, c.Converted, 100*c.Rate))
	}
	mql, ok := stageResult(v, sim.StageMQL)
	require.True(t, ok)
	lt, ok := mql.Credit("channel", "last_touch")
	require.True(t, ok)
	mk, ok := mql.Credit("channel", "markov")
	require.True(t, ok)
	require.NotEmpty(t, lt.Conversions)
	for ch, x := range lt.Conversions {
		assert.Contains(t, page, fmt.Sprintf("<tr><td>%s</td><td class=\"n\">%.1f</td><td class=\"n\">%.1f</td></tr>", ch, x, mk.Conversions[ch]))
	}
	// The last month's MQLs by new and old lead agree with the
	// verification's source-age split.
	last := d.Months[len(d.Months)-1]
	old := 0
	for _, b := range mql.Age.Buckets {
		if b.From >= leadkit.Duration(oldAge) {
			old += b.Leads
		}
	}
	assert.Equal(t, mql.Age.New+mql.Age.Unknown, last.New)
	assert.Equal(t, mql.Age.Earlier, last.Earlier+last.Old)
	assert.Equal(t, old, last.Old)
	assert.Contains(t, page, fmt.Sprintf("<tr><td>%s</td><td class=\"n\">%d</td><td class=\"n\">%d</td><td class=\"n\">%d</td>", last.Month.Format("2006-01"), last.New, last.Earlier, last.Old))
	require.NotEmpty(t, d.Golden)
	for _, g := range d.Golden {
		assert.Contains(t, page, html.EscapeString(strings.Join(g.Items, " → ")))
	}
	// The engine's timelines rank the simulator's planted path first, and
	// the table marks it.
	assert.Equal(t, d.Config.Golden.Items, d.Golden[0].Items)
	assert.Contains(t, page, html.EscapeString(strings.Join(d.Config.Golden.Items, " → "))+"</td>")
	assert.Equal(t, 1, strings.Count(page, "planted by the simulator"))

	// The score bands hold every lead once, and their MQLs are the leads
	// that reached MQL.
	leads, mqls := 0, 0
	for _, b := range d.Bands {
		for g := range d.Grades {
			leads += b.Leads[g]
			mqls += b.MQL[g]
		}
	}
	assert.Equal(t, v.Leads, leads)
	reached := -1
	for _, s := range d.Funnel.Stages {
		if s.Stage == sim.StageMQL {
			reached = s.Reached
		}
	}
	assert.Equal(t, reached, mqls)
}

// cells is a table row's cells as the page writes them.
func cells(c ...string) string {
	var b strings.Builder
	b.WriteString("<tr>")
	for i, x := range c {
		if i == 0 {
			fmt.Fprintf(&b, "<td>%s</td>", html.EscapeString(x))
		} else {
			fmt.Fprintf(&b, `<td class="n">%s</td>`, html.EscapeString(x))
		}
	}
	b.WriteString("</tr>")
	return b.String()
}

// TestReportDiagnosis checks the funnel diagnosis charts and tables
// against the diagnosis and the skills the simulator planted.
func TestReportDiagnosis(t *testing.T) {
	d := small(t)
	_, page := render(t, d)
	planted := map[string]float64{}
	for _, p := range d.Truth.SDR.Team {
		planted[p.Name] = p.LogOdds
	}
	for _, p := range d.Truth.Sales {
		planted[p.Name] = p.LogOdds
	}
	assert.Equal(t, -1.0, planted["sdr-2"], "the report's business plants a weak screener")
	assert.Equal(t, 0.8, planted["ae-3"], "and a strong sales rep")
	for _, step := range [][2]string{{sim.StageMQL, sim.StageSAL}, {sim.StageSAL, sim.StageSQL}} {
		s, ok := d.Diag.Step(step[0], step[1])
		require.True(t, ok, step)
		require.NotNil(t, s.Target, step)
		assert.Contains(t, page, fmt.Sprintf(">target %.0f%%</text>", 100**s.Target))
		rows := 0
		for _, o := range s.Owners {
			if o.Rate.Rate == nil {
				continue
			}
			rows++
			vs := ""
			if o.Below {
				vs = "below"
			} else if o.Above {
				vs = "above"
			}
			skill := ""
			if p, ok := planted[o.Owner]; ok {
				skill = fmt.Sprintf("%+.1f", p)
			}
			r, perStay := o.Rate, "-"
			if o.Work.PerStay != nil {
				perStay = fmt.Sprintf("%.2f", *o.Work.PerStay)
			}
			assert.Contains(t, page, cells(cmp.Or(o.Owner, "(nobody)"), fmt.Sprint(r.Base), fmt.Sprint(r.Count), fmt.Sprintf("%.1f%%", 100**r.Rate),
				fmt.Sprintf("%.1f%% – %.1f%%", 100**r.Low, 100**r.High), vs, perStay, daysOf(o.Work.FirstMedian), string(o.Reading), skill))
		}
		assert.Positive(t, rows)
		assert.Contains(t, page, fmt.Sprintf("<tr><td>team %s</td><td class=\"n\">%d</td><td class=\"n\">%d</td><td class=\"n\">%.1f%%</td>",
			s.Team, s.Rate.Base, s.Rate.Count, 100**s.Rate.Rate))
	}
	// The planted skills show: sdr-2 converts fewer of its MQLs than
	// sdr-1, ae-3 more of its SALs than any other rep.
	rate := func(from, to, owner string) float64 {
		s, _ := d.Diag.Step(from, to)
		for _, o := range s.Owners {
			if o.Owner == owner {
				return o.Rate.Value()
			}
		}
		t.Fatalf("%s: no %s -> %s", owner, from, to)
		return 0
	}
	assert.Less(t, rate(sim.StageMQL, sim.StageSAL, "sdr-2"), rate(sim.StageMQL, sim.StageSAL, "sdr-1"))
	for _, ae := range []string{"ae-1", "ae-2", "ae-4"} {
		assert.Greater(t, rate(sim.StageSAL, sim.StageSQL, "ae-3"), rate(sim.StageSAL, sim.StageSQL, ae), ae)
	}
}

// TestReportROI checks the ROI per function and quarter against the
// simulator's truth: each quarter costs the Truth months' spend plus the
// people the page states, and its credited MQLs, deals and won value are
// the Truth's.
func TestReportROI(t *testing.T) {
	d := small(t)
	_, page := render(t, d)
	rep := d.ROI.Report
	assert.Empty(t, d.ROI.Unsolved)
	assert.Zero(t, d.ROI.Skipped)
	assert.Empty(t, rep.PeriodsWithoutCosts)
	assert.Empty(t, rep.Uncosted)
	// The functions are the engine's: the verified month's ROI per
	// function costs what the month's channels cost rolled up by them.
	last := d.Truth.Months[len(d.Truth.Months)-1]
	month := map[string]float64{}
	for _, c := range last.Costs {
		month[business.Functions()[c.Channel]] += c.Cost
	}
	require.NotNil(t, d.V.ROIByFunction)
	require.Len(t, d.V.ROIByFunction.Rows, len(month))
	for _, x := range d.V.ROIByFunction.Rows {
		assert.InDelta(t, month[x.Key], x.Cost, 1e-6, x.Key)
	}
	// The staff the page states, the SDR team the simulator's.
	for _, s := range d.Staff {
		assert.Contains(t, page, html.EscapeString(fmt.Sprintf("%s %g × %s", s.Function, s.Heads, money0(s.PerQuarter))))
		if s.Function == business.SDRFunction {
			assert.Equal(t, float64(d.Truth.SDR.SDRs), s.Heads)
		}
	}
	type quarter struct {
		spend, people, revenue float64
		mqls, won              int
	}
	var order []string
	qs := map[string]*quarter{}
	for _, m := range d.Truth.Months {
		_, label := leadkit.PeriodQuarter.Cohort(m.Month)
		if qs[label] == nil {
			qs[label] = &quarter{}
			order = append(order, label)
		}
		q := qs[label]
		for _, c := range m.Costs {
			q.spend += c.Cost
		}
		for _, s := range d.Staff {
			q.people += s.Heads * s.PerQuarter / 3
		}
		q.mqls += m.MQLs
		q.won += m.Won
		q.revenue += m.Revenue
	}
	require.Len(t, rep.Periods, len(order))
	for i, label := range order {
		p, q := rep.Periods[i], qs[label]
		require.Equal(t, label, p.Period)
		assert.InDelta(t, q.spend+q.people, p.Cost, 1e-6, label)
		assert.InDelta(t, q.people, p.PeopleCost, 1e-6, label)
		mql, _ := p.Stage(sim.StageMQL + "/markov")
		won, _ := p.Stage(sim.StageWon + "/markov")
		assert.InDelta(t, float64(q.mqls), mql.Conversions, 1e-6, label)
		assert.InDelta(t, float64(q.won), won.Conversions, 1e-6, label)
		assert.InDelta(t, q.revenue, won.Value, 1e-6*q.revenue, label)
		require.NotNil(t, won.ROI)
		assert.InDelta(t, (q.revenue-p.Cost)/p.Cost, *won.ROI, 1e-9, label)
		// The table's row of the quarter.
		assert.Contains(t, page, cells("all", label, money0(p.Spend), money0(p.PeopleCost), fmt.Sprintf("%g", p.Headcount), money0(p.Cost),
			fmt.Sprintf("%.1f", mql.Conversions), fmt.Sprintf("%.0f", *mql.CostPer), fmt.Sprintf("%.1f", won.Conversions), money0(won.Value),
			fmt.Sprintf("%.2f", *won.ROI), fmt.Sprintf("%.1f", *mql.PerHead)))
	}
	// Every function and quarter has a row in the table and a bar.
	var c chart
	for _, x := range d.charts() {
		if x.ID == "roi-by-quarter" {
			c = x
		}
	}
	require.Equal(t, "roi-by-quarter", c.ID)
	require.Len(t, c.Vals, len(order))
	ratio := func(p *float64, format string) string {
		if p == nil {
			return "-"
		}
		return fmt.Sprintf(format, *p)
	}
	for _, x := range rep.Rows {
		mql, _ := x.Stage(sim.StageMQL + "/markov")
		won, _ := x.Stage(sim.StageWon + "/markov")
		assert.Contains(t, page, cells(x.Key, x.Period, money0(x.Spend), money0(x.PeopleCost), fmt.Sprintf("%g", x.Headcount), money0(x.Cost),
			fmt.Sprintf("%.1f", mql.Conversions), ratio(mql.CostPer, "%.0f"), fmt.Sprintf("%.1f", won.Conversions), money0(won.Value),
			ratio(won.ROI, "%.2f"), ratio(mql.PerHead, "%.1f")))
		i, j := slices.Index(order, x.Period), slices.Index(c.Series, x.Key)
		require.GreaterOrEqual(t, j, 0, x.Key)
		require.NotNil(t, won.ROI, "%s %s", x.Key, x.Period)
		assert.Equal(t, *won.ROI, c.Vals[i][j], "%s %s", x.Key, x.Period)
	}
	assert.Equal(t, "all", c.Series[len(c.Series)-1])
}

// findBrowser returns a headless-capable browser on PATH, or "".
func findBrowser() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// probe records errors and, on load, writes what the browser laid out:
// each chart's box and the height of each of its bars, the page's height,
// images that did not load and resources fetched.
const probe = `<script>
(function(){
  var errors = [];
  window.onerror = function(msg, src, line){ errors.push(String(msg) + " at " + src + ":" + line); };
  window.addEventListener("error", function(e){ if (e.target && e.target !== window) errors.push("failed to load " + (e.target.src || e.target.href || e.target.tagName)); }, true);
  var ce = console.error;
  console.error = function(){ errors.push(Array.prototype.join.call(arguments, " ")); if (ce) ce.apply(console, arguments); };
  window.addEventListener("load", function(){
    var charts = {};
    document.querySelectorAll("svg[id]").forEach(function(s){
      var r = s.getBoundingClientRect();
      var heights = [], tops = [], whiskers = [];
      s.querySelectorAll(".bar").forEach(function(b){ var x = b.getBBox(); heights.push(x.height); tops.push(x.y); });
      s.querySelectorAll(".whisker").forEach(function(p){ var x = p.getBBox(); whiskers.push({top: x.y, bottom: x.y + x.height}); });
      var zero = s.querySelector("line.zero"), target = s.querySelector("line.target:not(.key)");
      charts[s.id] = {width: r.width, height: r.height, bars: heights.length, heights: heights, tops: tops, whiskers: whiskers,
        zero: zero ? zero.getBBox().y : null, target: target ? target.getBBox().y : null};
    });
    document.querySelectorAll("img").forEach(function(i){ if (!i.complete || i.naturalWidth === 0) errors.push("image not loaded: " + i.src); });
    var pre = document.createElement("pre");
    pre.id = "leadkit-test-result";
    pre.textContent = JSON.stringify({charts: charts, errors: errors, page_height: Math.ceil(document.body.getBoundingClientRect().bottom),
      resources: performance.getEntriesByType("resource").map(function(e){ return e.name; })});
    document.body.appendChild(pre);
  });
})();
</script>`

type probeResult struct {
	Charts map[string]struct {
		Width, Height float64
		Bars          int
		// Heights and Tops are each bar's; Whiskers each whisker's ends;
		// Zero the zero line's y and Target the target line's (null:
		// none).
		Heights  []float64
		Tops     []float64
		Whiskers []struct{ Top, Bottom float64 }
		Zero     *float64
		Target   *float64
	} `json:"charts"`
	Errors     []string `json:"errors"`
	PageHeight int      `json:"page_height"`
	Resources  []string `json:"resources"`
}

// TestReportInBrowser loads the report in a headless browser and checks
// every chart is laid out with its bars and no errors.
func TestReportInBrowser(t *testing.T) {
	browser := findBrowser()
	if browser == "" {
		if os.Getenv("LEADKIT_BROWSER_REQUIRED") == "1" {
			t.Fatal("no browser (chromium, chromium-browser, google-chrome) on PATH and LEADKIT_BROWSER_REQUIRED=1")
		}
		t.Skip("no browser (chromium, chromium-browser, google-chrome) on PATH; install one or set LEADKIT_BROWSER_REQUIRED=1 to fail")
	}
	d := small(t)
	path, page := render(t, d)
	dir := t.TempDir()
	probed := filepath.Join(dir, "probed.html")
	i := strings.LastIndex(page, "</body>")
	require.GreaterOrEqual(t, i, 0)
	require.NoError(t, os.WriteFile(probed, []byte(page[:i]+probe+page[i:]), 0o644))

	// run runs the browser, its console logged to stderr: any console
	// message (a script error, a bad SVG attribute) is an error.
	run := func(args ...string) []byte {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		args = append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0",
			"--user-data-dir=" + filepath.Join(dir, "profile")}, args...)
		cmd := exec.CommandContext(ctx, browser, args...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		require.NoError(t, cmd.Run(), "%s: %s", browser, stderr.String())
		for _, line := range strings.Split(stderr.String(), "\n") {
			assert.NotContains(t, line, ":CONSOLE", "browser console")
		}
		return stdout.Bytes()
	}
	dom := run("--dump-dom", "--window-size=1280,1000", "file://"+probed)
	m := regexp.MustCompile(`(?s)<pre id="leadkit-test-result">(.*?)</pre>`).FindSubmatch(dom)
	require.NotNil(t, m, "no test result in the dumped DOM")
	var res probeResult
	require.NoError(t, json.Unmarshal([]byte(html.UnescapeString(string(m[1]))), &res))
	assert.Empty(t, res.Errors)
	assert.Empty(t, res.Resources, "the page fetches nothing")
	charts := d.charts()
	assert.Len(t, res.Charts, len(charts))
	// The bars expected, from the data the report was built from.
	owners := func(from, to string) int {
		step, ok := d.Diag.Step(from, to)
		require.True(t, ok, "%s -> %s", from, to)
		n := 1 // the team
		for _, o := range step.Owners {
			if o.Rate.Base > 0 {
				n++
			}
		}
		return n
	}
	want := map[string]int{
		"funnel":            len(d.Funnel.Stages),
		"diagnosis-mql-sal": owners(sim.StageMQL, sim.StageSAL),
		"diagnosis-sal-sql": owners(sim.StageSAL, sim.StageSQL),
		"mqls-by-month":     3 * len(d.Months),
		"attribution":       2 * len(d.Channels),
		"roi-by-quarter":    len(d.ROI.Report.Periods) * (len(d.ROI.Report.Keys) + 1),
		"time-to-mql":       len(d.TimeToMQL),
		"score-by-grade":    len(d.Bands) * len(d.Grades),
	}
	negative := 0
	for _, c := range charts {
		got, ok := res.Charts[c.ID]
		if !assert.True(t, ok, "chart %s missing", c.ID) {
			continue
		}
		assert.Positive(t, got.Width, c.ID)
		assert.Positive(t, got.Height, c.ID)
		assert.Equal(t, want[c.ID], got.Bars, c.ID)
		assert.Positive(t, got.Bars, c.ID)
		// Each bar is laid out as high as its value says: a positive
		// height for every non-zero value, none for a zero, within the
		// chart, in proportion to the value.
		var values []float64
		for _, row := range c.Vals {
			values = append(values, row...)
		}
		require.Len(t, got.Heights, len(values), c.ID)
		require.Len(t, got.Tops, len(values), c.ID)
		require.NotNil(t, got.Zero, "%s: no zero line", c.ID)
		zero := *got.Zero
		maxV, maxH := 0.0, 0.0
		for i, v := range values {
			maxV, maxH = max(maxV, math.Abs(v)), max(maxH, got.Heights[i])
		}
		require.Positive(t, maxV, c.ID)
		require.Positive(t, maxH, c.ID)
		// px is the chart's scale: pixels per unit of value.
		px := maxH / maxV
		base := make([]float64, len(c.Vals)) // of a stack
		for i, v := range values {
			h, top := got.Heights[i], got.Tops[i]
			assert.False(t, math.IsNaN(h), c.ID)
			assert.GreaterOrEqual(t, h, 0.0, c.ID)
			assert.Less(t, h, got.Height, c.ID)
			if v == 0 {
				assert.Zero(t, h, "%s bar %d", c.ID, i)
			} else {
				assert.Positive(t, h, "%s bar %d", c.ID, i)
			}
			assert.InDelta(t, math.Abs(v)/maxV, h/maxH, 0.01, "%s bar %d: height out of proportion", c.ID, i)
			// A bar stands on the zero line (or the bar under it in a
			// stack); a negative one hangs from it.
			from := zero
			if c.Stacked {
				cat := i / len(c.Series)
				from = zero - base[cat]*px
				base[cat] += v
			}
			if v < 0 {
				negative++
				assert.InDelta(t, from, top, 0.6, "%s bar %d: a negative bar hangs from zero", c.ID, i)
			} else {
				assert.InDelta(t, from, top+h, 0.6, "%s bar %d: a bar stands on zero", c.ID, i)
			}
		}
		// Whiskers span each interval, on the bars' scale.
		if c.Low == nil {
			assert.Empty(t, got.Whiskers, c.ID)
		} else {
			require.Len(t, got.Whiskers, len(values), c.ID)
			for i := range values {
				low, high := c.Low[i/len(c.Series)][i%len(c.Series)], c.High[i/len(c.Series)][i%len(c.Series)]
				assert.LessOrEqual(t, low, values[i], c.ID)
				assert.GreaterOrEqual(t, high, values[i], c.ID)
				assert.InDelta(t, zero-high*px, got.Whiskers[i].Top, 0.6, "%s whisker %d: top", c.ID, i)
				assert.InDelta(t, zero-low*px, got.Whiskers[i].Bottom, 0.6, "%s whisker %d: bottom", c.ID, i)
			}
		}
		if c.Target == nil {
			assert.Nil(t, got.Target, c.ID)
		} else if assert.NotNil(t, got.Target, "%s: no target line", c.ID) {
			assert.InDelta(t, zero-*c.Target*px, *got.Target, 0.6, "%s: target line", c.ID)
		}
	}
	// The ROI chart draws the quarters that lost money below zero (the
	// first quarter of a run that starts empty, the SDR team's).
	assert.Positive(t, negative, "no negative bar drawn")

	png := filepath.Join(dir, "report.png")
	// The whole page, however long.
	require.Positive(t, res.PageHeight)
	run("--screenshot="+png, fmt.Sprintf("--window-size=1280,%d", res.PageHeight+40), "--hide-scrollbars", "file://"+path)
	b, err := os.ReadFile(png)
	require.NoError(t, err)
	require.Greater(t, len(b), 1000)
	assert.Equal(t, []byte("\x89PNG\r\n\x1a\n"), b[:8])
	if *update {
		docs := filepath.Join("..", "..", "docs")
		require.NoError(t, os.MkdirAll(docs, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(docs, "report.png"), b, 0o644))
	}
}

// -leads 0 and -months 0 are refused, not silently the simulator's
// defaults.
func TestZeroSizesRefused(t *testing.T) {
	for _, args := range [][]string{{"-leads", "0"}, {"-months", "0"}, {"-leads", "-5"}} {
		var errs bytes.Buffer
		assert.Equal(t, 2, run(append(args, "-o", t.TempDir()+"/r.html"), &errs), "%v", args)
		assert.Contains(t, errs.String(), "must be at least 1")
	}
}
