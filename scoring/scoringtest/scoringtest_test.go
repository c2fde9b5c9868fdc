package scoringtest_test

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/scoring"
	"github.com/leadkit/leadkit/scoring/scoringtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const model = `
name: demo
dimensions:
  - name: fit
    bands: [{name: A, min: 20}, {name: B}]
    fit:
      - {name: senior, when: 'person.seniority in ["vp", "c_level"]', points: 20}
  - name: engagement
    decay: {window: 30d}
    bands: [{name: "1", min: 15}, {name: "2"}]
    behavior:
      - {name: download, types: [download], points: 8}
thresholds:
  - {name: mql, dimension: engagement, value: 15}
matrix: {rows: fit, columns: engagement}
`

func compile(t testing.TB) *scoring.Model {
	spec, err := scoring.ParseModel([]byte(model))
	require.NoError(t, err)
	m, err := scoring.Compile(spec, scoring.Options{})
	require.NoError(t, err)
	return m
}

var asOf = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)

type recorder struct{ errs []string }

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func TestRunReportsEveryMismatch(t *testing.T) {
	m := compile(t)
	// A vp with two downloads, one 40 days ago (outside the window):
	// fit 20 (A), engagement 8 (2), cell A2, lifetime 16.
	c := scoringtest.Case{
		Name:   "vp",
		Lead:   leadkit.Lead{Person: leadkit.Person{Seniority: "vp"}},
		Events: scoringtest.Events(asOf, "download@-40d", "download@-1d"),
		AsOf:   asOf,
		Scores: map[string]float64{"fit": 20, "engagement": 8}, Lifetime: map[string]float64{"engagement": 16},
		Bands: map[string]string{"fit": "A", "engagement": "2"}, Cell: "A2",
		NotReached: []string{"mql"}, Fired: []string{"fit/senior", "download"},
	}
	var r recorder
	scoringtest.Run(&r, m, c)
	assert.Empty(t, r.errs)

	// The same case with wrong expectations reports each of them.
	c.Scores = map[string]float64{"fit": 10, "nope": 1}
	c.Cell = "B1"
	c.Reached, c.NotReached = []string{"mql"}, nil
	c.NotFired = []string{"senior"}
	r = recorder{}
	scoringtest.Run(&r, m, c)
	assert.Equal(t, []string{
		`vp: dimension "fit": score 20, want 10`,
		`vp: dimension "nope": not in the model`,
		`vp: cell "A2", want "B1"`,
		`vp: threshold "mql" not reached`,
		`vp: rule "senior" fired`,
	}, r.errs)
}

func TestEvents(t *testing.T) {
	evs := scoringtest.Events(asOf, "a", "b@-1.5d", "c@90m")
	require.Len(t, evs, 3)
	assert.Equal(t, asOf, evs[0].Time)
	assert.Equal(t, asOf.Add(-36*time.Hour), evs[1].Time)
	assert.Equal(t, asOf.Add(90*time.Minute), evs[2].Time)
	assert.Equal(t, "b", evs[1].Type)
	assert.Panics(t, func() { scoringtest.Events(asOf, "a@soon") })
}

// Example shows a model's table test: Check lists what does not hold.
func Example() {
	spec, _ := scoring.ParseModel([]byte(model))
	m, _ := scoring.Compile(spec, scoring.Options{})
	problems := scoringtest.Check(m, scoringtest.Case{
		Lead:    leadkit.Lead{Person: leadkit.Person{Seniority: "c_level"}},
		Events:  scoringtest.Events(asOf, "download@-3d", "download@-2d"),
		AsOf:    asOf,
		Scores:  map[string]float64{"fit": 20, "engagement": 16},
		Cell:    "A1",
		Reached: []string{"mql"},
		Fired:   []string{"engagement/download"},
	})
	fmt.Println("problems:", len(problems))
	// Output: problems: 0
}

// Events built by separate calls are separate events: combined, they all
// count (the second call's used to reuse the first's IDs and be dropped
// as redeliveries).
func TestEventsFromSeparateCallsAllCount(t *testing.T) {
	m := compile(t)
	evs := append(scoringtest.Events(asOf, "download@-1d"), scoringtest.Events(asOf, "download@-2d")...)
	assert.Empty(t, scoringtest.Check(m, scoringtest.Case{Events: evs, AsOf: asOf, Scores: map[string]float64{"engagement": 16}}))
	// Hand-built events that share an ID are reported, not silently dropped.
	dup := []leadkit.Event{{ID: "x", Type: "download", Time: asOf.Add(-time.Hour)}, {ID: "x", Type: "download", Time: asOf.Add(-2 * time.Hour)}}
	got := scoringtest.Check(m, scoringtest.Case{Events: dup, AsOf: asOf})
	require.Len(t, got, 1)
	assert.Contains(t, got[0], `event ID "x" is given to 2 events`)
}

// Names the model does not have are reported wherever a case names them,
// so a negative check with a typo cannot pass silently.
func TestUnknownNamesReported(t *testing.T) {
	m := compile(t)
	got := scoringtest.Check(m, scoringtest.Case{AsOf: asOf,
		Reached: []string{"sql"}, NotReached: []string{"MQL"}, Fired: []string{"engagement/downlod"}, NotFired: []string{"senoir"},
		Bands: map[string]string{"fitt": "A"}})
	assert.ElementsMatch(t, []string{
		`threshold "sql": not in the model (thresholds: mql)`,
		`threshold "MQL": not in the model (thresholds: mql)`,
		`rule "engagement/downlod": not in the model (rules: fit/senior, engagement/download)`,
		`rule "senoir": not in the model (rules: fit/senior, engagement/download)`,
		`dimension "fitt": not in the model`,
	}, got)
}

// Offsets use the library's one duration grammar: weeks and compound
// units as in model specs.
func TestEventsOffsetsUseTheDurationGrammar(t *testing.T) {
	evs := scoringtest.Events(asOf, "download@-2w", "download@-1d12h", "meeting@-90m", "download@+1d")
	require.Len(t, evs, 4)
	assert.Equal(t, asOf.Add(-14*24*time.Hour), evs[0].Time)
	assert.Equal(t, asOf.Add(-36*time.Hour), evs[1].Time)
	assert.Equal(t, asOf.Add(-90*time.Minute), evs[2].Time)
	assert.Equal(t, asOf.Add(24*time.Hour), evs[3].Time)
	assert.Panics(t, func() { scoringtest.Events(asOf, "download@-3") }, "a bare number has no unit")
}

// Expectations a score could never fail are refused: NaN scores and
// tolerances, infinite or negative tolerances, and rule names that match
// no hit (the part after a slash inside a rule's own name).
func TestExpectationsThatCannotFail(t *testing.T) {
	m := compile(t)
	vp := leadkit.Lead{Person: leadkit.Person{Seniority: "vp"}}
	for name, c := range map[string]scoringtest.Case{
		"score NaN":          {Lead: vp, AsOf: asOf, Scores: map[string]float64{"fit": math.NaN()}},
		"lifetime NaN":       {Lead: vp, AsOf: asOf, Lifetime: map[string]float64{"fit": math.NaN()}},
		"score Inf":          {Lead: vp, AsOf: asOf, Scores: map[string]float64{"fit": math.Inf(1)}},
		"tolerance NaN":      {Lead: vp, AsOf: asOf, Scores: map[string]float64{"fit": 999}, Tolerance: math.NaN()},
		"tolerance Inf":      {Lead: vp, AsOf: asOf, Scores: map[string]float64{"fit": 999}, Tolerance: math.Inf(1)},
		"tolerance negative": {Lead: vp, AsOf: asOf, Scores: map[string]float64{"fit": 20}, Tolerance: -1},
	} {
		assert.NotEmpty(t, scoringtest.Check(m, c), name)
	}
	// The same case with a finite expectation passes.
	assert.Empty(t, scoringtest.Check(m, scoringtest.Case{Lead: vp, AsOf: asOf, Scores: map[string]float64{"fit": 20}, Tolerance: 0.5}))

	spec, err := scoring.ParseModel([]byte("name: slash\ndimensions:\n  - name: a\n    fit:\n      - {name: b/c, when: 'true', points: 1}\n"))
	require.NoError(t, err)
	slash, err := scoring.Compile(spec, scoring.Options{})
	require.NoError(t, err)
	got := scoringtest.Check(slash, scoringtest.Case{AsOf: asOf, NotFired: []string{"c"}})
	require.Len(t, got, 1)
	assert.Contains(t, got[0], `rule "c": not in the model (rules: a/b/c)`)
	assert.Empty(t, scoringtest.Check(slash, scoringtest.Case{AsOf: asOf, Fired: []string{"b/c"}}))
	assert.Empty(t, scoringtest.Check(slash, scoringtest.Case{AsOf: asOf, Fired: []string{"a/b/c"}}))
}
