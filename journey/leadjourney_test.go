package journey

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/stage"
)

// perLeadAccumulators returns one of each per-lead accumulator, as adders
// and result readers, for tests that treat them alike.
func perLeadAccumulators(t *testing.T) map[string]struct {
	add    func(LeadJourney) error
	result func() any
} {
	t.Helper()
	sa, err := NewSourceAgeAccumulator("MQL", SourceAgeOptions{From: day(0)})
	require.NoError(t, err)
	cp, err := NewContentPhaseAccumulator("MQL", ContentPhaseOptions{Order: classicOrder})
	require.NoError(t, err)
	ol, err := NewOldLeadNurtureAccumulator("MQL", OldLeadNurtureOptions{From: day(0), To: day(30), Order: classicOrder})
	require.NoError(t, err)
	type acc = struct {
		add    func(LeadJourney) error
		result func() any
	}
	return map[string]acc{
		"source age":       {sa.Add, func() any { return sa.Result() }},
		"content phases":   {cp.Add, func() any { return cp.Result() }},
		"old lead nurture": {ol.Add, func() any { return ol.Result() }},
	}
}

// The per-lead accumulators refuse a journey with an event of another
// lead or an event that fails leadkit.Event.Validate (here a channel of
// invalid UTF-8 with a NUL, which would become a key that does not
// survive a JSON round trip), naming every problem at once, and count
// nothing of it. An event without a LeadID is the journey's lead's (the
// timeline names it), and an event without a time is ignored.
func TestLeadJourneyAddValidatesEvents(t *testing.T) {
	mql := []stage.Visit{{LeadID: "a", Stage: "MQL", At: day(2)}}
	bad := LeadJourney{
		Timeline: Timeline{LeadID: "a", Events: []leadkit.Event{
			{ID: "e1", LeadID: "someone-else", Type: "download", Channel: "paid", Time: day(1)},
			{ID: "e2", LeadID: "a", Type: "download", Channel: "bad\xff\x00", Time: day(1)},
			{ID: "e3", LeadID: "a", Type: "download", Channel: "paid", Time: time.Date(1, 1, 1, 0, 0, 1, 0, time.UTC)},
		}},
		Visits: mql, Created: day(-40),
	}
	for name, a := range perLeadAccumulators(t) {
		before := a.result()
		err := a.add(bad)
		require.ErrorIs(t, err, leadkit.ErrInvalid, name)
		msg := err.Error()
		assert.Contains(t, msg, `lead "a": event 0: leadkit: invalid input: event "e1" is of lead "someone-else"`, name)
		assert.Contains(t, msg, `lead "a": event 1: leadkit: invalid input: event "e2": channel is not valid UTF-8`, name)
		assert.Contains(t, msg, `lead "a": event 2: leadkit: invalid input: event "e3": time 0001-01-01T00:00:01Z is outside`, name)
		assert.True(t, strings.HasPrefix(msg, "journey: "+name+": "), "%s: %s", name, msg)
		assert.Equal(t, before, a.result(), "%s: nothing counted", name)

		ok := LeadJourney{
			Timeline: Timeline{LeadID: "a", Events: []leadkit.Event{
				{ID: "e1", Type: "download", Channel: "paid", Time: day(1)}, // the timeline's lead
				{ID: "e2", LeadID: "a", Type: "web"},                        // no time: ignored
			}},
			Visits: mql, Created: day(-40),
		}
		require.NoError(t, a.add(ok), name)
	}
}

// Journeys hands the accumulators only what they accept: a creation time
// outside leadkit's range, an event of another lead and an event that
// fails validation are left out and named in the error (everything at
// once), and the rest is returned. So the function forms are one pass of
// their accumulator over Journeys: a lead created in year 1 is of unknown
// creation, not an old lead.
func TestJourneysLeaveOutBadEntries(t *testing.T) {
	year1 := time.Date(1, 1, 1, 0, 0, 1, 0, time.UTC)
	tls := []Timeline{
		{LeadID: "a", Events: []leadkit.Event{
			{ID: "e1", LeadID: "a", Type: "email", Channel: "email", Time: day(1)},
			{ID: "e2", LeadID: "b", Type: "email", Channel: "email", Time: day(1)},
			{ID: "e3", LeadID: "a", Type: "email", Channel: "bad\xff\x00", Time: day(1)},
		}},
		{LeadID: "bad\xff", Events: nil},
	}
	visits := []stage.Visit{{LeadID: "a", Stage: "MQL", At: day(2)}, {LeadID: "c", Stage: "MQL", At: day(3)}}
	created := map[string]time.Time{"a": day(-40), "c": year1, "": day(-40)}
	js, err := Journeys(tls, visits, created)
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	msg := err.Error()
	assert.Contains(t, msg, `journey: timeline 0 (lead "a"): event 1: leadkit: invalid input: event "e2" is of lead "b"`)
	assert.Contains(t, msg, `journey: timeline 0 (lead "a"): event 2: leadkit: invalid input: event "e3": channel is not valid UTF-8`)
	assert.Contains(t, msg, `journey: lead "c": leadkit: invalid input: creation time 0001-01-01T00:00:01Z is outside years 1900 to 2149`)
	assert.Contains(t, msg, `journey: timeline 1: leadkit: invalid input: lead ID is not valid UTF-8`)
	assert.Contains(t, msg, `journey: creation times: leadkit: invalid input: lead ID is empty`)
	require.Len(t, js, 2)
	assert.Equal(t, "a", js[0].LeadID)
	require.Len(t, js[0].Events, 1)
	assert.Equal(t, "e1", js[0].Events[0].ID)
	assert.Equal(t, "c", js[1].LeadID)
	assert.True(t, js[1].Created.IsZero(), "the bad creation time is left out: unknown")

	// One pass of the accumulator over Journeys.
	a, err := NewSourceAgeAccumulator("MQL", SourceAgeOptions{From: day(0)})
	require.NoError(t, err)
	for _, j := range js {
		require.NoError(t, a.Add(j))
	}
	r, err := SourceAge(tls, visits, created, "MQL", SourceAgeOptions{From: day(0)})
	require.ErrorIs(t, err, leadkit.ErrInvalid, "the function form names the bad entries")
	assert.Equal(t, a.Result(), r)
	assert.Equal(t, 1, r.Earlier, "a")
	assert.Equal(t, 1, r.Unknown, "c: created in year 1 is not known")
	require.Len(t, r.Channels, 1)
	assert.Equal(t, "email", r.Channels[0].Key)
	assert.Equal(t, 1, r.Channels[0].Revived, "e1 only")

	// Valid input: the journeys share the timelines' events.
	good := []Timeline{{LeadID: "a", Events: tls[0].Events[:1]}}
	js, err = Journeys(good, nil, nil)
	require.NoError(t, err)
	require.Len(t, js, 1)
	assert.Same(t, &good[0].Events[0], &js[0].Events[0])
}
