package attribution_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/attribution"
	"github.com/leadkit/leadkit/journey"
)

func printCredit(r attribution.Result) {
	for _, ch := range r.Channels() {
		fmt.Printf("%-8s %.3f conversions, value %.2f\n", ch, r.Conversions[ch], r.Value[ch])
	}
}

func ExampleReadPaths() {
	table := `path;total_conversions;total_conversion_value;total_null
seo > email > webinar;2;300;5
ads;1;50;9
seo > ads > ads;1;120;0
`
	paths, err := attribution.ReadPaths(strings.NewReader(table), attribution.CSVOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	r, err := attribution.Linear{}.Attribute(paths)
	if err != nil {
		fmt.Println(err)
		return
	}
	printCredit(r)
	// Output:
	// ads      1.667 conversions, value 130.00
	// email    0.667 conversions, value 100.00
	// seo      1.000 conversions, value 140.00
	// webinar  0.667 conversions, value 100.00
}

// Every bad row is reported with its line and column; the good rows are
// still returned.
func ExampleReadPaths_errors() {
	table := "path;total_conversions\nseo;-1\n > ;2\nads;x\nemail;1e308\nseo > ads;3\n"
	paths, err := attribution.ReadPaths(strings.NewReader(table), attribution.CSVOptions{})
	fmt.Println(err)
	fmt.Println(paths)
	// Output:
	// attribution: csv line 2, column 2 (total_conversions): negative count -1
	// attribution: csv line 3, column 1 (path): empty path " > "
	// attribution: csv line 4, column 2 (total_conversions): "x" is not a number
	// attribution: csv line 5, column 2 (total_conversions): count 1e308 is over the cap of 1e+15 (MaxPathCount)
	// [seo > ads]
}

func ExampleMarkov() {
	paths := []attribution.Path{
		{Channels: []string{"A", "B"}, Conversions: 1, Value: 10, Nulls: 1},
		{Channels: []string{"A"}, Conversions: 1, Value: 20, Nulls: 1},
		{Channels: []string{"B"}, Conversions: 1, Value: 2},
	}
	r, err := attribution.Markov{Order: 1}.Attribute(paths)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("P(convert) = %.4f\n", r.ConversionProbability)
	for _, ch := range r.Channels() {
		fmt.Printf("%s: removal effect %.4f, %.4f conversions, value %.2f\n", ch, r.RemovalEffects[ch], r.Conversions[ch], r.Value[ch])
	}
	// Output:
	// P(convert) = 0.6000
	// A: removal effect 0.7778, 1.6154 conversions, value 22.40
	// B: removal effect 0.6667, 1.3846 conversions, value 9.60
}

// Counting can be split over shards (files, partitions, workers) and merged
// before solving.
func ExampleMarkovCounts_Merge() {
	m := attribution.Markov{Order: 2}
	shard1, _ := attribution.NewMarkovCounts(m)
	shard2, _ := attribution.NewMarkovCounts(m)
	_ = shard1.Add(attribution.Path{Channels: []string{"seo", "email"}, Conversions: 1, Nulls: 3})
	_ = shard2.Add(attribution.Path{Channels: []string{"ads"}, Conversions: 1, Nulls: 1})
	if err := shard1.Merge(shard2); err != nil {
		fmt.Println(err)
		return
	}
	r, err := shard1.Result()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("P(convert) = %.3f, credit: ads %.2f, email %.2f, seo %.2f\n",
		r.ConversionProbability, r.Conversions["ads"], r.Conversions["email"], r.Conversions["seo"])
	// Output:
	// P(convert) = 0.333, credit: ads 0.67, email 0.67, seo 0.67
}

func ExampleShapley() {
	paths := []attribution.Path{
		{Channels: []string{"seo", "ads", "seo"}, Conversions: 2},
		{Channels: []string{"ads"}, Conversions: 1},
	}
	r, _ := attribution.Shapley{}.Attribute(paths)
	fmt.Printf("ads %.1f, seo %.1f\n", r.Conversions["ads"], r.Conversions["seo"])
	// Output:
	// ads 2.0, seo 1.0
}

func ExampleExactShapley() {
	// Any coalition game over a small player set; here the game of a path
	// table, whose exact Shapley value equals the simplified Shapley model.
	c, err := attribution.NewCoalitions([]attribution.Path{
		{Channels: []string{"seo", "ads"}, Conversions: 2},
		{Channels: []string{"ads"}, Conversions: 1},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	phi, err := attribution.ExactShapley(context.Background(), c.Channels(), c.Conversions)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("ads %.1f, seo %.1f\n", phi["ads"], phi["seo"])
	// Output:
	// ads 2.0, seo 1.0
}

func exampleTimelines() []journey.Timeline {
	t0 := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	e := func(lead, id, typ, ch string, d int, attrs map[string]any) leadkit.Event {
		return leadkit.Event{ID: id, LeadID: lead, Type: typ, Channel: ch, Time: t0.Add(time.Duration(d) * day), Attrs: attrs}
	}
	return []journey.Timeline{
		journey.NewTimeline("ann", []leadkit.Event{
			e("ann", "1", leadkit.EventPageView, "seo", 0, nil),
			e("ann", "2", leadkit.EventDownload, "email", 3, nil),
			e("ann", "3", leadkit.EventFormSubmitted, "webinar", 10, nil), // lead creation
			e("ann", "4", leadkit.EventSDRCall, "sdr", 12, nil),
			e("ann", "5", "mql", "", 14, map[string]any{"pipeline": 5000}),
		}),
		journey.NewTimeline("bob", []leadkit.Event{
			e("bob", "6", leadkit.EventPageView, "ads", 1, nil),
		}),
	}
}

func ExamplePathsFromTimelines() {
	paths, err := attribution.PathsFromTimelines(exampleTimelines(), attribution.Conversion{
		Types:     []string{"mql"},
		Lookback:  12 * 24 * time.Hour, // drops ann's seo touch (14 days old)
		ValueAttr: "pipeline",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range paths {
		fmt.Printf("%s: %g conversions, value %g, %g nulls\n", p, p.Conversions, p.Value, p.Nulls)
	}
	// Output:
	// email > webinar > sdr: 1 conversions, value 5000, 0 nulls
	// ads: 0 conversions, value 0, 1 nulls
}

func ExampleUShaped() {
	r, err := attribution.UShaped{}.AttributeTimelines(exampleTimelines(), attribution.Conversion{Types: []string{"mql"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	// First touch seo 40%, lead-creating form fill (webinar) 40%, the rest
	// (email, sdr) 10% each.
	printCredit(r)
	// Output:
	// email    0.100 conversions, value 0.00
	// sdr      0.100 conversions, value 0.00
	// seo      0.400 conversions, value 0.00
	// webinar  0.400 conversions, value 0.00
}

func ExampleTimeDecay() {
	r, err := attribution.TimeDecay{HalfLife: 7 * 24 * time.Hour}.AttributeTimelines(exampleTimelines(), attribution.Conversion{Types: []string{"mql"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	// Touches 14, 11, 4 and 2 days before the MQL weigh 2^(-14/7) = 0.25,
	// 0.337, 0.673 and 0.820; normalised by their sum 2.080.
	printCredit(r)
	// Output:
	// email    0.162 conversions, value 0.00
	// sdr      0.394 conversions, value 0.00
	// seo      0.120 conversions, value 0.00
	// webinar  0.324 conversions, value 0.00
}

// Conversions and timeline models are data: in JSON and YAML their
// durations are text in leadkit's duration grammar, and a bare number or an
// unknown key is an error.
func ExampleConversion_json() {
	var conv attribution.Conversion
	err := json.Unmarshal([]byte(`{"types": ["mql"], "lookback": "2w", "value_attr": "pipeline"}`), &conv)
	fmt.Println(conv.Types, conv.Lookback, conv.ValueAttr, err)

	decay := attribution.TimeDecay{HalfLife: 36 * time.Hour}
	out, _ := json.Marshal(decay)
	fmt.Println(string(out))

	err = json.Unmarshal([]byte(`{"half_life": 7}`), &decay)
	fmt.Println(errors.Is(err, leadkit.ErrInvalid), err)
	// Output:
	// [mql] 336h0m0s pipeline <nil>
	// {"half_life":"1d12h"}
	// true attribution: time decay: half_life: leadkit: invalid input: duration 7: want a string such as "14d", "36h" or "90m"
}

// Specs are data a tenant can store: Parse reads each from JSON or YAML,
// strictly.
func ExampleParse() {
	m, err := attribution.Parse[attribution.Markov]([]byte("order: 2\ncollapse_channels: true\n"))
	fmt.Printf("%+v %v\n", m, err)

	conv, err := attribution.Parse[attribution.Conversion]([]byte(`{"types": ["mql"], "lookback": "2w"}`))
	fmt.Println(conv.Types, conv.Lookback, err)

	_, err = attribution.Parse[attribution.Markov]([]byte("order: 2\nkeep_repeat: true\n"))
	fmt.Println(err)
	// Output:
	// {Order:2 KeepRepeats:false CollapseChannels:true} <nil>
	// [mql] 336h0m0s <nil>
	// attribution: markov: leadkit: invalid input: json: unknown field "keep_repeat"
}

func ExampleNewROIReport() {
	mql := attribution.Result{Conversions: map[string]float64{"seo": 40, "ads": 10}}
	won := attribution.Result{Conversions: map[string]float64{"seo": 2, "ads": 1}, Value: map[string]float64{"seo": 30000, "ads": 9000}}
	rep, err := attribution.NewROIReport(
		map[string]float64{"seo": 5000, "ads": 12000},
		[]attribution.Credit{{Stage: "mql", Result: mql}, {Stage: "won", Result: won}},
		attribution.ROIOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, row := range append(rep.Rows, rep.Total) {
		fmt.Printf("%-7s cost %6.0f  cost/MQL %6.1f  ROI %5.2f\n", row.Key, row.Cost, *row.Stages[0].CostPer, *row.Stages[1].ROI)
	}
	_ = rep.WriteCSV(os.Stdout)
	// Output:
	// ads     cost  12000  cost/MQL 1200.0  ROI -0.25
	// seo     cost   5000  cost/MQL  125.0  ROI  5.00
	// (total) cost  17000  cost/MQL  340.0  ROI  1.29
	// key,cost,mql_conversions,mql_value,mql_cost_per,mql_roas,mql_roi,won_conversions,won_value,won_cost_per,won_roas,won_roi
	// ads,12000,10,0,1200,0,-1,1,9000,12000,0.75,-0.25
	// seo,5000,40,0,125,0,-1,2,30000,2500,6,5
	// (total),17000,50,0,340,0,-1,3,39000,5666.666666666667,2.2941176470588234,1.2941176470588236
}
