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

// entriesInto returns the times of a lead's entries into stage to.
func entriesInto(t *testing.T, p *parts, id, to string) []time.Time {
	t.Helper()
	h, err := p.machine.History(ctx, stage.Lead(id))
	require.NoError(t, err)
	var out []time.Time
	for _, e := range h {
		if e.To == to {
			out = append(out, e.At)
		}
	}
	return out
}

// A late webinar that made the lead an MQL earlier: the MQL the engine
// recorded is taken back (Revoked, first) and recorded again at the time
// it happened (Staged), as in a time-order run.
func TestLateEventMovesTheMQLEarlier(t *testing.T) {
	p := newParts(t)
	e := p.engine(t, lifecycle.Options{})
	evs := []leadkit.Event{
		ev("pv0", "v1", "page_view", t0), ev("pv1", "v1", "page_view", t0.Add(hours(1))),
		ev("w2", "v1", "webinar_attended", t0.Add(hours(2))), ev("d4", "v1", "download", t0.Add(hours(4))),
		ev("w5", "v1", "webinar_attended", t0.Add(hours(5))),
	}
	_, err := e.Ingest(ctx, evs...)
	require.NoError(t, err)
	require.Equal(t, []time.Time{t0.Add(hours(5))}, entriesInto(t, p, "v1", "MQL"), "80 points by the download, 120 at the second webinar")

	late := ev("w3", "v1", "webinar_attended", t0.Add(hours(3)))
	cs, err := e.Ingest(ctx, late)
	require.NoError(t, err)
	require.Equal(t, []string{"revoked", "staged:MQL"}, kinds(cs))
	assert.Equal(t, t0.Add(hours(5)), cs[0].At, "the revoked entry's time")
	assert.Equal(t, "w3", cs[0].Cause)
	assert.Equal(t, t0.Add(hours(4)), cs[1].At, "MQL at the download, with the late webinar counted")
	assert.Equal(t, []time.Time{t0.Add(hours(4))}, entriesInto(t, p, "v1", "MQL"))

	// The same as a run in time order.
	q := newParts(t)
	_, err = q.engine(t, lifecycle.Options{}).Ingest(ctx, append(evs, late)...)
	require.NoError(t, err)
	want, err := q.machine.History(ctx, stage.Lead("v1"))
	require.NoError(t, err)
	got, err := p.machine.History(ctx, stage.Lead("v1"))
	require.NoError(t, err)
	assert.Equal(t, want, got)
}

// Changes someone else made stand: a late event older than a manual
// transition is Late and rewrites nothing before it; one between a manual
// transition and a later automatic one takes back only that one.
func TestManualChangesStandAgainstLateEvents(t *testing.T) {
	p := newParts(t)
	e := p.engine(t, lifecycle.Options{Requalify: lifecycle.Requalify{Off: true}})
	_, err := e.Ingest(ctx, ev("pv0", "v1", "page_view", t0), ev("pv1", "v1", "page_view", t0.Add(hours(1))),
		ev("w2", "v1", "webinar_attended", t0.Add(hours(2))), ev("w3", "v1", "webinar_attended", t0.Add(hours(3))),
		ev("d5", "v1", "download", t0.Add(hours(5))))
	require.NoError(t, err)
	require.Equal(t, []time.Time{t0.Add(hours(5))}, entriesInto(t, p, "v1", "MQL"))
	_, err = p.machine.Fire(ctx, stage.Lead("v1"), "recycle", stage.Request{Actor: "sdr", Reason: "not_ready", At: t0.Add(hours(6))})
	require.NoError(t, err)
	_, err = e.Ingest(ctx, ev("d9", "v1", "download", t0.Add(hours(9))))
	require.NoError(t, err)
	require.Equal(t, []time.Time{t0.Add(hours(5)), t0.Add(hours(9))}, entriesInto(t, p, "v1", "MQL"), "requalified from Recycled")
	before, err := p.machine.History(ctx, stage.Lead("v1"))
	require.NoError(t, err)

	// Between the recycle and the second MQL: that MQL moves to the late
	// event, the recycle stays.
	cs, err := e.Ingest(ctx, ev("d8", "v1", "download", t0.Add(hours(8))))
	require.NoError(t, err)
	assert.Equal(t, []string{"revoked", "staged:MQL"}, kinds(cs))
	assert.Equal(t, []time.Time{t0.Add(hours(5)), t0.Add(hours(8))}, entriesInto(t, p, "v1", "MQL"))
	after, err := p.machine.History(ctx, stage.Lead("v1"))
	require.NoError(t, err)
	assert.Equal(t, before[:3], after[:3], "start, first MQL and the manual recycle stand")

	// Before the manual recycle: Late, and nothing is rewritten.
	cs, err = e.Ingest(ctx, ev("w4", "v1", "webinar_attended", t0.Add(hours(4))))
	require.NoError(t, err)
	assert.Equal(t, []string{"late"}, kinds(cs))
	assert.Equal(t, "w4", cs[0].Cause)
	again, err := p.machine.History(ctx, stage.Lead("v1"))
	require.NoError(t, err)
	assert.Equal(t, after, again)
}
