package journey_test

import (
	"fmt"

	"github.com/leadkit/leadkit/journey"
)

// Paths are counted per shard and merged; the result equals one pass.
func ExampleNewPathAccumulator() {
	opts, err := journey.ParsePathOptions([]byte("collapse_repeats: true\nmax_length: 3\n"))
	if err != nil {
		fmt.Println(err)
		return
	}
	east, _ := journey.NewPathAccumulator(opts)
	west, _ := journey.NewPathAccumulator(opts)
	_ = east.Add([]string{"web", "web", "email", "event"})
	_ = east.Add([]string{"web", "email"})
	_ = west.Add([]string{"web", "email", "event", "call"})
	fmt.Println(west.Add([]string{"web", ""}))
	if err := east.Merge(west); err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range east.Result().Paths {
		fmt.Println(p.Count, p.Items)
	}
	// Output:
	// journey: path: item 2 "": is empty
	// 2 [web email event]
	// 1 [web email]
}

// Pattern accumulators keep the distinct sequences and mine once after
// merging, because pattern support is not additive across shards.
func ExampleNewPatternAccumulator() {
	opts, err := journey.ParsePatternOptions([]byte(`{"min_support": 2, "max_length": 2}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	a, _ := journey.NewPatternAccumulator(opts)
	b, _ := journey.NewPatternAccumulator(opts)
	_ = a.Add([]string{"web", "email", "event"})
	_ = b.Add([]string{"web", "event"})
	if err := a.Merge(b); err != nil {
		fmt.Println(err)
		return
	}
	pats, err := a.Result()
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range pats {
		fmt.Println(p.Support, p.Items)
	}
	// Output:
	// 2 [event]
	// 2 [web]
	// 2 [web event]
}
