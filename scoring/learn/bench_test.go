package learn_test

import (
	"sync"
	"testing"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/scoring"
	"github.com/leadkit/leadkit/scoring/learn"
	"github.com/leadkit/leadkit/sim"
	"github.com/stretchr/testify/require"
)

// benchConfig is the simulated business of the benchmark: about 50
// touches per lead over the 40 to 80 days after its creation (the scoring
// benchmark's shape), the default seniority and size effects, channels
// with small effects, and no golden path.
func benchConfig(leads int) sim.Config {
	const k = 50.0 / 10
	old := 1.0
	return sim.Config{
		Seed:  3,
		Leads: leads,
		Channels: []sim.Channel{
			{Name: sim.ChannelWebsite, Touches: 2 * k, Types: []string{leadkit.EventPageView, leadkit.EventFormSubmitted}, LogOdds: 0.1},
			{Name: sim.ChannelEmail, Touches: 3 * k, Types: []string{leadkit.EventEmailOpened, leadkit.EventEmailClicked, leadkit.EventUnsubscribed}, LogOdds: 0.1},
			{Name: sim.ChannelContent, Touches: k, Types: []string{leadkit.EventDownload}, LogOdds: 0.3},
			{Name: sim.ChannelWebinar, Touches: 2 * k, Types: []string{leadkit.EventWebinarRegistered, leadkit.EventWebinarAttended}, LogOdds: 0.3},
			{Name: "outbound", Touches: 2 * k, Types: []string{leadkit.EventMeeting, leadkit.EventSDRCall}, LogOdds: 0.2},
		},
		Golden:       &sim.GoldenPath{},
		BaseRate:     0.05,
		OldLeadShare: &old,
		OldLeadAge:   leadkit.Duration(40 * 24 * time.Hour),
	}
}

var benchData = struct {
	sync.Once
	ex []learn.Example
}{}

// benchExamples are 100,000 examples of about 50 events each (built
// once per process: a few seconds).
func benchExamples(tb testing.TB) []learn.Example {
	const n = 100_000
	benchData.Do(func() {
		s, err := sim.New(benchConfig(n * 4 / 3))
		require.NoError(tb, err)
		ex := simExamples(tb, s)
		benchData.ex = ex[:min(len(ex), n)]
	})
	require.Len(tb, benchData.ex, n)
	return benchData.ex
}

// BenchmarkFit fits a model on 100,000 leads with about 50 events each
// (default options: every event type and channel as a signal, counted
// ever and in 30 days), and in the same run scores the same examples
// once with the learned model (one worker): the baseline, what one
// scoring pass over the data costs. fit/score is Fit's cost in scoring
// passes.
func BenchmarkFit(b *testing.B) {
	ex := benchExamples(b)
	events := 0
	for _, e := range ex {
		events += len(e.Events)
	}
	in := make([]scoring.Input, len(ex))
	for i, e := range ex {
		in[i] = scoring.Input{Lead: e.Lead, Events: e.Events, AsOf: e.CutOff}
	}
	out := make([]scoring.Result, len(in))
	var fitT, scoreT time.Duration
	var res learn.Result
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		var err error
		res, err = learn.Fit(ex, learn.Options{Seed: 1})
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		m, err := scoring.Compile(res.Spec, scoring.Options{})
		if err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		if err := m.ScoreBatch(out, in, 1); err != nil {
			b.Fatal(err)
		}
		fitT += t1.Sub(t0)
		scoreT += time.Since(t2)
	}
	n := float64(b.N * len(ex))
	b.ReportMetric(n/fitT.Seconds(), "examples/s")
	b.ReportMetric(n/scoreT.Seconds(), "score-examples/s")
	b.ReportMetric(float64(fitT)/float64(scoreT), "fit/score")
	b.ReportMetric(float64(events)/float64(len(ex)), "events/example")
	b.ReportMetric(float64(len(res.Spec.Dimensions[0].Fit)+len(res.Spec.Dimensions[0].Behavior)), "rules")
}
