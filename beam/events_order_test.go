package beam

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
)

// Two deliveries of one event that differ only in their attributes are
// ordered the same way every time (they were once ordered by their
// gob encodings, and gob wrote a map in Go's random order).
func TestCompareEventsIsDeterministic(t *testing.T) {
	attrs := func(amount float64) map[string]any {
		m := map[string]any{"big": int64(1) << 60, "amount": amount}
		for i := range 6 {
			m[fmt.Sprint("k", i)] = float64(i)
		}
		return m
	}
	a := leadkit.Event{ID: "w", LeadID: "l", Type: "deal_won", Time: edgeAt, Attrs: attrs(1)}
	b := leadkit.Event{ID: "w", LeadID: "l", Type: "deal_won", Time: edgeAt, Attrs: attrs(2)}
	require.NoError(t, a.Validate())
	require.NoError(t, b.Validate())
	signs := map[int]int{}
	for range 200 {
		signs[compareEvents(a, b)]++
	}
	assert.Len(t, signs, 1, "compareEvents of the same two events: %v", signs)
}
