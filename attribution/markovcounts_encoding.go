package attribution

import (
	"bytes"
	"cmp"
	"encoding"
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	"github.com/leadkit/leadkit"
)

// The binary encoding of a MarkovCounts carries its state between
// processes: a runner that fills accumulators on many workers (the beam
// module) ships them to the worker that merges them. Layout, every integer
// a uvarint (encoding/binary) in its shortest form, every float64 its 8 IEEE 754 bytes, little
// endian:
//
//	"LKMC" 0x01                      magic and format version
//	uvarint order                    1 to MaxMarkovOrder
//	byte flags                       1 keep repeats, 2 collapse channels,
//	                                 4 full (over MaxMarkovStates)
//	uvarint added                    paths added (zero-weight ones too)
//	float64 conversions, value, nulls  the totals
//	uvarint c, c x (uvarint n, n bytes)
//	                                 channel names in byte order
//	uvarint s, s x (uvarint k, k x uvarint channel)
//	                                 the states' windows of channel indexes,
//	                                 in order (shorter first on a common
//	                                 prefix); not when full
//	(s+1) x (float64 value, uvarint e, e x (uvarint to, float64 weight))
//	                                 per state, Start first: the value of
//	                                 the conversions leaving it and its
//	                                 transitions by target (0 null, 1
//	                                 conversion, 1+i the state i);
//	                                 not when full
//
// The encoding is canonical: counts of the same spec holding the same
// transition weights encode to the same bytes, whatever the order their
// paths were added or merged in (channels, states and transitions are
// numbered by name, not by arrival). Decoded counts are numbered the same
// way, so their Result does not depend on the order either. Counts over
// MaxMarkovStates keep only their totals and channel names (the states
// can no longer be solved, see [MarkovCounts.Result]). Decoding checks
// everything it reads (the spec as NewMarkovCounts does, channel names as
// ValidatePaths does, windows against the order, weights finite and
// positive, every state entered, no trailing bytes), so a corrupted or
// foreign input is an error, never a panic or a chain no paths make.

var markovMagic = []byte("LKMC\x01")

const (
	markovFlagKeep     = 1
	markovFlagCollapse = 2
	markovFlagFull     = 4
)

var (
	_ encoding.BinaryMarshaler   = (*MarkovCounts)(nil)
	_ encoding.BinaryUnmarshaler = (*MarkovCounts)(nil)
)

// MarshalBinary encodes the counts (their spec and everything added or
// merged so far) in a compact, versioned and canonical form that
// UnmarshalBinary reads back; the decoded counts have the same Result.
// Counts not made by NewMarkovCounts (the zero value) have no state to
// encode: an error wrapping leadkit.ErrInvalid.
func (c *MarkovCounts) MarshalBinary() ([]byte, error) {
	if c == nil || c.in == nil || len(c.rows) == 0 {
		return nil, fmt.Errorf("attribution: markov: encode: %w: counts not made by NewMarkovCounts", leadkit.ErrInvalid)
	}
	b := slices.Clone(markovMagic)
	b = binary.AppendUvarint(b, uint64(c.order))
	var flags byte
	if c.keepRepeats {
		flags |= markovFlagKeep
	}
	if c.collapseChannels {
		flags |= markovFlagCollapse
	}
	if c.full {
		flags |= markovFlagFull
	}
	b = append(b, flags)
	b = binary.AppendUvarint(b, uint64(c.added))
	b = appendFloat(b, c.conv)
	b = appendFloat(b, c.val)
	b = appendFloat(b, c.nulls)

	// Channels by name: chanRank maps an id to its place.
	byName := make([]int32, len(c.in.names))
	for i := range byName {
		byName[i] = int32(i)
	}
	slices.SortFunc(byName, func(x, y int32) int { return cmp.Compare(c.in.names[x], c.in.names[y]) })
	chanRank := make([]int32, len(byName))
	b = binary.AppendUvarint(b, uint64(len(byName)))
	for rank, id := range byName {
		chanRank[id] = int32(rank)
		name := c.in.names[id]
		b = binary.AppendUvarint(b, uint64(len(name)))
		b = append(b, name...)
	}
	if c.full {
		return b, nil
	}

	// States by window of ranks: stateRank maps a state id to its place
	// (Start stays 0).
	n := len(c.rows) - 1
	wins := make([][]int32, len(c.rows))
	for s := 1; s <= n; s++ {
		w := make([]int32, len(c.stateChans[s]))
		for i, id := range c.stateChans[s] {
			w[i] = chanRank[id]
		}
		wins[s] = w
	}
	byWin := make([]int32, n)
	for i := range byWin {
		byWin[i] = int32(i + 1)
	}
	slices.SortFunc(byWin, func(x, y int32) int { return slices.Compare(wins[x], wins[y]) })
	stateRank := make([]int32, len(c.rows))
	b = binary.AppendUvarint(b, uint64(n))
	for i, s := range byWin {
		stateRank[s] = int32(i + 1)
		b = binary.AppendUvarint(b, uint64(len(wins[s])))
		for _, r := range wins[s] {
			b = binary.AppendUvarint(b, uint64(r))
		}
	}

	// Rows in state order, transitions by target.
	type edge struct {
		to uint64
		w  float64
	}
	var edges []edge
	for i := -1; i < n; i++ {
		s := int32(0)
		if i >= 0 {
			s = byWin[i]
		}
		r := &c.rows[s]
		edges = edges[:0]
		for j, to := range r.to {
			var code uint64
			switch {
			case to == toNull:
				code = 0
			case to == toConv:
				code = 1
			default:
				code = 1 + uint64(stateRank[to])
			}
			edges = append(edges, edge{code, r.w[j]})
		}
		slices.SortFunc(edges, func(x, y edge) int { return cmp.Compare(x.to, y.to) })
		b = appendFloat(b, c.convValue[s])
		b = binary.AppendUvarint(b, uint64(len(edges)))
		for _, e := range edges {
			b = binary.AppendUvarint(b, e.to)
			b = appendFloat(b, e.w)
		}
	}
	return b, nil
}

// UnmarshalBinary replaces c's state with the one MarshalBinary encoded in
// data; c may be the zero value (new(MarkovCounts)). Data that is not such
// an encoding, or encodes a spec NewMarkovCounts refuses or counts no
// paths can make, is refused with an error wrapping leadkit.ErrInvalid,
// and c is left unchanged.
func (c *MarkovCounts) UnmarshalBinary(data []byte) error {
	d := markovDecoder{b: data}
	if !bytes.HasPrefix(data, markovMagic[:4]) {
		return d.fail("not markov counts")
	}
	if len(data) < len(markovMagic) || data[4] != markovMagic[4] {
		return d.fail("unknown format version")
	}
	d.b = data[len(markovMagic):]
	order := d.uvarint("order")
	flags := d.byte("flags")
	if d.err != nil {
		return d.err
	}
	if order < 1 || order > MaxMarkovOrder {
		return d.fail("order %d, want 1 to %d", order, MaxMarkovOrder)
	}
	if flags&^(markovFlagKeep|markovFlagCollapse|markovFlagFull) != 0 {
		return d.fail("unknown flags %#x", flags)
	}
	out, err := NewMarkovCounts(Markov{Order: int(order), KeepRepeats: flags&markovFlagKeep != 0, CollapseChannels: flags&markovFlagCollapse != 0})
	if err != nil {
		return fmt.Errorf("attribution: markov: decode: %w", err)
	}
	added := d.uvarint("added")
	if d.err == nil && added > math.MaxInt {
		d.fail("added: %d is out of range", added)
	}
	out.added = int(added)
	out.conv = d.total("conversions")
	out.val = d.total("value")
	out.nulls = d.total("nulls")
	if d.err == nil && out.conv == 0 && out.val != 0 {
		d.fail("value %g without conversions", out.val)
	}

	nc := d.length("channels", 2)
	prev := ""
	for i := range nc {
		if d.err != nil {
			break
		}
		name := string(d.bytes("channel"))
		if d.err != nil {
			break
		}
		if !channelOK(name) {
			d.fail("channel %d: %s", i+1, badChannel(name))
		} else if i > 0 && name <= prev {
			d.fail("channel %q out of order or repeated", name)
		}
		prev = name
		out.in.id(name)
	}
	if d.err == nil && flags&markovFlagFull != 0 {
		out.full = true
	} else {
		out.decodeStates(&d)
	}
	if d.err == nil && len(d.b) > 0 {
		d.fail("%d bytes after the end", len(d.b))
	}
	if d.err != nil {
		return d.err
	}
	*c = *out
	return nil
}

// decodeStates reads the windows and the rows of counts that are not full
// into c, which holds the channels.
func (c *MarkovCounts) decodeStates(d *markovDecoder) {
	nc := len(c.in.names)
	n := d.length("states", 2)
	if d.err == nil && n > MaxMarkovStates {
		d.fail("%d states, at most %d (MaxMarkovStates) unless full", n, MaxMarkovStates)
	}
	var prev []int32
	win := make([]int32, 0, c.order)
	for i := range n {
		if d.err != nil {
			return
		}
		k := d.uvarint("window")
		if d.err == nil && (k < 1 || k > uint64(c.order)) {
			d.fail("state %d: window of %d channels at order %d", i+1, k, c.order)
		}
		win = win[:0]
		for j := range int(k) {
			id := d.uvarint("window channel")
			if d.err != nil {
				return
			}
			if id >= uint64(nc) {
				d.fail("state %d: channel %d of %d", i+1, id, nc)
				return
			}
			if c.collapseChannels && j > 0 && win[j-1] == int32(id) {
				d.fail("state %d: a repeated channel with collapsed channels", i+1)
				return
			}
			win = append(win, int32(id))
		}
		if d.err != nil {
			return
		}
		if i > 0 && slices.Compare(win, prev) <= 0 {
			d.fail("state %d out of order or repeated", i+1)
			return
		}
		var s int32
		if c.order == 1 {
			s = c.order1State(win[0])
		} else {
			s = c.windowState(win)
		}
		prev = c.stateChans[s]
	}
	entered := make([]bool, n+1)
	for s := 0; s <= n; s++ {
		v := d.float("conversion value")
		if d.err == nil && v < 0 {
			d.fail("state %d: negative conversion value", s)
		}
		c.convValue[s] = v
		e := d.length("transitions", 9)
		last := int64(-1)
		for range e {
			to := d.uvarint("transition target")
			w := d.float("transition weight")
			if d.err != nil {
				return
			}
			switch {
			case int64(to) <= last || to > uint64(n)+1:
				d.fail("state %d: transition to %d out of order, repeated or out of range", s, to)
			case w <= 0:
				d.fail("state %d: transition weight %g", s, w)
			case s == 0 && to < 2:
				d.fail("Start: a transition to a conversion or a null")
			case s > 0 && to == uint64(s)+1 && !c.keepRepeats:
				d.fail("state %d: a repeat without keep_repeats", s)
			}
			if d.err != nil {
				return
			}
			last = int64(to)
			target := toNull
			switch to {
			case 0:
			case 1:
				target = toConv
			default:
				target = int32(to - 1)
				entered[target] = true
			}
			c.rows[s].add(target, w)
		}
		if v > 0 && !slices.Contains(c.rows[s].to, toConv) {
			d.fail("state %d: conversion value without conversions", s)
			return
		}
	}
	for s := 1; s <= n && d.err == nil; s++ {
		if !entered[s] {
			d.fail("state %d is never entered", s)
		}
	}
	if d.err == nil && n > 0 && len(c.rows[0].to) == 0 {
		d.fail("states but no path from Start")
	}
}

func appendFloat(b []byte, v float64) []byte {
	return binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
}

// markovDecoder reads the encoding; the first error sticks and later
// reads return zero values.
type markovDecoder struct {
	b   []byte
	err error
}

func (d *markovDecoder) fail(format string, args ...any) error {
	if d.err == nil {
		d.err = fmt.Errorf("attribution: markov: decode: %w: %s", leadkit.ErrInvalid, fmt.Sprintf(format, args...))
	}
	return d.err
}

func (d *markovDecoder) uvarint(what string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 || n > 1 && d.b[n-1] == 0 { // a zero last byte: not the shortest form
		d.fail("%s: truncated or overlong number", what)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *markovDecoder) byte(what string) byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) == 0 {
		d.fail("%s: truncated", what)
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

// float reads a finite float64 that is not negative zero (which would
// make two encodings of the same counts).
func (d *markovDecoder) float(what string) float64 {
	if d.err != nil {
		return 0
	}
	if len(d.b) < 8 {
		d.fail("%s: truncated", what)
		return 0
	}
	bits := binary.LittleEndian.Uint64(d.b)
	d.b = d.b[8:]
	v := math.Float64frombits(bits)
	if !finite(v) || bits == 1<<63 {
		d.fail("%s: %g is not a finite number", what, v)
		return 0
	}
	return v
}

// total reads a non-negative total.
func (d *markovDecoder) total(what string) float64 {
	v := d.float(what)
	if d.err == nil && v < 0 {
		d.fail("%s: %g is negative", what, v)
	}
	return v
}

// length reads the number of items that follow, each at least size bytes:
// more than the bytes left hold is refused before anything is allocated.
func (d *markovDecoder) length(what string, size int) int {
	v := d.uvarint(what)
	if d.err == nil && v > uint64(len(d.b)/size) {
		d.fail("%s: %d items in %d bytes", what, v, len(d.b))
		return 0
	}
	return int(v)
}

func (d *markovDecoder) bytes(what string) []byte {
	n := d.length(what, 1)
	if d.err != nil {
		return nil
	}
	out := d.b[:n]
	d.b = d.b[n:]
	return out
}
