package journey

import (
	"testing"
	"time"

	"github.com/leadkit/leadkit"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The MaxCount cap on one key's sends counts that key's sends of the
// lead, not all its sends: a lead that sends the key at the cap's edge
// once and another key many times is counted, so that a refusal means
// the data passes the cap, whatever the order of adds.
func TestNurtureKeyCapCountsThatKeysSends(t *testing.T) {
	a, err := NewNurtureAccumulator("MQL", NurtureOptions{})
	require.NoError(t, err)
	a.keys["edge"] = &powerCount{sent: MaxCount - 1, leads: 1}
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	j := LeadJourney{Timeline: Timeline{LeadID: "l"}}
	j.Events = append(j.Events, leadkit.Event{ID: "e", LeadID: "l", Type: "email_opened", Content: "edge", Time: at})
	for i := range 5 {
		j.Events = append(j.Events, leadkit.Event{ID: string(rune('a' + i)), LeadID: "l", Type: "email_opened", Content: "other", Time: at})
	}
	require.NoError(t, a.Add(j), "edge reaches MaxCount exactly; other is far from it")
	assert.Equal(t, int64(MaxCount), int64(a.keys["edge"].sent))
	assert.Equal(t, 5, a.keys["other"].sent)
	err = a.Add(j)
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.ErrorContains(t, err, "edge", "the key past the cap is named")
}
