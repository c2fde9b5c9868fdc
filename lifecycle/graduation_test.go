package lifecycle_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/lifecycle"
	"github.com/leadkit/leadkit/pool"
	"github.com/leadkit/leadkit/stage"
)

// emailPolicy graduates a prospect with an e-mail and a touch.
const emailPolicy = `
conditions:
  - {name: reachable, when: 'prospect.has_email'}
  - {name: engaged, when: 'prospect.touches_90d >= 1'}
`

func engineWithPolicy(t *testing.T, policy string, o lifecycle.Options) (*parts, *lifecycle.Engine) {
	t.Helper()
	p := newParts(t)
	pol, err := pool.ParsePolicy([]byte(policy))
	require.NoError(t, err)
	n := 0
	pl, err := pool.New(pool.Options{Store: p.pstore, Policy: pol, Now: func() time.Time { return now }, NewID: func() string { n++; return fmt.Sprintf("p%d", n) }})
	require.NoError(t, err)
	m, err := stage.New(stage.Classic(), stage.Options{Store: p.stages, Now: func() time.Time { return now }})
	require.NoError(t, err)
	p.pool, p.machine = pl, m
	o.States, o.Now = p.states, func() time.Time { return now }
	o.Facts = map[string]string{"score": "total", "grade": "fit_band"}
	e, err := lifecycle.New(pl, p.model, m, p.events, o)
	require.NoError(t, err)
	return p, e
}

// observeEmail adds the e-mail a form fill carries, as the Observe hook
// is meant to.
func observeEmail(_ context.Context, ev leadkit.Event, obs *pool.Observation) error {
	if s, ok := ev.Attrs["email"].(string); ok {
		obs.Identities = append(obs.Identities, pool.Identity{Kind: pool.Email, Value: s})
	}
	if s, ok := ev.Attrs["title"].(string); ok {
		obs.Person.Title = s
	}
	if s, ok := ev.Attrs["seniority"].(string); ok {
		obs.Person.Seniority = s
	}
	return nil
}

// A prospect graduates when the lead definition holds on what the pool
// knew at that time: the e-mail given at 19:00 does not make it a lead at
// its 09:00 page view, however the events are split into calls.
func TestGraduationOnWhatWasKnownThen(t *testing.T) {
	pv := ev("pv", "v1", "page_view", t0)
	form := ev("form", "v1", "form_submit", t0.Add(hours(10)))
	form.Attrs = map[string]any{"email": "ana@acme.com"}
	for name, batches := range map[string][][]leadkit.Event{
		"one by one": {{pv}, {form}},
		"one call":   {{pv, form}},
		"reversed":   {{form}, {pv}},
	} {
		p, e := engineWithPolicy(t, emailPolicy, lifecycle.Options{Observe: observeEmail})
		for _, b := range batches {
			_, err := e.Ingest(ctx, b...)
			require.NoError(t, err, name)
		}
		st, err := p.states.Get(ctx, "v1")
		require.NoError(t, err, name)
		assert.Equal(t, t0.Add(hours(10)), st.Lead.CreatedAt, name)
		assert.Equal(t, "web", st.Lead.Source, "%s: the source of the earliest event", name)
	}
}

// One person on two devices gives one e-mail: the pool refuses to merge
// two subjects; that observation is its event's error, and the subject
// still graduates on its other events in the same call.
func TestRefusedObservationDoesNotBlockGraduation(t *testing.T) {
	p, e := engineWithPolicy(t, emailPolicy, lifecycle.Options{Observe: observeEmail})
	f1 := ev("f1", "laptop", "form_submit", t0)
	f1.Attrs = map[string]any{"email": "ana@acme.com"}
	_, err := e.Ingest(ctx, f1)
	require.NoError(t, err)
	f2 := ev("f2", "phone", "form_submit", t0.Add(hours(2)))
	f2.Attrs = map[string]any{"email": "ana@acme.com"}
	cs, err := e.Ingest(ctx, ev("pv", "phone", "page_view", t0.Add(hours(1))), f2)
	require.Error(t, err)
	var ee *lifecycle.EventError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, 1, ee.Index)
	assert.Equal(t, "f2", ee.ID)
	assert.Contains(t, err.Error(), "different subject IDs")
	// phone has no e-mail of its own: no graduation, but its events count.
	assert.Empty(t, kinds(cs))
	evs, err := p.events.Events(ctx, "phone", time.Time{}, time.Time{})
	require.NoError(t, err)
	assert.Len(t, evs, 2)

	// A bad identity the hook adds is that event's error too; the good
	// event of the call graduates the prospect.
	p, e = engineWithPolicy(t, emailPolicy, lifecycle.Options{Observe: func(ctx context.Context, ev leadkit.Event, obs *pool.Observation) error {
		if ev.ID == "bad" {
			obs.Identities = append(obs.Identities, pool.Identity{Kind: "mobile", Value: "1"})
		}
		return observeEmail(ctx, ev, obs)
	}})
	good := ev("good", "v1", "form_submit", t0.Add(hours(1)))
	good.Attrs = map[string]any{"email": "bo@acme.com"}
	cs, err = e.Ingest(ctx, ev("bad", "v1", "page_view", t0), good)
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, "bad", ee.ID)
	assert.Equal(t, []string{"graduated"}, kinds(cs))
	_, err = p.machine.Get(ctx, stage.Lead("v1"))
	require.NoError(t, err)
}

// A subject merged into a prospect that another system graduated under
// another ID cannot become the engine's lead: a lasting error, no lead
// started under either ID, however often the events come.
func TestSubjectOfALeadMadeElsewhere(t *testing.T) {
	p, e := engineWithPolicy(t, emailPolicy, lifecycle.Options{Observe: observeEmail})
	named, err := pool.New(pool.Options{Store: p.pstore, LeadID: func(pr pool.Prospect) string { return "crm-" + pr.ID }})
	require.NoError(t, err)
	pr, _, err := named.Upsert(ctx, pool.Observation{ID: "import", At: t0, Identities: []pool.Identity{{Kind: pool.Email, Value: "ana@acme.com"}}, Touch: true})
	require.NoError(t, err)
	_, ok, err := named.Qualify(ctx, pr.ID, t0)
	require.NoError(t, err)
	require.True(t, ok)
	f := ev("f", "web1", "form_submit", t0.Add(hours(1)))
	f.Attrs = map[string]any{"email": "ana@acme.com"}
	for range 2 {
		cs, err := e.Ingest(ctx, f)
		var le *lifecycle.LeadError
		require.ErrorAs(t, err, &le)
		assert.False(t, le.Retry)
		assert.Contains(t, err.Error(), fmt.Sprintf("became lead %q outside this engine", "crm-"+pr.ID))
		assert.Empty(t, cs)
	}
	for _, id := range []string{"web1", "crm-" + pr.ID} {
		_, err := p.machine.Get(ctx, stage.Lead(id))
		assert.ErrorIs(t, err, leadkit.ErrNotFound, id)
	}
}

// Events dated after now: the lead is created, and its stages recorded,
// at now, not in the future.
func TestFutureEvents(t *testing.T) {
	p := newParts(t)
	e := p.engine(t, lifecycle.Options{})
	later := now.AddDate(5, 0, 0)
	_, err := e.Ingest(ctx, ev("e1", "v1", "page_view", later), ev("e2", "v1", "webinar_attended", later.Add(time.Hour)))
	require.NoError(t, err)
	st, err := p.states.Get(ctx, "v1")
	require.NoError(t, err)
	assert.Equal(t, now, st.Lead.CreatedAt)
	h, err := p.machine.History(ctx, stage.Lead("v1"))
	require.NoError(t, err)
	assert.Equal(t, now, h[0].At)
}

// A lead's profile follows what its events say (Options.Observe): fit
// rules read the new seniority from the event on.
func TestLeadProfileUpdates(t *testing.T) {
	p, e := engineWithPolicy(t, emailPolicy, lifecycle.Options{Observe: observeEmail})
	f := ev("f", "v1", "form_submit", t0)
	f.Attrs = map[string]any{"email": "ana@acme.com"}
	_, err := e.Ingest(ctx, f)
	require.NoError(t, err)
	u := ev("u", "v1", "form_submit", t0.Add(hours(1)))
	u.Attrs = map[string]any{"title": "VP Marketing", "seniority": "vp"}
	_, err = e.Ingest(ctx, u)
	require.NoError(t, err)
	st, err := p.states.Get(ctx, "v1")
	require.NoError(t, err)
	assert.Equal(t, "vp", st.Lead.Person.Seniority)
	assert.Equal(t, "VP Marketing", st.Lead.Person.Title)
	res, err := p.model.Score(scoringInputAt(st, now))
	require.NoError(t, err)
	d, _ := res.Dimension("fit")
	assert.Equal(t, 25.0, d.Score, "the senior rule counts")
}

// Profile updates follow event time, not arrival: a redelivered or late
// event does not overwrite what a newer one set, and an erasure holds
// against redeliveries.
func TestProfileUpdatesFollowEventTime(t *testing.T) {
	p, e := engineWithPolicy(t, emailPolicy, lifecycle.Options{Observe: observeEmail})
	old := ev("old", "v1", "form_submit", t0)
	old.Attrs = map[string]any{"email": "ana@acme.com", "title": "Analyst", "seniority": "staff"}
	upd := ev("upd", "v1", "form_submit", t0.Add(hours(5)))
	upd.Attrs = map[string]any{"title": "VP Marketing", "seniority": "vp"}
	for _, b := range [][]leadkit.Event{{old}, {upd}, {old}} {
		_, err := e.Ingest(ctx, b...)
		require.NoError(t, err)
	}
	st, err := p.states.Get(ctx, "v1")
	require.NoError(t, err)
	assert.Equal(t, "vp", st.Lead.Person.Seniority, "the redelivered older form changes nothing")

	q, e2 := engineWithPolicy(t, emailPolicy, lifecycle.Options{Observe: observeEmail})
	for _, b := range [][]leadkit.Event{{upd}, {old}} {
		_, err := e2.Ingest(ctx, b...)
		require.NoError(t, err)
	}
	st2, err := q.states.Get(ctx, "v1")
	require.NoError(t, err)
	assert.Equal(t, st.Lead.Person, st2.Lead.Person, "the same profile in any order")

	require.NoError(t, e.Erase(ctx, "v1"))
	_, err = e.Ingest(ctx, upd, old)
	require.NoError(t, err)
	st, err = p.states.Get(ctx, "v1")
	require.NoError(t, err)
	assert.Equal(t, leadkit.Person{}, st.Lead.Person, "redeliveries do not bring erased data back")

	// A profile over the caps is its event's error; the lead goes on.
	big := ev("big", "v1", "page_view", now.Add(-time.Hour))
	big.Attrs = map[string]any{"title": strings.Repeat("x", leadkit.MaxStringBytes+1)}
	_, err = e.Ingest(ctx, big)
	var ee *lifecycle.EventError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, "big", ee.ID)
	st, err = p.states.Get(ctx, "v1")
	require.NoError(t, err)
	evs, err := p.events.Events(ctx, "v1", time.Time{}, time.Time{})
	require.NoError(t, err)
	assert.Equal(t, len(evs), st.Events, "the event counts in the score")
}

// A redelivered observation of a prospect since erased is no failure.
func TestRedeliveryToAnErasedProspect(t *testing.T) {
	p, e := engineWithPolicy(t, emailPolicy, lifecycle.Options{})
	_, err := e.Ingest(ctx, ev("e1", "v1", "page_view", t0))
	require.NoError(t, err)
	found, err := p.pstore.Find(ctx, []string{"subject:v1"})
	require.NoError(t, err)
	require.Len(t, found, 1)
	_, err = p.pool.Erase(ctx, found[0].ID, time.Time{})
	require.NoError(t, err)
	_, err = e.Ingest(ctx, ev("e1", "v1", "page_view", t0), ev("e2", "v1", "page_view", t0.Add(hours(1))))
	require.NoError(t, err)
	found, err = p.pstore.Find(ctx, []string{"subject:v1"})
	require.NoError(t, err)
	require.Len(t, found, 1, "seen again after the erasure: a new prospect")
	assert.Len(t, found[0].Touches, 1)
}

// An erasure holds against events a sender dated after the engine's
// clock; an imported lead's profile holds against older events.
func TestErasureAndImportsAgainstEventTimes(t *testing.T) {
	p, e := engineWithPolicy(t, emailPolicy, lifecycle.Options{Observe: observeEmail})
	f := ev("f", "v1", "form_submit", now.Add(time.Minute))
	f.Attrs = map[string]any{"email": "ana@acme.com", "title": "CTO", "seniority": "c_level"}
	_, err := e.Ingest(ctx, f)
	require.NoError(t, err)
	require.NoError(t, e.Erase(ctx, "v1"))
	_, err = e.Ingest(ctx, f)
	require.NoError(t, err)
	st, err := p.states.Get(ctx, "v1")
	require.NoError(t, err)
	assert.Equal(t, leadkit.Person{}, st.Lead.Person)

	_, err = e.AddLead(ctx, leadkit.Lead{ID: "crm-1", CreatedAt: t0.Add(hours(48)), Person: leadkit.Person{Title: "CTO", Seniority: "c_level"}}, "")
	require.NoError(t, err)
	old := ev("old", "crm-1", "form_submit", t0)
	old.Attrs = map[string]any{"title": "Intern", "seniority": "staff"}
	_, err = e.Ingest(ctx, old)
	require.NoError(t, err)
	st, err = p.states.Get(ctx, "crm-1")
	require.NoError(t, err)
	assert.Equal(t, "CTO", st.Lead.Person.Title, "an event older than the import does not overwrite it")
}
