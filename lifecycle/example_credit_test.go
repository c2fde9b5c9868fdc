package lifecycle_test

import (
	"fmt"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/attribution"
	"github.com/leadkit/leadkit/journey"
	"github.com/leadkit/leadkit/lifecycle"
	"github.com/leadkit/leadkit/stage"
)

// A stage's credit is counted per shard of leads and merged: the result
// equals Verify's StageResult.Attribution over all of them (the plan is
// Engine.VerifyPlan's, here written by hand).
func ExampleNewCreditAccumulator() {
	mar := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	plan := lifecycle.CreditPlan{From: mar, To: mar.AddDate(0, 1, 0), Order: []string{"Raw", "MQL", "SQL"},
		Keys: []attribution.TouchKey{attribution.ByChannel}, Models: []string{"last_touch"}}
	east, _ := lifecycle.NewCreditAccumulator("MQL", plan)
	west, _ := lifecycle.NewCreditAccumulator("MQL", plan)
	lead := func(id string, mql int, channels ...string) journey.LeadJourney {
		j := journey.LeadJourney{Timeline: journey.Timeline{LeadID: id}}
		for i, ch := range channels {
			j.Events = append(j.Events, leadkit.Event{ID: fmt.Sprintf("%s-%d", id, i), Type: "page_view", Channel: ch, Time: mar.AddDate(0, 0, i)})
		}
		if mql > 0 {
			j.Visits = []stage.Visit{{LeadID: id, Stage: "MQL", At: mar.AddDate(0, 0, mql)}}
		}
		return j
	}
	_ = east.Add(lead("ada", 3, "paid", "webinar", "email"))
	_ = east.Add(lead("bob", 0, "paid"))
	_ = west.Add(lead("cy", 2, "paid", "webinar"))
	if err := east.Merge(west); err != nil {
		fmt.Println(err)
		return
	}
	credits, skipped, _ := east.Result()
	for _, c := range credits {
		fmt.Println(c.Key, c.Model, c.Result.Conversions, "skipped:", skipped)
	}
	// Output:
	// channel last_touch map[email:1 webinar:1] skipped: 0
}
