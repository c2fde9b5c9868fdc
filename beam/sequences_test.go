package beam_test

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	lkbeam "github.com/leadkit/leadkit/beam"
	"github.com/leadkit/leadkit/journey"
	"github.com/leadkit/leadkit/sim"
)

// TestSequencesOnPrism counts two tenants' distinct channel sequences on
// Prism (events shuffled over 1 and 6 sources, fanout 1 and 16) and
// checks each tenant's counts against one journey.PathAccumulator over
// the same timelines' sequences in one process, byte for byte as JSON; a
// timeline whose channel is a path marker is the dead letter.
func TestSequencesOnPrism(t *testing.T) {
	opts := journey.PathOptions{MaxLength: 6, CollapseRepeats: true}
	tenants := map[string][]leadkit.Event{}
	for tenant, seed := range map[string]uint64{"acme": 1, "globex": 2} {
		s0, err := sim.New(sim.Config{Seed: seed, Leads: 1000})
		require.NoError(t, err)
		tenants[tenant] = slices.Collect(s0.Events())
	}
	at := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	tenants["acme"] = append(tenants["acme"], leadkit.Event{ID: "odd", LeadID: "odd-lead", Type: leadkit.EventPageView, Channel: journey.PathEnd, Time: at})

	var want []string
	for tenant, events := range tenants {
		acc, err := journey.NewPathAccumulator(opts)
		require.NoError(t, err)
		for _, tl := range timelinesOf(events) {
			// The pipeline's timelines: same-instant events by ID.
			slices.SortStableFunc(tl.Events, func(a, b leadkit.Event) int { return cmp.Or(a.Time.Compare(b.Time), cmp.Compare(a.ID, b.ID)) })
			if tl.LeadID == "odd-lead" {
				require.Error(t, acc.Add(journey.Sequence(tl, journey.KeyChannel)))
				continue
			}
			require.NoError(t, acc.Add(journey.Sequence(tl, journey.KeyChannel)))
		}
		r := acc.Result()
		require.Greater(t, len(r.Paths), 20)
		b, err := json.Marshal(lkbeam.TenantSequences{Tenant: tenant, Result: r})
		require.NoError(t, err)
		want = append(want, string(b))
	}
	slices.Sort(want)

	for _, c := range []struct{ sources, fanout int }{{1, 1}, {6, 16}} {
		t.Run(fmt.Sprintf("%d sources, fanout %d", c.sources, c.fanout), func(t *testing.T) {
			p, s := beam.NewPipelineWithRoot()
			var all []beam.PCollection
			for _, tenant := range []string{"acme", "globex"} {
				events := slices.Clone(tenants[tenant])
				rand.New(rand.NewPCG(6, uint64(c.sources))).Shuffle(len(events), func(i, j int) { events[i], events[j] = events[j], events[i] })
				tls, _, err := lkbeam.Timelines(s, tenant, split(s, events, c.sources))
				require.NoError(t, err)
				all = append(all, tls)
			}
			result, rejected, err := lkbeam.Sequences(s, journey.KeyChannel, opts, beam.Flatten(s, all...), lkbeam.FunnelOptions{Fanout: c.fanout})
			require.NoError(t, err)
			dir := t.TempDir()
			lkbeam.WriteJSON(s, filepath.Join(dir, "result.jsonl"), result)
			lkbeam.WriteJSON(s, filepath.Join(dir, "rejected.jsonl"), rejected)
			require.NoError(t, ptest.Run(p))
			assert.Equal(t, want, readLines(t, filepath.Join(dir, "result.jsonl")))
			dead := readLines(t, filepath.Join(dir, "rejected.jsonl"))
			require.Len(t, dead, 1)
			assert.Contains(t, dead[0], "odd-lead")
		})
	}

	_, s := beam.NewPipelineWithRoot()
	tls := beam.CreateList(s, []lkbeam.TenantTimeline{})
	_, _, err := lkbeam.Sequences(s, journey.Key("colour"), opts, tls, lkbeam.FunnelOptions{})
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
	_, _, err = lkbeam.Sequences(s, journey.KeyChannel, journey.PathOptions{MaxLength: -1}, tls, lkbeam.FunnelOptions{})
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
}
