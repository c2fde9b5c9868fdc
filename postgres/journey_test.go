package postgres_test

import (
	"context"
	"fmt"
	"slices"
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
	s, err := postgres.NewJourneyStore(context.Background(), postgres.SQL(db), postgres.Options{TablePrefix: prefix})
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

// A batch from the bulk size on takes the COPY path: the same results as
// chunked inserts, idempotent, a batch's order kept at one instant, and
// the caller's transaction still works (chunked inserts there).
func TestAppendBulk(t *testing.T) {
	ctx := context.Background()
	s := newJourneyStore(t)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var evs []leadkit.Event
	for i := range 5000 {
		evs = append(evs, leadkit.Event{ID: fmt.Sprintf("b%05d", 5000-i), LeadID: fmt.Sprintf("L%02d", i%50), Type: "page_view",
			Time: base.Add(time.Duration(i%10) * time.Hour), Attrs: map[string]any{"n": i}})
	}
	n, err := s.Append(ctx, evs...)
	require.NoError(t, err)
	assert.Equal(t, 5000, n)
	n, err = s.Append(ctx, evs...)
	require.NoError(t, err)
	assert.Zero(t, n, "idempotent by event ID")
	got, err := s.Events(ctx, "L07", time.Time{}, time.Time{})
	require.NoError(t, err)
	require.Len(t, got, 100)
	var want []string
	for i := range evs {
		if evs[i].LeadID == "L07" {
			want = append(want, evs[i].ID)
		}
	}
	// Stored order: time, then arrival order (the batch's) at one instant.
	slices.SortStableFunc(want, func(a, b string) int {
		ta, tb := evs[5000-atoi(a[1:])].Time, evs[5000-atoi(b[1:])].Time
		return ta.Compare(tb)
	})
	var ids []string
	for _, e := range got {
		ids = append(ids, e.ID)
	}
	assert.Equal(t, want, ids)
	assert.Equal(t, float64(7), got[0].Attrs["n"])
	// Mixed with invalid events: the valid ones are stored, the bad ones
	// reported.
	bad := append(slices.Clone(evs[:10]), leadkit.Event{ID: "", LeadID: "x"})
	for i := range 2500 {
		bad = append(bad, leadkit.Event{ID: fmt.Sprintf("c%05d", i), LeadID: "L99", Type: "page_view", Time: base})
	}
	n, err = s.Append(ctx, bad...)
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.Equal(t, 2500, n)
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}
