package lifecycle_test

import (
	"context"
	"fmt"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/journey"
	"github.com/leadkit/leadkit/lifecycle"
	"github.com/leadkit/leadkit/pool"
	"github.com/leadkit/leadkit/scoring"
	"github.com/leadkit/leadkit/stage"
)

// exampleEngine builds an engine: a pool that graduates prospects after
// two touches, a model whose "total" feeds the Classic stage model's
// "score", and in-memory stores.
func exampleEngine(now time.Time, verify lifecycle.VerifyOptions) *lifecycle.Engine {
	pol, err := pool.ParsePolicy([]byte(`conditions: [{name: engaged, when: 'prospect.touches_90d >= 2'}]`))
	if err != nil {
		panic(err)
	}
	clock := func() time.Time { return now }
	p, err := pool.New(pool.Options{Policy: pol, Now: clock})
	if err != nil {
		panic(err)
	}
	spec, err := scoring.ParseModel([]byte(`
name: b2b
dimensions:
  - name: fit
    bands: [{name: A, min: 20}, {name: B}]
    fit: [{name: senior, when: 'person.seniority in ["vp", "c_level"]', points: 25}]
  - name: engagement
    behavior:
      - {name: visit, types: [page_view], points: 5}
      - {name: webinar, types: [webinar_attended], points: 40}
      - {name: paper, types: [download], points: 30}
  - name: total
    expr: fit + engagement
thresholds: [{name: mql, dimension: total, value: 100}]
`))
	if err != nil {
		panic(err)
	}
	model, err := scoring.Compile(spec, scoring.Options{})
	if err != nil {
		panic(err)
	}
	machine, err := stage.New(stage.Classic(), stage.Options{Now: clock})
	if err != nil {
		panic(err)
	}
	e, err := lifecycle.New(p, model, machine, journey.NewMemoryStore(), lifecycle.Options{
		Now:       clock,
		Facts:     map[string]string{"score": "total", "grade": "fit_band"},
		Requalify: lifecycle.Requalify{Reset: []string{"engagement", "total"}},
		Verify:    verify,
	})
	if err != nil {
		panic(err)
	}
	return e
}

// A visitor becomes a prospect, a lead at its second touch, and an MQL
// when its score reaches 100; each change comes with its time and cause.
func Example() {
	ctx := context.Background()
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	e := exampleEngine(at.AddDate(0, 1, 0), lifecycle.VerifyOptions{})
	events := []leadkit.Event{
		{ID: "e1", LeadID: "ana", Type: "page_view", Channel: "paid", Time: at},
		{ID: "e2", LeadID: "ana", Type: "webinar_attended", Channel: "webinar", Time: at.Add(24 * time.Hour)},
		{ID: "e3", LeadID: "ana", Type: "download", Channel: "content", Time: at.Add(48 * time.Hour)},
		{ID: "e4", LeadID: "ana", Type: "download", Channel: "content", Time: at.Add(49 * time.Hour)},
	}
	changes, err := e.Ingest(ctx, events...)
	if err != nil {
		panic(err)
	}
	for _, c := range changes {
		fmt.Println(c, "caused by", c.Cause)
	}
	// Delivered again: nothing changes.
	changes, _ = e.Ingest(ctx, events...)
	fmt.Println("replayed:", len(changes), "changes")
	// Output:
	// 2026-03-03T09:00:00Z ana: graduated into Raw caused by e2
	// 2026-03-04T10:00:00Z ana: reached mql (105) caused by e4
	// 2026-03-04T10:00:00Z ana: Raw -> MQL (qualify) caused by e4
	// replayed: 0 changes
}

// Verify answers "how many of this month's MQLs came from old leads, and
// which channels earned them".
func ExampleEngine_Verify() {
	ctx := context.Background()
	jan := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	mar := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	e := exampleEngine(mar.AddDate(0, 1, 0), lifecycle.VerifyOptions{Stages: []string{"MQL"}})
	_, err := e.Ingest(ctx,
		// An old lead: two visits in January, nurtured into an MQL in March.
		leadkit.Event{ID: "o1", LeadID: "old", Type: "page_view", Channel: "organic", Time: jan},
		leadkit.Event{ID: "o2", LeadID: "old", Type: "page_view", Channel: "organic", Time: jan.Add(time.Hour)},
		leadkit.Event{ID: "o3", LeadID: "old", Type: "webinar_attended", Channel: "webinar", Time: mar},
		leadkit.Event{ID: "o4", LeadID: "old", Type: "download", Channel: "content", Content: "guide", Time: mar.Add(time.Hour)},
		leadkit.Event{ID: "o5", LeadID: "old", Type: "download", Channel: "content", Content: "guide", Time: mar.Add(2 * time.Hour)},
		// A new lead: all in March.
		leadkit.Event{ID: "n1", LeadID: "new", Type: "webinar_attended", Channel: "webinar", Time: mar.Add(3 * time.Hour)},
		leadkit.Event{ID: "n2", LeadID: "new", Type: "download", Channel: "content", Content: "guide", Time: mar.Add(4 * time.Hour)},
		leadkit.Event{ID: "n3", LeadID: "new", Type: "webinar_attended", Channel: "paid", Time: mar.Add(5 * time.Hour)},
	)
	if err != nil {
		panic(err)
	}
	v, err := e.Verify(ctx, lifecycle.Period{From: mar.AddDate(0, 0, -1), To: mar.AddDate(0, 1, -1),
		Costs: map[string]float64{"paid": 500, "webinar": 1200, "content": 300}})
	if err != nil {
		panic(err)
	}
	mql := v.Stages[0]
	fmt.Printf("MQLs: %d (new %d, old %d)\n", mql.Age.Leads, mql.Age.New, mql.Age.Earlier)
	lt, _ := mql.Credit("channel", "last_touch")
	fmt.Println("last touch:", lt.Conversions)
	for _, r := range v.ROI.Rows {
		if c := r.Stages[0].CostPer; c != nil {
			fmt.Printf("cost per MQL (last touch) via %s: %.0f\n", r.Key, *c)
		}
	}
	// Output:
	// MQLs: 2 (new 1, old 1)
	// last touch: map[content:1 paid:1]
	// cost per MQL (last touch) via content: 300
	// cost per MQL (last touch) via paid: 500
}
