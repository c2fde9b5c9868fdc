package scoring

import (
	"fmt"
	"math/rand"
	"testing"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A rolling limit ({max: M, every: E}) counts an occurrence when fewer
// than M counted ones fall in the E before it, checked against counting
// by hand.
func TestRollingLimitByBruteForce(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	base := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	for iter := range 400 {
		maxN, every := 1+r.Intn(3), time.Duration(1+r.Intn(96))*time.Hour
		m := mustCompile(t, ModelSpec{Name: "m", Dimensions: []DimensionSpec{{Name: "d", Behavior: []BehaviorRule{
			{Name: "r", Types: []string{"page_view"}, Points: 1, Limit: &LimitSpec{Max: maxN, Every: every}}}}}})
		var evs []leadkit.Event
		for i := range r.Intn(30) {
			evs = append(evs, leadkit.Event{ID: string(rune('a' + i)), LeadID: "l", Type: "page_view", Time: base.Add(time.Duration(r.Int63n(int64(20 * day)))).Truncate(time.Minute)})
		}
		leadkit.SortEvents(evs)
		var counted []time.Time
		for _, e := range evs {
			n := 0
			for _, c := range counted {
				if e.Time.Sub(c) < every {
					n++
				}
			}
			if n < maxN {
				counted = append(counted, e.Time)
			}
		}
		res, err := m.Score(Input{Lead: leadkit.Lead{ID: "l"}, Events: evs, AsOf: base.Add(30 * day)})
		require.NoError(t, err)
		d, _ := res.Dimension("d")
		assert.Equal(t, float64(len(counted)), d.Score, "iter %d: max %d every %s", iter, maxN, every)
	}
}

// Calendar periods count in the model's time zone: two page views at
// 03:00 and 06:00 UTC are one day in UTC, two in New York (22:00 and
// 01:00), and the day boundary follows daylight saving time.
func TestLimitPeriodsInTimeZone(t *testing.T) {
	spec := func(tz string) *Model {
		return mustCompile(t, ModelSpec{Name: "m", TimeZone: tz, Dimensions: []DimensionSpec{{Name: "d", Behavior: []BehaviorRule{
			{Name: "daily", Types: []string{"page_view"}, Points: 1, Limit: &LimitSpec{Max: 1, Per: PerDay}}}}}})
	}
	score := func(m *Model, times ...time.Time) float64 {
		var evs []leadkit.Event
		for i, at := range times {
			evs = append(evs, leadkit.Event{ID: string(rune('a' + i)), LeadID: "l", Type: "page_view", Time: at})
		}
		res, err := m.Score(Input{Lead: leadkit.Lead{ID: "l"}, Events: evs, AsOf: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
		require.NoError(t, err)
		d, _ := res.Dimension("d")
		return d.Score
	}
	a, b := time.Date(2025, 3, 2, 3, 0, 0, 0, time.UTC), time.Date(2025, 3, 2, 6, 0, 0, 0, time.UTC)
	assert.Equal(t, 1.0, score(spec(""), a, b))
	assert.Equal(t, 1.0, score(spec("UTC"), a, b))
	assert.Equal(t, 2.0, score(spec("America/New_York"), a, b))
	// Berlin after the switch to summer time (30 March 2025, UTC+2):
	// 22:30 UTC is 00:30 the next day; before it (UTC+1), 22:30 UTC is
	// 23:30 the same day.
	berlin := spec("Europe/Berlin")
	assert.Equal(t, 2.0, score(berlin, time.Date(2025, 4, 1, 21, 0, 0, 0, time.UTC), time.Date(2025, 4, 1, 22, 30, 0, 0, time.UTC)))
	assert.Equal(t, 1.0, score(berlin, time.Date(2025, 3, 1, 21, 0, 0, 0, time.UTC), time.Date(2025, 3, 1, 22, 30, 0, 0, time.UTC)))
	// The host's zone changes nothing.
	saved := time.Local
	defer func() { time.Local = saved }()
	time.Local = time.FixedZone("X", 11*3600)
	assert.Equal(t, 1.0, score(spec(""), a, b))
	assert.Equal(t, 2.0, score(spec("America/New_York"), a, b))
}

func TestLimitCompileErrors(t *testing.T) {
	for name, c := range map[string]struct {
		tz    string
		limit LimitSpec
		want  string
	}{
		"bad zone":      {tz: "Mars/Olympus", limit: LimitSpec{Max: 1, Per: PerDay}, want: "IANA time zone"},
		"local zone":    {tz: "Local", limit: LimitSpec{Max: 1, Per: PerDay}, want: "IANA time zone"},
		"per and every": {limit: LimitSpec{Max: 1, Per: PerDay, Every: day}, want: "not both"},
		"every < 0":     {limit: LimitSpec{Max: 1, Every: -day}, want: "every must be positive"},
		"rolling max":   {limit: LimitSpec{Max: MaxRollingLimit + 1, Every: day}, want: "rolling limit counts at most"},
	} {
		l := c.limit
		_, err := Compile(ModelSpec{Name: "m", TimeZone: c.tz, Dimensions: []DimensionSpec{{Name: "d", Behavior: []BehaviorRule{{Name: "r", Points: 1, Limit: &l}}}}}, Options{})
		require.Error(t, err, name)
		assert.ErrorIs(t, err, leadkit.ErrInvalid, name)
		assert.Contains(t, err.Error(), c.want, name)
	}
	s, err := ParseModel([]byte("name: m\ntime_zone: Europe/Berlin\ndimensions:\n  - name: d\n    behavior:\n      - {name: r, points: 1, limit: {max: 1, every: 7d}}\n"))
	require.NoError(t, err)
	assert.Equal(t, 7*day, s.Dimensions[0].Behavior[0].Limit.Every)
	assert.Equal(t, "Europe/Berlin", s.TimeZone)
	_, err = ParseModel([]byte("name: m\ndimensions:\n  - name: d\n    behavior:\n      - {name: r, points: 1, limit: {max: 1, every: 7}}\n"))
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
}

// A rolling limit keeps its recent times without allocating per event.
func TestRollingLimitAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under the race detector: allocations are counted without it")
	}
	m := mustCompile(t, ModelSpec{Name: "m", Dimensions: []DimensionSpec{{Name: "d", Behavior: []BehaviorRule{
		{Name: "c", Types: []string{"c"}, Points: 5, Limit: &LimitSpec{Max: 1, Every: time.Hour}}}}}})
	st := m.NewState()
	evs := make([]leadkit.Event, 400)
	for i := range evs {
		evs[i] = leadkit.Event{ID: fmt.Sprint(i), LeadID: "l", Type: "c", Time: at0.Add(time.Duration(i) * 2 * time.Hour)}
	}
	for _, e := range evs[:100] {
		require.NoError(t, m.Apply(&st, e))
	}
	i := 100
	allocs := testing.AllocsPerRun(200, func() {
		if err := m.Apply(&st, evs[i]); err != nil {
			panic(err)
		}
		i++
	})
	assert.Zero(t, allocs)
	assert.Len(t, st.Rules[0].Recent, 1)
}
