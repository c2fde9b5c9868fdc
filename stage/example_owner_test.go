package stage_test

import (
	"fmt"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/stage"
)

// A funnel by owner: each step per SDR, with the interval that says
// whether an SDR's rate differs from the team's beyond chance.
func ExampleFunnelSpec_byOwner() {
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	var visits []stage.Visit
	for i := range 120 {
		id, sdr := fmt.Sprint("L", i), []string{"ana", "bo"}[i%2]
		visits = append(visits, stage.Visit{LeadID: id, Stage: "MQL", At: t0, Owner: sdr})
		// ana moves 2 in 3 of her MQLs on, bo 1 in 6.
		if (sdr == "ana" && i%3 != 0) || (sdr == "bo" && i%12 == 1) {
			visits = append(visits, stage.Visit{LeadID: id, Stage: "SAL", At: t0.Add(36 * time.Hour)})
		}
	}
	r, err := stage.Funnel(stage.FunnelSpec{Stages: []string{"MQL", "SAL"}, ByOwner: true}, visits)
	if err != nil {
		panic(err)
	}
	step := r.Owners[0]
	fmt.Printf("%s -> %s: %.0f%% of %d\n", step.From, step.To, *step.Rate.Rate*100, step.Rate.Base)
	for _, o := range step.Owners {
		fmt.Printf("  %-3s %2d/%d = %2.0f%% [%2.0f%%, %2.0f%%] below=%v above=%v median %s\n", o.Owner, o.Rate.Count, o.Rate.Base,
			*o.Rate.Rate*100, *o.Rate.Low*100, *o.Rate.High*100, o.Below, o.Above, *o.Median)
	}
	// Output:
	// MQL -> SAL: 42% of 120
	//   ana 40/60 = 67% [54%, 77%] below=false above=true median 1d12h
	//   bo  10/60 = 17% [ 9%, 28%] below=true above=false median 1d12h
}

// Targets and gaps: which step's shortfall costs the most won deals.
func ExampleGaps() {
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	var visits []stage.Visit
	for i := range 200 {
		id := fmt.Sprint("L", i)
		visits = append(visits, stage.Visit{LeadID: id, Stage: "MQL", At: t0})
		if i < 60 { // 30% accepted
			visits = append(visits, stage.Visit{LeadID: id, Stage: "SAL", At: t0.Add(48 * time.Hour)})
		}
		if i < 40 {
			visits = append(visits, stage.Visit{LeadID: id, Stage: "SQL", At: t0.Add(96 * time.Hour)})
		}
		if i < 10 {
			visits = append(visits, stage.Visit{LeadID: id, Stage: "Won", At: t0.Add(30 * 24 * time.Hour)})
		}
	}
	r, _ := stage.Funnel(stage.FunnelSpec{Stages: []string{"MQL", "SAL", "SQL", "Won"}}, visits)
	rep, err := stage.Gaps(r, []stage.Target{
		{From: "MQL", To: "SAL", Rate: 0.4, CycleTime: leadkit.Duration(24 * time.Hour)},
		{From: "SAL", To: "SQL", Rate: 0.6},
		{From: "SQL", To: "Won", Rate: 0.3},
	})
	if err != nil {
		panic(err)
	}
	for _, g := range rep.Steps {
		fmt.Printf("%s -> %s: %.2f vs target %.2f, won deals lost %+.1f\n", g.From, g.To, *g.Rate.Rate, *g.Target, *g.Lost)
	}
	fmt.Printf("costliest: %s -> %s; MQL -> SAL median %s, %s over its target\n", rep.Costliest.From, rep.Costliest.To, rep.Steps[0].Median, *rep.Steps[0].CycleGap)
	// Output:
	// MQL -> SAL: 0.30 vs target 0.40, won deals lost +3.3
	// SAL -> SQL: 0.67 vs target 0.60, won deals lost -1.0
	// SQL -> Won: 0.25 vs target 0.30, won deals lost +2.0
	// costliest: MQL -> SAL; MQL -> SAL median 2d, 1d over its target
}
