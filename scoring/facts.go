package scoring

import (
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
	out := Facts{}
	for i, d := range r.Dimensions {
		name := FactName(d.Name)
		out[name] = d.Score
		if i < len(m.dims) && len(m.dims[i].bands) > 0 {
			out[name+"_band"] = d.Band
		}
	}
	if m.matrix != nil {
		out["cell"] = r.Cell
	}
	if len(m.thresholds) > 0 {
		reached := []string{}
		for _, t := range r.Thresholds {
			if t.Reached {
				reached = append(reached, t.Name)
			}
		}
		out["reached"] = reached
	}
	return out
}
