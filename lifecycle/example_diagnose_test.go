package lifecycle_test

import (
	"cmp"
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

// The TAL diagnosis: TAL between MQL and SAL, owned by the SDR team with
// a target of 40%. Two SDRs fall short of the team; the calls they made
// tell which one screens poorly and which one does not follow up.
func ExampleEngine_Diagnose() {
	ctx := context.Background()
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	now := t0.AddDate(0, 3, 0)
	clock := func() time.Time { return now }
	def, _ := stage.Classic().InsertBetween(stage.Stage{Name: "TAL", Team: "sales"}, "MQL", "SAL")
	for i := range def.Stages {
		if def.Stages[i].Name == "MQL" {
			def.Stages[i].Team = "sdr"
		}
	}
	def.Targets = []stage.Target{{From: "MQL", To: "TAL", Rate: 0.4}}
	machine, err := stage.New(def, stage.Options{Now: clock})
	if err != nil {
		panic(err)
	}
	spec, _ := scoring.ParseModel([]byte(`
name: b2b
dimensions:
  - name: engagement
    behavior: [{name: visit, types: [page_view], points: 5}]
  - name: grade
    bands: [{name: A, min: 0}]
thresholds: [{name: mql, dimension: engagement, value: 100}]
`))
	model, err := scoring.Compile(spec, scoring.Options{})
	if err != nil {
		panic(err)
	}
	pol, _ := pool.ParsePolicy([]byte(`conditions: [{name: engaged, when: 'prospect.touches_90d >= 2'}]`))
	p, _ := pool.New(pool.Options{Policy: pol, Now: clock})
	e, err := lifecycle.New(p, model, machine, journey.NewMemoryStore(), lifecycle.Options{Now: clock,
		Facts: map[string]string{"score": "engagement", "grade": "grade_band"}})
	if err != nil {
		panic(err)
	}

	// Each SDR gets 100 MQLs: ana calls them all and accepts half, bo
	// calls them all and accepts one in ten, cy calls 30 (accepting half)
	// and recycles the rest without a call.
	for _, s := range []struct {
		sdr            string
		called, accept int
	}{{"ana", 100, 50}, {"bo", 100, 10}, {"cy", 30, 15}} {
		for i := range 100 {
			id, at := fmt.Sprintf("%s-%d", s.sdr, i), t0.Add(time.Duration(i)*time.Hour)
			if _, err := e.AddLead(ctx, leadkit.Lead{ID: id, CreatedAt: at}, "MQL"); err != nil {
				panic(err)
			}
			decide, when := "recycle", at.Add(10*24*time.Hour)
			if i < s.called {
				when = at.Add(3 * time.Hour)
				if _, err := e.Ingest(ctx, leadkit.Event{ID: id + "-call", LeadID: id, Type: leadkit.EventSDRCall, Channel: "sdr", Time: when}); err != nil {
					panic(err)
				}
				if i < s.accept {
					decide = "accept"
				}
			}
			req := stage.Request{Actor: s.sdr, At: when}
			if decide == "recycle" {
				req.Reason = "timing"
			}
			if _, err := machine.Fire(ctx, stage.Lead(id), decide, req); err != nil {
				panic(err)
			}
		}
	}

	d, err := e.Diagnose(ctx, lifecycle.DiagnoseOptions{Stages: []string{"MQL", "TAL", "SAL"}})
	if err != nil {
		panic(err)
	}
	step, _ := d.Step("MQL", "TAL")
	fmt.Printf("%s -> %s (team %s): %.0f%%, target %.0f%%, below target: %v\n", step.From, step.To, step.Team, *step.Rate.Rate*100, *step.Target*100, step.BelowTarget)
	for _, o := range step.Owners {
		fmt.Printf("  %s: %2.0f%% [%2.0f%%, %2.0f%%], called %3.0f%%, first call after %s: %s\n", o.Owner, *o.Rate.Rate*100, *o.Rate.Low*100, *o.Rate.High*100,
			*o.Work.Worked.Rate*100, o.Work.FirstMedian, cmp.Or(string(o.Reading), "-"))
	}
	// Output:
	// MQL -> TAL (team sdr): 25%, target 40%, below target: true
	//   ana: 50% [40%, 60%], called 100%, first call after 3h: -
	//   bo: 10% [ 6%, 17%], called 100%, first call after 3h: screening
	//   cy: 15% [ 9%, 23%], called  30%, first call after 3h: follow_up
}
