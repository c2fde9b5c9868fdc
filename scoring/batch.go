package scoring

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/leadkit/leadkit"
)

// ScoreBatch scores in[i] into out[i] using up to workers goroutines (<= 1:
// the calling goroutine only), reusing out's slices so that a batch
// allocates nothing per lead in the steady state. A lead whose rules fail
// does not stop the batch: its result is left empty and the returned error
// is a *BatchError holding each failure at its input's index. It returns
// nil when every lead scored. len(out) must equal len(in).
func (m *Model) ScoreBatch(out []Result, in []Input, workers int) error {
	if len(out) != len(in) {
		return fmt.Errorf("scoring: batch: %w: %d results for %d inputs", leadkit.ErrInvalid, len(out), len(in))
	}
	var (
		be   *BatchError
		beMu sync.Mutex
	)
	fail := func(i int, err error) {
		beMu.Lock()
		if be == nil {
			be = &BatchError{Errs: make([]error, len(in))}
		}
		be.Errs[i] = err
		be.Failed++
		beMu.Unlock()
	}
	run := func(sc *scratch, i int) {
		if err := m.scoreInto(sc, &out[i], &in[i]); err != nil {
			out[i] = Result{Dimensions: out[i].Dimensions[:0], Hits: out[i].Hits[:0], Thresholds: out[i].Thresholds[:0]}
			fail(i, err)
		}
	}
	if workers <= 1 || len(in) < 2 {
		sc := m.get()
		for i := range in {
			run(sc, i)
		}
		m.put(sc)
	} else {
		workers = min(workers, len(in))
		const chunk = 64
		var next atomic.Int64
		var wg sync.WaitGroup
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sc := m.get()
				defer m.put(sc)
				for {
					lo := int(next.Add(chunk)) - chunk
					if lo >= len(in) {
						return
					}
					hi := min(lo+chunk, len(in))
					for i := lo; i < hi; i++ {
						run(sc, i)
					}
				}
			}()
		}
		wg.Wait()
	}
	if be != nil {
		return be
	}
	return nil
}
