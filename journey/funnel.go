package journey

import (
	"errors"
	"fmt"
	"maps"
	"math/bits"
	"slices"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/exprenv"
)

// Order says how a funnel's steps must follow each other.
type Order string

// Funnel orders, with PostHog's semantics.
const (
	// Ordered (the default; "" means Ordered): each step happens after the
	// previous one; other events may come in between.
	Ordered Order = "ordered"
	// Strict: each next step is the lead's very next event; any other
	// event in between breaks the attempt.
	Strict Order = "strict"
	// Unordered: the funnel counts how many distinct steps a lead did
	// inside the window, in any order. The k-th result step is then "did at
	// least k of the steps"; its Name is still the k-th step's name.
	Unordered Order = "unordered"
)

// DefaultWindow is the conversion window of a funnel whose Window is zero.
const DefaultWindow = 14 * 24 * time.Hour

// MaxSteps is the most steps a funnel may have.
const MaxSteps = 64

// Step is one funnel step: it matches events whose Type is one of Types
// (any type when Types is empty) and, when When is set, for which the
// predicate When holds. When is an expression over [StepEnv] that must be
// boolean, e.g. `Channel == "webinar" && Attrs["duration"] > 30`.
type Step struct {
	Name  string   `json:"name"`
	Types []string `json:"types,omitempty"`
	When  string   `json:"when,omitempty"`
}

// StepEnv is what a Step's When predicate sees: the fields of the event
// being tested. Unknown names fail when the funnel is compiled.
type StepEnv struct {
	ID       string
	LeadID   string
	Type     string
	Channel  string
	Campaign string
	Content  string
	Time     time.Time
	Attrs    map[string]any
}

// FunnelSpec defines a funnel. It is data: load it from JSON or YAML.
type FunnelSpec struct {
	// Steps in funnel order: at least one, at most MaxSteps, unique names.
	Steps []Step `json:"steps"`
	// Window is the conversion window, measured from the step-1 event
	// (for Unordered: from the first step event of the attempt) and
	// inclusive: a step exactly Window later still counts. Zero means
	// DefaultWindow (14 days); negative windows are rejected.
	Window time.Duration `json:"window,omitempty"`
	// Order is Ordered (the default), Strict or Unordered.
	Order Order `json:"order,omitempty"`
	// Bins is the number of bins of the time-to-convert histogram; zero
	// chooses it from the sample size (see [Histogram]).
	Bins int `json:"bins,omitempty"`
}

// StepError reports a step that cannot be compiled. It wraps
// [leadkit.ErrInvalid]; Line and Column locate the problem in When (1-based,
// zero when it is not in the expression).
type StepError struct {
	Step   string // the step's name
	Index  int    // 1-based position in FunnelSpec.Steps
	Field  string // "name", "types" or "when"
	Line   int
	Column int
	Err    error
}

// Error formats the problem as "journey: step N \"name\": field: message".
func (e *StepError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "journey: step %d", e.Index)
	if e.Step != "" {
		fmt.Fprintf(&b, " %q", e.Step)
	}
	fmt.Fprintf(&b, ": %s: %v", e.Field, e.Err)
	return b.String()
}

// Unwrap returns leadkit.ErrInvalid and the underlying error.
func (e *StepError) Unwrap() []error { return []error{leadkit.ErrInvalid, e.Err} }

// CompiledFunnel is a validated funnel with its predicates compiled. It is
// immutable and safe for concurrent use; each goroutine fills its own
// [FunnelAccumulator].
type CompiledFunnel struct {
	spec   FunnelSpec
	window time.Duration
	order  Order
	names  []string
	byType map[string]uint64 // event type -> steps listing it
	// For few types a linear scan beats hashing: typeNames[i] -> typeMasks[i].
	typeNames []string
	typeMasks []uint64
	anyType   uint64        // steps with no Types
	progs     []*vm.Program // nil when a step has no When
	whenMask  uint64
}

// CompileFunnel validates spec and compiles its predicates. The error joins
// one problem per line, each a *StepError (or a plain error for the
// funnel-wide settings), all wrapping leadkit.ErrInvalid.
func CompileFunnel(spec FunnelSpec) (*CompiledFunnel, error) {
	var errs []error
	fail := func(format string, a ...any) {
		errs = append(errs, fmt.Errorf("journey: funnel: %w: "+format, append([]any{leadkit.ErrInvalid}, a...)...))
	}
	if len(spec.Steps) == 0 {
		fail("no steps")
	}
	if len(spec.Steps) > MaxSteps {
		fail("%d steps, at most %d allowed", len(spec.Steps), MaxSteps)
	}
	if spec.Window < 0 {
		fail("window %v is negative", spec.Window)
	}
	order := spec.Order
	if order == "" {
		order = Ordered
	}
	if order != Ordered && order != Strict && order != Unordered {
		fail("unknown order %q (want %q, %q or %q)", spec.Order, Ordered, Strict, Unordered)
	}
	if spec.Bins < 0 || spec.Bins > MaxBins {
		fail("bins %d out of range [0, %d]", spec.Bins, MaxBins)
	}
	if len(errs) > 0 && len(spec.Steps) > MaxSteps {
		return nil, errors.Join(errs...)
	}
	f := &CompiledFunnel{
		spec:   cloneSpec(spec),
		window: spec.Window,
		order:  order,
		byType: map[string]uint64{},
		progs:  make([]*vm.Program, len(spec.Steps)),
	}
	if f.window == 0 {
		f.window = DefaultWindow
	}
	seen := map[string]int{}
	for i, st := range spec.Steps {
		stepErr := func(field string, err error) {
			errs = append(errs, &StepError{Step: st.Name, Index: i + 1, Field: field, Err: err})
		}
		switch {
		case strings.TrimSpace(st.Name) == "":
			stepErr("name", errors.New("empty name"))
		case seen[st.Name] > 0:
			stepErr("name", fmt.Errorf("name already used by step %d", seen[st.Name]))
		default:
			seen[st.Name] = i + 1
		}
		f.names = append(f.names, st.Name)
		bit := uint64(1) << uint(i)
		if len(st.Types) == 0 {
			if strings.TrimSpace(st.When) == "" {
				stepErr("types", errors.New("no types and no when: the step would match every event"))
			}
			f.anyType |= bit
		}
		for _, typ := range st.Types {
			if typ == "" {
				stepErr("types", errors.New("empty event type"))
				continue
			}
			f.byType[typ] |= bit
		}
		if strings.TrimSpace(st.When) != "" {
			p, err := exprenv.Compile(st.When, StepEnv{}, exprenv.Limits{}, expr.AsBool())
			if err != nil {
				se := &StepError{Step: st.Name, Index: i + 1, Field: "when", Err: err}
				var xe *exprenv.Error
				if errors.As(err, &xe) {
					se.Line, se.Column = xe.Line, xe.Column
				}
				errs = append(errs, se)
				continue
			}
			f.progs[i] = p
			f.whenMask |= bit
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(f.byType) <= 8 {
		for _, typ := range slices.Sorted(maps.Keys(f.byType)) {
			f.typeNames = append(f.typeNames, typ)
			f.typeMasks = append(f.typeMasks, f.byType[typ])
		}
	}
	return f, nil
}

// stepMask returns the steps whose Types admit typ.
func (f *CompiledFunnel) stepMask(typ string) uint64 {
	if f.typeNames != nil {
		for i, n := range f.typeNames {
			if n == typ {
				return f.typeMasks[i] | f.anyType
			}
		}
		return f.anyType
	}
	return f.byType[typ] | f.anyType
}

func cloneSpec(s FunnelSpec) FunnelSpec {
	s.Steps = slices.Clone(s.Steps)
	for i := range s.Steps {
		s.Steps[i].Types = slices.Clone(s.Steps[i].Types)
	}
	return s
}

// Spec returns a copy of the spec f was compiled from.
func (f *CompiledFunnel) Spec() FunnelSpec { return cloneSpec(f.spec) }

// Window returns the effective conversion window.
func (f *CompiledFunnel) Window() time.Duration { return f.window }

// Order returns the effective order.
func (f *CompiledFunnel) Order() Order { return f.order }

// Run computes the funnel over timelines; see [Funnel].
func (f *CompiledFunnel) Run(timelines []Timeline) (FunnelResult, error) {
	acc := f.NewAccumulator()
	var errs errorList
	for _, tl := range timelines {
		acc.add(tl, &errs)
	}
	return acc.Result(), errs.err()
}

// Funnel computes a funnel over timelines with PostHog's semantics:
//
//   - An attempt starts at each event matching step 1 (for Unordered: at
//     each event matching any step). It reaches step k+1 at the first
//     matching event after the one that reached step k (for Strict: only
//     if that is the very next event) no later than the window after the
//     attempt's start. One event fills at most one step of an Ordered or
//     Strict attempt.
//   - A lead counts once, at its best attempt: the one reaching the most
//     steps, the earliest of those on a tie. Times between steps are taken
//     from that attempt.
//   - Step k counts the leads whose best attempt reached step k or later.
//
// Timelines need not be sorted (an unsorted one is sorted in a copy). Each
// lead should appear in one timeline only. Bad events (no time, a When
// failing at run time) are skipped: the result covers every other event and
// the returned error, if any, names them (at most 10, then a count). A bad
// spec returns a zero result and the compile error (see [CompileFunnel]).
func Funnel(spec FunnelSpec, timelines []Timeline) (FunnelResult, error) {
	f, err := CompileFunnel(spec)
	if err != nil {
		return FunnelResult{}, err
	}
	return f.Run(timelines)
}

// FunnelResult is a computed funnel.
type FunnelResult struct {
	Order  Order         `json:"order"`
	Window time.Duration `json:"window"`
	// Leads is the number of timelines added, converted or not.
	Leads int          `json:"leads"`
	Steps []StepResult `json:"steps"`
	// TimeToConvert is the time from step 1 to the last step of the leads
	// that completed the funnel, with its histogram.
	TimeToConvert DurationStats `json:"time_to_convert"`
}

// StepResult is one step of a [FunnelResult].
type StepResult struct {
	Name string `json:"name"`
	// Count is the number of leads that reached this step.
	Count int `json:"count"`
	// ConversionFromFirst is Count / Steps[0].Count; ConversionFromPrevious
	// is Count / previous Count (1 for step 1 when it has leads). Both are
	// 0 when the denominator is 0.
	ConversionFromFirst    float64 `json:"conversion_from_first"`
	ConversionFromPrevious float64 `json:"conversion_from_previous"`
	// DropOff is previous Count - Count (0 for step 1); DropOffRate is
	// DropOff / previous Count.
	DropOff     int     `json:"drop_off"`
	DropOffRate float64 `json:"drop_off_rate"`
	// AverageTime and MedianTime are the time from the previous step over
	// the leads that reached this step (0 for step 1). The median of an
	// even sample is the mean of the two middle values.
	AverageTime time.Duration `json:"average_time"`
	MedianTime  time.Duration `json:"median_time"`
}

// FunnelAccumulator counts leads into a funnel one timeline at a time. It
// is how a funnel runs over data that does not fit in one pass or one
// machine: shard the leads (every event of a lead in the same shard, e.g. by
// hashing LeadID), fill one accumulator per shard, Merge them, and take the
// Result: it equals a single pass over all leads. An accumulator holds the
// per-lead durations (8 bytes per converting lead and step) so that medians
// stay exact. It is not safe for concurrent use.
type FunnelAccumulator struct {
	f       *CompiledFunnel
	runner  *exprenv.Runner
	leads   int
	counts  []int
	gaps    [][]time.Duration // gaps[k]: time from step k-1 to step k
	convert []time.Duration

	// scratch
	times     []time.Time
	masks     []uint64
	idx       []int
	cur, best []time.Time
	env       StepEnv
}

// NewAccumulator returns an empty accumulator for f.
func (f *CompiledFunnel) NewAccumulator() *FunnelAccumulator {
	n := len(f.names)
	return &FunnelAccumulator{
		f:      f,
		runner: exprenv.NewRunner(exprenv.Limits{}),
		counts: make([]int, n),
		gaps:   make([][]time.Duration, n),
		cur:    make([]time.Time, n),
		best:   make([]time.Time, n),
	}
}

// Add counts one lead's timeline. Bad events are skipped and reported in
// the error (wrapping leadkit.ErrInvalid); the rest of the timeline is
// still counted.
func (a *FunnelAccumulator) Add(tl Timeline) error {
	var errs errorList
	a.add(tl, &errs)
	return errs.err()
}

func (a *FunnelAccumulator) add(tl Timeline, errs *errorList) {
	if !a.scan(tl, tl.Events, errs) {
		// Out of order: sort a copy and scan again (errors only once).
		events := slices.Clone(tl.Events)
		SortEvents(events)
		a.scan(tl, events, errs)
	}
	a.leads++
	f := a.f
	var k int
	switch f.order {
	case Unordered:
		k = a.bestUnordered()
	default:
		k = a.bestOrdered(f.order == Strict)
	}
	if k == 0 {
		return
	}
	for s := 0; s < k; s++ {
		a.counts[s]++
		if s > 0 {
			a.gaps[s] = append(a.gaps[s], a.best[s].Sub(a.best[s-1]))
		}
	}
	if k == len(a.counts) {
		a.convert = append(a.convert, a.best[k-1].Sub(a.best[0]))
	}
}

// scan fills a.times and a.masks with the step events of events. It stops
// and returns false as soon as it finds events out of time order, before
// reporting any error, so a rescan of the sorted events reports each once.
func (a *FunnelAccumulator) scan(tl Timeline, events []leadkit.Event, errs *errorList) bool {
	f := a.f
	a.times, a.masks = a.times[:0], a.masks[:0]
	var prev time.Time
	for i := range events {
		e := &events[i]
		if e.Time.IsZero() {
			continue
		}
		if e.Time.Before(prev) {
			return false
		}
		prev = e.Time
	}
	for i := range events {
		e := &events[i]
		if e.Time.IsZero() {
			errs.add(fmt.Errorf("journey: lead %q: event %q: %w: missing time", tl.LeadID, e.ID, leadkit.ErrInvalid))
			continue
		}
		m := f.stepMask(e.Type)
		if w := m & f.whenMask; w != 0 {
			a.env = StepEnv{ID: e.ID, LeadID: e.LeadID, Type: e.Type, Channel: e.Channel,
				Campaign: e.Campaign, Content: e.Content, Time: e.Time, Attrs: e.Attrs}
			for w != 0 {
				k := bits.TrailingZeros64(w)
				w &^= 1 << uint(k)
				ok, err := a.runner.RunBool(f.progs[k], &a.env)
				if err != nil {
					errs.add(fmt.Errorf("journey: lead %q: event %q: step %q: when: %w: %w", tl.LeadID, e.ID, f.names[k], leadkit.ErrInvalid, err))
				}
				if !ok {
					m &^= 1 << uint(k)
				}
			}
		}
		if m == 0 && f.order != Strict {
			continue // Strict needs every event: a non-step event breaks a run
		}
		a.times = append(a.times, e.Time)
		a.masks = append(a.masks, m)
	}
	return true
}

// bestOrdered tries an attempt at every step-1 event and keeps the first
// that reaches the most steps in a.best; it returns that number of steps.
func (a *FunnelAccumulator) bestOrdered(strict bool) int {
	n := len(a.counts)
	bestK := 0
	for s := range a.times {
		if a.masks[s]&1 == 0 {
			continue
		}
		a.cur[0] = a.times[s]
		deadline := a.times[s].Add(a.f.window)
		k := 1
		for j := s + 1; j < len(a.times) && k < n; j++ {
			if a.times[j].After(deadline) {
				break
			}
			if a.masks[j]&(1<<uint(k)) != 0 {
				a.cur[k] = a.times[j]
				k++
			} else if strict {
				break
			}
		}
		if k > bestK {
			bestK = k
			copy(a.best, a.cur[:k])
			if k == n {
				break
			}
		}
	}
	return bestK
}

// bestUnordered anchors an attempt at every step event and counts the
// distinct steps done from it within the window; it keeps the first attempt
// with the most steps, with the time each further step was first done.
func (a *FunnelAccumulator) bestUnordered() int {
	n := len(a.counts)
	full := uint64(1)<<uint(n) - 1
	if n == 64 {
		full = ^uint64(0)
	}
	bestK := 0
	for s := range a.times {
		deadline := a.times[s].Add(a.f.window)
		var done uint64
		k := 0
		for j := s; j < len(a.times) && done != full; j++ {
			if a.times[j].After(deadline) {
				break
			}
			for nw := a.masks[j] &^ done; nw != 0; nw &= nw - 1 {
				a.cur[k] = a.times[j]
				k++
			}
			done |= a.masks[j]
		}
		if k > bestK {
			bestK = k
			copy(a.best, a.cur[:k])
			if k == n {
				break
			}
		}
	}
	return bestK
}

// Merge adds other's counts into a. Both must come from the same
// CompiledFunnel (or equal specs); other is left unchanged.
func (a *FunnelAccumulator) Merge(other *FunnelAccumulator) error {
	if a.f != other.f && !specsEqual(a.f.spec, other.f.spec) {
		return fmt.Errorf("journey: %w: cannot merge accumulators of different funnels", leadkit.ErrInvalid)
	}
	a.leads += other.leads
	for i := range a.counts {
		a.counts[i] += other.counts[i]
		a.gaps[i] = append(a.gaps[i], other.gaps[i]...)
	}
	a.convert = append(a.convert, other.convert...)
	return nil
}

func specsEqual(x, y FunnelSpec) bool {
	return x.Window == y.Window && x.Order == y.Order && x.Bins == y.Bins &&
		slices.EqualFunc(x.Steps, y.Steps, func(a, b Step) bool {
			return a.Name == b.Name && a.When == b.When && slices.Equal(a.Types, b.Types)
		})
}

// Result returns the funnel for everything added so far. The result does
// not depend on the order leads were added or accumulators merged.
func (a *FunnelAccumulator) Result() FunnelResult {
	r := FunnelResult{
		Order:         a.f.order,
		Window:        a.f.window,
		Leads:         a.leads,
		Steps:         make([]StepResult, len(a.counts)),
		TimeToConvert: Summarize(a.convert, a.f.spec.Bins),
	}
	first := a.counts[0]
	for i, c := range a.counts {
		sr := StepResult{Name: a.f.names[i], Count: c, ConversionFromFirst: ratio(c, first)}
		if i == 0 {
			sr.ConversionFromPrevious = ratio(c, c)
		} else {
			prev := a.counts[i-1]
			sr.ConversionFromPrevious = ratio(c, prev)
			sr.DropOff = prev - c
			sr.DropOffRate = ratio(prev-c, prev)
			st := Summarize(a.gaps[i], 1)
			sr.AverageTime, sr.MedianTime = st.Mean, st.Median
		}
		r.Steps[i] = sr
	}
	return r
}

// errorList collects errors up to a cap and counts the rest.
type errorList struct {
	errs []error
	more int
}

const maxErrors = 10

func (l *errorList) add(err error) {
	switch {
	case err == nil:
	case len(l.errs) < maxErrors:
		l.errs = append(l.errs, err)
	default:
		l.more++
	}
}

func (l *errorList) err() error {
	if l.more > 0 {
		return errors.Join(append(slices.Clone(l.errs), fmt.Errorf("journey: and %d more errors", l.more))...)
	}
	return errors.Join(l.errs...)
}
