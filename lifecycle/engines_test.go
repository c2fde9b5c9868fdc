package lifecycle_test

import (
	"encoding/json"
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
	"github.com/leadkit/leadkit/scoring"
	"github.com/leadkit/leadkit/stage"
)

// result is what time order promises per subject: history, reached, scores.
func result(t *testing.T, p *parts, subjects []string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, id := range subjects {
		h, err := p.stages.History(ctx, stage.Key{Pipeline: "classic", Subject: stage.Lead(id)})
		require.NoError(t, err)
		st, err := p.states.Get(ctx, id)
		var sc []string
		var reached []string
		var pend time.Time
		if err == nil {
			var res scoring.Result
			require.NoError(t, p.model.ReadState(&res, &st.Score, st.Lead, t0.AddDate(0, 6, 0)))
			for _, d := range res.Dimensions {
				sc = append(sc, fmt.Sprintf("%s=%.6f", d.Name, d.Score))
			}
			reached, pend = st.Reached, st.Pending
		}
		b, _ := json.Marshal(histStr(h))
		out[id] = fmt.Sprintf("history %s\nscores %v reached %v pending %v created %v", b, sc, reached, pend, st.Lead.CreatedAt)
	}
	return out
}

func subjectsOf(evs []leadkit.Event) []string {
	var out []string
	seen := map[string]bool{}
	for _, x := range evs {
		if !seen[x.LeadID] {
			seen[x.LeadID] = true
			out = append(out, x.LeadID)
		}
	}
	return out
}

// The clock behind the events: every stage change is recorded at the
// clock's time. Events after it end the same whether they come in one call
// or one by one: a change taken back at the clock's time is decided again
// on every event from there (MQL, then Recycled).
func TestClockBehindEventsSplitIntoCalls(t *testing.T) {
	build := buildWith(upDown, true, lifecycle.Options{Now: func() time.Time { return t0 }})
	evs := []leadkit.Event{
		ev("w", "k1", "webinar_attended", t0.Add(hours(1))),
		ev("d1", "k1", "download", t0.Add(hours(1)+time.Minute)),
		ev("d2", "k1", "download", t0.Add(hours(1)+2*time.Minute)),
		ev("d3", "k1", "download", t0.Add(hours(1)+3*time.Minute)),
		ev("u1", "k1", "unsubscribe", t0.Add(hours(1)+30*time.Minute)),
		ev("u2", "k1", "unsubscribe", t0.Add(hours(1)+31*time.Minute)),
		ev("u3", "k1", "unsubscribe", t0.Add(hours(1)+32*time.Minute)),
	}
	hist := func(batches [][]leadkit.Event) []string {
		p, e := build(t)
		for _, b := range batches {
			cs, err := e.Ingest(ctx, b...)
			require.NoError(t, err)
			t.Log(b[0].ID, len(b), kinds(cs))
		}
		h, err := p.machine.History(ctx, stage.Lead("k1"))
		require.NoError(t, err)
		return histStr(h)
	}
	oneCall := hist([][]leadkit.Event{evs})
	oneByOne := hist(batchesOf(evs, 1))
	require.Equal(t, oneCall, oneByOne, "the same events in time order, split differently")
}

// An unscorable event that comes on the fast path (the lead exists, the
// event is its newest) is counted by a rebuild, so a later redelivery of an
// old event is one: it reports nothing and writes nothing.
func TestRedeliveryAfterAnUnscorableEvent(t *testing.T) {
	p := newParts(t)
	p.model = quoteModel(t)
	e := p.engine(t, lifecycle.Options{})
	first := ev("e1", "v1", "page_view", t0)
	_, err := e.Ingest(ctx, first, ev("e2", "v1", "page_view", t0.Add(hours(1))), ev("e3", "v1", "page_view", t0.Add(hours(2))))
	require.NoError(t, err)
	// A manual move after the events.
	_, err = p.machine.Fire(ctx, stage.Lead("v1"), "disqualify", stage.Request{Actor: "rep", Reason: "spam", At: t0.Add(hours(4))})
	require.NoError(t, err)
	bad := ev("bad", "v1", "quote", t0.Add(hours(5)))
	bad.Attrs = map[string]any{"amount": "lots"}
	_, err = e.Ingest(ctx, bad) // fast path
	require.Error(t, err)
	before, err := p.states.Get(ctx, "v1")
	require.NoError(t, err)
	t.Logf("state after fast-path unscorable: events=%d unscored=%d", before.Events, before.Unscored)
	cs, err := e.Ingest(ctx, first) // a redelivery
	t.Logf("redelivery: changes %v err %v", kinds(cs), err)
	after, err2 := p.states.Get(ctx, "v1")
	require.NoError(t, err2)
	t.Logf("version before %d after %d; after: events=%d unscored=%d", before.Version, after.Version, after.Events, after.Unscored)
	require.NoError(t, err, "a redelivery reports nothing")
	require.Empty(t, cs, "a redelivery reports nothing")
	require.Equal(t, before.Version, after.Version, "a redelivery writes nothing")
}

// Two engines, no faults: differently shuffled deliveries of the same
// events, concurrently; every lead must end with the time-order history.
func TestTwoEnginesShuffledDeliveries(t *testing.T) {
	evs := simulate(5, 12)
	subjects := subjectsOf(evs)
	p0, e0 := withTouchPolicy(t)
	for _, b := range batchesOf(evs, 1) {
		_, err := e0.Ingest(ctx, b...)
		require.NoError(t, err)
	}
	want := result(t, p0, subjects)
	bad := 0
	for seed := int64(0); seed < 300; seed++ {
		p := newParts(t)
		var wg sync.WaitGroup
		for i := range 2 {
			e := p.engine(t, lifecycle.Options{})
			sh := slices.Clone(evs)
			rand.New(rand.NewSource(seed*2+int64(i))).Shuffle(len(sh), func(a, b int) { sh[a], sh[b] = sh[b], sh[a] })
			wg.Add(1)
			go func() {
				defer wg.Done()
				for _, b := range batchesOf(sh, 4+i*3) {
					_, err := e.Ingest(ctx, b...)
					assert.NoError(t, err)
				}
			}()
		}
		wg.Wait()
		got := result(t, p, subjects)
		for _, id := range subjects {
			if want[id] != got[id] {
				bad++
				if bad <= 2 {
					t.Errorf("seed %d, %s:\nwant %s\n got %s", seed, id, want[id], got[id])
				}
			}
		}
	}
	t.Log("differing", bad)
}

// A crash at any store call, and the failed batch re-ingested only at the
// end (other calls in between, the lead possibly left Pending).
func TestCrashWithTheRetryDeferred(t *testing.T) {
	skipUnderRace(t)
	evs := slices.Clone(simulate(3, 6))
	rand.New(rand.NewSource(11)).Shuffle(len(evs), func(i, j int) { evs[i], evs[j] = evs[j], evs[i] })
	batches := batchesOf(evs, 5)
	subjects := subjectsOf(evs)
	count := &faults{at: -1}
	p, e := faultyParts(t, count)
	for _, b := range batches {
		_, err := e.Ingest(ctx, b...)
		require.NoError(t, err)
	}
	want := result(t, p, subjects)
	total := count.calls.Load()
	t.Log("store calls", total)
	bad := 0
	for _, after := range []bool{false, true} {
		for at := int64(1); at <= total; at++ {
			f := &faults{at: at, after: after}
			p, e := faultyParts(t, f)
			var failed [][]leadkit.Event
			for _, b := range batches {
				_, err := e.Ingest(ctx, b...)
				if err != nil {
					require.ErrorIs(t, err, errInjected)
					failed = append(failed, b)
					_, e = faultyOver(t, p, nil) // the process restarts; the batch waits in the queue
				}
			}
			for _, b := range failed {
				_, err := e.Ingest(ctx, b...)
				require.NoError(t, err)
			}
			got := result(t, p, subjects)
			for _, id := range subjects {
				if want[id] != got[id] {
					bad++
					if bad <= 3 {
						t.Errorf("fault at call %d (after=%v), subject %s:\nwant %s\n got %s", at, after, id, want[id], got[id])
					}
				}
			}
		}
	}
	t.Log("differing", bad)
}
