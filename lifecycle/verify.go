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
	// From is the first instant of the period.
	From time.Time `json:"from"`
	// To is the end of the period (not in it).
	To time.Time `json:"to"`
	// Costs is the cost table: spend per touch key (channel, or the first
	// of VerifyOptions.Keys) in the period. At most MaxCostRows rows,
	// each finite and not negative.
	Costs map[string]float64 `json:"costs,omitempty"`
}

// MaxCostRows caps Period.Costs, VerifyOptions.Functions and the cost
// table of ROIOptions: attribution's cap.
const MaxCostRows = attribution.MaxCostRows

// MaxAgeBuckets caps VerifyOptions.Buckets.
const MaxAgeBuckets = journey.MaxAgeBuckets

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
	// TouchTypes are the event types that can earn credit (at most
	// MaxTouchTypes; empty: every event with a value of the key). Leave
	// out the events that follow a conversion rather than cause it, such
	// as SDR calls and sales follow-ups when marketing's credit is asked.
	TouchTypes []string `json:"touch_types,omitempty"`
	// MarkovOrder is the order of the Markov model (default 1).
	MarkovOrder int `json:"markov_order,omitempty"`
	// Functions rolls keys up into marketing functions for a second ROI
	// report ("webinar" -> "events", "paid_search" -> "paid").
	Functions map[string]string `json:"functions,omitempty"`
	// Nurture selects the touches whose nurture power is measured (by
	// content by default; every event type unless Types is set). Its
	// period is the verified one.
	Nurture journey.NurtureOptions `json:"nurture,omitzero"`
	// Values gives a stage's conversions a value for ROI (a won deal's
	// amount): see Value.
	Values map[string]Value `json:"values,omitempty"`
}

// Value says where the value of a conversion into a stage comes from: the
// attribute Attr of the latest of the lead's events of one of Types that
// belong to the entry. An event belongs to the latest entry at or before
// it (the first entry also takes those before it), so a deal_won event a
// little after the Won entry counts, and counts once. Its value must be a
// number (leadkit.Number), not negative.
type Value struct {
	// Types are the event types that carry the value (at most
	// MaxTouchTypes).
	Types []string `json:"types"`
	// Attr is the attribute that holds it.
	Attr string `json:"attr"`
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
	// From is the period's first instant.
	From time.Time `json:"from"`
	// To is the period's end (not in it).
	To time.Time `json:"to"`
	// Leads counts the engine's leads.
	Leads int `json:"leads"`
	// Timelines counts the subjects with events (prospects included).
	Timelines int `json:"timelines"`
	// Funnel is the stage funnel of the leads that reached its first
	// stage in the period: stage-to-stage conversion and times.
	Funnel stage.FunnelResult `json:"funnel"`
	// Stages verifies each stage of VerifyOptions.Stages, in that order.
	Stages []StageResult `json:"stages"`
	// ROI joins the credit (last touch and Markov, per stage, for the
	// first touch key) with the cost table per key.
	ROI attribution.ROIReport `json:"roi"`
	// ROIByFunction rolls ROI up by VerifyOptions.Functions (absent
	// without them).
	ROIByFunction *attribution.ROIReport `json:"roi_by_function,omitempty"`
}

// StageResult verifies one stage over the period.
type StageResult struct {
	// Stage is the stage verified.
	Stage string `json:"stage"`
	// Age splits the leads that reached the stage in the period into new
	// and old leads (created before From), by age buckets, first time or
	// repeat, with the touch mix of each group before converting.
	Age journey.SourceAgeResult `json:"age"`
	// Cycle is the time from creation to the stage, for the same leads
	// (to their first entry in the period). Past 1,024 leads its medians
	// and percentiles are a sketch's, within 1% of the exact ones (see
	// journey.CycleTimes).
	Cycle journey.CycleResult `json:"cycle"`
	// Nurture is the nurture power of each content touched in the period.
	Nurture []journey.ContentPower `json:"nurture"`
	// Phases groups content by the funnel phase it serves (acquisition,
	// nurture, sales) over every lead's history, with the conversions that
	// followed (journey.ContentPhases; touches of VerifyOptions.Nurture's
	// types, else TouchTypes). Empty for a stage outside the funnel order
	// (Recycled, Lost), as is OldLeads.
	Phases journey.ContentPhasesResult `json:"phases"`
	// OldLeads compares the old leads (created before From) that reached
	// the stage in the period with those that did not, on the nurture
	// touches each received in the 90 days before (journey.OldLeadNurture,
	// the same touch types).
	OldLeads journey.OldLeadNurtureResult `json:"old_leads"`
	// Attribution credits the period's entries into the stage to each
	// touch key, by last touch and by Markov: every entry (a recycled
	// lead's repeat MQL too) is a conversion, credited to the touches
	// since the lead's previous entry; the journeys of the period that
	// did not end in an entry (leads with an event in the period) are the
	// non-converting ones.
	Attribution []StageCredit `json:"attribution"`
	// Skipped counts the journeys left out of the attribution: one over
	// attribution.MaxPathTouches touches (set a Lookback), a value that is
	// not a number.
	Skipped int `json:"skipped,omitempty"`
	// SkipReasons says why, for the first MaxSkipReasons of them (by lead
	// ID, then by the journey's place among the lead's).
	SkipReasons []string `json:"skip_reasons,omitempty"`
}

// MaxSkipReasons caps StageResult.SkipReasons.
const MaxSkipReasons = 10

// StageCredit is one model's credit for one touch key.
type StageCredit struct {
	// Key is the touch field credited (channel, campaign...).
	Key attribution.TouchKey `json:"key"`
	// Model is "last_touch" or "markov".
	Model string `json:"model"`
	// Result is the credit per key value.
	Result attribution.Result `json:"result"`
	// Error says why the model could not be solved (a cap of the Markov
	// model; more than attribution.MaxChannels key values, for either
	// model), if so; Result is then empty.
	Error string `json:"error,omitempty"`
}

// Credit returns the result of a model ("last_touch" or "markov") for a
// key, if computed.
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
	funnel, err := e.machine.NewFunnel(stage.FunnelOptions{From: p.From, To: p.To})
	if err != nil {
		return Verification{}, err
	}
	snap, err := e.snapshot(ctx, funnel.AddHistory)
	if err != nil {
		return Verification{}, err
	}
	out.Leads = len(snap.created)
	out.Funnel = funnel.Result()
	out.Timelines = len(snap.timelines)

	var credits []attribution.Credit
	var errs []error
	for _, s := range stages {
		r, err := e.verifyStage(snap, s, p, opts)
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
	sum := 0.0
	for k, v := range p.Costs {
		if msg := leadkit.CheckText(k, leadkit.MaxNameBytes); msg != "" {
			return bad("cost key %q %s", clip(k), msg)
		}
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return bad("cost of %q is %v: want a finite amount, not negative", clip(k), v)
		}
		sum += v
	}
	if math.IsInf(sum, 0) {
		return bad("the costs add up to more than a float64 holds")
	}
	return nil
}

// checkVerify checks opts against the machine and returns them with their
// defaults, and the stages to verify.
func checkVerify(machine *stage.Machine, opts VerifyOptions) (VerifyOptions, []string, error) {
	bad := func(format string, args ...any) (VerifyOptions, []string, error) {
		return VerifyOptions{}, nil, fmt.Errorf("lifecycle: verify options: %w: %s", leadkit.ErrInvalid, fmt.Sprintf(format, args...))
	}
	stages := opts.Stages
	if stages == nil {
		if fs := machine.FunnelStages(); len(fs) > 1 {
			stages = fs[1:]
		}
	}
	if msg := checkStages(machine, stages); msg != "" {
		return bad("%s", msg)
	}
	if msg := checkValues(machine, opts.Values); msg != "" {
		return bad("%s", msg)
	}
	if msg := checkFunctions(opts.Functions); msg != "" {
		return bad("%s", msg)
	}
	if len(opts.TouchTypes) > MaxTouchTypes {
		return bad("touch types: %d event types, at most %d", len(opts.TouchTypes), MaxTouchTypes)
	}
	for _, t := range opts.TouchTypes {
		if msg := leadkit.CheckText(t, leadkit.MaxNameBytes); t == "" || msg != "" {
			return bad("touch types: event type %q %s", clip(t), msg)
		}
	}
	if len(opts.Nurture.Types) > MaxTouchTypes {
		return bad("nurture: %d event types, at most %d", len(opts.Nurture.Types), MaxTouchTypes)
	}
	for _, t := range opts.Nurture.Types {
		if msg := leadkit.CheckText(t, leadkit.MaxNameBytes); t == "" || msg != "" {
			return bad("nurture: event type %q %s", clip(t), msg)
		}
	}
	if opts.Nurture.By != "" {
		if err := attribution.TouchKey(opts.Nurture.By).Validate(); err != nil {
			return bad("nurture: by %q: %v", clip(string(opts.Nurture.By)), err)
		}
	}
	if opts.Nurture.Window < 0 || opts.Nurture.Window > leadkit.MaxDuration {
		return bad("nurture: window %s, want 0 to %s", leadkit.FormatDuration(opts.Nurture.Window), leadkit.FormatDuration(leadkit.MaxDuration))
	}
	if len(opts.Buckets) > MaxAgeBuckets {
		return bad("%d age buckets, at most %d", len(opts.Buckets), MaxAgeBuckets)
	}
	if len(opts.Keys) > 4 {
		return bad("%d keys, at most 4", len(opts.Keys))
	}
	for i, k := range opts.Keys {
		if err := k.Validate(); err != nil {
			return bad("key %q: %v", clip(string(k)), err)
		}
		if slices.Contains(opts.Keys[:i], k) {
			return bad("key %q listed twice", clip(string(k)))
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

// snapshot is what Verify and ROI read from the engine's stores: each
// lead's creation time, the stage visits (stage.Reach added), and every
// timeline.
type snapshot struct {
	created   map[string]time.Time
	visits    []stage.Visit
	timelines []journey.Timeline
	journeys  []journey.LeadJourney // by leadJourneys, once
	jerr      error
	joined    bool
}

// leadJourneys is journey.Journeys of the snapshot, made once.
func (s *snapshot) leadJourneys() ([]journey.LeadJourney, error) {
	if !s.joined {
		s.journeys, s.jerr = journey.Journeys(s.timelines, s.visits, s.created)
		s.joined = true
	}
	return s.journeys, s.jerr
}

// snapshot reads the stores once, passing each stage history to
// onHistory (if not nil) as well.
func (e *Engine) snapshot(ctx context.Context, onHistory func([]stage.Entry) error) (*snapshot, error) {
	s := &snapshot{created: map[string]time.Time{}}
	if err := e.states.Scan(ctx, func(st LeadState) error {
		s.created[st.LeadID] = st.Lead.CreatedAt
		return nil
	}); err != nil {
		return nil, err
	}
	if err := stage.ScanHistories(ctx, e.machine.Store(), e.machine.Pipeline(), func(k stage.Key, h []stage.Entry) error {
		if onHistory != nil {
			if err := onHistory(h); err != nil {
				return err
			}
		}
		s.visits = append(s.visits, stage.Visits(h)...)
		return nil
	}); err != nil {
		return nil, err
	}
	var err error
	if s.visits, err = stage.Reach(s.visits, e.machine.FunnelStages()); err != nil {
		return nil, err
	}
	if s.timelines, err = journey.Timelines(ctx, e.events); err != nil {
		return nil, err
	}
	return s, nil
}

// verifyModels are the models Verify credits each stage with, by name.
var verifyModels = []string{"last_touch", "markov"}

// checkStages says what is wrong with a list of stages to report on, ""
// if nothing.
func checkStages(machine *stage.Machine, stages []string) string {
	def := machine.Definition()
	if len(stages) > stage.MaxStages {
		return fmt.Sprintf("%d stages, at most %d", len(stages), stage.MaxStages)
	}
	for i, s := range stages {
		if _, ok := def.Stage(s); !ok {
			return fmt.Sprintf("stage %q is not a stage of %q%s", clip(s), clip(def.Name), hint(s, stageNames(def)))
		}
		if slices.Contains(stages[:i], s) {
			return fmt.Sprintf("stage %q listed twice", clip(s))
		}
	}
	return ""
}

func stageNames(def stage.Definition) []string {
	var names []string
	for _, s := range def.Stages {
		names = append(names, s.Name)
	}
	return names
}

// checkValues says what is wrong with the values of stage entries, ""
// if nothing.
func checkValues(machine *stage.Machine, values map[string]Value) string {
	def := machine.Definition()
	for s, v := range values {
		if _, ok := def.Stage(s); !ok {
			return fmt.Sprintf("values: stage %q is not a stage of %q%s", clip(s), clip(def.Name), hint(s, stageNames(def)))
		}
		if msg := checkValue(s, v); msg != "" {
			return msg
		}
	}
	return ""
}

// checkValue says what is wrong with the value of entries into stage s,
// "" if nothing.
func checkValue(s string, v Value) string {
	if len(v.Types) == 0 || len(v.Types) > MaxTouchTypes || v.Attr == "" || leadkit.CheckText(v.Attr, leadkit.MaxNameBytes) != "" {
		return fmt.Sprintf("values of %q: want 1 to %d event types and an attribute name", clip(s), MaxTouchTypes)
	}
	for _, t := range v.Types {
		if msg := leadkit.CheckText(t, leadkit.MaxNameBytes); t == "" || msg != "" {
			return fmt.Sprintf("values of %q: event type %q %s", clip(s), clip(t), msg)
		}
	}
	return ""
}

// checkFunctions says what is wrong with a map of keys to functions, ""
// if nothing.
func checkFunctions(functions map[string]string) string {
	if len(functions) > MaxCostRows {
		return fmt.Sprintf("%d functions, at most %d", len(functions), MaxCostRows)
	}
	for k, v := range functions {
		for _, x := range []string{k, v} {
			if msg := leadkit.CheckText(x, leadkit.MaxNameBytes); x == "" || msg != "" {
				return fmt.Sprintf("functions: %q %s", clip(x), msg)
			}
		}
	}
	return ""
}

// verifyStage computes one stage's result.
// StagePlan holds the options of the mergeable per-lead aggregates Verify
// computes for one stage: the new vs old leads that reached it
// (journey.SourceAge), their cycle time (journey.CycleTimes), the nurture
// power of content (journey.NurturePower), content by funnel phase
// (journey.ContentPhases) and the old leads' nurture
// (journey.OldLeadNurture), and the stage's attribution (a
// CreditAccumulator's). It is data (JSON),
// so that the same aggregates can be run partitioned, one accumulator per
// shard of journey.LeadJourney (the beam module does), and equal Verify's.
type StagePlan struct {
	// Stage is the stage verified.
	Stage string `json:"stage"`
	// Age are the options of StageResult.Age.
	Age journey.SourceAgeOptions `json:"age"`
	// Cycle are the options of StageResult.Cycle: measured from creation
	// to the first entry into the stage in the period. Its Created is not
	// part of the plan: a journey.LeadJourney carries its lead's creation
	// time (Verify passes the leads' to journey.CycleTimes).
	Cycle journey.CycleOptions `json:"cycle"`
	// Nurture are the options of StageResult.Nurture: VerifyOptions.Nurture
	// over the period (its From and To).
	Nurture journey.NurtureOptions `json:"nurture"`
	// Phases are the options of StageResult.Phases; nil for a stage
	// outside the funnel order (Recycled, Lost), which has none.
	Phases *journey.ContentPhaseOptions `json:"phases,omitempty"`
	// OldLeads are the options of StageResult.OldLeads; nil when Phases
	// is.
	OldLeads *journey.OldLeadNurtureOptions `json:"old_leads,omitempty"`
	// Attribution is the plan of StageResult.Attribution, Skipped and
	// SkipReasons (a CreditAccumulator's); VerifyPlan always sets it, nil
	// asks for no attribution.
	Attribution *CreditPlan `json:"attribution,omitempty"`
}

// VerifyPlan returns the StagePlan of each stage Verify verifies for the
// period, in the order of VerifyOptions.Stages: the options Verify passes
// to journey.SourceAge, journey.CycleTimes, journey.NurturePower,
// journey.ContentPhases and journey.OldLeadNurture, and the CreditPlan of
// its attribution.
func (e *Engine) VerifyPlan(p Period) ([]StagePlan, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	out := make([]StagePlan, 0, len(e.verifyStages))
	for _, st := range e.verifyStages {
		out = append(out, e.stagePlan(st, p))
	}
	return out, nil
}

// stagePlan is the StagePlan of stage st over p.
func (e *Engine) stagePlan(st string, p Period) StagePlan {
	opts := e.verify
	plan := StagePlan{Stage: st, Age: journey.SourceAgeOptions{From: p.From, To: p.To, Buckets: opts.Buckets},
		Cycle: journey.CycleOptions{Start: journey.FromCreated, From: p.From, To: p.To}}
	plan.Nurture = opts.Nurture
	plan.Nurture.Types = slices.Clone(opts.Nurture.Types)
	plan.Nurture.From, plan.Nurture.To = p.From, p.To
	credit := e.creditPlan(st, p, opts.Keys, verifyModels, opts)
	plan.Attribution = &credit
	order := e.machine.FunnelStages()
	if !slices.Contains(order, st) {
		// Phases and old-lead nurture place touches by the funnel order:
		// a stage outside it (Recycled, Lost) has no phases.
		return plan
	}
	touches := opts.Nurture.Types
	if len(touches) == 0 {
		touches = opts.TouchTypes
	}
	plan.Phases = &journey.ContentPhaseOptions{Order: order, Types: touches}
	// Lost and disqualified leads cannot convert: they are left out of
	// the old leads compared.
	var closed []string
	for _, s := range e.machine.Definition().Stages {
		if s.Category == stage.Closed {
			closed = append(closed, s.Name)
		}
	}
	plan.OldLeads = &journey.OldLeadNurtureOptions{From: p.From, To: p.To, Order: order, Types: touches, Closed: closed}
	return plan
}

func (e *Engine) verifyStage(snap *snapshot, st string, p Period, opts VerifyOptions) (StageResult, error) {
	timelines, visits, created := snap.timelines, snap.visits, snap.created
	r := StageResult{Stage: st}
	wrap := func(what string, err error) error {
		return fmt.Errorf("lifecycle: verify %s: %s: %w", clip(st), what, err)
	}
	plan := e.stagePlan(st, p)
	var err error
	if r.Age, err = journey.SourceAge(timelines, visits, created, st, plan.Age); err != nil {
		return r, wrap("source age", err)
	}
	// The entries into the stage in the period are the conversions.
	cycle := plan.Cycle
	cycle.Created = created
	if r.Cycle, err = journey.CycleTimes(timelines, visits, st, cycle); err != nil {
		return r, wrap("cycle times", err)
	}
	if r.Nurture, err = journey.NurturePower(timelines, visits, st, plan.Nurture); err != nil {
		return r, wrap("nurture power", err)
	}
	if plan.Phases != nil {
		if r.Phases, err = journey.ContentPhases(timelines, visits, created, st, *plan.Phases); err != nil {
			return r, wrap("content phases", err)
		}
		if r.OldLeads, err = journey.OldLeadNurture(timelines, visits, created, st, *plan.OldLeads); err != nil {
			return r, wrap("old-lead nurture", err)
		}
	}
	if err := stageCredits(snap, st, *plan.Attribution, &r); err != nil {
		return r, wrap("attribution", err)
	}
	return r, nil
}

// stageCredits credits the period's entries into stage st to each key of
// the plan by each of its models ("last_touch", "markov"), appending the results
// to r.Attribution and the journeys left out to r.Skipped: Verify's
// attribution, which ROI reads per period as well. It is one pass of a
// CreditAccumulator of the stage's CreditPlan over the leads' journeys.
func stageCredits(snap *snapshot, st string, plan CreditPlan, r *StageResult) error {
	a, err := NewCreditAccumulator(st, plan)
	if err != nil {
		return err
	}
	js, err := snap.leadJourneys()
	if err != nil {
		return err
	}
	for _, j := range js {
		if err := a.Add(j); err != nil {
			return err
		}
	}
	credits, skipped, reasons := a.Result()
	r.Attribution = append(r.Attribution, credits...)
	r.Skipped += skipped
	for _, reason := range reasons {
		if len(r.SkipReasons) < MaxSkipReasons {
			r.SkipReasons = append(r.SkipReasons, reason)
		}
	}
	return nil
}

// exits gives, per lead, the times (before to, ascending) it left the
// funnel for a stage it can come back from: visits to non-terminal stages
// outside the funnel order (recycled, lost). A disqualified lead cannot
// convert again.
func exits(visits []stage.Visit, def stage.Definition, order []string, to time.Time) map[string][]time.Time {
	out := map[string][]time.Time{}
	for _, v := range visits {
		if st, ok := def.Stage(v.Stage); ok && st.Terminal {
			continue
		}
		if v.At.Before(to) && !slices.Contains(order, v.Stage) {
			out[v.LeadID] = append(out[v.LeadID], v.At)
		}
	}
	for _, ts := range out {
		slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
	}
	return out
}

// attributionJourneys cuts the timelines into the journeys credited for
// the stage: each entry in the period, after the touches since the lead's
// previous entry, marked as a conversion (with its value); and the
// journeys that could have ended in an entry by To and did not, if they
// have an event in the period: a lead that never entered the stage, or
// one that left the funnel (recycled, lost) after its last entry, from
// then on. A lead still in or past the stage cannot convert into it, so
// its events after the entry are no journey.
func attributionJourneys(timelines []journey.Timeline, upTo []stage.Visit, exits map[string][]time.Time, st string, p Period, values map[string]Value) ([]journey.Timeline, error) {
	pieces, err := attribution.SplitAtStageEntries(timelines, upTo, st)
	if err != nil {
		return nil, err
	}
	typ := attribution.StageEventType(st)
	v, valued := values[st]
	byLead := map[string][]leadkit.Event{}
	if valued {
		for _, tl := range timelines {
			byLead[tl.LeadID] = tl.Events
		}
	}
	var out []journey.Timeline
	for i, tl := range pieces {
		n := len(tl.Events)
		if n == 0 {
			continue
		}
		last := &tl.Events[n-1]
		if last.Type != typ {
			// Not converted by To. After an entry (the piece follows one
			// of the lead's), only what came after the lead left the
			// funnel could have converted.
			if i > 0 && pieces[i-1].LeadID == tl.LeadID {
				entry := pieces[i-1].Events[len(pieces[i-1].Events)-1].Time
				x := exits[tl.LeadID]
				j, _ := slices.BinarySearchFunc(x, entry, func(a, b time.Time) int { return a.Compare(b) })
				for j < len(x) && !x[j].After(entry) {
					j++
				}
				if j == len(x) {
					continue // still in or past the stage
				}
				k := 0
				for k < n && !tl.Events[k].Time.After(x[j]) {
					k++
				}
				tl = journey.Timeline{LeadID: tl.LeadID, Events: tl.Events[k:]}
			}
			if slices.ContainsFunc(tl.Events, func(ev leadkit.Event) bool { return !ev.Time.Before(p.From) && ev.Time.Before(p.To) }) {
				out = append(out, tl)
			}
			continue
		}
		if last.Time.Before(p.From) {
			continue // an entry before the period
		}
		if valued {
			// Each value event belongs to the latest entry at or before
			// it (the first entry takes those before it): so a deal won a
			// little after its Won entry counts, once.
			prev, next := time.Time{}, p.To
			if i > 0 && pieces[i-1].LeadID == tl.LeadID {
				if pn := len(pieces[i-1].Events); pn > 0 && pieces[i-1].Events[pn-1].Type == typ {
					prev = pieces[i-1].Events[pn-1].Time
				}
			}
			if i+1 < len(pieces) && pieces[i+1].LeadID == tl.LeadID {
				if nn := len(pieces[i+1].Events); nn > 0 && pieces[i+1].Events[nn-1].Type == typ {
					next = pieces[i+1].Events[nn-1].Time
				}
			}
			from := last.Time
			if prev.IsZero() {
				from = time.Time{} // the first entry: from the lead's start
			}
			val, ok := valueBetween(byLead[tl.LeadID], v, from, next)
			if !ok {
				val = 0.0 // a conversion with no value event of its own
			}
			last.Attrs = map[string]any{valueAttr: val}
		}
		out = append(out, tl)
	}
	return out, nil
}

// valueAttr is the attribute of the stage markers holding the value.
const valueAttr = "lifecycle_value"

// valueBetween is the value of the latest event of v.Types at or after
// from (zero: any) and before `before`.
func valueBetween(evs []leadkit.Event, v Value, from, before time.Time) (any, bool) {
	var val any
	ok := false
	for _, ev := range evs {
		if ev.Time.Before(from) || !ev.Time.Before(before) {
			continue
		}
		if slices.Contains(v.Types, ev.Type) {
			if x, has := ev.Attrs[v.Attr]; has {
				val, ok = x, true
			}
		}
	}
	return val, ok
}
