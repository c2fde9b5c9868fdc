package scoring

import (
	"math"
	"time"
)

// The semantics of behavior rules, written once: how an occurrence counts
// into a rule's [RuleState] (limits, resets, first bonus, decay
// bookkeeping) and what a state is worth at an as-of time. The full pass
// ([Model.Score]) and the incremental path ([Model.Apply],
// [Model.ReadState]) both count through [Model.count] and read through
// [behRule.freshAt] and [behRule.values], so they agree by construction.

// anyTime is the as-of time of a rule state that may be read at any time
// from its latest event on (an incremental [State]); a full pass passes
// its as-of time instead, so that window and step shares settle as they
// are counted.
const anyTime = math.MinInt64

// count counts an event at t (ns), whose predicates are
// evaluated in sc.pred and whose route is rt, into the rule states rs:
// resets first, so the event counts for the other rules of the dimension
// whatever the rule order, then each matching rule.
func (m *Model) count(sc *scratch, rs []RuleState, rt *route, t, asOf int64) {
	if rt.reset {
		for _, ri := range rt.rules {
			if r := &m.beh[ri]; r.reset && (r.pred < 0 || sc.pred[r.pred]) && t >= r.from && t < r.to {
				resetRules(rs, m.dims[r.dim].beh...)
			}
		}
	}
	for _, ri := range rt.rules {
		r := &m.beh[ri]
		if (r.pred >= 0 && !sc.pred[r.pred]) || t < r.from || t >= r.to {
			continue
		}
		if r.multiply {
			if r.limitMax > 0 && !r.takeLimit(&rs[ri], t) {
				continue
			}
			// Marketo's change score: what the dimension's other rules
			// counted so far, times the factor (their kept sums are
			// linear in their points: no decay or a half-life).
			m.multiply(rs, int(ri), t)
			rs[ri].N++
			rs[ri].Last = t
			continue
		}
		if r.seq != nil {
			// A path: the event takes the next step if it is of its
			// type; the last step counts the rule's one occurrence.
			if st := &rs[ri]; int(st.Step) < len(r.seq) && r.seq[st.Step] == rt.typ {
				st.Step++
				if int(st.Step) == len(r.seq) {
					m.countScaled(rs, int(ri), t, asOf, r.points)
				}
			}
			continue
		}
		pts := r.points
		if r.pts != nil {
			pts = sc.pts[ri]
		}
		m.countScaled(rs, int(ri), t, asOf, pts)
	}
}

// countScaled counts an occurrence of rule ri as r.count does and, when
// multiplies have changed the rule and it has a cap, books on them what
// the occurrence undid or restored of their change: a download that
// banks a halved rule back to its cap undoes the halving then (the rule
// shows its cap with or without it), so the halvings before it, not the
// multiplies after, lose that part.
func (m *Model) countScaled(rs []RuleState, ri int, t, asOf int64, pts float64) {
	r, s := &m.beh[ri], &rs[ri]
	if !m.dims[r.dim].mult || r.cap <= 0 || (s.OpsValue == 0 && s.OpsLifetime == 0) {
		r.count(s, t, asOf, pts)
		return
	}
	n, life := s.N, s.Lifetime
	r.count(s, t, asOf, pts)
	if s.N == n {
		return // the limit took it
	}
	// count brought Value and OpsValue to t and added what it counted,
	// as it added it to Lifetime.
	added := s.Lifetime - life
	opsEffect := func(v, o float64) float64 { return capTo(v, r.cap) - capTo(v-o, r.cap) }
	dv := opsEffect(s.Value, s.OpsValue) - opsEffect(s.Value-added, s.OpsValue)
	dl := opsEffect(s.Lifetime, s.OpsLifetime) - opsEffect(life, s.OpsLifetime)
	if dv != 0 || dl != 0 {
		m.bookOnMultiplies(rs, r, t, dv, dl)
	}
}

// bookOnMultiplies adds dv (decayed points, of rule r's decay class) and
// dl (lifetime points) to the changes of the multiply rules of r's
// dimension that have occurred. An undoing gives back what multiplies
// took (a positive dv undoes halvings) or takes back what they gave: it
// is booked on the multiplies whose change of the class has the other
// sign, in proportion to their changes, or when there is none on all in
// proportion to theirs, or when theirs sum to nothing on the latest one
// with a factor other than 1. Their changes are brought to t first (see
// [RuleState].At).
func (m *Model) bookOnMultiplies(rs []RuleState, r *behRule, t int64, dv, dl float64) {
	d := &m.dims[r.dim]
	c := 1 + int(r.opClass)
	latest := -1
	for _, k := range d.beh {
		o, s := &m.beh[k], &rs[k]
		if !o.multiply || s.N == 0 || len(s.Ops) != opsLen(d) {
			continue
		}
		opsTo(s, d.opHL, t)
		if o.multBy != 1 && (latest < 0 || s.Last >= rs[latest].Last) {
			latest = k
		}
	}
	if latest < 0 {
		return
	}
	m.book(rs, d, latest, c, dv)
	m.book(rs, d, latest, 0, dl)
}

// book adds v to entry c of the Ops of d's multiply rules, as
// bookOnMultiplies describes.
func (m *Model) book(rs []RuleState, d *dimension, latest, c int, v float64) {
	if v == 0 {
		return
	}
	var against, all float64
	for _, k := range d.beh {
		if s := &rs[k]; m.beh[k].multiply && s.N > 0 && len(s.Ops) == opsLen(d) {
			all += math.Abs(s.Ops[c])
			if s.Ops[c]*v < 0 {
				against += math.Abs(s.Ops[c])
			}
		}
	}
	if all == 0 {
		rs[latest].Ops[c] += v
		return
	}
	for _, k := range d.beh {
		s := &rs[k]
		if !m.beh[k].multiply || s.N == 0 || len(s.Ops) != opsLen(d) {
			continue
		}
		switch {
		case against > 0:
			if s.Ops[c]*v < 0 {
				s.Ops[c] += v * (math.Abs(s.Ops[c]) / against)
			}
		default:
			s.Ops[c] += v * (math.Abs(s.Ops[c]) / all)
		}
	}
}

// opsTo brings a multiply rule's decayed changes s.Ops to t (from
// s.At), setting s.At.
func opsTo(s *RuleState, hl []float64, t int64) {
	if t != s.At {
		for c, h := range hl {
			if h > 0 {
				f := math.Exp2(-float64(t-s.At) / h)
				s.Ops[1+c] *= f
				s.Ops[1+len(hl)+c] *= f
			}
		}
	}
	s.At = t
}

// opsLen is the length of the Ops of d's multiply rules: the lifetime
// change, then per decay class the change, then per class the bank
// forgotten.
func opsLen(d *dimension) int { return 1 + 2*len(d.opHL) }

// multiply applies the multiply rule ri's factor at t to the other rules
// of its dimension. A multiply scales what each rule gives at t: its
// points decayed to t, within its cap ("halve engagement" halves what a
// capped rule shows), and the result is kept within the cap and
// ±MaxPoints. So a factor other than 1 forgets the points a rule banked
// above its cap; a factor of 1 changes nothing (the rule is left as it
// was, over its cap or not).
//
// What an occurrence changed of each rule is kept two ways. Against the
// rule's banked points (decayed to t, not capped), its points after
// minus its banked points before, added to the rule's OpsValue and
// OpsLifetime: a rule's banked points less its OpsValue are then
// exactly what its own occurrences banked, what it would have without
// the multiplies. And against what the rule showed (within its cap),
// added to the multiply's Ops, one entry per decay class (see
// [RuleState].Ops), decaying with the rule changed: what this multiply
// did when it happened. [Model.opShares] reads the two together.
func (m *Model) multiply(rs []RuleState, ri int, t int64) {
	r := &m.beh[ri]
	k := &rs[ri]
	d := &m.dims[r.dim]
	if n := opsLen(d); len(k.Ops) != n {
		if cap(k.Ops) < n {
			k.Ops = make([]float64, n)
		} else {
			k.Ops = k.Ops[:n]
			clear(k.Ops)
		}
	} else if k.N > 0 {
		opsTo(k, d.opHL, t) // bring the decayed changes to t
	}
	k.At = t
	if r.multBy == 1 {
		return
	}
	for _, j := range d.beh {
		o, s := &m.beh[j], &rs[j]
		if s.N == 0 || o.set || o.multiply {
			continue
		}
		if o.dk == decayHalfLife && t != s.At {
			// Decay to t, so that the cap applies to what the rule
			// gives now.
			f := math.Exp2(-float64(t-s.At) / o.halfLife)
			s.Value *= f
			s.OpsValue *= f
			s.At = t
		}
		v, l := s.Value, s.Lifetime
		s.Value = capTo(clampPoints(capTo(v, o.cap)*r.multBy), o.cap)
		s.Lifetime = capTo(clampPoints(capTo(l, o.cap)*r.multBy), o.cap)
		s.OpsValue += s.Value - v
		s.OpsLifetime += s.Lifetime - l
		k.Ops[0] += s.Lifetime - o.shown(l)
		k.Ops[1+o.opClass] += s.Value - o.shown(v)
		k.Ops[1+len(d.opHL)+int(o.opClass)] += o.shown(v) - v // the bank forgotten
	}
}

// resetRules clears the states rs[i] of the rules listed (all when none
// is), keeping the capacity of their Times.
func resetRules(rs []RuleState, rules ...int) {
	if len(rules) == 0 {
		for i := range rs {
			rs[i] = RuleState{Times: rs[i].Times[:0], Ops: rs[i].Ops[:0]}
		}
		return
	}
	for _, i := range rules {
		rs[i] = RuleState{Times: rs[i].Times[:0], Ops: rs[i].Ops[:0]}
	}
}

// nextPoints is what the next counted occurrence adds to s: the points,
// and the first bonus if it is the first since the last reset.
func (r *behRule) nextPoints(s *RuleState) float64 {
	if s.N == 0 {
		return r.points + r.bonus
	}
	return r.points
}

// count counts one occurrence at t (ns) worth pts (the rule's points, or
// the event's with PointsExpr) into s, unless the rule's frequency limit
// is used up in t's period. The state will be read at asOf, or at any
// time from t on when asOf is anyTime.
func (r *behRule) count(s *RuleState, t, asOf int64, pts float64) {
	if r.limitMax > 0 && !r.takeLimit(s, t) {
		return
	}
	if s.N == 0 {
		pts += r.bonus // as nextPoints
		s.First = t
	}
	s.N++
	s.Lifetime += pts
	s.Last = t
	switch r.dk {
	case decayNone:
		s.Value += pts
	case decayHalfLife:
		if s.N == 1 {
			// No decay from an unset At (0 is 1970: before it, the
			// factor would overflow to +Inf and 0*Inf is NaN).
			s.Value = pts
		} else if t == s.At {
			s.Value += pts // no time passed: the factor is exactly 1
		} else {
			f := math.Exp2(-float64(t-s.At) / r.halfLife)
			s.Value = s.Value*f + pts
			s.OpsValue *= f // the multiplies' part decays alike
		}
		s.At = t
	case decayWindow:
		if asOf != anyTime {
			// Read at asOf only: the occurrence's share is final now
			// (factor: 1 inside the window, else 0).
			if asOf-t < r.window {
				s.Value += r.points
			}
			return
		}
		r.keepTime(s, t)
	default:
		if asOf != anyTime {
			s.Value += r.points * r.stepFactor(t, asOf)
			return
		}
		r.keepTime(s, t)
	}
}

// takeLimit reports whether an occurrence at t is within the rule's
// frequency limit, and takes it from the limit when it is.
func (r *behRule) takeLimit(s *RuleState, t int64) bool {
	if r.every > 0 {
		// Rolling: drop the counted times the span has left behind.
		k := 0
		for k < len(s.Recent) && t-s.Recent[k] >= r.every {
			k++
		}
		if k > 0 {
			// In place: reslicing from the front would shrink the
			// capacity until every append allocates.
			s.Recent = s.Recent[:copy(s.Recent, s.Recent[k:])]
		}
		if len(s.Recent) >= int(r.limitMax) {
			return false
		}
		s.Recent = append(s.Recent, t)
		return true
	}
	key := bucketKey(r.per, t+r.zone.offset(t))
	if s.BucketN > 0 && key == s.Bucket {
		if s.BucketN >= r.limitMax {
			return false
		}
		s.BucketN++
	} else {
		s.Bucket, s.BucketN = key, 1
	}
	return true
}

// keepTime appends an occurrence time to s.Times for a state read at any
// time.
func (r *behRule) keepTime(s *RuleState, t int64) {
	if r.isCount && len(s.Times) >= r.keepN {
		// A count rule decides on at most keepN occurrences in its
		// window (min, or max + 1): older ones change nothing.
		s.Times = s.Times[:copy(s.Times, s.Times[len(s.Times)-r.keepN+1:])]
	}
	s.Times = append(s.Times, t)
	// Prune when the length reaches a power of two: amortized O(1),
	// and at most about twice the entries that still matter.
	if n := len(s.Times); n&(n-1) == 0 {
		r.prune(s, t)
	}
}

// prune drops the oldest occurrence times whose share can no longer change
// after now: outside the window, or past the last decay step (whose
// remaining share moves into Value). Times are ascending, so only a prefix
// is dropped; an entry left behind still reads correctly.
func (r *behRule) prune(s *RuleState, now int64) {
	if r.dk == decayWindow {
		// Binary search the first time inside the window; compact only
		// when the expired prefix is at least half, so pruning is
		// amortized O(log n). Expired entries left in front are excluded
		// by freshAt's own search.
		k := firstInWindow(s.Times, now, r.window)
		if k > 0 && 2*k >= len(s.Times) {
			s.Times = s.Times[:copy(s.Times, s.Times[k:])]
		}
		return
	}
	nowT := time.Unix(0, now).UTC()
	k := 0
	for k < len(s.Times) {
		last := r.steps[len(r.steps)-1]
		if time.Unix(0, s.Times[k]).UTC().AddDate(0, last.months, 0).After(nowT) {
			break
		}
		s.Value += r.points * last.keep
		k++
	}
	if k > 0 {
		s.Times = s.Times[:copy(s.Times, s.Times[k:])]
	}
}

// firstInWindow is the index of the first ascending time x with
// asOf - x < window.
func firstInWindow(times []int64, asOf, window int64) int {
	lo, hi := 0, len(times)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if asOf-times[mid] < window {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// freshAt is the rule's decayed sum at asOf (before recency and cap).
func (r *behRule) freshAt(s *RuleState, asOf int64) float64 {
	var v float64
	switch r.dk {
	case decayNone:
		return s.Value
	case decayHalfLife:
		return s.Value * math.Exp2(-float64(asOf-s.At)/r.halfLife)
	case decayWindow:
		v = s.Value + float64(len(s.Times)-firstInWindow(s.Times, asOf, r.window))*r.points
	default:
		v = s.Value
		for _, x := range s.Times {
			v += r.points * r.factor(x, asOf)
		}
	}
	if r.bonus != 0 {
		v += r.bonus * r.factor(s.First, asOf)
	}
	return v
}

// factor is the share of an occurrence at t (ns; tt as a time) that
// remains at asOf. Step decay compares calendar months: an occurrence is N
// months old once t + N months <= asOf, which never reverts as asOf grows.
func (r *behRule) factor(t, asOf int64) float64 {
	switch r.dk {
	case decayWindow:
		if asOf-t < r.window {
			return 1
		}
		return 0
	case decayHalfLife:
		return math.Exp2(-float64(asOf-t) / r.halfLife)
	case decaySteps:
		return r.stepFactor(t, asOf)
	}
	return 1
}

// stepFactor is factor for step decay.
func (r *behRule) stepFactor(t, asOf int64) float64 {
	tt, asOfT := time.Unix(0, t).UTC(), time.Unix(0, asOf).UTC()
	for k := len(r.steps) - 1; k >= 0; k-- {
		if !tt.AddDate(0, r.steps[k].months, 0).After(asOfT) {
			return r.steps[k].keep
		}
	}
	return 1
}

// zone is a model's time zone for calendar periods.
type zone struct{ loc *time.Location }

// offset is the zone's offset from UTC at t (ns), in ns; 0 for UTC (nil).
func (z *zone) offset(t int64) int64 {
	if z == nil {
		return 0
	}
	_, off := time.Unix(0, t).In(z.loc).Zone()
	return int64(off) * int64(time.Second)
}

// bucketKey is the calendar period of t (ns, shifted to the model's zone)
// for a frequency limit.
func bucketKey(per uint8, t int64) int64 {
	switch per {
	case perDay:
		return floorDiv(t, int64(24*time.Hour))
	case perWeek:
		// 1970-01-05 was a Monday: shift so weeks start on Monday.
		return floorDiv(t-4*int64(24*time.Hour), 7*int64(24*time.Hour))
	case perMonth:
		y, mo, _ := time.Unix(0, t).UTC().Date()
		return int64(y)*12 + int64(mo)
	}
	return 0
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func capTo(v, c float64) float64 {
	if c > 0 {
		if v > c {
			return c
		}
		if v < -c {
			return -c
		}
	}
	return v
}

// value is the rule's capped fresh and lifetime score with state s at
// asOf (ns): the fresh score with the recency bonus.
func (r *behRule) value(s *RuleState, asOf int64) (fresh, life float64) {
	if r.isCount {
		// Each occurrence counted 1: the fresh sum is the count in the
		// window, the lifetime sum every occurrence since the last reset.
		var n float64
		if s.N > 0 {
			n = r.freshAt(s, asOf)
		}
		return capTo(r.countValue(n), r.cap), capTo(r.countValue(s.Lifetime), r.cap)
	}
	if s.N == 0 {
		return 0, 0
	}
	fresh = r.freshAt(s, asOf)
	if r.recencyWithin > 0 && asOf-s.Last < r.recencyWithin {
		fresh += r.recencyPts
	}
	return capTo(fresh, r.cap), capTo(s.Lifetime, r.cap)
}

// shown is what a multiply takes a rule whose sum is v to give: v within
// the rule's cap and within ±MaxPoints (a multiply's result is held
// within both; a sum of many occurrences may pass MaxPoints, which the
// dimension's bound then takes).
func (r *behRule) shown(v float64) float64 { return clampPoints(capTo(v, r.cap)) }

// countValue is a count rule's points for n occurrences.
func (r *behRule) countValue(n float64) float64 {
	if r.inRange(n) {
		return r.countPts
	}
	return 0
}

// inRange reports whether n occurrences are in a count rule's range.
func (r *behRule) inRange(n float64) bool {
	return n >= float64(r.countMin) && (r.countMax < 0 || n <= float64(r.countMax))
}

// clampPoints bounds v to ±MaxPoints.
func clampPoints(v float64) float64 {
	return math.Max(-MaxPoints, math.Min(MaxPoints, v))
}
