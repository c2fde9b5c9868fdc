package beam_test

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/textio"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/attribution"
	lkbeam "github.com/leadkit/leadkit/beam"
	"github.com/leadkit/leadkit/journey"
	"github.com/leadkit/leadkit/sim"
)

var benchEvents = flag.Int("beam.events", 200_000, "simulated events the pipeline benchmarks read (the README's figures use 1000000 and 10000000, the latter with GOMEMLIMIT=19GiB on a 23 GB machine)")

// benchFiles are the first *benchEvents events of a simulated business
// as JSON lines in 8 files, written once per test binary.
var benchFiles = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "leadkit-beam-bench-")
	if err != nil {
		return "", err
	}
	s, err := sim.New(sim.Config{Seed: 1, Leads: max(1000, *benchEvents/5)})
	if err != nil {
		return "", err
	}
	var ws []*bufio.Writer
	for i := range 8 {
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("events-%d.jsonl", i)))
		if err != nil {
			return "", err
		}
		defer f.Close()
		w := bufio.NewWriterSize(f, 1<<20)
		defer w.Flush()
		ws = append(ws, w)
	}
	n := 0
	for e := range s.Events() {
		if n == *benchEvents {
			break
		}
		b, err := json.Marshal(e)
		if err != nil {
			return "", err
		}
		w := ws[n%len(ws)]
		w.Write(b)
		w.WriteByte('\n')
		n++
	}
	if n < *benchEvents {
		return "", fmt.Errorf("the simulation made %d events, not %d", n, *benchEvents)
	}
	return dir, nil
})

// readTimelines is the in-memory baseline's reading: every file's lines
// decoded and validated by the pipeline's own reader (ScanEventLines) and
// grouped into timelines by lead.
func readTimelines(b *testing.B, dir string) []journey.Timeline {
	files, err := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	require.NoError(b, err)
	byLead := map[string][]leadkit.Event{}
	for _, name := range files {
		f, err := os.Open(name)
		require.NoError(b, err)
		require.NoError(b, lkbeam.ScanEventLines(f, name, lkbeam.MaxLineBytes, func(e leadkit.Event) error {
			byLead[e.LeadID] = append(byLead[e.LeadID], e)
			return nil
		}, func(r lkbeam.RejectedLine) error { return fmt.Errorf("%s:%d: %s", r.File, r.Line, r.Reason) }))
		f.Close()
	}
	tls := make([]journey.Timeline, 0, len(byLead))
	for _, id := range slices.Sorted(mapKeys(byLead)) {
		tls = append(tls, journey.NewTimeline(id, byLead[id]))
	}
	return tls
}

var benchFunnel = journey.FunnelSpec{
	Steps: []journey.Step{
		{Name: "engaged", Types: []string{leadkit.EventPageView, leadkit.EventDownload, leadkit.EventWebinarAttended}},
		{Name: "form", Types: []string{leadkit.EventFormSubmitted}},
		{Name: "demo", Types: []string{sim.EventHandRaise}},
		{Name: "deal", Types: []string{sim.EventDealWon}},
	},
	Window: 120 * 24 * time.Hour,
}

var benchConversion = attribution.Conversion{Types: []string{sim.EventDealWon}, ValueAttr: "amount"}

// BenchmarkPipelines measures events/s of the journey funnel and of
// Markov attribution from JSON-lines files to the result, on the Prism
// runner in this process and with the in-memory library, alternately in
// the same run: the in-memory side reads and groups the same files, then
// calls journey.Funnel, or attribution.PathsFromTimelines and
// MarkovCounts. The ratio prism/in-memory is the price of the engine on
// one machine. -beam.events sets the size.
func BenchmarkPipelines(b *testing.B) {
	dir, err := benchFiles()
	require.NoError(b, err)
	glob := filepath.Join(dir, "*.jsonl")
	n := float64(*benchEvents)
	for _, c := range []struct {
		name     string
		inMemory func(b *testing.B)
		pipeline func(b *testing.B, s beam.Scope, tls beam.PCollection)
	}{
		{"funnel", func(b *testing.B) {
			_, err := journey.Funnel(benchFunnel, readTimelines(b, dir))
			require.NoError(b, err)
		}, func(b *testing.B, s beam.Scope, tls beam.PCollection) {
			result, _, err := lkbeam.JourneyFunnel(s, benchFunnel, tls, lkbeam.FunnelOptions{})
			require.NoError(b, err)
			textio.Write(s, filepath.Join(b.TempDir(), "funnel.json"), beam.ParDo(s, tenantFunnelJSON, result))
		}},
		{"markov", func(b *testing.B) {
			paths, err := attribution.PathsFromTimelines(readTimelines(b, dir), benchConversion)
			require.NoError(b, err)
			counts, err := attribution.NewMarkovCounts(attribution.Markov{})
			require.NoError(b, err)
			require.NoError(b, counts.AddPaths(paths))
			_, err = counts.Result()
			require.NoError(b, err)
		}, func(b *testing.B, s beam.Scope, tls beam.PCollection) {
			paths, _, err := lkbeam.Paths(s, benchConversion, tls)
			require.NoError(b, err)
			result, _, err := lkbeam.MarkovAttribution(s, attribution.Markov{}, lkbeam.PathsOnly(s, paths), lkbeam.MarkovOptions{})
			require.NoError(b, err)
			textio.Write(s, filepath.Join(b.TempDir(), "markov.json"), beam.ParDo(s, markovResultJSON, result))
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			var mem, prism time.Duration
			for range b.N {
				start := time.Now()
				c.inMemory(b)
				mem += time.Since(start)

				p, s := beam.NewPipelineWithRoot()
				events, _ := lkbeam.ReadEvents(s, glob)
				tls, _, err := lkbeam.Timelines(s, "bench", events)
				require.NoError(b, err)
				c.pipeline(b, s, tls)
				start = time.Now()
				require.NoError(b, ptest.Run(p))
				prism += time.Since(start)
			}
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(n*float64(b.N)/mem.Seconds(), "in-memory-events/s")
			b.ReportMetric(n*float64(b.N)/prism.Seconds(), "prism-events/s")
			b.ReportMetric(prism.Seconds()/mem.Seconds(), "prism/in-memory")
		})
	}
}
