package sim_test

import (
	"bytes"
	"fmt"

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
	paths, err := attribution.ReadPaths(&buf, attribution.CSVOptions{})
	if err != nil {
		panic(err)
	}
	conv := 0.0
	for _, p := range paths {
		conv += p.Conversions
	}
	fmt.Println(conv == float64(s.Truth().Converted.Converted))
	// Output:
	// true
}
