package attribution_test

import (
	"testing"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/attribution"
	"github.com/leadkit/leadkit/journey"
	"github.com/leadkit/leadkit/stage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// MQLs attributed to channels from stage entries, with no invented events:
// a's touches before its MQL entry form its path, the touch after does
// not count; b became an MQL without a timeline (a conversion without
// touches); c never reached MQL (a null); a bad visit is reported.
func TestWithStageEntries(t *testing.T) {
	day := func(n int) time.Time { return time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, n) }
	ev := func(lead, id, ch string, d int) leadkit.Event {
		return leadkit.Event{ID: id, LeadID: lead, Type: "page_view", Channel: ch, Time: day(d)}
	}
	tls := []journey.Timeline{
		{LeadID: "a", Events: []leadkit.Event{ev("a", "a1", "ads", 0), ev("a", "a2", "email", 2), ev("a", "a3", "webinar", 9)}},
		{LeadID: "c", Events: []leadkit.Event{ev("c", "c1", "ads", 1)}},
	}
	visits := []stage.Visit{
		{LeadID: "a", Stage: "Raw", At: day(0)}, {LeadID: "a", Stage: "MQL", At: day(5)}, {LeadID: "a", Stage: "MQL", At: day(20)},
		{LeadID: "b", Stage: "MQL", At: day(3)},
		{LeadID: "", Stage: "MQL", At: day(3)},
	}
	before := len(tls[0].Events)
	out, err := attribution.WithStageEntries(tls, visits, "MQL")
	require.Error(t, err)
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.ErrorContains(t, err, "visit 4")
	assert.Len(t, tls[0].Events, before, "the given timelines are not modified")
	require.Len(t, out, 3)
	assert.Equal(t, "b", out[2].LeadID)

	paths, err := attribution.PathsFromTimelines(out, attribution.Conversion{Types: []string{attribution.StageEventType("MQL")}})
	require.NoError(t, err)
	got := map[string][2]float64{}
	for _, p := range paths {
		key := ""
		for i, c := range p.Channels {
			if i > 0 {
				key += ">"
			}
			key += c
		}
		got[key] = [2]float64{p.Conversions, p.Nulls}
	}
	assert.Equal(t, [2]float64{1, 0}, got["ads>email"], "a converted at its first MQL entry after ads and email")
	assert.Equal(t, [2]float64{1, 0}, got[attribution.DefaultNoTouch], "b converted without touches")
	assert.Equal(t, [2]float64{0, 1}, got["ads"], "c never reached MQL")

	_, err = attribution.WithStageEntries(tls, visits, "")
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
}

// Every entry is a conversion: a, recycled and back in MQL, converts
// twice, each time to the touches since its previous entry; its touch
// after the second entry is a journey that did not convert.
func TestSplitAtStageEntries(t *testing.T) {
	day := func(n int) time.Time { return time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, n) }
	ev := func(lead, id, ch string, d int) leadkit.Event {
		return leadkit.Event{ID: id, LeadID: lead, Type: "page_view", Channel: ch, Time: day(d)}
	}
	tls := []journey.Timeline{
		{LeadID: "a", Events: []leadkit.Event{ev("a", "a1", "ads", 0), ev("a", "a2", "email", 5), ev("a", "a3", "webinar", 9), ev("a", "a4", "ads", 30)}},
		{LeadID: "c", Events: []leadkit.Event{ev("c", "c1", "ads", 1)}},
	}
	visits := []stage.Visit{{LeadID: "a", Stage: "MQL", At: day(20)}, {LeadID: "a", Stage: "MQL", At: day(5)}, {LeadID: "b", Stage: "MQL", At: day(3)}}
	out, err := attribution.SplitAtStageEntries(tls, visits, "MQL")
	require.NoError(t, err)
	paths, err := attribution.PathsFromTimelines(out, attribution.Conversion{Types: []string{attribution.StageEventType("MQL")}})
	require.NoError(t, err)
	got := map[string][2]float64{}
	for _, p := range paths {
		got[p.String()] = [2]float64{p.Conversions, p.Nulls}
	}
	assert.Equal(t, map[string][2]float64{
		"ads > email":              {1, 0}, // a's first entry (the email at the entry's time counts)
		"webinar":                  {1, 0}, // a's second entry, after the recycle
		"ads":                      {0, 2}, // a after its last entry, and c
		attribution.DefaultNoTouch: {1, 0}, // b, without a timeline
	}, got)
	assert.Len(t, tls[0].Events, 4, "the given timelines are not modified")
	_, err = attribution.SplitAtStageEntries(tls, []stage.Visit{{Stage: "MQL", At: day(1)}}, "MQL")
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
}
