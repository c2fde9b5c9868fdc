package stagefunnel_test

import (
	"fmt"
	"time"

	"github.com/leadkit/leadkit/internal/stagefunnel"
)

// Two leads: one goes MQL -> SAL in two days, one skips MQL (imported at
// SAL) and so reached MQL on its way.
func Example() {
	day := 24 * time.Hour
	t0 := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	acc, err := stagefunnel.New(stagefunnel.Spec{Stages: []string{"MQL", "SAL"}})
	if err != nil {
		panic(err)
	}
	acc.Add([]stagefunnel.Visit{{Stage: "MQL", At: t0}, {Stage: "SAL", At: t0.Add(2 * day)}})
	acc.Add([]stagefunnel.Visit{{Stage: "SAL", At: t0}})
	r := acc.Result()
	for _, s := range r.Stages {
		fmt.Printf("%s: entered %d, reached %d\n", s.Stage, s.Entered, s.Reached)
	}
	c := r.Conversions[0]
	fmt.Printf("%s -> %s: %d of %d, mean %s\n", c.From, c.To, c.Converted, c.Base, c.Mean)
	// Output:
	// MQL: entered 1, reached 2
	// SAL: entered 2, reached 2
	// MQL -> SAL: 2 of 2, mean 24h0m0s
}
