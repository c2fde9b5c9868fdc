package lifecycle_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/journey"
	"github.com/leadkit/leadkit/lifecycle"
	"github.com/leadkit/leadkit/pool"
	"github.com/leadkit/leadkit/scoring"
	"github.com/leadkit/leadkit/stage"
)

// faults fails one store call: the n-th counted one, before it happens or
// (after) once it has happened, as a crash or a lost reply would.
type faults struct {
	calls atomic.Int64
	at    int64
	after bool
	fired atomic.Bool
}

var errInjected = errors.New("injected fault")

// step counts a call and reports whether it fails before (true, false)
// or after (false, true) doing its work.
func (f *faults) step() (before, after bool) {
	if f == nil || f.fired.Load() {
		return false, false
	}
	if f.calls.Add(1) != f.at {
		return false, false
	}
	f.fired.Store(true)
	return !f.after, f.after
}

func (f *faults) wrap(err error, after bool) error {
	if after && err == nil {
		return errInjected
	}
	return err
}

type faultyJourney struct {
	journey.Store
	f *faults
}

func (s faultyJourney) Append(ctx context.Context, evs ...leadkit.Event) (int, error) {
	b, a := s.f.step()
	if b {
		return 0, errInjected
	}
	n, err := s.Store.Append(ctx, evs...)
	return n, s.f.wrap(err, a)
}

func (s faultyJourney) Events(ctx context.Context, id string, from, to time.Time) ([]leadkit.Event, error) {
	if b, a := s.f.step(); b || a {
		return nil, errInjected
	}
	return s.Store.Events(ctx, id, from, to)
}

type faultyStages struct {
	stage.Store
	f *faults
}

func (s faultyStages) Commit(ctx context.Context, rec stage.Record, e stage.Entry) error {
	b, a := s.f.step()
	if b {
		return errInjected
	}
	return s.f.wrap(s.Store.Commit(ctx, rec, e), a)
}

func (s faultyStages) Rewind(ctx context.Context, rec stage.Record, from int64) error {
	b, a := s.f.step()
	if b {
		return errInjected
	}
	return s.f.wrap(s.Store.Rewind(ctx, rec, from), a)
}

func (s faultyStages) History(ctx context.Context, k stage.Key) ([]stage.Entry, error) {
	if b, a := s.f.step(); b || a {
		return nil, errInjected
	}
	return s.Store.History(ctx, k)
}

func (s faultyStages) Get(ctx context.Context, k stage.Key) (stage.Record, error) {
	if b, a := s.f.step(); b || a {
		return stage.Record{}, errInjected
	}
	return s.Store.Get(ctx, k)
}

type faultyPool struct {
	pool.Store
	f *faults
}

func (s faultyPool) Apply(ctx context.Context, m pool.Mark, ps ...pool.Prospect) error {
	b, a := s.f.step()
	if b {
		return errInjected
	}
	return s.f.wrap(s.Store.Apply(ctx, m, ps...), a)
}

func (s faultyPool) Get(ctx context.Context, id string) (pool.Prospect, error) {
	if b, a := s.f.step(); b || a {
		return pool.Prospect{}, errInjected
	}
	return s.Store.Get(ctx, id)
}

func (s faultyPool) Find(ctx context.Context, keys []string) ([]pool.Prospect, error) {
	if b, a := s.f.step(); b || a {
		return nil, errInjected
	}
	return s.Store.Find(ctx, keys)
}

type faultyStates struct {
	lifecycle.Store
	f *faults
}

func (s faultyStates) Put(ctx context.Context, st lifecycle.LeadState) error {
	b, a := s.f.step()
	if b {
		return errInjected
	}
	return s.f.wrap(s.Store.Put(ctx, st), a)
}

func (s faultyStates) Get(ctx context.Context, id string) (lifecycle.LeadState, error) {
	if b, a := s.f.step(); b || a {
		return lifecycle.LeadState{}, errInjected
	}
	return s.Store.Get(ctx, id)
}

// faultyParts are parts whose stores fail as f says.
func faultyParts(t *testing.T, f *faults) (*parts, *lifecycle.Engine) {
	t.Helper()
	return faultyOver(t, newParts(t), f)
}

// faultyOver builds an engine (a new process) over p's stores, failing as
// f says.
func faultyOver(t *testing.T, p *parts, f *faults) (*parts, *lifecycle.Engine) {
	t.Helper()
	clean := *p
	p.events = faultyJourney{clean.events, f}
	p.stages = faultyStages{clean.stages, f}
	p.pstore = faultyPool{clean.pstore, f}
	p.states = faultyStates{clean.states, f}
	e := p.engine(t, lifecycle.Options{})
	// Read back through the clean stores.
	p.events, p.stages, p.pstore, p.states = clean.events, clean.stages, clean.pstore, clean.states
	return p, e
}

// reports collects the stage entries reported as changes.
type reports map[string]bool

func (r reports) note(cs []lifecycle.Change) {
	for _, c := range cs {
		if (c.Kind == lifecycle.Staged || c.Kind == lifecycle.Graduated) && c.Stage != nil {
			r[entryKey(*c.Stage)] = true
		}
	}
}

// entryKey names a history entry by lead, version, stage and time (a
// version taken back is used again by another entry).
func entryKey(e stage.Entry) string {
	return fmt.Sprintf("%s v%d %s %s", e.ID, e.Version, e.To, e.At.Format(time.RFC3339Nano))
}

// snapshot is everything a run leaves, per subject.
func snapshot(t *testing.T, p *parts, subjects []string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, id := range subjects {
		evs, err := p.events.Events(ctx, id, time.Time{}, time.Time{})
		require.NoError(t, err)
		h, err := p.stages.History(ctx, stage.Key{Pipeline: "classic", Subject: stage.Lead(id)})
		require.NoError(t, err)
		st, err := p.states.Get(ctx, id)
		if err == nil {
			st.Version = 0 // retries after failed writes may cost versions
		}
		prs, err2 := p.pstore.Find(ctx, []string{"subject:" + id})
		require.NoError(t, err2)
		var pr []string
		for _, x := range prs {
			pr = append(pr, fmt.Sprintf("%s %s %v %v", x.Status, x.LeadID, x.GraduatedAt, x.Touches))
		}
		js := func(v any) string { b, _ := json.Marshal(v); return string(b) }
		out[id] = fmt.Sprintf("events %s\nhistory %s\nstate %s (%v)\npool %v", js(evs), js(h), js(st), err, pr)
	}
	return out
}

// A failure at any store call of an ingest (every call of every store:
// reads, writes, histories), before or after the call did its work,
// converges to the clean run's state once the same events are ingested
// again by a new process, and every stage change and graduation the
// stores hold was reported by some call.
func TestCrashAtAnyStepConverges(t *testing.T) {
	skipUnderRace(t)
	evs := simulate(3, 12)
	t.Run("in time order", func(t *testing.T) { crashAtAnyStep(t, evs, false) })
	// Out of order, the engine takes back and decides again stage changes
	// and graduations: a crash in the middle of that converges too.
	shuffled := slices.Clone(simulate(3, 6)) // fewer leads: every late event rewinds, so each run makes more store calls
	rand.New(rand.NewSource(11)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	t.Run("shuffled", func(t *testing.T) { crashAtAnyStep(t, shuffled, true) })
}

func crashAtAnyStep(t *testing.T, evs []leadkit.Event, rewinds bool) {
	batches := batchesOf(evs, 25)
	var subjects []string
	seen := map[string]bool{}
	for _, x := range evs {
		if !seen[x.LeadID] {
			seen[x.LeadID] = true
			subjects = append(subjects, x.LeadID)
		}
	}
	// The clean run, counting the store calls.
	count := &faults{at: -1}
	p, e := faultyParts(t, count)
	revoked := 0
	for _, b := range batches {
		cs, err := e.Ingest(ctx, b...)
		require.NoError(t, err)
		for _, c := range cs {
			if c.Kind == lifecycle.Revoked {
				revoked++
			}
		}
	}
	require.Equal(t, rewinds, revoked > 0, "%d revoked changes in the clean run", revoked)
	want := snapshot(t, p, subjects)
	total := count.calls.Load()
	require.Greater(t, total, int64(100))

	for _, after := range []bool{false, true} {
		for at := int64(1); at <= total; at++ {
			f := &faults{at: at, after: after}
			p, e := faultyParts(t, f)
			got := reports{}
			for _, b := range batches {
				cs, err := e.Ingest(ctx, b...)
				got.note(cs)
				if err != nil {
					require.ErrorIs(t, err, errInjected)
					var le *lifecycle.LeadError
					require.ErrorAs(t, err, &le)
					assert.True(t, le.Retry, "a store failure says retry: %v", err)
					// The caller retries the batch in a new process, as a
					// queue redelivers after a crash.
					_, again := faultyOver(t, p, nil)
					cs, err = again.Ingest(ctx, b...)
					got.note(cs)
					require.NoError(t, err, "fault at call %d (after=%v)", at, after)
				}
			}
			snap := snapshot(t, p, subjects)
			for _, id := range subjects {
				require.Equal(t, want[id], snap[id], "fault at call %d (after=%v), subject %s", at, after, id)
				h, err := p.machine.History(ctx, stage.Lead(id))
				require.NoError(t, err)
				for _, en := range h {
					assert.True(t, got[entryKey(en)], "fault at call %d (after=%v): %s v%d (%s -> %s) never reported", at, after, id, en.Version, en.From, en.To)
				}
			}
		}
	}
}

// Several engines (processes) over the same stores, fed overlapping
// deliveries of the same events concurrently, end with every event stored
// once, one start per lead (its graduation reported at least once),
// gap-free stage histories and the scores of one engine fed in time
// order.
func TestEnginesShareStores(t *testing.T) {
	evs := simulate(5, 60)
	want, _ := runIngest(t, withTouchPolicy, batchesOf(evs, 30))

	p := newParts(t)
	engines := make([]*lifecycle.Engine, 4)
	for i := range engines {
		engines[i] = p.engine(t, lifecycle.Options{})
	}
	var mu sync.Mutex
	graduations := map[string]int{}
	var wg sync.WaitGroup
	for i, e := range engines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each engine gets every event, in batches cut differently.
			for _, b := range batchesOf(evs, 7+i*5) {
				cs, err := e.Ingest(ctx, b...)
				assert.NoError(t, err)
				mu.Lock()
				for _, c := range cs {
					if c.Kind == lifecycle.Graduated {
						graduations[c.LeadID]++
					}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for id, w := range want {
		evs, err := p.events.Events(ctx, id, time.Time{}, time.Time{})
		require.NoError(t, err)
		assert.Equal(t, w.events, evs, id)
		h, err := p.machine.History(ctx, stage.Lead(id))
		require.NoError(t, err)
		for i, e := range h {
			assert.Equal(t, int64(i+1), e.Version, "%s: versions without gaps", id)
			if i > 0 {
				assert.False(t, e.At.Before(h[i-1].At), "%s: history in time order", id)
			}
		}
		if len(w.history) > 0 {
			// Reported at least once (two engines may both see a start
			// without a state); started once.
			assert.GreaterOrEqual(t, graduations[id], 1, "%s graduation reported", id)
			starts := 0
			for _, e := range h {
				if e.Trigger == stage.TriggerStart {
					starts++
				}
			}
			assert.Equal(t, 1, starts, "%s started once", id)
			st, err := p.states.Get(ctx, id)
			require.NoError(t, err)
			// The engines' incremental state, not a rescore: the score,
			// the thresholds reached and the history of time order.
			var res scoring.Result
			require.NoError(t, p.model.ReadState(&res, &st.Score, st.Lead, t0.AddDate(0, 6, 0)))
			for i, d := range res.Dimensions {
				assert.InDelta(t, w.scores[i].Score, d.Score, 1e-9, id)
			}
			assert.Equal(t, w.reached, st.Reached, id)
			assert.Equal(t, w.history, h, id)
		} else {
			assert.Zero(t, graduations[id], id)
		}
	}
}
