package scoring

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/leadkit/leadkit"
)

func (m *Model) threshold(name string) (threshold, error) {
	for _, t := range m.thresholds {
		if t.name == name {
			return t, nil
		}
	}
	return threshold{}, fmt.Errorf("scoring: model %q: threshold %q: %w", m.spec.Name, name, leadkit.ErrNotFound)
}

// Comparison is the outcome of scoring the same leads with two models.
type Comparison struct {
	Threshold string `json:"threshold"`
	// Leads holds one entry per lead scored by both models, in input order.
	Leads []LeadDiff `json:"leads"`
	// Up counts leads below the threshold under model a that reach it
	// under b; Down counts the reverse.
	Up   int `json:"up"`
	Down int `json:"down"`
	// MeanAbsDelta is the mean of |B - A| over Leads.
	MeanAbsDelta float64 `json:"mean_abs_delta"`
	// Errors holds the leads either model failed to score, one per
	// failing model and lead.
	Errors []*CompareError `json:"errors"`
}

// CompareError is a lead that one of the compared models failed to score.
//
// In JSON it is an object whose "error" holds Err's message; decoding
// restores Err as an error with that message only (not its type).
type CompareError struct {
	// Index is the lead's position in the input, LeadID its ID.
	Index  int    `json:"index"`
	LeadID string `json:"lead_id"`
	// Model is "a" or "b"; Name and Version identify that model.
	Model   string `json:"model"`
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
	// Err is the scoring error (usually a *RuleError).
	Err error `json:"-"`
}

// compareErrorJSON is CompareError with Err as its message.
type compareErrorJSON struct {
	Index   int    `json:"index"`
	LeadID  string `json:"lead_id"`
	Model   string `json:"model"`
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
	Error   string `json:"error"`
}

// MarshalJSON writes Err as its message.
func (e CompareError) MarshalJSON() ([]byte, error) {
	j := compareErrorJSON{Index: e.Index, LeadID: e.LeadID, Model: e.Model, Name: e.Name, Version: e.Version}
	if e.Err != nil {
		j.Error = e.Err.Error()
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads what MarshalJSON writes; Err becomes an error with
// the message written.
func (e *CompareError) UnmarshalJSON(b []byte) error {
	var j compareErrorJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*e = CompareError{Index: j.Index, LeadID: j.LeadID, Model: j.Model, Name: j.Name, Version: j.Version}
	if j.Error != "" {
		e.Err = errors.New(j.Error)
	}
	return nil
}

// Error names the input, the model and the cause.
func (e *CompareError) Error() string {
	return fmt.Sprintf("scoring: compare: input %d (lead %q): model %s (%s %s): %v", e.Index, e.LeadID, e.Model, e.Name, e.Version, e.Err)
}

// Unwrap returns the scoring error.
func (e *CompareError) Unwrap() error { return e.Err }

// LeadDiff is one lead's score on the threshold's dimension under both
// models.
type LeadDiff struct {
	LeadID   string  `json:"lead_id"`
	A        float64 `json:"a"`
	B        float64 `json:"b"`
	Delta    float64 `json:"delta"`
	ReachedA bool    `json:"reached_a"`
	ReachedB bool    `json:"reached_b"`
}

// Compare scores in with models a and b (e.g. the current and the next
// version) and reports per-lead differences on the named threshold's
// dimension (each model's own threshold of that name) and how many leads
// cross it each way. A lead that fails in either model is listed in Errors
// and does not stop the comparison.
func Compare(a, b *Model, in []Input, thresholdName string) (Comparison, error) {
	ta, err := a.threshold(thresholdName)
	if err != nil {
		return Comparison{}, err
	}
	tb, err := b.threshold(thresholdName)
	if err != nil {
		return Comparison{}, err
	}
	cmp := Comparison{Threshold: thresholdName}
	var ra, rb Result
	var sum float64
	for i := range in {
		errA := a.ScoreInto(&ra, in[i])
		errB := b.ScoreInto(&rb, in[i])
		if errA != nil || errB != nil {
			for k, e := range []error{errA, errB} {
				if e != nil {
					mod := [2]*Model{a, b}[k]
					cmp.Errors = append(cmp.Errors, &CompareError{Index: i, LeadID: in[i].Lead.ID, Model: [2]string{"a", "b"}[k],
						Name: mod.spec.Name, Version: mod.spec.Version, Err: e})
				}
			}
			continue
		}
		d := LeadDiff{LeadID: in[i].Lead.ID, A: ra.Dimensions[ta.dim].Score, B: rb.Dimensions[tb.dim].Score}
		d.Delta = d.B - d.A
		d.ReachedA, d.ReachedB = d.A >= ta.value, d.B >= tb.value
		switch {
		case !d.ReachedA && d.ReachedB:
			cmp.Up++
		case d.ReachedA && !d.ReachedB:
			cmp.Down++
		}
		sum += math.Abs(d.Delta)
		cmp.Leads = append(cmp.Leads, d)
	}
	if len(cmp.Leads) > 0 {
		cmp.MeanAbsDelta = sum / float64(len(cmp.Leads))
	}
	return cmp, nil
}

// Crossing is a moment a lead's score crossed a threshold: Up when it
// reached it, !Up when it fell below (after a negative event, or by decay
// without any event).
type Crossing struct {
	Threshold string    `json:"threshold"`
	Time      time.Time `json:"time,omitzero"`
	Up        bool      `json:"up"`
	// Score is the threshold dimension's score right after the crossing.
	Score float64 `json:"score"`
}

// Crossings replays a lead's events up to in.AsOf and lists every time its
// score crossed the named threshold, including crossings caused by decay
// or expiring windows between events (located to within a millisecond;
// see [Model.NextCrossing] for the resolution of continuous decay).
func (m *Model) Crossings(in Input, thresholdName string) ([]Crossing, error) {
	th, err := m.threshold(thresholdName)
	if err != nil {
		return nil, err
	}
	if err := m.incremental(); err != nil {
		return nil, err
	}
	asOf, err := m.asOf(&in)
	if err != nil {
		return nil, err
	}
	st := m.NewState()
	sc := m.get()
	defer m.put(sc)
	order, err := m.eventOrder(sc, &in)
	if err != nil {
		return nil, err
	}
	sc.lead = in.Lead
	cr := &crosser{m: m, sc: sc, st: &st, th: th}
	var out []Crossing
	var prev bool
	started := false
	var last time.Time
	for k, i := range order {
		ev := &in.Events[i]
		if ev.Time.After(asOf) {
			break
		}
		if !started {
			// The status just before the first event: fit only.
			if prev, _, err = cr.status(ev.Time.UnixNano()); err != nil {
				return nil, err
			}
			started = true
		} else if ev.Time.After(last) {
			if out, prev, err = cr.all(out, last.UnixNano(), ev.Time.UnixNano()-1, prev); err != nil {
				return nil, err
			}
		}
		if err := m.apply(sc, &st, ev); err != nil {
			return nil, err
		}
		last = ev.Time.UTC()
		// Several events at the same instant count as one step.
		if k+1 < len(order) && in.Events[order[k+1]].Time.Equal(ev.Time) {
			continue
		}
		now, v, err := cr.status(ev.Time.UnixNano())
		if err != nil {
			return nil, err
		}
		if now != prev {
			out = append(out, Crossing{Threshold: th.name, Time: last, Up: now, Score: v})
			prev = now
		}
	}
	if started && asOf.After(last) {
		if out, _, err = cr.all(out, last.UnixNano(), asOf.UnixNano(), prev); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// NextCrossing returns when, without new events, the lead's score on the
// named threshold's dimension first changes side of the threshold in
// (from, until]: the time a decaying score drops below MQL, or a window
// expiry of negative points lifts it. ok is false when it does not cross.
// from must not be before st.Updated.
//
// Jumps (window, recency and step expiries) are found exactly; continuous
// change (half-life decay, fit rules on lead.age_days or daysSince) is
// sampled on a grid of at most 256 steps between jumps, no coarser than
// 1/16 of the shortest active half-life when only decay is continuous, so
// two crossings closer than one step may be missed. Crossings are located
// to within a millisecond.
func (m *Model) NextCrossing(st *State, lead leadkit.Lead, thresholdName string, from, until time.Time) (c Crossing, ok bool, err error) {
	th, err := m.threshold(thresholdName)
	if err != nil {
		return Crossing{}, false, err
	}
	if err := m.checkState(st); err != nil {
		return Crossing{}, false, err
	}
	if err := m.checkLead(&lead); err != nil {
		return Crossing{}, false, err
	}
	if !validTime(from) || !validTime(until) {
		return Crossing{}, false, fmt.Errorf("scoring: next crossing: from and until must fall in %s: %w", timeRange, leadkit.ErrInvalid)
	}
	sc := m.get()
	defer m.put(sc)
	sc.lead = lead
	cr := &crosser{m: m, sc: sc, st: st, th: th}
	prev, _, err := cr.status(from.UnixNano())
	if err != nil {
		return Crossing{}, false, err
	}
	return cr.next(from.UnixNano(), until.UnixNano(), prev)
}

// crosser reads one state at many times with one scratch: fit rules are
// evaluated once unless they depend on time, and candidate times live in
// a reused buffer.
type crosser struct {
	m      *Model
	sc     *scratch
	st     *State
	th     threshold
	res    Result
	fitted bool
	cand   []int64
}

// status is whether the score is at or above the threshold at t (ns).
func (cr *crosser) status(t int64) (bool, float64, error) {
	fit := !cr.fitted || cr.m.timeFit
	if err := cr.m.readState(cr.sc, &cr.res, cr.st, time.Unix(0, t), fit); err != nil {
		return false, 0, err
	}
	cr.fitted = true
	v := cr.res.Dimensions[cr.th.dim].Score
	return v >= cr.th.value, v, nil
}

// all appends every crossing in (from, until] without events.
func (cr *crosser) all(out []Crossing, from, until int64, prev bool) ([]Crossing, bool, error) {
	for {
		c, ok, err := cr.next(from, until, prev)
		if err != nil || !ok {
			return out, prev, err
		}
		out = append(out, c)
		prev, from = c.Up, c.Time.UnixNano()
	}
}

// next finds the first crossing in (from, until] (ns) without events.
func (cr *crosser) next(from, until int64, prev bool) (Crossing, bool, error) {
	if until <= from {
		return Crossing{}, false, nil
	}
	m, st := cr.m, cr.st
	// Continuous change (half-life decay, fit rules on time) needs a grid,
	// and the instant before each jump: a decaying score may cross and a
	// jump cross back.
	minHalf := math.Inf(1)
	for i := range m.beh {
		if m.beh[i].dk == decayHalfLife && st.Rules[i].N > 0 {
			minHalf = math.Min(minHalf, m.beh[i].halfLife)
		}
	}
	continuous := m.timeFit || !math.IsInf(minHalf, 1)
	cand := cr.cand[:0]
	add := func(t int64) {
		if t > from && t <= until {
			cand = append(cand, t)
		}
	}
	jump := func(t int64) {
		add(t)
		if continuous {
			add(t - 1)
		}
	}
	// Jumps: window and recency expiries, decay steps.
	for i := range m.beh {
		r, s := &m.beh[i], &st.Rules[i]
		if s.N == 0 {
			continue
		}
		if r.recencyWithin > 0 {
			jump(s.Last + r.recencyWithin)
		}
		switch r.dk {
		case decayWindow:
			jump(s.First + r.window)
			for _, x := range s.Times {
				jump(x + r.window)
			}
		case decaySteps:
			for _, stp := range r.steps {
				jump(time.Unix(0, s.First).UTC().AddDate(0, stp.months, 0).UnixNano())
				for _, x := range s.Times {
					jump(time.Unix(0, x).UTC().AddDate(0, stp.months, 0).UnixNano())
				}
			}
		}
	}
	span := float64(until - from)
	steps := 0.0
	switch {
	case m.timeFit:
		steps = 256
	case continuous:
		steps = math.Min(256, math.Ceil(span/(minHalf/16)))
	}
	for k := 1.0; k < steps; k++ {
		add(from + int64(span*k/steps))
	}
	add(until)
	slices.Sort(cand)
	cand = slices.Compact(cand)
	cr.cand = cand
	lo := from
	for _, t := range cand {
		now, _, err := cr.status(t)
		if err != nil {
			return Crossing{}, false, err
		}
		if now == prev {
			lo = t
			continue
		}
		hi := t
		for hi-lo > int64(time.Millisecond) {
			mid := lo + (hi-lo)/2
			s, _, err := cr.status(mid)
			if err != nil {
				return Crossing{}, false, err
			}
			if s == prev {
				lo = mid
			} else {
				hi = mid
			}
		}
		// Prefer an exact jump inside the final bracket.
		if k, found := slices.BinarySearch(cand, lo+1); k < len(cand) && (found || cand[k] <= hi) {
			if s, _, err := cr.status(cand[k]); err == nil && s != prev {
				hi = cand[k]
			}
		}
		_, v, err := cr.status(hi)
		if err != nil {
			return Crossing{}, false, err
		}
		return Crossing{Threshold: cr.th.name, Time: time.Unix(0, hi).UTC(), Up: !prev, Score: v}, true, nil
	}
	return Crossing{}, false, nil
}

// Target is what "why not yet" measures against: a threshold by name, or a
// band of a dimension.
type Target struct {
	Threshold string `json:"threshold,omitempty"`
	Dimension string `json:"dimension,omitempty"`
	Band      string `json:"band,omitempty"`
}

// Gap tells how far a lead is from a target and which rules could close
// the distance.
type Gap struct {
	Dimension string  `json:"dimension"`
	Score     float64 `json:"score"`
	// Needed is the score the target requires; Missing = Needed - Score
	// (<= 0 when Reached).
	Needed  float64 `json:"needed"`
	Missing float64 `json:"missing"`
	Reached bool    `json:"reached"`
	// Suggestions are the rules that would raise the target dimension if
	// they fired now (a fit rule becoming true, one more occurrence of a
	// behavior rule), best first; Blocked ones are listed with the reason.
	Suggestions []Suggestion `json:"suggestions"`
}

// Suggestion is one rule that could supply points.
type Suggestion struct {
	Dimension string   `json:"dimension"`
	Rule      string   `json:"rule"`
	Kind      RuleKind `json:"kind"`
	// Gain is how much the target dimension would rise (after caps,
	// clamps and derived expressions).
	Gain float64 `json:"gain"`
	// Closes reports whether Gain alone reaches the target.
	Closes bool `json:"closes"`
	// Blocked explains why the rule cannot supply points now
	// (BlockedLimit, BlockedCap); empty when it can.
	Blocked Blocker `json:"blocked,omitempty"`
}

// Blocker is why a [Suggestion]'s rule cannot supply points now.
type Blocker string

// Blockers.
const (
	// BlockedLimit: the rule's frequency limit is used up in the current
	// period.
	BlockedLimit Blocker = "limit"
	// BlockedCap: the rule is at its cap.
	BlockedCap Blocker = "cap"
)

// WhyNot explains how many points the lead in lacks for target at in.AsOf
// and which rules could supply them.
func (m *Model) WhyNot(in Input, target Target) (Gap, error) {
	var dim int
	var needed float64
	switch {
	case target.Threshold != "" && (target.Dimension != "" || target.Band != ""):
		return Gap{}, fmt.Errorf("scoring: why not: set either a threshold or a dimension and band, not both: %w", leadkit.ErrInvalid)
	case target.Threshold == "" && (target.Dimension == "" || target.Band == ""):
		return Gap{}, fmt.Errorf("scoring: why not: set a threshold, or a dimension and a band: %w", leadkit.ErrInvalid)
	case target.Threshold != "":
		th, err := m.threshold(target.Threshold)
		if err != nil {
			return Gap{}, err
		}
		dim, needed = th.dim, th.value
	default:
		di, ok := m.byName[target.Dimension]
		if !ok {
			return Gap{}, fmt.Errorf("scoring: dimension %q: %w", target.Dimension, leadkit.ErrNotFound)
		}
		dim = di
		found := false
		for _, b := range m.dims[di].bands {
			if b.name == target.Band {
				needed, found = b.min, true
			}
		}
		if !found {
			return Gap{}, fmt.Errorf("scoring: dimension %q: band %q: %w", target.Dimension, target.Band, leadkit.ErrNotFound)
		}
	}
	sc := m.get()
	defer m.put(sc)
	sc.lead = in.Lead
	asOfT, err := m.asOf(&in)
	if err != nil {
		return Gap{}, err
	}
	asOf := asOfT.UnixNano()
	sc.c = m.ctx(&sc.lead, asOfT)
	if err := m.fitPass(sc); err != nil {
		return Gap{}, err
	}
	if err := m.eventPass(sc, in.Events, asOfT); err != nil {
		return Gap{}, err
	}
	var res Result
	if err := m.sums(sc, &res, asOfT); err != nil {
		return Gap{}, err
	}
	// Only rules of dimensions that reach the target can help.
	reach := make([]bool, len(m.dims))
	reach[dim] = true
	for stack := []int{dim}; len(stack) > 0; {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, j := range m.dims[i].deps {
			if !reach[j] {
				reach[j] = true
				stack = append(stack, j)
			}
		}
	}
	raw := append([]float64(nil), sc.fresh...)
	vals := append([]float64(nil), raw...)
	if err := m.derive(sc, vals); err != nil {
		return Gap{}, err
	}
	g := Gap{Dimension: m.dims[dim].name, Score: vals[dim], Needed: needed}
	g.Missing = needed - g.Score
	g.Reached = g.Missing <= 0
	gain := func(d int, delta float64) (float64, error) {
		copy(vals, raw)
		vals[d] += delta
		if err := m.derive(sc, vals); err != nil {
			return 0, err
		}
		return vals[dim] - g.Score, nil
	}
	for i := range m.fit {
		f := &m.fit[i]
		if sc.fitOn[i] || f.points <= 0 || !reach[f.dim] {
			continue
		}
		v, err := gain(f.dim, f.points)
		if err != nil {
			return Gap{}, err
		}
		if v > 0 {
			g.Suggestions = append(g.Suggestions, Suggestion{Dimension: m.dims[f.dim].name, Rule: f.name, Kind: KindFit, Gain: v, Closes: v >= g.Missing})
		}
	}
	for i := range m.beh {
		r, a := &m.beh[i], &sc.acc[i]
		pts := r.points
		if a.n == 0 {
			pts += r.bonus
		}
		if pts <= 0 || r.reset || !reach[r.dim] {
			continue
		}
		s := Suggestion{Dimension: m.dims[r.dim].name, Rule: r.name, Kind: KindBehavior}
		if r.limitMax > 0 && a.bucketN >= r.limitMax && bucketKey(r.per, asOf, asOfT) == a.bucket {
			s.Blocked = BlockedLimit
			g.Suggestions = append(g.Suggestions, s)
			continue
		}
		oldF, _ := r.values(a.n, a.fresh, a.life, a.last, asOf)
		newF, _ := r.values(a.n+1, a.fresh+pts, a.life+pts, asOf, asOf)
		if newF-oldF <= 0 {
			s.Blocked = BlockedCap
			g.Suggestions = append(g.Suggestions, s)
			continue
		}
		v, err := gain(r.dim, newF-oldF)
		if err != nil {
			return Gap{}, err
		}
		if v > 0 {
			s.Gain, s.Closes = v, v >= g.Missing
			g.Suggestions = append(g.Suggestions, s)
		}
	}
	sort.SliceStable(g.Suggestions, func(i, j int) bool {
		a, b := g.Suggestions[i], g.Suggestions[j]
		if (a.Blocked == "") != (b.Blocked == "") {
			return a.Blocked == ""
		}
		return a.Gain > b.Gain
	})
	return g, nil
}

// derive clamps the raw dimension sums in vals and evaluates the derived
// dimensions over them, in dependency order.
func (m *Model) derive(sc *scratch, vals []float64) error {
	for _, di := range m.order {
		d := &m.dims[di]
		if d.derived != nil {
			sc.c.Nums = vals
			v, err := float(d.derived, &sc.c, sc.runner)
			sc.c.Nums = nil
			if err != nil {
				return m.runErr(sc, di, "", "expr", err)
			}
			vals[di] = v
		}
		vals[di] = clamp(vals[di], d.min, d.max)
	}
	return nil
}

// RollMethod is how [RollUp] combines an account's contact scores.
type RollMethod string

// Roll-up methods for [Aggregate]. RollUp refuses any other value.
const (
	RollSum    RollMethod = "sum"
	RollMax    RollMethod = "max"
	RollAvgTop RollMethod = "avg_top" // the mean of the N best contacts
)

// Aggregate chooses how an account's score is built from its contacts'.
type Aggregate struct {
	Method RollMethod `json:"method"`
	// N is the number of contacts averaged by RollAvgTop.
	N int `json:"n,omitempty"`
}

// AccountScore is an account's rolled-up score.
type AccountScore struct {
	AccountID string  `json:"account_id"`
	Score     float64 `json:"score"`
	// Contacts is the number of scored contacts of the account.
	Contacts int `json:"contacts"`
}

// RollUp groups results by AccountID (results without one are skipped) and
// combines their scores on dimension: for account-based marketing. The
// output is sorted by account ID.
func RollUp(results []Result, dimension string, agg Aggregate) ([]AccountScore, error) {
	switch agg.Method {
	case RollSum, RollMax:
	case RollAvgTop:
		if agg.N < 1 {
			return nil, fmt.Errorf("scoring: roll-up %s: n must be >= 1: %w", agg.Method, leadkit.ErrInvalid)
		}
	default:
		return nil, fmt.Errorf("scoring: roll-up method %q is not sum, max or avg_top: %w", agg.Method, leadkit.ErrInvalid)
	}
	by := map[string][]float64{}
	for i := range results {
		r := &results[i]
		if r.AccountID == "" {
			continue
		}
		d, ok := r.Dimension(dimension)
		if !ok {
			return nil, fmt.Errorf("scoring: roll-up: lead %q has no dimension %q: %w", r.LeadID, dimension, leadkit.ErrNotFound)
		}
		by[r.AccountID] = append(by[r.AccountID], d.Score)
	}
	out := make([]AccountScore, 0, len(by))
	for id, scores := range by {
		a := AccountScore{AccountID: id, Contacts: len(scores)}
		switch agg.Method {
		case RollSum:
			for _, s := range scores {
				a.Score += s
			}
		case RollMax:
			a.Score = scores[0]
			for _, s := range scores[1:] {
				a.Score = math.Max(a.Score, s)
			}
		case RollAvgTop:
			sort.Sort(sort.Reverse(sort.Float64Slice(scores)))
			n := min(agg.N, len(scores))
			for _, s := range scores[:n] {
				a.Score += s
			}
			a.Score /= float64(n)
		}
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].AccountID < out[j].AccountID })
	return out, nil
}
