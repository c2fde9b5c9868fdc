package scoring

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/lang"
	"github.com/leadkit/leadkit/internal/text"
)

// Input is everything a score depends on besides the model: a score is a
// pure function of (model, lead, events, as-of time), so replaying a past
// date is scoring with an earlier AsOf. Events after AsOf are ignored;
// events need not be sorted (equal times keep their order).
//
// Event times and AsOf must fall in the years 1900 to 2149 (a zero time is
// an error): decay arithmetic stays exact in that range, and a missing
// time fails the lead instead of counting as an occurrence 2,000 years
// old.
type Input struct {
	Lead   leadkit.Lead
	Events []leadkit.Event
	// AsOf is the time the score is computed at; zero means now, read from
	// Options.Now (time.Now by default). Set it to score deterministically.
	AsOf time.Time
}

// Result is a lead's score: one entry per dimension in model order, the
// matrix cell, the thresholds and the rules that fired.
type Result struct {
	LeadID    string    `json:"lead_id"`
	AccountID string    `json:"account_id,omitempty"`
	AsOf      time.Time `json:"as_of,omitzero"`
	// Dimensions holds every dimension in model order.
	Dimensions []DimensionScore `json:"dimensions"`
	// Cell is the matrix cell such as "A1" ("" without a matrix or when a
	// dimension has no band).
	Cell string `json:"cell,omitempty"`
	// Thresholds holds every threshold of the model in model order.
	Thresholds []ThresholdStatus `json:"thresholds"`
	// Hits lists each rule that contributes points to the fresh score, fit
	// rules first, in model order, then the set rules in range (applied
	// last); their points add up to each rule dimension's Raw within the
	// rounding of their own sum ((n+2)·2^-52 of their magnitudes). A
	// change-score operation is a hit of its own, with what it changed:
	// the multiply rules' points are what the rules give minus what they
	// would give without the multiplies (each multiply what its
	// occurrences changed, less what the caps undid of it since; see the
	// package doc), those rules' hits
	// what they would give without them; a set rule's its value minus
	// what the rules gave before it. A
	// behavior rule whose occurrences all decayed or expired (or whose
	// points are 0) is left out; its lifetime points still count in
	// DimensionScore.Lifetime.
	Hits []Hit `json:"hits"`
}

// DimensionScore is the score of one dimension. Score is the fresh score
// (with decay and windows); Lifetime ignores decay, windows and recency.
type DimensionScore struct {
	Name     string  `json:"name"`
	Score    float64 `json:"score"`
	Lifetime float64 `json:"lifetime"`
	// Band is the grade of Score ("" when the dimension has no bands).
	Band string `json:"band,omitempty"`
	// Raw and RawLifetime are the scores before the dimension's floor and
	// cap (Min, Max) and the bound ±MaxPoints: the sum of its rules'
	// points, or its expression's value. Score - Raw is what the clamp
	// took or added.
	Raw         float64 `json:"raw"`
	RawLifetime float64 `json:"raw_lifetime"`
}

// ThresholdStatus tells whether a lead reached a threshold.
type ThresholdStatus struct {
	Name      string  `json:"name"`
	Dimension string  `json:"dimension"`
	Value     float64 `json:"value"`
	Reached   bool    `json:"reached"`
}

// RuleKind tells a fit rule from a behavior rule in [Hit] and
// [Suggestion].
type RuleKind string

// Rule kinds.
const (
	KindFit      RuleKind = "fit"
	KindBehavior RuleKind = "behavior"
)

// Hit is one rule that fired and what it contributed (after its cap).
type Hit struct {
	Dimension string   `json:"dimension"`
	Rule      string   `json:"rule"`
	Kind      RuleKind `json:"kind"`
	// Points is the contribution to the fresh score, Lifetime to the
	// lifetime score.
	Points   float64 `json:"points"`
	Lifetime float64 `json:"lifetime"`
	// Count is the number of counted occurrences since the last reset (1
	// for fit rules; for a count rule, all of them, not only those in its
	// window).
	Count int `json:"count"`
}

// Dimension returns the score of the named dimension.
func (r *Result) Dimension(name string) (DimensionScore, bool) {
	for _, d := range r.Dimensions {
		if d.Name == name {
			return d, true
		}
	}
	return DimensionScore{}, false
}

// Reached reports whether the named threshold is reached.
func (r *Result) Reached(threshold string) bool {
	for _, t := range r.Thresholds {
		if t.Name == threshold {
			return t.Reached
		}
	}
	return false
}

// scratch is the per-goroutine working memory of scoring; pooled in the
// model so the steady state allocates nothing.
type scratch struct {
	c      lang.Ctx
	lead   leadkit.Lead
	ev     leadkit.Event
	runner *lang.Runner
	order  []int32
	ids    []idSlot // open-addressing table of the repeated-ID check
	dup    []bool
	rules  []RuleState // the full pass's rule states
	pred   []bool
	fresh  []float64
	life   []float64
	// rawF and rawL are the dimensions' scores before the floor and cap.
	rawF, rawL []float64
	fitOn      []bool
	// fitPts are the points of the fit rules that hold; pts the points
	// of the current event for the rules with PointsExpr.
	fitPts []float64
	pts    []float64
	// opF and opL are, per behavior rule, what multiply rules changed of
	// its decayed and lifetime points at the as-of time (for a multiply
	// rule: what it changed of all the others).
	opF, opL []float64
	// opForgot is, per multiply rule, the size of the banks it made the
	// rules forget above their caps, decayed to the read.
	opForgot []float64
	// Per dimension: opLast is the multiply rule that takes what the
	// other parts leave of the sum (-1: none), opHit its hit's index,
	// partF and partL the sums of the dimension's parts.
	opLast, opHit []int32
	partF, partL  []float64
	// idProbes counts the table probes of the last repeated-ID check.
	idProbes int
}

func (m *Model) newScratch() *scratch {
	return &scratch{
		runner:   lang.NewRunner(m.lim),
		rules:    make([]RuleState, len(m.beh)),
		pred:     make([]bool, len(m.preds)),
		fresh:    make([]float64, len(m.dims)),
		life:     make([]float64, len(m.dims)),
		rawF:     make([]float64, len(m.dims)),
		rawL:     make([]float64, len(m.dims)),
		fitOn:    make([]bool, len(m.fit)),
		fitPts:   make([]float64, len(m.fit)),
		pts:      make([]float64, len(m.beh)),
		opF:      make([]float64, len(m.beh)),
		opForgot: make([]float64, len(m.beh)),
		opL:      make([]float64, len(m.beh)),
		opLast:   make([]int32, len(m.dims)),
		opHit:    make([]int32, len(m.dims)),
		partF:    make([]float64, len(m.dims)),
		partL:    make([]float64, len(m.dims)),
	}
}

func (m *Model) get() *scratch { return m.pool.Get().(*scratch) }

func (m *Model) put(sc *scratch) {
	sc.lead = leadkit.Lead{}
	sc.ev = leadkit.Event{}
	sc.c = lang.Ctx{}
	m.pool.Put(sc)
}

// Score computes a lead's score. A rule that fails at run time (a custom
// field of the wrong type, a derived expression yielding NaN) makes it
// return a *RuleError naming the lead and the rule.
func (m *Model) Score(in Input) (Result, error) {
	var res Result
	err := m.ScoreInto(&res, in)
	return res, err
}

// ScoreInto is Score writing into dst, reusing dst's slices: with a reused
// dst it allocates nothing in the steady state.
func (m *Model) ScoreInto(dst *Result, in Input) error {
	sc := m.get()
	defer m.put(sc)
	return m.scoreInto(sc, dst, &in)
}

func validTime(t time.Time) bool { return leadkit.ValidTime(t) }

const timeRange = leadkit.TimeRange

// asOf resolves an input's as-of time: zero means m.now().
func (m *Model) asOf(in *Input) (time.Time, error) {
	t := in.AsOf
	if t.IsZero() {
		t = m.now()
	}
	if !validTime(t) {
		return time.Time{}, &RuleError{LeadID: in.Lead.ID, Part: "as-of time", Msg: fmt.Sprintf("%s is outside %s", t.UTC().Format(time.RFC3339), timeRange)}
	}
	return t.UTC(), nil
}

// eventTimeErr is the error of an event whose time is zero or implausible.
func eventTimeErr(leadID string, ev *leadkit.Event) error {
	msg := "time is zero"
	if !ev.Time.IsZero() {
		msg = fmt.Sprintf("time %s is outside %s", ev.Time.UTC().Format(time.RFC3339), timeRange)
	}
	return &RuleError{LeadID: leadID, Part: fmt.Sprintf("event %q", ev.ID), Msg: msg}
}

// ctx is the expression context of a lead at asOf.
func (m *Model) ctx(lead *leadkit.Lead, asOf time.Time) lang.Ctx {
	return lang.Ctx{Lead: lead, AsOf: asOf, Caps: m.lim.Caps()}
}

func (m *Model) scoreInto(sc *scratch, dst *Result, in *Input) error {
	if err := m.checkLead(&in.Lead); err != nil {
		return err
	}
	sc.lead = in.Lead
	asOf, err := m.asOf(in)
	if err != nil {
		return err
	}
	sc.c = m.ctx(&sc.lead, asOf)

	if err := m.fitPass(sc); err != nil {
		return err
	}
	if err := m.eventPass(sc, in.Events, asOf); err != nil {
		return err
	}
	return m.finish(sc, sc.rules, dst, asOf)
}

// fitPass evaluates the fit rules into sc.fitOn.
func (m *Model) fitPass(sc *scratch) error {
	for i := range m.fit {
		f := &m.fit[i]
		ok, err := f.prog.Bool(&sc.c, sc.runner)
		if err != nil {
			return m.runErr(sc, f.dim, f.name, "when", err)
		}
		sc.fitOn[i] = ok
		sc.fitPts[i] = f.points
		if ok && f.pts != nil {
			v, err := float(f.pts, &sc.c, sc.runner)
			if err != nil {
				return m.runErr(sc, f.dim, f.name, "points_expr", err)
			}
			sc.fitPts[i] = capTo(v, f.cap)
		} else if ok {
			sc.fitPts[i] = capTo(f.points, f.cap)
		}
	}
	return nil
}

func (m *Model) runErr(sc *scratch, dim int, rule, part string, err error) error {
	return exprError(&RuleError{LeadID: sc.lead.ID, Dimension: m.dims[dim].name, Rule: rule, Part: part}, err)
}

// checkEvents validates a lead's events (every time in range; every LeadID
// empty or the lead's own) and reports whether they can be taken as given:
// in time order, no ID repeated. When not, sc.order lists the indices to
// take: sorted by time (stably), and only the first occurrence of each
// event ID, as a store keeps one event per ID. It allocates nothing in the
// steady state.
func (m *Model) checkEvents(sc *scratch, leadID string, evs []leadkit.Event) (asGiven bool, err error) {
	if len(evs) > MaxEvents {
		return false, &RuleError{LeadID: leadID, Part: "events", Msg: fmt.Sprintf("%d events, the limit is %d", len(evs), MaxEvents)}
	}
	sorted, dups := true, false
	// The repeated-ID check, fused into the validation loop: the quick
	// hash into an open-addressing table (see ids.go). A slot holds
	// index+1 of the first event with an ID and the hash's high bits, so
	// most mismatches skip the string comparison.
	ids := sc.idTable(len(evs))
	mask := uint64(len(ids) - 1)
	budget := idBudget(len(evs))
	for i := range evs {
		e := &evs[i]
		if e.LeadID != leadID && e.LeadID != "" {
			return false, &RuleError{LeadID: leadID, Part: fmt.Sprintf("event %q", text.Clip(e.ID, 64)), Msg: fmt.Sprintf("belongs to lead %q, not to this lead", text.Clip(e.LeadID, 64))}
		}
		if len(e.ID) > leadkit.MaxIDBytes {
			return false, &RuleError{LeadID: leadID, Part: fmt.Sprintf("event %d", i+1), Msg: fmt.Sprintf("ID is %d bytes, the limit is %d", len(e.ID), leadkit.MaxIDBytes)}
		}
		if i > 0 && e.Time.Before(evs[i-1].Time) {
			sorted = false
		}
		if e.ID == "" || budget <= 0 {
			continue
		}
		hash := quickHash(e.ID)
		fp := uint32(hash >> 32)
		for h := hash & mask; budget > 0; h = (h + 1) & mask {
			budget--
			slot := ids[h]
			if slot.idx == 0 {
				ids[h] = idSlot{idx: int32(i + 1), fp: fp}
				break
			}
			if slot.fp == fp && evs[slot.idx-1].ID == e.ID {
				sc.markRepeat(i, len(evs), &dups)
				break
			}
		}
	}
	sc.idProbes = idBudget(len(evs)) - budget
	if budget <= 0 {
		// IDs collide under the quick hash: start over with the full one
		// (the marks found so far are found again).
		dups = sc.repeatsFull(evs)
	}
	// Times in range: in sorted events the first and last bound the rest.
	if n := len(evs); n > 0 && (!sorted || !validTime(evs[0].Time) || !validTime(evs[n-1].Time)) {
		for i := range evs {
			if !validTime(evs[i].Time) {
				return false, eventTimeErr(leadID, &evs[i])
			}
		}
	}
	if sorted && !dups {
		return true, nil
	}
	sc.order = sc.order[:0]
	for i := range evs {
		if !dups || !sc.dup[i] {
			sc.order = append(sc.order, int32(i))
		}
	}
	if !sorted {
		slices.SortStableFunc(sc.order, func(a, b int32) int { return evs[a].Time.Compare(evs[b].Time) })
	}
	return false, nil
}

func resetBools(b []bool, n int) []bool {
	if cap(b) < n {
		return make([]bool, n)
	}
	b = b[:n]
	clear(b)
	return b
}

// eventOrder is checkEvents returning the indices to take, in a new slice.
func (m *Model) eventOrder(sc *scratch, in *Input) ([]int, error) {
	if err := m.checkLead(&in.Lead); err != nil {
		return nil, err
	}
	asGiven, err := m.checkEvents(sc, in.Lead.ID, in.Events)
	if err != nil {
		return nil, err
	}
	order := make([]int, 0, len(in.Events))
	if asGiven {
		for i := range in.Events {
			order = append(order, i)
		}
		return order, nil
	}
	for _, i := range sc.order {
		order = append(order, int(i))
	}
	return order, nil
}

// checkLead refuses a lead without an ID or with an ID over
// leadkit.MaxIDBytes: results and errors name the lead by it.
func (m *Model) checkLead(l *leadkit.Lead) error {
	if l.ID == "" {
		return &RuleError{Part: "lead", Msg: "lead has no ID"}
	}
	if msg := leadkit.CheckText(l.ID, leadkit.MaxIDBytes); msg != "" {
		return &RuleError{LeadID: text.Clip(l.ID, 64), Part: "lead", Msg: "ID " + msg}
	}
	return nil
}

// eventPass is the fused pass: each event is dispatched by type to the
// rules that name it; each distinct predicate is evaluated once per event.
func (m *Model) eventPass(sc *scratch, evs []leadkit.Event, asOfT time.Time) error {
	resetRules(sc.rules)
	asGiven, err := m.checkEvents(sc, sc.lead.ID, evs)
	if err != nil || len(m.beh) == 0 {
		return err
	}
	asOf := asOfT.UnixNano()
	if asGiven {
		for i := range evs {
			if err := m.event(sc, &evs[i], asOf); err != nil {
				return err
			}
		}
		return nil
	}

	for _, i := range sc.order {
		if err := m.event(sc, &evs[i], asOf); err != nil {
			return err
		}
	}
	return nil
}

// dispatch returns the route of events of type typ.
func (m *Model) dispatch(typ string) *route {
	if len(m.routes) > 0 {
		if id := m.types.lookup(typ); id >= 0 {
			return &m.routes[id]
		}
	}
	return &m.anyRoute
}

// evalPreds evaluates the predicates of one event into sc.pred.
func (m *Model) evalPreds(sc *scratch, ev *leadkit.Event, rules, preds []int32) error {
	sc.c.Event = ev
	for _, p := range preds {
		if m.predDated != nil && m.predDated[p] && !m.predActive(p, ev.Time.UnixNano()) {
			// Every rule reading it is outside its dates at this event:
			// as if their types excluded it, the predicate is not run.
			sc.pred[p] = false
			continue
		}
		ok, err := m.preds[p].Bool(&sc.c, sc.runner)
		if err != nil {
			err = m.predErr(sc, ev, p, rules, err)
			sc.c.Event = nil
			return err
		}
		sc.pred[p] = ok
	}
	sc.c.Event = nil
	return nil
}

// predErr reports a predicate failing on an event: it names the first rule
// the event was dispatched to that uses the predicate, and the others.
func (m *Model) predErr(sc *scratch, ev *leadkit.Event, p int32, rules []int32, err error) error {
	var names []string
	first := -1
	for _, ri := range rules {
		if m.beh[ri].pred == p {
			if first < 0 {
				first = int(ri)
			} else {
				names = append(names, fmt.Sprintf("%q", m.beh[ri].name))
			}
		}
	}
	r := &m.beh[first]
	re := m.runErr(sc, r.dim, r.name, fmt.Sprintf("when (event %q)", ev.ID), err).(*RuleError)
	if len(names) > 0 {
		re.Msg += fmt.Sprintf(" (the same predicate serves rules %s)", strings.Join(names, ", "))
	}
	return re
}

func (m *Model) event(sc *scratch, ev *leadkit.Event, asOf int64) error {
	t := ev.Time.UnixNano()
	if t > asOf {
		return nil
	}
	rt := m.dispatch(ev.Type)
	rules := rt.rules
	if len(rules) == 0 {
		return nil
	}
	if len(rt.preds) > 0 {
		if err := m.evalPreds(sc, ev, rules, rt.preds); err != nil {
			return err
		}
	}
	if len(rt.pts) > 0 {
		if err := m.evalPoints(sc, ev, rt); err != nil {
			return err
		}
	}
	m.count(sc, sc.rules, rt, t, asOf)
	return nil
}

// evalPoints evaluates the points of one event for the rules of its route
// with PointsExpr (those whose predicate holds) into sc.pts.
func (m *Model) evalPoints(sc *scratch, ev *leadkit.Event, rt *route) error {
	sc.c.Event = ev
	defer func() { sc.c.Event = nil }()
	for _, ri := range rt.pts {
		r := &m.beh[ri]
		if t := ev.Time.UnixNano(); (r.pred >= 0 && !sc.pred[r.pred]) || t < r.from || t >= r.to {
			continue
		}
		v, err := float(r.pts, &sc.c, sc.runner)
		if err != nil {
			re := m.runErr(sc, r.dim, r.name, "points_expr", err)
			if e, ok := re.(*RuleError); ok {
				e.Msg = fmt.Sprintf("event %q: %s", text.Clip(ev.ID, 64), e.Msg)
			}
			return re
		}
		sc.pts[ri] = v
	}
	return nil
}

func clamp(v, lo, hi float64) float64 {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}

// finish sums the fit rules and the behavior rule states rs into
// dimensions, evaluates derived dimensions,
// and writes the result.
func (m *Model) finish(sc *scratch, rs []RuleState, dst *Result, asOfT time.Time) error {
	if err := m.sums(sc, rs, dst, asOfT); err != nil {
		return err
	}
	return m.finishDims(sc, dst, asOfT)
}

func finiteF(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// sums adds the fit points and the capped values of the rule states rs
// at asOfT into the raw
// (unclamped) dimension sums sc.fresh and sc.life, and lists the hits. A
// rule value that is not finite is an error naming the rule (it cannot
// happen with validated times and points; the check keeps it so).
func (m *Model) sums(sc *scratch, rs []RuleState, dst *Result, asOfT time.Time) error {
	asOf := asOfT.UnixNano()
	clear(sc.fresh)
	clear(sc.life)
	// hits is appended to in a local (dst.Hits through the pointer
	// would be loaded and stored at every append).
	hits := dst.Hits[:0]
	for i := range m.fit {
		if sc.fitOn[i] {
			f, pts := &m.fit[i], sc.fitPts[i]
			sc.fresh[f.dim] += pts
			sc.life[f.dim] += pts
			if pts != 0 {
				hits = append(hits, Hit{Dimension: m.dims[f.dim].name, Rule: f.name, Kind: KindFit, Points: pts, Lifetime: pts, Count: 1})
			}
		}
	}
	if m.mult {
		m.opShares(sc, rs, asOf)
		clear(sc.partF)
		clear(sc.partL)
		for f := range m.fit {
			if sc.fitOn[f] {
				sc.partF[m.fit[f].dim] += sc.fitPts[f]
				sc.partL[m.fit[f].dim] += sc.fitPts[f]
			}
		}
	}
	sets := false
	for i := range m.beh {
		s := &rs[i]
		r := &m.beh[i]
		if r.multiply {
			// The largest multiply part is listed until the rounding is
			// in (below): it may take some.
			latest := m.mult && int(sc.opLast[r.dim]) == i
			if f, l := sc.opF[i], sc.opL[i]; f != 0 || l != 0 || latest {
				sc.partF[r.dim] += f
				sc.partL[r.dim] += l
				if latest {
					sc.opHit[r.dim] = int32(len(hits))
				}
				hits = append(hits, Hit{Dimension: m.dims[r.dim].name, Rule: r.name, Kind: KindBehavior, Points: f, Lifetime: l, Count: int(s.N)})
			}
			continue
		}
		if s.N == 0 && !(r.isCount && r.countMin == 0) {
			continue
		}
		if r.set {
			sets = true // applied after the sums
			continue
		}
		fresh, life := r.value(s, asOf)
		if !finiteF(fresh) || !finiteF(life) {
			dst.Hits = hits
			return &RuleError{LeadID: sc.lead.ID, Dimension: m.dims[r.dim].name, Rule: r.name, Msg: fmt.Sprintf("rule value is not finite (%v, lifetime %v)", fresh, life)}
		}
		sc.fresh[r.dim] += fresh
		sc.life[r.dim] += life
		if m.mult {
			// The multiplies' changes are their parts, not the rule's.
			fresh -= sc.opF[i]
			life -= sc.opL[i]
			sc.partF[r.dim] += fresh
			sc.partL[r.dim] += life
		}
		if fresh != 0 {
			if len(hits) < cap(hits) {
				// In place: the literal appended would be built and
				// copied (a measurable share of a read).
				hits = hits[:len(hits)+1]
				h := &hits[len(hits)-1]
				h.Dimension, h.Rule, h.Kind = m.dims[r.dim].name, r.name, KindBehavior
				h.Points, h.Lifetime, h.Count = fresh, life, int(s.N)
			} else {
				hits = append(hits, Hit{Dimension: m.dims[r.dim].name, Rule: r.name, Kind: KindBehavior, Points: fresh, Lifetime: life, Count: int(s.N)})
			}
		}
	}
	if m.mult {
		// The largest multiply part of a dimension also takes what
		// rounding leaves between its parts and its sum (the rules' points
		// summed, as the score is): the parts then add up to the score
		// within the rounding of their own sum.
		zero := false
		for di := range m.dims {
			if h := sc.opHit[di]; h >= 0 {
				hits[h].Points += sc.fresh[di] - sc.partF[di]
				hits[h].Lifetime += sc.life[di] - sc.partL[di]
				zero = zero || hits[h].Points == 0 && hits[h].Lifetime == 0
			}
		}
		if zero {
			// A multiply that changed nothing is no part (the only
			// hits of nothing so far are these).
			hits = slices.DeleteFunc(hits, func(h Hit) bool { return h.Points == 0 && h.Lifetime == 0 })
		}
	}
	if sets {
		// Set rules last, in model order: while its count is in range, a
		// set rule makes its dimension's score its points, whatever the
		// other rules gave (the last such rule wins). Its part is what
		// it changed: its points minus the sum before it.
		for i := range m.beh {
			r := &m.beh[i]
			if !r.set {
				continue
			}
			s := &rs[i]
			var n float64
			if s.N > 0 {
				n = r.freshAt(s, asOf)
			}
			var fresh, life float64
			on := r.inRange(n)
			if on {
				fresh = r.countPts - sc.fresh[r.dim]
				sc.fresh[r.dim] = r.countPts
			}
			if r.inRange(s.Lifetime) {
				life = r.countPts - sc.life[r.dim]
				sc.life[r.dim] = r.countPts
			}
			if on || life != 0 {
				hits = append(hits, Hit{Dimension: m.dims[r.dim].name, Rule: r.name, Kind: KindBehavior, Points: fresh, Lifetime: life, Count: int(s.N)})
			}
		}
	}
	dst.Hits = hits
	return nil
}

// opShares fills sc.opF and sc.opL from the states rs read at asOf
// (ns). Per scaled rule, what the multiplies changed of its points now:
// its points (r.value) minus what it would give without them, its own
// part (its banked points less its OpsValue, decayed alike, plus its
// recency bonus, within its cap: exactly what its occurrences gave).
// Per multiply rule, what its occurrences changed of what the rules
// showed, less what the caps undid of it at later counts (its Ops, each
// class decayed with its half-life; see countScaled). The two sum the
// same changes grouped two ways, and differ by what decay did across the
// caps since: a bank a factor forgot would have kept a decaying rule at
// its cap longer. That difference is shared among the dimension's
// multiplies in proportion to the banks they made the rules forget (or,
// when none did, to their changes; all of it to the latest multiply
// other than x1 when none changed anything), so the parts add up.
// sc.opLast is then the multiply with the largest part (at equal size,
// the latest), which also takes the rounding of the sums. A dimension
// whose multiplies have no usable Ops lists the changes as the rules'
// own.
func (m *Model) opShares(sc *scratch, rs []RuleState, asOf int64) {
	clear(sc.opF)
	clear(sc.opL)
	clear(sc.opForgot)
	for di := range m.dims {
		d := &m.dims[di]
		sc.opLast[di], sc.opHit[di] = -1, -1
		if !d.mult {
			continue
		}
		var rulesF, rulesL, opsF, opsL, absF, absL, absForgot float64
		last := -1
		for _, k := range d.beh {
			r, s := &m.beh[k], &rs[k]
			switch {
			case r.set:
			case r.multiply:
				if s.N == 0 || len(s.Ops) != opsLen(d) {
					continue
				}
				var f, forgot float64
				from := s.At
				for c, h := range d.opHL {
					x, y := s.Ops[1+c], s.Ops[1+len(d.opHL)+c]
					if h > 0 && (x != 0 || y != 0) {
						q := math.Exp2(-float64(asOf-from) / h)
						x, y = x*q, y*q
					}
					f += x
					forgot += y
				}
				sc.opForgot[k] = math.Abs(forgot)
				absForgot += math.Abs(forgot)
				sc.opF[k], sc.opL[k] = f, s.Ops[0]
				opsF += f
				opsL += s.Ops[0]
				absF += math.Abs(f)
				absL += math.Abs(s.Ops[0])
				if r.multBy != 1 && (last < 0 || s.Last >= rs[last].Last) {
					last = k // the latest multiply (at one instant, the later rule) that is no x1
				}
			case s.N > 0 && (s.OpsValue != 0 || s.OpsLifetime != 0):
				o, fresh := s.OpsValue, r.freshAt(s, asOf)
				if r.dk == decayHalfLife && o != 0 {
					o *= math.Exp2(-float64(asOf-s.At) / r.halfLife)
				}
				if r.recencyWithin > 0 && asOf-s.Last < r.recencyWithin {
					fresh += r.recencyPts // the rule's own: multiplies do not scale it
				}
				f := capTo(fresh, r.cap) - capTo(fresh-o, r.cap)
				l := capTo(s.Lifetime, r.cap) - capTo(s.Lifetime-s.OpsLifetime, r.cap)
				sc.opF[k], sc.opL[k] = f, l
				rulesF += f
				rulesL += l
			}
		}
		if last < 0 {
			for _, k := range d.beh {
				sc.opF[k], sc.opL[k] = 0, 0
			}
			continue
		}
		if absForgot > 0 {
			// What decay does across the caps since comes from the
			// banks the factors forgot.
			shareBy(sc.opF, sc.opForgot, m.beh, d.beh, rulesF-opsF, absForgot)
		} else {
			share(sc.opF, m.beh, d.beh, last, rulesF-opsF, absF)
		}
		share(sc.opL, m.beh, d.beh, last, rulesL-opsL, absL)
		big := last
		for _, k := range d.beh {
			if m.beh[k].multiply && math.Abs(sc.opF[k])+math.Abs(sc.opL[k]) > math.Abs(sc.opF[big])+math.Abs(sc.opL[big]) {
				big = k
			}
		}
		sc.opLast[di] = int32(big)
	}
}

// shareBy adds diff to the parts ops of the multiply rules among
// dimRules in proportion to their weights w (summing to abs > 0).
func shareBy(ops, w []float64, beh []behRule, dimRules []int, diff, abs float64) {
	for _, k := range dimRules {
		if beh[k].multiply && w[k] != 0 {
			ops[k] += diff * (w[k] / abs)
		}
	}
}

// share adds diff to the parts ops of the multiply rules among dimRules
// (rule indexes into beh) in proportion to their sizes (abs, the sum of
// their magnitudes), or all of it to the rule last when abs is 0.
func share(ops []float64, beh []behRule, dimRules []int, last int, diff, abs float64) {
	if diff == 0 {
		return
	}
	if abs == 0 {
		ops[last] += diff
		return
	}
	for _, k := range dimRules {
		if beh[k].multiply && ops[k] != 0 {
			ops[k] += diff * (math.Abs(ops[k]) / abs)
		}
	}
}

// derivedValue evaluates the derived dimension di over the dimension
// scores vals: a finite number (held within ±MaxPoints by the caller).
func (m *Model) derivedValue(sc *scratch, di int, vals []float64) (float64, error) {
	sc.c.Nums = vals
	v, err := m.dims[di].derived.Float(&sc.c, sc.runner)
	sc.c.Nums = nil
	if err == nil && !finiteF(v) {
		err = fmt.Errorf("expression returned %g, not a finite number", v)
	}
	return v, err
}

// finishDims clamps and derives dimensions from sc.fresh/sc.life and fills
// the rest of dst.
func (m *Model) finishDims(sc *scratch, dst *Result, asOfT time.Time) error {
	for _, di := range m.order {
		d := &m.dims[di]
		if d.derived != nil {
			for pass, vals := range [2][]float64{sc.fresh, sc.life} {
				v, err := m.derivedValue(sc, di, vals)
				if err != nil {
					part := "expr"
					if pass == 1 {
						part = "expr (lifetime)"
					}
					return m.runErr(sc, di, "", part, err)
				}
				vals[di] = v
			}
		}
		sc.rawF[di], sc.rawL[di] = sc.fresh[di], sc.life[di]
		// A sum of rules or a derived value beyond MaxPoints is held
		// there (each rule is within it, a sum or an expression of
		// dimensions need not be), so that no finite sequence of events
		// makes a lead unscorable; the explanation's clamp shows it.
		sc.fresh[di], sc.life[di] = clampPoints(sc.fresh[di]), clampPoints(sc.life[di])
		sc.fresh[di] = clamp(sc.fresh[di], d.min, d.max)
		sc.life[di] = clamp(sc.life[di], d.min, d.max)
		if !(math.Abs(sc.fresh[di]) <= MaxPoints) || !(math.Abs(sc.life[di]) <= MaxPoints) {
			return &RuleError{LeadID: sc.lead.ID, Dimension: d.name, Msg: fmt.Sprintf("score %g (lifetime %g) is beyond ±%g (MaxPoints): lower the points or set the dimension's min and max", sc.fresh[di], sc.life[di], float64(MaxPoints))}
		}
	}
	dst.LeadID, dst.AccountID, dst.AsOf = sc.lead.ID, sc.lead.AccountID, asOfT
	dst.Dimensions = dst.Dimensions[:0]
	for i := range m.dims {
		d := &m.dims[i]
		dst.Dimensions = append(dst.Dimensions, DimensionScore{Name: d.name, Score: sc.fresh[i], Lifetime: sc.life[i], Band: d.band(sc.fresh[i]),
			Raw: sc.rawF[i], RawLifetime: sc.rawL[i]})
	}
	dst.Cell = ""
	if mx := m.matrix; mx != nil {
		dst.Cell = mx.cells[m.dims[mx.rows].bandIndex(sc.fresh[mx.rows])][m.dims[mx.cols].bandIndex(sc.fresh[mx.cols])]
	}
	dst.Thresholds = dst.Thresholds[:0]
	for _, t := range m.thresholds {
		dst.Thresholds = append(dst.Thresholds, ThresholdStatus{Name: t.name, Dimension: m.dims[t.dim].name, Value: t.value, Reached: sc.fresh[t.dim] >= t.value})
	}
	return nil
}

// bandIndex is the index of v's band, or len(bands) for none.
func (d *dimension) bandIndex(v float64) int {
	for i, b := range d.bands {
		if v >= b.min {
			return i
		}
	}
	return len(d.bands)
}

func (d *dimension) band(v float64) string {
	if i := d.bandIndex(v); i < len(d.bands) {
		return d.bands[i].name
	}
	return ""
}

// predActive reports whether a rule reading predicate p takes events at t
// (its active dates).
func (m *Model) predActive(p int32, t int64) bool {
	for _, ri := range m.predRules[p] {
		if r := &m.beh[ri]; t >= r.from && t < r.to {
			return true
		}
	}
	return false
}
