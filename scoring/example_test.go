package scoring_test

import (
	"fmt"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/scoring"
)

const exampleModel = `
name: b2b
version: "2"
fields:
  - {name: person.budget, type: number}
dimensions:
  - name: fit
    bands: [{name: A, min: 40}, {name: B, min: 20}, {name: C}]
    fit:
      - {name: senior, when: 'person.seniority in ["vp", "c_level"]', points: 25}
      - {name: budget, when: 'person.budget >= 50000', points: 15}
      - {name: freemail, when: 'domain(person.email) in ["gmail.com"]', points: -20}
  - name: engagement
    decay: {half_life: 30d}
    bands: [{name: "1", min: 30}, {name: "2", min: 10}, {name: "3"}]
    behavior:
      - {name: pricing, types: [page_view], when: 'event.content startsWith "/pricing"', points: 5, cap: 15}
      - {name: webinar, types: [webinar_attended], points: 20, limit: {max: 1, per: month}}
  - name: total
    expr: fit * 0.5 + engagement
thresholds:
  - {name: mql, dimension: total, value: 40}
matrix: {rows: fit, columns: engagement}
`

var asOf = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)

func lead() leadkit.Lead {
	return leadkit.Lead{ID: "jo", AccountID: "acme", Person: leadkit.Person{
		Seniority: "vp", Email: "jo@acme.com", Custom: map[string]any{"budget": 80000}}}
}

func events() []leadkit.Event {
	return []leadkit.Event{
		{ID: "1", Type: leadkit.EventPageView, Content: "/pricing", Time: asOf.Add(-30 * 24 * time.Hour)},
		{ID: "2", Type: leadkit.EventWebinarAttended, Time: asOf},
	}
}

func compileExample() *scoring.Model {
	spec, err := scoring.ParseModel([]byte(exampleModel))
	if err != nil {
		panic(err)
	}
	m, err := scoring.Compile(spec, scoring.Options{})
	if err != nil {
		panic(err)
	}
	return m
}

func Example() {
	m := compileExample()
	res, err := m.Score(scoring.Input{Lead: lead(), Events: events(), AsOf: asOf})
	if err != nil {
		panic(err)
	}
	for _, d := range res.Dimensions {
		fmt.Printf("%s %.1f %q\n", d.Name, d.Score, d.Band)
	}
	fmt.Println("cell", res.Cell, "mql", res.Reached("mql"))
	for _, h := range res.Hits {
		fmt.Printf("  %s/%s %+.1f\n", h.Dimension, h.Rule, h.Points)
	}
	// Output:
	// fit 40.0 "A"
	// engagement 22.5 "2"
	// total 42.5 ""
	// cell A2 mql true
	//   fit/senior +25.0
	//   fit/budget +15.0
	//   engagement/pricing +2.5
	//   engagement/webinar +20.0
}

func ExampleCompile_errors() {
	_, err := scoring.Compile(scoring.ModelSpec{Name: "bad", Dimensions: []scoring.DimensionSpec{{
		Name: "fit",
		Fit:  []scoring.FitRule{{Name: "size", When: `company.employes > 100`, Points: 5}},
	}}}, scoring.Options{})
	fmt.Println(err)
	// Output: scoring: dimension "fit": rule "size": when: line 1, column 9: company has no field employes: did you mean company.employees?
}

func ExampleModel_Apply() {
	m := compileExample()
	st := m.NewState()
	for _, e := range events() {
		if err := m.Apply(&st, e); err != nil {
			panic(err)
		}
	}
	var res scoring.Result
	// Read the state 30 days later: the behavior has decayed by half.
	if err := m.ReadState(&res, &st, lead(), asOf.Add(30*24*time.Hour)); err != nil {
		panic(err)
	}
	eng, _ := res.Dimension("engagement")
	fmt.Printf("engagement %.2f\n", eng.Score)
	// Output: engagement 11.25
}

func ExampleModel_NextCrossing() {
	m := compileExample()
	st, _ := m.StateOf(scoring.Input{Lead: lead(), Events: events(), AsOf: asOf})
	// total = 20 + 22.5 * 2^(-t/30d) falls below 40 when the decayed part
	// drops under 20: t = 30*log2(22.5/20) days, about 5.1 days.
	c, ok, _ := m.NextCrossing(&st, lead(), "mql", asOf, asOf.Add(90*24*time.Hour))
	fmt.Println(ok, c.Up, c.Time.Sub(asOf).Round(time.Hour))
	// Output: true false 122h0m0s
}

func ExampleModel_WhyNot() {
	m := compileExample()
	l := lead()
	l.Person.Custom = nil // no budget: fit 25
	g, _ := m.WhyNot(scoring.Input{Lead: l, AsOf: asOf}, scoring.Target{Threshold: "mql"})
	fmt.Printf("missing %.1f\n", g.Missing)
	for _, s := range g.Suggestions {
		fmt.Printf("  %s/%s +%.1f closes=%v\n", s.Dimension, s.Rule, s.Gain, s.Closes)
	}
	// Output:
	// missing 27.5
	//   engagement/webinar +20.0 closes=false
	//   fit/budget +7.5 closes=false
	//   engagement/pricing +5.0 closes=false
}

func ExampleRollUp() {
	m := compileExample()
	var results []scoring.Result
	for i, seniority := range []string{"vp", "manager", "c_level"} {
		l := leadkit.Lead{ID: fmt.Sprint(i), AccountID: "acme", Person: leadkit.Person{Seniority: seniority}}
		r, _ := m.Score(scoring.Input{Lead: l, AsOf: asOf})
		results = append(results, r)
	}
	acc, _ := scoring.RollUp(results, "fit", scoring.Aggregate{Method: scoring.RollAvgTop, N: 2})
	fmt.Println(acc[0].AccountID, acc[0].Score, acc[0].Contacts)
	// Output: acme 25 3
}

// Explain answers "why 72?": each rule's points, what decay took, and
// what the dimension's cap changed, adding up to the score.
func ExampleModel_Explain() {
	spec, err := scoring.ParseModel([]byte(`
name: explain
dimensions:
  - name: fit
    max: 50
    fit:
      - {name: vp, when: 'person.seniority == "vp"', points: 30}
      - {name: enterprise, when: 'company.employees >= 1000', points: 40}
`))
	if err != nil {
		panic(err)
	}
	m, err := scoring.Compile(spec, scoring.Options{})
	if err != nil {
		panic(err)
	}
	res, err := m.Score(scoring.Input{Lead: leadkit.Lead{ID: "ana", Person: leadkit.Person{Seniority: "vp"}, Company: leadkit.Company{Employees: 5000}},
		AsOf: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		panic(err)
	}
	e, err := m.Explain(res, "fit")
	if err != nil {
		panic(err)
	}
	for _, r := range e.Rules {
		fmt.Printf("%-10s %+4.0f\n", r.Rule, r.Points)
	}
	fmt.Printf("%-10s %+4.0f\n", "cap", e.Clamp)
	fmt.Printf("%-10s %4.0f\n", "fit", e.Score)
	// Output:
	// vp          +30
	// enterprise  +40
	// cap         -20
	// fit          50
}

// Default is a documented starting model; DefaultModelYAML is the file to
// copy and edit.
func ExampleDefault() {
	m, err := scoring.Compile(scoring.Default(), scoring.Options{})
	if err != nil {
		panic(err)
	}
	asOf := time.Date(2025, 6, 2, 12, 0, 0, 0, time.UTC)
	res, err := m.Score(scoring.Input{
		Lead: leadkit.Lead{ID: "ana", Person: leadkit.Person{Seniority: "vp", Department: "marketing"}, Company: leadkit.Company{Employees: 5000}},
		Events: []leadkit.Event{
			{ID: "1", LeadID: "ana", Type: leadkit.EventWebinarAttended, Time: asOf.Add(-72 * time.Hour)},
			{ID: "2", LeadID: "ana", Type: leadkit.EventMeeting, Time: asOf.Add(-time.Hour)},
		},
		AsOf: asOf,
	})
	if err != nil {
		panic(err)
	}
	total, _ := res.Dimension("total")
	fmt.Printf("total %.0f, cell %s, mql %v\n", total.Score, res.Cell, res.Reached("mql"))
	// Output:
	// total 114, cell A2, mql true
}
