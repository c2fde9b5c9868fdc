package journey_test

import (
	"fmt"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/journey"
	"github.com/leadkit/leadkit/stage"
)

var (
	march = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	april = march.AddDate(0, 1, 0)
	order = []string{"Raw", "MQL", "SAL", "SQL", "Opportunity", "Won"} // stage.Classic's funnel
)

func on(d int) time.Time { return march.AddDate(0, 0, d) }

func touch(id, typ, channel, content string, at time.Time) leadkit.Event {
	return leadkit.Event{ID: id, Type: typ, Channel: channel, Content: content, Time: at}
}

// Which channels bring new leads and which revive old ones: a new lead is
// credited to its source (its first touch with a channel), an old one to
// the last touch with a channel before it converted.
func ExampleSourceAge_channels() {
	timelines := []journey.Timeline{
		{LeadID: "ada", Events: []leadkit.Event{touch("1", "ad_click", "paid", "", on(2)), touch("2", "demo_requested", "", "", on(3))}},
		{LeadID: "bob", Events: []leadkit.Event{touch("3", "ad_click", "paid", "", on(5))}},
		{LeadID: "cyd", Events: []leadkit.Event{touch("4", "ad_click", "paid", "", on(-300)), touch("5", "email_clicked", "email", "", on(10))}},
		{LeadID: "dee", Events: []leadkit.Event{touch("6", "webinar_attended", "webinar", "", on(12))}},
	}
	entries := []stage.Visit{
		{LeadID: "ada", Stage: "MQL", At: on(3)},
		{LeadID: "bob", Stage: "MQL", At: on(6)},
		{LeadID: "cyd", Stage: "MQL", At: on(11)},
		{LeadID: "dee", Stage: "MQL", At: on(12)},
	}
	created := map[string]time.Time{"ada": on(2), "bob": on(5), "cyd": on(-300), "dee": on(-40)}
	r, err := journey.SourceAge(timelines, entries, created, "MQL", journey.SourceAgeOptions{From: march, To: april})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("MQLs %d: new %d, old %d\n", r.Leads, r.New, r.Earlier)
	for _, c := range r.Channels {
		fmt.Printf("%-8s new %d revived %d  new share %.0f%%\n", c.Key, c.New, c.Revived, 100*c.NewShare.Value())
	}
	// Output:
	// MQLs 4: new 2, old 2
	// paid     new 2 revived 0  new share 100%
	// email    new 0 revived 1  new share 0%
	// webinar  new 0 revived 1  new share 0%
}

// Leads that convert at registration (a demo request that creates the
// lead and qualifies it at once) are counted apart and left out of the
// cycle time of the others.
func ExampleCycleTimes_instant() {
	timelines := []journey.Timeline{
		{LeadID: "demo", Events: []leadkit.Event{touch("1", "demo_requested", "web", "", on(0))}},
		{LeadID: "ada", Events: []leadkit.Event{touch("2", "download", "content", "", on(0))}},
		{LeadID: "bob", Events: []leadkit.Event{touch("3", "page_view", "web", "", on(1))}},
	}
	entries := []stage.Visit{
		{LeadID: "demo", Stage: "MQL", At: on(0).Add(2 * time.Minute)},
		{LeadID: "ada", Stage: "MQL", At: on(10)},
		{LeadID: "bob", Stage: "MQL", At: on(21)},
	}
	r, err := journey.CycleTimes(timelines, entries, "MQL", journey.CycleOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("all %d leads: median %v\n", r.Overall.N, r.Overall.Median)
	fmt.Printf("instant (within %v): %d of %d\n", *r.Instant, r.Instants.Count, r.Instants.Base)
	fmt.Printf("the other %d: median %v\n", r.WithoutInstant.N, r.WithoutInstant.Median)
	// Output:
	// all 3 leads: median 10d
	// instant (within 1h): 1 of 3
	// the other 2: median 15d
}

// Content grouped by the funnel phase it serves: what brought leads in,
// what nurtured them to MQL, what sales used after.
func ExampleContentPhases() {
	timelines := []journey.Timeline{
		{LeadID: "ada", Events: []leadkit.Event{
			touch("1", "download", "content", "whitepaper", on(0)),
			touch("2", "email_clicked", "email", "guide", on(4)),
			touch("3", "email_clicked", "email", "case-study", on(9)),
		}},
		{LeadID: "bob", Events: []leadkit.Event{
			touch("4", "download", "content", "whitepaper", on(1)),
			touch("5", "email_clicked", "email", "guide", on(6)),
		}},
	}
	entries := []stage.Visit{{LeadID: "ada", Stage: "MQL", At: on(5)}, {LeadID: "ada", Stage: "Won", At: on(40)}}
	entries, _ = stage.Reach(entries, order)
	created := map[string]time.Time{"ada": on(0), "bob": on(1)}
	r, err := journey.ContentPhases(timelines, entries, created, "MQL", journey.ContentPhaseOptions{Order: order})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, c := range r.Content {
		var u journey.PhaseUse
		switch c.Serves {
		case journey.PhaseAcquisition:
			u = c.Acquisition
		case journey.PhaseNurture:
			u = c.Nurture
		case journey.PhaseSales:
			u = c.Sales
		}
		fmt.Printf("%-11s %-11s touches %d, leads %d, converted after %d\n", c.Key, c.Serves, u.Touches, u.Leads, u.Converted.Count)
	}
	// Output:
	// whitepaper  acquisition touches 2, leads 2, converted after 1
	// guide       nurture     touches 2, leads 2, converted after 1
	// case-study  sales       touches 1, leads 1, converted after 1
}

// Old leads that converted this month against those that did not, on
// the nurture they received in the 90 days before (the conversion, or the
// month's end).
func ExampleOldLeadNurture() {
	email := func(id string, at time.Time) leadkit.Event { return touch(id, "email_clicked", "email", "", at) }
	timelines := []journey.Timeline{
		{LeadID: "ada", Events: []leadkit.Event{email("1", on(-30)), email("2", on(-5)), email("3", on(8))}},
		{LeadID: "bob", Events: []leadkit.Event{email("4", on(-20))}},
		{LeadID: "cyd", Events: []leadkit.Event{email("5", on(-200))}},
	}
	entries := []stage.Visit{{LeadID: "ada", Stage: "MQL", At: on(10)}}
	created := map[string]time.Time{"ada": on(-400), "bob": on(-300), "cyd": on(-250)}
	r, err := journey.OldLeadNurture(timelines, entries, created, "MQL", journey.OldLeadNurtureOptions{From: march, To: april, Order: order})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("old leads %d, converted %d\n", r.OldLeads, r.Converted.Count)
	fmt.Printf("converted: touched %d of %d, %.1f touches each\n", r.All.Converted.Touched.Count, r.All.Converted.Touched.Base, *r.All.Converted.PerLead)
	fmt.Printf("the others: touched %d of %d, %.1f touches each\n", r.All.NotConverted.Touched.Count, r.All.NotConverted.Touched.Base, *r.All.NotConverted.PerLead)
	fmt.Printf("ratio %.0fx\n", *r.All.PerLeadRatio)
	// Output:
	// old leads 3, converted 1
	// converted: touched 1 of 1, 3.0 touches each
	// the others: touched 1 of 2, 0.5 touches each
	// ratio 6x
}

// The per-lead reports are accumulators: fill one per shard (all of a
// lead's records in one shard) and merge; the result equals one pass.
func ExampleNewContentPhaseAccumulator() {
	leads, err := journey.Journeys(
		[]journey.Timeline{
			{LeadID: "ada", Events: []leadkit.Event{touch("1", "download", "content", "whitepaper", on(0))}},
			{LeadID: "bob", Events: []leadkit.Event{touch("2", "download", "content", "whitepaper", on(1)), touch("3", "webinar_attended", "webinar", "", on(3))}},
		},
		[]stage.Visit{{LeadID: "bob", Stage: "MQL", At: on(4)}},
		map[string]time.Time{"ada": on(0), "bob": on(1)},
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	east, _ := journey.NewContentPhaseAccumulator("MQL", journey.ContentPhaseOptions{Order: order})
	west, _ := journey.NewContentPhaseAccumulator("MQL", journey.ContentPhaseOptions{Order: order})
	_ = east.Add(leads[0])
	_ = west.Add(leads[1])
	if err := east.Merge(west); err != nil {
		fmt.Println(err)
		return
	}
	r := east.Result()
	fmt.Println("acquisition:", r.Acquisition.Touches, "touches,", r.Acquisition.Leads, "leads")
	fmt.Println("nurture:", r.Nurture.Touches, "touches,", r.Nurture.Converted.Count, "converted after")
	// Output:
	// acquisition: 2 touches, 2 leads
	// nurture: 1 touches, 1 converted after
}
