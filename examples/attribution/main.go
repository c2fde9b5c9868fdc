// Command attribution reads a path table in ChannelAttribution's format
// and prints every path-based attribution model of leadkit side by side:
// the conversions each model credits to each channel, the same as shares,
// then the Markov removal effects.
//
//	go run ./examples/attribution                          # the embedded sample (sample.csv)
//	go run ./examples/attribution paths.csv                # your own table
//	go run ./examples/attribution -direct direct,seo paths.csv
//
// -direct names the channels the last non-direct model counts as direct
// traffic (default "direct"; for the embedded sample "direct,website").
//
// The table is ';'-delimited with the header
// "path;total_conversions;total_conversion_value;total_null" (the value
// and null columns are optional); a path is channel names joined by ">",
// e.g. "webinar > content > email". A file that fails to parse is refused:
// the library's errors, with their CSV line and column, go to stderr and
// the exit status is 1.
//
// The sample is a small, made-up B2B table (website, paid search, social,
// webinars, events, content, e-mail, SDR calls). Time decay and the B2B
// milestone models (UShaped, WShaped, FullPath) need event timelines
// (touch times, lead creation), which a path table does not carry, so they
// are not shown; PositionBased is the U-shape of a path.
package main

import (
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode"

	"github.com/leadkit/leadkit/attribution"
)

//go:embed sample.csv
var sample string

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = "usage: attribution [-direct a,b] [paths.csv]\n" +
	"Prints every path-based attribution model side by side for a ChannelAttribution\n" +
	"path table (';'-delimited: path;total_conversions;total_conversion_value;total_null),\n" +
	"or for the embedded sample when no file is given. -direct names the channels the\n" +
	"last non-direct model counts as direct (default \"direct\"; the sample: \"direct,website\").\n"

// A column is one model of the table.
type column struct {
	name  string // column header: one word, so the table stays parseable
	about string // the legend
	model attribution.Model
}

// sampleDirect are the sample's direct channels: the library's default
// name, and the sample's own website visits.
var sampleDirect = []string{attribution.DefaultDirect, "website"}

// columns lists every path model the package offers. Markov is shown at
// orders 1 to 3: higher orders are offered (up to MaxMarkovOrder) but on a
// small table nearly every path gets states of its own.
var columns = []column{
	{"first", "first touch (FirstTouch)", attribution.FirstTouch{}},
	{"last", "last touch (LastTouch)", attribution.LastTouch{}},
	{"non_direct", "last non-direct touch (LastNonDirect)", nil}, // set by run: the direct channels are an option
	{"linear", "equal share per touch (Linear)", attribution.Linear{}},
	{"position", "position-based / U-shaped, 40% first, 40% last, 20% between (PositionBased)", attribution.PositionBased{}},
	{"markov1", "Markov chain of order 1, credit in proportion to removal effects (Markov)", attribution.Markov{Order: 1}},
	{"markov2", "Markov chain of order 2 (Markov{Order: 2})", attribution.Markov{Order: 2}},
	{"markov3", "Markov chain of order 3 (Markov{Order: 3})", attribution.Markov{Order: 3}},
	{"shapley", "simplified Shapley value, equal split over a path's distinct channels (Shapley)", attribution.Shapley{}},
}

// run is the program: it returns the exit status (0 ok, 1 bad input or a
// model error, 2 bad usage).
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("attribution", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	directFlag := fs.String("direct", "", "")
	switch err := fs.Parse(args); {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, usage)
		return 0
	case err != nil:
		fmt.Fprintf(stderr, "attribution: %v\n%s", err, usage)
		return 2
	}
	args = fs.Args()
	name, input := "sample.csv (embedded sample)", io.Reader(strings.NewReader(sample))
	direct := sampleDirect
	if len(args) == 1 {
		direct = []string{attribution.DefaultDirect}
	}
	if *directFlag != "" {
		direct = nil
		for _, d := range strings.Split(*directFlag, ",") {
			if d = strings.TrimSpace(d); d != "" {
				direct = append(direct, d)
			}
		}
		if len(direct) == 0 {
			fmt.Fprintf(stderr, "attribution: -direct %q names no channel\n%s", *directFlag, usage)
			return 2
		}
	}
	columns := slices.Clone(columns)
	for i := range columns {
		if columns[i].name == "non_direct" {
			columns[i].about = "last non-direct touch (LastNonDirect; direct: " + strings.Join(direct, ", ") + ")"
			columns[i].model = attribution.LastNonDirect{Direct: direct[0], AlsoDirect: direct[1:]}
		}
	}
	switch {
	case len(args) == 1:
		f, err := os.Open(args[0])
		if err != nil {
			fmt.Fprintln(stderr, "attribution:", err)
			return 1
		}
		defer f.Close()
		name, input = args[0], f
	case len(args) > 1:
		fmt.Fprint(stderr, usage)
		return 2
	}

	// ReadPaths returns the rows it could read even when others are bad;
	// a report on part of a table would mislead, so any error refuses it.
	paths, err := attribution.ReadPaths(input, attribution.CSVOptions{})
	if err != nil {
		fmt.Fprintf(stderr, "%s is not a usable path table:\n%v\n", name, err)
		return 1
	}
	results := make([]attribution.Result, len(columns))
	for i, c := range columns {
		if results[i], err = c.model.Attribute(paths); err != nil {
			fmt.Fprintf(stderr, "%s: model %s: %v\n", name, c.name, err)
			return 1
		}
	}
	if err := report(stdout, name, columns, paths, results); err != nil {
		fmt.Fprintln(stderr, "attribution:", err)
		return 1
	}
	return 0
}

// report prints the tables. Channels are every channel of the table,
// sorted: a model leaves out the channels it gives no credit.
func report(w io.Writer, name string, columns []column, paths []attribution.Path, results []attribution.Result) error {
	conv, value, nulls := attribution.Totals(paths)
	var channels []string
	seen := map[string]bool{}
	for _, p := range paths {
		for _, ch := range p.Channels {
			if !seen[ch] {
				seen[ch] = true
				channels = append(channels, ch)
			}
		}
	}
	slices.Sort(channels)
	// A name with a tab, line break or other control character would
	// break the table: it is shown quoted.
	shown := func(ch string) string {
		if strings.ContainsFunc(ch, func(r rune) bool { return !unicode.IsPrint(r) }) {
			return strconv.Quote(ch)
		}
		return ch
	}
	width := len("channel")
	for _, ch := range channels {
		width = max(width, len([]rune(shown(ch))))
	}
	label := func(s string) string { return fmt.Sprintf("%-*s", width, shown(s)) }

	fmt.Fprintf(w, "%s: %d paths, %d channels, %s conversions (value %s), %s non-converting journeys\n",
		name, len(paths), len(channels), number(conv), number(value), number(nulls))
	if conv+nulls > 0 {
		fmt.Fprintf(w, "conversion rate %.2f%%\n", 100*conv/(conv+nulls))
	}

	// Numbers are right-aligned; the channel column is padded to one width
	// first, so it reads left-aligned.
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	header := func(title string, names []string) {
		fmt.Fprintf(tw, "\n%s\n", title)
		fmt.Fprintf(tw, "%s\t", label("channel"))
		for _, n := range names {
			fmt.Fprintf(tw, "%s\t", n)
		}
		fmt.Fprintln(tw)
	}
	names := make([]string, len(columns))
	for i, c := range columns {
		names[i] = c.name
	}

	header("Conversions credited", names)
	for _, ch := range channels {
		fmt.Fprintf(tw, "%s\t", label(ch))
		for _, r := range results {
			fmt.Fprintf(tw, "%.2f\t", r.Conversions[ch])
		}
		fmt.Fprintln(tw)
	}
	fmt.Fprintf(tw, "%s\t", label("total"))
	for _, r := range results {
		fmt.Fprintf(tw, "%.2f\t", r.TotalConversions())
	}
	fmt.Fprintln(tw)

	header("Share of the credit", names)
	share := func(x, total float64) string {
		if total == 0 {
			return "-"
		}
		return fmt.Sprintf("%.1f%%", 100*x/total)
	}
	for _, ch := range channels {
		fmt.Fprintf(tw, "%s\t", label(ch))
		for _, r := range results {
			fmt.Fprintf(tw, "%s\t", share(r.Conversions[ch], r.TotalConversions()))
		}
		fmt.Fprintln(tw)
	}

	// Removal effects: 1 - P(convert without the channel) / P(convert),
	// per Markov order. They do not sum to 1; the credit above is the
	// total conversions split in their proportion.
	var markov []int
	for i, r := range results {
		if r.RemovalEffects != nil {
			markov = append(markov, i)
		}
	}
	names = names[:0]
	for _, i := range markov {
		names = append(names, columns[i].name)
	}
	header("Markov removal effects (relative drop in conversions without the channel)", names)
	for _, ch := range channels {
		fmt.Fprintf(tw, "%s\t", label(ch))
		for _, i := range markov {
			if re, ok := results[i].RemovalEffects[ch]; ok {
				fmt.Fprintf(tw, "%.4f\t", re)
			} else {
				fmt.Fprint(tw, "-\t")
			}
		}
		fmt.Fprintln(tw)
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	fmt.Fprintln(w, "\nModels:")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, c := range columns {
		fmt.Fprintf(tw, "  %s\t%s\n", c.name, c.about)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintln(w, "Time decay and the U/W-shaped milestone models need event timelines, not a path table.")
	return err
}

// number prints a count or value: whole numbers without decimals.
func number(x float64) string {
	if x == math.Trunc(x) && math.Abs(x) < 1e15 {
		return strconv.FormatFloat(x, 'f', 0, 64)
	}
	return strconv.FormatFloat(x, 'f', 2, 64)
}
