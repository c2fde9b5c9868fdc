package journey

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/stage"
)

// GoldenPath is a pattern compared between converters and the rest.
type GoldenPath struct {
	Items []string `json:"items"`
	// Converted and Other are the pattern's support among the converted
	// sequences and among the other sequences.
	Converted int `json:"converted"`
	Other     int `json:"other"`
	// Confidence is P(convert | pattern) = Converted / (Converted + Other).
	Confidence float64 `json:"confidence"`
	// Lift is Confidence over the base rate, the share of converted
	// sequences among all: above 1, the pattern is more common among
	// converters than overall.
	Lift float64 `json:"lift"`
}

// GoldenPaths finds the golden conversion paths: the patterns with at
// least opts.MinSupport support among the converted sequences (mined with
// [MinePatterns] and the same options), each with its support among the
// other sequences, its confidence and its lift. The result is ranked by
// lift, then converted support (descending), then items. Sequences with an
// item [MinePatterns] refuses are left out (of the base rate too) and named
// in the error.
func GoldenPaths(converted, other [][]string, opts PatternOptions) ([]GoldenPath, error) {
	if err := opts.validate(false); err != nil {
		return nil, err
	}
	var errs errorList
	conv := newDBBuilder(false)
	n := 0
	for i, s := range converted {
		if err := checkPath(fmt.Sprintf("converted sequence %d", i+1), s, false); err != nil {
			errs.add(err)
			continue
		}
		conv.add(s, nil, 1, opts.CollapseRepeats)
		n++
	}
	good := make([]countedSeq, 0, len(other))
	for i, s := range other {
		if err := checkPath(fmt.Sprintf("other sequence %d", i+1), s, false); err != nil {
			errs.add(err)
			continue
		}
		good = append(good, countedSeq{items: s, count: 1})
	}
	cdb := conv.build()
	pats, err := cdb.mine(opts)
	if err != nil {
		return mined[GoldenPath](nil, err)(&errs)
	}
	return mined(golden(pats, cdb.items, n, good, opts))(&errs)
}

// golden ranks pats, mined from nConverted converted sequences whose
// items are dict, by their support among the other sequences, each
// standing for count of them.
func golden(pats []Pattern, dict []string, nConverted int, other []countedSeq, opts PatternOptions) ([]GoldenPath, error) {
	// Count the patterns' support among the others with the same miner,
	// guided by a trie of the patterns and sharing the converters' item
	// ids (items the converters never had cannot be in a pattern).
	ids := make(map[string]int32, len(dict))
	for i, it := range dict {
		ids[it] = int32(i)
	}
	root := &trie{}
	nodes := make([]*trie, len(pats))
	for i, p := range pats {
		n := root
		for _, it := range p.Items {
			n = n.child(ids[it])
		}
		nodes[i] = n
	}
	ob := newDBBuilder(false)
	nOther := 0
	for _, s := range other {
		ob.add(s.items, nil, s.count, opts.CollapseRepeats)
		nOther += s.count
	}
	odb := ob.build()
	// Re-intern the others with the converters' dictionary; unknown items
	// get an id past it, which no trie node has.
	remap := make([]int32, len(odb.items))
	for i, it := range odb.items {
		if id, ok := ids[it]; ok {
			remap[i] = id
		} else {
			remap[i] = int32(len(dict))
		}
	}
	for i, id := range odb.data {
		odb.data[i] = remap[id]
	}
	odb.items = append(slices.Clone(dict), "")
	if len(pats) > 0 {
		if err := newMiner(odb, PatternOptions{Contiguous: opts.Contiguous, MaxLength: opts.MaxLength, MaxPatterns: -1}, root).run(); err != nil {
			return nil, err
		}
	}
	// Shares of sums taken in float64: each side is at most MaxCount,
	// their sum past an int where int is 32 bits.
	share := func(a, b int) float64 {
		if a == 0 && b == 0 {
			return 0
		}
		return float64(a) / (float64(a) + float64(b))
	}
	base := share(nConverted, nOther)
	out := make([]GoldenPath, len(pats))
	for i, p := range pats {
		g := GoldenPath{Items: p.Items, Converted: p.Support, Other: nodes[i].support}
		g.Confidence = share(g.Converted, g.Other)
		if base > 0 {
			g.Lift = g.Confidence / base
		}
		out[i] = g
	}
	slices.SortStableFunc(out, func(a, b GoldenPath) int {
		if c := cmp.Compare(b.Lift, a.Lift); c != 0 {
			return c
		}
		if c := cmp.Compare(b.Converted, a.Converted); c != 0 {
			return c
		}
		return slices.Compare(a.Items, b.Items)
	})
	return out, nil
}

// PatternAccumulator collects sequences for pattern mining so that shards
// can be filled separately and merged. It follows the accumulator contract
// of the leadkit module (see "Specs, results and accumulators" in the root
// package documentation). Pattern support is not additive across shards (a
// pattern frequent overall may be rare in every shard), so the accumulator
// keeps the distinct sequences with their counts, which merge by addition;
// Result then runs PrefixSpan once over the merged multiset, with the same
// result as [MinePatterns] over every sequence. Its memory is the distinct
// sequences, typically far fewer than the leads. Not safe for concurrent
// use.
type PatternAccumulator struct {
	opts PatternOptions
	seqs map[string]*countedSeq
	n    int
	key  strings.Builder
	buf  []string
}

type countedSeq struct {
	items []string
	count int
}

// NewPatternAccumulator returns an empty accumulator that mines with opts.
// Invalid options, and MaxGap (it needs timed sequences: use
// [MineTimedPatterns]), are an error wrapping [leadkit.ErrInvalid].
func NewPatternAccumulator(opts PatternOptions) (*PatternAccumulator, error) {
	if err := opts.validate(false); err != nil {
		return nil, err
	}
	return &PatternAccumulator{opts: opts, seqs: map[string]*countedSeq{}}, nil
}

// Options returns the options a was made with.
func (a *PatternAccumulator) Options() PatternOptions { return a.opts }

// Add counts one sequence (copied, with its repeats collapsed when
// CollapseRepeats is set). A sequence with an empty item, or one that is
// not valid text or is over [leadkit.MaxStringBytes], is refused with a
// [*PathError] and nothing is counted. Once Len is at [MaxCount] (every
// pattern's support is at most Len), Add refuses every sequence with an
// error wrapping [leadkit.ErrInvalid] naming the cap.
func (a *PatternAccumulator) Add(seq []string) error {
	if err := checkPath("sequence", seq, false); err != nil {
		return err
	}
	if a.n == MaxCount {
		return fmt.Errorf("journey: patterns: %w: more than %d sequences (MaxCount)", leadkit.ErrInvalid, MaxCount)
	}
	if a.opts.CollapseRepeats {
		p := a.buf[:0]
		for i, it := range seq {
			if i == 0 || it != seq[i-1] {
				p = append(p, it)
			}
		}
		seq, a.buf = p, p[:0]
	}
	a.addN(seq, 1)
	return nil
}

func (a *PatternAccumulator) addN(seq []string, n int) {
	a.key.Reset()
	writeKey(&a.key, seq)
	c := a.seqs[a.key.String()]
	if c == nil {
		c = &countedSeq{items: slices.Clone(seq)}
		a.seqs[a.key.String()] = c
	}
	c.count += n
	a.n += n
}

// Len returns the number of sequences added (with repeats).
func (a *PatternAccumulator) Len() int { return a.n }

// Merge adds other's sequences into a; other is not modified.
// Accumulators with different options refuse to merge, and so does a
// merge that would take Len past [MaxCount]: Merge changes nothing and
// returns an error wrapping [leadkit.ErrInvalid].
func (a *PatternAccumulator) Merge(other *PatternAccumulator) error {
	if other == nil || other == a {
		return fmt.Errorf("journey: patterns: %w: merge needs another accumulator (not nil, not itself)", leadkit.ErrInvalid)
	}
	if err := a.sameOptions(other); err != nil {
		return err
	}
	if a.n > MaxCount-other.n {
		return fmt.Errorf("journey: patterns: %w: merged, more than %d sequences (MaxCount)", leadkit.ErrInvalid, MaxCount)
	}
	for _, c := range other.seqs {
		a.addN(c.items, c.count)
	}
	return nil
}

func (a *PatternAccumulator) sameOptions(other *PatternAccumulator) error {
	if a.opts != other.opts {
		return fmt.Errorf("journey: patterns: %w: cannot combine accumulators with different options (%+v and %+v)", leadkit.ErrMismatch, a.opts, other.opts)
	}
	return nil
}

// db builds the weighted database, in key order so the result does not
// depend on map order. Sequences were collapsed as they were added.
func (a *PatternAccumulator) db() *seqDB {
	b := newDBBuilder(false)
	for _, k := range slices.Sorted(maps.Keys(a.seqs)) {
		c := a.seqs[k]
		b.add(c.items, nil, c.count, false)
	}
	return b.build()
}

// Result runs [MinePatterns] over every sequence added or merged. Its
// error is MaxPatterns being exceeded.
func (a *PatternAccumulator) Result() ([]Pattern, error) {
	return a.db().mine(a.opts)
}

// GoldenPaths runs [GoldenPaths] with a's sequences as the converted ones
// and other's as the rest. Accumulators with different options are an
// error wrapping [leadkit.ErrInvalid].
func (a *PatternAccumulator) GoldenPaths(other *PatternAccumulator) ([]GoldenPath, error) {
	if err := a.sameOptions(other); err != nil {
		return nil, err
	}
	cdb := a.db()
	pats, err := cdb.mine(a.opts)
	if err != nil {
		return nil, err
	}
	// The others, each once with its count as its weight, in the order
	// of their keys.
	others := make([]countedSeq, 0, len(other.seqs))
	for _, k := range slices.Sorted(maps.Keys(other.seqs)) {
		others = append(others, *other.seqs[k])
	}
	return golden(pats, cdb.items, a.n, others, a.opts)
}

// Sequence returns the lead's path: the value of key for each event in time
// order, skipping events with an empty value or no time. tl need not be
// sorted.
func Sequence(tl Timeline, key Key) []string {
	return sequenceUntil(tl, key, time.Time{})
}

func sequenceUntil(tl Timeline, key Key, until time.Time) []string {
	events := tl.Events
	if !slices.IsSortedFunc(events, func(x, y leadkit.Event) int { return x.Time.Compare(y.Time) }) {
		events = slices.Clone(events)
		leadkit.SortEvents(events)
	}
	out := make([]string, 0, len(events))
	for _, e := range events {
		v := key.Of(e)
		if v == "" || e.Time.IsZero() || (!until.IsZero() && e.Time.After(until)) {
			continue
		}
		out = append(out, v)
	}
	return out
}

// TimedSequence is [Sequence] with each item's time, for
// [MineTimedPatterns].
func TimedSequence(tl Timeline, key Key) []TimedItem {
	events := slices.Clone(tl.Events)
	leadkit.SortEvents(events)
	out := make([]TimedItem, 0, len(events))
	for _, e := range events {
		if v := key.Of(e); v != "" && !e.Time.IsZero() {
			out = append(out, TimedItem{Item: v, Time: e.Time})
		}
	}
	return out
}

// ConversionPaths splits leads into converters and the rest for
// [GoldenPaths]: a lead with an entry into stage is a converter, and its
// path is cut after its first entry (touches at the entry's time count);
// the others' paths are whole. Leads with entries but no timeline count as
// converters with an empty path (they weigh in the base rate). Only entries
// into stage count; pass [stage.Reach] to treat leads that skipped the
// stage as converters. Paths are
// in lead ID order. Bad entries are skipped and named in the error.
func ConversionPaths(timelines []Timeline, entries []stage.Visit, stage string, key Key) (converted, other [][]string, err error) {
	if stage == "" || !key.valid() {
		return nil, nil, fmt.Errorf("journey: conversion paths: %w: need a stage and a key (stage %q, key %q)", leadkit.ErrInvalid, stage, key)
	}
	var errs errorList
	first := firstEntries(entries, stage, time.Time{}, time.Time{}, &errs)
	idx := indexTimelines(timelines)
	leads := slices.Collect(maps.Keys(first))
	for id := range idx {
		if _, ok := first[id]; !ok {
			leads = append(leads, id)
		}
	}
	slices.Sort(leads)
	for _, id := range leads {
		tl := idx[id]
		if at, ok := first[id]; ok {
			var p []string
			if tl != nil {
				p = sequenceUntil(*tl, key, at)
			}
			converted = append(converted, p)
		} else {
			other = append(other, Sequence(*tl, key))
		}
	}
	return converted, other, errs.err()
}
