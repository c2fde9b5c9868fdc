package postgres_test

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/lifecycle"
	"github.com/leadkit/leadkit/pool"
	"github.com/leadkit/leadkit/postgres"
)

var regAt = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func regProspect(id string, v int64, emails ...string) pool.Prospect {
	p := pool.Prospect{ID: id, Version: v, Status: pool.StatusActive, JoinedAt: regAt}
	for _, e := range emails {
		p.Identities = append(p.Identities, pool.Identity{Kind: pool.Email, Value: e})
	}
	return p
}

func newPool(t *testing.T) (*postgres.PoolStore, *sql.DB, string) {
	db, prefix := openDB(t)
	s, err := postgres.NewPoolStore(context.Background(), postgres.SQL(db), postgres.Options{TablePrefix: prefix})
	require.NoError(t, err)
	return s, db, prefix
}

// A version conflict inside the caller's transaction: Apply wrote the
// observation mark and the first prospect before it saw the conflict of
// the second. The transaction is not aborted (no SQL error), so the
// caller that retries the unit of work in it, or commits, keeps a partial
// write: the observation is recorded though nothing of it was applied.
func TestPoolApplyInCallersTxLeavesPartialWriteOnConflict(t *testing.T) {
	ctx := context.Background()
	s, db, _ := newPool(t)
	mem := pool.NewMemoryStore()
	for _, st := range []pool.Store{s, mem} {
		require.NoError(t, st.Apply(ctx, pool.Mark{}, regProspect("a", 1, "a@x.co"), regProspect("b", 1, "b@x.co")))
	}
	// Memory: the write is all or nothing.
	err := mem.Apply(ctx, pool.Mark{ID: "o1", Hash: "h"}, regProspect("a", 2, "a@x.co"), regProspect("b", 5, "b@x.co"))
	require.ErrorIs(t, err, leadkit.ErrConflict)
	require.NoError(t, mem.Apply(ctx, pool.Mark{ID: "o1", Hash: "h"}, regProspect("a", 2, "a@x.co"), regProspect("b", 2, "b@x.co")))

	tx, err := db.BeginTx(ctx, nil)
	require.NoError(t, err)
	defer tx.Rollback() //nolint:errcheck
	err = s.With(postgres.SQL(tx)).Apply(ctx, pool.Mark{ID: "o1", Hash: "h"}, regProspect("a", 2, "a@x.co"), regProspect("b", 5, "b@x.co"))
	require.ErrorIs(t, err, leadkit.ErrConflict)
	// The same retry as on memory, in the still-usable transaction.
	err = s.With(postgres.SQL(tx)).Apply(ctx, pool.Mark{ID: "o1", Hash: "h"}, regProspect("a", 2, "a@x.co"), regProspect("b", 2, "b@x.co"))
	assert.NoError(t, err, "the failed Apply must have written nothing in the caller's transaction")
	for _, id := range []string{"a", "b"} {
		got, err := s.With(postgres.SQL(tx)).Get(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, int64(2), got.Version, "%s: written once, by the retry", id)
	}
}

// Prospect fields the validation does not check (Source, LeftAs, Score)
// are kept as they are by the memory store; the JSON column refuses or
// alters them.
func TestPoolProspectFieldsParity(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newPool(t)
	cases := map[string]func(p *pool.Prospect){
		"source NUL":          func(p *pool.Prospect) { p.Source.Channel = "ads\x00x" },
		"source invalid utf8": func(p *pool.Prospect) { p.Source.Campaign = "camp\xff" },
		"left_as NUL":         func(p *pool.Prospect) { p.LeftAs = "x\x00" },
		"score NaN":           func(p *pool.Prospect) { p.Score = math.NaN() },
		"score Inf":           func(p *pool.Prospect) { p.Score = math.Inf(1) },
		"revenue Inf":         func(p *pool.Prospect) { p.Company.Revenue = math.Inf(-1) },
	}
	for name, mod := range cases {
		t.Run(name, func(t *testing.T) {
			id := "p-" + strings.ReplaceAll(name, " ", "-")
			p := regProspect(id, 1)
			mod(&p)
			mem := pool.NewMemoryStore()
			memErr := mem.Apply(ctx, pool.Mark{}, p)
			pgErr := s.Apply(ctx, pool.Mark{}, p)
			if memErr == nil && pgErr != nil {
				t.Errorf("memory accepts, postgres refuses: %v (ErrInvalid=%v)", pgErr, errors.Is(pgErr, leadkit.ErrInvalid))
				return
			}
			if memErr != nil {
				return
			}
			a, _ := mem.Get(ctx, id)
			b, err := s.Get(ctx, id)
			require.NoError(t, err)
			if !reflect.DeepEqual(a.Source, b.Source) {
				t.Errorf("round trip altered the source: memory %q, postgres %q", a.Source, b.Source)
			}
		})
	}
}

// LeadState fields that ValidateState does not check.
func TestLeadStateFieldsParity(t *testing.T) {
	ctx := context.Background()
	db, prefix := openDB(t)
	s, err := postgres.NewLifecycleStore(ctx, postgres.SQL(db), postgres.Options{TablePrefix: prefix})
	require.NoError(t, err)
	cases := map[string]func(st *lifecycle.LeadState){
		"reached NUL":     func(st *lifecycle.LeadState) { st.Reached = []string{"mql\x00"} },
		"reached badutf8": func(st *lifecycle.LeadState) { st.Reached = []string{"mql\xfe"} },
		"revenue NaN":     func(st *lifecycle.LeadState) { st.Lead.Company.Revenue = math.NaN() },
		"model NUL":       func(st *lifecycle.LeadState) { st.Score.Model = "m\x00" },
		"digest max":      func(st *lifecycle.LeadState) { st.Digest = math.MaxUint64 },
	}
	for name, mod := range cases {
		t.Run(name, func(t *testing.T) {
			id := "l-" + strings.ReplaceAll(name, " ", "-")
			st := lifecycle.LeadState{LeadID: id, Lead: leadkit.Lead{ID: id}, Version: 1}
			mod(&st)
			mem := lifecycle.NewMemoryStore()
			memErr := mem.Put(ctx, st)
			pgErr := s.Put(ctx, st)
			if memErr == nil && pgErr != nil {
				t.Errorf("memory accepts, postgres refuses: %v (ErrInvalid=%v)", pgErr, errors.Is(pgErr, leadkit.ErrInvalid))
				return
			}
			if memErr != nil {
				return
			}
			a, _ := mem.Get(ctx, id)
			b, err := s.Get(ctx, id)
			require.NoError(t, err)
			if !reflect.DeepEqual(a.Reached, b.Reached) || a.Digest != b.Digest || a.Score.Model != b.Score.Model {
				t.Errorf("round trip altered the state: memory %q %d, postgres %q %d", a.Reached, a.Digest, b.Reached, b.Digest)
			}
		})
	}
}

// An observation mark's hash is any string to the memory store.
func TestMarkHashParity(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newPool(t)
	for i, h := range []string{"h\x00", "h\xff"} {
		mem := pool.NewMemoryStore()
		id := string(rune('a' + i))
		require.NoError(t, mem.Apply(ctx, pool.Mark{ID: "o" + id, Hash: h}, regProspect(id, 1)))
		err := s.Apply(ctx, pool.Mark{ID: "o" + id, Hash: h}, regProspect(id, 1))
		assert.NoError(t, err, "hash %q", h)
		if err == nil {
			// replay must be ErrSeen, not ErrReused
			err = s.Apply(ctx, pool.Mark{ID: "o" + id, Hash: h}, regProspect(id, 1))
			assert.ErrorIs(t, err, pool.ErrSeen)
		}
	}
}

// The same prospect twice in one write: memory checks every prospect
// against the stored version before writing; postgres applies them one
// after the other.
func TestPoolSameProspectTwiceInOneWrite(t *testing.T) {
	ctx := context.Background()
	for name, ps := range map[string][]pool.Prospect{
		"v2 then v3": {regProspect("a", 2, "a@x.co"), regProspect("a", 3, "a@x.co")},
		"v2 twice":   {regProspect("a", 2, "a@x.co"), regProspect("a", 2, "b@x.co")},
	} {
		t.Run(name, func(t *testing.T) {
			s, _, _ := newPool(t)
			mem := pool.NewMemoryStore()
			for _, st := range []pool.Store{s, mem} {
				require.NoError(t, st.Apply(ctx, pool.Mark{}, regProspect("a", 1, "a@x.co")))
			}
			memErr := mem.Apply(ctx, pool.Mark{}, ps...)
			pgErr := s.Apply(ctx, pool.Mark{}, ps...)
			assert.Equal(t, memErr == nil, pgErr == nil, "memory: %v; postgres: %v", memErr, pgErr)
			m, _ := mem.Get(ctx, "a")
			p, _ := s.Get(ctx, "a")
			assert.Equal(t, m.Version, p.Version, "stored version")
		})
	}
}
