package journey

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/binenc"
	"github.com/leadkit/leadkit/internal/stats"
	"github.com/leadkit/leadkit/internal/text"
	"github.com/leadkit/leadkit/stage"
)

// Start is where a cycle time is measured from.
type Start string

// Cycle time starting points.
const (
	// FromFirstTouch (the default, "") measures from the lead's first event.
	FromFirstTouch Start = "first_touch"
	// FromCreated measures from the lead's creation time
	// (CycleOptions.Created).
	FromCreated Start = "created"
)

// CycleOptions tunes [CycleTimes]. The zero value measures from the first
// touch with no cohorts, and sets apart the leads that converted within
// DefaultInstant.
type CycleOptions struct {
	Start Start `json:"start,omitempty"`
	// Created maps lead IDs to creation times (leadkit.Lead.CreatedAt);
	// required by [CycleTimes] when Start is FromCreated. A
	// [CycleAccumulator] ignores it: a [LeadJourney] carries its lead's
	// creation time. A time outside leadkit's time
	// range is a bad entry: the lead is skipped and named in the error.
	Created map[string]time.Time `json:"-"`
	// From and To bound the entries measured: a lead is measured to its
	// first entry into the stage at From <= t < To (zero is open), in
	// leadkit's time range ([leadkit.ValidTime]). lifecycle.Verify
	// measures the leads that reached the stage in its period to their
	// first entry in it.
	From time.Time `json:"from,omitzero"`
	To   time.Time `json:"to,omitzero"`
	// Cohort groups leads by the period their start time falls in.
	Cohort leadkit.Period `json:"cohort,omitempty"`
	// Bins of the histograms (0: automatic, see [Histogram]).
	Bins int `json:"bins,omitempty"`
	// Instant is the longest cycle time of an instant converter: a lead
	// that reached the stage at registration (a demo request form that
	// created the lead and qualified it at once), whose cycle time says
	// nothing about nurture. Such leads are counted in
	// CycleResult.Instants and left out of CycleResult.WithoutInstant.
	// Zero means [DefaultInstant]; a negative value turns the split off.
	// At most leadkit.MaxDuration. In JSON and YAML it is text such as
	// "1h" (see [leadkit.ParseDuration]).
	Instant time.Duration `json:"instant,omitempty"`
}

// DefaultInstant is the default CycleOptions.Instant: one hour. A lead
// that converts at registration does so in the same request, or within
// the minutes a scoring run or a CRM sync takes (hourly at the slowest
// common schedule); a lead that needed a second touch, even the same day
// (a webinar, then a demo request), took longer than that. A day would
// count same-day nurture as instant.
const DefaultInstant = time.Hour

// CycleResult is the time leads took to reach a stage.
type CycleResult struct {
	Stage   string        `json:"stage"`
	Start   Start         `json:"start"`
	Overall DurationStats `json:"overall"`
	Cohorts []CycleCohort `json:"cohorts,omitempty"` // sorted by start
	// Skipped counts the leads that reached the stage but have no start
	// (no timeline, no creation time or one out of range) or whose start
	// is after their first entry into the stage.
	Skipped int `json:"skipped"`
	// Instant is the threshold of instant converters
	// (CycleOptions.Instant, DefaultInstant when zero); null when the
	// split is off.
	Instant *leadkit.Duration `json:"instant"`
	// Instants counts the leads of Overall whose cycle time was at most
	// Instant (they converted at registration), of Overall.N. With no
	// leads, or with the split off, it has no data (null rate, base 0).
	Instants leadkit.Rate `json:"instants"`
	// WithoutInstant are the statistics of Overall without the instant
	// converters: how long the leads that did not convert at registration
	// took. Overall keeps every lead, so that it agrees with the stage
	// funnel.
	WithoutInstant DurationStats `json:"without_instant"`
}

// CycleCohort is the cycle time of one cohort.
type CycleCohort struct {
	Cohort string        `json:"cohort"`
	Start  time.Time     `json:"start,omitzero"`
	Stats  DurationStats `json:"stats"`
	// Instants and WithoutInstant split the cohort as CycleResult's.
	Instants       leadkit.Rate  `json:"instants"`
	WithoutInstant DurationStats `json:"without_instant"`
}

// CycleTimes measures, for every lead with an entry into stage, the time
// from its first touch (or creation) to its first entry into the stage
// (within CycleOptions.From and To when set): mean, median, p90 and
// histogram, overall and per cohort of start time. Only entries into
// stage count; pass [stage.Reach] to count the leads that skipped it, at
// the time they reached it (then CycleTimes from the reach time of a
// first stage agrees with the stage funnel's conversion times). Leads
// that reached the stage within CycleOptions.Instant of their start (at
// most; one hour by default) are instant converters: they stay in
// Overall and each cohort's Stats, are counted in Instants, and are left
// out of WithoutInstant. Bad entries (see [Journeys]; a creation time out
// of range is named as the cycle time's) are skipped and named in the
// error.
//
// CycleTimes is one pass of a [CycleAccumulator] over [Journeys] of its
// inputs, so its medians and percentiles are the accumulator's: exact up
// to 1,024 durations per statistic, and past that within 1% of the exact
// ones, as a funnel's (see [DurationStats] and [leadkit.Quantiles]); N,
// Mean, Min and Max stay exact.
func CycleTimes(timelines []Timeline, entries []stage.Visit, stage string, opts CycleOptions) (CycleResult, error) {
	a, err := NewCycleAccumulator(stage, opts)
	if opts.Start == FromCreated && opts.Created == nil {
		err = errors.Join(err, fmt.Errorf("journey: cycle times: %w: start %q needs creation times", leadkit.ErrInvalid, opts.Start))
	}
	if err != nil {
		return CycleResult{}, err
	}
	var errs errorList
	var created map[string]time.Time
	if a.opts.Start == FromCreated {
		// A creation time out of range is the cycle time's bad entry: the
		// lead has no start.
		created = make(map[string]time.Time, len(opts.Created))
		for _, lead := range slices.Sorted(maps.Keys(opts.Created)) {
			c := opts.Created[lead]
			if err := checkCreated(c); err != nil {
				errs.add(fmt.Errorf("journey: cycle times: lead %q: %w", text.Clip(lead, 64), err))
				c = time.Time{}
			}
			created[lead] = c
		}
	}
	for _, j := range journeys(timelines, entries, created, &errs) {
		errs.add(a.add(&j))
	}
	return a.Result(), errs.err()
}

// cycleGroup holds the cycle times of a group of leads (all of them, or
// one cohort): those of instant converters (at most the threshold) and
// the others, apart, so that WithoutInstant is a summary of its own and
// Overall the merge of both. With the split off every time is in rest.
type cycleGroup struct {
	inst, rest stats.Summary
}

func (g *cycleGroup) add(d, instant time.Duration) {
	if instant >= 0 && d <= instant {
		g.inst.Add(d)
	} else {
		g.rest.Add(d)
	}
}

func (g *cycleGroup) merge(o *cycleGroup) {
	g.inst.Merge(&o.inst)
	g.rest.Merge(&o.rest)
}

// n is the number of cycle times of the group.
func (g *cycleGroup) n() int { return g.inst.N() + g.rest.N() }

// all is the summary of every time of the group: the same state as one
// summary given them all.
func (g *cycleGroup) all() stats.Summary {
	s := g.inst.Clone()
	s.Merge(&g.rest)
	return s
}

// stats returns the group's statistics, instants and statistics without
// them.
func (g *cycleGroup) stats(instant time.Duration, bins int) (DurationStats, leadkit.Rate, DurationStats) {
	all := g.all()
	inst := leadkit.NewRate(0, 0)
	if instant >= 0 {
		inst = leadkit.NewRate(g.inst.N(), all.N())
	}
	return summarize(&all, bins), inst, summarize(&g.rest, bins)
}

// CycleAccumulator computes [CycleTimes] one lead at a time, under the
// accumulator contract of package leadkit (see [SourceAgeAccumulator]):
// Add a [LeadJourney] per lead, Merge accumulators filled per shard, and
// read the Result, which equals one pass. The cycle times are kept in
// mergeable summaries: exact up to 1,024 durations per statistic
// (overall, each cohort, and each without its instant converters), past
// that a sketch of a few kilobytes whose medians and percentiles lie
// within 1% of the exact ones (see [leadkit.Quantiles]), so its size
// stops growing with the leads. There is one cohort per period of start
// time that holds a lead. It is not safe for concurrent use.
type CycleAccumulator struct {
	stage   string
	opts    CycleOptions // Start and Instant filled in, Created dropped
	overall cycleGroup
	cohorts map[time.Time]*cycleGroup // by cohort start (UTC)
	skipped int
}

// NewCycleAccumulator validates the options (see [CycleTimes]; Created
// is not used) and returns an empty accumulator. Errors wrap
// [leadkit.ErrInvalid] and name every problem.
func NewCycleAccumulator(stage string, opts CycleOptions) (*CycleAccumulator, error) {
	var errs errorList
	if stage == "" {
		errs.add(fmt.Errorf("journey: cycle times: %w: empty stage", leadkit.ErrInvalid))
	}
	if opts.Start == "" {
		opts.Start = FromFirstTouch
	}
	if opts.Start != FromFirstTouch && opts.Start != FromCreated {
		errs.add(fmt.Errorf("journey: cycle times: %w: unknown start %q", leadkit.ErrInvalid, text.Clip(string(opts.Start), 64)))
	}
	if !opts.Cohort.Valid() {
		errs.add(fmt.Errorf("journey: cycle times: %w: unknown cohort period %q", leadkit.ErrInvalid, text.Clip(string(opts.Cohort), 64)))
	}
	checkTime("cycle times", "from", opts.From, &errs)
	checkTime("cycle times", "to", opts.To, &errs)
	if !opts.From.IsZero() && !opts.To.IsZero() && !opts.To.After(opts.From) {
		errs.add(fmt.Errorf("journey: cycle times: %w: period ends (%s) before it starts (%s)", leadkit.ErrInvalid,
			opts.To.Format(time.RFC3339), opts.From.Format(time.RFC3339)))
	}
	checkDuration("cycle times", "instant", opts.Instant, true, &errs)
	if err := errs.err(); err != nil {
		return nil, err
	}
	if opts.Instant == 0 {
		opts.Instant = DefaultInstant
	}
	opts.Created = nil
	return &CycleAccumulator{stage: stage, opts: opts, cohorts: map[time.Time]*cycleGroup{}}, nil
}

// Add measures one lead. A journey that [LeadJourney] does not allow (no
// valid lead ID, a creation time out of range, a visit or event that
// fails validation or is of another lead) is refused with an error
// wrapping [leadkit.ErrInvalid] that names every problem, and nothing is
// counted. A lead without an entry into the stage (in the period) is not
// counted, and that is not an error; one without a start, or whose start
// is after the entry, is counted in Skipped. A lead that would take
// Skipped or the cycle times (Overall.N) past [MaxCount] is refused with
// an error wrapping [leadkit.ErrInvalid] naming the cap, and nothing is
// counted.
func (a *CycleAccumulator) Add(j LeadJourney) error {
	if err := j.validate("cycle times"); err != nil {
		return err
	}
	return a.add(&j)
}

// add measures one lead, or refuses it at MaxCount (nothing counted).
func (a *CycleAccumulator) add(j *LeadJourney) error {
	var entered time.Time
	reached := false
	for _, v := range j.Visits {
		if v.Stage != a.stage || (!a.opts.From.IsZero() && v.At.Before(a.opts.From)) || (!a.opts.To.IsZero() && !v.At.Before(a.opts.To)) {
			continue
		}
		if !reached || v.At.Before(entered) {
			entered, reached = v.At, true
		}
	}
	if !reached {
		return nil
	}
	var from time.Time
	ok := false
	if a.opts.Start == FromCreated {
		from, ok = j.Created, !j.Created.IsZero()
	} else {
		var t Touch
		t, ok = FirstTouch(j.Timeline)
		from = t.Time
	}
	if !ok || from.After(entered) {
		if a.skipped == MaxCount {
			return fmt.Errorf("journey: cycle times: %w: more than %d leads skipped (MaxCount)", leadkit.ErrInvalid, MaxCount)
		}
		a.skipped++
		return nil
	}
	if a.overall.n() == MaxCount {
		return fmt.Errorf("journey: cycle times: %w: more than %d cycle times (MaxCount)", leadkit.ErrInvalid, MaxCount)
	}
	d := entered.Sub(from)
	a.overall.add(d, a.opts.Instant)
	if a.opts.Cohort != leadkit.PeriodNone {
		cs, _ := a.opts.Cohort.Cohort(from)
		a.cohort(cs).add(d, a.opts.Instant)
	}
	return nil
}

// cohort returns the group of the cohort starting at cs, made if new.
func (a *CycleAccumulator) cohort(cs time.Time) *cycleGroup {
	c := a.cohorts[cs]
	if c == nil {
		c = &cycleGroup{}
		a.cohorts[cs] = c
	}
	return c
}

// Merge adds everything other holds; other is not modified. Accumulators
// of different stages or options, nil and a itself are refused with an
// error wrapping [leadkit.ErrInvalid], and nothing changes; so is a merge
// that would take Skipped or the cycle times (Overall.N) past
// [MaxCount].
func (a *CycleAccumulator) Merge(other *CycleAccumulator) error {
	if other == nil || other == a {
		return fmt.Errorf("journey: cycle times: %w: merge needs another accumulator (not nil, not itself)", leadkit.ErrInvalid)
	}
	x, y := a.opts, other.opts
	if a.stage != other.stage || x.Start != y.Start || !x.From.Equal(y.From) || !x.To.Equal(y.To) || x.Cohort != y.Cohort || x.Bins != y.Bins || x.Instant != y.Instant {
		return fmt.Errorf("journey: cycle times: %w: cannot merge accumulators of different stages or options", leadkit.ErrMismatch)
	}
	if a.skipped > MaxCount-other.skipped {
		return fmt.Errorf("journey: cycle times: %w: merged, more than %d leads skipped (MaxCount)", leadkit.ErrInvalid, MaxCount)
	}
	if a.overall.n() > MaxCount-other.overall.n() {
		return fmt.Errorf("journey: cycle times: %w: merged, more than %d cycle times (MaxCount)", leadkit.ErrInvalid, MaxCount)
	}
	a.overall.merge(&other.overall)
	for cs, c := range other.cohorts {
		a.cohort(cs).merge(c)
	}
	a.skipped += other.skipped
	return nil
}

// Result returns the cycle times of everything added so far, cohorts
// sorted by label (as [CycleTimes]).
func (a *CycleAccumulator) Result() CycleResult {
	instant := a.opts.Instant
	r := CycleResult{Stage: a.stage, Start: a.opts.Start, Skipped: a.skipped}
	if instant > 0 {
		d := leadkit.Duration(instant)
		r.Instant = &d
	}
	r.Overall, r.Instants, r.WithoutInstant = a.overall.stats(instant, a.opts.Bins)
	type labelled struct {
		label string
		start time.Time
	}
	var cs []labelled
	for start := range a.cohorts {
		_, label := a.opts.Cohort.Cohort(start)
		cs = append(cs, labelled{label, start})
	}
	slices.SortFunc(cs, func(x, y labelled) int { return strings.Compare(x.label, y.label) })
	for _, c := range cs {
		cc := CycleCohort{Cohort: c.label, Start: c.start}
		cc.Stats, cc.Instants, cc.WithoutInstant = a.cohorts[c.start].stats(instant, a.opts.Bins)
		r.Cohorts = append(r.Cohorts, cc)
	}
	return r
}

// MaxCount caps the counts accumulators sum over leads and merges (leads,
// touches, sends of a content, skipped leads, cycle times, paths, the
// transitions between their items): every integer up to it (2^53 - 1,
// or math.MaxInt where int is 32 bits) is exact in float64 and JSON, and
// their decoders accept it. Add and Merge refuse to go past it with an
// error wrapping [leadkit.ErrInvalid] that names the accumulator and the
// cap, and nothing then changes, so every state they make encodes and
// decodes. It is the cap of the accumulators of packages stage, pool and
// attribution too (their errors call it journey.MaxCount), and
// lifecycle's MaxCreditCount.
const MaxCount = binenc.MaxTotal

// upToMaxCount is s + v held at MaxCount (s and v at most MaxCount): a
// sum of counts that bounds counts, never past the cap.
func upToMaxCount(s, v int) int {
	if s > MaxCount-v {
		return MaxCount
	}
	return s + v
}
