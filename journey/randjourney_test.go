package journey

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/stage"
)

// randOrder is the funnel order of the random inputs; "Recycled" and
// "Lost" are outside it.
var randOrder = []string{"Raw", "MQL", "SAL", "Won"}

// randInput is a small random business for the reference tests: a few
// leads with events, visits and creation times on a coarse grid of days,
// so that ties (a touch at a visit's instant, two visits at once) are
// common.
type randInput struct {
	timelines []Timeline
	visits    []stage.Visit
	created   map[string]time.Time
}

func randomInput(rng *rand.Rand) randInput {
	in := randInput{created: map[string]time.Time{}}
	stages := append(append([]string{}, randOrder...), "Recycled", "Lost")
	grid := func() time.Time { return day(float64(rng.IntN(25)*4 - 40)) } // days -40..56 by 4
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	n := 1 + rng.IntN(8)
	for l := range n {
		lead := fmt.Sprintf("l%d", l)
		if rng.IntN(5) > 0 {
			in.created[lead] = grid()
		}
		if rng.IntN(6) > 0 {
			tl := Timeline{LeadID: lead}
			for e := range rng.IntN(7) {
				ev := leadkit.Event{
					ID: fmt.Sprintf("%s-%d", lead, e), LeadID: lead,
					Type:    pick("web", "email", "form", "call"),
					Channel: pick("", "paid", "email", "event"),
					Content: pick("", "guide", "case", "web"),
					Time:    grid(),
				}
				if rng.IntN(20) == 0 {
					ev.Time = time.Time{} // ignored everywhere
				}
				tl.Events = append(tl.Events, ev)
			}
			in.timelines = append(in.timelines, tl)
		}
		for range rng.IntN(5) {
			in.visits = append(in.visits, stage.Visit{LeadID: lead, Stage: stages[rng.IntN(len(stages))], At: grid()})
		}
	}
	// Half the time, the one meaning of reached.
	if rng.IntN(2) == 0 {
		r, err := stage.Reach(in.visits, randOrder)
		if err != nil {
			panic(err)
		}
		in.visits = r
	}
	return in
}

// noNaN marshals v and requires JSON (encoding/json refuses NaN and
// infinities, so a NaN anywhere is an error) without the words.
func noNaN(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	require.False(t, strings.Contains(string(b), "NaN") || strings.Contains(string(b), "Inf"), "%s", b)
	return string(b)
}
