package beam_test

import (
	"encoding/json"
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/textio"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	lkbeam "github.com/leadkit/leadkit/beam"
	"github.com/leadkit/leadkit/journey"
	"github.com/leadkit/leadkit/sim"
)

func init() {
	register.Function1x2(tenantFunnelJSON)
	register.Function1x2(rejectedEventJSON)
	register.Function1x2(rejectedTimelineJSON)
}

func tenantFunnelJSON(r lkbeam.TenantFunnel) (string, error) {
	b, err := json.Marshal(r)
	return string(b), err
}

func rejectedEventJSON(r lkbeam.RejectedEvent) (string, error) {
	b, err := json.Marshal(r)
	return string(b), err
}

func rejectedTimelineJSON(r lkbeam.RejectedTimeline) (string, error) {
	b, err := json.Marshal(r)
	return string(b), err
}

// readLines reads the lines textio.Write wrote to path, sorted; none if
// it wrote no file (it writes none for an empty PCollection).
func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	require.NoError(t, err)
	s := strings.TrimSpace(string(b))
	if s == "" {
		return nil
	}
	lines := strings.Split(s, "\n")
	sort.Strings(lines)
	return lines
}

// TestJourneyFunnelOnPrism runs Timelines and JourneyFunnel on Prism over
// the events of a simulated business with a few malformed events mixed
// in, shuffled and split over several sources, and checks the funnel
// against journey.Funnel over the same events in one process, byte for
// byte as JSON; the malformed events are the dead letters of Timelines,
// and a timeline whose deal amount is text (a When predicate fails on it
// at run time) is the dead letter of JourneyFunnel.
func TestJourneyFunnelOnPrism(t *testing.T) {
	s0, err := sim.New(sim.Config{Seed: 1, Leads: 2000})
	require.NoError(t, err)
	events := slices.Collect(s0.Events())
	require.Greater(t, len(events), 10000)
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	lead := events[0].LeadID
	bad := []leadkit.Event{
		{ID: "no-lead", Type: leadkit.EventPageView, Time: at},
		{ID: "no-type", LeadID: lead, Time: at},
		{ID: "no-time", LeadID: lead, Type: leadkit.EventDownload},
		{LeadID: lead, Type: leadkit.EventDownload, Time: at},
	}
	// Valid events, but the deal's amount is text: the deal step's When
	// fails on it at run time, so the funnel refuses the lead.
	odd := []leadkit.Event{
		{ID: "odd-1", LeadID: "odd-lead", Type: leadkit.EventFormSubmitted, Time: at},
		{ID: "odd-2", LeadID: "odd-lead", Type: sim.EventDealWon, Time: at.Add(time.Hour), Attrs: map[string]any{"amount": "lots"}},
	}
	ordered := journey.FunnelSpec{
		Steps: []journey.Step{
			{Name: "engaged", Types: []string{leadkit.EventPageView, leadkit.EventDownload, leadkit.EventWebinarAttended}},
			{Name: "form", Types: []string{leadkit.EventFormSubmitted}},
			{Name: "demo", Types: []string{sim.EventHandRaise}},
			{Name: "big deal", Types: []string{sim.EventDealWon}, When: "event.amount > 20000"},
		},
		Fields: []leadkit.FieldSpec{{Name: "event.amount", Type: leadkit.TypeNumber}},
		Window: 120 * 24 * time.Hour,
	}
	unordered := ordered
	unordered.Order, unordered.Window = journey.Unordered, 365*24*time.Hour
	cases := []struct {
		name    string
		spec    journey.FunnelSpec
		sources int
		fanout  int
	}{
		{"ordered, one source, fanout 1", ordered, 1, 1},
		{"ordered, 8 sources, fanout 16", ordered, 8, 16},
		{"unordered, 3 sources, fanout 5", unordered, 3, 5},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			all := slices.Concat(events, bad, odd)

			// In memory: the valid events of each lead, as a store would
			// give them, into journey.Funnel.
			byLead := map[string][]leadkit.Event{}
			for _, e := range all {
				if e.Validate() == nil {
					byLead[e.LeadID] = append(byLead[e.LeadID], e)
				}
			}
			var tls []journey.Timeline
			for _, id := range slices.Sorted(func(yield func(string) bool) {
				for id := range byLead {
					if !yield(id) {
						return
					}
				}
			}) {
				tls = append(tls, journey.NewTimeline(id, byLead[id]))
			}
			want, err := journey.Funnel(c.spec, tls)
			require.ErrorIs(t, err, leadkit.ErrInvalid, "journey.Funnel skips and reports the odd lead")
			require.Contains(t, err.Error(), "odd-lead")
			wantJSON, err := json.Marshal(lkbeam.TenantFunnel{Tenant: "acme", Result: want})
			require.NoError(t, err)
			require.Equal(t, 2000, want.Leads)
			require.Greater(t, want.Steps[3].Count, 0)

			rand.New(rand.NewPCG(9, uint64(c.sources))).Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
			dir := t.TempDir()
			p, s := beam.NewPipelineWithRoot()
			var sources []beam.PCollection
			for k := range c.sources {
				var part []leadkit.Event
				for i := k; i < len(all); i += c.sources {
					part = append(part, all[i])
				}
				sources = append(sources, beam.CreateList(s, part))
			}
			timelines, deadEvents, err := lkbeam.Timelines(s, "acme", beam.Flatten(s, sources...))
			require.NoError(t, err)
			result, deadTimelines, err := lkbeam.JourneyFunnel(s, c.spec, timelines, lkbeam.FunnelOptions{Fanout: c.fanout})
			require.NoError(t, err)
			textio.Write(s, filepath.Join(dir, "result.json"), beam.ParDo(s, tenantFunnelJSON, result))
			textio.Write(s, filepath.Join(dir, "events.jsonl"), beam.ParDo(s, rejectedEventJSON, deadEvents))
			textio.Write(s, filepath.Join(dir, "timelines.jsonl"), beam.ParDo(s, rejectedTimelineJSON, deadTimelines))
			start := time.Now()
			require.NoError(t, ptest.Run(p))
			t.Logf("pipeline of %d events ran in %s", len(all), time.Since(start).Round(time.Millisecond))

			assert.Equal(t, []string{string(wantJSON)}, readLines(t, filepath.Join(dir, "result.json")), "one funnel, the in-memory one byte for byte")

			var dead []leadkit.Event
			for _, line := range readLines(t, filepath.Join(dir, "events.jsonl")) {
				var r lkbeam.RejectedEvent
				require.NoError(t, json.Unmarshal([]byte(line), &r))
				assert.Equal(t, "acme", r.Tenant)
				assert.Contains(t, r.Reason, leadkit.ErrInvalid.Error())
				assert.Equal(t, r.Event.Validate().Error(), r.Reason)
				dead = append(dead, r.Event)
			}
			require.Len(t, dead, len(bad))
			for _, e := range dead {
				assert.Contains(t, bad, e)
			}

			lines := readLines(t, filepath.Join(dir, "timelines.jsonl"))
			require.Len(t, lines, 1)
			var rt lkbeam.RejectedTimeline
			require.NoError(t, json.Unmarshal([]byte(lines[0]), &rt))
			assert.Equal(t, "acme", rt.Tenant)
			assert.Equal(t, "odd-lead", rt.Timeline.LeadID)
			assert.Equal(t, []string{"odd-1", "odd-2"}, []string{rt.Timeline.Events[0].ID, rt.Timeline.Events[1].ID})
			assert.Contains(t, rt.Reason, `step "big deal": when`)
		})
	}
}

// TestTimelinesAndJourneyFunnelRefuseBadInput: a bad tenant or a spec
// journey.CompileFunnel refuses is an error when the pipeline is built.
func TestTimelinesAndJourneyFunnelRefuseBadInput(t *testing.T) {
	_, s := beam.NewPipelineWithRoot()
	events := beam.CreateList(s, []leadkit.Event{{ID: "e", LeadID: "a", Type: "x", Time: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)}})
	for _, tenant := range []string{"", " ", "a\x00b", strings.Repeat("t", leadkit.MaxIDBytes+1)} {
		_, _, err := lkbeam.Timelines(s, tenant, events)
		assert.ErrorIs(t, err, leadkit.ErrInvalid, "tenant %q", tenant)
	}
	tls, _, err := lkbeam.Timelines(s, "acme", events)
	require.NoError(t, err)
	_, _, err = lkbeam.JourneyFunnel(s, journey.FunnelSpec{}, tls, lkbeam.FunnelOptions{})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.Contains(t, err.Error(), "no steps")
}
