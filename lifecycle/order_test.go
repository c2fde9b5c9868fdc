package lifecycle_test

import (
	"fmt"
	"maps"
	"math/rand"
	"slices"
	"strings"
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

// setup builds an engine and the parts it runs on.
type setup func(t *testing.T) (*parts, *lifecycle.Engine)

func withTouchPolicy(t *testing.T) (*parts, *lifecycle.Engine) {
	p := newParts(t)
	return p, p.engine(t, lifecycle.Options{})
}

// withEmailPolicy graduates on an e-mail and two touches, with profile
// fields from the events: what the pool knew at each time matters.
func withEmailPolicy(t *testing.T) (*parts, *lifecycle.Engine) {
	return engineWithPolicy(t, `
conditions:
  - {name: reachable, when: 'prospect.has_email'}
  - {name: engaged, when: 'prospect.touches_90d >= 2'}
`, lifecycle.Options{Observe: observeEmail})
}

func runIngest(t *testing.T, build setup, batches [][]leadkit.Event) (map[string]outcome, map[string]bool) {
	t.Helper()
	p, e := build(t)
	late := map[string]bool{}
	subjects := map[string]bool{}
	// told is the stage history as the CRM knows it from the changes.
	told := map[string]map[int64]stage.Entry{}
	for _, b := range batches {
		// What the stages held before (imports by the setup) is known.
		for _, x := range b {
			if told[x.LeadID] != nil {
				continue
			}
			told[x.LeadID] = map[int64]stage.Entry{}
			h, err := p.machine.History(ctx, stage.Lead(x.LeadID))
			require.NoError(t, err)
			for _, en := range h {
				told[x.LeadID][en.Version] = en
			}
		}
	}
	for _, b := range batches {
		cs, err := e.Ingest(ctx, b...)
		require.NoError(t, err)
		for _, c := range cs {
			switch c.Kind {
			case lifecycle.Late:
				late[c.LeadID] = true
			case lifecycle.Revoked:
				// The CRM keeps the history by version: a revocation
				// deletes one, a change sets one.
				v := c.Stage.Version
				require.Contains(t, told[c.LeadID], v, "%s: a revoked change was reported before", c.LeadID)
				require.Equal(t, *c.Stage, told[c.LeadID][v], c.LeadID)
				delete(told[c.LeadID], v)
			case lifecycle.Graduated, lifecycle.Staged:
				told[c.LeadID][c.Stage.Version] = *c.Stage
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
		if len(o.history) > 0 || len(told[id]) > 0 {
			h := slices.Collect(maps.Values(told[id]))
			slices.SortFunc(h, func(a, b stage.Entry) int { return int(a.Version - b.Version) })
			assert.Equal(t, o.history, h, "%s: the changes reported add up to the stored history", id)
		}
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

// Any order of arrival ends in the same stage histories, scores and
// timelines as time order: the engine takes back the stage changes it made
// that a late event shows it made too early or too late (graduations
// included) and decides them again. The changes it reports, revocations
// applied, add up to the stored history at every step's end.
func TestOrderOfArrival(t *testing.T) {
	for name, build := range map[string]setup{"touch policy": withTouchPolicy, "e-mail policy with profiles": withEmailPolicy} {
		t.Run(name, func(t *testing.T) { orderOfArrival(t, build, simulate(1, 300)) })
	}
	// Some events share an instant with the lead's previous one (a form
	// fill and its download): an instant is decided on all its events,
	// whatever the order they come in.
	evs := simulate(2, 200)
	for i := 1; i < len(evs); i++ {
		if i%5 == 0 && evs[i-1].LeadID == evs[i].LeadID {
			evs[i].Time = evs[i-1].Time
		}
	}
	t.Run("events at one instant", func(t *testing.T) { orderOfArrival(t, withTouchPolicy, evs) })
}

func orderOfArrival(t *testing.T, build setup, evs []leadkit.Event) {
	for i := range evs {
		// Some events carry an e-mail and a seniority (form fills).
		if evs[i].Type == "download" || evs[i].Type == "webinar_attended" {
			evs[i].Attrs = map[string]any{"email": evs[i].LeadID + "@acme.com", "seniority": []string{"vp", "manager"}[i%2]}
		}
	}
	want, late := runIngest(t, build, batchesOf(evs, 40))
	require.Empty(t, late, "in time order nothing is late")
	stages := 0
	for _, o := range want {
		if len(o.history) > 1 {
			stages++
		}
	}
	require.Greater(t, stages, 30, "the data moves leads to MQL, so the comparison means something")

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
			got, late := runIngest(t, build, run)
			assert.Empty(t, late, "no manual change stands in the way, so no event is late")
			for id, w := range want {
				g := got[id]
				// Events at one instant keep the order they arrived in.
				assert.Equal(t, byTimeAndID(w.events), byTimeAndID(g.events), id)
				assert.Equal(t, w.history, g.history, "%s: the same stage history", id)
				assert.Equal(t, w.reached, g.reached, id)
				require.Equal(t, len(w.scores), len(g.scores), id)
				for i := range w.scores {
					assert.InDelta(t, w.scores[i].Score, g.scores[i].Score, 1e-9, "%s %s", id, w.scores[i].Name)
				}
			}
		})
	}
}

// byTimeAndID is a copy of evs in time order, then ID order.
func byTimeAndID(evs []leadkit.Event) []leadkit.Event {
	out := slices.Clone(evs)
	slices.SortFunc(out, func(a, b leadkit.Event) int {
		if c := a.Time.Compare(b.Time); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

func scoringInput(st lifecycle.LeadState, evs []leadkit.Event) scoring.Input {
	return scoring.Input{Lead: st.Lead, Events: evs, AsOf: t0.AddDate(0, 6, 0)}
}

func scoringInputAt(st lifecycle.LeadState, asOf time.Time) scoring.Input {
	return scoring.Input{Lead: st.Lead, AsOf: asOf}
}
