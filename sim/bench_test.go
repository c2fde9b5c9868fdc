package sim_test

import (
	"testing"

	"github.com/leadkit/leadkit/sim"
)

func benchmarkEvents(b *testing.B, leads int) {
	s, err := sim.New(sim.Config{Seed: 1, Leads: leads})
	if err != nil {
		b.Fatal(err)
	}
	events := 0
	for b.Loop() {
		for range s.Events() {
			events++
		}
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(leads)*float64(b.N)/b.Elapsed().Seconds(), "leads/s")
}

func BenchmarkEvents100k(b *testing.B) { benchmarkEvents(b, 100_000) }
func BenchmarkEvents1M(b *testing.B)   { benchmarkEvents(b, 1_000_000) }
