package journey

import (
	"sync"
	"testing"
	"time"

	"github.com/leadkit/leadkit/sim"
)

// reportsBench is sim's default business (145,000 leads over 12 months,
// as benchSims' "sim") with creation times, as the per-lead reports read
// it.
var reportsBench struct {
	once sync.Once
	in   randInput
	js   []LeadJourney
	tr   sim.Truth
}

func loadReportsBench(b *testing.B) {
	b.Helper()
	reportsBench.once.Do(func() {
		s, in := simInput(b, sim.Config{Seed: 2026, Leads: 145_000})
		reportsBench.in, reportsBench.tr = in, s.Truth()
		reportsBench.js, _ = Journeys(in.timelines, in.visits, in.created)
	})
	if len(reportsBench.js) == 0 {
		b.Fatal("no simulated leads")
	}
	b.ResetTimer()
}

// BenchmarkSmallReports runs each per-lead report over a year of
// simulated leads through its accumulator (the function forms add the
// grouping by lead, [Journeys], measured on its own), for the month the
// run's ninth month, and reports leads/s.
func BenchmarkSmallReports(b *testing.B) {
	loadReportsBench(b)
	js := reportsBench.js
	m := reportsBench.tr.Months[8].Month
	from, to := m, m.AddDate(0, 1, 0)
	run := func(b *testing.B, add func(LeadJourney) error) {
		for b.Loop() {
			for _, j := range js {
				if err := add(j); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(len(js))*float64(b.N)/b.Elapsed().Seconds(), "leads/s")
	}
	b.Run("journeys", func(b *testing.B) {
		in := reportsBench.in
		for b.Loop() {
			if _, err := Journeys(in.timelines, in.visits, in.created); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(js))*float64(b.N)/b.Elapsed().Seconds(), "leads/s")
	})
	b.Run("source age", func(b *testing.B) {
		a, err := NewSourceAgeAccumulator(sim.StageMQL, SourceAgeOptions{From: from, To: to})
		if err != nil {
			b.Fatal(err)
		}
		run(b, a.Add)
		_ = a.Result()
	})
	b.Run("content phases", func(b *testing.B) {
		a, err := NewContentPhaseAccumulator(sim.StageMQL, ContentPhaseOptions{Order: classicOrder})
		if err != nil {
			b.Fatal(err)
		}
		run(b, a.Add)
		_ = a.Result()
	})
	b.Run("old lead nurture", func(b *testing.B) {
		a, err := NewOldLeadNurtureAccumulator(sim.StageMQL, OldLeadNurtureOptions{From: from, To: to, Order: classicOrder})
		if err != nil {
			b.Fatal(err)
		}
		run(b, a.Add)
		_ = a.Result()
	})
	b.Run("cycle times", func(b *testing.B) {
		in := reportsBench.in
		for b.Loop() {
			if _, err := CycleTimes(in.timelines, in.visits, sim.StageMQL, CycleOptions{Start: FromCreated, Created: in.created, Instant: time.Hour}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(js))*float64(b.N)/b.Elapsed().Seconds(), "leads/s")
	})
}
