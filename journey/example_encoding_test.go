package journey_test

import (
	"fmt"

	"github.com/leadkit/leadkit/journey"
)

// Two workers count paths of their own leads and ship their accumulators
// as bytes; the worker that merges them gets the result of one pass.
func ExamplePathAccumulator_MarshalBinary() {
	opts := journey.PathOptions{CollapseRepeats: true}
	east, _ := journey.NewPathAccumulator(opts)
	west, _ := journey.NewPathAccumulator(opts)
	_ = east.Add([]string{"web", "web", "email"})
	_ = east.Add([]string{"event"})
	_ = west.Add([]string{"web", "email"})

	var shipped [][]byte
	for _, acc := range []*journey.PathAccumulator{east, west} {
		b, err := acc.MarshalBinary()
		if err != nil {
			fmt.Println(err)
			return
		}
		shipped = append(shipped, b)
	}

	var merged journey.PathAccumulator
	if err := merged.UnmarshalBinary(shipped[0]); err != nil {
		fmt.Println(err)
		return
	}
	var other journey.PathAccumulator
	if err := other.UnmarshalBinary(shipped[1]); err != nil {
		fmt.Println(err)
		return
	}
	if err := merged.Merge(&other); err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range merged.Result().Paths {
		fmt.Println(p.Count, p.Items)
	}
	fmt.Println(merged.UnmarshalBinary(shipped[1][:10]))
	// Output:
	// 2 [web email]
	// 1 [event]
	// journey: paths: decode: leadkit: invalid input: options: 25 items in 4 bytes
}
