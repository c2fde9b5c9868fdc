package stage_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/stage"
)

// A lead moves through the classic lifecycle: scoring qualifies it
// automatically, sales accepts it by hand.
func Example() {
	ctx := context.Background()
	m, err := stage.New(stage.Classic(), stage.Options{})
	if err != nil {
		panic(err)
	}
	lead := stage.Lead("L-1001")
	if _, err := m.Start(ctx, lead, stage.StartOptions{Actor: "web-form"}); err != nil {
		panic(err)
	}
	rec, steps, err := m.Advance(ctx, lead, stage.Facts{"score": 135, "grade": "A"}, stage.Request{Actor: "scoring"})
	if err != nil {
		panic(err)
	}
	fmt.Println(rec.Stage, steps)
	rec, err = m.Fire(ctx, lead, "accept", stage.Request{Actor: "ana@sales", Version: rec.Version})
	if err != nil {
		panic(err)
	}
	fmt.Println(rec.Stage, rec.Version)

	history, _ := m.History(ctx, lead)
	for _, e := range history {
		fmt.Printf("v%d %s -> %s (%s by %s)\n", e.Version, e.From, e.To, e.Trigger, e.Actor)
	}
	// Output:
	// MQL 1
	// SAL 3
	// v1  -> Raw (start by web-form)
	// v2 Raw -> MQL (auto by scoring)
	// v3 MQL -> SAL (manual by ana@sales)
}

// Definitions are data: load them from JSON or YAML, per tenant.
func ExampleParseDefinition() {
	def, err := stage.ParseDefinition([]byte(`
name: partner_leads
initial: New
facts: {score: number, region: string}
stages:
  - {name: New, category: marketing}
  - {name: Qualified, category: marketing, sla: 3d}
  - {name: Won, category: customer, terminal: true}
  - {name: Rejected, category: closed, terminal: true}
transitions:
  - {name: qualify, from: [New], to: Qualified, auto: true, guard: 'score >= 50 && region == "EMEA"'}
  - {name: win, from: [Qualified], to: Won}
  - {name: reject, from: ["*"], to: Rejected, reasons: [duplicate, spam]}
`))
	if err != nil {
		panic(err)
	}
	m, err := stage.New(def, stage.Options{})
	fmt.Println(m.Pipeline(), err)
	// Output: partner_leads <nil>
}

// New reports every problem of a definition at once, each with its
// location.
func ExampleNew_errors() {
	def := stage.Classic()
	def.Transitions[0].Guard = "score >= 100 && grde == \"A\""
	def.Transitions = append(def.Transitions, stage.Transition{Name: "teleport", From: []string{"Raw"}, To: "Mars"})
	_, err := stage.New(def, stage.Options{})
	fmt.Println(errors.Is(err, leadkit.ErrInvalid))
	fmt.Println(err)
	// Output:
	// true
	// stage: transition "qualify" guard: line 1, column 17: unknown name grde: did you mean grade?
	// stage: transition "teleport": unknown target stage "Mars"
}

// "Why not yet": which part of a guard keeps a lead from qualifying.
func ExampleMachine_Explain() {
	def := stage.Classic()
	def.Transitions[0].Guard = `score >= 100 && grade in ["A", "B"]`
	m, _ := stage.New(def, stage.Options{})
	ex, _ := m.Explain("Raw", stage.Facts{"score": 140, "grade": "C"})
	for _, e := range ex {
		fmt.Println(e.Transition, "->", e.To, "ready:", e.Ready)
		for _, c := range e.Blocked {
			fmt.Printf("  blocked by %s (grade = %v)\n", c.Expr, c.Facts["grade"])
		}
	}
	// Output:
	// qualify -> MQL ready: false
	//   blocked by grade in ["A", "B"] (grade = C)
}

// Insert TAL between MQL and SAL; the funnel's MQL -> TAL conversion then
// measures the SDR team.
func ExampleDefinition_InsertBetween() {
	def, err := stage.Classic().InsertBetween(stage.Stage{Name: "TAL", Label: "Teleprospecting Accepted Lead", Category: stage.Sales, Team: "sdr"}, "MQL", "SAL")
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	now := time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)
	m, _ := stage.New(def, stage.Options{Now: func() time.Time { return now }})
	for i := range 4 {
		l := stage.Lead(fmt.Sprint("L", i))
		m.Start(ctx, l, stage.StartOptions{})
		m.Advance(ctx, l, stage.Facts{"score": 100}, stage.Request{})
		if i%2 == 0 {
			now = now.Add(36 * time.Hour)
			m.Fire(ctx, l, "accept", stage.Request{Actor: "sdr"}) // MQL -> TAL
		}
	}
	f, _ := m.Funnel(ctx, stage.FunnelOptions{Stages: []string{"MQL", "TAL", "SAL"}})
	c, _ := f.Conversion("MQL", "TAL")
	fmt.Printf("MQL->TAL %d/%d = %.0f%%, median %s\n", c.Converted, c.Base, c.Rate*100, c.Median)
	// Output: MQL->TAL 2/4 = 50%, median 1d12h
}

// Leads that stay in a stage longer than its SLA.
func ExampleMachine_Overdue() {
	ctx := context.Background()
	now := time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)
	m, _ := stage.New(stage.Classic(), stage.Options{Now: func() time.Time { return now }})
	m.Start(ctx, stage.Lead("L1"), stage.StartOptions{Stage: "MQL"}) // MQL SLA: 2 days
	od, _ := m.Overdue(ctx, now.Add(72*time.Hour))
	for _, o := range od {
		fmt.Println(o.Record.ID, o.Record.Stage, "over by", o.Over)
	}
	// Output: L1 MQL over by 1d
}

// Draw a definition with Mermaid (or Graphviz with DOT).
func ExampleDefinition_Mermaid() {
	def := stage.Definition{
		Name: "mini", Initial: "New",
		Stages:      []stage.Stage{{Name: "New"}, {Name: "Won", Terminal: true}},
		Transitions: []stage.Transition{{Name: "win", From: []string{"New"}, To: "Won"}},
	}
	fmt.Print(def.Mermaid())
	// Output:
	// stateDiagram-v2
	//     %% pipeline: mini
	//     state "New" as New
	//     state "Won" as Won
	//     [*] --> New
	//     New --> Won: win
	//     Won --> [*]
}

// A stage funnel over visits exported from elsewhere (a CRM): lead c
// skipped MQL and reached it when it entered SQL.
func ExampleFunnel() {
	at := func(d int) time.Time { return time.Date(2026, 3, 2+d, 9, 0, 0, 0, time.UTC) }
	entries := []stage.Visit{
		{LeadID: "a", Stage: "MQL", At: at(0)}, {LeadID: "a", Stage: "SQL", At: at(4)},
		{LeadID: "b", Stage: "MQL", At: at(1)},
		{LeadID: "c", Stage: "SQL", At: at(3)}, // skipped MQL: reached it at day 3
	}
	r, err := stage.Funnel(stage.FunnelSpec{Stages: []string{"MQL", "SQL"}}, entries)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range r.Stages {
		fmt.Printf("%s reached %d entered %d\n", s.Stage, s.Reached, s.Entered)
	}
	c := r.Conversions[0]
	fmt.Printf("%s->%s %.0f%% median %v\n", c.From, c.To, 100*c.Rate, c.Median)
	// Output:
	// MQL reached 3 entered 2
	// SQL reached 2 entered 2
	// MQL->SQL 67% median 2d
}

// One storage, two tenants: each tenant's machine sees its own leads only,
// even under the same IDs.
func ExampleMemoryStore_ForTenant() {
	ctx := context.Background()
	storage := stage.NewMemoryStore()
	for _, tenant := range []string{"acme", "globex"} {
		s, err := storage.ForTenant(tenant)
		if err != nil {
			panic(err)
		}
		m, err := stage.New(stage.Classic(), stage.Options{Store: s})
		if err != nil {
			panic(err)
		}
		if tenant == "acme" {
			if _, err := m.Start(ctx, stage.Lead("L1"), stage.StartOptions{}); err != nil {
				panic(err)
			}
		}
		_, err = m.Get(ctx, stage.Lead("L1"))
		fmt.Printf("%s: L1 found: %v\n", tenant, err == nil)
	}
	// Output:
	// acme: L1 found: true
	// globex: L1 found: false
}
