package stage_test

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/stage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

func TestValidationReportsEverythingAtOnce(t *testing.T) {
	def := stage.Definition{
		Name:    "broken",
		Initial: "Nowhere",
		Facts:   map[string]leadkit.FieldType{"score": leadkit.TypeNumber, "mood": "feeling"},
		Stages: []stage.Stage{
			{Name: "A"},
			{Name: "B", Category: "limbo"},
			{Name: "A"},
			{Name: ""},
			{Name: "Done", Terminal: true},
		},
		Transitions: []stage.Transition{
			{Name: "ab", From: []string{"A"}, To: "B"},
			{Name: "ab", From: []string{"B"}, To: "A"},
			{Name: "ghost", From: []string{"Z"}, To: "Y"},
			{Name: "auto_no_guard", From: []string{"A"}, To: "Done", Auto: true},
			{Name: "bad_guard", From: []string{"A"}, To: "Done", Auto: true, Guard: "score >= 100 &&\n  grade == \"A\""},
			{Name: "not_bool", From: []string{"A"}, To: "Done", Auto: true, Guard: "score + 1"},
			{Name: "out_of_done", From: []string{"Done"}, To: "A"},
		},
	}
	_, err := stage.New(def, stage.Options{})
	require.Error(t, err)
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	msg := err.Error()
	for _, want := range []string{
		`stage: facts "mood": unknown type "feeling"`,
		`stage: stage "A": defined twice`,
		`stage: stage "B": unknown category "limbo"`,
		`stage: stages[3]: empty stage name`,
		`stage: initial: unknown stage "Nowhere"`,
		`stage: transition "ab": defined twice`,
		`stage: transition "ghost": unknown target stage "Y"`,
		`stage: transition "ghost": unknown source stage "Z"`,
		`stage: transition "auto_no_guard": an automatic transition needs a guard`,
		`stage: transition "bad_guard" guard: line 2, column 3: unknown name grade`,
		`stage: transition "not_bool" guard:`,
		`stage: transition "out_of_done": leaves terminal stage "Done"`,
	} {
		assert.Contains(t, msg, want)
	}
	// Every joined error is a *DefinitionError with its location.
	var n int
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var de *stage.DefinitionError
		require.True(t, errors.As(e, &de), "%v", e)
		n++
		if strings.HasPrefix(de.Where, `transition "bad_guard"`) {
			assert.Equal(t, 2, de.Line)
			assert.Equal(t, 3, de.Column)
		}
	}
	assert.GreaterOrEqual(t, n, 12)
}

func TestValidationGraph(t *testing.T) {
	def := stage.Definition{
		Name: "g", Initial: "A",
		Stages: []stage.Stage{{Name: "A"}, {Name: "B"}, {Name: "Island"}, {Name: "End", Terminal: true}},
		Transitions: []stage.Transition{
			{Name: "ab", From: []string{"A"}, To: "B"},
			{Name: "island_end", From: []string{"Island"}, To: "End"},
			{Name: "a_end", From: []string{"A"}, To: "End"},
		},
	}
	_, err := stage.New(def, stage.Options{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `stage "Island": unreachable from the initial stage "A"`)
	assert.Contains(t, err.Error(), `stage "B": is a dead end`)
	assert.NotContains(t, err.Error(), `stage "End"`)

	def.Transitions = append(def.Transitions, stage.Transition{Name: "back", From: []string{"B"}, To: "A", ForwardOnly: true})
	_, err = stage.New(def, stage.Options{Hooks: stage.Hooks{Enter: map[string][]stage.HookFunc{"Q": nil}}})
	assert.Contains(t, err.Error(), `transition "back": is forward-only but "A" does not come before "B"`)
	assert.Contains(t, err.Error(), `hook "Q": unknown stage`)
}

func TestParseDefinitionJSONAndYAML(t *testing.T) {
	js := `{"name":"p","initial":"New","facts":{"score":"number"},
	  "stages":[{"name":"New"},{"name":"MQL","sla":"2d","sub_statuses":["hot"]},{"name":"Won","terminal":true}],
	  "transitions":[{"name":"q","from":["New"],"to":"MQL","auto":true,"guard":"score > 5"},
	                 {"name":"w","from":["MQL"],"to":"Won"}]}`
	yml := `
name: p
initial: New
facts: {score: number}
stages:
  - name: New
  - name: MQL
    sla: 48h
    sub_statuses: [hot]
  - {name: Won, terminal: true}
transitions:
  - {name: q, from: [New], to: MQL, auto: true, guard: "score > 5"}
  - name: w
    from: [MQL]
    to: Won
`
	a, err := stage.ParseDefinition([]byte(js))
	require.NoError(t, err)
	b, err := stage.ParseDefinition([]byte(yml))
	require.NoError(t, err)
	assert.Equal(t, a, b)
	assert.Equal(t, 48*time.Hour, a.Stages[1].SLA)
	_, err = stage.New(a, stage.Options{})
	require.NoError(t, err)

	_, err = stage.ParseDefinition([]byte(`{"name":"p","stagez":[]}`))
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.Contains(t, err.Error(), "stagez")
	_, err = stage.ParseDefinition([]byte(`{"stages":[{"name":"A","sla":"soon"}]}`))
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.Contains(t, err.Error(), `duration "soon"`)
	_, err = stage.ParseDefinition([]byte("name: [unclosed"))
	require.ErrorIs(t, err, leadkit.ErrInvalid)
}

// SLAs read and write leadkit's one duration grammar; a bare number is
// refused (it would be 3 ns), as is a negative SLA.
func TestSLAJSON(t *testing.T) {
	for in, want := range map[string]time.Duration{`"3d"`: 72 * time.Hour, `"2w"`: 14 * 24 * time.Hour, `"90m"`: 90 * time.Minute, `"1d12h"`: 36 * time.Hour} {
		d, err := stage.ParseDefinition([]byte(`{"stages":[{"name":"A","sla":` + in + `}]}`))
		require.NoError(t, err, in)
		assert.Equal(t, want, d.Stages[0].SLA, in)
		b, err := json.Marshal(d.Stages[0])
		require.NoError(t, err)
		var back stage.Stage
		require.NoError(t, json.Unmarshal(b, &back))
		assert.Equal(t, d.Stages[0], back, string(b))
	}
	for _, in := range []string{`3`, `"3"`, `""`, `"1e9w"`, `"200000d"`, `true`} {
		_, err := stage.ParseDefinition([]byte(`{"stages":[{"name":"A","sla":` + in + `}]}`))
		assert.ErrorIs(t, err, leadkit.ErrInvalid, in)
	}
	b, err := json.Marshal(stage.Stage{Name: "A", SLA: 48 * time.Hour})
	require.NoError(t, err)
	assert.JSONEq(t, `{"name":"A","sla":"2d"}`, string(b))
	def := stage.Classic()
	def.Stages[1].SLA = -time.Hour
	_, err = stage.New(def, stage.Options{})
	assert.ErrorContains(t, err, "negative SLA")
}

func TestInsertBetweenTAL(t *testing.T) {
	def, err := stage.Classic().InsertBetween(stage.Stage{Name: "TAL", Label: "Teleprospecting Accepted Lead", Category: stage.Sales, Team: "sdr"}, "MQL", "SAL")
	require.NoError(t, err)
	// The original is untouched.
	_, has := stage.Classic().Stage("TAL")
	assert.False(t, has)

	names := []string{}
	for _, s := range def.Stages {
		names = append(names, s.Name)
	}
	assert.Equal(t, []string{"Raw", "MQL", "TAL", "SAL", "SQL", "Opportunity", "Won", "Lost", "Disqualified", "Recycled"}, names)

	m, clk := newMachine(t, def, stage.Options{})
	l := stage.Lead("L")
	_, err = m.Start(ctx, l, stage.StartOptions{})
	require.NoError(t, err)
	_, _, err = m.Advance(ctx, l, stage.Facts{"score": 100}, stage.Request{})
	require.NoError(t, err)
	rec, err := m.Fire(ctx, l, "accept", stage.Request{})
	require.NoError(t, err)
	assert.Equal(t, "TAL", rec.Stage, "accept now leads to TAL")
	clk.Advance(time.Hour)
	rec, err = m.Fire(ctx, l, "tal_to_sal", stage.Request{})
	require.NoError(t, err)
	assert.Equal(t, "SAL", rec.Stage)
	// Wildcard transitions cover the new stage.
	_, err = m.Start(ctx, stage.Lead("M"), stage.StartOptions{Stage: "TAL"})
	require.NoError(t, err)
	rec, err = m.Fire(ctx, stage.Lead("M"), "disqualify", stage.Request{Reason: "spam"})
	require.NoError(t, err)
	assert.Equal(t, "Disqualified", rec.Stage)

	// TAL inherits recycle, which leaves from both MQL and SAL.
	_, err = m.Start(ctx, stage.Lead("R"), stage.StartOptions{Stage: "TAL"})
	require.NoError(t, err)
	rec, err = m.Fire(ctx, stage.Lead("R"), "recycle", stage.Request{Reason: "timing"})
	require.NoError(t, err)
	assert.Equal(t, "Recycled", rec.Stage)

	// A transition that also leaves from other stages is split.
	def2, err := stage.Classic().InsertBetween(stage.Stage{Name: "Nurture"}, "SAL", "Recycled")
	require.NoError(t, err)
	m2, _ := newMachine(t, def2, stage.Options{})
	_, err = m2.Start(ctx, l, stage.StartOptions{Stage: "SAL"})
	require.NoError(t, err)
	rec, err = m2.Fire(ctx, l, "recycle_nurture", stage.Request{Reason: "timing"})
	require.NoError(t, err)
	assert.Equal(t, "Nurture", rec.Stage)
	_, err = m2.Start(ctx, stage.Lead("q"), stage.StartOptions{Stage: "SQL"})
	require.NoError(t, err)
	rec, err = m2.Fire(ctx, stage.Lead("q"), "recycle", stage.Request{Reason: "timing"})
	require.NoError(t, err)
	assert.Equal(t, "Recycled", rec.Stage, "SQL still recycles straight to Recycled")

	// Inserted before a recycled stage without a category, the new stage
	// takes the recycled category and stays out of the funnel.
	nurture, _ := def2.Stage("Nurture")
	assert.Equal(t, stage.Recycled, nurture.Category)
	assert.NotContains(t, m2.FunnelStages(), "Nurture")

	// A generated name that is taken is refused.
	taken := stage.Classic()
	taken.Transitions = append(taken.Transitions, stage.Transition{Name: "tal_to_sal", From: []string{"SQL"}, To: "SAL"})
	_, err = taken.InsertBetween(stage.Stage{Name: "TAL"}, "MQL", "SAL")
	assert.ErrorContains(t, err, `transition name "tal_to_sal" would be used twice`)

	for _, bad := range [][3]string{{"MQL", "X", "Nope"}, {"Nope", "X", "SAL"}, {"MQL", "SAL", "SAL"}, {"Raw", "X", "SAL"}} {
		_, err := stage.Classic().InsertBetween(stage.Stage{Name: bad[1]}, bad[0], bad[2])
		assert.ErrorIs(t, err, leadkit.ErrInvalid, "%v", bad)
	}
}

func TestDiagramsGolden(t *testing.T) {
	tal, err := stage.Classic().InsertBetween(stage.Stage{Name: "TAL", Label: "Teleprospecting Accepted Lead", Category: stage.Sales}, "MQL", "SAL")
	require.NoError(t, err)
	for name, def := range map[string]stage.Definition{"classic": stage.Classic(), "waterfall": stage.Waterfall(), "classic_tal": tal} {
		for ext, got := range map[string]string{"mmd": def.Mermaid(), "dot": def.DOT()} {
			path := filepath.Join("testdata", name+"."+ext)
			if *update {
				require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "run go test -update to create %s", path)
			assert.Equal(t, string(want), got, path)
		}
	}
}

func TestDiagramEscaping(t *testing.T) {
	def := stage.Definition{
		Name: `we"ird`, Initial: "a b",
		Facts:       map[string]leadkit.FieldType{"s": leadkit.TypeString},
		Stages:      []stage.Stage{{Name: "a b", Label: `say "hi": now`}, {Name: "c", Terminal: true}},
		Transitions: []stage.Transition{{Name: "go", From: []string{"a b"}, To: "c", Auto: true, Guard: `s == "x:y"`}},
	}
	mm := def.Mermaid()
	assert.Contains(t, mm, `state "say #quot;hi#quot;#58; now" as a_x20_b`)
	assert.Contains(t, mm, `a_x20_b --> c: go [auto#58; s == #quot;x#58;y#quot;]`)
	dot := def.DOT()
	assert.Contains(t, dot, `digraph "we\"ird" {`)
	assert.Contains(t, dot, `"a b" -> "c" [label="go [auto: s == \"x:y\"]", style=dashed];`)

	// Hostile names: quotes in a stage name and a category cannot break out
	// of DOT strings, and names that escape alike keep distinct Mermaid IDs.
	hostile := stage.Definition{
		Name: "h", Initial: `a"b`,
		Stages: []stage.Stage{
			{Name: `a"b`, Label: "L", Category: `x", color="red`},
			{Name: "a_x22_b"}, {Name: "a_22_b"}, {Name: "end", Terminal: true},
		},
	}
	dot = hostile.DOT()
	assert.Contains(t, dot, `"a\"b" [label="a\"b\nL", tooltip="x\", color=\"red"];`)
	assert.NotContains(t, dot, `color="red"`)
	mm = hostile.Mermaid()
	assert.Contains(t, mm, `as a_x22_b`)
	assert.Contains(t, mm, `as a__x22__b`)
	assert.Contains(t, mm, `as a__22__b`)
}

func TestNewReportsGraphProblemsBesideGuardErrors(t *testing.T) {
	def := stage.Definition{
		Name: "g", Initial: "A",
		Facts:  map[string]leadkit.FieldType{"score": leadkit.TypeNumber},
		Stages: []stage.Stage{{Name: "A"}, {Name: "B"}, {Name: "Island"}, {Name: "End", Terminal: true}},
		Transitions: []stage.Transition{
			{Name: "ab", From: []string{"A"}, To: "B", Auto: true, Guard: "scor > 1"},
			{Name: "island_end", From: []string{"Island"}, To: "End"},
			{Name: "a_end", From: []string{"A"}, To: "End", Auto: true, Guard: "score > 1", Reasons: []string{"x"}},
		},
	}
	_, err := stage.New(def, stage.Options{})
	require.Error(t, err)
	msg := err.Error()
	assert.Contains(t, msg, `transition "ab" guard: line 1, column 1: unknown name scor`)
	assert.Contains(t, msg, `stage "Island": unreachable`)
	assert.Contains(t, msg, `stage "B": is a dead end`)
	assert.Contains(t, msg, `transition "a_end": an automatic transition cannot require a reason code`)
	// B is reachable through ab even though ab's guard is broken.
	assert.NotContains(t, msg, `stage "B": unreachable`)
}

// A stage inserted between two others leaves the way `from` leaves for
// recycled and closed stages: TAL between MQL and SAL in the waterfall can
// reject to MRL like MQL, not only disqualify.
func TestInsertBetweenLeavesLikeFrom(t *testing.T) {
	def, err := stage.Waterfall().InsertBetween(stage.Stage{Name: "TAL", Team: "sdr"}, "MQL", "SAL")
	require.NoError(t, err)
	reject, ok := findTransition(def, "reject")
	require.True(t, ok)
	assert.Equal(t, []string{"MQL", "TAL"}, reject.From)
	accept, _ := findTransition(def, "accept")
	assert.Equal(t, "TAL", accept.To, "MQL -> SAL now leads to TAL")
	orig, _ := findTransition(stage.Waterfall(), "reject")
	assert.Equal(t, []string{"MQL"}, orig.From, "the original definition is unchanged")

	m, err := stage.New(def, stage.Options{})
	require.NoError(t, err)
	lead := stage.Lead("L")
	_, err = m.Start(ctx, lead, stage.StartOptions{Stage: "MQL"})
	require.NoError(t, err)
	_, err = m.Fire(ctx, lead, "accept", stage.Request{})
	require.NoError(t, err)
	rec, err := m.Fire(ctx, lead, "reject", stage.Request{Reason: "bad_fit"})
	require.NoError(t, err)
	assert.Equal(t, "MRL", rec.Stage)
}

// InsertBefore puts a stage ahead of the first one (Prospect before Raw),
// or between a stage and the one before it.
func TestInsertBefore(t *testing.T) {
	def, err := stage.Classic().InsertBefore(stage.Stage{Name: "Prospect", Category: stage.Pool}, "Raw")
	require.NoError(t, err)
	assert.Equal(t, "Prospect", def.Initial)
	assert.Equal(t, "Prospect", def.Stages[0].Name)
	tr, ok := findTransition(def, "prospect_to_raw")
	require.True(t, ok)
	assert.Equal(t, []string{"Prospect"}, tr.From)
	assert.Equal(t, "Raw", tr.To)
	m, err := stage.New(def, stage.Options{})
	require.NoError(t, err)
	rec, err := m.Start(ctx, stage.Lead("P"), stage.StartOptions{})
	require.NoError(t, err)
	assert.Equal(t, "Prospect", rec.Stage)
	_, err = m.Fire(ctx, stage.Lead("P"), "disqualify", stage.Request{Reason: "spam"})
	require.NoError(t, err, "wildcard transitions apply")
	_, err = m.Start(ctx, stage.Lead("Q"), stage.StartOptions{})
	require.NoError(t, err)
	rec, err = m.Fire(ctx, stage.Lead("Q"), "prospect_to_raw", stage.Request{})
	require.NoError(t, err)
	assert.Equal(t, "Raw", rec.Stage)
	assert.Equal(t, stage.Pool, def.Stages[0].Category)
	noCat, err := stage.Classic().InsertBefore(stage.Stage{Name: "Inquiry"}, "Raw")
	require.NoError(t, err)
	assert.Equal(t, stage.Marketing, noCat.Stages[0].Category, "takes the category of the stage it precedes")

	// Before a later stage it is InsertBetween with the stage leading to it.
	a, err := stage.Classic().InsertBefore(stage.Stage{Name: "TAL"}, "SAL")
	require.NoError(t, err)
	b, err := stage.Classic().InsertBetween(stage.Stage{Name: "TAL"}, "MQL", "SAL")
	require.NoError(t, err)
	assert.Equal(t, b, a)

	for name, c := range map[string]struct {
		s      stage.Stage
		before string
	}{
		"unknown stage": {stage.Stage{Name: "X"}, "Nope"},
		"name taken":    {stage.Stage{Name: "MQL"}, "Raw"},
		"empty name":    {stage.Stage{}, "Raw"},
	} {
		_, err := stage.Classic().InsertBefore(c.s, c.before)
		assert.ErrorIs(t, err, leadkit.ErrInvalid, name)
	}
}

func findTransition(d stage.Definition, name string) (stage.Transition, bool) {
	for _, t := range d.Transitions {
		if t.Name == name {
			return t, true
		}
	}
	return stage.Transition{}, false
}

// A stage inserted after a recycled stage (Requalify between Recycled and
// MQL) joins the funnel before MQL, not after Won: a requalifying lead
// counted as having reached Won.
func TestInsertAfterRecycledStage(t *testing.T) {
	def, err := stage.Classic().InsertBetween(stage.Stage{Name: "Requalify", SubStatuses: []string{"checking"}}, "Recycled", "MQL")
	require.NoError(t, err)
	m, err := stage.New(def, stage.Options{})
	require.NoError(t, err)
	assert.Equal(t, []string{"Raw", "Requalify", "MQL", "SAL", "SQL", "Opportunity", "Won"}, m.FunnelStages())
	lead := stage.Lead("L")
	_, err = m.Start(ctx, lead, stage.StartOptions{})
	require.NoError(t, err)
	_, _, err = m.Advance(ctx, lead, stage.Facts{"score": 150}, stage.Request{})
	require.NoError(t, err)
	_, err = m.Fire(ctx, lead, "recycle", stage.Request{Reason: "timing"})
	require.NoError(t, err)
	rec, _, err := m.Advance(ctx, lead, stage.Facts{"score": 150}, stage.Request{})
	require.NoError(t, err)
	assert.Equal(t, "Requalify", rec.Stage)
	f, err := m.Funnel(ctx, stage.FunnelOptions{})
	require.NoError(t, err)
	for _, s := range f.Stages {
		if s.Stage == "SAL" || s.Stage == "Won" {
			assert.Zero(t, s.Reached, s.Stage)
		}
	}
	// The caller's slices are not shared with the new definition.
	sub := []string{"a"}
	d2, err := stage.Classic().InsertBetween(stage.Stage{Name: "TAL", SubStatuses: sub}, "MQL", "SAL")
	require.NoError(t, err)
	sub[0] = "changed"
	tal, _ := d2.Stage("TAL")
	assert.Equal(t, []string{"a"}, tal.SubStatuses)
}
