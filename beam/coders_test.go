package beam

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/journey"
	"github.com/leadkit/leadkit/sim"
)

// viaJSON is what the total form (JSON) gives back for v: the binary
// form must give the same.
func viaJSON[T any](t testing.TB, v T) T {
	b, err := encodeTotal(v)
	require.NoError(t, err)
	require.Equal(t, byte(0), b[0], "JSON holds %v", v)
	back, err := unmarshalTotal[T](b)
	require.NoError(t, err)
	return back
}

// codedEvents are simulated events and the edges the binary form must
// carry as the JSON form does.
func codedEvents(t testing.TB) []leadkit.Event {
	s, err := sim.New(sim.Config{Seed: 3, Leads: 40})
	require.NoError(t, err)
	var evs []leadkit.Event
	for e := range s.Events() {
		evs = append(evs, e)
	}
	require.NotEmpty(t, evs)
	paris := time.FixedZone("CET", 3600)
	at := time.Date(2025, 3, 1, 9, 30, 0, 123456789, time.UTC)
	return append(evs,
		leadkit.Event{ID: "min", LeadID: "l", Type: "t", Time: at},
		leadkit.Event{ID: "zone", LeadID: "l", Type: "t", Time: at.In(paris)},
		leadkit.Event{ID: "local", LeadID: "l", Type: "t", Time: at.Local()},
		leadkit.Event{ID: "old", LeadID: "l", Type: "t", Time: time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC)},
		leadkit.Event{ID: "pre1970", LeadID: "l", Type: "t", Time: time.Date(1960, 1, 1, 0, 0, 0, 999999999, time.UTC)},
		leadkit.Event{ID: "ünï", LeadID: "l\x00", Type: "t", Channel: "c", Campaign: "k", Content: "/x?y=\"z\"", Time: at,
			Attrs: map[string]any{"amount": 12.5, "n": json.Number("7"), "list": []any{"a", 1.0, nil, true}, "nested": map[string]any{"x": "y"}}},
		leadkit.Event{ID: "empty-attrs", LeadID: "l", Type: "t", Time: at, Attrs: map[string]any{}},
		leadkit.Event{ID: "zero-time", LeadID: "l", Type: "t"},
	)
}

// The binary form of events, timelines and tenant timelines decodes to
// what their JSON form decodes to, in fewer bytes.
func TestEventFormEqualsJSONForm(t *testing.T) {
	evs := codedEvents(t)
	var bin, js int
	for _, e := range evs {
		b, err := encodeEvent(e)
		require.NoError(t, err)
		require.Equal(t, byte(formEvent), b[0], e.ID)
		got, err := decodeEvent(b)
		require.NoError(t, err, e.ID)
		want := viaJSON(t, e)
		assert.Equal(t, want, got, e.ID)
		assert.True(t, want.Time.Equal(got.Time) && want.Time.Location().String() == got.Time.Location().String(), "%s: %v vs %v", e.ID, got.Time, want.Time)
		jb, _ := encodeTotal(e)
		bin, js = bin+len(b), js+len(jb)
	}
	assert.Less(t, bin*10, js*7, "binary %d bytes, JSON %d", bin, js)
	t.Logf("binary %d bytes, JSON %d (%.2f)", bin, js, float64(bin)/float64(js))
	tl := journey.Timeline{LeadID: "l", Events: evs}
	b, err := encodeTimeline(tl)
	require.NoError(t, err)
	require.Equal(t, byte(formEvent), b[0])
	got, err := decodeTimeline(b)
	require.NoError(t, err)
	assert.Equal(t, viaJSON(t, tl), got)
	tt := TenantTimeline{Tenant: "acme", Timeline: tl}
	b, err = encodeTenantTimeline(tt)
	require.NoError(t, err)
	gotT, err := decodeTenantTimeline(b)
	require.NoError(t, err)
	assert.Equal(t, viaJSON(t, tt), gotT)
	empty, err := encodeTimeline(journey.Timeline{LeadID: "x"})
	require.NoError(t, err)
	gotE, err := decodeTimeline(empty)
	require.NoError(t, err)
	assert.Equal(t, journey.Timeline{LeadID: "x"}, gotE)
}

// An event JSON cannot hold (a NaN attribute, a year past 9999) takes
// the total form, in an event or anywhere in a timeline, and comes back
// whole: it must reach its dead letter.
func TestEventFormFallsBack(t *testing.T) {
	at := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	nan := leadkit.Event{ID: "nan", LeadID: "l", Type: "t", Time: at, Attrs: map[string]any{"x": math.NaN()}}
	far := leadkit.Event{ID: "far", LeadID: "l", Type: "t", Time: time.Date(12000, 1, 1, 0, 0, 0, 0, time.UTC)}
	for _, e := range []leadkit.Event{nan, far} {
		b, err := encodeEvent(e)
		require.NoError(t, err)
		got, err := decodeEvent(b)
		require.NoError(t, err)
		assert.Equal(t, e.ID, got.ID)
		assert.True(t, e.Time.Equal(got.Time), e.ID)
	}
	b, err := encodeTimeline(journey.Timeline{LeadID: "l", Events: []leadkit.Event{{ID: "ok", LeadID: "l", Type: "t", Time: at}, nan}})
	require.NoError(t, err)
	assert.Equal(t, byte(formBinary), b[0], "the binary total form")
	got, err := decodeTimeline(b)
	require.NoError(t, err)
	require.Len(t, got.Events, 2)
	assert.True(t, math.IsNaN(got.Events[1].Attrs["x"].(float64)))
}

// Truncated, overlong or altered bytes are errors, never a panic nor a
// huge allocation.
func TestEventFormRefusesBadBytes(t *testing.T) {
	b, err := encodeTimeline(journey.Timeline{LeadID: "l", Events: codedEvents(t)[:5]})
	require.NoError(t, err)
	for n := 1; n < len(b); n++ {
		_, err := decodeTimeline(b[:n])
		assert.Error(t, err, "truncated to %d", n)
	}
	_, err = decodeTimeline(append(b, 0))
	assert.Error(t, err, "a byte after the end")
	_, err = decodeTimeline([]byte{formEvent, 1, 'l', 0xff, 0xff, 0xff, 0xff, 0x0f})
	assert.ErrorContains(t, err, "items in")
	_, err = decodeEvent([]byte{formEvent, 0, 0, 0, 0, 0, 0, 7})
	assert.ErrorContains(t, err, "unknown form")
	_, err = decodeEvent([]byte{formEvent, 0, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x94, 0xeb, 0xdc, 0x03, 0})
	assert.ErrorContains(t, err, "nanoseconds")
}

// Whatever the bytes, decoding never panics, and what decodes encodes
// to bytes that decode to the same.
func FuzzEventForm(f *testing.F) {
	for _, e := range codedEvents(f)[:3] {
		b, err := encodeEvent(e)
		require.NoError(f, err)
		f.Add(b)
	}
	b, err := encodeTimeline(journey.Timeline{LeadID: "l", Events: codedEvents(f)[:4]})
	require.NoError(f, err)
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		if tl, err := decodeTimeline(b); err == nil {
			again, err := encodeTimeline(tl)
			require.NoError(t, err)
			back, err := decodeTimeline(again)
			require.NoError(t, err)
			assert.Equal(t, tl, back)
		}
		if e, err := decodeEvent(b); err == nil {
			again, err := encodeEvent(e)
			require.NoError(t, err)
			back, err := decodeEvent(again)
			require.NoError(t, err)
			assert.Equal(t, e, back)
		}
	})
}
