package journey

import (
	"encoding"
	"slices"
	"strings"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/binenc"
)

// The binary encoding of a PathAccumulator carries its state between
// processes (the beam module fills accumulators on many workers and
// merges them on one). Layout, every integer a varint (encoding/binary)
// in its shortest form:
//
//	"LKJP" 0x01                      magic and format version
//	uvarint n, n bytes               the PathOptions as JSON
//	uvarint i, i x (uvarint n, n bytes)
//	                                 the distinct items in byte order
//	uvarint p, p x (uvarint k, k x uvarint item, uvarint count)
//	                                 the distinct paths in order of their
//	                                 items, each as places in the item list
//	                                 and the number of leads that took it
//
// Transitions and the total are not stored: they follow from the paths.
// The encoding is canonical: accumulators of the same options that
// counted the same paths encode to the same bytes, whatever the order
// their paths were added or merged in, and an input that decodes is the
// encoding of its state (see encoding.go). Decoding checks every path as
// Add would have left it (items valid and not markers, no runs when
// CollapseRepeats, at most MaxLength items), counts of at least 1, the
// total and every transition's count at most MaxCount, and allocates
// nothing for a length the bytes left cannot hold.

var pathsMagic = []byte("LKJP\x01")

var (
	_ encoding.BinaryMarshaler   = (*PathAccumulator)(nil)
	_ encoding.BinaryUnmarshaler = (*PathAccumulator)(nil)
)

// MarshalBinary encodes the accumulator's state (its options and every
// path counted so far) in a compact, versioned and canonical form that
// UnmarshalBinary reads back; the decoded accumulator has the same Result
// and merges as a would. An accumulator not made by [NewPathAccumulator]
// (the zero value) has no state to encode: an error wrapping
// leadkit.ErrInvalid.
func (a *PathAccumulator) MarshalBinary() ([]byte, error) {
	if a == nil || a.paths == nil {
		return nil, notMade("paths", "NewPathAccumulator")
	}
	b, err := appendOptions(slices.Clone(pathsMagic), "journey: paths: encode: ", a.opts)
	if err != nil {
		return nil, err
	}
	seqs := make([]binenc.Seq, 0, len(a.paths))
	for _, c := range a.paths {
		seqs = append(seqs, binenc.Seq{Items: c.Items, Count: c.Count})
	}
	return binenc.AppendSeqs(b, seqs), nil
}

// UnmarshalBinary replaces a's state with the one MarshalBinary encoded
// in data; a may be the zero value (new(PathAccumulator)). Data that is
// not such an encoding, or encodes options NewPathAccumulator refuses or
// paths Add could not have counted, is refused with an error wrapping
// leadkit.ErrInvalid, and a is left unchanged.
func (a *PathAccumulator) UnmarshalBinary(data []byte) error {
	d := binenc.Decoder{B: data, Prefix: "journey: paths: decode: ", Canonical: true}
	if !d.Magic(pathsMagic, "a path accumulator") {
		return d.Err
	}
	opts, raw, err := readOptions(&d, ParsePathOptions)
	if err != nil {
		return err
	}
	out, err := NewPathAccumulator(opts)
	if err != nil {
		return prefixed(&d, err)
	}
	if err := canonicalOptions(&d, raw, out.opts); err != nil {
		return err
	}
	seqs := d.Seqs(func(it string) string {
		if it == "" {
			return "is empty"
		}
		if it == PathStart || it == PathEnd {
			return "is a marker, not an item"
		}
		return leadkit.CheckText(it, leadkit.MaxStringBytes)
	}, func(items []string) string {
		if out.opts.MaxLength > 0 && len(items) > out.opts.MaxLength {
			return "longer than max length"
		}
		if out.opts.CollapseRepeats && hasRun(items) {
			return "a repeated item with collapse repeats"
		}
		return ""
	})
	if err := d.End(); err != nil {
		return err
	}
	for i, s := range seqs {
		if msg := out.fits(s.Items, s.Count); msg != "" {
			return d.Fail("path %d: %s", i+1, msg)
		}
		out.addN(s.Items, s.Count)
	}
	out.key = strings.Builder{}
	*a = *out
	return nil
}

// hasRun reports whether items holds the same item twice in a row.
func hasRun(items []string) bool {
	for i := 1; i < len(items); i++ {
		if items[i] == items[i-1] {
			return true
		}
	}
	return false
}
