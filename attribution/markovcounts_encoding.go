package attribution

import (
	"bytes"
	"cmp"
	"encoding"
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/binenc"
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
//	uvarint added                    paths added (zero-weight ones too; at
//	                                 most journey.MaxCount)
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
	b = binenc.AppendFloat(b, c.conv)
	b = binenc.AppendFloat(b, c.val)
	b = binenc.AppendFloat(b, c.nulls)

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
		b = binenc.AppendFloat(b, c.convValue[s])
		b = binary.AppendUvarint(b, uint64(len(edges)))
		for _, e := range edges {
			b = binary.AppendUvarint(b, e.to)
			b = binenc.AppendFloat(b, e.w)
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
	d := markovDecoder{binenc.Decoder{B: data, Prefix: "attribution: markov: decode: ", Canonical: true}}
	if !bytes.HasPrefix(data, markovMagic[:4]) {
		return d.Fail("not markov counts")
	}
	if len(data) < len(markovMagic) || data[4] != markovMagic[4] {
		return d.Fail("unknown format version")
	}
	d.B = data[len(markovMagic):]
	order := d.Uvarint("order")
	flags := d.Byte("flags")
	if d.Err != nil {
		return d.Err
	}
	if order < 1 || order > MaxMarkovOrder {
		return d.Fail("order %d, want 1 to %d", order, MaxMarkovOrder)
	}
	if flags&^(markovFlagKeep|markovFlagCollapse|markovFlagFull) != 0 {
		return d.Fail("unknown flags %#x", flags)
	}
	out, err := NewMarkovCounts(Markov{Order: int(order), KeepRepeats: flags&markovFlagKeep != 0, CollapseChannels: flags&markovFlagCollapse != 0})
	if err != nil {
		return fmt.Errorf("attribution: markov: decode: %w", err)
	}
	out.added = d.Total("added")
	out.conv = d.total("conversions")
	out.val = d.total("value")
	out.nulls = d.total("nulls")
	if d.Err == nil && out.conv == 0 && out.val != 0 {
		d.Fail("value %g without conversions", out.val)
	}

	nc := d.Length("channels", 2)
	prev := ""
	for i := range nc {
		if d.Err != nil {
			break
		}
		name := string(d.Bytes("channel"))
		if d.Err != nil {
			break
		}
		if !channelOK(name) {
			d.Fail("channel %d: %s", i+1, badChannel(name))
		} else if i > 0 && name <= prev {
			d.Fail("channel %q out of order or repeated", name)
		}
		prev = name
		out.in.id(name)
	}
	if d.Err == nil && flags&markovFlagFull != 0 {
		out.full = true
	} else {
		out.decodeStates(&d)
	}
	if d.Err == nil && len(d.B) > 0 {
		d.Fail("%d bytes after the end", len(d.B))
	}
	if d.Err != nil {
		return d.Err
	}
	*c = *out
	return nil
}

// decodeStates reads the windows and the rows of counts that are not full
// into c, which holds the channels.
func (c *MarkovCounts) decodeStates(d *markovDecoder) {
	nc := len(c.in.names)
	n := d.Length("states", 2)
	if d.Err == nil && n > MaxMarkovStates {
		d.Fail("%d states, at most %d (MaxMarkovStates) unless full", n, MaxMarkovStates)
	}
	var prev []int32
	win := make([]int32, 0, c.order)
	for i := range n {
		if d.Err != nil {
			return
		}
		k := d.Uvarint("window")
		if d.Err == nil && (k < 1 || k > uint64(c.order)) {
			d.Fail("state %d: window of %d channels at order %d", i+1, k, c.order)
		}
		win = win[:0]
		for j := range int(k) {
			id := d.Uvarint("window channel")
			if d.Err != nil {
				return
			}
			if id >= uint64(nc) {
				d.Fail("state %d: channel %d of %d", i+1, id, nc)
				return
			}
			if c.collapseChannels && j > 0 && win[j-1] == int32(id) {
				d.Fail("state %d: a repeated channel with collapsed channels", i+1)
				return
			}
			win = append(win, int32(id))
		}
		if d.Err != nil {
			return
		}
		if i > 0 && slices.Compare(win, prev) <= 0 {
			d.Fail("state %d out of order or repeated", i+1)
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
		v := d.Float("conversion value")
		if d.Err == nil && v < 0 {
			d.Fail("state %d: negative conversion value", s)
		}
		c.convValue[s] = v
		e := d.Length("transitions", 9)
		last := int64(-1)
		for range e {
			to := d.Uvarint("transition target")
			w := d.Float("transition weight")
			if d.Err != nil {
				return
			}
			switch {
			case int64(to) <= last || to > uint64(n)+1:
				d.Fail("state %d: transition to %d out of order, repeated or out of range", s, to)
			case w <= 0:
				d.Fail("state %d: transition weight %g", s, w)
			case s == 0 && to < 2:
				d.Fail("Start: a transition to a conversion or a null")
			case s > 0 && to == uint64(s)+1 && !c.keepRepeats:
				d.Fail("state %d: a repeat without keep_repeats", s)
			}
			if d.Err != nil {
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
			d.Fail("state %d: conversion value without conversions", s)
			return
		}
	}
	for s := 1; s <= n && d.Err == nil; s++ {
		if !entered[s] {
			d.Fail("state %d is never entered", s)
		}
	}
	if d.Err == nil && n > 0 && len(c.rows[0].to) == 0 {
		d.Fail("states but no path from Start")
	}
}

// total reads a non-negative total.
func (d *markovDecoder) total(what string) float64 {
	v := d.Float(what)
	if d.Err == nil && v < 0 {
		d.Fail("%s: %g is negative", what, v)
	}
	return v
}

// markovDecoder reads the encoding (binenc.Decoder, numbers in their
// shortest form) and the counts' totals.
type markovDecoder struct{ binenc.Decoder }
