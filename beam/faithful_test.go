package beam

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	abeam "github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/attribution"
	"github.com/leadkit/leadkit/journey"
	"github.com/leadkit/leadkit/lifecycle"
	"github.com/leadkit/leadkit/stage"
)

var verifyCapAt = time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)

// An attribute json.Number("1e400") is refused by Event.Validate (not a
// finite number), so it must reach the dead letters: the coders carry it
// (in the binary form: JSON would write the literal and fail to read it back into a
// float64, a coder error that failed the pipeline; found by an outside
// attack).
func TestEventFormCarriesAnUnreadableNumber(t *testing.T) {
	e := leadkit.Event{ID: "big", LeadID: "l", Type: "t", Time: verifyCapAt, Attrs: map[string]any{"x": json.Number("1e400")}}
	require.Error(t, e.Validate())
	b, err := encodeEvent(e)
	require.NoError(t, err)
	_, err = decodeEvent(b)
	assert.NoError(t, err, "an event the coder encoded must decode")
	b, err = encodeTenantJourney(TenantJourney{Tenant: "acme", Journey: journey.LeadJourney{Timeline: journey.Timeline{LeadID: "l", Events: []leadkit.Event{e}}}})
	require.NoError(t, err)
	_, err = decodeTenantJourney(b)
	assert.NoError(t, err, "a journey the coder encoded must decode")
}

// The same on Prism: such an event reaches Timelines' dead letters, the
// pipeline runs.
func TestUnreadableNumberIsADeadLetter(t *testing.T) {
	p, s := abeam.NewPipelineWithRoot()
	events := []leadkit.Event{
		{ID: "ok", LeadID: "a", Type: leadkit.EventPageView, Channel: "web", Time: verifyCapAt},
		{ID: "big", LeadID: "a", Type: leadkit.EventPageView, Time: verifyCapAt, Attrs: map[string]any{"x": json.Number("1e400")}},
	}
	dir := t.TempDir()
	tls, dead, err := Timelines(s, "acme", abeam.Reshuffle(s, abeam.CreateList(s, events)))
	require.NoError(t, err)
	WriteJSON(s, filepath.Join(dir, "dead.jsonl"), dead)
	WriteJSON(s, filepath.Join(dir, "tl.jsonl"), tls)
	require.NoError(t, ptest.Run(p), "a malformed event is a dead letter, never a failed pipeline")
}

// An attribute string that is not valid UTF-8 makes Event.Validate (and
// so the in-memory library) refuse the event; it must stay refused after
// a stage boundary (JSON would write U+FFFD and the event would pass).
func TestEventFormKeepsInvalidTextInvalid(t *testing.T) {
	e := leadkit.Event{ID: "u", LeadID: "l", Type: "t", Time: verifyCapAt, Attrs: map[string]any{"campaign_note": "\xff"}}
	require.Error(t, e.Validate())
	b, err := encodeEvent(e)
	require.NoError(t, err)
	got, err := decodeEvent(b)
	require.NoError(t, err)
	assert.Error(t, got.Validate(), "the in-memory library refuses this event; after the coder it must still be refused (attrs now %q)", got.Attrs)
}

// A time in a zone whose offset has seconds (Monrovia until 1972:
// -00:44:30, LMT zones before 1900-1940) keeps its instant through every
// coder (JSON writes the offset to the minute: such values travel in
// the binary form), as the in-memory library reads it. Event.Validate and
// Visit.Validate accept any zone.
func TestCodersKeepInstantsOfOffsetsWithSeconds(t *testing.T) {
	z := time.FixedZone("MMT", -(44*60 + 30))
	at := time.Date(1970, 6, 1, 9, 0, 0, 0, z)
	e := leadkit.Event{ID: "e", LeadID: "l", Type: "page_view", Time: at}
	v := stage.Visit{LeadID: "l", Stage: "MQL", At: at.Add(time.Hour)}
	require.NoError(t, e.Validate())
	require.NoError(t, v.Validate())
	b, err := encodeTenantJourney(TenantJourney{Tenant: "acme", Journey: journey.LeadJourney{Timeline: journey.Timeline{LeadID: "l", Events: []leadkit.Event{e}}, Visits: []stage.Visit{v}}})
	require.NoError(t, err)
	got, err := decodeTenantJourney(b)
	require.NoError(t, err)
	assert.True(t, got.Journey.Events[0].Time.Equal(at), "event at %v came back at %v", at.UTC(), got.Journey.Events[0].Time.UTC())
	assert.True(t, got.Journey.Visits[0].At.Equal(v.At), "visit at %v came back at %v", v.At.UTC(), got.Journey.Visits[0].At.UTC())
	vb, err := encodeVisit(v)
	require.NoError(t, err)
	gv, err := decodeVisit(vb)
	require.NoError(t, err)
	assert.True(t, gv.At.Equal(v.At), "visit coder: %v came back at %v", v.At.UTC(), gv.At.UTC())
}

func verifyCapPlan(value bool) lifecycle.StagePlan {
	from, to := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	cp := lifecycle.CreditPlan{From: from, To: to, Order: []string{"Raw", "MQL", "SAL", "SQL", "Opportunity", "Won"},
		Keys: []attribution.TouchKey{attribution.ByChannel}, Models: []string{"last_touch"}}
	if value {
		cp.Value = &lifecycle.Value{Types: []string{"deal_won"}, Attr: "amount"}
	}
	return lifecycle.StagePlan{Stage: "Won", Age: journey.SourceAgeOptions{From: from, To: to},
		Cycle: journey.CycleOptions{From: from, To: to}, Nurture: journey.NurtureOptions{From: from, To: to}, Attribution: &cp}
}

func wonJourney(tenant, id string, amount float64) TenantJourney {
	return TenantJourney{Tenant: tenant, Journey: journey.LeadJourney{
		Timeline: journey.Timeline{LeadID: id, Events: []leadkit.Event{
			{ID: id + "t", LeadID: id, Type: "page_view", Channel: "web", Time: verifyCapAt.Add(-time.Hour)},
			{ID: id + "d", LeadID: id, Type: "deal_won", Time: verifyCapAt, Attrs: map[string]any{"amount": amount}},
		}},
		Visits: []stage.Visit{{LeadID: id, Stage: "Won", At: verifyCapAt}}}}
}

// Two deals of 6e14 (each within attribution.MaxPathCount) along one
// path: the pipeline gives the in-memory credit (the partial
// accumulator's encoding once did not decode, failing the pipeline).
func TestVerifyValueSumsPastACap(t *testing.T) {
	plan := verifyCapPlan(true)
	in := []TenantJourney{wonJourney("acme", "a", 6e14), wonJourney("acme", "b", 6e14)}
	want, err := lifecycle.NewCreditAccumulator("Won", *plan.Attribution)
	require.NoError(t, err)
	for _, j := range in {
		require.NoError(t, want.Add(j.Journey))
	}
	credits, _, _ := want.Result()

	dir := t.TempDir()
	p, s := abeam.NewPipelineWithRoot()
	res, _, err := VerifyAggregates(s, []lifecycle.StagePlan{plan}, abeam.CreateList(s, in), FunnelOptions{Fanout: 1})
	require.NoError(t, err)
	WriteJSON(s, filepath.Join(dir, "res.jsonl"), res)
	require.NoError(t, ptest.Run(p), "a value past a cap never fails the pipeline")
	lines := readFileLines(t, filepath.Join(dir, "res.jsonl"))
	require.Len(t, lines, 1)
	var got TenantStage
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &got))
	assert.Equal(t, credits, got.Attribution, "the in-memory credit")
}

// A tenant whose data passes an accumulator's cap (one lead with more
// than journey.MaxNurtureKeys distinct contents) gets its error in its
// results; the pipeline runs and the other tenant's results are what
// they are alone.
func TestTenantOverACapGetsItsErrorAlone(t *testing.T) {
	plan := verifyCapPlan(false)
	big := TenantJourney{Tenant: "big", Journey: journey.LeadJourney{Timeline: journey.Timeline{LeadID: "x"}}}
	for i := range journey.MaxNurtureKeys + 1 {
		big.Journey.Events = append(big.Journey.Events, leadkit.Event{ID: fmt.Sprint(i), LeadID: "x", Type: "email_opened",
			Content: fmt.Sprintf("c%d", i), Time: verifyCapAt.Add(-time.Duration(i) * time.Second)})
	}
	small := wonJourney("small", "a", 1)
	for _, fanout := range []int{1, 3} {
		dir := t.TempDir()
		p, s := abeam.NewPipelineWithRoot()
		res, _, err := VerifyAggregates(s, []lifecycle.StagePlan{plan}, abeam.Reshuffle(s, abeam.CreateList(s, []TenantJourney{big, small})), FunnelOptions{Fanout: fanout})
		require.NoError(t, err)
		WriteJSON(s, filepath.Join(dir, "res.jsonl"), res)
		alone, _, err := VerifyAggregates(s, []lifecycle.StagePlan{plan}, abeam.CreateList(s, []TenantJourney{small}), FunnelOptions{Fanout: fanout})
		require.NoError(t, err)
		WriteJSON(s, filepath.Join(dir, "alone.jsonl"), alone)
		require.NoError(t, ptest.Run(p), "a tenant over a cap never fails the pipeline")
		lines := readFileLines(t, filepath.Join(dir, "res.jsonl"))
		require.Len(t, lines, 2)
		var bigRes TenantStage
		require.NoError(t, json.Unmarshal([]byte(lines[0]), &bigRes))
		assert.Equal(t, "big", bigRes.Tenant)
		assert.Contains(t, bigRes.Error, "nurture")
		assert.Zero(t, bigRes.Age.Leads)
		assert.Equal(t, readFileLines(t, filepath.Join(dir, "alone.jsonl")), lines[1:], "the other tenant's results are its own")
	}
}

// readFileLines is a file's lines.
func readFileLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}
