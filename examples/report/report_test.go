package main

import (
	"bytes"
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
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
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
		smallData, smallErr = build(context.Background(), sim.Config{Seed: 1, Leads: 2000, Months: 12})
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
	for _, title := range []string{"Stage conversion", "Top golden paths to MQL (whole run)"} {
		assert.Contains(t, page, "<h2>"+title+"</h2>")
	}
	bars := regexp.MustCompile(`<rect class="bar"`).FindAllStringIndex(page, -1)
	want := 0
	for _, c := range d.charts() {
		want += c.bars()
	}
	assert.Len(t, bars, want)

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
      var heights = [];
      s.querySelectorAll(".bar").forEach(function(b){ heights.push(b.getBBox().height); });
      charts[s.id] = {width: r.width, height: r.height, bars: heights.length, heights: heights};
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
		Heights       []float64
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
	want := map[string]int{
		"funnel":         len(d.Funnel.Stages),
		"mqls-by-month":  3 * len(d.Months),
		"attribution":    2 * len(d.Channels),
		"time-to-mql":    len(d.TimeToMQL),
		"score-by-grade": len(d.Bands) * len(d.Grades),
	}
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
		maxV, maxH := 0.0, 0.0
		for i, v := range values {
			maxV, maxH = max(maxV, v), max(maxH, got.Heights[i])
		}
		for i, v := range values {
			h := got.Heights[i]
			assert.False(t, math.IsNaN(h), c.ID)
			assert.GreaterOrEqual(t, h, 0.0, c.ID)
			assert.Less(t, h, got.Height, c.ID)
			if v == 0 {
				assert.Zero(t, h, "%s bar %d", c.ID, i)
			} else {
				assert.Positive(t, h, "%s bar %d", c.ID, i)
			}
			if maxV > 0 && maxH > 0 {
				assert.InDelta(t, v/maxV, h/maxH, 0.01, "%s bar %d: height out of proportion", c.ID, i)
			}
		}
	}

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
