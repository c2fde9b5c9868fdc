package scoring

import (
	"maps"
	"slices"
	"strings"

	"github.com/leadkit/leadkit"
)

// Facts are a score turned into the facts a stage machine's guards read
// (stage.Facts has the same underlying type), so that "score >= 100 and a
// fit band of A or B" is written once in the stage definition and fed by
// the model without glue:
//
//	<dimension>        number   the fresh score of the dimension
//	<dimension>_band   string   its band ("" without one), for dimensions with bands
//	cell               string   the matrix cell, for models with a matrix
//	reached            strings  the names of the thresholds reached, in model order
//
// A dimension name that is not an identifier is written with every other
// character as "_" ("interest:ai" -> interest_ai), as [FactName] does.
// Name dimensions so their facts do not collide: cell and reached are
// written last and win over a dimension of that name.
type Facts = map[string]any

// FactName is the fact a dimension's score is read under: its name with
// every character other than ASCII letters, digits and "_" replaced by
// "_", and "_" in front of a leading digit.
func FactName(dimension string) string {
	var b strings.Builder
	for i, r := range dimension {
		switch {
		case r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z':
			b.WriteRune(r)
		case r >= '0' && r <= '9':
			if i == 0 {
				b.WriteByte('_')
			}
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

// FactTypes lists the facts [Result.Facts] gives for this model, with
// their types: what a stage definition may declare and read from it.
func (m *Model) FactTypes() map[string]leadkit.FieldType {
	out := map[string]leadkit.FieldType{}
	for _, d := range m.dims {
		out[FactName(d.name)] = leadkit.TypeNumber
		if len(d.bands) > 0 {
			out[FactName(d.name)+"_band"] = leadkit.TypeString
		}
	}
	if m.matrix != nil {
		out["cell"] = leadkit.TypeString
	}
	if len(m.thresholds) > 0 {
		out["reached"] = leadkit.TypeStrings
	}
	return out
}

// Facts turns the result into stage facts (see [Facts]). Dimensions with
// bands always give their band fact, "" when the score has no band.
func (r Result) Facts(m *Model) Facts {
	out := make(Facts, len(m.facts))
	for _, f := range m.facts {
		out[f.name] = r.Fact(f.ref)
	}
	return out
}

// namedFact is a fact of the model with its name.
type namedFact struct {
	name string
	ref  FactRef
}

// factList lists the model's facts, found once at compile time.
func (m *Model) factList() []namedFact {
	var out []namedFact
	for _, name := range slices.Sorted(maps.Keys(m.FactTypes())) {
		ref, _ := m.Fact(name)
		out = append(out, namedFact{name, ref})
	}
	return out
}

// FactRef names one fact of a model's results: look it up once with
// [Model.Fact] and read it from each result with [Result.Fact], the
// allocation-free form of [Result.Facts] for engines that read a few facts
// per event.
type FactRef struct {
	kind factKind
	dim  int
}

type factKind uint8

const (
	factNone factKind = iota
	factScore
	factBand
	factCell
	factReached
)

// Fact finds the fact of that name (see [Facts] for the names), false if
// the model gives no such fact.
func (m *Model) Fact(name string) (FactRef, bool) {
	switch {
	case name == "reached" && len(m.thresholds) > 0:
		return FactRef{kind: factReached}, true
	case name == "cell" && m.matrix != nil:
		return FactRef{kind: factCell}, true
	}
	for i := len(m.dims) - 1; i >= 0; i-- { // a later dimension's fact wins
		d := m.dims[i]
		n := FactName(d.name)
		switch {
		case name == n:
			return FactRef{kind: factScore, dim: i}, true
		case len(d.bands) > 0 && name == n+"_band":
			return FactRef{kind: factBand, dim: i}, true
		}
	}
	return FactRef{}, false
}

// Fact returns the value of a fact found with [Model.Fact] on the same
// model, as [Result.Facts] gives it: a float64, a string, or for
// "reached" a fresh []string; nil for a zero FactRef or a result of
// another model.
func (r *Result) Fact(ref FactRef) any {
	switch ref.kind {
	case factScore, factBand:
		if ref.dim >= len(r.Dimensions) {
			return nil
		}
		if ref.kind == factScore {
			return r.Dimensions[ref.dim].Score
		}
		return r.Dimensions[ref.dim].Band
	case factCell:
		return r.Cell
	case factReached:
		reached := []string{}
		for _, t := range r.Thresholds {
			if t.Reached {
				reached = append(reached, t.Name)
			}
		}
		return reached
	}
	return nil
}
