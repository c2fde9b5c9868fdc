package scoring

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/lang"
	"github.com/leadkit/leadkit/internal/text"
)

// Options tunes Compile. The zero value is the default.
type Options struct {
	// MaxNodes caps the size of each rule expression (default 1000 nodes).
	MaxNodes uint
	// MemoryBudget caps what one evaluation of an expression that runs on
	// the expr VM may allocate (default 100000 units).
	MemoryBudget uint
	// MaxStringBytes and MaxListItems cap the values rules read (defaults
	// DefaultMaxStringBytes and DefaultMaxListItems): a rule that reads a
	// longer string or list fails for that lead with a *RuleError naming
	// the field. Lower limits let more expensive rules compile (MaxCost is
	// estimated at these sizes).
	MaxStringBytes int
	MaxListItems   int
	// MaxCost bounds the estimated worst-case work of each fit rule and
	// derived dimension, and of all of them together (one lead's fit
	// pass), on inputs at the size limits (default DefaultMaxCost). One
	// unit is about one expression VM step; string work costs one unit per
	// 32 bytes. A rule over the limit is a compile error: typically one
	// that compares two lists element by element or nests predicates over
	// lists.
	MaxCost int
	// MaxEventCost bounds, in the same units, each behavior predicate and
	// all the predicates one event runs (default DefaultMaxEventCost):
	// predicates run once per event, so their budget is smaller.
	MaxEventCost int
	// Now is the clock used when an input's as-of time is zero (nil:
	// time.Now). Pass Input.AsOf to score deterministically; Now only
	// serves callers who mean "as of now".
	Now func() time.Time
}

// Default cost limits; see [Options].
const (
	DefaultMaxCost      = 1_000_000
	DefaultMaxEventCost = 20_000
)

// MaxPoints bounds the magnitude of every points value, cap, threshold and
// band of a model, and of every score, so sums stay finite and exact: a
// rule's points are held within it (repeated factors included; its sum
// over many occurrences may pass it, and its dimension is then held at
// it), a rule
// dimension's sum and a derived dimension's value too (before the
// dimension's floor and cap; Raw keeps the sum or the value), so no
// finite sequence of events makes a lead unscorable. A rule's PointsExpr
// beyond it, or a non-finite derived value, is a run-time error.
const MaxPoints = 1e9

// Model is a compiled scoring model. It is immutable and safe for
// concurrent use.
type Model struct {
	spec        ModelSpec
	fingerprint string
	lim         lang.Limits
	now         func() time.Time
	// timeFit reports that some fit rule or derived dimension reads the
	// as-of time (lead.age_days, daysSince), so fit points change with
	// time alone; asOfPred names a predicate rule that does, which makes
	// the incremental path unavailable ("" when none).
	timeFit  bool
	asOfPred string
	// mult reports that some dimension has a multiply rule, whose
	// changes results list as its own (RuleState.Ops).
	mult bool

	dims   []dimension
	order  []int // dimension evaluation order (rule dimensions, then derived in dependency order)
	byName map[string]int

	fit   []fitRule
	beh   []behRule
	preds []*lang.Program
	// predRules lists the rules of each predicate, for errors.
	predRules [][]int
	// predDated marks the predicates whose rules all have active dates
	// (nil when none has).
	predDated []bool

	types    typeTable
	routes   []route // per type id
	anyRoute route   // events of types no rule names

	thresholds []threshold
	matrix     *matrixDef

	pool sync.Pool // *scratch

	facts []namedFact // every fact Result.Facts gives, in name order
}

type dimension struct {
	name     string
	derived  *lang.Program
	deps     []int
	min, max float64
	bands    []band // by Min descending
	// mult: the dimension has a multiply rule; opHL are then the decay
	// classes of the rules it scales (a half-life in ns, 0 for none), in
	// order of first use: a multiply rule's Ops keep one fresh change per
	// class (behRule.opClass).
	mult bool
	opHL []float64
	fit  []int
	beh  []int
}

type band struct {
	name string
	min  float64
}

type fitRule struct {
	name   string
	dim    int
	points float64
	prog   *lang.Program
	// pts gives the points from the lead (PointsExpr), capped to ±cap.
	pts *lang.Program
	cap float64
}

type decayKind uint8

const (
	decayNone decayKind = iota
	decayWindow
	decayHalfLife
	decaySteps
)

type step struct {
	months int
	keep   float64 // fraction
}

type behRule struct {
	name          string
	dim           int
	points, bonus float64
	cap           float64 // 0: none
	pred          int32   // -1: none
	limitMax      int32
	per           uint8
	dk            decayKind
	window        int64   // ns
	halfLife      float64 // ns
	steps         []step  // by months ascending
	every         int64   // ns: a rolling limit's span, 0: calendar periods
	zone          *zone   // the model's time zone for calendar periods; nil: UTC
	recencyWithin int64   // ns, 0: none
	recencyPts    float64
	reset         bool
	// A count rule (CountSpec) counts each occurrence as 1 (points is 1,
	// the window its decay) and is worth countPts while the count is in
	// [countMin, countMax] (countMax -1: no upper bound).
	isCount            bool
	countMin, countMax int32
	countPts           float64
	keepN              int // the occurrence times a count rule keeps
	// from and to bound the event times the rule takes ([from, to) in
	// ns; MinInt64 and MaxInt64 when open).
	from, to int64
	// pts gives each occurrence's points from the event (PointsExpr).
	pts *lang.Program
	// seq is a path rule's sequence of event types (Sequence).
	seq []string
	// set: the rule (a count rule) sets its dimension while its count is
	// in range; multiply: each occurrence multiplies what the dimension's
	// other rules counted so far by multBy.
	set      bool
	multiply bool
	multBy   float64
	// opClass is the rule's decay class in its dimension's opHL.
	opClass uint8
}

const (
	perEver uint8 = iota
	perDay
	perWeek
	perMonth
)

type threshold struct {
	name  string
	dim   int
	value float64
}

type matrixDef struct {
	rows, cols int
	cells      [][]string // [row band][col band] plus a last "no band" slot
}

// Name returns the model's name.
func (m *Model) Name() string { return m.spec.Name }

// Version returns the model's version.
func (m *Model) Version() string { return m.spec.Version }

// opsStateVersion names the layout and meaning of a multiply rule's
// RuleState.Ops, part of the fingerprint of a model with multiply rules.
const opsStateVersion = "\x00ops:shown+forgotten"

// hasMultiply reports whether spec has a multiply rule.
func hasMultiply(spec ModelSpec) bool {
	for _, d := range spec.Dimensions {
		for _, r := range d.Behavior {
			if r.Op == OpMultiply {
				return true
			}
		}
	}
	return false
}

// Fingerprint identifies the model's content (a hash of its spec, and for
// a model with multiply rules the version of their state); states built
// by one model are only accepted by a model with the same fingerprint.
func (m *Model) Fingerprint() string { return m.fingerprint }

// Spec returns a copy of the spec the model was compiled from.
func (m *Model) Spec() ModelSpec {
	var out ModelSpec
	b, _ := json.Marshal(m.spec)
	_ = json.Unmarshal(b, &out)
	return out
}

// Dimensions returns the dimension names in model order.
func (m *Model) Dimensions() []string {
	out := make([]string, len(m.dims))
	for i, d := range m.dims {
		out[i] = d.name
	}
	return out
}

// BehaviorDimensions lists, in model order, the dimensions with behavior
// rules: the scores a lead's events move.
func (m *Model) BehaviorDimensions() []string {
	var out []string
	for _, d := range m.dims {
		if len(d.beh) > 0 {
			out = append(out, d.name)
		}
	}
	return out
}

// Dependents lists, in model order, the named dimensions and every
// derived dimension that reads one of them, directly or through other
// derived dimensions ("engagement" -> engagement and a total of fit and
// engagement). Unknown names are left out.
func (m *Model) Dependents(names ...string) []string {
	in := make([]bool, len(m.dims))
	for _, n := range names {
		if i, ok := m.byName[n]; ok {
			in[i] = true
		}
	}
	for _, i := range m.order { // dependencies come before the dimensions that read them
		for _, d := range m.dims[i].deps {
			if in[d] {
				in[i] = true
			}
		}
	}
	var out []string
	for i, d := range m.dims {
		if in[i] {
			out = append(out, d.name)
		}
	}
	return out
}

// threshold returns the model's threshold of that name.
func (m *Model) threshold(name string) (threshold, error) {
	for _, t := range m.thresholds {
		if t.name == name {
			return t, nil
		}
	}
	return threshold{}, fmt.Errorf("scoring: model %q: threshold %q: %w", m.spec.Name, name, leadkit.ErrNotFound)
}

var keyRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// compiler collects every problem of a model.
type compiler struct {
	errs    []error
	opts    Options
	predIdx map[string]int32 // predicate source -> index, shared model-wide

	maxCost, maxEventCost float64
	budget                lang.Budget // the model's expressions together
	// forceVM evaluates every expression on the expr VM (tests, through
	// export_test.go).
	forceVM bool
	// zone is the model's time zone (nil: UTC).
	zone *zone
}

// maxLimit is the largest LimitSpec.Max.
const maxLimit = 1 << 30

// totals bounds the work of one lead's fit pass (fit rules, and derived
// dimensions twice: fresh and lifetime) and of one event's predicates.
func (c *compiler) totals(m *Model) {
	var fit float64
	for i := range m.fit {
		fit += m.fit[i].prog.Cost()
		if m.fit[i].prog.AsOf() {
			m.timeFit = true
		}
		if p := m.fit[i].pts; p != nil {
			fit += p.Cost()
			if p.AsOf() {
				m.timeFit = true
			}
		}
	}
	for i := range m.dims {
		if p := m.dims[i].derived; p != nil {
			fit += 2 * p.Cost()
		}
	}
	if fit > c.maxCost {
		c.add("", "", "rules", "the fit rules and derived dimensions together may do about %.3g units of work per lead on inputs at the size limits; the limit (Options.MaxCost) is %.3g", fit, c.maxCost)
	}
	check := func(what string, preds []int32, pts []int32) {
		var sum float64
		for _, p := range preds {
			sum += m.preds[p].Cost()
		}
		for _, ri := range pts {
			sum += m.beh[ri].pts.Cost()
		}
		if sum > c.maxEventCost {
			c.add("", "", "rules", "the predicates and points expressions of %s events together may do about %.3g units of work per event; the limit (Options.MaxEventCost) is %.3g", what, sum, c.maxEventCost)
		}
	}
	for id := range m.routes {
		check(fmt.Sprintf("%q", m.types.byID[id]), m.routes[id].preds, m.routes[id].pts)
	}
	check("other", m.anyRoute.preds, m.anyRoute.pts)
	// Predicates whose rules all have active dates are skipped outside
	// them (see evalPreds).
	for p, rules := range m.predRules {
		dated := len(rules) > 0
		for _, ri := range rules {
			if r := &m.beh[ri]; r.from == math.MinInt64 && r.to == math.MaxInt64 {
				dated = false
			}
		}
		if dated {
			if m.predDated == nil {
				m.predDated = make([]bool, len(m.preds))
			}
			m.predDated[p] = true
		}
	}
	for i, p := range m.preds {
		if p.AsOf() && m.asOfPred == "" {
			m.asOfPred = m.beh[m.predRules[i][0]].name
		}
	}
	// A points expression read at the event's time by Apply and at the
	// as-of time by Score would differ if it read the as-of time.
	for i := range m.beh {
		if p := m.beh[i].pts; p != nil && p.AsOf() && m.asOfPred == "" {
			m.asOfPred = m.beh[i].name
		}
	}
}

// caps checks the model against the documented caps (see MaxDimensions).
func (c *compiler) caps(spec ModelSpec) {
	name := func(dim, rule, what, v string) {
		if v != "" {
			if msg := leadkit.CheckText(v, leadkit.MaxNameBytes); msg != "" {
				c.add(text.Clip(dim, 64), text.Clip(rule, 64), what, "name %s", msg)
			}
		}
	}
	name("", "", "name", spec.Name)
	name("", "", "version", spec.Version)
	if n := len(spec.Dimensions); n > MaxDimensions {
		c.add("", "", "dimensions", "%d dimensions, the limit is %d", n, MaxDimensions)
	}
	if n := len(spec.Thresholds); n > MaxThresholds {
		c.add("", "", "thresholds", "%d thresholds, the limit is %d", n, MaxThresholds)
	}
	rules := 0
	for _, d := range spec.Dimensions {
		name(d.Name, "", "name", d.Name)
		rules += len(d.Fit) + len(d.Behavior)
		if len(d.Bands) > MaxBands {
			c.add(text.Clip(d.Name, 64), "", "bands", "%d bands, the limit is %d", len(d.Bands), MaxBands)
		}
		for _, b := range d.Bands {
			name(d.Name, "", "bands", b.Name)
		}
		for _, r := range d.Fit {
			name(d.Name, r.Name, "name", r.Name)
		}
		for _, r := range d.Behavior {
			name(d.Name, r.Name, "name", r.Name)
			if len(r.Types) > MaxTypesPerRule {
				c.add(text.Clip(d.Name, 64), text.Clip(r.Name, 64), "types", "%d types, the limit is %d", len(r.Types), MaxTypesPerRule)
			}
			for _, t := range r.Types {
				name(d.Name, r.Name, "types", t)
			}
		}
	}
	if rules > MaxRules {
		c.add("", "", "rules", "%d rules, the limit is %d", rules, MaxRules)
	}
	for _, t := range spec.Thresholds {
		name("", "", "thresholds", t.Name)
	}
}

func (c *compiler) add(dim, rule, part, format string, args ...any) {
	c.errs = append(c.errs, &RuleError{Dimension: dim, Rule: rule, Part: part, Msg: fmt.Sprintf(format, args...)})
}

func (c *compiler) exprErr(dim, rule, part string, e *lang.Error) {
	if e == errSkipped {
		return
	}
	c.errs = append(c.errs, &RuleError{Dimension: dim, Rule: rule, Part: part, Line: e.Line, Column: e.Column, Msg: e.Message})
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) && math.Abs(v) <= MaxPoints }

// Compile validates spec and compiles every rule. It returns an error
// joining every problem found (each a *RuleError wrapping
// [leadkit.ErrInvalid]) or a Model safe for concurrent use.
func Compile(spec ModelSpec, opts Options) (*Model, error) {
	return compile(spec, opts, false)
}

// compile is Compile; forceVM puts every expression on the expr VM.
func compile(spec ModelSpec, opts Options, forceVM bool) (*Model, error) {
	c := &compiler{opts: opts, predIdx: map[string]int32{}, forceVM: forceVM}
	m := &Model{lim: lang.Limits{MaxNodes: opts.MaxNodes, MemoryBudget: opts.MemoryBudget,
		MaxStringBytes: opts.MaxStringBytes, MaxListItems: opts.MaxListItems}.WithDefaults(), byName: map[string]int{}, now: opts.Now}
	if m.now == nil {
		m.now = time.Now
	}
	if opts.MaxCost < 0 || opts.MaxEventCost < 0 || opts.MaxStringBytes < 0 || opts.MaxListItems < 0 {
		c.add("", "", "options", "limits must not be negative")
	}
	c.maxCost, c.maxEventCost = float64(opts.MaxCost), float64(opts.MaxEventCost)
	if c.maxCost == 0 {
		c.maxCost = DefaultMaxCost
	}
	if c.maxEventCost == 0 {
		c.maxEventCost = DefaultMaxEventCost
	}
	b, err := json.Marshal(spec)
	if err != nil {
		return nil, fmt.Errorf("scoring: model: %w: %v", leadkit.ErrInvalid, err)
	}
	if err := json.Unmarshal(b, &m.spec); err != nil {
		return nil, fmt.Errorf("scoring: model: %w: %v", leadkit.ErrInvalid, err)
	}
	h := sha256.New()
	h.Write(b)
	if hasMultiply(spec) {
		// The states of a model with multiply rules keep their changes
		// as this version reads them (opsStateVersion): a state written
		// by an earlier one is another model's, rebuilt from its events
		// (the lifecycle engine does so) rather than misread.
		h.Write([]byte(opsStateVersion))
	}
	m.fingerprint = hex.EncodeToString(h.Sum(nil)[:8])

	if strings.TrimSpace(spec.Name) == "" {
		c.add("", "", "name", "model needs a name")
	}
	if len(spec.Dimensions) == 0 {
		c.add("", "", "dimensions", "model needs at least one dimension")
	}
	if tz := spec.TimeZone; tz != "" && tz != "UTC" {
		if loc, err := time.LoadLocation(tz); err != nil || tz == "Local" || len(tz) > leadkit.MaxNameBytes {
			c.add("", "", "time_zone", "%q is not an IANA time zone name (such as Europe/Berlin) in this program's tz database", text.Clip(tz, 64))
		} else {
			c.zone = &zone{loc: loc}
		}
	}
	c.caps(spec)
	if len(c.errs) > 0 && (len(spec.Dimensions) > MaxDimensions || len(spec.Fields) > MaxFields) {
		return nil, errors.Join(c.errs...) // too big to look further
	}
	fitSch, evSch := c.schemas(spec.Fields)

	for i, ds := range spec.Dimensions {
		if ds.Name == "" {
			c.add(fmt.Sprintf("#%d", i+1), "", "name", "dimension needs a name")
		} else if _, dup := m.byName[ds.Name]; dup {
			c.add(ds.Name, "", "name", "duplicate dimension")
		}
		m.byName[ds.Name] = i
	}
	for i, ds := range spec.Dimensions {
		m.dims = append(m.dims, c.dimension(m, i, ds, fitSch, evSch))
	}
	c.derived(m, spec)
	c.thresholds(m, spec)
	c.matrix(m, spec)
	c.index(m)
	c.totals(m)
	if len(c.errs) > 0 {
		return nil, errors.Join(c.errs...)
	}
	m.pool.New = func() any { return m.newScratch() }
	m.facts = m.factList()
	return m, nil
}

func (c *compiler) decay(dim, rule string, d *DecaySpec) (k decayKind, window int64, half float64, steps []step) {
	if d == nil {
		return
	}
	n := 0
	if d.Window != 0 {
		n++
		if d.Window < 0 || d.Window > leadkit.MaxDuration {
			c.add(dim, rule, "decay", "window must be positive and at most 100000d, not %s", leadkit.FormatDuration(d.Window))
		}
		k, window = decayWindow, int64(d.Window)
	}
	if d.HalfLife != 0 {
		n++
		if d.HalfLife < 0 || d.HalfLife > leadkit.MaxDuration {
			c.add(dim, rule, "decay", "half_life must be positive and at most 100000d, not %s", leadkit.FormatDuration(d.HalfLife))
		}
		k, half = decayHalfLife, float64(d.HalfLife)
	}
	if len(d.Steps) > MaxDecaySteps {
		c.add(dim, rule, "decay", "%d steps, the limit is %d", len(d.Steps), MaxDecaySteps)
	}
	if len(d.Steps) > 0 {
		n++
		k = decaySteps
		last := 0
		for _, s := range d.Steps {
			if s.AfterMonths <= last || s.AfterMonths > 1200 {
				c.add(dim, rule, "decay", "steps must have increasing after_months in [1, 1200]")
			}
			if !(s.KeepPercent >= 0 && s.KeepPercent <= 100) {
				c.add(dim, rule, "decay", "keep_percent must be in [0, 100]")
			}
			last = s.AfterMonths
			steps = append(steps, step{months: s.AfterMonths, keep: s.KeepPercent / 100})
		}
	}
	if n > 1 {
		c.add(dim, rule, "decay", "set only one of window, half_life and steps")
	}
	return
}

func (c *compiler) dimension(m *Model, di int, ds DimensionSpec, fitSch, evSch *lang.Schema) dimension {
	d := dimension{name: ds.Name, min: math.Inf(-1), max: math.Inf(1)}
	if ds.Min != nil {
		if !finite(*ds.Min) {
			c.add(ds.Name, "", "min", "must be a finite number of magnitude <= %g", MaxPoints)
		}
		d.min = *ds.Min
	}
	if ds.Max != nil {
		if !finite(*ds.Max) {
			c.add(ds.Name, "", "max", "must be a finite number of magnitude <= %g", MaxPoints)
		}
		d.max = *ds.Max
	}
	if d.min > d.max {
		c.add(ds.Name, "", "min", "min %g is above max %g", d.min, d.max)
	}
	seenBand, catchAll := map[string]bool{}, false
	for _, b := range ds.Bands {
		if b.Name == "" || seenBand[b.Name] {
			c.add(ds.Name, "", "bands", "band names must be unique and non-empty (%q)", b.Name)
		}
		seenBand[b.Name] = true
		v := math.Inf(-1)
		if b.Min == nil {
			if catchAll {
				c.add(ds.Name, "", "bands", "only one band may omit min")
			}
			catchAll = true
		} else {
			if !finite(*b.Min) {
				c.add(ds.Name, "", "bands", "band %q: min must be finite", b.Name)
			}
			v = *b.Min
		}
		d.bands = append(d.bands, band{name: b.Name, min: v})
	}
	sort.SliceStable(d.bands, func(i, j int) bool { return d.bands[i].min > d.bands[j].min })
	for i := 1; i < len(d.bands); i++ {
		if d.bands[i].min == d.bands[i-1].min {
			c.add(ds.Name, "", "bands", "bands %q and %q have the same min", d.bands[i-1].name, d.bands[i].name)
		}
	}
	if ds.Expr != "" && (len(ds.Fit) > 0 || len(ds.Behavior) > 0) {
		c.add(ds.Name, "", "expr", "a derived dimension cannot also have rules")
	}
	if ds.Expr != "" && ds.Decay != nil {
		c.add(ds.Name, "", "decay", "a derived dimension has no decay of its own")
	}
	rules := map[string]bool{}
	ruleName := func(name string) {
		if name == "" {
			c.add(ds.Name, "", "rules", "every rule needs a name")
		} else if rules[name] {
			c.add(ds.Name, name, "name", "duplicate rule in the dimension")
		}
		rules[name] = true
	}
	for _, fr := range ds.Fit {
		ruleName(fr.Name)
		if !finite(fr.Points) {
			c.add(ds.Name, fr.Name, "points", "must be a finite number of magnitude <= %g", MaxPoints)
		}
		p, err := c.compile(m, fr.When, fitSch, lang.Bool, false)
		if err != nil {
			c.exprErr(ds.Name, fr.Name, "when", err)
			continue
		}
		fr2 := fitRule{name: fr.Name, dim: di, points: fr.Points, prog: p, cap: fr.Cap}
		if !finite(fr.Cap) || fr.Cap < 0 {
			c.add(ds.Name, fr.Name, "cap", "must be a finite number >= 0")
		}
		if strings.TrimSpace(fr.PointsExpr) != "" {
			if fr.Points != 0 {
				c.add(ds.Name, fr.Name, "points_expr", "set points or points_expr, not both")
			}
			pp, err := c.compile(m, fr.PointsExpr, fitSch, lang.Num, false)
			if err != nil {
				c.exprErr(ds.Name, fr.Name, "points_expr", err)
				continue
			}
			fr2.pts = pp
		}
		d.fit = append(d.fit, len(m.fit))
		m.fit = append(m.fit, fr2)
	}
	dk, dw, dh, dsteps := c.decay(ds.Name, "", ds.Decay)
	predIdx := c.predIdx
	hasMult := false
	for _, br := range ds.Behavior {
		ruleName(br.Name)
		r := behRule{name: br.Name, dim: di, points: br.Points, bonus: br.FirstBonus, cap: br.Cap, pred: -1, reset: br.Reset, from: math.MinInt64, to: math.MaxInt64}
		if a := br.Active; a != nil {
			for _, t := range []time.Time{a.From, a.To} {
				if !t.IsZero() && !leadkit.ValidTime(t) {
					c.add(ds.Name, br.Name, "active", "date %s is outside %s", t.UTC().Format(time.RFC3339), leadkit.TimeRange)
				}
			}
			if !a.From.IsZero() {
				r.from = a.From.UnixNano()
			}
			if !a.To.IsZero() {
				r.to = a.To.UnixNano()
			}
			if r.from >= r.to {
				c.add(ds.Name, br.Name, "active", "from must be before to")
			}
		}
		if !finite(br.Points) || !finite(br.FirstBonus) {
			c.add(ds.Name, br.Name, "points", "points and first_bonus must be finite numbers of magnitude <= %g", MaxPoints)
		}
		if !finite(br.Cap) || br.Cap < 0 {
			c.add(ds.Name, br.Name, "cap", "must be a finite number >= 0")
		}
		for _, t := range br.Types {
			if t == "" {
				c.add(ds.Name, br.Name, "types", "empty event type")
			}
		}
		if br.Limit != nil && (br.Reset || br.Op == OpSet && br.Count == nil) {
			c.add(ds.Name, br.Name, "limit", "a reset clears its own limit with the rest of the dimension, so a reset rule takes no limit")
		}
		if br.Limit != nil {
			if br.Limit.Max < 1 || br.Limit.Max > maxLimit {
				c.add(ds.Name, br.Name, "limit", "max must be in [1, %d], not %d", maxLimit, br.Limit.Max)
			}
			r.limitMax = int32(br.Limit.Max)
			r.zone = c.zone
			if e := br.Limit.Every; e != 0 {
				if e < 0 || e > leadkit.MaxDuration {
					c.add(ds.Name, br.Name, "limit", "every must be positive and at most %s", leadkit.FormatDuration(leadkit.MaxDuration))
				}
				if br.Limit.Per != "" && br.Limit.Per != PerEver {
					c.add(ds.Name, br.Name, "limit", "set per (a calendar period) or every (a rolling span), not both")
				}
				if br.Limit.Max > MaxRollingLimit {
					c.add(ds.Name, br.Name, "limit", "a rolling limit counts at most %d occurrences per span, not %d", MaxRollingLimit, br.Limit.Max)
				}
				r.every = int64(e)
			}
			switch br.Limit.Per {
			case PerEver, "":
				r.per = perEver
			case PerDay:
				r.per = perDay
			case PerWeek:
				r.per = perWeek
			case PerMonth:
				r.per = perMonth
			default:
				c.add(ds.Name, br.Name, "limit", "per must be ever, day, week or month, not %q", br.Limit.Per)
			}
		}
		if br.Decay != nil {
			r.dk, r.window, r.halfLife, r.steps = c.decay(ds.Name, br.Name, br.Decay)
		} else {
			r.dk, r.window, r.halfLife, r.steps = dk, dw, dh, dsteps
		}
		if cs := br.Count; cs != nil {
			if br.Decay != nil || br.Recency != nil || br.FirstBonus != 0 {
				c.add(ds.Name, br.Name, "count", "a count rule has no decay, recency or first bonus of its own (its window is its time limit)")
			}
			maxCount := -1
			if cs.Max != nil {
				maxCount = *cs.Max
			}
			if cs.Min < 0 || cs.Min > MaxCount || (cs.Max != nil && (*cs.Max < cs.Min || *cs.Max > MaxCount)) {
				c.add(ds.Name, br.Name, "count", "want 0 <= min <= max <= %d, not min %d, max %d", MaxCount, cs.Min, maxCount)
			}
			if cs.Window < 0 || cs.Window > leadkit.MaxDuration {
				c.add(ds.Name, br.Name, "count", "window must be 0 (ever) to %s", leadkit.FormatDuration(leadkit.MaxDuration))
			}
			r.isCount, r.countMin, r.countMax, r.countPts = true, int32(cs.Min), int32(maxCount), br.Points
			r.keepN = max(1, cs.Min, maxCount+1)
			r.points, r.bonus = 1, 0
			r.dk, r.window, r.halfLife, r.steps = decayNone, 0, 0, nil
			if cs.Window > 0 {
				r.dk, r.window = decayWindow, int64(cs.Window)
			}
		}
		if br.Recency != nil && br.Count == nil {
			if br.Recency.Within <= 0 || br.Recency.Within > leadkit.MaxDuration || !finite(br.Recency.Points) {
				c.add(ds.Name, br.Name, "recency", "within must be positive and at most 100000d, and points finite")
			}
			r.recencyWithin = int64(br.Recency.Within)
			r.recencyPts = br.Recency.Points
		}
		if len(br.Sequence) > 0 {
			if len(br.Sequence) > MaxSequence {
				c.add(ds.Name, br.Name, "sequence", "%d steps, at most %d", len(br.Sequence), MaxSequence)
			}
			for _, t := range br.Sequence {
				if t == "" {
					c.add(ds.Name, br.Name, "sequence", "empty event type")
				}
			}
			if len(br.Types) > 0 || br.Count != nil || br.Limit != nil || br.FirstBonus != 0 || br.PointsExpr != "" || (br.Op != "" && br.Op != OpAdd) || br.Reset {
				c.add(ds.Name, br.Name, "sequence", "a path rule names its types in the sequence and takes no types, count, limit, first bonus, points_expr, op or reset")
			}
			r.seq = br.Sequence
		}
		switch br.Op {
		case "", OpAdd:
			if br.Factor != 0 {
				c.add(ds.Name, br.Name, "factor", "a factor is for op multiply")
			}
		case OpSet:
			if br.Count != nil {
				r.set = true
			} else {
				r.reset = true // from the occurrence on: a reset with the rule's points
				if len(ds.Fit) > 0 {
					c.add(ds.Name, br.Name, "op", "op set without a count restarts the dimension's behavior rules, not its fit rules: keep fit and behavior in separate dimensions, or use a count")
				}
			}
			if br.Factor != 0 || br.PointsExpr != "" {
				c.add(ds.Name, br.Name, "op", "op set takes points, not a factor or points_expr")
			}
		case OpMultiply:
			r.multiply, r.multBy = true, br.Factor
			if !finite(br.Factor) || br.Factor < 0 {
				c.add(ds.Name, br.Name, "factor", "must be a finite number >= 0")
			}
			if br.Points != 0 || br.PointsExpr != "" || br.Count != nil || br.Reset || br.FirstBonus != 0 || br.Recency != nil {
				c.add(ds.Name, br.Name, "op", "op multiply takes a factor only (no points, count, reset, first bonus or recency)")
			}
			hasMult = true
		default:
			c.add(ds.Name, br.Name, "op", "must be add, set or multiply, not %q", br.Op)
		}
		if strings.TrimSpace(br.PointsExpr) != "" {
			switch {
			case br.Points != 0:
				c.add(ds.Name, br.Name, "points_expr", "set points or points_expr, not both")
			case br.Count != nil:
				c.add(ds.Name, br.Name, "points_expr", "a count rule gives its points once: use points")
			case r.dk == decayWindow || r.dk == decaySteps:
				c.add(ds.Name, br.Name, "points_expr", "points from an expression need no decay or a half-life (a window or steps keep occurrence times, not their points)")
			}
			if pp, err := c.compile(m, br.PointsExpr, evSch, lang.Num, true); err != nil {
				c.exprErr(ds.Name, br.Name, "points_expr", err)
			} else {
				r.pts = pp
			}
		}
		if strings.TrimSpace(br.When) != "" {
			key := strings.TrimSpace(br.When)
			if pi, ok := predIdx[key]; ok {
				r.pred = pi
			} else if p, err := c.compile(m, br.When, evSch, lang.Bool, true); err != nil {
				c.exprErr(ds.Name, br.Name, "when", err)
			} else {
				r.pred = int32(len(m.preds))
				predIdx[key] = r.pred
				m.preds = append(m.preds, p)
				m.predRules = append(m.predRules, nil)
			}
			if r.pred >= 0 {
				m.predRules[r.pred] = append(m.predRules[r.pred], len(m.beh))
			}
		}
		d.beh = append(d.beh, len(m.beh))
		m.beh = append(m.beh, r)
	}
	if hasMult {
		m.mult = true
		// A multiply scales the counted values of the other rules: only
		// values kept as sums (no decay, a half-life) can be scaled.
		d.mult = true
		for _, j := range d.beh {
			r := &m.beh[j]
			if r.multiply || r.set {
				continue
			}
			if r.isCount || r.dk == decayWindow || r.dk == decaySteps {
				c.add(ds.Name, r.name, "op", "the dimension has a multiply rule, which scales its other rules' points: they need no decay or a half-life, and no count")
				continue
			}
			var hl float64
			if r.dk == decayHalfLife {
				hl = r.halfLife
			}
			k := slices.Index(d.opHL, hl)
			if k < 0 {
				k = len(d.opHL)
				d.opHL = append(d.opHL, hl)
			}
			r.opClass = uint8(min(k, MaxOpClasses-1))
		}
		if len(d.opHL) > MaxOpClasses {
			c.add(ds.Name, "", "op", "the dimension has multiply rules (%s): its other rules may have at most %d different decays (no decay, or a half-life; MaxOpClasses), not %d (%s), so that a lead's state keeps at most %d numbers (MaxOps) per multiply rule; give rules a shared half-life", opRuleNames(m, &d), MaxOpClasses, len(d.opHL), decayClasses(m, &d), MaxOps)
		}
	}
	return d
}

// derived compiles derived dimensions and orders them by dependency.
func (c *compiler) derived(m *Model, spec ModelSpec) {
	sch := derivedSchema(m.dims)
	var derived []int
	for i, ds := range spec.Dimensions {
		if ds.Expr == "" {
			m.order = append(m.order, i)
			continue
		}
		p, err := c.compile(m, ds.Expr, sch, lang.Num, false)
		if err != nil {
			c.exprErr(ds.Name, "", "expr", err)
			continue
		}
		m.dims[i].derived = p
		// The dimensions it reads: names and $env["name"] ($env with a
		// computed name is refused, so nothing is hidden).
		for _, f := range p.Used() {
			m.dims[i].deps = append(m.dims[i].deps, m.byName[f.Name])
		}
		derived = append(derived, i)
	}
	// Depth-first topological order; a back edge is a cycle.
	state := make([]uint8, len(m.dims)) // 0 new, 1 visiting, 2 done
	var stack []int
	reported := false
	var visit func(i int)
	visit = func(i int) {
		if state[i] == 2 || m.dims[i].derived == nil {
			return
		}
		if state[i] == 1 {
			if !reported {
				var cyc []string
				for k := len(stack) - 1; k >= 0; k-- {
					cyc = append([]string{m.dims[stack[k]].name}, cyc...)
					if stack[k] == i {
						break
					}
				}
				cyc = append(cyc, m.dims[i].name)
				c.add(m.dims[i].name, "", "expr", "dependency cycle: %s", strings.Join(cyc, " -> "))
				reported = true
			}
			return
		}
		state[i] = 1
		stack = append(stack, i)
		for _, j := range m.dims[i].deps {
			visit(j)
		}
		stack = stack[:len(stack)-1]
		state[i] = 2
		m.order = append(m.order, i)
	}
	for _, i := range derived {
		visit(i)
	}
}

func (c *compiler) thresholds(m *Model, spec ModelSpec) {
	seen := map[string]bool{}
	for _, t := range spec.Thresholds {
		loc := fmt.Sprintf("threshold %q", t.Name)
		if t.Name == "" || seen[t.Name] {
			c.add("", "", loc, "thresholds need unique, non-empty names")
		}
		seen[t.Name] = true
		di, ok := m.byName[t.Dimension]
		if !ok {
			c.add("", "", loc, "unknown dimension %q", t.Dimension)
		}
		if !finite(t.Value) {
			c.add("", "", loc, "value must be finite")
		}
		m.thresholds = append(m.thresholds, threshold{name: t.Name, dim: di, value: t.Value})
	}
}

func (c *compiler) matrix(m *Model, spec ModelSpec) {
	if spec.Matrix == nil {
		return
	}
	r, okR := m.byName[spec.Matrix.Rows]
	k, okC := m.byName[spec.Matrix.Columns]
	if !okR || !okC {
		c.add("", "", "matrix", "unknown dimension %q or %q", spec.Matrix.Rows, spec.Matrix.Columns)
		return
	}
	if len(m.dims[r].bands) == 0 || len(m.dims[k].bands) == 0 {
		c.add("", "", "matrix", "dimensions %q and %q both need bands", spec.Matrix.Rows, spec.Matrix.Columns)
		return
	}
	md := &matrixDef{rows: r, cols: k}
	rb, cb := m.dims[r].bands, m.dims[k].bands
	md.cells = make([][]string, len(rb)+1)
	for i := range md.cells {
		md.cells[i] = make([]string, len(cb)+1)
		for j := range md.cells[i] {
			if i < len(rb) && j < len(cb) {
				md.cells[i][j] = rb[i].name + cb[j].name
			}
		}
	}
	m.matrix = md
}

// route is where events of one type go: the behavior rules naming the type
// (and the any-type rules) in model order, their distinct predicates, and
// whether one of the rules resets its dimension.
type route struct {
	// typ is the event type of the route ("" for the any-type route).
	typ          string
	rules, preds []int32
	reset        bool
	// pts lists the rules whose points come from the event (PointsExpr).
	pts []int32
}

// index builds the event-type dispatch tables of the fused pass.
func (c *compiler) index(m *Model) {
	var names []string
	ids := map[string]int32{}
	// Collect the rules of every type (rule order), then append any-type
	// rules so every type's list is complete.
	perType := map[int32][]int32{}
	ruleIdx := 0
	for _, ds := range m.spec.Dimensions {
		for _, br := range ds.Behavior {
			if ruleIdx >= len(m.beh) {
				break
			}
			types := br.Types
			if len(br.Sequence) > 0 {
				types = br.Sequence // a path rule takes its steps' types
			}
			if len(types) == 0 {
				m.anyRoute.rules = append(m.anyRoute.rules, int32(ruleIdx))
			}
			seen := map[string]bool{}
			for _, t := range types {
				if seen[t] {
					continue
				}
				seen[t] = true
				id, ok := ids[t]
				if !ok {
					id = int32(len(names))
					ids[t] = id
					names = append(names, t)
				}
				perType[id] = append(perType[id], int32(ruleIdx))
			}
			ruleIdx++
		}
	}
	m.types = newTypeTable(names)
	m.routes = make([]route, len(names))
	hasReset := func(rules []int32) bool {
		for _, ri := range rules {
			if m.beh[ri].reset {
				return true
			}
		}
		return false
	}
	withPts := func(rules []int32) []int32 {
		var out []int32
		for _, ri := range rules {
			if m.beh[ri].pts != nil {
				out = append(out, ri)
			}
		}
		return out
	}
	for id := range names {
		rules := append(perType[int32(id)], m.anyRoute.rules...)
		sort.Slice(rules, func(i, j int) bool { return rules[i] < rules[j] })
		m.routes[id] = route{typ: names[id], rules: rules, preds: m.distinctPreds(rules), reset: hasReset(rules), pts: withPts(rules)}
	}
	m.anyRoute.preds = m.distinctPreds(m.anyRoute.rules)
	m.anyRoute.reset = hasReset(m.anyRoute.rules)
	m.anyRoute.pts = withPts(m.anyRoute.rules)
}

func (m *Model) distinctPreds(rules []int32) []int32 {
	var out []int32
	seen := map[int32]bool{}
	for _, ri := range rules {
		if p := m.beh[ri].pred; p >= 0 && !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

// typeTable maps event types to ids with open addressing on a cheap hash:
// faster than a Go map for the handful of types a model names.
type typeTable struct {
	mask  uint32
	names []string
	ids   []int32
	byID  []string
}

func typeHash(s string) uint32 {
	n := len(s)
	if n == 0 {
		return 0
	}
	h := uint32(n)*0x9E3779B1 ^ uint32(s[0])<<16 ^ uint32(s[n-1])<<8 ^ uint32(s[n/2])
	return h * 0x85EBCA6B >> 7
}

func newTypeTable(names []string) typeTable {
	size := 8
	for size < 4*len(names) {
		size *= 2
	}
	t := typeTable{mask: uint32(size - 1), names: make([]string, size), ids: make([]int32, size), byID: names}
	for i := range t.ids {
		t.ids[i] = -1
	}
	for id, s := range names {
		h := typeHash(s) & t.mask
		for t.ids[h] >= 0 {
			h = (h + 1) & t.mask
		}
		t.names[h], t.ids[h] = s, int32(id)
	}
	return t
}

func (t *typeTable) lookup(s string) int32 {
	h := typeHash(s) & t.mask
	for {
		id := t.ids[h]
		if id < 0 {
			return id
		}
		if name := t.names[h]; len(name) == len(s) && sameBytes(name, s) {
			return id
		}
		h = (h + 1) & t.mask
	}
}

// sameBytes reports whether strings a and b of the same length are equal,
// comparing up to 32 bytes in 8-byte words (event types are short), longer
// ones with ==.
func sameBytes(a, b string) bool {
	n := len(a)
	switch {
	case n >= 8 && n <= 16:
		return le64(a) == le64(b) && le64(a[n-8:]) == le64(b[n-8:])
	case n > 16 && n <= 32:
		return le64(a) == le64(b) && le64(a[8:]) == le64(b[8:]) &&
			le64(a[n-16:]) == le64(b[n-16:]) && le64(a[n-8:]) == le64(b[n-8:])
	case n >= 4 && n < 8:
		return le32(a) == le32(b) && le32(a[n-4:]) == le32(b[n-4:])
	}
	return a == b
}

// opRuleNames lists the multiply rules of d, for a compile error.
func opRuleNames(m *Model, d *dimension) string {
	var names []string
	for _, j := range d.beh {
		if m.beh[j].multiply {
			names = append(names, strconv.Quote(m.beh[j].name))
		}
	}
	return strings.Join(names, ", ")
}

// decayClasses lists d's decay classes (see dimension.opHL) with their
// rules, for a compile error: no decay: "a", "b"; half-life 72h0m0s: "c".
func decayClasses(m *Model, d *dimension) string {
	var classes []string
	for _, hl := range d.opHL {
		var names []string
		for _, j := range d.beh {
			r := &m.beh[j]
			if r.multiply || r.set || r.isCount || r.dk == decayWindow || r.dk == decaySteps {
				continue
			}
			if (r.dk == decayHalfLife && r.halfLife == hl) || (r.dk != decayHalfLife && hl == 0) {
				names = append(names, strconv.Quote(r.name))
			}
		}
		what := "no decay"
		if hl > 0 {
			what = "half-life " + time.Duration(hl).String()
		}
		classes = append(classes, what+": "+strings.Join(names, ", "))
	}
	return strings.Join(classes, "; ")
}
