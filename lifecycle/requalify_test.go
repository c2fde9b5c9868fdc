package lifecycle_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/lifecycle"
	"github.com/leadkit/leadkit/stage"
)

// mqlThenRecycled ingests a history that makes v1 an MQL, then has the
// SDR recycle it at t0+5h.
func mqlThenRecycled(t *testing.T, e *lifecycle.Engine, p *parts) {
	t.Helper()
	cs, err := e.Ingest(ctx,
		ev("e1", "v1", "page_view", t0), ev("e2", "v1", "webinar_attended", t0.Add(hours(1))),
		ev("e3", "v1", "download", t0.Add(hours(2))), ev("e4", "v1", "download", t0.Add(hours(3))))
	require.NoError(t, err)
	require.Contains(t, kinds(cs), "staged:MQL")
	_, err = p.machine.Fire(ctx, stage.Lead("v1"), "recycle", stage.Request{Actor: "sdr-ana", Reason: "not_ready", At: t0.Add(hours(5))})
	require.NoError(t, err)
}

func TestRequalifyWithoutPolicyPingPongs(t *testing.T) {
	p := newParts(t)
	e := p.engine(t, lifecycle.Options{Requalify: lifecycle.Requalify{Off: true}})
	mqlThenRecycled(t, e, p)
	cs, err := e.Ingest(ctx, ev("e5", "v1", "page_view", t0.Add(hours(6))))
	require.NoError(t, err)
	assert.Equal(t, []string{"staged:MQL"}, kinds(cs), "with no policy, the old points re-qualify the lead at its next page view")
}

func TestRequalifyResetAndTouches(t *testing.T) {
	p := newParts(t)
	e := p.engine(t, lifecycle.Options{Requalify: lifecycle.Requalify{Reset: []string{"engagement", "total"}, MinTouches: 2}})
	mqlThenRecycled(t, e, p)

	// A page view after the recycle: the lead stays recycled.
	cs, err := e.Ingest(ctx, ev("e5", "v1", "page_view", t0.Add(hours(6))))
	require.NoError(t, err)
	assert.Empty(t, kinds(cs))
	rec, err := p.machine.Get(ctx, stage.Lead("v1"))
	require.NoError(t, err)
	assert.Equal(t, "Recycled", rec.Stage)
	st, err := p.states.Get(ctx, "v1")
	require.NoError(t, err)
	assert.Equal(t, t0.Add(hours(5)), st.SinceFrom)
	assert.Equal(t, 1, st.SinceTouches)

	// New engagement worth 100 points after the recycle re-qualifies it:
	// a repeat MQL, at the event that completed it.
	cs, err = e.Ingest(ctx, ev("e6", "v1", "webinar_attended", t0.Add(hours(7))),
		ev("e7", "v1", "download", t0.Add(hours(8))), ev("e8", "v1", "download", t0.Add(hours(9))))
	require.NoError(t, err)
	assert.Equal(t, []string{"staged:MQL"}, kinds(cs))
	assert.Equal(t, t0.Add(hours(9)), cs[0].At)
	assert.Equal(t, "Recycled", cs[0].Stage.From)
	st, err = p.states.Get(ctx, "v1")
	require.NoError(t, err)
	assert.True(t, st.SinceFrom.IsZero(), "out of the recycled stage, no score since")
}

func TestRequalifyTouchesAndCooldown(t *testing.T) {
	p := newParts(t)
	e := p.engine(t, lifecycle.Options{Requalify: lifecycle.Requalify{NoReset: true, MinTouches: 2, TouchTypes: []string{"webinar_attended"}, Cooldown: 7 * 24 * time.Hour}})
	mqlThenRecycled(t, e, p)
	// Page views are not touches of the policy; one webinar is not two.
	cs, err := e.Ingest(ctx, ev("e5", "v1", "page_view", t0.Add(hours(6))), ev("e6", "v1", "webinar_attended", t0.Add(hours(7))))
	require.NoError(t, err)
	assert.Empty(t, kinds(cs))
	// Two webinars, but within the cooldown.
	cs, err = e.Ingest(ctx, ev("e7", "v1", "webinar_attended", t0.Add(hours(8))))
	require.NoError(t, err)
	assert.Empty(t, kinds(cs))
	// After the cooldown the next event re-qualifies it.
	cs, err = e.Ingest(ctx, ev("e8", "v1", "page_view", t0.Add(hours(5)+7*24*time.Hour)))
	require.NoError(t, err)
	assert.Equal(t, []string{"staged:MQL"}, kinds(cs))
}

// The default policy and a policy that names only the engagement
// dimension both keep the recycled lead from bouncing back: total reads
// engagement, so it is reset too.
func TestRequalifyDefaultsStopPingPong(t *testing.T) {
	for name, r := range map[string]lifecycle.Requalify{"default": {}, "engagement only": {Reset: []string{"engagement"}}} {
		t.Run(name, func(t *testing.T) {
			p := newParts(t)
			e := p.engine(t, lifecycle.Options{Requalify: r})
			mqlThenRecycled(t, e, p)
			cs, err := e.Ingest(ctx, ev("e5", "v1", "page_view", t0.Add(hours(6))))
			require.NoError(t, err)
			assert.Empty(t, kinds(cs))
			rec, err := p.machine.Get(ctx, stage.Lead("v1"))
			require.NoError(t, err)
			assert.Equal(t, "Recycled", rec.Stage)
		})
	}
}

func TestParseRequalify(t *testing.T) {
	r, err := lifecycle.ParseRequalify([]byte("reset: [engagement]\nmin_touches: 3\ncooldown: 2w\n"))
	require.NoError(t, err)
	assert.Equal(t, lifecycle.Requalify{Reset: []string{"engagement"}, MinTouches: 3, Cooldown: 14 * 24 * time.Hour}, r)
	b, err := r.MarshalJSON()
	require.NoError(t, err)
	assert.JSONEq(t, `{"reset":["engagement"],"min_touches":3,"cooldown":"2w"}`, string(b))
	off, err := lifecycle.ParseRequalify([]byte("off: true\n"))
	require.NoError(t, err)
	b, err = off.MarshalJSON()
	require.NoError(t, err)
	back, err := lifecycle.ParseRequalify(b)
	require.NoError(t, err)
	assert.Equal(t, off, back, "a policy turned off stays off through JSON")
	for _, bad := range []string{"cooldown: 14\n", "min_touch: 3\n", "Reset: [x]\n"} {
		_, err := lifecycle.ParseRequalify([]byte(bad))
		assert.ErrorIs(t, err, leadkit.ErrInvalid, bad)
	}
}

// Changes, verification options and lead states are data: they
// round-trip through JSON.
func TestJSONRoundTrips(t *testing.T) {
	p := newParts(t)
	e := p.engine(t, lifecycle.Options{})
	cs, err := e.Ingest(ctx, ev("e1", "v1", "page_view", t0), ev("e2", "v1", "webinar_attended", t0.Add(hours(1))),
		ev("e3", "v1", "download", t0.Add(hours(2))), ev("e4", "v1", "download", t0.Add(hours(3))))
	require.NoError(t, err)
	require.Len(t, cs, 3)
	b, err := json.Marshal(cs)
	require.NoError(t, err)
	var back []lifecycle.Change
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, cs, back)

	o, err := lifecycle.ParseVerifyOptions([]byte("stages: [MQL]\nlookback: 90d\nbuckets: [30d, 1w]\nnurture: {by: campaign, window: 2w}\nvalues: {Won: {types: [deal_won], attr: amount}}\n"))
	require.NoError(t, err)
	b, err = json.Marshal(o)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"lookback":"90d"`)
	o2, err := lifecycle.ParseVerifyOptions(b)
	require.NoError(t, err)
	assert.Equal(t, o, o2)

	st, err := p.states.Get(ctx, "v1")
	require.NoError(t, err)
	b, err = json.Marshal(st)
	require.NoError(t, err)
	var st2 lifecycle.LeadState
	require.NoError(t, json.Unmarshal(b, &st2))
	assert.Equal(t, st.Score.Rules, st2.Score.Rules)
	assert.True(t, st.Score.Updated.Equal(st2.Score.Updated))
	assert.Equal(t, st.Stage.Version, st2.Stage.Version)
}
