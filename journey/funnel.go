package journey

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"math/bits"
	"slices"
	"strings"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/lang"
	"github.com/leadkit/leadkit/internal/stats"
	"github.com/leadkit/leadkit/internal/text"
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
	// inside the window, in any order, each event counting for one step
	// only. The k-th result step is then "did at least k of the steps";
	// its Name is still the k-th step's name.
	Unordered Order = "unordered"
)

// DefaultWindow is the conversion window of a funnel whose Window is zero.
const DefaultWindow = 14 * 24 * time.Hour

// Caps on a funnel, checked by [CompileFunnel] and the same on every
// backend. Step names and event types are at most [leadkit.MaxNameBytes]
// of valid UTF-8 without NUL bytes; a When expression is at most
// [leadkit.MaxExprBytes]; a funnel document read by [ParseFunnelSpec] is at
// most [leadkit.MaxDocumentBytes].
const (
	// MaxSteps is the most steps a funnel may have.
	MaxSteps = 64
	// MaxTypesPerStep is the most event types one step may list.
	MaxTypesPerStep = 100
	// MaxFields is the most attributes a funnel may declare: as many as
	// one event may hold ([leadkit.MaxAttrs]).
	MaxFields = leadkit.MaxAttrs
	// MaxEventCost bounds the estimated worst-case work of the When
	// predicates one event runs, on inputs at the size caps (lists of
	// [leadkit.MaxListItems] items, strings of [leadkit.MaxStringBytes]
	// bytes): each step's predicate, and all the predicates of the steps
	// one event type can match together. It is the cost bound of every
	// per-event expression of leadkit (about 0.3-0.5 ms of worst case).
	MaxEventCost = lang.DefaultMaxEventCost
)

// Step is one funnel step: it matches events whose Type is one of Types
// (any type when Types is empty) and, when When is set, for which the
// predicate When holds.
//
// When is a boolean expression in leadkit's one expression language, the
// language of stage guards and scoring rules, over the event being tested:
// event.id, event.type, event.channel, event.campaign, event.content and
// event.time, and the attributes the funnel declares in FunnelSpec.Fields,
// read as event.<key>; for example
//
//	event.channel == "webinar" && event.duration > 30
//
// with {"name": "event.duration", "type": "number"} declared. Unknown
// names, undeclared attributes and expressions that could do too much
// work (see [MaxEventCost]) fail when the funnel is compiled. A funnel has
// no as-of time, so event.age_days and daysSince are not available: the
// window bounds the time between steps.
type Step struct {
	Name  string   `json:"name"`
	Types []string `json:"types,omitempty"`
	When  string   `json:"when,omitempty"`
}

// FunnelSpec defines a funnel. It is data: load it from JSON or YAML with
// [ParseFunnelSpec]; unknown keys are errors.
type FunnelSpec struct {
	// Steps in funnel order: at least one, at most MaxSteps, unique names.
	Steps []Step `json:"steps"`
	// Fields declares the event attributes the steps' When predicates
	// read, with their types, e.g. {"name": "event.topic", "type":
	// "string"} (see [leadkit.FieldSpec]); at most MaxFields.
	Fields []leadkit.FieldSpec `json:"fields,omitempty"`
	// Window is the conversion window, measured from the step-1 event
	// (for Unordered: from the oldest step event of the attempt) and
	// inclusive: a step exactly Window later still counts. Zero means
	// DefaultWindow (14 days); negative windows are rejected. In JSON and
	// YAML it is text in leadkit's duration grammar such as "336h", "14d"
	// or "2w" (see [leadkit.ParseDuration]); a bare number is an error.
	Window time.Duration `json:"window,omitempty"`
	// Order is Ordered (the default), Strict or Unordered.
	Order Order `json:"order,omitempty"`
	// Bins is the number of bins of the time-to-convert histogram; zero
	// chooses it from the sample size (see [Histogram]).
	Bins int `json:"bins,omitempty"`
	// Quantiles says how the step times and times to convert behind the
	// medians are kept: exact up to a threshold (1,024 leads per step by
	// default), past it in a sketch whose medians and percentiles lie
	// within 1% of the exact ones (see [leadkit.Quantiles]); the zero
	// value is the default.
	Quantiles leadkit.Quantiles `json:"quantiles,omitzero"`
}

// CompiledFunnel is a validated funnel with its predicates compiled. It is
// immutable and safe for concurrent use; each goroutine fills its own
// [FunnelAccumulator].
type CompiledFunnel struct {
	spec      FunnelSpec
	quantiles *stats.Params
	window    time.Duration
	order     Order
	names     []string
	byType    map[string]uint64 // event type -> steps listing it
	// For few types a linear scan beats hashing: typeNames[i] -> typeMasks[i].
	typeNames []string
	typeMasks []uint64
	anyType   uint64          // steps with no Types
	progs     []*lang.Program // nil when a step has no When
	whenMask  uint64
}

// declareHint tells a step author how to declare an event attribute.
const declareHint = `declare it in the funnel's fields: {"name": "{name}", "type": "{type}"}`

// noAsOfHint explains why a step cannot read event.age_days or daysSince.
const noAsOfHint = "funnel steps have no as-of time (a step matches an event whenever the funnel is computed); the funnel's window bounds the time between steps"

// stepSchema is what a step's When reads: the event fields and the
// attributes the funnel declares. Problems with the declarations come back
// as messages.
func stepSchema(fields []leadkit.FieldSpec) (*lang.Schema, []string) {
	builtin := lang.EventFields()
	declared, problems := lang.DeclaredFields(fields, builtin, "event")
	return lang.NewSchema(append(builtin, declared...), lang.SchemaOptions{
		Declare:       declareHint,
		DeclareScopes: []string{"event"},
		NoAsOf:        true,
		NoAsOfHint:    noAsOfHint,
	}), problems
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
	if len(spec.Fields) > MaxFields {
		fail("fields: %d declared, at most %d allowed", len(spec.Fields), MaxFields)
	}
	if spec.Window < 0 {
		fail("window %s is negative", leadkit.FormatDuration(spec.Window))
	}
	order := spec.Order
	if order == "" {
		order = Ordered
	}
	if order != Ordered && order != Strict && order != Unordered {
		fail("unknown order %q (want %q, %q or %q)", text.Clip(string(spec.Order), 64), Ordered, Strict, Unordered)
	}
	if spec.Bins < 0 || spec.Bins > MaxBins {
		fail("bins %d out of range [0, %d]", spec.Bins, MaxBins)
	}
	quantiles, qerr := stats.NewParams(spec.Quantiles)
	if qerr != nil {
		errs = append(errs, fmt.Errorf("journey: funnel: %w", qerr))
	}
	if len(errs) > 0 && (len(spec.Steps) > MaxSteps || len(spec.Fields) > MaxFields) {
		return nil, errors.Join(errs...)
	}
	sch, problems := stepSchema(spec.Fields)
	for _, p := range problems {
		fail("fields: %s", p)
	}
	f := &CompiledFunnel{
		spec:      cloneSpec(spec),
		quantiles: quantiles,
		window:    spec.Window,
		order:     order,
		byType:    map[string]uint64{},
		progs:     make([]*lang.Program, len(spec.Steps)),
	}
	if f.window == 0 {
		f.window = DefaultWindow
	}
	costs := make([]float64, len(spec.Steps))
	seen := map[string]int{}
	var budget lang.Budget // the steps together
	for i, st := range spec.Steps {
		stepErr := func(field string, err error) {
			errs = append(errs, &StepError{Step: st.Name, Index: i + 1, Field: field, Err: err})
		}
		switch msg := leadkit.CheckText(st.Name, leadkit.MaxNameBytes); {
		case msg != "":
			stepErr("name", fmt.Errorf("name %s", msg))
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
		if len(st.Types) > MaxTypesPerStep {
			stepErr("types", fmt.Errorf("%d types, at most %d allowed", len(st.Types), MaxTypesPerStep))
		} else {
			for j, typ := range st.Types {
				if typ == "" {
					stepErr("types", fmt.Errorf("type %d: empty event type", j+1))
					continue
				}
				if msg := leadkit.CheckText(typ, leadkit.MaxNameBytes); msg != "" {
					stepErr("types", fmt.Errorf("type %d %q: %s", j+1, text.Clip(typ, 64), msg))
					continue
				}
				f.byType[typ] |= bit
			}
		}
		if strings.TrimSpace(st.When) != "" && !budget.Exceeded() {
			p, err := lang.Compile(st.When, sch, lang.Config{Want: lang.Bool, MaxCost: MaxEventCost, CostName: "journey.MaxEventCost, per step", Budget: &budget})
			if err != nil {
				errs = append(errs, &StepError{Step: st.Name, Index: i + 1, Field: "when", Line: err.Line, Column: err.Column, Err: err})
				continue
			}
			f.progs[i] = p
			f.whenMask |= bit
			costs[i] = p.Cost()
		}
	}
	if len(errs) == 0 {
		if err := f.checkEventCost(costs); err != nil {
			errs = append(errs, err)
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

// checkEventCost bounds the predicates one event runs: those of the steps
// its type can match (the steps listing it and the steps with no types),
// together at most MaxEventCost.
func (f *CompiledFunnel) checkEventCost(costs []float64) error {
	sum := func(mask uint64) float64 {
		total := 0.0
		for m := mask & f.whenMask; m != 0; m &= m - 1 {
			total += costs[bits.TrailingZeros64(m)]
		}
		return total
	}
	worstMask, worstType := f.anyType, ""
	worst := sum(worstMask)
	for _, typ := range slices.Sorted(maps.Keys(f.byType)) {
		if c := sum(f.byType[typ] | f.anyType); c > worst {
			worst, worstMask, worstType = c, f.byType[typ]|f.anyType, typ
		}
	}
	if worst <= MaxEventCost {
		return nil
	}
	var steps []string
	for m := worstMask & f.whenMask; m != 0; m &= m - 1 {
		k := bits.TrailingZeros64(m)
		steps = append(steps, fmt.Sprintf("%d %q", k+1, text.Clip(f.names[k], 64)))
	}
	event := "an event of any type"
	if worstType != "" {
		event = fmt.Sprintf("an event of type %q", text.Clip(worstType, 64))
	}
	return fmt.Errorf("journey: funnel: %w: the when predicates %s runs (steps %s) may do about %.3g units of work together on inputs at the size limits; the limit (journey.MaxEventCost, per event) is %d: split the funnel or simplify the predicates",
		leadkit.ErrInvalid, event, strings.Join(steps, ", "), worst, MaxEventCost)
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
	s.Fields = slices.Clone(s.Fields)
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

// Funnel computes a funnel over timelines with PostHog's semantics (the
// funnel-udf of PostHog, ported; see [FunnelAccumulator] for the details):
//
//   - Ordered and Strict: an attempt starts at each step-1 event; a newer
//     step-1 event starts a newer attempt. An attempt reaches step k+1 at
//     the first event matching step k+1 after the event that took it to
//     step k, no later than the window after the attempt's start. For each
//     step only the latest attempt that reached it goes on (a newer attempt
//     is never worse: it has more window left). One event fills at most one
//     step of an attempt. Strict: an event that does not match step k ends
//     every attempt waiting at step k (a repeat of step k does not).
//   - Unordered: each step event is assigned to one step only (an empty
//     step first, else the step whose latest event is oldest); the count is
//     the number of steps with an event inside a sliding window.
//   - Events with the same time are taken in step order, whatever order
//     they arrived in; Strict ignores non-step events among them.
//   - A lead counts once, at its best attempt: the first to reach the
//     furthest step. Times between steps are taken from that attempt.
//   - Step k counts the leads whose best attempt reached step k or later.
//
// For example, with steps a then b, a at day 0, a at day 5 and b at day 6
// convert in 1 day (the attempt that started at day 5).
//
// Timelines need not be sorted (an unsorted one is sorted in a copy). Each
// lead should appear in one timeline only. A lead with a bad event (no
// time, a When failing at run time) is left out, as
// [FunnelAccumulator.Add] refuses it: the result covers every other lead
// and the returned error, if any, names the bad events (at most 10, then a
// count). A bad spec returns a zero result and the compile error (see
// [CompileFunnel]).
func Funnel(spec FunnelSpec, timelines []Timeline) (FunnelResult, error) {
	f, err := CompileFunnel(spec)
	if err != nil {
		return FunnelResult{}, err
	}
	return f.Run(timelines)
}

// FunnelResult is a computed funnel. It is data: in JSON its durations are
// text in leadkit's duration grammar ("2w", "3d4h"; see [leadkit.Duration]).
type FunnelResult struct {
	// Order is the funnel's order, Ordered when the spec left it empty.
	Order Order `json:"order"`
	// Window is the conversion window, DefaultWindow when the spec left it
	// zero.
	Window leadkit.Duration `json:"window"`
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
	// even sample is the mean of the two middle values. The mean is exact;
	// so is the median of up to FunnelSpec.Quantiles' threshold of leads,
	// and past it within its accuracy (1% by default) of the exact median.
	AverageTime leadkit.Duration `json:"average_time"`
	MedianTime  leadkit.Duration `json:"median_time"`
}

// FunnelAccumulator counts leads into a funnel one timeline at a time,
// under the accumulator contract of the leadkit module (see "Specs, results
// and accumulators" in the root package documentation). It is how a funnel
// runs over data that does not fit in one pass or one machine: shard the
// leads (every event of a lead in the same shard, e.g. by hashing LeadID),
// fill one accumulator per shard, Merge them, and take the Result: it
// equals a single pass over all leads. An accumulator holds the
// per-lead durations (8 bytes per converting lead and step) up to the
// spec's Quantiles threshold, so that medians stay exact, and past it a
// sketch of a few kilobytes per step (see [leadkit.Quantiles]): its size
// stops growing with the leads. It is not safe for concurrent use.
//
// Adding a timeline takes time linear in its events (times the number of
// steps): one pass, as PostHog's funnel does, not one pass per attempt.
type FunnelAccumulator struct {
	f       *CompiledFunnel
	runner  *lang.Runner
	leads   int
	counts  []int
	gaps    []stats.Summary // gaps[k]: time from step k-1 to step k
	convert stats.Summary

	// scratch, reused across timelines
	times []time.Time // the lead's step events (every event for Strict), sorted
	masks []uint64    // steps each of them matches
	order []int32     // a same-time group in processing order
	best  []time.Time // step times of the lead's best attempt
	ctx   lang.Ctx    // the event a When predicate tests
	// Ordered and Strict: the chain that reached step k+1 is
	// rows[k*n : k*n+k+1], indexes into times; live has bit k set when
	// there is one.
	rows []int32
	live uint64
	// Unordered: per step a FIFO of the events assigned to it, linked
	// through next; -1 ends a list.
	head, tail, next []int32
	fronts           []time.Time
}

// NewAccumulator returns an empty accumulator for f.
func (f *CompiledFunnel) NewAccumulator() *FunnelAccumulator {
	n := len(f.names)
	return &FunnelAccumulator{
		f:       f,
		runner:  lang.NewRunner(lang.Limits{}),
		counts:  make([]int, n),
		gaps:    f.quantiles.Summaries(n),
		convert: f.quantiles.New(),
		best:    make([]time.Time, n),
		rows:    make([]int32, n*n),
		head:    make([]int32, n),
		tail:    make([]int32, n),
		fronts:  make([]time.Time, 0, n),
	}
}

// NewFunnelAccumulator compiles spec (see [CompileFunnel]) and returns an
// empty accumulator for it. To fill several accumulators of one funnel,
// compile it once and call [CompiledFunnel.NewAccumulator].
func NewFunnelAccumulator(spec FunnelSpec) (*FunnelAccumulator, error) {
	f, err := CompileFunnel(spec)
	if err != nil {
		return nil, err
	}
	return f.NewAccumulator(), nil
}

// Add counts one lead's timeline. A timeline with a bad event (no time, a
// When predicate failing on it at run time: an attribute of the wrong type
// or over the size caps) is refused: nothing is counted and the error,
// wrapping [leadkit.ErrInvalid], names every bad event (at most 10, then a
// count). Once Leads is at [MaxCount] (every other count is at most
// Leads), Add refuses every timeline with an error wrapping
// [leadkit.ErrInvalid] naming the cap.
func (a *FunnelAccumulator) Add(tl Timeline) error {
	if a.leads == MaxCount {
		return fmt.Errorf("journey: funnel: %w: more than %d leads (MaxCount)", leadkit.ErrInvalid, MaxCount)
	}
	var errs errorList
	a.add(tl, &errs)
	return errs.err()
}

// add counts tl unless it has bad events, which it reports in errs.
func (a *FunnelAccumulator) add(tl Timeline, errs *errorList) {
	before := len(errs.errs) + errs.more
	k := a.attempt(tl, errs)
	if len(errs.errs)+errs.more > before {
		return // refused: only scratch space was touched
	}
	a.leads++
	if k == 0 {
		return
	}
	for s := 0; s < k; s++ {
		a.counts[s]++
		if s > 0 {
			a.gaps[s].Add(a.best[s].Sub(a.best[s-1]))
		}
	}
	if k == len(a.counts) {
		a.convert.Add(a.best[k-1].Sub(a.best[0]))
	}
}

// attempt finds the lead's best attempt: it returns the number of steps it
// reached and leaves their times in a.best.
func (a *FunnelAccumulator) attempt(tl Timeline, errs *errorList) int {
	if !a.scan(tl, tl.Events, errs) {
		// Out of order: sort a copy and scan again (errors only once).
		events := slices.Clone(tl.Events)
		leadkit.SortEvents(events)
		a.scan(tl, events, errs)
	}
	if a.f.order == Unordered {
		return a.runUnordered()
	}
	return a.runOrdered(a.f.order == Strict)
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
			errs.add(fmt.Errorf("journey: lead %q: event %q: %w: missing time", text.Clip(tl.LeadID, 64), text.Clip(e.ID, 64), leadkit.ErrInvalid))
			continue
		}
		m := f.stepMask(e.Type)
		if w := m & f.whenMask; w != 0 && !a.when(tl, e, &m, w, errs) {
			continue // a bad event: skipped, reported
		}
		if m == 0 && f.order != Strict {
			continue // Strict needs every event: a non-step event breaks a run
		}
		a.times = append(a.times, e.Time)
		a.masks = append(a.masks, m)
	}
	a.ctx.Event = nil
	return true
}

// when runs the When predicates of the steps in w on event e and clears
// the bits of the steps it fails from *m. A predicate failing at run time
// (an attribute of the wrong type or over the size caps) makes e a bad
// event: when reports it and returns false.
func (a *FunnelAccumulator) when(tl Timeline, e *leadkit.Event, m *uint64, w uint64, errs *errorList) bool {
	f := a.f
	a.ctx.Event = e
	for ; w != 0; w &= w - 1 {
		k := bits.TrailingZeros64(w)
		ok, err := f.progs[k].Bool(&a.ctx, a.runner)
		if err != nil {
			errs.add(fmt.Errorf("journey: lead %q: event %q: step %q: when: %w: %w", text.Clip(tl.LeadID, 64), text.Clip(e.ID, 64), text.Clip(f.names[k], 64), leadkit.ErrInvalid, err))
			return false
		}
		if !ok {
			*m &^= 1 << uint(k)
		}
	}
	return true
}

// group returns the end of the run of events with the time of event g and
// puts the run in processing order in a.order: by the lowest step each
// event matches, then by the other steps it matches, then arrival. The
// order of same-time events is therefore the funnel's, not the store's,
// and the result does not depend on it. It reports whether every event of
// the run matches the same steps.
func (a *FunnelAccumulator) group(g int) (end int, same bool) {
	t := a.times[g]
	end, same = g+1, true
	for end < len(a.times) && a.times[end].Equal(t) {
		same = same && a.masks[end] == a.masks[g]
		end++
	}
	a.order = a.order[:0]
	for i := g; i < end; i++ {
		a.order = append(a.order, int32(i))
	}
	if !same {
		slices.SortStableFunc(a.order, func(x, y int32) int {
			mx, my := a.masks[x], a.masks[y]
			if c := cmp.Compare(bits.TrailingZeros64(mx), bits.TrailingZeros64(my)); c != 0 {
				return c
			}
			return cmp.Compare(mx, my)
		})
	}
	return end, same
}

// runOrdered is PostHog's ordered and strict funnel (funnel-udf steps.rs)
// in one pass. For each step k it keeps one chain: the latest attempt that
// reached k, with the events that took it there. An event matching step k
// extends the chain of step k-1 when it lies within the window of that
// chain's start, unless the chain of step k already has the same start (so
// each step keeps the first event that reached it); a step-1 event starts
// a new chain. Events are taken a same-time group at a time: when the
// group's events all match the same steps, one by one, each trying its
// steps from the last to the first (so one event fills one step of a
// chain); otherwise step by step, each event of the group in turn, an event
// never filling two steps of one chain, and Strict does not break chains
// inside the group. Strict drops the chain of every step the event does not
// match. The lead's best attempt is the first chain to reach the furthest
// step. runOrdered leaves its step times in a.best and returns the number
// of steps it reached.
func (a *FunnelAccumulator) runOrdered(strict bool) int {
	n := len(a.counts)
	a.live = 0
	bestK := 0
	for g := 0; g < len(a.times) && bestK < n; {
		end, same := a.group(g)
		t := a.times[g]
		if same {
			for _, i := range a.order {
				m := a.masks[i]
				for rest := m; rest != 0; {
					s := 63 - bits.LeadingZeros64(rest)
					rest &^= 1 << uint(s)
					bestK = a.extend(i, s, t, false, bestK)
				}
				if strict {
					a.live &= m
				}
			}
		} else {
			var union uint64
			for _, i := range a.order {
				union |= a.masks[i]
			}
			for rest := union; rest != 0; rest &= rest - 1 {
				s := bits.TrailingZeros64(rest)
				for _, i := range a.order {
					if a.masks[i]&(1<<uint(s)) != 0 {
						bestK = a.extend(i, s, t, true, bestK)
					}
				}
			}
		}
		g = end
	}
	return bestK
}

// extend lets event i (at time t) fill step s (0-based) of the current
// chains; see runOrdered. It returns the new best step count.
func (a *FunnelAccumulator) extend(i int32, s int, t time.Time, inGroup bool, bestK int) int {
	n := len(a.counts)
	row := a.rows[s*n : s*n+s+1]
	if s == 0 {
		// A new attempt, unless one already started at this very time.
		if a.live&1 != 0 && a.times[row[0]].Equal(t) {
			return bestK
		}
		row[0] = i
		a.live |= 1
	} else {
		if a.live&(1<<uint(s-1)) == 0 {
			return bestK
		}
		prev := a.rows[(s-1)*n : (s-1)*n+s]
		start := a.times[prev[0]]
		if t.After(start.Add(a.f.window)) {
			return bestK
		}
		if a.live&(1<<uint(s)) != 0 && a.times[row[0]].Equal(start) {
			return bestK // this attempt already reached step s
		}
		if inGroup {
			// The chain's events at time t are the group's: do not use
			// one event for two steps of the chain.
			for j := s - 1; j >= 0 && a.times[prev[j]].Equal(t); j-- {
				if prev[j] == i {
					return bestK
				}
			}
		}
		copy(row, prev)
		row[s] = i
		a.live |= 1 << uint(s)
	}
	if s+1 > bestK {
		for j, e := range row {
			a.best[j] = a.times[e]
		}
		return s + 1
	}
	return bestK
}

// runUnordered is PostHog's unordered funnel (funnel-udf
// unordered_steps.rs) in one pass. Every step keeps a queue of the events
// assigned to it. An event first drops, oldest first, the queued events
// more than the window before it; then it joins the queue of one of the
// steps it matches: an empty one if it can (the lowest such step), else
// the one whose newest event is oldest (the lowest step on a tie). The
// number of non-empty queues is the number of steps done within the
// window; the best attempt is the first moment that number is highest, and
// its step times are the oldest queued event of each step, sorted.
// Same-time events are taken in the order of [FunnelAccumulator.group].
func (a *FunnelAccumulator) runUnordered() int {
	n := len(a.counts)
	for s := range n {
		a.head[s], a.tail[s] = -1, -1
	}
	if cap(a.next) < len(a.times) {
		a.next = make([]int32, len(a.times))
	}
	a.next = a.next[:len(a.times)]
	done, bestK := 0, 0
	for g := 0; g < len(a.times) && bestK < n; {
		end, _ := a.group(g)
		for _, i := range a.order {
			t := a.times[i]
			for {
				old := -1
				for s := range n {
					if h := a.head[s]; h >= 0 && (old < 0 || a.times[h].Before(a.times[a.head[old]])) {
						old = s
					}
				}
				if old < 0 || !t.After(a.times[a.head[old]].Add(a.f.window)) {
					break
				}
				h := a.head[old]
				a.head[old] = a.next[h]
				if a.head[old] < 0 {
					a.tail[old] = -1
					done--
				}
			}
			pick := -1
			for rest := a.masks[i]; rest != 0; rest &= rest - 1 {
				s := bits.TrailingZeros64(rest)
				if a.tail[s] < 0 {
					pick = s
					break
				}
				if pick < 0 || a.times[a.tail[s]].Before(a.times[a.tail[pick]]) {
					pick = s
				}
			}
			a.next[i] = -1
			if a.tail[pick] < 0 {
				a.head[pick] = i
				done++
			} else {
				a.next[a.tail[pick]] = i
			}
			a.tail[pick] = i
			if done > bestK {
				bestK = done
				a.fronts = a.fronts[:0]
				for s := range n {
					if h := a.head[s]; h >= 0 {
						a.fronts = append(a.fronts, a.times[h])
					}
				}
				slices.SortFunc(a.fronts, time.Time.Compare)
				copy(a.best, a.fronts)
				if bestK == n {
					break
				}
			}
		}
		g = end
	}
	return bestK
}

// Merge adds other's counts into a; other is not modified. Accumulators of
// different funnels (not the same CompiledFunnel nor equal specs) refuse to
// merge, and so does a merge that would take Leads past [MaxCount] (every
// other count is at most Leads): Merge changes nothing and returns an
// error wrapping [leadkit.ErrInvalid].
func (a *FunnelAccumulator) Merge(other *FunnelAccumulator) error {
	if other == nil || other == a {
		return fmt.Errorf("journey: funnel: %w: merge needs another accumulator (not nil, not itself)", leadkit.ErrInvalid)
	}
	if a.f != other.f && !specsEqual(a.f.spec, other.f.spec) {
		return fmt.Errorf("journey: funnel: %w: cannot merge accumulators of different funnels", leadkit.ErrMismatch)
	}
	if a.leads > MaxCount-other.leads {
		return fmt.Errorf("journey: funnel: %w: merged, more than %d leads (MaxCount)", leadkit.ErrInvalid, MaxCount)
	}
	a.leads += other.leads
	for i := range a.counts {
		a.counts[i] += other.counts[i]
		a.gaps[i].Merge(&other.gaps[i])
	}
	a.convert.Merge(&other.convert)
	return nil
}

func specsEqual(x, y FunnelSpec) bool {
	return x.Window == y.Window && x.Order == y.Order && x.Bins == y.Bins && x.Quantiles == y.Quantiles &&
		slices.Equal(x.Fields, y.Fields) &&
		slices.EqualFunc(x.Steps, y.Steps, func(a, b Step) bool {
			return a.Name == b.Name && a.When == b.When && slices.Equal(a.Types, b.Types)
		})
}

// Result returns the funnel for everything added so far. The result does
// not depend on the order leads were added or accumulators merged.
func (a *FunnelAccumulator) Result() FunnelResult {
	r := FunnelResult{
		Order:         a.f.order,
		Window:        leadkit.Duration(a.f.window),
		Leads:         a.leads,
		Steps:         make([]StepResult, len(a.counts)),
		TimeToConvert: summarize(&a.convert, a.f.spec.Bins),
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
			sr.AverageTime, sr.MedianTime = leadkit.Duration(a.gaps[i].Mean()), leadkit.Duration(a.gaps[i].Median())
		}
		r.Steps[i] = sr
	}
	return r
}
