package learn

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/text"
	"github.com/leadkit/leadkit/scoring"
)

// feature is one binned input: a profile field or a signal's count in a
// window.
type feature struct {
	name     string
	kind     scoring.RuleKind
	field    fieldDef // fit features
	signal   Signal   // behaviour features
	window   time.Duration
	path     []string // a path feature's event types in order (0/1 bins)
	explicit bool     // named in Options (not a default)
	numeric  bool     // a number or count (range bins)
	count    bool     // a count
	nums     []float64
	strs     []string
	bins     []bin
	nRanges  int // the range bins come first
	byValue  map[string]int
	iv       float64
	at       []int16 // per example: its bin (-1: none)
	dropped  bool
	coef     float64
	coefVar  float64
}

// fitter holds one Fit's state.
type fitter struct {
	c          config
	ex         []Example
	ids        []string // lead IDs for scoring (example-<i> for none)
	y          []bool
	train      []int
	test       []int
	pos, neg   int // training outcomes
	minSupport int
	feats      []*feature
	res        Result
}

// maxListed caps the example problems one error lists.
const maxListed = 10

// Fit learns a scoring model from examples; see the package
// documentation. It returns an error wrapping leadkit.ErrInvalid for bad
// options (every problem at once), fewer than MinExamples or more than
// MaxExamples examples, examples without both outcomes in the training
// and the held-out sets, and examples that fail validation or scoring
// (naming the example's index and lead): a cut-off outside leadkit's
// time range, a profile that leadkit.Lead.Validate refuses, a custom
// field of the wrong type, more than scoring.MaxEvents events, an event
// without a valid time or of another lead. An example without a lead ID
// is scored as "example-<index>".
func Fit(examples []Example, opts Options) (Result, error) {
	c, err := resolve(opts)
	if err != nil {
		return Result{}, err
	}
	if len(examples) < MinExamples {
		return Result{}, invalid("%d examples, at least %d are needed", len(examples), MinExamples)
	}
	if len(examples) > MaxExamples {
		return Result{}, invalid("%d examples, the limit is %d", len(examples), MaxExamples)
	}
	f := &fitter{c: c, ex: examples}
	if err := f.check(); err != nil {
		return Result{}, err
	}
	f.train, f.test = Split(examples, c.HoldOut, c.Seed)
	if err := f.checkSplit(); err != nil {
		return Result{}, err
	}
	f.minSupport = c.MinSupport
	if f.minSupport == 0 {
		f.minSupport = max(30, (len(f.train)+99)/100)
	}
	if err := f.extract(); err != nil {
		return Result{}, err
	}
	f.bin()
	f.dedupe()
	f.fitSize()
	f.regress()
	f.emit()
	if err := f.evaluate(); err != nil {
		return Result{}, err
	}
	if f.res.Warnings == nil {
		f.res.Warnings = []Warning{}
	}
	if f.res.Dropped == nil {
		f.res.Dropped = []Dropped{}
	}
	if f.res.Features == nil {
		f.res.Features = []Feature{}
	}
	return f.res, nil
}

// check validates the examples: cut-offs in leadkit's time range,
// profiles within leadkit's caps, both outcomes present.
func (f *fitter) check() error {
	var errs []error
	more := 0
	f.y = make([]bool, len(f.ex))
	f.ids = make([]string, len(f.ex))
	pos := 0
	for i := range f.ex {
		ex := &f.ex[i]
		f.y[i] = ex.Converted
		if ex.Converted {
			pos++
		}
		f.ids[i] = ex.Lead.ID
		if f.ids[i] == "" {
			f.ids[i] = "example-" + strconv.Itoa(i)
		}
		var err error
		if !leadkit.ValidTime(ex.CutOff) {
			err = fmt.Errorf("%w: cut-off %s is outside %s", leadkit.ErrInvalid, ex.CutOff.UTC().Format(time.RFC3339), leadkit.TimeRange)
		} else if verr := ex.Lead.Validate(); verr != nil {
			err = verr
		}
		if err != nil {
			if len(errs) == maxListed {
				more++
				continue
			}
			errs = append(errs, f.exampleErr(i, err))
		}
	}
	if more > 0 {
		errs = append(errs, invalid("%d more examples have problems", more))
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	switch pos {
	case 0:
		return invalid("none of the %d examples converted: the model needs both outcomes", len(f.ex))
	case len(f.ex):
		return invalid("all %d examples converted: the model needs both outcomes", len(f.ex))
	}
	return nil
}

func (f *fitter) exampleErr(i int, err error) error {
	id := f.ex[i].Lead.ID
	if id == "" {
		return fmt.Errorf("learn: example %d: %w", i, err)
	}
	return fmt.Errorf("learn: example %d (lead %q): %w", i, text.Clip(id, 64), err)
}

// checkSplit refuses a split without both outcomes on either side.
func (f *fitter) checkSplit() error {
	for _, side := range []struct {
		name string
		rows []int
	}{{"training", f.train}, {"held-out", f.test}} {
		pos := 0
		for _, i := range side.rows {
			if f.y[i] {
				pos++
			}
		}
		if pos == 0 || pos == len(side.rows) {
			what := "no example that converted"
			if pos > 0 {
				what = "no example that did not convert"
			}
			return invalid("the %s set (%d examples, split by lead) has %s: give more examples of both outcomes, from more leads", side.name, len(side.rows), what)
		}
		if side.name == "training" {
			f.pos, f.neg = pos, len(side.rows)-pos
		}
	}
	return nil
}

// extract reads every feature's raw values for every example: the
// fields directly, the signals' counts by scoring a probe model with one
// counting rule per signal and window.
func (f *fitter) extract() error {
	for _, d := range f.c.fields {
		ft := &feature{name: d.name, kind: scoring.KindFit, field: d, explicit: !f.c.defaultFields, numeric: d.typ == leadkit.TypeNumber}
		if ft.numeric {
			ft.nums = make([]float64, len(f.ex))
		} else {
			ft.strs = make([]string, len(f.ex))
		}
		for i := range f.ex {
			v, s, err := d.get(&f.ex[i].Lead)
			if err != nil {
				return f.exampleErr(i, fmt.Errorf("%s: %w", d.name, err))
			}
			if ft.numeric {
				ft.nums[i] = v
			} else {
				ft.strs[i] = s
			}
		}
		f.feats = append(f.feats, ft)
	}
	signals, explicit := f.c.Signals, true
	if signals == nil {
		explicit = false
		signals = f.defaultSignals()
	}
	paths := f.pathCandidates()
	if len(signals) == 0 && len(paths) == 0 {
		return nil
	}
	var counts []*feature
	probe := scoring.DimensionSpec{Name: f.c.Dimension}
	// Signal probe rules carry their feature's name (errors name the
	// user's signal); path probe rules are named by their index, since
	// their names come from event types and could be alike ("a>b" then
	// "c", and "a" then "b>c").
	var probeNames []string
	taken := map[string]bool{}
	for _, s := range signals {
		for _, w := range f.c.Windows {
			ft := &feature{name: s.Name + " " + windowLabel(w), kind: scoring.KindBehavior, signal: s, window: w, explicit: explicit, numeric: true, count: true, nums: make([]float64, len(f.ex))}
			decay := &scoring.DecaySpec{Window: w}
			probe.Behavior = append(probe.Behavior, scoring.BehaviorRule{Name: ft.name, Types: s.Types, When: s.When, Points: 1, Decay: decay})
			probeNames = append(probeNames, ft.name)
			counts = append(counts, ft)
			taken[ft.name] = true
		}
	}
	for _, p := range paths {
		name := pathPrefix + strings.Join(p, ">")
		if taken[name] {
			// Event types with ">" in them name two paths, or a path
			// like a signal: the first keeps the name, the others are
			// left out (a result lists features by name).
			f.warn(WarnSignals, name, "path feature %q is named like another feature (event types with > in their names); it is left out", name)
			continue
		}
		taken[name] = true
		// Held or not: the probe's path rule gives 1 point once.
		ft := &feature{name: name, kind: scoring.KindBehavior, path: p, numeric: true, count: true, nums: make([]float64, len(f.ex))}
		pn := "#path " + strconv.Itoa(len(counts))
		probe.Behavior = append(probe.Behavior, scoring.BehaviorRule{Name: pn, Sequence: p, Points: 1})
		probeNames = append(probeNames, pn)
		counts = append(counts, ft)
	}
	m, err := scoring.Compile(scoring.ModelSpec{Name: "learn-probe", Fields: f.c.Declare, Dimensions: []scoring.DimensionSpec{probe}}, scoring.Options{})
	if err != nil {
		return fmt.Errorf("learn: signals: %w", err)
	}
	byName := make(map[string]int, len(counts))
	for k, n := range probeNames {
		byName[n] = k
	}
	err = f.scoreRows(m, nil, func(i int, r *scoring.Result) {
		for _, h := range r.Hits {
			if k, ok := byName[h.Rule]; ok {
				counts[k].nums[i] = h.Points
			}
		}
	}, nil)
	if err != nil {
		return err
	}
	f.feats = append(f.feats, counts...)
	return nil
}

// defaultSignals are the event types and channels seen before the
// training examples' cut-offs: the most frequent as many as the windows
// allow (a warning says when some are left out), in name order.
func (f *fitter) defaultSignals() []Signal {
	trainEx := make([]Example, len(f.train))
	for k, i := range f.train {
		trainEx[k] = Example{Events: f.ex[i].Events, CutOff: f.ex[i].CutOff}
	}
	all := append(countSignals(trainEx, eventType, typeSignal), countSignals(trainEx, eventChannel, channelSignal)...)
	sortCounted(all)
	// An event type named like a channel signal ("channel:email", from
	// a webhook) would give two signals one name: the more frequent
	// stays.
	seen := map[string]bool{}
	all = slices.DeleteFunc(all, func(c counted) bool {
		if seen[c.Signal.Name] {
			f.warn(WarnSignals, "", "two signals are named %q (an event type and a channel); the less frequent is left out", c.Signal.Name)
			return true
		}
		seen[c.Signal.Name] = true
		return false
	})
	limit := MaxSignalFeatures / len(f.c.Windows)
	if len(all) > limit {
		f.warn(WarnSignals, "", "%d event types and channels seen, the %d most frequent kept as signals (at most %d count features in %d windows); name the signals in Options.Signals", len(all), limit, MaxSignalFeatures, len(f.c.Windows))
		all = all[:limit]
	}
	out := make([]Signal, len(all))
	for i, c := range all {
		out[i] = c.Signal
	}
	slices.SortFunc(out, func(a, b Signal) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// pathPrefix starts the names of path features.
const pathPrefix = "path:"

// pathCandidates are the ordered pairs (A, B), A != B, of the
// Options.Paths (resolved) most frequent event types seen before the
// training examples' cut-offs, in order of the types' frequency (ties by
// name): at most MaxPathFeatures.
func (f *fitter) pathCandidates() [][]string {
	if f.c.Paths <= 0 {
		return nil
	}
	trainEx := make([]Example, len(f.train))
	for k, i := range f.train {
		trainEx[k] = Example{Events: f.ex[i].Events, CutOff: f.ex[i].CutOff}
	}
	types := countSignals(trainEx, eventType, typeSignal)
	types = types[:min(len(types), f.c.Paths)]
	var out [][]string
	for _, a := range types {
		for _, b := range types {
			if a.Name != b.Name {
				out = append(out, []string{a.Name, b.Name})
			}
		}
	}
	return out
}

// scoreChunk is the number of examples scored at once.
const scoreChunk = 1024

// scoreRows scores the examples rows (nil: all) with m at their
// cut-offs, scoreChunk at a time, and hands each result to use. A
// failure is an error naming the example, unless fail is set: then it is
// handed to fail and the rest go on.
func (f *fitter) scoreRows(m *scoring.Model, rows []int, use func(i int, r *scoring.Result), fail func(i int, err error)) error {
	n := len(f.ex)
	if rows != nil {
		n = len(rows)
	}
	in := make([]scoring.Input, min(n, scoreChunk))
	out := make([]scoring.Result, len(in))
	for lo := 0; lo < n; lo += scoreChunk {
		hi := min(n, lo+scoreChunk)
		for k := lo; k < hi; k++ {
			i := k
			if rows != nil {
				i = rows[k]
			}
			ex := &f.ex[i]
			in[k-lo] = scoring.Input{Lead: ex.Lead, Events: ex.Events, AsOf: ex.CutOff}
			in[k-lo].Lead.ID = f.ids[i]
		}
		err := m.ScoreBatch(out[:hi-lo], in[:hi-lo], f.c.Workers)
		var be *scoring.BatchError
		if err != nil && !errors.As(err, &be) {
			return fmt.Errorf("learn: %w", err)
		}
		for k := lo; k < hi; k++ {
			i := k
			if rows != nil {
				i = rows[k]
			}
			if be != nil && be.Errs[k-lo] != nil {
				if fail == nil {
					return f.exampleErr(i, be.Errs[k-lo])
				}
				fail(i, be.Errs[k-lo])
				continue
			}
			use(i, &out[k-lo])
		}
		clear(in)
	}
	return nil
}

func (f *fitter) warn(kind WarningKind, feature, format string, args ...any) {
	f.res.Warnings = append(f.res.Warnings, Warning{Kind: kind, Feature: feature, Message: fmt.Sprintf(format, args...)})
}

func (f *fitter) drop(ft *feature, b *bin, reason DropReason, detail string) {
	d := Dropped{Feature: ft.name, Reason: reason, Detail: detail}
	if b != nil {
		d.Bin, d.Support, d.Converted = ft.binLabel(b), b.n, b.pos
	} else {
		d.Support, d.Converted = len(f.train), f.pos
	}
	f.res.Dropped = append(f.res.Dropped, d)
}

// fitSize drops the features of least information value while the rules'
// expressions together would pass leadkit.MaxDocumentExprBytes (long
// field names and values across many fields can), so that the emitted
// model always compiles.
func (f *fitter) fitSize() {
	const budget = leadkit.MaxDocumentExprBytes - 4096 // the base rule and room
	total := 0
	var kept []*feature
	for _, ft := range f.feats {
		if !ft.dropped {
			total += ft.exprBytes()
			kept = append(kept, ft)
		}
	}
	if total <= budget {
		return
	}
	slices.SortStableFunc(kept, func(a, b *feature) int { return cmp.Compare(a.iv, b.iv) })
	for _, ft := range kept {
		if total <= budget {
			break
		}
		n := ft.exprBytes()
		ft.dropped = true
		total -= n
		detail := fmt.Sprintf("its rules' expressions (%d bytes) would take the model past %d bytes of expressions; it has the least information value (%.4f) of those left", n, leadkit.MaxDocumentExprBytes, ft.iv)
		f.drop(ft, nil, DropSize, detail)
		f.warn(WarnSize, ft.name, "%s: %s; shorter field names or fewer Categories keep it", ft.name, detail)
	}
}

// exprBytes is the length of the expressions of a feature's kept rules.
func (ft *feature) exprBytes() int {
	n := 0
	for k := range ft.bins {
		b := &ft.bins[k]
		if b.dropped != "" {
			continue
		}
		if ft.kind == scoring.KindFit {
			n += len(ft.fitExpr(b))
		} else if ft.path == nil {
			n += len(ft.signal.When)
		}
	}
	return n
}

// bin bins every feature on the training examples, computes the weights
// of evidence, places every example in its bin and drops the features
// that are constant, leak the outcome or carry too little information.
func (f *fitter) bin() {
	for _, ft := range f.feats {
		if ft.numeric {
			var missing func(float64) bool
			if !ft.count {
				missing = func(v float64) bool { return v == 0 }
			}
			nBins := f.c.Bins
			if ft.path != nil {
				nBins = 2 // held or not
			}
			ft.bins = rangeBins(ft.nums, f.y, f.train, missing, nBins, f.minSupport, f.c.NonMonotone)
			for _, b := range ft.bins {
				if b.kind == binRange {
					ft.nRanges++
				}
			}
		} else {
			ft.bins = categoryBins(ft.strs, f.y, f.train, f.c.Categories, f.minSupport, ft.field.typ == leadkit.TypeBool)
			ft.byValue = map[string]int{}
			for k, b := range ft.bins {
				if b.kind == binValue {
					ft.byValue[b.value] = k
				}
			}
		}
		ft.iv = evidence(ft.bins, f.pos, f.neg, f.minSupport)
		ft.at = make([]int16, len(f.ex))
		for i := range f.ex {
			ft.at[i] = int16(ft.place(i))
		}
		kept := 0
		for k := range ft.bins {
			b := &ft.bins[k]
			if b.dropped != "" {
				f.drop(ft, b, b.dropped, b.detail)
				continue
			}
			kept++
		}
		if len(ft.bins) >= 2 {
			if auc := ft.trainAUC(f); auc >= LeakAUC {
				ft.dropped = true
				detail := fmt.Sprintf("on its own it separates the training examples that converted from the others almost perfectly (AUC %.4f): a value recorded after the outcome?", auc)
				f.drop(ft, nil, DropLeak, detail)
				f.warn(WarnLeak, ft.name, "%s %s; it is left out", ft.name, detail)
				continue
			}
		}
		if kept < 2 {
			ft.dropped = true
			detail := "fewer than two bins with enough training examples"
			f.drop(ft, nil, DropConstant, detail)
			// A default field empty in every example is simply absent.
			if ft.explicit || (ft.kind == scoring.KindFit && !ft.allMissing()) {
				f.warn(WarnConstant, ft.name, "%s: %s (minimum support %d); it is left out", ft.name, detail, f.minSupport)
			}
			continue
		}
		for k := range ft.bins {
			b := &ft.bins[k]
			if b.dropped == "" && (b.pos == 0 || b.pos == b.n) {
				what := "none"
				if b.pos == b.n {
					what = "all"
				}
				f.warn(WarnSeparation, ft.name, "%s bin %s: %s of its %d training examples converted; its weight of evidence (%.2f) rests on the smoothing", ft.name, ft.binLabel(b), what, b.n, b.woe)
			}
		}
		if ft.iv < f.c.MinInformationValue {
			ft.dropped = true
			f.drop(ft, nil, DropWeak, fmt.Sprintf("information value %.4f is below %g", ft.iv, f.c.MinInformationValue))
		}
	}
}

// place is the bin of example i (-1: none).
func (ft *feature) place(i int) int {
	if ft.numeric {
		v := ft.nums[i]
		if !ft.count && v == 0 {
			return ft.missingBin()
		}
		return findRange(ft.bins, ft.nRanges, v)
	}
	s := ft.strs[i]
	if k, ok := ft.byValue[s]; ok {
		return k
	}
	if s == "" {
		return ft.missingBin()
	}
	for k, b := range ft.bins {
		if b.kind == binOther {
			return k
		}
	}
	return -1
}

func (ft *feature) missingBin() int {
	for k, b := range ft.bins {
		if b.kind == binMissing {
			return k
		}
	}
	return -1
}

func (ft *feature) allMissing() bool {
	for _, b := range ft.bins {
		if b.kind != binMissing {
			return false
		}
	}
	return true
}

// woeAt is the weight of evidence of example i's bin (0 for none or a
// dropped one).
func (ft *feature) woeAt(i int) float64 {
	k := ft.at[i]
	if k < 0 || ft.bins[k].dropped != "" {
		return 0
	}
	return ft.bins[k].woe
}

// trainAUC is the AUC of the feature's weights of evidence alone on the
// training examples (ties count half).
func (ft *feature) trainAUC(f *fitter) float64 {
	type g struct {
		woe      float64
		pos, neg int
	}
	var gs []g
	for _, b := range ft.bins {
		// Every bin by its smoothed log-odds, those dropped for support
		// too: a leak in a rare bin is still a leak.
		w := math.Log((float64(b.pos) + 0.5) / (float64(b.n-b.pos) + 0.5))
		gs = append(gs, g{w, b.pos, b.n - b.pos})
	}
	slices.SortStableFunc(gs, func(a, b g) int {
		switch {
		case a.woe < b.woe:
			return -1
		case a.woe > b.woe:
			return 1
		}
		return 0
	})
	var sum, negBelow float64
	for i := 0; i < len(gs); {
		j := i
		var p, n float64
		for ; j < len(gs) && gs[j].woe == gs[i].woe; j++ {
			p += float64(gs[j].pos)
			n += float64(gs[j].neg)
		}
		sum += p * (negBelow + n/2)
		negBelow += n
		i = j
	}
	return sum / (float64(f.pos) * float64(f.neg))
}

// dedupe drops a kept feature whose weights of evidence equal an
// earlier kept feature's on every training example: the same bins under
// another name (a channel whose events are all of one type and that
// type's signal). Two equal columns would share one coefficient between
// them, with intervals that say neither matters.
func (f *fitter) dedupe() {
	type col struct {
		ft   *feature
		hash uint64
	}
	var seen []col
	for _, ft := range f.feats {
		if ft.dropped {
			continue
		}
		h := uint64(14695981039346656037) // FNV-1a over the column's bits
		for _, i := range f.train {
			h ^= math.Float64bits(ft.woeAt(i))
			h *= 1099511628211
		}
		dup := -1
		for k, c := range seen {
			if c.hash == h && sameColumn(f.train, c.ft, ft) {
				dup = k
				break
			}
		}
		if dup < 0 {
			seen = append(seen, col{ft, h})
			continue
		}
		ft.dropped = true
		f.drop(ft, nil, DropDuplicate, fmt.Sprintf("the same bins, with the same weights of evidence, as %s on every training example", seen[dup].ft.name))
	}
}

func sameColumn(rows []int, a, b *feature) bool {
	for _, i := range rows {
		if a.woeAt(i) != b.woeAt(i) {
			return false
		}
	}
	return true
}

// regress fits the logistic regression on the kept features' weights of
// evidence, dropping (and refitting without) a feature whose coefficient
// turns negative, the most significant first.
func (f *fitter) regress() {
	y := make([]float64, len(f.train))
	for k, i := range f.train {
		if f.y[i] {
			y[k] = 1
		}
	}
	info := &f.res.Fit
	for {
		var kept []*feature
		for _, ft := range f.feats {
			if !ft.dropped {
				kept = append(kept, ft)
			}
		}
		p := len(kept) + 1
		x := mat.NewDense(len(f.train), p, nil)
		raw := x.RawMatrix()
		for k, i := range f.train {
			row := raw.Data[k*raw.Stride : k*raw.Stride+p]
			row[0] = 1
			for j, ft := range kept {
				row[j+1] = ft.woeAt(i)
			}
		}
		fit := fitLogit(x, y, f.c.L2)
		info.Iterations += fit.iter
		info.Status = fit.status
		info.LogLikelihood = fit.ll
		se0 := math.Sqrt(fit.cov.At(0, 0))
		info.Intercept = Interval{Value: fit.beta[0], Low: fit.beta[0] - z95*se0, High: fit.beta[0] + z95*se0}
		worst, worstZ := -1, 0.0
		for j, ft := range kept {
			ft.coef = fit.beta[j+1]
			ft.coefVar = fit.cov.At(j+1, j+1)
			if ft.coef < 0 {
				z := ft.coef / math.Sqrt(ft.coefVar)
				if worst < 0 || z < worstZ {
					worst, worstZ = j, z
				}
			}
		}
		if worst < 0 {
			if !fit.converged {
				f.warn(WarnConvergence, "", "the optimiser stopped before converging (%s); the coefficients may be off", fit.status)
			}
			return
		}
		// Path candidates are many and mostly collinear with the counts:
		// those that come out negative go at once (one refit, not one
		// each); the other features one at a time.
		paths := 0
		for _, ft := range kept {
			if ft.path != nil && ft.coef < 0 {
				ft.dropped = true
				z := ft.coef / math.Sqrt(ft.coefVar)
				f.drop(ft, nil, DropSign, fmt.Sprintf("its coefficient came out negative (%.3f, z %.2f) against its own weights of evidence: it is collinear with other features", ft.coef, z))
				paths++
			}
		}
		if paths == 0 {
			ft := kept[worst]
			ft.dropped = true
			f.drop(ft, nil, DropSign, fmt.Sprintf("its coefficient came out negative (%.3f, z %.2f) against its own weights of evidence: it is collinear with other features", ft.coef, worstZ))
		}
		info.Refits++
	}
}

// z95 is the normal quantile of a two-sided 95% interval.
const z95 = 1.959963984540054

// emit builds the spec, the scale and the evidence from the fit.
func (f *fitter) emit() {
	c := &f.c
	odds := c.BaseOdds
	if odds == 0 {
		odds = float64(f.pos) / float64(f.neg)
	}
	scale := Scale{PDO: c.PDO, Factor: c.PDO / math.Ln2, BaseScore: c.baseScore, BaseOdds: odds}
	f.res.Scale = scale
	f.res.Training = sample(f.y, f.train)
	f.res.HoldOut = sample(f.y, f.test)
	base := round(scale.BaseScore + scale.Factor*(f.res.Fit.Intercept.Value-math.Log(odds)))
	f.res.BasePoints = base
	dim := scoring.DimensionSpec{Name: c.Dimension, Fit: []scoring.FitRule{{Name: "base", When: "true", Points: base}}}
	names := map[string]bool{"base": true}
	unique := func(name string) string {
		name = text.Clip(name, leadkit.MaxNameBytes-8)
		out := name
		for k := 2; names[out]; k++ {
			out = name + " #" + strconv.Itoa(k)
		}
		names[out] = true
		return out
	}
	kept := 0
	inBase := 0.0 // the points of the paths' "not held" bins
	for _, ft := range f.feats {
		if ft.dropped {
			continue
		}
		kept++
		se := math.Sqrt(ft.coefVar)
		out := Feature{
			Name: ft.name, Kind: ft.kind,
			Coefficient:      Interval{Value: ft.coef, Low: ft.coef - z95*se, High: ft.coef + z95*se},
			InformationValue: ft.iv,
		}
		if ft.path != nil {
			out.Path = ft.path
		} else if ft.kind == scoring.KindBehavior {
			out.Signal, out.Window = ft.signal.Name, leadkit.Duration(ft.window)
		}
		// A path's bins: "0" (not held), which no rule can match, goes
		// into the base rule, and the path rule gives the difference.
		var notHeld float64
		if ft.path != nil {
			for k := range ft.bins {
				if b := &ft.bins[k]; b.dropped == "" && math.IsInf(b.lo, -1) {
					notHeld = round(scale.Factor * ft.coef * b.woe)
				}
			}
			inBase += notHeld
		}
		for k := range ft.bins {
			b := &ft.bins[k]
			if b.dropped != "" {
				continue
			}
			effect := ft.coef * b.woe
			// Delta method: Var(cW) ~ W^2 Var(c) + c^2 Var(W).
			seE := math.Sqrt(b.woe*b.woe*ft.coefVar + ft.coef*ft.coef*b.woeVar)
			pts := round(scale.Factor * effect)
			b.points = pts
			name := unique(ft.name + " " + ft.binLabel(b))
			rule := Rule{
				Name: name, Bin: ft.binLabel(b),
				Support: b.n, Converted: b.pos, Rate: float64(b.pos) / float64(b.n),
				WoE: b.woe, Effect: Interval{Value: effect, Low: effect - z95*seE, High: effect + z95*seE},
				Points: pts,
			}
			if ft.path != nil {
				// b.points are what the emitted rule gives (internal).
				b.points = pts - notHeld
				rule.InBase = math.IsInf(b.lo, -1)
			}
			out.Rules = append(out.Rules, rule)
			switch {
			case ft.path != nil:
				if !rule.InBase {
					dim.Behavior = append(dim.Behavior, scoring.BehaviorRule{Name: name, Sequence: ft.path, Points: b.points})
				}
			case ft.kind == scoring.KindFit:
				dim.Fit = append(dim.Fit, scoring.FitRule{Name: name, When: ft.fitExpr(b), Points: pts})
			default:
				dim.Behavior = append(dim.Behavior, scoring.BehaviorRule{Name: name, Types: ft.signal.Types, When: ft.signal.When, Points: pts, Count: ft.countSpec(b)})
			}
		}
		f.res.Features = append(f.res.Features, out)
	}
	if inBase != 0 {
		dim.Fit[0].Points += inBase
		f.res.BasePoints += inBase
	}
	if kept == 0 {
		f.warn(WarnNoRules, "", "no feature was kept: the model gives every lead the base points")
	}
	f.res.Spec = scoring.ModelSpec{Name: c.Name, Fields: c.Declare, Dimensions: []scoring.DimensionSpec{dim}}
}

// round rounds half away from zero and never returns -0.
func round(v float64) float64 { return math.Round(v) + 0 }

func sample(y []bool, rows []int) Sample {
	s := Sample{Examples: len(rows)}
	for _, i := range rows {
		if y[i] {
			s.Converted++
		}
	}
	if s.Examples > 0 {
		s.Rate = float64(s.Converted) / float64(s.Examples)
	}
	return s
}

// binLabel describes a bin of the feature: a path's are "0" (not held)
// and "1" (held).
func (ft *feature) binLabel(b *bin) string {
	if ft.path != nil && b.kind == binRange {
		if math.IsInf(b.lo, -1) {
			return "0"
		}
		return "1"
	}
	return b.label(ft.count)
}

// fitExpr is the condition of a field's bin.
func (ft *feature) fitExpr(b *bin) string {
	name := ft.field.name
	switch b.kind {
	case binMissing:
		if ft.numeric {
			return name + " == 0"
		}
		return name + ` == ""`
	case binValue:
		if ft.field.typ == leadkit.TypeBool {
			return name + " == " + b.value
		}
		return name + " == " + quote(b.value)
	case binOther:
		list := []string{`""`}
		for _, o := range ft.bins {
			if o.kind == binValue {
				list = append(list, quote(o.value))
			}
		}
		return name + " not in [" + strings.Join(list, ", ") + "]"
	}
	var parts []string
	if !math.IsInf(b.lo, -1) {
		parts = append(parts, name+" >= "+num(b.lo))
	}
	if !math.IsInf(b.hi, 1) {
		parts = append(parts, name+" < "+num(b.hi))
	}
	if b.lo <= 0 && b.hi > 0 {
		parts = append(parts, name+" != 0")
	}
	return strings.Join(parts, " && ")
}

// countSpec is the count range of a signal's bin.
func (ft *feature) countSpec(b *bin) *scoring.CountSpec {
	cs := &scoring.CountSpec{Window: ft.window}
	if !math.IsInf(b.lo, -1) {
		cs.Min = int(b.lo)
	}
	if !math.IsInf(b.hi, 1) {
		hi := int(b.hi) - 1
		cs.Max = &hi
	}
	return cs
}
