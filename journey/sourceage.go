package journey

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/stage"
)

// DefaultAgeBuckets are the age buckets of [SourceAge] when none are given:
// under 30 days, 30-90, 90-180, 180-365 and over 365 days.
var DefaultAgeBuckets = []time.Duration{30 * 24 * time.Hour, 90 * 24 * time.Hour, 180 * 24 * time.Hour, 365 * 24 * time.Hour}

// SourceAgeOptions selects the period of [SourceAge].
type SourceAgeOptions struct {
	// From and To bound the period: the leads whose first entry into the
	// stage within From <= t < To are counted. From is required; a zero To
	// leaves the period open.
	From time.Time `json:"from"`
	To   time.Time `json:"to,omitzero"`
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
	From    leadkit.Duration `json:"from"`
	To      leadkit.Duration `json:"to,omitempty"`
	Leads   int              `json:"leads"`
	Share   float64          `json:"share"`   // Leads / leads with a known creation time
	Touches []TypeShare      `json:"touches"` // what they did before converting
}

// SourceAgeResult answers "how many of this month's MQLs are old leads".
type SourceAgeResult struct {
	Stage string    `json:"stage"`
	From  time.Time `json:"from,omitzero"`
	To    time.Time `json:"to,omitzero"`
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
		r.Buckets = append(r.Buckets, AgeBucket{From: leadkit.Duration(lo), To: leadkit.Duration(hi), Leads: m.leads, Share: ratio(m.leads, known), Touches: m.shares()})
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
