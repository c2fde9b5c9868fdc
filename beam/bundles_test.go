package beam_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/textio"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/attribution"
	lkbeam "github.com/leadkit/leadkit/beam"
	"github.com/leadkit/leadkit/sim"
)

func init() {
	register.DoFn3x0[context.Context, leadkit.Event, func(leadkit.Event)](&countBundlesFn{})
	register.Emitter1[leadkit.Event]()
}

// countBundlesFn passes events through and counts the bundles it runs
// in (the "bundles" counter) and the events (the "events" counter).
type countBundlesFn struct {
	bundles, events beam.Counter
}

func (f *countBundlesFn) Setup() {
	f.bundles = beam.NewCounter("leadkit.test", "bundles")
	f.events = beam.NewCounter("leadkit.test", "events")
}

func (f *countBundlesFn) StartBundle(ctx context.Context, _ func(leadkit.Event)) {
	f.bundles.Inc(ctx, 1)
}

func (f *countBundlesFn) ProcessElement(ctx context.Context, e leadkit.Event, emit func(leadkit.Event)) {
	f.events.Inc(ctx, 1)
	emit(e)
}

// TestSameResultWhateverTheSplit runs the event pipelines (journey funnel,
// paths with every path model, Markov over the leads' paths) over the
// same events split three ways: one source and one partial accumulator
// with one OS thread; 32 sources (32 bundles at least, counted) with a
// fanout of 16 and two threads, Prism running up to 8 bundles at once;
// and 7 sources with a fanout of 3. Every output file must be the same
// byte for byte.
//
// Prism runs one SDK worker per environment and processes bundles
// concurrently in it, so here "several workers" are concurrent bundles;
// on a cluster runner the partial accumulators cross processes in the
// encodings the other tests round-trip.
func TestSameResultWhateverTheSplit(t *testing.T) {
	s0, err := sim.New(sim.Config{Seed: 5, Leads: 1500})
	require.NoError(t, err)
	events := slices.Collect(s0.Events())
	conv := attribution.Conversion{Types: []string{sim.EventDealWon}, ValueAttr: "amount"}
	models := lkbeam.PathModels{FirstTouch: true, LastTouch: true, Linear: true, Markov: &attribution.Markov{Order: 2}}

	run := func(t *testing.T, sources, fanout, procs int) (map[string]string, int64) {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		shuffled := slices.Clone(events)
		rand.New(rand.NewPCG(uint64(sources), 1)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		dir := t.TempDir()
		p, s := beam.NewPipelineWithRoot()
		var parts []beam.PCollection
		for k := range sources {
			var part []leadkit.Event
			for i := k; i < len(shuffled); i += sources {
				part = append(part, shuffled[i])
			}
			parts = append(parts, beam.ParDo(s, &countBundlesFn{}, beam.CreateList(s, part)))
		}
		tls, _, err := lkbeam.Timelines(s, "acme", beam.Flatten(s, parts...))
		require.NoError(t, err)
		funnel, _, err := lkbeam.JourneyFunnel(s, benchFunnel, tls, lkbeam.FunnelOptions{Fanout: fanout})
		require.NoError(t, err)
		paths, _, err := lkbeam.Paths(s, conv, tls)
		require.NoError(t, err)
		tables, _ := lkbeam.PathCounts(s, paths)
		credits, err := lkbeam.Attribute(s, models, tables)
		require.NoError(t, err)
		markov, _, err := lkbeam.MarkovAttribution(s, *models.Markov, lkbeam.PathsOnly(s, paths), lkbeam.MarkovOptions{Fanout: fanout})
		require.NoError(t, err)
		textio.Write(s, filepath.Join(dir, "funnel.json"), beam.ParDo(s, tenantFunnelJSON, funnel))
		textio.Write(s, filepath.Join(dir, "credits.jsonl"), beam.ParDo(s, tenantCreditJSON, credits))
		textio.Write(s, filepath.Join(dir, "markov.json"), beam.ParDo(s, markovResultJSON, markov))
		pr, err := ptest.RunWithMetrics(p)
		require.NoError(t, err)

		var bundles, counted int64
		for _, c := range pr.Metrics().AllMetrics().Counters() {
			switch c.Key.Name {
			case "bundles":
				bundles += c.Committed
			case "events":
				counted += c.Committed
			}
		}
		require.Equal(t, int64(len(events)), counted, "every event passed the counter once")
		t.Logf("%d events in %d bundles", counted, bundles)
		out := map[string]string{}
		for _, name := range []string{"funnel.json", "credits.jsonl", "markov.json"} {
			b, err := os.ReadFile(filepath.Join(dir, name))
			require.NoError(t, err)
			out[name] = string(b)
		}
		return out, bundles
	}

	one, bundles := run(t, 1, 1, 1)
	require.NotEmpty(t, one["funnel.json"])
	assert.GreaterOrEqual(t, bundles, int64(1))
	for _, c := range []struct{ sources, fanout, procs int }{{32, 16, 2}, {7, 3, 2}} {
		t.Run(fmt.Sprintf("%d sources, fanout %d, %d threads", c.sources, c.fanout, c.procs), func(t *testing.T) {
			got, bundles := run(t, c.sources, c.fanout, c.procs)
			assert.GreaterOrEqual(t, bundles, int64(c.sources), "the input came in at least one bundle per source")
			for name, want := range one {
				assert.Equal(t, want, got[name], name)
			}
		})
	}
}
