package journey

import (
	"math"
	"testing"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/stage"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Two decoded accumulators holding a content sent math.MaxInt32 times
// merge into a state whose encoding decodes (the decoder used to cap
// counts at MaxInt32 while Merge summed past it, failing a Beam pipeline
// in the coder): counts decode up to MaxCount, and Add and Merge refuse
// to go past it.
func TestNurtureMergedCountsDecode(t *testing.T) {
	a, err := NewNurtureAccumulator("MQL", NurtureOptions{})
	require.NoError(t, err)
	a.keys["c"] = &powerCount{sent: math.MaxInt32, leads: 1}
	b, err := a.MarshalBinary()
	require.NoError(t, err)
	x, y := new(NurtureAccumulator), new(NurtureAccumulator)
	require.NoError(t, x.UnmarshalBinary(b))
	require.NoError(t, y.UnmarshalBinary(b))
	require.NoError(t, x.Merge(y))
	m, err := x.MarshalBinary()
	require.NoError(t, err)
	require.NoError(t, new(NurtureAccumulator).UnmarshalBinary(m), "the merge of two decoded accumulators must decode")

	a.keys["c"] = &powerCount{sent: MaxCount, leads: 1}
	full, err := a.MarshalBinary()
	require.NoError(t, err)
	require.NoError(t, y.UnmarshalBinary(full))
	before, err := x.MarshalBinary()
	require.NoError(t, err)
	err = x.Merge(y)
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.ErrorContains(t, err, "(MaxCount)")
	after, err := x.MarshalBinary()
	require.NoError(t, err)
	assert.Equal(t, before, after, "a refused merge changes nothing")
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	err = y.Add(LeadJourney{Timeline: Timeline{LeadID: "l", Events: []leadkit.Event{{ID: "1", LeadID: "l", Type: "email_opened", Content: "c", Time: at}}}})
	assert.ErrorContains(t, err, "(MaxCount)")
}

// The skipped leads of cycle times decode up to MaxCount, and Merge
// refuses to go past it.
func TestCycleSkippedCountsDecode(t *testing.T) {
	a, err := NewCycleAccumulator("MQL", CycleOptions{})
	require.NoError(t, err)
	a.skipped = math.MaxInt32
	b, err := a.MarshalBinary()
	require.NoError(t, err)
	x, y := new(CycleAccumulator), new(CycleAccumulator)
	require.NoError(t, x.UnmarshalBinary(b))
	require.NoError(t, y.UnmarshalBinary(b))
	require.NoError(t, x.Merge(y))
	m, err := x.MarshalBinary()
	require.NoError(t, err)
	require.NoError(t, new(CycleAccumulator).UnmarshalBinary(m))
	y.skipped = MaxCount
	assert.ErrorContains(t, x.Merge(y), "(MaxCount)")
}

// Of two timelines of one lead NurturePower (as Journeys) uses the last
// and names the other in the error, as other bad entries are named (it
// used to drop it without a word: a history passed in two pieces lost the
// first piece's sends with a nil error).
func TestNurturePowerNamesDuplicateTimeline(t *testing.T) {
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	tls := []Timeline{
		{LeadID: "a", Events: []leadkit.Event{{ID: "1", LeadID: "a", Type: "email_opened", Content: "guide", Time: at}}},
		{LeadID: "a", Events: []leadkit.Event{{ID: "2", LeadID: "a", Type: "email_opened", Content: "demo", Time: at.Add(time.Hour)}}},
	}
	visits := []stage.Visit{{LeadID: "a", Stage: "MQL", At: at.Add(2 * time.Hour)}}
	got, err := NurturePower(tls, visits, "MQL", NurtureOptions{})
	keys := []string{}
	for _, c := range got {
		keys = append(keys, c.Key)
	}
	if err == nil {
		require.ElementsMatch(t, []string{"guide", "demo"}, keys, "a lead's sends are all counted, or the duplicate timeline is named in the error")
	}
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.ErrorContains(t, err, `journey: timeline 0 (lead "a"): leadkit: invalid input: the lead has a later timeline (1), the one used`)
	assert.Equal(t, []string{"demo"}, keys)
}
