package scoring

import (
	"fmt"

	"github.com/leadkit/leadkit"
)

// Explanation breaks one dimension's score into parts that add up to it,
// the answer to a sales rep's "why 72?": the points of each rule (a rule
// dimension) or the expression and the scores it read (a derived one),
// then what the dimension's floor or cap changed.
type Explanation struct {
	Dimension string  `json:"dimension"`
	Score     float64 `json:"score"`
	// Rules are the rules that give points now, fit rules first, in model
	// order, then the set rules in range (the result's Hits of the
	// dimension). A change-score operation is an entry of its own with
	// what it changed, signed: an unsubscribe that halves two 10-point
	// downloads is -10 (lifetime -10), the downloads 20 (what they give
	// without it); a boost of a rule at its cap that banked nothing above
	// it changed nothing and is no entry, one that made it forget points
	// banked above the cap has them as its part once they would show (a
	// decaying rule would have stayed at its cap longer); a lone halving
	// that later downloads banked back to the cap is no entry (with
	// several multiplies and caps, their split is an apportionment: see
	// the package doc); "no activity for 90 days: set to 0" takes
	// back what the rules give now.
	Rules []RuleContribution `json:"rules,omitempty"`
	// Expr is a derived dimension's expression and Inputs the scores it
	// read.
	Expr   string           `json:"expr,omitempty"`
	Inputs []DimensionScore `json:"inputs,omitempty"`
	// Raw is the sum of the rules' Points, or the expression's value;
	// Clamp is Score - Raw, what the floor (Min) or cap (Max), or the
	// bound ±MaxPoints of a sum of rules, took or added (0 within them).
	// Raw + Clamp is Score; the parts and Clamp add up to Score within
	// the rounding of their own sum: (n+2)·2^-52 times the sum of their
	// magnitudes, n parts.
	Raw   float64 `json:"raw"`
	Clamp float64 `json:"clamp"`
}

// RuleContribution is one rule's part of an [Explanation].
type RuleContribution struct {
	Rule  string   `json:"rule"`
	Kind  RuleKind `json:"kind"`
	Count int      `json:"count"`
	// Points is the rule's part of the score now; Lifetime its points
	// without decay, windows or recency; Decayed is Lifetime - Points,
	// what time took away (negative when a recency bonus adds).
	Points   float64 `json:"points"`
	Lifetime float64 `json:"lifetime"`
	Decayed  float64 `json:"decayed"`
}

// Explain breaks the named dimension of r, a result of m, into the parts
// that add up to its score. A rule whose points all decayed is not among
// the parts (it gives nothing now); its lifetime points are in the
// dimension's Lifetime.
func (m *Model) Explain(r Result, dimension string) (Explanation, error) {
	di, ok := m.byName[dimension]
	if !ok {
		return Explanation{}, fmt.Errorf("scoring: explain: %w: dimension %q is not in model %q", leadkit.ErrInvalid, dimension, m.spec.Name)
	}
	if len(r.Dimensions) != len(m.dims) || r.Dimensions[di].Name != dimension {
		return Explanation{}, fmt.Errorf("scoring: explain: %w: the result is not one of model %q", leadkit.ErrInvalid, m.spec.Name)
	}
	d := r.Dimensions[di]
	e := Explanation{Dimension: dimension, Score: d.Score, Raw: d.Raw, Clamp: d.Score - d.Raw}
	if dd := &m.dims[di]; dd.derived != nil {
		e.Expr = m.spec.Dimensions[di].Expr
		for _, j := range dd.deps {
			e.Inputs = append(e.Inputs, r.Dimensions[j])
		}
		return e, nil
	}
	for _, h := range r.Hits {
		if h.Dimension == dimension {
			e.Rules = append(e.Rules, RuleContribution{Rule: h.Rule, Kind: h.Kind, Count: h.Count, Points: h.Points, Lifetime: h.Lifetime, Decayed: h.Lifetime - h.Points})
		}
	}
	return e, nil
}
