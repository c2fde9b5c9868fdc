package learn

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/scoring"
)

// capMonday is a Monday: the tests' windows start on it, so that four
// weeks are 20 working days.
var capMonday = time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC)

const capDays = 20

const day = 24 * time.Hour

func capSpec(capacity float64) CapacitySpec {
	return CapacitySpec{From: capMonday, To: capMonday.AddDate(0, 0, 28),
		Capacity: SDRCapacity{SDRs: 1, CallsPerSDRPerDay: capacity, CallsPerMQL: 1}}
}

func ptr[T any](v T) *T { return &v }

// bruteForce is an independent computation of the curve and the
// recommendation: for every candidate and every lead it walks the
// trajectory to the first point at or over the threshold, bands leads by
// the highest candidate under their highest score, fits the unobserved
// bands with a hand-written Newton method on the raw score, and searches
// every candidate for the best one.
type bfPoint struct {
	threshold  float64
	mqls       int
	sqlsPerDay *float64
}

// The top band is [t, t+step) on a grid (step > 0), and [t, highest peak]
// with explicit thresholds (step 0); the fit reads each band at its
// midpoint.
func bruteForce(t *testing.T, s CapacitySpec, thresholds []float64, step float64, leads []CapacityLead, minWorked int, minCov float64) ([]bfPoint, *float64) {
	t.Helper()
	type info struct {
		band     int
		cross    []bool
		worked   bool
		sql      bool
		hasScore bool
	}
	infos := make([]info, len(leads))
	for i, l := range leads {
		cut := s.To
		if !l.SQLAt.IsZero() && l.SQLAt.Before(cut) {
			cut = l.SQLAt
		}
		in := info{band: -1, cross: make([]bool, len(thresholds)), worked: l.Worked, sql: !l.SQLAt.IsZero()}
		var pts []scoring.ScorePoint
		for _, p := range l.Scores {
			if p.Time.Before(cut) {
				pts = append(pts, p)
			}
		}
		if len(pts) == 0 {
			infos[i] = in
			continue
		}
		in.hasScore = true
		peak := math.Inf(-1)
		for _, p := range pts {
			peak = math.Max(peak, p.Score)
		}
		for k, th := range thresholds {
			if th <= peak {
				in.band = k
			}
			for _, p := range pts {
				if p.Score >= th {
					in.cross[k] = !p.Time.Before(s.From) && p.Time.Before(s.To)
					break
				}
			}
		}
		infos[i] = in
	}
	n := len(thresholds)
	leadsIn, worked, sqls := make([]int, n), make([]int, n), make([]int, n)
	for _, in := range infos {
		if in.band < 0 {
			continue
		}
		leadsIn[in.band]++
		if in.worked {
			worked[in.band]++
		}
		if in.sql {
			sqls[in.band]++
		}
	}
	mid := func(k int) float64 {
		if k+1 < n {
			return (thresholds[k] + thresholds[k+1]) / 2
		}
		if step > 0 {
			return thresholds[k] + step/2
		}
		hi := thresholds[k]
		for i, l := range leads {
			if infos[i].band == k {
				for _, p := range l.Scores {
					if (l.SQLAt.IsZero() || p.Time.Before(l.SQLAt)) && p.Time.Before(s.To) {
						hi = math.Max(hi, p.Score)
					}
				}
			}
		}
		return (thresholds[k] + hi) / 2
	}
	rate := make([]*float64, n)
	observed := make([]bool, n)
	var xs, ks, ws []float64
	for k := range n {
		if worked[k] >= minWorked && float64(worked[k]) >= minCov*float64(leadsIn[k]) {
			observed[k] = true
			rate[k] = ptr(float64(sqls[k]) / float64(worked[k]))
			xs, ks, ws = append(xs, mid(k)), append(ks, float64(sqls[k])), append(ws, float64(worked[k]))
		}
	}
	if est := handFit(xs, ks, ws); est != nil {
		for k := range n {
			if !observed[k] {
				rate[k] = ptr(est(mid(k)))
			}
		}
	}
	capacity := s.Capacity.SDRs * s.Capacity.CallsPerSDRPerDay / s.Capacity.CallsPerMQL
	target := s.UtilisationTarget
	if target == 0 {
		target = 1
	}
	out := make([]bfPoint, n)
	best := -1
	for k, th := range thresholds {
		p := bfPoint{threshold: th}
		var sum float64
		ok, estimated := true, false
		for _, in := range infos {
			if !in.cross[k] {
				continue
			}
			p.mqls++
			estimated = estimated || !observed[in.band]
			if rate[in.band] == nil {
				ok = false
				continue
			}
			sum += *rate[in.band]
		}
		perDay := float64(p.mqls) / capDays
		if ok {
			if perDay > capacity {
				sum *= capacity / perDay
			}
			p.sqlsPerDay = ptr(sum / capDays)
		}
		out[k] = p
		if p.sqlsPerDay == nil || perDay/capacity > target || s.RequireObserved && estimated {
			continue
		}
		if best < 0 {
			best = k
			continue
		}
		b := out[best]
		d := *p.sqlsPerDay - *b.sqlsPerDay
		tie := math.Abs(d) <= 1e-9*math.Max(1, math.Max(math.Abs(*p.sqlsPerDay), math.Abs(*b.sqlsPerDay)))
		if (!tie && d > 0) || (tie && p.mqls <= b.mqls) {
			best = k
		}
	}
	if best < 0 {
		return out, nil
	}
	return out, ptr(thresholds[best])
}

// handFit fits logit(rate) = a + b x to k successes of w trials at x, by
// Newton's method with step halving, with the calculator's prior on the
// standardised slope ((b*sd)^2 / (2*3^2) added to the negative
// log-likelihood), b held at >= 0; nil with fewer than two points.
func handFit(xs, ks, ws []float64) func(float64) float64 {
	if len(xs) < 2 {
		return nil
	}
	var sk, sw, sx float64
	for i := range xs {
		sk, sw, sx = sk+ks[i], sw+ws[i], sx+ws[i]*xs[i]
	}
	pooled := sk / sw
	if sk == 0 || sk == sw {
		return func(float64) float64 { return pooled }
	}
	mean := sx / sw
	var ss float64
	for i := range xs {
		ss += ws[i] * (xs[i] - mean) * (xs[i] - mean)
	}
	lam := ss / sw / 9 / sw // the prior on b in raw units, over sw
	sig := func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
	obj := func(a, b float64) float64 {
		var f float64
		for i := range xs {
			e := a + b*xs[i]
			f += ws[i]*math.Log1p(math.Exp(-math.Abs(e))) + ws[i]*math.Max(e, 0) - ks[i]*e
		}
		return f/sw + lam/2*b*b
	}
	a, b := math.Log(pooled/(1-pooled)), 0.0
	for range 500 {
		var ga, gb, haa, hab, hbb float64
		for i := range xs {
			p := sig(a + b*xs[i])
			r := ws[i]*p - ks[i]
			v := ws[i] * p * (1 - p)
			ga, gb = ga+r, gb+r*xs[i]
			haa, hab, hbb = haa+v, hab+v*xs[i], hbb+v*xs[i]*xs[i]
		}
		ga, gb = ga/sw, gb/sw+lam*b
		haa, hab, hbb = haa/sw, hab/sw, hbb/sw+lam
		det := haa*hbb - hab*hab
		da, db := (hbb*ga-hab*gb)/det, (haa*gb-hab*ga)/det
		f0, step := obj(a, b), 1.0
		for step > 1e-12 && obj(a-step*da, b-step*db) > f0 {
			step /= 2
		}
		a, b = a-step*da, b-step*db
		if math.Abs(da)+math.Abs(db) < 1e-13 {
			break
		}
	}
	if b < 0 {
		a, b = math.Log(pooled/(1-pooled)), 0
	}
	return func(x float64) float64 { return sig(a + b*x) }
}

// randomHistory is a small random history: integer scores in [0, top),
// up to four points per lead, some before the window, some after it,
// worked leads mostly above workFrom, SQLs among worked ones.
func randomHistory(r *rand.Rand, n, top, workFrom int) []CapacityLead {
	leads := make([]CapacityLead, n)
	for i := range leads {
		l := CapacityLead{ID: fmt.Sprintf("l%d", i)}
		at := capMonday.Add(time.Duration(r.IntN(40)-7) * day)
		for range r.IntN(5) {
			at = at.Add(time.Duration(r.IntN(3*24)) * time.Hour)
			l.Scores = append(l.Scores, scoring.ScorePoint{Time: at, Score: float64(r.IntN(top))})
		}
		peak := -1.0
		for _, p := range l.Scores {
			peak = math.Max(peak, p.Score)
		}
		l.Worked = (peak >= float64(workFrom) && r.IntN(10) > 0) || r.IntN(12) == 0
		if l.Worked && r.IntN(3) == 0 {
			l.SQLAt = at.Add(time.Duration(r.IntN(72)-24) * time.Hour)
		}
		leads[i] = l
	}
	return leads
}

func TestCapacityMatchesBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for c := range 300 {
		leads := randomHistory(r, 3+r.IntN(40), 12, 4+r.IntN(6))
		s := capSpec(0.2 + r.Float64()*2)
		if r.IntN(3) == 0 {
			s.UtilisationTarget = 0.5 + r.Float64()/2
		}
		minWorked, minCov := 1+r.IntN(3), r.Float64()*0.9
		s.MinWorked, s.MinCoverage = minWorked, &minCov
		s.RequireObserved = r.IntN(4) == 0
		explicit := r.IntN(2) == 0
		if explicit {
			s.Thresholds = []float64{1, 3, 4, 6, 9}
		}
		res, err := RecommendThreshold(s, leads)
		require.NoError(t, err)
		thresholds := s.Thresholds
		if !explicit {
			for _, p := range res.Curve {
				thresholds = append(thresholds, p.Threshold)
			}
			// The grid is every integer from the lowest peak to the highest.
			for i := 1; i < len(thresholds); i++ {
				require.Equal(t, thresholds[i-1]+1, thresholds[i], "case %d", c)
			}
		}
		want, rec := bruteForce(t, s, thresholds, res.Step, leads, minWorked, minCov)
		require.Len(t, res.Curve, len(want), "case %d", c)
		for k, w := range want {
			p := res.Curve[k]
			require.Equal(t, w.threshold, p.Threshold, "case %d point %d", c, k)
			require.Equal(t, w.mqls, p.MQLs, "case %d threshold %v", c, w.threshold)
			if w.sqlsPerDay == nil {
				require.Nil(t, p.SQLsPerDay, "case %d threshold %v", c, w.threshold)
				continue
			}
			require.NotNil(t, p.SQLsPerDay, "case %d threshold %v", c, w.threshold)
			require.InDelta(t, *w.sqlsPerDay, *p.SQLsPerDay, 1e-6, "case %d threshold %v", c, w.threshold)
		}
		if rec == nil {
			require.False(t, res.Recommendation.OK, "case %d: %s", c, res.Recommendation.Reason)
			continue
		}
		require.True(t, res.Recommendation.OK, "case %d: %s", c, res.Recommendation.Reason)
		require.Equal(t, *rec, *res.Recommendation.Threshold, "case %d", c)
	}
}

// The generator of TestCapacityFindsAnalyticOptimum: peak scores uniform
// in [0, 100), a lead converts with probability sigmoid(capA + capB*s),
// and only leads at or over 50 (the threshold in force) were worked.
const (
	capA    = -3.0
	capB    = 0.04
	capLeft = 50.0
)

func analyticHistory(r *rand.Rand, n int) []CapacityLead {
	leads := make([]CapacityLead, n)
	for i := range leads {
		s := r.Float64() * 100
		t1 := capMonday.Add(time.Duration(r.Float64() * float64(24*day)))
		t2 := t1.Add(time.Duration(r.Float64() * float64(2*day)))
		l := CapacityLead{ID: fmt.Sprint(i), Scores: []scoring.ScorePoint{{Time: t1, Score: s / 2}, {Time: t2, Score: s}}, Worked: s >= capLeft}
		if l.Worked && r.Float64() < 1/(1+math.Exp(-(capA+capB*s))) {
			l.SQLAt = t2.Add(day)
		}
		leads[i] = l
	}
	return leads
}

// analyticSQLsPerDay is the expected SQLs/day of threshold t with every
// MQL worked: the leads per day times the integral of the conversion
// curve over [t, 100) with density 1/100.
func analyticSQLsPerDay(perDay, t float64) float64 {
	F := func(s float64) float64 { return math.Log1p(math.Exp(capA+capB*s)) / capB }
	return perDay * (F(100) - F(t)) / 100
}

func TestCapacityFindsAnalyticOptimum(t *testing.T) {
	const n = 20000
	leads := analyticHistory(rand.New(rand.NewPCG(7, 7)), n)
	perDay := float64(n) / capDays // 1000 leads/day; MQLs/day(t) = 10*(100-t)
	var thresholds []float64
	for th := 0.0; th < 100; th += 5 {
		thresholds = append(thresholds, th)
	}
	for _, c := range []struct {
		name     string
		capacity float64
		want     float64 // the lowest threshold whose MQLs/day fit
		est      bool
	}{
		{"within the worked bands", 10*(100-70) + 12, 70, false},
		{"below them: estimated", 10*(100-35) + 12, 35, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := capSpec(c.capacity)
			s.Thresholds = thresholds
			res, err := RecommendThreshold(s, leads)
			require.NoError(t, err)
			rec := res.Recommendation
			require.True(t, rec.OK, rec.Reason)
			assert.Equal(t, c.want, *rec.Threshold)
			assert.Equal(t, c.est, rec.Estimated)
			// The expected SQLs/day along the curve follow the analytic
			// curve, in the estimated bands too: within 4% (the sampling
			// error of the fit is about 1%; band midpoints and the fit's
			// extrapolation add a little).
			for _, p := range res.Curve {
				want := analyticSQLsPerDay(perDay, p.Threshold)
				if used := 10 * (100 - p.Threshold) / c.capacity; used > 1 {
					want /= used
				}
				require.NotNil(t, p.SQLsPerDay)
				assert.InEpsilon(t, want, *p.SQLsPerDay, 0.04, "threshold %v", p.Threshold)
				assert.Equal(t, p.Threshold < capLeft, p.Estimated, "threshold %v", p.Threshold)
			}
			// Requiring observed rates keeps the recommendation in the
			// worked bands.
			s.RequireObserved = true
			obs, err := RecommendThreshold(s, leads)
			require.NoError(t, err)
			require.True(t, obs.Recommendation.OK, obs.Recommendation.Reason)
			assert.Equal(t, max(c.want, capLeft), *obs.Recommendation.Threshold)
			assert.False(t, obs.Recommendation.Estimated)
			// The fit recovers the planted curve.
			require.NotNil(t, res.Fit.Slope)
			assert.InDelta(t, capB, *res.Fit.Slope, 0.01)
			assert.InDelta(t, capA, *res.Fit.Intercept, 0.5)
		})
	}
}

func TestCapacityBands(t *testing.T) {
	// Bands [0,10), [10,20), [20,∞). Only the top two were worked; the
	// bottom one is estimated from the fit over them.
	s := capSpec(100)
	s.Thresholds = []float64{0, 10, 20}
	s.MinWorked = 2
	var leads []CapacityLead
	add := func(score float64, worked, sql bool, n int) {
		for range n {
			l := CapacityLead{ID: fmt.Sprint(len(leads)), Scores: []scoring.ScorePoint{{Time: capMonday.Add(day), Score: score}}, Worked: worked}
			if sql {
				l.SQLAt = capMonday.Add(2 * day)
			}
			leads = append(leads, l)
		}
	}
	add(5, false, false, 10)
	add(15, true, true, 25)
	add(15, true, false, 75) // 1 of 4
	add(25, true, true, 75)
	add(25, true, false, 25) // 3 of 4, top band's highest peak 25
	res, err := RecommendThreshold(s, leads)
	require.NoError(t, err)
	require.Len(t, res.Bands, 3)
	b := res.Bands
	assert.True(t, b[0].Estimated)
	assert.False(t, b[1].Estimated)
	assert.False(t, b[2].Estimated)
	assert.Equal(t, []float64{5, 15, 22.5}, []float64{b[0].Score, b[1].Score, b[2].Score})
	assert.Nil(t, b[2].Max)
	assert.Equal(t, 0.25, *b[1].Rate)
	assert.Equal(t, 0.75, *b[2].Rate)
	// Two points: logit 0.25 at 15 and logit 0.75 at 22.5, up to the
	// weak prior on the slope.
	slope := (math.Log(3) - math.Log(1.0/3)) / 7.5
	require.NotNil(t, res.Fit.Slope)
	assert.InDelta(t, slope, *res.Fit.Slope, 1e-3)
	assert.InDelta(t, 1/(1+math.Exp(-(math.Log(1.0/3)+slope*(5-15)))), *b[0].Rate, 1e-3)
	assert.Equal(t, 10, b[0].Leads)
	assert.Equal(t, 0, b[0].Worked)
	assert.Equal(t, ptr(0.0), b[0].Coverage)
	assert.Nil(t, b[0].Observed.Rate, "no worked leads: no observed rate")
	// The bottom threshold's point rests on the estimate; the others do
	// not, and carry bounds around their SQLs/day.
	assert.True(t, res.Curve[0].Estimated)
	assert.False(t, res.Curve[1].Estimated)
	assert.Nil(t, res.Curve[0].SQLsPerDayLow)
	p := res.Curve[1]
	assert.Equal(t, 200, p.MQLs)
	assert.InDelta(t, 100.0/capDays, *p.SQLsPerDay, 1e-12)
	assert.Less(t, *p.SQLsPerDayLow, *p.SQLsPerDay)
	assert.Greater(t, *p.SQLsPerDayHigh, *p.SQLsPerDay)
	assert.Equal(t, leadkit.NewRate(100, 200), p.Observed)
	assert.Equal(t, 0.0, *p.EstimatedShare)
	assert.Greater(t, *res.Curve[0].EstimatedShare, 0.0)
}

func TestCapacityFitClampsNegativeSlope(t *testing.T) {
	// Higher scores converted less: the estimate is the pooled rate.
	s := capSpec(100)
	s.Thresholds = []float64{0, 10, 20}
	s.MinWorked = 1
	var leads []CapacityLead
	add := func(score float64, worked, sql bool) {
		l := CapacityLead{ID: fmt.Sprint(len(leads)), Scores: []scoring.ScorePoint{{Time: capMonday.Add(day), Score: score}}, Worked: worked}
		if sql {
			l.SQLAt = capMonday.Add(2 * day)
		}
		leads = append(leads, l)
	}
	add(5, false, false)
	add(15, true, true)
	add(15, true, true)
	add(15, true, false)
	add(25, true, false)
	add(25, true, false)
	add(25, true, true)
	res, err := RecommendThreshold(s, leads)
	require.NoError(t, err)
	assert.True(t, res.Fit.Clamped)
	assert.Equal(t, 0.0, *res.Fit.Slope)
	assert.InDelta(t, 0.5, *res.Bands[0].Rate, 1e-12)
}

func TestCapacityOneObservedBandEstimatesNothing(t *testing.T) {
	s := capSpec(0.5)
	s.Thresholds = []float64{0, 10}
	s.MinWorked = 1
	leads := []CapacityLead{
		{ID: "a", Scores: []scoring.ScorePoint{{Time: capMonday.Add(day), Score: 5}}},
		{ID: "b", Scores: []scoring.ScorePoint{{Time: capMonday.Add(day), Score: 15}}, Worked: true, SQLAt: capMonday.Add(2 * day)},
	}
	res, err := RecommendThreshold(s, leads)
	require.NoError(t, err)
	assert.Nil(t, res.Fit.Slope)
	assert.Contains(t, res.Fit.Reason, "1 observed bands")
	assert.Nil(t, res.Bands[0].Rate)
	assert.Nil(t, res.Curve[0].SQLs, "threshold 0 needs band 0's rate")
	require.NotNil(t, res.Curve[1].SQLs)
	assert.Equal(t, 1.0, *res.Curve[1].SQLs)
	require.True(t, res.Recommendation.OK)
	assert.Equal(t, 10.0, *res.Recommendation.Threshold)
}

func TestCapacityTies(t *testing.T) {
	// Threshold 0 adds leads that never convert: the same SQLs for more
	// MQLs. The recommendation is 10, with 0 listed as tied.
	s := capSpec(100)
	s.Thresholds = []float64{0, 10}
	s.MinWorked = 1
	leads := []CapacityLead{
		{ID: "a", Scores: []scoring.ScorePoint{{Time: capMonday.Add(day), Score: 5}}, Worked: true},
		{ID: "b", Scores: []scoring.ScorePoint{{Time: capMonday.Add(day), Score: 15}}, Worked: true, SQLAt: capMonday.Add(2 * day)},
	}
	res, err := RecommendThreshold(s, leads)
	require.NoError(t, err)
	rec := res.Recommendation
	require.True(t, rec.OK)
	assert.Equal(t, 10.0, *rec.Threshold)
	assert.Equal(t, []float64{0}, rec.Tied)
	assert.Contains(t, rec.Reason, "tied")
}

func TestCapacityOverCapacitySaturates(t *testing.T) {
	// 40 MQLs in 20 days at threshold 0 (2/day), capacity 1/day: half are
	// worked, so half the expected SQLs; 0 does not fit, 10 does.
	s := capSpec(1)
	s.Thresholds = []float64{0, 10}
	s.MinWorked = 1
	s.MinCoverage = ptr(0.0)
	var leads []CapacityLead
	for i := range 40 {
		l := CapacityLead{ID: fmt.Sprint(i), Scores: []scoring.ScorePoint{{Time: capMonday.Add(day), Score: float64(5 + 10*(i%2))}}, Worked: true}
		if i%4 < 2 {
			l.SQLAt = capMonday.Add(2 * day)
		}
		leads = append(leads, l)
	}
	res, err := RecommendThreshold(s, leads)
	require.NoError(t, err)
	p0, p1 := res.Curve[0], res.Curve[1]
	assert.Equal(t, 2.0, *p0.CapacityUsed)
	assert.InDelta(t, 20.0/2/capDays, *p0.SQLsPerDay, 1e-12)
	assert.Equal(t, 1.0, *p1.CapacityUsed)
	assert.InDelta(t, 10.0/capDays, *p1.SQLsPerDay, 1e-12)
	assert.Equal(t, 10.0, *res.Recommendation.Threshold)
	// At a utilisation target of 0.8 nothing fits.
	s.UtilisationTarget = 0.8
	res, err = RecommendThreshold(s, leads)
	require.NoError(t, err)
	assert.False(t, res.Recommendation.OK)
	assert.Nil(t, res.Recommendation.Threshold)
	assert.Contains(t, res.Recommendation.Reason, "no threshold keeps MQLs within 80% of capacity")
}

func TestCapacityCrossingsInTheWindow(t *testing.T) {
	// A lead at 30 before the window that reaches 50 in it crosses 40 and
	// 50 in the window, not 10 or 30; its score after SQL and after the
	// window is left out.
	s := capSpec(100)
	s.Thresholds = []float64{10, 30, 40, 50, 60, 70}
	l := CapacityLead{ID: "a", Worked: true, SQLAt: capMonday.Add(3 * day), Scores: []scoring.ScorePoint{
		{Time: capMonday.Add(-day), Score: 30}, {Time: capMonday.Add(day), Score: 50}, {Time: capMonday.Add(3 * day), Score: 60},
	}}
	late := CapacityLead{ID: "b", Scores: []scoring.ScorePoint{{Time: capMonday.Add(5 * day), Score: 20}, {Time: capMonday.Add(40 * day), Score: 70}}}
	res, err := RecommendThreshold(s, []CapacityLead{l, late})
	require.NoError(t, err)
	var mqls []int
	for _, p := range res.Curve {
		mqls = append(mqls, p.MQLs)
	}
	assert.Equal(t, []int{1, 0, 1, 1, 0, 0}, mqls)
	assert.Equal(t, 1, res.Bands[3].Leads, "a peaks at 50")
	assert.Equal(t, 1, res.Bands[0].Leads, "b peaks at 20 in the window")
}

func TestCapacityMergeEqualsOnePass(t *testing.T) {
	defer func(n int) { scoreBinCap = n }(scoreBinCap)
	scoreBinCap = 16 // buckets merge several times
	r := rand.New(rand.NewPCG(3, 4))
	leads := randomHistory(r, 3000, 1000, 500)
	for i := range leads {
		for j := range leads[i].Scores {
			leads[i].Scores[j].Score += r.Float64() // fractional scores
		}
	}
	for _, c := range []struct {
		name string
		spec func() CapacitySpec
	}{
		{"grid", func() CapacitySpec { s := capSpec(20); s.Step = 0.5; return s }},
		{"explicit", func() CapacitySpec {
			s := capSpec(20)
			s.Thresholds = []float64{-5, 100, 250.5, 400, 700, 950}
			return s
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			one, err := NewCapacityAccumulator(c.spec())
			require.NoError(t, err)
			shards := make([]*CapacityAccumulator, 3)
			for i := range shards {
				shards[i], err = NewCapacityAccumulator(c.spec())
				require.NoError(t, err)
			}
			for i, l := range leads {
				require.NoError(t, one.Add(l))
				require.NoError(t, shards[(i*7+i/3)%3].Add(l))
			}
			want := one.Result()
			require.NotEmpty(t, want.Curve)
			if c.name == "grid" {
				assert.Greater(t, want.Step, 0.5, "the buckets were merged")
			}
			before := shards[2].Result()
			require.NoError(t, shards[1].Merge(shards[2]))
			require.NoError(t, shards[1].Merge(shards[0]))
			assert.Equal(t, want, shards[1].Result())
			assert.Equal(t, before, shards[2].Result(), "merge leaves other as it was")
			// Another order of merging.
			a, err := NewCapacityAccumulator(c.spec())
			require.NoError(t, err)
			for i, l := range leads {
				if i%2 == 0 {
					require.NoError(t, a.Add(l))
				}
			}
			b, err := NewCapacityAccumulator(c.spec())
			require.NoError(t, err)
			for i, l := range leads {
				if i%2 == 1 {
					require.NoError(t, b.Add(l))
				}
			}
			require.NoError(t, b.Merge(a))
			assert.Equal(t, want, b.Result())
		})
	}
}

func TestCapacityMergeRefuses(t *testing.T) {
	a, err := NewCapacityAccumulator(capSpec(10))
	require.NoError(t, err)
	b, err := NewCapacityAccumulator(capSpec(11))
	require.NoError(t, err)
	require.NoError(t, a.Add(CapacityLead{ID: "x", Scores: []scoring.ScorePoint{{Time: capMonday, Score: 1}}}))
	want := a.Result()
	for _, o := range []*CapacityAccumulator{nil, a, b} {
		err := a.Merge(o)
		require.ErrorIs(t, err, leadkit.ErrInvalid)
		assert.Equal(t, want, a.Result())
	}
}

func TestCapacityGridWidensOverTheCandidateCap(t *testing.T) {
	// Peaks from 0 to 10,000 in steps of 1: the grid takes whole
	// multiples of 1 so that at most MaxThresholdCandidates remain, and
	// each point counts the leads that reach it (checked by brute force).
	var leads []CapacityLead
	for i := range 2000 {
		leads = append(leads, CapacityLead{ID: fmt.Sprint(i), Scores: []scoring.ScorePoint{{Time: capMonday.Add(day), Score: float64(i * 5)}}})
	}
	res, err := RecommendThreshold(capSpec(10), leads)
	require.NoError(t, err)
	require.LessOrEqual(t, len(res.Curve), MaxThresholdCandidates)
	require.Greater(t, len(res.Curve), MaxThresholdCandidates/2)
	assert.Equal(t, math.Trunc(res.Step), res.Step)
	for k, p := range res.Curve {
		want := 0
		for _, l := range leads {
			if l.Scores[0].Score >= p.Threshold {
				want++
			}
		}
		require.Equal(t, want, p.MQLs, "threshold %v", p.Threshold)
		if k > 0 {
			require.Equal(t, res.Step, p.Threshold-res.Curve[k-1].Threshold)
		}
	}
	assert.LessOrEqual(t, res.Curve[0].Threshold, 0.0)
	assert.Greater(t, res.Curve[len(res.Curve)-1].Threshold+res.Step, 9995.0)
}

func TestWorkingDays(t *testing.T) {
	mon := capMonday
	for _, c := range []struct {
		name     string
		from, to time.Time
		want     float64
	}{
		{"a week", mon, mon.AddDate(0, 0, 7), 5},
		{"four weeks", mon, mon.AddDate(0, 0, 28), 20},
		{"a weekend", mon.AddDate(0, 0, 5), mon.AddDate(0, 0, 7), 0},
		{"noon to noon", mon.Add(12 * time.Hour), mon.Add(36 * time.Hour), 1},
		{"friday noon to monday noon", mon.AddDate(0, 0, 4).Add(12 * time.Hour), mon.AddDate(0, 0, 7).Add(12 * time.Hour), 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.want, workingDays(c.from, c.to))
		})
	}
}

func TestCapacityNoData(t *testing.T) {
	lead := CapacityLead{ID: "a", Scores: []scoring.ScorePoint{{Time: capMonday.AddDate(0, 0, 5), Score: 10}}, Worked: true}
	for _, c := range []struct {
		name   string
		spec   func(CapacitySpec) CapacitySpec
		leads  []CapacityLead
		reason string
	}{
		{"no leads", func(s CapacitySpec) CapacitySpec { return s }, nil, "no lead has a score"},
		{"no working days", func(s CapacitySpec) CapacitySpec {
			s.From, s.To = capMonday.AddDate(0, 0, 5), capMonday.AddDate(0, 0, 7)
			return s
		}, []CapacityLead{lead}, "no working days"},
		{"no SDRs", func(s CapacitySpec) CapacitySpec { s.Capacity.SDRs = 0; return s }, []CapacityLead{lead}, "no SDR capacity"},
		{"no rates", func(s CapacitySpec) CapacitySpec { return s }, []CapacityLead{lead}, "no data: none of the"},
		{"only unscored leads", func(s CapacitySpec) CapacitySpec { return s }, []CapacityLead{{ID: "b"}}, "no lead has a score"},
	} {
		t.Run(c.name, func(t *testing.T) {
			res, err := RecommendThreshold(c.spec(capSpec(10)), c.leads)
			require.NoError(t, err)
			rec := res.Recommendation
			assert.False(t, rec.OK)
			assert.Nil(t, rec.Threshold)
			assert.Nil(t, rec.Point)
			assert.Contains(t, rec.Reason, c.reason)
			js, err := json.Marshal(res)
			require.NoError(t, err)
			assert.NotContains(t, string(js), "NaN")
			for _, p := range res.Curve {
				for _, v := range []*float64{p.MQLsPerDay, p.CapacityUsed, p.SQLs, p.SQLsPerDay, p.SQLsPerDayLow, p.SQLsPerDayHigh, p.EstimatedShare} {
					if v != nil {
						require.False(t, math.IsNaN(*v) || math.IsInf(*v, 0))
					}
				}
			}
		})
	}
	res, err := RecommendThreshold(func() CapacitySpec {
		s := capSpec(10)
		s.From, s.To = capMonday.AddDate(0, 0, 5), capMonday.AddDate(0, 0, 7)
		return s
	}(), []CapacityLead{lead})
	require.NoError(t, err)
	assert.Nil(t, res.WorkingDays)
	assert.Nil(t, res.Curve[0].MQLsPerDay)
	assert.Nil(t, res.Curve[0].CapacityUsed)
	res, err = RecommendThreshold(capSpec(10), []CapacityLead{{ID: "b"}})
	require.NoError(t, err)
	assert.Equal(t, 1, res.Unscored)
}

func TestCapacityRefusesBadSpec(t *testing.T) {
	base := capSpec(10)
	for _, c := range []struct {
		name string
		edit func(*CapacitySpec)
		want []string
	}{
		{"no window", func(s *CapacitySpec) { s.From = time.Time{} }, []string{"from and to are required"}},
		{"empty window", func(s *CapacitySpec) { s.To = s.From }, []string{"the window is empty"}},
		{"negative capacity", func(s *CapacitySpec) { s.Capacity.SDRs = -1; s.Capacity.CallsPerSDRPerDay = math.NaN() },
			[]string{"capacity: sdrs is -1", "capacity: calls_per_sdr_per_day is NaN"}},
		{"zero calls per MQL", func(s *CapacitySpec) { s.Capacity.CallsPerMQL = 0 }, []string{"calls_per_mql is 0"}},
		{"infinite capacity", func(s *CapacitySpec) { s.Capacity.SDRs, s.Capacity.CallsPerMQL = 1e9, 1e-300 }, []string{"MQLs/day: it must be 0 or a finite number"}},
		{"negative working days", func(s *CapacitySpec) { s.WorkingDays = -1 }, []string{"working_days is -1"}},
		{"target over 1", func(s *CapacitySpec) { s.UtilisationTarget = 1.2 }, []string{"utilisation_target is 1.2"}},
		{"unsorted thresholds", func(s *CapacitySpec) { s.Thresholds = []float64{1, 3, 2, math.Inf(1)} },
			[]string{"threshold 2 (2) is not above threshold 1 (3)", "threshold 3 is +Inf"}},
		{"too many thresholds", func(s *CapacitySpec) { s.Thresholds = make([]float64, MaxThresholdCandidates+1) }, []string{"501 thresholds: the limit is 500"}},
		{"thresholds and step", func(s *CapacitySpec) { s.Thresholds = []float64{1}; s.Step = 2 }, []string{"give thresholds or a step, not both"}},
		{"tiny step", func(s *CapacitySpec) { s.Step = 1e-9 }, []string{"step is 1e-09"}},
		{"bad coverage", func(s *CapacitySpec) { s.MinCoverage = ptr(2.0); s.MinWorked = -1 }, []string{"min_coverage is 2", "min_worked is -1"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := base
			c.edit(&s)
			_, err := NewCapacityAccumulator(s)
			require.ErrorIs(t, err, leadkit.ErrInvalid)
			for _, w := range c.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.Len(t, err.(interface{ Unwrap() []error }).Unwrap(), len(c.want), "one error per problem: %v", err)
		})
	}
}

func TestCapacityRefusesBadLeads(t *testing.T) {
	at := capMonday.Add(day)
	for _, c := range []struct {
		name string
		lead CapacityLead
		want []string
	}{
		{"no ID", CapacityLead{Scores: []scoring.ScorePoint{{Time: at, Score: 1}}}, []string{"no ID"}},
		{"NaN score", CapacityLead{ID: "a", Scores: []scoring.ScorePoint{{Time: at, Score: 1}, {Time: at, Score: math.NaN()}}}, []string{`lead "a": scores[1]: score is NaN`}},
		{"score over MaxPoints", CapacityLead{ID: "a", Scores: []scoring.ScorePoint{{Time: at, Score: 2e9}}}, []string{"scores[0]: score is 2e+09"}},
		{"unsorted trajectory", CapacityLead{ID: "a", Scores: []scoring.ScorePoint{{Time: at, Score: 1}, {Time: at.Add(-time.Hour), Score: 2}}},
			[]string{"scores[1]: time 2025-01-06T23:00:00Z is before scores[0]'s 2025-01-07T00:00:00Z"}},
		{"zero time", CapacityLead{ID: "a", Scores: []scoring.ScorePoint{{Time: time.Time{}, Score: 1}}}, []string{"scores[0]: time 0001-01-01T00:00:00Z is outside"}},
		{"SQL without work", CapacityLead{ID: "a", Scores: []scoring.ScorePoint{{Time: at, Score: 1}}, SQLAt: at}, []string{"reached SQL (sql_at is set) but was not worked"}},
		{"every problem at once", CapacityLead{ID: "a", Scores: []scoring.ScorePoint{{Time: at, Score: math.Inf(1)}, {Time: at.Add(-1), Score: 1}}, SQLAt: at},
			[]string{"scores[0]: score is +Inf", "scores[1]: time", "not worked"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			a, err := NewCapacityAccumulator(capSpec(10))
			require.NoError(t, err)
			require.NoError(t, a.Add(CapacityLead{ID: "ok", Scores: []scoring.ScorePoint{{Time: at, Score: 5}}}))
			want := a.Result()
			err = a.Add(c.lead)
			require.ErrorIs(t, err, leadkit.ErrInvalid)
			for _, w := range c.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.Equal(t, want, a.Result(), "a refused lead leaves the accumulator as it was")
		})
	}
	// Many problems: the first ten, then a count.
	l := CapacityLead{ID: "a"}
	for range 25 {
		l.Scores = append(l.Scores, scoring.ScorePoint{Time: at, Score: math.NaN()})
	}
	a, err := NewCapacityAccumulator(capSpec(10))
	require.NoError(t, err)
	err = a.Add(l)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "and 15 more problems")
	// RecommendThreshold names each refused lead's index.
	_, err = RecommendThreshold(capSpec(10), []CapacityLead{{ID: "ok"}, {ID: "bad", Scores: []scoring.ScorePoint{{Time: at, Score: math.NaN()}}}})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.Contains(t, err.Error(), `leads[1]: learn: threshold: leadkit: invalid input: lead "bad": scores[0]`)
}

func TestCapacityJSONRoundTrip(t *testing.T) {
	leads := randomHistory(rand.New(rand.NewPCG(5, 6)), 300, 30, 15)
	s := capSpec(3)
	s.MinWorked = 3
	res, err := RecommendThreshold(s, leads)
	require.NoError(t, err)
	require.True(t, res.Recommendation.OK)
	js, err := json.Marshal(res)
	require.NoError(t, err)
	for _, key := range []string{`"capacity_per_day":`, `"mqls_per_day":`, `"sqls_per_day_low":`, `"estimated_share":`, `"recommendation":{"ok":true`, `"coverage":`} {
		assert.Contains(t, string(js), key)
	}
	var back CapacityResult
	require.NoError(t, json.Unmarshal(js, &back))
	assert.Equal(t, res, back)
	// No data is null.
	res, err = RecommendThreshold(capSpec(0.0001), nil)
	require.NoError(t, err)
	js, err = json.Marshal(res)
	require.NoError(t, err)
	assert.Contains(t, string(js), `"threshold":null`)
	back = CapacityResult{}
	require.NoError(t, json.Unmarshal(js, &back))
	assert.Equal(t, res, back)
}

func TestParseCapacitySpec(t *testing.T) {
	s, err := ParseCapacitySpec([]byte(`
from: 2025-01-06T00:00:00Z
to: 2025-02-03T00:00:00Z
capacity: {sdrs: 3, calls_per_sdr_per_day: 40, calls_per_mql: 4}
utilisation_target: 0.8
thresholds: [60, 80, 100]
min_coverage: 0
`))
	require.NoError(t, err)
	assert.Equal(t, capSpec(0).From, s.From)
	assert.Equal(t, SDRCapacity{SDRs: 3, CallsPerSDRPerDay: 40, CallsPerMQL: 4}, s.Capacity)
	assert.Equal(t, ptr(0.0), s.MinCoverage)
	a, err := NewCapacityAccumulator(s)
	require.NoError(t, err)
	assert.Equal(t, 30.0, a.Result().CapacityPerDay)
	js, err := json.Marshal(s)
	require.NoError(t, err)
	back, err := ParseCapacitySpec(js)
	require.NoError(t, err)
	assert.Equal(t, s, back)
	_, err = ParseCapacitySpec([]byte(`{"capacity": {"sdr": 3}}`))
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.Contains(t, err.Error(), "learn: capacity spec: ")
}

// Errors name the package and where: a reader can find the lead.
func TestCapacityErrorsWrap(t *testing.T) {
	_, err := RecommendThreshold(capSpec(-1), nil)
	require.Error(t, err)
	var joined interface{ Unwrap() []error }
	require.True(t, errors.As(err, &joined))
	for _, e := range joined.Unwrap() {
		assert.True(t, strings.HasPrefix(e.Error(), "learn: capacity spec: "), e.Error())
	}
}

// The one-pass check of Add refuses exactly the leads the full check
// names a problem of.
func TestCapacityCheckAgrees(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	a, err := NewCapacityAccumulator(capSpec(10))
	require.NoError(t, err)
	for c := range 3000 {
		l := randomHistory(r, 1, 20, 10)[0]
		switch r.IntN(8) {
		case 0:
			l.ID = ""
		case 1:
			l.ID = strings.Repeat("x", leadkit.MaxIDBytes+r.IntN(2))
		case 2:
			if len(l.Scores) > 0 {
				l.Scores[r.IntN(len(l.Scores))].Score = []float64{math.NaN(), math.Inf(-1), 2e9, -scoring.MaxPoints}[r.IntN(4)]
			}
		case 3:
			if len(l.Scores) > 1 {
				i := 1 + r.IntN(len(l.Scores)-1)
				l.Scores[i].Time = l.Scores[i-1].Time.Add(-time.Duration(r.IntN(2)) * time.Nanosecond)
			}
		case 4:
			if len(l.Scores) > 0 {
				l.Scores[r.IntN(len(l.Scores))].Time = []time.Time{{}, leadkit.MaxTime, leadkit.MinTime}[r.IntN(3)]
			}
		case 5:
			l.SQLAt = []time.Time{capMonday, leadkit.MaxTime}[r.IntN(2)]
			l.Worked = r.IntN(2) == 0
		}
		before := a.leads
		addErr := a.Add(l)
		checkErr := a.check(&l)
		require.Equal(t, checkErr == nil, addErr == nil, "case %d: add %v, check %v", c, addErr, checkErr)
		if addErr != nil {
			require.Equal(t, checkErr.Error(), addErr.Error())
			require.Equal(t, before, a.leads)
		}
	}
}

// FuzzRecommendThreshold: whatever the spec and the leads, the result is
// an error wrapping leadkit.ErrInvalid or data that JSON can write (no
// NaN, no infinity), and never a panic.
func FuzzRecommendThreshold(f *testing.F) {
	f.Add(`{"from":"2025-01-06T00:00:00Z","to":"2025-02-03T00:00:00Z","capacity":{"sdrs":1,"calls_per_sdr_per_day":2,"calls_per_mql":1}}`,
		`[{"id":"a","scores":[{"time":"2025-01-07T00:00:00Z","score":5}],"worked":true,"sql_at":"2025-01-09T00:00:00Z"},{"id":"b","scores":[{"time":"2025-01-08T00:00:00Z","score":15}],"worked":true}]`)
	f.Add(`{"from":"2025-01-04T00:00:00Z","to":"2025-01-06T00:00:00Z","capacity":{"sdrs":0,"calls_per_sdr_per_day":2,"calls_per_mql":1e-300},"thresholds":[1,2,3],"min_coverage":0}`,
		`[{"id":"a","scores":[{"time":"2025-01-05T00:00:00Z","score":-1e9}]}]`)
	f.Add(`{"from":"2025-01-06T00:00:00Z","to":"2025-02-03T00:00:00Z","capacity":{"sdrs":3,"calls_per_sdr_per_day":40,"calls_per_mql":3},"step":1e-6,"min_worked":1,"require_observed":true}`,
		`[{"id":"a","scores":[{"time":"2025-01-07T00:00:00Z","score":1e9}],"worked":true},{"id":"b","scores":[{"time":"2025-01-07T00:00:00Z","score":-1e9}],"worked":true,"sql_at":"2025-01-08T00:00:00Z"}]`)
	f.Fuzz(func(t *testing.T, specJSON, leadsJSON string) {
		s, err := ParseCapacitySpec([]byte(specJSON))
		if err != nil {
			return
		}
		var leads []CapacityLead
		if json.Unmarshal([]byte(leadsJSON), &leads) != nil || len(leads) > 200 {
			return
		}
		res, err := RecommendThreshold(s, leads)
		if err != nil {
			require.ErrorIs(t, err, leadkit.ErrInvalid)
			return
		}
		_, err = json.Marshal(res)
		require.NoError(t, err, "a result JSON cannot write")
	})
}

// A tiny capacity (a tenant's valid-looking number) is refused, never a
// division that overflows into a panic.
func TestCapacityTinyCapacity(t *testing.T) {
	from := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC) // a Monday
	spec := CapacitySpec{From: from, To: from.AddDate(0, 0, 7), Thresholds: []float64{10, 20},
		Capacity: SDRCapacity{SDRs: 5e-324, CallsPerSDRPerDay: 1, CallsPerMQL: 1}}
	leads := []CapacityLead{{ID: "a", Scores: []scoring.ScorePoint{{Time: from.Add(time.Hour), Score: 25}}}}
	require.NotPanics(t, func() {
		_, err := RecommendThreshold(spec, leads)
		require.ErrorIs(t, err, leadkit.ErrInvalid)
	})
}

// A tiny WorkingDays is refused the same way.
func TestCapacityTinyWorkingDays(t *testing.T) {
	from := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	spec := CapacitySpec{From: from, To: from.AddDate(0, 0, 7), Thresholds: []float64{10, 20}, WorkingDays: 5e-324,
		Capacity: SDRCapacity{SDRs: 2, CallsPerSDRPerDay: 40, CallsPerMQL: 4}}
	leads := []CapacityLead{{ID: "a", Worked: true, Scores: []scoring.ScorePoint{{Time: from.Add(time.Hour), Score: 25}}}}
	require.NotPanics(t, func() {
		_, err := RecommendThreshold(spec, leads)
		require.ErrorIs(t, err, leadkit.ErrInvalid)
	})
}
