package scoring

import (
	"fmt"
	"math"
	"math/rand"
	"slices"
	"testing"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// "Why 72?" by hand: two rules give 30 and 40 points, the cap takes 20;
// a download half decayed shows what time took.
func TestExplainAddsUp(t *testing.T) {
	m := mustCompile(t, ModelSpec{Name: "m", Dimensions: []DimensionSpec{
		{Name: "fit", Max: f64(50), Fit: []FitRule{
			{Name: "vp", When: `person.seniority == "vp"`, Points: 30},
			{Name: "enterprise", When: `company.employees >= 1000`, Points: 40},
		}},
		{Name: "engagement", Decay: &DecaySpec{HalfLife: 30 * day}, Behavior: []BehaviorRule{{Name: "download", Types: []string{"download"}, Points: 20}}},
		{Name: "total", Expr: "fit + engagement"},
	}})
	asOf := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	res, err := m.Score(Input{Lead: leadkit.Lead{ID: "l", Person: leadkit.Person{Seniority: "vp"}, Company: leadkit.Company{Employees: 5000}},
		Events: []leadkit.Event{{ID: "1", LeadID: "l", Type: "download", Time: asOf.Add(-30 * day)}}, AsOf: asOf})
	require.NoError(t, err)

	fit, err := m.Explain(res, "fit")
	require.NoError(t, err)
	assert.Equal(t, 50.0, fit.Score)
	assert.Equal(t, 70.0, fit.Raw)
	assert.Equal(t, -20.0, fit.Clamp)
	require.Len(t, fit.Rules, 2)
	assert.Equal(t, "vp", fit.Rules[0].Rule)
	assert.Equal(t, 30.0, fit.Rules[0].Points)

	eng, err := m.Explain(res, "engagement")
	require.NoError(t, err)
	require.Len(t, eng.Rules, 1)
	assert.InDelta(t, 10, eng.Rules[0].Points, 1e-9)
	assert.InDelta(t, 20, eng.Rules[0].Lifetime, 1e-9)
	assert.InDelta(t, 10, eng.Rules[0].Decayed, 1e-9)
	assert.Zero(t, eng.Clamp)

	total, err := m.Explain(res, "total")
	require.NoError(t, err)
	assert.Equal(t, "fit + engagement", total.Expr)
	require.Len(t, total.Inputs, 2)
	assert.InDelta(t, 60, total.Score, 1e-9)
	assert.InDelta(t, total.Inputs[0].Score+total.Inputs[1].Score, total.Raw, 1e-9)

	_, err = m.Explain(res, "nope")
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
	_, err = m.Explain(Result{}, "fit")
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
}

// On random models and leads, every rule dimension's parts add up to its
// score: the rules' points plus the clamp.
func TestExplainAddsUpOnRandomModels(t *testing.T) {
	r := rand.New(rand.NewSource(9))
	sims := simInputs(benchSim(t, 200, 9, 30), 100)
	for iter := range 100 {
		spec := randomModel(r)
		spec.Dimensions[0].Max = f64(float64(r.Intn(60)))
		spec.Dimensions[0].Min = f64(-float64(r.Intn(20)))
		m := mustCompile(t, spec)
		in := sims[iter]
		in.AsOf = in.Events[len(in.Events)-1].Time.Add(time.Duration(r.Intn(60)) * day)
		res, err := m.Score(in)
		require.NoError(t, err)
		for _, d := range res.Dimensions {
			e, err := m.Explain(res, d.Name)
			require.NoError(t, err)
			sum := e.Clamp
			for _, rc := range e.Rules {
				sum += rc.Points
				assert.InDelta(t, rc.Lifetime-rc.Points, rc.Decayed, 1e-9)
			}
			if e.Expr == "" {
				assert.InDelta(t, d.Score, sum, 1e-9*math.Max(1, math.Abs(d.Score)), fmt.Sprintf("iter %d %s", iter, d.Name))
			}
			assert.InDelta(t, d.Score, e.Raw+e.Clamp, 1e-9*math.Max(1, math.Abs(d.Score)))
		}
	}
}

// explainOf explains dimension dim of res, failing the test on an error,
// and checks that its parts add up: the entries' points plus the clamp
// are the score, within the documented rounding (partsAddUp).
func explainOf(t *testing.T, m *Model, res Result, dim string) Explanation {
	t.Helper()
	e, err := m.Explain(res, dim)
	require.NoError(t, err)
	partsAddUp(t, e, "the parts of "+dim)
	return e
}

// entry is the named rule's part of e (false when it is not there).
func entry(e Explanation, rule string) (RuleContribution, bool) {
	for _, rc := range e.Rules {
		if rc.Rule == rule {
			return rc, true
		}
	}
	return RuleContribution{}, false
}

// Change-score operations are parts of their own: an unsubscribe that
// halves two 10-point downloads takes 10 (lifetime too) and the
// downloads keep their 20; under a half-life the halving's part decays
// with what it halved; "no activity for 30 days: set to 0" takes back
// what the rules give now, but not their lifetime. Scored in full and
// read from a state alike.
func TestExplainOpRules(t *testing.T) {
	at := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	evs := []leadkit.Event{
		{ID: "1", LeadID: "l", Type: "download", Time: at},
		{ID: "2", LeadID: "l", Type: "download", Time: at.Add(day)},
		{ID: "3", LeadID: "l", Type: "unsubscribed", Time: at.Add(2 * day)},
	}
	rules := []BehaviorRule{
		{Name: "download", Types: []string{"download"}, Points: 10},
		{Name: "unsubscribed", Types: []string{"unsubscribed"}, Op: OpMultiply, Factor: 0.5},
		{Name: "inactive", Op: OpSet, Count: &CountSpec{Min: 0, Max: new0(), Window: 30 * day}},
	}
	both := func(m *Model, asOf time.Time, check func(e Explanation)) {
		t.Helper()
		res, err := m.Score(Input{Lead: leadkit.Lead{ID: "l"}, Events: evs, AsOf: asOf})
		require.NoError(t, err)
		check(explainOf(t, m, res, "e"))
		st, err := m.StateOf(Input{Lead: leadkit.Lead{ID: "l"}, Events: evs, AsOf: asOf})
		require.NoError(t, err)
		require.NoError(t, m.ReadState(&res, &st, leadkit.Lead{ID: "l"}, asOf))
		check(explainOf(t, m, res, "e"))
	}

	m := opModel(t, nil, rules...)
	both(m, at.Add(10*day), func(e Explanation) {
		assert.Equal(t, 10.0, e.Score)
		dl, ok := entry(e, "download")
		require.True(t, ok)
		assert.Equal(t, RuleContribution{Rule: "download", Kind: KindBehavior, Count: 2, Points: 20, Lifetime: 20}, dl)
		un, ok := entry(e, "unsubscribed")
		require.True(t, ok, "the halving is a part of its own: %+v", e.Rules)
		assert.Equal(t, RuleContribution{Rule: "unsubscribed", Kind: KindBehavior, Count: 1, Points: -10, Lifetime: -10}, un)
	})
	both(m, at.Add(40*day), func(e Explanation) {
		assert.Zero(t, e.Score)
		_, ok := entry(e, "download")
		assert.True(t, ok, "the rules still counted: %+v", e.Rules)
		in, ok := entry(e, "inactive")
		require.True(t, ok)
		assert.InDelta(t, -10, in.Points, 1e-9, "set to 0 takes back the 10 the rules give")
		assert.Zero(t, in.Lifetime, "the lifetime count (3) is out of the inactivity's range")
	})

	// Under a 10-day half-life, read 10 days after the halving: the
	// downloads' 20 (decayed from their times) and the halving's part
	// decay alike, so the halving takes half of what they give now.
	hl := opModel(t, &DecaySpec{HalfLife: 10 * day}, rules[:2]...)
	both(hl, at.Add(12*day), func(e Explanation) {
		dl, _ := entry(e, "download")
		un, ok := entry(e, "unsubscribed")
		require.True(t, ok)
		assert.InDelta(t, -dl.Points/2, un.Points, 1e-9)
		assert.InDelta(t, 10*math.Exp2(-1.2)+10*math.Exp2(-1.1), dl.Points, 1e-9)
		assert.Equal(t, -10.0, un.Lifetime)
		assert.InDelta(t, dl.Points/2, e.Score, 1e-9)
	})
}

// randomOpModel is a random model with change-score operations: an
// engagement dimension (no decay or half-lives, as multiplies need)
// with add rules, up to two multiplies and a set rule with a count
// (inactivity: "no event in N days: set to V", or "while M times:
// set"), and an activity dimension of windowed and count rules with an
// inactivity rule that subtracts and one that sets.
func randomOpModel(r *rand.Rand) ModelSpec {
	types := benchEventTypes
	pick := func() []string { return []string{types[r.Intn(len(types))], types[r.Intn(len(types))]} }
	halfLife := func() *DecaySpec {
		if r.Intn(2) == 0 {
			return nil
		}
		return &DecaySpec{HalfLife: time.Duration(1+r.Intn(40)) * day}
	}
	eng := DimensionSpec{Name: "engagement", Decay: halfLife()}
	for i := range 2 + r.Intn(4) {
		br := BehaviorRule{Name: fmt.Sprint("add", i), Types: pick(), Points: float64(r.Intn(21) - 5)}
		if r.Intn(3) == 0 {
			br.Cap = float64(1 + r.Intn(40))
		}
		if r.Intn(3) == 0 {
			br.FirstBonus = float64(r.Intn(10))
		}
		if r.Intn(3) == 0 {
			br.Decay = halfLife()
		}
		if r.Intn(4) == 0 {
			br.Limit = &LimitSpec{Max: 1 + r.Intn(3), Per: PerDay}
		}
		if r.Intn(5) == 0 {
			br.Recency = &RecencySpec{Within: time.Duration(1+r.Intn(10)) * day, Points: float64(r.Intn(5))}
		}
		eng.Behavior = append(eng.Behavior, br)
	}
	factors := []float64{0, 0.25, 0.5, 0.75, 1, 1.5, 2, 1e3, 1e9}
	for i := range r.Intn(3) {
		mul := BehaviorRule{Name: fmt.Sprint("multiply", i), Types: pick(), Op: OpMultiply, Factor: factors[r.Intn(len(factors))]}
		k := r.Intn(len(eng.Behavior) + 1)
		eng.Behavior = slices.Insert(eng.Behavior, k, mul)
	}
	setRule := func(name string) BehaviorRule {
		hi := r.Intn(2)
		cs := &CountSpec{Min: 0, Max: &hi, Window: time.Duration(1+r.Intn(30)) * day}
		if r.Intn(3) == 0 {
			cs.Min, cs.Max = 1+r.Intn(2), nil
		}
		return BehaviorRule{Name: name, Types: pick()[:r.Intn(2)], Points: float64(r.Intn(10) - 3), Op: OpSet, Count: cs}
	}
	if r.Intn(3) > 0 {
		eng.Behavior = append(eng.Behavior, setRule("inactive"))
	}
	if r.Intn(3) == 0 {
		eng.Behavior = slices.Insert(eng.Behavior, r.Intn(len(eng.Behavior)+1), BehaviorRule{Name: "reset", Types: pick(), Reset: true, Points: float64(r.Intn(5))})
	}
	if r.Intn(2) == 0 {
		eng.Max = f64(float64(20 + r.Intn(60)))
	}
	if r.Intn(2) == 0 {
		eng.Min = f64(-float64(r.Intn(20)))
	}

	act := DimensionSpec{Name: "activity", Decay: &DecaySpec{Window: time.Duration(5+r.Intn(40)) * day}}
	for i := range 1 + r.Intn(3) {
		act.Behavior = append(act.Behavior, BehaviorRule{Name: fmt.Sprint("act", i), Types: pick(), Points: float64(r.Intn(15)), Cap: float64(r.Intn(2) * 30)})
	}
	zero := 0
	act.Behavior = append(act.Behavior,
		BehaviorRule{Name: "quiet", Points: -float64(1 + r.Intn(10)), Count: &CountSpec{Min: 0, Max: &zero, Window: time.Duration(1+r.Intn(30)) * day}},
		setRule("dormant"))
	return ModelSpec{Name: "random ops", Dimensions: []DimensionSpec{eng, act, {Name: "total", Expr: "engagement + activity"}}}
}

// On random models with change-score operations, scored in full and
// read from a state: every rule dimension's parts add up to its score,
// and every op rule that changed the score is among them. A multiply
// changed it when the same model with the factor 1 scores otherwise; a
// set or inactivity rule when the model without it does.
func TestExplainAddsUpWithOps(t *testing.T) {
	r := rand.New(rand.NewSource(14))
	sims := simInputs(benchSim(t, 400, 14, 30), 200)
	seen := map[string]int{}
	for iter := range 200 {
		spec := randomOpModel(r)
		m := mustCompile(t, spec)
		in := sims[iter]
		in.AsOf = in.Events[len(in.Events)-1].Time.Add(time.Duration(r.Intn(60)) * day)
		res, err := m.Score(in)
		require.NoError(t, err)
		st, err := m.StateOf(in)
		require.NoError(t, err)
		var inc Result
		require.NoError(t, m.ReadState(&inc, &st, in.Lead, in.AsOf))
		msg := fmt.Sprintf("iter %d", iter)
		assertSameScores(t, res, inc, msg)
		// The independent replay: the same model without its multiply
		// rules. Each rule's own part is what it gives there (its own
		// points, decayed, with its recency bonus, within its cap), and
		// the multiplies' parts are what they changed of the rules'
		// sum: with one multiply rule, its part is the dimension's raw
		// score with it minus without it.
		noOps := cloneSpec(spec)
		var mults []string
		noOps.Dimensions[0].Behavior = slices.DeleteFunc(noOps.Dimensions[0].Behavior, func(br BehaviorRule) bool {
			if br.Op == OpMultiply {
				mults = append(mults, br.Name)
			}
			return br.Op == OpMultiply
		})
		without, err := mustCompile(t, noOps).Score(in)
		require.NoError(t, err)
		plain := explainOf(t, mustCompile(t, noOps), without, "engagement")
		for di, ds := range spec.Dimensions[:2] {
			for _, got := range []Result{res, inc} {
				e := explainOf(t, m, got, ds.Name)
				if di == 0 {
					big := 1.0
					for _, rc := range append(slices.Clone(e.Rules), plain.Rules...) {
						big = math.Max(big, math.Max(math.Abs(rc.Points), math.Abs(rc.Lifetime)))
					}
					var ops float64
					for _, br := range ds.Behavior {
						rc, _ := entry(e, br.Name)
						if br.Op == OpMultiply {
							ops += rc.Points
							continue
						}
						want, _ := entry(plain, br.Name)
						if br.Op == OpSet {
							continue // what the rules gave before it: checked below
						}
						assert.InDelta(t, want.Points, rc.Points, 1e-9*big, "%s: %s's own part is what it gives without the multiplies: %+v, without them %+v", msg, br.Name, e.Rules, plain.Rules)
						if rc.Points != 0 {
							assert.InDelta(t, want.Lifetime, rc.Lifetime, 1e-9*big, "%s: %s's own lifetime part", msg, br.Name)
						}
					}
					if set, _ := entry(e, "inactive"); set.Points == 0 {
						if set, _ := entry(plain, "inactive"); set.Points == 0 {
							w := got.Dimensions[0].Raw - without.Dimensions[0].Raw
							assert.InDelta(t, w, ops, 1e-9*math.Max(big, math.Abs(got.Dimensions[0].Raw)), "%s: the multiplies %v changed the rules' sum by their parts: %+v", msg, mults, e.Rules)
							if len(mults) == 1 && ops != 0 {
								seen["one multiply's part = with - without"]++
							}
						}
					}
				}
				for i, br := range ds.Behavior {
					var alt ModelSpec
					switch {
					case br.Op == OpMultiply:
						alt = cloneSpec(spec)
						alt.Dimensions[di].Behavior[i].Factor = 1
					case br.Op == OpSet || br.Name == "quiet":
						alt = cloneSpec(spec)
						alt.Dimensions[di].Behavior = slices.Delete(alt.Dimensions[di].Behavior, i, i+1)
					default:
						continue
					}
					other, err := mustCompile(t, alt).Score(in)
					require.NoError(t, err)
					if math.Abs(other.Dimensions[di].Raw-got.Dimensions[di].Raw) > 1e-9*math.Max(1, math.Abs(got.Dimensions[di].Raw)) {
						rc, ok := entry(e, br.Name)
						require.True(t, ok, "%s: %s/%s changed the score (%g without it, %g with it) but is not in its explanation %+v", msg, ds.Name, br.Name, other.Dimensions[di].Raw, got.Dimensions[di].Raw, e.Rules)
						if br.Op == OpMultiply {
							assert.NotZero(t, rc.Points, msg)
						}
						seen[br.Name]++
					}
				}
			}
		}
	}
	t.Logf("op rules that changed the score: %v", seen)
	for _, name := range []string{"multiply0", "multiply1", "inactive", "quiet", "dormant", "one multiply's part = with - without"} {
		assert.Positive(t, seen[name], "no case where %s changed the score", name)
	}
}

// cloneSpec copies the dimensions and rules of spec, so that a rule
// can be changed without changing spec.
func cloneSpec(spec ModelSpec) ModelSpec {
	spec.Dimensions = slices.Clone(spec.Dimensions)
	for i := range spec.Dimensions {
		spec.Dimensions[i].Behavior = slices.Clone(spec.Dimensions[i].Behavior)
	}
	return spec
}
