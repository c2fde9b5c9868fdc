package beam_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/textio"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/attribution"
	lkbeam "github.com/leadkit/leadkit/beam"
	"github.com/leadkit/leadkit/journey"
	"github.com/leadkit/leadkit/sim"
)

func init() {
	register.Function1x2(tenantCreditJSON)
	register.Function1x2(rejectedPathJSON)
}

func tenantCreditJSON(c lkbeam.TenantCredit) (string, error) {
	b, err := json.Marshal(c)
	return string(b), err
}

func rejectedPathJSON(r lkbeam.RejectedPath) (string, error) {
	b, err := json.Marshal(r)
	return string(b), err
}

// timelinesOf groups valid events by lead into timelines, by lead ID, as
// a store would give them.
func timelinesOf(events []leadkit.Event) []journey.Timeline {
	byLead := map[string][]leadkit.Event{}
	for _, e := range events {
		if e.Validate() == nil {
			byLead[e.LeadID] = append(byLead[e.LeadID], e)
		}
	}
	var tls []journey.Timeline
	for _, id := range slices.Sorted(mapKeys(byLead)) {
		tls = append(tls, journey.NewTimeline(id, byLead[id]))
	}
	return tls
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// TestPathsOnPrism cuts the timelines of two tenants' simulated
// businesses into paths on Prism (events shuffled and split over several
// sources), sums them per tenant with PathCounts and runs every path
// model with Attribute, and MarkovAttribution over one tenant's paths;
// each result must equal the library's in one process byte for byte:
// attribution.PathsFromTimelines over the tenant's timelines, put in
// canonical order, then the model. A timeline whose deal amount is text
// is the dead letter of Paths; two leads whose deal values together pass
// attribution.MaxPathCount on one path are left out of the table and are
// the dead letter of PathCounts, as PathsFromTimelines leaves them out.
func TestPathsOnPrism(t *testing.T) {
	conv := attribution.Conversion{Types: []string{sim.EventDealWon}, ValueAttr: "amount", Lookback: 365 * 24 * time.Hour}
	models := lkbeam.PathModels{
		FirstTouch: true, LastTouch: true, Linear: true, Shapley: true,
		LastNonDirect: &attribution.LastNonDirect{Direct: sim.ChannelWebsite},
		PositionBased: &attribution.PositionBased{First: 0.3, Last: 0.5},
		Markov:        &attribution.Markov{Order: 2},
	}
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	tenants := map[string][]leadkit.Event{}
	for tenant, c := range map[string]sim.Config{"acme": {Seed: 1, Leads: 2000}, "globex": {Seed: 2, Leads: 800}} {
		s0, err := sim.New(c)
		require.NoError(t, err)
		tenants[tenant] = slices.Collect(s0.Events())
	}
	tenants["acme"] = append(tenants["acme"],
		// A deal whose amount is text: the cut refuses the timeline.
		leadkit.Event{ID: "odd-1", LeadID: "odd-lead", Type: leadkit.EventDownload, Channel: "content", Time: at},
		leadkit.Event{ID: "odd-2", LeadID: "odd-lead", Type: sim.EventDealWon, Time: at.Add(time.Hour), Attrs: map[string]any{"amount": "lots"}},
		// Two leads on a path of their own whose values sum past the cap.
		leadkit.Event{ID: "big-1", LeadID: "big-a", Type: leadkit.EventDownload, Channel: "whale", Time: at},
		leadkit.Event{ID: "big-2", LeadID: "big-a", Type: sim.EventDealWon, Time: at.Add(time.Hour), Attrs: map[string]any{"amount": 9e14}},
		leadkit.Event{ID: "big-3", LeadID: "big-b", Type: leadkit.EventDownload, Channel: "whale", Time: at},
		leadkit.Event{ID: "big-4", LeadID: "big-b", Type: sim.EventDealWon, Time: at.Add(time.Hour), Attrs: map[string]any{"amount": 9e14}},
	)

	// In memory: each tenant's table and every model's credit.
	var want []string
	var wantMarkov string
	named := []struct {
		name  string
		model attribution.Model
	}{
		{"first_touch", attribution.FirstTouch{}}, {"last_touch", attribution.LastTouch{}},
		{"last_non_direct", *models.LastNonDirect}, {"linear", attribution.Linear{}},
		{"position_based", *models.PositionBased}, {"markov", *models.Markov}, {"shapley", attribution.Shapley{}},
	}
	for tenant, events := range tenants {
		paths, err := attribution.PathsFromTimelines(timelinesOf(events), conv)
		if tenant == "acme" {
			require.Error(t, err, "the odd and the big leads are reported")
			require.Contains(t, err.Error(), "odd-lead")
			require.Contains(t, err.Error(), "whale")
		} else {
			require.NoError(t, err)
		}
		lkbeam.SortPaths(paths)
		require.Greater(t, len(paths), 50)
		for _, m := range named {
			r, err := m.model.Attribute(paths)
			require.NoError(t, err, m.name)
			b, err := json.Marshal(lkbeam.TenantCredit{Tenant: tenant, Model: m.name, Result: r})
			require.NoError(t, err)
			want = append(want, string(b))
		}
		if tenant == "acme" {
			// MarkovAttribution takes the leads' own paths, not the
			// table: the whale leads are in it, each under the cap.
			counts, err := attribution.NewMarkovCounts(*models.Markov)
			require.NoError(t, err)
			for _, tl := range timelinesOf(events) {
				if own, err := attribution.PathsFromTimelines([]journey.Timeline{tl}, conv); err == nil {
					require.NoError(t, counts.AddPaths(own))
				}
			}
			enc, err := counts.MarshalBinary()
			require.NoError(t, err)
			var canonical attribution.MarkovCounts
			require.NoError(t, canonical.UnmarshalBinary(enc))
			r, err := canonical.Result()
			require.NoError(t, err)
			b, err := json.Marshal(r)
			require.NoError(t, err)
			wantMarkov = string(b)
		}
	}
	slices.Sort(want)

	for _, sources := range []int{1, 8} {
		t.Run(fmt.Sprintf("%d sources", sources), func(t *testing.T) {
			dir := t.TempDir()
			p, s := beam.NewPipelineWithRoot()
			var all []beam.PCollection
			var acmePaths beam.PCollection
			for _, tenant := range []string{"acme", "globex"} {
				events := slices.Clone(tenants[tenant])
				rand.New(rand.NewPCG(3, uint64(sources))).Shuffle(len(events), func(i, j int) { events[i], events[j] = events[j], events[i] })
				var parts []beam.PCollection
				for k := range sources {
					var part []leadkit.Event
					for i := k; i < len(events); i += sources {
						part = append(part, events[i])
					}
					parts = append(parts, beam.CreateList(s, part))
				}
				tls, _, err := lkbeam.Timelines(s, tenant, beam.Flatten(s, parts...))
				require.NoError(t, err)
				paths, dead, err := lkbeam.Paths(s, conv, tls)
				require.NoError(t, err)
				textio.Write(s, filepath.Join(dir, tenant+"-timelines.jsonl"), beam.ParDo(s, rejectedTimelineJSON, dead))
				if tenant == "acme" {
					acmePaths = paths
				}
				all = append(all, paths)
			}
			tables, deadPaths := lkbeam.PathCounts(s, beam.Flatten(s, all...))
			credits, err := lkbeam.Attribute(s, models, tables)
			require.NoError(t, err)
			markov, _, err := lkbeam.MarkovAttribution(s, *models.Markov, lkbeam.PathsOnly(s, acmePaths), lkbeam.MarkovOptions{Fanout: 4})
			require.NoError(t, err)
			textio.Write(s, filepath.Join(dir, "credits.jsonl"), beam.ParDo(s, tenantCreditJSON, credits))
			textio.Write(s, filepath.Join(dir, "paths.jsonl"), beam.ParDo(s, rejectedPathJSON, deadPaths))
			textio.Write(s, filepath.Join(dir, "markov.json"), beam.ParDo(s, markovResultJSON, markov))
			require.NoError(t, ptest.Run(p))

			assert.Equal(t, want, readLines(t, filepath.Join(dir, "credits.jsonl")), "every model's credit per tenant, the in-memory one byte for byte")
			assert.Equal(t, []string{wantMarkov}, readLines(t, filepath.Join(dir, "markov.json")), "MarkovAttribution over the pipeline's paths")

			lines := readLines(t, filepath.Join(dir, "acme-timelines.jsonl"))
			require.Len(t, lines, 1)
			var rt lkbeam.RejectedTimeline
			require.NoError(t, json.Unmarshal([]byte(lines[0]), &rt))
			assert.Equal(t, "odd-lead", rt.Timeline.LeadID)
			assert.Contains(t, rt.Reason, `"amount"`)
			assert.Empty(t, readLines(t, filepath.Join(dir, "globex-timelines.jsonl")))

			lines = readLines(t, filepath.Join(dir, "paths.jsonl"))
			require.Len(t, lines, 1)
			var rp lkbeam.RejectedPath
			require.NoError(t, json.Unmarshal([]byte(lines[0]), &rp))
			assert.Equal(t, "acme", rp.Tenant)
			assert.Equal(t, attribution.Path{Channels: []string{"whale"}, Conversions: 2, Value: 18e14}, rp.Path)
			assert.Contains(t, rp.Reason, "MaxPathCount")
		})
	}
}

// TestAttributeRefusesBadModels: no model, or a model the library
// refuses, is an error when the pipeline is built.
func TestAttributeRefusesBadModels(t *testing.T) {
	_, s := beam.NewPipelineWithRoot()
	tables := beam.CreateList(s, []lkbeam.TenantPaths{{Tenant: "acme", Paths: []attribution.Path{{Channels: []string{"email"}, Conversions: 1}}}})
	for name, m := range map[string]lkbeam.PathModels{
		"none":     {},
		"markov":   {Markov: &attribution.Markov{Order: attribution.MaxMarkovOrder + 1}},
		"position": {LastTouch: true, PositionBased: &attribution.PositionBased{First: 0.8, Last: 0.8}},
	} {
		_, err := lkbeam.Attribute(s, m, tables)
		assert.ErrorIs(t, err, leadkit.ErrInvalid, name)
	}
	tls := beam.CreateList(s, []lkbeam.TenantTimeline{})
	_, _, err := lkbeam.Paths(s, attribution.Conversion{}, tls)
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
}
