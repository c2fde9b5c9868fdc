package scoring

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/leadkit/leadkit"
)

// BatchError reports the leads of a batch that failed to score; every
// other lead was scored. errors.As finds the per-lead *RuleError values
// and errors.Is matches [leadkit.ErrInvalid].
type BatchError struct {
	// Errs has one entry per input: nil where the lead scored.
	Errs []error
	// Failed is the number of non-nil entries.
	Failed int
}

// Error summarizes the failures and shows the first.
func (e *BatchError) Error() string {
	for i, err := range e.Errs {
		if err != nil {
			return fmt.Sprintf("scoring: batch: %d of %d leads failed; input %d: %v", e.Failed, len(e.Errs), i, err)
		}
	}
	return fmt.Sprintf("scoring: batch: %d of %d leads failed", e.Failed, len(e.Errs))
}

// Unwrap returns the per-lead errors (the non-nil entries, in input order).
func (e *BatchError) Unwrap() []error {
	out := make([]error, 0, e.Failed)
	for _, err := range e.Errs {
		if err != nil {
			out = append(out, err)
		}
	}
	return out
}

// ScoreBatch scores in[i] into out[i] using up to workers goroutines (<= 1:
// the calling goroutine only), reusing out's slices so that a batch
// allocates nothing per lead in the steady state. A lead whose rules fail
// does not stop the batch: its result is left empty and the returned error
// is a *BatchError holding each failure at its input's index. It returns
// nil when every lead scored. len(out) must equal len(in).
func (m *Model) ScoreBatch(out []Result, in []Input, workers int) error {
	if len(out) != len(in) {
		return fmt.Errorf("scoring: batch: %d results for %d inputs: %w", len(out), len(in), leadkit.ErrInvalid)
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
