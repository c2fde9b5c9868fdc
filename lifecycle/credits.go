package lifecycle

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
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

// skipReason is one journey left out of the attribution.
type skipReason struct {
	lead   string
	piece  int
	reason string
}

// compare orders skip reasons by lead, piece, then text.
func (r skipReason) compare(o skipReason) int {
	return cmp.Or(strings.Compare(r.lead, o.lead), cmp.Compare(r.piece, o.piece), strings.Compare(r.reason, o.reason))
}

// CreditAccumulator computes a stage's attribution (StageResult's
// Attribution, Skipped and SkipReasons) one lead at a time, under the
// accumulator contract of package leadkit: Add a journey.LeadJourney per
// lead, Merge accumulators filled per shard, and read the Result, which
// equals one pass (Verify and ROI are one pass).
//
// Its size does not grow with the leads: it keeps, per key, only what the
// plan's models need. For last touch, the conversions and value credited
// to each channel (at most attribution.MaxChannels channels); for Markov,
// an attribution.MarkovCounts (at most attribution.MaxChannels channels
// and attribution.MaxMarkovStates states, as Markov caps them), solved at
// Result after its canonical encoding numbers channels and states by name,
// so the credit does not depend on the sharding or on the order leads
// were added or merged in (values sum exactly when they are whole numbers
// below 2^53; otherwise up to rounding). A key's model that goes over its
// cap of channels keeps only that mark (its state is dropped) and its
// Result is an error naming the cap, however the leads were split; a
// Markov chain over MaxMarkovStates is MarkovCounts' error. The skip
// reasons kept are the first MaxSkipReasons by lead ID, then by the
// journey's place in the lead's, then by text (a lead ID in two shards
// keeps the same reasons whatever the order of merges); the skipped journeys are counted up to
// MaxCreditCount. It is not safe for concurrent use.
type CreditAccumulator struct {
	stage   string
	plan    CreditPlan
	exits   map[string]bool
	keys    []keyCredit // per key of the plan
	skipped int
	reasons []skipReason // sorted by lead, piece, then reason; distinct; at most MaxSkipReasons
}

// MaxCreditCount caps the journeys a CreditAccumulator counts as skipped
// (and the counts of journey's accumulators that say so): every count up
// to it is exact in float64 and JSON. Add and Merge refuse to go past it
// with an error wrapping leadkit.ErrInvalid, so that every state they
// make encodes and decodes.
const MaxCreditCount = journey.MaxCount

// keyCredit is the credit state of one touch key.
type keyCredit struct {
	// last holds, by channel, the conversions and value last touch
	// credits; nil without last touch or once over (lastOver).
	last     map[string]*[2]float64
	lastOver bool
	// markov holds the chain's counts; nil without markov or once over
	// attribution.MaxChannels channels (markovOver).
	markov     *attribution.MarkovCounts
	markovOver bool
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
	a := &CreditAccumulator{stage: st, plan: plan, exits: map[string]bool{}, keys: make([]keyCredit, len(plan.Keys))}
	a.plan.From, a.plan.To = plan.From.UTC(), plan.To.UTC()
	for _, s := range plan.Exits {
		a.exits[s] = true
	}
	for i := range a.keys {
		if err := a.keys[i].reset(&a.plan); err != nil {
			return bad("%v", err)
		}
	}
	return a, nil
}

// reset empties the key's state for plan.
func (s *keyCredit) reset(plan *CreditPlan) error {
	*s = keyCredit{}
	if slices.Contains(plan.Models, "last_touch") {
		s.last = map[string]*[2]float64{}
	}
	if slices.Contains(plan.Models, "markov") {
		var err error
		if s.markov, err = attribution.NewMarkovCounts(creditMarkov(plan)); err != nil {
			return err
		}
	}
	return nil
}

// creditMarkov is the Markov model of plan.
func creditMarkov(plan *CreditPlan) attribution.Markov {
	return attribution.Markov{Order: plan.MarkovOrder}
}

// Add credits one lead's journeys: its entries into the stage in the
// period, and what did not end in one (see StageResult.Attribution). A
// journey with a bad lead ID, visit or event (of another lead, or failing
// its Validate) is refused with an error wrapping leadkit.ErrInvalid,
// and nothing is counted. A journey attribution refuses (over
// attribution.MaxPathTouches touches, a value that is not a number) is
// skipped and counted, not an error. A journey that would take the
// skipped past MaxCreditCount, or a key's Markov counts past
// journey.MaxCount paths, is refused naming the cap, and nothing is
// counted.
func (a *CreditAccumulator) Add(j journey.LeadJourney) error {
	if err := validJourney(j); err != nil {
		return err
	}
	var tls []journey.Timeline
	if len(j.Events) > 0 {
		// A journey's events need not be sorted (journey.LeadJourney);
		// the cut at stage entries reads them in the library's order.
		tl := j.Timeline
		tl.Events = slices.Clone(j.Events)
		leadkit.SortEvents(tl.Events)
		tls = []journey.Timeline{tl}
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
	var all []attribution.Path
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
				all = append(all, p)
			}
		}
	}
	// PathsFromTimelines returns valid paths; checked here so that
	// nothing below can fail half-way.
	if err := attribution.ValidatePaths(all); err != nil {
		return fmt.Errorf("lifecycle: credit: lead %q: %w", clip(j.LeadID), err)
	}
	if a.skipped > MaxCreditCount-len(skips) {
		return fmt.Errorf("lifecycle: credit: %w: more than %d skipped journeys (MaxCreditCount)", leadkit.ErrInvalid, MaxCreditCount)
	}
	perKey := make([]int, len(a.keys))
	for _, f := range paths {
		perKey[f.key]++
	}
	for k, n := range perKey {
		if m := a.keys[k].markov; m != nil && m.Paths() > journey.MaxCount-n {
			return markovOverCap("")
		}
	}
	for _, f := range paths {
		a.keys[f.key].addPath(&f.path)
	}
	a.skip(skips)
	return nil
}

// markovOverCap is the error of an Add or a Merge (how: "merged, ")
// that would take a key's Markov counts past journey.MaxCount paths.
func markovOverCap(how string) error {
	return fmt.Errorf("lifecycle: credit: %w: %smore than %d Markov paths (journey.MaxCount)", leadkit.ErrInvalid, how, journey.MaxCount)
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

// addPath credits one valid path.
func (s *keyCredit) addPath(p *attribution.Path) {
	if s.last != nil && (p.Conversions != 0 || p.Value != 0) {
		ch := p.Channels[len(p.Channels)-1]
		c := s.last[ch]
		if c == nil {
			c = new([2]float64)
			s.last[ch] = c
		}
		c[0] += p.Conversions
		c[1] += p.Value
		s.checkLast()
	}
	if s.markov != nil {
		_ = s.markov.Add(*p) // valid and within the cap: checked by Add
		s.checkMarkov()
	}
}

// checkLast drops the last-touch sums once they hold more than
// attribution.MaxChannels channels: the result is then an error.
func (s *keyCredit) checkLast() {
	if len(s.last) > attribution.MaxChannels {
		s.last, s.lastOver = nil, true
	}
}

// checkMarkov drops the Markov counts once they hold more than
// attribution.MaxChannels channels (no chain over it can be solved).
func (s *keyCredit) checkMarkov() {
	if s.markov.Channels() > attribution.MaxChannels {
		s.markov, s.markovOver = nil, true
	}
}

// merge adds o's state to s.
func (s *keyCredit) merge(o *keyCredit) {
	if o.lastOver {
		s.last, s.lastOver = nil, true
	}
	if s.last != nil {
		for _, ch := range slices.Sorted(maps.Keys(o.last)) {
			c := s.last[ch]
			if c == nil {
				c = new([2]float64)
				s.last[ch] = c
			}
			c[0] += o.last[ch][0]
			c[1] += o.last[ch][1]
		}
		s.checkLast()
	}
	if o.markovOver {
		s.markov, s.markovOver = nil, true
	}
	if s.markov != nil {
		_ = s.markov.Merge(o.markov) // the same spec (same plan), within the cap (checked by Merge)
		s.checkMarkov()
	}
}

// lastTouch is the last-touch credit of the key.
func (s *keyCredit) lastTouch() (attribution.Result, error) {
	if s.lastOver {
		return attribution.Result{}, fmt.Errorf("lifecycle: credit: last touch: %w: more than %d channels (attribution.MaxChannels)", leadkit.ErrInvalid, attribution.MaxChannels)
	}
	r := attribution.Result{Conversions: make(map[string]float64, len(s.last)), Value: make(map[string]float64, len(s.last))}
	var conv, val float64
	for _, ch := range slices.Sorted(maps.Keys(s.last)) {
		c := s.last[ch]
		r.Conversions[ch], r.Value[ch] = c[0], c[1]
		conv += c[0]
		val += c[1]
	}
	if math.IsInf(conv, 0) || math.IsInf(val, 0) {
		return attribution.Result{}, fmt.Errorf("lifecycle: credit: last touch: %w: credit totals are not finite (conversions %g, value %g)", leadkit.ErrInvalid, conv, val)
	}
	return r, nil
}

// markovCredit solves the key's chain, numbered canonically first (its
// encoding numbers channels and states by name), so that the result does
// not depend on the order paths were added or merged in.
func (s *keyCredit) markovCredit() (attribution.Result, error) {
	if s.markovOver {
		return attribution.Result{}, fmt.Errorf("lifecycle: credit: markov: %w: more than %d channels (attribution.MaxChannels)", leadkit.ErrInvalid, attribution.MaxChannels)
	}
	b, err := s.markov.MarshalBinary()
	if err != nil {
		return attribution.Result{}, err
	}
	var c attribution.MarkovCounts
	if err := c.UnmarshalBinary(b); err != nil {
		return attribution.Result{}, err
	}
	return c.Result()
}

// skip counts skipped journeys and keeps the first reasons.
func (a *CreditAccumulator) skip(rs []skipReason) {
	a.skipped += len(rs)
	if len(rs) == 0 {
		return
	}
	a.reasons = append(a.reasons, rs...)
	slices.SortFunc(a.reasons, skipReason.compare)
	a.reasons = slices.Compact(a.reasons)
	if len(a.reasons) > MaxSkipReasons {
		a.reasons = a.reasons[:MaxSkipReasons]
	}
}

// Merge adds everything other holds; other is not modified. Accumulators
// of different stages or plans (an error wrapping leadkit.ErrMismatch),
// nil, a itself, and a merge that would take the skipped past
// MaxCreditCount or a key's Markov counts past journey.MaxCount paths
// are refused with an error wrapping leadkit.ErrInvalid, and nothing
// changes.
func (a *CreditAccumulator) Merge(other *CreditAccumulator) error {
	if other == nil || other == a {
		return fmt.Errorf("lifecycle: credit: %w: merge needs another accumulator (not nil, not itself)", leadkit.ErrInvalid)
	}
	x, _ := json.Marshal(a.plan)
	y, _ := json.Marshal(other.plan)
	if a.stage != other.stage || string(x) != string(y) {
		return fmt.Errorf("lifecycle: credit: %w: cannot merge accumulators of different stages or plans", leadkit.ErrMismatch)
	}
	if a.skipped > MaxCreditCount-other.skipped {
		return fmt.Errorf("lifecycle: credit: %w: more than %d skipped journeys (MaxCreditCount)", leadkit.ErrInvalid, MaxCreditCount)
	}
	for k := range other.keys {
		if x, y := a.keys[k].markov, other.keys[k].markov; x != nil && y != nil && x.Paths() > journey.MaxCount-y.Paths() {
			return markovOverCap("merged, ")
		}
	}
	for k := range other.keys {
		a.keys[k].merge(&other.keys[k])
	}
	a.skipped += other.skipped - len(other.reasons)
	a.skip(other.reasons)
	return nil
}

// Result returns the credit of everything added so far: per key, each
// model's result (or its error), and the journeys skipped.
func (a *CreditAccumulator) Result() (credits []StageCredit, skipped int, reasons []string) {
	for k, key := range a.plan.Keys {
		for _, name := range a.plan.Models {
			c := StageCredit{Key: key, Model: name}
			var err error
			if name == "markov" {
				c.Result, err = a.keys[k].markovCredit()
			} else {
				c.Result, err = a.keys[k].lastTouch()
			}
			if err != nil {
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
