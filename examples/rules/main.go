// Command rules scores a few sample leads with a scoring model kept as a
// YAML file under version control, the way a marketing-ops team owns its
// rules: model.yaml holds the rules (commented for marketers), and
// rules_test.go holds the model's own table tests, written with
// scoring/scoringtest, that every change to the rules must pass.
//
//	go run ./examples/rules
//	go test ./examples/rules/
//
// For each lead it prints the score of each dimension with its grade, the
// matrix cell, whether the lead is an MQL (and if not, how many points it
// lacks and the best way to get them), and every rule that gave points.
// Scores are computed as of a fixed time, so the output never changes.
package main

import (
	_ "embed"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/scoring"
)

//go:embed model.yaml
var modelYAML []byte

// asOf is the fixed "now" of the demo (a Monday, UTC).
var asOf = time.Date(2026, 3, 16, 9, 0, 0, 0, time.UTC)

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "rules:", err)
		os.Exit(1)
	}
}

// loadModel parses and compiles model.yaml: a typo, an unknown field or a
// bad expression fails here, with every problem and its location.
func loadModel() (*scoring.Model, error) {
	spec, err := scoring.ParseModel(modelYAML)
	if err != nil {
		return nil, fmt.Errorf("model.yaml: %w", err)
	}
	m, err := scoring.Compile(spec, scoring.Options{})
	if err != nil {
		return nil, fmt.Errorf("model.yaml: %w", err)
	}
	return m, nil
}

// daysAgo is a time d days before asOf.
func daysAgo(d float64) time.Time { return asOf.Add(-time.Duration(d * float64(24*time.Hour))) }

// sample is a lead with its events.
type sample struct {
	lead   leadkit.Lead
	events []leadkit.Event
}

// ev builds an event of the lead; content is a URL path or an asset name.
func ev(id, typ, content string, at time.Time) leadkit.Event {
	return leadkit.Event{ID: id, Type: typ, Content: content, Time: at}
}

func samples() []sample {
	return []sample{
		{
			// The ideal customer, and busy: an MQL.
			lead: leadkit.Lead{ID: "dana", Person: leadkit.Person{
				FirstName: "Dana", LastName: "Whitfield", Email: "dana@northwind.io",
				Title: "VP Marketing", Seniority: "vp", Country: "US",
			}, Company: leadkit.Company{
				Name: "Northwind Analytics", Industry: "Software", Country: "US",
				Employees: 520, Revenue: 80e6,
			}},
			events: []leadkit.Event{
				ev("d1", leadkit.EventDownload, "/resources/state-of-b2b-2026.pdf", daysAgo(90)),
				ev("d2", leadkit.EventWebinarRegistered, "webinar: scoring that sales trusts", daysAgo(10)),
				ev("d3", leadkit.EventWebinarAttended, "webinar: scoring that sales trusts", daysAgo(8)),
				ev("d4", leadkit.EventEmailClicked, "newsletter march", daysAgo(3)),
				ev("d5", leadkit.EventPageView, "/pricing", daysAgo(2)),
			},
		},
		{
			// A smaller company, but a lot of buying signals: an MQL on
			// engagement.
			lead: leadkit.Lead{ID: "tom", Person: leadkit.Person{
				FirstName: "Tom", LastName: "Becker", Email: "tom@maplecloud.ca",
				Title: "Marketing Manager", Seniority: "manager", Country: "CA",
			}, Company: leadkit.Company{
				Name: "Maple Cloud", Industry: "Internet", Country: "CA", Employees: 80, Revenue: 9e6,
			}},
			events: []leadkit.Event{
				ev("t1", leadkit.EventDownload, "/resources/mql-playbook.pdf", daysAgo(21)),
				ev("t2", leadkit.EventOfflineEvent, "SaaStr booth", daysAgo(14)),
				ev("t3", leadkit.EventPageView, "/pricing", daysAgo(12)),
				ev("t4", leadkit.EventPageView, "/pricing", daysAgo(4)),
				ev("t5", leadkit.EventPageView, "/pricing#enterprise", daysAgo(4)), // same week: not counted
			},
		},
		{
			// A perfect fit who has not engaged lately: A4, nurture.
			lead: leadkit.Lead{ID: "priya", Person: leadkit.Person{
				FirstName: "Priya", LastName: "Raman", Email: "priya.raman@harbourbank.co.uk",
				Title: "Director of IT", Seniority: "director", Country: "GB",
			}, Company: leadkit.Company{
				Name: "Harbour Bank", Industry: "Financial Services", Country: "GB",
				Employees: 12000, Revenue: 4e9,
			}},
			events: []leadkit.Event{
				ev("p1", leadkit.EventOfflineEvent, "London roadshow", daysAgo(200)),
				ev("p2", leadkit.EventEmailClicked, "newsletter january", daysAgo(40)), // outside the 30-day window
				ev("p3", leadkit.EventEmailClicked, "newsletter march", daysAgo(5)),
			},
		},
		{
			// Engaged, then unsubscribed: the penalty keeps the lead out.
			lead: leadkit.Lead{ID: "marco", Person: leadkit.Person{
				FirstName: "Marco", LastName: "Klein", Email: "m.klein@fernlicht.de",
				Title: "Head of Demand Generation", Seniority: "director", Country: "DE",
			}, Company: leadkit.Company{
				Name: "Fernlicht GmbH", Industry: "Software", Country: "DE", Employees: 300, Revenue: 40e6,
			}},
			events: []leadkit.Event{
				ev("m1", leadkit.EventDownload, "/resources/abm-guide.pdf", daysAgo(30)),
				ev("m2", leadkit.EventWebinarAttended, "webinar: abm in practice", daysAgo(20)),
				ev("m3", leadkit.EventUnsubscribed, "", daysAgo(1)),
			},
		},
		{
			// A student with a personal mailbox: grade D whatever they do.
			lead: leadkit.Lead{ID: "sam", Person: leadkit.Person{
				FirstName: "Sam", LastName: "Ortiz", Email: "sam.ortiz@gmail.com",
				Title: "Marketing Student", Country: "US",
			}},
			events: []leadkit.Event{
				ev("s1", leadkit.EventDownload, "/resources/state-of-b2b-2026.pdf", daysAgo(6)),
				ev("s2", leadkit.EventDownload, "/resources/mql-playbook.pdf", daysAgo(5)),
				ev("s3", leadkit.EventDownload, "/resources/abm-guide.pdf", daysAgo(4)),
				ev("s4", leadkit.EventDownload, "/resources/lead-routing.pdf", daysAgo(3)),
				ev("s5", leadkit.EventWebinarRegistered, "webinar: scoring that sales trusts", daysAgo(2)),
			},
		},
	}
}

// run scores the samples and writes the report to w.
func run(w io.Writer) error {
	m, err := loadModel()
	if err != nil {
		return err
	}
	// The floor and cap of each dimension, to tell the reader when the
	// rules add up to more (or less) than the score.
	limits := map[string]scoring.DimensionSpec{}
	for _, d := range m.Spec().Dimensions {
		limits[d.Name] = d
	}
	fmt.Fprintf(w, "model %s %s, scored as of %s\n", m.Name(), m.Version(), asOf.Format("2006-01-02 15:04 MST"))
	fmt.Fprintln(w, "(behavior rules: occurrences counted, and lifetime points: without decay, windows or recency bonus)")
	for _, s := range samples() {
		in := scoring.Input{Lead: s.lead, Events: s.events, AsOf: asOf}
		res, err := m.Score(in)
		if err != nil {
			return err
		}
		p, c := s.lead.Person, s.lead.Company
		fmt.Fprintf(w, "\n%s %s <%s>, %s", p.FirstName, p.LastName, p.Email, p.Title)
		if c.Name != "" {
			fmt.Fprintf(w, ", %s (%d people, %s, %s)", c.Name, c.Employees, c.Industry, c.Country)
		}
		fmt.Fprintf(w, ", %d events\n", len(s.events))

		rules := map[string]float64{} // what the rules of each dimension add up to
		for _, h := range res.Hits {
			rules[h.Dimension] += h.Points
		}
		for _, d := range res.Dimensions {
			line := fmt.Sprintf("  %-11s %6.1f  %-2s", d.Name, d.Score, d.Band)
			spec := limits[d.Name]
			switch sum := rules[d.Name]; {
			case spec.Max != nil && sum > d.Score:
				line += fmt.Sprintf("  (rules add up to %.1f, capped at %g)", sum, *spec.Max)
			case spec.Min != nil && sum < d.Score:
				line += fmt.Sprintf("  (rules add up to %.1f, floored at %g)", sum, *spec.Min)
			}
			fmt.Fprintln(w, strings.TrimRight(line, " "))
		}
		mql := "no"
		if res.Reached("mql") {
			mql = "yes"
		}
		fmt.Fprintf(w, "  cell %s, MQL: %s", res.Cell, mql)
		if mql == "no" {
			gap, err := m.WhyNot(in, scoring.Target{Threshold: "mql"})
			if err != nil {
				return err
			}
			fmt.Fprintf(w, " (%.1f points short", gap.Missing)
			for _, sg := range gap.Suggestions {
				// Only what the lead can do next: WhyNot also lists fit
				// rules (such as becoming a VP).
				if sg.Blocked == "" && sg.Kind == scoring.KindBehavior {
					fmt.Fprintf(w, "; best next action: %s %+.1f", sg.Rule, sg.Gain)
					break
				}
			}
			fmt.Fprint(w, ")")
		}
		fmt.Fprintln(w)
		fmt.Fprintln(w, "  points:")
		for _, h := range res.Hits {
			fmt.Fprintf(w, "    %-10s %-20s %+7.1f", h.Dimension, h.Rule, h.Points)
			if h.Kind == scoring.KindBehavior {
				fmt.Fprintf(w, "  (%d counted, lifetime %+.1f)", h.Count, h.Lifetime)
			}
			fmt.Fprintln(w)
		}
	}
	return nil
}
