package journey

import (
	"encoding"
	"slices"
	"strings"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/binenc"
)

// The binary encoding of a PatternAccumulator carries its state between
// processes (the beam module fills accumulators on many workers and
// merges them on one, where the patterns are mined once). Layout, every
// integer a varint (encoding/binary) in its shortest form:
//
//	"LKJS" 0x01                      magic and format version
//	uvarint n, n bytes               the PatternOptions as JSON
//	uvarint i, i x (uvarint n, n bytes)
//	                                 the distinct items in byte order
//	uvarint s, s x (uvarint k, k x uvarint item, uvarint count)
//	                                 the distinct sequences in order of
//	                                 their items, each as places in the
//	                                 item list and how often it was added
//
// It is the layout of the path accumulator's encoding (the same multiset
// of sequences, internal/binenc's AppendSeqs), with its own magic. The
// encoding is canonical: accumulators of the same options holding the
// same sequences encode to the same bytes, whatever the order they were
// added or merged in, and an input that decodes is the encoding of its
// state (see encoding.go). Decoding checks the options as
// NewPatternAccumulator does (MaxGap is refused), every sequence as Add
// would have left it (items valid, no runs when CollapseRepeats), counts
// of at least 1 adding up to at most MaxCount, and allocates nothing for
// a length the bytes left cannot hold.

var patternsMagic = []byte("LKJS\x01")

var (
	_ encoding.BinaryMarshaler   = (*PatternAccumulator)(nil)
	_ encoding.BinaryUnmarshaler = (*PatternAccumulator)(nil)
)

// MarshalBinary encodes the accumulator's state (its options and every
// sequence added or merged so far) in a compact, versioned and canonical
// form that UnmarshalBinary reads back; the decoded accumulator mines the
// same patterns and golden paths, and merges as a would. An accumulator
// not made by [NewPatternAccumulator] (the zero value) has no state to
// encode: an error wrapping leadkit.ErrInvalid.
func (a *PatternAccumulator) MarshalBinary() ([]byte, error) {
	if a == nil || a.seqs == nil {
		return nil, notMade("patterns", "NewPatternAccumulator")
	}
	b, err := appendOptions(slices.Clone(patternsMagic), "journey: patterns: encode: ", a.opts)
	if err != nil {
		return nil, err
	}
	seqs := make([]binenc.Seq, 0, len(a.seqs))
	for _, c := range a.seqs {
		seqs = append(seqs, binenc.Seq{Items: c.items, Count: c.count})
	}
	return binenc.AppendSeqs(b, seqs), nil
}

// UnmarshalBinary replaces a's state with the one MarshalBinary encoded
// in data; a may be the zero value (new(PatternAccumulator)). Data that
// is not such an encoding, or encodes options NewPatternAccumulator
// refuses or sequences Add could not have kept, is refused with an error
// wrapping leadkit.ErrInvalid, and a is left unchanged.
func (a *PatternAccumulator) UnmarshalBinary(data []byte) error {
	d := binenc.Decoder{B: data, Prefix: "journey: patterns: decode: ", Canonical: true}
	if !d.Magic(patternsMagic, "a pattern accumulator") {
		return d.Err
	}
	opts, raw, err := readOptions(&d, ParsePatternOptions)
	if err != nil {
		return err
	}
	out, err := NewPatternAccumulator(opts)
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
		return leadkit.CheckText(it, leadkit.MaxStringBytes)
	}, func(items []string) string {
		if out.opts.CollapseRepeats && hasRun(items) {
			return "a repeated item with collapse repeats"
		}
		return ""
	})
	if err := d.End(); err != nil {
		return err
	}
	for _, s := range seqs {
		out.addN(s.Items, s.Count)
	}
	out.key = strings.Builder{}
	*a = *out
	return nil
}
