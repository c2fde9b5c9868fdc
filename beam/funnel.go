package beam

import (
	"cmp"
	"hash/fnv"
	"slices"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/leadkit/leadkit/stage"
)

func init() {
	register.DoFn3x0[stage.Visit, func(string, stage.Visit), func(Rejected)](&validateVisitFn{})
	register.Emitter2[string, stage.Visit]()
	register.Emitter1[Rejected]()
	register.DoFn3x0[string, func(*stage.Visit) bool, func(int, []stage.Visit)](&leadVisitsFn{})
	register.Iter1[stage.Visit]()
	register.Emitter2[int, []stage.Visit]()
	register.Combiner3[*stage.FunnelAccumulator, []stage.Visit, *stage.FunnelAccumulator](&partialFunnelFn{})
	register.Combiner3[*stage.FunnelAccumulator, *stage.FunnelAccumulator, stage.FunnelResult](&mergeFunnelFn{})
}

// DefaultFanout is the number of partial funnels StageFunnel spreads the
// leads over when FunnelOptions.Fanout is zero.
const DefaultFanout = 16

// FunnelOptions tunes StageFunnel; the zero value is the default.
type FunnelOptions struct {
	// Fanout is how many partial funnels the leads are spread over (by a
	// hash of the lead ID) before the final merge: each partial funnel is
	// combined on its own, in parallel, and only the partial accumulators
	// (whose size does not grow with the number of leads but with their
	// durations: see issue 16's sketches) meet on one worker. 0 means
	// DefaultFanout; 1 combines all leads as one key.
	Fanout int
}

// Rejected is an input a transform left out, with the reason: the
// dead-letter output. A rejected visit is not counted, and the pipeline
// goes on (as stage.Funnel skips and reports bad visits).
type Rejected struct {
	// Visit is the input as it came.
	Visit stage.Visit `json:"visit"`
	// Reason is the error that refused it (it wraps leadkit.ErrInvalid
	// where it was made).
	Reason string `json:"reason"`
}

// StageFunnel computes the stage funnel of spec over visits, a
// PCollection of stage.Visit of any number of leads in any order, with
// the library's own stage.FunnelAccumulator: result is a PCollection of
// one stage.FunnelResult, equal (as JSON, byte for byte) to what
// stage.Funnel returns for the same visits, whatever the runner, the
// number of workers or bundles and the fanout. rejected holds the visits
// that fail stage.Visit.Validate, as Rejected.
//
// The visits are grouped by lead; a lead's visits are sorted by time,
// then stage, owner, and direct before implied, so visits of the same
// instant are taken in one order whatever order the runner delivers them
// in. Each lead is added to one of o.Fanout partial accumulators, and the
// partial accumulators are merged into the result.
//
// A spec stage.NewFunnel refuses is an error (wrapping leadkit.ErrInvalid)
// at construction, before the pipeline runs.
func StageFunnel(s beam.Scope, spec stage.FunnelSpec, visits beam.PCollection, o FunnelOptions) (result, rejected beam.PCollection, err error) {
	empty, err := stage.NewFunnel(spec)
	if err != nil {
		return beam.PCollection{}, beam.PCollection{}, err
	}
	fanout := o.Fanout
	if fanout <= 0 {
		fanout = DefaultFanout
	}
	s = s.Scope("leadkit.StageFunnel")
	good, rejected := beam.ParDo2(s, &validateVisitFn{}, globalWindow(s, visits))
	leads := beam.ParDo(s, &leadVisitsFn{Fanout: fanout}, beam.GroupByKey(s, good))
	partial := beam.DropKey(s, beam.CombinePerKey(s, &partialFunnelFn{Spec: spec}, leads))
	// An empty funnel joins the partial ones, so that no valid visit at
	// all still gives the one (empty) result stage.Funnel gives.
	result = beam.Combine(s, &mergeFunnelFn{Spec: spec}, beam.Flatten(s, partial, beam.Create(s, empty)))
	return result, rejected, nil
}

// validateVisitFn keys each valid visit by its lead and sends the others
// to the dead letters.
type validateVisitFn struct{}

// ProcessElement sends v to good, keyed by lead, or to bad.
func (*validateVisitFn) ProcessElement(v stage.Visit, good func(string, stage.Visit), bad func(Rejected)) {
	if err := v.Validate(); err != nil {
		bad(Rejected{Visit: v, Reason: err.Error()})
		return
	}
	good(v.LeadID, v)
}

// leadVisitsFn collects one lead's visits in a deterministic order and
// keys them by the partial funnel they go to.
type leadVisitsFn struct {
	Fanout int `json:"fanout"`
}

// ProcessElement emits a lead's visits, sorted, keyed by partial funnel.
func (f *leadVisitsFn) ProcessElement(lead string, iter func(*stage.Visit) bool, emit func(int, []stage.Visit)) {
	var vs []stage.Visit
	var v stage.Visit
	for iter(&v) {
		vs = append(vs, v)
	}
	slices.SortFunc(vs, compareVisits)
	h := fnv.New32a()
	h.Write([]byte(lead))
	emit(int(h.Sum32()%uint32(f.Fanout)), vs)
}

func compareVisits(a, b stage.Visit) int {
	if c := a.At.Compare(b.At); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Stage, b.Stage); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Owner, b.Owner); c != 0 {
		return c
	}
	switch {
	case a.Implied == b.Implied:
		return 0
	case !a.Implied:
		return -1
	default:
		return 1
	}
}

// partialFunnelFn adds leads to a stage.FunnelAccumulator; its output is
// the accumulator itself, for mergeFunnelFn.
type partialFunnelFn struct {
	Spec stage.FunnelSpec `json:"spec"`
}

// CreateAccumulator returns an empty funnel of the spec.
func (f *partialFunnelFn) CreateAccumulator() (*stage.FunnelAccumulator, error) {
	return stage.NewFunnel(f.Spec)
}

// AddInput adds one lead's visits.
func (f *partialFunnelFn) AddInput(a *stage.FunnelAccumulator, visits []stage.Visit) (*stage.FunnelAccumulator, error) {
	return a, a.Add(visits)
}

// MergeAccumulators merges b into a.
func (f *partialFunnelFn) MergeAccumulators(a, b *stage.FunnelAccumulator) (*stage.FunnelAccumulator, error) {
	return a, a.Merge(b)
}

// ExtractOutput returns the accumulator itself.
func (f *partialFunnelFn) ExtractOutput(a *stage.FunnelAccumulator) *stage.FunnelAccumulator {
	return a
}

// mergeFunnelFn merges partial accumulators into the funnel's result.
type mergeFunnelFn struct {
	Spec stage.FunnelSpec `json:"spec"`
}

// CreateAccumulator returns an empty funnel of the spec.
func (f *mergeFunnelFn) CreateAccumulator() (*stage.FunnelAccumulator, error) {
	return stage.NewFunnel(f.Spec)
}

// AddInput merges one partial funnel.
func (f *mergeFunnelFn) AddInput(a, partial *stage.FunnelAccumulator) (*stage.FunnelAccumulator, error) {
	return a, a.Merge(partial)
}

// MergeAccumulators merges b into a.
func (f *mergeFunnelFn) MergeAccumulators(a, b *stage.FunnelAccumulator) (*stage.FunnelAccumulator, error) {
	return a, a.Merge(b)
}

// ExtractOutput returns the funnel.
func (f *mergeFunnelFn) ExtractOutput(a *stage.FunnelAccumulator) stage.FunnelResult {
	return a.Result()
}
