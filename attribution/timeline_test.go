package attribution

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/journey"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

const day = 24 * time.Hour

// ev builds an event of lead at t0 + days.
func ev(lead, id, typ, channel string, days float64, attrs map[string]any) leadkit.Event {
	return leadkit.Event{ID: id, LeadID: lead, Type: typ, Channel: channel, Campaign: "camp-" + channel,
		Time: t0.Add(time.Duration(days * float64(day))), Attrs: attrs}
}

func tl(lead string, evs ...leadkit.Event) journey.Timeline {
	return journey.Timeline{LeadID: lead, Events: evs}
}

// fixture: l1 converts (mql) after seo, email and a webinar form fill;
// l2 touched ads and did not convert; l3 has no events; l4 converted
// without a touch.
func fixture() []journey.Timeline {
	return []journey.Timeline{
		tl("l1",
			ev("l1", "e1", "page_view", "seo", 0, nil),
			ev("l1", "e2", "email_clicked", "email", 2, nil),
			ev("l1", "e3", "form_submitted", "webinar", 5, nil),
			ev("l1", "e4", "sdr_call", "", 6, nil),
			ev("l1", "e5", "mql", "", 7, map[string]any{"value": 100.0}),
			ev("l1", "e6", "page_view", "ads", 8, nil),
		),
		tl("l2", ev("l2", "f1", "page_view", "ads", 1, nil)),
		tl("l3"),
		tl("l4", ev("l4", "g1", "mql", "", 3, map[string]any{"value": json.Number("50")})),
	}
}

func TestTimeDecay(t *testing.T) {
	conv := Conversion{Types: []string{"won"}, ValueAttr: "amount"}
	// Default half-life 7 days: the touch 7 days before weighs 1/2, the one
	// at the conversion 1: shares 1/3 and 2/3.
	a := tl("a", ev("a", "1", "page_view", "seo", 0, nil), ev("a", "2", "meeting", "sales", 7, nil),
		ev("a", "3", "won", "", 7, map[string]any{"amount": 90}))
	r, err := TimeDecay{}.AttributeTimelines([]journey.Timeline{a}, conv)
	require.NoError(t, err)
	assert.InDelta(t, 1.0/3, r.Conversions["seo"], 1e-12)
	assert.InDelta(t, 2.0/3, r.Conversions["sales"], 1e-12)
	assert.InDelta(t, 30, r.Value["seo"], 1e-9)
	assert.InDelta(t, 60, r.Value["sales"], 1e-9)

	// Half-life 1 day, touches 2 days and 0 days before: 1/4 vs 1, shares
	// 0.2 and 0.8; the same channel twice adds up.
	b := tl("b", ev("b", "1", "page_view", "seo", 0, nil), ev("b", "2", "page_view", "seo", 2, nil), ev("b", "3", "page_view", "ads", 0, nil),
		ev("b", "4", "won", "", 2, map[string]any{"amount": 10}))
	r, err = TimeDecay{HalfLife: day}.AttributeTimelines([]journey.Timeline{b}, conv)
	require.NoError(t, err)
	// seo: 1/4 + 1, ads: 1/4 -> 5/6 and 1/6.
	assert.InDelta(t, 5.0/6, r.Conversions["seo"], 1e-12)
	assert.InDelta(t, 1.0/6, r.Conversions["ads"], 1e-12)

	// Touches far in the past with a half-life of 1 second: both absolute
	// weights underflow, but seo is 1 day (86,400 half-lives) older than
	// ads, so its relative weight 2^-86400 is 0 and ads takes everything.
	c := tl("c", ev("c", "1", "page_view", "seo", 0, nil), ev("c", "2", "page_view", "ads", 1, nil),
		ev("c", "3", "won", "", 40000, map[string]any{"amount": 1}))
	r, err = TimeDecay{HalfLife: time.Second}.AttributeTimelines([]journey.Timeline{c}, conv)
	require.NoError(t, err)
	assert.Zero(t, r.Conversions["seo"])
	assert.Equal(t, 1.0, r.Conversions["ads"])
}

// milestoneCase is a B2B journey with every milestone: seo (day 0), email
// (day 1, the form fill that creates the lead), ads (day 2), events (day 3),
// opportunity created (day 4, no channel), sdr (day 5), webinar (day 6),
// closed won (day 7, no channel).
func milestoneCase() journey.Timeline {
	return tl("m",
		ev("m", "1", "page_view", "seo", 0, nil),
		ev("m", "2", "form_submitted", "email", 1, nil),
		ev("m", "3", "page_view", "ads", 2, nil),
		ev("m", "4", "offline_event", "events", 3, nil),
		ev("m", "5", EventOpportunityCreated, "", 4, nil),
		ev("m", "6", "sdr_call", "sdr", 5, nil),
		ev("m", "7", "webinar_attended", "webinar", 6, nil),
		ev("m", "8", EventClosedWon, "", 7, map[string]any{"amount": 1000}),
	)
}

// TestTimelineModelsConserve checks conservation on random timelines.
func TestTimelineModelsConserve(t *testing.T) {
	var tls []journey.Timeline
	var converted, value float64
	channels := []string{"seo", "ads", "email", "events", ""}
	types := []string{"page_view", "form_submitted", EventLeadCreated, EventOpportunityCreated, "email_clicked"}
	for i := range 200 {
		lead := fmt.Sprint("l", i)
		var evs []leadkit.Event
		for j := range i % 9 {
			evs = append(evs, ev(lead, fmt.Sprint(j), types[(i+j)%len(types)], channels[(i*j+j)%len(channels)], float64(j)*1.5, nil))
		}
		if i%3 != 0 {
			evs = append(evs, ev(lead, "won", EventClosedWon, "", 20, map[string]any{"amount": float64(i)}))
			converted++
			value += float64(i)
		}
		tls = append(tls, tl(lead, evs...))
	}
	conv := Conversion{Types: []string{EventClosedWon}, ValueAttr: "amount", Lookback: 15 * day}
	for _, m := range []TimelineModel{TimeDecay{}, UShaped{}, WShaped{}, FullPath{}, CustomRoles{Weights: RoleWeights{ClosedWon: 1, Other: 2}}} {
		r, err := m.AttributeTimelines(tls, conv)
		require.NoError(t, err)
		assert.InDelta(t, converted, r.TotalConversions(), 1e-9, "%T", m)
		assert.InDelta(t, value, r.TotalValue(), 1e-9, "%T", m)
	}
	paths, err := PathsFromTimelines(tls, conv)
	require.NoError(t, err)
	c, v, n := Totals(paths)
	assert.Equal(t, []float64{converted, value, 200 - converted}, []float64{c, v, n})
}

// TestTimeDecayUnderflow: touches 1200 and 1170 days before the conversion
// with a half-life of 1 day weigh 2^-1200 and 2^-1170, both below the
// smallest float64. Their ratio is 2^-30, so the shares are
// 2^-30/(1+2^-30) and 1/(1+2^-30) (weights taken relative to the latest
// touch), not an equal split.
func TestTimeDecayUnderflow(t *testing.T) {
	conv := Conversion{Types: []string{"won"}}
	c := tl("c", ev("c", "1", "page_view", "seo", 0, nil), ev("c", "2", "page_view", "ads", 30, nil),
		ev("c", "3", "won", "", 1200, nil))
	r, err := TimeDecay{HalfLife: day}.AttributeTimelines([]journey.Timeline{c}, conv)
	require.NoError(t, err)
	small := math.Exp2(-30)
	assert.InDelta(t, small/(1+small), r.Conversions["seo"], 1e-15)
	assert.InDelta(t, 1/(1+small), r.Conversions["ads"], 1e-15)
}

// TestTimelineCaps: a lead with more than MaxPathTouches touches in its
// window is reported (a lookback or touch types would keep it); the
// others are still reduced and credited. Conversion values of leads on the
// same path that sum over MaxPathCount make that path an error; a
// conversion with names or times out of their caps is refused.
func TestTimelineCaps(t *testing.T) {
	evs := make([]leadkit.Event, 0, MaxPathTouches+2)
	for i := range MaxPathTouches + 1 {
		typ := "page_view"
		if i%2 == 1 {
			typ = "email_opened"
		}
		evs = append(evs, ev("busy", strconv.Itoa(i), typ, "seo", float64(i)/1e5, nil))
	}
	evs = append(evs, ev("busy", "won", "mql", "", 2, nil))
	tls := []journey.Timeline{{LeadID: "busy", Events: evs}, fixture()[0]}
	conv := Conversion{Types: []string{"mql"}}
	paths, err := PathsFromTimelines(tls, conv)
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.EqualError(t, err, `attribution: lead "busy": more than 10000 touches (MaxPathTouches): set a lookback or touch types`)
	assert.Equal(t, []Path{{Channels: []string{"seo", "email", "webinar"}, Conversions: 1}}, paths)
	r, err := UShaped{}.AttributeTimelines(tls, conv)
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.InDelta(t, 1, r.TotalConversions(), 1e-12)
	conv.TouchTypes = []string{"page_view", "form_submitted"}
	paths, err = PathsFromTimelines(tls, conv)
	require.NoError(t, err)
	assert.Len(t, paths[0].Channels, MaxPathTouches/2+1)

	// Two leads at 6e14 each: the path sums to 1.2e15.
	big := func(lead string) journey.Timeline {
		return tl(lead, ev(lead, "1", "page_view", "seo", 0, nil), ev(lead, "2", "mql", "", 1, map[string]any{"value": 6e14}))
	}
	conv = Conversion{Types: []string{"mql"}, ValueAttr: "value"}
	paths, err = PathsFromTimelines([]journey.Timeline{big("a"), big("b"), fixture()[1]}, conv)
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.Contains(t, err.Error(), `the leads of path "seo" sum to 2 conversions, 1.2e+15 value and 0 nulls, over the cap of 1e+15`)
	assert.Equal(t, []Path{{Channels: []string{"ads"}, Nulls: 1}}, paths)
	r, err = TimeDecay{}.AttributeTimelines([]journey.Timeline{big("a"), big("b")}, conv)
	require.NoError(t, err)
	assert.InDelta(t, 1.2e15, r.TotalValue(), 1)

	long := strings.Repeat("x", leadkit.MaxNameBytes+1)
	for _, c := range []Conversion{
		{Types: []string{long}},
		{Types: []string{"mql"}, TouchTypes: []string{"a\x00"}},
		{Types: []string{"mql"}, ValueAttr: long},
		{Types: []string{"mql"}, NoTouch: "\xff"},
		{Types: []string{"mql"}, AsOf: time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)},
		{Types: []string{"mql"}, Lookback: leadkit.MaxDuration + 1},
		{Types: make([]string, leadkit.MaxListItems+1)},
	} {
		_, err := PathsFromTimelines(nil, c)
		assert.ErrorIs(t, err, leadkit.ErrInvalid, "%+v", c)
	}
	_, err = TimeDecay{HalfLife: leadkit.MaxDuration + 1}.AttributeTimelines(nil, conv)
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
}
