package scoring

import (
	"encoding/json"
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

// randomModel draws a model exercising every behavior feature: decays,
// limits, caps, bonuses, recency, resets, predicates and occurrence counts.
func randomModel(r *rand.Rand) ModelSpec {
	types := []string{"page_view", "download", "email_clicked", "meeting", "unsubscribed"}
	pick := func() []string {
		var out []string
		for _, t := range types {
			if r.Intn(3) == 0 {
				out = append(out, t)
			}
		}
		return out
	}
	decays := []*DecaySpec{
		nil, {}, {Window: time.Duration(1+r.Intn(60)) * day}, {HalfLife: time.Duration(1+r.Intn(40)) * day},
		{Steps: []DecayStep{{AfterMonths: 1, KeepPercent: 50}, {AfterMonths: 2, KeepPercent: float64(r.Intn(2) * 25)}}},
	}
	pers := []Period{PerEver, PerDay, PerWeek, PerMonth}
	dims := []DimensionSpec{
		{Name: "engagement", Decay: decays[r.Intn(len(decays))], Max: f64(200)},
		{Name: "interest:x"},
	}
	for d := range dims {
		for i := 0; i < 2+r.Intn(5); i++ {
			br := BehaviorRule{Name: fmt.Sprintf("r%d", i), Types: pick(), Points: float64(r.Intn(21) - 5)}
			if r.Intn(3) == 0 {
				br.FirstBonus = float64(r.Intn(10))
			}
			if r.Intn(3) == 0 {
				br.Cap = float64(1 + r.Intn(30))
			}
			if r.Intn(3) == 0 {
				br.Limit = &LimitSpec{Max: 1 + r.Intn(3), Per: pers[r.Intn(len(pers))]}
				if r.Intn(3) == 0 {
					br.Limit.Per, br.Limit.Every = "", time.Duration(1+r.Intn(10*24))*time.Hour
				}
			}
			if r.Intn(2) == 0 {
				br.Decay = decays[r.Intn(len(decays))]
			}
			if r.Intn(4) == 0 {
				br.Recency = &RecencySpec{Within: time.Duration(1+r.Intn(10)) * day, Points: float64(r.Intn(5))}
			}
			if r.Intn(4) == 0 {
				br.When = []string{`event.channel == "email"`, `event.content startsWith "/pricing"`, `event.amount > 200`}[r.Intn(3)]
			}
			if r.Intn(12) == 0 {
				br.Reset, br.Limit = true, nil // a reset takes no limit
			}
			if r.Intn(6) == 0 {
				// Points from the event, with no decay or a half-life.
				dec := br.Decay
				if dec == nil {
					dec = dims[d].Decay
				}
				if dec == nil || (dec.Window == 0 && len(dec.Steps) == 0) {
					br.PointsExpr, br.Points = `event.amount / 20 - 3`, 0
				}
			}
			if r.Intn(5) == 0 {
				// Active dates around the events' times.
				a := &ActiveSpec{}
				if r.Intn(2) == 0 {
					a.From = time.Date(2025, 1, 1+r.Intn(60), 0, 0, 0, 0, time.UTC)
				}
				if r.Intn(2) == 0 {
					a.To = time.Date(2025, 3, 1+r.Intn(60), 0, 0, 0, 0, time.UTC)
				}
				if a.From.IsZero() || a.To.IsZero() || a.From.Before(a.To) {
					br.Active = a
				}
			}
			if r.Intn(5) == 0 {
				// An occurrence threshold or range, in a window or ever.
				cs := &CountSpec{Min: r.Intn(4)}
				if r.Intn(2) == 0 {
					hi := cs.Min + r.Intn(3)
					cs.Max = &hi
				}
				if r.Intn(3) > 0 {
					cs.Window = time.Duration(1+r.Intn(60)) * day
				}
				br.Count, br.Decay, br.Recency, br.FirstBonus = cs, nil, nil, 0
				if br.PointsExpr != "" {
					br.PointsExpr, br.Points = "", 5
				}
			}
			dims[d].Behavior = append(dims[d].Behavior, br)
		}
		// Often a reset rule on the type of another rule of the
		// dimension, at a random position: order must not matter.
		if r.Intn(2) == 0 {
			rules := dims[d].Behavior
			typ := types[r.Intn(len(types))]
			rules[r.Intn(len(rules))].Types = []string{typ}
			rs := BehaviorRule{Name: "reset", Types: []string{typ}, Points: float64(r.Intn(5) - 2), Reset: true}
			k := r.Intn(len(rules) + 1)
			dims[d].Behavior = append(rules[:k], append([]BehaviorRule{rs}, rules[k:]...)...)
		}
	}
	dims = append(dims, DimensionSpec{Name: "total", Expr: `engagement * 0.5 + $env["interest:x"]`})
	zones := []string{"", "", "America/New_York", "Asia/Kolkata", "Europe/Berlin"}
	return ModelSpec{Name: "random", Fields: []leadkit.FieldSpec{{Name: "event.amount", Type: leadkit.TypeNumber}}, Dimensions: dims, TimeZone: zones[r.Intn(len(zones))]}
}

func assertSameScores(t *testing.T, want, got Result, msg string) {
	t.Helper()
	require.Equal(t, len(want.Dimensions), len(got.Dimensions), msg)
	for i, w := range want.Dimensions {
		g := got.Dimensions[i]
		tol := 1e-9 * math.Max(1, math.Abs(w.Score))
		require.InDelta(t, w.Score, g.Score, tol, "%s: %s fresh", msg, w.Name)
		require.InDelta(t, w.Lifetime, g.Lifetime, 1e-9*math.Max(1, math.Abs(w.Lifetime)), "%s: %s lifetime", msg, w.Name)
		require.InDelta(t, w.Raw, g.Raw, 1e-9*math.Max(1, math.Abs(w.Raw)), "%s: %s raw", msg, w.Name)
	}
	require.Equal(t, len(want.Hits), len(got.Hits), msg)
	for i := range want.Hits {
		require.Equal(t, want.Hits[i].Rule, got.Hits[i].Rule, msg)
		require.Equal(t, want.Hits[i].Count, got.Hits[i].Count, msg)
	}
}

// TestIncrementalEqualsFullRescore is the property test of the incremental
// path: for random models and random event streams, building a state from a
// prefix, applying the rest one event at a time (through a JSON round trip
// of the state) and reading it at several times equals a full rescore.
func TestIncrementalEqualsFullRescore(t *testing.T) {
	r := rand.New(rand.NewSource(42))
	// Profiles and event streams from sim (about 100 touches per lead, so
	// that every count up to 80 is available), moved to the base time.
	sims := simInputs(benchSim(t, 400, 42, 100), 200)
	// Ordinary times, and the edges of the accepted range (1900 to 2149),
	// where decay differences span 250 years.
	bases := []time.Time{time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(1900, 9, 1, 0, 0, 0, 0, time.UTC), time.Date(2149, 11, 1, 0, 0, 0, 0, time.UTC)}
	for iter := 0; iter < 200; iter++ {
		base := bases[0]
		if iter%4 == 3 {
			base = bases[1+iter/4%2]
		}
		m := mustCompile(t, randomModel(r))
		lead := sims[iter].Lead
		n := min(r.Intn(80), len(sims[iter].Events))
		evs := retime(sims[iter].Events[:n], base, time.Duration(1+r.Intn(200))*day)
		// An amount on a quarter of the events, for event.amount rules.
		for i := range evs {
			if r.Intn(4) == 0 {
				evs[i].Attrs = map[string]any{"amount": float64(r.Intn(500))}
			}
		}
		// Some same-instant events.
		for i := 1; i < len(evs); i++ {
			if r.Intn(8) == 0 {
				evs[i].Time = evs[i-1].Time
			}
		}
		if base.Year() == 1900 && len(evs) > 0 {
			// An occurrence in 1900 read in 2149.
			evs[0].Time = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)
		}
		asOf := base.Add(time.Duration(r.Int63n(int64(40 * day))))
		msg := fmt.Sprintf("iter %d", iter)

		k := 0
		if n > 0 {
			k = r.Intn(n + 1)
		}
		st, err := m.StateOf(Input{Lead: lead, Events: evs[:k], AsOf: base})
		require.NoError(t, err, msg)
		for i := k; i < len(evs); i++ {
			if i%10 == 0 {
				b, err := json.Marshal(st)
				require.NoError(t, err)
				st = State{}
				require.NoError(t, json.Unmarshal(b, &st))
			}
			require.NoError(t, m.Apply(&st, evs[i]), msg)
		}
		reads := []time.Time{base, asOf, asOf.Add(45 * day), asOf.Add(400 * day), time.Date(2149, 12, 31, 0, 0, 0, 0, time.UTC)}
		for _, at := range reads {
			if len(evs) > 0 && at.Before(evs[len(evs)-1].Time) || !validTime(at) {
				continue
			}
			want, err := m.Score(Input{Lead: lead, Events: evs, AsOf: at})
			require.NoError(t, err, msg)
			var got Result
			require.NoError(t, m.ReadState(&got, &st, lead, at), msg)
			assertSameScores(t, want, got, fmt.Sprintf("%s at %s", msg, at))
		}
	}
}

// retime returns a copy of evs (in time order) moved and stretched to
// span the time before base: the first at base-span, the last at base, the
// gaps in proportion, to the second. sim's runs cannot reach the edges of
// the time range (a run needs a year of valid time after its end).
func retime(evs []leadkit.Event, base time.Time, span time.Duration) []leadkit.Event {
	out := slices.Clone(evs)
	if len(out) == 0 {
		return out
	}
	t0, t1 := out[0].Time, out[len(out)-1].Time
	for i := range out {
		f := 1.0
		if t1.After(t0) {
			f = float64(out[i].Time.Sub(t0)) / float64(t1.Sub(t0))
		}
		out[i].Time = base.Add(-span + time.Duration(f*float64(span))).Truncate(time.Second)
	}
	return out
}

func TestStateErrors(t *testing.T) {
	m := mustCompile(t, behSpec(BehaviorRule{Name: "r", Points: 1}))
	st := m.NewState()
	require.NoError(t, m.Apply(&st, ev("x", day)))
	before := fmt.Sprint(st)
	err := m.Apply(&st, ev("x", 2*day))
	require.ErrorIs(t, err, ErrOutOfOrder)
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.Equal(t, before, fmt.Sprint(st), "state unchanged")
	var res Result
	require.ErrorIs(t, m.ReadState(&res, &st, leadkit.Lead{ID: "l1"}, asOf0.Add(-3*day)), ErrOutOfOrder)

	other := mustCompile(t, behSpec(BehaviorRule{Name: "r", Points: 2}))
	require.ErrorIs(t, other.Apply(&st, ev("x", 0)), leadkit.ErrInvalid)
	require.Error(t, other.ReadState(&res, &st, leadkit.Lead{ID: "l1"}, asOf0))

	// A predicate failing at run time leaves the state unchanged.
	m = mustCompile(t, ModelSpec{Name: "p", Fields: []leadkit.FieldSpec{{Name: "event.n", Type: leadkit.TypeNumber}},
		Dimensions: []DimensionSpec{{Name: "e", Behavior: []BehaviorRule{{Name: "r", When: "event.n > 1", Points: 1}}}}})
	st = m.NewState()
	bad := ev("x", 0)
	bad.Attrs = map[string]any{"n": "two"}
	err = m.Apply(&st, bad)
	var re *RuleError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, "r", re.Rule)
	assert.Equal(t, m.NewState(), st)
}

func TestIncrementalZeroAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	m := benchModel(t)
	l := benchLead(t, 1)
	st := m.NewState()
	for i := 0; i < 500; i++ {
		require.NoError(t, m.Apply(&st, leadkit.Event{Type: benchEventTypes[i%len(benchEventTypes)], Time: benchAsOf.Add(time.Duration(i) * time.Hour)}))
	}
	i := 500
	var res Result
	allocs := testing.AllocsPerRun(100, func() {
		e := leadkit.Event{Type: leadkit.EventMeeting, Time: benchAsOf.Add(time.Duration(i) * time.Hour)}
		_ = m.Apply(&st, e)
		_ = m.ReadState(&res, &st, l, e.Time)
		i++
	})
	assert.Zero(t, allocs)
}

// Clone keeps a snapshot that later Apply calls do not touch.
func TestStateClone(t *testing.T) {
	m := mustCompile(t, ModelSpec{Name: "w", Dimensions: []DimensionSpec{{Name: "e", Decay: &DecaySpec{Window: 1 * day},
		Behavior: []BehaviorRule{{Name: "r", Types: []string{"x"}, Points: 1}}}}})
	st := m.NewState()
	for i := 0; i < 4; i++ {
		require.NoError(t, m.Apply(&st, leadkit.Event{Type: "x", Time: asOf0.Add(time.Duration(i) * time.Hour)}))
	}
	saved := st.Clone()
	require.NoError(t, m.Apply(&st, leadkit.Event{Type: "x", Time: asOf0.Add(3 * day)}))
	var r Result
	require.NoError(t, m.ReadState(&r, &saved, leadkit.Lead{ID: "l1"}, asOf0.Add(4*time.Hour)))
	assert.Equal(t, 4.0, r.Dimensions[0].Score) // the four events within the day
	require.NoError(t, m.ReadState(&r, &st, leadkit.Lead{ID: "l1"}, asOf0.Add(3*day)))
	assert.Equal(t, 1.0, r.Dimensions[0].Score)
}
