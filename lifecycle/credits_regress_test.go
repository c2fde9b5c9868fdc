package lifecycle_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/attribution"
	"github.com/leadkit/leadkit/internal/binenctest"
	"github.com/leadkit/leadkit/journey"
	"github.com/leadkit/leadkit/lifecycle"
	"github.com/leadkit/leadkit/stage"
)

func regressPlan() lifecycle.CreditPlan {
	return lifecycle.CreditPlan{From: creditT0, To: creditT0.AddDate(0, 1, 0),
		Order: []string{"Raw", "MQL", "SAL", "SQL", "Opportunity", "Won"}, Exits: []string{"Recycled", "Lost"},
		Keys: []attribution.TouchKey{attribution.ByChannel}, Models: []string{"last_touch", "markov"}}
}

// A LeadJourney's events "need not be sorted" (journey.LeadJourney), and
// every journey accumulator gives the same result whatever their order:
// the CreditAccumulator sorts a copy before it cuts the timeline at stage
// entries (it used to assume sorted events and credit other channels).
func TestCreditIgnoresEventOrder(t *testing.T) {
	entry := creditT0.AddDate(0, 0, 10)
	ev := func(id, ch string, at time.Time) leadkit.Event {
		return leadkit.Event{ID: id, LeadID: "l1", Type: "page_view", Channel: ch, Time: at}
	}
	sorted := journey.LeadJourney{
		Timeline: journey.Timeline{LeadID: "l1", Events: []leadkit.Event{
			ev("a", "web", entry.Add(-48*time.Hour)),
			ev("b", "email", entry.Add(48*time.Hour)),
		}},
		Visits: []stage.Visit{{LeadID: "l1", Stage: "MQL", At: entry}},
	}
	reversed := sorted
	reversed.Events = slices.Clone(sorted.Events)
	slices.Reverse(reversed.Events)

	a := newCredit(t, "MQL", regressPlan())
	require.NoError(t, a.Add(sorted))
	b := newCredit(t, "MQL", regressPlan())
	require.NoError(t, b.Add(reversed))
	assert.Equal(t, creditJSON(t, a), creditJSON(t, b), "same journey, events listed in another order")
}

// Two leads converting along one path with values each within
// attribution.MaxPathCount sum to more than it: every state Add and Merge
// reach must decode (it used to be refused by UnmarshalBinary, failing a
// Beam pipeline in the coder), with the same result.
func TestCreditValueSumsDecode(t *testing.T) {
	plan := regressPlan()
	plan.Value = &lifecycle.Value{Types: []string{"deal_won"}, Attr: "amount"}
	a := newCredit(t, "Won", plan)
	entry := creditT0.AddDate(0, 0, 10)
	for i := range 2 {
		id := fmt.Sprintf("l%d", i)
		require.NoError(t, a.Add(journey.LeadJourney{
			Timeline: journey.Timeline{LeadID: id, Events: []leadkit.Event{
				{ID: id + "t", LeadID: id, Type: "page_view", Channel: "web", Time: entry.Add(-time.Hour)},
				{ID: id + "d", LeadID: id, Type: "deal_won", Time: entry, Attrs: map[string]any{"amount": 6e14}},
			}},
			Visits: []stage.Visit{{LeadID: id, Stage: "Won", At: entry}},
		}))
	}
	b, err := a.MarshalBinary()
	require.NoError(t, err)
	back := new(lifecycle.CreditAccumulator)
	require.NoError(t, back.UnmarshalBinary(b), "an encoding MarshalBinary wrote of a state Add made")
	assert.Equal(t, creditJSON(t, a), creditJSON(t, back))
	credits, _, _ := a.Result()
	for _, c := range credits {
		assert.Empty(t, c.Error, c.Model)
		assert.Equal(t, 1.2e15, c.Result.Value["web"], c.Model)
	}
	c := newCredit(t, "Won", plan)
	require.NoError(t, c.Merge(a))
	require.NoError(t, c.Merge(back))
	b, err = c.MarshalBinary()
	require.NoError(t, err)
	require.NoError(t, new(lifecycle.CreditAccumulator).UnmarshalBinary(b), "merged sums decode too")
}

// The credit accumulator's size does not grow with the leads (here each
// lead has its own campaign): it used to keep a row per distinct path.
// Past attribution.MaxChannels channels a model keeps only an over-cap
// mark and its result is an error.
func TestCreditSizeDoesNotGrowWithLeads(t *testing.T) {
	plan := regressPlan()
	plan.Keys = []attribution.TouchKey{attribution.ByCampaign}
	size := func(n int) int {
		t.Helper()
		a := newCredit(t, "MQL", plan)
		entry := creditT0.AddDate(0, 0, 10)
		for i := range n {
			id := fmt.Sprintf("l%05d", i)
			require.NoError(t, a.Add(journey.LeadJourney{
				Timeline: journey.Timeline{LeadID: id, Events: []leadkit.Event{
					{ID: id, LeadID: id, Type: "page_view", Channel: "web", Campaign: "c" + id, Time: entry.Add(-time.Hour)},
				}},
				Visits: []stage.Visit{{LeadID: id, Stage: "MQL", At: entry}},
			}))
		}
		b, err := a.MarshalBinary()
		require.NoError(t, err)
		back := new(lifecycle.CreditAccumulator)
		require.NoError(t, back.UnmarshalBinary(b))
		credits, _, _ := back.Result()
		for _, c := range credits {
			if n > attribution.MaxChannels {
				assert.Contains(t, c.Error, "more than 1000 channels (attribution.MaxChannels)", c.Model)
			} else {
				assert.Empty(t, c.Error, c.Model)
				assert.Len(t, c.Result.Conversions, n, c.Model)
			}
		}
		return len(b)
	}
	small, big := size(500), size(5000)
	assert.Less(t, big, 2*small, "encoding of 500 leads: %d bytes, of 5000: %d", small, big)
}

// Going over the channel cap is a property of the leads, not of the
// sharding: two shards of 600 campaigns each merge into the over-cap
// mark one pass makes, with the same encoding.
func TestCreditOverCapDoesNotDependOnSharding(t *testing.T) {
	plan := regressPlan()
	plan.Keys = []attribution.TouchKey{attribution.ByCampaign}
	entry := creditT0.AddDate(0, 0, 10)
	lead := func(i int) journey.LeadJourney {
		id := fmt.Sprintf("l%05d", i)
		return journey.LeadJourney{
			Timeline: journey.Timeline{LeadID: id, Events: []leadkit.Event{
				{ID: id, LeadID: id, Type: "page_view", Channel: "web", Campaign: "c" + id, Time: entry.Add(-time.Hour)},
			}},
			Visits: []stage.Visit{{LeadID: id, Stage: "MQL", At: entry}},
		}
	}
	one, x, y := newCredit(t, "MQL", plan), newCredit(t, "MQL", plan), newCredit(t, "MQL", plan)
	for i := range 1200 {
		require.NoError(t, one.Add(lead(i)))
		shard := x
		if i%2 == 1 {
			shard = y
		}
		require.NoError(t, shard.Add(lead(i)))
	}
	for _, c := range []*lifecycle.CreditAccumulator{x, y} {
		credits, _, _ := c.Result()
		for _, cr := range credits {
			require.Empty(t, cr.Error, "600 channels are within the cap")
		}
	}
	require.NoError(t, x.Merge(binenctest.Copy(t, y)))
	assert.Equal(t, creditJSON(t, one), creditJSON(t, x))
	a, err := one.MarshalBinary()
	require.NoError(t, err)
	b, err := x.MarshalBinary()
	require.NoError(t, err)
	assert.Equal(t, a, b)
	credits, _, _ := x.Result()
	require.Len(t, credits, 2)
	for _, cr := range credits {
		assert.Contains(t, cr.Error, "(attribution.MaxChannels)", cr.Model)
	}
}
