package beam

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
)

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
