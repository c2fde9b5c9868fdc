package main

import (
	"bytes"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/scoring/scoringtest"
)

// The model's own table tests: one case per rule of thumb the team agreed
// on, in words a marketer can check against model.yaml. A change to the
// rules that breaks a case is a change of policy: change the case in the
// same pull request, and say why.

// halfLife is the engagement decay of model.yaml, in days.
const halfLife = 90

// decayed is what points earned days ago are worth now.
func decayed(points, days float64) float64 { return points * math.Exp2(-days/halfLife) }

// vp is a VP at a 500-person software company (with a business e-mail,
// country unknown): fit 25 (vp) + 15 (mid-market) + 10 (software) = 50.
func vp() leadkit.Lead {
	return leadkit.Lead{
		Person:  leadkit.Person{Title: "VP Sales", Seniority: "vp", Email: "jo@acme-soft.com"},
		Company: leadkit.Company{Employees: 500, Industry: "Software"},
	}
}

// cmo is the ideal customer: every fit rule that can fire does, 85 points
// capped at 60.
func cmo() leadkit.Lead {
	return leadkit.Lead{
		Person: leadkit.Person{Title: "Chief Marketing Officer", Seniority: "c_level",
			Email: "ann@bigfin.com", Country: "US"},
		Company: leadkit.Company{Employees: 8000, Industry: "Financial Services", Revenue: 2e9},
	}
}

// student is a student with a gmail address: -40 - 20 = -60.
func student() leadkit.Lead {
	return leadkit.Lead{Person: leadkit.Person{Title: "Student", Email: "kim1999@gmail.com"}}
}

// withPerson returns l with f applied to its person.
func withPerson(l leadkit.Lead, f func(*leadkit.Person)) leadkit.Lead { f(&l.Person); return l }

// withCompany returns l with f applied to its company.
func withCompany(l leadkit.Lead, f func(*leadkit.Company)) leadkit.Lead { f(&l.Company); return l }

// visit is a page view of path days before asOf. scoringtest.Events only
// sets a type and a time, so events with content are written out; each
// needs its own ID (events with the same ID count once).
func visit(id, path string, days float64) leadkit.Event {
	return leadkit.Event{ID: id, Type: leadkit.EventPageView, Content: path, Time: asOf.Add(-time.Duration(days * float64(24*time.Hour)))}
}

// events is scoringtest.Events at the model's as-of time.
func events(specs ...string) []leadkit.Event { return scoringtest.Events(asOf, specs...) }

// repeat is n copies of the event spec s.
func repeat(n int, s string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

func cases() []scoringtest.Case {
	return []scoringtest.Case{
		// ---------------------------------------------------- fit
		{
			Name:       "a VP at a 500-person software company is an A on fit alone, not an MQL",
			Lead:       vp(),
			Scores:     map[string]float64{"fit": 50, "engagement": 0, "total": 50},
			Bands:      map[string]string{"fit": "A", "engagement": "4"},
			Cell:       "A4",
			NotReached: []string{"mql"},
			Fired:      []string{"fit/vp", "fit/mid-market", "fit/target industry"},
			NotFired:   []string{"fit/buyer title", "fit/core market"},
		},
		{
			Name:    "a VP at a 500-person software company who attended a webinar last week is an MQL",
			Lead:    vp(),
			Events:  events("webinar_registered@-9d", "webinar_attended@-7d"),
			Scores:  map[string]float64{"engagement": decayed(5, 9) + decayed(25, 7)},
			Bands:   map[string]string{"engagement": "2"},
			Cell:    "A2",
			Reached: []string{"mql"},
			Fired:   []string{"webinar registration", "webinar attendance"},
		},
		{
			Name:     "a student with gmail is grade D",
			Lead:     student(),
			Scores:   map[string]float64{"fit": -60},
			Bands:    map[string]string{"fit": "D"},
			Fired:    []string{"fit/student or intern", "fit/personal email"},
			NotFired: []string{"fit/small company"},
		},
		{
			Name: "a student with gmail who downloads and attends everything is never an MQL",
			Lead: student(),
			Events: events(slices.Concat(
				repeat(5, "download@-1d"), repeat(3, "webinar_attended@-1d"), repeat(3, "offline_event@-1d"))...),
			Scores:     map[string]float64{"engagement": 100, "total": 40},
			Bands:      map[string]string{"fit": "D", "engagement": "1"},
			Cell:       "D1",
			NotReached: []string{"mql"},
		},
		{
			Name:   "a marketing intern is an intern (and has a buyer title)",
			Lead:   leadkit.Lead{Person: leadkit.Person{Title: "Marketing Intern", Email: "lu@acme-soft.com"}},
			Scores: map[string]float64{"fit": 10 - 40},
			Fired:  []string{"fit/student or intern", "fit/buyer title"},
		},
		{
			Name:     "the Head of International Sales is not an intern",
			Lead:     withPerson(vp(), func(p *leadkit.Person) { p.Title = "Head of International Sales" }),
			Scores:   map[string]float64{"fit": 50},
			NotFired: []string{"fit/student or intern"},
		},
		{
			Name:   "a head of demand generation is a buyer",
			Lead:   withPerson(vp(), func(p *leadkit.Person) { p.Title = "Head of Demand Generation"; p.Seniority = "director" }),
			Scores: map[string]float64{"fit": 15 + 10 + 15 + 10},
			Fired:  []string{"fit/director", "fit/buyer title"},
		},
		{
			Name:       "fit is capped at 60, so the ideal customer is no MQL without engagement",
			Lead:       cmo(),
			Scores:     map[string]float64{"fit": 60, "total": 60},
			Bands:      map[string]string{"fit": "A"},
			NotReached: []string{"mql"},
			Fired: []string{"fit/c-level", "fit/buyer title", "fit/core market", "fit/enterprise",
				"fit/target industry", "fit/revenue 50M+"},
		},
		{
			Name:    "one download today makes the ideal customer an MQL (70 is enough)",
			Lead:    cmo(),
			Events:  events("download"),
			Scores:  map[string]float64{"total": 70},
			Cell:    "A3",
			Reached: []string{"mql"},
			Fired:   []string{"engagement/download"},
		},
		{
			Name:     "a 199-person company is a growth company",
			Lead:     withCompany(vp(), func(c *leadkit.Company) { c.Employees = 199 }),
			Scores:   map[string]float64{"fit": 25 + 5 + 10},
			Fired:    []string{"fit/growth company"},
			NotFired: []string{"fit/mid-market"},
		},
		{
			Name:     "a 200-person company is mid-market",
			Lead:     withCompany(vp(), func(c *leadkit.Company) { c.Employees = 200 }),
			Fired:    []string{"fit/mid-market"},
			NotFired: []string{"fit/growth company"},
		},
		{
			Name:   "a 12-person agency is a small company",
			Lead:   withCompany(vp(), func(c *leadkit.Company) { c.Employees = 12; c.Industry = "Marketing agency" }),
			Scores: map[string]float64{"fit": 25 - 5},
			Bands:  map[string]string{"fit": "C"},
			Fired:  []string{"fit/small company"},
		},
		{
			Name:     "an unknown company size scores no size points",
			Lead:     withCompany(vp(), func(c *leadkit.Company) { c.Employees = 0 }),
			Scores:   map[string]float64{"fit": 25 + 10},
			NotFired: []string{"fit/small company", "fit/growth company", "fit/mid-market", "fit/enterprise"},
		},
		{
			Name:   "revenue counts from 50 million",
			Lead:   withCompany(vp(), func(c *leadkit.Company) { c.Revenue = 50e6 }),
			Scores: map[string]float64{"fit": 55},
			Fired:  []string{"fit/revenue 50M+"},
		},
		{
			Name:     "revenue under 50 million does not",
			Lead:     withCompany(vp(), func(c *leadkit.Company) { c.Revenue = 49.9e6 }),
			NotFired: []string{"fit/revenue 50M+"},
		},
		{
			Name:   "a lower-case country code counts",
			Lead:   withPerson(vp(), func(p *leadkit.Person) { p.Country = "de" }),
			Scores: map[string]float64{"fit": 60},
			Fired:  []string{"fit/core market"},
		},
		{
			Name: "a country we do not serve is never an MQL, however engaged",
			Lead: withPerson(cmo(), func(p *leadkit.Person) { p.Country = "RU" }),
			Events: events(slices.Concat(
				repeat(5, "download@-1d"), repeat(3, "webinar_attended@-1d"), repeat(3, "offline_event@-1d"))...),
			Scores:     map[string]float64{"fit": 85 - 10 - 200, "engagement": 100},
			Bands:      map[string]string{"fit": "D"},
			NotReached: []string{"mql"},
			Fired:      []string{"fit/not served"},
			NotFired:   []string{"fit/core market"},
		},

		// --------------------------------------------- engagement
		{
			Name:     "decay: a download 90 days ago counts half",
			Events:   events("download@-90d"),
			Scores:   map[string]float64{"engagement": 5},
			Lifetime: map[string]float64{"engagement": 10},
			Fired:    []string{"engagement/download"},
		},
		{
			Name:   "decay: a download 180 days ago counts a quarter",
			Events: events("download@-180d"),
			Scores: map[string]float64{"engagement": 2.5},
		},
		{
			Name:     "downloads count 30 points at most",
			Events:   events(repeat(5, "download")...),
			Scores:   map[string]float64{"engagement": 30},
			Lifetime: map[string]float64{"engagement": 30},
		},
		{
			Name:   "attending a webinar counts five times registering for it",
			Events: events("webinar_registered", "webinar_attended"),
			Scores: map[string]float64{"engagement": 5 + 25},
			Bands:  map[string]string{"engagement": "2"},
		},
		{
			Name:   "an offline event counts 20",
			Events: events("offline_event"),
			Scores: map[string]float64{"engagement": 20},
			Bands:  map[string]string{"engagement": "3"},
			Fired:  []string{"engagement/offline event"},
		},
		{
			Name:   "email clicks: one a day counts",
			Events: events("email_clicked@-1h", "email_clicked@-2h", "email_clicked@-3h", "email_clicked@-1d"),
			Scores: map[string]float64{"engagement": 3 + 3},
			Fired:  []string{"engagement/email click"},
		},
		{
			Name:   "email clicks count in full for 30 days (no half-life)",
			Events: events("email_clicked@-29d"),
			Scores: map[string]float64{"engagement": 3},
		},
		{
			Name:     "email clicks older than 30 days count no more",
			Events:   events("email_clicked@-31d"),
			Scores:   map[string]float64{"engagement": 0},
			Lifetime: map[string]float64{"engagement": 3},
			NotFired: []string{"engagement/email click"},
		},
		{
			Name:   "a pricing-page visit this week: 15 points and 10 more for being recent",
			Events: []leadkit.Event{visit("v1", "/pricing", 2)},
			Scores: map[string]float64{"engagement": decayed(15, 2) + 10},
			Fired:  []string{"engagement/pricing page"},
		},
		{
			Name:   "the pricing recency bonus ends after 7 days",
			Events: []leadkit.Event{visit("v1", "/pricing?plan=team", 8)},
			Scores: map[string]float64{"engagement": decayed(15, 8)},
		},
		{
			Name: "two pricing-page visits in a week count once",
			// asOf is a Monday: 1h and 2h ago are the same ISO week.
			Events: []leadkit.Event{visit("v1", "/pricing", 1.0/24), visit("v2", "/pricing", 2.0/24)},
			Scores: map[string]float64{"engagement": decayed(15, 2.0/24) + 10},
		},
		{
			Name:     "other pages score nothing",
			Events:   []leadkit.Event{visit("v1", "/blog/what-is-an-mql", 1), visit("v2", "/careers", 1)},
			Scores:   map[string]float64{"engagement": 0},
			NotFired: []string{"engagement/pricing page"},
		},
		{
			Name:       "the unsubscribe penalty: the VP who attended a webinar and then unsubscribed is no MQL",
			Lead:       vp(),
			Events:     events("webinar_attended@-7d", "unsubscribed@-1d"),
			Scores:     map[string]float64{"engagement": decayed(25, 7) - 50},
			Bands:      map[string]string{"engagement": "4"},
			NotReached: []string{"mql"},
			Fired:      []string{"engagement/unsubscribed", "engagement/webinar attendance"},
		},
		{
			Name:   "the unsubscribe penalty never fades",
			Events: events("unsubscribed@-365d"),
			Scores: map[string]float64{"engagement": -50},
		},
		{
			Name:   "unsubscribing twice costs 50 once",
			Events: events("unsubscribed@-30d", "unsubscribed@-2d"),
			Scores: map[string]float64{"engagement": -50},
		},
		{
			Name: "engagement is capped at 100",
			Events: events(slices.Concat(
				repeat(3, "download"), repeat(2, "webinar_attended"), repeat(2, "offline_event"))...),
			Scores:   map[string]float64{"engagement": 100},
			Lifetime: map[string]float64{"engagement": 100},
		},
		{
			Name:    "a manager at a growth company, a C on fit, becomes an MQL on buying signals",
			Lead:    withCompany(withPerson(vp(), func(p *leadkit.Person) { p.Seniority = "manager" }), func(c *leadkit.Company) { c.Employees = 80 }),
			Events:  []leadkit.Event{visit("v1", "/pricing", 4), visit("v2", "/pricing", 12), {ID: "w1", Type: leadkit.EventWebinarAttended, Time: asOf.AddDate(0, 0, -5)}},
			Scores:  map[string]float64{"fit": 5 + 5 + 10, "engagement": 30 + decayed(25, 5)},
			Cell:    "C1",
			Reached: []string{"mql"},
			Fired:   []string{"fit/manager", "fit/growth company"},
		},
	}
}

func TestModel(t *testing.T) {
	m, err := loadModel()
	require.NoError(t, err)
	for _, c := range cases() {
		if c.AsOf.IsZero() {
			c.AsOf = asOf // every case at the fixed time: decay replays exactly
		}
		// One subtest per case: go test -run 'TestModel/unsubscribe' runs
		// the cases about unsubscribing.
		t.Run(c.Name, func(t *testing.T) { scoringtest.Run(t, m, c) })
	}
}

// TestEveryRuleHasACase keeps the table honest: each rule of model.yaml
// fires in some case, so a new rule comes with a case.
func TestEveryRuleHasACase(t *testing.T) {
	m, err := loadModel()
	require.NoError(t, err)
	tested := map[string]bool{}
	for _, c := range cases() {
		for _, r := range c.Fired {
			tested[r] = true
		}
	}
	for _, d := range m.Spec().Dimensions {
		var rules []string
		for _, r := range d.Fit {
			rules = append(rules, r.Name)
		}
		for _, r := range d.Behavior {
			rules = append(rules, r.Name)
		}
		for _, r := range rules {
			assert.True(t, tested[d.Name+"/"+r] || tested[r], "rule %s/%s fires in no case", d.Name, r)
		}
	}
}

// TestRun checks the demo's report: each lead's scores, grade, MQL
// verdict and points.
func TestRun(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(&out))
	s := out.String()
	for _, want := range []string{
		"model b2b-marketing-ops 2026.03, scored as of 2026-03-16 09:00 UTC\n",
		// Dana: the ideal customer, busy.
		"Dana Whitfield <dana@northwind.io>, VP Marketing, Northwind Analytics (520 people, Software, US), 5 events\n" +
			"  fit           60.0  A   (rules add up to 75.0, capped at 60)\n" +
			"  engagement    60.9  1\n" +
			"  total        120.9\n" +
			"  cell A1, MQL: yes\n",
		"    engagement download                +5.0  (1 counted, lifetime +10.0)\n",
		"    engagement pricing page           +24.8  (1 counted, lifetime +15.0)\n",
		// Tom: a B fit made an MQL by buying signals.
		"  cell B1, MQL: yes\n",
		"    engagement pricing page           +30.0  (2 counted, lifetime +30.0)\n",
		// Priya: a perfect fit gone quiet.
		"  cell A4, MQL: no (2.7 points short; best next action: webinar attendance +25.0)\n",
		// Marco: the unsubscribe penalty.
		"  engagement   -20.6  4\n",
		"    engagement unsubscribed           -50.0  (1 counted, lifetime -50.0)\n",
		// Sam: the student.
		"  fit          -40.0  D\n",
		"    fit        student or intern      -40.0\n",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("missing from the report: %q", want)
		}
	}
	assert.Equal(t, 2, strings.Count(s, "MQL: yes"))
	assert.Equal(t, 3, strings.Count(s, "MQL: no"))
	if t.Failed() {
		t.Logf("the report:\n%s", s)
	}

	// The report never depends on the wall clock.
	var again bytes.Buffer
	require.NoError(t, run(&again))
	assert.Equal(t, s, again.String())
}
