package beam

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
)

// An Unsupported that already crossed one stage boundary (an event whose
// attribute validation refuses, on its way to its dead letter) keeps the
// type it names across the next boundary: the dead letter WriteJSON
// writes says what the program put there, and decoding then encoding
// gives the same bytes (TestTotalFormIsCanonical's claim).
func TestTotalFormKeepsUnsupportedType(t *testing.T) {
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	e := leadkit.Event{ID: "e", LeadID: "l", Type: "t", Time: at, Attrs: map[string]any{"raw": []byte("hi")}}
	b, err := encodeEvent(e)
	require.NoError(t, err)
	once, err := decodeEvent(b)
	require.NoError(t, err)
	require.Equal(t, Unsupported{Type: "[]uint8"}, once.Attrs["raw"], "first boundary")

	rb, err := encodeRejectedEvent(RejectedEvent{Tenant: "acme", Event: once, Reason: "r"})
	require.NoError(t, err)
	twice, err := decodeRejectedEvent(rb)
	require.NoError(t, err)
	assert.Equal(t, Unsupported{Type: "[]uint8"}, twice.Event.Attrs["raw"], "second boundary")

	again, err := encodeEvent(once)
	require.NoError(t, err)
	assert.Equal(t, b, again, "what decodes encodes back to the bytes it came from")
}
