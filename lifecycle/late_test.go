package lifecycle_test

import (
	"fmt"
	"math/rand"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/lifecycle"
	"github.com/leadkit/leadkit/pool"
	"github.com/leadkit/leadkit/scoring"
	"github.com/leadkit/leadkit/stage"
)

// These tests hold the engine to time order in the corners of late
// arrival: events after the engine's clock, events at one instant split
// over calls, erasure, imported profiles, events stored but not yet
// processed (a crash after the append, another engine), engines that
// ingest shuffled deliveries concurrently, and other stage definitions.

func histStr(h []stage.Entry) []string {
	var out []string
	for _, e := range h {
		out = append(out, e.At.Format("01-02T15:04")+" "+e.From+"->"+e.To+" "+string(e.Trigger)+" "+e.Actor)
	}
	return out
}

// compareRuns runs each arrival and compares every subject's stage history
// with the time-order run (one event per call).
func compareRuns(t *testing.T, build setup, evs []leadkit.Event, runs map[string][][]leadkit.Event) {
	t.Helper()
	want, _ := runIngest(t, build, batchesOf(evs, 1))
	for name, run := range runs {
		t.Run(name, func(t *testing.T) {
			got, _ := runIngest(t, build, run)
			for id, w := range want {
				assert.Equal(t, histStr(w.history), histStr(got[id].history), "%s: stage history", id)
				assert.Equal(t, w.reached, got[id].reached, "%s: reached", id)
			}
		})
	}
}

// Events after the engine's clock: stage changes are recorded at the
// clock's time; a late event that is itself after the clock still takes
// back the changes recorded there and decides them again.
func TestLateEventsAfterTheClock(t *testing.T) {
	build := func(t *testing.T) (*parts, *lifecycle.Engine) {
		p := newParts(t)
		return p, p.engine(t, lifecycle.Options{Now: func() time.Time { return t0 }})
	}
	evs := []leadkit.Event{
		ev("pv1", "f1", "page_view", t0.Add(hours(1))), ev("pv2", "f1", "page_view", t0.Add(hours(2))),
		ev("w3", "f1", "webinar_attended", t0.Add(hours(3))), ev("w4", "f1", "webinar_attended", t0.Add(hours(4))),
		ev("u5", "f1", "unsubscribe", t0.Add(hours(5))), ev("d6", "f1", "download", t0.Add(hours(6))),
	}
	late := []leadkit.Event{evs[0], evs[1], evs[2], evs[3], evs[5], evs[4]}
	compareRuns(t, build, evs, map[string][][]leadkit.Event{"unsubscribe last": batchesOf(late, 1)})
}

// Events at one instant split over calls end as in one call: the instant
// is decided on all its events (the download's MQL is taken back when the
// unsubscribe at the same instant comes).
func TestOneInstantSplitOverCalls(t *testing.T) {
	evs := []leadkit.Event{
		ev("pv1", "g1", "page_view", t0.Add(hours(1))), ev("pv2", "g1", "page_view", t0.Add(hours(2))),
		ev("w3", "g1", "webinar_attended", t0.Add(hours(3))), ev("w4", "g1", "webinar_attended", t0.Add(hours(4))),
		ev("d6", "g1", "download", t0.Add(hours(6))), ev("u6", "g1", "unsubscribe", t0.Add(hours(6))),
		ev("pv7", "g1", "page_view", t0.Add(hours(7))),
	}
	oneCall, _ := runIngest(t, withTouchPolicy, [][]leadkit.Event{evs})
	split, _ := runIngest(t, withTouchPolicy, batchesOf(evs, 1))
	assert.Equal(t, histStr(oneCall["g1"].history), histStr(split["g1"].history))
}

// upDown: Raw -> MQL at 100, MQL -> SAL at 160 (auto), MQL/SAL -> Recycled
// (auto) below 30, Recycled -> MQL at 100 (requalify policy applies).
func upDown() stage.Definition {
	d := stage.Classic()
	for i := range d.Transitions {
		if d.Transitions[i].Name == "accept" {
			d.Transitions[i].Auto, d.Transitions[i].Guard = true, "score >= 160"
		}
	}
	d.Transitions = append(d.Transitions, stage.Transition{Name: "cool", From: []string{"MQL", "SAL"}, To: "Recycled", Auto: true, Guard: "score < 30"})
	return d
}

func buildWith(def func() stage.Definition, withPool bool, o lifecycle.Options) setup {
	return func(t *testing.T) (*parts, *lifecycle.Engine) {
		p := newParts(t)
		var pl *pool.Pool
		if withPool {
			pol, err := pool.ParsePolicy([]byte(testPolicy))
			require.NoError(t, err)
			n := 0
			pl, err = pool.New(pool.Options{Store: p.pstore, Policy: pol, Now: func() time.Time { return now },
				NewID: func() string { n++; return fmt.Sprintf("p%d", n) }})
			require.NoError(t, err)
		}
		m, err := stage.New(def(), stage.Options{Store: p.stages, Now: func() time.Time { return now }})
		require.NoError(t, err)
		p.pool, p.machine = pl, m
		o := o
		o.States = p.states
		if o.Now == nil {
			o.Now = func() time.Time { return now }
		}
		o.Facts = map[string]string{"score": "total", "grade": "fit_band"}
		e, err := lifecycle.New(pl, p.model, m, p.events, o)
		require.NoError(t, err)
		return p, e
	}
}

func arrivals(evs []leadkit.Event, seed int64) map[string][][]leadkit.Event {
	r := rand.New(rand.NewSource(seed))
	shuffled := slices.Clone(evs)
	r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	reversed := slices.Clone(evs)
	slices.Reverse(reversed)
	delayed := slices.Clone(evs)
	arrival := map[string]time.Time{}
	for _, x := range delayed {
		arrival[x.ID] = x.Time.Add(time.Duration(r.Int63n(int64(48 * time.Hour))))
	}
	slices.SortStableFunc(delayed, func(a, b leadkit.Event) int { return arrival[a.ID].Compare(arrival[b.ID]) })
	return map[string][][]leadkit.Event{
		"shuffled 20": batchesOf(shuffled, 20),
		"shuffled 1":  batchesOf(shuffled, 1),
		"reversed 1":  batchesOf(reversed, 1),
		"delayed 10":  batchesOf(delayed, 10),
		"one call":    {shuffled},
	}
}

// Other definitions: automatic moves up and down (with the Requalify
// policy), the waterfall, no pool.
func TestOrderOfArrivalOtherDefinitions(t *testing.T) {
	evs := simulate2(1, 40, 40)
	compareRuns(t, buildWith(upDown, true, lifecycle.Options{}), evs, arrivals(evs, 1))
	compareRuns(t, buildWith(upDown, false, lifecycle.Options{Requalify: lifecycle.Requalify{MinTouches: 2, Cooldown: 2 * 24 * time.Hour}}), evs, arrivals(evs, 2))
	evs = simulate(24, 80)
	compareRuns(t, buildWith(stage.Waterfall, true, lifecycle.Options{}), evs, arrivals(evs, 6))
}

// simulate2: many events, many unsubscribes, over 60 days.
func simulate2(seed int64, n, maxK int) []leadkit.Event {
	r := rand.New(rand.NewSource(seed))
	types := []string{"page_view", "email_opened", "download", "webinar_attended", "unsubscribe", "unsubscribe"}
	var out []leadkit.Event
	used := map[int64]bool{}
	for i := range n {
		id := fmt.Sprintf("s%03d", i)
		k := 1 + r.Intn(maxK)
		start := t0.Add(time.Duration(r.Int63n(int64(10 * 24 * time.Hour))))
		for j := range k {
			var at time.Time
			for {
				at = start.Add(time.Duration(r.Int63n(int64(60 * 24 * time.Hour)))).Truncate(time.Millisecond)
				if !used[at.UnixNano()] {
					used[at.UnixNano()] = true
					break
				}
			}
			out = append(out, ev(fmt.Sprintf("%s-%d", id, j), id, types[r.Intn(len(types))], at))
		}
	}
	slices.SortFunc(out, func(a, b leadkit.Event) int { return a.Time.Compare(b.Time) })
	return out
}

// Erase, then a late page view: the MQL decided before the erasure, on a
// profile that is gone, stands (the event is Late), as in time order.
func TestLateEventAfterAnErasure(t *testing.T) {
	build := buildWith(stage.Classic, true, lifecycle.Options{Observe: observeEmail})
	pv0 := ev("pv0", "x1", "page_view", t0)
	pv0.Attrs = map[string]any{"seniority": "vp"}
	evs := []leadkit.Event{pv0, ev("pv1", "x1", "page_view", t0.Add(hours(1))),
		ev("w2", "x1", "webinar_attended", t0.Add(hours(2))), ev("d4", "x1", "download", t0.Add(hours(4)))}
	late := ev("pv3", "x1", "page_view", t0.Add(hours(3)))

	run := func(first []leadkit.Event, after []leadkit.Event) ([]string, []lifecycle.Change) {
		p, e := build(t)
		for _, x := range first {
			_, err := e.Ingest(ctx, x)
			require.NoError(t, err)
		}
		require.NoError(t, e.Erase(ctx, "x1"))
		var cs []lifecycle.Change
		for _, x := range after {
			c, err := e.Ingest(ctx, x)
			require.NoError(t, err)
			cs = append(cs, c...)
		}
		h, err := p.machine.History(ctx, stage.Lead("x1"))
		require.NoError(t, err)
		return histStr(h), cs
	}
	want, _ := run([]leadkit.Event{evs[0], evs[1], evs[2], late, evs[3]}, nil)
	got, cs := run(evs, []leadkit.Event{late})
	assert.Equal(t, []string{"late"}, kinds(cs))
	assert.Equal(t, want, got)
}

// An imported lead's profile (AddLead) that a later event's observation
// overwrites still counts before that event in a replay: replays read the
// profile the lead started with (LeadState.Origin) and its events.
func TestImportedProfileInReplays(t *testing.T) {
	build := buildWith(stage.Classic, true, lifecycle.Options{Observe: observeEmail})
	d5 := ev("d5", "i1", "download", t0.Add(hours(5)))
	d5.Attrs = map[string]any{"seniority": "manager"}
	w1, w2 := ev("w1", "i1", "webinar_attended", t0.Add(hours(1))), ev("w2", "i1", "webinar_attended", t0.Add(hours(2)))
	run := func(order ...leadkit.Event) []string {
		p, e := build(t)
		_, err := e.AddLead(ctx, leadkit.Lead{ID: "i1", CreatedAt: t0, Person: leadkit.Person{Seniority: "vp"}}, "")
		require.NoError(t, err)
		for _, x := range order {
			_, err := e.Ingest(ctx, x)
			require.NoError(t, err)
		}
		h, err := p.machine.History(ctx, stage.Lead("i1"))
		require.NoError(t, err)
		return histStr(h)
	}
	want := run(w1, w2, d5)
	got := run(d5, w2, w1)
	assert.Equal(t, want, got)
}

// A late event stored by a call that crashed before processing it (or by
// another engine not done with it) counts from its own time when another
// call finds it, so its retry is a redelivery with nothing left to do.
func TestStoredUnprocessedEventCounts(t *testing.T) {
	build := buildWith(stage.Classic, true, lifecycle.Options{})
	base := []leadkit.Event{ev("pv0", "c1", "page_view", t0), ev("pv1", "c1", "page_view", t0.Add(hours(1))),
		ev("w2", "c1", "webinar_attended", t0.Add(hours(2))), ev("w4", "c1", "webinar_attended", t0.Add(hours(4))),
		ev("d6", "c1", "download", t0.Add(hours(6)))}
	w3, pv5 := ev("w3", "c1", "webinar_attended", t0.Add(hours(3))), ev("pv5", "c1", "page_view", t0.Add(hours(5)))

	p, e := build(t)
	_, err := e.Ingest(ctx, base...)
	require.NoError(t, err)
	_, err = e.Ingest(ctx, w3, pv5)
	require.NoError(t, err)
	want, err := p.machine.History(ctx, stage.Lead("c1"))
	require.NoError(t, err)

	q, e2 := build(t)
	_, err = e2.Ingest(ctx, base...)
	require.NoError(t, err)
	_, err = q.events.Append(ctx, w3) // the crashed call's append
	require.NoError(t, err)
	_, err = e2.Ingest(ctx, pv5)
	require.NoError(t, err)
	cs, err := e2.Ingest(ctx, w3) // the retry
	require.NoError(t, err)
	t.Log(kinds(cs))
	got, err := q.machine.History(ctx, stage.Lead("c1"))
	require.NoError(t, err)
	assert.Equal(t, histStr(want), histStr(got))
}

// The same for a graduation: the start moves to the earlier time.
func TestStoredUnprocessedEventGraduates(t *testing.T) {
	build := buildWith(stage.Classic, true, lifecycle.Options{})
	e3, e5, e6 := ev("e3", "c2", "page_view", t0.Add(hours(3))), ev("e5", "c2", "page_view", t0.Add(hours(5))), ev("e6", "c2", "page_view", t0.Add(hours(6)))
	p, e := build(t)
	_, err := e.Ingest(ctx, e5, e6)
	require.NoError(t, err)
	_, err = e.Ingest(ctx, e3)
	require.NoError(t, err)
	want, _ := p.machine.History(ctx, stage.Lead("c2"))

	q, e2 := build(t)
	_, err = q.events.Append(ctx, e3) // stored by a call that crashed, or by another engine not done yet
	require.NoError(t, err)
	_, err = e2.Ingest(ctx, e5, e6)
	require.NoError(t, err)
	_, err = e2.Ingest(ctx, e3) // the retry
	require.NoError(t, err)
	got, _ := q.machine.History(ctx, stage.Lead("c2"))
	assert.Equal(t, histStr(want), histStr(got))
}

// Imported leads (AddLead, in Raw, with a profile; created in the middle
// of their events) then their events in any order.
func TestImportedLeadsAnyOrder(t *testing.T) {
	evs := simulate2(31, 30, 30)
	for i := range evs {
		if i%7 == 0 {
			evs[i].Attrs = map[string]any{"seniority": []string{"vp", "manager"}[i%2]}
		}
	}
	ids := map[string]bool{}
	for _, x := range evs {
		ids[x.LeadID] = true
	}
	for _, def := range []func() stage.Definition{stage.Classic, upDown} {
		build := buildWith(def, true, lifecycle.Options{Observe: observeEmail})
		imported := func(t *testing.T) (*parts, *lifecycle.Engine) {
			p, e := build(t)
			for id := range ids {
				_, err := e.AddLead(ctx, leadkit.Lead{ID: id, CreatedAt: t0.Add(5 * 24 * time.Hour), Person: leadkit.Person{Seniority: "c_level"}}, "")
				require.NoError(t, err)
			}
			return p, e
		}
		compareRuns(t, imported, evs, arrivals(evs, 9))
	}
}

// Four engines ingest differently shuffled deliveries of the same events
// at once: once every call returned, the stores hold the time-order
// histories, timelines, scores and thresholds.
func TestEnginesIngestShuffledDeliveriesConcurrently(t *testing.T) {
	evs := simulate(5, 60)
	want, _ := runIngest(t, withTouchPolicy, batchesOf(evs, 30))
	p := newParts(t)
	var wg sync.WaitGroup
	for i := range 4 {
		e := p.engine(t, lifecycle.Options{})
		sh := slices.Clone(evs)
		rand.New(rand.NewSource(int64(i))).Shuffle(len(sh), func(a, b int) { sh[a], sh[b] = sh[b], sh[a] })
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, b := range batchesOf(sh, 5+i*3) {
				_, err := e.Ingest(ctx, b...)
				assert.NoError(t, err)
			}
		}()
	}
	wg.Wait()
	asOf := t0.AddDate(0, 6, 0)
	for id, w := range want {
		h, err := p.machine.History(ctx, stage.Lead(id))
		require.NoError(t, err)
		assert.Equal(t, histStr(w.history), histStr(h), id)
		evs, err := p.events.Events(ctx, id, time.Time{}, time.Time{})
		require.NoError(t, err)
		assert.Equal(t, w.events, evs, id)
		st, err := p.states.Get(ctx, id)
		if len(w.scores) == 0 {
			assert.ErrorIs(t, err, leadkit.ErrNotFound, "%s: no lead in time order, none here", id)
			continue
		}
		require.NoError(t, err, id)
		var res scoring.Result
		require.NoError(t, p.model.ReadState(&res, &st.Score, st.Lead, asOf))
		for i, d := range res.Dimensions {
			assert.InDelta(t, w.scores[i].Score, d.Score, 1e-9, "%s %s", id, d.Name)
		}
		assert.Equal(t, w.reached, st.Reached, id)
	}
}
