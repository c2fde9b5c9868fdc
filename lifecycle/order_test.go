package lifecycle_test

import (
	"fmt"
	"math/rand"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/lifecycle"
	"github.com/leadkit/leadkit/scoring"
	"github.com/leadkit/leadkit/stage"
)

// simulate returns the events of n subjects over 120 days, sorted by time,
// every time distinct (same-time events count in arrival order; see the
// package documentation).
func simulate(seed int64, n int) []leadkit.Event {
	r := rand.New(rand.NewSource(seed))
	types := []string{"page_view", "page_view", "page_view", "email_opened", "download", "webinar_attended", "unsubscribe"}
	var out []leadkit.Event
	used := map[int64]bool{}
	for i := range n {
		id := fmt.Sprintf("s%03d", i)
		k := 1 + r.Intn(25)
		start := t0.Add(time.Duration(r.Int63n(int64(90 * 24 * time.Hour))))
		for j := range k {
			var at time.Time
			for {
				at = start.Add(time.Duration(r.Int63n(int64(30 * 24 * time.Hour)))).Truncate(time.Millisecond)
				if !used[at.UnixNano()] {
					used[at.UnixNano()] = true
					break
				}
			}
			typ := types[r.Intn(len(types))]
			if typ == "unsubscribe" && r.Intn(4) > 0 {
				typ = "page_view"
			}
			out = append(out, ev(fmt.Sprintf("%s-%d", id, j), id, typ, at))
		}
	}
	slices.SortFunc(out, func(a, b leadkit.Event) int { return a.Time.Compare(b.Time) })
	return out
}

// outcome is what a run leaves for one subject.
type outcome struct {
	history []stage.Entry
	scores  []scoring.DimensionScore
	reached []string
	events  []leadkit.Event
}

func runIngest(t *testing.T, batches [][]leadkit.Event) (map[string]outcome, map[string]bool) {
	t.Helper()
	p := newParts(t)
	e := p.engine(t, lifecycle.Options{})
	late := map[string]bool{}
	subjects := map[string]bool{}
	for _, b := range batches {
		cs, err := e.Ingest(ctx, b...)
		require.NoError(t, err)
		for _, c := range cs {
			if c.Kind == lifecycle.Late {
				late[c.LeadID] = true
			}
		}
		for _, x := range b {
			subjects[x.LeadID] = true
		}
	}
	out := map[string]outcome{}
	asOf := t0.AddDate(0, 6, 0)
	for id := range subjects {
		var o outcome
		var err error
		o.events, err = p.events.Events(ctx, id, time.Time{}, time.Time{})
		require.NoError(t, err)
		o.history, err = p.machine.History(ctx, stage.Lead(id))
		require.NoError(t, err)
		if st, err := p.states.Get(ctx, id); err == nil {
			var res scoring.Result
			require.NoError(t, p.model.ReadState(&res, &st.Score, st.Lead, asOf))
			o.scores, o.reached = res.Dimensions, st.Reached
			// The incremental state equals a full rescore of the stored
			// events, however they came.
			full, err := p.model.Score(scoring.Input{Lead: st.Lead, Events: o.events, AsOf: asOf})
			require.NoError(t, err)
			for i, d := range full.Dimensions {
				assert.InDelta(t, d.Score, res.Dimensions[i].Score, 1e-9, "%s %s", id, d.Name)
			}
		}
		out[id] = o
	}
	return out, late
}

func batchesOf(evs []leadkit.Event, n int) [][]leadkit.Event {
	var out [][]leadkit.Event
	for len(evs) > 0 {
		k := min(n, len(evs))
		out = append(out, evs[:k])
		evs = evs[k:]
	}
	return out
}

// Any order of arrival ends in the same scores and timelines; stage
// histories too, for every lead the engine did not report a Late event
// for. Delivery delays of up to a day (webhooks retried) leave most leads
// exact; a full shuffle still leaves scores and timelines exact.
func TestOrderOfArrival(t *testing.T) {
	evs := simulate(1, 300)
	want, late := runIngest(t, batchesOf(evs, 40))
	require.Empty(t, late, "in time order nothing is late")
	stages := 0
	for _, o := range want {
		if len(o.history) > 1 {
			stages++
		}
	}
	require.Greater(t, stages, 50, "the data moves leads beyond Raw, so the comparison means something")

	r := rand.New(rand.NewSource(7))
	delayed := slices.Clone(evs)
	arrival := map[string]time.Time{}
	for _, x := range delayed {
		arrival[x.ID] = x.Time.Add(time.Duration(r.Int63n(int64(24 * time.Hour))))
	}
	slices.SortStableFunc(delayed, func(a, b leadkit.Event) int { return arrival[a.ID].Compare(arrival[b.ID]) })
	shuffled := slices.Clone(evs)
	r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	reversed := slices.Clone(evs)
	slices.Reverse(reversed)

	for name, run := range map[string][][]leadkit.Event{
		"delayed up to a day":   batchesOf(delayed, 40),
		"shuffled":              batchesOf(shuffled, 40),
		"reversed one by one":   batchesOf(reversed, 1),
		"one call in any order": {shuffled},
	} {
		t.Run(name, func(t *testing.T) {
			got, late := runIngest(t, run)
			// A lead is reported late only if one of its events came after
			// an event of it with a later time.
			disordered := map[string]bool{}
			newest := map[string]time.Time{}
			for _, b := range run {
				// Within a call a lead's events are taken in time order:
				// compare each with what earlier calls brought.
				for _, x := range b {
					if x.Time.Before(newest[x.LeadID]) {
						disordered[x.LeadID] = true
					}
				}
				for _, x := range b {
					if x.Time.After(newest[x.LeadID]) {
						newest[x.LeadID] = x.Time
					}
				}
			}
			for id := range late {
				assert.True(t, disordered[id], "%s reported late though its events came in time order", id)
			}
			exact, final := 0, 0
			for id, w := range want {
				g := got[id]
				if len(w.history) > 0 && len(g.history) > 0 && w.history[len(w.history)-1].To == g.history[len(g.history)-1].To {
					final++
				}
				assert.Equal(t, w.events, g.events, id)
				require.Equal(t, len(w.scores), len(g.scores), id)
				for i := range w.scores {
					assert.InDelta(t, w.scores[i].Score, g.scores[i].Score, 1e-9, "%s %s", id, w.scores[i].Name)
				}
				if late[id] {
					continue
				}
				exact++
				assert.Equal(t, w.history, g.history, "%s: no late event reported, so the same history", id)
				assert.Equal(t, w.reached, g.reached, id)
			}
			t.Logf("%s: %d of %d leads exact to the stage history, %d with late events, %d in the same final stage", name, exact, len(want), len(late), final)
			if name == "delayed up to a day" || name == "one call in any order" {
				assert.Greater(t, exact, len(want)*9/10)
			}
		})
	}
}

func scoringInput(st lifecycle.LeadState, evs []leadkit.Event) scoring.Input {
	return scoring.Input{Lead: st.Lead, Events: evs, AsOf: t0.AddDate(0, 6, 0)}
}

func scoringInputAt(st lifecycle.LeadState, asOf time.Time) scoring.Input {
	return scoring.Input{Lead: st.Lead, AsOf: asOf}
}
