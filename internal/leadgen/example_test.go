package leadgen_test

import (
	"fmt"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/leadgen"
)

// The generator is deterministic for a seed: tests and benchmarks get the
// same leads and events on every run.
func Example() {
	asOf := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	a, b := leadgen.New(7), leadgen.New(7)
	l1, l2 := a.Lead(1, asOf), b.Lead(1, asOf)
	fmt.Println(l1.ID == l2.ID, l1.Person.Title == l2.Person.Title)
	evs := a.Events(l1.ID, 5, asOf, 30*24*time.Hour)
	fmt.Println(len(evs), leadkit.ValidateEvents(evs) == nil)
	// Output:
	// true true
	// 5 true
}
