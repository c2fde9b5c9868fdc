package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
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

	t.Run("Tenants", func(t *testing.T) { journeyTenants(t, newStore(t)) })

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

	t.Run("AttrsComeBackAlikeAndUnshared", func(t *testing.T) {
		s := newStore(t)
		tags := []any{"vip"}
		nested := map[string]any{"k": "v"}
		e := ev("a1", "l1", 1)
		e.Attrs = map[string]any{
			"tags": tags, "names": []string{"x", "y"}, "m": nested,
			"n": int64(1<<62 + 1), "f": float32(2.5), "j": json.Number("7"), "ok": true, "none": nil,
			"when": time.Date(2025, 1, 1, 9, 0, 0, 0, time.FixedZone("JST", 9*3600)),
		}
		_, err := s.Append(ctx, e, ev("a2", "l1", 2))
		require.NoError(t, err)
		// Changing what was appended changes nothing stored.
		tags[0], nested["k"] = "\x00changed", "changed"
		got, err := s.Events(ctx, "l1", time.Time{}, time.Time{})
		require.NoError(t, err)
		require.Len(t, got, 2)
		want := map[string]any{
			"tags": []any{"vip"}, "names": []any{"x", "y"}, "m": map[string]any{"k": "v"},
			"n": float64(1<<62 + 1), "f": 2.5, "j": 7.0, "ok": true, "none": nil,
			"when": "2025-01-01T00:00:00Z",
		}
		assert.Equal(t, want, got[0].Attrs)
		assert.Nil(t, got[1].Attrs, "no attributes read back as nil")
		// Changing what was read changes nothing stored either.
		got[0].Attrs["m"].(map[string]any)["k"] = "changed by a reader"
		got[0].Attrs["tags"].([]any)[0] = "changed by a reader"
		again, err := s.Events(ctx, "l1", time.Time{}, time.Time{})
		require.NoError(t, err)
		assert.Equal(t, want, again[0].Attrs)
	})

	t.Run("BadInputRefusedAlike", func(t *testing.T) {
		s := newStore(t)
		// An event at MaxEventBytes is stored and read back verbatim; one
		// byte more is refused with ErrInvalid (PostgreSQL failed with a
		// raw jsonb error on events the per-field caps admitted).
		atCap := ev("big", "l1", 1)
		// Fields count their bytes and the time 8; the attribute's name and
		// strings count as JSON writes them (quoted), the list 8.
		fill := leadkit.MaxEventBytes - len("big") - len("l1") - len(atCap.Type) - 8 - (len("items") + 2) - 8
		var sizes []int
		for fill > 0 {
			n := min(fill-2, leadkit.MaxStringBytes)
			sizes = append(sizes, n)
			fill -= n + 2
		}
		if last := len(sizes) - 1; sizes[last] < 0 { // a remainder of one byte: move it to the first item
			sizes[0]--
			sizes[last] = 0
		}
		var items []any
		for _, n := range sizes {
			items = append(items, strings.Repeat("é", n/2)+strings.Repeat("y", n%2))
		}
		atCap.Attrs = map[string]any{"items": items}
		require.NoError(t, atCap.Validate())
		over := ev("over", "l1", 2)
		over.Attrs = map[string]any{"items": append(append([]any{}, items...), "z")}
		n, err := s.Append(ctx, atCap, over)
		assert.Equal(t, 1, n)
		assert.ErrorIs(t, err, leadkit.ErrInvalid)
		assert.ErrorContains(t, err, `"over"`)
		got, err := s.Events(ctx, "l1", time.Time{}, time.Time{})
		require.NoError(t, err)
		require.Len(t, got, 1)
		assert.Equal(t, items, got[0].Attrs["items"])

		// Lead IDs no event could carry are refused on reads alike.
		for _, id := range []string{"", "l\x00", "\xff", strings.Repeat("x", leadkit.MaxIDBytes+1)} {
			_, err := s.Events(ctx, id, time.Time{}, time.Time{})
			assert.ErrorIs(t, err, leadkit.ErrInvalid, "%q", id)
		}
		// Caps on names and text hold on every backend.
		for name, e := range map[string]leadkit.Event{
			"long ID":        {ID: strings.Repeat("x", leadkit.MaxIDBytes+1), LeadID: "l2", Type: "t", Time: at(1)},
			"NUL in type":    {ID: "a", LeadID: "l2", Type: "t\x00", Time: at(1)},
			"bad UTF-8 attr": {ID: "b", LeadID: "l2", Type: "t", Time: at(1), Attrs: map[string]any{"k": "\xff"}},
			"year 300000":    {ID: "c", LeadID: "l2", Type: "t", Time: time.Date(300000, 1, 1, 0, 0, 0, 0, time.UTC)},
		} {
			n, err := s.Append(ctx, e)
			assert.Zero(t, n, name)
			assert.ErrorIs(t, err, leadkit.ErrInvalid, name)
		}
		got, err = s.Events(ctx, "l2", time.Time{}, time.Time{})
		require.NoError(t, err)
		assert.Empty(t, got)
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
		// Each bad event is named by its index in the call and its ID, on
		// a line of its own.
		lines := strings.Split(err.Error(), "\n")
		require.Len(t, lines, 2, "one error per bad event: %v", err)
		assert.Contains(t, lines[0], "event 1:")
		assert.Contains(t, lines[0], `"no-time"`)
		assert.Contains(t, lines[1], "event 3:")
		assert.Contains(t, lines[1], `"no-lead"`)
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

	t.Run("AppendFromForEach", func(t *testing.T) {
		s := newStore(t)
		_, err := s.Append(ctx, ev("a1", "la", 1), ev("b1", "lb", 1))
		require.NoError(t, err)
		// fn may write to the store: each visit appends an event to its own
		// lead and one to a new lead. Run with a deadline so that a store
		// that holds a lock across fn fails instead of hanging.
		done := make(chan error, 1)
		var visited []string
		go func() {
			done <- s.ForEach(ctx, func(tl journey.Timeline) error {
				visited = append(visited, tl.LeadID)
				if len(visited) > 10 {
					return errors.New("ForEach does not end while fn appends")
				}
				if strings.HasPrefix(tl.LeadID, "z-") {
					return nil // a lead added during the walk may or may not be visited
				}
				_, err := s.Append(ctx, ev(tl.LeadID+"-more", tl.LeadID, 2), ev("new-"+tl.LeadID, "z-"+tl.LeadID, 3))
				return err
			})
		}()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(20 * time.Second):
			t.Fatal("ForEach deadlocked when fn called Append")
		}
		assert.Subset(t, visited, []string{"la", "lb"}, "every lead present at the start is visited")
		got, err := s.Events(ctx, "la", time.Time{}, time.Time{})
		require.NoError(t, err)
		assert.Equal(t, []string{"a1", "la-more"}, ids(got), "the appends made inside fn are stored")
		got, err = s.Events(ctx, "z-lb", time.Time{}, time.Time{})
		require.NoError(t, err)
		assert.Equal(t, []string{"new-lb"}, ids(got))
	})

	t.Run("IDReusedByAnotherLead", func(t *testing.T) {
		s := newStore(t)
		n, err := s.Append(ctx, ev("same", "l1", 1))
		require.NoError(t, err)
		assert.Equal(t, 1, n)
		// The ID is the idempotency key across leads: a second write under
		// another lead is a duplicate, not a new event.
		n, err = s.Append(ctx, ev("same", "l2", 5))
		require.NoError(t, err)
		assert.Zero(t, n)
		got, err := s.Events(ctx, "l2", time.Time{}, time.Time{})
		require.NoError(t, err)
		assert.Empty(t, got)
		got, err = s.Events(ctx, "l1", time.Time{}, time.Time{})
		require.NoError(t, err)
		assert.Equal(t, []string{"same"}, ids(got))
		// Within one call too: the first wins.
		n, err = s.Append(ctx, ev("twin", "l3", 1), ev("twin", "l4", 1))
		require.NoError(t, err)
		assert.Equal(t, 1, n)
		got, err = s.Events(ctx, "l4", time.Time{}, time.Time{})
		require.NoError(t, err)
		assert.Empty(t, got)
	})

	t.Run("ReadersDuringConcurrentAppends", func(t *testing.T) {
		s := newStore(t)
		const writers, perWriter = 4, 60
		var wg sync.WaitGroup
		stop := make(chan struct{})
		writeErrs := make([]error, writers)
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range perWriter {
					_, err := s.Append(ctx, ev(fmt.Sprintf("r%d-%d", w, i), fmt.Sprintf("lead%d", i%3), (i*7919+w)%500))
					if err != nil {
						writeErrs[w] = err
						return
					}
				}
			}()
		}
		// Readers check every snapshot they see: sorted, no ID twice, and
		// never fewer events than an earlier read of the same lead (a
		// stored event does not disappear).
		readErrs := make(chan error, 2)
		var rg sync.WaitGroup
		check := func(evs []leadkit.Event) error {
			seen := map[string]bool{}
			for i, e := range evs {
				if seen[e.ID] {
					return fmt.Errorf("event %s read twice", e.ID)
				}
				seen[e.ID] = true
				if i > 0 && e.Time.Before(evs[i-1].Time) {
					return fmt.Errorf("events not sorted at %d", i)
				}
			}
			return nil
		}
		rg.Add(2)
		go func() {
			defer rg.Done()
			last := map[string]int{}
			for {
				select {
				case <-stop:
					readErrs <- nil
					return
				default:
				}
				for l := range 3 {
					lead := fmt.Sprintf("lead%d", l)
					evs, err := s.Events(ctx, lead, time.Time{}, time.Time{})
					if err == nil {
						err = check(evs)
					}
					if err == nil && len(evs) < last[lead] {
						err = fmt.Errorf("lead %s: %d events after %d", lead, len(evs), last[lead])
					}
					if err != nil {
						readErrs <- err
						return
					}
					last[lead] = len(evs)
				}
			}
		}()
		go func() {
			defer rg.Done()
			for {
				select {
				case <-stop:
					readErrs <- nil
					return
				default:
				}
				err := s.ForEach(ctx, func(tl journey.Timeline) error { return check(tl.Events) })
				if err != nil {
					readErrs <- err
					return
				}
			}
		}()
		wg.Wait()
		close(stop)
		rg.Wait()
		for range 2 {
			require.NoError(t, <-readErrs)
		}
		for _, err := range writeErrs {
			require.NoError(t, err)
		}
		total := 0
		for l := range 3 {
			evs, err := s.Events(ctx, fmt.Sprintf("lead%d", l), time.Time{}, time.Time{})
			require.NoError(t, err)
			total += len(evs)
		}
		assert.Equal(t, writers*perWriter, total, "every append is stored")
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
