// Package stagefunnel computes stage-to-stage funnels over stage histories.
// It is the one implementation behind stage.Funnel and journey's stage
// funnel, so the two always agree.
//
// Semantics. The funnel has an ordered list of stages. For each lead:
//
//   - Entered(k): the lead has a history entry into stage k.
//   - Reached(k): the lead entered stage k or any later funnel stage. A lead
//     that skipped a stage (Raw -> SQL) reached the skipped stages (MQL, SAL)
//     on its way, at the time it entered the later stage.
//   - reach time of k: the earliest entry into stage k or any later stage, so
//     reach times never decrease along the funnel.
//
// Conversion i -> j (i < j) is reached(j) / reached(i) over the leads that
// reached i, and its duration is reachTime(j) - reachTime(i). The cohort is
// the leads whose reach time of the first funnel stage lies in [From, To).
//
// An Accumulator can be filled per shard and merged; Result is then the same
// as one pass over all leads.
package stagefunnel

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"
)

// Visit is one entry of a lead into a stage. An Implied visit counts
// towards Reached but not Entered: callers use it when the lead entered a
// stage outside the funnel that comes after this one (a funnel of MQL and
// SAL, and a lead imported at SQL).
type Visit struct {
	Stage   string
	At      time.Time
	Implied bool
}

// Spec selects the funnel stages and the cohort.
type Spec struct {
	// Stages are the funnel's stages in order; at least two, no duplicates.
	Stages []string
	// From and To bound the cohort by the time the lead reached the first
	// stage: From <= t < To. Zero values leave that side open.
	From, To time.Time
}

// Validate reports a spec with fewer than two stages, an empty or
// duplicate stage name, or To before From.
func (s Spec) Validate() error {
	var errs []error
	if len(s.Stages) < 2 {
		errs = append(errs, fmt.Errorf("a funnel needs at least two stages, got %d", len(s.Stages)))
	}
	seen := map[string]bool{}
	for i, st := range s.Stages {
		if st == "" {
			errs = append(errs, fmt.Errorf("stage %d: empty name", i+1))
		} else if seen[st] {
			errs = append(errs, fmt.Errorf("stage %q listed twice", st))
		}
		seen[st] = true
	}
	if !s.From.IsZero() && !s.To.IsZero() && s.To.Before(s.From) {
		errs = append(errs, fmt.Errorf("cohort ends (%s) before it starts (%s)", s.To.Format(time.RFC3339), s.From.Format(time.RFC3339)))
	}
	return errors.Join(errs...)
}

// Accumulator counts leads into a funnel. The zero value is not usable;
// call New. It is not safe for concurrent use: fill one per goroutine and
// Merge them.
type Accumulator struct {
	spec    Spec
	index   map[string]int
	entered []int
	reached []int
	// pair (i, j), i < j, lives at pairIndex(i, j).
	converted []int
	durations [][]time.Duration
	// scratch for Add
	first  []time.Time
	direct []bool
	reach  []time.Time
}

// New returns an empty accumulator for spec.
func New(spec Spec) (*Accumulator, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	n := len(spec.Stages)
	a := &Accumulator{
		spec:      Spec{Stages: slices.Clone(spec.Stages), From: spec.From, To: spec.To},
		index:     make(map[string]int, n),
		entered:   make([]int, n),
		reached:   make([]int, n),
		converted: make([]int, n*(n-1)/2),
		durations: make([][]time.Duration, n*(n-1)/2),
		first:     make([]time.Time, n),
		direct:    make([]bool, n),
		reach:     make([]time.Time, n),
	}
	for i, s := range spec.Stages {
		a.index[s] = i
	}
	return a, nil
}

func (a *Accumulator) pairIndex(i, j int) int {
	n := len(a.spec.Stages)
	// rows 0..i-1 hold (n-1) + (n-2) + ... + (n-i) pairs
	return i*(2*n-i-1)/2 + (j - i - 1)
}

// Add counts one lead's visits. Visits to stages outside the funnel are
// ignored; visits need not be sorted. It reports whether the lead belongs to
// the cohort (and so was counted).
func (a *Accumulator) Add(visits []Visit) bool {
	n := len(a.spec.Stages)
	for k := range a.first {
		a.first[k] = time.Time{}
		a.direct[k] = false
	}
	seen := false
	for _, v := range visits {
		k, ok := a.index[v.Stage]
		if !ok {
			continue
		}
		if a.first[k].IsZero() || v.At.Before(a.first[k]) {
			a.first[k] = v.At
		}
		a.direct[k] = a.direct[k] || !v.Implied
		seen = true
	}
	if !seen {
		return false
	}
	var running time.Time
	for k := n - 1; k >= 0; k-- {
		if !a.first[k].IsZero() && (running.IsZero() || a.first[k].Before(running)) {
			running = a.first[k]
		}
		a.reach[k] = running
	}
	start := a.reach[0]
	if (!a.spec.From.IsZero() && start.Before(a.spec.From)) || (!a.spec.To.IsZero() && !start.Before(a.spec.To)) {
		return false
	}
	for i := 0; i < n; i++ {
		if a.direct[i] {
			a.entered[i]++
		}
		if a.reach[i].IsZero() {
			continue
		}
		a.reached[i]++
		for j := i + 1; j < n; j++ {
			if a.reach[j].IsZero() {
				break // reach is filled from the back: nothing later was reached
			}
			p := a.pairIndex(i, j)
			a.converted[p]++
			a.durations[p] = append(a.durations[p], a.reach[j].Sub(a.reach[i]))
		}
	}
	return true
}

// Merge adds other's counts into a. Both must have the same spec.
func (a *Accumulator) Merge(other *Accumulator) error {
	if !slices.Equal(a.spec.Stages, other.spec.Stages) || !a.spec.From.Equal(other.spec.From) || !a.spec.To.Equal(other.spec.To) {
		return errors.New("cannot merge funnels with different specs")
	}
	for i := range a.entered {
		a.entered[i] += other.entered[i]
		a.reached[i] += other.reached[i]
	}
	for p := range a.converted {
		a.converted[p] += other.converted[p]
		a.durations[p] = append(a.durations[p], other.durations[p]...)
	}
	return nil
}

// StageCount is one funnel stage's counts.
type StageCount struct {
	Stage   string
	Entered int // leads with an entry into this stage
	Reached int // leads that entered this stage or a later one
	Skipped int // Reached - Entered: leads that passed it without entering
}

// Conversion is the conversion from one funnel stage to a later one.
type Conversion struct {
	From, To  string
	Base      int     // leads that reached From
	Converted int     // of those, leads that reached To
	Rate      float64 // Converted / Base; 0 when Base is 0
	Mean      time.Duration
	Median    time.Duration // of an even sample: the mean of the two middle values
}

// Result is a computed funnel.
type Result struct {
	Stages []StageCount
	// Conversions holds every pair From before To, ordered by From then To.
	Conversions []Conversion
}

// Result computes the funnel from the counts so far.
func (a *Accumulator) Result() Result {
	n := len(a.spec.Stages)
	r := Result{Stages: make([]StageCount, n)}
	for i, s := range a.spec.Stages {
		r.Stages[i] = StageCount{Stage: s, Entered: a.entered[i], Reached: a.reached[i], Skipped: a.reached[i] - a.entered[i]}
	}
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			p := a.pairIndex(i, j)
			c := Conversion{From: a.spec.Stages[i], To: a.spec.Stages[j], Base: a.reached[i], Converted: a.converted[p]}
			if c.Base > 0 {
				c.Rate = float64(c.Converted) / float64(c.Base)
			}
			c.Mean, c.Median = MeanMedian(a.durations[p])
			r.Conversions = append(r.Conversions, c)
		}
	}
	return r
}

// MeanMedian returns the mean and median of ds (zero for none); the median
// of an even sample is the mean of the two middle values. ds is not changed.
func MeanMedian(ds []time.Duration) (mean, median time.Duration) {
	if len(ds) == 0 {
		return 0, 0
	}
	s := slices.Clone(ds)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	var sum float64
	for _, d := range s {
		sum += float64(d)
	}
	mean = time.Duration(sum / float64(len(s)))
	m := len(s) / 2
	if len(s)%2 == 1 {
		median = s[m]
	} else {
		median = s[m-1] + (s[m]-s[m-1])/2
	}
	return mean, median
}
