package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/stage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Stage runs the stage.Store conformance suite. newStore must return a
// fresh, empty store for each call; it may be a func() stage.Store or a
// func(*testing.T) stage.Store.
func Stage[F Factory[stage.Store]](t *testing.T, newStore F) {
	mk := func(t *testing.T) stage.Store { return build[stage.Store](t, newStore) }
	t.Run("GetUnknown", func(t *testing.T) { stageGetUnknown(t, mk(t)) })
	t.Run("CommitAndRead", func(t *testing.T) { stageCommitAndRead(t, mk(t)) })
	t.Run("VersionConflicts", func(t *testing.T) { stageVersionConflicts(t, mk(t)) })
	t.Run("PipelinesAndKindsAreSeparate", func(t *testing.T) { stageSeparateKeys(t, mk(t)) })
	t.Run("Scan", func(t *testing.T) { stageScan(t, mk(t)) })
	t.Run("ConcurrentWritersOneWinsPerVersion", func(t *testing.T) { stageRace(t, mk(t)) })
	t.Run("ConcurrentSubjects", func(t *testing.T) { stageConcurrentSubjects(t, mk(t)) })
	t.Run("MachineRace", func(t *testing.T) { stageMachineRace(t, mk(t)) })
	t.Run("MachineRaceUnpinned", func(t *testing.T) { stageMachineRaceUnpinned(t, mk(t)) })
	t.Run("ScanCallbackMayUseStore", func(t *testing.T) { stageScanReentrant(t, mk(t)) })
	t.Run("CanceledContext", func(t *testing.T) { stageCanceled(t, mk(t)) })
	t.Run("BadInputRefusedAlike", func(t *testing.T) { stageBadInput(t, mk(t)) })
	t.Run("Rewind", func(t *testing.T) { stageRewind(t, mk(t)) })
	t.Run("RewindRacesCommit", func(t *testing.T) { stageRewindRace(t, mk(t)) })
	t.Run("Tenants", func(t *testing.T) { stageTenants(t, mk(t)) })
}

// Rewind keeps the entries up to the record's version, writes the record,
// and needs the stored version; version 0 removes the subject; bad input
// is refused alike; the freed versions are committed again.
func stageRewind(t *testing.T, s stage.Store) {
	ctx := context.Background()
	k := key("p", "L1")
	r1, e1 := change(k, 1, "", "Raw")
	r2, e2 := change(k, 2, "Raw", "MQL")
	r3, e3 := change(k, 3, "MQL", "SAL")
	for _, c := range []struct {
		r stage.Record
		e stage.Entry
	}{{r1, e1}, {r2, e2}, {r3, e3}} {
		require.NoError(t, s.Commit(ctx, c.r, c.e))
	}
	history := func() []stage.Entry {
		h, err := s.History(ctx, k)
		require.NoError(t, err)
		return h
	}
	assert.ErrorIs(t, s.Rewind(ctx, r1, 2), leadkit.ErrConflict, "the stored version is 3")
	for _, bad := range []struct {
		rec  stage.Record
		from int64
	}{
		{r3, 3}, {r1, 1}, {stage.Record{Key: k, Version: -1}, 3},
		{stage.Record{Key: key("p", ""), Version: 0}, 3},
		{stage.Record{Key: k, Stage: "", Version: 1, EnteredAt: r1.EnteredAt, UpdatedAt: r1.UpdatedAt}, 3},
		{stage.Record{Key: k, Stage: "Raw\x00", Version: 1, EnteredAt: r1.EnteredAt, UpdatedAt: r1.UpdatedAt}, 3},
		{stage.Record{Key: k, Stage: "Raw", Version: 1, EnteredAt: time.Date(-5000, 1, 1, 0, 0, 0, 0, time.UTC), UpdatedAt: r1.UpdatedAt}, 3},
	} {
		assert.ErrorIs(t, s.Rewind(ctx, bad.rec, bad.from), leadkit.ErrInvalid, "%+v from %d", bad.rec, bad.from)
	}
	require.Len(t, history(), 3, "refused rewinds write nothing")

	require.NoError(t, s.Rewind(ctx, r1, 3))
	got, err := s.Get(ctx, k)
	require.NoError(t, err)
	assert.Equal(t, r1.Stage, got.Stage)
	assert.Equal(t, int64(1), got.Version)
	assert.True(t, got.UpdatedAt.Equal(r1.UpdatedAt))
	h := history()
	require.Len(t, h, 1)
	assert.Equal(t, "Raw", h[0].To)

	r2b, e2b := change(k, 2, "Raw", "Disqualified")
	require.NoError(t, s.Commit(ctx, r2b, e2b), "the freed version is committed again")
	h = history()
	require.Len(t, h, 2)
	assert.Equal(t, "Disqualified", h[1].To)

	require.NoError(t, s.Rewind(ctx, stage.Record{Key: k}, 2))
	_, err = s.Get(ctx, k)
	assert.ErrorIs(t, err, leadkit.ErrNotFound)
	assert.Empty(t, history())
	assert.ErrorIs(t, s.Rewind(ctx, stage.Record{Key: k}, 1), leadkit.ErrConflict, "nothing to rewind")
	require.NoError(t, s.Commit(ctx, r1, e1), "the subject starts again")
}

// A rewind and a commit of the next version race: exactly one wins, and
// the record and history agree afterwards.
func stageRewindRace(t *testing.T, s stage.Store) {
	ctx := context.Background()
	for i := range 20 {
		k := key("p", fmt.Sprintf("race-%d", i))
		r1, e1 := change(k, 1, "", "Raw")
		r2, e2 := change(k, 2, "Raw", "MQL")
		require.NoError(t, s.Commit(ctx, r1, e1))
		require.NoError(t, s.Commit(ctx, r2, e2))
		r3, e3 := change(k, 3, "MQL", "SAL")
		var wg sync.WaitGroup
		var rewound, committed error
		wg.Add(2)
		go func() { defer wg.Done(); rewound = s.Rewind(ctx, r1, 2) }()
		go func() { defer wg.Done(); committed = s.Commit(ctx, r3, e3) }()
		wg.Wait()
		require.True(t, (rewound == nil) != (committed == nil), "one wins: rewind %v, commit %v", rewound, committed)
		rec, err := s.Get(ctx, k)
		require.NoError(t, err)
		h, err := s.History(ctx, k)
		require.NoError(t, err)
		require.NotEmpty(t, h)
		assert.Equal(t, rec.Version, h[len(h)-1].Version)
		assert.Equal(t, rec.Stage, h[len(h)-1].To)
		assert.Len(t, h, int(rec.Version))
	}
}

var base = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

func key(p, id string) stage.Key { return stage.Key{Pipeline: p, Subject: stage.Lead(id)} }

// change builds record and entry for version v moving key to st.
func change(k stage.Key, v int64, from, st string) (stage.Record, stage.Entry) {
	at := base.Add(time.Duration(v) * time.Hour)
	trig := stage.TriggerManual
	if v == 1 {
		trig = stage.TriggerStart
	}
	return stage.Record{Key: k, Stage: st, EnteredAt: at, UpdatedAt: at, Version: v},
		stage.Entry{Key: k, Version: v, Transition: "t" + fmt.Sprint(v), From: from, To: st, At: at, Actor: "a", Reason: "r", Note: "n", Trigger: trig}
}

func stageGetUnknown(t *testing.T, s stage.Store) {
	ctx := context.Background()
	_, err := s.Get(ctx, key("p", "nobody"))
	require.Error(t, err)
	assert.ErrorIs(t, err, leadkit.ErrNotFound)
	h, err := s.History(ctx, key("p", "nobody"))
	require.NoError(t, err)
	assert.Empty(t, h)
}

func stageCommitAndRead(t *testing.T, s stage.Store) {
	ctx := context.Background()
	k := key("p", "L1")
	r1, e1 := change(k, 1, "", "Raw")
	require.NoError(t, s.Commit(ctx, r1, e1))
	r2, e2 := change(k, 2, "Raw", "MQL")
	r2.SubStatus, e2.SubStatus = "hot", "hot"
	require.NoError(t, s.Commit(ctx, r2, e2))

	got, err := s.Get(ctx, k)
	require.NoError(t, err)
	assert.Equal(t, k, got.Key)
	assert.Equal(t, "MQL", got.Stage)
	assert.Equal(t, "hot", got.SubStatus)
	assert.Equal(t, int64(2), got.Version)
	assert.True(t, got.EnteredAt.Equal(r2.EnteredAt), "entered_at %v, want %v", got.EnteredAt, r2.EnteredAt)
	assert.Equal(t, time.UTC, got.EnteredAt.Location(), "times come back in UTC")

	h, err := s.History(ctx, k)
	require.NoError(t, err)
	require.Len(t, h, 2)
	for i, want := range []stage.Entry{e1, e2} {
		assert.Equal(t, want.Version, h[i].Version)
		assert.Equal(t, want.From, h[i].From)
		assert.Equal(t, want.To, h[i].To)
		assert.Equal(t, want.Transition, h[i].Transition)
		assert.Equal(t, want.Actor, h[i].Actor)
		assert.Equal(t, want.Reason, h[i].Reason)
		assert.Equal(t, want.Note, h[i].Note)
		assert.Equal(t, want.Trigger, h[i].Trigger)
		assert.Equal(t, want.SubStatus, h[i].SubStatus)
		assert.Equal(t, want.Key, h[i].Key)
		assert.True(t, want.At.Equal(h[i].At))
		assert.Equal(t, time.UTC, h[i].At.Location())
	}
	// The returned history is a copy: changing it changes nothing stored.
	h[0].To = "changed"
	h2, err := s.History(ctx, k)
	require.NoError(t, err)
	assert.Equal(t, "Raw", h2[0].To)
}

func stageVersionConflicts(t *testing.T, s stage.Store) {
	ctx := context.Background()
	k := key("p", "L1")
	r1, e1 := change(k, 1, "", "Raw")
	require.NoError(t, s.Commit(ctx, r1, e1))
	// Creating again conflicts.
	assert.ErrorIs(t, s.Commit(ctx, r1, e1), leadkit.ErrConflict)
	// Skipping a version conflicts.
	r3, e3 := change(k, 3, "Raw", "SAL")
	assert.ErrorIs(t, s.Commit(ctx, r3, e3), leadkit.ErrConflict)
	r2, e2 := change(k, 2, "Raw", "MQL")
	require.NoError(t, s.Commit(ctx, r2, e2))
	// Replaying an old version conflicts.
	r2b, e2b := change(k, 2, "Raw", "Disqualified")
	assert.ErrorIs(t, s.Commit(ctx, r2b, e2b), leadkit.ErrConflict)
	// Nothing of the failed commits was written.
	got, err := s.Get(ctx, k)
	require.NoError(t, err)
	assert.Equal(t, "MQL", got.Stage)
	assert.Equal(t, int64(2), got.Version)
	h, err := s.History(ctx, k)
	require.NoError(t, err)
	require.Len(t, h, 2)
	assert.Equal(t, "MQL", h[1].To)
}

func stageSeparateKeys(t *testing.T, s stage.Store) {
	ctx := context.Background()
	a := key("new_business", "X")
	b := key("expansion", "X")
	c := stage.Key{Pipeline: "new_business", Subject: stage.Account("X")}
	for _, k := range []stage.Key{a, b, c} {
		r, e := change(k, 1, "", "Raw")
		require.NoError(t, s.Commit(ctx, r, e), "%v", k)
	}
	r, e := change(a, 2, "Raw", "MQL")
	require.NoError(t, s.Commit(ctx, r, e))
	gb, err := s.Get(ctx, b)
	require.NoError(t, err)
	assert.Equal(t, "Raw", gb.Stage)
	gc, err := s.Get(ctx, c)
	require.NoError(t, err)
	assert.Equal(t, "Raw", gc.Stage)
	assert.Equal(t, stage.KindAccount, gc.Kind)
}

func stageScan(t *testing.T, s stage.Store) {
	ctx := context.Background()
	want := map[string]bool{}
	for i := range 25 {
		id := fmt.Sprintf("L%02d", i)
		r, e := change(key("p", id), 1, "", "Raw")
		require.NoError(t, s.Commit(ctx, r, e))
		want[id] = true
	}
	r, e := change(key("other", "Z"), 1, "", "Raw")
	require.NoError(t, s.Commit(ctx, r, e))

	got := map[string]bool{}
	require.NoError(t, s.Scan(ctx, "p", func(r stage.Record) error {
		assert.Equal(t, "p", r.Pipeline)
		assert.False(t, got[r.ID], "record %s scanned twice", r.ID)
		got[r.ID] = true
		return nil
	}))
	assert.Equal(t, want, got)

	stop := errors.New("stop")
	n := 0
	err := s.Scan(ctx, "p", func(stage.Record) error { n++; return stop })
	assert.ErrorIs(t, err, stop)
	assert.Equal(t, 1, n)

	// Histories through the optional fast path or the fallback agree.
	hs := 0
	require.NoError(t, stage.ScanHistories(ctx, s, "p", func(k stage.Key, h []stage.Entry) error {
		hs++
		require.Len(t, h, 1)
		assert.Equal(t, k, h[0].Key)
		return nil
	}))
	assert.Equal(t, 25, hs)
}

// stageRace: N writers race to commit each next version of one key. Exactly
// one wins per version; the history is 1..rounds+1 with no gaps or
// duplicates.
func stageRace(t *testing.T, s stage.Store) {
	ctx := context.Background()
	k := key("p", "hot")
	r, e := change(k, 1, "", "S0")
	require.NoError(t, s.Commit(ctx, r, e))
	const writers, rounds = 8, 30
	for v := int64(2); v <= rounds+1; v++ {
		var wins, conflicts atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				r, e := change(k, v, fmt.Sprintf("S%d", v-1), fmt.Sprintf("S%d", v))
				e.Actor = fmt.Sprintf("w%d", w)
				err := s.Commit(ctx, r, e)
				switch {
				case err == nil:
					wins.Add(1)
				case errors.Is(err, leadkit.ErrConflict):
					conflicts.Add(1)
				default:
					t.Errorf("writer %d: unexpected error %v", w, err)
				}
			}()
		}
		close(start)
		wg.Wait()
		require.Equal(t, int32(1), wins.Load(), "version %d: exactly one writer wins", v)
		require.Equal(t, int32(writers-1), conflicts.Load(), "version %d: the others conflict", v)
	}
	h, err := s.History(ctx, k)
	require.NoError(t, err)
	require.Len(t, h, rounds+1)
	for i, e := range h {
		assert.Equal(t, int64(i+1), e.Version, "history has no gaps or duplicates")
	}
	got, err := s.Get(ctx, k)
	require.NoError(t, err)
	assert.Equal(t, int64(rounds+1), got.Version)
	assert.Equal(t, h[len(h)-1].To, got.Stage)
}

func stageConcurrentSubjects(t *testing.T, s stage.Store) {
	ctx := context.Background()
	const subjects, steps = 16, 10
	var wg sync.WaitGroup
	for i := range subjects {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k := key("p", fmt.Sprintf("L%d", i))
			for v := int64(1); v <= steps; v++ {
				r, e := change(k, v, "", fmt.Sprintf("S%d", v))
				if err := s.Commit(ctx, r, e); err != nil {
					t.Errorf("%v v%d: %v", k, v, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	n := 0
	require.NoError(t, s.Scan(ctx, "p", func(r stage.Record) error {
		n++
		assert.Equal(t, int64(steps), r.Version)
		return nil
	}))
	assert.Equal(t, subjects, n)
}

// stageMachineRace: through a Machine, goroutines racing to fire the same
// transition on one lead from the version they all read: one succeeds, the
// rest get ErrConflict.
func stageMachineRace(t *testing.T, s stage.Store) {
	ctx := context.Background()
	m, err := stage.New(stage.Classic(), stage.Options{Store: s})
	require.NoError(t, err)
	_, err = m.Start(ctx, stage.Lead("L"), stage.StartOptions{})
	require.NoError(t, err)
	_, _, err = m.Advance(ctx, stage.Lead("L"), stage.Facts{"score": 200}, stage.Request{})
	require.NoError(t, err)
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := m.Fire(ctx, stage.Lead("L"), "accept", stage.Request{Version: 2})
			switch {
			case err == nil:
				wins.Add(1)
			case errors.Is(err, leadkit.ErrConflict):
			default:
				t.Errorf("unexpected error: %v", err)
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, int32(1), wins.Load())
	h, err := m.History(ctx, stage.Lead("L"))
	require.NoError(t, err)
	require.Len(t, h, 3)
	assert.Equal(t, "SAL", h[2].To)
}

// stageMachineRaceUnpinned: the load-then-commit race. Goroutines fire the
// same transition without naming a version: each reads the record and
// commits the next version. One wins; a loser either lost the commit
// (ErrConflict) or read the record after the winner moved it (ErrNotAllowed:
// accept does not leave SAL). Never two entries for one version.
func stageMachineRaceUnpinned(t *testing.T, s stage.Store) {
	ctx := context.Background()
	m, err := stage.New(stage.Classic(), stage.Options{Store: s})
	require.NoError(t, err)
	for round := range 10 {
		l := stage.Lead(fmt.Sprint("R", round))
		_, err = m.Start(ctx, l, stage.StartOptions{Stage: "MQL"})
		require.NoError(t, err)
		var wins atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, err := m.Fire(ctx, l, "accept", stage.Request{})
				switch {
				case err == nil:
					wins.Add(1)
				case errors.Is(err, leadkit.ErrConflict), errors.Is(err, stage.ErrNotAllowed):
				default:
					t.Errorf("unexpected error: %v", err)
				}
			}()
		}
		close(start)
		wg.Wait()
		require.Equal(t, int32(1), wins.Load(), "round %d", round)
		h, err := m.History(ctx, l)
		require.NoError(t, err)
		require.Len(t, h, 2)
		assert.Equal(t, int64(2), h[1].Version)
	}
}

// stageScanReentrant: Scan's callback may call the store (ScanHistories'
// fallback does), on the same goroutine, without deadlock.
func stageScanReentrant(t *testing.T, s stage.Store) {
	ctx := context.Background()
	for i := range 5 {
		r, e := change(key("p", fmt.Sprint("L", i)), 1, "", "Raw")
		require.NoError(t, s.Commit(ctx, r, e))
	}
	n := 0
	require.NoError(t, s.Scan(ctx, "p", func(r stage.Record) error {
		h, err := s.History(ctx, r.Key)
		if err != nil {
			return err
		}
		got, err := s.Get(ctx, r.Key)
		if err != nil {
			return err
		}
		assert.Len(t, h, 1)
		assert.Equal(t, r.Version, got.Version)
		n++
		return nil
	}))
	assert.Equal(t, 5, n)
}

// stageCanceled: a canceled context fails reads and writes with its error,
// and the write leaves nothing behind.
func stageCanceled(t *testing.T, s stage.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	k := key("p", "C")
	r, e := change(k, 1, "", "Raw")
	assert.ErrorIs(t, s.Commit(ctx, r, e), context.Canceled)
	_, err := s.Get(context.Background(), k)
	assert.ErrorIs(t, err, leadkit.ErrNotFound, "a canceled commit writes nothing")
	_, err = s.Get(ctx, k)
	assert.ErrorIs(t, err, context.Canceled)
	err = s.Scan(ctx, "p", func(stage.Record) error { return nil })
	assert.ErrorIs(t, err, context.Canceled)
}

// stageBadInput: every backend refuses the same bad commits with
// leadkit.ErrInvalid (never a raw driver error), writes nothing, and keeps
// working; text at the caps is stored and read back verbatim.
func stageBadInput(t *testing.T, s stage.Store) {
	ctx := context.Background()
	k := key("p", "L1")
	cases := map[string]func(r *stage.Record, e *stage.Entry){
		"empty stage":          func(r *stage.Record, e *stage.Entry) { r.Stage, e.To = "", "" },
		"entry to other stage": func(r *stage.Record, e *stage.Entry) { e.To = "MQL" },
		"empty subject ID":     func(r *stage.Record, e *stage.Entry) { r.ID, e.ID = "", "" },
		"empty pipeline":       func(r *stage.Record, e *stage.Entry) { r.Pipeline, e.Pipeline = "", "" },
		"long subject ID": func(r *stage.Record, e *stage.Entry) {
			r.ID = strings.Repeat("x", leadkit.MaxIDBytes+1)
			e.ID = r.ID
		},
		"NUL in stage":      func(r *stage.Record, e *stage.Entry) { r.Stage, e.To = "Ra\x00w", "Ra\x00w" },
		"bad UTF-8 in note": func(r *stage.Record, e *stage.Entry) { e.Note = "\xff\xfe" },
		"long note":         func(r *stage.Record, e *stage.Entry) { e.Note = strings.Repeat("n", leadkit.MaxStringBytes+1) },
		"year -5000": func(r *stage.Record, e *stage.Entry) {
			e.At = time.Date(-5000, 1, 1, 0, 0, 0, 0, time.UTC)
		},
		"year 300000": func(r *stage.Record, e *stage.Entry) {
			r.EnteredAt = time.Date(300000, 1, 1, 0, 0, 0, 0, time.UTC)
		},
		"version 0":        func(r *stage.Record, e *stage.Entry) { r.Version, e.Version = 0, 0 },
		"versions differ":  func(r *stage.Record, e *stage.Entry) { e.Version = 2 },
		"negative version": func(r *stage.Record, e *stage.Entry) { r.Version, e.Version = -1, -1 },
	}
	for name, mutate := range cases {
		r, e := change(k, 1, "", "Raw")
		mutate(&r, &e)
		err := s.Commit(ctx, r, e)
		assert.ErrorIs(t, err, leadkit.ErrInvalid, name)
	}
	_, err := s.Get(ctx, k)
	assert.ErrorIs(t, err, leadkit.ErrNotFound, "a refused commit writes nothing")

	// At the caps: stored and read back verbatim.
	big := key("p", strings.Repeat("é", leadkit.MaxIDBytes/2))
	r, e := change(big, 1, "", strings.Repeat("S", leadkit.MaxNameBytes))
	e.Note = strings.Repeat("ü", leadkit.MaxStringBytes/2)
	e.At, r.EnteredAt, r.UpdatedAt = leadkit.MinTime, leadkit.MaxTime.Add(-time.Second), leadkit.MaxTime.Add(-time.Second)
	require.NoError(t, s.Commit(ctx, r, e))
	got, err := s.Get(ctx, big)
	require.NoError(t, err)
	assert.Equal(t, r.Stage, got.Stage)
	assert.True(t, got.EnteredAt.Equal(r.EnteredAt))
	h, err := s.History(ctx, big)
	require.NoError(t, err)
	require.Len(t, h, 1)
	assert.Equal(t, e.Note, h[0].Note)
	assert.True(t, h[0].At.Equal(leadkit.MinTime))

	// Reads of keys no commit could have written are refused alike (the
	// PostgreSQL store returned raw SQLSTATE 22021 for a NUL byte).
	for name, k := range map[string]stage.Key{
		"NUL in ID":       key("p", "L\x00"),
		"bad UTF-8 in ID": key("p", "\xff"),
		"long ID":         key("p", strings.Repeat("x", leadkit.MaxIDBytes+1)),
		"empty pipeline":  key("", "L1"),
		"NUL in pipeline": key("p\x00", "L1"),
	} {
		_, err := s.Get(ctx, k)
		assert.ErrorIs(t, err, leadkit.ErrInvalid, "Get: "+name)
		_, err = s.History(ctx, k)
		assert.ErrorIs(t, err, leadkit.ErrInvalid, "History: "+name)
	}
	for _, p := range []string{"", "p\x00", "\xff", strings.Repeat("p", leadkit.MaxNameBytes+1)} {
		err := s.Scan(ctx, p, func(stage.Record) error { return nil })
		assert.ErrorIs(t, err, leadkit.ErrInvalid, "Scan %q", p)
		if hs, ok := s.(stage.HistoryScanner); ok {
			err := hs.ScanHistories(ctx, p, func(stage.Key, []stage.Entry) error { return nil })
			assert.ErrorIs(t, err, leadkit.ErrInvalid, "ScanHistories %q", p)
		}
	}
}
