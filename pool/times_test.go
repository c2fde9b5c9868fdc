package pool_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit/pool"
)

// A replay of the same observation whose time arrives in another zone is the same content.
func TestFingerprintZone(t *testing.T) {
	p := rpool(t, pool.Policy{})
	o := pool.Observation{ID: "o1", At: rt0, Identities: []pool.Identity{rem("a@x.co")}}
	_, _, err := p.Upsert(rctx, o)
	require.NoError(t, err)
	o.At = rt0.In(time.FixedZone("CST", 8*3600)) // same instant
	_, res, err := p.Upsert(rctx, o)
	require.NoError(t, err)
	assert.True(t, res.Replayed)
}

// An opt-out merged into an older survivor must not leave it before it joined.
func TestMergeOptOutLeftBeforeJoin(t *testing.T) {
	p := rpool(t, pool.Policy{})
	rup(t, p, "o1", rt0, rem("a@x.co"))
	_, _, err := p.Upsert(rctx, pool.Observation{ID: "o2", At: rt0.Add(time.Hour), Identities: []pool.Identity{rem("b@x.co")},
		Consent: &pool.Consent{OptedOut: true, At: rt0.AddDate(-5, 0, 0)}})
	require.NoError(t, err)
	s := rup(t, p, "o3", rt0.Add(2*time.Hour), rem("a@x.co"), rem("b@x.co"))
	assert.Equal(t, pool.StatusOptedOut, s.Status)
	assert.False(t, s.LeftAt.Before(s.JoinedAt), "left %v joined %v", s.LeftAt, s.JoinedAt)
}

// Dormant at a past asOf must read activity as of then.
func TestDormantAsOf(t *testing.T) {
	p := rpool(t, pool.Policy{})
	_, _, err := p.Upsert(rctx, pool.Observation{ID: "o1", At: rt0, Touch: true, Identities: []pool.Identity{rem("a@x.co")}})
	require.NoError(t, err)
	_, _, err = p.Upsert(rctx, pool.Observation{ID: "o2", At: rt0.AddDate(0, 6, 0), Touch: true, Identities: []pool.Identity{rem("a@x.co")}})
	require.NoError(t, err)
	got, _, err := p.Dormant(rctx, "", 30*24*time.Hour, "", 10, rt0.AddDate(0, 2, 0))
	require.NoError(t, err)
	assert.Len(t, got, 1, "idle 2 months as of then")
}

// A re-entered prospect graduating again must get a new lead ID.
func TestRegraduateSameLeadID(t *testing.T) {
	p := rpool(t, pool.Policy{})
	pr := rup(t, p, "o1", rt0, rem("a@x.co"))
	g1, ok, err := p.Qualify(rctx, pr.ID, rt0.Add(time.Hour))
	require.NoError(t, err)
	require.True(t, ok)
	_, err = p.Reenter(rctx, pr.ID, rt0.Add(2*time.Hour))
	require.NoError(t, err)
	g2, ok, err := p.Qualify(rctx, pr.ID, rt0.Add(3*time.Hour))
	require.NoError(t, err)
	require.True(t, ok)
	assert.NotEqual(t, g1.LeadID, g2.LeadID)
}

// Qualify at a time before the re-entry graduates before it re-entered.
func TestQualifyBeforeReentry(t *testing.T) {
	p := rpool(t, pool.Policy{})
	pr := rup(t, p, "o1", rt0, rem("a@x.co"))
	_, _, err := p.Qualify(rctx, pr.ID, rt0.Add(time.Hour))
	require.NoError(t, err)
	_, err = p.Reenter(rctx, pr.ID, rt0.AddDate(0, 1, 0))
	require.NoError(t, err)
	g, ok, err := p.Qualify(rctx, pr.ID, rt0.Add(2*time.Hour))
	require.NoError(t, err)
	require.True(t, ok)
	assert.False(t, g.At.Before(rt0.AddDate(0, 1, 0)), "graduated %v before re-entering", g.At)
}

// Erase then replay the old observation: nothing comes back.
func TestEraseReplay(t *testing.T) {
	p := rpool(t, pool.Policy{})
	o := pool.Observation{ID: "o1", At: rt0, Identities: []pool.Identity{rem("a@x.co")}}
	pr, _, err := p.Upsert(rctx, o)
	require.NoError(t, err)
	_, err = p.Erase(rctx, pr.ID, rt0.Add(time.Hour))
	require.NoError(t, err)
	got, res, err := p.Upsert(rctx, o)
	t.Logf("replay: %v %+v %v", got.ID, res, err)
	n := 0
	require.NoError(t, p.Store().Scan(rctx, func(x pool.Prospect) error {
		if len(x.Identities) > 0 {
			n++
		}
		return nil
	}))
	assert.Zero(t, n)
}

// Erase racing merges and qualification: no personal data survives in the family.
func TestEraseRace(t *testing.T) {
	for round := 0; round < 30; round++ {
		p := rpool(t, pool.Policy{})
		a := rup(t, p, "a", rt0, rem("a@x.co"))
		rup(t, p, "b", rt0.Add(time.Minute), rem("b@x.co"))
		var wg sync.WaitGroup
		wg.Add(4)
		go func() { defer wg.Done(); _, _ = p.Erase(rctx, a.ID, rt0.Add(time.Hour)) }()
		go func() {
			defer wg.Done()
			_, _, _ = p.Upsert(rctx, pool.Observation{ID: fmt.Sprint("m", round), At: rt0.Add(time.Hour), Identities: []pool.Identity{rem("a@x.co"), rem("b@x.co")}})
		}()
		go func() { defer wg.Done(); _, _, _ = p.Qualify(rctx, a.ID, rt0.Add(time.Hour)) }()
		go func() { defer wg.Done(); _, _ = p.Reenter(rctx, a.ID, rt0.Add(time.Hour)) }()
		wg.Wait()
		a2, err := p.Store().Get(rctx, a.ID)
		require.NoError(t, err)
		if a2.Status == pool.StatusErased {
			// whoever was merged with it must be erased too, unless merged after erasure
			_ = p.Store().Scan(rctx, func(x pool.Prospect) error {
				if x.Status == pool.StatusMerged && x.MergedInto == a.ID {
					t.Errorf("round %d: %s merged into erased %s", round, x.ID, a.ID)
				}
				for _, id := range x.Identities {
					if id.Value == "a@x.co" && x.Status != pool.StatusErased {
						// a later observation may recreate; fine only if it is a different prospect
						if x.ID == a.ID {
							t.Errorf("erased prospect kept identity")
						}
					}
				}
				return nil
			})
		}
	}
}
