package sim_test

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/leadkit/leadkit/attribution"
	"github.com/leadkit/leadkit/sim"
)

func Example() {
	s, err := sim.New(sim.Config{Seed: 1, Leads: 2000})
	if err != nil {
		panic(err)
	}
	n := 0
	for e := range s.Events() {
		if n < 3 {
			fmt.Println(e.Time.Format("2006-01-02 15:04:05"), e.LeadID, e.Type, e.Channel)
		}
		n++
	}
	tr := s.Truth()
	fmt.Println("events:", n == tr.Events)
	fmt.Println("golden path:", tr.Golden.Items)
	fmt.Println("noise:", tr.NoiseChannels)
	fmt.Printf("converts more with the golden path: %v\n", tr.Golden.With.Rate > tr.Golden.Without.Rate)
	// Output:
	// 2025-01-01 06:54:11 lead-0 download content
	// 2025-01-01 12:00:53 lead-1 email_opened email
	// 2025-01-01 13:17:18 lead-2 page_view website
	// events: true
	// golden path: [webinar_attended download]
	// noise: [purchased_list]
	// converts more with the golden path: true
}

func ExampleSim_WritePaths() {
	s, err := sim.New(sim.Config{Seed: 1, Leads: 2000})
	if err != nil {
		panic(err)
	}
	var buf bytes.Buffer
	if err := s.WritePaths(&buf); err != nil {
		panic(err)
	}
	// The table in ChannelAttribution's format: the header and a row.
	lines := strings.SplitN(buf.String(), "\n", 3)
	fmt.Println(lines[0])
	fmt.Println(lines[1])

	// attribution reads it as it is; Markov credits the channels.
	paths, err := attribution.ReadPaths(&buf, attribution.CSVOptions{})
	if err != nil {
		panic(err)
	}
	res, err := attribution.Markov{}.Attribute(paths)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%d paths, %.0f conversions (the Truth says %d)\n", len(paths), res.TotalConversions(), s.Truth().Converted.Converted)
	fmt.Printf("least credit: %s\n", least(res.Conversions))
	// Output:
	// path;total_conversions;total_null;total_conversion_value
	// content;0;7;0
	// 1811 paths, 390 conversions (the Truth says 390)
	// least credit: purchased_list
}

// least returns the key with the smallest value.
func least(m map[string]float64) string {
	best := ""
	for k, v := range m {
		if best == "" || v < m[best] || (v == m[best] && k < best) {
			best = k
		}
	}
	return best
}
