package lifecycle_test

import (
	"context"
	"fmt"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/attribution"
	"github.com/leadkit/leadkit/lifecycle"
)

// ROI per marketing function and quarter: the engine credits each
// quarter's MQLs and deals (last touch here) and joins them with a
// monthly cost table of spend and people. The second quarter has no cost
// rows: its costs are unknown, and said to be.
func ExampleEngine_ROI() {
	ctx := context.Background()
	feb := time.Date(2026, 2, 2, 9, 0, 0, 0, time.UTC)
	may := time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)
	e := exampleEngine(time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC), lifecycle.VerifyOptions{Stages: []string{"MQL"}})
	lead := func(id string, at time.Time, last string) []leadkit.Event {
		return []leadkit.Event{
			{ID: id + "1", LeadID: id, Type: "webinar_attended", Channel: "webinar", Time: at},
			{ID: id + "2", LeadID: id, Type: "download", Channel: "content", Time: at.Add(time.Hour)},
			{ID: id + "3", LeadID: id, Type: "download", Channel: last, Time: at.Add(2 * time.Hour)},
		}
	}
	var events []leadkit.Event
	events = append(events, lead("ana", feb, "content")...)
	events = append(events, lead("bo", feb.AddDate(0, 0, 7), "paid")...)
	events = append(events, lead("cy", feb.AddDate(0, 1, 0), "paid")...)
	events = append(events, lead("di", may, "paid")...)
	if _, err := e.Ingest(ctx, events...); err != nil {
		panic(err)
	}
	costs, err := attribution.ParseCosts([]byte(`
period: month
rows:
  - {key: paid, period: 2026-01, spend: 1000}
  - {key: paid, period: 2026-02, spend: 1000}
  - {key: paid, period: 2026-03, spend: 2000}
  - {key: content, period: 2026-01, spend: 0, headcount: 1, loaded_cost: 1500}
  - {key: content, period: 2026-02, spend: 300, headcount: 1, loaded_cost: 1500}
  - {key: content, period: 2026-03, spend: 0, headcount: 1, loaded_cost: 1500}
`))
	if err != nil {
		panic(err)
	}
	r, err := e.ROI(ctx, lifecycle.ROIOptions{
		From:      time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		To:        time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC),
		Period:    leadkit.PeriodQuarter,
		Costs:     costs,
		Functions: map[string]string{"paid": "demand_gen"},
		Models:    []string{"last_touch"},
	})
	if err != nil {
		panic(err)
	}
	for _, row := range r.Report.Rows {
		mql, _ := row.Stage("MQL/last_touch")
		perMQL, perHead := "-", "-"
		if mql.CostPer != nil {
			perMQL = fmt.Sprintf("%.0f", *mql.CostPer)
		}
		if mql.PerHead != nil {
			perHead = fmt.Sprintf("%.1f", *mql.PerHead)
		}
		fmt.Printf("%s %-10s cost %5.0f (people %4.0f) MQLs %.0f, per MQL %s, per head %s, cost unknown %v\n",
			row.Period, row.Key, row.Cost, row.PeopleCost, mql.Conversions, perMQL, perHead, row.CostUnknown)
	}
	fmt.Println("periods without costs:", r.Report.PeriodsWithoutCosts)
	// Output:
	// 2026-Q1 content    cost  4800 (people 4500) MQLs 1, per MQL 4800, per head 1.0, cost unknown false
	// 2026-Q1 demand_gen cost  4000 (people    0) MQLs 2, per MQL 2000, per head -, cost unknown false
	// 2026-Q2 content    cost     0 (people    0) MQLs 0, per MQL -, per head -, cost unknown true
	// 2026-Q2 demand_gen cost     0 (people    0) MQLs 1, per MQL -, per head -, cost unknown true
	// periods without costs: [2026-Q2]
}
