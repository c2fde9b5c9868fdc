package scoring

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/leadkit/leadkit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCompileErrors(t *testing.T) {
	one := func(ds DimensionSpec) ModelSpec { return ModelSpec{Name: "m", Dimensions: []DimensionSpec{ds}} }
	cases := []struct {
		name string
		spec ModelSpec
		want []string // substrings, each of a separate joined error
		line int      // of the first error's expression, when > 0
		col  int
	}{
		{"no name", ModelSpec{Dimensions: []DimensionSpec{{Name: "a"}}}, []string{"model needs a name"}, 0, 0},
		{"no dimensions", ModelSpec{Name: "m"}, []string{"at least one dimension"}, 0, 0},
		{"unknown field", one(DimensionSpec{Name: "fit", Fit: []FitRule{{Name: "r", When: "person.titel == 1", Points: 1}}}),
			[]string{`dimension "fit": rule "r": when: line 1, column 8: person has no field titel: did you mean person.title?`}, 1, 8},
		{"wrong type", one(DimensionSpec{Name: "fit", Fit: []FitRule{{Name: "r", When: `company.employees == "many"`, Points: 1}}}),
			[]string{`rule "r": when: line 1, column 19: invalid operation: == (mismatched types int and string)`}, 1, 19},
		{"not bool", one(DimensionSpec{Name: "fit", Fit: []FitRule{{Name: "r", When: `company.employees + 1`, Points: 1}}}),
			[]string{`expected bool`}, 0, 0},
		{"event field in fit rule", one(DimensionSpec{Name: "fit", Fit: []FitRule{{Name: "r", When: `event.type == "x"`, Points: 1}}}),
			[]string{`unknown name event`}, 1, 1},
		{"lead field in behavior predicate", one(DimensionSpec{Name: "e", Behavior: []BehaviorRule{{Name: "r", When: `person.title == "x"`, Points: 1}}}),
			[]string{`unknown name person`}, 1, 1},
		{"disabled builtin", one(DimensionSpec{Name: "fit", Fit: []FitRule{{Name: "r", When: `now() > 0`, Points: 1}}}),
			[]string{`now is not available: expressions must not read the clock`}, 1, 1},
		{"node limit", one(DimensionSpec{Name: "fit", Fit: []FitRule{{Name: "r", When: bigExpr(500), Points: 1}}}),
			[]string{`exceeds maximum allowed nodes`}, 0, 0},
		{"every problem at once", ModelSpec{Name: "m", Dimensions: []DimensionSpec{
			{Name: "a", Fit: []FitRule{{Name: "x", When: "true", Points: 1}, {Name: "x", When: "true", Points: 1}}},
			{Name: "a"},
			{Name: "b", Behavior: []BehaviorRule{{Name: "y", Points: 1, Cap: -1, Limit: &LimitSpec{Max: 0, Per: "year"},
				Decay: &DecaySpec{Window: 3 * day, HalfLife: 2 * day}}}},
		}},
			[]string{`dimension "a": rule "x": name: duplicate rule`, `dimension "a": name: duplicate dimension`, `rule "y": cap`, `max must be in [1, 1073741824], not 0`, `per must be ever, day, week or month`, `set only one of`}, 0, 0},
		{"limit too large", one(DimensionSpec{Name: "a", Behavior: []BehaviorRule{{Name: "y", Points: 1, Limit: &LimitSpec{Max: 1<<30 + 1, Per: PerDay}}}}),
			[]string{`rule "y": limit: max must be in [1, 1073741824], not 1073741825`}, 0, 0},
		{"bad numbers", one(DimensionSpec{Name: "a", Min: f64(5), Max: f64(1), Behavior: []BehaviorRule{{Name: "y", Points: 2e9, Recency: &RecencySpec{Within: -1 * day}}}}),
			[]string{`min 5 is above max 1`, `rule "y": points`, `rule "y": recency`}, 0, 0},
		{"bad steps", one(DimensionSpec{Name: "a", Decay: &DecaySpec{Steps: []DecayStep{{AfterMonths: 6, KeepPercent: 50}, {AfterMonths: 3, KeepPercent: 120}}}}),
			[]string{`increasing after_months`, `keep_percent`}, 0, 0},
		{"bands", one(DimensionSpec{Name: "a", Bands: []BandSpec{{Name: "A"}, {Name: "B"}, {Name: "C", Min: f64(1)}, {Name: "D", Min: f64(1)}}}),
			[]string{`only one band may omit min`, `same min`}, 0, 0},
		{"derived with rules", one(DimensionSpec{Name: "a", Expr: "1", Fit: []FitRule{{Name: "r", When: "true"}}}),
			[]string{`derived dimension cannot also have rules`}, 0, 0},
		{"derived unknown dimension", ModelSpec{Name: "m", Dimensions: []DimensionSpec{{Name: "a"}, {Name: "t", Expr: "a + b"}}},
			[]string{`dimension "t": expr: line 1, column 5: unknown name b`}, 1, 5},
		{"cycle", ModelSpec{Name: "m", Dimensions: []DimensionSpec{{Name: "x", Expr: "z + 1"}, {Name: "y", Expr: "x * 2"}, {Name: "z", Expr: "y - 1"}, {Name: "base"}}},
			[]string{`dependency cycle: x -> z -> y -> x`}, 0, 0},
		{"self cycle", ModelSpec{Name: "m", Dimensions: []DimensionSpec{{Name: "x", Expr: "x + 1"}}},
			[]string{`dependency cycle: x -> x`}, 0, 0},
		{"fields", ModelSpec{Name: "m", Fields: []leadkit.FieldSpec{{Name: "person.title", Type: leadkit.TypeString}, {Name: "account.x", Type: leadkit.TypeNumber}, {Name: "person.a-b", Type: leadkit.TypeNumber}, {Name: "company.tier", Type: "int"}}, Dimensions: []DimensionSpec{{Name: "a"}}},
			[]string{`field 1 "person.title": declared twice or a built-in field`, `field 2 "account.x": name must be`, `key "a-b" is not an identifier`, `type "int" is not number, string, bool, strings or time`}, 0, 0},
		{"split", one(DimensionSpec{Name: "fit", Fit: []FitRule{{Name: "r", When: `"a" in split(person.title, " ")`, Points: 1}}}),
			[]string{`rule "r": when: line 1, column 8: split is not available`}, 1, 8},
		{"derived with a computed $env name", ModelSpec{Name: "m", Dimensions: []DimensionSpec{
			{Name: "a", Fit: []FitRule{{Name: "r", When: "true", Points: 1}}}, {Name: "x", Expr: `$env[string(a)] + 1`}, {Name: "1", Expr: `x * 10`}}},
			[]string{`dimension "x": expr: line 1, column 5: $env must be indexed by a constant name: $env["name"]`}, 1, 5},
		{"derived with bare $env", ModelSpec{Name: "m", Dimensions: []DimensionSpec{{Name: "a"}, {Name: "x", Expr: `len($env) * 1.0`}}},
			[]string{`dimension "x": expr: line 1, column 5: $env may only be used as $env["name"]`}, 1, 5},
		{"expensive rule", one(DimensionSpec{Name: "fit", Fit: []FitRule{{Name: "r", When: `count(company.tech_stack, count(company.tech_stack, # == "a") > 0) > 0`, Points: 1}}}),
			[]string{`rule "r": when: line 1, column 7: the expression may do about 5.04e+06 units of work on inputs at the size limits (1000 items per list, 4096 bytes per string); the limit (Options.MaxCost) is 1e+06`}, 1, 7},
		{"expensive predicates together", ModelSpec{Name: "m", Fields: []leadkit.FieldSpec{{Name: "event.tags", Type: leadkit.TypeStrings}}, Dimensions: []DimensionSpec{{Name: "e", Behavior: []BehaviorRule{
			{Name: "a", Types: []string{"x"}, When: `any(event.tags, # startsWith "a")`, Points: 1},
			{Name: "b", Types: []string{"x"}, When: `any(event.tags, # startsWith "b")`, Points: 1},
			{Name: "c", Types: []string{"x"}, When: `any(event.tags, # startsWith "c")`, Points: 1},
			{Name: "d", Types: []string{"x"}, When: `any(event.tags, # startsWith "d")`, Points: 1},
			{Name: "e", Types: []string{"x"}, When: `any(event.tags, # startsWith "e")`, Points: 1}}}}},
			[]string{`rules: the predicates and points expressions of "x" events together may do about 2.52e+04 units of work per event; the limit (Options.MaxEventCost) is 2e+04`}, 0, 0},
		{"thresholds and matrix", ModelSpec{Name: "m", Dimensions: []DimensionSpec{{Name: "a"}},
			Thresholds: []ThresholdSpec{{Name: "mql", Dimension: "nope", Value: 1}, {Name: "mql", Dimension: "a"}},
			Matrix:     &MatrixSpec{Rows: "a", Columns: "a"}},
			[]string{`threshold "mql": unknown dimension "nope"`, `threshold "mql": thresholds need unique`, `both need bands`}, 0, 0},
	}
	// Costs above are computed by hand from cost.go's rules: # == "a" is
	// 1 (#) + 1 ("a") + 1 (==) + 1/32 (1 byte compared) = 3.03; a predicate
	// adds 2 per element, so the inner count over 1000 items is
	// 2 + 1000*5.03 = 5032, "> 0" makes it 5034 and the outer count
	// 2 + 1000*5036 = 5.04e6; the error points at the start of the outer
	// count's text that expr locates (its list, column 7). # startsWith "a" is 3.03 as well: each
	// any() is 1 (list) + 1 + 1000*5.03 = 5032, five of them 2.52e4.
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := Compile(c.spec, Options{})
			require.Error(t, err)
			assert.Nil(t, m)
			assert.ErrorIs(t, err, leadkit.ErrInvalid)
			for _, w := range c.want {
				assert.Contains(t, err.Error(), w)
			}
			// errors.Join: one *RuleError per problem.
			var joined interface{ Unwrap() []error }
			require.True(t, errors.As(err, &joined))
			assert.GreaterOrEqual(t, len(joined.Unwrap()), len(c.want))
			if c.line > 0 {
				var re *RuleError
				require.ErrorAs(t, err, &re)
				assert.Equal(t, c.line, re.Line)
				assert.Equal(t, c.col, re.Column)
			}
		})
	}
}

func bigExpr(n int) string {
	s := "true"
	for i := 0; i < n; i++ {
		s += " && true"
	}
	return s
}

func TestParseModel(t *testing.T) {
	// The YAML test model and its JSON form decode to the same spec.
	y, err := os.ReadFile(filepath.Join("testdata", "bench_model.yaml"))
	require.NoError(t, err)
	a, err := ParseModel(y)
	require.NoError(t, err)
	m := mustCompile(t, a)
	assert.Equal(t, "bench", m.Name())
	assert.Equal(t, "1", m.Version())
	js := []byte(`{"name":"bench","dimensions":[{"name":"fit","fit":[{"name":"r","when":"person.seniority == \"vp\"","points":5}]}]}`)
	b, err := ParseModel(js)
	require.NoError(t, err)
	assert.Equal(t, 5.0, b.Dimensions[0].Fit[0].Points)

	_, err = ParseModel([]byte("name: x\ndimensions:\n  - name: a\n    pionts: 3\n"))
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.Contains(t, err.Error(), "pionts")
	_, err = ParseModel([]byte("name: [unclosed"))
	require.ErrorIs(t, err, leadkit.ErrInvalid)

	// Spec returns an independent copy; the fingerprint follows content.
	s := m.Spec()
	s.Dimensions[0].Fit[0].Points = 99
	assert.Equal(t, 20.0, m.Spec().Dimensions[0].Fit[0].Points)
	m2 := mustCompile(t, s)
	assert.NotEqual(t, m.Fingerprint(), m2.Fingerprint())
	assert.Equal(t, m.Fingerprint(), mustCompile(t, a).Fingerprint())
}

func TestTypeTable(t *testing.T) {
	// Every name maps to its id; names not in the table (including ones
	// colliding in the hash) map to -1. Checked against a Go map.
	var names []string
	for i := 0; i < 40; i++ {
		names = append(names, string(rune('a'+i%26))+"_event_"+string(rune('a'+i/26)))
	}
	tt := newTypeTable(names)
	for id, n := range names {
		assert.Equal(t, int32(id), tt.lookup(n))
	}
	for _, n := range []string{"", "x", "a_event_z", "page_view"} {
		assert.Equal(t, int32(-1), tt.lookup(n))
	}
}

// The closure compiler and the expr VM score the benchmark model alike.
func TestVMAgreesWithClosures(t *testing.T) {
	fast := benchModel(t)
	vm, err := compileOnVM(benchSpec(t), Options{})
	require.NoError(t, err)
	for _, in := range benchInputs(t, 40, 3) {
		want, err := fast.Score(in)
		require.NoError(t, err)
		got, err := vm.Score(in)
		require.NoError(t, err)
		assert.Equal(t, want, got, in.Lead.ID)
	}
}
