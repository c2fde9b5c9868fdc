package journey_test

import (
	"fmt"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/journey"
	"github.com/leadkit/leadkit/stage"
)

// How two SDRs worked their MQLs: ana called both of hers within two
// hours, bo called one of his, a day after it qualified.
func ExampleNewWork() {
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	w, err := journey.NewWork(journey.WorkSpec{Stages: []string{"MQL"}, Types: []string{leadkit.EventSDRCall}})
	if err != nil {
		panic(err)
	}
	lead := func(id, sdr string, calls ...time.Duration) {
		visits := []stage.Visit{{LeadID: id, Stage: "MQL", At: t0, Owner: sdr}}
		var events []leadkit.Event
		for i, d := range calls {
			events = append(events, leadkit.Event{ID: fmt.Sprint(id, "-", i), LeadID: id, Type: leadkit.EventSDRCall, Time: t0.Add(d)})
		}
		if err := w.Add(visits, events); err != nil {
			panic(err)
		}
	}
	lead("L1", "ana", time.Hour, 3*time.Hour)
	lead("L2", "ana", 2*time.Hour)
	lead("L3", "bo", 24*time.Hour)
	lead("L4", "bo")
	for _, o := range w.Result().Stages[0].Owners {
		fmt.Printf("%s: %d of %d worked, %.1f calls per lead, first call after %s\n", o.Owner, o.Worked.Count, o.Stays, *o.PerStay, *o.FirstMedian)
	}
	// Output:
	// ana: 2 of 2 worked, 1.5 calls per lead, first call after 1h30m
	// bo: 1 of 2 worked, 0.5 calls per lead, first call after 1d
}
