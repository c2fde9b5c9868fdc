package journey_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"

	"github.com/leadkit/leadkit/journey"
	"github.com/leadkit/leadkit/storetest"
)

func TestMemoryStoreConformance(t *testing.T) {
	storetest.Journey(t, func(*testing.T) journey.Store { return journey.NewMemoryStore() })
}

func TestTimelinesAndNewTimeline(t *testing.T) {
	ctx := context.Background()
	s := journey.NewMemoryStore()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	_, err := s.Append(ctx,
		leadkit.Event{ID: "b", LeadID: "l2", Type: "x", Time: base},
		leadkit.Event{ID: "a2", LeadID: "l1", Type: "x", Time: base.Add(time.Hour)},
		leadkit.Event{ID: "a1", LeadID: "l1", Type: "x", Time: base},
	)
	require.NoError(t, err)
	tls, err := journey.Timelines(ctx, s)
	require.NoError(t, err)
	require.Len(t, tls, 2)
	assert.Equal(t, "l1", tls[0].LeadID)
	assert.Equal(t, "a1", tls[0].Events[0].ID)

	mixed := []leadkit.Event{tls[0].Events[1], tls[1].Events[0], tls[0].Events[0]}
	tl := journey.NewTimeline("l1", mixed)
	require.Len(t, tl.Events, 2)
	assert.Equal(t, "a1", tl.Events[0].ID, "sorted by time, other leads dropped")
	assert.Equal(t, "a2", mixed[0].ID, "input not modified")

	f, err := journey.CompileFunnel(journey.FunnelSpec{Steps: []journey.Step{{Name: "x", Types: []string{"x"}}}})
	require.NoError(t, err)
	assert.Equal(t, journey.DefaultWindow, f.Window())
	assert.Equal(t, journey.Ordered, f.Order())
	spec := f.Spec()
	spec.Steps[0].Types[0] = "changed"
	assert.Equal(t, "x", f.Spec().Steps[0].Types[0], "Spec returns a copy")
}
