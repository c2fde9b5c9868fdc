package scoring

import (
	"fmt"

	"github.com/leadkit/leadkit"
	"sigs.k8s.io/yaml"
)

// ModelSpec is a scoring model as data: what tenants store as JSON or YAML
// and [Compile] turns into a [Model].
type ModelSpec struct {
	// Name and Version identify the model in results and comparisons.
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
	// Fields declares the custom fields rules may read, with their types.
	Fields []FieldSpec `json:"fields,omitempty"`
	// Dimensions are the named scores, e.g. fit, engagement, interest:analytics
	// and derived ones such as total.
	Dimensions []DimensionSpec `json:"dimensions"`
	// Thresholds name score levels (e.g. mql: total >= 100).
	Thresholds []ThresholdSpec `json:"thresholds,omitempty"`
	// Matrix, when set, combines the bands of two dimensions into a cell
	// such as "A1".
	Matrix *MatrixSpec `json:"matrix,omitempty"`
}

// Custom field types accepted in FieldSpec.Type.
const (
	TypeNumber  = "number"  // float64 (JSON numbers, Go ints and floats)
	TypeString  = "string"  // string
	TypeBool    = "bool"    // bool
	TypeStrings = "strings" // []string (or []any of strings)
	TypeTime    = "time"    // time.Time or an RFC 3339 string; read with daysSince(t)
)

// FieldSpec declares a custom field: Name is "person.<key>" or
// "company.<key>" (read from Person.Custom / Company.Custom) or
// "event.<key>" (read from Event.Attrs). Rules then use it by that name, e.g.
// person.budget > 10000. A missing value reads as the type's zero value; a
// value of another type is a run-time error for that lead, raised only by
// the rules that read the field.
type FieldSpec struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// DimensionSpec is one named score. A dimension either has rules (Fit and
// Behavior) or is derived from other dimensions by Expr.
type DimensionSpec struct {
	Name string `json:"name"`
	// Expr derives the dimension from others, e.g. "fit*0.4 + engagement*0.6".
	// Names that are not identifiers are read as $env["interest:analytics"].
	Expr string `json:"expr,omitempty"`
	// Min and Max clamp the dimension's score (floor and cap).
	Min *float64 `json:"min,omitempty"`
	Max *float64 `json:"max,omitempty"`
	// Bands grade the score: the band with the highest Min not above the
	// score applies (e.g. A>=80, B>=50, C>=20, D>=-inf).
	Bands []BandSpec `json:"bands,omitempty"`
	// Decay is the default decay of the dimension's behavior rules.
	Decay *DecaySpec `json:"decay,omitempty"`
	// Fit rules test the profile and company.
	Fit []FitRule `json:"fit,omitempty"`
	// Behavior rules count events.
	Behavior []BehaviorRule `json:"behavior,omitempty"`
}

// BandSpec is a grade: a score >= Min earns Name unless a higher band does.
// A nil Min is the catch-all lowest band.
type BandSpec struct {
	Name string   `json:"name"`
	Min  *float64 `json:"min,omitempty"`
}

// FitRule awards Points (negative allowed) when When, a boolean expression
// over person, company and lead, is true.
type FitRule struct {
	Name   string  `json:"name"`
	When   string  `json:"when"`
	Points float64 `json:"points"`
}

// BehaviorRule awards points for events. An event matches when its type is
// one of Types (empty: any type) and When (a boolean expression over event,
// optional) is true. Matching events are processed in time order; events
// after the as-of time are ignored.
type BehaviorRule struct {
	Name  string   `json:"name"`
	Types []string `json:"types,omitempty"`
	When  string   `json:"when,omitempty"`
	// Points per counted occurrence (negative allowed).
	Points float64 `json:"points"`
	// FirstBonus is added to the first counted occurrence (since the last
	// reset); it decays with that occurrence.
	FirstBonus float64 `json:"first_bonus,omitempty"`
	// Cap bounds the rule's score to [-Cap, Cap]; 0 is no cap.
	Cap float64 `json:"cap,omitempty"`
	// Limit caps how many occurrences count per calendar period.
	Limit *LimitSpec `json:"limit,omitempty"`
	// Decay overrides the dimension's decay; an empty DecaySpec is no decay.
	Decay *DecaySpec `json:"decay,omitempty"`
	// Recency adds points while the latest counted occurrence is recent.
	Recency *RecencySpec `json:"recency,omitempty"`
	// Reset makes a matching event clear every behavior rule of the
	// dimension first (points, limits and first bonus), as if the lead's
	// history in the dimension began with this event.
	Reset bool `json:"reset,omitempty"`
}

// Limit periods.
const (
	PerEver  = "ever"
	PerDay   = "day"   // UTC calendar day
	PerWeek  = "week"  // ISO week (Monday to Sunday, UTC)
	PerMonth = "month" // UTC calendar month
)

// LimitSpec lets at most Max occurrences count per period (PerEver, PerDay,
// PerWeek, PerMonth). {max: 1, per: ever} is "once".
type LimitSpec struct {
	Max int    `json:"max"`
	Per string `json:"per"`
}

// DecaySpec chooses how an occurrence's points fade with its age at the
// as-of time. Set at most one of WindowDays, HalfLifeDays and Steps; an
// empty DecaySpec means no decay. The lifetime score ignores decay.
type DecaySpec struct {
	// WindowDays counts only occurrences younger than this many days.
	WindowDays float64 `json:"window_days,omitempty"`
	// HalfLifeDays halves an occurrence's points every this many days.
	HalfLifeDays float64 `json:"half_life_days,omitempty"`
	// Steps keep a percentage of the points once an occurrence is at least
	// AfterMonths calendar months old (as HubSpot does).
	Steps []DecayStep `json:"steps,omitempty"`
}

// DecayStep keeps KeepPercent of an occurrence's points once it is
// AfterMonths months old (occurrence time <= as-of minus AfterMonths months).
type DecayStep struct {
	AfterMonths int     `json:"after_months"`
	KeepPercent float64 `json:"keep_percent"`
}

// RecencySpec adds Points while the latest counted occurrence of the rule is
// younger than WithinDays.
type RecencySpec struct {
	WithinDays float64 `json:"within_days"`
	Points     float64 `json:"points"`
}

// ThresholdSpec names a level of a dimension: a lead reaches it when the
// dimension's score is >= Value.
type ThresholdSpec struct {
	Name      string  `json:"name"`
	Dimension string  `json:"dimension"`
	Value     float64 `json:"value"`
}

// MatrixSpec combines the bands of Rows (e.g. fit, graded A-D) and Columns
// (e.g. engagement, graded 1-4) into a cell such as "A1".
type MatrixSpec struct {
	Rows    string `json:"rows"`
	Columns string `json:"columns"`
}

// MaxSpecBytes is the largest model document ParseModel accepts.
const MaxSpecBytes = 1 << 20

// ParseModel decodes a model from JSON or YAML (YAML is a superset of JSON).
// Unknown keys are errors, so a typo such as "pionts" does not silently
// score zero. It does not validate the model: [Compile] does.
func ParseModel(data []byte) (ModelSpec, error) {
	var s ModelSpec
	if len(data) > MaxSpecBytes {
		return s, fmt.Errorf("scoring: model is %d bytes, the limit is %d: %w", len(data), MaxSpecBytes, leadkit.ErrInvalid)
	}
	if err := yaml.UnmarshalStrict(data, &s); err != nil {
		return ModelSpec{}, fmt.Errorf("scoring: parse model: %v: %w", err, leadkit.ErrInvalid)
	}
	return s, nil
}
