package pool_test

import (
	"fmt"
	"github.com/leadkit/leadkit"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leadkit/leadkit/pool"
)

func TestStorm(t *testing.T) {
	var n atomic.Int64
	p, err0 := pool.New(pool.Options{Policy: pool.Policy{Segments: []pool.Condition{{Name: "all", When: "true"}}}, Now: func() time.Time { return rt0.Add(365 * 24 * time.Hour) },
		NewID: func() string { return fmt.Sprintf("p%05d", n.Add(1)) }})
	if err0 != nil {
		t.Fatal(err0)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	ids := map[string]bool{}
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				e1, e2 := fmt.Sprintf("u%d@x.co", (i+g)%20), fmt.Sprintf("u%d@x.co", (i*7+g)%20)
				pr, _, err := p.Upsert(rctx, pool.Observation{ID: fmt.Sprint(g, "-", i), At: rt0.Add(time.Duration(i) * time.Minute), Touch: true,
					Identities: []pool.Identity{rem(e1), rem(e2)}, Person: leadkitPerson(e1)})
				if err == nil {
					mu.Lock()
					ids[pr.ID] = true
					mu.Unlock()
					switch i % 5 {
					case 0:
						_, _ = p.Erase(rctx, pr.ID, time.Time{})
					case 1:
						_, _, _ = p.Qualify(rctx, pr.ID, time.Time{})
					case 2:
						_, _ = p.Reenter(rctx, pr.ID, time.Time{})
					case 3:
						_, _ = p.SegmentCounts(rctx, time.Time{})
					}
				}
			}
		}(g)
	}
	wg.Wait()
	// invariants: every erased prospect has no personal data; no live prospect links to an erased one; each key held once
	all := map[string]pool.Prospect{}
	_ = p.Store().Scan(rctx, func(x pool.Prospect) error { all[x.ID] = x; return nil })
	keys := map[string]string{}
	for _, x := range all {
		if x.Status == pool.StatusErased && (len(x.Identities) > 0 || x.Person.FirstName != "") {
			t.Errorf("erased %s keeps data", x.ID)
		}
		if x.Status == pool.StatusMerged {
			s := all[x.MergedInto]
			if s.Status == pool.StatusErased {
				t.Errorf("%s (merged, data kept) into erased %s", x.ID, s.ID)
			}
		}
		for _, a := range x.Absorbed {
			if all[a].Status == pool.StatusErased && x.Status != pool.StatusErased {
				t.Errorf("live %s absorbed erased %s", x.ID, a)
			}
		}
		if x.Status.Indexed() {
			for _, k := range x.Keys() {
				if o, ok := keys[k]; ok {
					t.Errorf("key %s held by %s and %s", k, o, x.ID)
				}
				keys[k] = x.ID
			}
		}
	}
}

func leadkitPerson(e string) (p leadkitP) { p.FirstName = e; return }

type leadkitP = leadkit.Person
