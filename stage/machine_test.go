package stage_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/stage"
	"github.com/leadkit/leadkit/storetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// clock is a settable fake time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var ctx = context.Background()

func newMachine(t *testing.T, def stage.Definition, opts stage.Options) (*stage.Machine, *clock) {
	t.Helper()
	c := newClock()
	if opts.Now == nil {
		opts.Now = c.Now
	}
	m, err := stage.New(def, opts)
	require.NoError(t, err)
	return m, c
}

func TestMemoryStoreConformance(t *testing.T) {
	storetest.Stage(t, func(*testing.T) stage.Store { return stage.NewMemoryStore() })
	// The suite takes a constructor without *testing.T too.
	t.Run("plain constructor", func(t *testing.T) {
		storetest.Stage(t, func() stage.Store { return stage.NewMemoryStore() })
	})
}

func TestPresetsCompile(t *testing.T) {
	for name, def := range map[string]stage.Definition{"classic": stage.Classic(), "waterfall": stage.Waterfall()} {
		m, err := stage.New(def, stage.Options{})
		require.NoError(t, err, name)
		assert.Equal(t, name, m.Pipeline())
	}
	assert.Len(t, stage.Waterfall().Stages, 12)
	assert.Len(t, stage.Classic().Stages, 9)
}

func TestLifecycle(t *testing.T) {
	m, clk := newMachine(t, stage.Classic(), stage.Options{})
	lead := stage.Lead("L1")

	rec, err := m.Start(ctx, lead, stage.StartOptions{Actor: "import"})
	require.NoError(t, err)
	assert.Equal(t, "Raw", rec.Stage)
	assert.Equal(t, int64(1), rec.Version)

	// Score too low: no move.
	clk.Advance(time.Hour)
	rec, n, err := m.Advance(ctx, lead, stage.Facts{"score": 40}, stage.Request{Actor: "scoring"})
	require.NoError(t, err)
	assert.Equal(t, 0, n)
	assert.Equal(t, "Raw", rec.Stage)

	// Score crosses 100 (int facts are converted to numbers).
	rec, n, err = m.Advance(ctx, lead, stage.Facts{"score": 120}, stage.Request{Actor: "scoring"})
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	assert.Equal(t, "MQL", rec.Stage)
	assert.Equal(t, int64(2), rec.Version)

	clk.Advance(24 * time.Hour)
	rec, err = m.Fire(ctx, lead, "accept", stage.Request{Actor: "ana", Version: 2, SubStatus: "contacted"})
	require.NoError(t, err)
	assert.Equal(t, "SAL", rec.Stage)
	assert.Equal(t, "contacted", rec.SubStatus)

	rec, err = m.SetSubStatus(ctx, lead, "meeting_set", stage.Request{Actor: "ana"})
	require.NoError(t, err)
	assert.Equal(t, "SAL", rec.Stage)
	assert.Equal(t, "meeting_set", rec.SubStatus)
	assert.Equal(t, int64(4), rec.Version)

	// Recycle needs a reason from the list.
	_, err = m.Fire(ctx, lead, "recycle", stage.Request{Actor: "ana"})
	require.ErrorIs(t, err, stage.ErrNotAllowed)
	rec, err = m.Fire(ctx, lead, "recycle", stage.Request{Actor: "ana", Reason: "not_ready", Note: "call in Q3"})
	require.NoError(t, err)
	assert.Equal(t, "Recycled", rec.Stage)
	assert.Empty(t, rec.SubStatus, "sub-status does not follow the lead into a new stage")

	h, err := m.History(ctx, lead)
	require.NoError(t, err)
	require.Len(t, h, 5)
	want := []struct {
		from, to, tr string
		trig         stage.Trigger
		actor        string
	}{
		{"", "Raw", "", stage.TriggerStart, "import"},
		{"Raw", "MQL", "qualify", stage.TriggerAuto, "scoring"},
		{"MQL", "SAL", "accept", stage.TriggerManual, "ana"},
		{"SAL", "SAL", "", stage.TriggerSubStatus, "ana"},
		{"SAL", "Recycled", "recycle", stage.TriggerManual, "ana"},
	}
	for i, w := range want {
		assert.Equal(t, int64(i+1), h[i].Version)
		assert.Equal(t, w.from, h[i].From, "entry %d", i)
		assert.Equal(t, w.to, h[i].To, "entry %d", i)
		assert.Equal(t, w.tr, h[i].Transition, "entry %d", i)
		assert.Equal(t, w.trig, h[i].Trigger, "entry %d", i)
		assert.Equal(t, w.actor, h[i].Actor, "entry %d", i)
	}
	assert.Equal(t, "not_ready", h[4].Reason)
	assert.Equal(t, "call in Q3", h[4].Note)

	// A recycled lead re-qualifies automatically.
	rec, _, err = m.Advance(ctx, lead, stage.Facts{"score": 150.0}, stage.Request{})
	require.NoError(t, err)
	assert.Equal(t, "MQL", rec.Stage)
}

func TestErrorsWrapSentinelsAndWriteNothing(t *testing.T) {
	vetoed := errors.New("owner missing")
	m, _ := newMachine(t, stage.Classic(), stage.Options{Hooks: stage.Hooks{
		Enter: map[string][]stage.HookFunc{"Opportunity": {func(context.Context, stage.Change) error { return vetoed }}},
	}})
	lead := stage.Lead("L1")
	_, err := m.Start(ctx, lead, stage.StartOptions{})
	require.NoError(t, err)

	cases := []struct {
		name string
		do   func() error
		is   []error
	}{
		{"unknown lead", func() error {
			_, err := m.Fire(ctx, stage.Lead("nobody"), "accept", stage.Request{})
			return err
		}, []error{leadkit.ErrNotFound}},
		{"unknown transition", func() error {
			_, err := m.Fire(ctx, lead, "teleport", stage.Request{})
			return err
		}, []error{stage.ErrUnknownTransition, leadkit.ErrInvalid}},
		{"not allowed from current stage", func() error {
			_, err := m.Fire(ctx, lead, "win", stage.Request{})
			return err
		}, []error{stage.ErrNotAllowed, leadkit.ErrInvalid}},
		{"stale version", func() error {
			_, err := m.Fire(ctx, lead, "disqualify", stage.Request{Version: 7, Reason: "spam"})
			return err
		}, []error{leadkit.ErrConflict}},
		{"reason not in list", func() error {
			_, err := m.Fire(ctx, lead, "disqualify", stage.Request{Reason: "bored"})
			return err
		}, []error{stage.ErrNotAllowed, leadkit.ErrInvalid}},
		{"manual fire of a guarded transition with low facts", func() error {
			_, err := m.Fire(ctx, lead, "qualify", stage.Request{Facts: stage.Facts{"score": 3}})
			return err
		}, []error{stage.ErrGuardFailed, leadkit.ErrInvalid}},
		{"wrongly typed fact", func() error {
			_, _, err := m.Advance(ctx, lead, stage.Facts{"score": "high"}, stage.Request{})
			return err
		}, []error{stage.ErrGuardFailed}},
		{"unknown sub-status", func() error {
			_, err := m.SetSubStatus(ctx, lead, "sleeping", stage.Request{})
			return err
		}, []error{stage.ErrNotAllowed}},
		{"already started", func() error {
			_, err := m.Start(ctx, lead, stage.StartOptions{})
			return err
		}, []error{leadkit.ErrConflict}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.do()
			require.Error(t, err)
			for _, target := range c.is {
				assert.ErrorIs(t, err, target)
			}
			if c.name != "unknown lead" {
				assert.NotErrorIs(t, err, leadkit.ErrNotFound, "only an unknown subject is not found")
			}
			assert.True(t, strings.HasPrefix(err.Error(), "stage: "), err.Error())
		})
	}
	rec, err := m.Get(ctx, lead)
	require.NoError(t, err)
	assert.Equal(t, "Raw", rec.Stage)
	assert.Equal(t, int64(1), rec.Version)
	h, _ := m.History(ctx, lead)
	assert.Len(t, h, 1, "no failed change left a trace")

	// The veto hook: move the lead to SQL, then try to create an opportunity.
	_, _, err = m.Advance(ctx, lead, stage.Facts{"score": 100}, stage.Request{})
	require.NoError(t, err)
	_, err = m.Fire(ctx, lead, "accept", stage.Request{})
	require.NoError(t, err)
	_, err = m.Fire(ctx, lead, "qualify_sql", stage.Request{})
	require.NoError(t, err)
	_, err = m.Fire(ctx, lead, "create_opportunity", stage.Request{})
	require.ErrorIs(t, err, stage.ErrVetoed)
	require.ErrorIs(t, err, vetoed)
	var te *stage.TransitionError
	require.ErrorAs(t, err, &te)
	assert.Equal(t, "create_opportunity", te.Transition)
	assert.Equal(t, "SQL", te.From)
	assert.Equal(t, "Opportunity", te.To)
	rec, _ = m.Get(ctx, lead)
	assert.Equal(t, "SQL", rec.Stage)
}

func TestHooksOrderAndOnCommit(t *testing.T) {
	var mu sync.Mutex
	var calls []string
	rec := func(name string) stage.HookFunc {
		return func(_ context.Context, c stage.Change) error {
			mu.Lock()
			defer mu.Unlock()
			calls = append(calls, name+":"+c.From+">"+c.To)
			return nil
		}
	}
	var committed []stage.Change
	m, _ := newMachine(t, stage.Classic(), stage.Options{
		Hooks: stage.Hooks{
			Exit:  map[string][]stage.HookFunc{"Raw": {rec("exitRaw")}, "*": {rec("exitAny")}},
			Enter: map[string][]stage.HookFunc{"MQL": {rec("enterMQL")}, "*": {rec("enterAny")}},
		},
		OnCommit: func(_ context.Context, c stage.Change) { committed = append(committed, c) },
	})
	_, err := m.Start(ctx, stage.Lead("L"), stage.StartOptions{})
	require.NoError(t, err)
	_, _, err = m.Advance(ctx, stage.Lead("L"), stage.Facts{"score": 500, "grade": "A"}, stage.Request{})
	require.NoError(t, err)
	assert.Equal(t, []string{
		"enterAny:>Raw",
		"exitRaw:Raw>MQL", "exitAny:Raw>MQL", "enterMQL:Raw>MQL", "enterAny:Raw>MQL",
	}, calls)
	require.Len(t, committed, 2)
	assert.Equal(t, 500, committed[1].Facts["score"])
}

func TestAdvanceChainsAndForwardOnly(t *testing.T) {
	def := stage.Definition{
		Name:    "chain",
		Initial: "A",
		Facts:   map[string]leadkit.FieldType{"score": leadkit.TypeNumber, "tags": leadkit.TypeStrings, "vip": leadkit.TypeBool},
		Stages:  []stage.Stage{{Name: "A"}, {Name: "B"}, {Name: "C"}, {Name: "D", Terminal: true}},
		Transitions: []stage.Transition{
			{Name: "ab", From: []string{"A"}, To: "B", Auto: true, Guard: "score >= 10"},
			{Name: "bc", From: []string{"B"}, To: "C", Auto: true, Guard: `score >= 20 || "vip" in tags`},
			{Name: "back", From: []string{"*"}, To: "A", Auto: true, Guard: "score < 0"},
			{Name: "toB", From: []string{"*"}, To: "B", Auto: true, Guard: "score >= 10", ForwardOnly: true},
			{Name: "cd", From: []string{"C"}, To: "D", Auto: true, Guard: "vip"},
		},
	}
	m, _ := newMachine(t, def, stage.Options{})
	l := stage.Lead("x")
	_, err := m.Start(ctx, l, stage.StartOptions{})
	require.NoError(t, err)
	rec, n, err := m.Advance(ctx, l, stage.Facts{"score": 25}, stage.Request{})
	require.NoError(t, err)
	assert.Equal(t, 2, n, "A -> B -> C in one call")
	assert.Equal(t, "C", rec.Stage)
	// toB is forward-only: from C it would move back, so it is skipped and
	// nothing else holds.
	rec, n, err = m.Advance(ctx, l, stage.Facts{"score": 15}, stage.Request{})
	require.NoError(t, err)
	assert.Equal(t, 0, n)
	assert.Equal(t, "C", rec.Stage)
	// Firing it by hand is refused too.
	_, err = m.Fire(ctx, l, "toB", stage.Request{Facts: stage.Facts{"score": 15}})
	require.ErrorIs(t, err, stage.ErrNotAllowed)
	// A transition without forward-only does move back.
	rec, n, err = m.Advance(ctx, l, stage.Facts{"score": -1}, stage.Request{})
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	assert.Equal(t, "A", rec.Stage)
	// The cap on chained steps: with MaxAutoSteps 2 the lead goes A -> B ->
	// C, and Advance says it stopped while cd was still ready.
	m2, _ := newMachine(t, def, stage.Options{MaxAutoSteps: 2})
	_, err = m2.Start(ctx, l, stage.StartOptions{})
	require.NoError(t, err)
	rec, n, err = m2.Advance(ctx, l, stage.Facts{"score": 5, "tags": []any{"vip"}, "vip": true}, stage.Request{})
	require.NoError(t, err)
	assert.Equal(t, 0, n, "score 5 does not pass ab")
	rec, n, err = m2.Advance(ctx, l, stage.Facts{"score": 10, "tags": []any{"vip"}, "vip": true}, stage.Request{})
	require.ErrorIs(t, err, stage.ErrNotAllowed)
	assert.Contains(t, err.Error(), "MaxAutoSteps (2)")
	assert.Equal(t, 2, n)
	assert.Equal(t, "C", rec.Stage, "the steps taken stay committed")
	got, _ := m2.Get(ctx, l)
	assert.Equal(t, "C", got.Stage)
}

func TestAdvanceRefusesAutomaticLoops(t *testing.T) {
	def := stage.Definition{
		Name: "loop", Initial: "A",
		Facts:  map[string]leadkit.FieldType{"on": leadkit.TypeBool},
		Stages: []stage.Stage{{Name: "A"}, {Name: "B"}, {Name: "End", Terminal: true}},
		Transitions: []stage.Transition{
			{Name: "ab", From: []string{"A"}, To: "B", Auto: true, Guard: "on"},
			{Name: "ba", From: []string{"B"}, To: "A", Auto: true, Guard: "on"},
			{Name: "end", From: []string{"A", "B"}, To: "End"},
		},
	}
	m, _ := newMachine(t, def, stage.Options{MaxAutoSteps: 1000})
	l := stage.Lead("x")
	_, err := m.Start(ctx, l, stage.StartOptions{})
	require.NoError(t, err)
	rec, n, err := m.Advance(ctx, l, stage.Facts{"on": true}, stage.Request{})
	require.ErrorIs(t, err, stage.ErrNotAllowed)
	assert.Contains(t, err.Error(), "automatic transitions loop: A -> B -> A")
	assert.Equal(t, 1, n)
	assert.Equal(t, "B", rec.Stage)
	h, _ := m.History(ctx, l)
	assert.Len(t, h, 2, "one step, not a thousand")
}

func TestExplainWhyNotYet(t *testing.T) {
	def := stage.Classic()
	def.Transitions[0].Guard = `score >= 100 && grade in ["A","B"] && (fit > 50 || engaged)`
	def.Facts["fit"] = leadkit.TypeNumber
	def.Facts["engaged"] = leadkit.TypeBool
	m, _ := newMachine(t, def, stage.Options{})

	ex, err := m.Explain("Raw", stage.Facts{"score": 120, "grade": "C", "fit": 10, "engaged": false})
	require.NoError(t, err)
	require.Len(t, ex, 1)
	assert.Equal(t, "qualify", ex[0].Transition)
	assert.False(t, ex[0].Ready)
	require.Len(t, ex[0].Blocked, 3, "grade, and both parts of the false or")
	assert.Equal(t, `grade in ["A", "B"]`, ex[0].Blocked[0].Expr)
	assert.Equal(t, "C", ex[0].Blocked[0].Facts["grade"])
	assert.Equal(t, "fit > 50", ex[0].Blocked[1].Expr)
	assert.Equal(t, 10.0, ex[0].Blocked[1].Facts["fit"])
	assert.Equal(t, "engaged", ex[0].Blocked[2].Expr)

	// A true "or" blocks nothing; only the score is missing.
	ex, err = m.Explain("Raw", stage.Facts{"score": 90, "grade": "A", "fit": 10, "engaged": true})
	require.NoError(t, err)
	require.Len(t, ex[0].Blocked, 1)
	assert.Equal(t, "score >= 100", ex[0].Blocked[0].Expr)
	assert.Equal(t, 90.0, ex[0].Blocked[0].Facts["score"])

	ex, err = m.Explain("Raw", stage.Facts{"score": 100, "grade": "B", "fit": 60})
	require.NoError(t, err)
	assert.True(t, ex[0].Ready)
	assert.Empty(t, ex[0].Blocked)

	_, err = m.Start(ctx, stage.Lead("L"), stage.StartOptions{})
	require.NoError(t, err)
	ex, err = m.WhyNotYet(ctx, stage.Lead("L"), stage.Facts{"score": 1})
	require.NoError(t, err)
	require.Len(t, ex, 1)
	assert.False(t, ex[0].Ready)

	_, err = m.Explain("Nowhere", nil)
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
	_, err = m.WhyNotYet(ctx, stage.Lead("ghost"), nil)
	assert.ErrorIs(t, err, leadkit.ErrNotFound)
}

func TestRuntimeGuardErrorNamesTransition(t *testing.T) {
	def := stage.Definition{
		Name: "p", Initial: "A",
		Facts:  map[string]leadkit.FieldType{"n": leadkit.TypeNumber},
		Stages: []stage.Stage{{Name: "A"}, {Name: "B", Terminal: true}},
		Transitions: []stage.Transition{
			// Builds a list far over the memory budget: a runtime error.
			{Name: "heavy", From: []string{"A"}, To: "B", Auto: true, Guard: "len(map(1..int(n), # * 2)) > 0"},
		},
	}
	m, _ := newMachine(t, def, stage.Options{GuardMemoryBudget: 1000})
	_, err := m.Start(ctx, stage.Lead("L"), stage.StartOptions{})
	require.NoError(t, err)
	_, _, err = m.Advance(ctx, stage.Lead("L"), stage.Facts{"n": 1e6}, stage.Request{})
	require.Error(t, err)
	assert.ErrorIs(t, err, stage.ErrGuardFailed)
	assert.Contains(t, err.Error(), `transition "heavy"`)
	assert.Contains(t, err.Error(), "memory budget")
	rec, _ := m.Get(ctx, stage.Lead("L"))
	assert.Equal(t, "A", rec.Stage)
}

func TestPipelinesSideBySide(t *testing.T) {
	store := stage.NewMemoryStore()
	nb, _ := newMachine(t, stage.Classic(), stage.Options{Store: store})
	expDef := stage.Classic()
	expDef.Name = "expansion"
	exp, _ := newMachine(t, expDef, stage.Options{Store: store})
	acct := stage.Account("acme")
	_, err := nb.Start(ctx, acct, stage.StartOptions{Stage: "Opportunity"})
	require.NoError(t, err)
	_, err = exp.Start(ctx, acct, stage.StartOptions{})
	require.NoError(t, err)
	_, err = nb.Fire(ctx, acct, "win", stage.Request{})
	require.NoError(t, err)
	a, _ := nb.Get(ctx, acct)
	b, _ := exp.Get(ctx, acct)
	assert.Equal(t, "Won", a.Stage)
	assert.Equal(t, "Raw", b.Stage)
	// A lead with the same ID is a different subject.
	_, err = nb.Get(ctx, stage.Lead("acme"))
	assert.ErrorIs(t, err, leadkit.ErrNotFound)
}

func TestStaysAndOverdue(t *testing.T) {
	m, clk := newMachine(t, stage.Classic(), stage.Options{})
	t0 := clk.Now()
	for _, id := range []string{"a", "b", "c"} {
		_, err := m.Start(ctx, stage.Lead(id), stage.StartOptions{})
		require.NoError(t, err)
		_, _, err = m.Advance(ctx, stage.Lead(id), stage.Facts{"score": 100}, stage.Request{})
		require.NoError(t, err)
	}
	clk.Advance(24 * time.Hour)
	_, err := m.Fire(ctx, stage.Lead("a"), "accept", stage.Request{}) // MQL 1 day: within the 2-day SLA
	require.NoError(t, err)
	clk.Advance(48 * time.Hour)
	_, err = m.SetSubStatus(ctx, stage.Lead("a"), "contacted", stage.Request{})
	require.NoError(t, err)

	now := t0.Add(4 * 24 * time.Hour)
	od, err := m.Overdue(ctx, now)
	require.NoError(t, err)
	// b and c have been MQL for 4 days (SLA 2 days); a is SAL for 3 days (SLA 7).
	require.Len(t, od, 2)
	assert.Equal(t, "b", od[0].Record.ID)
	assert.Equal(t, "c", od[1].Record.ID)
	assert.Equal(t, leadkit.Duration(2*24*time.Hour), od[0].Over)
	assert.Equal(t, leadkit.Duration(4*24*time.Hour), od[0].InStage)

	h, _ := m.History(ctx, stage.Lead("a"))
	stays := m.Stays(h, now)
	require.Len(t, stays, 3, "the sub-status change does not end the SAL stay")
	assert.Equal(t, "Raw", stays[0].Stage)
	assert.Equal(t, leadkit.Duration(0), stays[0].Duration)
	assert.Equal(t, "MQL", stays[1].Stage)
	assert.Equal(t, leadkit.Duration(24*time.Hour), stays[1].Duration)
	assert.False(t, stays[1].Breached)
	assert.Equal(t, "SAL", stays[2].Stage)
	assert.True(t, stays[2].Left.IsZero())
	assert.Equal(t, leadkit.Duration(3*24*time.Hour), stays[2].Duration)

	hb, _ := m.History(ctx, stage.Lead("b"))
	sb := m.Stays(hb, now)
	assert.True(t, sb[1].Breached)
	tis := m.TimeInStage(hb, now)
	assert.Equal(t, 4*24*time.Hour, tis["MQL"])
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

// Request.At records a change at the time it happened (imports, replays):
// the history keeps it, guards measure daysSince to it, and a time before
// the record's latest change is refused without writing anything.
func TestRequestAt(t *testing.T) {
	m, clk := newMachine(t, stage.Classic(), stage.Options{})
	start := clk.Now().Add(-30 * 24 * time.Hour)
	_, err := m.Start(ctx, stage.Lead("imp"), stage.StartOptions{At: start})
	require.NoError(t, err)

	mql := start.Add(5 * 24 * time.Hour)
	rec, n, err := m.Advance(ctx, stage.Lead("imp"), stage.Facts{"score": 150, "grade": "A"}, stage.Request{At: mql})
	require.NoError(t, err)
	require.Equal(t, 1, n)
	assert.Equal(t, "MQL", rec.Stage)
	assert.True(t, rec.EnteredAt.Equal(mql), "entered at the requested time, not now (%v)", rec.EnteredAt)

	// Back before the latest change: refused, nothing written.
	_, err = m.Fire(ctx, stage.Lead("imp"), "accept", stage.Request{At: mql.Add(-time.Hour), Actor: "import"})
	require.Error(t, err)
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.ErrorContains(t, err, "before the record's latest change")
	_, err = m.Fire(ctx, stage.Lead("imp"), "accept", stage.Request{At: time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)})
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
	h, err := m.History(ctx, stage.Lead("imp"))
	require.NoError(t, err)
	require.Len(t, h, 2)

	// At the same time as the latest change, and later: recorded as given.
	sal := mql.Add(2 * 24 * time.Hour)
	rec, err = m.Fire(ctx, stage.Lead("imp"), "accept", stage.Request{At: sal, Actor: "import"})
	require.NoError(t, err)
	h, err = m.History(ctx, stage.Lead("imp"))
	require.NoError(t, err)
	require.Len(t, h, 3)
	assert.True(t, h[2].At.Equal(sal))
	assert.True(t, rec.UpdatedAt.Equal(sal))
	_, err = m.SetSubStatus(ctx, stage.Lead("imp"), rec.SubStatus, stage.Request{At: sal.Add(-time.Minute)})
	require.NoError(t, err, "no change, nothing checked or written")
}

// A history never goes out of time order: a future Request.At or
// StartOptions.At is refused (before hooks run), and a machine whose clock
// is behind the record's latest change (another host's clock) records the
// change at that time, not before it.
func TestHistoryStaysInTimeOrder(t *testing.T) {
	store := stage.NewMemoryStore()
	ahead, _ := newMachine(t, stage.Classic(), stage.Options{Store: store})
	behind, clk := newMachine(t, stage.Classic(), stage.Options{Store: store})
	clk.Advance(-2 * time.Hour)
	lead := stage.Lead("L")

	hooked := 0
	hooks, _ := newMachine(t, stage.Classic(), stage.Options{Hooks: stage.Hooks{Enter: map[string][]stage.HookFunc{"*": {func(context.Context, stage.Change) error { hooked++; return nil }}}}})
	_, err := hooks.Start(ctx, lead, stage.StartOptions{At: time.Now().Add(365 * 24 * time.Hour)})
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.ErrorContains(t, err, "in the future")
	assert.Zero(t, hooked, "refused before any hook runs")

	_, err = ahead.Start(ctx, lead, stage.StartOptions{})
	require.NoError(t, err)
	_, _, err = ahead.Advance(ctx, lead, stage.Facts{"score": 120}, stage.Request{At: newClock().Now().Add(time.Minute)})
	assert.ErrorContains(t, err, "in the future")
	rec, err := behind.Fire(ctx, lead, "disqualify", stage.Request{Reason: "spam"})
	require.NoError(t, err)
	h, err := behind.History(ctx, lead)
	require.NoError(t, err)
	require.Len(t, h, 2)
	assert.False(t, h[1].At.Before(h[0].At), "entry 2 at %v, entry 1 at %v", h[1].At, h[0].At)
	assert.Equal(t, h[0].At, rec.UpdatedAt)
}
