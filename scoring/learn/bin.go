package learn

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// binKind is what a bin holds.
type binKind uint8

const (
	binRange   binKind = iota // numbers or counts in [lo, hi)
	binMissing                // a missing text or a number 0
	binValue                  // one text value
	binOther                  // the other text values
)

// bin is one bin of a feature: its definition, its training counts and
// its weight of evidence.
type bin struct {
	kind   binKind
	lo, hi float64 // binRange: [lo, hi), ±Inf at the ends
	value  string  // binValue
	n, pos int
	woe    float64
	woeVar float64
	points float64 // the emitted rule's points
	// dropped is the reason a bin is left out ("": kept).
	dropped DropReason
	detail  string
}

// smooth is the pseudo-count added to each class of a bin for its weight
// of evidence, so that a bin without conversions (or without others) has
// a finite one.
const smooth = 0.5

// group is a run of adjacent distinct values while binning numbers.
type group struct {
	first  int // index of its first distinct value
	n, pos int
}

func (g group) rate() float64 { return float64(g.pos) / float64(g.n) }

// distinct is one distinct value of a number and its counts.
type distinct struct {
	v      float64
	n, pos int
}

// rangeBins bins the numbers vals of the training rows: missing values
// (missing(v)) in a bin of their own, the rest by quantiles merged to
// minSupport and, unless nonMonotone, to a monotone conversion rate.
// The ranges cover every number: the first starts at -Inf and the last
// ends at +Inf.
func rangeBins(vals []float64, y []bool, rows []int, missing func(float64) bool, nBins, minSupport int, nonMonotone bool) []bin {
	var miss bin
	miss.kind = binMissing
	pairs := make([]distinct, 0, len(rows))
	for _, i := range rows {
		v := vals[i]
		pos := 0
		if y[i] {
			pos = 1
		}
		if missing != nil && missing(v) {
			miss.n++
			miss.pos += pos
			continue
		}
		pairs = append(pairs, distinct{v: v, n: 1, pos: pos})
	}
	slices.SortFunc(pairs, func(a, b distinct) int { return cmp.Compare(a.v, b.v) })
	// Distinct values with their counts.
	var ds []distinct
	for _, p := range pairs {
		if k := len(ds) - 1; k >= 0 && ds[k].v == p.v {
			ds[k].n++
			ds[k].pos += p.pos
			continue
		}
		ds = append(ds, p)
	}
	var out []bin
	if len(ds) > 0 {
		groups := quantileGroups(ds, len(pairs), nBins)
		groups = mergeSmall(groups, minSupport)
		if !nonMonotone {
			groups = monotone(groups)
		}
		for gi, g := range groups {
			b := bin{kind: binRange, lo: math.Inf(-1), hi: math.Inf(1), n: g.n, pos: g.pos}
			if gi > 0 {
				b.lo = ds[g.first].v
			}
			if gi+1 < len(groups) {
				b.hi = ds[groups[gi+1].first].v
			}
			out = append(out, b)
		}
	}
	if miss.n > 0 {
		out = append(out, miss)
	}
	return out
}

// quantileGroups cuts the distinct values into at most nBins groups of
// about equal counts (a value is never split).
func quantileGroups(ds []distinct, total, nBins int) []group {
	var gs []group
	if len(ds) <= nBins {
		for i, d := range ds {
			gs = append(gs, group{first: i, n: d.n, pos: d.pos})
		}
		return gs
	}
	cum, q := 0, 1
	for i, d := range ds {
		// Start a new group at the first value whose predecessors reach
		// the next quantile.
		if i == 0 || cum*nBins >= q*total {
			gs = append(gs, group{first: i})
			for cum*nBins >= q*total {
				q++
			}
		}
		g := &gs[len(gs)-1]
		g.n += d.n
		g.pos += d.pos
		cum += d.n
	}
	return gs
}

// mergeSmall merges each group with fewer than minSupport examples into
// its smaller neighbour (the left one on a tie), smallest group first,
// until every group has minSupport or one group is left.
func mergeSmall(gs []group, minSupport int) []group {
	for len(gs) > 1 {
		k := -1
		for i, g := range gs {
			if g.n < minSupport && (k < 0 || g.n < gs[k].n) {
				k = i
			}
		}
		if k < 0 {
			break
		}
		j := k - 1
		if k == 0 || (k+1 < len(gs) && gs[k+1].n < gs[k-1].n) {
			j = k + 1
		}
		gs = mergeAt(gs, min(j, k))
	}
	return gs
}

// mergeAt merges gs[i] and gs[i+1].
func mergeAt(gs []group, i int) []group {
	gs[i].n += gs[i+1].n
	gs[i].pos += gs[i+1].pos
	return slices.Delete(gs, i+1, i+2)
}

// monotone pools adjacent groups until the conversion rate rises (or
// falls) strictly: pool adjacent violators in both directions,
// keeping the one with the higher binomial log-likelihood (rising on a
// tie).
func monotone(gs []group) []group {
	up := pava(slices.Clone(gs), true)
	down := pava(slices.Clone(gs), false)
	if loglik(down) > loglik(up) {
		return down
	}
	return up
}

func pava(gs []group, rising bool) []group {
	var out []group
	for _, g := range gs {
		out = append(out, g)
		for len(out) > 1 {
			a, b := out[len(out)-2], out[len(out)-1]
			// Compare the rates exactly: a.pos/a.n against b.pos/b.n.
			l, r := a.pos*b.n, b.pos*a.n
			if (rising && l < r) || (!rising && l > r) {
				break // strictly in order; equal rates are pooled
			}
			out = mergeAt(out, len(out)-2)
		}
	}
	return out
}

func loglik(gs []group) float64 {
	var ll float64
	for _, g := range gs {
		if g.pos > 0 {
			ll += float64(g.pos) * math.Log(g.rate())
		}
		if neg := g.n - g.pos; neg > 0 {
			ll += float64(neg) * math.Log(float64(neg)/float64(g.n))
		}
	}
	return ll
}

// categoryBins bins the texts strs of the training rows: the most
// frequent values (at most categories, each with minSupport examples
// and at most MaxValueBytes) as bins of their own, the other values in
// one bin, the missing ("") in another. isBool bins "true" and "false"
// only.
func categoryBins(strs []string, y []bool, rows []int, categories, minSupport int, isBool bool) []bin {
	type count struct{ n, pos int }
	counts := map[string]*count{}
	for _, i := range rows {
		c := counts[strs[i]]
		if c == nil {
			c = &count{}
			counts[strs[i]] = c
		}
		c.n++
		if y[i] {
			c.pos++
		}
	}
	values := make([]string, 0, len(counts))
	for v := range counts {
		values = append(values, v)
	}
	slices.SortFunc(values, func(a, b string) int {
		if counts[a].n != counts[b].n {
			return counts[b].n - counts[a].n
		}
		return strings.Compare(a, b)
	})
	var out []bin
	other := bin{kind: binOther}
	var miss bin
	miss.kind = binMissing
	for _, v := range values {
		c := counts[v]
		switch {
		case v == "" && !isBool:
			miss.n, miss.pos = c.n, c.pos
		case isBool || (len(out) < categories && c.n >= minSupport && len(quote(v)) <= MaxValueBytes):
			// The length as written in the rule (quoted, escaped): a
			// value of soft hyphens is three times longer there.
			out = append(out, bin{kind: binValue, value: v, n: c.n, pos: c.pos})
		default:
			other.n += c.n
			other.pos += c.pos
		}
	}
	if other.n > 0 {
		out = append(out, other)
	}
	if miss.n > 0 {
		out = append(out, miss)
	}
	return out
}

// evidence computes the weights of evidence of the kept bins of a
// feature against the training totals (pos converted, neg not), drops
// the bins under minSupport, and returns the information value.
func evidence(bins []bin, pos, neg, minSupport int) (iv float64) {
	kept := 0
	for i := range bins {
		b := &bins[i]
		if b.n < minSupport {
			b.dropped = DropSupport
			b.detail = fmt.Sprintf("%d training examples, fewer than the minimum support of %d", b.n, minSupport)
			continue
		}
		kept++
	}
	k := float64(kept)
	for i := range bins {
		b := &bins[i]
		if b.dropped != "" {
			continue
		}
		bp, bn := float64(b.pos)+smooth, float64(b.n-b.pos)+smooth
		dp := bp / (float64(pos) + smooth*k)
		dn := bn / (float64(neg) + smooth*k)
		b.woe = math.Log(dp / dn)
		b.woeVar = 1/bp + 1/bn
		iv += (dp - dn) * b.woe
	}
	return iv
}

// label describes a bin for rule names and results. count tells a count
// feature's ranges (integers from 0) from a number's.
func (b *bin) label(count bool) string {
	switch b.kind {
	case binMissing:
		return "missing"
	case binOther:
		return "other"
	case binValue:
		return strconv.QuoteToASCII(clipValue(b.value))
	}
	if count {
		lo := int64(0)
		if !math.IsInf(b.lo, -1) {
			lo = int64(b.lo)
		}
		switch {
		case math.IsInf(b.hi, 1):
			return strconv.FormatInt(lo, 10) + "+"
		case int64(b.hi)-1 == lo:
			return strconv.FormatInt(lo, 10)
		default:
			return strconv.FormatInt(lo, 10) + "-" + strconv.FormatInt(int64(b.hi)-1, 10)
		}
	}
	switch {
	case math.IsInf(b.lo, -1) && math.IsInf(b.hi, 1):
		return "any"
	case math.IsInf(b.lo, -1):
		return "< " + num(b.hi)
	case math.IsInf(b.hi, 1):
		return ">= " + num(b.lo)
	}
	return num(b.lo) + " to < " + num(b.hi)
}

// clipValue shortens a text value for a rule name.
func clipValue(v string) string {
	const n = 60
	if len(v) <= n {
		return v
	}
	cut := n
	for cut > 0 && v[cut]&0xC0 == 0x80 {
		cut--
	}
	return v[:cut] + "..."
}

// num formats a number for expressions and labels: the shortest text
// that reads back as the same float64.
func num(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// quote writes s as a string literal of the expression language.
func quote(s string) string { return strconv.Quote(s) }

// findRange is the index of the range bin holding v (bins sorted, the
// first from -Inf, the last to +Inf), or -1 if none.
func findRange(bins []bin, nRanges int, v float64) int {
	// The first range whose upper end is above v.
	k, _ := slices.BinarySearchFunc(bins[:nRanges], v, func(b bin, v float64) int {
		if b.hi <= v {
			return -1
		}
		return 1
	})
	if k < nRanges {
		return k
	}
	return -1
}
