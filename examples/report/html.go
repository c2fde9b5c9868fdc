package main

import (
	"cmp"
	"fmt"
	"html"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/attribution"
	"github.com/leadkit/leadkit/journey"
	"github.com/leadkit/leadkit/sim"
)

// chart is a vertical bar chart, grouped (or stacked) by series, drawn
// as inline SVG next to the table of its numbers.
type chart struct {
	ID, Title, XLabel, YLabel string
	Note                      string
	Series                    []string
	Cats                      []string
	// Vals holds, per category, one value per series; a negative value
	// (an ROI below zero) is a bar down from the zero line.
	Vals    [][]float64
	Stacked bool
	// Low and High, when set, hold per category and series the ends of
	// each value's interval, drawn as a whisker over its bar.
	Low, High [][]float64
	// Target, when set, is drawn as a dashed line across the plot,
	// labelled TargetLabel.
	Target      *float64
	TargetLabel string
	Table       table
}

// table is an HTML table of text cells.
type table struct {
	Head []string
	Rows [][]string
}

// bars is the number of bars the chart draws: one per category and
// series (a zero is a bar of no height).
func (c chart) bars() int { return len(c.Cats) * len(c.Series) }

var palette = []string{"#3b6ea8", "#e08a2c", "#4f9a5a", "#b8495b", "#7a5ea8", "#6b6b6b"}

const (
	svgW, svgH             = 640, 340
	padL, padR, padT, padB = 64, 16, 36, 78
	plotW, plotH           = svgW - padL - padR, svgH - padT - padB
	legendY                = 14
)

// niceMax rounds a maximum up to 1, 2 or 5 times a power of ten.
func niceMax(x float64) float64 {
	if x <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(x)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= x {
			return m * p
		}
	}
	return 10 * p
}

func num(x float64) string {
	if x == math.Trunc(x) && math.Abs(x) < 1e15 {
		return fmt.Sprintf("%.0f", x)
	}
	return fmt.Sprintf("%.1f", x)
}

// scale returns the value axis: from lo to hi in steps of step, lo <= 0
// <= hi, holding every bar (stacked bars summed), whisker and target.
func (c chart) scale() (lo, hi, step float64) {
	for i, row := range c.Vals {
		sum := 0.0
		for j, v := range row {
			if c.Stacked {
				sum += v
				v = sum
			}
			lo, hi = math.Min(lo, v), math.Max(hi, v)
			if c.High != nil {
				hi = math.Max(hi, c.High[i][j])
			}
		}
	}
	if c.Target != nil {
		lo, hi = math.Min(lo, *c.Target), math.Max(hi, *c.Target)
	}
	step = niceMax((hi - lo) / 5)
	lo, hi = math.Floor(lo/step)*step, math.Ceil(hi/step)*step
	if hi == lo {
		hi = lo + step
	}
	return lo, hi, step
}

func (c chart) svg(w *strings.Builder) {
	lo, hi, step := c.scale()
	// y is the height of v on the plot.
	y := func(v float64) float64 { return float64(padT) + float64(plotH)*(hi-v)/(hi-lo) }
	e := html.EscapeString
	fmt.Fprintf(w, `<svg id="%s" xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-labelledby="%s-title">`,
		e(c.ID), svgW, svgH, svgW, svgH, e(c.ID))
	fmt.Fprintf(w, `<title id="%s-title">%s</title>`, e(c.ID), e(c.Title))
	// Grid and y axis ticks.
	for i := 0; i <= int(math.Round((hi-lo)/step)); i++ {
		v := lo + step*float64(i)
		fmt.Fprintf(w, `<line class="grid" x1="%d" y1="%.1f" x2="%d" y2="%.1f"/>`, padL, y(v), padL+plotW, y(v))
		fmt.Fprintf(w, `<text class="tick" x="%d" y="%.1f" text-anchor="end">%s</text>`, padL-6, y(v)+4, num(v))
	}
	fmt.Fprintf(w, `<line class="axis" x1="%d" y1="%d" x2="%d" y2="%d"/>`, padL, padT, padL, padT+plotH)
	fmt.Fprintf(w, `<line class="axis" x1="%d" y1="%d" x2="%d" y2="%d"/>`, padL, padT+plotH, padL+plotW, padT+plotH)
	fmt.Fprintf(w, `<line class="zero" x1="%d" y1="%.1f" x2="%d" y2="%.1f"/>`, padL, y(0), padL+plotW, y(0))
	// Bars, and their whiskers.
	n := max1(len(c.Cats))
	slot := float64(plotW) / float64(n)
	groups := len(c.Series)
	if c.Stacked {
		groups = 1
	}
	bw := slot * 0.8 / float64(max1(groups))
	rotate := len(c.Cats) > 6
	for i, cat := range c.Cats {
		x0 := float64(padL) + slot*float64(i) + slot*0.1
		base := 0.0
		for j, s := range c.Series {
			v := 0.0
			if j < len(c.Vals[i]) {
				v = c.Vals[i][j]
			}
			x, top, bottom := x0+bw*float64(j), y(math.Max(v, 0)), y(math.Min(v, 0))
			if c.Stacked {
				x, top, bottom = x0, y(base+v), y(base)
				base += v
			}
			width := math.Max(bw-1, 1)
			label := num(v)
			if c.Low != nil {
				label += " [" + num(c.Low[i][j]) + ", " + num(c.High[i][j]) + "]"
			}
			fmt.Fprintf(w, `<rect class="bar" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s, %s: %s</title></rect>`,
				x, top, width, bottom-top, palette[j%len(palette)], e(cat), e(s), e(label))
			if c.Low != nil {
				cx, yl, yh := x+width/2, y(c.Low[i][j]), y(c.High[i][j])
				fmt.Fprintf(w, `<path class="whisker" d="M%.1f %.1fV%.1fM%.1f %.1fH%.1fM%.1f %.1fH%.1f"><title>%s, %s: %s</title></path>`,
					cx, yh, yl, cx-4, yh, cx+4, cx-4, yl, cx+4, e(cat), e(s), e(label))
			}
		}
		cx := float64(padL) + slot*(float64(i)+0.5)
		if rotate {
			fmt.Fprintf(w, `<text class="tick" x="%.1f" y="%d" text-anchor="end" transform="rotate(-40 %.1f %d)">%s</text>`, cx, padT+plotH+14, cx, padT+plotH+14, e(cat))
		} else {
			fmt.Fprintf(w, `<text class="tick" x="%.1f" y="%d" text-anchor="middle">%s</text>`, cx, padT+plotH+16, e(cat))
		}
	}
	if c.Target != nil {
		fmt.Fprintf(w, `<line class="target" x1="%d" y1="%.1f" x2="%d" y2="%.1f"/>`, padL, y(*c.Target), padL+plotW, y(*c.Target))
		// Its key, at the top right, clear of the bars and the legend.
		fmt.Fprintf(w, `<line class="target key" x1="%d" y1="%d" x2="%d" y2="%d"/><text class="tick" x="%d" y="%d" text-anchor="end">%s</text>`,
			padL+plotW-28, legendY-4, padL+plotW, legendY-4, padL+plotW-32, legendY, e(c.TargetLabel))
	}
	// Axis labels.
	fmt.Fprintf(w, `<text class="label" x="%d" y="%d" text-anchor="middle">%s</text>`, padL+plotW/2, svgH-8, e(c.XLabel))
	fmt.Fprintf(w, `<text class="label" x="14" y="%d" text-anchor="middle" transform="rotate(-90 14 %d)">%s</text>`, padT+plotH/2, padT+plotH/2, e(c.YLabel))
	// Legend.
	if len(c.Series) > 1 {
		x := padL
		for j, s := range c.Series {
			fmt.Fprintf(w, `<rect class="legend" x="%d" y="%d" width="12" height="12" fill="%s"/><text class="tick" x="%d" y="%d">%s</text>`,
				x, legendY-10, palette[j%len(palette)], x+16, legendY, e(s))
			x += 24 + 8*len(s)
		}
	}
	w.WriteString(`</svg>`)
}

func (t table) html(w *strings.Builder) {
	e := html.EscapeString
	w.WriteString("<table><thead><tr>")
	for _, h := range t.Head {
		fmt.Fprintf(w, "<th>%s</th>", e(h))
	}
	w.WriteString("</tr></thead><tbody>")
	for _, r := range t.Rows {
		w.WriteString("<tr>")
		for i, c := range r {
			class := ""
			if i > 0 {
				class = ` class="n"`
			}
			fmt.Fprintf(w, "<td%s>%s</td>", class, e(c))
		}
		w.WriteString("</tr>")
	}
	w.WriteString("</tbody></table>")
}

func max1(n int) int { return max(n, 1) }

func pct(n, of int) string {
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

// charts lays the data out as the report's charts, in order.
func (d *data) charts() []chart {
	var out []chart
	v := d.V
	month := v.From.Format("January 2006")

	funnel := chart{ID: "funnel", Title: "Stage funnel (whole run)",
		XLabel: "stage", YLabel: "leads", Series: []string{"reached"},
		Note:  "Every lead of the run by the stages it reached (skipping a stage counts as passing it); leads created late in the run have had less time.",
		Table: table{Head: []string{"stage", "entered", "reached", "skipped"}}}
	for _, s := range d.Funnel.Stages {
		funnel.Cats = append(funnel.Cats, s.Stage)
		funnel.Vals = append(funnel.Vals, []float64{float64(s.Reached)})
		funnel.Table.Rows = append(funnel.Table.Rows, []string{s.Stage, fmt.Sprint(s.Entered), fmt.Sprint(s.Reached), fmt.Sprint(s.Skipped)})
	}
	out = append(out, funnel)
	if c, ok := d.diagnosisChart("diagnosis-mql-sal", sim.StageMQL, sim.StageSAL, "SDR"); ok {
		out = append(out, c)
	}
	if c, ok := d.diagnosisChart("diagnosis-sal-sql", sim.StageSAL, sim.StageSQL, "sales rep"); ok {
		out = append(out, c)
	}

	mqls := chart{ID: "mqls-by-month", Title: "MQLs by month: new vs old leads",
		XLabel: "month", YLabel: "MQLs (leads)", Series: []string{"new", "earlier", "old (90 d+)"}, Stacked: true,
		Note:  "New leads were created in the month they became MQLs, earlier ones before it but less than 90 days before the MQL, old ones at least 90 days before; each lead counts once a month. The run starts empty, so its first months have no old leads yet.",
		Table: table{Head: []string{"month", "new", "earlier", "old", "total", "old share"}}}
	for _, m := range d.Months {
		label := m.Month.Format("2006-01")
		total := m.New + m.Earlier + m.Old
		mqls.Cats = append(mqls.Cats, label)
		mqls.Vals = append(mqls.Vals, []float64{float64(m.New), float64(m.Earlier), float64(m.Old)})
		mqls.Table.Rows = append(mqls.Table.Rows, []string{label, fmt.Sprint(m.New), fmt.Sprint(m.Earlier), fmt.Sprint(m.Old), fmt.Sprint(total), pct(m.Old, total)})
	}
	out = append(out, mqls)

	attr := chart{ID: "attribution", Title: "Attribution of " + month + "'s MQLs by channel",
		XLabel: "channel", YLabel: "MQLs credited", Series: []string{"last touch", "Markov"},
		Table: table{Head: []string{"channel", "last touch", "Markov"}}}
	var lt, mk float64
	for _, ch := range d.Channels {
		attr.Cats = append(attr.Cats, ch)
		attr.Vals = append(attr.Vals, []float64{d.LastTouch[ch], d.Markov[ch]})
		attr.Table.Rows = append(attr.Table.Rows, []string{ch, fmt.Sprintf("%.1f", d.LastTouch[ch]), fmt.Sprintf("%.1f", d.Markov[ch])})
		lt, mk = lt+d.LastTouch[ch], mk+d.Markov[ch]
	}
	attr.Table.Rows = append(attr.Table.Rows, []string{"total", fmt.Sprintf("%.1f", lt), fmt.Sprintf("%.1f", mk)})
	out = append(out, attr, d.roiChart())

	ttm := chart{ID: "time-to-mql", Title: "Time to MQL (whole run)",
		XLabel: "days from creation to first MQL", YLabel: "leads", Series: []string{"leads"},
		Table: table{Head: []string{"days", "leads", "share"}}}
	total := 0
	for _, b := range d.TimeToMQL {
		total += b.Leads
	}
	for _, b := range d.TimeToMQL {
		ttm.Cats = append(ttm.Cats, b.Label)
		ttm.Vals = append(ttm.Vals, []float64{float64(b.Leads)})
		ttm.Table.Rows = append(ttm.Table.Rows, []string{b.Label, fmt.Sprint(b.Leads), pct(b.Leads, total)})
	}
	out = append(out, ttm)

	score := chart{ID: "score-by-grade", Title: "Lead score by fit grade (end of run)",
		XLabel: "fit + engagement score band", YLabel: "leads", Series: d.Grades,
		Note: "Leads by fit + engagement at the end of the run (the hand-raise that makes a lead an MQL is left out), per fit grade; the MQL rate is the share of the band's leads that became MQLs."}
	score.Table.Head = []string{"score"}
	for _, g := range d.Grades {
		score.Table.Head = append(score.Table.Head, "grade "+g, "MQL rate")
	}
	for _, b := range d.Bands {
		score.Cats = append(score.Cats, b.Label)
		row := []string{b.Label}
		vals := make([]float64, len(d.Grades))
		for g := range d.Grades {
			vals[g] = float64(b.Leads[g])
			row = append(row, fmt.Sprint(b.Leads[g]), pct(b.MQL[g], b.Leads[g]))
		}
		score.Vals = append(score.Vals, vals)
		score.Table.Rows = append(score.Table.Rows, row)
	}
	out = append(out, score)
	return out
}

// diagnosisChart is one step of the funnel diagnosis: each owner's rate
// with its 95% interval, the team's over every owner, and the step's
// target; ok is false when the diagnosis has no such step.
func (d *data) diagnosisChart(id, from, to, who string) (chart, bool) {
	step, ok := d.Diag.Step(from, to)
	if !ok {
		return chart{}, false
	}
	planted := map[string]float64{}
	for _, p := range d.Truth.SDR.Team {
		planted[p.Name] = p.LogOdds
	}
	for _, p := range d.Truth.Sales {
		planted[p.Name] = p.LogOdds
	}
	rate := from + " → " + to
	c := chart{ID: id, Title: "Funnel diagnosis: " + rate + " by " + who,
		XLabel: who, YLabel: rate + " rate (%)", Series: []string{rate},
		Note: fmt.Sprintf("The leads that reached the funnel before %s (their journeys have had time to end), by the %s who worked them in %s, and the team %s over all of them; "+
			"each rate with its 95%% interval (whiskers), beside the step's target. An owner is below or above the team when its whole interval is; "+
			"the reading says why a rate is low (screening: its leads were worked and not converted; follow-up: they were not worked, or late). "+
			"The simulator planted the skills in the last column (log-odds of converting).", d.DiagTo.Format("2006-01-02"), who, from, cmp.Or(step.Team, "-")),
		Table: table{Head: []string{who, "leads", "converted", "rate", "95% interval", "vs team", "calls per lead", "first call (median)", "reading", "planted skill"}}}
	if step.Target != nil {
		t := 100 * *step.Target
		c.Target, c.TargetLabel = &t, fmt.Sprintf("target %.0f%%", t)
	}
	add := func(name string, r leadkit.Rate, vs string, work journey.OwnerWork, reading, skill string) {
		if r.Rate == nil {
			return // no leads: no data
		}
		c.Cats = append(c.Cats, name)
		c.Vals = append(c.Vals, []float64{100 * *r.Rate})
		c.Low = append(c.Low, []float64{100 * *r.Low})
		c.High = append(c.High, []float64{100 * *r.High})
		perStay := "-"
		if work.PerStay != nil {
			perStay = fmt.Sprintf("%.2f", *work.PerStay)
		}
		c.Table.Rows = append(c.Table.Rows, []string{name, fmt.Sprint(r.Base), fmt.Sprint(r.Count), fmt.Sprintf("%.1f%%", 100**r.Rate),
			fmt.Sprintf("%.1f%% – %.1f%%", 100**r.Low, 100**r.High), vs, perStay, daysOf(work.FirstMedian), reading, skill})
	}
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
		add(cmp.Or(o.Owner, "(nobody)"), o.Rate, vs, o.Work, string(o.Reading), skill)
	}
	add("team "+cmp.Or(step.Team, "-"), step.Rate, "", step.Work, "", "")
	return c, true
}

// roiChart is the ROI per function and quarter, with the table of its
// cost and return.
func (d *data) roiChart() chart {
	rep := d.ROI.Report
	var funcs []string
	for _, k := range rep.Keys {
		funcs = append(funcs, k.Key)
	}
	var staff []string
	for _, s := range d.Staff {
		staff = append(staff, fmt.Sprintf("%s %g × %s", s.Function, s.Heads, money0(s.PerQuarter)))
	}
	c := chart{ID: "roi-by-quarter", Title: "ROI per function and quarter (whole run)",
		XLabel: "quarter", YLabel: "ROI: (won value − cost) / cost", Series: append(funcs, "all"),
		Note: "Cost = spend (the simulator's monthly channel costs, rolled up per function) + people, which the demo assumes " +
			"(the simulator plays no marketers): heads × loaded cost per head per quarter: " + strings.Join(staff, ", ") + ". " +
			"MQLs and deals won are credited by Markov to marketing's touches; the won value is that of the deals won in the quarter, " +
			"so the first quarter of a run that starts empty pays for leads that close later. The SDR team's calls follow the MQL and " +
			"are not credited: its ROI is −1, its cost is in the totals. Credit is not effect.",
		Table: table{Head: []string{"function", "quarter", "spend", "people", "heads", "cost", "MQLs", "cost per MQL", "won", "won value", "ROI", "MQLs per head"}}}
	row := func(key, period string, x attribution.ROIRow) {
		mql, _ := x.Stage(sim.StageMQL + "/markov")
		won, _ := x.Stage(sim.StageWon + "/markov")
		cost := money0(x.Cost)
		if x.CostUnknown {
			cost = "unknown"
		}
		c.Table.Rows = append(c.Table.Rows, []string{key, period, money0(x.Spend), money0(x.PeopleCost), fmt.Sprintf("%g", x.Headcount), cost,
			fmt.Sprintf("%.1f", mql.Conversions), ratioOf(mql.CostPer, "%.0f"), fmt.Sprintf("%.1f", won.Conversions), money0(won.Value),
			ratioOf(won.ROI, "%.2f"), ratioOf(mql.PerHead, "%.1f")})
	}
	for _, p := range rep.Periods {
		c.Cats = append(c.Cats, p.Period)
		var vals []float64
		for _, f := range funcs {
			x, _ := rep.Row(f, p.Period)
			row(f, p.Period, x)
			won, _ := x.Stage(sim.StageWon + "/markov")
			vals = append(vals, value(won.ROI))
		}
		row("all", p.Period, p)
		won, _ := p.Stage(sim.StageWon + "/markov")
		c.Vals = append(c.Vals, append(vals, value(won.ROI)))
	}
	for _, x := range rep.Keys {
		row(x.Key, "run", x)
	}
	row("all", "run", rep.Total)
	return c
}

// value is a ratio's value, 0 for no data (the table says "-").
func value(p *float64) float64 {
	if p == nil {
		return 0
	}
	return *p
}

// ratioOf writes a ratio in format, "-" for no data.
func ratioOf(p *float64, format string) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprintf(format, *p)
}

// money0 writes an amount rounded, with thousands separators.
func money0(x float64) string {
	n := int64(math.Round(x))
	if n < 0 {
		return "-" + money0(-x)
	}
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// conversionTable is the stage-to-stage conversion of the funnel.
func (d *data) conversionTable() table {
	t := table{Head: []string{"from", "to", "base", "converted", "rate", "median time", "mean time"}}
	f := d.Funnel
	for i := 1; i < len(f.Stages); i++ {
		c, ok := f.Conversion(f.Stages[i-1].Stage, f.Stages[i].Stage)
		if !ok {
			continue
		}
		t.Rows = append(t.Rows, []string{c.From, c.To, fmt.Sprint(c.Base), fmt.Sprint(c.Converted),
			fmt.Sprintf("%.1f%%", 100*c.Rate), days(time.Duration(c.Median)), days(time.Duration(c.Mean))})
	}
	return t
}

// goldenTable is the top golden paths.
func (d *data) goldenTable() table {
	t := table{Head: []string{"path (touch types)", "MQLs with it", "others with it", "confidence", "lift", ""}}
	for _, g := range d.Golden {
		mark := ""
		if slices.Equal(g.Items, d.Planted) {
			mark = "planted by the simulator"
		}
		t.Rows = append(t.Rows, []string{strings.Join(g.Items, " → "), fmt.Sprint(g.Converted), fmt.Sprint(g.Other),
			fmt.Sprintf("%.1f%%", 100*g.Confidence), fmt.Sprintf("%.2f", g.Lift), mark})
	}
	return t
}

const style = `
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:24px;color:#222;background:#fff;max-width:1240px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 6px}p{margin:4px 0;color:#555;font-size:13px}
section{border-top:1px solid #ddd;padding-top:4px}
.row{display:flex;flex-wrap:wrap;gap:24px;align-items:flex-start}
svg{background:#fafafa;border:1px solid #e4e4e4;flex:none}
svg .grid{stroke:#e2e2e2;stroke-width:1}svg .axis,svg .zero{stroke:#444;stroke-width:1}
svg .whisker{stroke:#222;stroke-width:1.2;fill:none}svg .target{stroke:#b8495b;stroke-width:1.5;stroke-dasharray:6 4}
svg text{font-size:11px;fill:#333}svg .label{font-size:12px;font-weight:600}
table{border-collapse:collapse;font-size:12px}th,td{border:1px solid #ddd;padding:3px 8px}th{background:#f0f0f0;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}
`

// write writes the report as one self-contained HTML page.
func (d *data) write(w io.Writer) error {
	var b strings.Builder
	e := html.EscapeString
	v := d.V
	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>leadkit lifecycle report</title><style>")
	b.WriteString(style)
	b.WriteString("</style></head><body>\n")
	fmt.Fprintf(&b, "<h1>Lifecycle verification of %s</h1>\n", e(v.From.Format("January 2006")))
	fmt.Fprintf(&b, "<p>Simulated business (package sim, seed %d): %d leads over %d months from %s; %d engine leads, %d timelines. Verified period %s to %s.</p>\n",
		d.Config.Seed, d.Config.Leads, d.Config.Months, d.Config.Start.Format("2006-01-02"), v.Leads, v.Timelines,
		v.From.Format("2006-01-02"), v.To.Format("2006-01-02"))
	section := func(title, note string, body func()) {
		fmt.Fprintf(&b, "<section><h2>%s</h2>", e(title))
		if note != "" {
			fmt.Fprintf(&b, "<p>%s</p>", e(note))
		}
		body()
		b.WriteString("</section>\n")
	}
	charts := d.charts()
	for _, c := range charts {
		section(c.Title, c.Note, func() {
			b.WriteString(`<div class="row">`)
			c.svg(&b)
			c.Table.html(&b)
			b.WriteString(`</div>`)
		})
		if c.ID == "funnel" {
			section("Stage conversion", "Stage-to-stage conversion of every lead of the run, with the time it took.", func() {
				d.conversionTable().html(&b)
			})
		}
		if c.ID == "attribution" {
			section("Top golden paths to MQL (whole run)", "Touch types in order (gaps allowed, up to two) before the first MQL, among the leads that became MQLs, ranked as journey.GoldenPaths ranks them; the simulator's planted path is marked.", func() {
				d.goldenTable().html(&b)
			})
		}
	}
	b.WriteString("</body></html>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// daysOf writes a duration that may be missing (no data: "-").
func daysOf(d *leadkit.Duration) string {
	if d == nil {
		return "-"
	}
	return days(time.Duration(*d))
}
