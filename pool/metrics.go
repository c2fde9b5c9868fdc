package pool

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/binenc"
	"github.com/leadkit/leadkit/internal/spec"
	"github.com/leadkit/leadkit/internal/stats"
)

// DefaultDormant is the inactivity after which a prospect counts as dormant
// in [MetricsSpec] when Dormant is zero.
const DefaultDormant = 90 * leadkit.Day

// MaxMetricsBuckets caps the buckets between a [MetricsSpec]'s From and To.
const MaxMetricsBuckets = 1000

// NoSource is the key of prospects without a source channel in the maps
// of a [MetricsResult].
const NoSource = "(none)"

// MetricsSpec is what [NewMetrics] measures: the period [From, To) cut
// into calendar buckets, and when an active prospect counts as dormant.
// In JSON and YAML ([ParseMetricsSpec]) Dormant is text in leadkit's
// duration grammar ("90d", "12w").
type MetricsSpec struct {
	// From and To bound the period; From is required and To must be after
	// it. The first and last buckets are clipped to them.
	From time.Time `json:"from,omitzero"`
	To   time.Time `json:"to,omitzero"`
	// Bucket is the calendar period of one bucket (day, week, month,
	// quarter or year); required.
	Bucket leadkit.Period `json:"bucket"`
	// Dormant is how long an active prospect goes without a touch before
	// it counts as dormant; zero means [DefaultDormant].
	Dormant time.Duration `json:"dormant,omitempty"`
	// Quantiles says how the times to graduate behind the medians are
	// kept: exact up to a threshold (1,024 graduations per bucket and
	// source by default), past it in a sketch within 1% of the exact
	// median (see [leadkit.Quantiles]); the zero value is the default.
	Quantiles leadkit.Quantiles `json:"quantiles,omitzero"`
}

// ParseMetricsSpec decodes a [MetricsSpec] from JSON or YAML (YAML is a
// superset of JSON) of at most [leadkit.MaxDocumentBytes]. Unknown,
// miscased and duplicate keys and bare-number durations are errors
// wrapping [leadkit.ErrInvalid]. It does not validate the values:
// [NewMetrics] does.
func ParseMetricsSpec(data []byte) (MetricsSpec, error) {
	var s MetricsSpec
	if err := spec.Parse(data, &s); err != nil {
		return MetricsSpec{}, spec.Prefixed("pool: metrics: ", err)
	}
	return s, nil
}

// MarshalJSON writes dormant as text ("14d", "36h"; see
// leadkit.FormatDuration).
func (s MetricsSpec) MarshalJSON() ([]byte, error) { return spec.EncodeDurations(s) }

// UnmarshalJSON reads dormant as text ("14d", "36h"); a bare number and
// an unknown key are errors wrapping [leadkit.ErrInvalid].
func (s *MetricsSpec) UnmarshalJSON(b []byte) error {
	return spec.DecodeDurations(b, s, "pool: metrics: ")
}

// MetricsResult is the pool's flow over a [MetricsSpec]'s period. It is
// data: in JSON its durations are text in leadkit's duration grammar and
// its maps are keyed by source channel ([NoSource] for none).
type MetricsResult struct {
	// From, To and Bucket are the spec's.
	From   time.Time      `json:"from,omitzero"`
	To     time.Time      `json:"to,omitzero"`
	Bucket leadkit.Period `json:"bucket"`
	// Dormant is the inactivity that makes a prospect dormant
	// (DefaultDormant when the spec left it zero).
	Dormant leadkit.Duration `json:"dormant"`
	// Prospects is the number of prospects added, in the period or not.
	Prospects int             `json:"prospects"`
	Buckets   []MetricsBucket `json:"buckets"`
	// Totals is the whole period [From, To) as one bucket.
	Totals MetricsBucket `json:"totals"`
}

// MetricsBucket is the pool's flow over one bucket [Start, End).
//
// The pool at an instant t holds the prospects that joined before t and
// had not left before t. A prospect leaves at LeftAt (or GraduatedAt, for
// a graduated prospect without LeftAt), for the reason its Status names;
// an erased prospect with a GraduatedAt had graduated before its erasure
// (which keeps the time it left) and counts as graduated.
type MetricsBucket struct {
	// Label names the calendar period ("2026-03", "2026-W09"; see
	// [leadkit.Period.Cohort]); Start and End are its bounds clipped to
	// the spec's From and To. The totals have no label.
	Label string    `json:"label,omitempty"`
	Start time.Time `json:"start,omitzero"`
	End   time.Time `json:"end,omitzero"`
	// SizeAtStart and Size are the pool at Start and at End.
	SizeAtStart int `json:"size_at_start"`
	Size        int `json:"size"`
	// Inflow counts the prospects that joined in the bucket; Outflow those
	// that left, by reason.
	Inflow  int            `json:"inflow"`
	Outflow MetricsOutflow `json:"outflow"`
	// GraduationRate is Outflow.Graduated / (SizeAtStart + Inflow), 0 when
	// that is 0. MedianTimeToGraduate is the median of GraduatedAt -
	// JoinedAt over the prospects that graduated in the bucket (the mean
	// of the two middle values of an even sample; 0 for none): exact up to
	// MetricsSpec.Quantiles' threshold of graduations, past it within its
	// accuracy (1% by default).
	GraduationRate       float64          `json:"graduation_rate"`
	MedianTimeToGraduate leadkit.Duration `json:"median_time_to_graduate"`
	// Dormant counts the prospects in the pool at End whose latest touch
	// before End (the latest of JoinedAt, LastActivityAt and Touches
	// before End) is at least the spec's Dormant before End; DormantShare
	// is Dormant / Size (0 for an empty pool).
	Dormant      int     `json:"dormant"`
	DormantShare float64 `json:"dormant_share"`
	// BySource splits the flow by source channel: every channel with a
	// prospect in the pool at Start, joining or graduating.
	BySource map[string]SourceMetrics `json:"by_source,omitempty"`
}

// MetricsOutflow counts the prospects that left the pool, by reason.
type MetricsOutflow struct {
	Graduated int `json:"graduated"`
	OptedOut  int `json:"opted_out"`
	Erased    int `json:"erased"`
	Merged    int `json:"merged"`
}

// Total is the sum of the reasons.
func (o MetricsOutflow) Total() int { return o.Graduated + o.OptedOut + o.Erased + o.Merged }

// SourceMetrics is the flow of one source channel in a [MetricsBucket]
// (the same definitions, restricted to the channel's prospects).
type SourceMetrics struct {
	SizeAtStart          int              `json:"size_at_start"`
	Inflow               int              `json:"inflow"`
	Graduated            int              `json:"graduated"`
	GraduationRate       float64          `json:"graduation_rate"`
	MedianTimeToGraduate leadkit.Duration `json:"median_time_to_graduate"`
}

// Metrics measures the pool's flow (size, inflow by source, outflow by
// reason, graduation rate and time, dormancy) one prospect at a time,
// under the accumulator contract of the leadkit module (see "Specs,
// results and accumulators" in the root package documentation): fill one
// per shard of a store scan, Merge them, and take the Result. Each
// prospect is read as it stands now (its JoinedAt, LeftAt, Status,
// GraduatedAt and touches), so the buckets are the pool's history as far
// as the current prospects tell it. It keeps the time to graduate of
// every graduated prospect (8 bytes each) per bucket and source channel
// up to the spec's Quantiles threshold, so that medians stay exact, and
// past it a sketch of a few kilobytes (see [leadkit.Quantiles]), and a
// few counters per bucket and source channel. It is not safe for
// concurrent use.
type Metrics struct {
	spec      MetricsSpec // Dormant resolved
	q         *stats.Params
	from, to  int64   // UnixNano
	ends      []int64 // bucket ends (exclusive), the last is to
	labels    []string
	prospects int
	// nonDormant is a difference array over bucket ends: the prospects in
	// the pool at an end with a touch in the Dormant before it.
	nonDormant []int
	sources    map[string]*sourceFlow

	scratch []int64
}

// sourceFlow is one source channel's counters, indexed by bucket.
type sourceFlow struct {
	startSize int   // in the pool at From
	size      []int // difference array over bucket ends: in the pool at the end
	inflow    []int
	outflow   []MetricsOutflow
	ttg       []stats.Summary // times to graduate
}

// NewMetrics validates spec and returns an empty accumulator for it.
// Errors wrap [leadkit.ErrInvalid].
func NewMetrics(s MetricsSpec) (*Metrics, error) {
	bad := func(format string, args ...any) (*Metrics, error) {
		return nil, fmt.Errorf("pool: metrics: %w: %s", leadkit.ErrInvalid, fmt.Sprintf(format, args...))
	}
	switch {
	case s.From.IsZero():
		return bad("from is required")
	case !leadkit.ValidTime(s.From):
		return bad("from %s is outside %s", s.From.Format(time.RFC3339), leadkit.TimeRange)
	case s.To.IsZero():
		return bad("to is required")
	case !leadkit.ValidTime(s.To):
		return bad("to %s is outside %s", s.To.Format(time.RFC3339), leadkit.TimeRange)
	case !s.To.After(s.From):
		return bad("to %s is not after from %s", s.To.Format(time.RFC3339), s.From.Format(time.RFC3339))
	case s.Bucket == leadkit.PeriodNone:
		return bad(`bucket is required ("day", "week", "month", "quarter" or "year")`)
	case !s.Bucket.Valid():
		return bad(`unknown bucket %q (want "day", "week", "month", "quarter" or "year")`, clip(string(s.Bucket)))
	case s.Dormant < 0:
		return bad("dormant %s is negative", leadkit.FormatDuration(s.Dormant))
	}
	q, err := stats.NewParams(s.Quantiles)
	if err != nil {
		return nil, fmt.Errorf("pool: metrics: %w", err)
	}
	if s.Dormant == 0 {
		s.Dormant = DefaultDormant
	}
	m := &Metrics{spec: s, q: q, from: s.From.UnixNano(), to: s.To.UnixNano(), sources: map[string]*sourceFlow{}}
	start, label := s.Bucket.Cohort(s.From)
	for start.Before(s.To) {
		if len(m.ends) == MaxMetricsBuckets {
			return bad("more than %d %s buckets from %s to %s (MaxMetricsBuckets)", MaxMetricsBuckets, s.Bucket,
				s.From.Format(time.RFC3339), s.To.Format(time.RFC3339))
		}
		next := s.Bucket.Next(start)
		m.ends = append(m.ends, min(next.UnixNano(), m.to))
		m.labels = append(m.labels, label)
		start, label = s.Bucket.Cohort(next)
	}
	m.nonDormant = make([]int, len(m.ends)+1)
	return m, nil
}

// Spec returns the accumulator's spec, with Dormant resolved.
func (m *Metrics) Spec() MetricsSpec { return m.spec }

// Add counts one prospect. A prospect with an invalid ID or status, a
// source channel over [leadkit.MaxNameBytes], no JoinedAt, a time outside
// [leadkit.ValidTime], a LeftAt while active, no LeftAt (nor GraduatedAt
// when graduated) when it has left, or leaving or graduating before it
// joined is refused: nothing is counted and the error wraps
// [leadkit.ErrInvalid]. So is every prospect once Prospects is at
// 2^53-1, the cap of every count that merges sum (journey.MaxCount; every
// other count is at most Prospects): each count stays exact in float64
// and JSON, and the accumulator's encoding decodes.
func (m *Metrics) Add(p Prospect) error {
	if err := leadkit.ValidateID("prospect ID", p.ID); err != nil {
		return fmt.Errorf("pool: metrics: %w", err)
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("pool: metrics: prospect %q: %w: %s", clip(p.ID), leadkit.ErrInvalid, fmt.Sprintf(format, args...))
	}
	if !p.Status.Valid() {
		return bad("unknown status %q", clip(string(p.Status)))
	}
	if msg := leadkit.CheckText(p.Source.Channel, leadkit.MaxNameBytes); msg != "" {
		return bad("source channel %s", msg)
	}
	if p.JoinedAt.IsZero() {
		return bad("no joined_at")
	}
	for _, f := range [...]struct {
		name string
		t    time.Time
	}{{"joined_at", p.JoinedAt}, {"left_at", p.LeftAt}, {"graduated_at", p.GraduatedAt}, {"last_activity_at", p.LastActivityAt}} {
		if !f.t.IsZero() && !leadkit.ValidTime(f.t) {
			return bad("%s %s is outside %s", f.name, f.t.Format(time.RFC3339), leadkit.TimeRange)
		}
	}
	for i, t := range p.Touches {
		if !leadkit.ValidTime(t) {
			return bad("touches[%d] %s is outside %s", i, t.Format(time.RFC3339), leadkit.TimeRange)
		}
	}
	joined := p.JoinedAt.UnixNano()
	left := int64(math.MaxInt64) // never
	var grad time.Duration
	reason := p.Status
	switch {
	case reason == StatusErased && p.LeftAs != "" && p.LeftAs != StatusErased:
		reason = p.LeftAs // it had left for another reason before erasure
	case reason == StatusErased && !p.GraduatedAt.IsZero():
		reason = StatusGraduated // erased after graduating: Erase keeps LeftAt
	}
	if reason == StatusActive {
		if !p.LeftAt.IsZero() {
			return bad("active with left_at %s", p.LeftAt.Format(time.RFC3339))
		}
	} else {
		l := p.LeftAt
		if l.IsZero() && reason == StatusGraduated {
			l = p.GraduatedAt
		}
		if l.IsZero() {
			return bad("%s without left_at", p.Status)
		}
		if l.Before(p.JoinedAt) {
			return bad("left_at %s before joined_at %s", l.Format(time.RFC3339), p.JoinedAt.Format(time.RFC3339))
		}
		left = l.UnixNano()
		if reason == StatusGraduated {
			g := p.GraduatedAt
			if g.IsZero() {
				g = p.LeftAt
			}
			if g.Before(p.JoinedAt) {
				return bad("graduated_at %s before joined_at %s", g.Format(time.RFC3339), p.JoinedAt.Format(time.RFC3339))
			}
			grad = g.Sub(p.JoinedAt)
		}
	}

	// Valid: count it.
	if m.prospects == binenc.MaxTotal {
		return fmt.Errorf("pool: metrics: %w: more than %d prospects (journey.MaxCount)", leadkit.ErrInvalid, binenc.MaxTotal)
	}
	m.prospects++
	if joined >= m.to || left < m.from {
		return nil // never in the pool during the period
	}
	src := p.Source.Channel
	if src == "" {
		src = NoSource
	}
	f := m.sources[src]
	if f == nil {
		f = m.newFlow()
		m.sources[src] = f
	}
	// In the pool at an instant t when joined < t <= left: at bucket
	// ends with index in [lo, hi).
	lo, hi := m.after(joined), m.after(left)
	if joined < m.from && left >= m.from {
		f.startSize++
	}
	f.size[lo]++
	f.size[hi]--
	if joined >= m.from {
		f.inflow[m.after(joined)]++
	}
	if left >= m.from && left < m.to {
		i := m.after(left)
		switch reason {
		case StatusGraduated:
			f.outflow[i].Graduated++
			f.ttg[i].Add(grad)
		case StatusOptedOut:
			f.outflow[i].OptedOut++
		case StatusErased:
			f.outflow[i].Erased++
		case StatusMerged:
			f.outflow[i].Merged++
		}
	}
	if lo < hi {
		m.addTouched(p, joined, lo, hi)
	}
	return nil
}

// after returns the index of the first bucket ending after t (len(ends)
// when none does).
func (m *Metrics) after(t int64) int {
	if t == math.MaxInt64 {
		return len(m.ends)
	}
	i, _ := slices.BinarySearch(m.ends, t+1) // the first end >= t+1, i.e. > t
	return i
}

// addTouched counts p as not dormant at the bucket ends in [lo, hi) (those
// where it is in the pool) that follow one of its touches by less than the
// spec's Dormant: a touch at t covers the ends in (t, t+Dormant).
func (m *Metrics) addTouched(p Prospect, joined int64, lo, hi int) {
	ts := append(m.scratch[:0], joined)
	if !p.LastActivityAt.IsZero() {
		ts = append(ts, p.LastActivityAt.UnixNano())
	}
	for _, t := range p.Touches {
		ts = append(ts, t.UnixNano())
	}
	if !slices.IsSorted(ts) {
		slices.Sort(ts)
	}
	m.scratch = ts
	d := int64(m.spec.Dormant)
	curLo, curHi := -1, -1
	flush := func() {
		a, b := max(curLo, lo), min(curHi, hi)
		if a < b {
			m.nonDormant[a]++
			m.nonDormant[b]--
		}
	}
	for _, t := range ts {
		a, b := m.after(t), len(m.ends)
		if t <= math.MaxInt64-d {
			b = m.after(t + d - 1)
		}
		if curLo >= 0 && a <= curHi {
			curHi = max(curHi, b)
			continue
		}
		if curLo >= 0 {
			flush()
		}
		curLo, curHi = a, b
	}
	flush()
}

// Merge adds other's counts into m; other is not modified. Accumulators of
// different specs (From, To, Bucket or resolved Dormant), nil and m itself
// are refused, and so is a merge that would take Prospects past 2^53-1
// (journey.MaxCount, see Add): Merge changes nothing and returns an error
// wrapping [leadkit.ErrInvalid].
func (m *Metrics) Merge(other *Metrics) error {
	if other == nil || other == m {
		return fmt.Errorf("pool: metrics: %w: merge needs another accumulator (not nil, not itself)", leadkit.ErrInvalid)
	}
	a, b := m.spec, other.spec
	if !a.From.Equal(b.From) || !a.To.Equal(b.To) || a.Bucket != b.Bucket || a.Dormant != b.Dormant || a.Quantiles != b.Quantiles {
		return fmt.Errorf("pool: metrics: %w: cannot merge accumulators of different specs", leadkit.ErrMismatch)
	}
	if m.prospects > binenc.MaxTotal-other.prospects {
		return fmt.Errorf("pool: metrics: %w: merged, more than %d prospects (journey.MaxCount)", leadkit.ErrInvalid, binenc.MaxTotal)
	}
	m.prospects += other.prospects
	for i, v := range other.nonDormant {
		m.nonDormant[i] += v
	}
	for src, of := range other.sources {
		f := m.sources[src]
		if f == nil {
			f = m.newFlow()
			m.sources[src] = f
		}
		f.startSize += of.startSize
		for i := range of.size {
			f.size[i] += of.size[i]
		}
		for i := range of.inflow {
			f.inflow[i] += of.inflow[i]
			o, x := &f.outflow[i], of.outflow[i]
			o.Graduated += x.Graduated
			o.OptedOut += x.OptedOut
			o.Erased += x.Erased
			o.Merged += x.Merged
			f.ttg[i].Merge(&of.ttg[i])
		}
	}
	return nil
}

// Result returns the metrics of everything added so far. It does not
// depend on the order prospects were added or accumulators merged.
func (m *Metrics) Result() MetricsResult {
	n := len(m.ends)
	r := MetricsResult{
		From:      m.spec.From,
		To:        m.spec.To,
		Bucket:    m.spec.Bucket,
		Dormant:   leadkit.Duration(m.spec.Dormant),
		Prospects: m.prospects,
		Buckets:   make([]MetricsBucket, n),
	}
	all := m.q.Summaries(n) // per bucket, every source
	total := m.q.New()
	bySourceTotal := map[string]*stats.Summary{}
	start := m.spec.From
	for i := range r.Buckets {
		end := time.Unix(0, m.ends[i]).UTC()
		if i == n-1 {
			end = m.spec.To
		}
		r.Buckets[i] = MetricsBucket{Label: m.labels[i], Start: start, End: end}
		start = end
	}
	r.Totals = MetricsBucket{Start: m.spec.From, End: m.spec.To, BySource: map[string]SourceMetrics{}}
	for src, f := range m.sources {
		srcTotal := m.q.New()
		bySourceTotal[src] = &srcTotal
		size := f.startSize // in the pool at the start of bucket i
		running := 0        // prefix sum of f.size
		for i := range r.Buckets {
			b := &r.Buckets[i]
			running += f.size[i]
			o := f.outflow[i]
			b.SizeAtStart += size
			b.Size += running
			b.Inflow += f.inflow[i]
			b.Outflow.Graduated += o.Graduated
			b.Outflow.OptedOut += o.OptedOut
			b.Outflow.Erased += o.Erased
			b.Outflow.Merged += o.Merged
			all[i].Merge(&f.ttg[i])
			srcTotal.Merge(&f.ttg[i])
			if size != 0 || f.inflow[i] != 0 || o.Graduated != 0 {
				if b.BySource == nil {
					b.BySource = map[string]SourceMetrics{}
				}
				b.BySource[src] = sourceMetrics(size, f.inflow[i], &f.ttg[i])
			}
			size = running
		}
		inflow := 0
		for _, v := range f.inflow {
			inflow += v
		}
		if f.startSize != 0 || inflow != 0 || srcTotal.N() != 0 {
			r.Totals.BySource[src] = sourceMetrics(f.startSize, inflow, &srcTotal)
		}
	}
	nd := 0
	for i := range r.Buckets {
		b := &r.Buckets[i]
		nd += m.nonDormant[i]
		b.Dormant = b.Size - nd
		b.DormantShare = ratio(b.Dormant, b.Size)
		b.GraduationRate = ratio(b.Outflow.Graduated, b.SizeAtStart+b.Inflow)
		b.MedianTimeToGraduate = leadkit.Duration(all[i].Median())
		total.Merge(&all[i])

		t := &r.Totals
		t.Inflow += b.Inflow
		t.Outflow.Graduated += b.Outflow.Graduated
		t.Outflow.OptedOut += b.Outflow.OptedOut
		t.Outflow.Erased += b.Outflow.Erased
		t.Outflow.Merged += b.Outflow.Merged
	}
	t := &r.Totals
	if n > 0 {
		t.SizeAtStart = r.Buckets[0].SizeAtStart
		last := r.Buckets[n-1]
		t.Size, t.Dormant, t.DormantShare = last.Size, last.Dormant, last.DormantShare
	}
	t.GraduationRate = ratio(t.Outflow.Graduated, t.SizeAtStart+t.Inflow)
	t.MedianTimeToGraduate = leadkit.Duration(total.Median())
	if len(t.BySource) == 0 {
		t.BySource = nil
	}
	return r
}

func sourceMetrics(sizeAtStart, inflow int, ttg *stats.Summary) SourceMetrics {
	return SourceMetrics{
		SizeAtStart:          sizeAtStart,
		Inflow:               inflow,
		Graduated:            ttg.N(),
		GraduationRate:       ratio(ttg.N(), sizeAtStart+inflow),
		MedianTimeToGraduate: leadkit.Duration(ttg.Median()),
	}
}

// newFlow returns an empty source channel's counters.
func (m *Metrics) newFlow() *sourceFlow {
	n := len(m.ends)
	return &sourceFlow{size: make([]int, n+1), inflow: make([]int, n), outflow: make([]MetricsOutflow, n), ttg: m.q.Summaries(n)}
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}
