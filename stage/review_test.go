package stage_test

import (
	"context"
	"errors"
	"testing"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/stage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Cases from the stage review: each fails on the code before its fix.

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

func TestRecordInStageUnknownToDefinition(t *testing.T) {
	store := stage.NewMemoryStore()
	old := stage.Classic()
	old.Stages = append(old.Stages, stage.Stage{Name: "Parked", Category: stage.Marketing})
	old.Transitions = append(old.Transitions, stage.Transition{Name: "park", From: []string{"Raw"}, To: "Parked"}, stage.Transition{Name: "unpark", From: []string{"Parked"}, To: "Raw"})
	mOld, _ := newMachine(t, old, stage.Options{Store: store})
	_, err := mOld.Start(ctx, stage.Lead("L"), stage.StartOptions{Stage: "Parked"})
	require.NoError(t, err)

	m, _ := newMachine(t, stage.Classic(), stage.Options{Store: store})
	_, _, err = m.Advance(ctx, stage.Lead("L"), stage.Facts{"score": 500}, stage.Request{})
	require.ErrorIs(t, err, stage.ErrNotAllowed)
	assert.Contains(t, err.Error(), `stage "Parked" is not in definition "classic"`)
	_, err = m.Fire(ctx, stage.Lead("L"), "qualify", stage.Request{Facts: stage.Facts{"score": 500}})
	require.ErrorIs(t, err, stage.ErrNotAllowed)
	_, err = m.SetSubStatus(ctx, stage.Lead("L"), "x", stage.Request{})
	require.ErrorIs(t, err, stage.ErrNotAllowed)
	rec, _ := m.Get(ctx, stage.Lead("L"))
	assert.Equal(t, "Parked", rec.Stage)
}

func TestStartTwiceSaysSo(t *testing.T) {
	m, _ := newMachine(t, stage.Classic(), stage.Options{})
	_, err := m.Start(ctx, stage.Contact("C1"), stage.StartOptions{})
	require.NoError(t, err)
	_, err = m.Start(ctx, stage.Contact("C1"), stage.StartOptions{})
	require.ErrorIs(t, err, leadkit.ErrConflict)
	assert.Contains(t, err.Error(), `contact "C1" in pipeline "classic"`)
	assert.Contains(t, err.Error(), "already in this pipeline")
}

func TestHooksValidatedCopiedAndVetoing(t *testing.T) {
	_, err := stage.New(stage.Classic(), stage.Options{Hooks: stage.Hooks{Enter: map[string][]stage.HookFunc{"MQL": {nil}}}})
	require.ErrorContains(t, err, `entry hook "MQL": hook 0 is nil`)

	no := errors.New("no")
	veto := func(context.Context, stage.Change) error { return no }
	exit := map[string][]stage.HookFunc{"SAL": {veto}}
	m, _ := newMachine(t, stage.Classic(), stage.Options{Hooks: stage.Hooks{
		Exit: exit,
		Enter: map[string][]stage.HookFunc{"Raw": {func(_ context.Context, c stage.Change) error {
			if c.ID == "blocked" {
				return no
			}
			return nil
		}}},
	}})
	// Changing the caller's map later does not change the machine.
	delete(exit, "SAL")

	// Veto on Start.
	_, err = m.Start(ctx, stage.Lead("blocked"), stage.StartOptions{})
	require.ErrorIs(t, err, stage.ErrVetoed)
	_, err = m.Get(ctx, stage.Lead("blocked"))
	require.ErrorIs(t, err, leadkit.ErrNotFound)

	// Exit-hook veto.
	_, err = m.Start(ctx, stage.Lead("L"), stage.StartOptions{Stage: "SAL"})
	require.NoError(t, err)
	_, err = m.Fire(ctx, stage.Lead("L"), "qualify_sql", stage.Request{})
	require.ErrorIs(t, err, stage.ErrVetoed)
	require.ErrorIs(t, err, no)
	rec, _ := m.Get(ctx, stage.Lead("L"))
	assert.Equal(t, "SAL", rec.Stage)
}

func TestVetoMidAdvanceKeepsStepsTaken(t *testing.T) {
	def := stage.Definition{
		Name: "v", Initial: "A",
		Facts:  map[string]leadkit.FieldType{"ok": leadkit.TypeBool},
		Stages: []stage.Stage{{Name: "A"}, {Name: "B"}, {Name: "C", Terminal: true}},
		Transitions: []stage.Transition{
			{Name: "ab", From: []string{"A"}, To: "B", Auto: true, Guard: "ok"},
			{Name: "bc", From: []string{"B"}, To: "C", Auto: true, Guard: "ok"},
		},
	}
	m, _ := newMachine(t, def, stage.Options{Hooks: stage.Hooks{Enter: map[string][]stage.HookFunc{
		"C": {func(context.Context, stage.Change) error { return errors.New("C is full") }},
	}}})
	_, err := m.Start(ctx, stage.Lead("L"), stage.StartOptions{})
	require.NoError(t, err)
	rec, n, err := m.Advance(ctx, stage.Lead("L"), stage.Facts{"ok": true}, stage.Request{})
	require.ErrorIs(t, err, stage.ErrVetoed)
	assert.Equal(t, 1, n)
	assert.Equal(t, "B", rec.Stage)
	got, _ := m.Get(ctx, stage.Lead("L"))
	assert.Equal(t, "B", got.Stage)
}

func TestWaterfallRecycleLoops(t *testing.T) {
	m, _ := newMachine(t, stage.Waterfall(), stage.Options{})
	l := stage.Lead("W")
	_, err := m.Start(ctx, l, stage.StartOptions{})
	require.NoError(t, err)
	path := []struct{ tr, reason, want string }{
		{"", "", "MQL"}, // auto
		{"accept", "", "SAL"},
		{"qualify_sql", "", "SQL"},
		{"sales_recycle", "timing", "SRL"},
		{"rework", "", "SAL"},
		{"sales_recycle", "no_budget", "SRL"},
		{"nurture", "", "MRL"},
		{"", "", "MQL"}, // MRL re-qualifies automatically
		{"accept", "", "SAL"}, {"qualify_sql", "", "SQL"}, {"meet", "", "TSM"},
		{"accept_opportunity", "", "SAO"}, {"advance_opportunity", "", "LSO"}, {"win", "", "Account"},
		{"churn", "price", "Churned"},
		{"renurture", "", "MRL"},
		{"disqualify", "duplicate", "Disqualified"},
	}
	for i, p := range path {
		var rec stage.Record
		if p.tr == "" {
			rec, _, err = m.Advance(ctx, l, stage.Facts{"score": 100}, stage.Request{})
		} else {
			rec, err = m.Fire(ctx, l, p.tr, stage.Request{Reason: p.reason})
		}
		require.NoError(t, err, "step %d %s", i, p.tr)
		assert.Equal(t, p.want, rec.Stage, "step %d %s", i, p.tr)
	}
	_, err = m.Fire(ctx, l, "renurture", stage.Request{})
	assert.ErrorIs(t, err, stage.ErrNotAllowed, "Disqualified is terminal")
}

func TestSubStatusClearAndNoop(t *testing.T) {
	m, _ := newMachine(t, stage.Classic(), stage.Options{})
	l := stage.Lead("S")
	_, err := m.Start(ctx, l, stage.StartOptions{Stage: "SAL"})
	require.NoError(t, err)
	rec, err := m.SetSubStatus(ctx, l, "contacted", stage.Request{})
	require.NoError(t, err)
	assert.Equal(t, int64(2), rec.Version)
	rec, err = m.SetSubStatus(ctx, l, "contacted", stage.Request{})
	require.NoError(t, err)
	assert.Equal(t, int64(2), rec.Version, "no change, no entry")
	rec, err = m.SetSubStatus(ctx, l, "", stage.Request{})
	require.NoError(t, err)
	assert.Empty(t, rec.SubStatus)
	assert.Equal(t, int64(3), rec.Version)
	h, _ := m.History(ctx, l)
	require.Len(t, h, 3)
	assert.Equal(t, stage.TriggerSubStatus, h[2].Trigger)
	assert.Empty(t, h[2].SubStatus)
}

func TestListFactCap(t *testing.T) {
	def := stage.Classic()
	def.Facts["tags"] = leadkit.TypeStrings
	m, _ := newMachine(t, def, stage.Options{})
	_, err := m.Explain("Raw", stage.Facts{"tags": make([]string, leadkit.MaxListItems+1)})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.Contains(t, err.Error(), "the limit is 1000")
}
