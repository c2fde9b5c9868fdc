// Command beam is a first Apache Beam program with leadkit: it reads a
// tenant's events from JSON-lines files, computes a journey funnel and a
// Markov attribution on Beam, writes the results as JSON lines, then
// computes the same with the in-memory library and prints both side by
// side, saying whether they are equal.
//
//	cd beam
//	go run ./examples/beam                        # simulate 2,000 leads, run on Prism in this process
//	go run ./examples/beam -leads 20000 -out /tmp/results
//	go run ./examples/beam -in 'events/*.jsonl'   # your own files: one leadkit.Event per line
//	go run ./examples/beam --runner=universal --endpoint=localhost:8073 --environment_type=LOOPBACK
//
// Without -in it simulates a business (package sim) and writes its events
// into a temporary directory, with two malformed lines among them to show
// the dead-letter output. --runner, --endpoint and the other runner flags
// are Beam's own (see beamx): the default runner is Prism, in process.
package main

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/x/beamx"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/attribution"
	lkbeam "github.com/leadkit/leadkit/beam"
	"github.com/leadkit/leadkit/journey"
	"github.com/leadkit/leadkit/sim"
)

// config is what the flags set.
type config struct {
	Leads  int    // leads to simulate when In is empty
	Seed   uint64 // the simulation's seed
	In     string // a glob of JSON-lines event files; "" simulates
	Out    string // the results' directory; "" makes a temporary one
	Tenant string // the tenant the events belong to
}

func main() {
	var c config
	flag.IntVar(&c.Leads, "leads", 2000, "leads to simulate (without -in)")
	flag.Uint64Var(&c.Seed, "seed", 1, "the simulation's seed (without -in)")
	flag.StringVar(&c.In, "in", "", "glob of JSON-lines event files (default: simulate a business into a temporary directory)")
	flag.StringVar(&c.Out, "out", "", "directory for the results (default: a temporary directory)")
	flag.StringVar(&c.Tenant, "tenant", "acme", "the tenant the events belong to")
	flag.Parse()
	beam.Init() // on a remote runner's worker, this runs the worker and never returns

	rep, err := run(context.Background(), c, os.Stdout)
	if err != nil {
		log.Fatal(err)
	}
	if !rep.FunnelEqual || !rep.MarkovEqual {
		os.Exit(1)
	}
}

// The analytics: a journey funnel, and the Markov attribution of demo
// requests over every touch with a channel before the request.
var (
	funnelSpec = journey.FunnelSpec{
		Steps: []journey.Step{
			{Name: "engaged", Types: []string{leadkit.EventPageView, leadkit.EventDownload, leadkit.EventWebinarAttended}},
			{Name: "form", Types: []string{leadkit.EventFormSubmitted}},
			{Name: "demo", Types: []string{sim.EventHandRaise}},
			{Name: "deal", Types: []string{sim.EventDealWon}},
		},
		Window: 180 * 24 * time.Hour,
	}
	conversion  = attribution.Conversion{Types: []string{sim.EventHandRaise}}
	markovModel = attribution.Markov{}
)

// report is what run found; the smoke test checks it.
type report struct {
	FunnelEqual, MarkovEqual bool
	Events                   int // events read in memory
	RejectedLines            int // dead letters of the pipeline's ReadEvents
	Out                      string
}

func run(ctx context.Context, c config, w io.Writer) (report, error) {
	var rep report
	if c.In == "" {
		dir, err := os.MkdirTemp("", "leadkit-beam-in")
		if err != nil {
			return rep, err
		}
		if err := simulate(dir, c.Leads, c.Seed); err != nil {
			return rep, err
		}
		c.In = filepath.Join(dir, "*.jsonl")
	}
	if c.Out == "" {
		dir, err := os.MkdirTemp("", "leadkit-beam-out")
		if err != nil {
			return rep, err
		}
		c.Out = dir
	}
	rep.Out = c.Out
	out := func(name string) string { return filepath.Join(c.Out, name) }

	// 1. The pipeline: files -> events -> timelines -> funnel, and
	// timelines -> paths -> Markov attribution. Every stage that can
	// refuse an input has a dead-letter output; they are written too.
	p, s := beam.NewPipelineWithRoot()
	events, rejectedLines := lkbeam.ReadEvents(s, c.In)
	timelines, rejectedEvents, err := lkbeam.Timelines(s, c.Tenant, events)
	if err != nil {
		return rep, err
	}
	funnel, rejectedTimelines, err := lkbeam.JourneyFunnel(s, funnelSpec, timelines, lkbeam.FunnelOptions{})
	if err != nil {
		return rep, err
	}
	paths, uncut, err := lkbeam.Paths(s, conversion, timelines)
	if err != nil {
		return rep, err
	}
	markov, rejectedPaths, err := lkbeam.MarkovAttribution(s, markovModel, lkbeam.PathsOnly(s, paths), lkbeam.MarkovOptions{})
	if err != nil {
		return rep, err
	}
	for _, o := range []struct {
		name string
		col  beam.PCollection
	}{
		{"funnel.jsonl", funnel}, {"markov.jsonl", markov},
		{"rejected_lines.jsonl", rejectedLines}, {"rejected_events.jsonl", rejectedEvents},
		{"rejected_timelines.jsonl", rejectedTimelines}, {"uncut_timelines.jsonl", uncut},
		{"rejected_paths.jsonl", rejectedPaths},
	} {
		lkbeam.WriteJSON(s, out(o.name), o.col)
	}
	start := time.Now()
	if err := beamx.Run(ctx, p); err != nil {
		return rep, fmt.Errorf("pipeline: %w", err)
	}
	fmt.Fprintf(w, "pipeline ran in %s; results in %s\n", time.Since(start).Round(time.Millisecond), c.Out)

	// 2. The same in memory, with the library alone, on the same files.
	events2, rejected2, err := readAll(ctx, c.In)
	if err != nil {
		return rep, err
	}
	rep.Events = len(events2)
	tls := timelinesOf(events2)
	wantFunnel, _ := journey.Funnel(funnelSpec, tls) // a timeline it skips is reported, and left out as on Beam
	paths2, _ := attribution.PathsFromTimelines(tls, conversion)
	wantMarkov, err := markovInMemory(paths2)
	if err != nil {
		return rep, err
	}

	// 3. Side by side.
	deadLines := lines(out("rejected_lines.jsonl"))
	rep.RejectedLines = len(deadLines)
	fmt.Fprintf(w, "\nread %d events; %d malformed lines on Beam, %d in memory (see rejected_lines.jsonl)\n", len(events2), len(deadLines), rejected2)
	for _, l := range deadLines {
		var r lkbeam.RejectedLine
		if json.Unmarshal([]byte(l), &r) == nil {
			fmt.Fprintf(w, "  %s:%d: %s\n", filepath.Base(r.File), r.Line, r.Reason)
		}
	}

	var gotFunnel lkbeam.TenantFunnel
	rep.FunnelEqual = compare(w, "journey funnel", out("funnel.jsonl"), lkbeam.TenantFunnel{Tenant: c.Tenant, Result: wantFunnel}, &gotFunnel)
	fmt.Fprintf(w, "  %-24s %12s %12s\n", "", "beam", "in memory")
	fmt.Fprintf(w, "  %-24s %12d %12d\n", "leads", gotFunnel.Result.Leads, wantFunnel.Leads)
	for i, st := range wantFunnel.Steps {
		got := 0
		if i < len(gotFunnel.Result.Steps) {
			got = gotFunnel.Result.Steps[i].Count
		}
		fmt.Fprintf(w, "  %-24s %12d %12d\n", st.Name, got, st.Count)
	}

	var gotMarkov attribution.Result
	rep.MarkovEqual = compare(w, "markov attribution (conversions credited)", out("markov.jsonl"), wantMarkov, &gotMarkov)
	fmt.Fprintf(w, "  %-24s %12s %12s\n", "", "beam", "in memory")
	for _, ch := range wantMarkov.Channels() {
		fmt.Fprintf(w, "  %-24s %12.3f %12.3f\n", ch, gotMarkov.Conversions[ch], wantMarkov.Conversions[ch])
	}
	fmt.Fprintf(w, "  %-24s %12.4f %12.4f\n", "conversion probability", gotMarkov.ConversionProbability, wantMarkov.ConversionProbability)
	return rep, nil
}

// compare reads the one JSON line of path into got and compares it with
// want, byte for byte as JSON, saying "equal" or showing both.
func compare(w io.Writer, title, path string, want, got any) bool {
	wantJSON, _ := json.Marshal(want)
	ls := lines(path)
	if len(ls) == 1 {
		_ = json.Unmarshal([]byte(ls[0]), got)
	}
	if len(ls) == 1 && ls[0] == string(wantJSON) {
		fmt.Fprintf(w, "\n%s: equal (byte for byte as JSON)\n", title)
		return true
	}
	fmt.Fprintf(w, "\n%s: DIFFERENT\n  beam:      %s\n  in memory: %s\n", title, strings.Join(ls, "\n             "), wantJSON)
	return false
}

// simulate writes the events of a simulated business of leads leads into
// dir as JSON lines, dealt over four files, and two malformed lines and
// a blank one into the first.
func simulate(dir string, leads int, seed uint64) error {
	sm, err := sim.New(sim.Config{Seed: seed, Leads: leads})
	if err != nil {
		return err
	}
	var files [4]bytes.Buffer
	files[0].WriteString("{\"id\":\"broken\",\"lead_id\":\n\n")
	files[0].WriteString(`{"id":"no-time","lead_id":"L1","type":"page_view"}` + "\n")
	i := 0
	for e := range sm.Events() {
		b, err := json.Marshal(e)
		if err != nil {
			return err
		}
		files[i%4].Write(append(b, '\n'))
		i++
	}
	for i := range files {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("events-%d.jsonl", i)), files[i].Bytes(), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// readAll reads the files of glob in memory with lkbeam.ScanEventLines,
// the pipeline's own line reader, through Beam's filesystems (so that
// gs://... works too): the events, and the number of rejected lines.
func readAll(ctx context.Context, glob string) ([]leadkit.Event, int, error) {
	fs, err := filesystem.New(ctx, glob)
	if err != nil {
		return nil, 0, err
	}
	defer fs.Close()
	names, err := fs.List(ctx, glob)
	if err != nil {
		return nil, 0, err
	}
	var events []leadkit.Event
	rejected := 0
	for _, name := range names {
		rc, err := fs.OpenRead(ctx, name)
		if err != nil {
			return nil, 0, err
		}
		var r io.Reader = rc
		if strings.HasSuffix(name, ".gz") {
			if r, err = gzip.NewReader(rc); err != nil {
				rc.Close()
				return nil, 0, err
			}
		}
		err = lkbeam.ScanEventLines(r, name, 0, func(e leadkit.Event) error {
			events = append(events, e)
			return nil
		}, func(lkbeam.RejectedLine) error {
			rejected++
			return nil
		})
		rc.Close()
		if err != nil {
			return nil, 0, err
		}
	}
	return events, rejected, nil
}

// timelinesOf groups events by lead into timelines in lead order, each
// sorted by time then ID, as lkbeam.Timelines sorts them (a lead's events
// at one instant are then in the same order on both sides, which the
// attribution paths depend on).
func timelinesOf(events []leadkit.Event) []journey.Timeline {
	byLead := map[string][]leadkit.Event{}
	for _, e := range events {
		byLead[e.LeadID] = append(byLead[e.LeadID], e)
	}
	var tls []journey.Timeline
	for _, id := range slices.Sorted(maps.Keys(byLead)) {
		es := byLead[id]
		slices.SortFunc(es, func(a, b leadkit.Event) int { return cmp.Or(a.Time.Compare(b.Time), strings.Compare(a.ID, b.ID)) })
		tls = append(tls, journey.Timeline{LeadID: id, Events: es})
	}
	return tls
}

// markovInMemory solves the Markov model on paths with the library's
// attribution.MarkovCounts, numbered canonically (through its encoding)
// as MarkovAttribution does: solved in another numbering, the result
// differs in the last bits of some numbers.
func markovInMemory(paths []attribution.Path) (attribution.Result, error) {
	counts, err := attribution.NewMarkovCounts(markovModel)
	if err != nil {
		return attribution.Result{}, err
	}
	if err := counts.AddPaths(paths); err != nil {
		return attribution.Result{}, err
	}
	b, err := counts.MarshalBinary()
	if err != nil {
		return attribution.Result{}, err
	}
	var canonical attribution.MarkovCounts
	if err := canonical.UnmarshalBinary(b); err != nil {
		return attribution.Result{}, err
	}
	return canonical.Result()
}

// lines returns the lines of a file WriteJSON wrote (none if it is
// missing).
func lines(path string) []string {
	b, err := os.ReadFile(path)
	if err != nil || len(b) == 0 {
		return nil
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}
