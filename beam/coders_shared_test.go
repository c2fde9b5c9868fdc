package beam

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/journey"
)

// sharedWide is three slices of 1,000 items, each item the slice below:
// a few kilobytes in memory, a billion strings when walked.
func sharedWide() []any {
	wide := make([]any, leadkit.MaxListItems)
	for i := range wide {
		wide[i] = "abc"
	}
	for range 2 {
		up := make([]any, leadkit.MaxListItems)
		for i := range up {
			up[i] = wide
		}
		wide = up
	}
	return wide
}

// The walk budget is per interface value (maxAnyValues, ~524k values), not
// per event: an event whose N attributes share one structure is copied and
// encoded N x 524k values, although validation's size cap is per
// event (and validation refuses it after a few hundred values).
func TestCodersBoundStructuresSharedAcrossAttributes(t *testing.T) {
	w := sharedWide()
	for _, n := range []int{1, 10, 40} {
		attrs := map[string]any{}
		for i := range n {
			attrs[fmt.Sprint("a", i)] = w
		}
		e := leadkit.Event{ID: "e", LeadID: "l", Type: "t", Time: edgeAt, Attrs: attrs}
		start := time.Now()
		require.Error(t, e.Validate())
		vt := time.Since(start)
		start = time.Now()
		b, err := encodeEvent(e)
		require.NoError(t, err)
		et := time.Since(start)
		t.Logf("%d attributes: validate %v, encode %v, %d bytes", n, vt, et, len(b))
		assert.LessOrEqual(t, len(b), MaxLineBytes, "%d attributes: a refused event of a few KB in memory encodes to %d bytes", n, len(b))
	}
}

// The same through a lead's custom fields and a timeline of events that
// share one attribute value.
func TestCodersBoundStructuresSharedAcrossEvents(t *testing.T) {
	w := sharedWide()
	tl := journey.Timeline{LeadID: "l"}
	for i := range 40 {
		tl.Events = append(tl.Events, leadkit.Event{ID: fmt.Sprint("e", i), LeadID: "l", Type: "t", Time: edgeAt, Attrs: map[string]any{"x": w}})
	}
	start := time.Now()
	b, err := encodeTenantJourney(TenantJourney{Tenant: "acme", Journey: journey.LeadJourney{Timeline: tl}})
	require.NoError(t, err)
	t.Logf("40 events: encode %v, %d bytes", time.Since(start), len(b))
	assert.LessOrEqual(t, len(b), 40*MaxLineBytes/100)
}
