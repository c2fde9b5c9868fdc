package pool_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/pool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func mday(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func mdays(n float64) leadkit.Duration { return leadkit.Duration(n * float64(leadkit.Day)) }

// metricsScenario is 11 prospects around Q1 2026 (monthly buckets, 30d
// dormancy); the expected numbers are worked out by hand in
// TestMetricsHandComputed.
func metricsScenario() (pool.MetricsSpec, []pool.Prospect) {
	s := pool.MetricsSpec{From: mday(2026, 1, 1), To: mday(2026, 4, 1), Bucket: leadkit.PeriodMonth, Dormant: 30 * leadkit.Day}
	ads, web := pool.Source{Channel: "ads"}, pool.Source{Channel: "webinar"}
	act, grad := pool.StatusActive, pool.StatusGraduated
	ps := []pool.Prospect{
		{ID: "A", Source: ads, Status: act, JoinedAt: mday(2025, 12, 10), Touches: []time.Time{mday(2026, 1, 25)}, LastActivityAt: mday(2026, 3, 1)},
		{ID: "B", Source: web, Status: grad, JoinedAt: mday(2026, 1, 5), GraduatedAt: mday(2026, 1, 20), LeftAt: mday(2026, 1, 20)},
		{ID: "C", Source: ads, Status: grad, JoinedAt: mday(2026, 1, 10), GraduatedAt: mday(2026, 2, 19), LeftAt: mday(2026, 2, 19)},
		{ID: "D", Status: pool.StatusOptedOut, JoinedAt: mday(2026, 1, 15), LeftAt: mday(2026, 2, 10)},
		{ID: "E", Source: web, Status: grad, JoinedAt: mday(2026, 2, 3), GraduatedAt: mday(2026, 3, 8)}, // no LeftAt: GraduatedAt
		{ID: "F", Source: ads, Status: pool.StatusMerged, JoinedAt: mday(2026, 2, 20), LeftAt: mday(2026, 3, 1)},
		{ID: "G", Source: web, Status: act, JoinedAt: mday(2026, 3, 2)},
		{ID: "H", Source: ads, Status: pool.StatusErased, JoinedAt: mday(2025, 11, 1), LeftAt: mday(2026, 1, 2)},
		{ID: "I", Source: ads, Status: act, JoinedAt: mday(2026, 4, 2)},                                                                // after the period
		{ID: "J", Source: ads, Status: grad, JoinedAt: mday(2025, 12, 1), GraduatedAt: mday(2025, 12, 20), LeftAt: mday(2025, 12, 20)}, // before it
		{ID: "K", Source: web, Status: act, JoinedAt: mday(2026, 3, 20), LastActivityAt: mday(2026, 3, 25)},
	}
	return s, ps
}

func TestMetricsHandComputed(t *testing.T) {
	s, ps := metricsScenario()
	m, err := pool.NewMetrics(s)
	require.NoError(t, err)
	for _, p := range ps {
		require.NoError(t, m.Add(p), p.ID)
	}
	r := m.Result()
	assert.Equal(t, 11, r.Prospects, "every prospect added, in the period or not")
	assert.Equal(t, leadkit.Duration(30*leadkit.Day), r.Dormant)
	require.Len(t, r.Buckets, 3)

	// January [Jan 1, Feb 1). In the pool at Jan 1: A (joined Dec 10) and
	// H (joined Nov 1, erased Jan 2); J left Dec 20. Joined: B (webinar),
	// C (ads), D (no source). Left: H erased Jan 2, B graduated Jan 20
	// after 15 days. At Feb 1: A, C, D = 3 (2 + 3 - 2). Rate 1 / (2 + 3).
	// Latest touches before Feb 1: A Jan 25 (7 days), C Jan 10 (22), D
	// Jan 15 (17): none dormant.
	jan := r.Buckets[0]
	assert.Equal(t, "2026-01", jan.Label)
	assert.Equal(t, mday(2026, 1, 1), jan.Start)
	assert.Equal(t, mday(2026, 2, 1), jan.End)
	assert.Equal(t, 2, jan.SizeAtStart)
	assert.Equal(t, 3, jan.Size)
	assert.Equal(t, 3, jan.Inflow)
	assert.Equal(t, pool.MetricsOutflow{Graduated: 1, Erased: 1}, jan.Outflow)
	assert.InDelta(t, 0.2, jan.GraduationRate, 1e-12)
	assert.Equal(t, mdays(15), jan.MedianTimeToGraduate)
	assert.Equal(t, 0, jan.Dormant)
	assert.Equal(t, 0.0, jan.DormantShare)
	assert.Equal(t, map[string]pool.SourceMetrics{
		"ads":     {SizeAtStart: 2, Inflow: 1},
		"webinar": {Inflow: 1, Graduated: 1, GraduationRate: 1, MedianTimeToGraduate: mdays(15)},
		"(none)":  {Inflow: 1},
	}, jan.BySource)

	// February [Feb 1, Mar 1). Joined: E (webinar), F (ads). Left: D opted
	// out Feb 10, C graduated Feb 19 after 40 days (Jan 10 + 21 + 19). At
	// Mar 1: A, E and F (merged at Mar 1 itself: still in the pool at Mar
	// 1) = 3 (3 + 2 - 2). Rate 1 / (3 + 2). Latest touches before Mar 1:
	// A Jan 25 (its Mar 1 activity is not before Mar 1): 35 days, dormant;
	// E Feb 3 (26), F Feb 20 (9). Dormant 1 of 3. By source: ads had A and
	// C at Feb 1, F joined, C graduated: 1 / 3; D (no source) was in the
	// pool at Feb 1.
	feb := r.Buckets[1]
	assert.Equal(t, "2026-02", feb.Label)
	assert.Equal(t, 3, feb.SizeAtStart)
	assert.Equal(t, 3, feb.Size)
	assert.Equal(t, 2, feb.Inflow)
	assert.Equal(t, pool.MetricsOutflow{Graduated: 1, OptedOut: 1}, feb.Outflow)
	assert.InDelta(t, 0.2, feb.GraduationRate, 1e-12)
	assert.Equal(t, mdays(40), feb.MedianTimeToGraduate)
	assert.Equal(t, 1, feb.Dormant)
	assert.InDelta(t, 1.0/3, feb.DormantShare, 1e-12)
	assert.Equal(t, map[string]pool.SourceMetrics{
		"ads":     {SizeAtStart: 2, Inflow: 1, Graduated: 1, GraduationRate: 1.0 / 3, MedianTimeToGraduate: mdays(40)},
		"webinar": {Inflow: 1},
		"(none)":  {SizeAtStart: 1},
	}, feb.BySource)

	// March [Mar 1, Apr 1). Joined: G (webinar, Mar 2), K (webinar, Mar
	// 20). Left: F merged Mar 1, E graduated Mar 8 after 33 days (Feb 3 +
	// 25 + 8). At Apr 1: A, G, K = 3 (3 + 2 - 2). Rate 1 / (3 + 2).
	// Latest touches before Apr 1: A Mar 1 (31 days, dormant), G joined
	// Mar 2 (exactly 30 days: dormant), K Mar 25 (7). Dormant 2 of 3.
	mar := r.Buckets[2]
	assert.Equal(t, "2026-03", mar.Label)
	assert.Equal(t, mday(2026, 4, 1), mar.End)
	assert.Equal(t, 3, mar.SizeAtStart)
	assert.Equal(t, 3, mar.Size)
	assert.Equal(t, 2, mar.Inflow)
	assert.Equal(t, pool.MetricsOutflow{Graduated: 1, Merged: 1}, mar.Outflow)
	assert.InDelta(t, 0.2, mar.GraduationRate, 1e-12)
	assert.Equal(t, mdays(33), mar.MedianTimeToGraduate)
	assert.Equal(t, 2, mar.Dormant)
	assert.InDelta(t, 2.0/3, mar.DormantShare, 1e-12)
	assert.Equal(t, map[string]pool.SourceMetrics{
		"ads":     {SizeAtStart: 2},
		"webinar": {SizeAtStart: 1, Inflow: 2, Graduated: 1, GraduationRate: 1.0 / 3, MedianTimeToGraduate: mdays(33)},
	}, mar.BySource)

	// The quarter: 2 at the start, 7 joined, 6 left (B, C, E graduated;
	// D, H, F), 3 at the end. Rate 3 / (2 + 7); median of 15, 33 and 40
	// days. By source: ads A and H at the start, C and F joined, C
	// graduated (1 / 4, 40 days); webinar B, E, G, K joined, B and E
	// graduated (2 / 4, median (15 + 33) / 2 = 24 days).
	tot := r.Totals
	assert.Equal(t, "", tot.Label)
	assert.Equal(t, s.From, tot.Start)
	assert.Equal(t, s.To, tot.End)
	assert.Equal(t, 2, tot.SizeAtStart)
	assert.Equal(t, 3, tot.Size)
	assert.Equal(t, 7, tot.Inflow)
	assert.Equal(t, pool.MetricsOutflow{Graduated: 3, OptedOut: 1, Erased: 1, Merged: 1}, tot.Outflow)
	assert.Equal(t, 6, tot.Outflow.Total())
	assert.InDelta(t, 1.0/3, tot.GraduationRate, 1e-12)
	assert.Equal(t, mdays(33), tot.MedianTimeToGraduate)
	assert.Equal(t, 2, tot.Dormant)
	assert.Equal(t, map[string]pool.SourceMetrics{
		"ads":     {SizeAtStart: 2, Inflow: 2, Graduated: 1, GraduationRate: 0.25, MedianTimeToGraduate: mdays(40)},
		"webinar": {Inflow: 4, Graduated: 2, GraduationRate: 0.5, MedianTimeToGraduate: mdays(24)},
		"(none)":  {Inflow: 1},
	}, tot.BySource)
}

func TestMetricsClippedBucketsAndErasedGraduates(t *testing.T) {
	// From Jan 15 to Feb 10 with monthly buckets: January is counted from
	// Jan 15, February up to Feb 10.
	m, err := pool.NewMetrics(pool.MetricsSpec{From: mday(2026, 1, 15), To: mday(2026, 2, 10), Bucket: leadkit.PeriodMonth})
	require.NoError(t, err)
	assert.Equal(t, 90*leadkit.Day, m.Spec().Dormant, "0 is the default")
	// Joined Jan 10 (before From: in the pool at the start), graduated
	// Jan 20 (10 days) and was erased later: erasure keeps the time it
	// left, and it counts as graduated.
	require.NoError(t, m.Add(pool.Prospect{ID: "x", Status: pool.StatusErased, JoinedAt: mday(2026, 1, 10),
		GraduatedAt: mday(2026, 1, 20), LeftAt: mday(2026, 1, 20)}))
	// Opted out at From itself: in the pool at the start, and it left in
	// January.
	require.NoError(t, m.Add(pool.Prospect{ID: "z", Status: pool.StatusOptedOut, JoinedAt: mday(2026, 1, 1), LeftAt: mday(2026, 1, 15)}))
	// Joined Feb 12: after To.
	require.NoError(t, m.Add(pool.Prospect{ID: "y", Status: pool.StatusActive, JoinedAt: mday(2026, 2, 12)}))
	r := m.Result()
	require.Len(t, r.Buckets, 2)
	assert.Equal(t, []string{"2026-01", "2026-02"}, []string{r.Buckets[0].Label, r.Buckets[1].Label})
	assert.Equal(t, mday(2026, 1, 15), r.Buckets[0].Start)
	assert.Equal(t, mday(2026, 2, 1), r.Buckets[0].End)
	assert.Equal(t, mday(2026, 2, 1), r.Buckets[1].Start)
	assert.Equal(t, mday(2026, 2, 10), r.Buckets[1].End)
	assert.Equal(t, 2, r.Buckets[0].SizeAtStart, "x and z")
	assert.Equal(t, pool.MetricsOutflow{Graduated: 1, OptedOut: 1}, r.Buckets[0].Outflow)
	assert.Equal(t, 0.5, r.Buckets[0].GraduationRate, "1 / (2 + 0)")
	assert.Equal(t, mdays(10), r.Buckets[0].MedianTimeToGraduate)
	assert.Equal(t, 0, r.Buckets[1].Inflow)
	assert.Equal(t, 3, r.Prospects)
}

// metricsProspects returns n random valid prospects around the spec's
// period, many of their times on day boundaries (bucket edges).
func metricsProspects(rng *rand.Rand, s pool.MetricsSpec, n int) []pool.Prospect {
	lo := s.From.Add(-60 * leadkit.Day)
	span := s.To.Add(30*leadkit.Day).Sub(lo) / time.Hour
	at := func() time.Time {
		t := lo.Add(time.Duration(rng.Int64N(int64(span))) * time.Hour)
		if rng.IntN(3) == 0 {
			t = t.Truncate(24 * time.Hour)
		}
		return t
	}
	later := func(t time.Time) time.Time {
		d := time.Duration(rng.Int64N(int64(80*leadkit.Day/time.Hour))) * time.Hour
		if rng.IntN(4) == 0 {
			d = d.Truncate(leadkit.Day)
		}
		return t.Add(d)
	}
	channels := []string{"", "ads", "webinar", "seo"}
	statuses := []pool.Status{pool.StatusActive, pool.StatusActive, pool.StatusGraduated, pool.StatusMerged, pool.StatusOptedOut, pool.StatusErased}
	out := make([]pool.Prospect, n)
	for i := range out {
		p := pool.Prospect{ID: fmt.Sprintf("p%d", i), Source: pool.Source{Channel: channels[rng.IntN(len(channels))]},
			Status: statuses[rng.IntN(len(statuses))], JoinedAt: at()}
		for range rng.IntN(4) {
			p.Touches = append(p.Touches, later(p.JoinedAt))
		}
		if rng.IntN(5) != 0 {
			slices.SortFunc(p.Touches, func(a, b time.Time) int { return a.Compare(b) })
		}
		if rng.IntN(2) == 0 {
			p.LastActivityAt = later(p.JoinedAt)
		}
		switch p.Status {
		case pool.StatusGraduated:
			p.GraduatedAt = later(p.JoinedAt)
			if rng.IntN(3) != 0 {
				p.LeftAt = p.GraduatedAt
			}
		case pool.StatusErased:
			p.LeftAt = later(p.JoinedAt)
			if rng.IntN(3) == 0 {
				p.GraduatedAt = p.LeftAt
			}
		case pool.StatusMerged, pool.StatusOptedOut:
			p.LeftAt = later(p.JoinedAt)
		}
		out[i] = p
	}
	return out
}

func randomMetricsSpec(rng *rand.Rand) pool.MetricsSpec {
	from := mday(2026, 1, 1).Add(time.Duration(rng.IntN(90*24)) * time.Hour)
	if rng.IntN(2) == 0 {
		from = from.Truncate(24 * time.Hour) // on bucket edges of days
	}
	buckets := []leadkit.Period{leadkit.PeriodDay, leadkit.PeriodWeek, leadkit.PeriodMonth, leadkit.PeriodQuarter}
	b := buckets[rng.IntN(len(buckets))]
	length := map[leadkit.Period]time.Duration{leadkit.PeriodDay: 20 * leadkit.Day, leadkit.PeriodWeek: 12 * leadkit.Week,
		leadkit.PeriodMonth: 200 * leadkit.Day, leadkit.PeriodQuarter: 400 * leadkit.Day}[b]
	return pool.MetricsSpec{From: from, To: from.Add(time.Duration(1+rng.Int64N(int64(length/time.Hour))) * time.Hour), Bucket: b,
		Dormant: time.Duration(rng.IntN(3)) * 10 * leadkit.Day}
}

func metricsOf(t *testing.T, s pool.MetricsSpec, ps []pool.Prospect) *pool.Metrics {
	t.Helper()
	m, err := pool.NewMetrics(s)
	require.NoError(t, err)
	for _, p := range ps {
		require.NoError(t, m.Add(p), p.ID)
	}
	return m
}

func TestMetricsShardsMergeEqualOnePass(t *testing.T) {
	for seed := uint64(1); seed <= 8; seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		s := randomMetricsSpec(rng)
		ps := metricsProspects(rng, s, 400)
		want := metricsOf(t, s, ps).Result()

		shards := make([][]pool.Prospect, 1+rng.IntN(6))
		for _, p := range ps {
			k := rng.IntN(len(shards))
			shards[k] = append(shards[k], p)
		}
		accs := make([]*pool.Metrics, len(shards))
		for i, sh := range shards {
			accs[i] = metricsOf(t, s, sh)
		}
		rng.Shuffle(len(accs), func(i, j int) { accs[i], accs[j] = accs[j], accs[i] })
		for _, a := range accs[1:] {
			before := a.Result()
			require.NoError(t, accs[0].Merge(a))
			require.Equal(t, before, a.Result(), "other is not modified")
		}
		require.Equal(t, want, accs[0].Result(), "seed %d, %d shards", seed, len(shards))
		// Taking a result changes nothing.
		require.Equal(t, want, accs[0].Result(), "seed %d", seed)
	}
}

// naiveMetrics computes the metrics from their definitions, instant by
// instant: the oracle of TestMetricsMatchesDefinitions.
func naiveMetrics(s pool.MetricsSpec, ps []pool.Prospect) pool.MetricsResult {
	dormant := s.Dormant
	if dormant == 0 {
		dormant = 90 * leadkit.Day
	}
	type span struct {
		label      string
		start, end time.Time
	}
	var spans []span
	for start := s.From; start.Before(s.To); {
		_, label := s.Bucket.Cohort(start)
		end := start.Truncate(24 * time.Hour).Add(leadkit.Day)
		for end.Before(s.To) {
			if _, l := s.Bucket.Cohort(end); l != label {
				break
			}
			end = end.Add(leadkit.Day)
		}
		end = minTime(end, s.To)
		spans = append(spans, span{label, start, end})
		start = end
	}
	leaves := func(p pool.Prospect) (time.Time, pool.Status, time.Duration) {
		reason := p.Status
		if reason == pool.StatusErased && !p.GraduatedAt.IsZero() {
			reason = pool.StatusGraduated
		}
		l, g := p.LeftAt, p.GraduatedAt
		if l.IsZero() {
			l = g
		}
		if g.IsZero() {
			g = l
		}
		return l, reason, g.Sub(p.JoinedAt)
	}
	in := func(p pool.Prospect, t time.Time) bool {
		l, _, _ := leaves(p)
		return p.JoinedAt.Before(t) && (p.Status == pool.StatusActive || !l.Before(t))
	}
	isDormant := func(p pool.Prospect, t time.Time) bool {
		last := p.JoinedAt
		for _, x := range append([]time.Time{p.LastActivityAt}, p.Touches...) {
			if x.Before(t) && x.After(last) {
				last = x
			}
		}
		return t.Sub(last) >= dormant
	}
	median := func(ds []time.Duration) leadkit.Duration {
		slices.Sort(ds)
		if len(ds) == 0 {
			return 0
		}
		if len(ds)%2 == 1 {
			return leadkit.Duration(ds[len(ds)/2])
		}
		a, b := ds[len(ds)/2-1], ds[len(ds)/2]
		return leadkit.Duration(a + (b-a)/2)
	}
	rate := func(a, b int) float64 {
		if b == 0 {
			return 0
		}
		return float64(a) / float64(b)
	}
	bucket := func(sp span) pool.MetricsBucket {
		b := pool.MetricsBucket{Label: sp.label, Start: sp.start, End: sp.end}
		var all []time.Duration
		bySrc := map[string][]time.Duration{}
		srcs := map[string]*pool.SourceMetrics{}
		src := func(p pool.Prospect) *pool.SourceMetrics {
			ch := p.Source.Channel
			if ch == "" {
				ch = pool.NoSource
			}
			if srcs[ch] == nil {
				srcs[ch] = &pool.SourceMetrics{}
			}
			return srcs[ch]
		}
		for _, p := range ps {
			if in(p, sp.start) {
				b.SizeAtStart++
				src(p).SizeAtStart++
			}
			if in(p, sp.end) {
				b.Size++
				if isDormant(p, sp.end) {
					b.Dormant++
				}
			}
			if !p.JoinedAt.Before(sp.start) && p.JoinedAt.Before(sp.end) {
				b.Inflow++
				src(p).Inflow++
			}
			l, reason, d := leaves(p)
			if p.Status == pool.StatusActive || l.Before(sp.start) || !l.Before(sp.end) {
				continue
			}
			switch reason {
			case pool.StatusGraduated:
				b.Outflow.Graduated++
				all = append(all, d)
				sm := src(p)
				sm.Graduated++
				ch := p.Source.Channel
				if ch == "" {
					ch = pool.NoSource
				}
				bySrc[ch] = append(bySrc[ch], d)
			case pool.StatusOptedOut:
				b.Outflow.OptedOut++
			case pool.StatusErased:
				b.Outflow.Erased++
			case pool.StatusMerged:
				b.Outflow.Merged++
			}
		}
		b.GraduationRate = rate(b.Outflow.Graduated, b.SizeAtStart+b.Inflow)
		b.MedianTimeToGraduate = median(all)
		b.DormantShare = rate(b.Dormant, b.Size)
		for ch, sm := range srcs {
			if sm.SizeAtStart == 0 && sm.Inflow == 0 && sm.Graduated == 0 {
				continue
			}
			sm.GraduationRate = rate(sm.Graduated, sm.SizeAtStart+sm.Inflow)
			sm.MedianTimeToGraduate = median(bySrc[ch])
			if b.BySource == nil {
				b.BySource = map[string]pool.SourceMetrics{}
			}
			b.BySource[ch] = *sm
		}
		return b
	}
	r := pool.MetricsResult{From: s.From, To: s.To, Bucket: s.Bucket, Dormant: leadkit.Duration(dormant), Prospects: len(ps)}
	for _, sp := range spans {
		r.Buckets = append(r.Buckets, bucket(sp))
	}
	r.Totals = bucket(span{"", s.From, s.To})
	return r
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func TestMetricsMatchesDefinitions(t *testing.T) {
	for seed := uint64(1); seed <= 12; seed++ {
		rng := rand.New(rand.NewPCG(seed, 11))
		s := randomMetricsSpec(rng)
		ps := metricsProspects(rng, s, 150)
		got := metricsOf(t, s, ps).Result()
		want := naiveMetrics(s, ps)
		require.Equal(t, len(want.Buckets), len(got.Buckets), "seed %d spec %+v", seed, s)
		for i := range want.Buckets {
			require.Equal(t, want.Buckets[i], got.Buckets[i], "seed %d bucket %d spec %+v", seed, i, s)
		}
		require.Equal(t, want, got, "seed %d", seed)
	}
}

func TestMetricsRefusalsChangeNothing(t *testing.T) {
	s, ps := metricsScenario()
	m := metricsOf(t, s, ps[:6])
	want := m.Result()
	j := mday(2026, 2, 1)
	bad := map[string]pool.Prospect{
		"empty ID":            {Status: pool.StatusActive, JoinedAt: j},
		"unknown status":      {ID: "x", Status: "gone", JoinedAt: j},
		"no joined_at":        {ID: "x", Status: pool.StatusActive},
		"joined in 1800":      {ID: "x", Status: pool.StatusActive, JoinedAt: mday(1800, 1, 1)},
		"touch in 2200":       {ID: "x", Status: pool.StatusActive, JoinedAt: j, Touches: []time.Time{mday(2200, 1, 1)}},
		"activity in 1800":    {ID: "x", Status: pool.StatusActive, JoinedAt: j, LastActivityAt: mday(1800, 1, 1)},
		"active with left_at": {ID: "x", Status: pool.StatusActive, JoinedAt: j, LeftAt: j.Add(leadkit.Day)},
		"merged, no left_at":  {ID: "x", Status: pool.StatusMerged, JoinedAt: j},
		"graduated, no times": {ID: "x", Status: pool.StatusGraduated, JoinedAt: j},
		"left before joining": {ID: "x", Status: pool.StatusOptedOut, JoinedAt: j, LeftAt: j.Add(-time.Hour)},
		"graduated before":    {ID: "x", Status: pool.StatusGraduated, JoinedAt: j, GraduatedAt: j.Add(-time.Hour), LeftAt: j},
		"long channel":        {ID: "x", Status: pool.StatusActive, JoinedAt: j, Source: pool.Source{Channel: string(make([]byte, leadkit.MaxNameBytes+1))}},
	}
	for name, p := range bad {
		err := m.Add(p)
		assert.ErrorIs(t, err, leadkit.ErrInvalid, name)
		assert.Equal(t, want, m.Result(), name)
	}

	other := metricsOf(t, s, ps[6:])
	otherWant := other.Result()
	assert.ErrorIs(t, m.Merge(nil), leadkit.ErrInvalid)
	assert.ErrorIs(t, m.Merge(m), leadkit.ErrInvalid)
	for name, d := range map[string]pool.MetricsSpec{
		"from":    {From: s.From.Add(time.Hour), To: s.To, Bucket: s.Bucket, Dormant: s.Dormant},
		"to":      {From: s.From, To: s.To.Add(time.Hour), Bucket: s.Bucket, Dormant: s.Dormant},
		"bucket":  {From: s.From, To: s.To, Bucket: leadkit.PeriodWeek, Dormant: s.Dormant},
		"dormant": {From: s.From, To: s.To, Bucket: s.Bucket, Dormant: 31 * leadkit.Day},
	} {
		o := metricsOf(t, d, ps[6:])
		oWant := o.Result()
		assert.ErrorIs(t, m.Merge(o), leadkit.ErrInvalid, name)
		assert.Equal(t, oWant, o.Result(), name)
	}
	assert.Equal(t, want, m.Result())
	assert.Equal(t, otherWant, other.Result())

	// The same spec written differently merges: a zero Dormant is the
	// default, and times are compared as instants.
	a, err := pool.NewMetrics(pool.MetricsSpec{From: s.From, To: s.To, Bucket: s.Bucket})
	require.NoError(t, err)
	b, err := pool.NewMetrics(pool.MetricsSpec{From: s.From.In(time.FixedZone("X", 3600)), To: s.To, Bucket: s.Bucket, Dormant: pool.DefaultDormant})
	require.NoError(t, err)
	assert.NoError(t, a.Merge(b))
}

func TestNewMetricsValidates(t *testing.T) {
	from := mday(2026, 1, 1)
	for name, s := range map[string]pool.MetricsSpec{
		"no from":           {To: from, Bucket: leadkit.PeriodDay},
		"no to":             {From: from, Bucket: leadkit.PeriodDay},
		"to equals from":    {From: from, To: from, Bucket: leadkit.PeriodDay},
		"to before from":    {From: from, To: from.Add(-time.Hour), Bucket: leadkit.PeriodDay},
		"from in 1800":      {From: mday(1800, 1, 1), To: from, Bucket: leadkit.PeriodYear},
		"no bucket":         {From: from, To: from.Add(leadkit.Day)},
		"unknown bucket":    {From: from, To: from.Add(leadkit.Day), Bucket: "fortnight"},
		"negative dormant":  {From: from, To: from.Add(leadkit.Day), Bucket: leadkit.PeriodDay, Dormant: -time.Hour},
		"1001 buckets":      {From: from, To: from.Add(1001 * leadkit.Day), Bucket: leadkit.PeriodDay},
		"1001 from mid-day": {From: from.Add(time.Hour), To: from.Add(1000*leadkit.Day + time.Minute), Bucket: leadkit.PeriodDay},
	} {
		_, err := pool.NewMetrics(s)
		assert.ErrorIs(t, err, leadkit.ErrInvalid, name)
	}
	m, err := pool.NewMetrics(pool.MetricsSpec{From: from, To: from.Add(1000 * leadkit.Day), Bucket: leadkit.PeriodDay})
	require.NoError(t, err, "1000 buckets")
	assert.Len(t, m.Result().Buckets, pool.MaxMetricsBuckets)
}

func TestMetricsResultJSONRoundTrip(t *testing.T) {
	s, ps := metricsScenario()
	r := metricsOf(t, s, ps).Result()
	b, err := json.Marshal(r)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"median_time_to_graduate":"33d"`)
	assert.Contains(t, string(b), `"dormant":"30d"`)
	assert.Contains(t, string(b), `"(none)":{`)
	var back pool.MetricsResult
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, r, back)
}

func TestMetricsSpecJSON(t *testing.T) {
	s := pool.MetricsSpec{From: mday(2026, 1, 1), To: mday(2026, 4, 1), Bucket: leadkit.PeriodWeek, Dormant: 12 * leadkit.Week}
	b, err := json.Marshal(s)
	require.NoError(t, err)
	assert.JSONEq(t, `{"from":"2026-01-01T00:00:00Z","to":"2026-04-01T00:00:00Z","bucket":"week","dormant":"12w"}`, string(b))
	back, err := pool.ParseMetricsSpec(b)
	require.NoError(t, err)
	assert.Equal(t, s, back)

	y, err := pool.ParseMetricsSpec([]byte("from: 2026-01-01T00:00:00Z\nto: 2026-04-01T00:00:00Z\nbucket: month\ndormant: 45d\n"))
	require.NoError(t, err)
	assert.Equal(t, pool.MetricsSpec{From: s.From, To: s.To, Bucket: leadkit.PeriodMonth, Dormant: 45 * leadkit.Day}, y)

	zero, err := json.Marshal(pool.MetricsSpec{Bucket: leadkit.PeriodDay})
	require.NoError(t, err)
	assert.JSONEq(t, `{"bucket":"day"}`, string(zero), "zero times and duration omitted")

	for name, doc := range map[string]string{
		"bare number":  `{"bucket": "day", "dormant": 30}`,
		"unknown key":  `{"bucket": "day", "dormnt": "30d"}`,
		"miscased key": `{"Bucket": "day"}`,
		"duplicate":    `{"bucket": "day", "bucket": "week"}`,
	} {
		_, err := pool.ParseMetricsSpec([]byte(doc))
		assert.ErrorIs(t, err, leadkit.ErrInvalid, name)
		if err != nil {
			assert.Contains(t, err.Error(), "pool: metrics: ", name)
		}
	}
}

// BenchmarkMetrics adds 1M prospects over 12 monthly buckets, against a
// plain loop that only counts the pool size at each bucket's end and the
// inflow per bucket.
func BenchmarkMetrics(b *testing.B) {
	// The prospects of the simulated business's pool (see filledPool),
	// by month over its run.
	bp := filledPool(b)
	var ps []pool.Prospect
	if err := bp.pool.Store().Scan(ctx, func(p pool.Prospect) error {
		ps = append(ps, p)
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	n := len(ps)
	s := pool.MetricsSpec{From: bp.end.AddDate(-1, 0, 0), To: bp.end, Bucket: leadkit.PeriodMonth}
	b.Run("metrics", func(b *testing.B) {
		for b.Loop() {
			m, err := pool.NewMetrics(s)
			if err != nil {
				b.Fatal(err)
			}
			for _, p := range ps {
				if err := m.Add(p); err != nil {
					b.Fatal(err)
				}
			}
			_ = m.Result()
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "prospects/s")
	})
	b.Run("baseline", func(b *testing.B) {
		var ends []time.Time
		for t := s.From; t.Before(s.To); t = t.AddDate(0, 1, 0) {
			ends = append(ends, t.AddDate(0, 1, 0))
		}
		for b.Loop() {
			size, inflow := make([]int, len(ends)), make([]int, len(ends))
			for _, p := range ps {
				start := s.From
				for i, e := range ends {
					if p.JoinedAt.Before(e) && (p.Status == pool.StatusActive || !p.LeftAt.Before(e)) {
						size[i]++
					}
					if !p.JoinedAt.Before(start) && p.JoinedAt.Before(e) {
						inflow[i]++
					}
					start = e
				}
			}
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "prospects/s")
	})
}
