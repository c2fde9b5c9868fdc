package learn

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/spec"
	"github.com/leadkit/leadkit/internal/text"
	"github.com/leadkit/leadkit/scoring"
)

// Caps and defaults of the threshold recommendation.
const (
	// MaxThresholdCandidates caps CapacitySpec.Thresholds and the grid a
	// recommendation builds from the data: the curve has at most this
	// many points.
	MaxThresholdCandidates = 500
	// MaxTrajectoryPoints caps the score points of one CapacityLead.
	MaxTrajectoryPoints = scoring.MaxEvents
	// MaxScoreBins caps the distinct (score before the window, peak
	// score) buckets a grid accumulator keeps: past it, the grid's
	// buckets are merged two by two (the step doubles), so memory stays
	// bounded whatever the scores.
	MaxScoreBins = 1 << 16
	// MinWorkingDays is the least non-zero CapacitySpec.WorkingDays (a
	// minute), and MinCapacityPerDay the least non-zero capacity in MQLs
	// per day: below them the per-day figures overflow.
	MinWorkingDays    = 1.0 / (24 * 60)
	MinCapacityPerDay = 1e-6
	// MinThresholdStep is the least CapacitySpec.Step: every score
	// divided by it stays an exact integer of a float64.
	MinThresholdStep = 1e-6
	// DefaultMinCoverage is CapacitySpec.MinCoverage's default.
	DefaultMinCoverage = 0.5
)

// scoreBinCap is MaxScoreBins; tests lower it to exercise the coarsening.
var scoreBinCap = MaxScoreBins

// SDRCapacity is what the SDR team can work: SDRs x CallsPerSDRPerDay /
// CallsPerMQL MQLs per working day. Fractions are allowed (2.5 SDRs, 3.2
// calls to work an MQL on average).
type SDRCapacity struct {
	// SDRs is the team's size (0: no capacity).
	SDRs float64 `json:"sdrs"`
	// CallsPerSDRPerDay is one SDR's calls on a working day.
	CallsPerSDRPerDay float64 `json:"calls_per_sdr_per_day"`
	// CallsPerMQL is the calls it takes to work one MQL (> 0).
	CallsPerMQL float64 `json:"calls_per_mql"`
}

// CapacitySpec is the question a threshold recommendation answers: over
// the history window [From, To), with this SDR capacity, which MQL
// threshold gives the most expected SQLs per working day while keeping
// the MQLs within UtilisationTarget of capacity.
//
// The candidates are Thresholds, or, when it is empty, a grid from the
// data: every multiple of Step between the lowest and the highest peak
// score, at most [MaxThresholdCandidates] (the step is widened by a whole
// factor when the data spans more). A step that is an integer or a power
// of two keeps the grid's values exact.
type CapacitySpec struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// WorkingDays overrides the working days of the window (0: the
	// Monday-to-Friday time in [From, To) in UTC, in days, fractions
	// of days included; set it to leave out holidays).
	WorkingDays float64     `json:"working_days,omitempty"`
	Capacity    SDRCapacity `json:"capacity"`
	// UtilisationTarget is the share of capacity the recommendation may
	// use, in (0, 1] (0: 1, the whole capacity).
	UtilisationTarget float64 `json:"utilisation_target,omitempty"`
	// Thresholds are explicit candidates, strictly ascending, at most
	// MaxThresholdCandidates; leads whose peak is under the lowest are
	// counted in CapacityResult.Below.
	Thresholds []float64 `json:"thresholds,omitempty"`
	// Step is the grid's step when Thresholds is empty (0: 1 point; at
	// least MinThresholdStep).
	Step float64 `json:"step,omitempty"`
	// MinWorked is the least number of worked leads at which a band's SQL
	// rate counts as observed (0: leadkit.MinRateBase).
	MinWorked int `json:"min_worked,omitempty"`
	// RequireObserved recommends only thresholds whose SQLs rest on
	// observed rates alone (the curve still shows the others): for a
	// history where the leads under the threshold in force may convert
	// unlike the worked ones, which no fit can tell.
	RequireObserved bool `json:"require_observed,omitempty"`
	// MinCoverage is the least share of a band's leads that must have been
	// worked for its rate to count as observed (nil: DefaultMinCoverage):
	// a band where SDRs called a few hand-picked leads says little about
	// the rest.
	MinCoverage *float64 `json:"min_coverage,omitempty"`
}

// ParseCapacitySpec decodes a [CapacitySpec] from JSON or YAML (YAML is
// a superset of JSON) of at most [leadkit.MaxDocumentBytes]. Unknown,
// miscased and duplicate keys are errors wrapping [leadkit.ErrInvalid].
// It does not validate the values: [NewCapacityAccumulator] does.
func ParseCapacitySpec(data []byte) (CapacitySpec, error) {
	var s CapacitySpec
	if err := spec.Parse(data, &s); err != nil {
		return CapacitySpec{}, spec.Prefixed("learn: capacity spec: ", err)
	}
	return s, nil
}

// CapacityLead is one lead of the history (lifecycle.Engine.ScoreHistories
// gives it from an engine's stores): its score trajectory on the
// dimension the MQL threshold reads (see [scoring.Model.Trajectory]) and
// its outcome.
type CapacityLead struct {
	ID string `json:"id"`
	// Scores is the trajectory in time order (equal times allowed: every
	// point counts as reached), at most MaxTrajectoryPoints.
	Scores []scoring.ScorePoint `json:"scores"`
	// Worked reports that the lead was worked (handed to SDRs: it
	// reached MQL), so its outcome was observed.
	Worked bool `json:"worked"`
	// SQLAt is when the lead reached SQL (zero: it did not). A lead that
	// reached SQL was worked.
	SQLAt time.Time `json:"sql_at,omitzero"`
}

// CapacityAccumulator collects a history for a threshold recommendation
// and follows leadkit's accumulator contract (Add, Merge, Result): shards
// merged give the result of one pass. It is not safe for concurrent use.
//
// What it computes, for each candidate threshold t:
//
//   - A lead's trajectory is read up to To and, if it reached SQL, up to
//     SQLAt (the score after SQL is the outcome's consequence, not its
//     cause). Its peak is its highest score up to there, pre its highest
//     score before From. The lead crosses t in the window when its score
//     first reaches t inside it: pre < t <= peak. MQLs/day is the number
//     of crossing leads over the working days.
//   - Leads are banded by their peak: band j holds the peaks in
//     [t_j, t_{j+1}). A band's SQL rate is observed when at least
//     MinWorked of its leads were worked and they are at least
//     MinCoverage of the band: the rate is SQLs of worked leads over
//     worked leads (a leadkit.Rate). In a real history the leads under
//     the threshold in force were never worked, so their rate is not
//     observed; it is estimated by a logistic fit of SQL rate on score
//     over the observed bands (each band at its midpoint, weighted by its
//     worked leads; gonum's Newton method; a weak Gaussian prior, sd 3,
//     on the slope per standard deviation of score keeps it finite when
//     the bands separate), with the slope held at or above zero (a score
//     is supposed to rank leads: were the fit to say lower scores convert
//     better, the estimate is the observed bands' pooled rate instead): a
//     monotone rule. With fewer than two observed bands nothing is
//     estimated and the points that need an estimate have no SQLs (JSON
//     null). Worked leads are taken as representative of their band
//     (leads were picked for work by score, not by something else that
//     predicts SQL); where that is doubtful, RequireObserved.
//   - Expected SQLs at t are the sum over crossing leads of their band's
//     rate. Capacity is SDRs x CallsPerSDRPerDay / CallsPerMQL MQLs per
//     working day; over it, SDRs work only that many, in arrival order
//     (not by score): expected SQLs/day are scaled by capacity / MQLs/day,
//     so they flatten at capacity times the mean rate, which falls as the
//     threshold drops. Waiting is not modelled: an MQL queue that grows
//     lowers acceptance in practice, so the curve over capacity is an
//     upper bound.
//   - The recommendation is the candidate with the most expected SQLs/day
//     among those whose capacity used is at most UtilisationTarget (and,
//     with RequireObserved, that rest on observed rates alone); ties go
//     to the fewest MQLs/day, then the highest threshold.
//
// Bands should hold enough worked leads to be observed: with a fine grid
// on a small history most bands are estimated; a wider Step, or explicit
// Thresholds, pools them.
type CapacityAccumulator struct {
	spec        CapacitySpec
	days        float64
	capacity    float64
	target      float64
	minWorked   int
	minCoverage float64
	step        float64 // grid mode: the level-0 step; 0 with explicit thresholds

	level uint // grid mode: buckets are step << level wide
	cells map[cellKey]*cellCounts
	// leads were added; unscored had no score before their cut; below
	// peaked under every explicit threshold.
	leads, unscored, below int
	// maxPeak is the highest peak of the leads in cells (explicit mode:
	// the top band's upper end).
	maxPeak float64
	hasPeak bool
}

// cellKey locates a lead: the bucket (grid) or candidate index (explicit)
// of its score before the window and of its peak.
type cellKey struct{ pre, peak int64 }

// noPre is the pre key of a lead without a score before the window (and,
// in explicit mode, of one under the lowest threshold: both cross every
// threshold up to their peak).
const noPre = math.MinInt64

type cellCounts struct{ leads, worked, sqls int }

// NewCapacityAccumulator validates s (every problem at once, each
// wrapping leadkit.ErrInvalid) and returns an empty accumulator.
func NewCapacityAccumulator(s CapacitySpec) (*CapacityAccumulator, error) {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("learn: capacity spec: %w: %s", leadkit.ErrInvalid, fmt.Sprintf(format, args...)))
	}
	finite := func(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
	switch {
	case s.From.IsZero() || s.To.IsZero():
		bad("from and to are required (the history window)")
	case !leadkit.ValidTime(s.From) || !leadkit.ValidTime(s.To):
		bad("from and to must fall in %s", leadkit.TimeRange)
	case !s.From.Before(s.To):
		bad("the window is empty: to (%s) is not after from (%s)", s.To.UTC().Format(time.RFC3339), s.From.UTC().Format(time.RFC3339))
	}
	if !finite(s.WorkingDays) || s.WorkingDays < 0 || (s.WorkingDays > 0 && s.WorkingDays < MinWorkingDays) {
		bad("working_days is %v: it must be 0 (from the window) or a finite number >= %g (a minute)", s.WorkingDays, MinWorkingDays)
	}
	c := s.Capacity
	for _, f := range []struct {
		name string
		v    float64
	}{{"sdrs", c.SDRs}, {"calls_per_sdr_per_day", c.CallsPerSDRPerDay}, {"calls_per_mql", c.CallsPerMQL}} {
		if !finite(f.v) || f.v < 0 || f.v > scoring.MaxPoints {
			bad("capacity: %s is %v: it must be a finite number in [0, %g]", f.name, f.v, scoring.MaxPoints)
		}
	}
	if c.CallsPerMQL == 0 {
		bad("capacity: calls_per_mql is 0: it takes at least some calls to work an MQL")
	} else if v := c.SDRs * c.CallsPerSDRPerDay / c.CallsPerMQL; math.IsInf(v, 0) || (v > 0 && v < MinCapacityPerDay) {
		bad("capacity: sdrs x calls_per_sdr_per_day / calls_per_mql is %v MQLs/day: it must be 0 or a finite number >= %g", v, MinCapacityPerDay)
	}
	if !finite(s.UtilisationTarget) || s.UtilisationTarget < 0 || s.UtilisationTarget > 1 {
		bad("utilisation_target is %v: it must be in (0, 1] (0: 1)", s.UtilisationTarget)
	}
	if len(s.Thresholds) > MaxThresholdCandidates {
		bad("%d thresholds: the limit is %d", len(s.Thresholds), MaxThresholdCandidates)
	} else {
		for i, t := range s.Thresholds {
			switch {
			case !finite(t) || math.Abs(t) > scoring.MaxPoints:
				bad("threshold %d is %v: it must be a finite number within ±%g", i, t, scoring.MaxPoints)
			case i > 0 && !(t > s.Thresholds[i-1]):
				bad("threshold %d (%v) is not above threshold %d (%v): thresholds must be strictly ascending", i, t, i-1, s.Thresholds[i-1])
			}
		}
	}
	if len(s.Thresholds) > 0 && s.Step != 0 {
		bad("step is for the grid from the data: give thresholds or a step, not both")
	}
	if s.Step != 0 && (!finite(s.Step) || s.Step < MinThresholdStep || s.Step > scoring.MaxPoints) {
		bad("step is %v: it must be in [%g, %g]", s.Step, MinThresholdStep, scoring.MaxPoints)
	}
	if s.MinWorked < 0 {
		bad("min_worked is %d: it must be >= 0", s.MinWorked)
	}
	if s.MinCoverage != nil && (!finite(*s.MinCoverage) || *s.MinCoverage < 0 || *s.MinCoverage > 1) {
		bad("min_coverage is %v: it must be in [0, 1]", *s.MinCoverage)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	a := &CapacityAccumulator{spec: s, cells: map[cellKey]*cellCounts{}, target: 1, minWorked: leadkit.MinRateBase, minCoverage: DefaultMinCoverage}
	a.spec.From, a.spec.To = s.From.UTC(), s.To.UTC()
	a.spec.Thresholds = slices.Clone(s.Thresholds)
	if s.MinCoverage != nil {
		v := *s.MinCoverage
		a.spec.MinCoverage = &v
		a.minCoverage = v
	}
	a.days = s.WorkingDays
	if a.days == 0 {
		a.days = workingDays(a.spec.From, a.spec.To)
	}
	a.capacity = c.SDRs * c.CallsPerSDRPerDay / c.CallsPerMQL
	if s.UtilisationTarget != 0 {
		a.target = s.UtilisationTarget
	}
	if s.MinWorked != 0 {
		a.minWorked = s.MinWorked
	}
	if len(s.Thresholds) == 0 {
		a.step = cmp.Or(s.Step, 1)
	}
	return a, nil
}

// workingDays is the Monday-to-Friday time in [from, to), UTC, in days.
func workingDays(from, to time.Time) float64 {
	var d time.Duration
	for day := time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, time.UTC); day.Before(to); day = day.AddDate(0, 0, 1) {
		if wd := day.Weekday(); wd == time.Saturday || wd == time.Sunday {
			continue
		}
		lo, hi := day, day.AddDate(0, 0, 1)
		if lo.Before(from) {
			lo = from
		}
		if hi.After(to) {
			hi = to
		}
		d += hi.Sub(lo)
	}
	return d.Hours() / 24
}

// maxThresholdErrors is the most problems of one Add reported one by one.
const maxThresholdErrors = 10

// check validates a lead: every problem, the first maxThresholdErrors
// one by one.
func (a *CapacityAccumulator) check(l *CapacityLead) error {
	var errs []error
	more := 0
	id := text.Clip(l.ID, 64)
	bad := func(format string, args ...any) {
		if len(errs) == maxThresholdErrors {
			more++
			return
		}
		errs = append(errs, fmt.Errorf("learn: threshold: %w: lead %q: %s", leadkit.ErrInvalid, id, fmt.Sprintf(format, args...)))
	}
	switch {
	case l.ID == "":
		bad("no ID")
	case len(l.ID) > leadkit.MaxIDBytes:
		bad("ID is %d bytes, the limit is %d", len(l.ID), leadkit.MaxIDBytes)
	}
	if len(l.Scores) > MaxTrajectoryPoints {
		bad("%d score points: the limit is %d", len(l.Scores), MaxTrajectoryPoints)
	} else {
		for i, p := range l.Scores {
			if !leadkit.ValidTime(p.Time) {
				bad("scores[%d]: time %s is outside %s", i, p.Time.UTC().Format(time.RFC3339), leadkit.TimeRange)
			} else if i > 0 && leadkit.ValidTime(l.Scores[i-1].Time) && p.Time.Before(l.Scores[i-1].Time) {
				bad("scores[%d]: time %s is before scores[%d]'s %s: the trajectory must be in time order", i,
					p.Time.UTC().Format(time.RFC3339Nano), i-1, l.Scores[i-1].Time.UTC().Format(time.RFC3339Nano))
			}
			if math.IsNaN(p.Score) || math.IsInf(p.Score, 0) || math.Abs(p.Score) > scoring.MaxPoints {
				bad("scores[%d]: score is %v: it must be a finite number within ±%g", i, p.Score, scoring.MaxPoints)
			}
		}
	}
	if !l.SQLAt.IsZero() {
		if !leadkit.ValidTime(l.SQLAt) {
			bad("sql_at %s is outside %s", l.SQLAt.UTC().Format(time.RFC3339), leadkit.TimeRange)
		}
		if !l.Worked {
			bad("reached SQL (sql_at is set) but was not worked")
		}
	}
	if more > 0 {
		errs = append(errs, fmt.Errorf("learn: threshold: lead %q: and %d more problems", id, more))
	}
	return errors.Join(errs...)
}

// Add adds one lead. A lead it refuses (an error wrapping
// leadkit.ErrInvalid naming the lead, the point and the field: NaN or
// infinite scores, times out of order or out of range, SQL without
// work) leaves the accumulator as it was.
func (a *CapacityAccumulator) Add(l CapacityLead) error {
	// One pass checks the lead and reads its trajectory; the full check,
	// naming every problem, runs only when something is wrong.
	ok := l.ID != "" && len(l.ID) <= leadkit.MaxIDBytes && len(l.Scores) <= MaxTrajectoryPoints &&
		(l.SQLAt.IsZero() || l.Worked && leadkit.ValidTime(l.SQLAt))
	cut := a.spec.To
	if !l.SQLAt.IsZero() && l.SQLAt.Before(cut) {
		cut = l.SQLAt
	}
	pre, peak := math.Inf(-1), math.Inf(-1)
	seen := false
	var last time.Time
	for i := 0; ok && i < len(l.Scores); i++ {
		p := &l.Scores[i]
		if !leadkit.ValidTime(p.Time) || i > 0 && p.Time.Before(last) || !(math.Abs(p.Score) <= scoring.MaxPoints) {
			ok = false
			break
		}
		last = p.Time
		if !p.Time.Before(cut) {
			continue
		}
		if p.Time.Before(a.spec.From) {
			pre = max(pre, p.Score)
		}
		peak = max(peak, p.Score)
		seen = true
	}
	if !ok {
		if err := a.check(&l); err != nil {
			return err
		}
		return fmt.Errorf("learn: threshold: %w: lead %q refused", leadkit.ErrInvalid, text.Clip(l.ID, 64)) // unreachable: check names every problem
	}
	a.leads++
	if !seen {
		a.unscored++
		return nil
	}
	var k cellKey
	if a.step == 0 {
		k.peak = int64(a.index(peak))
		if k.peak < 0 {
			a.below++
			return nil
		}
		k.pre = noPre
		if i := a.index(pre); i >= 0 {
			k.pre = int64(i)
		}
	} else {
		k.peak = a.bucket(peak) >> a.level
		k.pre = noPre
		if !math.IsInf(pre, -1) {
			k.pre = a.bucket(pre) >> a.level
		}
	}
	c := a.cells[k]
	if c == nil {
		c = &cellCounts{}
		a.cells[k] = c
	}
	c.leads++
	if l.Worked {
		c.worked++
	}
	if !l.SQLAt.IsZero() {
		c.sqls++
	}
	if !a.hasPeak || peak > a.maxPeak {
		a.maxPeak, a.hasPeak = peak, true
	}
	for a.step != 0 && len(a.cells) > scoreBinCap {
		a.coarsen()
	}
	return nil
}

// index is the index of the highest explicit threshold at or under s, -1
// if none.
func (a *CapacityAccumulator) index(s float64) int {
	i, found := slices.BinarySearch(a.spec.Thresholds, s)
	if found {
		return i
	}
	return i - 1
}

// bucket is the level-0 grid bucket of s: the k with k*step <= s <
// (k+1)*step, as those products are computed.
func (a *CapacityAccumulator) bucket(s float64) int64 {
	k := int64(math.Floor(s / a.step))
	for float64(k)*a.step > s {
		k--
	}
	for float64(k+1)*a.step <= s {
		k++
	}
	return k
}

// floorDiv is a / b rounded towards minus infinity.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// coarsen merges the grid's buckets two by two.
func (a *CapacityAccumulator) coarsen() {
	next := make(map[cellKey]*cellCounts, len(a.cells))
	for k, c := range a.cells {
		nk := cellKey{pre: k.pre, peak: k.peak >> 1}
		if k.pre != noPre {
			nk.pre = k.pre >> 1
		}
		if n := next[nk]; n != nil {
			n.leads += c.leads
			n.worked += c.worked
			n.sqls += c.sqls
		} else {
			cc := *c
			next[nk] = &cc
		}
	}
	a.cells = next
	a.level++
}

// Merge adds everything other holds; accumulators of different specs
// refuse to merge (an error wrapping leadkit.ErrInvalid) and nothing
// changes. other is not modified; nil and a itself are refused.
func (a *CapacityAccumulator) Merge(other *CapacityAccumulator) error {
	if other == nil || other == a {
		return fmt.Errorf("learn: threshold: %w: merge needs another accumulator (not nil, not itself)", leadkit.ErrInvalid)
	}
	if !a.sameSpec(other) {
		return fmt.Errorf("learn: threshold: %w: cannot merge accumulators of different specs", leadkit.ErrMismatch)
	}
	for a.level < other.level {
		a.coarsen()
	}
	shift := a.level - other.level
	for k, c := range other.cells {
		nk := cellKey{pre: k.pre, peak: k.peak >> shift}
		if k.pre != noPre {
			nk.pre = k.pre >> shift
		}
		if n := a.cells[nk]; n != nil {
			n.leads += c.leads
			n.worked += c.worked
			n.sqls += c.sqls
		} else {
			cc := *c
			a.cells[nk] = &cc
		}
	}
	for a.step != 0 && len(a.cells) > scoreBinCap {
		a.coarsen()
	}
	a.leads += other.leads
	a.unscored += other.unscored
	a.below += other.below
	if other.hasPeak && (!a.hasPeak || other.maxPeak > a.maxPeak) {
		a.maxPeak, a.hasPeak = other.maxPeak, true
	}
	return nil
}

func (a *CapacityAccumulator) sameSpec(o *CapacityAccumulator) bool {
	x, y := a.spec, o.spec
	return x.From.Equal(y.From) && x.To.Equal(y.To) && a.days == o.days && x.Capacity == y.Capacity &&
		a.target == o.target && slices.Equal(x.Thresholds, y.Thresholds) && a.step == o.step &&
		a.minWorked == o.minWorked && a.minCoverage == o.minCoverage && x.RequireObserved == y.RequireObserved
}

// CapacityResult is a threshold recommendation: the bands of the history
// with their SQL rates, the fit that estimates the unobserved ones, the
// trade-off curve and the recommended threshold. It is plain data (JSON
// with snake_case keys; no data is null, never NaN).
type CapacityResult struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// WorkingDays are the window's working days (null: none, and so no
	// per-day figures).
	WorkingDays *float64 `json:"working_days"`
	// CapacityPerDay is the MQLs the SDR team can work per working day.
	CapacityPerDay    float64 `json:"capacity_per_day"`
	UtilisationTarget float64 `json:"utilisation_target"`
	// Step is the grid's step (0 with explicit thresholds): the spec's,
	// widened when the data spans more than MaxThresholdCandidates steps
	// or more than MaxScoreBins buckets.
	Step float64 `json:"step,omitempty"`
	// Leads were added; Unscored of them had no score point before their
	// cut (To, or SQL), and Below peaked under every explicit threshold:
	// neither is in any band.
	Leads    int `json:"leads"`
	Unscored int `json:"unscored"`
	Below    int `json:"below"`
	// Bands are the score bands, one per candidate, ascending.
	Bands []CapacityBand `json:"bands"`
	// Fit is the logistic fit of SQL rate on score over the observed
	// bands that estimates the others.
	Fit CapacityFit `json:"fit"`
	// Curve is the trade-off, one point per candidate threshold,
	// ascending: for a chart.
	Curve          []CapacityPoint        `json:"curve"`
	Recommendation CapacityRecommendation `json:"recommendation"`
}

// CapacityBand is the leads whose peak score fell in [Min, Max).
type CapacityBand struct {
	Min float64 `json:"min"`
	// Max is the next candidate (null: the open top band of explicit
	// thresholds).
	Max *float64 `json:"max"`
	// Score is where the fit reads the band: its midpoint (the open top
	// band's: between Min and the highest peak).
	Score float64 `json:"score"`
	// Leads peaked in the band; Worked of them were worked, SQLs reached
	// SQL.
	Leads  int `json:"leads"`
	Worked int `json:"worked"`
	SQLs   int `json:"sqls"`
	// Coverage is Worked / Leads (null without leads).
	Coverage *float64 `json:"coverage"`
	// Observed is the SQL rate of the worked leads, as seen.
	Observed leadkit.Rate `json:"observed"`
	// Estimated reports that the band's rate is the fit's, not Observed
	// (too few worked leads, or too small a share of the band).
	Estimated bool `json:"estimated"`
	// Rate is the SQL rate the curve uses: Observed's, or the fit's when
	// Estimated (null: no estimate, fewer than two observed bands).
	Rate *float64 `json:"rate"`
}

// CapacityFit is the logistic fit logit(rate) = Intercept + Slope x
// score over the observed bands.
type CapacityFit struct {
	// Intercept and Slope are null when there is no fit (see Reason).
	Intercept *float64 `json:"intercept"`
	Slope     *float64 `json:"slope"`
	// Bands is the number of observed bands fitted.
	Bands int `json:"bands"`
	// Clamped reports that the fitted slope was negative and was held at
	// zero: every unobserved band gets the observed bands' pooled rate.
	Clamped bool `json:"clamped,omitempty"`
	// Reason says why there is no fit, or how it was bounded.
	Reason string `json:"reason,omitempty"`
}

// CapacityPoint is one point of the trade-off curve.
type CapacityPoint struct {
	Threshold float64 `json:"threshold"`
	// MQLs are the leads that crossed the threshold in the window.
	MQLs       int      `json:"mqls"`
	MQLsPerDay *float64 `json:"mqls_per_day"`
	// CapacityUsed is MQLsPerDay / capacity (null without capacity or
	// working days).
	CapacityUsed *float64 `json:"capacity_used"`
	// SQLs are the expected SQLs of the window's MQLs were every one
	// worked (null when a band they come from has no rate).
	SQLs *float64 `json:"sqls"`
	// SQLsPerDay are the expected SQLs per working day with the capacity
	// applied (MQLs over capacity are not worked).
	SQLsPerDay *float64 `json:"sqls_per_day"`
	// SQLsPerDayLow and SQLsPerDayHigh bound SQLsPerDay with every band's
	// 95% Wilson bounds at once (wider than a joint 95% interval); null
	// when the point is Estimated.
	SQLsPerDayLow  *float64 `json:"sqls_per_day_low"`
	SQLsPerDayHigh *float64 `json:"sqls_per_day_high"`
	// Observed is the SQL rate seen among the MQLs that were worked.
	Observed leadkit.Rate `json:"observed"`
	// Estimated reports that some MQLs come from bands whose rate is the
	// fit's; EstimatedShare is the share of SQLs those bands give.
	Estimated      bool     `json:"estimated"`
	EstimatedShare *float64 `json:"estimated_share"`
}

// CapacityRecommendation is the recommended threshold, or why there is
// none.
type CapacityRecommendation struct {
	// OK reports that a threshold fits; Threshold and Point are null
	// otherwise.
	OK        bool           `json:"ok"`
	Threshold *float64       `json:"threshold"`
	Point     *CapacityPoint `json:"point"`
	// Estimated reports that the recommended point rests on estimated
	// rates.
	Estimated bool `json:"estimated"`
	// Tied lists the other thresholds within capacity whose expected
	// SQLs/day equal the recommendation's (to 1e-9 relative) with a
	// different MQL volume; thresholds giving the same MQLs and SQLs are
	// the same choice and not listed.
	Tied []float64 `json:"tied,omitempty"`
	// Reason explains the choice, or why nothing fits.
	Reason string `json:"reason"`
}

// Result returns the recommendation over everything added so far. It
// equals the result of one pass over the same leads, however they were
// sharded.
func (a *CapacityAccumulator) Result() CapacityResult {
	r := CapacityResult{
		From: a.spec.From, To: a.spec.To,
		CapacityPerDay: a.capacity, UtilisationTarget: a.target,
		Leads: a.leads, Unscored: a.unscored, Below: a.below,
		Bands: []CapacityBand{}, Curve: []CapacityPoint{},
	}
	if a.days > 0 {
		d := a.days
		r.WorkingDays = &d
	}
	type cell struct {
		pre, peak int // band indices; pre -1: under every candidate
		c         cellCounts
	}
	var thresholds []float64
	cells := make([]cell, 0, len(a.cells))
	var width float64
	if a.step == 0 {
		thresholds = a.spec.Thresholds
		for k, c := range a.cells {
			pre := -1
			if k.pre != noPre {
				pre = int(k.pre)
			}
			cells = append(cells, cell{pre, int(k.peak), *c})
		}
	} else if len(a.cells) > 0 {
		lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
		for k := range a.cells {
			lo, hi = min(lo, k.peak), max(hi, k.peak)
		}
		// Group m buckets into one: the fewest that keeps the grid
		// within MaxThresholdCandidates.
		m := max(1, (hi-lo+1)/MaxThresholdCandidates)
		for floorDiv(hi, m)-floorDiv(lo, m)+1 > MaxThresholdCandidates {
			m++
		}
		g0, g1 := floorDiv(lo, m), floorDiv(hi, m)
		unit := m << a.level
		width = float64(unit) * a.step
		r.Step = width
		for g := g0; g <= g1; g++ {
			thresholds = append(thresholds, float64(g*unit)*a.step)
		}
		for k, c := range a.cells {
			pre := -1
			if k.pre != noPre {
				pre = int(max(floorDiv(k.pre, m)-g0, -1))
			}
			cells = append(cells, cell{pre, int(floorDiv(k.peak, m) - g0), *c})
		}
	}
	// A fixed order, so that float sums do not depend on map order.
	slices.SortFunc(cells, func(x, y cell) int { return cmp.Or(cmp.Compare(x.peak, y.peak), cmp.Compare(x.pre, y.pre)) })

	n := len(thresholds)
	bands := make([]CapacityBand, n)
	for j, t := range thresholds {
		b := &bands[j]
		b.Min = t
		switch {
		case j+1 < n:
			hi := thresholds[j+1]
			b.Max = &hi
			b.Score = t + (hi-t)/2
		case a.step != 0:
			hi := t + width
			b.Max = &hi
			b.Score = t + width/2
		default:
			b.Score = t + (max(a.maxPeak, t)-t)/2
		}
	}
	for _, c := range cells {
		b := &bands[c.peak]
		b.Leads += c.c.leads
		b.Worked += c.c.worked
		b.SQLs += c.c.sqls
	}
	var xs []float64
	var ks, ws []int
	for j := range bands {
		b := &bands[j]
		b.Coverage = leadkit.Ratio(float64(b.Worked), float64(b.Leads))
		b.Observed = leadkit.NewRate(b.SQLs, b.Worked)
		b.Estimated = !(b.Worked >= a.minWorked && float64(b.Worked) >= a.minCoverage*float64(b.Leads))
		if !b.Estimated {
			b.Rate = b.Observed.Rate
			xs, ks, ws = append(xs, b.Score), append(ks, b.SQLs), append(ws, b.Worked)
		}
	}
	var estimate func(x float64) float64
	r.Fit, estimate = fitRates(xs, ks, ws)
	for j := range bands {
		if b := &bands[j]; b.Estimated && estimate != nil {
			v := estimate(b.Score)
			b.Rate = &v
		}
	}
	r.Bands = bands

	// The curve: point k takes the leads of bands j >= k whose pre band is
	// under k. Per band, its cells sorted by pre are consumed as k grows.
	type cursor struct {
		next         int // next cell of the band to take
		leads, work  int
		sqls         int
		first, after int // the band's cells: cells[first:after]
	}
	cur := make([]cursor, n)
	for i := 0; i < len(cells); {
		j := cells[i].peak
		e := i
		for e < len(cells) && cells[e].peak == j {
			e++
		}
		cur[j] = cursor{next: i, first: i, after: e}
		i = e
	}
	r.Curve = make([]CapacityPoint, n)
	for k := range n {
		p := &r.Curve[k]
		p.Threshold = thresholds[k]
		var sqls, est, low, high float64
		noRate := false
		worked, seen := 0, 0
		for j := k; j < n; j++ {
			cj := &cur[j]
			for cj.next < cj.after && cells[cj.next].pre < k {
				c := cells[cj.next].c
				cj.leads += c.leads
				cj.work += c.worked
				cj.sqls += c.sqls
				cj.next++
			}
			if cj.leads == 0 {
				continue
			}
			b := &bands[j]
			p.MQLs += cj.leads
			worked += cj.work
			seen += cj.sqls
			if b.Rate == nil {
				noRate = true
				continue
			}
			v := float64(cj.leads) * *b.Rate
			sqls += v
			if b.Estimated {
				p.Estimated = true
				est += v
			} else {
				low += float64(cj.leads) * *b.Observed.Low
				high += float64(cj.leads) * *b.Observed.High
			}
		}
		p.Observed = leadkit.NewRate(seen, worked)
		if a.days > 0 {
			p.MQLsPerDay = leadkit.Ratio(float64(p.MQLs), a.days)
			if p.MQLsPerDay != nil {
				p.CapacityUsed = leadkit.Ratio(*p.MQLsPerDay, a.capacity)
			}
		}
		if noRate {
			continue
		}
		p.SQLs = &sqls
		p.EstimatedShare = leadkit.Ratio(est, sqls)
		if p.MQLs == 0 {
			zero := 0.0
			p.EstimatedShare = &zero
		}
		if p.MQLsPerDay == nil {
			continue
		}
		// The share of MQLs worked: all within capacity, capacity/MQLs
		// over it.
		share := 1.0
		if m := *p.MQLsPerDay; m > a.capacity {
			share = a.capacity / m
		}
		p.SQLsPerDay = leadkit.Ratio(sqls*share, a.days)
		if !p.Estimated {
			p.SQLsPerDayLow = leadkit.Ratio(low*share, a.days)
			p.SQLsPerDayHigh = leadkit.Ratio(high*share, a.days)
		}
	}
	r.Recommendation = a.recommend(r.Curve)
	return r
}

// recommend picks the best point within the utilisation target.
func (a *CapacityAccumulator) recommend(curve []CapacityPoint) CapacityRecommendation {
	pct := strconv.FormatFloat(a.target*100, 'f', -1, 64) + "%"
	switch {
	case len(curve) == 0:
		return CapacityRecommendation{Reason: "no data: no lead has a score in the history"}
	case a.days == 0:
		return CapacityRecommendation{Reason: "no data: the window has no working days"}
	case a.capacity == 0:
		return CapacityRecommendation{Reason: "no SDR capacity: no threshold keeps MQLs within it"}
	}
	best := -1
	fits, rated := 0, 0
	lowest := -1
	for i := range curve {
		p := &curve[i]
		if p.CapacityUsed == nil {
			continue // no capacity figure: nothing to judge it by
		}
		if lowest < 0 || *p.CapacityUsed < *curve[lowest].CapacityUsed {
			lowest = i
		}
		if *p.CapacityUsed > a.target {
			continue
		}
		fits++
		if p.SQLsPerDay == nil || a.spec.RequireObserved && p.Estimated {
			continue
		}
		rated++
		if best < 0 {
			best = i
			continue
		}
		b := &curve[best]
		switch {
		case !tied(*p.SQLsPerDay, *b.SQLsPerDay) && *p.SQLsPerDay > *b.SQLsPerDay:
			best = i
		case tied(*p.SQLsPerDay, *b.SQLsPerDay) && p.MQLs <= b.MQLs:
			best = i // fewer MQLs, or the same and a higher threshold
		}
	}
	if best < 0 {
		if lowest < 0 {
			return CapacityRecommendation{Reason: "no data: no threshold has a capacity figure"}
		}
		l := &curve[lowest]
		if fits == 0 {
			return CapacityRecommendation{Reason: fmt.Sprintf("no threshold keeps MQLs within %s of capacity: the fewest, %.4g/day at threshold %g, use %.4g%%",
				pct, *l.MQLsPerDay, l.Threshold, *l.CapacityUsed*100)}
		}
		if a.spec.RequireObserved {
			return CapacityRecommendation{Reason: fmt.Sprintf("no data: none of the %d thresholds within %s of capacity rests on observed rates alone (require_observed)", fits, pct)}
		}
		return CapacityRecommendation{Reason: fmt.Sprintf("no data: none of the %d thresholds within %s of capacity has an SQL estimate (fewer than two bands have an observed rate to estimate the others from)", fits, pct)}
	}
	p := curve[best]
	rec := CapacityRecommendation{OK: true, Threshold: &p.Threshold, Point: &p, Estimated: p.Estimated}
	for i := range curve {
		q := &curve[i]
		if i != best && q.SQLsPerDay != nil && q.CapacityUsed != nil && !(a.spec.RequireObserved && q.Estimated) && *q.CapacityUsed <= a.target &&
			tied(*q.SQLsPerDay, *p.SQLsPerDay) && q.MQLs != p.MQLs {
			rec.Tied = append(rec.Tied, q.Threshold)
		}
	}
	rec.Reason = fmt.Sprintf("the most expected SQLs/day (%.4g) of the %d thresholds within %s of capacity", *p.SQLsPerDay, rated, pct)
	if len(rec.Tied) > 0 {
		rec.Reason += fmt.Sprintf("; tied with %d others, this one has the fewest MQLs", len(rec.Tied))
	}
	switch {
	case p.Estimated && p.EstimatedShare != nil:
		rec.Reason += fmt.Sprintf("; %.0f%% of its SQLs rest on estimated rates of bands that were not worked enough", *p.EstimatedShare*100)
	case p.Estimated:
		rec.Reason += "; it rests on estimated rates of bands that were not worked enough"
	}
	return rec
}

// tied reports whether two expected SQL figures are equal to 1e-9
// relative.
func tied(x, y float64) bool { return math.Abs(x-y) <= 1e-9*max(1, math.Abs(x), math.Abs(y)) }

// slopePriorSD is the standard deviation of the Gaussian prior on the
// band fit's standardised slope (log-odds per standard deviation of the
// observed bands' scores): a weak bound, negligible against the
// likelihood of a few dozen worked leads, that keeps the slope finite
// when the observed bands separate (none converts under some score, all
// or most over it).
const slopePriorSD = 3

// fitRates fits logit(rate) = a + b x over the observed bands (x their
// scores, k SQLs of w worked leads each) and returns the fit with the
// estimate it gives (nil: none).
//
// It shares sigmoid and softplus with fitLogit (regress.go) but not the
// fit: fitLogit fits one 0/1 outcome per row of a design matrix, without
// weights, with a ridge on the raw coefficients, from zero, and calls a
// stalled line search unconverged; here each band is a weighted count,
// the prior is on the standardised slope, the start is the pooled
// log-odds and a stall at the optimum (the Newton decrement) is accepted.
// One function for both would need weights and another stopping rule in
// fitLogit, which would move Fit's results.
func fitRates(xs []float64, ks, ws []int) (CapacityFit, func(float64) float64) {
	f := CapacityFit{Bands: len(xs)}
	if len(xs) < 2 {
		f.Reason = fmt.Sprintf("%d observed bands: a fit needs at least 2, so unobserved bands have no estimate", len(xs))
		return f, nil
	}
	var sk, sw, sx float64
	for i := range xs {
		sk += float64(ks[i])
		sw += float64(ws[i])
		sx += float64(ws[i]) * xs[i]
	}
	pooled := sk / sw
	if sk == 0 || sk == sw {
		f.Reason = fmt.Sprintf("every observed band converted at %g: unobserved bands take that rate", pooled)
		return f, func(float64) float64 { return pooled }
	}
	mean := sx / sw
	var ss float64
	for i := range xs {
		d := xs[i] - mean
		ss += float64(ws[i]) * d * d
	}
	sd := math.Sqrt(ss / sw)
	z := make([]float64, len(xs))
	for i := range xs {
		z[i] = (xs[i] - mean) / sd
	}
	eta := func(th []float64, i int) float64 { return th[0] + th[1]*z[i] }
	obj := func(th []float64) float64 {
		var s float64
		for i := range z {
			e := eta(th, i)
			s += float64(ws[i])*softplus(e) - float64(ks[i])*e
		}
		return (s + th[1]*th[1]/(2*slopePriorSD*slopePriorSD)) / sw
	}
	grad := func(g, th []float64) {
		g[0], g[1] = 0, 0
		for i := range z {
			r := float64(ws[i])*sigmoid(eta(th, i)) - float64(ks[i])
			g[0] += r
			g[1] += r * z[i]
		}
		g[0] /= sw
		g[1] = (g[1] + th[1]/(slopePriorSD*slopePriorSD)) / sw
	}
	hess := func(h *mat.SymDense, th []float64) {
		var h00, h01, h11 float64
		for i := range z {
			p := sigmoid(eta(th, i))
			w := float64(ws[i]) * p * (1 - p)
			h00 += w
			h01 += w * z[i]
			h11 += w * z[i] * z[i]
		}
		h.SetSym(0, 0, h00/sw)
		h.SetSym(0, 1, h01/sw)
		h.SetSym(1, 1, (h11+1/(slopePriorSD*slopePriorSD))/sw)
	}
	res, err := optimize.Minimize(optimize.Problem{Func: obj, Grad: grad, Hess: hess},
		[]float64{math.Log(pooled / (1 - pooled)), 0},
		&optimize.Settings{GradientThreshold: 1e-12, MajorIterations: 100}, &optimize.Newton{})
	// A line search that stalls at the optimum (no float step lowers the
	// objective any more) is an error to gonum: the Newton decrement
	// (the decrease a Newton step predicts) says whether it is there.
	if res == nil || !finiteAll(res.X) || err != nil && newtonDecrement(grad, hess, res.X) > 1e-14 {
		f.Reason = fmt.Sprintf("the fit did not converge (%v): unobserved bands have no estimate", err)
		return f, nil
	}
	b0, b1 := res.X[0], res.X[1]
	if b1 < 0 {
		f.Clamped = true
		f.Reason = "the fitted slope was negative (higher scores converted less): held at zero, every unobserved band takes the observed bands' pooled rate"
		b0, b1 = math.Log(pooled/(1-pooled)), 0
	}
	slope := b1 / sd
	icept := b0 - slope*mean
	f.Intercept, f.Slope = &icept, &slope
	return f, func(x float64) float64 { return sigmoid(icept + slope*x) }
}

// newtonDecrement is g' H^-1 g at x for a two-parameter objective (+Inf
// when H is not positive definite).
func newtonDecrement(grad func(g, x []float64), hess func(h *mat.SymDense, x []float64), x []float64) float64 {
	g := make([]float64, 2)
	grad(g, x)
	h := mat.NewSymDense(2, nil)
	hess(h, x)
	a, b, c := h.At(0, 0), h.At(0, 1), h.At(1, 1)
	det := a*c - b*b
	if !(a > 0 && det > 0) {
		return math.Inf(1)
	}
	return (c*g[0]*g[0] - 2*b*g[0]*g[1] + a*g[1]*g[1]) / det
}

func finiteAll(xs []float64) bool {
	for _, x := range xs {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}

// RecommendThreshold is the one-shot form of [CapacityAccumulator]: it
// adds every lead and returns the result, or an error joining the
// problems of every refused lead (the first ten, then a count).
func RecommendThreshold(s CapacitySpec, leads []CapacityLead) (CapacityResult, error) {
	a, err := NewCapacityAccumulator(s)
	if err != nil {
		return CapacityResult{}, err
	}
	var errs []error
	more := 0
	for i := range leads {
		if err := a.Add(leads[i]); err != nil {
			if len(errs) == maxThresholdErrors {
				more++
				continue
			}
			errs = append(errs, fmt.Errorf("leads[%d]: %w", i, err))
		}
	}
	if more > 0 {
		errs = append(errs, fmt.Errorf("learn: threshold: and %d more refused leads", more))
	}
	if len(errs) > 0 {
		return CapacityResult{}, errors.Join(errs...)
	}
	return a.Result(), nil
}
