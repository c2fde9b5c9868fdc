package journey

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/leadkit/leadkit"
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
// touch with no cohorts.
type CycleOptions struct {
	Start Start `json:"start,omitempty"`
	// Created maps lead IDs to creation times (leadkit.Lead.CreatedAt);
	// required when Start is FromCreated.
	Created map[string]time.Time `json:"-"`
	// Cohort groups leads by the period their start time falls in.
	Cohort leadkit.Period `json:"cohort,omitempty"`
	// Bins of the histograms (0: automatic, see [Histogram]).
	Bins int `json:"bins,omitempty"`
}

// CycleResult is the time leads took to reach a stage.
type CycleResult struct {
	Stage   string        `json:"stage"`
	Start   Start         `json:"start"`
	Overall DurationStats `json:"overall"`
	Cohorts []CycleCohort `json:"cohorts,omitempty"` // sorted by start
	// Skipped counts the leads that reached the stage but have no start
	// (no timeline, no creation time) or whose start is after their first
	// entry into the stage.
	Skipped int `json:"skipped"`
}

// CycleCohort is the cycle time of one cohort.
type CycleCohort struct {
	Cohort string        `json:"cohort"`
	Start  time.Time     `json:"start,omitzero"`
	Stats  DurationStats `json:"stats"`
}

// CycleTimes measures, for every lead with an entry into stage, the time
// from its first touch (or creation) to its first entry into the stage:
// mean, median, p90 and histogram, overall and per cohort of start time.
// Only entries into stage count; pass [stage.Reach] to count the leads
// that skipped it, at the time they reached it (then CycleTimes from the
// reach time of a first stage agrees with the stage funnel's conversion
// times). Bad entries are skipped and named in the error.
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
	if err := errs.err(); err != nil {
		return CycleResult{}, err
	}
	first := firstEntries(entries, stage, time.Time{}, time.Time{}, &errs)
	idx := indexTimelines(timelines)
	r := CycleResult{Stage: stage, Start: start}
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
	for _, label := range slices.Sorted(maps.Keys(cohorts)) {
		c := cohorts[label]
		r.Cohorts = append(r.Cohorts, CycleCohort{Cohort: label, Start: c.start, Stats: Summarize(c.ds, opts.Bins)})
	}
	return r, errs.err()
}
