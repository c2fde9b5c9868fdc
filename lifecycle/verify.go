package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/attribution"
	"github.com/leadkit/leadkit/internal/spec"
	"github.com/leadkit/leadkit/journey"
	"github.com/leadkit/leadkit/stage"
)

// Period is what Verify reports on: the leads that reached a stage at
// From <= t < To, and what the period cost.
type Period struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Costs is the cost table: spend per touch key (channel, or the first
	// of VerifyOptions.Keys) in the period. At most MaxCostRows rows,
	// each finite and not negative.
	Costs map[string]float64 `json:"costs,omitempty"`
}

// MaxCostRows caps Period.Costs and VerifyOptions.Functions.
const MaxCostRows = 10_000

// VerifyOptions configures Verify (Options.Verify, checked by New); the
// zero value is a working default. ParseVerifyOptions reads it from JSON
// or YAML.
type VerifyOptions struct {
	// Stages to verify; nil means the machine's funnel stages after the
	// first (Classic: MQL, SAL, SQL, Opportunity, Won).
	Stages []string `json:"stages,omitempty"`
	// Buckets are the lead-age buckets of SourceAge (nil:
	// journey.DefaultAgeBuckets).
	Buckets []time.Duration `json:"buckets,omitempty"`
	// Keys are the touch fields credit goes to, each with last touch and
	// Markov (default channel, then campaign); costs and ROI go by the
	// first.
	Keys []attribution.TouchKey `json:"keys,omitempty"`
	// Lookback bounds how old a touch may be to get credit (0: none).
	Lookback time.Duration `json:"lookback,omitempty"`
	// MarkovOrder is the order of the Markov model (default 1).
	MarkovOrder int `json:"markov_order,omitempty"`
	// Functions rolls keys up into marketing functions for a second ROI
	// report ("webinar" -> "events", "paid_search" -> "paid").
	Functions map[string]string `json:"functions,omitempty"`
	// Nurture selects the touches whose nurture power is measured (by
	// content by default; every event type unless Types is set). Its
	// period is the verified one.
	Nurture journey.NurtureOptions `json:"nurture,omitzero"`
	// EveryEntry credits every entry into a stage in the period (a
	// recycled lead's repeat MQL too), each to the touches since the
	// previous entry; by default each lead's first entry, if it falls in
	// the period.
	EveryEntry bool `json:"every_entry,omitempty"`
	// Values gives a stage's conversions a value for ROI: the attribute
	// Attr of the lead's latest event of one of Types up to To (a won
	// deal's amount).
	Values map[string]Value `json:"values,omitempty"`
}

// Value says where a stage conversion's value comes from.
type Value struct {
	Types []string `json:"types"`
	Attr  string   `json:"attr"`
}

// ParseVerifyOptions reads VerifyOptions from JSON or YAML, refusing
// unknown keys; durations are text ("90d", "2w").
func ParseVerifyOptions(data []byte) (VerifyOptions, error) {
	var o VerifyOptions
	if err := spec.Parse(data, &o); err != nil {
		return VerifyOptions{}, spec.Prefixed("lifecycle: verify options: ", err)
	}
	return o, nil
}

// MarshalJSON writes durations as text.
func (o VerifyOptions) MarshalJSON() ([]byte, error) { return spec.EncodeDurations(o) }

// UnmarshalJSON reads durations as text ("90d"); a bare number and an
// unknown key are errors wrapping leadkit.ErrInvalid.
func (o *VerifyOptions) UnmarshalJSON(b []byte) error {
	return spec.DecodeDurations(b, o, "lifecycle: verify options: ")
}

// Verification is the marketing result verification of a period: per
// stage, who reached it (new or old leads, first time or again, what they
// did before), how long it took, which content nurtured them, which
// channels earn the credit; the stage funnel; and ROI per channel and per
// function.
type Verification struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Leads counts the engine's leads; Timelines the subjects with events
	// (prospects included).
	Leads     int `json:"leads"`
	Timelines int `json:"timelines"`
	// Funnel is the stage funnel of the leads that reached its first
	// stage in the period: stage-to-stage conversion and times.
	Funnel stage.FunnelResult `json:"funnel"`
	Stages []StageResult      `json:"stages"`
	// ROI joins the credit (last touch and Markov, per stage) with the
	// cost table per key; ROIByFunction rolls it up by
	// VerifyOptions.Functions (absent without them).
	ROI           attribution.ROIReport  `json:"roi"`
	ROIByFunction *attribution.ROIReport `json:"roi_by_function,omitempty"`
}

// StageResult verifies one stage over the period.
type StageResult struct {
	Stage string `json:"stage"`
	// Age splits the leads that reached the stage in the period into new
	// and old leads (created before From), by age buckets, first time or
	// repeat, with the touch mix of each group before converting.
	Age journey.SourceAgeResult `json:"age"`
	// Cycle is the time from creation to the stage, for those leads.
	Cycle journey.CycleResult `json:"cycle"`
	// Nurture is the nurture power of each content touched in the period.
	Nurture []journey.ContentPower `json:"nurture"`
	// Attribution credits the period's conversions into the stage to
	// each touch key, by last touch and by Markov; leads that had not
	// reached the stage by To are the non-converting journeys.
	Attribution []Attribution `json:"attribution"`
}

// Attribution is one model's credit for one touch key.
type Attribution struct {
	Key    attribution.TouchKey `json:"key"`
	Model  string               `json:"model"` // "last_touch" or "markov"
	Result attribution.Result   `json:"result"`
	// Error says why the model could not be solved (a cap of the Markov
	// model), if so; Result is then empty.
	Error string `json:"error,omitempty"`
}

// Credit returns the result of a model for a key, if computed.
func (r StageResult) Credit(key attribution.TouchKey, model string) (attribution.Result, bool) {
	for _, a := range r.Attribution {
		if a.Key == key && a.Model == model && a.Error == "" {
			return a.Result, true
		}
	}
	return attribution.Result{}, false
}

// Verify computes the Verification of a period from the engine's stores
// (stage histories, timelines and lead states), as Options.Verify says.
// It reads every timeline into memory; for data beyond one machine, run
// the same accumulators partitioned.
func (e *Engine) Verify(ctx context.Context, p Period) (Verification, error) {
	if err := p.validate(); err != nil {
		return Verification{}, err
	}
	opts, stages, keys := e.verify, e.verifyStages, e.verify.Keys
	var err error
	out := Verification{From: p.From.UTC(), To: p.To.UTC()}
	created := map[string]time.Time{}
	if err := e.states.Scan(ctx, func(s LeadState) error {
		created[s.LeadID] = s.Lead.CreatedAt
		return nil
	}); err != nil {
		return Verification{}, err
	}
	out.Leads = len(created)

	funnel, err := e.machine.NewFunnel(stage.FunnelOptions{From: p.From, To: p.To})
	if err != nil {
		return Verification{}, err
	}
	var visits []stage.Visit
	if err := stage.ScanHistories(ctx, e.machine.Store(), e.machine.Pipeline(), func(k stage.Key, h []stage.Entry) error {
		if err := funnel.AddHistory(h); err != nil {
			return err
		}
		visits = append(visits, stage.Visits(h)...)
		return nil
	}); err != nil {
		return Verification{}, err
	}
	out.Funnel = funnel.Result()
	if visits, err = stage.Reach(visits, e.machine.FunnelStages()); err != nil {
		return Verification{}, err
	}
	timelines, err := journey.Timelines(ctx, e.events)
	if err != nil {
		return Verification{}, err
	}
	out.Timelines = len(timelines)

	var credits []attribution.Credit
	var errs []error
	for _, s := range stages {
		r, err := e.verifyStage(timelines, visits, created, s, p, opts)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out.Stages = append(out.Stages, r)
		for _, a := range r.Attribution {
			if a.Key == keys[0] && a.Error == "" {
				credits = append(credits, attribution.Credit{Stage: s + "/" + a.Model, Result: a.Result})
			}
		}
	}
	if len(errs) > 0 {
		return Verification{}, errors.Join(errs...)
	}
	costs := p.Costs
	if costs == nil {
		costs = map[string]float64{}
	}
	if out.ROI, err = attribution.NewROIReport(costs, credits, attribution.ROIOptions{}); err != nil {
		return Verification{}, err
	}
	if len(opts.Functions) > 0 {
		r, err := attribution.NewROIReport(costs, credits, attribution.ROIOptions{GroupBy: opts.Functions})
		if err != nil {
			return Verification{}, err
		}
		out.ROIByFunction = &r
	}
	return out, nil
}

func (p Period) validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("lifecycle: verify: %w: %s", leadkit.ErrInvalid, fmt.Sprintf(format, args...))
	}
	if !leadkit.ValidTime(p.From) || !leadkit.ValidTime(p.To) || !p.From.Before(p.To) {
		return bad("period %s to %s: want From before To, both in %s", p.From.Format(time.RFC3339), p.To.Format(time.RFC3339), leadkit.TimeRange)
	}
	if len(p.Costs) > MaxCostRows {
		return bad("%d cost rows, at most %d", len(p.Costs), MaxCostRows)
	}
	for k, v := range p.Costs {
		if msg := leadkit.CheckText(k, leadkit.MaxNameBytes); msg != "" {
			return bad("cost key %q %s", clip(k), msg)
		}
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return bad("cost of %q is %v: want a finite amount, not negative", clip(k), v)
		}
	}
	return nil
}

// checkVerify checks opts against the machine and returns them with their
// defaults, and the stages to verify.
func checkVerify(machine *stage.Machine, opts VerifyOptions) (VerifyOptions, []string, error) {
	bad := func(format string, args ...any) (VerifyOptions, []string, error) {
		return VerifyOptions{}, nil, fmt.Errorf("lifecycle: verify options: %w: %s", leadkit.ErrInvalid, fmt.Sprintf(format, args...))
	}
	def := machine.Definition()
	var names []string
	for _, s := range def.Stages {
		names = append(names, s.Name)
	}
	stages := opts.Stages
	if stages == nil {
		if fs := machine.FunnelStages(); len(fs) > 1 {
			stages = fs[1:]
		}
	}
	if len(stages) > stage.MaxStages {
		return bad("%d stages, at most %d", len(stages), stage.MaxStages)
	}
	for _, s := range stages {
		if _, ok := def.Stage(s); !ok {
			return bad("stage %q is not a stage of %q%s", clip(s), clip(def.Name), hint(s, names))
		}
	}
	for s, v := range opts.Values {
		if _, ok := def.Stage(s); !ok {
			return bad("values: stage %q is not a stage of %q%s", clip(s), clip(def.Name), hint(s, names))
		}
		if len(v.Types) == 0 || len(v.Types) > MaxTouchTypes || v.Attr == "" || leadkit.CheckText(v.Attr, leadkit.MaxNameBytes) != "" {
			return bad("values of %q: want 1 to %d event types and an attribute name", clip(s), MaxTouchTypes)
		}
	}
	if len(opts.Functions) > MaxCostRows {
		return bad("%d functions, at most %d", len(opts.Functions), MaxCostRows)
	}
	if len(opts.Keys) > 4 {
		return bad("%d keys, at most 4", len(opts.Keys))
	}
	for _, k := range opts.Keys {
		if err := k.Validate(); err != nil {
			return bad("key %q: %v", clip(string(k)), err)
		}
	}
	if opts.MarkovOrder < 0 || opts.MarkovOrder > attribution.MaxMarkovOrder {
		return bad("markov order %d, want 0 to %d", opts.MarkovOrder, attribution.MaxMarkovOrder)
	}
	for _, b := range opts.Buckets {
		if b <= 0 || b > leadkit.MaxDuration {
			return bad("age bucket %s, want above 0 and at most %s", leadkit.FormatDuration(b), leadkit.FormatDuration(leadkit.MaxDuration))
		}
	}
	if opts.Lookback < 0 || opts.Lookback > leadkit.MaxDuration {
		return bad("lookback %s, want 0 to %s", leadkit.FormatDuration(opts.Lookback), leadkit.FormatDuration(leadkit.MaxDuration))
	}
	if len(opts.Keys) == 0 {
		opts.Keys = []attribution.TouchKey{attribution.ByChannel, attribution.ByCampaign}
	}
	return opts, stages, nil
}

// verifyStage computes one stage's result.
func (e *Engine) verifyStage(timelines []journey.Timeline, visits []stage.Visit, created map[string]time.Time, st string, p Period, opts VerifyOptions) (StageResult, error) {
	r := StageResult{Stage: st}
	wrap := func(what string, err error) error {
		return fmt.Errorf("lifecycle: verify %s: %s: %w", clip(st), what, err)
	}
	var err error
	if r.Age, err = journey.SourceAge(timelines, visits, created, st, journey.SourceAgeOptions{From: p.From, To: p.To, Buckets: opts.Buckets}); err != nil {
		return r, wrap("source age", err)
	}
	// The leads whose first visit to the stage falls in the period.
	first := map[string]time.Time{}
	for _, v := range visits {
		if v.Stage != st {
			continue
		}
		if f, ok := first[v.LeadID]; !ok || v.At.Before(f) {
			first[v.LeadID] = v.At
		}
	}
	var inPeriod []stage.Visit
	for _, v := range visits {
		if f, ok := first[v.LeadID]; ok && v.Stage == st && !f.Before(p.From) && f.Before(p.To) {
			inPeriod = append(inPeriod, v)
		}
	}
	if r.Cycle, err = journey.CycleTimes(timelines, inPeriod, st, journey.CycleOptions{Start: journey.FromCreated, Created: created}); err != nil {
		return r, wrap("cycle times", err)
	}
	nurture := opts.Nurture
	nurture.From, nurture.To = p.From, p.To
	if r.Nurture, err = journey.NurturePower(timelines, visits, st, nurture); err != nil {
		return r, wrap("nurture power", err)
	}
	marked, err := attributionJourneys(timelines, visits, first, inPeriod, st, p, opts.EveryEntry)
	if err != nil {
		return r, wrap("attribution", err)
	}
	if v, ok := opts.Values[st]; ok {
		marked = withValues(marked, st, v)
	}
	for _, key := range opts.Keys {
		conv := attribution.Conversion{Types: []string{attribution.StageEventType(st)}, Key: key, Lookback: opts.Lookback, AsOf: p.To}
		if _, ok := opts.Values[st]; ok {
			conv.ValueAttr = valueAttr
		}
		paths, err := attribution.PathsFromTimelines(marked, conv)
		if err != nil && paths == nil {
			return r, wrap("attribution", err)
		}
		for _, m := range []struct {
			name  string
			model attribution.Model
		}{{"last_touch", attribution.LastTouch{}}, {"markov", attribution.Markov{Order: opts.MarkovOrder}}} {
			a := Attribution{Key: key, Model: m.name}
			if a.Result, err = m.model.Attribute(paths); err != nil {
				a.Result, a.Error = attribution.Result{}, err.Error()
			}
			r.Attribution = append(r.Attribution, a)
		}
	}
	return r, nil
}

// attributionJourneys cuts the timelines into the journeys credited for
// the stage: by default the period's first-time converters and the leads
// that had not converted by To (those that converted before From are
// done); with every set, each entry in the period, after the touches
// since the previous entry, and the leads' journeys not ending in an
// entry by To.
func attributionJourneys(timelines []journey.Timeline, visits []stage.Visit, first map[string]time.Time, inPeriod []stage.Visit, st string, p Period, every bool) ([]journey.Timeline, error) {
	if !every {
		var journeys []journey.Timeline
		for _, tl := range timelines {
			if f, ok := first[tl.LeadID]; ok && f.Before(p.From) {
				continue
			}
			journeys = append(journeys, tl)
		}
		return attribution.WithStageEntries(journeys, inPeriod, st)
	}
	var upTo []stage.Visit
	for _, v := range visits {
		if v.Stage == st && v.At.Before(p.To) {
			upTo = append(upTo, v)
		}
	}
	pieces, err := attribution.SplitAtStageEntries(timelines, upTo, st)
	if err != nil {
		return nil, err
	}
	typ := attribution.StageEventType(st)
	kept := pieces[:0]
	for _, tl := range pieces {
		if n := len(tl.Events); n > 0 && tl.Events[n-1].Type == typ && tl.Events[n-1].Time.Before(p.From) {
			continue // an entry before the period
		}
		kept = append(kept, tl)
	}
	return kept, nil
}

// valueAttr is the attribute of the stage markers holding the value.
const valueAttr = "lifecycle_value"

// withValues sets each stage marker's value: the attribute of the lead's
// latest event of the value types at or before the marker.
func withValues(tls []journey.Timeline, st string, v Value) []journey.Timeline {
	typ := attribution.StageEventType(st)
	for i, tl := range tls {
		val, ok := 0.0, false
		for j, ev := range tl.Events {
			if ev.Type == typ {
				if ok {
					evs := slices.Clone(tl.Events)
					evs[j].Attrs = map[string]any{valueAttr: val}
					tls[i].Events = evs
				}
				break
			}
			if slices.Contains(v.Types, ev.Type) {
				if n, err := leadkit.Number(ev.Attrs[v.Attr]); err == nil && n >= 0 {
					val, ok = n, true
				}
			}
		}
	}
	return tls
}
