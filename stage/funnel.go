package stage

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/binenc"
	"github.com/leadkit/leadkit/internal/spec"
	"github.com/leadkit/leadkit/internal/stats"
	"github.com/leadkit/leadkit/internal/text"
)

// The stage funnel has one home, this file: the stage package owns stage
// histories, the definition's funnel order and the stores, and journey's
// analyses read the same [Visit]s. Semantics:
//
//   - a subject entered a stage if it has a direct visit to it; it reached a
//     stage if it entered it or any later funnel stage (a lead that went
//     from Raw to SQL reached MQL and SAL on its way, when it entered SQL);
//   - the reach time of a stage is the earliest visit to it or any later
//     funnel stage, so reach times never decrease along the funnel;
//     re-entries after recycling do not count twice;
//   - conversion i -> j counts the subjects that reached i and then j, with
//     the time between the two reach times;
//   - the cohort is the subjects whose reach time of the first funnel stage
//     lies in [From, To), split into calendar cohorts by the same time when
//     Cohort is set;
//   - with Order set, a visit to a stage of Order left out of Stages counts
//     as reaching the last listed stage before it (a funnel of MQL and SQL,
//     and a lead that entered SAL: it reached MQL then).

// FunnelSpec defines a stage funnel (MQL -> SAL -> SQL ...).
type FunnelSpec struct {
	// Stages in funnel order: at least two, unique, non-empty.
	Stages []string `json:"stages"`
	// Order is the full funnel order the Stages are taken from (for a
	// machine, [Machine.FunnelStages]); nil means only the listed stages
	// count. Stages must appear in it, in the same order.
	Order []string `json:"order,omitempty"`
	// From and To bound the cohort by the time a subject reached the first
	// stage: From <= t < To. Zero values leave that side open.
	From time.Time `json:"from,omitzero"`
	To   time.Time `json:"to,omitzero"`
	// Cohort, when set, splits the result into calendar cohorts by the same
	// time.
	Cohort leadkit.Period `json:"cohort,omitempty"`
	// ByOwner adds FunnelResult.Owners: each step between consecutive
	// stages broken down by who owned the subject in the step's first
	// stage (Visit.Owner; see [Machine.OwnedVisits]), with a confidence
	// interval on every rate, cycle times and SLA breaches.
	ByOwner bool `json:"by_owner,omitempty"`
	// SLA is the longest a subject should stay in a stage, by stage name
	// (for a machine, each stage's Stage.SLA). A funnel by owner counts,
	// per owner, the stays in the step's first stage that exceeded it.
	SLA map[string]leadkit.Duration `json:"sla,omitempty"`
	// Now measures stays that have not ended (the subject is still in the
	// stage) for SLA breaches; zero leaves them out: only stays that ended
	// are judged.
	Now time.Time `json:"now,omitzero"`
	// Quantiles says how the conversion times behind the medians are
	// kept: exact up to a threshold (1,024 subjects per conversion by
	// default), past it in a sketch whose medians lie within 1% of the
	// exact ones (see [leadkit.Quantiles]); the zero value is the
	// default.
	Quantiles leadkit.Quantiles `json:"quantiles,omitzero"`
}

// ParseFunnelSpec reads a FunnelSpec from JSON or YAML, refusing unknown,
// miscased and duplicate keys.
func ParseFunnelSpec(data []byte) (FunnelSpec, error) {
	var s FunnelSpec
	if err := spec.Parse(data, &s); err != nil {
		return FunnelSpec{}, fmt.Errorf("stage: funnel: %w", err)
	}
	return s, nil
}

// FunnelStage is one stage's counts in a funnel.
type FunnelStage struct {
	Stage string `json:"stage"`
	// Entered counts the subjects with a visit to this stage.
	Entered int `json:"entered"`
	// Reached counts the subjects that entered this stage or a later one: a
	// subject that skipped it (Raw -> SQL) passed it on the way.
	Reached int `json:"reached"`
	// Skipped is Reached - Entered.
	Skipped int `json:"skipped"`
}

// Conversion is the conversion from one funnel stage to a later one, e.g.
// MQL -> TAL, the measure of an SDR team.
type Conversion struct {
	From string `json:"from"`
	To   string `json:"to"`
	// Base is the number of subjects that reached From; Converted of those
	// reached To; Rate is Converted/Base (0 when Base is 0).
	Base      int     `json:"base"`
	Converted int     `json:"converted"`
	Rate      float64 `json:"rate"`
	// Mean and Median time from reaching From to reaching To, over the
	// converted subjects; the median of an even sample is the mean of the
	// two middle values. The mean is exact; so is the median of up to
	// FunnelSpec.Quantiles' threshold of converted subjects, and past it
	// within its accuracy (1% by default) of the exact median.
	Mean   leadkit.Duration `json:"mean"`
	Median leadkit.Duration `json:"median"`
}

// FunnelCohort is the funnel of one calendar cohort.
type FunnelCohort struct {
	Cohort      string        `json:"cohort"` // e.g. "2026-03"
	Start       time.Time     `json:"start"`
	Stages      []FunnelStage `json:"stages"`
	Conversions []Conversion  `json:"conversions"`
}

// FunnelResult is a stage funnel: per-stage counts and the conversion of
// every stage to every later stage (ordered by From, then To), overall and
// per cohort (sorted by start) when FunnelSpec.Cohort is set.
type FunnelResult struct {
	Stages      []FunnelStage  `json:"stages"`
	Conversions []Conversion   `json:"conversions"`
	Cohorts     []FunnelCohort `json:"cohorts,omitempty"`
	// Owners breaks each step between consecutive stages down by owner,
	// when FunnelSpec.ByOwner is set (over the whole cohort, not per
	// calendar cohort).
	Owners []StepOwners `json:"owners,omitempty"`
}

// Conversion returns the conversion from one stage to another, and whether
// the funnel has that pair.
func (r FunnelResult) Conversion(from, to string) (Conversion, bool) {
	for _, c := range r.Conversions {
		if c.From == from && c.To == to {
			return c, true
		}
	}
	return Conversion{}, false
}

// FunnelAccumulator builds a stage funnel one subject at a time, under the
// accumulator contract of package leadkit (Add, Merge, Result): fill one
// per shard or goroutine and Merge them; the result is the same as one
// pass. It is not safe for concurrent use.
type FunnelAccumulator struct {
	spec    FunnelSpec
	q       *stats.Params
	index   map[string]int
	imply   map[string]string // stage of Order not listed -> listed stage it implies
	all     *counts
	cohorts map[string]*cohortCounts
	owners  *ownerCounts // nil unless spec.ByOwner
	// scratch for Add
	visits []Visit
	first  []time.Time
	direct []bool
	reach  []time.Time
	owner  []string // owner of the first visit to each stage, "" when implied
	stay   []int    // index in visits of the first visit to each stage, -1 if none
	// counted: the last Add counted its subject (in the cohort)
	counted bool
}

// Counted reports whether the last Add counted its subject: it visited a
// funnel stage and its reach of the first one lies in the cohort. Analyses
// joined with a funnel (the work per owner of lifecycle's diagnosis) use it
// to keep to the funnel's subjects.
func (f *FunnelAccumulator) Counted() bool { return f.counted }

type cohortCounts struct {
	start time.Time
	c     *counts
}

// counts are the funnel counts of one cohort (or all subjects).
type counts struct {
	entered, reached []int
	// pair (i, j), i < j, lives at pairIndex(n, i, j).
	converted []int
	durations []stats.Summary
}

func newCounts(n int, q *stats.Params) *counts {
	return &counts{entered: make([]int, n), reached: make([]int, n),
		converted: make([]int, n*(n-1)/2), durations: q.Summaries(n * (n - 1) / 2)}
}

func (c *counts) merge(o *counts) {
	for i := range c.entered {
		c.entered[i] += o.entered[i]
		c.reached[i] += o.reached[i]
	}
	for p := range c.converted {
		c.converted[p] += o.converted[p]
		c.durations[p].Merge(&o.durations[p])
	}
}

func (c *counts) clone() *counts {
	out := &counts{entered: slices.Clone(c.entered), reached: slices.Clone(c.reached), converted: slices.Clone(c.converted),
		durations: make([]stats.Summary, len(c.durations))}
	for p := range c.durations {
		out.durations[p] = c.durations[p].Clone()
	}
	return out
}

func pairIndex(n, i, j int) int {
	// rows 0..i-1 hold (n-1) + (n-2) + ... + (n-i) pairs
	return i*(2*n-i-1)/2 + (j - i - 1)
}

// NewFunnel returns an empty funnel accumulator for spec. The errors (all
// of them, joined) wrap leadkit.ErrInvalid.
func NewFunnel(s FunnelSpec) (*FunnelAccumulator, error) {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("stage: funnel: %w: %s", leadkit.ErrInvalid, fmt.Sprintf(format, args...)))
	}
	if len(s.Stages) < 2 {
		bad("a funnel needs at least two stages, got %d", len(s.Stages))
	}
	if len(s.Stages) > MaxStages || len(s.Order) > MaxStages {
		bad("more than %d stages", MaxStages)
	}
	index := make(map[string]int, len(s.Stages))
	for i, st := range s.Stages {
		switch _, dup := index[st]; {
		case st == "":
			bad("stage %d: empty name", i+1)
		case dup:
			bad("stage %q listed twice", st)
		default:
			index[st] = i
		}
	}
	if !s.From.IsZero() && !s.To.IsZero() && s.To.Before(s.From) {
		bad("cohort ends (%s) before it starts (%s)", s.To.Format(time.RFC3339), s.From.Format(time.RFC3339))
	}
	if !s.Cohort.Valid() {
		bad("unknown cohort period %q", s.Cohort)
	}
	if !s.ByOwner && (len(s.SLA) > 0 || !s.Now.IsZero()) {
		bad("sla and now are for a funnel by owner (by_owner)")
	}
	if len(s.SLA) > MaxStages {
		bad("SLAs of %d stages, at most %d", len(s.SLA), MaxStages)
	} else {
		for _, st := range slices.Sorted(maps.Keys(s.SLA)) {
			switch d := time.Duration(s.SLA[st]); {
			case !slices.Contains(s.Stages, st):
				bad("SLA of stage %q: not a stage of the funnel", text.Clip(st, 64))
			case d < 0:
				bad("stage %q: negative SLA %s", st, s.SLA[st])
			case d > leadkit.MaxDuration:
				bad("stage %q: SLA %s over the limit of %s", st, s.SLA[st], leadkit.Duration(leadkit.MaxDuration))
			}
		}
	}
	if !s.Now.IsZero() && !leadkit.ValidTime(s.Now) {
		bad("now outside %s", leadkit.TimeRange)
	}
	imply, err := impliedBy(s.Stages, s.Order)
	if err != nil {
		errs = append(errs, err)
	}
	q, err := stats.NewParams(s.Quantiles)
	if err != nil {
		errs = append(errs, fmt.Errorf("stage: funnel: %w", err))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	n := len(s.Stages)
	f := &FunnelAccumulator{
		spec: FunnelSpec{Stages: slices.Clone(s.Stages), Order: slices.Clone(s.Order), From: s.From, To: s.To, Cohort: s.Cohort,
			ByOwner: s.ByOwner, SLA: maps.Clone(s.SLA), Now: s.Now, Quantiles: s.Quantiles},
		q: q, index: index, imply: imply, all: newCounts(n, q), cohorts: map[string]*cohortCounts{},
		first: make([]time.Time, n), direct: make([]bool, n), reach: make([]time.Time, n),
	}
	if s.ByOwner {
		f.owners = newOwnerCounts(q)
		f.owner, f.stay = make([]string, n), make([]int, n)
	}
	return f, nil
}

// impliedBy maps each stage of order left out of stages to the last listed
// stage before it: visiting it means the subject passed that stage.
func impliedBy(stages, order []string) (map[string]string, error) {
	if order == nil {
		return nil, nil
	}
	pos, err := orderIndex(order)
	var errs []error
	if err != nil {
		errs = append(errs, err) // and go on: report every problem at once
	}
	prev := -1
	listed := map[string]bool{}
	for _, st := range stages {
		listed[st] = true
		p, ok := pos[st]
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("stage: funnel: %w: stage %q is not in the order", leadkit.ErrInvalid, st))
		case p <= prev:
			errs = append(errs, fmt.Errorf("stage: funnel: %w: stage %q is listed out of order", leadkit.ErrInvalid, st))
		default:
			prev = p
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	out := map[string]string{}
	last := ""
	for _, st := range order {
		if listed[st] {
			last = st
		} else if last != "" {
			out[st] = last
		}
	}
	return out, nil
}

// Add counts one subject's visits (see [Visits] for a history); they need
// not be sorted, and visits to stages outside the funnel are ignored. A
// subject outside the cohort is not counted, and that is not an error.
// Visits of several subjects, or a visit failing [Visit.Validate], are
// refused with an error wrapping leadkit.ErrInvalid, and nothing is
// counted. So is a subject that would take the subjects counted (the
// first stage's Reached; every other count is at most it) past 2^53-1,
// the cap of every count that merges sum (journey.MaxCount): each count
// stays exact in float64 and JSON, and the accumulator's encoding
// decodes.
func (f *FunnelAccumulator) Add(visits []Visit) error {
	f.counted = false
	for i, v := range visits {
		if err := v.Validate(); err != nil {
			return fmt.Errorf("stage: funnel: visit %d: %w", i, err)
		}
		if v.LeadID != visits[0].LeadID {
			return fmt.Errorf("stage: funnel: %w: visits of %q and %q in one Add: add one subject at a time", leadkit.ErrInvalid, visits[0].LeadID, v.LeadID)
		}
	}
	f.visits = f.visits[:0]
	for _, v := range visits {
		if st, ok := f.imply[v.Stage]; ok {
			v = Visit{LeadID: v.LeadID, Stage: st, At: v.At, Implied: true}
		}
		f.visits = append(f.visits, v)
	}
	f.counted = false
	start, ok := f.reachTimes()
	if !ok {
		return nil
	}
	if (!f.spec.From.IsZero() && start.Before(f.spec.From)) || (!f.spec.To.IsZero() && !start.Before(f.spec.To)) {
		return nil
	}
	if f.all.reached[0] == binenc.MaxTotal {
		return fmt.Errorf("stage: funnel: %w: more than %d subjects (journey.MaxCount)", leadkit.ErrInvalid, binenc.MaxTotal)
	}
	f.counted = true
	f.count(f.all)
	if f.owners != nil {
		f.countOwners()
	}
	if f.spec.Cohort != leadkit.PeriodNone {
		cstart, label := f.spec.Cohort.Cohort(start)
		c := f.cohorts[label]
		if c == nil {
			c = &cohortCounts{start: cstart, c: newCounts(len(f.spec.Stages), f.q)}
			f.cohorts[label] = c
		}
		f.count(c.c)
	}
	return nil
}

// AddHistory counts one subject's history: Add(Visits(history)).
func (f *FunnelAccumulator) AddHistory(history []Entry) error {
	return f.Add(Visits(history))
}

// reachTimes fills first, direct and reach from f.visits and returns the
// reach time of the first stage, or false when no funnel stage was visited.
func (f *FunnelAccumulator) reachTimes() (time.Time, bool) {
	clear(f.first)
	clear(f.direct)
	for k := range f.stay {
		f.owner[k], f.stay[k] = "", -1
	}
	seen := false
	for x, v := range f.visits {
		k, ok := f.index[v.Stage]
		if !ok {
			continue
		}
		if f.first[k].IsZero() || v.At.Before(f.first[k]) {
			f.first[k] = v.At
			if f.stay != nil {
				f.owner[k], f.stay[k] = "", -1
				if !v.Implied {
					f.owner[k], f.stay[k] = v.Owner, x
				}
			}
		}
		f.direct[k] = f.direct[k] || !v.Implied
		seen = true
	}
	if !seen {
		return time.Time{}, false
	}
	var running time.Time
	for k := len(f.first) - 1; k >= 0; k-- {
		if !f.first[k].IsZero() && (running.IsZero() || f.first[k].Before(running)) {
			running = f.first[k]
		}
		f.reach[k] = running
	}
	return f.reach[0], true
}

// count adds the subject in f's scratch to c.
func (f *FunnelAccumulator) count(c *counts) {
	n := len(f.spec.Stages)
	for i := 0; i < n; i++ {
		if f.direct[i] {
			c.entered[i]++
		}
		if f.reach[i].IsZero() {
			continue
		}
		c.reached[i]++
		for j := i + 1; j < n; j++ {
			if f.reach[j].IsZero() {
				break // reach is filled from the back: nothing later was reached
			}
			p := pairIndex(n, i, j)
			c.converted[p]++
			c.durations[p].Add(f.reach[j].Sub(f.reach[i]))
		}
	}
}

// Merge adds everything other holds; accumulators of different specs
// refuse to merge (an error wrapping leadkit.ErrInvalid) and nothing
// changes, and so does a merge that would take the subjects counted (the
// first stage's Reached) past 2^53-1 (journey.MaxCount, see Add). other
// is not modified.
func (f *FunnelAccumulator) Merge(other *FunnelAccumulator) error {
	if other == nil || other == f {
		return fmt.Errorf("stage: funnel: %w: merge needs another accumulator (not nil, not itself)", leadkit.ErrInvalid)
	}
	a, b := f.spec, other.spec
	if !slices.Equal(a.Stages, b.Stages) || !slices.Equal(a.Order, b.Order) || !a.From.Equal(b.From) || !a.To.Equal(b.To) || a.Cohort != b.Cohort ||
		a.ByOwner != b.ByOwner || !maps.Equal(a.SLA, b.SLA) || !a.Now.Equal(b.Now) || a.Quantiles != b.Quantiles {
		return fmt.Errorf("stage: funnel: %w: cannot merge funnels of different specs", leadkit.ErrMismatch)
	}
	if f.all.reached[0] > binenc.MaxTotal-other.all.reached[0] {
		return fmt.Errorf("stage: funnel: %w: merged, more than %d subjects (journey.MaxCount)", leadkit.ErrInvalid, binenc.MaxTotal)
	}
	f.all.merge(other.all)
	if f.owners != nil {
		f.owners.merge(other.owners)
	}
	for label, oc := range other.cohorts {
		if c := f.cohorts[label]; c != nil {
			c.c.merge(oc.c)
		} else {
			f.cohorts[label] = &cohortCounts{start: oc.start, c: oc.c.clone()}
		}
	}
	return nil
}

// Result computes the funnel from everything added so far.
func (f *FunnelAccumulator) Result() FunnelResult {
	r := FunnelResult{}
	r.Stages, r.Conversions = f.result(f.all)
	for _, label := range slices.Sorted(maps.Keys(f.cohorts)) {
		c := f.cohorts[label]
		st, conv := f.result(c.c)
		r.Cohorts = append(r.Cohorts, FunnelCohort{Cohort: label, Start: c.start, Stages: st, Conversions: conv})
	}
	sort.SliceStable(r.Cohorts, func(i, j int) bool { return r.Cohorts[i].Start.Before(r.Cohorts[j].Start) })
	if f.owners != nil {
		r.Owners = f.ownerResult(r.Conversions)
	}
	return r
}

func (f *FunnelAccumulator) result(c *counts) ([]FunnelStage, []Conversion) {
	n := len(f.spec.Stages)
	stages := make([]FunnelStage, n)
	for i, s := range f.spec.Stages {
		stages[i] = FunnelStage{Stage: s, Entered: c.entered[i], Reached: c.reached[i], Skipped: c.reached[i] - c.entered[i]}
	}
	var convs []Conversion
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			p := pairIndex(n, i, j)
			cv := Conversion{From: f.spec.Stages[i], To: f.spec.Stages[j], Base: c.reached[i], Converted: c.converted[p]}
			if cv.Base > 0 {
				cv.Rate = float64(cv.Converted) / float64(cv.Base)
			}
			d := &c.durations[p]
			cv.Mean, cv.Median = leadkit.Duration(d.Mean()), leadkit.Duration(d.Median())
			convs = append(convs, cv)
		}
	}
	return stages, convs
}

// Funnel computes a stage funnel over the visits of many subjects (grouped
// by LeadID): one pass of a [FunnelAccumulator]. Bad visits are skipped and
// reported together (each error wraps leadkit.ErrInvalid); the good ones
// are counted.
func Funnel(s FunnelSpec, visits []Visit) (FunnelResult, error) {
	f, err := NewFunnel(s)
	if err != nil {
		return FunnelResult{}, err
	}
	var errs []error
	var leads []string
	byLead := map[string][]Visit{}
	for i, v := range visits {
		if err := v.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("stage: funnel: visit %d: %w", i, err))
			continue
		}
		if _, ok := byLead[v.LeadID]; !ok {
			leads = append(leads, v.LeadID)
		}
		byLead[v.LeadID] = append(byLead[v.LeadID], v)
	}
	for _, lead := range leads {
		if err := f.Add(byLead[lead]); err != nil {
			errs = append(errs, err)
		}
	}
	return f.Result(), errors.Join(errs...)
}

// FunnelOptions selects a machine's funnel stages and cohort.
type FunnelOptions struct {
	// Stages in funnel order. Default: [Machine.FunnelStages].
	Stages []string `json:"stages,omitempty"`
	// From and To pick the cohort: subjects that reached the first funnel
	// stage at From <= t < To. Zero values leave that side open.
	From time.Time `json:"from,omitzero"`
	To   time.Time `json:"to,omitzero"`
	// Cohort, when set, splits the result into calendar cohorts.
	Cohort leadkit.Period `json:"cohort,omitempty"`
	// ByOwner breaks each step down by owner (FunnelSpec.ByOwner), with
	// the stages' SLAs; Owner says whose: Machine.Funnel reads the
	// histories through [Machine.OwnedVisits] with it (default
	// OwnerActor).
	ByOwner bool        `json:"by_owner,omitempty"`
	Owner   OwnerSource `json:"owner,omitempty"`
	// Now measures open stays for SLA breaches (see FunnelSpec.Now).
	Now time.Time `json:"now,omitzero"`
	// Quantiles: see FunnelSpec.Quantiles.
	Quantiles leadkit.Quantiles `json:"quantiles,omitzero"`
}

// FunnelStages returns the default funnel stages of the machine: those of
// category pool, marketing, sales, customer or none, in definition order
// (recycled and closed stages are left out).
func (m *Machine) FunnelStages() []string {
	var out []string
	for _, s := range m.def.Stages {
		switch s.Category {
		case Recycled, Closed:
		default:
			out = append(out, s.Name)
		}
	}
	return out
}

// FunnelSpec returns the FunnelSpec of o for this machine: its stages
// (default FunnelStages) with the machine's funnel order, so a subject that
// entered a stage left out of o.Stages counts as having reached the funnel
// stages before it.
func (m *Machine) FunnelSpec(o FunnelOptions) FunnelSpec {
	stages := o.Stages
	if len(stages) == 0 {
		stages = m.FunnelStages()
	}
	s := FunnelSpec{Stages: stages, Order: m.FunnelStages(), From: o.From, To: o.To, Cohort: o.Cohort, ByOwner: o.ByOwner, Quantiles: o.Quantiles}
	if o.ByOwner {
		s.Now = o.Now
		for _, st := range m.def.Stages {
			if st.SLA > 0 && slices.Contains(stages, st.Name) {
				if s.SLA == nil {
					s.SLA = map[string]leadkit.Duration{}
				}
				s.SLA[st.Name] = leadkit.Duration(st.SLA)
			}
		}
	}
	return s
}

// NewFunnel returns an empty funnel accumulator for this machine (see
// [Machine.FunnelSpec]): fill one per shard with AddHistory and Merge them
// to get what Funnel computes in one pass. o.Stages must be funnel stages
// of the definition (not recycled or closed), listed in definition order.
func (m *Machine) NewFunnel(o FunnelOptions) (*FunnelAccumulator, error) {
	if o.Owner != "" && o.Owner != OwnerActor && o.Owner != OwnerTeam {
		return nil, fmt.Errorf("stage: funnel: %w: unknown owner source %q (want %q or %q)", leadkit.ErrInvalid, o.Owner, OwnerActor, OwnerTeam)
	}
	if !o.ByOwner && (o.Owner != "" || !o.Now.IsZero()) {
		return nil, fmt.Errorf("stage: funnel: %w: owner and now are for a funnel by owner (by_owner)", leadkit.ErrInvalid)
	}
	for _, s := range o.Stages {
		if r, ok := m.rank[s]; ok && m.fwd[r] < 0 {
			return nil, fmt.Errorf("stage: funnel: %w: stage %q is %s, not a funnel stage", leadkit.ErrInvalid, s, m.def.Stages[r].Category)
		} else if !ok {
			return nil, fmt.Errorf("stage: funnel: %w: unknown stage %q", leadkit.ErrInvalid, s)
		}
	}
	return NewFunnel(m.FunnelSpec(o))
}

// Funnel computes the stage funnel over every history in the pipeline.
func (m *Machine) Funnel(ctx context.Context, o FunnelOptions) (FunnelResult, error) {
	f, err := m.NewFunnel(o)
	if err != nil {
		return FunnelResult{}, err
	}
	err = ScanHistories(ctx, m.store, m.def.Name, func(_ Key, h []Entry) error {
		if o.ByOwner {
			v, err := m.OwnedVisits(h, o.Owner)
			if err != nil {
				return err
			}
			return f.Add(v)
		}
		return f.AddHistory(h)
	})
	if err != nil {
		return FunnelResult{}, err
	}
	return f.Result(), nil
}

// ScanHistories calls fn with every history of a pipeline, using the
// store's HistoryScanner when it has one and Scan plus History otherwise.
func ScanHistories(ctx context.Context, s Store, pipeline string, fn func(Key, []Entry) error) error {
	if hs, ok := s.(HistoryScanner); ok {
		return hs.ScanHistories(ctx, pipeline, fn)
	}
	return s.Scan(ctx, pipeline, func(r Record) error {
		h, err := s.History(ctx, r.Key)
		if err != nil {
			return err
		}
		return fn(r.Key, h)
	})
}
