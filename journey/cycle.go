package journey

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/leadkit/leadkit"
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
	// required when Start is FromCreated. A time outside leadkit's time
	// range is a bad entry: the lead is skipped and named in the error.
	Created map[string]time.Time `json:"-"`
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
// from its first touch (or creation) to its first entry into the stage:
// mean, median, p90 and histogram, overall and per cohort of start time.
// Only entries into stage count; pass [stage.Reach] to count the leads
// that skipped it, at the time they reached it (then CycleTimes from the
// reach time of a first stage agrees with the stage funnel's conversion
// times). Leads that reached the stage within CycleOptions.Instant of
// their start (at most; one hour by default) are instant converters: they
// stay in Overall and each cohort's Stats, are counted in Instants, and
// are left out of WithoutInstant. Bad entries are skipped and named in the
// error.
func CycleTimes(timelines []Timeline, entries []stage.Visit, stage string, opts CycleOptions) (CycleResult, error) {
	start := opts.Start
	if start == "" {
		start = FromFirstTouch
	}
	var errs errorList
	if stage == "" {
		errs.add(fmt.Errorf("journey: cycle times: %w: empty stage", leadkit.ErrInvalid))
	}
	if start != FromFirstTouch && start != FromCreated {
		errs.add(fmt.Errorf("journey: cycle times: %w: unknown start %q", leadkit.ErrInvalid, opts.Start))
	}
	if start == FromCreated && opts.Created == nil {
		errs.add(fmt.Errorf("journey: cycle times: %w: start %q needs creation times", leadkit.ErrInvalid, start))
	}
	if !opts.Cohort.Valid() {
		errs.add(fmt.Errorf("journey: cycle times: %w: unknown cohort period %q", leadkit.ErrInvalid, opts.Cohort))
	}
	checkDuration("cycle times", "instant", opts.Instant, true, &errs)
	if err := errs.err(); err != nil {
		return CycleResult{}, err
	}
	instant := opts.Instant
	if instant == 0 {
		instant = DefaultInstant
	}
	first := firstEntries(entries, stage, time.Time{}, time.Time{}, &errs)
	idx := indexTimelines(timelines)
	r := CycleResult{Stage: stage, Start: start}
	if instant > 0 {
		d := leadkit.Duration(instant)
		r.Instant = &d
	}
	var all []time.Duration
	type cohort struct {
		start time.Time
		ds    []time.Duration
	}
	cohorts := map[string]*cohort{}
	for _, lead := range slices.Sorted(maps.Keys(first)) {
		var from time.Time
		var ok bool
		if start == FromCreated {
			from, ok = opts.Created[lead]
			if err := checkCreated(from); ok && err != nil {
				errs.add(fmt.Errorf("journey: cycle times: lead %q: %w", text.Clip(lead, 64), err))
				ok = false
			}
			ok = ok && !from.IsZero()
		} else if tl := idx[lead]; tl != nil {
			var t Touch
			t, ok = FirstTouch(*tl)
			from = t.Time
		}
		entered := first[lead]
		if !ok || from.After(entered) {
			r.Skipped++
			continue
		}
		d := entered.Sub(from)
		all = append(all, d)
		if opts.Cohort != leadkit.PeriodNone {
			cs, label := opts.Cohort.Cohort(from)
			c := cohorts[label]
			if c == nil {
				c = &cohort{start: cs}
				cohorts[label] = c
			}
			c.ds = append(c.ds, d)
		}
	}
	r.Overall = Summarize(all, opts.Bins)
	r.Instants, r.WithoutInstant = splitInstant(all, instant, opts.Bins)
	for _, label := range slices.Sorted(maps.Keys(cohorts)) {
		c := cohorts[label]
		cc := CycleCohort{Cohort: label, Start: c.start, Stats: Summarize(c.ds, opts.Bins)}
		cc.Instants, cc.WithoutInstant = splitInstant(c.ds, instant, opts.Bins)
		r.Cohorts = append(r.Cohorts, cc)
	}
	return r, errs.err()
}

// splitInstant counts the cycle times of at most instant and summarises
// the others. With instant negative (the split off) nothing is asked:
// the count has no data and the others are all.
func splitInstant(ds []time.Duration, instant time.Duration, bins int) (leadkit.Rate, DurationStats) {
	if instant < 0 {
		return leadkit.NewRate(0, 0), Summarize(ds, bins)
	}
	rest := make([]time.Duration, 0, len(ds))
	for _, d := range ds {
		if d > instant {
			rest = append(rest, d)
		}
	}
	return leadkit.NewRate(len(ds)-len(rest), len(ds)), Summarize(rest, bins)
}
