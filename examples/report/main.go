// Command report writes the lifecycle verification of a simulated business
// as one self-contained HTML file: charts drawn as inline SVG, each with
// the table of its numbers, no external fonts, scripts or styles.
//
//	go run ./examples/report                       # 10,000 leads, report.html
//	go run ./examples/report -leads 50000 -o /tmp/r.html
//
// The business and its wiring through the lifecycle engine are those of
// examples/lifecycle (package examples/internal/business); the report covers the stage funnel and conversion of
// the last month, its MQLs from new and old leads month by month, the
// attribution of its MQLs by last touch and Markov, the golden paths to
// MQL, the time to MQL and the score distribution by fit grade, the
// funnel diagnosis (MQL -> SAL per SDR and SAL -> SQL per sales rep, each
// rate with its 95% interval beside the step's target), and ROI per
// marketing function and quarter (the simulator's spend plus the people
// costs the demo assumes, which the page states).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/leadkit/leadkit/examples/internal/business"
	"github.com/leadkit/leadkit/sim"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	leads := fs.Int("leads", 10_000, "leads the simulated business creates over the run")
	seed := fs.Uint64("seed", 1, "seed of the simulation")
	months := fs.Int("months", 12, "months the run lasts; the last one is verified")
	out := fs.String("o", "report.html", "the HTML file to write")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "report: unexpected arguments %q\n", fs.Args())
		return 2
	}
	if *leads < 1 || *months < 1 {
		fmt.Fprintf(stderr, "report: -leads and -months must be at least 1 (0 would silently mean the simulator's default)\n")
		return 2
	}
	if err := generate(context.Background(), business.DemoConfig(*seed, *leads, *months), *out); err != nil {
		fmt.Fprintln(stderr, "report:", err)
		return 1
	}
	fmt.Fprintln(stderr, "report: wrote", *out)
	return 0
}

// generate builds the data and writes the report to path.
func generate(ctx context.Context, cfg sim.Config, path string) error {
	d, err := build(ctx, cfg)
	if err != nil {
		return err
	}
	return writeFile(d, path)
}

func writeFile(d *data, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := d.write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
