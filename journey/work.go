package journey

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/stats"
	"github.com/leadkit/leadkit/stage"
)

// Work measures how leads were worked while they sat in a stage: for each
// stay in a stage, the work touches (SDR calls, sales follow-ups) made
// during it, how long the first one took, grouped by the stay's owner
// (stage.Visit.Owner, from stage.Machine.OwnedVisits or an assignment
// field). Beside a funnel by owner (stage.FunnelSpec.ByOwner) it tells a
// low conversion that comes from leads not worked (few calls, a late first
// call: follow-up) from one that comes from leads worked and not converted
// (screening).
//
// The stay measured is the lead's first direct visit to the stage, the
// one the stage funnel counts; it lasts until the lead's next visit (to
// any stage; stage.StayEnd) or, when it has not ended, without end. A
// touch belongs to it when its time t has enter < t <= end: a touch at the
// instant the lead entered a stage is the one that moved it there (the
// call that accepted it) and belongs to the stay it ended. Its owner is
// the visit's Owner, as in the funnel by owner: with WorkSpec.Order set, a
// lead that reached the stage earlier by skipping it (Raw -> SAL, then
// recycled and back to MQL) was owned there by nobody (""), whoever owns
// the later visit.

// WorkSpec selects the stages and the touches that are work.
type WorkSpec struct {
	// Stages whose stays are measured (MQL, TAL), at least one, unique.
	Stages []string `json:"stages"`
	// Types are the event types that are work ("sdr_call",
	// "sales_follow_up"), at least one, unique.
	Types []string `json:"types"`
	// Order is the funnel order the stages are taken from (for a
	// machine, stage.Machine.FunnelStages), as in stage.FunnelSpec: a
	// visit to a later stage of it reaches the stages before it. Nil
	// means owners are never passed over for skipping.
	Order []string `json:"order,omitempty"`
	// From and To keep the stays that began at From <= t < To; zero
	// values leave that side open.
	From time.Time `json:"from,omitzero"`
	To   time.Time `json:"to,omitzero"`
	// Quantiles says how the times to the first work touch behind
	// FirstMedian are kept: exact up to a threshold (1,024 worked stays
	// per stage and owner by default), past it in a sketch within 1% of
	// the exact median (see [leadkit.Quantiles]); the zero value is the
	// default.
	Quantiles leadkit.Quantiles `json:"quantiles,omitzero"`
}

// MaxWorkTypes caps WorkSpec.Types; WorkSpec.Stages is capped at
// stage.MaxStages.
const MaxWorkTypes = 256

// WorkResult is the work per stage, over every owner and per owner.
type WorkResult struct {
	Stages []StageWork `json:"stages"`
}

// StageWork is the work done on one stage's stays.
type StageWork struct {
	Stage string `json:"stage"`
	// All is every owner together (its Owner is empty).
	All OwnerWork `json:"all"`
	// Owners in order of name; "" is the stays without an owner.
	Owners []OwnerWork `json:"owners"`
}

// OwnerWork is how one owner worked its stays in a stage.
type OwnerWork struct {
	Owner string `json:"owner"`
	// Stays counts the stays measured.
	Stays int `json:"stays"`
	// Worked counts the stays with at least one work touch, of Stays.
	Worked leadkit.Rate `json:"worked"`
	// Touches is the number of work touches in the stays; PerStay is
	// Touches / Stays, PerWorked Touches / worked stays (nil: no data).
	Touches   int      `json:"touches"`
	PerStay   *float64 `json:"per_stay"`
	PerWorked *float64 `json:"per_worked"`
	// FirstMean and FirstMedian are the time from entering the stage to
	// the first work touch, over the worked stays (nil, no data, without
	// any). FirstMean is exact; so is FirstMedian up to WorkSpec.Quantiles'
	// threshold of worked stays, and past it within its accuracy (1% by
	// default).
	FirstMean   *leadkit.Duration `json:"first_mean"`
	FirstMedian *leadkit.Duration `json:"first_median"`
}

// WorkAccumulator measures work one lead at a time, under the accumulator
// contract of package leadkit (Add, Merge, Result). It is not safe for
// concurrent use.
type WorkAccumulator struct {
	spec  WorkSpec
	q     *stats.Params
	stage map[string]int
	order map[string]int // position in spec.Order; nil without one
	types map[string]bool
	rows  []map[string]*workRow // per stage, per owner
}

type workRow struct {
	stays, worked, touches int
	first                  stats.Summary
}

// NewWork returns an empty work accumulator for spec; its errors (all of
// them, joined) wrap leadkit.ErrInvalid.
func NewWork(spec WorkSpec) (*WorkAccumulator, error) {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("journey: work: %w: %s", leadkit.ErrInvalid, fmt.Sprintf(format, args...)))
	}
	list := func(what string, items []string, limit int) map[string]int {
		if len(items) == 0 {
			bad("no %s", what)
		}
		if len(items) > limit {
			bad("%d %s, at most %d", len(items), what, limit)
			return nil
		}
		out := make(map[string]int, len(items))
		for i, it := range items {
			if msg := leadkit.CheckText(it, leadkit.MaxNameBytes); msg != "" || it == "" {
				bad("%s[%d]: empty or %s", what, i, msg)
			}
			if _, dup := out[it]; dup {
				bad("%s[%d]: %q listed twice", what, i, it)
			}
			out[it] = i
		}
		return out
	}
	st := list("stages", spec.Stages, stage.MaxStages)
	ty := list("types", spec.Types, MaxWorkTypes)
	var pos map[string]int
	if spec.Order != nil {
		pos = list("order", spec.Order, stage.MaxStages)
		for i, name := range spec.Stages {
			if _, ok := pos[name]; !ok && pos != nil {
				bad("stages[%d]: %q is not in the order", i, name)
			}
		}
	}
	for _, t := range []struct {
		name string
		t    time.Time
	}{{"from", spec.From}, {"to", spec.To}} {
		if !t.t.IsZero() && !leadkit.ValidTime(t.t) {
			bad("%s %s outside %s", t.name, t.t.Format(time.RFC3339), leadkit.TimeRange)
		}
	}
	if !spec.From.IsZero() && !spec.To.IsZero() && spec.To.Before(spec.From) {
		bad("to (%s) before from (%s)", spec.To.Format(time.RFC3339), spec.From.Format(time.RFC3339))
	}
	q, err := stats.NewParams(spec.Quantiles)
	if err != nil {
		errs = append(errs, fmt.Errorf("journey: work: %w", err))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	w := &WorkAccumulator{spec: WorkSpec{Stages: slices.Clone(spec.Stages), Types: slices.Clone(spec.Types), Order: slices.Clone(spec.Order), From: spec.From, To: spec.To,
		Quantiles: spec.Quantiles}, q: q,
		stage: st, order: pos, types: map[string]bool{}, rows: make([]map[string]*workRow, len(spec.Stages))}
	for t := range ty {
		w.types[t] = true
	}
	for i := range w.rows {
		w.rows[i] = map[string]*workRow{}
	}
	return w, nil
}

// Add measures one lead: its visits (any order; see stage.Visits and
// stage.Machine.OwnedVisits) and its events (any order; events of other
// types are ignored). Visits or events of another lead, or ones that fail
// validation, are refused with an error wrapping leadkit.ErrInvalid, and
// nothing is counted.
func (w *WorkAccumulator) Add(visits []stage.Visit, events []leadkit.Event) error {
	if len(visits) == 0 {
		return nil
	}
	lead := visits[0].LeadID
	for i, v := range visits {
		if err := v.Validate(); err != nil {
			return fmt.Errorf("journey: work: visit %d: %w", i, err)
		}
		if v.LeadID != lead {
			return fmt.Errorf("journey: work: %w: visits of %q and %q in one Add: add one lead at a time", leadkit.ErrInvalid, lead, v.LeadID)
		}
	}
	var work []time.Time
	for i, e := range events {
		if e.LeadID != lead {
			return fmt.Errorf("journey: work: %w: event %d (%q) is of lead %q, not %q", leadkit.ErrInvalid, i, e.ID, e.LeadID, lead)
		}
		if !w.types[e.Type] {
			continue
		}
		if err := e.Validate(); err != nil {
			return fmt.Errorf("journey: work: event %d: %w", i, err)
		}
		work = append(work, e.Time)
	}
	slices.SortFunc(work, func(a, b time.Time) int { return a.Compare(b) })
	for k, name := range w.spec.Stages {
		x := -1 // the first direct visit to the stage
		for i, v := range visits {
			if v.Stage == name && !v.Implied && (x < 0 || v.At.Before(visits[x].At)) {
				x = i
			}
		}
		if x < 0 {
			continue
		}
		enter := visits[x].At
		if (!w.spec.From.IsZero() && enter.Before(w.spec.From)) || (!w.spec.To.IsZero() && !enter.Before(w.spec.To)) {
			continue
		}
		order := w.spec.Order
		if order == nil {
			order = w.spec.Stages
		}
		end := stage.StayEnd(visits, x, order) // zero: open
		owner := visits[x].Owner
		if w.order != nil {
			p := w.order[name]
			for _, v := range visits {
				if q, ok := w.order[v.Stage]; ok && q >= p && v.At.Before(enter) {
					owner = "" // reached earlier by skipping the stage
					break
				}
			}
		}
		r := w.rows[k][owner]
		if r == nil {
			r = &workRow{first: w.q.New()}
			w.rows[k][owner] = r
		}
		r.stays++
		n := 0
		for _, t := range work {
			if !t.After(enter) || (!end.IsZero() && t.After(end)) {
				continue
			}
			if n == 0 {
				r.first.Add(t.Sub(enter))
			}
			n++
		}
		if n > 0 {
			r.worked++
			r.touches += n
		}
	}
	return nil
}

// Merge adds everything other holds; accumulators of different specs
// refuse to merge (an error wrapping leadkit.ErrInvalid). other is not
// modified.
func (w *WorkAccumulator) Merge(other *WorkAccumulator) error {
	if other == nil || other == w {
		return fmt.Errorf("journey: work: %w: merge needs another accumulator (not nil, not itself)", leadkit.ErrInvalid)
	}
	a, b := w.spec, other.spec
	if !slices.Equal(a.Stages, b.Stages) || !slices.Equal(a.Types, b.Types) || !slices.Equal(a.Order, b.Order) || !a.From.Equal(b.From) || !a.To.Equal(b.To) ||
		a.Quantiles != b.Quantiles {
		return fmt.Errorf("journey: work: %w: cannot merge work of different specs", leadkit.ErrMismatch)
	}
	for k := range w.rows {
		for owner, o := range other.rows[k] {
			r := w.rows[k][owner]
			if r == nil {
				r = &workRow{first: w.q.New()}
				w.rows[k][owner] = r
			}
			r.stays += o.stays
			r.worked += o.worked
			r.touches += o.touches
			r.first.Merge(&o.first)
		}
	}
	return nil
}

// Result computes the work per stage and owner.
func (w *WorkAccumulator) Result() WorkResult {
	out := WorkResult{Stages: make([]StageWork, len(w.spec.Stages))}
	for k, name := range w.spec.Stages {
		all := &workRow{first: w.q.New()}
		sw := StageWork{Stage: name, Owners: []OwnerWork{}}
		for _, owner := range slices.Sorted(maps.Keys(w.rows[k])) {
			r := w.rows[k][owner]
			sw.Owners = append(sw.Owners, r.result(owner))
			all.stays += r.stays
			all.worked += r.worked
			all.touches += r.touches
			all.first.Merge(&r.first)
		}
		sw.All = all.result("")
		out.Stages[k] = sw
	}
	return out
}

func (r *workRow) result(owner string) OwnerWork {
	o := OwnerWork{Owner: owner, Stays: r.stays, Worked: leadkit.NewRate(r.worked, r.stays), Touches: r.touches,
		PerStay: leadkit.Ratio(float64(r.touches), float64(r.stays)), PerWorked: leadkit.Ratio(float64(r.touches), float64(r.worked))}
	if r.first.N() > 0 {
		m, md := leadkit.Duration(r.first.Mean()), leadkit.Duration(r.first.Median())
		o.FirstMean, o.FirstMedian = &m, &md
	}
	return o
}

// Owner returns the work of one owner in one stage, and whether there is
// any.
func (r WorkResult) Owner(stageName, owner string) (OwnerWork, bool) {
	for _, s := range r.Stages {
		if s.Stage != stageName {
			continue
		}
		for _, o := range s.Owners {
			if o.Owner == owner {
				return o, true
			}
		}
	}
	return OwnerWork{}, false
}
