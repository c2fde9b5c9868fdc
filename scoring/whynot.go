package scoring

import (
	"fmt"
	"sort"

	"github.com/leadkit/leadkit"
)

// Target is what "why not yet" measures against: a threshold by name, or a
// band of a dimension.
type Target struct {
	Threshold string `json:"threshold,omitempty"`
	Dimension string `json:"dimension,omitempty"`
	Band      string `json:"band,omitempty"`
	// OnlyBehavior limits the suggestions to behavior rules: what the lead
	// can still do, for a sales rep, who cannot change a lead's seniority
	// or company size.
	OnlyBehavior bool `json:"only_behavior,omitempty"`
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
	// (BlockedLimit, BlockedCap, BlockedInactive, BlockedSet,
	// BlockedCount, BlockedPath); empty when it can.
	Blocked Blocker `json:"blocked,omitempty"`
	// Next is, for a path rule (Sequence), the event type of the step the
	// lead is at.
	Next string `json:"next,omitempty"`
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
	// BlockedInactive: the as-of time is outside the rule's active dates.
	BlockedInactive Blocker = "inactive"
	// BlockedSet: a set rule holds the rule's dimension at its value
	// (OpSet with a count in range), whatever the other rules give.
	BlockedSet Blocker = "set"
	// BlockedCount: the rule is a count rule one more occurrence does not
	// bring into its range.
	BlockedCount Blocker = "count"
	// BlockedPath: the rule is a path more than one step from its end
	// (Suggestion.Next is the step the lead is at).
	BlockedPath Blocker = "path"
)

// WhyNot explains how many points the lead in lacks for target at in.AsOf
// and which rules could supply them.
func (m *Model) WhyNot(in Input, target Target) (Gap, error) {
	var dim int
	var needed float64
	switch {
	case target.Threshold != "" && (target.Dimension != "" || target.Band != ""):
		return Gap{}, fmt.Errorf("scoring: why not: %w: set either a threshold or a dimension and band, not both", leadkit.ErrInvalid)
	case target.Threshold == "" && (target.Dimension == "" || target.Band == ""):
		return Gap{}, fmt.Errorf("scoring: why not: %w: set a threshold, or a dimension and a band", leadkit.ErrInvalid)
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
	if err := m.sums(sc, sc.rules, &res, asOfT); err != nil {
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
	// Dimensions a set rule holds: no other rule moves them.
	held := make([]bool, len(m.dims))
	for i := range m.beh {
		if r := &m.beh[i]; r.set {
			s := &sc.rules[i]
			var n float64
			if s.N > 0 {
				n = r.freshAt(s, asOf)
			}
			held[r.dim] = held[r.dim] || r.inRange(n)
		}
	}
	for i := range m.fit {
		f := &m.fit[i]
		if target.OnlyBehavior || sc.fitOn[i] || f.pts != nil || f.points <= 0 || !reach[f.dim] {
			continue
		}
		if held[f.dim] {
			g.Suggestions = append(g.Suggestions, Suggestion{Dimension: m.dims[f.dim].name, Rule: f.name, Kind: KindFit, Blocked: BlockedSet})
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
		r, cur := &m.beh[i], &sc.rules[i]
		// A rule whose points come from the event cannot say what one
		// more would be worth.
		if r.pts != nil || r.set || r.multiply || r.nextPoints(cur) <= 0 || r.reset || !reach[r.dim] {
			continue
		}
		if r.seq != nil && int(cur.Step) >= len(r.seq) {
			continue // the path is done: it gives its points once
		}
		s := Suggestion{Dimension: m.dims[r.dim].name, Rule: r.name, Kind: KindBehavior}
		if held[r.dim] {
			s.Blocked = BlockedSet
			g.Suggestions = append(g.Suggestions, s)
			continue
		}
		if asOf < r.from || asOf >= r.to {
			s.Blocked = BlockedInactive
			g.Suggestions = append(g.Suggestions, s)
			continue
		}
		if r.seq != nil && int(cur.Step) < len(r.seq)-1 {
			// More than one step from the end: one event does not do.
			s.Blocked = BlockedPath
			s.Next = r.seq[cur.Step]
			g.Suggestions = append(g.Suggestions, s)
			continue
		}
		if r.seq != nil {
			s.Next = r.seq[cur.Step]
		}
		// One more occurrence now, counted like any other (a path's last
		// step completes it).
		next := *cur // read at asOf only, count leaves next.Times alone
		r.count(&next, asOf, asOf, r.points)
		if next.N == cur.N {
			s.Blocked = BlockedLimit
			g.Suggestions = append(g.Suggestions, s)
			continue
		}
		oldF, _ := r.value(cur, asOf)
		newF, _ := r.value(&next, asOf)
		if newF-oldF <= 0 {
			s.Blocked = BlockedCap
			if r.isCount {
				s.Blocked = BlockedCount
			}
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
			v, err := m.derivedValue(sc, di, vals)
			if err != nil {
				return m.runErr(sc, di, "", "expr", err)
			}
			vals[di] = v
		}
		vals[di] = clamp(clampPoints(vals[di]), d.min, d.max) // as finishDims
	}
	return nil
}
