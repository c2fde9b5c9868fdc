package lifecycle_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/lifecycle"
	"github.com/leadkit/leadkit/stage"
)

// A CRM import: a lead the engine did not see graduate, already an SQL,
// with a history of events stored before; without a pool, unknown
// subjects are refused, so leads only come in this way.
func TestAddLead(t *testing.T) {
	p := newParts(t)
	m, err := stage.New(stage.Classic(), stage.Options{Store: p.stages, Now: func() time.Time { return now }})
	require.NoError(t, err)
	e, err := lifecycle.New(nil, p.model, m, p.events, lifecycle.Options{States: p.states, Unknown: lifecycle.UnknownRefuse, Now: func() time.Time { return now },
		Facts: map[string]string{"score": "total", "grade": "fit_band"}})
	require.NoError(t, err)
	_, err = e.Ingest(ctx, ev("e1", "crm-7", "webinar_attended", t0))
	require.ErrorIs(t, err, leadkit.ErrInvalid, "unknown subjects are refused")

	_, err = p.events.Append(ctx, ev("old1", "crm-7", "download", t0.Add(-hours(48))))
	require.NoError(t, err)
	lead := leadkit.Lead{ID: "crm-7", CreatedAt: t0.Add(-hours(24)), Person: leadkit.Person{Seniority: "vp"}}
	cs, err := e.AddLead(ctx, lead, "SQL")
	require.NoError(t, err)
	require.Equal(t, []string{"graduated"}, kinds(cs))
	assert.Equal(t, "SQL", cs[0].Stage.To)
	assert.Empty(t, cs[0].Graduation.ProspectID)
	st, err := p.states.Get(ctx, "crm-7")
	require.NoError(t, err)
	assert.Equal(t, 1, st.Events, "its stored history is scored")
	assert.Equal(t, "vp", st.Lead.Person.Seniority)

	_, err = e.Ingest(ctx, ev("e2", "crm-7", "page_view", t0))
	require.NoError(t, err, "now a lead: its events count")
	_, err = e.AddLead(ctx, lead, "")
	assert.ErrorIs(t, err, leadkit.ErrConflict)
	_, err = e.AddLead(ctx, leadkit.Lead{ID: "x", Person: leadkit.Person{Title: "a\x00b"}}, "")
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
	_, err = e.AddLead(ctx, leadkit.Lead{ID: "y"}, "Nowhere")
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
}

// Erase removes the lead's profile from its state and its prospect from
// the pool; scores and stages stay for the funnels.
func TestErase(t *testing.T) {
	p, e := engineWithPolicy(t, emailPolicy, lifecycle.Options{Observe: observeEmail})
	f := ev("f", "v1", "form_submit", t0)
	f.Attrs = map[string]any{"email": "ana@acme.com", "title": "CTO"}
	_, err := e.Ingest(ctx, f)
	require.NoError(t, err)
	require.NoError(t, e.Erase(ctx, "v1"))
	require.NoError(t, e.Erase(ctx, "v1"), "again: nothing to do")
	require.NoError(t, e.Erase(ctx, "nobody"))
	st, err := p.states.Get(ctx, "v1")
	require.NoError(t, err)
	assert.Equal(t, leadkit.Person{}, st.Lead.Person)
	assert.Equal(t, t0, st.Lead.CreatedAt)
	found, err := p.pstore.Find(ctx, []string{"email:ana@acme.com"})
	require.NoError(t, err)
	assert.Empty(t, found, "the e-mail is released")
	_, err = p.machine.Get(ctx, stage.Lead("v1"))
	require.NoError(t, err, "the stage record stays")
}

// A lead the CRM started in the stage machine already is not added over.
func TestAddLeadOverAStageRecord(t *testing.T) {
	p := newParts(t)
	e := p.engine(t, lifecycle.Options{})
	_, err := p.machine.Start(ctx, stage.Lead("crm-9"), stage.StartOptions{At: t0})
	require.NoError(t, err)
	_, err = e.AddLead(ctx, leadkit.Lead{ID: "crm-9", CreatedAt: t0.Add(-hours(100))}, "SQL")
	require.ErrorIs(t, err, leadkit.ErrConflict)
	assert.Contains(t, err.Error(), "stage record")
}

// A definition whose automatic transitions loop is a lasting problem: the
// error does not say retry, and the lead's events still count.
func TestLastingStageProblems(t *testing.T) {
	p := newParts(t)
	def := stage.Classic()
	def.Stages = append(def.Stages, stage.Stage{Name: "Hot", Category: stage.Marketing})
	def.Transitions = append(def.Transitions,
		stage.Transition{Name: "heat", From: []string{"MQL"}, To: "Hot", Auto: true, Guard: "score >= 100"},
		stage.Transition{Name: "cool", From: []string{"Hot"}, To: "MQL", Auto: true, Guard: "score >= 100"})
	m, err := stage.New(def, stage.Options{Store: p.stages, Now: func() time.Time { return now }})
	require.NoError(t, err)
	e, err := lifecycle.New(nil, p.model, m, p.events, lifecycle.Options{States: p.states, Now: func() time.Time { return now },
		Facts: map[string]string{"score": "total", "grade": "fit_band"}})
	require.NoError(t, err)
	_, err = e.Ingest(ctx, ev("e1", "v1", "webinar_attended", t0), ev("e2", "v1", "webinar_attended", t0.Add(hours(1))), ev("e3", "v1", "download", t0.Add(hours(2))))
	var le *lifecycle.LeadError
	require.ErrorAs(t, err, &le)
	assert.False(t, le.Retry, "%v", err)
	st, err := p.states.Get(ctx, "v1")
	require.NoError(t, err)
	assert.Equal(t, 3, st.Events)
}

// A lead imported after its events were stored is evaluated at its
// creation: a history that already qualifies it makes it an MQL then.
func TestAddLeadEvaluatesAtCreation(t *testing.T) {
	p := newParts(t)
	e := p.engine(t, lifecycle.Options{Unknown: lifecycle.UnknownRefuse})
	_, err := p.events.Append(ctx, ev("w", "crm-8", "webinar_attended", t0), ev("d1", "crm-8", "download", t0.Add(time.Minute)),
		ev("d2", "crm-8", "download", t0.Add(2*time.Minute)), ev("d3", "crm-8", "download", t0.Add(3*time.Minute)))
	require.NoError(t, err)
	cs, err := e.AddLead(ctx, leadkit.Lead{ID: "crm-8", CreatedAt: t0.Add(time.Hour)}, "")
	require.NoError(t, err)
	assert.Equal(t, []string{"graduated", "crossed:mql", "staged:MQL"}, kinds(cs))
	assert.Equal(t, t0.Add(time.Hour), cs[2].At)
}
