package scoring

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand"
	"strings"
	"testing"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// scoreAndRead scores evs at asOf in full and from a state built event by
// event, requires the two to agree, and returns both.
func scoreAndRead(t *testing.T, m *Model, evs []leadkit.Event, asOf time.Time) []Result {
	t.Helper()
	in := Input{Lead: leadkit.Lead{ID: "l"}, Events: evs, AsOf: asOf}
	full, err := m.Score(in)
	require.NoError(t, err)
	st := m.NewState()
	for _, e := range evs {
		require.NoError(t, m.Apply(&st, e))
	}
	var inc Result
	require.NoError(t, m.ReadState(&inc, &st, in.Lead, asOf))
	assertSameScores(t, full, inc, "incremental")
	return []Result{full, inc}
}

// partsAddUp requires e's parts plus its clamp to be its score within
// the documented bound: the rounding of their own sum, (n+2)·2^-52 times
// the sum of their magnitudes (n parts).
func partsAddUp(t *testing.T, e Explanation, msg string) {
	t.Helper()
	sum, mag := e.Clamp, math.Abs(e.Clamp)+math.Abs(e.Score)
	if e.Expr != "" {
		// A derived dimension: its expression's value and the clamp.
		sum, mag = sum+e.Raw, mag+math.Abs(e.Raw)
	}
	for _, rc := range e.Rules {
		sum += rc.Points
		mag += math.Abs(rc.Points)
	}
	bound := float64(len(e.Rules)+2) * 0x1p-52 * mag
	assert.LessOrEqual(t, math.Abs(sum-e.Score), bound, "%s: parts %+v clamp %g add up to %.17g, not %.17g", msg, e.Rules, e.Clamp, sum, e.Score)
}

// A factor of 1 changes nothing, whatever the rule's cap and decay: not
// the score now, nor later as the rule decays (the multiply scales what
// the rule gives at the op's time, decayed to then).
func TestMultiplyByOneChangesNothing(t *testing.T) {
	m := opModel(t, &DecaySpec{HalfLife: 10 * day},
		BehaviorRule{Name: "a", Types: []string{"v"}, Points: 10, Cap: 10},
		BehaviorRule{Name: "one", Types: []string{"x"}, Op: OpMultiply, Factor: 1})
	base := []leadkit.Event{evAt("1", "v", 0), evAt("2", "v", 0), evAt("3", "v", 0)}
	// The x1 when the rule is under its cap (30 decayed to 3.75) and
	// when it is over it (30 decayed to 21.2, giving 10).
	for _, at := range []time.Duration{30 * day, 5 * day, 0} {
		for _, read := range []time.Duration{40 * day, 12 * day, 60 * day} {
			if read < at {
				continue
			}
			before := scoreAndRead(t, m, base, at0.Add(read))
			after := scoreAndRead(t, m, append(base[:3:3], evAt("x", "x", at)), at0.Add(read))
			for i := range after {
				assert.Equal(t, before[i].Dimensions[0].Score, after[i].Dimensions[0].Score, "x1 at %v, read at %v", at, read)
				e := explainOf(t, m, after[i], "e")
				_, listed := entry(e, "one")
				assert.False(t, listed, "x1 changed nothing, so it is no part")
			}
		}
	}
}

// A multiply acts on each rule's points decayed to the op's time: a
// 10-day half-life, 30 points (cap 10) at t0, a halving at t0+30d (3.75
// then: 1.875 after), read at t0+40d: 0.9375, of which the halving's
// part is what it took then (1.875), decayed with the rule: -0.9375.
func TestMultiplyActsOnDecayedPoints(t *testing.T) {
	m := opModel(t, &DecaySpec{HalfLife: 10 * day},
		BehaviorRule{Name: "a", Types: []string{"v"}, Points: 10, Cap: 10},
		BehaviorRule{Name: "half", Types: []string{"x"}, Op: OpMultiply, Factor: 0.5})
	evs := []leadkit.Event{evAt("1", "v", 0), evAt("2", "v", 0), evAt("3", "v", 0), evAt("x", "x", 30*day)}
	for _, res := range scoreAndRead(t, m, evs, at0.Add(40*day)) {
		assert.InDelta(t, 0.9375, res.Dimensions[0].Score, 1e-12)
		e := explainOf(t, m, res, "e")
		half, ok := entry(e, "half")
		require.True(t, ok)
		assert.InDelta(t, -0.9375, half.Points, 1e-12)
		a, _ := entry(e, "a")
		assert.InDelta(t, 1.875, a.Points, 1e-12, "a's own part: the 3.75 its events gave at the halving, decayed")
		assert.Equal(t, -5.0, half.Lifetime, "the lifetime points, 10 within the cap, halved")
	}
}

// Each rule's own part is what it would give without the multiplies
// (its own points, decayed, within its cap); the multiplies' parts are
// the rest, each what its occurrences changed of the rules' banked
// points, decaying with them. So a boost of a rule at its cap that
// banked nothing above it changes nothing.
func TestOpPartIsWhatItChanged(t *testing.T) {
	mins := func(n int, typ string, from time.Duration) []leadkit.Event {
		var evs []leadkit.Event
		for i := range n {
			evs = append(evs, evAt(fmt.Sprint(typ, from, i), typ, from+time.Duration(i)*time.Minute))
		}
		return evs
	}
	same := func(n int, typ string, at time.Duration) []leadkit.Event {
		var evs []leadkit.Event
		for i := range n {
			evs = append(evs, evAt(fmt.Sprint(typ, at, i), typ, at))
		}
		return evs
	}
	cat := func(parts ...[]leadkit.Event) []leadkit.Event {
		var evs []leadkit.Event
		for _, p := range parts {
			evs = append(evs, p...)
		}
		return evs
	}
	a10 := BehaviorRule{Name: "a", Types: []string{"v"}, Points: 10, Cap: 10}
	cases := []struct {
		name  string
		decay *DecaySpec
		rules []BehaviorRule
		evs   []leadkit.Event
		asOf  time.Duration
		score float64
		parts map[string]float64 // the fresh parts
	}{
		{
			// The halving took a's 30 banked points to 5; the later
			// downloads bring it back to its cap, 10, which a gives
			// without the halving too: the halving is no part now.
			name:  "halving between capped downloads",
			rules: []BehaviorRule{a10, {Name: "half", Types: []string{"x"}, Op: OpMultiply, Factor: 0.5}},
			evs:   cat(mins(3, "v", 0), mins(1, "x", time.Hour), mins(3, "v", 2*time.Hour)),
			asOf:  day, score: 10, parts: map[string]float64{"a": 10},
		},
		{
			// Halving a capped rule halves what it shows (10 -> 5),
			// and forgets the 20 banked above the cap.
			name:  "halving a capped rule",
			rules: []BehaviorRule{a10, {Name: "half", Types: []string{"x"}, Op: OpMultiply, Factor: 0.5}},
			evs:   cat(mins(3, "v", 0), mins(1, "x", time.Hour)),
			asOf:  day, score: 5, parts: map[string]float64{"a": 10, "half": -5},
		},
		{
			name:  "doublings of a rule at its cap",
			rules: []BehaviorRule{a10, {Name: "double", Types: []string{"x"}, Op: OpMultiply, Factor: 2}},
			evs:   cat(mins(3, "v", 0), mins(50, "x", time.Hour)),
			asOf:  day, score: 10, parts: map[string]float64{"a": 10},
		},
		{
			// 1 -> 10 at the cap (+9), then nothing to add.
			name:  "huge boosts, a cap and a half-life",
			decay: &DecaySpec{HalfLife: 3 * day},
			rules: []BehaviorRule{{Name: "a", Types: []string{"v"}, Points: 1, Cap: 10}, {Name: "boost", Types: []string{"x"}, Op: OpMultiply, Factor: 1e9}},
			evs:   cat(mins(1, "v", 0), same(2000, "x", 0)),
			asOf:  3 * day, score: 5, parts: map[string]float64{"a": 0.5, "boost": 4.5},
		},
		{
			// No cap: the boost reaches MaxPoints, and the rule stays
			// there; the zero takes it all.
			name:  "boosts to MaxPoints, then zero",
			rules: []BehaviorRule{{Name: "a", Types: []string{"v"}, Points: 0.3}, {Name: "boost", Types: []string{"x"}, Op: OpMultiply, Factor: 1e6}, {Name: "zero", Types: []string{"z"}, Op: OpMultiply, Factor: 0}},
			evs:   cat(mins(1, "v", 0), mins(2, "x", time.Minute), mins(1, "z", time.Hour), mins(1, "v", 2*time.Hour)),
			asOf:  day, score: 0.3, parts: map[string]float64{"a": 0.6, "boost": MaxPoints - 0.3, "zero": -MaxPoints},
		},
		{
			// a banks 30 (shows 10), a halving takes it to 5 (-25),
			// five more downloads bank 30 and show 10 again, and a
			// later x1 changes nothing: at the cap, neither the
			// halving nor the x1 changes what a shows now, so neither
			// is a part (the cap's cut of the halving is not booked
			// on the latest multiply).
			name:  "a cap undoes an earlier halving, then x1",
			rules: []BehaviorRule{a10, {Name: "half", Types: []string{"h"}, Op: OpMultiply, Factor: 0.5}, {Name: "second", Types: []string{"x"}, Op: OpMultiply, Factor: 1}},
			evs:   cat(mins(3, "v", 0), mins(1, "h", time.Hour), mins(2, "v", 2*time.Hour), mins(1, "x", 3*time.Hour), mins(1, "v", 4*time.Hour)),
			asOf:  day, score: 10, parts: map[string]float64{"a": 10},
		},
		{
			// The same with a second halving: both are undone by the
			// cap now (a would show 10 without either).
			name:  "a cap undoes two halvings",
			rules: []BehaviorRule{a10, {Name: "half", Types: []string{"h"}, Op: OpMultiply, Factor: 0.5}, {Name: "second", Types: []string{"x"}, Op: OpMultiply, Factor: 0.5}},
			evs:   cat(mins(3, "v", 0), mins(1, "h", time.Hour), mins(2, "v", 2*time.Hour), mins(1, "x", 3*time.Hour), mins(1, "v", 4*time.Hour)),
			asOf:  day, score: 10, parts: map[string]float64{"a": 10},
		},
		{
			// Two halvings of a capped rule, nothing after: 10 -> 5 ->
			// 2.5, each halving's part what it took (-5, -2.5).
			name:  "two halvings of a capped rule",
			rules: []BehaviorRule{a10, {Name: "half", Types: []string{"h"}, Op: OpMultiply, Factor: 0.5}, {Name: "second", Types: []string{"x"}, Op: OpMultiply, Factor: 0.5}},
			evs:   cat(mins(3, "v", 0), mins(1, "h", time.Hour), mins(1, "x", 3*time.Hour)),
			asOf:  day, score: 2.5, parts: map[string]float64{"a": 10, "half": -5, "second": -2.5},
		},
		{
			// Two rules, two half-lives: the halving's part is the sum
			// of what it took from each, each decaying with its rule.
			name:  "two decays",
			decay: &DecaySpec{HalfLife: 2 * day},
			rules: []BehaviorRule{{Name: "a", Types: []string{"v"}, Points: 8}, {Name: "b", Types: []string{"w"}, Points: 4, Decay: &DecaySpec{HalfLife: 4 * day}}, {Name: "half", Types: []string{"x"}, Op: OpMultiply, Factor: 0.5}},
			evs:   cat(mins(1, "v", 0), mins(1, "w", 0), mins(1, "x", 0)),
			asOf:  4 * day, score: 4*0.25 + 2*0.5, parts: map[string]float64{"a": 8 * 0.25, "b": 4 * 0.5, "half": -4*0.25 - 2*0.5},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := opModel(t, c.decay, c.rules...)
			for _, res := range scoreAndRead(t, m, c.evs, at0.Add(c.asOf)) {
				assert.InDelta(t, c.score, res.Dimensions[0].Score, 1e-9)
				e, err := m.Explain(res, "e")
				require.NoError(t, err)
				partsAddUp(t, e, c.name)
				// Parts are exact to rounding relative to the largest.
				big := 1.0
				for _, rc := range e.Rules {
					big = math.Max(big, math.Abs(rc.Points))
				}
				for _, rc := range e.Rules {
					want, ok := c.parts[rc.Rule]
					assert.True(t, ok || math.Abs(rc.Points) < 1e-9, "%s is listed with %g", rc.Rule, rc.Points)
					assert.InDelta(t, want, rc.Points, 1e-9*big, "%s: %+v", rc.Rule, e.Rules)
					assert.LessOrEqual(t, math.Abs(rc.Points), float64(MaxPoints), rc.Rule)
				}
				for name, want := range c.parts {
					if _, ok := entry(e, name); !ok && want != 0 {
						t.Errorf("%s (%g) is not listed: %+v", name, want, e.Rules)
					}
				}
			}
		})
	}
}

// Same-instant events count in the order given, and a multiply depends on
// it: a download and an unsubscribe at one instant score 5 when the
// download comes first (it is halved) and 10 otherwise.
func TestSameInstantOrderOfOps(t *testing.T) {
	m := opModel(t, nil,
		BehaviorRule{Name: "download", Types: []string{"download"}, Points: 10},
		BehaviorRule{Name: "half", Types: []string{"unsub"}, Op: OpMultiply, Factor: 0.5})
	dl, un := evAt("z", "download", 0), evAt("a", "unsub", 0)
	for _, c := range []struct {
		evs  []leadkit.Event
		want float64
	}{{[]leadkit.Event{dl, un}, 5}, {[]leadkit.Event{un, dl}, 10}} {
		for _, res := range scoreAndRead(t, m, c.evs, at0.Add(day)) {
			assert.Equal(t, c.want, res.Dimensions[0].Score)
		}
	}
}

// Sums of rules beyond MaxPoints are clamped to it (before the
// dimension's own floor and cap), so repeated factors never make a lead
// fail to score; the explanation's clamp says what was cut.
func TestDimensionSumWithinMaxPoints(t *testing.T) {
	spec := ModelSpec{Name: "big", Dimensions: []DimensionSpec{{Name: "e", Behavior: []BehaviorRule{
		{Name: "a", Types: []string{"v"}, Points: 10},
		{Name: "b", Types: []string{"w"}, Points: 10},
		{Name: "double", Types: []string{"x"}, Op: OpMultiply, Factor: 2},
	}}}}
	m := mustCompile(t, spec)
	evs := []leadkit.Event{evAt("1", "v", 0), evAt("2", "w", 0)}
	for i := range 40 {
		evs = append(evs, evAt(fmt.Sprint("x", i), "x", time.Duration(i+1)*time.Minute))
	}
	for _, res := range scoreAndRead(t, m, evs, at0.Add(day)) {
		d := res.Dimensions[0]
		assert.Equal(t, float64(MaxPoints), d.Score)
		assert.Equal(t, float64(MaxPoints), d.Lifetime)
		assert.Equal(t, 2*float64(MaxPoints), d.Raw)
		e := explainOf(t, m, res, "e")
		assert.Equal(t, -float64(MaxPoints), e.Clamp)
		partsAddUp(t, e, "doubled")
	}
}

// A lead's state keeps, per multiply rule, one number per decay class of
// its dimension and the lifetime change (at most MaxOps), and per scaled
// rule two: linear in the rules, whatever the number of multiplies. A
// dimension with a multiply and more decays than that does not compile.
func TestOpsStateBounded(t *testing.T) {
	var rules []BehaviorRule
	for i := range 500 {
		rules = append(rules, BehaviorRule{Name: fmt.Sprint("a", i), Types: []string{"v"}, Points: 1})
	}
	for i := range 500 {
		rules = append(rules, BehaviorRule{Name: fmt.Sprint("m", i), Types: []string{"x"}, Op: OpMultiply, Factor: 0.99})
	}
	m := opModel(t, nil, rules...)
	st := m.NewState()
	require.NoError(t, m.Apply(&st, evAt("1", "v", 0)))
	require.NoError(t, m.Apply(&st, evAt("2", "x", time.Minute)))
	for _, r := range st.Rules {
		assert.LessOrEqual(t, len(r.Ops), 3, "one decay class: the lifetime change, the fresh change and the bank forgotten")
	}
	b, err := json.Marshal(st)
	require.NoError(t, err)
	assert.Less(t, len(b), 200_000, "state JSON of 1000 rules: linear in the rules")
	var res Result
	require.NoError(t, m.ReadState(&res, &st, leadkit.Lead{ID: "l"}, at0.Add(day)))
	partsAddUp(t, explainOf(t, m, res, "e"), "500 multiplies")

	var many []BehaviorRule
	for i := range MaxOpClasses + 1 {
		many = append(many, BehaviorRule{Name: fmt.Sprint("a", i), Types: []string{"v"}, Points: 1, Decay: &DecaySpec{HalfLife: time.Duration(i+1) * day}})
	}
	many = append(many, BehaviorRule{Name: "half", Types: []string{"x"}, Op: OpMultiply, Factor: 0.5})
	_, err = Compile(ModelSpec{Name: "m", Dimensions: []DimensionSpec{{Name: "e", Behavior: many}}}, Options{})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.ErrorContains(t, err, fmt.Sprintf("at most %d different decays", MaxOpClasses))
	m = mustCompile(t, ModelSpec{Name: "m", Dimensions: []DimensionSpec{{Name: "e", Behavior: many[1:]}}})
	st = m.NewState()
	for i := range MaxOpClasses {
		require.NoError(t, m.Apply(&st, evAt(fmt.Sprint("v", i), "v", time.Duration(i)*time.Minute)))
	}
	require.NoError(t, m.Apply(&st, evAt("x", "x", time.Hour)))
	assert.Len(t, st.Rules[MaxOpClasses].Ops, MaxOps, "MaxOpClasses decays compile and fill MaxOps")
}

// A state with multiply changes survives JSON exactly, mid-stream: a
// state decoded after each event reads as a full rescore, hit by hit.
func TestOpsStateJSON(t *testing.T) {
	m := opModel(t, &DecaySpec{HalfLife: 5 * day},
		BehaviorRule{Name: "a", Types: []string{"v"}, Points: 7, Cap: 30},
		BehaviorRule{Name: "b", Types: []string{"w"}, Points: 3, Decay: &DecaySpec{HalfLife: 2 * day}},
		BehaviorRule{Name: "half", Types: []string{"x"}, Op: OpMultiply, Factor: 0.5},
		BehaviorRule{Name: "dbl", Types: []string{"y"}, Op: OpMultiply, Factor: 2},
		BehaviorRule{Name: "inactive", Points: 1, Op: OpSet, Count: &CountSpec{Min: 0, Max: new0(), Window: 4 * day}})
	types := []string{"v", "w", "x", "y", "v", "w", "v"}
	var evs []leadkit.Event
	st := m.NewState()
	withOps := false
	for i := range 60 {
		e := evAt(fmt.Sprint(i), types[(i*5+i/3)%len(types)], time.Duration(i)*13*time.Hour)
		evs = append(evs, e)
		require.NoError(t, m.Apply(&st, e))
		withOps = withOps || len(st.Rules[2].Ops) > 0
		s := roundTrip(t, st)
		var back State
		require.NoError(t, json.Unmarshal([]byte(s), &back))
		st = back
		asOf := e.Time.Add(time.Duration(i%7) * day)
		want, err := m.Score(Input{Lead: leadkit.Lead{ID: "l"}, Events: evs, AsOf: asOf})
		require.NoError(t, err)
		var got Result
		require.NoError(t, m.ReadState(&got, &st, leadkit.Lead{ID: "l"}, asOf))
		assertSameScores(t, want, got, fmt.Sprint(i))
		require.Equal(t, len(want.Hits), len(got.Hits), "event %d", i)
		for k := range want.Hits {
			assert.InDelta(t, want.Hits[k].Points, got.Hits[k].Points, 1e-9, "event %d hit %s", i, want.Hits[k].Rule)
		}
		partsAddUp(t, explainOf(t, m, got, "e"), fmt.Sprint(i))
	}
	assert.True(t, withOps)
	assert.Contains(t, roundTrip(t, st), `"ops_value":`)
}

// On random leads under models whose multiplies only shrink (factors in
// [0, 1], rules of positive points with caps, with and without decay):
// the multiplies' parts sum to what they changed (the raw score with them
// minus without them), and where they scale one rule, no multiply is
// shown adding points. (Where they scale several rules sharing a decay, a
// cap's undoing of one rule is shared among the multiplies by their
// changes of all of them: see the package doc.) Before the caps' undoing
// was booked when it happened, the latest multiply took all of it: a x1
// after a halving that later downloads undid showed +25, the halving -25.
func TestShrinkingMultipliesNeverAdd(t *testing.T) {
	r := rand.New(rand.NewSource(16))
	var types []string
	for iter := range 300 {
		var decay *DecaySpec
		if iter%2 == 1 {
			decay = &DecaySpec{HalfLife: time.Duration(1+r.Intn(10)) * day}
		}
		rules := []BehaviorRule{
			{Name: "a", Types: []string{"v"}, Points: float64(1 + r.Intn(10)), Cap: float64(r.Intn(3) * 10)},
			{Name: "b", Types: []string{"w"}, Points: float64(1 + r.Intn(5)), Cap: float64(r.Intn(2) * 15)},
		}
		one := iter%3 == 0 // the multiplies scale a alone
		if one {
			types = []string{"v", "h", "x", "z"}
		} else {
			types = []string{"v", "w", "h", "x", "z"}
		}
		ops := []string{"h", "x", "z"}[:1+r.Intn(3)]
		for _, typ := range ops {
			rules = append(rules, BehaviorRule{Name: "op-" + typ, Types: []string{typ}, Op: OpMultiply, Factor: []float64{0, 0.25, 0.5, 0.9, 1}[r.Intn(5)]})
		}
		m := opModel(t, decay, rules...)
		noOps := opModel(t, decay, rules[:2]...)
		var evs []leadkit.Event
		at := time.Duration(0)
		for i := range 1 + r.Intn(30) {
			at += time.Duration(r.Intn(48)) * time.Hour
			evs = append(evs, evAt(fmt.Sprint(i), types[r.Intn(len(types))], at))
		}
		asOf := at0.Add(at + time.Duration(r.Intn(20))*day)
		without, err := noOps.Score(Input{Lead: leadkit.Lead{ID: "l"}, Events: evs, AsOf: asOf})
		require.NoError(t, err)
		for _, res := range scoreAndRead(t, m, evs, asOf) {
			e := explainOf(t, m, res, "e")
			var sum float64
			for _, rc := range e.Rules {
				if strings.HasPrefix(rc.Rule, "op-") {
					if one {
						assert.LessOrEqual(t, rc.Points, 1e-9, "iter %d: %s adds points: %+v", iter, rc.Rule, e.Rules)
					}
					sum += rc.Points
				}
			}
			assert.InDelta(t, res.Dimensions[0].Raw-without.Dimensions[0].Raw, sum, 1e-9, "iter %d: %+v", iter, e.Rules)
		}
	}
}
