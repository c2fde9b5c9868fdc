package lifecycle_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/journey"
	"github.com/leadkit/leadkit/lifecycle"
	"github.com/leadkit/leadkit/stage"
)

// One lead ID in two shards (a duplicate record), each skipped for its
// own reason: the reasons kept are the same whichever shard merges into
// which.
func TestCreditSkipReasonsIndependentOfMergeOrder(t *testing.T) {
	plan := creditPlans()[1] // valued: a deal without a numeric amount is skipped
	won := func(amount any) journey.LeadJourney {
		at := creditT0.AddDate(0, 0, 3)
		return journey.LeadJourney{
			Timeline: journey.Timeline{LeadID: "dup", Events: []leadkit.Event{
				{ID: "t", LeadID: "dup", Type: "page_view", Channel: "web", Time: at.Add(-24 * 3600e9)},
				{ID: "w", LeadID: "dup", Type: "deal_won", Time: at, Attrs: map[string]any{"amount": amount}},
			}},
			Visits: []stage.Visit{{LeadID: "dup", Stage: "Won", At: at}},
		}
	}
	shard := func(amount any) *lifecycle.CreditAccumulator {
		a := newCredit(t, "Won", plan)
		require.NoError(t, a.Add(won(amount)))
		return a
	}
	x, y := shard("ten"), shard(true)
	require.NoError(t, x.Merge(y))
	y2, x2 := shard(true), shard("ten")
	require.NoError(t, y2.Merge(x2))
	_, skippedXY, reasonsXY := x.Result()
	_, skippedYX, reasonsYX := y2.Result()
	require.Equal(t, 2, skippedXY)
	assert.Equal(t, skippedXY, skippedYX)
	assert.Equal(t, reasonsXY, reasonsYX)
	assert.Len(t, reasonsXY, 2, "both reasons, one per shard")
	b, err := x.MarshalBinary()
	require.NoError(t, err)
	back := new(lifecycle.CreditAccumulator)
	require.NoError(t, back.UnmarshalBinary(b), "the merged state decodes")
	_, _, reasons := back.Result()
	assert.Equal(t, reasonsXY, reasons)
}
