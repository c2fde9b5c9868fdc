package journey

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/text"
	"github.com/leadkit/leadkit/stage"
)

// NurtureOptions tunes [NurturePower].
type NurtureOptions struct {
	// By is the field that names a piece of nurture: KeyContent (the
	// default) or KeyCampaign (any Key works).
	By Key `json:"by,omitempty"`
	// Types are the event types that count as a send (e.g. "email_opened",
	// "download"); empty means every type. At most [MaxTouchTypes].
	Types []string `json:"types,omitempty"`
	// From and To bound the sends counted (From <= t < To; zero is open),
	// in leadkit's time range ([leadkit.ValidTime]).
	From time.Time `json:"from,omitzero"`
	To   time.Time `json:"to,omitzero"`
	// Window, when positive, credits a touch only if the lead's first
	// entry into the stage came within Window after it (inclusive). Zero
	// means no limit; negative is an error, and so is one over
	// leadkit.MaxDuration. In JSON and YAML it is text such as "30d" (see
	// [leadkit.ParseDuration]).
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
// sorted by Power, then Converted, descending, then Key. Bad entries (see
// [Journeys]) are skipped and named in the error; of two timelines of one
// lead the last is used and the other is named in the error as a bad
// entry. More than [MaxNurtureKeys] distinct keys is an
// error, with no result.
//
// NurturePower is one pass of a [NurtureAccumulator] over [Journeys] of
// its inputs.
func NurturePower(timelines []Timeline, entries []stage.Visit, stage string, opts NurtureOptions) ([]ContentPower, error) {
	a, err := NewNurtureAccumulator(stage, opts)
	if err != nil {
		return nil, err
	}
	var errs errorList
	for _, j := range journeys(timelines, entries, nil, &errs) {
		if err := a.add(&j); err != nil {
			errs.add(err)
			return nil, errs.err()
		}
	}
	return a.Result(), errs.err()
}

// MaxNurtureKeys caps the distinct keys (contents or campaigns) a
// [NurtureAccumulator] counts: each keeps three counts, and a report of
// more content than this is no longer read by a person. Over it, Add and
// Merge fail and a decode is refused, so a result never depends on which
// keys came first.
const MaxNurtureKeys = 10_000

// powerCount accumulates a ContentPower.
type powerCount struct{ sent, leads, converted int }

// NurtureAccumulator computes [NurturePower] one lead at a time, under the
// accumulator contract of package leadkit (see [SourceAgeAccumulator]):
// Add a [LeadJourney] per lead, Merge accumulators filled per shard, and
// read the Result, which equals one pass. It keeps three counts per key,
// at most [MaxNurtureKeys] keys. It is not safe for concurrent use.
type NurtureAccumulator struct {
	stage string
	opts  NurtureOptions // By filled in, Types cloned
	types map[string]bool
	keys  map[string]*powerCount
	// scratch, per lead
	lastBefore map[string]keySends // per key touched: the lead's sends and the latest at or before the entry
}

// NewNurtureAccumulator validates the options (see [NurturePower]) and
// returns an empty accumulator. Errors wrap [leadkit.ErrInvalid] and name
// every problem.
func NewNurtureAccumulator(stage string, opts NurtureOptions) (*NurtureAccumulator, error) {
	if opts.By == "" {
		opts.By = KeyContent
	}
	var errs errorList
	if stage == "" {
		errs.add(fmt.Errorf("journey: nurture power: %w: empty stage", leadkit.ErrInvalid))
	}
	if !opts.By.valid() {
		errs.add(fmt.Errorf("journey: nurture power: %w: unknown key %q", leadkit.ErrInvalid, text.Clip(string(opts.By), 64)))
	}
	checkDuration("nurture power", "window", opts.Window, false, &errs)
	checkNames("nurture power", "types", "types", opts.Types, MaxTouchTypes, &errs)
	checkTime("nurture power", "from", opts.From, &errs)
	checkTime("nurture power", "to", opts.To, &errs)
	if err := errs.err(); err != nil {
		return nil, err
	}
	opts.Types = slices.Clone(opts.Types)
	a := &NurtureAccumulator{stage: stage, opts: opts, keys: map[string]*powerCount{}, lastBefore: map[string]keySends{}}
	if len(opts.Types) > 0 {
		a.types = map[string]bool{}
		for _, t := range opts.Types {
			a.types[t] = true
		}
	}
	return a, nil
}

// Add counts one lead's sends. A journey that [LeadJourney] does not
// allow (no valid lead ID, a creation time out of range, a visit or event
// that fails validation or is of another lead) is refused with an error
// wrapping [leadkit.ErrInvalid] that names every problem, and so is one
// that would bring the distinct keys over [MaxNurtureKeys] or a key's
// sends over [MaxCount]; nothing is then counted.
func (a *NurtureAccumulator) Add(j LeadJourney) error {
	if err := j.validate("nurture power"); err != nil {
		return err
	}
	return a.add(&j)
}

// counts reports whether e is a send, and its key.
func (a *NurtureAccumulator) counts(e *leadkit.Event) (string, bool) {
	key := a.opts.By.Of(*e)
	o := &a.opts
	if key == "" || e.Time.IsZero() || (a.types != nil && !a.types[e.Type]) ||
		(!o.From.IsZero() && e.Time.Before(o.From)) || (!o.To.IsZero() && !e.Time.Before(o.To)) {
		return "", false
	}
	return key, true
}

func (a *NurtureAccumulator) add(j *LeadJourney) error {
	var reached time.Time
	converted := false
	for _, v := range j.Visits {
		if v.Stage == a.stage && (!converted || v.At.Before(reached)) {
			reached, converted = v.At, true
		}
	}
	// Per key sent: the lead's sends, and the latest at or before the
	// first entry.
	last := a.lastBefore
	clear(last)
	for i := range j.Events {
		e := &j.Events[i]
		key, ok := a.counts(e)
		if !ok {
			continue
		}
		k := last[key]
		k.sends++
		if converted && !e.Time.After(reached) && e.Time.After(k.last) {
			k.last = e.Time
		}
		last[key] = k
	}
	fresh := 0
	for key, k := range last {
		if c := a.keys[key]; c == nil {
			fresh++
		} else if c.sent > MaxCount-k.sends {
			return fmt.Errorf("journey: nurture power: lead %q: %w: key %q sent more than %d times (MaxCount)", text.Clip(j.LeadID, 64), leadkit.ErrInvalid, clipKey(key), MaxCount)
		}
	}
	if fresh > 0 && len(a.keys)+fresh > MaxNurtureKeys {
		return fmt.Errorf("journey: nurture power: lead %q: %w: %d distinct keys, at most %d (MaxNurtureKeys)", text.Clip(j.LeadID, 64), leadkit.ErrInvalid, len(a.keys)+fresh, MaxNurtureKeys)
	}
	for key, k := range last {
		c := a.count(key)
		c.sent += k.sends
		c.leads++
		if !k.last.IsZero() && (a.opts.Window == 0 || reached.Sub(k.last) <= a.opts.Window) {
			c.converted++
		}
	}
	return nil
}

// keySends is one lead's sends of a key: how many, and the latest at or
// before its entry (zero: none).
type keySends struct {
	sends int
	last  time.Time
}

// count returns the counts of key, made if new.
func (a *NurtureAccumulator) count(key string) *powerCount {
	c := a.keys[key]
	if c == nil {
		c = &powerCount{}
		a.keys[key] = c
	}
	return c
}

// Merge adds everything other holds; other is not modified. Accumulators
// of different stages or options, nil and a itself are refused with an
// error wrapping [leadkit.ErrInvalid], and so is a merge whose keys
// together would be over [MaxNurtureKeys], or a key's sends over
// [MaxCount]; nothing then changes.
func (a *NurtureAccumulator) Merge(other *NurtureAccumulator) error {
	if other == nil || other == a {
		return fmt.Errorf("journey: nurture power: %w: merge needs another accumulator (not nil, not itself)", leadkit.ErrInvalid)
	}
	x, y := a.opts, other.opts
	if a.stage != other.stage || x.By != y.By || !slices.Equal(x.Types, y.Types) || !x.From.Equal(y.From) || !x.To.Equal(y.To) || x.Window != y.Window {
		return fmt.Errorf("journey: nurture power: %w: cannot merge accumulators of different stages or options", leadkit.ErrMismatch)
	}
	n := len(a.keys)
	for key := range other.keys {
		if a.keys[key] == nil {
			n++
		}
	}
	if n > MaxNurtureKeys {
		return fmt.Errorf("journey: nurture power: %w: merged, %d distinct keys, at most %d (MaxNurtureKeys)", leadkit.ErrInvalid, n, MaxNurtureKeys)
	}
	for key, o := range other.keys {
		if c := a.keys[key]; c != nil && c.sent > MaxCount-o.sent {
			return fmt.Errorf("journey: nurture power: %w: merged, key %q sent more than %d times (MaxCount)", leadkit.ErrInvalid, clipKey(key), MaxCount)
		}
	}
	for key, o := range other.keys {
		c := a.count(key)
		c.sent += o.sent
		c.leads += o.leads
		c.converted += o.converted
	}
	return nil
}

// Result returns the nurture power of every key counted so far, sorted
// as [NurturePower] sorts it (an empty slice, not nil, for none).
func (a *NurtureAccumulator) Result() []ContentPower {
	out := make([]ContentPower, 0, len(a.keys))
	for key, c := range a.keys {
		out = append(out, ContentPower{Key: key, Sent: c.sent, Leads: c.leads, Converted: c.converted,
			Power: ratio(c.converted, c.sent), Rate: ratio(c.converted, c.leads)})
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
	return out
}

// Phase is where in a lead's life a touch fell: the funnel stage a piece
// of content serves.
type Phase string

// The phases of [ContentPhases].
const (
	// PhaseAcquisition: at or before the lead's start (its creation, or
	// its first stage visit when the creation time is unknown): the touch
	// that brought the lead in, or came before it.
	PhaseAcquisition Phase = "acquisition"
	// PhaseNurture: after the start, while the lead stood before the
	// conversion stage in the funnel order or outside the order
	// (Recycled, Lost: back in nurture).
	PhaseNurture Phase = "nurture"
	// PhaseSales: while the lead stood at the conversion stage or a later
	// one of the funnel order (sales enablement).
	PhaseSales Phase = "sales"
)

// ContentPhaseOptions tunes [ContentPhases].
type ContentPhaseOptions struct {
	// Order is the funnel order (e.g. stage.Machine.FunnelStages()); it
	// must hold the stage. Required.
	Order []string `json:"order"`
	// Outcome is the stage that counts as the conversion following a
	// sales-phase touch; it must come after the stage in Order. Empty
	// means the last stage of Order; when that is the stage itself, the
	// sales phase has no conversions (null rates).
	Outcome string `json:"outcome,omitempty"`
	// By is the field that names a piece of content: KeyContent (the
	// default) or any Key. A touch without a value is grouped under its
	// event type (ContentPhase.Type).
	By Key `json:"by,omitempty"`
	// Types are the event types that count as touches; empty means every
	// type. At most [MaxTouchTypes], each a valid name.
	Types []string `json:"types,omitempty"`
}

// PhaseUse is how one piece of content (or all of them) was used in one
// phase.
type PhaseUse struct {
	// Touches in the phase, and the distinct Leads they reached.
	Touches int `json:"touches"`
	Leads   int `json:"leads"`
	// Converted counts the Leads that reached the conversion stage (for
	// the sales phase: the Outcome stage) at or after one of these
	// touches, of Leads. For the sales phase without an outcome (the
	// stage is the last of the order) it has no data (null).
	Converted leadkit.Rate `json:"converted"`
}

// ContentPhase is one piece of content with its use in each phase.
type ContentPhase struct {
	Key string `json:"key"`
	// Type marks a Key that is an event type: touches without a value of
	// ContentPhaseOptions.By.
	Type bool `json:"type,omitempty"`
	// Serves is the phase of most of its touches (on a tie, the earlier
	// phase).
	Serves      Phase    `json:"serves"`
	Acquisition PhaseUse `json:"acquisition"`
	Nurture     PhaseUse `json:"nurture"`
	Sales       PhaseUse `json:"sales"`
}

// ContentPhasesResult groups content by the funnel phase it serves.
type ContentPhasesResult struct {
	Stage   string `json:"stage"`
	Outcome string `json:"outcome,omitempty"`
	// Acquisition, Nurture and Sales total the phases over all content.
	Acquisition PhaseUse `json:"acquisition"`
	Nurture     PhaseUse `json:"nurture"`
	Sales       PhaseUse `json:"sales"`
	// Content is sorted by the phase it serves (acquisition first), then
	// by touches in that phase, descending, then by Key (keys before
	// types on a tie).
	Content []ContentPhase `json:"content"`
	// Unplaced counts the touches of leads with neither a creation time
	// nor a stage visit: there is no telling where they fell.
	Unplaced int `json:"unplaced"`
}

// ContentPhases groups content by the funnel phase it serves: acquisition
// (content that brings leads in), nurture (content that moves known leads
// towards the conversion stage) and sales enablement (content used once
// they reached it). Each touch is placed by where its lead stood when it
// came:
//
//   - at or before the lead's start, its creation time or, when that is
//     unknown, its first stage visit: acquisition (the download that
//     created the lead is an acquisition touch);
//   - after it, by the lead's stage just before the touch (its last visit
//     strictly before it; at one instant the funnel stages come before
//     those outside the order, as in [stage.Reach]): at the conversion
//     stage or a later one of Order, sales; anywhere else, nurture,
//     including no stage yet and stages outside the order (a recycled
//     lead is nurtured again). A touch at the instant of a stage entry
//     comes before it: the form that made the lead an MQL is nurture.
//
// Per piece of content and phase it counts the touches, the leads, and
// the leads that converted after one of those touches (reached the stage,
// or for sales touches the Outcome stage). The visits should come through
// [stage.Reach], so that a lead that skipped the stage reached it. Bad
// entries (see [Journeys]) are skipped and named in the error.
//
// ContentPhases is one pass of a [ContentPhaseAccumulator] over
// [Journeys] of its inputs.
func ContentPhases(timelines []Timeline, entries []stage.Visit, created map[string]time.Time, stage string, opts ContentPhaseOptions) (ContentPhasesResult, error) {
	a, err := NewContentPhaseAccumulator(stage, opts)
	if err != nil {
		return ContentPhasesResult{}, err
	}
	var errs errorList
	for _, j := range journeys(timelines, entries, created, &errs) {
		a.add(&j)
	}
	return a.Result(), errs.err()
}

// phaseCount accumulates a PhaseUse.
type phaseCount struct{ touches, leads, converted int }

func (c *phaseCount) merge(o phaseCount) {
	c.touches += o.touches
	c.leads += o.leads
	c.converted += o.converted
}

func (c phaseCount) use(hasOutcome bool) PhaseUse {
	u := PhaseUse{Touches: c.touches, Leads: c.leads, Converted: leadkit.NewRate(c.converted, c.leads)}
	if !hasOutcome {
		u.Converted = leadkit.Rate{}
	}
	return u
}

// contentKey names a piece of content: a value of By, or an event type.
type contentKey struct {
	key    string
	isType bool
}

// ContentPhaseAccumulator computes [ContentPhases] one lead at a time,
// under the accumulator contract of package leadkit (see
// [SourceAgeAccumulator]).
type ContentPhaseAccumulator struct {
	stage   string
	opts    ContentPhaseOptions // Order and Types cloned, By and Outcome filled in
	pos     map[string]int
	types   map[string]bool
	content map[contentKey]*[3]phaseCount
	total   [3]phaseCount
	unplace int
	// scratch, per lead
	sorted []stage.Visit
	seen   map[contentKey][3]int8 // per phase: 1 touched, 2 touched and converted
	any    [3]int8
}

var phases = [3]Phase{PhaseAcquisition, PhaseNurture, PhaseSales}

// NewContentPhaseAccumulator validates the options (see [ContentPhases])
// and returns an empty accumulator. Errors wrap [leadkit.ErrInvalid].
func NewContentPhaseAccumulator(stage string, opts ContentPhaseOptions) (*ContentPhaseAccumulator, error) {
	var errs errorList
	if stage == "" {
		errs.add(fmt.Errorf("journey: content phases: %w: empty stage", leadkit.ErrInvalid))
	}
	pos, err := funnelOrder("content phases", opts.Order, stage)
	errs.add(err)
	if opts.By == "" {
		opts.By = KeyContent
	}
	if !opts.By.valid() {
		errs.add(fmt.Errorf("journey: content phases: %w: unknown key %q", leadkit.ErrInvalid, opts.By))
	}
	if opts.Outcome == "" && len(opts.Order) > 0 {
		opts.Outcome = opts.Order[len(opts.Order)-1]
	} else if p, ok := pos[opts.Outcome]; opts.Outcome != "" && (!ok || p <= pos[stage]) && err == nil {
		errs.add(fmt.Errorf("journey: content phases: %w: outcome %q is not a stage after %q in the funnel order", leadkit.ErrInvalid, text.Clip(opts.Outcome, 64), text.Clip(stage, 64)))
	}
	checkNames("content phases", "types", "types", opts.Types, MaxTouchTypes, &errs)
	if err := errs.err(); err != nil {
		return nil, err
	}
	opts.Order, opts.Types = slices.Clone(opts.Order), slices.Clone(opts.Types)
	a := &ContentPhaseAccumulator{stage: stage, opts: opts, pos: pos, content: map[contentKey]*[3]phaseCount{}, seen: map[contentKey][3]int8{}}
	if len(opts.Types) > 0 {
		a.types = map[string]bool{}
		for _, t := range opts.Types {
			a.types[t] = true
		}
	}
	return a, nil
}

// hasOutcome reports whether sales touches can be followed by a
// conversion: the Outcome stage is not the stage itself.
func (a *ContentPhaseAccumulator) hasOutcome() bool { return a.opts.Outcome != a.stage }

// Add counts one lead's touches. A journey that [LeadJourney] does not
// allow (no valid lead ID, a creation time out of range, a visit or event
// that fails validation or is of another lead) is refused with an error
// wrapping [leadkit.ErrInvalid] that names every problem, and nothing is
// counted.
func (a *ContentPhaseAccumulator) Add(j LeadJourney) error {
	if err := j.validate("content phases"); err != nil {
		return err
	}
	if a.touches() > MaxCount-len(j.Events) {
		return addApart(a, &j, func() (*ContentPhaseAccumulator, error) { return NewContentPhaseAccumulator(a.stage, a.opts) })
	}
	a.add(&j)
	return nil
}

// addsApart is an accumulator whose Add, near the cap of its counts, counts
// a lead apart and merges it if it fits (addApart).
type addsApart[A any] interface {
	add(j *LeadJourney)
	fits(other A, how string) error
	merge(other A)
}

// addApart counts j in a new accumulator (made by fresh) and merges it
// into a if it fits; else a is left as it was and the error names the
// cap.
func addApart[A addsApart[A]](a A, j *LeadJourney, fresh func() (A, error)) error {
	one, err := fresh()
	if err != nil {
		return err
	}
	one.add(j)
	if err := a.fits(one, ""); err != nil {
		return err
	}
	a.merge(one)
	return nil
}

// touches is the number of touches counted, placed or not: no count of
// a is larger (a lead is counted in a phase for a touch in it).
func (a *ContentPhaseAccumulator) touches() int {
	return a.total[0].touches + a.total[1].touches + a.total[2].touches + a.unplace
}

// fits refuses, naming the cap, a merge of other that would take a count
// past MaxCount: the touches of a phase or the unplaced ones (no other
// count of a phase is larger).
func (a *ContentPhaseAccumulator) fits(other *ContentPhaseAccumulator, how string) error {
	over := a.unplace > MaxCount-other.unplace
	for ph := range a.total {
		over = over || a.total[ph].touches > MaxCount-other.total[ph].touches
	}
	if over {
		return fmt.Errorf("journey: content phases: %w: %smore than %d touches (MaxCount)", leadkit.ErrInvalid, how, MaxCount)
	}
	return nil
}

func (a *ContentPhaseAccumulator) add(j *LeadJourney) {
	start := j.Created
	for _, v := range j.Visits {
		if j.Created.IsZero() && (start.IsZero() || v.At.Before(start)) {
			start = v.At
		}
	}
	a.sorted = standings(a.sorted, j.Visits, a.pos)
	// The last entries into the stage and the outcome: a touch is
	// followed by a conversion when one of them is at or after it.
	var lastStage, lastOutcome time.Time
	for _, v := range a.sorted {
		if v.Stage == a.stage {
			lastStage = v.At
		}
		if v.Stage == a.opts.Outcome {
			lastOutcome = v.At
		}
	}
	clear(a.seen)
	a.any = [3]int8{}
	stagePos := a.pos[a.stage]
	for _, e := range j.Events {
		if e.Time.IsZero() || (a.types != nil && !a.types[e.Type]) {
			continue
		}
		if start.IsZero() {
			a.unplace++
			continue
		}
		k := contentKey{key: a.opts.By.Of(e)}
		if k.key == "" {
			k = contentKey{key: e.Type, isType: true}
		}
		ph, then := 1, lastStage
		if !e.Time.After(start) {
			ph = 0
		} else if st, ok := standingAt(a.sorted, e.Time); ok {
			if p, in := a.pos[st]; in && p >= stagePos {
				ph, then = 2, lastOutcome
			}
		}
		conv := int8(1)
		if !then.IsZero() && !then.Before(e.Time) && (ph < 2 || a.hasOutcome()) {
			conv = 2
		}
		c := a.content[k]
		if c == nil {
			c = &[3]phaseCount{}
			a.content[k] = c
		}
		c[ph].touches++
		a.total[ph].touches++
		s := a.seen[k]
		s[ph] = max(s[ph], conv)
		a.seen[k] = s
		a.any[ph] = max(a.any[ph], conv)
	}
	for k, s := range a.seen {
		c := a.content[k]
		for ph, v := range s {
			if v > 0 {
				c[ph].leads++
			}
			if v > 1 {
				c[ph].converted++
			}
		}
	}
	for ph, v := range a.any {
		if v > 0 {
			a.total[ph].leads++
		}
		if v > 1 {
			a.total[ph].converted++
		}
	}
}

// Merge adds everything other holds; other is not modified. Accumulators
// of different stages or options (an error wrapping
// [leadkit.ErrMismatch]), nil, a itself, and a merge that would take a
// count past [MaxCount] are refused with an error wrapping
// [leadkit.ErrInvalid], and nothing changes.
func (a *ContentPhaseAccumulator) Merge(other *ContentPhaseAccumulator) error {
	if other == nil || other == a {
		return fmt.Errorf("journey: content phases: %w: merge needs another accumulator (not nil, not itself)", leadkit.ErrInvalid)
	}
	x, y := a.opts, other.opts
	if a.stage != other.stage || !slices.Equal(x.Order, y.Order) || x.Outcome != y.Outcome || x.By != y.By || !slices.Equal(x.Types, y.Types) {
		return fmt.Errorf("journey: content phases: %w: cannot merge accumulators of different stages or options", leadkit.ErrMismatch)
	}
	if err := a.fits(other, "merged, "); err != nil {
		return err
	}
	a.merge(other)
	return nil
}

// merge adds other's counts (they fit: see fits).
func (a *ContentPhaseAccumulator) merge(other *ContentPhaseAccumulator) {
	for k, oc := range other.content {
		c := a.content[k]
		if c == nil {
			c = &[3]phaseCount{}
			a.content[k] = c
		}
		for ph := range c {
			c[ph].merge(oc[ph])
		}
	}
	for ph := range a.total {
		a.total[ph].merge(other.total[ph])
	}
	a.unplace += other.unplace
}

// Result returns the analysis of everything added so far.
func (a *ContentPhaseAccumulator) Result() ContentPhasesResult {
	out := a.hasOutcome()
	r := ContentPhasesResult{Stage: a.stage, Outcome: a.opts.Outcome, Unplaced: a.unplace,
		Acquisition: a.total[0].use(true), Nurture: a.total[1].use(true), Sales: a.total[2].use(out)}
	if !out {
		r.Outcome = ""
	}
	r.Content = make([]ContentPhase, 0, len(a.content))
	serves := map[contentKey]int{}
	for k, c := range a.content {
		best := 0
		for ph := range c {
			if c[ph].touches > c[best].touches {
				best = ph
			}
		}
		serves[k] = best
		r.Content = append(r.Content, ContentPhase{Key: k.key, Type: k.isType, Serves: phases[best],
			Acquisition: c[0].use(true), Nurture: c[1].use(true), Sales: c[2].use(out)})
	}
	touches := func(c ContentPhase, ph int) int {
		return [3]int{c.Acquisition.Touches, c.Nurture.Touches, c.Sales.Touches}[ph]
	}
	slices.SortFunc(r.Content, func(x, y ContentPhase) int {
		px, py := serves[contentKey{x.Key, x.Type}], serves[contentKey{y.Key, y.Type}]
		if c := cmp.Compare(px, py); c != 0 {
			return c
		}
		if c := cmp.Compare(touches(y, py), touches(x, px)); c != 0 {
			return c
		}
		if c := cmp.Compare(x.Key, y.Key); c != 0 {
			return c
		}
		if x.Type == y.Type {
			return 0
		}
		if x.Type {
			return 1
		}
		return -1
	})
	return r
}

// DefaultLookback is the default OldLeadNurtureOptions.Lookback: 90 days,
// a quarter of nurture before each lead's reference time, long enough to
// hold a nurture track of monthly sends.
const DefaultLookback = 90 * leadkit.Day

// OldLeadNurtureOptions selects the period and the touches of
// [OldLeadNurture].
type OldLeadNurtureOptions struct {
	// From and To bound the period: conversions with From <= t < To. Both
	// are required (To is where the lookback of the leads that did not
	// convert ends), in leadkit's time range ([leadkit.ValidTime]).
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// OldAge: an old lead was created more than OldAge before From. Zero
	// means created before From. It is SourceAgeOptions.OldAge: with the
	// same OldAge, the old leads here are the Earlier leads of
	// [SourceAge]. Negative is an error.
	OldAge time.Duration `json:"old_age,omitempty"`
	// Lookback is how far back from its reference time a lead's touches
	// count: ref - Lookback <= t < ref (zero: DefaultLookback; negative is
	// an error). In JSON and YAML, old_age and lookback are text such as
	// "90d" (see [leadkit.ParseDuration]); both at most
	// leadkit.MaxDuration.
	Lookback time.Duration `json:"lookback,omitempty"`
	// Types are the event types that count as nurture touches (e.g.
	// "email_opened", "webinar_attended"); empty means every type. At
	// most [MaxTouchTypes], each a valid name.
	Types []string `json:"types,omitempty"`
	// Order is the funnel order (e.g. stage.Machine.FunnelStages()); it
	// must hold the stage. Required: old leads that stood at the stage or
	// a later one at From are already converted, and left out.
	Order []string `json:"order"`
	// Closed are the stages that end a lead's chances, such as
	// Disqualified and Lost (a stage definition's terminal stages; a
	// terminal Won may be listed too, it changes nothing for a lead that
	// stood in it at From, already left out as converted). An old lead
	// that did not convert in the period and stood in one of them just
	// before To (its last visit before To, ties broken as for the stage
	// it stood in at From) could not convert: it is left out of OldLeads
	// and counted in OldLeadNurtureResult.Closed. A converter is never
	// closed: reaching the stage reopened it. Empty means no stage closes
	// a lead: every old lead not already converted is a candidate, and a
	// lead disqualified a year ago counts among those that did not
	// convert. At most stage.MaxStages names, in any order.
	Closed []string `json:"closed,omitempty"`
}

// MaxTouchTypes caps the event types a report counts as touches:
// NurtureOptions.Types, ContentPhaseOptions.Types and
// OldLeadNurtureOptions.Types.
const MaxTouchTypes = 100

// maxStages is stage.MaxStages, where a parameter named stage hides the
// package.
const maxStages = stage.MaxStages

// NurtureUse is the nurture one group of leads received.
type NurtureUse struct {
	// Touched counts the leads with at least one such touch in their
	// lookback, of the leads in the group.
	Touched leadkit.Rate `json:"touched"`
	// Touches counts the touches; PerLead is Touches per lead of the
	// group (null for an empty group).
	Touches int      `json:"touches"`
	PerLead *float64 `json:"per_lead"`
}

// NurtureComparison compares the old leads that converted with those
// that did not on one kind of touch (a type, a channel, or all).
type NurtureComparison struct {
	// Key is the touch type or channel; empty for all touches.
	Key          string     `json:"key,omitempty"`
	Converted    NurtureUse `json:"converted"`
	NotConverted NurtureUse `json:"not_converted"`
	// PerLeadRatio is Converted.PerLead / NotConverted.PerLead: above 1
	// the converters received more of it. Null when either group is
	// empty or the leads that did not convert received none.
	PerLeadRatio *float64 `json:"per_lead_ratio"`
}

// OldLeadNurtureResult compares the old leads that converted in a period
// with those that did not, on the nurture they received.
type OldLeadNurtureResult struct {
	Stage    string           `json:"stage"`
	From     time.Time        `json:"from,omitzero"`
	To       time.Time        `json:"to,omitzero"`
	OldAge   leadkit.Duration `json:"old_age"`
	Lookback leadkit.Duration `json:"lookback"`
	// OldLeads is the population: the leads created more than OldAge
	// before From that did not stand at the stage or a later one of the
	// order at From. Converted counts those that reached the stage in the
	// period, of OldLeads.
	OldLeads  int          `json:"old_leads"`
	Converted leadkit.Rate `json:"converted"`
	// Excluded counts the old leads left out because they stood at the
	// stage or a later one at From (already converted); Unknown the leads
	// that reached the stage in the period with no creation time; Closed
	// the old leads left out because they did not convert and stood in
	// one of ClosedStages just before To (OldLeadNurtureOptions.Closed,
	// sorted, each once).
	Excluded     int      `json:"excluded"`
	Unknown      int      `json:"unknown"`
	Closed       int      `json:"closed"`
	ClosedStages []string `json:"closed_stages,omitempty"`
	// All compares the two groups on every counted touch; Types and
	// Channels per touch type and per channel (touches without a channel
	// are in All and Types only), sorted by touches, descending, then Key.
	All      NurtureComparison   `json:"all"`
	Types    []NurtureComparison `json:"types"`
	Channels []NurtureComparison `json:"channels"`
}

// OldLeadNurture answers "did the old leads that converted get more
// nurture than those that did not": among the old leads of a period
// (created more than OldAge before From, the Earlier leads of [SourceAge]
// with the same OldAge) that had not already converted at From (they did
// not stand at the stage or a later one of Order, by their last visit
// before From), those that reached the stage in the period against those
// that did not and were still open at To (not in a Closed stage), on the
// touches each received within Lookback before its reference time: a
// converter's first entry into the stage in the period, To for the others. So every lead is looked at over a window of the same
// length. A touch at the reference time itself is left out: the form that
// converts a lead is the conversion, not nurture it received. Touches are
// compared overall, per type and per channel: the share of leads touched
// (a [leadkit.Rate] with its interval) and touches per lead.
//
// Pass the visits through [stage.Reach] to count leads that skipped the
// stage. Bad entries (see [Journeys]) are skipped and named in the error.
// OldLeadNurture is one pass of an [OldLeadNurtureAccumulator] over
// [Journeys] of its inputs.
func OldLeadNurture(timelines []Timeline, entries []stage.Visit, created map[string]time.Time, stage string, opts OldLeadNurtureOptions) (OldLeadNurtureResult, error) {
	a, err := NewOldLeadNurtureAccumulator(stage, opts)
	if err != nil {
		return OldLeadNurtureResult{}, err
	}
	var errs errorList
	for _, j := range journeys(timelines, entries, created, &errs) {
		a.add(&j)
	}
	return a.Result(), errs.err()
}

// nurtureCount is one group's touches of one kind: leads touched and
// touches.
type nurtureCount struct{ leads, touches int }

// nurtureGroup accumulates one group of [OldLeadNurture].
type nurtureGroup struct {
	leads     int
	all       nurtureCount
	byType    map[string]*nurtureCount
	byChannel map[string]*nurtureCount
}

func newNurtureGroup() *nurtureGroup {
	return &nurtureGroup{byType: map[string]*nurtureCount{}, byChannel: map[string]*nurtureCount{}}
}

func addCount(m map[string]*nurtureCount, k string, leads, touches int) {
	c := m[k]
	if c == nil {
		c = &nurtureCount{}
		m[k] = c
	}
	c.leads += leads
	c.touches += touches
}

func (g *nurtureGroup) merge(o *nurtureGroup) {
	g.leads += o.leads
	g.all.leads += o.all.leads
	g.all.touches += o.all.touches
	for k, c := range o.byType {
		addCount(g.byType, k, c.leads, c.touches)
	}
	for k, c := range o.byChannel {
		addCount(g.byChannel, k, c.leads, c.touches)
	}
}

func (g *nurtureGroup) use(c nurtureCount) NurtureUse {
	return NurtureUse{Touched: leadkit.NewRate(c.leads, g.leads), Touches: c.touches, PerLead: leadkit.Ratio(float64(c.touches), float64(g.leads))}
}

// OldLeadNurtureAccumulator computes [OldLeadNurture] one lead at a time,
// under the accumulator contract of package leadkit (see
// [SourceAgeAccumulator]).
type OldLeadNurtureAccumulator struct {
	stage    string
	opts     OldLeadNurtureOptions // Order and Types cloned, Closed sorted and compacted, Lookback filled in
	pos      map[string]int
	types    map[string]bool
	closed   map[string]bool
	conv     *nurtureGroup
	other    *nurtureGroup
	excluded int
	unknown  int
	shut     int // closed leads
	// scratch, per lead
	sorted []stage.Visit
	byType map[string]int
	byChan map[string]int
}

// NewOldLeadNurtureAccumulator validates the options (see
// [OldLeadNurture]) and returns an empty accumulator. Errors wrap
// [leadkit.ErrInvalid].
func NewOldLeadNurtureAccumulator(stage string, opts OldLeadNurtureOptions) (*OldLeadNurtureAccumulator, error) {
	var errs errorList
	if stage == "" {
		errs.add(fmt.Errorf("journey: old lead nurture: %w: empty stage", leadkit.ErrInvalid))
	}
	const what = "old lead nurture"
	if opts.From.IsZero() || opts.To.IsZero() {
		errs.add(fmt.Errorf("journey: old lead nurture: %w: the period needs a start and an end (From and To)", leadkit.ErrInvalid))
	} else if !opts.To.After(opts.From) {
		errs.add(fmt.Errorf("journey: old lead nurture: %w: period ends (%s) before it starts (%s)", leadkit.ErrInvalid,
			opts.To.Format(time.RFC3339), opts.From.Format(time.RFC3339)))
	}
	checkTime(what, "from", opts.From, &errs)
	checkTime(what, "to", opts.To, &errs)
	checkDuration(what, "old age", opts.OldAge, false, &errs)
	checkDuration(what, "lookback", opts.Lookback, false, &errs)
	pos, err := funnelOrder(what, opts.Order, stage)
	errs.add(err)
	checkNames(what, "types", "types", opts.Types, MaxTouchTypes, &errs)
	checkNames(what, "closed", "closed stages", opts.Closed, maxStages, &errs)
	if err := errs.err(); err != nil {
		return nil, err
	}
	if opts.Lookback == 0 {
		opts.Lookback = DefaultLookback
	}
	opts.Order, opts.Types = slices.Clone(opts.Order), slices.Clone(opts.Types)
	opts.Closed = slices.Compact(slices.Sorted(slices.Values(opts.Closed)))
	a := &OldLeadNurtureAccumulator{stage: stage, opts: opts, pos: pos, conv: newNurtureGroup(), other: newNurtureGroup(),
		byType: map[string]int{}, byChan: map[string]int{}}
	if len(opts.Closed) > 0 {
		a.closed = map[string]bool{}
		for _, s := range opts.Closed {
			a.closed[s] = true
		}
	}
	if len(opts.Types) > 0 {
		a.types = map[string]bool{}
		for _, t := range opts.Types {
			a.types[t] = true
		}
	}
	return a, nil
}

// Add counts one lead. A journey that [LeadJourney] does not allow (no
// valid lead ID, a creation time out of range, a visit or event that
// fails validation or is of another lead) is refused with an error
// wrapping [leadkit.ErrInvalid] that names every problem, and nothing is
// counted. A lead that is not an old lead is not counted, and that is not
// an error.
func (a *OldLeadNurtureAccumulator) Add(j LeadJourney) error {
	if err := j.validate("old lead nurture"); err != nil {
		return err
	}
	if a.counted() > MaxCount-1-len(j.Events) {
		return addApart(a, &j, func() (*OldLeadNurtureAccumulator, error) { return NewOldLeadNurtureAccumulator(a.stage, a.opts) })
	}
	a.add(&j)
	return nil
}

// counted is the sum of the leads and touches counted: no count of a is
// larger.
func (a *OldLeadNurtureAccumulator) counted() int {
	return a.conv.leads + a.conv.all.touches + a.other.leads + a.other.all.touches + a.excluded + a.unknown + a.shut
}

// fits refuses, naming the cap, a merge of other that would take a count
// past MaxCount: a group's leads or touches (no count by type or channel
// is larger), the leads excluded, of unknown age or closed.
func (a *OldLeadNurtureAccumulator) fits(other *OldLeadNurtureAccumulator, how string) error {
	sum := func(x, y int) bool { return x > MaxCount-y }
	if sum(a.conv.leads, other.conv.leads) || sum(a.conv.all.touches, other.conv.all.touches) ||
		sum(a.other.leads, other.other.leads) || sum(a.other.all.touches, other.other.all.touches) ||
		sum(a.excluded, other.excluded) || sum(a.unknown, other.unknown) || sum(a.shut, other.shut) {
		return fmt.Errorf("journey: old lead nurture: %w: %smore than %d leads or touches (MaxCount)", leadkit.ErrInvalid, how, MaxCount)
	}
	return nil
}

func (a *OldLeadNurtureAccumulator) add(j *LeadJourney) {
	from, to := a.opts.From, a.opts.To
	var at time.Time
	converted := false
	for _, v := range j.Visits {
		if v.Stage == a.stage && !v.At.Before(from) && v.At.Before(to) && (!converted || v.At.Before(at)) {
			at, converted = v.At, true
		}
	}
	if j.Created.IsZero() {
		if converted {
			a.unknown++
		}
		return
	}
	if !oldAt(j.Created, from, a.opts.OldAge) {
		return
	}
	a.sorted = standings(a.sorted, j.Visits, a.pos)
	if st, ok := standingAt(a.sorted, from); ok {
		if p, in := a.pos[st]; in && p >= a.pos[a.stage] {
			a.excluded++
			return
		}
	}
	if !converted && a.closed != nil {
		if st, ok := standingAt(a.sorted, to); ok && a.closed[st] {
			a.shut++
			return
		}
	}
	g, ref := a.other, to
	if converted {
		g, ref = a.conv, at
	}
	lo := ref.Add(-a.opts.Lookback)
	clear(a.byType)
	clear(a.byChan)
	n := 0
	for _, e := range j.Events {
		if e.Time.IsZero() || e.Time.Before(lo) || !e.Time.Before(ref) || (a.types != nil && !a.types[e.Type]) {
			continue
		}
		n++
		a.byType[e.Type]++
		if e.Channel != "" {
			a.byChan[e.Channel]++
		}
	}
	g.leads++
	if n > 0 {
		g.all.leads++
		g.all.touches += n
	}
	for k, c := range a.byType {
		addCount(g.byType, k, 1, c)
	}
	for k, c := range a.byChan {
		addCount(g.byChannel, k, 1, c)
	}
}

// Merge adds everything other holds; other is not modified. Accumulators
// of different stages or options (an error wrapping
// [leadkit.ErrMismatch]), nil, a itself, and a merge that would take a
// count past [MaxCount] are refused with an error wrapping
// [leadkit.ErrInvalid], and nothing changes.
func (a *OldLeadNurtureAccumulator) Merge(other *OldLeadNurtureAccumulator) error {
	if other == nil || other == a {
		return fmt.Errorf("journey: old lead nurture: %w: merge needs another accumulator (not nil, not itself)", leadkit.ErrInvalid)
	}
	x, y := a.opts, other.opts
	if a.stage != other.stage || !x.From.Equal(y.From) || !x.To.Equal(y.To) || x.OldAge != y.OldAge || x.Lookback != y.Lookback ||
		!slices.Equal(x.Types, y.Types) || !slices.Equal(x.Order, y.Order) || !slices.Equal(x.Closed, y.Closed) {
		return fmt.Errorf("journey: old lead nurture: %w: cannot merge accumulators of different stages or options", leadkit.ErrMismatch)
	}
	if err := a.fits(other, "merged, "); err != nil {
		return err
	}
	a.merge(other)
	return nil
}

// merge adds other's counts (they fit: see fits).
func (a *OldLeadNurtureAccumulator) merge(other *OldLeadNurtureAccumulator) {
	a.conv.merge(other.conv)
	a.other.merge(other.other)
	a.excluded += other.excluded
	a.unknown += other.unknown
	a.shut += other.shut
}

// Result returns the analysis of everything added so far.
func (a *OldLeadNurtureAccumulator) Result() OldLeadNurtureResult {
	c, o := a.conv, a.other
	r := OldLeadNurtureResult{Stage: a.stage, From: a.opts.From, To: a.opts.To, OldAge: leadkit.Duration(a.opts.OldAge), Lookback: leadkit.Duration(a.opts.Lookback),
		OldLeads: c.leads + o.leads, Converted: leadkit.NewRate(c.leads, c.leads+o.leads), Excluded: a.excluded, Unknown: a.unknown,
		Closed: a.shut, ClosedStages: slices.Clone(a.opts.Closed)}
	compare := func(key string, cc, oc nurtureCount) NurtureComparison {
		x := NurtureComparison{Key: key, Converted: c.use(cc), NotConverted: o.use(oc)}
		if x.Converted.PerLead != nil && x.NotConverted.PerLead != nil {
			x.PerLeadRatio = leadkit.Ratio(*x.Converted.PerLead, *x.NotConverted.PerLead)
		}
		return x
	}
	r.All = compare("", c.all, o.all)
	list := func(cm, om map[string]*nurtureCount) []NurtureComparison {
		keys := map[string]bool{}
		for k := range cm {
			keys[k] = true
		}
		for k := range om {
			keys[k] = true
		}
		out := make([]NurtureComparison, 0, len(keys))
		for k := range keys {
			var cc, oc nurtureCount
			if p := cm[k]; p != nil {
				cc = *p
			}
			if p := om[k]; p != nil {
				oc = *p
			}
			out = append(out, compare(k, cc, oc))
		}
		slices.SortFunc(out, func(x, y NurtureComparison) int {
			if c := cmp.Compare(y.Converted.Touches+y.NotConverted.Touches, x.Converted.Touches+x.NotConverted.Touches); c != 0 {
				return c
			}
			return cmp.Compare(x.Key, y.Key)
		})
		return out
	}
	r.Types, r.Channels = list(c.byType, o.byType), list(c.byChannel, o.byChannel)
	return r
}
