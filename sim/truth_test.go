package sim_test

import (
	"bytes"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/attribution"
	"github.com/leadkit/leadkit/journey"
	"github.com/leadkit/leadkit/sim"
	"github.com/leadkit/leadkit/stage"
)

// collect reads a simulation into timelines, stage visits and creation
// times, the inputs of the journey analytics.
func collect(s *sim.Sim) ([]journey.Timeline, []stage.Visit, map[string]time.Time) {
	idx := map[string]int{}
	var tls []journey.Timeline
	var visits []stage.Visit
	created := map[string]time.Time{}
	for r := range s.Records() {
		switch r.Kind {
		case sim.KindLead:
			created[r.Lead.ID] = r.Lead.CreatedAt
		case sim.KindEvent:
			i, ok := idx[r.Event.LeadID]
			if !ok {
				i = len(tls)
				idx[r.Event.LeadID] = i
				tls = append(tls, journey.Timeline{LeadID: r.Event.LeadID})
			}
			tls[i].Events = append(tls[i].Events, r.Event)
		case sim.KindStage:
			visits = append(visits, stage.Visit{LeadID: r.Stage.LeadID, Stage: r.Stage.To, At: r.Stage.At})
		}
	}
	return tls, visits, created
}

// TestGoldenPath: journey.GoldenPaths, over the event types up to each
// lead's first MQL, ranks the planted path first, and measures exactly the
// conversion rate the Truth reports for the leads that took it.
func TestGoldenPath(t *testing.T) {
	s, err := sim.New(sim.Config{Seed: 11, Leads: 10000})
	require.NoError(t, err)
	tr := s.Truth()
	tls, visits, _ := collect(s)
	// The hand-raise is the conversion itself, not a touch on the way.
	for i := range tls {
		tls[i].Events = slices.DeleteFunc(tls[i].Events, func(e leadkit.Event) bool { return e.Type == sim.EventHandRaise })
	}
	conv, other, err := journey.ConversionPaths(tls, visits, sim.StageMQL, journey.KeyType)
	require.NoError(t, err)
	require.Equal(t, tr.Converted.Converted, len(conv))
	require.Equal(t, tr.Leads, len(conv)+len(other))

	paths, err := journey.GoldenPaths(conv, other, journey.PatternOptions{MinSupport: len(conv) / 50, MaxLength: 2})
	require.NoError(t, err)
	require.NotEmpty(t, paths)
	top := paths[0]
	assert.Equal(t, tr.Golden.Items, top.Items, "top paths: %+v", paths[:min(5, len(paths))])
	assert.Equal(t, tr.Golden.With.Converted, top.Converted)
	assert.Equal(t, tr.Golden.With.Leads, top.Converted+top.Other)
	assert.InDelta(t, tr.Golden.With.Rate, top.Confidence, 1e-12)

	// The realised rate ratio is above 1 by more than four standard errors
	// (delta method on the log of the ratio of two proportions).
	w, wo := tr.Golden.With, tr.Golden.Without
	se := math.Sqrt((1-w.Rate)/float64(w.Converted) + (1-wo.Rate)/float64(wo.Converted))
	assert.Greater(t, math.Log(tr.Golden.RateRatio)/se, 4.0)
}

// TestMarkovNoise: attribution.Markov, fitted on WritePaths' table as
// attribution.ReadPaths reads it, gives the noise channel the least
// credit. The margin over the next channel is estimated on independent
// runs (seeds) and must exceed three standard errors of its mean.
//
// With the default channels the noise channel is also the rarest, and
// credit follows frequency as much as effect; so the test also runs with
// every channel touching as often (0.6 touches per lead), where only the
// planted effects tell the channels apart. There the margins are small
// (about 0.2% of the conversions: a first-order chain spreads credit
// evenly), so the runs are larger.
func TestMarkovNoise(t *testing.T) {
	skipUnderRace(t)
	equal := sim.DefaultChannels()
	for i := range equal {
		equal[i].Touches = 0.6
	}
	for _, c := range []struct {
		name     string
		channels []sim.Channel
		runs     int
		leads    int
	}{
		{"default channels", nil, 6, 4000},
		{"equal frequency", equal, 6, 60000},
	} {
		t.Run(c.name, func(t *testing.T) {
			var margins []float64
			for seed := range uint64(c.runs) {
				s, err := sim.New(sim.Config{Seed: 100 + seed, Leads: c.leads, Channels: c.channels})
				require.NoError(t, err)
				var buf bytes.Buffer
				require.NoError(t, s.WritePaths(&buf))
				paths, err := attribution.ReadPaths(&buf, attribution.CSVOptions{})
				require.NoError(t, err)
				total := 0.0
				for _, p := range paths {
					total += p.Conversions
				}
				tr := s.Truth()
				require.Equal(t, float64(tr.Converted.Converted), total)

				res, err := attribution.Markov{}.Attribute(paths)
				require.NoError(t, err)
				noise := res.Conversions[sim.ChannelPurchasedList]
				least := math.Inf(1)
				for ch, v := range res.Conversions {
					if ch != sim.ChannelPurchasedList {
						least = min(least, v)
					}
				}
				margins = append(margins, (least-noise)/total)
			}
			mean, sd := meanSD(margins)
			t.Logf("margins %v", margins)
			assert.Greater(t, mean, 3*sd/math.Sqrt(float64(c.runs)), "margins of the next channel over the noise channel: %v", margins)
		})
	}
}

func meanSD(xs []float64) (float64, float64) {
	m := 0.0
	for _, x := range xs {
		m += x
	}
	m /= float64(len(xs))
	v := 0.0
	for _, x := range xs {
		v += (x - m) * (x - m)
	}
	return m, math.Sqrt(v / float64(len(xs)-1))
}

// TestOldLeadShare: journey.SourceAge, bucketed at the old-lead age,
// counts exactly the old MQLs the Truth reports in every month; without
// recycling, the share of old leads among the steady months' MQLs is the
// planted one within four binomial standard errors.
func TestOldLeadShare(t *testing.T) {
	zero := 0.0
	s, err := sim.New(sim.Config{Seed: 21, Leads: 20000, RecycleRate: &zero})
	require.NoError(t, err)
	tr := s.Truth()
	tls, visits, created := collect(s)
	age := time.Duration(tr.Effects.OldLeadAge)
	old, all := 0, 0
	for i, m := range tr.Months {
		to := m.Month.AddDate(0, 1, 0)
		r, err := journey.SourceAge(tls, visits, created, sim.StageMQL, journey.SourceAgeOptions{From: m.Month, To: to, Buckets: []time.Duration{age}})
		require.NoError(t, err)
		require.Len(t, r.Buckets, 2)
		assert.Equal(t, m.MQLs, r.Leads, "month %d", i+1)
		assert.Equal(t, m.Old, r.Buckets[1].Leads, "month %d", i+1)
		assert.Equal(t, m.Repeat, r.Repeat, "month %d", i+1)
		if m.Steady {
			old += m.Old
			all += m.MQLs
		}
	}
	require.Positive(t, all)
	p := tr.Effects.OldLeadShare
	share := float64(old) / float64(all)
	se := math.Sqrt(p * (1 - p) / float64(all))
	assert.InDelta(t, p, share, 4*se, "old share %.4f of %d steady-month MQLs", share, all)
}

// TestRecycling: with the default recycling, SourceAge's repeat MQLs are
// those the Truth reports.
func TestRecycling(t *testing.T) {
	s, err := sim.New(sim.Config{Seed: 22, Leads: 3000})
	require.NoError(t, err)
	tr := s.Truth()
	tls, visits, created := collect(s)
	repeats := 0
	for _, m := range tr.Months {
		r, err := journey.SourceAge(tls, visits, created, sim.StageMQL, journey.SourceAgeOptions{From: m.Month, To: m.Month.AddDate(0, 1, 0)})
		require.NoError(t, err)
		assert.Equal(t, m.Repeat, r.Repeat)
		assert.Equal(t, m.FirstTime, r.FirstTime)
		repeats += m.Repeat
	}
	assert.Positive(t, repeats)
	assert.True(t, slices.ContainsFunc(visits, func(v stage.Visit) bool { return v.Stage == sim.StageWon }))
}

// Truth returns a copy: changing it does not change the next call's.
func TestTruthIsACopy(t *testing.T) {
	s, err := sim.New(sim.Config{Seed: 1, Leads: 300})
	require.NoError(t, err)
	a := s.Truth()
	want := s.Truth()
	a.Months[0].MQLs = -1
	a.Months[0].Costs[0].Cost = -1
	a.NoiseChannels[0] = "changed"
	a.Channels[0].Touches = -1
	a.Seniority[0].Leads = -1
	a.Effects.Golden.Items[0] = "changed"
	a.Golden.Items[0] = "changed"
	assert.Equal(t, want, s.Truth())
}

// The seniority levels and size bands convert in the order of their
// planted log-odds, each step by more than two standard errors.
func TestSeniorityAndSizeEffects(t *testing.T) {
	s, err := sim.New(sim.Config{Seed: 5, Leads: 50000})
	require.NoError(t, err)
	tr := s.Truth()
	require.Len(t, tr.Seniority, len(sim.DefaultSeniority()))
	require.Len(t, tr.Sizes, len(sim.DefaultSizes()))
	check := func(what string, rates []sim.Rate, logOdds []float64) {
		total := 0
		for i, r := range rates {
			total += r.Leads
			assert.InDelta(t, float64(r.Converted)/float64(r.Leads), r.Rate, 1e-12)
			if i == 0 {
				continue
			}
			require.Greater(t, logOdds[i], logOdds[i-1], "%s: the planted log-odds rise", what)
			p, q := rates[i-1], r
			se := math.Sqrt(p.Rate*(1-p.Rate)/float64(p.Leads) + q.Rate*(1-q.Rate)/float64(q.Leads))
			assert.Greater(t, q.Rate-p.Rate, 2*se, "%s %d: %v after %v", what, i, q, p)
		}
		assert.Equal(t, tr.Leads, total, what)
	}
	var rates []sim.Rate
	var odds []float64
	for _, l := range tr.Seniority {
		rates, odds = append(rates, l.Rate), append(odds, l.LogOdds)
	}
	check("seniority", rates, odds)
	rates, odds = nil, nil
	for _, b := range tr.Sizes {
		rates, odds = append(rates, b.Rate), append(odds, b.LogOdds)
	}
	check("size", rates, odds)
}
