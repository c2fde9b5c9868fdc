package exprenv

import (
	"testing"

	"github.com/expr-lang/expr"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type env struct {
	Score float64
	Grade string
	Email string
	Tags  []string
}

func TestCompileAndRun(t *testing.T) {
	p, err := Compile(`Score >= 100 && Grade in ["A","B"] && domain(Email) == "acme.com" && hasAny(Tags, ["x"])`, env{}, Limits{}, expr.AsBool())
	require.NoError(t, err)
	r := NewRunner(Limits{})
	ok, err := r.RunBool(p, env{Score: 120, Grade: "B", Email: "Jo@ACME.com", Tags: []string{"X"}})
	require.NoError(t, err)
	assert.True(t, ok)
	ok, err = r.RunBool(p, env{Score: 99, Grade: "B", Email: "jo@acme.com", Tags: []string{"x"}})
	require.NoError(t, err)
	assert.False(t, ok)
}

func TestCompileErrors(t *testing.T) {
	cases := []struct {
		name, src string
		line, col int
		msg       string
	}{
		{"unknown field", "Scor > 1", 1, 1, "unknown name Scor"},
		{"wrong type", "Grade > 1", 1, 7, "invalid operation"},
		{"not bool", "Score + 1", 0, 0, "expected bool"},
		{"disabled builtin", `now() > 0`, 1, 1, "unknown name now"},
		{"second line", "Score > 1 &&\n  Grade == 2", 2, 9, "mismatched types"},
		{"syntax", "Score >", 1, 7, "unexpected token"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Compile(c.src, env{}, Limits{}, expr.AsBool())
			require.Error(t, err)
			var e *Error
			require.ErrorAs(t, err, &e)
			assert.Contains(t, e.Message, c.msg)
			if c.line > 0 {
				assert.Equal(t, c.line, e.Line, "line")
				assert.Equal(t, c.col, e.Column, "column")
			}
		})
	}
}

func TestLimits(t *testing.T) {
	_, err := Compile("Score > 1 && Score > 2 && Score > 3", env{}, Limits{MaxNodes: 5}, expr.AsBool())
	require.Error(t, err)
	_, err = Compile("", env{}, Limits{}, expr.AsBool())
	require.Error(t, err)

	p, err := Compile("len(map(1..100000, # * 2)) > 0", env{}, Limits{}, expr.AsBool())
	require.NoError(t, err)
	_, err = NewRunner(Limits{MemoryBudget: 1000}).RunBool(p, env{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "memory budget")
}

func TestRunFloatRejectsNaN(t *testing.T) {
	p, err := Compile("Score / 0", env{}, Limits{}, expr.AsFloat64())
	require.NoError(t, err)
	_, err = NewRunner(Limits{}).RunFloat(p, env{Score: 0})
	require.Error(t, err)
	v, err := NewRunner(Limits{}).RunFloat(p, env{Score: -0.0})
	_ = v
	require.Error(t, err)
}

func TestDomain(t *testing.T) {
	for in, want := range map[string]string{
		"a@Acme.com":             "acme.com",
		"https://www.acme.com/x": "www.acme.com",
		"acme.com/path":          "acme.com",
		"":                       "",
	} {
		assert.Equal(t, want, Domain(in), in)
	}
}

func TestShapeLimits(t *testing.T) {
	cases := []struct {
		name, src string
		line, col int
		msg       string
	}{
		{"let", "let a = Email + Email; len(a) > 1", 1, 5, "variables (let)"},
		{"deep predicates", "all(Tags, all(Tags, all(Tags, # != \"x\")))", 1, 11, "predicates nested 3 deep"},
		{"keys is gone", "len(keys({\"a\": 1})) > 0", 1, 5, "unknown name keys"},
		{"replace is gone", `replace(Email, "a", "bb") != ""`, 1, 1, "unknown name replace"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Compile(c.src, env{}, Limits{}, expr.AsBool())
			require.Error(t, err)
			var e *Error
			require.ErrorAs(t, err, &e)
			assert.Contains(t, e.Message, c.msg)
			assert.Equal(t, c.line, e.Line)
			assert.Equal(t, c.col, e.Column)
		})
	}
	// Two levels are fine.
	_, err := Compile(`all(Tags, any(Tags, # != "x"))`, env{}, Limits{}, expr.AsBool())
	require.NoError(t, err)
}
