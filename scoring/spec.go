package scoring

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/spec"
)

// ModelSpec is a scoring model as data: what tenants store as JSON or YAML
// and [Compile] turns into a [Model].
type ModelSpec struct {
	// Name and Version identify the model in results and comparisons.
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
	// Fields declares the custom fields rules may read, with their types
	// ({name: person.budget, type: number}; see [leadkit.FieldSpec]).
	Fields []leadkit.FieldSpec `json:"fields,omitempty"`
	// Dimensions are the named scores, e.g. fit, engagement, interest:analytics
	// and derived ones such as total.
	Dimensions []DimensionSpec `json:"dimensions"`
	// Thresholds name score levels (e.g. mql: total >= 100).
	Thresholds []ThresholdSpec `json:"thresholds,omitempty"`
	// Matrix, when set, combines the bands of two dimensions into a cell
	// such as "A1".
	Matrix *MatrixSpec `json:"matrix,omitempty"`
	// TimeZone is the IANA name of the zone whose calendar days, weeks and
	// months frequency limits count in ("Europe/Berlin"; empty: UTC).
	// Zone rules come from the tz database the program loads (the host's,
	// or the one embedded by importing time/tzdata): the same database
	// gives the same results on every host. Decay steps and windows are
	// durations and months in UTC, whatever the zone.
	TimeZone string `json:"time_zone,omitempty"`
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
// over person, company and lead, is true. With PointsExpr the points scale
// with a value instead: a number expression over the same fields
// ("company.employees / 100"), bounded to [-Cap, Cap] when Cap is set and
// refused (an error for the lead) when not finite; Points must then be 0.
type FitRule struct {
	Name       string  `json:"name"`
	When       string  `json:"when"`
	Points     float64 `json:"points"`
	PointsExpr string  `json:"points_expr,omitempty"`
	// Cap bounds the rule's points to [-Cap, Cap]; 0 is no cap.
	Cap float64 `json:"cap,omitempty"`
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
	// PointsExpr, when set, gives each occurrence's points from the event
	// instead of Points (which must be 0): a number expression such as
	// "event.amount / 1000" over a declared attribute. The rule's Cap
	// still bounds its total, and a value that is not finite is an error
	// for the lead. It works with no decay or a half-life (a window or
	// steps keep occurrence times, not their points) and not with Count.
	PointsExpr string `json:"points_expr,omitempty"`
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
	// Count makes the rule an occurrence threshold (HubSpot's "number of
	// times"): Points once, not per occurrence, when the number of its
	// counted occurrences is in the range. See [CountSpec].
	Count *CountSpec `json:"count,omitempty"`
	// Sequence, instead of Types, makes the rule a path: it gives Points
	// once, when the lead's events (matching When) hold these types in
	// this order, other events between allowed ("webinar_attended, then
	// download": a golden path); at most MaxSequence steps. The points
	// count from the event that completes the path (decay, caps and
	// active dates apply as to any occurrence); a reset starts the path
	// again. It takes no Count, Limit, FirstBonus, PointsExpr or Op.
	Sequence []string `json:"sequence,omitempty"`
	// Op changes what the rule does to its dimension (Marketo's change
	// score): OpAdd (the default) adds Points per occurrence; OpSet sets
	// the dimension to Points (with Count: while the count is in range,
	// which makes "no activity for 90 days: set to 0" an inactivity rule;
	// without: from the occurrence on, as a reset with Points); OpMultiply
	// multiplies what the dimension's other rules have counted so far by
	// Factor at each occurrence. See the package documentation for the
	// order of application.
	Op Op `json:"op,omitempty"`
	// Factor is OpMultiply's factor (finite, >= 0).
	Factor float64 `json:"factor,omitempty"`
	// Active limits the rule to events in a date range (a campaign's
	// dates, Mautic's active dates): events outside it do not match, as
	// if the rule's types excluded them. See [ActiveSpec].
	Active *ActiveSpec `json:"active,omitempty"`
}

// Op is what a behavior rule does to its dimension.
type Op string

// Ops of a behavior rule. [Compile] refuses any other value.
const (
	OpAdd      Op = "add"
	OpSet      Op = "set"
	OpMultiply Op = "multiply"
)

// ActiveSpec is a rule's date range: events at or after From and before
// To count (a zero From or To leaves that side open). Dates are written
// "2025-01-01" (midnight UTC) or as RFC 3339 times (see
// leadkit.ParseDate).
type ActiveSpec struct {
	From time.Time
	To   time.Time
}

// MarshalJSON writes the dates as leadkit.FormatDate does, leaving out
// open sides.
func (a ActiveSpec) MarshalJSON() ([]byte, error) {
	m := map[string]string{}
	if !a.From.IsZero() {
		m["from"] = leadkit.FormatDate(a.From)
	}
	if !a.To.IsZero() {
		m["to"] = leadkit.FormatDate(a.To)
	}
	return json.Marshal(m)
}

// UnmarshalJSON reads {from, to} dates ("2025-01-01" or RFC 3339); an
// unknown key or a bad date is an error wrapping [leadkit.ErrInvalid].
func (a *ActiveSpec) UnmarshalJSON(b []byte) error {
	var raw struct {
		From string `json:"from"`
		To   string `json:"to"`
	}
	if err := spec.DecodeStrict(b, &raw); err != nil {
		return spec.Prefixed("active: ", err)
	}
	*a = ActiveSpec{}
	for _, f := range []struct {
		in  string
		out *time.Time
	}{{raw.From, &a.From}, {raw.To, &a.To}} {
		if f.in == "" {
			continue
		}
		t, err := leadkit.ParseDate(f.in)
		if err != nil {
			return fmt.Errorf("active: %w", err)
		}
		*f.out = t
	}
	return nil
}

// CountSpec is an occurrence threshold or range: the rule gives its
// Points, once per lead, when the number of its occurrences counted
// (matching Types and When, within Limit, since the last Reset) in the
// Window before the as-of time is at least Min and, if Max is set, at
// most Max. Window 0 counts every occurrence. {min: 3, window: 30d} is
// "at least 3 times in 30 days"; {min: 0, max: 0, window: 90d} is "not in
// 90 days". A count rule has no decay, first bonus or recency of its own
// (the window is its time limit); its lifetime score counts every
// occurrence since the last reset.
type CountSpec struct {
	Min    int           `json:"min"`
	Max    *int          `json:"max,omitempty"`
	Window time.Duration `json:"window,omitempty"`
}

// MarshalJSON writes the window as text ("30d").
func (c CountSpec) MarshalJSON() ([]byte, error) { return spec.EncodeDurations(c) }

// UnmarshalJSON reads the window as text ("30d"); a bare number and an
// unknown key are errors wrapping [leadkit.ErrInvalid].
func (c *CountSpec) UnmarshalJSON(b []byte) error {
	return spec.DecodeDurations(b, c, "count: ")
}

// Period is the calendar period of a frequency limit ([LimitSpec].Per).
type Period string

// Limit periods. [Compile] refuses any other value; an empty Per is PerEver.
const (
	PerEver  Period = "ever"
	PerDay   Period = "day"   // calendar day in the model's TimeZone (UTC by default)
	PerWeek  Period = "week"  // ISO week, Monday to Sunday, in the model's TimeZone
	PerMonth Period = "month" // calendar month in the model's TimeZone
)

// LimitSpec lets at most Max occurrences count per calendar period
// (PerEver, PerDay, PerWeek, PerMonth, in the model's TimeZone), or, with
// Every set, in any rolling span of that length (Marketo's "once every 7
// days": {max: 1, every: 7d}; at most MaxRollingLimit). {max: 1, per:
// ever} is "once". Set Per or Every, not both.
type LimitSpec struct {
	Max   int           `json:"max"`
	Per   Period        `json:"per,omitempty"`
	Every time.Duration `json:"every,omitempty"`
}

// MarshalJSON writes every as text ("7d").
func (l LimitSpec) MarshalJSON() ([]byte, error) { return spec.EncodeDurations(l) }

// UnmarshalJSON reads every as text ("7d"); a bare number and an unknown
// key are errors wrapping [leadkit.ErrInvalid].
func (l *LimitSpec) UnmarshalJSON(b []byte) error {
	return spec.DecodeDurations(b, l, "limit: ")
}

// DecaySpec chooses how an occurrence's points fade with its age at the
// as-of time. Set at most one of Window, HalfLife and Steps; an empty
// DecaySpec means no decay. The lifetime score ignores decay. Durations
// are written in JSON and YAML as "30d", "2w", "36h" (see
// [leadkit.ParseDuration]).
type DecaySpec struct {
	// Window counts only occurrences younger than this.
	Window time.Duration `json:"window,omitempty"`
	// HalfLife halves an occurrence's points every HalfLife.
	HalfLife time.Duration `json:"half_life,omitempty"`
	// Steps keep a percentage of the points once an occurrence is at least
	// AfterMonths calendar months old (as HubSpot does).
	Steps []DecayStep `json:"steps,omitempty"`
}

// MarshalJSON writes the window and half-life as text ("14d", "36h"; see
// leadkit.FormatDuration).
func (d DecaySpec) MarshalJSON() ([]byte, error) { return spec.EncodeDurations(d) }

// UnmarshalJSON reads the window and half-life as text ("14d", "36h"); a bare number and
// an unknown key are errors wrapping [leadkit.ErrInvalid].
func (d *DecaySpec) UnmarshalJSON(b []byte) error {
	return spec.DecodeDurations(b, d, "decay: ")
}

// DecayStep keeps KeepPercent of an occurrence's points once it is
// AfterMonths months old (occurrence time <= as-of minus AfterMonths months).
type DecayStep struct {
	AfterMonths int     `json:"after_months"`
	KeepPercent float64 `json:"keep_percent"`
}

// RecencySpec adds Points while the latest counted occurrence of the rule is
// younger than Within (written "7d" in JSON and YAML).
type RecencySpec struct {
	Within time.Duration `json:"within"`
	Points float64       `json:"points"`
}

// MarshalJSON writes within as text ("14d", "36h"; see
// leadkit.FormatDuration).
func (r RecencySpec) MarshalJSON() ([]byte, error) { return spec.EncodeDurations(r) }

// UnmarshalJSON reads within as text ("14d", "36h"); a bare number and
// an unknown key are errors wrapping [leadkit.ErrInvalid].
func (r *RecencySpec) UnmarshalJSON(b []byte) error {
	return spec.DecodeDurations(b, r, "recency: ")
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

// Caps on a model, checked by [Compile]. Names (of dimensions, rules,
// thresholds, bands, event types) are at most [leadkit.MaxNameBytes] and
// expressions at most [leadkit.MaxExprBytes]; a model document read by
// [ParseModel] is at most [leadkit.MaxDocumentBytes].
const (
	MaxDimensions   = 100
	MaxRules        = 2000 // fit and behavior rules of all dimensions together
	MaxFields       = 200
	MaxThresholds   = 200
	MaxBands        = 26
	MaxTypesPerRule = 100
	MaxDecaySteps   = 24
	// MaxCount caps a CountSpec's Min and Max.
	MaxCount = 1 << 30
	// MaxRollingLimit caps LimitSpec.Max with Every: a state keeps the
	// times of the last Max counted occurrences.
	MaxRollingLimit = 100
	// MaxSequence caps BehaviorRule.Sequence.
	MaxSequence = 16
	// MaxOps caps a multiply rule's RuleState.Ops: its lifetime change
	// and two decayed numbers per decay class of its dimension's rules
	// (no decay, or one half-life): what it changed and what it made
	// the rules forget above their caps. So a dimension with a multiply
	// rule has at most MaxOpClasses different decays among its other
	// rules.
	MaxOps = 1 + 2*MaxOpClasses
	// MaxOpClasses caps the different decays (no decay, or a half-life)
	// of the rules a multiply scales: see MaxOps.
	MaxOpClasses = 8
)

// MaxEvents caps the events of one [Input] (one lead): more is an error
// for that lead, not a slow call. A lead's timeline of a few years holds
// thousands; score longer histories incrementally with a [State].
const MaxEvents = 100_000

const maxFields = MaxFields

// ParseModel decodes a model from JSON or YAML (YAML is a superset of JSON).
// Unknown keys are errors, so a typo such as "pionts" does not silently
// score zero. It does not validate the model: [Compile] does.
func ParseModel(data []byte) (ModelSpec, error) {
	var s ModelSpec
	if err := spec.Parse(data, &s); err != nil {
		return ModelSpec{}, fmt.Errorf("scoring: parse model: %w", err)
	}
	return s, nil
}
