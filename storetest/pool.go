package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/pool"
)

// Pool runs the conformance suite for a pool.Store: versions, the identity
// index, observation idempotency, merges releasing identities, refused
// input, and racing writers. newStore must return an empty store for each
// call.
func Pool[F Factory[pool.Store]](t *testing.T, factory F) {
	t.Helper()
	newStore := func(t *testing.T) pool.Store { return build[pool.Store](t, factory) }
	ctx := context.Background()
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	prospect := func(id string, v int64, emails ...string) pool.Prospect {
		p := pool.Prospect{ID: id, Version: v, Status: pool.StatusActive, JoinedAt: at}
		for _, e := range emails {
			p.Identities = append(p.Identities, pool.Identity{Kind: pool.Email, Value: e})
		}
		return p
	}

	t.Run("Tenants", func(t *testing.T) { poolTenants(t, newStore(t)) })

	t.Run("VersionsAndFind", func(t *testing.T) {
		s := newStore(t)
		_, err := s.Get(ctx, "p1")
		assert.ErrorIs(t, err, leadkit.ErrNotFound)
		require.NoError(t, s.Apply(ctx, pool.Mark{ID: "o1", Hash: "h1"}, prospect("p1", 1, "a@x.co")))
		assert.ErrorIs(t, s.Apply(ctx, pool.Mark{}, prospect("p1", 1, "a@x.co")), leadkit.ErrConflict, "create twice")
		assert.ErrorIs(t, s.Apply(ctx, pool.Mark{}, prospect("p1", 3, "a@x.co")), leadkit.ErrConflict, "skipped version")
		require.NoError(t, s.Apply(ctx, pool.Mark{}, prospect("p1", 2, "a@x.co", "b@x.co")))
		got, err := s.Get(ctx, "p1")
		require.NoError(t, err)
		assert.Equal(t, int64(2), got.Version)
		found, err := s.Find(ctx, []string{"email:b@x.co", "email:nobody@x.co"})
		require.NoError(t, err)
		require.Len(t, found, 1)
		assert.Equal(t, "p1", found[0].ID)
	})

	t.Run("IdentityHeldOnce", func(t *testing.T) {
		s := newStore(t)
		require.NoError(t, s.Apply(ctx, pool.Mark{}, prospect("p1", 1, "a@x.co")))
		err := s.Apply(ctx, pool.Mark{}, prospect("p2", 1, "a@x.co"))
		assert.ErrorIs(t, err, leadkit.ErrConflict)
		_, err = s.Get(ctx, "p2")
		assert.ErrorIs(t, err, leadkit.ErrNotFound, "a refused write writes nothing")
		err = s.Apply(ctx, pool.Mark{}, prospect("p3", 1, "d@x.co"), prospect("p4", 1, "d@x.co"))
		assert.ErrorIs(t, err, leadkit.ErrConflict, "one key for two prospects of one write")
		// A merge in one write: p1 absorbed into p2, its identity moves.
		absorbed := prospect("p1", 2, "a@x.co")
		absorbed.Status, absorbed.MergedInto = pool.StatusMerged, "p2"
		require.NoError(t, s.Apply(ctx, pool.Mark{}, prospect("p2", 1, "a@x.co", "c@x.co"), absorbed))
		found, err := s.Find(ctx, []string{"email:a@x.co"})
		require.NoError(t, err)
		require.Len(t, found, 1)
		assert.Equal(t, "p2", found[0].ID)
	})

	t.Run("ObservationsOnce", func(t *testing.T) {
		s := newStore(t)
		require.NoError(t, s.Apply(ctx, pool.Mark{ID: "o1", Hash: "h1"}, prospect("p1", 1, "a@x.co")))
		err := s.Apply(ctx, pool.Mark{ID: "o1", Hash: "h1"}, prospect("p2", 1, "b@x.co"))
		assert.ErrorIs(t, err, pool.ErrSeen)
		err = s.Apply(ctx, pool.Mark{ID: "o1", Hash: "other"}, prospect("p2", 1, "b@x.co"))
		assert.ErrorIs(t, err, pool.ErrReused)
		assert.ErrorIs(t, err, leadkit.ErrInvalid)
		_, err = s.Get(ctx, "p2")
		assert.ErrorIs(t, err, leadkit.ErrNotFound)
	})

	t.Run("BadInputRefusedAlike", func(t *testing.T) {
		s := newStore(t)
		long := prospect("p1", 1)
		long.Tags = []string{strings.Repeat("t", leadkit.MaxNameBytes+1)}
		for name, p := range map[string]pool.Prospect{
			"no ID":      prospect("", 1),
			"NUL ID":     prospect("p\x00", 1),
			"version 0":  prospect("p1", 0),
			"status":     {ID: "p1", Version: 1, Status: "zombie"},
			"long tag":   long,
			"identities": prospect("p1", 1, make([]string, pool.MaxIdentities+1)...),
		} {
			assert.ErrorIs(t, s.Apply(ctx, pool.Mark{}, p), leadkit.ErrInvalid, name)
		}
		n := 0
		require.NoError(t, s.Scan(ctx, func(pool.Prospect) error { n++; return nil }))
		assert.Zero(t, n)
	})

	t.Run("RacingCreatorsOneWins", func(t *testing.T) {
		s := newStore(t)
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins := 0
		for i := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := s.Apply(ctx, pool.Mark{ID: fmt.Sprintf("o%d", i), Hash: "h"}, prospect(fmt.Sprintf("p%02d", i), 1, "same@x.co")); err == nil {
					mu.Lock()
					wins++
					mu.Unlock()
				} else {
					assert.ErrorIs(t, err, leadkit.ErrConflict)
				}
			}()
		}
		wg.Wait()
		assert.Equal(t, 1, wins)
		var ids []string
		require.NoError(t, s.Scan(ctx, func(p pool.Prospect) error { ids = append(ids, p.ID); return nil }))
		assert.Len(t, ids, 1)
	})

	// Through the pool: what the issue promises of any backend.
	t.Run("ConcurrentUpsertsOneProspect", func(t *testing.T) {
		p, err := pool.New(pool.Options{Store: newStore(t)})
		require.NoError(t, err)
		var wg sync.WaitGroup
		for i := range 24 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _, err := p.Upsert(ctx, pool.Observation{ID: fmt.Sprintf("o%d", i), At: at,
					Identities: []pool.Identity{{Kind: pool.Email, Value: "same@x.co"}, {Kind: pool.Email, Value: fmt.Sprintf("alias%d@x.co", i)}}})
				assert.NoError(t, err)
			}()
		}
		wg.Wait()
		var live []pool.Prospect
		require.NoError(t, p.Store().Scan(ctx, func(pr pool.Prospect) error {
			if pr.Status.Indexed() {
				live = append(live, pr)
			}
			return nil
		}))
		require.Len(t, live, 1)
		assert.Len(t, live[0].Keys(), 25, "merges under concurrency lose no identity")
	})

	t.Run("GraduationOnce", func(t *testing.T) {
		p, err := pool.New(pool.Options{Store: newStore(t)})
		require.NoError(t, err)
		pr, _, err := p.Upsert(ctx, pool.Observation{ID: "o1", At: at, Identities: []pool.Identity{{Kind: pool.Email, Value: "g@x.co"}}})
		require.NoError(t, err)
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins := 0
		for range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, ok, err := p.Qualify(ctx, pr.ID, at.Add(time.Hour))
				assert.NoError(t, err)
				if ok {
					mu.Lock()
					wins++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		assert.Equal(t, 1, wins)
	})

	t.Run("ErasureLeavesNoPersonalField", func(t *testing.T) {
		p, err := pool.New(pool.Options{Store: newStore(t)})
		require.NoError(t, err)
		a, _, err := p.Upsert(ctx, pool.Observation{ID: "o1", At: at, Identities: []pool.Identity{{Kind: pool.Email, Value: "ann@x.co"}},
			Person: leadkit.Person{FirstName: "Ann", Custom: map[string]any{"nick": "annie"}}, Tags: []string{"vip"}, Source: pool.Source{Channel: "ads", Campaign: "ann-referral"}})
		require.NoError(t, err)
		_, _, err = p.Upsert(ctx, pool.Observation{ID: "o2", At: at.Add(time.Hour), Identities: []pool.Identity{{Kind: pool.Phone, Value: "+14155550100"}},
			Person: leadkit.Person{LastName: "Lee"}})
		require.NoError(t, err)
		_, _, err = p.Upsert(ctx, pool.Observation{ID: "o3", At: at.Add(2 * time.Hour), Identities: []pool.Identity{{Kind: pool.Email, Value: "ann@x.co"}, {Kind: pool.Phone, Value: "+14155550100"}}})
		require.NoError(t, err)
		_, err = p.Erase(ctx, a.ID, at.Add(3*time.Hour))
		require.NoError(t, err)
		require.NoError(t, p.Store().Scan(ctx, func(pr pool.Prospect) error {
			b, err := json.Marshal(pr)
			require.NoError(t, err)
			for _, personal := range []string{"ann@x.co", "Ann", "annie", "Lee", "4155550100", "vip", "ann-referral"} {
				assert.NotContains(t, string(b), personal, "prospect %s", pr.ID)
			}
			return nil
		}))
	})

}
