package beam_test

import (
	"encoding/json"
	"math"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/attribution"
	lkbeam "github.com/leadkit/leadkit/beam"
	"github.com/leadkit/leadkit/journey"
	"github.com/leadkit/leadkit/sim"
	"github.com/leadkit/leadkit/stage"
)

func init() {
	register.Function1x2(stampEvent)
}

// stampEvent gives an event its time as Beam's event time.
func stampEvent(e leadkit.Event) (beam.EventTime, leadkit.Event) {
	return mtime.FromTime(e.Time), e
}

// TestValuesJSONCannotHoldReachTheDeadLetters: an event with a NaN or an
// infinite attribute, or a time outside years 0-9999, and a visit at year
// 10000 (what validation refuses, and JSON cannot encode) cross stage
// boundaries (a Reshuffle before and after the transform) and reach the
// dead letters, which WriteJSON writes; the pipeline does not fail.
func TestValuesJSONCannotHoldReachTheDeadLetters(t *testing.T) {
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	far := time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	events := []leadkit.Event{
		{ID: "ok", LeadID: "a", Type: leadkit.EventPageView, Channel: "web", Time: at},
		{ID: "nan", LeadID: "a", Type: leadkit.EventPageView, Time: at, Attrs: map[string]any{"score": math.NaN()}},
		{ID: "inf", LeadID: "a", Type: leadkit.EventPageView, Time: at, Attrs: map[string]any{"score": math.Inf(1)}},
		{ID: "far", LeadID: "a", Type: leadkit.EventPageView, Time: far},
	}
	visits := []stage.Visit{{LeadID: "a", Stage: "MQL", At: at}, {LeadID: "a", Stage: "SAL", At: far}}
	m, err := stage.New(stage.Classic(), stage.Options{})
	require.NoError(t, err)

	p, s := beam.NewPipelineWithRoot()
	dir := t.TempDir()
	tls, deadEvents, err := lkbeam.Timelines(s, "acme", beam.Reshuffle(s, beam.CreateList(s, events)))
	require.NoError(t, err)
	_, deadVisits, err := lkbeam.StageFunnel(s, m.FunnelSpec(stage.FunnelOptions{}), beam.Reshuffle(s, beam.CreateList(s, visits)), lkbeam.FunnelOptions{})
	require.NoError(t, err)
	lkbeam.WriteJSON(s, filepath.Join(dir, "events.jsonl"), beam.Reshuffle(s, deadEvents))
	lkbeam.WriteJSON(s, filepath.Join(dir, "visits.jsonl"), beam.Reshuffle(s, deadVisits))
	lkbeam.WriteJSON(s, filepath.Join(dir, "timelines.jsonl"), tls)
	require.NoError(t, ptest.Run(p))

	dead := readLines(t, filepath.Join(dir, "events.jsonl"))
	require.Len(t, dead, 3)
	for _, line := range dead {
		var r map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &r), line)
		assert.Contains(t, r, "unencodable", "written as Go prints it, with why JSON could not")
		assert.Contains(t, r["unencodable"], "invalid input")
	}
	require.Len(t, readLines(t, filepath.Join(dir, "visits.jsonl")), 1)
	tl := readLines(t, filepath.Join(dir, "timelines.jsonl"))
	require.Len(t, tl, 1)
	assert.Contains(t, tl[0], `"id":"ok"`)
}

// TestWindowedInputIsOneHistory: events their source stamped with their
// times and put in daily windows are taken as one history: the funnel
// equals journey.Funnel over the same events, one per tenant.
func TestWindowedInputIsOneHistory(t *testing.T) {
	s0, err := sim.New(sim.Config{Seed: 8, Leads: 300})
	require.NoError(t, err)
	events := slices.Collect(s0.Events())
	want, err := journey.Funnel(benchFunnel, timelinesOf(events))
	require.NoError(t, err)
	wantJSON, err := json.Marshal(lkbeam.TenantFunnel{Tenant: "acme", Result: want})
	require.NoError(t, err)

	p, s := beam.NewPipelineWithRoot()
	windowed := beam.WindowInto(s, window.NewFixedWindows(24*time.Hour), beam.ParDo(s, stampEvent, beam.CreateList(s, events)))
	tls, _, err := lkbeam.Timelines(s, "acme", windowed)
	require.NoError(t, err)
	funnel, _, err := lkbeam.JourneyFunnel(s, benchFunnel, tls, lkbeam.FunnelOptions{Fanout: 4})
	require.NoError(t, err)
	dir := t.TempDir()
	lkbeam.WriteJSON(s, filepath.Join(dir, "funnel.jsonl"), funnel)
	require.NoError(t, ptest.Run(p))
	assert.Equal(t, []string{string(wantJSON)}, readLines(t, filepath.Join(dir, "funnel.jsonl")))
}

// TestTenantsWithNULAreDeadLetters: a hand-built timeline or path whose
// tenant holds a NUL byte (which would split the transforms' keys and
// count it in another tenant) goes to the dead letters of JourneyFunnel
// and PathCounts.
func TestTenantsWithNULAreDeadLetters(t *testing.T) {
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	tl := journey.Timeline{LeadID: "a", Events: []leadkit.Event{{ID: "e", LeadID: "a", Type: leadkit.EventPageView, Channel: "web", Time: at}}}
	p, s := beam.NewPipelineWithRoot()
	funnel, deadTimelines, err := lkbeam.JourneyFunnel(s, benchFunnel, beam.CreateList(s, []lkbeam.TenantTimeline{
		{Tenant: "acme", Timeline: tl}, {Tenant: "acme\x00evil", Timeline: tl}}), lkbeam.FunnelOptions{})
	require.NoError(t, err)
	tables, deadPaths := lkbeam.PathCounts(s, beam.CreateList(s, []lkbeam.TenantPath{
		{Tenant: "acme", Path: attribution.Path{Channels: []string{"web"}, Nulls: 1}},
		{Tenant: "acme\x00evil", Path: attribution.Path{Channels: []string{"web"}, Nulls: 1}},
		{Tenant: "acme", Path: attribution.Path{Channels: []string{"web"}, Nulls: math.Inf(1)}},
	}))
	dir := t.TempDir()
	lkbeam.WriteJSON(s, filepath.Join(dir, "funnel.jsonl"), funnel)
	lkbeam.WriteJSON(s, filepath.Join(dir, "dead-timelines.jsonl"), deadTimelines)
	lkbeam.WriteJSON(s, filepath.Join(dir, "tables.jsonl"), tables)
	lkbeam.WriteJSON(s, filepath.Join(dir, "dead-paths.jsonl"), deadPaths)
	require.NoError(t, ptest.Run(p))

	f := readLines(t, filepath.Join(dir, "funnel.jsonl"))
	require.Len(t, f, 1)
	var tf lkbeam.TenantFunnel
	require.NoError(t, json.Unmarshal([]byte(f[0]), &tf))
	assert.Equal(t, 1, tf.Result.Leads, "the NUL tenant's lead is not acme's")
	assert.Len(t, readLines(t, filepath.Join(dir, "dead-timelines.jsonl")), 1)
	tb := readLines(t, filepath.Join(dir, "tables.jsonl"))
	require.Len(t, tb, 1)
	var tp lkbeam.TenantPaths
	require.NoError(t, json.Unmarshal([]byte(tb[0]), &tp))
	assert.Equal(t, []attribution.Path{{Channels: []string{"web"}, Nulls: 1}}, tp.Paths)
	assert.Len(t, readLines(t, filepath.Join(dir, "dead-paths.jsonl")), 2)
}

// TestRedeliveredIDsDoNotDependOnOrder: two deliveries of one event ID
// that differ only in an attribute give the same path value whatever
// order they arrive in.
func TestRedeliveredIDsDoNotDependOnOrder(t *testing.T) {
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	touch := leadkit.Event{ID: "t", LeadID: "a", Type: leadkit.EventDownload, Channel: "content", Time: at}
	won := func(amount float64) leadkit.Event {
		return leadkit.Event{ID: "won", LeadID: "a", Type: sim.EventDealWon, Time: at.Add(time.Hour), Attrs: map[string]any{"amount": amount}}
	}
	conv := attribution.Conversion{Types: []string{sim.EventDealWon}, ValueAttr: "amount"}
	var outs [][]string
	for _, events := range [][]leadkit.Event{{touch, won(100), won(200)}, {won(200), touch, won(100)}} {
		p, s := beam.NewPipelineWithRoot()
		tls, _, err := lkbeam.Timelines(s, "acme", beam.CreateList(s, events))
		require.NoError(t, err)
		paths, _, err := lkbeam.Paths(s, conv, tls)
		require.NoError(t, err)
		dir := t.TempDir()
		lkbeam.WriteJSON(s, filepath.Join(dir, "paths.jsonl"), paths)
		require.NoError(t, ptest.Run(p))
		outs = append(outs, readLines(t, filepath.Join(dir, "paths.jsonl")))
	}
	require.Len(t, outs[0], 1)
	assert.Equal(t, outs[0], outs[1])
}

// TestStageFunnelOfNothing: with no valid visit, StageFunnel still gives
// the one (empty) result stage.Funnel gives.
func TestStageFunnelOfNothing(t *testing.T) {
	m, err := stage.New(stage.Classic(), stage.Options{})
	require.NoError(t, err)
	spec := m.FunnelSpec(stage.FunnelOptions{})
	want, err := stage.Funnel(spec, nil)
	require.NoError(t, err)
	wantJSON, err := json.Marshal(want)
	require.NoError(t, err)
	p, s := beam.NewPipelineWithRoot()
	result, _, err := lkbeam.StageFunnel(s, spec, beam.CreateList(s, []stage.Visit{{LeadID: "", Stage: "MQL"}}), lkbeam.FunnelOptions{})
	require.NoError(t, err)
	dir := t.TempDir()
	lkbeam.WriteJSON(s, filepath.Join(dir, "funnel.jsonl"), result)
	require.NoError(t, ptest.Run(p))
	assert.Equal(t, []string{string(wantJSON)}, readLines(t, filepath.Join(dir, "funnel.jsonl")))
}
