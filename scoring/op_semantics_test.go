package scoring

import (
	"fmt"
	"math"
	"math/rand"
	"testing"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A multiply other than x1 forgets the points a rule banked above its
// cap (it scales what the rule shows, within the cap), and the bank it
// forgot is its part: 30 points banked at t0 (cap 10, 10-day
// half-life), a boost an hour later, read at +20 days: without the
// boost the rule gives 7.5 (30 decayed), with it 2.5 (10 decayed), and
// the explanation says so: a 7.5, the boost -5.
func TestMultiplyForgetsBankAboveCap(t *testing.T) {
	for _, f := range []float64{1, 1.01, 2, 0.5} {
		m := opModel(t, &DecaySpec{HalfLife: 10 * day},
			BehaviorRule{Name: "a", Types: []string{"v"}, Points: 10, Cap: 10},
			BehaviorRule{Name: "boost", Types: []string{"x"}, Op: OpMultiply, Factor: f})
		evs := []leadkit.Event{evAt("1", "v", 0), evAt("2", "v", 0), evAt("3", "v", 0), evAt("x", "x", time.Hour)}
		shown := math.Min(10, 10*f) * math.Exp2(-float64(20*day-time.Hour)/float64(10*day))
		if f == 1 {
			shown = 7.5
		}
		for _, res := range scoreAndRead(t, m, evs, at0.Add(20*day)) {
			assert.InDelta(t, shown, res.Dimensions[0].Score, 1e-12, "x%v", f)
			e := explainOf(t, m, res, "e")
			a, _ := entry(e, "a")
			assert.InDelta(t, 7.5, a.Points, 1e-12, "x%v: a's own part is what it gives without the boost", f)
			boost, listed := entry(e, "boost")
			assert.Equal(t, f != 1, listed, "x%v", f)
			assert.InDelta(t, shown-7.5, boost.Points, 1e-12, "x%v: the boost's part is the bank it forgot, decayed", f)
		}
		// At its time the bank above the cap showed nothing: a boost
		// changes nothing the rep sees then, a halving halves it.
		for _, res := range scoreAndRead(t, m, evs, at0.Add(time.Hour)) {
			e := explainOf(t, m, res, "e")
			a, _ := entry(e, "a")
			assert.InDelta(t, 10, a.Points, 1e-12)
			boost, _ := entry(e, "boost")
			assert.InDelta(t, math.Min(10, 10*f)-10, boost.Points, 1e-12, "x%v at its time", f)
		}
	}
}

// Repeated factors never make a lead unscorable through a derived
// dimension: it is held within ±MaxPoints as a rule dimension is, and
// its explanation's clamp shows what was cut.
func TestDerivedDimensionWithinMaxPoints(t *testing.T) {
	m := mustCompile(t, ModelSpec{Name: "m", Dimensions: []DimensionSpec{
		{Name: "engagement", Behavior: []BehaviorRule{
			{Name: "visit", Types: []string{"page_view"}, Points: 10},
			{Name: "boost", Types: []string{"demo"}, Op: OpMultiply, Factor: 1000}}},
		{Name: "activity", Behavior: []BehaviorRule{{Name: "any", Types: []string{"page_view"}, Points: 1}}},
		{Name: "total", Expr: "engagement + activity"}},
		Thresholds: []ThresholdSpec{{Name: "mql", Dimension: "total", Value: 100}}})
	evs := []leadkit.Event{evAt("1", "page_view", 0)}
	for i := range 5 {
		evs = append(evs, evAt(fmt.Sprint("d", i), "demo", time.Duration(i+1)*time.Hour))
	}
	evs = append(evs, evAt("2", "page_view", 7*time.Hour))
	for n := 1; n <= len(evs); n++ {
		for _, res := range scoreAndRead(t, m, evs[:n], at0.Add(day)) {
			total := res.Dimensions[2]
			assert.LessOrEqual(t, math.Abs(total.Score), float64(MaxPoints))
			e := explainOf(t, m, res, "total")
			assert.Equal(t, total.Score-total.Raw, e.Clamp)
			if n >= 5 {
				assert.Equal(t, float64(MaxPoints), total.Score, "after the third demo")
				assert.Negative(t, e.Clamp)
			}
		}
		// WhyNot evaluates the derived dimension the same way.
		_, err := m.WhyNot(Input{Lead: leadkit.Lead{ID: "l"}, Events: evs[:n], AsOf: at0.Add(day)}, Target{Threshold: "mql"})
		require.NoError(t, err, "%d events", n)
	}
}

// A recency bonus is the rule's own, added when the score is read: a
// multiply does not scale it. 10 points (cap 12) with +5 within 7 days
// show 12; a halving an hour later makes the banked 10 five, so 10 show
// (5 + 5), and the halving's part is -2; a zero leaves the bonus, 5.
func TestMultiplyLeavesRecencyBonus(t *testing.T) {
	for _, c := range []struct {
		factor, score float64
	}{{0.5, 10}, {0, 5}, {2, 12}} {
		m := opModel(t, nil,
			BehaviorRule{Name: "a", Types: []string{"v"}, Points: 10, Cap: 12, Recency: &RecencySpec{Within: 7 * day, Points: 5}},
			BehaviorRule{Name: "op", Types: []string{"x"}, Op: OpMultiply, Factor: c.factor})
		evs := []leadkit.Event{evAt("1", "v", 0), evAt("x", "x", time.Hour)}
		for _, res := range scoreAndRead(t, m, evs, at0.Add(day)) {
			assert.Equal(t, c.score, res.Dimensions[0].Score, "x%v", c.factor)
			e := explainOf(t, m, res, "e")
			a, _ := entry(e, "a")
			assert.Equal(t, 12.0, a.Points, "x%v: what a gives without the multiply", c.factor)
			op, _ := entry(e, "op")
			assert.Equal(t, c.score-12, op.Points, "x%v", c.factor)
		}
		// Past the recency window, the multiply's part is what it did
		// to the banked points.
		for _, res := range scoreAndRead(t, m, evs, at0.Add(10*day)) {
			e := explainOf(t, m, res, "e")
			op, _ := entry(e, "op")
			assert.Equal(t, math.Min(12, 10*c.factor)-10, op.Points, "x%v", c.factor)
		}
	}
}

// A multiply whose changes cancel keeps each rule's attribution: +5 and
// -5 doubled are +10 and -10, of which each rule's own part is what its
// event gave (±5) and the doubling's net part is 0 (no entry).
func TestCancellingChangesKeepAttribution(t *testing.T) {
	m := opModel(t, nil,
		BehaviorRule{Name: "a", Types: []string{"v"}, Points: 5},
		BehaviorRule{Name: "b", Types: []string{"w"}, Points: -5},
		BehaviorRule{Name: "double", Types: []string{"x"}, Op: OpMultiply, Factor: 2})
	evs := []leadkit.Event{evAt("1", "v", 0), evAt("2", "w", 0), evAt("x", "x", time.Hour)}
	for _, res := range scoreAndRead(t, m, evs, at0.Add(day)) {
		e := explainOf(t, m, res, "e")
		a, _ := entry(e, "a")
		b, _ := entry(e, "b")
		assert.Equal(t, 5.0, a.Points)
		assert.Equal(t, -5.0, b.Points)
		_, listed := entry(e, "double")
		assert.False(t, listed, "%+v", e.Rules)
	}
}

// The MaxOps compile error names the dimension, its multiply rules and
// each decay class with its rules, so the author knows which half-lives
// to merge.
func TestMaxOpsErrorNamesRules(t *testing.T) {
	var rules []BehaviorRule
	for i := range 2*MaxOpClasses + 1 {
		rules = append(rules, BehaviorRule{Name: fmt.Sprint("a", i), Types: []string{"v"}, Points: 1, Decay: &DecaySpec{HalfLife: time.Duration(i+1) * day}})
	}
	rules = append(rules, BehaviorRule{Name: "b", Types: []string{"v"}, Points: 1, Decay: &DecaySpec{HalfLife: day}},
		BehaviorRule{Name: "half", Types: []string{"x"}, Op: OpMultiply, Factor: 0.5})
	_, err := Compile(ModelSpec{Name: "m", Dimensions: []DimensionSpec{{Name: "eng", Behavior: rules}}}, Options{})
	require.Error(t, err)
	for _, want := range []string{`dimension "eng"`, `multiply rules ("half")`, fmt.Sprintf("at most %d different decays", MaxOpClasses), `half-life 24h0m0s: "a0", "b"`, `half-life 216h0m0s: "a8"`} {
		assert.Contains(t, err.Error(), want)
	}
}

// The parts and the clamp add up to the score within the rounding of
// their own sum ((n+2)·2^-52 of their magnitudes, partsAddUp), also
// when factors up to 1e9 make rules of ±1e9 that cancel. The cases: the
// review's (a boost of -1 and -3 rules under a set rule), and random
// models with caps, floors, half-lives, limits, recency, resets, set
// and path rules and factors from 0 to 1e9, scored in full and read
// from states.
func TestPartsAddUpUnderHugeFactors(t *testing.T) {
	m := mustCompile(t, ModelSpec{Name: "r", Dimensions: []DimensionSpec{{Name: "e", Decay: &DecaySpec{HalfLife: 5 * day}, Behavior: []BehaviorRule{
		{Name: "a", Types: []string{"v"}, Points: -1, Cap: 24, Decay: &DecaySpec{HalfLife: 3 * day}},
		{Name: "set", Types: []string{"x"}, Op: OpSet, Points: 18},
		{Name: "b", Types: []string{"v"}, Points: -3},
		{Name: "boost", Types: []string{"v"}, Op: OpMultiply, Factor: 1e9},
	}}}})
	evs := []leadkit.Event{evAt("1", "x", 545*time.Hour), evAt("2", "v", 577*time.Hour)}
	for _, res := range scoreAndRead(t, m, evs, at0.Add(687*time.Hour)) {
		explainOf(t, m, res, "e")
	}

	r := rand.New(rand.NewSource(77))
	types := []string{"v", "w", "x", "y", "z", "u"}
	for iter := range 1500 {
		spec := hugeFactorModel(r, types)
		m := mustCompile(t, spec)
		var evs []leadkit.Event
		for i := range r.Intn(40) {
			at := time.Duration(r.Int63n(int64(30 * day))).Truncate(time.Hour)
			if i > 0 && r.Intn(4) == 0 {
				at = evs[r.Intn(len(evs))].Time.Sub(at0) // same instant
			}
			e := evAt(fmt.Sprint(i), types[r.Intn(len(types))], at)
			e.Attrs = map[string]any{"amount": float64(r.Intn(40) - 10)}
			evs = append(evs, e)
		}
		leadkit.SortEvents(evs)
		for _, asOf := range []time.Duration{31 * day, 45 * day} {
			for _, res := range scoreAndRead(t, m, evs, at0.Add(asOf)) {
				for _, dim := range []string{"e", "c", "t"} {
					e, err := m.Explain(res, dim)
					require.NoError(t, err)
					partsAddUp(t, e, fmt.Sprintf("iter %d dim %s", iter, dim))
				}
			}
		}
		if t.Failed() {
			t.Fatalf("iter %d: spec %+v", iter, spec)
		}
	}
}

// hugeFactorModel is a random model whose first dimension has add rules
// of every kind a multiply allows and one to three multiplies with
// factors from 0 to 1e9 (the review's adversarial generator).
func hugeFactorModel(r *rand.Rand, types []string) ModelSpec {
	pick := func() string { return types[r.Intn(len(types))] }
	hls := []time.Duration{0, day, 3 * day, 10 * day}
	var rules []BehaviorRule
	for i := range 1 + r.Intn(4) {
		br := BehaviorRule{Name: fmt.Sprint("a", i), Types: []string{pick()}, Points: float64(r.Intn(30) - 8)}
		if r.Intn(4) == 0 {
			br.Points, br.PointsExpr = 0, "event.amount"
		}
		if r.Intn(2) == 0 {
			br.Cap = float64(5 + r.Intn(30))
		}
		if r.Intn(3) == 0 {
			br.FirstBonus = float64(r.Intn(5))
		}
		if h := hls[r.Intn(len(hls))]; h > 0 {
			br.Decay = &DecaySpec{HalfLife: h}
		}
		if r.Intn(4) == 0 {
			br.Limit = &LimitSpec{Max: 1 + r.Intn(2), Every: time.Duration(1+r.Intn(72)) * time.Hour}
		}
		if r.Intn(5) == 0 {
			br.Recency = &RecencySpec{Within: 2 * day, Points: 3}
		}
		rules = append(rules, br)
	}
	if r.Intn(3) == 0 {
		rules = append(rules, BehaviorRule{Name: "path", Sequence: []string{pick(), pick()}, Points: 7})
	}
	factors := []float64{0, 0.5, 1, 1.0001, 2, 3, 1e9, 1e-9}
	for i := range 1 + r.Intn(3) {
		rules = append(rules, BehaviorRule{Name: fmt.Sprint("m", i), Types: []string{pick()}, Op: OpMultiply, Factor: factors[r.Intn(len(factors))]})
	}
	if r.Intn(3) == 0 {
		rules = append(rules, BehaviorRule{Name: "rs", Types: []string{pick()}, Reset: true})
	}
	if r.Intn(3) == 0 {
		rules = append(rules, BehaviorRule{Name: "setp", Types: []string{pick()}, Op: OpSet, Points: float64(r.Intn(20))})
	}
	if r.Intn(2) == 0 {
		hi := r.Intn(2)
		rules = append(rules, BehaviorRule{Name: "inact", Points: float64(r.Intn(10) - 3), Op: OpSet, Count: &CountSpec{Max: &hi, Window: time.Duration(1+r.Intn(10)) * day}})
	}
	r.Shuffle(len(rules), func(i, j int) { rules[i], rules[j] = rules[j], rules[i] })
	d := DimensionSpec{Name: "e", Behavior: rules}
	if r.Intn(2) == 0 {
		d.Decay = &DecaySpec{HalfLife: 5 * day}
	}
	if r.Intn(2) == 0 {
		d.Min = f64(float64(-r.Intn(10)))
	}
	if r.Intn(2) == 0 {
		d.Max = f64(float64(20 + r.Intn(80)))
	}
	other := DimensionSpec{Name: "c", Behavior: []BehaviorRule{
		{Name: "cnt", Types: []string{pick()}, Points: 15, Count: &CountSpec{Min: 1 + r.Intn(3), Window: time.Duration(1+r.Intn(10)) * day}},
		{Name: "win", Types: []string{pick()}, Points: 4, Decay: &DecaySpec{Window: 5 * day}},
	}}
	expr := []string{"e + c", "e * 1000 + c", "e / 4 + c"}[r.Intn(3)]
	return ModelSpec{Name: "huge", Fields: []leadkit.FieldSpec{{Name: "event.amount", Type: leadkit.TypeNumber}},
		Dimensions: []DimensionSpec{d, other, {Name: "t", Expr: expr}}}
}
