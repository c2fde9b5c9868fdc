package lifecycle_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/binenctest"
	"github.com/leadkit/leadkit/journey"
	"github.com/leadkit/leadkit/lifecycle"
	"github.com/leadkit/leadkit/stage"
)

// capJourney is a lead whose one web touch preceded its MQL entry: one
// path per key.
func capJourney(id string) journey.LeadJourney {
	entry := creditT0.AddDate(0, 0, 10)
	return journey.LeadJourney{
		Timeline: journey.Timeline{LeadID: id, Events: []leadkit.Event{
			{ID: id, LeadID: id, Type: "page_view", Channel: "web", Time: entry.Add(-time.Hour)},
		}},
		Visits: []stage.Visit{{LeadID: id, Stage: "MQL", At: entry}},
	}
}

// The Markov counts of a credit take at most journey.MaxCount paths: an
// Add or a Merge that would pass it is refused, naming the cap, and
// nothing changes (the refusal of the counts inside was once ignored, and
// the merged credit left out the other side's paths without a word).
func TestCreditMarkovPathsCapped(t *testing.T) {
	one := newCredit(t, "MQL", regressPlan())
	require.NoError(t, one.Add(capJourney("l")))
	over := fmt.Sprintf("more than %d Markov paths (journey.MaxCount)", journey.MaxCount)
	binenctest.Capped(t, one, journey.MaxCount, creditResult,
		"lifecycle: credit: leadkit: invalid input: merged, "+over, "lifecycle: credit: leadkit: invalid input: "+over,
		func(a *lifecycle.CreditAccumulator) error { return a.Add(capJourney("m")) })
}
