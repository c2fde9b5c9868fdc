package stats

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"time"

	"github.com/DataDog/sketches-go/ddsketch/mapping"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/binenc"
)

// A Summary is the one home of the durations behind the accumulators'
// medians (see [leadkit.Quantiles] for what is exact and what is
// approximate). Its state is a function of the multiset of durations it
// was given and nothing else:
//
//   - up to Params' exact threshold it keeps the durations (sorted when
//     read), and every statistic is the exact one of MeanSorted,
//     MedianSorted and QuantileSorted;
//   - past it (the sample's size alone decides) it keeps the count, the
//     128-bit sum of nanoseconds, the minimum and maximum, the zeros, and
//     the count of every bucket of DDSketch's logarithmic mapping. Bucket
//     counts are integers and a duration's bucket depends on the duration
//     alone, so adding and merging in any order, and switching to the
//     sketch at any point, give the same counts as adding every duration
//     to one summary.
//
// The mapping computes a logarithm in floating point, so two machines of
// different architectures could, in principle, put a duration that lies
// on a bucket boundary into neighbouring buckets; shards merged on one
// architecture always agree.

// Params are the settings of a family of summaries: the exact threshold
// and the mapping of the sketch. They are immutable and safe for
// concurrent use; summaries merge only with summaries of equal Params.
type Params struct {
	q              leadkit.Quantiles // resolved
	m              *mapping.LogarithmicMapping
	minIdx, maxIdx int // the buckets of 1ns and of math.MaxInt64 ns
}

var defaultParams = mustParams(leadkit.Quantiles{})

// unbounded keeps every duration: ExactOf's summaries.
var unbounded = &Params{q: leadkit.Quantiles{Exact: math.MaxInt, Accuracy: leadkit.DefaultQuantileAccuracy}, m: defaultParams.m,
	minIdx: defaultParams.minIdx, maxIdx: defaultParams.maxIdx}

func mustParams(q leadkit.Quantiles) *Params {
	p, err := newParams(q.Resolved())
	if err != nil {
		panic(err)
	}
	return p
}

func newParams(q leadkit.Quantiles) (*Params, error) {
	m, err := mapping.NewLogarithmicMapping(q.Accuracy)
	if err != nil {
		return nil, fmt.Errorf("%w: quantiles: %v", leadkit.ErrInvalid, err)
	}
	return &Params{q: q, m: m, minIdx: m.Index(1), maxIdx: m.Index(math.MaxInt64)}, nil
}

// NewParams validates q (see [leadkit.Quantiles.Validate]) and returns
// its Params; the zero Quantiles gives the shared defaults.
func NewParams(q leadkit.Quantiles) (*Params, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	q = q.Resolved()
	if q == defaultParams.q {
		return defaultParams, nil
	}
	return newParams(q)
}

// DefaultParams returns the Params of the zero Quantiles.
func DefaultParams() *Params { return defaultParams }

// Quantiles returns the resolved settings.
func (p *Params) Quantiles() leadkit.Quantiles { return p.q }

// Summaries returns k empty summaries of p.
func (p *Params) Summaries(k int) []Summary {
	out := make([]Summary, k)
	for i := range out {
		out[i].p = p
	}
	return out
}

// New returns an empty summary of p.
func (p *Params) New() Summary { return Summary{p: p} }

// Summary is a mergeable summary of a sample of non-negative durations:
// exact up to its Params' threshold, a DDSketch past it. The zero value is
// an empty summary with the default Params. It is not safe for concurrent
// use (reading sorts the kept durations in place).
type Summary struct {
	p     *Params
	exact []time.Duration // nil once sk is set
	sk    *sketch
}

// sketch is a Summary past its threshold.
type sketch struct {
	n        uint64
	hi, lo   uint64 // the sum of nanoseconds
	min, max time.Duration
	zero     uint64   // durations of 0
	off      int      // the bucket of counts[0]
	counts   []uint64 // per bucket from off; empty while only zeros
}

func (s *Summary) params() *Params {
	if s.p == nil {
		return defaultParams
	}
	return s.p
}

// ExactOf returns a summary that keeps ds (a sorted copy) whatever their
// number: the summary of a sample held in memory anyway.
func ExactOf(ds []time.Duration) Summary {
	s := slices.Clone(ds)
	slices.Sort(s)
	return Summary{p: unbounded, exact: s}
}

// Add counts d; a negative d counts as 0.
func (s *Summary) Add(d time.Duration) {
	d = max(d, 0)
	if s.sk != nil {
		s.sk.add(s.params(), d)
		return
	}
	s.exact = append(s.exact, d)
	if len(s.exact) > s.params().q.Exact {
		s.toSketch()
	}
}

func (s *Summary) toSketch() {
	p := s.params()
	k := &sketch{}
	for _, d := range s.exact {
		k.add(p, d)
	}
	s.exact, s.sk = nil, k
}

func (k *sketch) add(p *Params, d time.Duration) {
	var c uint64
	k.lo, c = bits.Add64(k.lo, uint64(d), 0)
	k.hi += c
	if k.n == 0 || d < k.min {
		k.min = d
	}
	if k.n == 0 || d > k.max {
		k.max = d
	}
	k.n++
	if d == 0 {
		k.zero++
		return
	}
	k.bump(p.m.Index(float64(d)), 1)
}

// bump adds c to bucket i, growing counts to cover it.
func (k *sketch) bump(i int, c uint64) {
	switch {
	case len(k.counts) == 0:
		k.off = i
		k.counts = append(k.counts[:0], c)
		return
	case i < k.off:
		grown := make([]uint64, k.off-i+len(k.counts), k.off-i+cap(k.counts))
		copy(grown[k.off-i:], k.counts)
		k.counts, k.off = grown, i
	case i >= k.off+len(k.counts):
		k.counts = append(k.counts, make([]uint64, i-k.off-len(k.counts)+1)...)
	}
	k.counts[i-k.off] += c
}

func (k *sketch) merge(o *sketch) {
	var c uint64
	k.lo, c = bits.Add64(k.lo, o.lo, 0)
	k.hi += o.hi + c
	if o.n > 0 {
		if k.n == 0 || o.min < k.min {
			k.min = o.min
		}
		if k.n == 0 || o.max > k.max {
			k.max = o.max
		}
	}
	k.n += o.n
	k.zero += o.zero
	if len(o.counts) > 0 { // cover o's range once, then add
		k.bump(o.off, 0)
		k.bump(o.off+len(o.counts)-1, 0)
		for j, c := range o.counts {
			k.counts[o.off+j-k.off] += c
		}
	}
}

// Merge adds everything o holds to s; o is not modified. Summaries of
// different Params do not merge (a programming error: the accumulators
// refuse to merge different specs first), and Merge panics.
func (s *Summary) Merge(o *Summary) {
	p := s.params()
	if op := o.params(); op != p && op.q != p.q {
		panic("stats: merging summaries of different quantile settings")
	}
	if s.sk == nil && o.sk == nil && len(s.exact)+len(o.exact) <= p.q.Exact {
		s.exact = append(s.exact, o.exact...)
		return
	}
	if s.sk == nil {
		s.toSketch()
	}
	if o.sk == nil {
		for _, d := range o.exact {
			s.sk.add(p, d)
		}
		return
	}
	s.sk.merge(o.sk)
}

// Clone returns a copy of s that shares nothing with it.
func (s *Summary) Clone() Summary {
	out := Summary{p: s.p, exact: slices.Clone(s.exact)}
	if s.sk != nil {
		k := *s.sk
		k.counts = slices.Clone(k.counts)
		out.sk = &k
	}
	return out
}

// N is the number of durations counted.
func (s *Summary) N() int {
	if s.sk != nil {
		return int(s.sk.n)
	}
	return len(s.exact)
}

// Exact reports whether s keeps its durations (its quantiles are exact).
func (s *Summary) Exact() bool { return s.sk == nil }

// sorted returns the kept durations, sorted in place.
func (s *Summary) sorted() []time.Duration {
	if !slices.IsSorted(s.exact) {
		slices.Sort(s.exact)
	}
	return s.exact
}

// Mean is the exact mean, truncated to the nanosecond (0 for none).
func (s *Summary) Mean() time.Duration {
	if s.sk == nil {
		return MeanSorted(s.exact) // the sum does not depend on order
	}
	return div128(s.sk.hi, s.sk.lo, s.sk.n)
}

// Median is the middle value, or the mean of the two middle values of an
// even sample (0 for none); past the threshold each middle value is the
// sketch's, within the accuracy of the true one.
func (s *Summary) Median() time.Duration {
	if s.sk == nil {
		return MedianSorted(s.sorted())
	}
	n := int(s.sk.n)
	m := n / 2
	if n%2 == 1 {
		return s.sk.at(s.params(), m)
	}
	a, b := s.sk.at(s.params(), m-1), s.sk.at(s.params(), m)
	return a + (b-a)/2
}

// Quantile is the R-7 quantile (linear interpolation between order
// statistics; see QuantileSorted) of the sample, for q in [0, 1].
func (s *Summary) Quantile(q float64) time.Duration {
	if s.sk == nil {
		return QuantileSorted(s.sorted(), q)
	}
	n := int(s.sk.n)
	h := float64(n-1) * q
	lo := int(math.Floor(h))
	if lo >= n-1 {
		return s.sk.max
	}
	a, b := s.sk.at(s.params(), lo), s.sk.at(s.params(), lo+1)
	return a + time.Duration(math.Round((h-float64(lo))*float64(b-a)))
}

// Min and Max are the exact smallest and largest durations (0 for none).
func (s *Summary) Min() time.Duration {
	if s.sk != nil {
		return s.sk.min
	}
	if len(s.exact) == 0 {
		return 0
	}
	return s.sorted()[0]
}

// Max: see Min.
func (s *Summary) Max() time.Duration {
	if s.sk != nil {
		return s.sk.max
	}
	if len(s.exact) == 0 {
		return 0
	}
	return s.sorted()[len(s.exact)-1]
}

// Each calls fn with the sample's values in increasing order and how many
// durations each stands for: every kept duration once, or past the
// threshold the zeros and each bucket's representative value (within the
// accuracy of every duration in it, and within [Min, Max]).
func (s *Summary) Each(fn func(d time.Duration, count int)) {
	if s.sk == nil {
		for _, d := range s.sorted() {
			fn(d, 1)
		}
		return
	}
	k := s.sk
	if k.zero > 0 {
		fn(0, int(k.zero))
	}
	for j, c := range k.counts {
		if c > 0 {
			fn(k.value(s.params(), k.off+j), int(c))
		}
	}
}

// at returns the order statistic of 0-based rank r: the exact minimum and
// maximum at the ends, else the representative of the bucket holding it.
func (k *sketch) at(p *Params, r int) time.Duration {
	switch {
	case r <= 0:
		return k.min
	case uint64(r) >= k.n-1:
		return k.max
	case uint64(r) < k.zero:
		return 0
	}
	seen := k.zero
	for j, c := range k.counts {
		seen += c
		if uint64(r) < seen {
			return k.value(p, k.off+j)
		}
	}
	return k.max
}

// value is bucket i's representative, rounded to the nanosecond and kept
// within [min, max].
func (k *sketch) value(p *Params, i int) time.Duration {
	v := p.m.Value(i)
	switch {
	case v >= float64(k.max):
		return k.max
	case v <= float64(k.min):
		return k.min
	}
	return time.Duration(math.Round(v))
}

// div128 is the 128-bit sum (hi, lo) of n non-negative durations divided
// by n, truncated.
func div128(hi, lo, n uint64) time.Duration {
	if n == 0 {
		return 0
	}
	q, _ := bits.Div64(hi%n, lo, n) // hi < n: each duration is below 2^63
	return time.Duration(q)
}

// AppendBinary appends s's state without its count (the caller writes the
// count, or encodes something it equals, and gives it to ReadSummary):
// the same state gives the same bytes whatever the order durations were
// added or merged in. Exact: the durations sorted, the first a varint,
// the rest uvarint differences (binenc.AppendSortedDurations). Sketch:
// uvarint min, uvarint max-min, uvarint sum high and low 64 bits, uvarint
// zeros, uvarint k buckets with a count, then per bucket its index (the
// first a varint, the rest uvarint differences) and uvarint count.
func (s *Summary) AppendBinary(b []byte) []byte {
	if s.sk == nil {
		return binenc.AppendSortedDurations(b, s.sorted())
	}
	k := s.sk
	b = binary.AppendUvarint(b, uint64(k.min))
	b = binary.AppendUvarint(b, uint64(k.max-k.min))
	b = binary.AppendUvarint(b, k.hi)
	b = binary.AppendUvarint(b, k.lo)
	b = binary.AppendUvarint(b, k.zero)
	used := 0
	for _, c := range k.counts {
		if c > 0 {
			used++
		}
	}
	b = binary.AppendUvarint(b, uint64(used))
	prev := 0
	first := true
	for j, c := range k.counts {
		if c == 0 {
			continue
		}
		if first {
			b = binary.AppendVarint(b, int64(k.off+j))
			first = false
		} else {
			b = binary.AppendUvarint(b, uint64(k.off+j-prev))
		}
		prev = k.off + j
		b = binary.AppendUvarint(b, c)
	}
	return b
}

// ReadSummary reads the state AppendBinary wrote of a summary of p
// holding n durations, each in [0, limit]; a duration over it fails with
// the message over. Everything is checked: the buckets' counts add up to
// n, the minimum and maximum lie in the first and last buckets, the sum
// lies between n times each; nothing is allocated for a length the bytes
// left cannot hold, and the buckets span no more than p's mapping has for
// [1ns, limit]. On error d.Err is set and the summary is empty.
func ReadSummary(d *binenc.Decoder, p *Params, n int, limit time.Duration, over string) Summary {
	if d.Err != nil || n == 0 {
		return p.New()
	}
	if n <= p.q.Exact {
		return Summary{p: p, exact: d.Durations(n, limit, over)}
	}
	k := &sketch{n: uint64(n)}
	mn := d.Uvarint("sketch min")
	spread := d.Uvarint("sketch max")
	k.hi, k.lo = d.Uvarint("sketch sum"), d.Uvarint("sketch sum")
	k.zero = d.Uvarint("sketch zeros")
	if d.Err != nil {
		return p.New()
	}
	if mn > uint64(limit) || spread > uint64(limit)-mn {
		d.Fail("%s", over)
		return p.New()
	}
	k.min, k.max = time.Duration(mn), time.Duration(mn+spread)
	if h, l := bits.Mul64(k.n, uint64(k.min)); k.hi < h || k.hi == h && k.lo < l {
		d.Fail("sketch sum below n times the minimum")
		return p.New()
	}
	if h, l := bits.Mul64(k.n, uint64(k.max)); k.hi > h || k.hi == h && k.lo > l {
		d.Fail("sketch sum above n times the maximum")
		return p.New()
	}
	if k.zero > k.n || (k.zero > 0) != (k.min == 0) {
		d.Fail("sketch: %d zeros with a minimum of %d", k.zero, k.min)
		return p.New()
	}
	used := d.Length("sketch buckets", 2)
	if d.Err != nil {
		return p.New()
	}
	top := p.m.Index(float64(max(k.max, 1)))
	idx := make([]int, used)
	cnt := make([]uint64, used)
	total := k.zero
	for j := range used {
		if j == 0 {
			v := d.Varint("sketch bucket")
			if d.Err == nil && (v < int64(p.minIdx) || v > int64(top)) {
				d.Fail("sketch bucket %d out of range", v)
			}
			idx[j] = int(v)
		} else {
			delta := d.Uvarint("sketch bucket")
			if d.Err == nil && (delta == 0 || delta > uint64(top-idx[j-1])) {
				d.Fail("sketch bucket out of order or range")
			}
			idx[j] = idx[j-1] + int(delta)
		}
		cnt[j] = d.Uvarint("sketch count")
		if d.Err == nil && (cnt[j] == 0 || cnt[j] > k.n-total) {
			d.Fail("sketch count %d: more than n", cnt[j])
		}
		if d.Err != nil {
			return p.New()
		}
		total += cnt[j]
	}
	switch {
	case total != k.n:
		d.Fail("sketch counts add up to %d, not %d", total, k.n)
	case used == 0 && k.max != 0:
		d.Fail("sketch without buckets has a maximum of %d", k.max)
	case used > 0 && (p.m.Index(float64(k.max)) != idx[used-1] || k.min > 0 && p.m.Index(float64(k.min)) != idx[0]):
		d.Fail("sketch minimum or maximum outside its first or last bucket")
	}
	if d.Err != nil {
		return p.New()
	}
	if used > 0 {
		k.off = idx[0]
		k.counts = make([]uint64, idx[used-1]-idx[0]+1)
		for j, i := range idx {
			k.counts[i-k.off] = cnt[j]
		}
	}
	return Summary{p: p, sk: k}
}
