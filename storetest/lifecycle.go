package storetest

import (
	"context"
	"errors"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/lifecycle"
	"github.com/leadkit/leadkit/scoring"
	"github.com/leadkit/leadkit/stage"
)

// Lifecycle runs the conformance suite for a lifecycle.Store: versions,
// round trips of every field, copies, refused input, scan order and
// racing writers. newStore must return an empty store for each call.
func Lifecycle[F Factory[lifecycle.Store]](t *testing.T, factory F) {
	t.Helper()
	newStore := func(t *testing.T) lifecycle.Store { return build[lifecycle.Store](t, factory) }
	ctx := context.Background()
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	state := func(id string, v int64) lifecycle.LeadState {
		return lifecycle.LeadState{
			LeadID: id, Version: v, Events: 3, Reached: []string{"mql"},
			Lead: leadkit.Lead{ID: id, CreatedAt: at, Source: "webinar", Person: leadkit.Person{Email: "a@x.co", Interests: []string{"ai"},
				Custom: map[string]any{"budget": 5000.0}}, Company: leadkit.Company{Name: "Acme", TechStack: []string{"aws"}}},
			Score: scoring.State{Model: "m1", LeadID: id, Updated: at, LastIDs: []string{"e3"},
				Rules: []scoring.RuleState{
					{N: 2, Lifetime: 10, Value: 9.5, At: at.UnixNano(), Times: []int64{at.UnixNano()}, Recent: []int64{at.UnixNano() - 1, at.UnixNano()},
						OpsValue: -1.0 / 3, OpsLifetime: -5},
					// A multiply rule's changes: the float64 values that
					// a text encoding would round (thirds, the smallest
					// subnormal, a value past 2^53).
					{N: 1, Last: at.UnixNano(), Ops: []float64{-5, 1.0 / 3, 5e-324, -1e-310, 1.2599210372913433e+12, 0}},
					{Step: 2},
				}},
			SinceFrom: at.Add(-time.Hour), SinceTouches: 1,
			Digest: 1<<63 + 7, Unscored: 1, Imported: true, Pending: at.Add(-2 * time.Hour), ErasedAt: at.Add(-3 * time.Hour),
			PersonStamps: leadkit.Stamps{"email": at}, CompanyStamps: leadkit.Stamps{"name": at.Add(-time.Minute)},
			Origin: &lifecycle.Profile{Person: leadkit.Person{Title: "CTO"}, Company: leadkit.Company{Employees: 50},
				PersonStamps: leadkit.Stamps{"title": at}, CompanyStamps: leadkit.Stamps{"employees": at}},
			Stage: stage.Record{Key: stage.Key{Pipeline: "classic", Subject: stage.Lead(id)}, Stage: "MQL", EnteredAt: at, UpdatedAt: at, Version: 2},
			Since: scoring.State{Model: "m1", LeadID: id, Updated: at, Rules: []scoring.RuleState{{N: 1}}},
		}
	}

	t.Run("Tenants", func(t *testing.T) { lifecycleTenants(t, newStore(t), state) })

	t.Run("VersionsAndRoundTrip", func(t *testing.T) {
		s := newStore(t)
		_, err := s.Get(ctx, "L1")
		assert.ErrorIs(t, err, leadkit.ErrNotFound)
		want := state("L1", 1)
		require.NoError(t, s.Put(ctx, want))
		assert.ErrorIs(t, s.Put(ctx, state("L1", 1)), leadkit.ErrConflict, "create twice")
		assert.ErrorIs(t, s.Put(ctx, state("L1", 3)), leadkit.ErrConflict, "skipped version")
		assert.ErrorIs(t, s.Put(ctx, state("L2", 2)), leadkit.ErrConflict, "update of a lead never created")
		got, err := s.Get(ctx, "L1")
		require.NoError(t, err)
		assert.Equal(t, want, got)
		require.NoError(t, s.Put(ctx, state("L1", 2)))
		got, err = s.Get(ctx, "L1")
		require.NoError(t, err)
		assert.Equal(t, int64(2), got.Version)
	})

	t.Run("Copies", func(t *testing.T) {
		s := newStore(t)
		st := state("L1", 1)
		require.NoError(t, s.Put(ctx, st))
		st.Score.Rules[0].Times[0] = 1
		st.Score.Rules[1].Ops[0] = 99
		st.Lead.Person.Interests[0] = "changed"
		st.Origin.PersonStamps["title"] = time.Time{}
		got, err := s.Get(ctx, "L1")
		require.NoError(t, err)
		got.Reached[0] = "changed"
		got.Lead.Person.Custom["budget"] = 1.0
		got.Origin.Person.Title = "changed"
		again, err := s.Get(ctx, "L1")
		require.NoError(t, err)
		assert.Equal(t, state("L1", 1), again, "neither the writer nor a reader shares the stored state")
	})

	t.Run("RefusedInput", func(t *testing.T) {
		s := newStore(t)
		for name, bad := range map[string]func(*lifecycle.LeadState){
			"empty ID": func(x *lifecycle.LeadState) { x.LeadID, x.Lead.ID = "", "" },
			"long ID": func(x *lifecycle.LeadState) {
				x.LeadID = strings.Repeat("x", leadkit.MaxIDBytes+1)
				x.Lead.ID = x.LeadID
			},
			"NUL in ID":          func(x *lifecycle.LeadState) { x.LeadID, x.Lead.ID = "a\x00b", "a\x00b" },
			"bad UTF-8 title":    func(x *lifecycle.LeadState) { x.Lead.Person.Title = "\xff" },
			"lead ID differs":    func(x *lifecycle.LeadState) { x.Lead.ID = "other" },
			"year 3000":          func(x *lifecycle.LeadState) { x.Lead.CreatedAt = time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC) },
			"version 0":          func(x *lifecycle.LeadState) { x.Version = 0 },
			"negative count":     func(x *lifecycle.LeadState) { x.Events = -1 },
			"other lead state":   func(x *lifecycle.LeadState) { x.Score.LeadID = "other" },
			"other stage":        func(x *lifecycle.LeadState) { x.Stage.ID = "other" },
			"stage no version":   func(x *lifecycle.LeadState) { x.Stage.Version = 0 },
			"bad origin":         func(x *lifecycle.LeadState) { x.Origin.Person.Title = "a\x00b" },
			"pending year 3000":  func(x *lifecycle.LeadState) { x.Pending = time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC) },
			"NaN in ops":         func(x *lifecycle.LeadState) { x.Score.Rules[1].Ops[1] = math.NaN() },
			"infinite ops value": func(x *lifecycle.LeadState) { x.Score.Rules[0].OpsValue = math.Inf(1) },
			"ops over MaxOps":    func(x *lifecycle.LeadState) { x.Score.Rules[1].Ops = make([]float64, scoring.MaxOps+1) },
			"ops after the state": func(x *lifecycle.LeadState) {
				x.Score.Rules[1].At = x.Score.Updated.Add(time.Hour).UnixNano()
			},
			"NaN value": func(x *lifecycle.LeadState) { x.Since.Rules[0].Value = math.NaN() },
		} {
			st := state("L1", 1)
			bad(&st)
			err := s.Put(ctx, st)
			assert.ErrorIs(t, err, leadkit.ErrInvalid, name)
			if name == "ops over MaxOps" && err != nil {
				assert.Contains(t, err.Error(), "rule 1 ", "names the rule by its place in the model")
			}
		}
		_, err := s.Get(ctx, "L1")
		assert.ErrorIs(t, err, leadkit.ErrNotFound, "refused writes write nothing")
		for _, id := range []string{"", strings.Repeat("x", leadkit.MaxIDBytes+1), "a\x00b", "\xff"} {
			_, err := s.Get(ctx, id)
			assert.ErrorIs(t, err, leadkit.ErrInvalid, "get %q", id)
		}
	})

	t.Run("ScanInIDOrder", func(t *testing.T) {
		s := newStore(t)
		for _, id := range []string{"b", "c", "a"} {
			require.NoError(t, s.Put(ctx, state(id, 1)))
		}
		var ids []string
		require.NoError(t, s.Scan(ctx, func(st lifecycle.LeadState) error {
			ids = append(ids, st.LeadID)
			// fn may call the store.
			got, err := s.Get(ctx, st.LeadID)
			if err != nil {
				return err
			}
			got.Version++
			return s.Put(ctx, got)
		}))
		assert.Equal(t, []string{"a", "b", "c"}, ids)
		got, err := s.Get(ctx, "b")
		require.NoError(t, err)
		assert.Equal(t, int64(2), got.Version)
		stop := errors.New("stop")
		assert.ErrorIs(t, s.Scan(ctx, func(lifecycle.LeadState) error { return stop }), stop, "fn's error stops the scan")
	})

	t.Run("RacingWriters", func(t *testing.T) {
		s := newStore(t)
		require.NoError(t, s.Put(ctx, state("L1", 1)))
		var wins atomic.Int32
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := s.Put(ctx, state("L1", 2)); err == nil {
					wins.Add(1)
				} else {
					assert.ErrorIs(t, err, leadkit.ErrConflict)
				}
			}()
		}
		wg.Wait()
		assert.Equal(t, int32(1), wins.Load(), "exactly one writer of version 2 wins")
	})
}
