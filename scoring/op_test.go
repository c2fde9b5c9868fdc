package scoring

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand"
	"testing"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func opModel(t *testing.T, decay *DecaySpec, rules ...BehaviorRule) *Model {
	t.Helper()
	return mustCompile(t, ModelSpec{Name: "ops", Dimensions: []DimensionSpec{{Name: "e", Decay: decay, Max: f64(1000), Behavior: rules}}})
}

// Marketo's change score by hand: downloads add 10, an unsubscribe
// halves what was counted before it, later downloads add in full; "no
// activity for 30 days" sets the dimension to 0 whatever the rules gave.
func TestOpsByHand(t *testing.T) {
	m := opModel(t, nil,
		BehaviorRule{Name: "download", Types: []string{"download"}, Points: 10},
		BehaviorRule{Name: "unsubscribed", Types: []string{"unsubscribed"}, Op: OpMultiply, Factor: 0.5},
		BehaviorRule{Name: "inactive", Points: 0, Op: OpSet, Count: &CountSpec{Min: 0, Max: new0(), Window: 30 * day}},
	)
	at := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	evs := []leadkit.Event{
		{ID: "1", LeadID: "l", Type: "download", Time: at},
		{ID: "2", LeadID: "l", Type: "download", Time: at.Add(day)},
		{ID: "3", LeadID: "l", Type: "unsubscribed", Time: at.Add(2 * day)},
		{ID: "4", LeadID: "l", Type: "download", Time: at.Add(3 * day)},
	}
	score := func(asOf time.Time) (float64, float64, Result) {
		res, err := m.Score(Input{Lead: leadkit.Lead{ID: "l"}, Events: evs, AsOf: asOf})
		require.NoError(t, err)
		d, _ := res.Dimension("e")
		return d.Score, d.Lifetime, res
	}
	s, life, res := score(at.Add(10 * day))
	assert.Equal(t, 20.0, s, "(10 + 10) x 0.5 + 10")
	assert.Equal(t, 20.0, life)
	e, err := m.Explain(res, "e")
	require.NoError(t, err)
	assert.Equal(t, s, e.Raw+e.Clamp)
	s, _, res = score(at.Add(40 * day))
	assert.Zero(t, s, "no activity in 30 days: set to 0")
	require.Len(t, res.Hits, 3, "the rules that counted, and the set rule taking their points back")
	assert.Equal(t, "inactive", res.Hits[2].Rule)
	assert.Equal(t, -20.0, res.Hits[2].Points)
	e, err = m.Explain(res, "e")
	require.NoError(t, err)
	assert.Zero(t, e.Raw+e.Clamp)
}

func new0() *int { z := 0; return &z }

// Ops against the incremental path on random streams: a dimension with
// add rules (no decay or a half-life), a multiply and a set rule; a state
// built event by event reads as a full rescore.
func TestOpsIncrementalEqualsFull(t *testing.T) {
	r := rand.New(rand.NewSource(21))
	types := []string{"page_view", "download", "unsubscribed", "meeting"}
	base := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	for iter := range 300 {
		var decay *DecaySpec
		if r.Intn(2) == 0 {
			decay = &DecaySpec{HalfLife: time.Duration(1+r.Intn(30)) * day}
		}
		rules := []BehaviorRule{
			{Name: "a", Types: []string{types[r.Intn(2)]}, Points: float64(1 + r.Intn(20)), FirstBonus: float64(r.Intn(5)), Cap: float64(r.Intn(2) * 60)},
			{Name: "b", Types: []string{types[r.Intn(4)]}, Points: float64(r.Intn(15) - 3), Limit: &LimitSpec{Max: 1 + r.Intn(2), Every: time.Duration(1+r.Intn(48)) * time.Hour}},
			{Name: "m", Types: []string{types[2+r.Intn(2)]}, Op: OpMultiply, Factor: float64(r.Intn(5)) / 4},
		}
		if r.Intn(2) == 0 {
			max := r.Intn(2)
			rules = append(rules, BehaviorRule{Name: "s", Types: []string{types[r.Intn(4)]}, Points: float64(r.Intn(10) - 5), Op: OpSet,
				Count: &CountSpec{Min: 0, Max: &max, Window: time.Duration(1+r.Intn(20)) * day}})
		}
		m := opModel(t, decay, rules...)
		var evs []leadkit.Event
		for i := range r.Intn(25) {
			evs = append(evs, leadkit.Event{ID: fmt.Sprint(i), LeadID: "l", Type: types[r.Intn(4)], Time: base.Add(time.Duration(r.Int63n(int64(40 * day)))).Truncate(time.Minute)})
		}
		leadkit.SortEvents(evs)
		st := m.NewState()
		for _, e := range evs {
			require.NoError(t, m.Apply(&st, e))
		}
		asOf := base.Add(time.Duration(40+r.Intn(30)) * day)
		want, err := m.Score(Input{Lead: leadkit.Lead{ID: "l"}, Events: evs, AsOf: asOf})
		require.NoError(t, err)
		var got Result
		require.NoError(t, m.ReadState(&got, &st, leadkit.Lead{ID: "l"}, asOf))
		assertSameScores(t, want, got, fmt.Sprintf("iter %d", iter))
		explainOf(t, m, want, "e")
		explainOf(t, m, got, "e")
		d, _ := want.Dimension("e")
		require.False(t, math.IsNaN(d.Score))
	}
}

func TestOpCompileErrors(t *testing.T) {
	for name, rules := range map[string][]BehaviorRule{
		"unknown op":            {{Name: "r", Op: "divide"}},
		"factor without op":     {{Name: "r", Points: 1, Factor: 2}},
		"negative factor":       {{Name: "r", Op: OpMultiply, Factor: -1}},
		"multiply with points":  {{Name: "r", Op: OpMultiply, Factor: 2, Points: 3}},
		"multiply over windows": {{Name: "w", Points: 1, Decay: &DecaySpec{Window: day}}, {Name: "r", Op: OpMultiply, Factor: 2}},
		"multiply over counts":  {{Name: "c", Points: 1, Count: &CountSpec{Min: 1}}, {Name: "r", Op: OpMultiply, Factor: 2}},
		"set with factor":       {{Name: "r", Op: OpSet, Factor: 2}},
	} {
		_, err := Compile(ModelSpec{Name: "m", Dimensions: []DimensionSpec{{Name: "d", Behavior: rules}}}, Options{})
		require.Error(t, err, name)
		assert.ErrorIs(t, err, leadkit.ErrInvalid, name)
	}
	// set without a count is a reset with the rule's points.
	m := opModel(t, nil,
		BehaviorRule{Name: "view", Types: []string{"page_view"}, Points: 5},
		BehaviorRule{Name: "bounce", Types: []string{"hard_bounce"}, Points: 2, Op: OpSet})
	at := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	res, err := m.Score(Input{Lead: leadkit.Lead{ID: "l"}, AsOf: at.Add(day), Events: []leadkit.Event{
		{ID: "1", LeadID: "l", Type: "page_view", Time: at}, {ID: "2", LeadID: "l", Type: "page_view", Time: at.Add(time.Hour)},
		{ID: "3", LeadID: "l", Type: "hard_bounce", Time: at.Add(2 * time.Hour)}, {ID: "4", LeadID: "l", Type: "page_view", Time: at.Add(3 * time.Hour)}}})
	require.NoError(t, err)
	d, _ := res.Dimension("e")
	assert.Equal(t, 7.0, d.Score, "set to 2 at the bounce, then a view")
}

// Repeated multiplies stay finite (a state could not be saved at +Inf,
// and a factor of 0 turned it into NaN), and a capped rule is halved
// from its cap.
func TestMultiplyBounded(t *testing.T) {
	m := opModel(t, nil,
		BehaviorRule{Name: "a", Types: []string{"download"}, Points: 1, Cap: 10},
		BehaviorRule{Name: "boost", Types: []string{"demo"}, Op: OpMultiply, Factor: 1e9},
		BehaviorRule{Name: "zero", Types: []string{"unsub"}, Op: OpMultiply, Factor: 0})
	evs := []leadkit.Event{evAt("d", "download", 0)}
	for i := range 40 {
		evs = append(evs, evAt(fmt.Sprint(i), "demo", time.Duration(i+1)*time.Minute))
	}
	st := m.NewState()
	for _, e := range evs {
		require.NoError(t, m.Apply(&st, e))
	}
	_, err := json.Marshal(st)
	require.NoError(t, err, "the state stays finite")
	evs = append(evs, evAt("u", "unsub", time.Hour))
	res, err := m.Score(Input{Lead: leadkit.Lead{ID: "l"}, Events: evs, AsOf: at0.Add(day)})
	require.NoError(t, err)
	assert.Zero(t, res.Dimensions[0].Score)

	half := opModel(t, nil,
		BehaviorRule{Name: "view", Types: []string{"v"}, Points: 10, Cap: 20},
		BehaviorRule{Name: "halve", Types: []string{"unsub"}, Op: OpMultiply, Factor: 0.5})
	evs = nil
	for i := range 10 {
		evs = append(evs, evAt(fmt.Sprint(i), "v", time.Duration(i)*time.Minute))
	}
	evs = append(evs, evAt("u", "unsub", time.Hour))
	res, err = half.Score(Input{Lead: leadkit.Lead{ID: "l"}, Events: evs, AsOf: at0.Add(day)})
	require.NoError(t, err)
	assert.Equal(t, 10.0, res.Dimensions[0].Score, "a capped 20 halved")
}

// A set rule's hit is what it changed: its points minus what the other
// rules give (which keep their hits), and on the lifetime score nothing
// when its lifetime count is out of range (the lifetime is then the
// other rules').
func TestSetRuleHitLifetime(t *testing.T) {
	max0 := 0
	m := opModel(t, nil,
		BehaviorRule{Name: "view", Types: []string{"v"}, Points: 10},
		BehaviorRule{Name: "quiet", Points: 5, Op: OpSet, Count: &CountSpec{Min: 0, Max: &max0, Window: 7 * day}})
	res, err := m.Score(Input{Lead: leadkit.Lead{ID: "l"}, Events: []leadkit.Event{evAt("1", "v", 0)}, AsOf: at0.Add(30 * day)})
	require.NoError(t, err)
	require.Len(t, res.Hits, 2)
	assert.Equal(t, Hit{Dimension: "e", Rule: "view", Kind: KindBehavior, Points: 10, Lifetime: 10, Count: 1}, res.Hits[0])
	assert.Equal(t, Hit{Dimension: "e", Rule: "quiet", Kind: KindBehavior, Points: -5, Lifetime: 0, Count: 1}, res.Hits[1])
	assert.Equal(t, 5.0, res.Dimensions[0].Score)
	assert.Equal(t, 10.0, res.Dimensions[0].Lifetime, "the lifetime count (1) is out of the set rule's range: the view's lifetime stands")
}
