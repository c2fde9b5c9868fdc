package journey

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/stage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// roundTrip marshals v, unmarshals it into a new value of its type and
// requires the two to be equal; it returns the JSON.
func roundTrip[T any](t *testing.T, v T) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	var back T
	require.NoError(t, json.Unmarshal(b, &back), "%s", b)
	require.Equal(t, v, back, "%s", b)
	return string(b)
}

// Every result type is data: snake_case keys, durations as text in the
// duration grammar, zero times omitted, and it round-trips through JSON.
func TestResultsJSONRoundTrip(t *testing.T) {
	spec := FunnelSpec{Steps: steps("a", "b", "c"), Window: 14 * 24 * time.Hour}
	fr, err := Funnel(spec, []Timeline{
		tl("l1", "a@0", "b@1.5", "c@3"),
		tl("l2", "a@0", "b@2"),
		tl("l3", "a@0", "b@0.25", "c@4"),
		tl("l4", "b@0"),
	})
	require.NoError(t, err)
	require.Equal(t, []int{3, 3, 2}, counts(fr))
	js := roundTrip(t, fr)
	assert.Contains(t, js, `"window":"2w"`)
	assert.Contains(t, js, `"order":"ordered"`)
	assert.Contains(t, js, `"median_time":"1d12h"`, "step b: 1.5d, 2d and 0.25d")
	assert.Contains(t, js, `"time_to_convert":{"n":2,"mean":"3d12h","median":"3d12h"`)
	roundTrip(t, FunnelResult{}) // an empty result too

	st := roundTrip(t, Summarize([]time.Duration{90 * time.Minute, 3 * time.Hour, 1500 * time.Millisecond, 7}, 2))
	assert.Contains(t, st, `"min":"7ns"`)
	assert.Contains(t, st, `"histogram":[{"from":"7ns","to":"1h30m`)
	roundTrip(t, DurationStats{})

	roundTrip(t, []Pattern{{Items: []string{"web", "email"}, Support: 3}, {Items: []string{}, Support: 1}})
	golden, err := GoldenPaths([][]string{{"web", "email"}, {"web"}}, [][]string{{"email"}}, PatternOptions{})
	require.NoError(t, err)
	require.NotEmpty(t, golden)
	roundTrip(t, golden)

	tls := []Timeline{tl("l1", "web@0", "email@1", "web@2"), tl("l2", "call@0")}
	tc := CountTouches(tls[0], time.Time{})
	js = roundTrip(t, tc)
	assert.Contains(t, js, `"by_type":{"email":1,"web":2}`)
	empty := roundTrip(t, CountTouches(Timeline{LeadID: "none"}, time.Time{}))
	assert.NotContains(t, empty, `"first"`, "no touches: no first touch, not a year-1 one")
	assert.NotContains(t, empty, `"time"`)
	js = roundTrip(t, Touch{EventID: "e1", Type: "web"})
	assert.JSONEq(t, `{"event_id":"e1","type":"web"}`, js, "a zero time is omitted")

	mix, err := TouchMix(tls, []stage.Visit{{LeadID: "l1", Stage: "MQL", At: day(1)}, {LeadID: "l2", Stage: "MQL", At: day(0)}}, "MQL")
	require.NoError(t, err)
	require.Len(t, mix.Types, 3)
	roundTrip(t, mix)
}

// Result structs carry every duration as leadkit.Duration, so that their
// JSON is text; a time.Duration field would write nanoseconds.
func TestResultsHaveNoRawDurations(t *testing.T) {
	for _, v := range []any{FunnelResult{}, StepResult{}, DurationStats{}, Bin{}, PathCount{}, Transition{},
		Pattern{}, GoldenPath{}, Touch{}, TouchCounts{}, TypeShare{}, TouchMixResult{},
		CycleResult{}, CycleCohort{}, SourceAgeResult{}, AgeBucket{}, ContentPower{},
		SourceChannel{}, ContentPhasesResult{}, ContentPhase{}, PhaseUse{}, OldLeadNurtureResult{}, NurtureComparison{}, NurtureUse{}} {
		typ := reflect.TypeOf(v)
		for i := range typ.NumField() {
			f := typ.Field(i)
			assert.NotEqual(t, reflect.TypeFor[time.Duration](), f.Type, "%s.%s", typ.Name(), f.Name)
			assert.Regexp(t, `^[a-z0-9_]+(,omitempty|,omitzero)?$`, f.Tag.Get("json"), "%s.%s", typ.Name(), f.Name)
			if f.Type == reflect.TypeFor[time.Time]() {
				assert.Contains(t, f.Tag.Get("json"), ",omitzero", "%s.%s", typ.Name(), f.Name)
			}
		}
	}
}

// The stage analyses' results round-trip too.
func TestStageAnalysisResultsRoundTrip(t *testing.T) {
	tls := []Timeline{tl("a", "web@0", "form@2"), tl("b", "web@1")}
	entries := []stage.Visit{{LeadID: "a", Stage: "MQL", At: day(3)}, {LeadID: "b", Stage: "MQL", At: day(40)}}
	cyc, err := CycleTimes(tls, entries, "MQL", CycleOptions{Cohort: leadkit.PeriodMonth})
	require.NoError(t, err)
	js := roundTrip(t, cyc)
	assert.Contains(t, js, `"mean":"`)
	sa, err := SourceAge(tls, entries, map[string]time.Time{"a": day(0), "b": day(-400)}, "MQL", SourceAgeOptions{From: day(0)})
	require.NoError(t, err)
	js = roundTrip(t, sa)
	assert.NotContains(t, js, `"to":"0001`, "an open period has no end in JSON")
	assert.Contains(t, js, `"from":"30d"`)
	np, err := NurturePower(tls, entries, "MQL", NurtureOptions{})
	require.NoError(t, err)
	roundTrip(t, np)
}

// Every accumulator refuses to merge nil or itself (a self-merge doubled
// the counts) and stays as it was.
func TestMergeRefusesNilAndSelf(t *testing.T) {
	f, err := NewFunnelAccumulator(FunnelSpec{Steps: []Step{{Name: "a", Types: []string{"web"}}, {Name: "b", Types: []string{"form"}}}})
	require.NoError(t, err)
	require.NoError(t, f.Add(tl("l1", "web@0", "form@1")))
	before := f.Result()
	for _, err := range []error{f.Merge(nil), f.Merge(f)} {
		assert.ErrorIs(t, err, leadkit.ErrInvalid)
	}
	assert.Equal(t, before, f.Result())

	p, err := NewPathAccumulator(PathOptions{})
	require.NoError(t, err)
	require.NoError(t, p.Add([]string{"web", "form"}))
	pb := p.Result()
	for _, err := range []error{p.Merge(nil), p.Merge(p)} {
		assert.ErrorIs(t, err, leadkit.ErrInvalid)
	}
	assert.Equal(t, pb, p.Result())

	g, err := NewPatternAccumulator(PatternOptions{MinSupport: 1})
	require.NoError(t, err)
	require.NoError(t, g.Add([]string{"web", "form"}))
	gb, err := g.Result()
	require.NoError(t, err)
	for _, err := range []error{g.Merge(nil), g.Merge(g)} {
		assert.ErrorIs(t, err, leadkit.ErrInvalid)
	}
	ga, err := g.Result()
	require.NoError(t, err)
	assert.Equal(t, gb, ga)
}
