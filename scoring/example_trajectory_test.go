package scoring_test

import (
	"fmt"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/scoring"
)

// A lead's score over time on the dimension an MQL threshold reads: the
// input of a threshold recommendation.
func ExampleModel_Trajectory() {
	m, err := scoring.Compile(scoring.ModelSpec{Name: "demo", Dimensions: []scoring.DimensionSpec{
		{Name: "engagement", Behavior: []scoring.BehaviorRule{
			{Name: "download", Types: []string{"download"}, Points: 20},
			{Name: "page view", Types: []string{"page_view"}, Points: 5, Cap: 10},
		}},
	}}, scoring.Options{})
	if err != nil {
		panic(err)
	}
	d := time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)
	events := []leadkit.Event{
		{ID: "1", Type: "page_view", Time: d},
		{ID: "2", Type: "page_view", Time: d.Add(time.Hour)},
		{ID: "3", Type: "page_view", Time: d.Add(2 * time.Hour)}, // over the cap: no change, no point
		{ID: "4", Type: "download", Time: d.Add(24 * time.Hour)},
	}
	traj, err := m.Trajectory(scoring.Input{Lead: leadkit.Lead{ID: "L1"}, Events: events, AsOf: d.AddDate(0, 1, 0)}, "engagement")
	if err != nil {
		panic(err)
	}
	for _, p := range traj {
		fmt.Println(p.Time.Format(time.DateTime), p.Score)
	}
	// Output:
	// 2025-03-03 09:00:00 5
	// 2025-03-03 10:00:00 10
	// 2025-03-04 09:00:00 30
}
