package learn

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/text"
	"github.com/leadkit/leadkit/scoring"
)

// Example is one lead as it was at a cut-off and what became of it: its
// profile as known at CutOff, its events (those after CutOff are ignored,
// as scoring ignores events after its as-of time) and whether it
// converted to the chosen stage within the chosen horizon after CutOff.
// Choosing the stage and the horizon is the caller's: Fit only sees the
// outcome.
type Example struct {
	Lead      leadkit.Lead
	Events    []leadkit.Event
	CutOff    time.Time
	Converted bool
}

// Signal is one behaviour the model may learn from: the events of one of
// Types (empty: any type) for which When, an optional predicate in the
// expression language of behavior rules (event.channel == "webinar"), is
// true. Fit counts a signal's events in each of Options.Windows and bins
// the counts into count rules ([scoring.CountSpec]).
type Signal struct {
	// Name names the signal in rule names and results; at most
	// MaxSignalNameBytes.
	Name  string   `json:"name"`
	Types []string `json:"types,omitempty"`
	When  string   `json:"when,omitempty"`
}

// Options tune Fit. The zero value of each field is its default.
type Options struct {
	// Name is the emitted model's name (default "learned"), Dimension its
	// one dimension's (default "score").
	Name      string
	Dimension string
	// Fields are the profile fields to bin into fit rules (nil:
	// DefaultFields; empty: none). Built-in fields: person.title, seniority,
	// department, country, region, city, age_band; company.industry,
	// country, employees, revenue; lead.source. Custom fields are named
	// once declared in Declare. Text and bool fields are binned by value,
	// numbers by range; a number of 0 reads as missing (a zero employee
	// count is an unknown one, and expressions read an absent custom
	// number as 0).
	Fields []string
	// Declare declares the custom fields that Fields and signal
	// predicates read (person.<key> and company.<key> of type number,
	// string or bool; event.<key> of any type for predicates); the
	// emitted model declares them too.
	Declare []leadkit.FieldSpec
	// Signals are the behaviours to learn from (nil: one per event type
	// and one per channel seen before the training examples' cut-offs,
	// see TypeSignals and ChannelSignals, the most frequent when there
	// are more than MaxSignalFeatures / len(Windows); empty: none).
	Signals []Signal
	// Paths is the number of the most frequent event types (seen before
	// the training examples' cut-offs) whose ordered pairs (A, B), A !=
	// B, are path candidates: a binary feature "the lead's events hold A,
	// then B" (other events between allowed), counted with a path rule
	// (scoring.BehaviorRule.Sequence) and emitted as one when kept, so
	// that a golden path ("webinar_attended, then download") can be
	// learnt. 0: DefaultPathTypes when Signals is nil (the default
	// signals), none when Signals are given; negative: none; at most
	// MaxPathTypes (MaxPathTypes * (MaxPathTypes - 1) pairs).
	Paths int
	// Windows are the count windows of every signal: 0 counts every
	// occurrence, 30d those of the last 30 days before the cut-off
	// (default {0, 30d}). A short window is how recency is learnt.
	Windows []time.Duration
	// HoldOut is the share of leads held out of training for the
	// evaluation (default 0.3; in [0.05, 0.9]). Seed chooses them (see
	// Split).
	HoldOut float64
	Seed    uint64
	// L2 is the strength of the ridge penalty on the coefficients, in
	// units of the log-likelihood (default 1: a prior that a feature's
	// coefficient is within about ±2 of 0, which matters only on small
	// data).
	L2 float64
	// MinSupport is the least number of training examples a bin needs
	// (default the larger of 30 and 1% of the training examples). Numeric
	// bins are merged until they have it; values of text fields with
	// less go to an "other" bin; a missing or other bin with less is
	// dropped (its leads get no points from the field).
	MinSupport int
	// Bins is the number of quantile bins numbers and counts start from
	// before merging (default 10, at most MaxBins); Categories the most
	// frequent values of a text field kept as bins of their own (default
	// 10, at most MaxCategories).
	Bins       int
	Categories int
	// NonMonotone keeps the bins of a number or count whose conversion
	// rate goes up and down; by default adjacent bins are merged until
	// the rate rises or falls monotonically (pool adjacent violators),
	// as credit scorecards do.
	NonMonotone bool
	// MinInformationValue drops the features whose information value
	// (the strength of their weights of evidence on the training
	// examples) is below it (default 0: none). Scorecards often use
	// 0.02, the usual "not predictive" line; but a real effect on a
	// behaviour nearly every lead shows has a small information value
	// (a touch with log-odds 0.3 that reaches 86% of the leads: about
	// 0.006), so by default the regression decides.
	MinInformationValue float64
	// PDO is the points that double the odds of conversion (default 20;
	// 1 to 1000: points are whole numbers);
	// BaseScore the score at which the odds are BaseOdds (default 100);
	// BaseOdds defaults to the training examples' odds, so that a lead of
	// average odds scores BaseScore. See Scale.
	PDO       float64
	BaseScore *float64
	BaseOdds  float64
	// Current is the team's current model, evaluated on the same held-out
	// examples for comparison, reading CurrentDimension (default its
	// first dimension).
	Current          *scoring.Model
	CurrentDimension string
	// Workers is the number of goroutines that score examples (<= 1: the
	// calling goroutine only).
	Workers int
}

// Caps on the inputs of Fit. The product of the caps keeps an emitted
// model within scoring.MaxRules.
const (
	// MinExamples is the fewest examples Fit accepts.
	MinExamples = 20
	// MaxExamples caps the examples of one Fit.
	MaxExamples = 10_000_000
	// MaxFields caps Options.Fields.
	MaxFields = 32
	// MaxSignals caps Options.Signals, MaxWindows Options.Windows, and
	// MaxSignalFeatures their product.
	MaxSignals        = 64
	MaxWindows        = 4
	MaxSignalFeatures = 64
	// MaxPathTypes caps Options.Paths: the event types whose ordered
	// pairs are path features, at most MaxPathFeatures of them.
	MaxPathTypes    = 12
	MaxPathFeatures = MaxPathTypes * (MaxPathTypes - 1)
	// MaxSignalNameBytes caps a signal's name.
	MaxSignalNameBytes = 100
	// MaxBins caps Options.Bins, MaxCategories Options.Categories.
	MaxBins       = 16
	MaxCategories = 16
	// MaxValueBytes caps a text value kept as a bin of its own, as the
	// rule writes it (quoted and escaped); longer values go to the
	// field's "other" bin.
	MaxValueBytes = 200
	// LeakAUC is the AUC of one feature alone on the training examples
	// from which it is taken for a leak of the outcome and dropped.
	LeakAUC = 0.99
)

// A feature has at most MaxCategories + 2 bins (other, missing), or
// MaxBins + 1 (missing); the model has one more rule, the base points.
// A path feature has two bins and one rule (the "not held" bin's points
// go into the base rule).
const maxRules = (MaxFields+MaxSignalFeatures)*(max(MaxBins+1, MaxCategories+2)) + MaxPathFeatures + 1

// A compile error if the caps could emit more rules than a model holds.
const _ = uint(scoring.MaxRules - maxRules)

// A compile error if a field's "other" bin, which lists every value kept
// as a bin of its own, could pass the expression cap.
const _ = uint(leadkit.MaxExprBytes - (MaxCategories*(MaxValueBytes+2) + leadkit.MaxNameBytes + 32))

// Defaults of Options.
const (
	DefaultName       = "learned"
	DefaultDimension  = "score"
	DefaultHoldOut    = 0.3
	DefaultL2         = 1.0
	DefaultBins       = 10
	DefaultCategories = 10
	DefaultPDO        = 20.0
	// DefaultPathTypes is the default of Options.Paths with the default
	// signals: the 8 most frequent event types, 56 ordered pairs.
	DefaultPathTypes = 8
	DefaultBaseScore = 100.0
)

// DefaultFields are the profile fields Fit bins by default: those that
// B2B fit models usually use. A field empty in every example is left out
// without a warning.
func DefaultFields() []string {
	return []string{
		"person.seniority", "person.department", "person.title", "person.country",
		"company.industry", "company.employees", "company.revenue",
	}
}

// DefaultWindows are the default count windows: ever and the last 30
// days.
func DefaultWindows() []time.Duration { return []time.Duration{0, 30 * 24 * time.Hour} }

// TypeSignals returns one signal per event type seen before the
// examples' cut-offs, named by the type, most frequent first (ties by
// name), at most MaxSignals.
func TypeSignals(examples []Example) []Signal {
	return signalsOf(countSignals(examples, eventType, typeSignal))
}

// ChannelSignals returns one signal per channel seen before the
// examples' cut-offs (events without a channel are passed over), named
// "channel:<name>" and matching event.channel == "<name>", most frequent
// first (ties by name), at most MaxSignals. Channels are where B2B
// effects usually live; Fit uses both kinds by default.
func ChannelSignals(examples []Example) []Signal {
	return signalsOf(countSignals(examples, eventChannel, channelSignal))
}

func eventType(e *leadkit.Event) string    { return e.Type }
func eventChannel(e *leadkit.Event) string { return e.Channel }
func typeSignal(v string) Signal           { return Signal{Name: v, Types: []string{v}} }
func channelSignal(v string) Signal {
	return Signal{Name: channelPrefix + v, When: "event.channel == " + quote(v)}
}

const channelPrefix = "channel:"

// counted is a signal with the number of events it matched.
type counted struct {
	Signal
	n int
}

// countSignals counts the events before the examples' cut-offs by key
// (passing over empty keys and keys that cannot name a signal) and
// returns a signal per key, most frequent first (ties by name), at most
// MaxSignals.
func countSignals(examples []Example, key func(*leadkit.Event) string, newSignal func(string) Signal) []counted {
	counts := map[string]int{}
	for i := range examples {
		ex := &examples[i]
		for j := range ex.Events {
			e := &ex.Events[j]
			if k := key(e); k != "" && !e.Time.After(ex.CutOff) {
				counts[k]++
			}
		}
	}
	var out []counted
	for k, n := range counts {
		s := newSignal(k)
		if leadkit.CheckText(s.Name, MaxSignalNameBytes) == "" {
			out = append(out, counted{s, n})
		}
	}
	sortCounted(out)
	return out[:min(len(out), MaxSignals)]
}

func sortCounted(cs []counted) {
	slices.SortFunc(cs, func(a, b counted) int {
		if a.n != b.n {
			return b.n - a.n
		}
		return strings.Compare(a.Name, b.Name)
	})
}

func signalsOf(cs []counted) []Signal {
	out := make([]Signal, len(cs))
	for i, c := range cs {
		out[i] = c.Signal
	}
	return out
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("learn: %w: %s", leadkit.ErrInvalid, fmt.Sprintf(format, args...))
}

// fieldDef is a profile field Fit can bin.
type fieldDef struct {
	name    string
	typ     leadkit.FieldType // number, string or bool
	builtin bool
	// get reads the field: a number (0 when missing) or a text (""
	// when missing; "true"/"false" for bools).
	get func(l *leadkit.Lead) (float64, string, error)
}

func strField(name string, f func(l *leadkit.Lead) string) fieldDef {
	return fieldDef{name: name, typ: leadkit.TypeString, builtin: true, get: func(l *leadkit.Lead) (float64, string, error) {
		return 0, f(l), nil
	}}
}

var builtinFields = []fieldDef{
	strField("person.title", func(l *leadkit.Lead) string { return l.Person.Title }),
	strField("person.seniority", func(l *leadkit.Lead) string { return l.Person.Seniority }),
	strField("person.department", func(l *leadkit.Lead) string { return l.Person.Department }),
	strField("person.country", func(l *leadkit.Lead) string { return l.Person.Country }),
	strField("person.region", func(l *leadkit.Lead) string { return l.Person.Region }),
	strField("person.city", func(l *leadkit.Lead) string { return l.Person.City }),
	strField("person.age_band", func(l *leadkit.Lead) string { return l.Person.AgeBand }),
	strField("company.industry", func(l *leadkit.Lead) string { return l.Company.Industry }),
	strField("company.country", func(l *leadkit.Lead) string { return l.Company.Country }),
	strField("lead.source", func(l *leadkit.Lead) string { return l.Source }),
	{name: "company.employees", typ: leadkit.TypeNumber, builtin: true, get: func(l *leadkit.Lead) (float64, string, error) {
		return float64(l.Company.Employees), "", nil
	}},
	{name: "company.revenue", typ: leadkit.TypeNumber, builtin: true, get: func(l *leadkit.Lead) (float64, string, error) {
		return l.Company.Revenue, "", nil
	}},
}

// customField reads a declared custom field the way expressions do: an
// absent (or nil) value is the type's zero value, a value of another
// type an error.
func customField(fs leadkit.FieldSpec) (fieldDef, bool) {
	scope, key, _ := strings.Cut(fs.Name, ".")
	if scope != "person" && scope != "company" {
		return fieldDef{}, false
	}
	custom := func(l *leadkit.Lead) (any, bool) {
		m := l.Person.Custom
		if scope == "company" {
			m = l.Company.Custom
		}
		v, ok := m[key]
		return v, ok && v != nil
	}
	d := fieldDef{name: fs.Name, typ: fs.Type}
	switch fs.Type {
	case leadkit.TypeNumber:
		d.get = func(l *leadkit.Lead) (float64, string, error) {
			v, ok := custom(l)
			if !ok {
				return 0, "", nil
			}
			n, err := leadkit.Number(v)
			return n, "", err
		}
	case leadkit.TypeString:
		d.get = func(l *leadkit.Lead) (float64, string, error) {
			v, ok := custom(l)
			if !ok {
				return 0, "", nil
			}
			s, isStr := v.(string)
			if !isStr {
				return 0, "", fmt.Errorf("%w: a %T, not a string", leadkit.ErrInvalid, v)
			}
			return 0, s, nil
		}
	case leadkit.TypeBool:
		d.get = func(l *leadkit.Lead) (float64, string, error) {
			v, ok := custom(l)
			if !ok {
				return 0, "false", nil
			}
			b, isBool := v.(bool)
			if !isBool {
				return 0, "", fmt.Errorf("%w: a %T, not a bool", leadkit.ErrInvalid, v)
			}
			if b {
				return 0, "true", nil
			}
			return 0, "false", nil
		}
	default:
		return fieldDef{}, false
	}
	return d, true
}

// config is Options with the defaults filled in and the fields resolved.
type config struct {
	Options
	fields        []fieldDef
	defaultFields bool
	baseScore     float64
}

// resolve validates opts (every problem at once) and fills in the
// defaults that do not depend on the data.
func resolve(opts Options) (config, error) {
	c := config{Options: opts}
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, invalid(format, args...)) }
	if c.Name == "" {
		c.Name = DefaultName
	}
	if c.Dimension == "" {
		c.Dimension = DefaultDimension
	}
	for _, f := range []struct{ what, v string }{{"name", c.Name}, {"dimension", c.Dimension}} {
		if msg := leadkit.CheckText(f.v, leadkit.MaxNameBytes); msg != "" {
			bad("options: %s %s", f.what, msg)
		}
	}
	if len(c.Declare) > scoring.MaxFields {
		bad("options: %d declared fields, the limit is %d", len(c.Declare), scoring.MaxFields)
	}
	if c.Fields == nil {
		c.Fields = DefaultFields()
		c.defaultFields = true
	}
	if len(c.Fields) > MaxFields {
		bad("options: %d fields, the limit is %d", len(c.Fields), MaxFields)
	}
	seen := map[string]bool{}
	for i, name := range c.Fields {
		if seen[name] {
			bad("options: field %d %q is named twice", i+1, text.Clip(name, 64))
			continue
		}
		seen[name] = true
		d, ok := lookupField(name, c.Declare)
		if !ok {
			bad("options: field %d %q: not a field Fit can bin (built-in: %s; or a person.<key> or company.<key> of type number, string or bool declared in Declare)", i+1, text.Clip(name, 64), builtinNames())
			continue
		}
		c.fields = append(c.fields, d)
	}
	if c.Windows == nil {
		c.Windows = DefaultWindows()
	}
	if len(c.Windows) == 0 || len(c.Windows) > MaxWindows {
		bad("options: %d windows, want 1 to %d", len(c.Windows), MaxWindows)
	}
	for i, w := range c.Windows {
		if w < 0 || w > leadkit.MaxDuration {
			bad("options: window %d (%s) must be 0 (ever) to %s", i+1, w, leadkit.FormatDuration(leadkit.MaxDuration))
		}
		if slices.Index(c.Windows, w) < i {
			bad("options: window %d (%s) is given twice", i+1, windowLabel(w))
		}
		if w > 0 && w%time.Second != 0 {
			bad("options: window %d (%s) must be a whole number of seconds", i+1, w)
		}
	}
	if len(c.Signals) > MaxSignals {
		bad("options: %d signals, the limit is %d", len(c.Signals), MaxSignals)
	}
	if n := len(c.Signals) * max(1, len(c.Windows)); n > MaxSignalFeatures {
		bad("options: %d signals in %d windows make %d count features, the limit is %d", len(c.Signals), len(c.Windows), n, MaxSignalFeatures)
	}
	names := map[string]bool{}
	for i, s := range c.Signals {
		if s.Name == "" {
			bad("options: signal %d has no name", i+1)
		} else if msg := leadkit.CheckText(s.Name, MaxSignalNameBytes); msg != "" {
			bad("options: signal %d name %s", i+1, msg)
		} else if names[s.Name] {
			bad("options: signal %d %q: the name is used twice", i+1, s.Name)
		}
		names[s.Name] = true
		if len(s.Types) > scoring.MaxTypesPerRule {
			bad("options: signal %d %q: %d types, the limit is %d", i+1, text.Clip(s.Name, 64), len(s.Types), scoring.MaxTypesPerRule)
		}
	}
	if c.Paths > MaxPathTypes {
		bad("options: paths over the %d most frequent event types, the limit is %d", c.Paths, MaxPathTypes)
	}
	switch {
	case c.Paths < 0:
		c.Paths = 0
	case c.Paths == 0 && c.Signals == nil:
		c.Paths = DefaultPathTypes
	}
	if c.HoldOut == 0 {
		c.HoldOut = DefaultHoldOut
	}
	if !(c.HoldOut >= 0.05 && c.HoldOut <= 0.9) {
		bad("options: hold-out share %g is outside [0.05, 0.9]", c.HoldOut)
	}
	if c.L2 == 0 {
		c.L2 = DefaultL2
	}
	if !(c.L2 > 0 && c.L2 <= 1e6) {
		bad("options: L2 %g is outside (0, 1e6]", c.L2)
	}
	if c.MinSupport < 0 || c.MinSupport > MaxExamples {
		bad("options: min support %d is outside [0, %d]", c.MinSupport, MaxExamples)
	}
	if c.Bins == 0 {
		c.Bins = DefaultBins
	}
	if c.Bins < 2 || c.Bins > MaxBins {
		bad("options: %d bins, want 2 to %d", c.Bins, MaxBins)
	}
	if c.Categories == 0 {
		c.Categories = DefaultCategories
	}
	if c.Categories < 1 || c.Categories > MaxCategories {
		bad("options: %d categories, want 1 to %d", c.Categories, MaxCategories)
	}
	if !(c.MinInformationValue >= 0 && c.MinInformationValue <= 10) {
		bad("options: min information value %g is outside [0, 10]", c.MinInformationValue)
	}
	if c.PDO == 0 {
		c.PDO = DefaultPDO
	}
	if !(c.PDO >= 1 && c.PDO <= 1000) {
		bad("options: PDO %g is outside [1, 1000] (below 1 point per doubling of the odds, rounding to whole points erases the rules)", c.PDO)
	}
	c.baseScore = DefaultBaseScore
	if c.BaseScore != nil {
		c.baseScore = *c.BaseScore
	}
	if !(math.Abs(c.baseScore) <= 1e6) {
		bad("options: base score %g is outside [-1e6, 1e6]", c.baseScore)
	}
	if c.BaseOdds != 0 && !(c.BaseOdds >= 1e-6 && c.BaseOdds <= 1e6) {
		bad("options: base odds %g is outside [1e-6, 1e6]", c.BaseOdds)
	}
	if c.Workers < 0 {
		bad("options: %d workers", c.Workers)
	}
	if c.Current == nil && c.CurrentDimension != "" {
		bad("options: current dimension %q without a current model", text.Clip(c.CurrentDimension, 64))
	}
	if c.Current != nil {
		dims := c.Current.Dimensions()
		if c.CurrentDimension == "" && len(dims) > 0 {
			c.CurrentDimension = dims[0]
		}
		if !slices.Contains(dims, c.CurrentDimension) {
			bad("options: the current model %q has no dimension %q (it has %s)", text.Clip(c.Current.Name(), 64), text.Clip(c.CurrentDimension, 64), strings.Join(dims, ", "))
		}
	}
	return c, errors.Join(errs...)
}

func lookupField(name string, declared []leadkit.FieldSpec) (fieldDef, bool) {
	for _, d := range builtinFields {
		if d.name == name {
			return d, true
		}
	}
	for _, fs := range declared {
		if fs.Name == name {
			return customField(fs)
		}
	}
	return fieldDef{}, false
}

func builtinNames() string {
	names := make([]string, len(builtinFields))
	for i, d := range builtinFields {
		names[i] = d.name
	}
	return strings.Join(names, ", ")
}

// windowLabel names a count window in rule names: "ever" or "30d".
func windowLabel(w time.Duration) string {
	if w == 0 {
		return "ever"
	}
	return leadkit.FormatDuration(w)
}
