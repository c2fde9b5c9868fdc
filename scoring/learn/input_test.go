package learn_test

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/scoring"
	"github.com/leadkit/leadkit/scoring/learn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// smallOpts fits the history examples on their planted features.
func smallOpts() learn.Options {
	return learn.Options{
		Fields:  []string{"person.seniority", "company.employees"},
		Signals: []learn.Signal{{Name: "webinar", Types: []string{leadkit.EventWebinarAttended}}},
		Windows: []time.Duration{0},
		Seed:    1,
	}
}

// requireClean checks what every Result promises: every number finite
// (JSON encodes), integer points, a spec that compiles.
func requireClean(t testing.TB, res learn.Result) {
	t.Helper()
	_, err := json.Marshal(res)
	require.NoError(t, err, "a Result with a NaN or infinity does not encode")
	_, err = scoring.Compile(res.Spec, scoring.Options{})
	require.NoError(t, err)
	for _, d := range res.Spec.Dimensions {
		for _, r := range d.Fit {
			require.Equal(t, math.Round(r.Points), r.Points, r.Name)
		}
		for _, r := range d.Behavior {
			require.Equal(t, math.Round(r.Points), r.Points, r.Name)
		}
	}
	assert.Empty(t, warningsOf(res, learn.WarnMismatch))
}

func TestTooFewExamples(t *testing.T) {
	_, err := learn.Fit(history(19, 1), smallOpts())
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.ErrorContains(t, err, "19 examples, at least 20 are needed")
}

func TestOneOutcome(t *testing.T) {
	for _, conv := range []bool{false, true} {
		ex := history(100, 1)
		for i := range ex {
			ex[i].Converted = conv
		}
		_, err := learn.Fit(ex, smallOpts())
		require.ErrorIs(t, err, leadkit.ErrInvalid)
		if conv {
			assert.ErrorContains(t, err, "all 100 examples converted: the model needs both outcomes")
		} else {
			assert.ErrorContains(t, err, "none of the 100 examples converted")
		}
	}
	// One lead converted: it cannot be on both sides of the split.
	ex := history(100, 1)
	for i := range ex {
		ex[i].Converted = i == 7
	}
	_, err := learn.Fit(ex, smallOpts())
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.ErrorContains(t, err, "the held-out set (30 examples, split by lead) has no example that converted")
}

func TestBadExamples(t *testing.T) {
	ex := history(100, 1)
	ex[5].CutOff = time.Time{}
	_, err := learn.Fit(ex, smallOpts())
	require.ErrorIs(t, err, leadkit.ErrInvalid, "a bad cut-off alone")

	ex = history(100, 1)
	ex[5].CutOff = time.Time{}
	ex[9].Lead.Person.Title = "bad\x00title"
	_, err = learn.Fit(ex, smallOpts())
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.ErrorContains(t, err, `learn: example 5 (lead "lead-5"): leadkit: invalid input: cut-off 0001-01-01T00:00:00Z is outside`)
	assert.ErrorContains(t, err, `learn: example 9 (lead "lead-9"): `)
	assert.ErrorContains(t, err, "NUL")

	// A custom field of the wrong type names the example and the field.
	ex = history(100, 1)
	ex[12].Lead.Person.Custom = map[string]any{"budget": "lots"}
	opts := smallOpts()
	opts.Declare = []leadkit.FieldSpec{{Name: "person.budget", Type: leadkit.TypeNumber}}
	opts.Fields = append(opts.Fields, "person.budget")
	_, err = learn.Fit(ex, opts)
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.ErrorContains(t, err, `example 12 (lead "lead-12"): person.budget: `)

	// An event of another lead fails scoring, naming the example.
	ex = history(100, 1)
	ex[3].Events = append(ex[3].Events, leadkit.Event{ID: "x", LeadID: "someone-else", Type: "page_view", Time: cutOff.Add(-time.Hour)})
	_, err = learn.Fit(ex, smallOpts())
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.ErrorContains(t, err, `example 3 (lead "lead-3")`)
}

func TestBadOptions(t *testing.T) {
	ex := history(100, 1)
	_, err := learn.Fit(ex, learn.Options{
		HoldOut: 2,
		Bins:    99,
		PDO:     -1,
		Fields:  []string{"person.seniority", "person.shoe_size", "person.seniority"},
		Signals: []learn.Signal{{Types: []string{"x"}}},
		Windows: []time.Duration{-time.Hour},
		Paths:   learn.MaxPathTypes + 1,
	})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	for _, want := range []string{
		"paths over the 13 most frequent event types, the limit is 12",
		"hold-out share 2 is outside [0.05, 0.9]",
		"99 bins, want 2 to 16",
		"PDO -1 is outside [1, 1000]",
		`field 2 "person.shoe_size": not a field Fit can bin`,
		`field 3 "person.seniority" is named twice`,
		"signal 1 has no name",
		"window 1 (-1h0m0s) must be 0 (ever)",
	} {
		assert.ErrorContains(t, err, want)
	}

	// A signal's predicate is compiled with the model's compiler: the
	// error names the signal.
	opts := smallOpts()
	opts.Signals = []learn.Signal{{Name: "typo", When: `event.chanel == "webinar"`}}
	_, err = learn.Fit(ex, opts)
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.ErrorContains(t, err, `rule "typo ever": when:`)
	assert.ErrorContains(t, err, "event.channel")

	// Too many count features.
	opts = smallOpts()
	opts.Windows = []time.Duration{0, time.Hour, 2 * time.Hour, 3 * time.Hour}
	for i := range 17 {
		opts.Signals = append(opts.Signals, learn.Signal{Name: strings.Repeat("s", i+1)})
	}
	_, err = learn.Fit(ex, opts)
	assert.ErrorContains(t, err, "18 signals in 4 windows make 72 count features, the limit is 64")

	// A current dimension the current model lacks.
	m, err := scoring.Compile(scoring.ModelSpec{Name: "current", Dimensions: []scoring.DimensionSpec{{Name: "fit"}}}, scoring.Options{})
	require.NoError(t, err)
	opts = smallOpts()
	opts.Current, opts.CurrentDimension = m, "total"
	_, err = learn.Fit(ex, opts)
	assert.ErrorContains(t, err, `the current model "current" has no dimension "total" (it has fit)`)
}

// A field with one value is left out with a warning, not a NaN.
func TestConstantField(t *testing.T) {
	ex := history(600, 2)
	for i := range ex {
		ex[i].Lead.Person.Department = "it"
	}
	opts := smallOpts()
	opts.Fields = append(opts.Fields, "person.department", "person.city")
	res, err := learn.Fit(ex, opts)
	require.NoError(t, err)
	requireClean(t, res)
	var warned []string
	for _, w := range warningsOf(res, learn.WarnConstant) {
		warned = append(warned, w.Feature)
	}
	assert.Equal(t, []string{"person.department", "person.city"}, warned, "both named in Options")
	for _, name := range []string{"person.department", "person.city"} {
		_, kept := featureOf(res, name)
		assert.False(t, kept, name)
		assert.Contains(t, droppedFeatures(res, learn.DropConstant), name)
	}
	_, kept := featureOf(res, "person.seniority")
	assert.True(t, kept)
}

// A field that is the outcome is dropped as a leak, with a warning; so
// is an event type that comes with the conversion.
func TestLeak(t *testing.T) {
	ex := history(600, 3)
	for i := range ex {
		ex[i].Lead.Person.Custom = map[string]any{"won": ex[i].Converted}
		if ex[i].Converted {
			ex[i].Events = append(ex[i].Events, leadkit.Event{ID: ex[i].Lead.ID + "-demo", Type: "demo_requested", Time: cutOff})
		}
	}
	opts := smallOpts()
	opts.Declare = []leadkit.FieldSpec{{Name: "person.won", Type: leadkit.TypeBool}}
	opts.Fields = append(opts.Fields, "person.won")
	opts.Signals = append(opts.Signals, learn.Signal{Name: "demo", Types: []string{"demo_requested"}})
	res, err := learn.Fit(ex, opts)
	require.NoError(t, err)
	requireClean(t, res)
	var leaks []string
	for _, w := range warningsOf(res, learn.WarnLeak) {
		leaks = append(leaks, w.Feature)
	}
	assert.Equal(t, []string{"person.won", "demo ever"}, leaks)
	assert.Equal(t, []string{"person.won", "demo ever"}, droppedFeatures(res, learn.DropLeak))
	assert.Less(t, res.Evaluation.AUC, 0.9, "the model does not see the outcome")

	// The same event after the cut-off is ignored, as scoring ignores
	// events after its as-of time: no leak, and no signal.
	for i := range ex {
		ex[i].Lead.Person.Custom = nil
		if n := len(ex[i].Events); ex[i].Converted {
			ex[i].Events[n-1].Time = cutOff.Add(time.Hour)
		}
	}
	opts.Fields = opts.Fields[:2]
	res, err = learn.Fit(ex, opts)
	require.NoError(t, err)
	assert.Empty(t, warningsOf(res, learn.WarnLeak))
	assert.Contains(t, droppedFeatures(res, learn.DropConstant), "demo ever")
}

// A bin in which no one converted gets a finite weight of evidence (the
// smoothing) and a warning.
func TestSeparatedBin(t *testing.T) {
	ex := history(1000, 4)
	for i := range ex {
		if i%10 == 0 {
			ex[i].Lead.Person.Seniority = "student"
			ex[i].Converted = false
		}
	}
	res, err := learn.Fit(ex, smallOpts())
	require.NoError(t, err)
	requireClean(t, res)
	sep := warningsOf(res, learn.WarnSeparation)
	require.Len(t, sep, 1)
	assert.Contains(t, sep[0].Message, `person.seniority bin "student": none of its 66 training examples converted`)
	pts, ok := rulePoints(res, "person.seniority", `"student"`)
	require.True(t, ok)
	assert.Less(t, pts, -20.0, "students score lowest")
}

// Too little data for any bin: the model is the base rule alone, with a
// warning, and still compiles and evaluates.
func TestNoRules(t *testing.T) {
	opts := smallOpts()
	opts.MinSupport = 1000
	res, err := learn.Fit(history(200, 5), opts)
	require.NoError(t, err)
	requireClean(t, res)
	assert.Len(t, warningsOf(res, learn.WarnNoRules), 1)
	assert.Empty(t, res.Features)
	require.Len(t, res.Spec.Dimensions[0].Fit, 1)
	assert.Equal(t, 0.5, res.Evaluation.AUC, "every lead scores the same")
	assert.InDelta(t, res.Scale.BaseScore, res.BasePoints, 1, "the base rule is the average odds")
}

func droppedFeatures(res learn.Result, reason learn.DropReason) []string {
	var out []string
	for _, d := range res.Dropped {
		if d.Bin == "" && d.Reason == reason {
			out = append(out, d.Feature)
		}
	}
	return out
}

// Options.Paths: the ordered pairs of the most frequent event types are
// path candidates (kept or dropped, every one accounted for); with
// given signals none unless asked, and a negative Paths turns them off.
func TestPathOptions(t *testing.T) {
	ex := history(2000, 3)
	paths := func(res learn.Result) map[string]bool {
		out := map[string]bool{}
		for _, f := range res.Features {
			if strings.HasPrefix(f.Name, "path:") {
				require.Len(t, f.Path, 2, f.Name)
				out[f.Name] = true
			}
		}
		for _, d := range res.Dropped {
			if strings.HasPrefix(d.Feature, "path:") {
				out[d.Feature] = true
			}
		}
		return out
	}
	opts := smallOpts()
	res, err := learn.Fit(ex, opts)
	require.NoError(t, err)
	assert.Empty(t, paths(res), "given signals: no paths by default")
	// The history has two event types: up to 3 types give their 2
	// ordered pairs, 1 type none.
	opts.Paths = 3
	res, err = learn.Fit(ex, opts)
	require.NoError(t, err)
	assert.Equal(t, map[string]bool{"path:email_opened>webinar_attended": true, "path:webinar_attended>email_opened": true}, paths(res))
	opts.Paths = 1
	res, err = learn.Fit(ex, opts)
	require.NoError(t, err)
	assert.Empty(t, paths(res))
	res, err = learn.Fit(ex, learn.Options{Seed: 1, Paths: -1})
	require.NoError(t, err)
	assert.Empty(t, paths(res))
}

// A leak is a leak also when its telling bin is too rare to keep: it is
// reported as one, not as a constant field.
func TestRareLeakReported(t *testing.T) {
	ex := history(3000, 28)
	for i := range ex {
		ex[i].Converted = i%100 == 0
		ex[i].Lead.Person.Custom = map[string]any{"won": ex[i].Converted}
	}
	opts := smallOpts()
	opts.Declare = []leadkit.FieldSpec{{Name: "person.won", Type: leadkit.TypeBool}}
	opts.Fields = append(opts.Fields, "person.won")
	res, err := learn.Fit(ex, opts)
	require.NoError(t, err)
	require.Contains(t, droppedFeatures(res, learn.DropLeak), "person.won")
}

// Points to double the odds below 1 would round every rule to 0: refused.
func TestTinyPDORefused(t *testing.T) {
	for _, pdo := range []float64{0.01, 0.3, 0.999} {
		_, err := learn.Fit(history(200, 31), learn.Options{PDO: pdo, Seed: 1})
		require.ErrorIs(t, err, leadkit.ErrInvalid, "%g", pdo)
		require.ErrorContains(t, err, "PDO")
	}
}

// A bin with fewer training examples than MinSupport is left out of the
// model and listed in Result.Dropped with its feature, bin, reason and
// support and conversions on the training examples: here the few leads
// without a seniority.
func TestDroppedForSupport(t *testing.T) {
	ex := history(3000, 41)
	missing := map[string]bool{}
	for i := 0; i < 60; i += 5 {
		ex[i].Lead.Person.Seniority = ""
		missing[ex[i].Lead.ID] = true
	}
	opts := smallOpts()
	opts.HoldOut, opts.MinSupport = 0.3, 40
	res, err := learn.Fit(ex, opts)
	require.NoError(t, err)
	requireClean(t, res)

	train, _ := learn.Split(ex, opts.HoldOut, opts.Seed)
	var support, converted int
	for _, i := range train {
		if missing[ex[i].Lead.ID] {
			support++
			if ex[i].Converted {
				converted++
			}
		}
	}
	require.Positive(t, support)
	require.Less(t, support, opts.MinSupport)
	var got []learn.Dropped
	for _, d := range res.Dropped {
		if d.Reason == learn.DropSupport {
			got = append(got, d)
		}
	}
	require.NotEmpty(t, got, "dropped: %+v", res.Dropped)
	d := got[0]
	assert.Equal(t, "person.seniority", d.Feature)
	assert.Equal(t, "missing", d.Bin)
	assert.Equal(t, support, d.Support)
	assert.Equal(t, converted, d.Converted)
	assert.Contains(t, d.Detail, fmt.Sprintf("%d training examples, fewer than the minimum support of %d", support, opts.MinSupport))
	for _, f := range res.Features {
		if f.Name == "person.seniority" {
			for _, r := range f.Rules {
				assert.NotEqual(t, "missing", r.Bin, "a dropped bin has no rule")
			}
		}
	}
}
