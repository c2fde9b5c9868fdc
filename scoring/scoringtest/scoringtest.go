// Package scoringtest lets users table-test their own scoring models in a
// few lines: given this lead and these events at this time, expect these
// dimension scores, grades, cell, thresholds and fired rules.
//
//	func TestMyModel(t *testing.T) {
//		m := ... // scoring.Compile(spec, scoring.Options{})
//		scoringtest.Run(t, m, scoringtest.Case{
//			Name:   "vp who downloaded twice",
//			Lead:   leadkit.Lead{Person: leadkit.Person{Seniority: "vp"}},
//			Events: scoringtest.Events(asOf, "download@-2d", "download@-1d"),
//			AsOf:   asOf,
//			Scores: map[string]float64{"fit": 20, "engagement": 16},
//			Fired:  []string{"fit/senior", "engagement/download"},
//		})
//	}
package scoringtest

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/scoring"
)

// Case is one expectation about a model. Empty expectation fields are not
// checked.
type Case struct {
	Name   string
	Lead   leadkit.Lead
	Events []leadkit.Event
	// AsOf is the scoring time; set it; zero means the model's
	// Options.Now (the wall clock by default), which makes a case with
	// decaying rules change from day to day.
	AsOf time.Time
	// Scores maps dimension names to expected fresh scores; Lifetime to
	// expected lifetime scores. Compared within Tolerance (default 1e-9).
	Scores    map[string]float64
	Lifetime  map[string]float64
	Tolerance float64
	// Bands maps dimension names to expected bands.
	Bands map[string]string
	// Cell is the expected matrix cell.
	Cell string
	// Reached and NotReached list thresholds.
	Reached, NotReached []string
	// Fired and NotFired list rules as "dimension/rule" or "rule": a rule
	// fired when it contributes points to the fresh score (scoring.Hit).
	Fired, NotFired []string
	// Err, when set, expects scoring to fail with an error containing it.
	Err string
}

// DefaultLeadID is the ID Check gives a case's lead that has none (a
// scored lead needs an ID).
const DefaultLeadID = "lead"

// Check scores c with m and returns every unmet expectation (empty when
// the case passes).
func Check(m *scoring.Model, c Case) []string {
	if c.Lead.ID == "" {
		c.Lead.ID = DefaultLeadID
	}
	var out []string
	bad := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	// What a case names must be in the model: a negative check with a
	// typo would pass silently.
	thresholds, rules, dims := names(m)
	for _, th := range append(slices.Clone(c.Reached), c.NotReached...) {
		if !slices.Contains(thresholds, th) {
			bad("threshold %q: not in the model (thresholds: %s)", th, strings.Join(thresholds, ", "))
		}
	}
	for _, r := range append(slices.Clone(c.Fired), c.NotFired...) {
		// The same match as a hit's: "rule" or "dimension/rule".
		if !slices.ContainsFunc(rules, func(q [2]string) bool { return r == q[1] || r == q[0]+"/"+q[1] }) {
			var all []string
			for _, q := range rules {
				all = append(all, q[0]+"/"+q[1])
			}
			bad("rule %q: not in the model (rules: %s)", r, strings.Join(all, ", "))
		}
	}
	// Expectations must be numbers a score can meet: NaN never differs
	// from anything under a tolerance check, so the case could not fail.
	if t := c.Tolerance; math.IsNaN(t) || math.IsInf(t, 0) || t < 0 {
		bad("tolerance %v: want a finite number, not negative", t)
	}
	for _, want := range []struct {
		what string
		m    map[string]float64
	}{{"score", c.Scores}, {"lifetime", c.Lifetime}} {
		for _, name := range sortedKeys(want.m) {
			if v := want.m[name]; math.IsNaN(v) || math.IsInf(v, 0) {
				bad("dimension %q: %s %v expected: want a finite number", name, want.what, v)
			}
		}
	}
	for _, d := range sortedKeys(c.Bands) {
		if !slices.Contains(dims, d) {
			bad("dimension %q: not in the model", d)
		}
	}
	// Events sharing an ID would count once (the rest are redeliveries).
	seen := map[string]int{}
	for _, e := range c.Events {
		seen[e.ID]++
	}
	for _, id := range sortedKeys(seen) {
		if seen[id] > 1 {
			bad("event ID %q is given to %d events: all but one would be dropped as redeliveries", id, seen[id])
		}
	}
	if len(out) > 0 {
		return out
	}
	res, err := m.Score(scoring.Input{Lead: c.Lead, Events: c.Events, AsOf: c.AsOf})
	if c.Err != "" {
		if err == nil || !strings.Contains(err.Error(), c.Err) {
			bad("error: got %v, want one containing %q", err, c.Err)
		}
		return out
	}
	if err != nil {
		return []string{fmt.Sprintf("score: %v", err)}
	}
	tol := c.Tolerance
	if tol == 0 {
		tol = 1e-9
	}
	for _, want := range []struct {
		what string
		m    map[string]float64
	}{{"score", c.Scores}, {"lifetime", c.Lifetime}} {
		for _, name := range sortedKeys(want.m) {
			d, ok := res.Dimension(name)
			if !ok {
				bad("dimension %q: not in the model", name)
				continue
			}
			got := d.Score
			if want.what == "lifetime" {
				got = d.Lifetime
			}
			if math.Abs(got-want.m[name]) > tol {
				bad("dimension %q: %s %v, want %v", name, want.what, got, want.m[name])
			}
		}
	}
	for _, name := range sortedKeys(c.Bands) {
		if d, ok := res.Dimension(name); ok && d.Band != c.Bands[name] {
			bad("dimension %q: band %q, want %q", name, d.Band, c.Bands[name])
		}
	}
	if c.Cell != "" && res.Cell != c.Cell {
		bad("cell %q, want %q", res.Cell, c.Cell)
	}
	for _, th := range c.Reached {
		if !res.Reached(th) {
			bad("threshold %q not reached", th)
		}
	}
	for _, th := range c.NotReached {
		if res.Reached(th) {
			bad("threshold %q reached", th)
		}
	}
	fired := func(name string) bool {
		for _, h := range res.Hits {
			if name == h.Rule || name == h.Dimension+"/"+h.Rule {
				return true
			}
		}
		return false
	}
	for _, r := range c.Fired {
		if !fired(r) {
			bad("rule %q did not fire (fired: %s)", r, hits(res))
		}
	}
	for _, r := range c.NotFired {
		if fired(r) {
			bad("rule %q fired", r)
		}
	}
	return out
}

// names returns the model's thresholds, rules ("dimension/rule") and
// dimensions, in model order.
func names(m *scoring.Model) (thresholds []string, rules [][2]string, dims []string) {
	spec := m.Spec()
	for _, th := range spec.Thresholds {
		thresholds = append(thresholds, th.Name)
	}
	for _, d := range spec.Dimensions {
		dims = append(dims, d.Name)
		for _, r := range d.Fit {
			rules = append(rules, [2]string{d.Name, r.Name})
		}
		for _, r := range d.Behavior {
			rules = append(rules, [2]string{d.Name, r.Name})
		}
	}
	return thresholds, rules, dims
}

func hits(res scoring.Result) string {
	var s []string
	for _, h := range res.Hits {
		s = append(s, fmt.Sprintf("%s/%s=%g", h.Dimension, h.Rule, h.Points))
	}
	return strings.Join(s, ", ")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// TB is the part of testing.TB that Run uses.
type TB interface {
	Helper()
	Errorf(format string, args ...any)
}

// Run checks every case and reports unmet expectations with t.Errorf,
// prefixed with the case name.
func Run(t TB, m *scoring.Model, cases ...Case) {
	t.Helper()
	for i, c := range cases {
		name := c.Name
		if name == "" {
			name = fmt.Sprintf("case %d", i+1)
		}
		for _, p := range Check(m, c) {
			t.Errorf("%s: %s", name, p)
		}
	}
}

// Events builds events from short specs "type@offset" relative to asOf,
// where offset is a duration in the library's one grammar
// (leadkit.ParseDuration: "download@-2d", "meeting@-90m", "download@-2w",
// "call@-1d12h"; a leading + or - sets the direction); "type" alone is at
// asOf. Each event gets an ID unique in the process, so the events of
// several calls can be combined. A malformed spec panics: it is test code.
func Events(asOf time.Time, specs ...string) []leadkit.Event {
	out := make([]leadkit.Event, 0, len(specs))
	for _, s := range specs {
		typ, off, _ := strings.Cut(s, "@")
		var d time.Duration
		if off != "" {
			sign := time.Duration(1)
			if rest, ok := strings.CutPrefix(off, "+"); ok {
				off = rest
			} else if rest, ok := strings.CutPrefix(off, "-"); ok {
				off, sign = rest, -1
			}
			v, err := leadkit.ParseDuration(off)
			if err != nil {
				panic(fmt.Sprintf("scoringtest: event %q: %v", s, err))
			}
			d = sign * v
		}
		out = append(out, leadkit.Event{ID: fmt.Sprintf("e%d", eventIDs.Add(1)), Type: typ, Time: asOf.Add(d)})
	}
	return out
}

// eventIDs numbers the events Events makes.
var eventIDs atomic.Int64
