package journey

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/leadkit/leadkit"
)

// PatternOptions tunes sequential pattern mining. The zero value mines
// every pattern that occurs at all, of any length.
type PatternOptions struct {
	// MinSupport is the least number of sequences a pattern must occur in
	// (0 means 1; negative is an error).
	MinSupport int `json:"min_support"`
	// MaxLength caps the pattern length (0: no cap).
	MaxLength int `json:"max_length,omitempty"`
	// CollapseRepeats merges runs of the same item in the input before
	// mining (web, web, email -> web, email). With MaxGap, a merged run
	// spans from its first to its last item: the gap into it is measured to
	// its first time and the gap out of it from its last (web at 0h, web at
	// 5h, email at 6h: web -> email has a 1h gap).
	CollapseRepeats bool `json:"collapse_repeats,omitempty"`
	// Contiguous requires a pattern's items to be adjacent in a sequence
	// (no gaps).
	Contiguous bool `json:"contiguous,omitempty"`
	// MaxGap bounds the time between consecutive items of a pattern
	// occurrence (inclusive). It needs times: use [MineTimedPatterns]. In
	// JSON and YAML it is text such as "36h" or "2d" (see
	// [leadkit.ParseDuration]).
	MaxGap time.Duration `json:"max_gap,omitempty"`
	// MaxPatterns stops mining with an error when more patterns than this
	// are found, a guard against a MinSupport set too low
	// (0: DefaultMaxPatterns).
	MaxPatterns int `json:"max_patterns,omitempty"`
}

// DefaultMaxPatterns is the default of PatternOptions.MaxPatterns.
const DefaultMaxPatterns = 1_000_000

// Pattern is a sequential pattern: Items occur in this order (gaps allowed
// unless Contiguous) in Support sequences.
type Pattern struct {
	Items   []string `json:"items"`
	Support int      `json:"support"`
}

// TimedItem is one item of a timed sequence.
type TimedItem struct {
	Item string    `json:"item"`
	Time time.Time `json:"time,omitzero"`
}

// MinePatterns finds the sequential patterns of sequences with PrefixSpan:
// a pattern is a list of items that occur in this order in a sequence, other
// items allowed in between (unless opts.Contiguous); its support is the
// number of sequences containing it (a sequence counts once however often
// it contains the pattern), and repeated items are real items (a, a is a
// pattern of length 2 that needs two a's). The result holds every pattern
// with support >= MinSupport and length <= MaxLength, sorted by support
// (descending) then lexicographically by items.
//
// A sequence with an empty item, or one that is not valid text or is over
// [leadkit.MaxStringBytes], is left out and named in the error (a
// [*PathError], at most 10, then a count), as [PatternAccumulator.Add]
// refuses it; the patterns are those of the other sequences. When mining
// fails (more than MaxPatterns patterns) the result is nil.
//
// The miner interns items to integers and grows patterns over
// pseudo-projected databases (sequence index + offset, no copies); identical
// sequences are mined once with a weight.
func MinePatterns(sequences [][]string, opts PatternOptions) ([]Pattern, error) {
	if err := opts.validate(false); err != nil {
		return nil, err
	}
	var errs errorList
	b := newDBBuilder(false)
	for i, s := range sequences {
		if err := checkPath(fmt.Sprintf("sequence %d", i+1), s, false); err != nil {
			errs.add(err)
			continue
		}
		b.add(s, nil, 1, opts.CollapseRepeats)
	}
	return mined(b.build().mine(opts))(&errs)
}

// mined returns the patterns with the refused input's errors, or only the
// mining error when there is one.
func mined[T any](pats []T, err error) func(*errorList) ([]T, error) {
	return func(errs *errorList) ([]T, error) {
		if err != nil {
			return nil, errors.Join(err, errs.err())
		}
		return pats, errs.err()
	}
}

// MineTimedPatterns is [MinePatterns] over timed sequences, which also
// honours opts.MaxGap. Items of a sequence are sorted by time (stably) if
// they are not already. A sequence with an item MinePatterns refuses, or
// with a time outside [leadkit.MinTime, leadkit.MaxTime), is left out and
// named in the error.
func MineTimedPatterns(sequences [][]TimedItem, opts PatternOptions) ([]Pattern, error) {
	if err := opts.validate(true); err != nil {
		return nil, err
	}
	b := newDBBuilder(true)
	var items []string
	var times []time.Time
	var errs errorList
	for i, s := range sequences {
		if err := checkTimed(i, s); err != nil {
			errs.add(err)
			continue
		}
		if !slices.IsSortedFunc(s, func(x, y TimedItem) int { return x.Time.Compare(y.Time) }) {
			s = slices.Clone(s)
			slices.SortStableFunc(s, func(x, y TimedItem) int { return x.Time.Compare(y.Time) })
		}
		items, times = items[:0], times[:0]
		for _, it := range s {
			items = append(items, it.Item)
			times = append(times, it.Time)
		}
		b.add(items, times, 1, opts.CollapseRepeats)
	}
	return mined(b.build().mine(opts))(&errs)
}

// checkTimed checks the items of timed sequence i (0-based) as checkPath
// does, and that each has a time in [leadkit.MinTime, leadkit.MaxTime).
func checkTimed(i int, s []TimedItem) error {
	for j, it := range s {
		msg := ""
		switch {
		case it.Item == "":
			msg = "is empty"
		case !leadkit.ValidTime(it.Time):
			msg = "time " + it.Time.Format(time.RFC3339) + " is outside " + leadkit.TimeRange
		default:
			msg = leadkit.CheckText(it.Item, leadkit.MaxStringBytes)
		}
		if msg != "" {
			return &PathError{Where: fmt.Sprintf("sequence %d", i+1), Item: j + 1, Value: it.Item, Msg: msg}
		}
	}
	return nil
}

func (o PatternOptions) validate(timed bool) error {
	var errs errorList
	bad := func(format string, a ...any) {
		errs.add(fmt.Errorf("journey: patterns: %w: "+format, append([]any{leadkit.ErrInvalid}, a...)...))
	}
	if o.MinSupport < 0 {
		bad("min support %d is negative", o.MinSupport)
	}
	if o.MaxLength < 0 {
		bad("max length %d is negative", o.MaxLength)
	}
	if o.MaxGap < 0 {
		bad("max gap %v is negative", o.MaxGap)
	}
	if o.MaxGap > 0 && !timed {
		bad("max gap needs timed sequences (use MineTimedPatterns)")
	}
	if o.MaxPatterns < 0 {
		bad("max patterns %d is negative", o.MaxPatterns)
	}
	return errs.err()
}

// seqDB is a database of interned, weighted sequences in one flat array.
type seqDB struct {
	items  []string    // id -> item, sorted: id order is string order
	data   []int32     // all sequences back to back
	start  []int32     // sequence s is data[start[s]:start[s+1]]
	weight []int       // how many input sequences s stands for
	times  []time.Time // parallel to data; nil for untimed databases
	ends   []time.Time // last time of each (collapsed) item; nil untimed
	total  int         // sum of weights
}

// dbBuilder collects sequences, interning items as they come (ids in
// arrival order, remapped to string order by build) and merging identical
// untimed sequences into one with a weight.
type dbBuilder struct {
	timed bool
	ids   map[string]int32
	names []string
	data  []int32
	start []int32
	times []time.Time
	ends  []time.Time
	w     []int
	index map[string]int // untimed: sequence key -> index
	key   []byte
}

func newDBBuilder(timed bool) *dbBuilder {
	return &dbBuilder{timed: timed, ids: map[string]int32{}, index: map[string]int{}}
}

func (b *dbBuilder) add(items []string, times []time.Time, w int, collapse bool) {
	mark := len(b.data)
	for i, it := range items {
		if collapse && i > 0 && it == items[i-1] {
			if b.timed {
				b.ends[len(b.ends)-1] = times[i] // the run now ends here
			}
			continue
		}
		id, ok := b.ids[it]
		if !ok {
			id = int32(len(b.names))
			b.ids[it] = id
			b.names = append(b.names, it)
		}
		b.data = append(b.data, id)
		if b.timed {
			b.times = append(b.times, times[i])
			b.ends = append(b.ends, times[i])
		}
	}
	if !b.timed {
		b.key = b.key[:0]
		for _, id := range b.data[mark:] {
			b.key = append(b.key, byte(id), byte(id>>8), byte(id>>16), byte(id>>24))
		}
		if i, ok := b.index[string(b.key)]; ok {
			b.w[i] += w
			b.data = b.data[:mark]
			return
		}
		b.index[string(b.key)] = len(b.w)
	}
	b.start = append(b.start, int32(mark))
	b.w = append(b.w, w)
}

// writeKey writes an unambiguous key of a sequence (length-prefixed items).
func writeKey(sb *strings.Builder, s []string) {
	for _, it := range s {
		sb.WriteString(strconv.Itoa(len(it)))
		sb.WriteByte(':')
		sb.WriteString(it)
	}
}

func (b *dbBuilder) build() *seqDB {
	sorted := slices.Clone(b.names)
	slices.Sort(sorted)
	remap := make([]int32, len(b.names))
	for i, it := range sorted {
		remap[b.ids[it]] = int32(i)
	}
	for i, id := range b.data {
		b.data[i] = remap[id]
	}
	db := &seqDB{items: sorted, data: b.data, start: append(b.start, int32(len(b.data))), weight: b.w, times: b.times, ends: b.ends}
	for _, w := range b.w {
		db.total += w
	}
	return db
}

// mine runs PrefixSpan over db and returns the sorted patterns.
func (db *seqDB) mine(opts PatternOptions) ([]Pattern, error) {
	var raw []rawPattern
	mn := newMiner(db, opts, nil)
	mn.emit = func(prefix []int32, support int) error {
		if len(raw) >= mn.maxPatterns {
			return fmt.Errorf("journey: patterns: %w: more than %d patterns; raise MinSupport or set MaxLength", leadkit.ErrInvalid, mn.maxPatterns)
		}
		raw = append(raw, rawPattern{items: slices.Clone(prefix), support: support})
		return nil
	}
	if err := mn.run(); err != nil {
		return nil, err
	}
	sortRaw(raw)
	out := make([]Pattern, len(raw))
	for i, r := range raw {
		items := make([]string, len(r.items))
		for j, id := range r.items {
			items[j] = db.items[id]
		}
		out[i] = Pattern{Items: items, Support: r.support}
	}
	return out, nil
}

type rawPattern struct {
	items   []int32
	support int
}

// sortRaw sorts by support descending, then items lexicographically (ids
// are in string order, so this is string order).
func sortRaw(raw []rawPattern) {
	slices.SortFunc(raw, func(a, b rawPattern) int {
		if c := cmp.Compare(b.support, a.support); c != 0 {
			return c
		}
		return slices.Compare(a.items, b.items)
	})
}

// entry is one pseudo-projection: sequence seq, suffix from data[pos].
type entry struct{ seq, pos int32 }

// trie guides mining to a fixed set of patterns (support counting).
type trie struct {
	children map[int32]*trie
	support  int
}

func (t *trie) child(it int32) *trie {
	if t.children == nil {
		t.children = map[int32]*trie{}
	}
	c := t.children[it]
	if c == nil {
		c = &trie{}
		t.children[it] = c
	}
	return c
}

type miner struct {
	db          *seqDB
	minSup      int
	maxLen      int
	contiguous  bool
	maxGap      time.Duration
	constrained bool // several entries per sequence: Contiguous or MaxGap
	maxPatterns int
	emit        func(prefix []int32, support int) error

	guide    *trie // when set: count only the trie's patterns, no MinSupport
	prefix   []int32
	stamp    []int   // per item: the last sequence (or entry) counted
	posStamp []int   // per position: the last projection scan that took it
	clock    int     // source of fresh stamps
	levels   []level // per depth scratch
}

type level struct {
	sup     []int     // weighted support per item
	bucket  [][]entry // projection per item, reused across calls
	touched []int32
}

func newMiner(db *seqDB, opts PatternOptions, guide *trie) *miner {
	mn := &miner{
		db:          db,
		minSup:      max(opts.MinSupport, 1),
		maxLen:      opts.MaxLength,
		contiguous:  opts.Contiguous,
		maxGap:      opts.MaxGap,
		constrained: opts.Contiguous || opts.MaxGap > 0,
		maxPatterns: opts.MaxPatterns,
		guide:       guide,
		stamp:       make([]int, len(db.items)),
	}
	if mn.maxPatterns == 0 {
		mn.maxPatterns = DefaultMaxPatterns
	}
	if mn.constrained {
		mn.posStamp = make([]int, len(db.data))
	}
	return mn
}

func (mn *miner) level(depth int) *level {
	for len(mn.levels) <= depth {
		m := len(mn.db.items)
		mn.levels = append(mn.levels, level{sup: make([]int, m), bucket: make([][]entry, m)})
	}
	return &mn.levels[depth]
}

func (mn *miner) run() error {
	root := make([]entry, 0, len(mn.db.weight))
	for s := range mn.db.weight {
		if mn.db.start[s] < mn.db.start[s+1] {
			root = append(root, entry{seq: int32(s), pos: mn.db.start[s]})
		}
	}
	return mn.grow(root, 0, mn.guide)
}

// span returns the positions [lo, hi) where the next item of a pattern may
// occur for entry e; at depth 0 anywhere in the sequence.
func (mn *miner) span(e entry, depth int) (lo, hi int32) {
	lo, hi = e.pos, mn.db.start[e.seq+1]
	if depth > 0 && mn.contiguous && hi > lo+1 {
		hi = lo + 1
	}
	return lo, hi
}

// gapOK reports whether position j may follow the last matched item of e:
// from the end of that item (of its run, when repeats are collapsed) to the
// start of j.
func (mn *miner) gapOK(e entry, j int32, depth int) bool {
	return depth == 0 || mn.maxGap == 0 || mn.db.times[j].Sub(mn.db.ends[e.pos-1]) <= mn.maxGap
}

// grow counts the items that extend the current prefix in proj (entries
// grouped by sequence) and recurses into each frequent one; when node is
// set, into each of node's children instead, recording their support.
//
// One scan does both jobs: it sums each item's support (once per sequence)
// and appends the item's projected entry to the item's bucket: the leftmost
// occurrence per sequence when unconstrained, every reachable end position
// (once each) when Contiguous or MaxGap apply. The buckets of depth d live
// in reusable per-depth scratch, valid while d's children are grown.
func (mn *miner) grow(proj []entry, depth int, node *trie) error {
	db := mn.db
	lv := mn.level(depth)
	lv.touched = lv.touched[:0]
	last := mn.maxLen > 0 && depth+1 >= mn.maxLen
	data, stamp, weight, sup, bucket := db.data, mn.stamp, db.weight, lv.sup, lv.bucket
	if !mn.constrained && node == nil {
		// The hot path: one entry per sequence, every later position.
		for _, e := range proj {
			mn.clock++
			c := mn.clock
			w := weight[e.seq]
			for j, it := range data[e.pos:db.start[e.seq+1]] {
				if stamp[it] == c {
					continue
				}
				stamp[it] = c
				if sup[it] == 0 {
					lv.touched = append(lv.touched, it)
				}
				sup[it] += w
				if !last {
					bucket[it] = append(bucket[it], entry{seq: e.seq, pos: e.pos + int32(j) + 1})
				}
			}
		}
	} else {
		lastSeq := int32(-1)
		seqClock := 0
		mn.clock++
		scan := mn.clock
		for _, e := range proj {
			if e.seq != lastSeq {
				lastSeq = e.seq
				mn.clock++
				seqClock = mn.clock
			}
			lo, hi := mn.span(e, depth)
			for j := lo; j < hi; j++ {
				if mn.maxGap > 0 && !mn.gapOK(e, j, depth) {
					break // times are sorted: every later position is too far
				}
				it := data[j]
				if node != nil {
					if _, ok := node.children[it]; !ok {
						continue
					}
				}
				if stamp[it] != seqClock {
					stamp[it] = seqClock
					if sup[it] == 0 {
						lv.touched = append(lv.touched, it)
					}
					sup[it] += weight[e.seq]
				} else if !mn.constrained {
					continue // unconstrained: leftmost occurrence only
				}
				if !last && mn.posStamp != nil && mn.posStamp[j] != scan {
					mn.posStamp[j] = scan
					bucket[it] = append(bucket[it], entry{seq: e.seq, pos: j + 1})
				} else if !last && mn.posStamp == nil {
					bucket[it] = append(bucket[it], entry{seq: e.seq, pos: j + 1})
				}
			}
		}
	}
	slices.Sort(lv.touched)
	var err error
	for _, it := range lv.touched {
		if err != nil {
			break
		}
		grow := sup[it] >= mn.minSup
		var child *trie
		if node != nil {
			child = node.children[it]
			child.support = sup[it]
			grow = len(child.children) > 0
		} else if grow {
			mn.prefix = append(mn.prefix, it)
			err = mn.emit(mn.prefix, sup[it])
			mn.prefix = mn.prefix[:len(mn.prefix)-1]
		}
		if err == nil && grow && !last && len(bucket[it]) > 0 {
			mn.prefix = append(mn.prefix, it)
			err = mn.grow(bucket[it], depth+1, child)
			mn.prefix = mn.prefix[:len(mn.prefix)-1]
		}
	}
	for _, it := range lv.touched {
		sup[it] = 0
		bucket[it] = bucket[it][:0]
	}
	return err
}
