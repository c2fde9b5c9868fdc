package pool_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit/pool"
)

// invariant: every valid identity key of an indexed prospect is found, and maps to exactly it.
func checkIndex(t *testing.T, p *pool.Pool) {
	owners := map[string][]string{}
	require.NoError(t, p.Store().Scan(rctx, func(x pool.Prospect) error {
		if x.Status.Indexed() {
			for _, k := range x.Keys() {
				owners[k] = append(owners[k], x.ID)
			}
		}
		if x.Status == pool.StatusMerged {
			s, err := p.Store().Get(rctx, x.MergedInto)
			require.NoError(t, err)
			_ = s
		}
		return nil
	}))
	for k, o := range owners {
		assert.Len(t, o, 1, "key %s held by %v", k, o)
		f, _ := p.Store().Find(rctx, []string{k})
		if assert.Len(t, f, 1) {
			assert.Equal(t, o[0], f[0].ID)
		}
	}
}

func TestRaceTriangle(t *testing.T) {
	for round := range 50 {
		var n atomic.Int64
		p, _ := pool.New(pool.Options{NewID: func() string { return fmt.Sprintf("p%06d", n.Add(1)) }})
		for i, e := range []string{"a", "b", "c"} {
			rup(t, p, fmt.Sprint("seed", e), rt0.Add(time.Duration(i)*time.Hour), rem(e+"@x.co"))
		}
		var wg sync.WaitGroup
		pairs := [][2]string{{"a", "b"}, {"b", "c"}, {"c", "a"}}
		for i, pr := range pairs {
			wg.Add(2)
			for rep := range 2 { // same observation replayed concurrently
				go func() {
					defer wg.Done()
					_, _, err := p.Upsert(rctx, pool.Observation{ID: fmt.Sprint("m", i), At: rt0.Add(5 * time.Hour), Identities: []pool.Identity{rem(pr[0] + "@x.co"), rem(pr[1] + "@x.co")}})
					assert.NoError(t, err, "round %d rep %d", round, rep)
				}()
			}
		}
		wg.Wait()
		checkIndex(t, p)
		f, _ := p.Store().Find(rctx, []string{"email:a@x.co", "email:b@x.co", "email:c@x.co"})
		assert.Len(t, f, 1, "round %d: one survivor", round)
	}
}

func TestRaceQualifyOnce(t *testing.T) {
	p := rpool(t, pool.Policy{})
	pr := rup(t, p, "o1", rt0, rem("a@x.co"))
	var wins atomic.Int64
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%2 == 0 {
				if _, ok, err := p.Qualify(rctx, pr.ID, rt0.Add(time.Hour)); err == nil && ok {
					wins.Add(1)
				}
			} else {
				g, _ := p.QualifyAll(rctx, rt0.Add(time.Hour))
				wins.Add(int64(len(g)))
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, int64(1), wins.Load())
}
