package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/journey"
	"github.com/leadkit/leadkit/postgres"
	"github.com/leadkit/leadkit/storetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newJourneyStore(t *testing.T) *postgres.JourneyStore {
	db, prefix := openDB(t)
	s, err := postgres.NewJourneyStore(context.Background(), db, postgres.Options{TablePrefix: prefix})
	require.NoError(t, err)
	return s
}

func TestJourneyStoreConformance(t *testing.T) {
	storetest.Journey(t, func(t *testing.T) journey.Store { return newJourneyStore(t) })
}

// Large batches span several INSERT chunks and timelines several pages;
// attributes round-trip through jsonb.
func TestJourneyStoreBatchesAndPages(t *testing.T) {
	ctx := context.Background()
	s := newJourneyStore(t)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var evs []leadkit.Event
	for i := range 2600 {
		evs = append(evs, leadkit.Event{
			ID: fmt.Sprint("e", i), LeadID: fmt.Sprintf("L%04d", i%1300), Type: leadkit.EventDownload,
			Channel: "email", Time: base.Add(time.Duration(i) * time.Minute), Attrs: map[string]any{"n": i, "tag": "x"},
		})
	}
	n, err := s.Append(ctx, evs...)
	require.NoError(t, err)
	assert.Equal(t, 2600, n)
	n, err = s.Append(ctx, evs[:10]...)
	require.NoError(t, err)
	assert.Zero(t, n, "idempotent by event ID")

	tls, err := journey.Timelines(ctx, s)
	require.NoError(t, err)
	require.Len(t, tls, 1300)
	assert.Equal(t, "L0000", tls[0].LeadID)
	require.Len(t, tls[7].Events, 2)
	assert.Equal(t, "e7", tls[7].Events[0].ID)
	assert.Equal(t, "e1307", tls[7].Events[1].ID)
	assert.Equal(t, float64(1307), tls[7].Events[1].Attrs["n"], "numbers read back as float64")
	assert.Equal(t, "x", tls[7].Events[1].Attrs["tag"])
}
