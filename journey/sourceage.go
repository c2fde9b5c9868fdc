package journey

import (
	"cmp"
	"fmt"
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
	// leaves the period open. Both in leadkit's time range
	// ([leadkit.ValidTime]).
	From time.Time `json:"from"`
	To   time.Time `json:"to,omitzero"`
	// Buckets are the upper bounds of the age buckets, ascending, each
	// positive and at most leadkit.MaxDuration, at most [MaxAgeBuckets]
	// of them; a last open bucket holds older leads. Nil means
	// DefaultAgeBuckets. In JSON and YAML they are text such as "30d" or
	// "13w" (see [leadkit.ParseDuration]).
	Buckets []time.Duration `json:"buckets,omitempty"`
	// By is the field that names a converter's channel in
	// SourceAgeResult.Channels: KeyChannel (the default), or KeyCampaign,
	// KeyContent or KeyType.
	By Key `json:"by,omitempty"`
	// OldAge is the least age of an old lead: an Earlier lead was created
	// more than OldAge before From, and a lead created later is New. Zero
	// means created before From. It has the meaning of
	// OldLeadNurtureOptions.OldAge, so that the two reports with one
	// OldAge agree on which leads are old: with a day, a lead a webinar
	// created 30 minutes before the period and converted an hour later
	// is a new lead the webinar brought, not an old one it revived.
	// Negative is an error; at most leadkit.MaxDuration. In JSON and YAML
	// it is text such as "30d".
	OldAge time.Duration `json:"old_age,omitempty"`
}

// MaxAgeBuckets caps SourceAgeOptions.Buckets: each bucket keeps a touch
// mix, and a hundred bounds are far more than a report shows.
const MaxAgeBuckets = 100

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
	// OldAge is SourceAgeOptions.OldAge.
	OldAge leadkit.Duration `json:"old_age"`
	// Leads reached the stage in the period: Earlier of them are old
	// leads, created more than OldAge before From (with OldAge zero:
	// before the period), New were created later, and Unknown have no
	// creation time.
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
	// By is the field Channels are keyed by (SourceAgeOptions.By).
	By Key `json:"by"`
	// Channels tell which channels bring new leads and which revive old
	// ones. A New lead is credited to its source: the channel of its
	// first touch with a channel at or before it reached the stage. An
	// Earlier lead is credited to what revived it: the channel of its
	// last touch with a channel at or before it reached the stage.
	// Touches without a channel (a hand-raise form, a sales note) are
	// passed over; a lead with none is unattributed (NewUnattributed,
	// EarlierUnattributed), and leads of unknown creation are in neither.
	// So the New of all channels plus NewUnattributed is New, and the
	// Revived plus EarlierUnattributed is Earlier. Sorted by New + Revived,
	// descending, then by Key.
	Channels            []SourceChannel `json:"channels"`
	NewUnattributed     int             `json:"new_unattributed"`
	EarlierUnattributed int             `json:"earlier_unattributed"`
}

// SourceChannel is one channel's part in a period's conversions: the new
// leads it brought and the old ones it revived (see
// SourceAgeResult.Channels).
type SourceChannel struct {
	// Key is the channel (or the value of SourceAgeOptions.By).
	Key     string `json:"key"`
	New     int    `json:"new"`
	Revived int    `json:"revived"`
	// NewShare is New of New + Revived: near 1 the channel brings new
	// leads, near 0 it revives old ones.
	NewShare leadkit.Rate `json:"new_share"`
	// OfNew is New of all the attributed new leads, OfRevived is Revived
	// of all the attributed earlier leads: the channel's share of each
	// group. A group without leads has no data (null rates).
	OfNew     leadkit.Rate `json:"of_new"`
	OfRevived leadkit.Rate `json:"of_revived"`
}

// SourceAge splits the leads that reached stage in a period by when they
// were created: old leads (Earlier: created before the period, or more
// than SourceAgeOptions.OldAge before it) and new ones, and bucketed by age at the time
// they reached it, with the touch types each group received before
// converting, and per channel: the new leads each channel brought and the
// old ones it revived (see SourceAgeResult.Channels). A lead that entered
// the stage several times in the period counts once, at its first entry
// in the period, as a first-time reach or a repeat one (it had entered
// the stage before From); pass [stage.Reach] to count leads that skipped
// the stage. created maps lead IDs to creation times. Bad entries (see
// [Journeys]) are skipped and named in the error; the result counts the
// rest.
//
// SourceAge is one pass of a [SourceAgeAccumulator] over [Journeys] of
// its inputs.
func SourceAge(timelines []Timeline, entries []stage.Visit, created map[string]time.Time, stage string, opts SourceAgeOptions) (SourceAgeResult, error) {
	a, err := NewSourceAgeAccumulator(stage, opts)
	if err != nil {
		return SourceAgeResult{}, err
	}
	var errs errorList
	for _, j := range journeys(timelines, entries, created, &errs) {
		errs.add(a.add(&j))
	}
	return a.Result(), errs.err()
}

// SourceAgeAccumulator computes [SourceAge] one lead at a time, under the
// accumulator contract of package leadkit: Add a [LeadJourney] per lead
// (all of a lead's records in one Add), Merge accumulators filled per
// shard, and read the Result, which equals one pass.
type SourceAgeAccumulator struct {
	stage    string
	opts     SourceAgeOptions // Buckets and By filled in
	r        SourceAgeResult  // the counts
	mixes    []*touchMix      // per age bucket
	newMix   *touchMix
	oldMix   *touchMix
	channels map[string]*SourceChannel
	// touches counts the touches of newMix and oldMix: every touch count
	// (of a type, in a group or a bucket) is at most it, as every lead
	// count is at most r.Leads.
	touches int
}

// NewSourceAgeAccumulator validates the options (see [SourceAge]) and
// returns an empty accumulator. Errors wrap [leadkit.ErrInvalid].
func NewSourceAgeAccumulator(stage string, opts SourceAgeOptions) (*SourceAgeAccumulator, error) {
	var errs errorList
	if stage == "" {
		errs.add(fmt.Errorf("journey: source age: %w: empty stage", leadkit.ErrInvalid))
	}
	if opts.From.IsZero() {
		errs.add(fmt.Errorf("journey: source age: %w: the period needs a start (From)", leadkit.ErrInvalid))
	}
	checkTime("source age", "from", opts.From, &errs)
	checkTime("source age", "to", opts.To, &errs)
	if !opts.To.IsZero() && !opts.To.After(opts.From) {
		errs.add(fmt.Errorf("journey: source age: %w: period ends (%s) before it starts (%s)", leadkit.ErrInvalid,
			opts.To.Format(time.RFC3339), opts.From.Format(time.RFC3339)))
	}
	if opts.Buckets == nil {
		opts.Buckets = DefaultAgeBuckets
	}
	opts.Buckets = slices.Clone(opts.Buckets)
	if len(opts.Buckets) > MaxAgeBuckets {
		errs.add(fmt.Errorf("journey: source age: %w: %d age buckets, at most %d", leadkit.ErrInvalid, len(opts.Buckets), MaxAgeBuckets))
	} else {
		for i, b := range opts.Buckets {
			if b <= 0 || b > leadkit.MaxDuration || (i > 0 && b <= opts.Buckets[i-1]) {
				errs.add(fmt.Errorf("journey: source age: %w: bucket %d (%v): bounds must be positive, ascending and at most %s", leadkit.ErrInvalid, i+1, b, leadkit.FormatDuration(leadkit.MaxDuration)))
			}
		}
	}
	checkDuration("source age", "old age", opts.OldAge, false, &errs)
	if opts.By == "" {
		opts.By = KeyChannel
	}
	if !opts.By.valid() {
		errs.add(fmt.Errorf("journey: source age: %w: unknown key %q", leadkit.ErrInvalid, opts.By))
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	a := &SourceAgeAccumulator{stage: stage, opts: opts, newMix: newTouchMix(), oldMix: newTouchMix(), channels: map[string]*SourceChannel{}}
	a.mixes = make([]*touchMix, len(opts.Buckets)+1)
	for i := range a.mixes {
		a.mixes[i] = newTouchMix()
	}
	return a, nil
}

// Add counts one lead. A journey that [LeadJourney] does not allow (no
// valid lead ID, a creation time out of range, a visit or event that
// fails validation or is of another lead) is refused with an error
// wrapping [leadkit.ErrInvalid] that names every problem, and nothing is
// counted. A lead that did not reach the stage in the period is not
// counted, and that is not an error. A lead that would take the leads or
// the touches counted (those of NewTouches and EarlierTouches together)
// past [MaxCount] is refused with an error wrapping [leadkit.ErrInvalid]
// naming the cap, and nothing is counted.
func (a *SourceAgeAccumulator) Add(j LeadJourney) error {
	if err := j.validate("source age"); err != nil {
		return err
	}
	return a.add(&j)
}

// add counts one lead, or refuses it at MaxCount (nothing counted).
func (a *SourceAgeAccumulator) add(j *LeadJourney) error {
	from, to := a.opts.From, a.opts.To
	var at time.Time
	reached, before := false, false
	for _, v := range j.Visits {
		switch {
		case v.Stage != a.stage:
		case v.At.Before(from):
			before = true
		case !to.IsZero() && !v.At.Before(to):
		case !reached || v.At.Before(at):
			at, reached = v.At, true
		}
	}
	if !reached {
		return nil
	}
	r := &a.r
	if r.Leads == MaxCount {
		return fmt.Errorf("journey: source age: %w: more than %d leads (MaxCount)", leadkit.ErrInvalid, MaxCount)
	}
	c := j.Created
	tl := &j.Timeline
	if !c.IsZero() {
		n := tl.touchesUntil(at)
		if a.touches > MaxCount-n {
			return fmt.Errorf("journey: source age: %w: more than %d touches (MaxCount)", leadkit.ErrInvalid, MaxCount)
		}
		a.touches += n
	}
	r.Leads++
	if before {
		r.Repeat++
	} else {
		r.FirstTime++
	}
	if c.IsZero() {
		r.Unknown++
		return nil
	}
	old := oldAt(c, from, a.opts.OldAge)
	if old {
		r.Earlier++
		a.oldMix.add(tl, at)
	} else {
		r.New++
		a.newMix.add(tl, at)
	}
	age := max(at.Sub(c), 0)
	bounds := a.opts.Buckets
	b, _ := slices.BinarySearch(bounds, age)
	if b < len(bounds) && bounds[b] == age {
		b++ // bounds are exclusive upper limits
	}
	a.mixes[b].add(tl, at)

	// New leads are credited to their source, earlier ones to what
	// revived them.
	key, ok := keyTouch(j.Events, a.opts.By, at, old)
	switch {
	case !ok && old:
		r.EarlierUnattributed++
	case !ok:
		r.NewUnattributed++
	default:
		ch := a.channels[key]
		if ch == nil {
			ch = &SourceChannel{Key: key}
			a.channels[key] = ch
		}
		if old {
			ch.Revived++
		} else {
			ch.New++
		}
	}
	return nil
}

// oldAt reports whether a lead created at created is an old lead at the
// start of a period from: created more than minAge before it. With minAge
// 0 it is created before from; one created at from or later is New. The
// one definition of SourceAge's Earlier leads and OldLeadNurture's old
// leads.
func oldAt(created, from time.Time, minAge time.Duration) bool {
	return created.Before(from.Add(-minAge))
}

// keyTouch returns by's value of the first event with one at or before
// until (the first listed on a tie, as [FirstTouch]), or with last of the
// last such event (the last listed on a tie, as [LastTouch]).
func keyTouch(events []leadkit.Event, by Key, until time.Time, last bool) (string, bool) {
	var key string
	var t time.Time
	ok := false
	for _, e := range events {
		k := by.Of(e)
		if k == "" || e.Time.IsZero() || e.Time.After(until) {
			continue
		}
		if !ok || (last && !e.Time.Before(t)) || (!last && e.Time.Before(t)) {
			key, t, ok = k, e.Time, true
		}
	}
	return key, ok
}

// Merge adds everything other holds; other is not modified. Accumulators
// of different stages or options, nil and a itself are refused with an
// error wrapping [leadkit.ErrInvalid], and nothing changes; so is a merge
// that would take the leads or the touches counted past [MaxCount].
func (a *SourceAgeAccumulator) Merge(other *SourceAgeAccumulator) error {
	if other == nil || other == a {
		return fmt.Errorf("journey: source age: %w: merge needs another accumulator (not nil, not itself)", leadkit.ErrInvalid)
	}
	x, y := a.opts, other.opts
	if a.stage != other.stage || !x.From.Equal(y.From) || !x.To.Equal(y.To) || !slices.Equal(x.Buckets, y.Buckets) || x.By != y.By || x.OldAge != y.OldAge {
		return fmt.Errorf("journey: source age: %w: cannot merge accumulators of different stages or options", leadkit.ErrMismatch)
	}
	r, o := &a.r, &other.r
	if r.Leads > MaxCount-o.Leads {
		return fmt.Errorf("journey: source age: %w: merged, more than %d leads (MaxCount)", leadkit.ErrInvalid, MaxCount)
	}
	if a.touches > MaxCount-other.touches {
		return fmt.Errorf("journey: source age: %w: merged, more than %d touches (MaxCount)", leadkit.ErrInvalid, MaxCount)
	}
	a.touches += other.touches
	r.Leads += o.Leads
	r.FirstTime += o.FirstTime
	r.Repeat += o.Repeat
	r.New += o.New
	r.Earlier += o.Earlier
	r.Unknown += o.Unknown
	r.NewUnattributed += o.NewUnattributed
	r.EarlierUnattributed += o.EarlierUnattributed
	for i, m := range other.mixes {
		a.mixes[i].merge(m)
	}
	a.newMix.merge(other.newMix)
	a.oldMix.merge(other.oldMix)
	for key, oc := range other.channels {
		ch := a.channels[key]
		if ch == nil {
			ch = &SourceChannel{Key: key}
			a.channels[key] = ch
		}
		ch.New += oc.New
		ch.Revived += oc.Revived
	}
	return nil
}

// Result returns the analysis of everything added so far.
func (a *SourceAgeAccumulator) Result() SourceAgeResult {
	r := a.r
	r.Stage, r.From, r.To, r.By, r.OldAge = a.stage, a.opts.From, a.opts.To, a.opts.By, leadkit.Duration(a.opts.OldAge)
	known := r.New + r.Earlier
	r.EarlierShare = ratio(r.Earlier, known)
	bounds := a.opts.Buckets
	var lo time.Duration
	for i, m := range a.mixes {
		var hi time.Duration
		if i < len(bounds) {
			hi = bounds[i]
		}
		r.Buckets = append(r.Buckets, AgeBucket{From: leadkit.Duration(lo), To: leadkit.Duration(hi), Leads: m.leads, Share: ratio(m.leads, known), Touches: m.shares()})
		lo = hi
	}
	r.NewTouches, r.EarlierTouches = a.newMix.shares(), a.oldMix.shares()
	newLeads, revived := r.New-r.NewUnattributed, r.Earlier-r.EarlierUnattributed
	r.Channels = make([]SourceChannel, 0, len(a.channels))
	for _, ch := range a.channels {
		c := *ch
		c.NewShare = leadkit.NewRate(c.New, c.New+c.Revived)
		c.OfNew = leadkit.NewRate(c.New, newLeads)
		c.OfRevived = leadkit.NewRate(c.Revived, revived)
		r.Channels = append(r.Channels, c)
	}
	slices.SortFunc(r.Channels, func(x, y SourceChannel) int {
		if c := cmp.Compare(y.New+y.Revived, x.New+x.Revived); c != 0 {
			return c
		}
		return cmp.Compare(x.Key, y.Key)
	})
	return r
}
