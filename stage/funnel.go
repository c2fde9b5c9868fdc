package stage

import (
	"context"
	"fmt"
	"maps"
	"sort"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/stagefunnel"
)

// FunnelOptions selects a funnel's stages and cohort.
type FunnelOptions struct {
	// Stages in funnel order. Default: the definition's stages of category
	// pool, marketing, sales and customer (or no category), in order; so
	// recycled and closed stages are left out.
	Stages []string
	// From and To pick the cohort: leads that reached the first funnel stage
	// at From <= t < To. Zero values leave that side open.
	From, To time.Time
}

// FunnelStage is one stage's counts in a funnel.
type FunnelStage struct {
	Stage string `json:"stage"`
	// Entered counts the leads with an entry into this stage.
	Entered int `json:"entered"`
	// Reached counts the leads that entered this stage or a later one: a
	// lead that skipped it (Raw -> SQL) passed it on the way.
	Reached int `json:"reached"`
	// Skipped is Reached - Entered.
	Skipped int `json:"skipped"`
}

// Conversion is the conversion from one funnel stage to a later one, e.g.
// MQL -> TAL, the measure of an SDR team.
type Conversion struct {
	From string `json:"from"`
	To   string `json:"to"`
	// Base is the number of leads that reached From; Converted of those
	// reached To; Rate is Converted/Base (0 when Base is 0).
	Base      int     `json:"base"`
	Converted int     `json:"converted"`
	Rate      float64 `json:"rate"`
	// Mean and Median time from reaching From to reaching To, over the
	// converted leads; the median of an even sample is the mean of the two
	// middle values.
	Mean   time.Duration `json:"mean"`
	Median time.Duration `json:"median"`
}

// FunnelResult is a stage funnel: per-stage counts and the conversion of
// every stage to every later stage.
type FunnelResult struct {
	Stages      []FunnelStage `json:"stages"`
	Conversions []Conversion  `json:"conversions"`
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

// FunnelAccumulator builds a funnel from histories one subject at a time.
// Fill one per shard or goroutine and Merge them; the result is the same as
// one pass. It is not safe for concurrent use.
//
// Semantics: a subject reaches a stage when it enters it or any later funnel
// stage, at the earliest such entry; conversion From -> To counts the
// subjects that reached both among those that reached From; re-entries
// (after recycling) do not count twice.
type FunnelAccumulator struct {
	acc    *stagefunnel.Accumulator
	visits []stagefunnel.Visit
	// imply maps a stage outside the funnel to the last funnel stage before
	// it, which a subject entering it has passed (set by Machine.Funnel).
	imply map[string]string
}

// NewFunnel returns an empty accumulator for the given stages (at least two)
// and cohort bounds.
func NewFunnel(stages []string, from, to time.Time) (*FunnelAccumulator, error) {
	acc, err := stagefunnel.New(stagefunnel.Spec{Stages: stages, From: from, To: to})
	if err != nil {
		return nil, fmt.Errorf("stage: funnel: %w: %w", leadkit.ErrInvalid, err)
	}
	return &FunnelAccumulator{acc: acc}, nil
}

// Add counts one subject's history (sub-status entries are ignored). It
// reports whether the subject fell in the cohort.
func (f *FunnelAccumulator) Add(history []Entry) bool {
	f.visits = f.visits[:0]
	for _, e := range history {
		if e.Trigger == TriggerSubStatus {
			continue
		}
		if st, ok := f.imply[e.To]; ok {
			f.visits = append(f.visits, stagefunnel.Visit{Stage: st, At: e.At, Implied: true})
			continue
		}
		f.visits = append(f.visits, stagefunnel.Visit{Stage: e.To, At: e.At})
	}
	return f.acc.Add(f.visits)
}

// Merge adds other's counts; both must have the same stages and cohort,
// and come from the same constructor (NewFunnel or Machine.NewFunnel).
func (f *FunnelAccumulator) Merge(other *FunnelAccumulator) error {
	if !maps.Equal(f.imply, other.imply) {
		return fmt.Errorf("stage: funnel: %w: cannot merge accumulators made for different definitions", leadkit.ErrInvalid)
	}
	if err := f.acc.Merge(other.acc); err != nil {
		return fmt.Errorf("stage: funnel: %w", err)
	}
	return nil
}

// Result computes the funnel.
func (f *FunnelAccumulator) Result() FunnelResult {
	r := f.acc.Result()
	out := FunnelResult{Stages: make([]FunnelStage, len(r.Stages)), Conversions: make([]Conversion, len(r.Conversions))}
	for i, s := range r.Stages {
		out.Stages[i] = FunnelStage{Stage: s.Stage, Entered: s.Entered, Reached: s.Reached, Skipped: s.Skipped}
	}
	for i, c := range r.Conversions {
		out.Conversions[i] = Conversion{From: c.From, To: c.To, Base: c.Base, Converted: c.Converted, Rate: c.Rate, Mean: c.Mean, Median: c.Median}
	}
	return out
}

// FunnelStages returns the default funnel stages of the machine: those of
// category pool, marketing, sales, customer or none, in definition order.
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

// NewFunnel returns an empty funnel accumulator for this machine's
// definition: unlike the package-level NewFunnel it knows the stage order,
// so a subject that entered a stage left out of o.Stages counts as having
// reached the funnel stages before it. Fill one per shard with Add and
// Merge them to get what Funnel computes in one pass.
//
// o.Stages (default FunnelStages) must be known stages of the funnel order
// (not recycled or closed), listed in definition order.
func (m *Machine) NewFunnel(o FunnelOptions) (*FunnelAccumulator, error) {
	stages := o.Stages
	if len(stages) == 0 {
		stages = m.FunnelStages()
	}
	prev := -1
	for _, s := range stages {
		r, ok := m.rank[s]
		switch {
		case !ok:
			return nil, fmt.Errorf("stage: funnel: %w: unknown stage %q", leadkit.ErrInvalid, s)
		case m.fwd[r] < 0:
			return nil, fmt.Errorf("stage: funnel: %w: stage %q is %s, not a funnel stage", leadkit.ErrInvalid, s, m.def.Stages[r].Category)
		case m.fwd[r] <= prev:
			return nil, fmt.Errorf("stage: funnel: %w: stage %q is listed out of definition order", leadkit.ErrInvalid, s)
		}
		prev = m.fwd[r]
	}
	f, err := NewFunnel(stages, o.From, o.To)
	if err != nil {
		return nil, err
	}
	f.imply = m.implied(stages)
	return f, nil
}

// Funnel computes the stage funnel over every history in the pipeline.
func (m *Machine) Funnel(ctx context.Context, o FunnelOptions) (FunnelResult, error) {
	f, err := m.NewFunnel(o)
	if err != nil {
		return FunnelResult{}, err
	}
	err = ScanHistories(ctx, m.store, m.def.Name, func(_ Key, h []Entry) error {
		f.Add(h)
		return nil
	})
	if err != nil {
		return FunnelResult{}, err
	}
	return f.Result(), nil
}

// implied maps each funnel-ranked stage left out of stages to the last
// listed stage that comes before it in funnel order: entering it means the
// subject passed that stage.
func (m *Machine) implied(stages []string) map[string]string {
	listed := map[string]bool{}
	for _, s := range stages {
		listed[s] = true
	}
	out := map[string]string{}
	for r, s := range m.def.Stages {
		if listed[s.Name] || m.fwd[r] < 0 {
			continue
		}
		best, bestRank := "", -1
		for _, l := range stages {
			if lr := m.fwd[m.rank[l]]; lr >= 0 && lr < m.fwd[r] && lr > bestRank {
				best, bestRank = l, lr
			}
		}
		if best != "" {
			out[s.Name] = best
		}
	}
	return out
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

// Stay is one uninterrupted period a subject spent in a stage.
type Stay struct {
	Stage   string    `json:"stage"`
	Entered time.Time `json:"entered"`
	// Left is when the subject moved on; zero while it is still there.
	Left time.Time `json:"left,omitempty"`
	// Duration is Left - Entered, or now - Entered for the current stay.
	Duration time.Duration `json:"duration"`
	// SLA is the stage's SLA (0 if none); Breached is Duration > SLA > 0.
	SLA      time.Duration `json:"sla,omitempty"`
	Breached bool          `json:"breached,omitempty"`
}

// Stays turns a history into stays, measuring the last one up to now, and
// flags the stays that broke their stage's SLA. Sub-status changes do not
// end a stay.
func (m *Machine) Stays(history []Entry, now time.Time) []Stay {
	var out []Stay
	for _, e := range history {
		if e.Trigger == TriggerSubStatus {
			continue
		}
		if n := len(out); n > 0 {
			out[n-1].Left = e.At
		}
		out = append(out, Stay{Stage: e.To, Entered: e.At})
	}
	for i := range out {
		end := out[i].Left
		if end.IsZero() {
			end = now
		}
		out[i].Duration = max(end.Sub(out[i].Entered), 0) // now may precede the entry
		if s, ok := m.def.Stage(out[i].Stage); ok && s.SLA > 0 {
			out[i].SLA = s.SLA
			out[i].Breached = out[i].Duration > out[i].SLA
		}
	}
	return out
}

// TimeInStage sums a history's stays per stage, the current one up to now.
func (m *Machine) TimeInStage(history []Entry, now time.Time) map[string]time.Duration {
	out := map[string]time.Duration{}
	for _, s := range m.Stays(history, now) {
		out[s.Stage] += s.Duration
	}
	return out
}

// Overdue is a subject that has stayed in its stage longer than the SLA.
type Overdue struct {
	Record Record        `json:"record"`
	SLA    time.Duration `json:"sla"`
	// InStage is how long it has been in the stage; Over = InStage - SLA.
	InStage time.Duration `json:"in_stage"`
	Over    time.Duration `json:"over"`
}

// Overdue lists the subjects of the pipeline whose time in their current
// stage exceeds the stage's SLA at now, most overdue first.
func (m *Machine) Overdue(ctx context.Context, now time.Time) ([]Overdue, error) {
	var out []Overdue
	err := m.store.Scan(ctx, m.def.Name, func(r Record) error {
		rank, ok := m.rank[r.Stage]
		if !ok {
			return nil
		}
		sla := m.def.Stages[rank].SLA
		if in := now.Sub(r.EnteredAt); sla > 0 && in > sla {
			out = append(out, Overdue{Record: r, SLA: sla, InStage: in, Over: in - sla})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sortOverdue(out)
	return out, nil
}

func sortOverdue(o []Overdue) {
	sort.Slice(o, func(i, j int) bool {
		if o[i].Over != o[j].Over {
			return o[i].Over > o[j].Over
		}
		return lessKey(o[i].Record.Key, o[j].Record.Key)
	})
}
