package beam

import (
	"bytes"
	"encoding/json"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/stage"
)

var attackAt = time.Date(2025, 3, 1, 9, 30, 0, 0, time.UTC)

// wideCycle is one []any of n items, each the list itself: n*16 bytes in
// memory. Validation refuses it at once (nested too deep).
func wideCycle(n int) []any {
	l := make([]any, n)
	for i := range l {
		l[i] = l
	}
	return l
}

// A self-referencing list of MaxListItems items (16 KB) encodes within a
// line, and eventText too: values past validation's depth count against
// the size cap (they once cost nothing, and the list was walked ~131k
// times x 1000 items).
func TestTotalFormBoundsCycleAtTheDepthCap(t *testing.T) {
	e := leadkit.Event{ID: "e", LeadID: "l", Type: "t", Time: attackAt, Attrs: map[string]any{"l": wideCycle(leadkit.MaxListItems)}}
	require.Error(t, e.Validate())
	start := time.Now()
	b, err := encodeEvent(e)
	require.NoError(t, err)
	el := time.Since(start)
	t.Logf("encode: %v, %d bytes", el, len(b))
	assert.LessOrEqual(t, len(b), MaxLineBytes, "a 16 KB refused event encodes to %d bytes", len(b))
	start = time.Now()
	s := eventText(e)
	t.Logf("eventText: %v, %d bytes", time.Since(start), len(s))
	assert.LessOrEqual(t, len(s), MaxLineBytes, "eventText of a 16 KB event is %d bytes", len(s))
	back, err := decodeEvent(b)
	require.NoError(t, err)
	require.Error(t, back.Validate())
}

// The same shape through a lead's custom fields.
func TestTotalFormBoundsCycleInCustomFields(t *testing.T) {
	l := leadkit.Lead{ID: "l", Person: leadkit.Person{Custom: map[string]any{"l": wideCycle(leadkit.MaxListItems)}}}
	require.Error(t, l.Validate())
	b, err := encodeLead(l)
	require.NoError(t, err)
	assert.LessOrEqual(t, len(b), MaxLineBytes, "a refused lead encodes to %d bytes", len(b))
}

// reencode checks decode(encode(v)) re-encodes to the same bytes.
func reencode[T any](t *testing.T, v T) (first, again []byte) {
	t.Helper()
	first, err := encodeTotal(v)
	require.NoError(t, err)
	back, err := unmarshalTotal[T](first)
	require.NoError(t, err)
	again, err = encodeTotal(back)
	require.NoError(t, err)
	return first, again
}

// An attribute of a type validation refuses travels as an Unsupported
// naming its type, and an Unsupported keeps that name on the next trip
// (it once became Unsupported{"beam.Unsupported"}): the same bytes.
func TestTotalFormReencodesUnsupported(t *testing.T) {
	for name, v := range map[string]any{
		"bytes":       []byte("x"),
		"map of ints": map[string]int{"a": 1},
		"past cap":    []string{string(bytes.Repeat([]byte("a"), 4000))},
	} {
		e := leadkit.Event{ID: "e", LeadID: "l", Type: "t", Time: attackAt, Attrs: map[string]any{"v": v}}
		if name == "past cap" {
			for i := range 300 {
				e.Attrs[string(rune('A'+i%26))+string(rune('a'+i/26))] = v
			}
		}
		first, again := reencode(t, e)
		assert.Equal(t, first, again, "%s: decode(encode(v)) re-encodes to other bytes", name)
		back, _ := unmarshalTotal[leadkit.Event](again)
		if u, ok := back.Attrs["v"].(Unsupported); ok {
			t.Logf("%s: after two trips: %+v", name, u)
		}
	}
}

// A time at an offset time.Time's binary form cannot hold (-60 to -119
// seconds, past 32767 minutes) is not faithful to JSON, so it takes the
// binary form, where it becomes UTC: the same instant, which then travels
// as JSON (documented), and from there on in the same bytes.
func TestTotalFormOddOffsetsSettleInUTC(t *testing.T) {
	for _, off := range []int{-90, 40000 * 60} {
		v := stage.Visit{LeadID: "l", Stage: "s", At: attackAt.In(time.FixedZone("odd", off))}
		first, again := reencode(t, v)
		require.Equal(t, byte(formBinary), first[0])
		require.Equal(t, byte(formJSON), again[0])
		back, err := unmarshalTotal[stage.Visit](again)
		require.NoError(t, err)
		assert.True(t, back.At.Equal(v.At), "the same instant")
		_, third := reencode(t, back)
		assert.Equal(t, again, third, "settled")
	}
}

// The walk is bounded in work and memory, not only in bytes written: a
// 160 KB cyclic list (10,000 items, past MaxListItems but a value any Go
// program can put in an attribute) once took seconds and gigabytes
// before the cut replaced it with an Unsupported.
func TestTotalFormBoundsWideCycleWork(t *testing.T) {
	e := leadkit.Event{ID: "e", LeadID: "l", Type: "t", Time: attackAt, Attrs: map[string]any{"l": wideCycle(10 * leadkit.MaxListItems)}}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	b, err := encodeEvent(e)
	el := time.Since(start)
	runtime.ReadMemStats(&after)
	require.NoError(t, err)
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("encode: %v, %d bytes out, %d MB allocated", el, len(b), alloc>>20)
	assert.Less(t, alloc, uint64(64<<20), "encoding a 160 KB event allocated %d MB", alloc>>20)
}

// Values inside attributes count against the size cap at what they
// write (an Unsupported's type, a json.Number's text: both once counted
// 8): shared a thousand times, a 64 KB value is not written a thousand
// times. (Typed fields travel whole, as JSON writes them: their size is
// the input's own.)

func amplifyEvent(v any) leadkit.Event {
	l := make([]any, leadkit.MaxListItems)
	for i := range l {
		l[i] = v
	}
	return leadkit.Event{ID: "e", LeadID: "l", Type: "t", Time: attackAt, Attrs: map[string]any{"l": l}}
}

func encodedSize(t *testing.T, enc func() ([]byte, error)) int {
	t.Helper()
	start := time.Now()
	b, err := enc()
	require.NoError(t, err)
	t.Logf("encode: %v, %d bytes (first byte %d)", time.Since(start), len(b), b[0])
	return len(b)
}

// An Unsupported (one that crossed a boundary before) counts its type,
// and writes at most maxTypeName bytes of it.
func TestTotalFormCountsUnsupportedType(t *testing.T) {
	e := amplifyEvent(Unsupported{Type: strings.Repeat("x", 64<<10)})
	require.Error(t, e.Validate())
	n := encodedSize(t, func() ([]byte, error) { return encodeEvent(e) })
	assert.LessOrEqual(t, n, MaxLineBytes, "a 16 KB list of one shared Unsupported encodes to %d bytes", n)
}

// A json.Number counts its text, in validation too (this event, 64 MB
// as JSON, once passed it).
func TestTotalFormCountsJSONNumber(t *testing.T) {
	e := amplifyEvent(json.Number("1." + strings.Repeat("0", 64<<10)))
	require.ErrorContains(t, e.Validate(), "the event is over")
	n := encodedSize(t, func() ([]byte, error) { return encodeEvent(e) })
	assert.LessOrEqual(t, n, MaxLineBytes, "a 16 KB list of one shared json.Number encodes to %d bytes", n)
}

// An Unsupported's type keeps its text on the next trip, even when the
// 256-byte cut falls inside a character (the cut once added its "..."
// past 256 bytes, and cut again on the next trip).
func TestTotalFormUnsupportedTypeCutOnce(t *testing.T) {
	for pad := 250; pad <= 256; pad++ {
		typ := strings.Repeat("a", pad) + "é€" + strings.Repeat("b", 50)
		e := leadkit.Event{ID: "e", LeadID: "l", Type: "t", Channel: "web", Time: attackAt,
			Attrs: map[string]any{"u": Unsupported{Type: typ}}}
		first, again := reencode(t, e)
		assert.Equal(t, first, again, "pad %d", pad)
	}
}
