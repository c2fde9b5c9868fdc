package stage_test

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/stage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func guarded(guard string, facts map[string]leadkit.FieldType) stage.Definition {
	return stage.Definition{
		Name: "g", Initial: "A", Facts: facts,
		Stages:      []stage.Stage{{Name: "A"}, {Name: "B", Terminal: true}},
		Transitions: []stage.Transition{{Name: "ab", From: []string{"A"}, To: "B", Auto: true, Guard: guard}},
	}
}

// Guards are compiled by the same compiler as scoring rules and funnel
// steps: the same sandbox, cost bound and error shape.
func TestGuardSandbox(t *testing.T) {
	long := strings.Repeat("x", 3950)
	facts := map[string]leadkit.FieldType{"score": leadkit.TypeNumber, "tags": leadkit.TypeStrings, "seen": leadkit.TypeTime, "s": leadkit.TypeString}
	for guard, want := range map[string]string{
		// The split bomb grew the heap to 3.3 GiB before the memory budget
		// noticed; now split is not in the language, and the same shape
		// without it is refused by the cost bound.
		`len(map(1..300, map(1..300, split("` + long + `" + string(#), "")))) > 0`: "split is not available",
		`len(map(1..300, map(1..300, string(#) + "` + long + `"))) > 0`:            "lists of lists are not allowed",
		`any(1..100000, string(#) + "` + long + `" == s)`:                          "Options.MaxGuardCost",
		`all(tags, all(tags, # != "x"))`:                                           "Options.MaxGuardCost",
		`seen.Local().Format("MST") == "JST"`:                                      "method calls are not allowed (Local)",
		`now() > seen`:                                                             "now is not available",
		`scroe > 1`:                                                                "unknown name scroe: did you mean score?",
		`budget > 1`:                                                               "undeclared fact: declare it in the definition's facts",
		`int(score * 1e30) > 0 && s ==`:                                            "unexpected token",
	} {
		_, err := stage.New(guarded(guard, facts), stage.Options{})
		require.Error(t, err, guard)
		assert.ErrorIs(t, err, leadkit.ErrInvalid, guard)
		assert.ErrorContains(t, err, want, guard)
		var de *stage.DefinitionError
		require.ErrorAs(t, err, &de)
		assert.Equal(t, 1, de.Line, guard)
	}
	// A raised bound admits the nested walk.
	_, err := stage.New(guarded(`all(tags, all(tags, # != "x"))`, facts), stage.Options{MaxGuardCost: 10_000_000})
	require.NoError(t, err)
}

// The guards one stage may evaluate are bounded together, not only one by
// one: 1,024 automatic transitions from "*", each guard just under
// MaxGuardCost, took Advance 25 s and Explain 50 s on facts at the caps.
func TestDecisionCost(t *testing.T) {
	facts := map[string]leadkit.FieldType{"tags": leadkit.TypeStrings, "s": leadkit.TypeString}
	const guard = `any(tags, # contains s) || any(tags, # endsWith s) || any(tags, # startsWith s)`
	def := func(n int) stage.Definition {
		d := stage.Definition{Name: "wide", Initial: "A", Facts: facts, Stages: []stage.Stage{{Name: "A"}}}
		for i := range min(n, 8) {
			d.Stages = append(d.Stages, stage.Stage{Name: fmt.Sprintf("S%d", i), Terminal: true})
		}
		for i := range n {
			d.Transitions = append(d.Transitions, stage.Transition{Name: fmt.Sprintf("t%d", i), From: []string{"*"}, To: fmt.Sprintf("S%d", i%8), Auto: true, Guard: guard})
		}
		return d
	}
	_, err := stage.New(def(1), stage.Options{})
	require.NoError(t, err, "one guard is within both bounds")
	_, err = stage.New(def(1024), stage.Options{})
	require.Error(t, err)
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.ErrorContains(t, err, `stage "A": its 1024 automatic guards together may do about`)
	assert.ErrorContains(t, err, "Options.MaxDecisionCost")
	_, err = stage.New(def(1024), stage.Options{MaxDecisionCost: 1e12})
	require.NoError(t, err, "a raised bound admits it")
	_, err = stage.New(def(1), stage.Options{MaxDecisionCost: -1})
	assert.ErrorContains(t, err, "MaxDecisionCost must not be negative")
}

// Compiled patterns are bounded per guard and per definition: 26 guards
// of "[^A]{1000}" leaves (a 104 KB document) kept 2.2 GB of compiled
// programs; the error is reported once, not once per remaining guard.
func TestGuardPatternsBounded(t *testing.T) {
	facts := map[string]leadkit.FieldType{"title": leadkit.TypeString}
	_, err := stage.New(guarded(`title matches "[^A]{1000}"`, facts), stage.Options{})
	assert.ErrorContains(t, err, "the pattern compiles to 1002 instructions, the limit is 1000")

	def := stage.Definition{Name: "rx", Initial: "New", Facts: facts, Stages: []stage.Stage{{Name: "New"}, {Name: "Won", Terminal: true}}}
	for i := range 26 {
		def.Transitions = append(def.Transitions, stage.Transition{Name: fmt.Sprintf("t%d", i), From: []string{"New"}, To: "Won",
			Guard: `title matches "[^A]{300}" || title matches "[^B]{300}" || title matches "[^C]{300}"`})
	}
	_, err = stage.New(def, stage.Options{})
	require.Error(t, err)
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.ErrorContains(t, err, `transition "t11" guard: the document's patterns compile to over 10000 instructions together`)
	assert.Equal(t, 1, strings.Count(err.Error(), "instructions together"), "reported once")
}

// Facts follow leadkit's one number rule: NaN and infinities are refused
// (+Inf passed `score >= 100`), as are numeric strings; every Go number
// type is a number.
func TestFactsAreFiniteNumbers(t *testing.T) {
	m, _ := newMachine(t, guarded(`score >= 100`, map[string]leadkit.FieldType{"score": leadkit.TypeNumber}), stage.Options{})
	_, err := m.Start(ctx, stage.Lead("L"), stage.StartOptions{})
	require.NoError(t, err)
	for _, v := range []any{math.Inf(1), math.NaN(), "150", float32(math.Inf(1))} {
		rec, n, err := m.Advance(ctx, stage.Lead("L"), stage.Facts{"score": v}, stage.Request{})
		require.Error(t, err, "%v", v)
		assert.ErrorIs(t, err, leadkit.ErrInvalid, "%v", v)
		assert.Equal(t, 0, n)
		assert.Equal(t, "A", rec.Stage)
		_, err = m.Explain("A", stage.Facts{"score": v})
		assert.ErrorIs(t, err, leadkit.ErrInvalid, "%v", v)
	}
	for _, v := range []any{int16(150), uint8(200), int64(100)} {
		ex, err := m.Explain("A", stage.Facts{"score": v})
		require.NoError(t, err, "%T", v)
		assert.True(t, ex[0].Ready, "%T", v)
	}
}

// A time fact reads in UTC and daysSince measures to the machine's clock.
func TestTimeFacts(t *testing.T) {
	m, clk := newMachine(t, guarded(`daysSince(seen) <= 7`, map[string]leadkit.FieldType{"seen": leadkit.TypeTime}), stage.Options{})
	now := clk.Now()
	for seen, ready := range map[any]bool{
		now.Add(-6 * 24 * time.Hour):                                   true,
		now.Add(-8 * 24 * time.Hour).In(time.FixedZone("JST", 9*3600)): false,
		now.Add(-2 * 24 * time.Hour).UTC().Format(time.RFC3339):        true,
	} {
		ex, err := m.Explain("A", stage.Facts{"seen": seen})
		require.NoError(t, err)
		assert.Equal(t, ready, ex[0].Ready, "%v", seen)
	}
	_, err := m.Explain("A", stage.Facts{"seen": "yesterday"})
	assert.ErrorContains(t, err, `want an RFC 3339 time, got "yesterday"`)
}

// A negative version is bad input, not a conflict.
func TestNegativeVersionIsInvalid(t *testing.T) {
	m, _ := newMachine(t, stage.Classic(), stage.Options{})
	_, err := m.Start(ctx, stage.Lead("L"), stage.StartOptions{})
	require.NoError(t, err)
	_, err = m.Fire(ctx, stage.Lead("L"), "disqualify", stage.Request{Version: -1, Reason: "spam"})
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.NotErrorIs(t, err, leadkit.ErrConflict)
	_, _, err = m.Advance(ctx, stage.Lead("L"), stage.Facts{"score": 120}, stage.Request{Version: -3})
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
	rec, err := m.Get(ctx, stage.Lead("L"))
	require.NoError(t, err)
	assert.Equal(t, int64(1), rec.Version, "nothing written")
}

// Definitions are capped: cost grew with the square of the stage count (10k
// stages reachable through "*" took 5.3 s and 3.4 GB).
func TestDefinitionCaps(t *testing.T) {
	big := stage.Definition{Name: "big", Initial: "S0"}
	for i := 0; i < 10_000; i++ {
		big.Stages = append(big.Stages, stage.Stage{Name: fmt.Sprintf("S%d", i)})
	}
	big.Transitions = []stage.Transition{{Name: "any", From: []string{"*"}, To: "S1"}}
	_, err := stage.New(big, stage.Options{})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.ErrorContains(t, err, "10000 stages, the limit is 256")

	def := stage.Classic()
	def.Stages[0].Label = strings.Repeat("L", leadkit.MaxNameBytes+1)
	def.Transitions[0].Reasons = make([]string, stage.MaxReasons+1)
	_, err = stage.New(def, stage.Options{})
	assert.ErrorContains(t, err, "label is 257 bytes, the limit is 256")
	assert.ErrorContains(t, err, "65 reason codes, the limit is 64")

	_, err = stage.ParseDefinition([]byte(strings.Repeat(" ", leadkit.MaxDocumentBytes+1)))
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
}

// maxDefinition is a definition at the caps: MaxStages stages, MaxTransitions
// transitions, the wildcard ones leaving every stage, and guards of 240
// "or" leaves (each leaf used to be compiled again for explanations).
func maxDefinition() stage.Definition {
	def := stage.Definition{Name: "max", Initial: "S0", Facts: map[string]leadkit.FieldType{"score": leadkit.TypeNumber}}
	for i := 0; i < stage.MaxStages; i++ {
		def.Stages = append(def.Stages, stage.Stage{Name: fmt.Sprintf("S%d", i)})
	}
	def.Stages[len(def.Stages)-1].Terminal = true
	var leaves []string
	for i := 0; i < 240; i++ {
		leaves = append(leaves, fmt.Sprintf("score == %d", i))
	}
	guard := strings.Join(leaves, " || ")
	guards := 0
	for i := 0; i < stage.MaxTransitions; i++ {
		t := stage.Transition{Name: fmt.Sprintf("t%d", i), To: fmt.Sprintf("S%d", (i+1)%stage.MaxStages)}
		if i%4 == 0 {
			t.From = []string{"*"}
		} else {
			t.From = []string{fmt.Sprintf("S%d", i%(stage.MaxStages-1))}
		}
		if i%8 == 0 && (guards+1)*len(guard) <= leadkit.MaxDocumentExprBytes {
			t.Auto, t.Guard = true, guard
			guards++
		}
		def.Transitions = append(def.Transitions, t)
	}
	return def
}

func TestDefinitionAtCapsCompiles(t *testing.T) {
	m, err := stage.New(maxDefinition(), stage.Options{MaxAutoSteps: 1})
	require.NoError(t, err)
	ex, err := m.Explain("S1", stage.Facts{"score": 500})
	require.NoError(t, err)
	require.NotEmpty(t, ex)
	assert.Len(t, ex[0].Blocked, 240, "every false leaf of the or is reported")
}

// BenchmarkNewAtCaps compiles a definition at every cap: the worst case of
// New that a tenant can ask for (about 0.3 s on the 2-core CI machine; 128
// guards of 240 leaves took over 1 s when leaves were compiled again).
func BenchmarkNewAtCaps(b *testing.B) {
	def := maxDefinition()
	for i := 0; i < b.N; i++ {
		if _, err := stage.New(def, stage.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

func TestExplainAgreesWithGuard(t *testing.T) {
	def := stage.Definition{
		Name: "x", Initial: "A",
		Facts:  map[string]leadkit.FieldType{"tags": leadkit.TypeStrings, "s": leadkit.TypeNumber},
		Stages: []stage.Stage{{Name: "A"}, {Name: "B"}, {Name: "C", Terminal: true}},
		Transitions: []stage.Transition{
			{Name: "ab", From: []string{"A"}, To: "B", Auto: true, Guard: `len(tags) > 0 && tags[0] == "x"`},
			{Name: "heavy", From: []string{"A"}, To: "C", Auto: true, Guard: `len(map(1..int(s), #)) > 0 && len(map(1..int(s), #)) > 0`},
			{Name: "bc", From: []string{"B"}, To: "C"},
		},
	}
	m, _ := newMachine(t, def, stage.Options{GuardMemoryBudget: 1000})
	ex, err := m.Explain("A", stage.Facts{"tags": []string{}, "s": 0})
	require.NoError(t, err)
	require.Len(t, ex, 2)
	// tags[0] is never evaluated by the guard: no spurious error.
	require.Len(t, ex[0].Blocked, 1)
	assert.Equal(t, "len(tags) > 0", ex[0].Blocked[0].Expr)
	assert.Empty(t, ex[0].Blocked[0].Error)

	// Each part fits the budget, the whole does not: Explain must say what
	// Advance does.
	ex, err = m.Explain("A", stage.Facts{"tags": []string{}, "s": 600})
	require.NoError(t, err)
	assert.False(t, ex[1].Ready)
	require.Len(t, ex[1].Blocked, 1)
	assert.Contains(t, ex[1].Blocked[0].Error, "memory budget")
	_, err = m.Start(ctx, stage.Lead("L"), stage.StartOptions{})
	require.NoError(t, err)
	_, _, err = m.Advance(ctx, stage.Lead("L"), stage.Facts{"tags": []string{}, "s": 600}, stage.Request{})
	require.ErrorIs(t, err, stage.ErrGuardFailed)
}

func TestListFactCap(t *testing.T) {
	def := stage.Classic()
	def.Facts["tags"] = leadkit.TypeStrings
	m, _ := newMachine(t, def, stage.Options{})
	_, err := m.Explain("Raw", stage.Facts{"tags": make([]string, leadkit.MaxListItems+1)})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.Contains(t, err.Error(), "the limit is 1000")
}
