package journey_test

import (
	"fmt"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/journey"
	"github.com/leadkit/leadkit/stage"
)

// Paths are counted per shard and merged; the result equals one pass.
func ExampleNewPathAccumulator() {
	opts, err := journey.ParsePathOptions([]byte("collapse_repeats: true\nmax_length: 3\n"))
	if err != nil {
		fmt.Println(err)
		return
	}
	east, _ := journey.NewPathAccumulator(opts)
	west, _ := journey.NewPathAccumulator(opts)
	_ = east.Add([]string{"web", "web", "email", "event"})
	_ = east.Add([]string{"web", "email"})
	_ = west.Add([]string{"web", "email", "event", "call"})
	fmt.Println(west.Add([]string{"web", ""}))
	if err := east.Merge(west); err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range east.Result().Paths {
		fmt.Println(p.Count, p.Items)
	}
	// Output:
	// journey: path: item 2 "": is empty
	// 2 [web email event]
	// 1 [web email]
}

// Pattern accumulators keep the distinct sequences and mine once after
// merging, because pattern support is not additive across shards.
func ExampleNewPatternAccumulator() {
	opts, err := journey.ParsePatternOptions([]byte(`{"min_support": 2, "max_length": 2}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	a, _ := journey.NewPatternAccumulator(opts)
	b, _ := journey.NewPatternAccumulator(opts)
	_ = a.Add([]string{"web", "email", "event"})
	_ = b.Add([]string{"web", "event"})
	if err := a.Merge(b); err != nil {
		fmt.Println(err)
		return
	}
	pats, err := a.Result()
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range pats {
		fmt.Println(p.Support, p.Items)
	}
	// Output:
	// 2 [event]
	// 2 [web]
	// 2 [web event]
}

// Cycle times are measured per shard of leads and merged: the result
// equals CycleTimes over all of them. Each journey carries its lead's
// creation time.
func ExampleNewCycleAccumulator() {
	east, _ := journey.NewCycleAccumulator("MQL", journey.CycleOptions{Start: journey.FromCreated})
	west, _ := journey.NewCycleAccumulator("MQL", journey.CycleOptions{Start: journey.FromCreated})
	lead := func(id string, created, mql int) journey.LeadJourney {
		return journey.LeadJourney{
			Timeline: journey.Timeline{LeadID: id},
			Visits:   []stage.Visit{{LeadID: id, Stage: "MQL", At: on(mql)}},
			Created:  on(created),
		}
	}
	_ = east.Add(lead("ada", 0, 10))
	_ = east.Add(lead("bob", 2, 30))
	_ = west.Add(lead("cy", 5, 11))
	fmt.Println(west.Add(journey.LeadJourney{Timeline: journey.Timeline{LeadID: "dan"}, Visits: []stage.Visit{{LeadID: "eve", Stage: "MQL", At: on(1)}}}))
	if err := east.Merge(west); err != nil {
		fmt.Println(err)
		return
	}
	r := east.Result()
	fmt.Printf("%d leads: median %v, mean %v\n", r.Overall.N, r.Overall.Median, r.Overall.Mean)
	// Output:
	// journey: cycle times: lead "dan": visit 0: leadkit: invalid input: the visit is of lead "eve"
	// 3 leads: median 10d, mean 14d16h
}

// Nurture power is counted per shard of leads and merged: the result
// equals NurturePower over all of them.
func ExampleNewNurtureAccumulator() {
	opts := journey.NurtureOptions{Types: []string{"email_clicked"}}
	east, _ := journey.NewNurtureAccumulator("MQL", opts)
	west, _ := journey.NewNurtureAccumulator("MQL", opts)
	_ = east.Add(journey.LeadJourney{
		Timeline: journey.Timeline{LeadID: "ada", Events: []leadkit.Event{
			touch("1", "email_clicked", "email", "guide", on(1)),
			touch("2", "email_clicked", "email", "case-study", on(3)),
		}},
		Visits: []stage.Visit{{LeadID: "ada", Stage: "MQL", At: on(4)}},
	})
	_ = west.Add(journey.LeadJourney{
		Timeline: journey.Timeline{LeadID: "bob", Events: []leadkit.Event{
			touch("3", "email_clicked", "email", "guide", on(2)),
			touch("4", "email_clicked", "email", "guide", on(5)),
		}},
	})
	if err := east.Merge(west); err != nil {
		fmt.Println(err)
		return
	}
	for _, c := range east.Result() {
		fmt.Printf("%s: sent %d to %d leads, %d converted (power %.2f)\n", c.Key, c.Sent, c.Leads, c.Converted, c.Power)
	}
	// Output:
	// case-study: sent 1 to 1 leads, 1 converted (power 1.00)
	// guide: sent 3 to 2 leads, 1 converted (power 0.33)
}
