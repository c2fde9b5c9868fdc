package scoring

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/leadkit/leadkit"
)

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
	sc, order, asOf, err := m.replay(&in)
	if err != nil {
		return nil, err
	}
	defer m.put(sc)
	st := m.NewState()
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
		return Crossing{}, false, fmt.Errorf("scoring: next crossing: %w: from and until must fall in %s", leadkit.ErrInvalid, timeRange)
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
