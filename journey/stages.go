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
type StageEntry struct {
	LeadID string    `json:"lead_id"`
	Stage  string    `json:"stage"`
	At     time.Time `json:"at"`
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
//     same reach time when Cohort is set.
type StageFunnelSpec struct {
	// Stages in funnel order: at least two, unique, non-empty.
	Stages []string  `json:"stages"`
	From   time.Time `json:"from,omitempty"`
	To     time.Time `json:"to,omitempty"`
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
	if err := errs.err(); err != nil {
		return nil, err
	}
	all, _ := stagefunnel.New(inner)
	a := &StageFunnelAccumulator{spec: spec, inner: inner, all: all, cohorts: map[string]*cohortFunnel{}, index: map[string]bool{}}
	a.spec.Stages = inner.Stages
	for _, s := range spec.Stages {
		a.index[s] = true
	}
	return a, nil
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
		a.visits = append(a.visits, stagefunnel.Visit{Stage: e.Stage, At: e.At})
		if a.index[e.Stage] && (first.IsZero() || e.At.Before(first)) {
			first = e.At
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
	if a.spec.Cohort != other.spec.Cohort {
		return fmt.Errorf("journey: %w: cannot merge stage funnels with different cohorts", leadkit.ErrInvalid)
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
