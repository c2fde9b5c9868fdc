package journey_test

import (
	"context"
	"fmt"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/journey"
	"github.com/leadkit/leadkit/stage"
)

var start = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func at(days int) time.Time { return start.AddDate(0, 0, days) }

func ExampleFunnel() {
	timelines := []journey.Timeline{
		{LeadID: "ada", Events: []leadkit.Event{
			{ID: "1", Type: "download", Content: "whitepaper", Time: at(0)},
			{ID: "2", Type: "webinar_attended", Time: at(2)},
			{ID: "3", Type: "meeting", Time: at(5)},
		}},
		{LeadID: "bob", Events: []leadkit.Event{
			{ID: "4", Type: "download", Content: "whitepaper", Time: at(1)},
			{ID: "5", Type: "webinar_attended", Time: at(5)},
		}},
		{LeadID: "cyd", Events: []leadkit.Event{
			{ID: "6", Type: "download", Content: "pricing", Time: at(0)},
		}},
	}
	r, err := journey.Funnel(journey.FunnelSpec{Steps: []journey.Step{
		{Name: "whitepaper", Types: []string{"download"}, When: `event.content == "whitepaper"`},
		{Name: "webinar", Types: []string{"webinar_attended"}},
		{Name: "meeting", Types: []string{"meeting"}},
	}}, timelines)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range r.Steps {
		fmt.Printf("%-10s %d leads  %3.0f%% of first  median %v\n", s.Name, s.Count, 100*s.ConversionFromFirst, s.MedianTime)
	}
	// Output:
	// whitepaper 2 leads  100% of first  median 0s
	// webinar    2 leads  100% of first  median 3d
	// meeting    1 leads   50% of first  median 3d
}

func ExampleParseFunnelSpec() {
	spec, err := journey.ParseFunnelSpec([]byte(`
steps:
  - name: long webinar
    types: [webinar_attended]
    when: event.channel == "webinar" && event.minutes > 30
  - name: meeting
    types: [meeting]
fields:
  - {name: event.minutes, type: number}
window: 2w
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	timelines := []journey.Timeline{
		{LeadID: "ada", Events: []leadkit.Event{
			{ID: "1", Type: "webinar_attended", Channel: "webinar", Time: at(0), Attrs: map[string]any{"minutes": 45}},
			{ID: "2", Type: "meeting", Time: at(3)},
		}},
		{LeadID: "bob", Events: []leadkit.Event{
			{ID: "3", Type: "webinar_attended", Channel: "webinar", Time: at(0), Attrs: map[string]any{"minutes": 5}},
			{ID: "4", Type: "meeting", Time: at(1)},
		}},
	}
	r, err := journey.Funnel(spec, timelines)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("window", leadkit.FormatDuration(spec.Window))
	for _, s := range r.Steps {
		fmt.Printf("%-12s %d\n", s.Name, s.Count)
	}

	// The old names and undeclared attributes fail when the funnel is
	// compiled, saying what to write instead.
	_, err = journey.CompileFunnel(journey.FunnelSpec{Steps: []journey.Step{
		{Name: "webinar", Types: []string{"webinar_attended"}, When: `Channel == "webinar"`},
		{Name: "topic", Types: []string{"download"}, When: `event.topic == "ai"`},
	}})
	fmt.Println(err)
	// Output:
	// window 2w
	// long webinar 1
	// meeting      1
	// journey: step 1 "webinar": when: line 1, column 1: unknown name Channel: the name is now event.channel
	// journey: step 2 "topic": when: line 1, column 7: event has no field topic: undeclared field: declare it in the funnel's fields: {"name": "event.topic", "type": "string"}
}

func ExampleMinePatterns() {
	paths := [][]string{
		{"ad", "web", "webinar", "call"},
		{"web", "email", "webinar", "call"},
		{"email", "web", "call"},
	}
	patterns, err := journey.MinePatterns(paths, journey.PatternOptions{MinSupport: 3})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range patterns {
		fmt.Println(p.Items, p.Support)
	}
	// Output:
	// [call] 3
	// [web] 3
	// [web call] 3
}

func ExampleGoldenPaths() {
	converted := [][]string{{"web", "webinar", "call"}, {"webinar", "call"}, {"email", "webinar", "call"}}
	other := [][]string{{"web", "email"}, {"web", "call"}, {"email"}}
	paths, err := journey.GoldenPaths(converted, other, journey.PatternOptions{MinSupport: 2})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, g := range paths {
		fmt.Printf("%v converted %d other %d confidence %.2f lift %.2f\n", g.Items, g.Converted, g.Other, g.Confidence, g.Lift)
	}
	// Output:
	// [webinar] converted 3 other 0 confidence 1.00 lift 2.00
	// [webinar call] converted 3 other 0 confidence 1.00 lift 2.00
	// [call] converted 3 other 1 confidence 0.75 lift 1.50
}

func ExampleSourceAge() {
	march := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	entries := []stage.Visit{
		{LeadID: "new", Stage: "MQL", At: march.AddDate(0, 0, 10)},
		{LeadID: "old", Stage: "MQL", At: march.AddDate(0, 0, 12)},
		{LeadID: "older", Stage: "MQL", At: march.AddDate(0, 0, 20)},
	}
	created := map[string]time.Time{
		"new":   march.AddDate(0, 0, 2),
		"old":   march.AddDate(0, -2, 0),
		"older": march.AddDate(-1, 0, 0),
	}
	timelines := []journey.Timeline{{LeadID: "older", Events: []leadkit.Event{
		{ID: "w", LeadID: "older", Type: "webinar_attended", Time: march.AddDate(0, 0, 15)},
	}}}
	r, err := journey.SourceAge(timelines, entries, created, "MQL", journey.SourceAgeOptions{From: march, To: march.AddDate(0, 1, 0)})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("MQLs %d: new %d, earlier %d (%.0f%%); first time %d, repeat %d\n", r.Leads, r.New, r.Earlier, 100*r.EarlierShare, r.FirstTime, r.Repeat)
	for _, b := range r.Buckets {
		fmt.Printf("age from %v: %d\n", b.From, b.Leads)
	}
	fmt.Println("old leads did:", r.EarlierTouches[0].Type)
	// Output:
	// MQLs 3: new 1, earlier 2 (67%); first time 3, repeat 0
	// age from 0s: 1
	// age from 30d: 1
	// age from 90d: 0
	// age from 180d: 0
	// age from 365d: 1
	// old leads did: webinar_attended
}

func ExampleNewMemoryStore() {
	ctx := context.Background()
	store := journey.NewMemoryStore()
	added, err := store.Append(ctx,
		leadkit.Event{ID: "e2", LeadID: "ada", Type: "meeting", Time: at(3)},
		leadkit.Event{ID: "e1", LeadID: "ada", Type: "download", Time: at(1)},
		leadkit.Event{ID: "e1", LeadID: "ada", Type: "download", Time: at(1)}, // duplicate ID
	)
	fmt.Println(added, err)
	events, _ := store.Events(ctx, "ada", time.Time{}, time.Time{})
	for _, e := range events {
		fmt.Println(e.ID, e.Type)
	}
	_, err = store.Append(ctx, leadkit.Event{ID: "e3", LeadID: "ada", Type: "call"})
	fmt.Println(err)
	// Output:
	// 2 <nil>
	// e1 download
	// e2 meeting
	// journey: append: event 0: leadkit: invalid input: event "e3": missing time
}
