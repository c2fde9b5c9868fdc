package attribution

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/journey"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPathsFromTimelines(t *testing.T) {
	conv := Conversion{Types: []string{"mql"}, ValueAttr: "value"}
	paths, err := PathsFromTimelines(fixture(), conv)
	require.NoError(t, err)
	assert.Equal(t, []Path{
		{Channels: []string{"seo", "email", "webinar"}, Conversions: 1, Value: 100},
		{Channels: []string{"ads"}, Nulls: 1},
		{Channels: []string{DefaultNoTouch}, Conversions: 1, Value: 50, Nulls: 1}, // l3 and l4 share the path
	}, paths)

	// Lookback of 3 days before the conversion (day 7): only the webinar
	// (day 5) is left; the email is 5 days old. l2's window ends at its
	// last event, so its touch stays.
	conv.Lookback = 3 * day
	paths, err = PathsFromTimelines(fixture()[:2], conv)
	require.NoError(t, err)
	assert.Equal(t, [][]string{{"webinar"}, {"ads"}}, [][]string{paths[0].Channels, paths[1].Channels})

	// Bound included: a lookback of exactly 5 days keeps the email.
	conv.Lookback = 5 * day
	paths, err = PathsFromTimelines(fixture()[:1], conv)
	require.NoError(t, err)
	assert.Equal(t, []string{"email", "webinar"}, paths[0].Channels)

	// As of day 6 l1 has not converted yet.
	paths, err = PathsFromTimelines(fixture()[:1], Conversion{Types: []string{"mql"}, AsOf: t0.Add(6 * day)})
	require.NoError(t, err)
	assert.Equal(t, []Path{{Channels: []string{"seo", "email", "webinar"}, Nulls: 1}}, paths)

	// By campaign, only form fills count as touches, custom no-touch name.
	paths, err = PathsFromTimelines(fixture()[:2], Conversion{Types: []string{"mql"}, Key: ByCampaign, TouchTypes: []string{"form_submitted"}, NoTouch: "none"})
	require.NoError(t, err)
	assert.Equal(t, []Path{{Channels: []string{"camp-webinar"}, Conversions: 1}, {Channels: []string{"none"}, Nulls: 1}}, paths)
}

func TestPathsFromTimelinesUnsorted(t *testing.T) {
	// Events out of order are sorted (stably) before cutting.
	a := tl("a", ev("a", "2", "mql", "", 3, nil), ev("a", "1", "page_view", "seo", 1, nil), ev("a", "3", "page_view", "ads", 4, nil))
	paths, err := PathsFromTimelines([]journey.Timeline{a}, Conversion{Types: []string{"mql"}})
	require.NoError(t, err)
	assert.Equal(t, []Path{{Channels: []string{"seo"}, Conversions: 1}}, paths)
	assert.Equal(t, "2", a.Events[0].ID, "input not modified")
}

func TestTimelineErrors(t *testing.T) {
	tls := fixture()
	tls = append(tls,
		tl("bad-time", leadkit.Event{ID: "z", LeadID: "bad-time", Type: "page_view", Channel: "seo"}),
		tl("bad-value", ev("bad-value", "v", "mql", "seo", 1, map[string]any{"value": -3})),
		tl("no-value", ev("no-value", "w", "mql", "seo", 1, nil)),
		tl("nan-value", ev("nan-value", "x", "mql", "seo", 1, map[string]any{"value": math.NaN()})),
		tl("type-value", ev("type-value", "y", "mql", "seo", 1, map[string]any{"value": true})),
		tl("string-value", ev("string-value", "s", "mql", "seo", 1, map[string]any{"value": "50"})),
		tl("huge-value", ev("huge-value", "h", "mql", "seo", 1, map[string]any{"value": 1e308})),
		tl("bad-key", ev("bad-key", "k", "page_view", "se\x00o", 0, nil), ev("bad-key", "k2", "mql", "", 1, map[string]any{"value": 1})),
		tl("far-time", ev("far-time", "f", "page_view", "seo", 100000, nil)),
	)
	conv := Conversion{Types: []string{"mql"}, ValueAttr: "value"}
	paths, err := PathsFromTimelines(tls, conv)
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	for _, want := range []string{
		`lead "bad-time": event "z": event 0 has no time`,
		`lead "bad-value": event "v": value attribute "value": negative (-3)`,
		`lead "no-value": event "w": value attribute "value" missing`,
		`lead "nan-value": event "x": value attribute "value": NaN is not a finite number`,
		`lead "type-value": event "y": value attribute "value": want a number, got bool`,
		`lead "string-value": event "s": value attribute "value": want a number, got the string "50"`,
		`lead "huge-value": event "h": value attribute "value": 1e+308 is over the cap of 1e+15`,
		`lead "bad-key": event "k": channel name contains a NUL byte`,
		`lead "far-time": event "f": event 0: time 2297-10-16T00:00:00Z is outside years 1900 to 2149`,
	} {
		assert.Contains(t, err.Error(), want)
	}
	var te *TimelineError
	require.ErrorAs(t, err, &te)
	assert.Equal(t, "bad-time", te.LeadID)
	assert.Len(t, paths, 3, "the good timelines are still reduced")

	r, err := Linear{}.Attribute(paths)
	require.NoError(t, err)
	assert.InDelta(t, 2, r.TotalConversions(), 1e-12)

	res, err := UShaped{}.AttributeTimelines(tls, conv)
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.InDelta(t, 2, res.TotalConversions(), 1e-12, "the good timelines are still credited")

	for _, c := range []Conversion{{}, {Types: []string{""}}, {Types: []string{"x"}, Key: "bogus"}, {Types: []string{"x"}, Lookback: -day}} {
		_, err := PathsFromTimelines(nil, c)
		assert.ErrorIs(t, err, leadkit.ErrInvalid, "%+v", c)
		_, err = TimeDecay{}.AttributeTimelines(nil, c)
		assert.ErrorIs(t, err, leadkit.ErrInvalid, "%+v", c)
	}
	_, err = TimeDecay{HalfLife: -day}.AttributeTimelines(nil, conv)
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
}

// TestNumericAttr: the conversion value follows leadkit's one number rule
// (leadkit.Number): Go numbers and json.Number, never strings.
func TestNumericAttr(t *testing.T) {
	for _, v := range []any{2.5, float32(2.5), json.Number("2.5")} {
		got, err := numericAttr(map[string]any{"v": v}, "v")
		require.NoError(t, err, "%T", v)
		assert.Equal(t, 2.5, got)
	}
	for _, v := range []any{3, int32(3), int64(3), uint(3), uint32(3), uint64(3)} {
		got, err := numericAttr(map[string]any{"v": v}, "v")
		require.NoError(t, err, "%T", v)
		assert.Equal(t, 3.0, got)
	}
	for _, v := range []any{json.Number("x"), math.Inf(1), math.NaN(), "5", " 2.5 ", "NaN", true, nil, -1, 2e15} {
		_, err := numericAttr(map[string]any{"v": v}, "v")
		assert.Error(t, err, "%T %v", v, v)
	}
}
