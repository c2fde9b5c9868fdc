package beam

import (
	"fmt"
	"testing"
	"time"
	_ "time/tzdata"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/journey"
	"github.com/leadkit/leadkit/stage"
)

var edgeAt = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// A zone offset of -60..-119 s (or past ±32767 minutes) is one
// time.MarshalBinary (so the binary form) refuses; JSON refuses it too when it has
// seconds (or is 24 h or more). Validation accepts any zone, so these are
// valid inputs that once failed a coder (a failed pipeline); they travel as
// the same instant in UTC.
func TestCodersCarryEveryZoneOffset(t *testing.T) {
	zones := map[string]*time.Location{
		"-61s":      time.FixedZone("", -61),
		"-90s":      time.FixedZone("", -90),
		"-119s":     time.FixedZone("", -119),
		"40000min":  time.FixedZone("", 40000*60),
		"-40000min": time.FixedZone("", -40000*60),
	}
	for name, z := range zones {
		t.Run(name, func(t *testing.T) {
			at := edgeAt.In(z)
			e := leadkit.Event{ID: "e", LeadID: "l", Type: "page_view", Time: at}
			require.NoError(t, e.Validate(), "a valid event")
			_, err := encodeEvent(e)
			assert.NoError(t, err, "event coder")
			_, err = encodeTimeline(journey.Timeline{LeadID: "l", Events: []leadkit.Event{e}})
			assert.NoError(t, err, "timeline coder")

			ea := leadkit.Event{ID: "e", LeadID: "l", Type: "page_view", Time: edgeAt, Attrs: map[string]any{"seen": at}}
			require.NoError(t, ea.Validate(), "a valid event (time attribute)")
			_, err = encodeEvent(ea)
			assert.NoError(t, err, "event coder, time attribute")

			v := stage.Visit{LeadID: "l", Stage: "MQL", At: at}
			require.NoError(t, v.Validate(), "a valid visit")
			_, err = encodeVisit(v)
			assert.NoError(t, err, "visit coder")

			l := leadkit.Lead{ID: "l", CreatedAt: at}
			require.NoError(t, l.Validate(), "a valid lead")
			_, err = encodeLead(l)
			assert.NoError(t, err, "lead coder")

			_, err = encodeTenantJourney(TenantJourney{Tenant: "acme", Journey: journey.LeadJourney{Timeline: journey.Timeline{LeadID: "l", Events: []leadkit.Event{e}}}})
			assert.NoError(t, err, "journey coder")
		})
	}
}

// An offset of exactly -1 minute is fine alone (JSON), but not once
// anything else sends the value to the binary form: a refused event (a NaN) that must
// reach its dead letter, or a valid one (an integer past 2^53).
func TestCodersCarryMinusOneMinuteInBinary(t *testing.T) {
	at := edgeAt.In(time.FixedZone("", -60))
	refused := leadkit.Event{ID: "e", LeadID: "l", Type: "t", Time: at, Attrs: map[string]any{"bad": "\xff"}}
	require.Error(t, refused.Validate())
	_, err := encodeEvent(refused)
	assert.NoError(t, err, "a refused event must reach its dead letter")
	_, err = encodeRejectedEvent(RejectedEvent{Tenant: "acme", Event: refused, Reason: "r"})
	assert.NoError(t, err, "its dead letter must travel")

	valid := leadkit.Event{ID: "e", LeadID: "l", Type: "t", Time: at, Attrs: map[string]any{"big": int64(1) << 60}}
	require.NoError(t, valid.Validate())
	_, err = encodeEvent(valid)
	assert.NoError(t, err, "a valid event")
}

// A refused event in a real zone: London's LMT (-00:01:15) before 1847,
// a mistyped year. It must be a dead letter, not a coder error.
func TestCodersCarryLondonLMT(t *testing.T) {
	london, err := time.LoadLocation("Europe/London")
	require.NoError(t, err)
	e := leadkit.Event{ID: "e", LeadID: "l", Type: "t", Time: time.Date(1826, 3, 1, 9, 0, 0, 0, london)}
	require.Error(t, e.Validate())
	_, err = encodeEvent(e)
	assert.NoError(t, err)
}

// Validation refuses a time attribute outside leadkit's range (the zero
// time.Time a Go program forgets to set, a year 1800); the JSON gate
// lets it through as a time, and it comes back a string validation
// accepts: refused in memory, accepted after a stage boundary.
func TestCodersKeepOutOfRangeTimeAttributesRefused(t *testing.T) {
	for name, v := range map[string]any{
		"zero time": time.Time{},
		"year 1800": time.Date(1800, 1, 1, 0, 0, 0, 0, time.UTC),
		"year 2200": time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC),
		"in a list": []any{time.Time{}},
		"in a map":  map[string]any{"t": time.Time{}},
	} {
		t.Run(name, func(t *testing.T) {
			e := leadkit.Event{ID: "e", LeadID: "l", Type: "t", Time: edgeAt, Attrs: map[string]any{"x": v}}
			require.Error(t, e.Validate())
			b, err := encodeEvent(e)
			require.NoError(t, err)
			got, err := decodeEvent(b)
			require.NoError(t, err)
			assert.Error(t, got.Validate(), "refused in memory, must stay refused (came back as %#v)", got.Attrs["x"])

			l := leadkit.Lead{ID: "l", Person: leadkit.Person{Custom: map[string]any{"x": v}}}
			require.Error(t, l.Validate())
			lb, err := encodeLead(l)
			require.NoError(t, err)
			gl, err := decodeLead(lb)
			require.NoError(t, err)
			assert.Error(t, gl.Validate(), "lead custom field: came back as %#v", gl.Person.Custom["x"])
		})
	}
}

// Validation counts a time attribute 8 bytes toward MaxEventBytes; the
// coder turns it into its RFC 3339 text (32 bytes with nanoseconds), so
// an event valid in memory is refused after a stage boundary.
func TestCodersKeepTimeAttributesWithinTheSizeCap(t *testing.T) {
	at := time.Date(2026, 3, 1, 9, 0, 0, 123456789, time.UTC)
	attrs := map[string]any{}
	for i := range 50 {
		list := make([]any, 1000)
		for j := range list {
			list[j] = at
		}
		attrs[fmt.Sprint("t", i)] = list
	}
	e := leadkit.Event{ID: "e", LeadID: "l", Type: "t", Time: edgeAt, Attrs: attrs}
	require.NoError(t, e.Validate(), "valid in memory")
	b, err := encodeEvent(e)
	require.NoError(t, err)
	got, err := decodeEvent(b)
	require.NoError(t, err)
	assert.NoError(t, got.Validate(), "valid in memory, must stay valid after the coder")
}

// A valid event whose attributes JSON would not give back as Go put them
// (a time, an integer past 2^53) travels in the binary form and decodes with its
// attributes as Go put them, as the in-memory library reads them; one
// whose attributes JSON gives back decodes to what its JSON decodes to.
func TestCodersValidAttributesReadTheSame(t *testing.T) {
	kept := leadkit.Event{ID: "e", LeadID: "l", Type: "t", Time: edgeAt,
		Attrs: map[string]any{"big": int64(1) << 60, "when": edgeAt, "tags": []string{"a"}, "n": 3}}
	require.NoError(t, kept.Validate())
	b, err := encodeEvent(kept)
	require.NoError(t, err)
	got, err := decodeEvent(b)
	require.NoError(t, err)
	assert.Equal(t, kept.Attrs, got.Attrs)

	plain := leadkit.Event{ID: "e", LeadID: "l", Type: "t", Time: edgeAt, Attrs: map[string]any{"tags": []string{"a"}, "n": 3}}
	b, err = encodeEvent(plain)
	require.NoError(t, err)
	got, err = decodeEvent(b)
	require.NoError(t, err)
	assert.Equal(t, viaJSON(t, plain).Attrs, got.Attrs)
}
