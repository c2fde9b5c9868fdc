// Command quickstart is leadkit's in-memory demo: it defines a lead
// lifecycle (the classic stages plus TAL between MQL and SAL), moves a few
// leads through it over a simulated month, and prints their histories, the
// stage funnel, why a lead has not qualified yet, who is overdue, and how
// many of the month's MQLs were old leads.
//
//	go run ./examples/quickstart
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/leadkit/leadkit/journey"
	"github.com/leadkit/leadkit/stage"
)

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

// clock is the simulated time the demo moves forward.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) wait(d time.Duration)    { c.t = c.t.Add(d) }
func (c *clock) day(n int) time.Duration { return time.Duration(n) * 24 * time.Hour }

func run(w io.Writer) error {
	ctx := context.Background()
	clk := &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}

	// 1. The model: the classic lifecycle, with TAL inserted so the
	// MQL -> TAL conversion measures the SDR team, and a stricter
	// qualification guard.
	def, err := stage.Classic().InsertBetween(stage.Stage{
		Name: "TAL", Label: "Teleprospecting Accepted Lead", Category: stage.Sales, Team: "sdr", SLA: clk.day(3),
	}, "MQL", "SAL")
	if err != nil {
		return err
	}
	def.Transitions[0].Guard = `score >= 100 && grade in ["A", "B"]`

	var notices []string
	m, err := stage.New(def, stage.Options{
		Now: clk.now,
		OnCommit: func(_ context.Context, c stage.Change) {
			if c.To == "MQL" {
				notices = append(notices, fmt.Sprintf("%s: notify sales, %s is an MQL", c.At.Format("Jan 02"), c.ID))
			}
		},
	})
	if err != nil {
		return err
	}

	// 2. Leads arrive and move. Scoring feeds facts to Advance; people fire
	// manual transitions by name.
	type step struct {
		day    int
		lead   string
		action string // "start", "score:<n>:<grade>", or a transition name
		reason string
	}
	script := []step{
		{0, "ada", "start", ""}, {0, "bo", "start", ""}, {0, "cy", "start", ""}, {1, "dee", "start", ""}, {2, "eli", "start", ""},
		{3, "ada", "score:120:A", ""}, {4, "bo", "score:150:B", ""}, {5, "cy", "score:130:C", ""}, {6, "dee", "score:110:A", ""},
		{5, "ada", "accept", ""}, {6, "ada", "tal_to_sal", ""}, {9, "ada", "qualify_sql", ""},
		{7, "bo", "accept", ""}, {12, "bo", "recycle", "not_ready"},
		{14, "ada", "create_opportunity", ""}, {24, "ada", "win", ""},
		{20, "eli", "disqualify", "student"},
	}
	// Run the script in time order.
	for d := 0; d <= 30; d++ {
		for _, s := range script {
			if s.day != d {
				continue
			}
			clk.t = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC).Add(clk.day(d))
			lead := stage.Lead(s.lead)
			switch {
			case s.action == "start":
				_, err = m.Start(ctx, lead, stage.StartOptions{Actor: "web-form"})
			case strings.HasPrefix(s.action, "score:"):
				var score float64
				var grade string
				fmt.Sscanf(strings.ReplaceAll(s.action[len("score:"):], ":", " "), "%g %s", &score, &grade)
				_, _, err = m.Advance(ctx, lead, stage.Facts{"score": score, "grade": grade}, stage.Request{Actor: "scoring"})
			default:
				_, err = m.Fire(ctx, lead, s.action, stage.Request{Actor: "team", Reason: s.reason})
			}
			if err != nil {
				return fmt.Errorf("day %d, %s %s: %w", d, s.lead, s.action, err)
			}
		}
	}
	clk.t = time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)

	// A manual transition the model does not allow is refused, and nothing
	// changes.
	if _, err := m.Fire(ctx, stage.Lead("cy"), "win", stage.Request{}); err != nil {
		fmt.Fprintf(w, "refused: %v\n\n", err)
	}

	// 3. Histories.
	fmt.Fprintln(w, "== Histories")
	for _, id := range []string{"ada", "bo", "cy", "dee", "eli"} {
		h, err := m.History(ctx, stage.Lead(id))
		if err != nil {
			return err
		}
		var parts []string
		for _, e := range h {
			p := e.At.Format("Jan 02") + " " + e.To
			if e.Reason != "" {
				p += " (" + e.Reason + ")"
			}
			parts = append(parts, p)
		}
		fmt.Fprintf(w, "%-4s %s\n", id, strings.Join(parts, " -> "))
	}
	for _, n := range notices {
		fmt.Fprintln(w, n)
	}

	// 4. The funnel.
	f, err := m.Funnel(ctx, stage.FunnelOptions{})
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "\n== Funnel (reached = entered the stage or a later one)")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "stage\tentered\treached\tto next\tmedian time")
	for i, s := range f.Stages {
		next := ""
		if i+1 < len(f.Stages) {
			c, _ := f.Conversion(s.Stage, f.Stages[i+1].Stage)
			next = fmt.Sprintf("%d/%d (%.0f%%)\t%s", c.Converted, c.Base, c.Rate*100, c.Median)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\n", s.Stage, s.Entered, s.Reached, next)
	}
	tw.Flush()

	// 5. Why has cy not qualified?
	fmt.Fprintln(w, "\n== Why is cy not an MQL yet?")
	ex, err := m.WhyNotYet(ctx, stage.Lead("cy"), stage.Facts{"score": 130, "grade": "C"})
	if err != nil {
		return err
	}
	for _, e := range ex {
		for _, c := range e.Blocked {
			fmt.Fprintf(w, "%s -> %s blocked by `%s` (facts %v)\n", e.Transition, e.To, c.Expr, c.Facts)
		}
	}

	// 6. SLA breaches now.
	fmt.Fprintln(w, "\n== Overdue on", clk.now().Format("Jan 02"))
	od, err := m.Overdue(ctx, clk.now())
	if err != nil {
		return err
	}
	for _, o := range od {
		fmt.Fprintf(w, "%s in %s for %s (SLA %s)\n", o.Record.ID, o.Record.Stage, o.InStage, o.SLA)
	}

	// 7. Old leads. fay was imported a year ago and qualified in March;
	// gus was an MQL in January, was recycled, and qualified again in
	// March. Imports and replays record changes at the time they happened
	// (StartOptions.At, Request.At).
	at := func(y int, mo time.Month, d int) time.Time { return time.Date(y, mo, d, 9, 0, 0, 0, time.UTC) }
	hot := stage.Facts{"score": 140, "grade": "A"}
	if _, err := m.Start(ctx, stage.Lead("fay"), stage.StartOptions{At: at(2025, 3, 10), Actor: "import"}); err != nil {
		return err
	}
	if _, _, err := m.Advance(ctx, stage.Lead("fay"), hot, stage.Request{At: at(2026, 3, 18), Actor: "scoring"}); err != nil {
		return err
	}
	if _, err := m.Start(ctx, stage.Lead("gus"), stage.StartOptions{At: at(2026, 1, 10), Stage: "MQL", Actor: "import"}); err != nil {
		return err
	}
	if _, err := m.Fire(ctx, stage.Lead("gus"), "recycle", stage.Request{At: at(2026, 2, 2), Reason: "timing", Actor: "import"}); err != nil {
		return err
	}
	if _, _, err := m.Advance(ctx, stage.Lead("gus"), hot, stage.Request{At: at(2026, 3, 20), Actor: "scoring"}); err != nil {
		return err
	}
	// Every history as visits; Reach adds the stages a lead skipped (only
	// those: gus's January MQL does not make him a March one again).
	var visits []stage.Visit
	created := map[string]time.Time{}
	err = stage.ScanHistories(ctx, m.Store(), m.Pipeline(), func(k stage.Key, h []stage.Entry) error {
		visits = append(visits, stage.Visits(h)...)
		created[k.ID] = h[0].At
		return nil
	})
	if err != nil {
		return err
	}
	if visits, err = stage.Reach(visits, m.FunnelStages()); err != nil {
		return err
	}
	sa, err := journey.SourceAge(nil, visits, created, "MQL", journey.SourceAgeOptions{From: at(2026, 3, 1).Truncate(24 * time.Hour), To: at(2026, 4, 1).Truncate(24 * time.Hour)})
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "\n== March MQLs and old leads")
	fmt.Fprintf(w, "%d MQLs: %d created before March (%.0f%%); %d first-time, %d back again\n",
		sa.Leads, sa.Earlier, 100*sa.EarlierShare, sa.FirstTime, sa.Repeat)
	return nil
}
