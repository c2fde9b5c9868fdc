package lifecycle

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/attribution"
	"github.com/leadkit/leadkit/internal/spec"
	"github.com/leadkit/leadkit/journey"
	"github.com/leadkit/leadkit/stage"
)

// CreditPlan holds the options of a stage's attribution
// (StageResult.Attribution, Skipped and SkipReasons): what Verify and ROI
// credit the period's entries into the stage with. It is data (JSON,
// durations as text), so that the same credit can be computed
// partitioned, one CreditAccumulator per shard of journey.LeadJourney.
type CreditPlan struct {
	// From and To are the period.
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Order is the funnel order (stage.Machine.FunnelStages()).
	Order []string `json:"order"`
	// Exits are the stages outside the funnel order a lead can come back
	// from (recycled, lost; not a terminal stage): after leaving for one,
	// a lead that had entered the stage can convert into it again.
	Exits []string `json:"exits,omitempty"`
	// Keys are the touch fields credited (VerifyOptions.Keys, filled in),
	// 1 to 4; Skipped counts the journeys the first refuses.
	Keys []attribution.TouchKey `json:"keys"`
	// Models are "last_touch" and/or "markov", each run per key.
	Models []string `json:"models"`
	// MarkovOrder, Lookback and TouchTypes are VerifyOptions'.
	MarkovOrder int           `json:"markov_order,omitempty"`
	Lookback    time.Duration `json:"lookback,omitempty"`
	TouchTypes  []string      `json:"touch_types,omitempty"`
	// Value is where a conversion's value comes from (VerifyOptions.Values
	// of the stage), if anywhere.
	Value *Value `json:"value,omitempty"`
}

// MarshalJSON writes the lookback as text ("90d").
func (c CreditPlan) MarshalJSON() ([]byte, error) { return spec.EncodeDurations(c) }

// UnmarshalJSON reads the lookback as text; a bare number and an unknown
// key are errors wrapping leadkit.ErrInvalid.
func (c *CreditPlan) UnmarshalJSON(b []byte) error {
	return spec.DecodeDurations(b, c, "lifecycle: credit plan: ")
}

// creditPlan is the CreditPlan of stage st over p, for keys and models.
func (e *Engine) creditPlan(st string, p Period, keys []attribution.TouchKey, models []string, opts VerifyOptions) CreditPlan {
	order := e.machine.FunnelStages()
	c := CreditPlan{From: p.From.UTC(), To: p.To.UTC(), Order: slices.Clone(order), Keys: slices.Clone(keys), Models: slices.Clone(models),
		MarkovOrder: opts.MarkovOrder, Lookback: opts.Lookback, TouchTypes: slices.Clone(opts.TouchTypes)}
	for _, s := range e.machine.Definition().Stages {
		if !s.Terminal && !slices.Contains(order, s.Name) {
			c.Exits = append(c.Exits, s.Name)
		}
	}
	if v, ok := opts.Values[st]; ok {
		c.Value = &Value{Types: slices.Clone(v.Types), Attr: v.Attr}
	}
	return c
}

// creditKey is a path's channels as a map key (NUL bytes between them:
// no valid key value holds one).
func creditKey(channels []string) string { return strings.Join(channels, "\x00") }

// skipReason is one journey left out of the attribution.
type skipReason struct {
	lead   string
	piece  int
	reason string
}

// CreditAccumulator computes a stage's attribution (StageResult's
// Attribution, Skipped and SkipReasons) one lead at a time, under the
// accumulator contract of package leadkit: Add a journey.LeadJourney per
// lead, Merge accumulators filled per shard, and read the Result, which
// equals one pass (Verify and ROI are one pass). It keeps, per key, the
// table of distinct paths with their conversions, value and nulls summed,
// and runs the models on the table in canonical order (by channels) at
// Result, so the credit does not depend on the sharding (values sum
// exactly when they are whole numbers below 2^53; otherwise up to
// rounding). A table over attribution.MaxPaths distinct paths is a
// model's error, as a Markov chain over its caps is. The skip reasons
// kept are the first MaxSkipReasons by lead ID, then by the journey's
// place in the lead's. It is not safe for concurrent use.
type CreditAccumulator struct {
	stage   string
	plan    CreditPlan
	exits   map[string]bool
	tables  []map[string]*attribution.Path // per key
	skipped int
	reasons []skipReason // sorted by lead, then piece; at most MaxSkipReasons
}

// NewCreditAccumulator validates the plan and returns an empty
// accumulator. Errors wrap leadkit.ErrInvalid.
func NewCreditAccumulator(st string, plan CreditPlan) (*CreditAccumulator, error) {
	bad := func(format string, args ...any) (*CreditAccumulator, error) {
		return nil, fmt.Errorf("lifecycle: credit plan: %w: %s", leadkit.ErrInvalid, fmt.Sprintf(format, args...))
	}
	if msg := leadkit.CheckText(st, leadkit.MaxNameBytes); st == "" || msg != "" {
		return bad("stage %q %s", clip(st), cmp.Or(msg, "is empty"))
	}
	if !leadkit.ValidTime(plan.From) || !leadkit.ValidTime(plan.To) || !plan.From.Before(plan.To) {
		return bad("period %s to %s: want From before To, both in %s", plan.From.Format(time.RFC3339), plan.To.Format(time.RFC3339), leadkit.TimeRange)
	}
	if _, err := stage.Reach(nil, plan.Order); err != nil || len(plan.Order) == 0 {
		return bad("order: want the funnel order (stage.Machine.FunnelStages())")
	}
	if len(plan.Exits) > stage.MaxStages {
		return bad("%d exits, at most %d", len(plan.Exits), stage.MaxStages)
	}
	for _, s := range plan.Exits {
		if msg := leadkit.CheckText(s, leadkit.MaxNameBytes); s == "" || msg != "" || slices.Contains(plan.Order, s) {
			return bad("exit %q: want a stage outside the funnel order", clip(s))
		}
	}
	if len(plan.Keys) == 0 || len(plan.Keys) > 4 {
		return bad("%d keys, want 1 to 4", len(plan.Keys))
	}
	for i, k := range plan.Keys {
		if err := k.Validate(); err != nil {
			return bad("key %q: %v", clip(string(k)), err)
		}
		if slices.Contains(plan.Keys[:i], k) {
			return bad("key %q listed twice", clip(string(k)))
		}
	}
	if len(plan.Models) == 0 || len(plan.Models) > len(verifyModels) {
		return bad("%d models, want 1 to %d", len(plan.Models), len(verifyModels))
	}
	for i, m := range plan.Models {
		if !slices.Contains(verifyModels, m) || slices.Contains(plan.Models[:i], m) {
			return bad("model %q: want last_touch or markov, once", clip(m))
		}
	}
	if plan.MarkovOrder < 0 || plan.MarkovOrder > attribution.MaxMarkovOrder {
		return bad("markov order %d, want 0 to %d", plan.MarkovOrder, attribution.MaxMarkovOrder)
	}
	if plan.Lookback < 0 || plan.Lookback > leadkit.MaxDuration {
		return bad("lookback %s, want 0 to %s", leadkit.FormatDuration(plan.Lookback), leadkit.FormatDuration(leadkit.MaxDuration))
	}
	if len(plan.TouchTypes) > MaxTouchTypes {
		return bad("touch types: %d event types, at most %d", len(plan.TouchTypes), MaxTouchTypes)
	}
	for _, t := range plan.TouchTypes {
		if msg := leadkit.CheckText(t, leadkit.MaxNameBytes); t == "" || msg != "" {
			return bad("touch types: event type %q %s", clip(t), msg)
		}
	}
	if plan.Value != nil {
		if msg := checkValue(st, *plan.Value); msg != "" {
			return bad("%s", msg)
		}
	}
	a := &CreditAccumulator{stage: st, plan: plan, exits: map[string]bool{}, tables: make([]map[string]*attribution.Path, len(plan.Keys))}
	a.plan.From, a.plan.To = plan.From.UTC(), plan.To.UTC()
	for _, s := range plan.Exits {
		a.exits[s] = true
	}
	for i := range a.tables {
		a.tables[i] = map[string]*attribution.Path{}
	}
	return a, nil
}

// Add credits one lead's journeys: its entries into the stage in the
// period, and what did not end in one (see StageResult.Attribution). A
// journey with a bad lead ID, visit or event (of another lead, or failing
// its Validate) is refused with an error wrapping leadkit.ErrInvalid,
// and nothing is counted. A journey attribution refuses (over
// attribution.MaxPathTouches touches, a value that is not a number) is
// skipped and counted, not an error.
func (a *CreditAccumulator) Add(j journey.LeadJourney) error {
	if err := validJourney(j); err != nil {
		return err
	}
	var tls []journey.Timeline
	if len(j.Events) > 0 {
		tls = []journey.Timeline{j.Timeline}
	}
	var upTo []stage.Visit
	var ex []time.Time
	for _, v := range j.Visits {
		if v.Stage == a.stage && v.At.Before(a.plan.To) {
			upTo = append(upTo, v)
		}
		if a.exits[v.Stage] && v.At.Before(a.plan.To) {
			ex = append(ex, v.At)
		}
	}
	slices.SortFunc(ex, func(x, y time.Time) int { return x.Compare(y) })
	var values map[string]Value
	if a.plan.Value != nil {
		values = map[string]Value{a.stage: *a.plan.Value}
	}
	pieces, err := attributionJourneys(tls, upTo, map[string][]time.Time{j.LeadID: ex}, a.stage, Period{From: a.plan.From, To: a.plan.To}, values)
	if err != nil {
		return err
	}
	type found struct {
		key  int
		path attribution.Path
	}
	var paths []found
	var skips []skipReason
	for k, key := range a.plan.Keys {
		conv := a.conversion(key)
		for i, piece := range pieces {
			ps, err := attribution.PathsFromTimelines([]journey.Timeline{piece}, conv)
			if err != nil {
				var te *attribution.TimelineError
				if !errors.As(err, &te) {
					return err
				}
				if k == 0 {
					skips = append(skips, skipReason{lead: j.LeadID, piece: i, reason: err.Error()})
				}
			}
			for _, p := range ps {
				paths = append(paths, found{k, p})
			}
		}
	}
	for _, f := range paths {
		a.addPath(f.key, f.path)
	}
	a.skip(skips)
	return nil
}

// validJourney checks what Add needs of a journey: a valid lead ID,
// visits and events that pass their Validate and are of the lead.
func validJourney(j journey.LeadJourney) error {
	if err := leadkit.ValidateID("lead ID", j.LeadID); err != nil {
		return fmt.Errorf("lifecycle: credit: journey: %w", err)
	}
	var errs []error
	for i, v := range j.Visits {
		if err := v.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("lifecycle: credit: lead %q: visit %d: %w", clip(j.LeadID), i, err))
		} else if v.LeadID != j.LeadID {
			errs = append(errs, fmt.Errorf("lifecycle: credit: lead %q: visit %d: %w: the visit is of lead %q", clip(j.LeadID), i, leadkit.ErrInvalid, clip(v.LeadID)))
		}
	}
	for i, e := range j.Events {
		if e.LeadID != "" && e.LeadID != j.LeadID {
			errs = append(errs, fmt.Errorf("lifecycle: credit: lead %q: event %d: %w: the event is of lead %q", clip(j.LeadID), i, leadkit.ErrInvalid, clip(e.LeadID)))
			continue
		}
		if e.Time.IsZero() {
			continue
		}
		e.LeadID = j.LeadID
		if err := e.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("lifecycle: credit: lead %q: event %d: %w", clip(j.LeadID), i, err))
		}
	}
	return errors.Join(errs...)
}

// conversion is the conversion credited for key.
func (a *CreditAccumulator) conversion(key attribution.TouchKey) attribution.Conversion {
	conv := attribution.Conversion{Types: []string{attribution.StageEventType(a.stage)}, Key: key, Lookback: a.plan.Lookback, AsOf: a.plan.To, TouchTypes: a.plan.TouchTypes}
	if a.plan.Value != nil {
		conv.ValueAttr = valueAttr
	}
	return conv
}

func (a *CreditAccumulator) addPath(k int, p attribution.Path) {
	id := creditKey(p.Channels)
	t := a.tables[k][id]
	if t == nil {
		a.tables[k][id] = &attribution.Path{Channels: slices.Clone(p.Channels), Conversions: p.Conversions, Value: p.Value, Nulls: p.Nulls}
		return
	}
	t.Conversions += p.Conversions
	t.Value += p.Value
	t.Nulls += p.Nulls
}

// skip counts skipped journeys and keeps the first reasons.
func (a *CreditAccumulator) skip(rs []skipReason) {
	a.skipped += len(rs)
	if len(rs) == 0 {
		return
	}
	a.reasons = append(a.reasons, rs...)
	slices.SortFunc(a.reasons, func(x, y skipReason) int {
		return cmp.Or(strings.Compare(x.lead, y.lead), cmp.Compare(x.piece, y.piece))
	})
	a.reasons = slices.CompactFunc(a.reasons, func(x, y skipReason) bool { return x.lead == y.lead && x.piece == y.piece })
	if len(a.reasons) > MaxSkipReasons {
		a.reasons = a.reasons[:MaxSkipReasons]
	}
}

// Merge adds everything other holds; other is not modified. Accumulators
// of different stages or plans, nil and a itself are refused with an
// error wrapping leadkit.ErrInvalid, and nothing changes.
func (a *CreditAccumulator) Merge(other *CreditAccumulator) error {
	if other == nil || other == a {
		return fmt.Errorf("lifecycle: credit: %w: merge needs another accumulator (not nil, not itself)", leadkit.ErrInvalid)
	}
	x, _ := json.Marshal(a.plan)
	y, _ := json.Marshal(other.plan)
	if a.stage != other.stage || string(x) != string(y) {
		return fmt.Errorf("lifecycle: credit: %w: cannot merge accumulators of different stages or plans", leadkit.ErrInvalid)
	}
	for k, t := range other.tables {
		for _, id := range slices.Sorted(maps.Keys(t)) {
			a.addPath(k, *t[id])
		}
	}
	a.skipped += other.skipped - len(other.reasons)
	a.skip(other.reasons)
	return nil
}

// Result returns the credit of everything added so far: per key, each
// model's result (or its error), and the journeys skipped.
func (a *CreditAccumulator) Result() (credits []StageCredit, skipped int, reasons []string) {
	for k, key := range a.plan.Keys {
		paths := make([]attribution.Path, 0, len(a.tables[k]))
		for _, p := range a.tables[k] {
			paths = append(paths, attribution.Path{Channels: slices.Clone(p.Channels), Conversions: p.Conversions, Value: p.Value, Nulls: p.Nulls})
		}
		slices.SortFunc(paths, func(x, y attribution.Path) int { return slices.Compare(x.Channels, y.Channels) })
		for _, name := range a.plan.Models {
			var model attribution.Model = attribution.LastTouch{}
			if name == "markov" {
				model = attribution.Markov{Order: a.plan.MarkovOrder}
			}
			c := StageCredit{Key: key, Model: name}
			var err error
			if c.Result, err = model.Attribute(paths); err != nil {
				c.Result, c.Error = attribution.Result{}, err.Error()
			}
			credits = append(credits, c)
		}
	}
	for _, r := range a.reasons {
		reasons = append(reasons, r.reason)
	}
	return credits, a.skipped, reasons
}
