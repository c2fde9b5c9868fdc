package journey

import (
	"cmp"
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
	// FromCreation measures from the lead's creation time
	// (CycleOptions.Created).
	FromCreation Start = "created"
)

// CycleOptions tunes [CycleTimes]. The zero value measures from the first
// touch with no cohorts.
type CycleOptions struct {
	Start Start `json:"start,omitempty"`
	// Created maps lead IDs to creation times (leadkit.Lead.CreatedAt);
	// required when Start is FromCreation.
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
	Start  time.Time     `json:"start"`
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
	if start != FromFirstTouch && start != FromCreation {
		errs.add(fmt.Errorf("journey: cycle times: %w: unknown start %q", leadkit.ErrInvalid, opts.Start))
	}
	if start == FromCreation && opts.Created == nil {
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
		if start == FromCreation {
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

// DefaultAgeBuckets are the age buckets of [SourceAge] when none are given:
// under 30 days, 30-90, 90-180, 180-365 and over 365 days.
var DefaultAgeBuckets = []time.Duration{30 * 24 * time.Hour, 90 * 24 * time.Hour, 180 * 24 * time.Hour, 365 * 24 * time.Hour}

// SourceAgeOptions selects the period of [SourceAge].
type SourceAgeOptions struct {
	// From and To bound the period: the leads whose first entry into the
	// stage within From <= t < To are counted. From is required; a zero To
	// leaves the period open.
	From time.Time `json:"from"`
	To   time.Time `json:"to,omitempty"`
	// Buckets are the upper bounds of the age buckets, ascending; a last
	// open bucket holds older leads. Nil means DefaultAgeBuckets. In JSON
	// and YAML they are text such as "30d" or "13w" (see
	// [leadkit.ParseDuration]).
	Buckets []time.Duration `json:"buckets,omitempty"`
}

// AgeBucket is one age bucket of a [SourceAgeResult]: leads whose age when
// they reached the stage (entry time - creation time) was in [From, To);
// To is zero for the last, open bucket.
type AgeBucket struct {
	From    time.Duration `json:"from"`
	To      time.Duration `json:"to,omitempty"`
	Leads   int           `json:"leads"`
	Share   float64       `json:"share"`   // Leads / leads with a known creation time
	Touches []TypeShare   `json:"touches"` // what they did before converting
}

// SourceAgeResult answers "how many of this month's MQLs are old leads".
type SourceAgeResult struct {
	Stage string    `json:"stage"`
	From  time.Time `json:"from"`
	To    time.Time `json:"to,omitempty"`
	// Leads reached the stage in the period: New of them were created in
	// the period (at or after From), Earlier before it, and Unknown have
	// no creation time.
	Leads int `json:"leads"`
	// FirstTime of the Leads reached the stage for the first time in the
	// period; Repeat had reached it before (a recycled lead back in MQL).
	FirstTime int `json:"first_time"`
	Repeat    int `json:"repeat"`
	New       int `json:"new"`
	Earlier   int `json:"earlier"`
	Unknown   int `json:"unknown"`
	// EarlierShare is Earlier / (New + Earlier).
	EarlierShare float64     `json:"earlier_share"`
	Buckets      []AgeBucket `json:"buckets"`
	// NewTouches and EarlierTouches are the touch types the two groups
	// had at or before reaching the stage.
	NewTouches     []TypeShare `json:"new_touches"`
	EarlierTouches []TypeShare `json:"earlier_touches"`
}

// SourceAge splits the leads that reached stage in a period by when they
// were created: in the period or earlier, and bucketed by age at the time
// they reached it, with the touch types each group received before
// converting. A lead that entered the stage several times in the period
// counts once, at its first entry in the period, as a first-time reach or
// a repeat one (it had entered the stage before From); pass
// [stage.Reach] to count leads that skipped the stage. created maps lead
// IDs to creation times.
func SourceAge(timelines []Timeline, entries []stage.Visit, created map[string]time.Time, stage string, opts SourceAgeOptions) (SourceAgeResult, error) {
	var errs errorList
	if stage == "" {
		errs.add(fmt.Errorf("journey: source age: %w: empty stage", leadkit.ErrInvalid))
	}
	if opts.From.IsZero() {
		errs.add(fmt.Errorf("journey: source age: %w: the period needs a start (From)", leadkit.ErrInvalid))
	}
	if !opts.To.IsZero() && !opts.To.After(opts.From) {
		errs.add(fmt.Errorf("journey: source age: %w: period ends (%s) before it starts (%s)", leadkit.ErrInvalid,
			opts.To.Format(time.RFC3339), opts.From.Format(time.RFC3339)))
	}
	bounds := opts.Buckets
	if bounds == nil {
		bounds = DefaultAgeBuckets
	}
	for i, b := range bounds {
		if b <= 0 || (i > 0 && b <= bounds[i-1]) {
			errs.add(fmt.Errorf("journey: source age: %w: bucket %d (%v): bounds must be positive and ascending", leadkit.ErrInvalid, i+1, b))
		}
	}
	if err := errs.err(); err != nil {
		return SourceAgeResult{}, err
	}
	r := SourceAgeResult{Stage: stage, From: opts.From, To: opts.To}
	reached, before := periodReaches(entries, stage, opts.From, opts.To, &errs)
	idx := indexTimelines(timelines)
	mixes := make([]*touchMix, len(bounds)+1)
	for i := range mixes {
		mixes[i] = newTouchMix()
	}
	newMix, oldMix := newTouchMix(), newTouchMix()
	for _, lead := range slices.Sorted(maps.Keys(reached)) {
		at := reached[lead]
		r.Leads++
		if before[lead] {
			r.Repeat++
		} else {
			r.FirstTime++
		}
		c, ok := created[lead]
		if !ok || c.IsZero() {
			r.Unknown++
			continue
		}
		if c.Before(opts.From) {
			r.Earlier++
			oldMix.add(idx[lead], at)
		} else {
			r.New++
			newMix.add(idx[lead], at)
		}
		age := max(at.Sub(c), 0)
		b, _ := slices.BinarySearch(bounds, age)
		if b < len(bounds) && bounds[b] == age {
			b++ // bounds are exclusive upper limits
		}
		mixes[b].add(idx[lead], at)
	}
	known := r.New + r.Earlier
	r.EarlierShare = ratio(r.Earlier, known)
	var lo time.Duration
	for i, m := range mixes {
		var hi time.Duration
		if i < len(bounds) {
			hi = bounds[i]
		}
		r.Buckets = append(r.Buckets, AgeBucket{From: lo, To: hi, Leads: m.leads, Share: ratio(m.leads, known), Touches: m.shares()})
		lo = hi
	}
	r.NewTouches, r.EarlierTouches = newMix.shares(), oldMix.shares()
	return r, errs.err()
}

// periodReaches returns, for each lead with an entry into stage in
// [from, to), the time of its first such entry, and which of those leads
// had an entry into stage before from (a repeat reach).
func periodReaches(entries []stage.Visit, stage string, from, to time.Time, errs *errorList) (first map[string]time.Time, before map[string]bool) {
	first, before = map[string]time.Time{}, map[string]bool{}
	for i, e := range entries {
		if err := validVisit(i, e); err != nil {
			errs.add(err)
			continue
		}
		switch {
		case e.Stage != stage:
		case e.At.Before(from):
			before[e.LeadID] = true
		case !to.IsZero() && !e.At.Before(to):
		default:
			if t, ok := first[e.LeadID]; !ok || e.At.Before(t) {
				first[e.LeadID] = e.At
			}
		}
	}
	return first, before
}

// NurtureOptions tunes [NurturePower].
type NurtureOptions struct {
	// By is the field that names a piece of nurture: KeyContent (the
	// default) or KeyCampaign (any Key works).
	By Key `json:"by,omitempty"`
	// Types are the event types that count as a send (e.g. "email_opened",
	// "download"); empty means every type.
	Types []string `json:"types,omitempty"`
	// From and To bound the sends counted (From <= t < To; zero is open).
	From time.Time `json:"from,omitempty"`
	To   time.Time `json:"to,omitempty"`
	// Window, when positive, credits a touch only if the lead's first
	// entry into the stage came within Window after it (inclusive). Zero
	// means no limit; negative is an error. In JSON and YAML it is text
	// such as "30d" (see [leadkit.ParseDuration]).
	Window time.Duration `json:"window,omitempty"`
}

// ContentPower is the nurture power of one content or campaign.
type ContentPower struct {
	Key string `json:"key"`
	// Sent counts its touches in the period; Leads the distinct leads
	// touched.
	Sent  int `json:"sent"`
	Leads int `json:"leads"`
	// Converted counts the touched leads whose first entry into the stage
	// came at or after a touch of it in the period (and within
	// NurtureOptions.Window of that touch when it is set). A lead that
	// reached the stage before the touch is not credited, even if it
	// re-entered the stage later.
	Converted int `json:"converted"`
	// Power is Converted / Sent; Rate is Converted / Leads.
	Power float64 `json:"power"`
	Rate  float64 `json:"rate"`
}

// NurturePower measures the nurture power of content: for each content (or
// campaign) sent in a period, how many of the leads that reached stage had
// that touch before converting (see ContentPower.Converted), divided by the
// number of times it was sent. A lead converts at its first entry into the
// stage; pass [stage.Reach] to count leads that skipped it. The result is
// sorted by Power, then Converted, descending, then Key.
func NurturePower(timelines []Timeline, entries []stage.Visit, stage string, opts NurtureOptions) ([]ContentPower, error) {
	by := opts.By
	if by == "" {
		by = KeyContent
	}
	var errs errorList
	if stage == "" {
		errs.add(fmt.Errorf("journey: nurture power: %w: empty stage", leadkit.ErrInvalid))
	}
	if !by.valid() {
		errs.add(fmt.Errorf("journey: nurture power: %w: unknown key %q", leadkit.ErrInvalid, opts.By))
	}
	if opts.Window < 0 {
		errs.add(fmt.Errorf("journey: nurture power: %w: window %v is negative", leadkit.ErrInvalid, opts.Window))
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	first := firstEntries(entries, stage, time.Time{}, time.Time{}, &errs)
	stats := map[string]*ContentPower{}
	// Per lead: the keys it was sent, and for each the latest send at or
	// before its first entry into the stage.
	touched := map[string]bool{}
	lastBefore := map[string]time.Time{}
	for _, tl := range timelines {
		clear(touched)
		clear(lastBefore)
		reached, converted := first[tl.LeadID]
		for _, e := range tl.Events {
			key := by.Of(e)
			if key == "" || e.Time.IsZero() || (len(opts.Types) > 0 && !slices.Contains(opts.Types, e.Type)) ||
				(!opts.From.IsZero() && e.Time.Before(opts.From)) || (!opts.To.IsZero() && !e.Time.Before(opts.To)) {
				continue
			}
			s := stats[key]
			if s == nil {
				s = &ContentPower{Key: key}
				stats[key] = s
			}
			s.Sent++
			touched[key] = true
			if converted && !e.Time.After(reached) {
				if t, ok := lastBefore[key]; !ok || e.Time.After(t) {
					lastBefore[key] = e.Time
				}
			}
		}
		for key := range touched {
			s := stats[key]
			s.Leads++
			if t, ok := lastBefore[key]; ok && (opts.Window == 0 || reached.Sub(t) <= opts.Window) {
				s.Converted++
			}
		}
	}
	out := make([]ContentPower, 0, len(stats))
	for _, s := range stats {
		s.Power, s.Rate = ratio(s.Converted, s.Sent), ratio(s.Converted, s.Leads)
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b ContentPower) int {
		if c := cmp.Compare(b.Power, a.Power); c != 0 {
			return c
		}
		if c := cmp.Compare(b.Converted, a.Converted); c != 0 {
			return c
		}
		return cmp.Compare(a.Key, b.Key)
	})
	return out, errs.err()
}
