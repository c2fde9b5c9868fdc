package journey

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/stagefunnel"
)

// StageEntry is one entry of a lead into a lifecycle stage: the neutral form
// of a stage history that journey's analyses read (journey does not depend
// on the stage package; convert its history records to StageEntry).
//
// "Reached a stage" has one meaning across the package: the lead entered
// the stage, or a later stage of the funnel order (it skipped this one on
// the way). [StageFunnel] applies it when StageFunnelSpec.Order is set; the
// other analyses ([CycleTimes], [SourceAge], [TouchMix], [NurturePower],
// [ConversionPaths]) read the entries they are given, so pass them
// [ReachEntries] to count skipped stages too, or the raw entries to count
// direct entries only.
type StageEntry struct {
	LeadID string    `json:"lead_id"`
	Stage  string    `json:"stage"`
	At     time.Time `json:"at"`
	// Implied marks an entry the lead did not make itself: it reached the
	// stage by entering a later one (see [ReachEntries]). Analyses treat
	// it as an entry; the stage funnel counts it in Reached, not Entered.
	Implied bool `json:"implied,omitempty"`
}

// ReachEntries returns entries followed by the entries they imply: an entry
// into the stage at position p of order (a funnel order such as the stage
// definition's, stage.Machine.FunnelStages) implies an entry, at the same
// time, into each stage before p that the lead skipped: one it had not
// reached before (by an entry of its own or an implied one). So a lead
// that entered MQL in October and SAL in November did not reach MQL again
// in November, while a lead that went from Raw to SAL in November reached
// MQL then. Direct entries are all kept, repeats too (a recycled lead that
// enters MQL again reached it again). The first entry of a lead into a
// stage in the result is then the time it reached the stage, as the stage
// funnel defines it (the earliest entry into the stage or a later one).
// Entries into stages outside order are kept as they are; entries keep
// their index (bad ones too, for the analyses to report). order must hold
// distinct, non-empty names.
func ReachEntries(entries []StageEntry, order []string) ([]StageEntry, error) {
	pos, err := orderIndex(order)
	if err != nil {
		return nil, err
	}
	out := slices.Clone(entries)
	// Each lead's valid entries into order's stages, in time order (stable).
	byLead := map[string][]int{}
	var leads []string
	for i, e := range entries {
		if _, ok := pos[e.Stage]; !ok || e.validate(i) != nil {
			continue
		}
		if _, ok := byLead[e.LeadID]; !ok {
			leads = append(leads, e.LeadID)
		}
		byLead[e.LeadID] = append(byLead[e.LeadID], i)
	}
	reached := make([]bool, len(order))
	for _, lead := range leads {
		idx := byLead[lead]
		slices.SortStableFunc(idx, func(a, b int) int { return entries[a].At.Compare(entries[b].At) })
		clear(reached)
		for _, i := range idx {
			e := entries[i]
			p := pos[e.Stage]
			for q, st := range order[:p] {
				if !reached[q] {
					reached[q] = true
					out = append(out, StageEntry{LeadID: e.LeadID, Stage: st, At: e.At, Implied: true})
				}
			}
			reached[p] = true
		}
	}
	return out, nil
}

// orderIndex maps each stage of a funnel order to its position.
func orderIndex(order []string) (map[string]int, error) {
	pos := make(map[string]int, len(order))
	var errs errorList
	for i, st := range order {
		switch _, dup := pos[st]; {
		case st == "":
			errs.add(fmt.Errorf("journey: stage order: %w: stage %d: empty name", leadkit.ErrInvalid, i+1))
		case dup:
			errs.add(fmt.Errorf("journey: stage order: %w: stage %q listed twice", leadkit.ErrInvalid, st))
		default:
			pos[st] = i
		}
	}
	return pos, errs.err()
}

func (e StageEntry) validate(i int) error {
	var field string
	switch {
	case e.LeadID == "":
		field = "lead_id"
	case e.Stage == "":
		field = "stage"
	case e.At.IsZero():
		field = "at"
	default:
		return nil
	}
	return fmt.Errorf("journey: stage entry %d (lead %q): %w: missing %s", i, e.LeadID, leadkit.ErrInvalid, field)
}

// groupEntries validates entries and groups the good ones by lead, in
// first-appearance order of the leads.
func groupEntries(entries []StageEntry, errs *errorList) (leads []string, byLead map[string][]StageEntry) {
	byLead = map[string][]StageEntry{}
	for i, e := range entries {
		if err := e.validate(i); err != nil {
			errs.add(err)
			continue
		}
		if _, ok := byLead[e.LeadID]; !ok {
			leads = append(leads, e.LeadID)
		}
		byLead[e.LeadID] = append(byLead[e.LeadID], e)
	}
	return leads, byLead
}

// StageFunnelSpec defines a funnel over stage histories (MQL -> SAL -> SQL
// ...). It has the semantics of the stage package's funnel, computed by the
// same code, so the two always agree:
//
//   - a lead entered a stage if it has an entry into it; it reached a stage
//     if it entered it or any later funnel stage (a lead that skipped SAL on
//     its way to SQL reached SAL when it entered SQL);
//   - the reach time of a stage is the earliest entry into it or any later
//     stage; conversion i -> j counts the leads that reached i and then j,
//     with the time between the two reach times;
//   - the cohort is the leads whose reach time of the first stage lies in
//     [From, To) (a zero bound is open), split into calendar cohorts by the
//     same reach time when Cohort is set;
//   - with Order set, an entry into a stage of Order left out of Stages
//     counts as reaching the last listed stage before it (a funnel of MQL
//     and SQL, and a lead that entered SAL: it reached MQL then), exactly
//     as stage.Machine.Funnel and Machine.NewFunnel count it.
type StageFunnelSpec struct {
	// Stages in funnel order: at least two, unique, non-empty.
	Stages []string `json:"stages"`
	// Order is the full funnel order the Stages are taken from: pass the
	// stage definition's (stage.Machine.FunnelStages) so that a funnel of
	// some of its stages agrees with stage.Machine.Funnel. Optional; when
	// set, every stage of Stages must be in it, in the same order. Stages
	// that are in neither (recycled, closed) are ignored.
	Order []string  `json:"order,omitempty"`
	From  time.Time `json:"from,omitempty"`
	To    time.Time `json:"to,omitempty"`
	// Cohort splits the funnel by the period in which leads reached the
	// first stage; PeriodNone (the default) makes no cohorts.
	Cohort Period `json:"cohort,omitempty"`
}

// StageCount is one stage of a [StageFunnelResult].
type StageCount struct {
	Stage   string `json:"stage"`
	Entered int    `json:"entered"` // leads with an entry into the stage
	Reached int    `json:"reached"` // leads that entered it or a later stage
	Skipped int    `json:"skipped"` // Reached - Entered
}

// StageConversion is the conversion from one funnel stage to a later one.
type StageConversion struct {
	From      string  `json:"from"`
	To        string  `json:"to"`
	Base      int     `json:"base"`      // leads that reached From
	Converted int     `json:"converted"` // of those, leads that reached To
	Rate      float64 `json:"rate"`      // Converted / Base (0 when Base is 0)
	// Mean and Median of the time from reaching From to reaching To; the
	// median of an even sample is the mean of the two middle values.
	Mean   time.Duration `json:"mean"`
	Median time.Duration `json:"median"`
}

// StageCohort is the funnel of one cohort.
type StageCohort struct {
	Cohort      string            `json:"cohort"` // e.g. "2026-03"
	Start       time.Time         `json:"start"`
	Stages      []StageCount      `json:"stages"`
	Conversions []StageConversion `json:"conversions"`
}

// StageFunnelResult is a computed stage funnel. Conversions holds every pair
// of stages From before To, ordered by From then To; Cohorts are sorted by
// start.
type StageFunnelResult struct {
	Stages      []StageCount      `json:"stages"`
	Conversions []StageConversion `json:"conversions"`
	Cohorts     []StageCohort     `json:"cohorts,omitempty"`
}

// StageFunnelAccumulator fills a stage funnel one lead at a time; shard by
// lead, fill one per shard and Merge: the result equals one pass. It is not
// safe for concurrent use.
type StageFunnelAccumulator struct {
	spec    StageFunnelSpec
	inner   stagefunnel.Spec
	all     *stagefunnel.Accumulator
	cohorts map[string]*cohortFunnel
	index   map[string]bool
	imply   map[string]string // stage of Order not listed -> listed stage it implies
	visits  []stagefunnel.Visit
}

type cohortFunnel struct {
	start time.Time
	acc   *stagefunnel.Accumulator
}

// NewStageFunnel validates spec and returns an empty accumulator.
func NewStageFunnel(spec StageFunnelSpec) (*StageFunnelAccumulator, error) {
	inner := stagefunnel.Spec{Stages: slices.Clone(spec.Stages), From: spec.From, To: spec.To}
	var errs errorList
	if err := inner.Validate(); err != nil {
		errs.add(fmt.Errorf("journey: stage funnel: %w: %w", leadkit.ErrInvalid, err))
	}
	if !spec.Cohort.valid() {
		errs.add(fmt.Errorf("journey: stage funnel: %w: unknown cohort period %q", leadkit.ErrInvalid, spec.Cohort))
	}
	imply, err := implied(spec.Stages, spec.Order)
	errs.add(err)
	if err := errs.err(); err != nil {
		return nil, err
	}
	all, _ := stagefunnel.New(inner)
	a := &StageFunnelAccumulator{spec: spec, inner: inner, all: all, cohorts: map[string]*cohortFunnel{}, index: map[string]bool{}, imply: imply}
	a.spec.Stages = inner.Stages
	a.spec.Order = slices.Clone(spec.Order)
	for _, s := range spec.Stages {
		a.index[s] = true
	}
	return a, nil
}

// implied maps each stage of order that stages leaves out to the last
// listed stage before it in order, which a lead entering it has passed
// (the rule of stage.Machine.NewFunnel).
func implied(stages, order []string) (map[string]string, error) {
	if order == nil {
		return nil, nil
	}
	pos, err := orderIndex(order)
	var errs errorList
	errs.add(err)
	prev := -1
	listed := map[string]bool{}
	for _, st := range stages {
		listed[st] = true
		p, ok := pos[st]
		switch {
		case !ok:
			errs.add(fmt.Errorf("journey: stage funnel: %w: stage %q is not in the order", leadkit.ErrInvalid, st))
		case p <= prev:
			errs.add(fmt.Errorf("journey: stage funnel: %w: stage %q is listed out of order", leadkit.ErrInvalid, st))
		default:
			prev = p
		}
	}
	if err := errs.err(); err != nil {
		return nil, err
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

// Add counts one lead's stage entries (entries of other leads must not be
// mixed in; order does not matter). It reports whether the lead belongs to
// the cohort. Entries with a zero time are ignored.
func (a *StageFunnelAccumulator) Add(entries []StageEntry) bool {
	a.visits = a.visits[:0]
	var first time.Time
	for _, e := range entries {
		if e.At.IsZero() {
			continue
		}
		v := stagefunnel.Visit{Stage: e.Stage, At: e.At, Implied: e.Implied}
		if st, ok := a.imply[e.Stage]; ok {
			v = stagefunnel.Visit{Stage: st, At: e.At, Implied: true}
		}
		a.visits = append(a.visits, v)
		if a.index[v.Stage] && (first.IsZero() || v.At.Before(first)) {
			first = v.At
		}
	}
	if !a.all.Add(a.visits) {
		return false
	}
	if a.spec.Cohort != PeriodNone {
		start, label := a.spec.Cohort.Cohort(first)
		c := a.cohorts[label]
		if c == nil {
			acc, _ := stagefunnel.New(a.inner)
			c = &cohortFunnel{start: start, acc: acc}
			a.cohorts[label] = c
		}
		c.acc.Add(a.visits)
	}
	return true
}

// Merge adds other's counts into a; both must have equal specs.
func (a *StageFunnelAccumulator) Merge(other *StageFunnelAccumulator) error {
	if a.spec.Cohort != other.spec.Cohort || !maps.Equal(a.imply, other.imply) {
		return fmt.Errorf("journey: %w: cannot merge stage funnels with different cohorts or orders", leadkit.ErrInvalid)
	}
	if err := a.all.Merge(other.all); err != nil {
		return fmt.Errorf("journey: %w: %w", leadkit.ErrInvalid, err)
	}
	for label, oc := range other.cohorts {
		c := a.cohorts[label]
		if c == nil {
			acc, _ := stagefunnel.New(a.inner)
			c = &cohortFunnel{start: oc.start, acc: acc}
			a.cohorts[label] = c
		}
		_ = c.acc.Merge(oc.acc) // same spec as a.all, checked above
	}
	return nil
}

// Result returns the funnel of everything added so far.
func (a *StageFunnelAccumulator) Result() StageFunnelResult {
	stages, convs := convertStageResult(a.all.Result())
	r := StageFunnelResult{Stages: stages, Conversions: convs}
	for _, label := range slices.Sorted(maps.Keys(a.cohorts)) {
		c := a.cohorts[label]
		s, cv := convertStageResult(c.acc.Result())
		r.Cohorts = append(r.Cohorts, StageCohort{Cohort: label, Start: c.start, Stages: s, Conversions: cv})
	}
	return r
}

func convertStageResult(in stagefunnel.Result) ([]StageCount, []StageConversion) {
	stages := make([]StageCount, len(in.Stages))
	for i, s := range in.Stages {
		stages[i] = StageCount{Stage: s.Stage, Entered: s.Entered, Reached: s.Reached, Skipped: s.Skipped}
	}
	convs := make([]StageConversion, len(in.Conversions))
	for i, c := range in.Conversions {
		convs[i] = StageConversion{From: c.From, To: c.To, Base: c.Base, Converted: c.Converted, Rate: c.Rate, Mean: c.Mean, Median: c.Median}
	}
	return stages, convs
}

// StageFunnel computes a stage funnel over the stage histories of many
// leads (entries of all leads mixed, in any order). Bad entries (no lead,
// stage or time) are skipped: the result covers the rest and the error
// names them. A bad spec returns a zero result and the error.
func StageFunnel(spec StageFunnelSpec, entries []StageEntry) (StageFunnelResult, error) {
	a, err := NewStageFunnel(spec)
	if err != nil {
		return StageFunnelResult{}, err
	}
	var errs errorList
	leads, byLead := groupEntries(entries, &errs)
	for _, l := range leads {
		a.Add(byLead[l])
	}
	return a.Result(), errs.err()
}
