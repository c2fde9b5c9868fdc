package pool_test

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/attribution"
	"github.com/leadkit/leadkit/pool"
)

// A validated cost table is what AcquisitionCost reads.
var _ pool.Costs = (*attribution.Costs)(nil)

// monthCosts is a cost table kept the plain way for the tests: channel ->
// month label -> cost. Cost adds whole months from start to end, walking
// day by day.
type monthCosts map[string]map[string]float64

func (m monthCosts) Keys() []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func (m monthCosts) Cost(ch string, start, end time.Time) (float64, bool) {
	if start.Day() != 1 || end.Day() != 1 || !end.After(start) {
		return 0, false
	}
	sum, last := 0.0, ""
	for d := start; d.Before(end); d = d.AddDate(0, 0, 1) {
		_, label := leadkit.PeriodMonth.Cohort(d)
		if label == last {
			continue
		}
		last = label
		c, ok := m[ch][label]
		if !ok {
			return 0, false
		}
		sum += c
	}
	return sum, true
}

// Missing: the channel has a month overlapping [from, to) but no known
// cost over [start, end).
func (m monthCosts) Missing(ch string, start, end, from, to time.Time) bool {
	if _, ok := m.Cost(ch, start, end); ok {
		return false
	}
	for label := range m[ch] {
		s, err := time.Parse("2006-01", label)
		if err == nil && s.Before(to) && s.AddDate(0, 1, 0).After(from) {
			return true
		}
	}
	return false
}

func day(m time.Month, d int) time.Time { return time.Date(2026, m, d, 0, 0, 0, 0, time.UTC) }

func joined(id, ch string, at time.Time) pool.Prospect {
	return pool.Prospect{ID: id, Source: pool.Source{Channel: ch}, Status: pool.StatusActive, JoinedAt: at, Version: 1}
}

// Worked out by hand: a quarter of monthly costs, by month and as one
// quarter.
func TestAcquisitionCostByHand(t *testing.T) {
	table, err := attribution.NewCosts(attribution.CostTable{Period: leadkit.PeriodMonth, Rows: []attribution.CostRow{
		{Key: "ads", Period: "2026-01", Spend: 900},
		{Key: "ads", Period: "2026-02", Spend: 600},
		{Key: "ads", Period: "2026-03", Spend: 0},
		{Key: "webinar", Period: "2026-01", Spend: 1000, Headcount: 1, LoadedCost: 500},
		{Key: "webinar", Period: "2026-03", Spend: 1000},
	}})
	require.NoError(t, err)
	ps := []pool.Prospect{
		joined("a1", "ads", day(1, 3)), joined("a2", "ads", day(1, 20)), joined("a3", "ads", day(2, 5)),
		joined("w1", "webinar", day(1, 9)), joined("w2", "webinar", day(2, 9)),
		joined("s1", "seo", day(3, 2)),
		joined("n1", "", day(3, 3)),
	}
	for _, b := range []leadkit.Period{leadkit.PeriodMonth, leadkit.PeriodQuarter} {
		m, err := pool.NewMetrics(pool.MetricsSpec{From: day(1, 1), To: day(4, 1), Bucket: b})
		require.NoError(t, err)
		for _, p := range ps {
			require.NoError(t, m.Add(p))
		}
		r, err := pool.AcquisitionCost(m.Result(), table)
		require.NoError(t, err)
		src := func(ab pool.AcquisitionBucket, ch string) pool.SourceAcquisition {
			s, ok := ab.Source(ch)
			require.True(t, ok, "%s %s", ab.Label, ch)
			return s
		}
		if b == leadkit.PeriodMonth {
			require.Len(t, r.Buckets, 3)
			jan, feb, mar := r.Buckets[0], r.Buckets[1], r.Buckets[2]
			// January: ads 900 for 2, webinar 1,500 for 1: 2,400 for 3.
			assertAcq(t, "ads", 2, ptr(900.0), ptr(450.0), src(jan, "ads"))
			assertAcq(t, "webinar", 1, ptr(1500.0), ptr(1500.0), src(jan, "webinar"))
			assertAcq(t, "", 3, ptr(2400.0), ptr(800.0), jan.All)
			// February: webinar has no row: unknown, and so is the whole.
			assertAcq(t, "ads", 1, ptr(600.0), ptr(600.0), src(feb, "ads"))
			assertAcq(t, "webinar", 1, nil, nil, src(feb, "webinar"))
			assertAcq(t, "", 2, nil, nil, feb.All)
			// March: ads spent 0 for nobody, webinar 1,000 for nobody; seo
			// has a prospect and no cost row; one prospect has no source.
			assertAcq(t, "ads", 0, ptr(0.0), nil, src(mar, "ads"))
			assertAcq(t, "webinar", 0, ptr(1000.0), nil, src(mar, "webinar"))
			assertAcq(t, "seo", 1, nil, nil, src(mar, "seo"))
			assertAcq(t, pool.NoSource, 1, nil, nil, src(mar, pool.NoSource))
			assertAcq(t, "", 2, nil, nil, mar.All)
		} else {
			require.Len(t, r.Buckets, 1)
			q := r.Buckets[0]
			assert.Equal(t, "2026-Q1", q.Label)
			assertAcq(t, "ads", 3, ptr(1500.0), ptr(500.0), src(q, "ads"))
			assertAcq(t, "webinar", 2, nil, nil, src(q, "webinar"))
		}
		assertAcq(t, "ads", 3, ptr(1500.0), ptr(500.0), src(r.Totals, "ads"))
	}

	// Without seo's prospect and webinar's gap, the whole is known; the
	// prospect without a source shares the channels' spend.
	m, err := pool.NewMetrics(pool.MetricsSpec{From: day(3, 1), To: day(4, 1), Bucket: leadkit.PeriodMonth})
	require.NoError(t, err)
	for _, p := range []pool.Prospect{joined("a", "ads", day(3, 2)), joined("n", "", day(3, 3))} {
		require.NoError(t, m.Add(p))
	}
	r, err := pool.AcquisitionCost(m.Result(), table)
	require.NoError(t, err)
	assertAcq(t, "", 2, ptr(1000.0), ptr(500.0), r.Buckets[0].All)

	// The result is data.
	b, err := json.Marshal(r)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"cost_per_prospect":null`)
	var back pool.AcquisitionResult
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, r, back)
}

func assertAcq(t *testing.T, ch string, inflow int, cost, per *float64, got pool.SourceAcquisition) {
	t.Helper()
	assert.Equal(t, ch, got.Channel)
	assert.Equal(t, inflow, got.Inflow, ch)
	for _, p := range [][2]*float64{{cost, got.Cost}, {per, got.CostPerProspect}} {
		if p[0] == nil {
			assert.Nil(t, p[1], "%s", ch)
		} else if assert.NotNil(t, p[1], "%s", ch) {
			assert.InDelta(t, *p[0], *p[1], 1e-9, "%s", ch)
		}
	}
}

// Against a direct count on random pools and tables, and shards merged
// against one pass.
func TestAcquisitionCostBrute(t *testing.T) {
	chans := []string{"ads", "seo", "webinar", ""}
	for seed := range 200 {
		r := rand.New(rand.NewPCG(uint64(seed), 9))
		from := day(time.Month(1+r.IntN(6)), 1)
		to := from.AddDate(0, 1+r.IntN(8), 0)
		bucket := []leadkit.Period{leadkit.PeriodMonth, leadkit.PeriodQuarter, leadkit.PeriodWeek}[r.IntN(3)]
		costs := monthCosts{}
		for _, ch := range chans[:3] {
			costs[ch] = map[string]float64{}
			for m := from.AddDate(0, -3, 0); m.Before(to.AddDate(0, 3, 0)); m = m.AddDate(0, 1, 0) {
				if r.IntN(5) > 0 {
					_, label := leadkit.PeriodMonth.Cohort(m)
					costs[ch][label] = float64(r.IntN(1000))
				}
			}
		}
		var ps []pool.Prospect
		for i := range 60 {
			at := from.Add(time.Duration(r.Int64N(int64(to.Sub(from))+int64(60*24*time.Hour)) - int64(30*24*time.Hour)))
			ps = append(ps, joined(fmt.Sprint(i), chans[r.IntN(len(chans))], at))
		}
		spec := pool.MetricsSpec{From: from, To: to, Bucket: bucket}
		one, err := pool.NewMetrics(spec)
		require.NoError(t, err)
		shards := []*pool.Metrics{}
		for range 3 {
			m, err := pool.NewMetrics(spec)
			require.NoError(t, err)
			shards = append(shards, m)
		}
		for i, p := range ps {
			require.NoError(t, one.Add(p))
			require.NoError(t, shards[i%3].Add(p))
		}
		require.NoError(t, shards[0].Merge(shards[1]))
		require.NoError(t, shards[0].Merge(shards[2]))
		got, err := pool.AcquisitionCost(one.Result(), costs)
		require.NoError(t, err)
		merged, err := pool.AcquisitionCost(shards[0].Result(), costs)
		require.NoError(t, err)
		require.Equal(t, got, merged, "seed %d: merge == one pass", seed)

		for _, b := range append(got.Buckets, got.Totals) {
			all, known, covered := 0.0, true, false
			listed := 0
			for _, ch := range []string{"ads", "seo", "webinar", pool.NoSource} {
				inflow := 0
				for _, p := range ps {
					src := p.Source.Channel
					if src == "" {
						src = pool.NoSource
					}
					if src == ch && !p.JoinedAt.Before(b.Start) && p.JoinedAt.Before(b.End) {
						inflow++
					}
				}
				cost, ok := costs.Cost(ch, b.Start, b.End)
				missing := costs.Missing(ch, b.Start, b.End, got.From, got.To)
				s, listedHere := b.Source(ch)
				if inflow == 0 && !ok && !missing {
					assert.False(t, listedHere, "seed %d %s %s", seed, b.Label, ch)
					continue
				}
				listed++
				require.True(t, listedHere, "seed %d %s %s", seed, b.Label, ch)
				var wc, wp *float64
				if ok {
					wc = ptr(cost)
					all += cost
					covered = true
					if inflow > 0 {
						wp = ptr(cost / float64(inflow))
					}
				} else if ch != pool.NoSource {
					known = false
				}
				assertAcq(t, ch, inflow, wc, wp, s)
			}
			assert.Len(t, b.Sources, listed)
			var wc, wp *float64
			if known && covered {
				wc = ptr(all)
				if b.All.Inflow > 0 {
					wp = ptr(all / float64(b.All.Inflow))
				}
			}
			assertAcq(t, "", b.All.Inflow, wc, wp, b.All)
			if t.Failed() {
				t.Fatalf("seed %d, bucket %s %s to %s", seed, b.Label, b.Start, b.End)
			}
		}
	}
}

// badCosts gives what a faulty cost source might.
type badCosts struct {
	keys []string
	cost float64
}

func (b badCosts) Keys() []string                                    { return b.keys }
func (b badCosts) Cost(string, time.Time, time.Time) (float64, bool) { return b.cost, true }
func (b badCosts) Missing(string, time.Time, time.Time, time.Time, time.Time) bool {
	return false
}

func TestAcquisitionCostRefusesBadCosts(t *testing.T) {
	m, err := pool.NewMetrics(pool.MetricsSpec{From: day(1, 1), To: day(3, 1), Bucket: leadkit.PeriodMonth})
	require.NoError(t, err)
	require.NoError(t, m.Add(joined("a", "ads", day(1, 2))))
	many := make([]string, pool.MaxCostChannels+1)
	for i := range many {
		many[i] = fmt.Sprint(i)
	}
	for name, c := range map[string]struct {
		costs pool.Costs
		want  string
	}{
		"nil":      {nil, "no costs"},
		"negative": {badCosts{keys: []string{"ads"}, cost: -1}, `cost of "ads" over 2026-01-01T00:00:00Z to 2026-02-01T00:00:00Z is -1`},
		"NaN":      {badCosts{keys: []string{"ads"}, cost: math.NaN()}, "is NaN"},
		"overflow": {badCosts{keys: []string{"ads", "seo"}, cost: math.MaxFloat64}, "add up to more than a float64 holds"},
		"too many": {badCosts{keys: many}, "10001 channels with costs, at most 10000"},
	} {
		_, err := pool.AcquisitionCost(m.Result(), c.costs)
		require.ErrorIs(t, err, leadkit.ErrInvalid, name)
		assert.Contains(t, err.Error(), c.want, name)
	}

	// Every problem at once: the first 20, then a count. 30 channels x
	// (2 months + the totals), and ads (inflow in January) in January and
	// the totals: 92 bad costs.
	_, err = pool.AcquisitionCost(m.Result(), badCosts{keys: many[:30], cost: math.NaN()})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.Contains(t, err.Error(), `cost of "0" over 2026-01-01T00:00:00Z to 2026-02-01T00:00:00Z is NaN`)
	assert.Contains(t, err.Error(), `cost of "19" over 2026-01-01T00:00:00Z`)
	assert.NotContains(t, err.Error(), `cost of "20"`)
	assert.Contains(t, err.Error(), "72 more problems")
}
