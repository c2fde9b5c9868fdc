package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/journey"
)

// Journey runs the conformance suite for a journey.Store. newStore must
// return an empty store for each call (a func() journey.Store or a
// func(*testing.T) journey.Store); the suite uses its own lead IDs and never
// depends on data it did not write.
func Journey[F Factory[journey.Store]](t *testing.T, factory F) {
	t.Helper()
	newStore := func(t *testing.T) journey.Store { return build[journey.Store](t, factory) }
	ctx := context.Background()
	base := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	at := func(min int) time.Time { return base.Add(time.Duration(min) * time.Minute) }
	ev := func(id, lead string, min int) leadkit.Event {
		return leadkit.Event{ID: id, LeadID: lead, Type: leadkit.EventPageView, Time: at(min)}
	}
	ids := func(evs []leadkit.Event) []string {
		out := make([]string, len(evs))
		for i, e := range evs {
			out[i] = e.ID
		}
		return out
	}

	t.Run("AppendAndRead", func(t *testing.T) {
		s := newStore(t)
		in := leadkit.Event{
			ID: "e1", LeadID: "l1", Type: leadkit.EventDownload, Channel: "web",
			Campaign: "q1", Content: "whitepaper", Time: at(5),
			Attrs: map[string]any{"page": "/pricing"},
		}
		n, err := s.Append(ctx, in)
		require.NoError(t, err)
		assert.Equal(t, 1, n)
		got, err := s.Events(ctx, "l1", time.Time{}, time.Time{})
		require.NoError(t, err)
		require.Len(t, got, 1)
		assert.Equal(t, in.ID, got[0].ID)
		assert.Equal(t, in.LeadID, got[0].LeadID)
		assert.Equal(t, in.Type, got[0].Type)
		assert.Equal(t, in.Channel, got[0].Channel)
		assert.Equal(t, in.Campaign, got[0].Campaign)
		assert.Equal(t, in.Content, got[0].Content)
		assert.True(t, in.Time.Equal(got[0].Time))
		assert.Equal(t, "/pricing", got[0].Attrs["page"])

		none, err := s.Events(ctx, "nobody", time.Time{}, time.Time{})
		require.NoError(t, err, "an unknown lead has no events, not an error")
		assert.Empty(t, none)
	})

	t.Run("TimesReadBackUTC", func(t *testing.T) {
		s := newStore(t)
		paris := time.FixedZone("CET", 3600)
		local := time.Date(2026, 3, 1, 10, 0, 0, 0, paris) // 09:00 UTC
		_, err := s.Append(ctx, leadkit.Event{ID: "tz", LeadID: "l1", Type: "x", Time: local})
		require.NoError(t, err)
		got, err := s.Events(ctx, "l1", time.Time{}, time.Time{})
		require.NoError(t, err)
		require.Len(t, got, 1)
		assert.Equal(t, time.UTC, got[0].Time.Location())
		assert.True(t, got[0].Time.Equal(base))
	})

	t.Run("DuplicateIDStoredOnce", func(t *testing.T) {
		s := newStore(t)
		n, err := s.Append(ctx, ev("a", "l1", 1), ev("b", "l1", 2), ev("a", "l1", 3))
		require.NoError(t, err)
		assert.Equal(t, 2, n, "the repeated ID within one call counts once")
		n, err = s.Append(ctx, ev("b", "l1", 9), ev("c", "l1", 4))
		require.NoError(t, err)
		assert.Equal(t, 1, n, "b was already stored")
		got, err := s.Events(ctx, "l1", time.Time{}, time.Time{})
		require.NoError(t, err)
		assert.Equal(t, []string{"a", "b", "c"}, ids(got))
		assert.True(t, got[0].Time.Equal(at(1)), "the first write of an ID wins")
		assert.True(t, got[1].Time.Equal(at(2)), "the first write of an ID wins")
	})

	t.Run("OutOfOrderReadsSorted", func(t *testing.T) {
		s := newStore(t)
		// Arrival order: 30, 10, 20, 10 (tie with "x10"), 0.
		for _, e := range []leadkit.Event{ev("x30", "l1", 30), ev("x10", "l1", 10), ev("x20", "l1", 20)} {
			_, err := s.Append(ctx, e)
			require.NoError(t, err)
		}
		_, err := s.Append(ctx, ev("y10", "l1", 10), ev("x00", "l1", 0))
		require.NoError(t, err)
		got, err := s.Events(ctx, "l1", time.Time{}, time.Time{})
		require.NoError(t, err)
		// Sorted by time; the two events at minute 10 keep arrival order.
		assert.Equal(t, []string{"x00", "x10", "y10", "x20", "x30"}, ids(got))
	})

	t.Run("TimeRangeHalfOpen", func(t *testing.T) {
		s := newStore(t)
		_, err := s.Append(ctx, ev("m0", "l1", 0), ev("m10", "l1", 10), ev("m20", "l1", 20), ev("m30", "l1", 30), ev("o", "l2", 15))
		require.NoError(t, err)
		cases := []struct {
			from, to time.Time
			want     []string
		}{
			{at(10), at(30), []string{"m10", "m20"}},
			{at(10), time.Time{}, []string{"m10", "m20", "m30"}},
			{time.Time{}, at(10), []string{"m0"}},
			{at(11), at(19), []string{}},
			{at(40), at(50), []string{}},
			{at(30), at(10), []string{}},
		}
		for _, c := range cases {
			got, err := s.Events(ctx, "l1", c.from, c.to)
			require.NoError(t, err)
			assert.Equal(t, c.want, ids(got), "from %v to %v", c.from, c.to)
		}
	})

	t.Run("InvalidEventsSkippedValidOnesStored", func(t *testing.T) {
		s := newStore(t)
		bad := []leadkit.Event{
			ev("ok1", "l1", 1),
			{ID: "no-time", LeadID: "l1", Type: "x"},
			ev("ok2", "l1", 2),
			{ID: "no-lead", Type: "x", Time: at(3)},
		}
		n, err := s.Append(ctx, bad...)
		require.Error(t, err)
		assert.Equal(t, 2, n, "the two valid events are stored")
		assert.ErrorIs(t, err, leadkit.ErrInvalid)
		assert.Contains(t, err.Error(), `"no-time"`)
		assert.Contains(t, err.Error(), `"no-lead"`)
		assert.NotContains(t, err.Error(), `"ok1"`)
		got, err := s.Events(ctx, "l1", time.Time{}, time.Time{})
		require.NoError(t, err)
		assert.Equal(t, []string{"ok1", "ok2"}, ids(got), "bad events cost the good ones nothing")
		// Delivering the batch again stores nothing new.
		n, _ = s.Append(ctx, bad...)
		assert.Zero(t, n)
	})

	t.Run("ReadsAreCopies", func(t *testing.T) {
		s := newStore(t)
		in := ev("a", "l1", 1)
		in.Attrs = map[string]any{"k": "v"}
		_, err := s.Append(ctx, in)
		require.NoError(t, err)
		in.Attrs["k"] = "changed by caller"
		got, err := s.Events(ctx, "l1", time.Time{}, time.Time{})
		require.NoError(t, err)
		require.Len(t, got, 1)
		assert.Equal(t, "v", got[0].Attrs["k"])
		got[0].Attrs["k"] = "changed by reader"
		got[0].Type = "changed"
		again, err := s.Events(ctx, "l1", time.Time{}, time.Time{})
		require.NoError(t, err)
		assert.Equal(t, "v", again[0].Attrs["k"])
		assert.Equal(t, leadkit.EventPageView, again[0].Type)
	})

	t.Run("ForEach", func(t *testing.T) {
		s := newStore(t)
		_, err := s.Append(ctx, ev("b2", "lb", 2), ev("a1", "la", 5), ev("b1", "lb", 1), ev("c1", "lc", 0))
		require.NoError(t, err)
		var leads []string
		var counts []int
		err = s.ForEach(ctx, func(tl journey.Timeline) error {
			leads = append(leads, tl.LeadID)
			counts = append(counts, len(tl.Events))
			if tl.LeadID == "lb" {
				assert.Equal(t, []string{"b1", "b2"}, ids(tl.Events))
			}
			return nil
		})
		require.NoError(t, err)
		assert.Equal(t, []string{"la", "lb", "lc"}, leads)
		assert.Equal(t, []int{1, 2, 1}, counts)

		stop := errors.New("stop")
		visited := 0
		err = s.ForEach(ctx, func(journey.Timeline) error { visited++; return stop })
		assert.ErrorIs(t, err, stop)
		assert.Equal(t, 1, visited, "ForEach stops at the first error of fn")

		cctx, cancel := context.WithCancel(ctx)
		cancel()
		err = s.ForEach(cctx, func(journey.Timeline) error { return nil })
		assert.ErrorIs(t, err, context.Canceled)

		// fn may call the store (no deadlock).
		err = s.ForEach(ctx, func(tl journey.Timeline) error {
			_, err := s.Events(ctx, tl.LeadID, time.Time{}, time.Time{})
			return err
		})
		require.NoError(t, err)
	})

	t.Run("ConcurrentAppendersLoseNothing", func(t *testing.T) {
		s := newStore(t)
		const workers, perWorker, leads = 8, 100, 5
		var wg sync.WaitGroup
		addedBy := make([]int, workers)
		errs := make([]error, workers)
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range perWorker {
					// Workers w and w^1 write the same IDs: every ID is
					// sent twice, concurrently, and must be stored once.
					id := fmt.Sprintf("w%d-%d", w/2, i)
					n, err := s.Append(ctx, leadkit.Event{
						ID: id, LeadID: fmt.Sprintf("lead%d", i%leads), Type: "x",
						Time: at((i * 7919) % 1000), // scrambled arrival order
					})
					if err != nil {
						errs[w] = err
						return
					}
					addedBy[w] += n
				}
			}()
		}
		wg.Wait()
		for _, err := range errs {
			require.NoError(t, err)
		}
		unique := workers / 2 * perWorker
		total := 0
		for _, n := range addedBy {
			total += n
		}
		assert.Equal(t, unique, total, "added counts every stored event exactly once")
		stored := 0
		seen := map[string]bool{}
		err := s.ForEach(ctx, func(tl journey.Timeline) error {
			for i, e := range tl.Events {
				assert.False(t, seen[e.ID], "event %s stored twice", e.ID)
				seen[e.ID] = true
				if i > 0 {
					assert.False(t, e.Time.Before(tl.Events[i-1].Time), "lead %s not sorted at %d", tl.LeadID, i)
				}
			}
			stored += len(tl.Events)
			return nil
		})
		require.NoError(t, err)
		assert.Equal(t, unique, stored)
	})
}
