package lifecycle_test

import (
	"time"

	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/lifecycle"
	"github.com/leadkit/leadkit/pool"
	"github.com/leadkit/leadkit/scoring"
	"github.com/leadkit/leadkit/stage"
)

func TestIngestFromProspectToMQL(t *testing.T) {
	p := newParts(t)
	e := p.engine(t, lifecycle.Options{})

	// One touch: a prospect, not a lead yet.
	cs, err := e.Ingest(ctx, ev("e1", "v1", "page_view", t0))
	require.NoError(t, err)
	assert.Empty(t, cs)
	found, err := p.pstore.Find(ctx, []string{"subject:v1"})
	require.NoError(t, err)
	require.Len(t, found, 1)
	assert.Equal(t, pool.StatusActive, found[0].Status)
	_, err = p.machine.Get(ctx, stage.Lead("v1"))
	require.ErrorIs(t, err, leadkit.ErrNotFound)

	// The second touch graduates it, at that touch's time, into Raw; the
	// score counts both touches.
	cs, err = e.Ingest(ctx, ev("e2", "v1", "webinar_attended", t0.Add(hours(1))))
	require.NoError(t, err)
	require.Equal(t, []string{"graduated"}, kinds(cs))
	g := cs[0]
	assert.Equal(t, "v1", g.LeadID)
	assert.Equal(t, t0.Add(hours(1)), g.At)
	assert.Equal(t, "e2", g.Cause)
	require.NotNil(t, g.Graduation)
	assert.Equal(t, t0.Add(hours(1)), g.Graduation.Lead.CreatedAt)
	require.NotNil(t, g.Stage)
	assert.Equal(t, "Raw", g.Stage.To)
	rec, err := p.machine.Get(ctx, stage.Lead("v1"))
	require.NoError(t, err)
	assert.Equal(t, "Raw", rec.Stage)
	assert.Equal(t, t0.Add(hours(1)), rec.EnteredAt)
	st, err := p.states.Get(ctx, "v1")
	require.NoError(t, err)
	assert.Equal(t, t0.Add(hours(1)), st.Lead.CreatedAt)
	assert.Equal(t, t0.Add(hours(1)), st.Score.Updated)

	// A download crosses the MQL threshold (5 + 40 + 30 decayed a little
	// is below 100; a second download is not): the crossing and the stage
	// change come at the event's time, caused by it.
	cs, err = e.Ingest(ctx, ev("e3", "v1", "download", t0.Add(hours(2))), ev("e4", "v1", "download", t0.Add(hours(3))))
	require.NoError(t, err)
	require.Equal(t, []string{"crossed:mql", "staged:MQL"}, kinds(cs))
	for _, c := range cs {
		assert.Equal(t, t0.Add(hours(3)), c.At)
		assert.Equal(t, "e4", c.Cause)
	}
	assert.Equal(t, "Raw", cs[1].Stage.From)
	assert.Equal(t, "qualify", cs[1].Stage.Transition)
	assert.Equal(t, lifecycle.DefaultActor, cs[1].Stage.Actor)

	// The engine's score equals a full rescore of the stored events.
	evs, err := p.events.Events(ctx, "v1", t0.Add(-hours(1)), now)
	require.NoError(t, err)
	require.Len(t, evs, 4)
	want, err := p.model.Score(scoring.Input{Lead: st.Lead, Events: evs, AsOf: t0.Add(hours(3))})
	require.NoError(t, err)
	st, err = p.states.Get(ctx, "v1")
	require.NoError(t, err)
	var got scoring.Result
	require.NoError(t, p.model.ReadState(&got, &st.Score, st.Lead, t0.Add(hours(3))))
	d, _ := got.Dimension("total")
	w, _ := want.Dimension("total")
	assert.InDelta(t, w.Score, d.Score, 1e-9)
	assert.Equal(t, []string{"mql"}, st.Reached)
}

func TestIngestReplayChangesNothing(t *testing.T) {
	p := newParts(t)
	e := p.engine(t, lifecycle.Options{})
	batch := []leadkit.Event{
		ev("e1", "v1", "page_view", t0), ev("e2", "v1", "webinar_attended", t0.Add(hours(1))),
		ev("e3", "v1", "download", t0.Add(hours(2))), ev("e4", "v1", "download", t0.Add(hours(3))),
		ev("e5", "v1", "page_view", t0.Add(hours(4))),
	}
	cs, err := e.Ingest(ctx, batch...)
	require.NoError(t, err)
	require.Equal(t, []string{"graduated", "crossed:mql", "staged:MQL"}, kinds(cs))
	before, err := p.states.Get(ctx, "v1")
	require.NoError(t, err)
	hist, err := p.machine.History(ctx, stage.Lead("v1"))
	require.NoError(t, err)

	// The whole batch, one old event, the latest event: nothing changes
	// and nothing is reported.
	for _, again := range [][]leadkit.Event{batch, batch[1:2], batch[4:]} {
		cs, err = e.Ingest(ctx, again...)
		require.NoError(t, err)
		assert.Empty(t, cs)
		after, err := p.states.Get(ctx, "v1")
		require.NoError(t, err)
		assert.Equal(t, before.Score, after.Score)
		assert.Equal(t, before.Reached, after.Reached)
		h, err := p.machine.History(ctx, stage.Lead("v1"))
		require.NoError(t, err)
		assert.Equal(t, hist, h)
	}
}

func TestIngestBadEventsNeverBlockGoodOnes(t *testing.T) {
	p := newParts(t)
	e := p.engine(t, lifecycle.Options{})
	cs, err := e.Ingest(ctx,
		ev("e1", "v1", "page_view", t0),
		leadkit.Event{ID: "bad-time", LeadID: "v1", Type: "page_view"},
		ev("e2", "v1", "webinar_attended", t0.Add(hours(1))),
		leadkit.Event{ID: "", LeadID: "v2", Type: "page_view", Time: t0},
	)
	require.Error(t, err)
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	var ee *lifecycle.EventError
	require.ErrorAs(t, err, &ee)
	assert.Contains(t, err.Error(), `event 1 ("bad-time")`)
	assert.Contains(t, err.Error(), `event 3 ("")`)
	require.Equal(t, []string{"graduated"}, kinds(cs), "the good events of the call still graduate v1")
	evs, err := p.events.Events(ctx, "v1", t0.Add(-hours(1)), now)
	require.NoError(t, err)
	assert.Len(t, evs, 2)
}

func TestIngestUnknownSubjects(t *testing.T) {
	p := newParts(t)
	e := p.engine(t, lifecycle.Options{Unknown: lifecycle.UnknownRefuse})
	_, err := e.Ingest(ctx, ev("e1", "stranger", "page_view", t0))
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.Contains(t, err.Error(), "unknown subject")
	evs, err := p.events.Events(ctx, "stranger", t0.Add(-hours(1)), now)
	require.NoError(t, err)
	assert.Empty(t, evs, "a refused event is not stored")

	// A subject the pool knows is not unknown.
	_, _, err = p.pool.Upsert(ctx, pool.Observation{ID: "import-1", At: t0, Identities: []pool.Identity{{Kind: pool.Subject, Value: "known"}}})
	require.NoError(t, err)
	_, err = e.Ingest(ctx, ev("e2", "known", "page_view", t0))
	require.NoError(t, err)
}

func TestNewChecksThatThePartsFit(t *testing.T) {
	p := newParts(t)
	_ = p.engine(t, lifecycle.Options{})
	// Classic declares score and grade: the model gives neither name.
	_, err := lifecycle.New(p.pool, p.model, p.machine, p.events, lifecycle.Options{})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.Contains(t, err.Error(), `stage fact "score" is not a fact of model "b2b"`)
	assert.Contains(t, err.Error(), `stage fact "grade"`)
	assert.Contains(t, err.Error(), "fit_band")

	_, err = lifecycle.New(p.pool, p.model, p.machine, p.events, lifecycle.Options{Facts: map[string]string{"score": "totl", "grade": "fit", "budget": "x"}})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.Contains(t, err.Error(), `mapped to "totl", which model "b2b" does not give (did you mean "total"?)`)
	assert.Contains(t, err.Error(), `stage fact "grade" is declared string but model "b2b" gives "fit" as number`)
	assert.Contains(t, err.Error(), `Options.Facts maps "budget", which the stage definition "classic" does not declare`)

	_, err = lifecycle.New(p.pool, p.model, p.machine, p.events, lifecycle.Options{Facts: map[string]string{"score": "total", "grade": "fit_band"},
		Requalify: lifecycle.Requalify{Stages: []string{"Recyled"}, Reset: []string{"engagment"}, MinTouches: -1}})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.Contains(t, err.Error(), `stage "Recyled" is not a stage of "classic" (did you mean "Recycled"?)`)
	assert.Contains(t, err.Error(), `reset dimension "engagment" is not a dimension of model "b2b" (did you mean "engagement"?)`)
	assert.Contains(t, err.Error(), "min_touches -1")

	named, err := pool.New(pool.Options{LeadID: func(pr pool.Prospect) string { return "L-" + pr.ID }})
	require.NoError(t, err)
	_, err = lifecycle.New(named, p.model, p.machine, p.events, lifecycle.Options{Facts: map[string]string{"score": "totl", "grade": "fit_band"}, Actor: "a\x00"})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.Contains(t, err.Error(), "leave pool.Options.LeadID nil")
	assert.Contains(t, err.Error(), "actor", "every problem at once")
	assert.Contains(t, err.Error(), `mapped to "totl"`, "every problem at once")

	_, err = lifecycle.New(nil, nil, nil, nil, lifecycle.Options{Unknown: "maybe"})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	for _, s := range []string{"no scoring model", "no stage machine", "no journey store", `unknown-subject option "maybe"`} {
		assert.Contains(t, err.Error(), s)
	}
}

// An event ID counts once, as the journey store keeps it: a redelivery
// re-stamped by the sender, or the same ID for another subject, is
// reported and does not change the score.
func TestEventIDsCountAsStored(t *testing.T) {
	p := newParts(t)
	e := p.engine(t, lifecycle.Options{})
	_, err := e.Ingest(ctx, ev("e1", "v1", "page_view", t0), ev("e2", "v1", "webinar_attended", t0.Add(hours(1))), ev("e3", "v1", "download", t0.Add(hours(2))))
	require.NoError(t, err)
	before, err := p.states.Get(ctx, "v1")
	require.NoError(t, err)
	for _, again := range []leadkit.Event{ev("e3", "v1", "download", t0.Add(hours(3))), ev("e2", "v2", "webinar_attended", t0.Add(hours(1)))} {
		cs, err := e.Ingest(ctx, again)
		var ee *lifecycle.EventError
		require.ErrorAs(t, err, &ee, again.ID)
		assert.Equal(t, 0, ee.Index)
		assert.ErrorIs(t, err, leadkit.ErrInvalid)
		assert.Empty(t, kinds(cs))
	}
	after, err := p.states.Get(ctx, "v1")
	require.NoError(t, err)
	assert.Equal(t, before.Score, after.Score)
	_, err = p.states.Get(ctx, "v2")
	assert.ErrorIs(t, err, leadkit.ErrNotFound, "v2 has no event of its own")

	// In one call: the same ID twice with the same content counts once;
	// with other content the second is refused, by its index.
	cs, err := e.Ingest(ctx, ev("x", "v3", "page_view", t0), ev("x", "v3", "page_view", t0), ev("x", "v4", "page_view", t0))
	var ee *lifecycle.EventError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, 2, ee.Index)
	assert.Empty(t, cs)
	evs, err := p.events.Events(ctx, "v3", time.Time{}, time.Time{})
	require.NoError(t, err)
	assert.Len(t, evs, 1)
}

// Threshold crossings are reported once: not again by a replay, and a
// crossing a late event causes is reported when the late event comes.
func TestCrossingsReportedOnce(t *testing.T) {
	p := newParts(t)
	e := p.engine(t, lifecycle.Options{})
	batch := []leadkit.Event{
		ev("e1", "v1", "page_view", t0), ev("e2", "v1", "webinar_attended", t0.Add(hours(1))),
		ev("e3", "v1", "download", t0.Add(hours(2))), ev("e4", "v1", "download", t0.Add(hours(3))),
		ev("e5", "v1", "unsubscribe", t0.Add(hours(4))),
	}
	cs, err := e.Ingest(ctx, batch...)
	require.NoError(t, err)
	require.Equal(t, []string{"graduated", "crossed:mql", "staged:MQL", "crossed:mql-down"}, kinds(cs))
	for _, again := range [][]leadkit.Event{batch[4:], batch[2:3], batch} {
		cs, err = e.Ingest(ctx, again...)
		require.NoError(t, err)
		assert.Empty(t, kinds(cs), "a replay reports nothing")
	}

	// w: two page views and a webinar; a late download between them puts
	// it over the threshold at its latest event.
	_, err = e.Ingest(ctx, ev("w1", "w", "page_view", t0), ev("w2", "w", "webinar_attended", t0.Add(hours(1))),
		ev("w3", "w", "download", t0.Add(hours(3))), ev("w4", "w", "page_view", t0.Add(hours(4))))
	require.NoError(t, err)
	cs, err = e.Ingest(ctx, ev("w5", "w", "download", t0.Add(hours(2))))
	require.NoError(t, err)
	require.Equal(t, []string{"crossed:mql", "staged:MQL"}, kinds(cs))
	assert.Equal(t, t0.Add(hours(3)), cs[0].At, "the crossing is reported at the time it happened")
	assert.Equal(t, "w3", cs[0].Cause)
	st, err := p.states.Get(ctx, "w")
	require.NoError(t, err)
	assert.Equal(t, []string{"mql"}, st.Reached)
}

// An event the model cannot score is reported each time it comes, and a
// redelivery of it never hides a later late event: the score stays a
// full rescore of what the store keeps.
func TestUnscorableEvents(t *testing.T) {
	p := newParts(t)
	p.model = quoteModel(t)
	e := p.engine(t, lifecycle.Options{})
	_, err := e.Ingest(ctx, ev("e1", "v1", "page_view", t0), ev("e2", "v1", "page_view", t0.Add(hours(1))), ev("e3", "v1", "page_view", t0.Add(hours(2))))
	require.NoError(t, err)
	bad := ev("bad", "v1", "quote", t0.Add(hours(5)))
	bad.Attrs = map[string]any{"amount": "lots"}
	for range 2 {
		_, err := e.Ingest(ctx, bad)
		var ee *lifecycle.EventError
		require.ErrorAs(t, err, &ee)
		assert.Equal(t, "bad", ee.ID)
	}
	_, err = e.Ingest(ctx, ev("late", "v1", "webinar_attended", t0.Add(hours(1)+time.Minute)))
	require.Error(t, err, "the unscorable event is reported again in the rebuild")
	st, err := p.states.Get(ctx, "v1")
	require.NoError(t, err)
	evs, err := p.events.Events(ctx, "v1", time.Time{}, time.Time{})
	require.NoError(t, err)
	var got scoring.Result
	require.NoError(t, p.model.ReadState(&got, &st.Score, st.Lead, now))
	var clean []leadkit.Event
	for _, x := range evs {
		if x.ID != "bad" {
			clean = append(clean, x)
		}
	}
	want, err := p.model.Score(scoring.Input{Lead: st.Lead, Events: clean, AsOf: now})
	require.NoError(t, err)
	assert.InDelta(t, want.Dimensions[1].Score, got.Dimensions[1].Score, 1e-9, "the late webinar counts")
}

// Redeliveries to a lead with an event the model cannot score are replays
// like any other: nothing to report, nothing written.
func TestRedeliveryNextToAnUnscorableEvent(t *testing.T) {
	p := newParts(t)
	p.model = quoteModel(t)
	e := p.engine(t, lifecycle.Options{})
	first := ev("e1", "v1", "page_view", t0)
	bad := ev("bad", "v1", "quote", t0.Add(hours(3)))
	bad.Attrs = map[string]any{"amount": "lots"}
	_, err := e.Ingest(ctx, first, ev("e2", "v1", "page_view", t0.Add(hours(1))), ev("e3", "v1", "page_view", t0.Add(hours(2))), bad)
	require.Error(t, err)
	// The graduation scored the whole history, counting the unscorable
	// event once.
	before, err := p.states.Get(ctx, "v1")
	require.NoError(t, err)
	for range 3 {
		cs, err := e.Ingest(ctx, first)
		require.NoError(t, err)
		assert.Empty(t, cs)
	}
	after, err := p.states.Get(ctx, "v1")
	require.NoError(t, err)
	assert.Equal(t, before.Version, after.Version, "replays write nothing")
}

// A late event that undoes a reported crossing reports the fall no
// earlier than the crossing it undoes, so the reports read in time order
// end where the state is.
func TestLateEventUndoesACrossing(t *testing.T) {
	p := newParts(t)
	spec, err := scoring.ParseModel([]byte(testModel))
	require.NoError(t, err)
	spec.Thresholds = append(spec.Thresholds, scoring.ThresholdSpec{Name: "warm", Dimension: "total", Value: 60})
	p.model, err = scoring.Compile(spec, scoring.Options{})
	require.NoError(t, err)
	e := p.engine(t, lifecycle.Options{})
	cs, err := e.Ingest(ctx, ev("w", "v1", "webinar_attended", t0), ev("p1", "v1", "page_view", t0.Add(hours(1))),
		ev("d", "v1", "download", t0.Add(hours(3))), ev("p2", "v1", "page_view", t0.Add(hours(9))))
	require.NoError(t, err)
	var up time.Time
	for _, c := range cs {
		if c.Kind == lifecycle.Crossed && c.Crossing.Threshold == "warm" && c.Crossing.Up {
			up = c.At
		}
	}
	require.False(t, up.IsZero())
	cs, err = e.Ingest(ctx, ev("u", "v1", "unsubscribe", t0.Add(hours(2))))
	require.NoError(t, err)
	require.Equal(t, []string{"crossed:warm-down"}, kinds(cs), "not late: no stage change came after it")
	assert.False(t, cs[0].At.Before(up), "the fall is reported after the rise it undoes")
	st, err := p.states.Get(ctx, "v1")
	require.NoError(t, err)
	assert.Empty(t, st.Reached)
}

// quoteModel is the test model with a rule on a declared number
// attribute, so a quote whose amount is text cannot be scored.
func quoteModel(t *testing.T) *scoring.Model {
	t.Helper()
	spec, err := scoring.ParseModel([]byte(testModel + `
fields:
  - {name: event.amount, type: number}
`))
	require.NoError(t, err)
	spec.Dimensions[1].Behavior = append(spec.Dimensions[1].Behavior, scoring.BehaviorRule{Name: "deal", Types: []string{"quote"}, When: "event.amount > 1", Points: 50})
	m, err := scoring.Compile(spec, scoring.Options{})
	require.NoError(t, err)
	return m
}
