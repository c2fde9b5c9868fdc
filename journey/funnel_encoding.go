package journey

import (
	"bytes"
	"encoding"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/binenc"
	"github.com/leadkit/leadkit/internal/stats"
)

// The binary encoding of a FunnelAccumulator carries its state between
// processes: a runner that fills accumulators on many workers (the beam
// module) ships them to the worker that merges them. It follows the
// encoding of the stage funnel's accumulator. Layout, every integer a
// varint (encoding/binary):
//
//	"LKJF" 0x02                      magic and format version
//	uvarint n, n bytes               the FunnelSpec as JSON
//	uvarint leads                    timelines added (at most MaxCount)
//	uvarint count                    leads that reached step 1
//	(s-1) x (uvarint count, count durations)
//	                                 per step 2..s: the leads that reached
//	                                 it and their times from the step before
//	counts[s] durations              the time to convert of the leads that
//	                                 reached the last step
//
// The durations of a count up to FunnelSpec.Quantiles' exact threshold
// are the durations, sorted: the first a varint, the rest uvarint
// differences from the one before; past it, the sketch that holds them
// (minimum, maximum, the 128-bit sum, the zeros and the bucket counts;
// see stats.Summary.AppendBinary). Version 1 (every duration, whatever
// the count) is no longer read.
//
// The encoding is canonical: accumulators of the same spec holding the
// same counts and durations encode to the same bytes, whatever the order
// their timelines were added or merged in. The spec travels as data and
// its When predicates are compiled again on decode (as CompileFunnel
// does: a spec it refuses is refused). Decoding checks everything it
// reads (counts never grow along the steps nor exceed the leads, every
// duration lies in [0, window], no trailing bytes), and allocates nothing
// for a length the bytes left cannot hold, so a corrupted or foreign
// input is an error, never a panic or an impossible funnel.

var journeyFunnelMagic = []byte("LKJF\x02")

var (
	_ encoding.BinaryMarshaler   = (*FunnelAccumulator)(nil)
	_ encoding.BinaryUnmarshaler = (*FunnelAccumulator)(nil)
)

// MarshalBinary encodes the accumulator's state (its spec and everything
// added or merged so far) in a compact, versioned and canonical form that
// UnmarshalBinary reads back; the result of the decoded accumulator is the
// result of a. An accumulator not made by [NewFunnelAccumulator] or
// [CompiledFunnel.NewAccumulator] (the zero value) has no state to
// encode: an error wrapping leadkit.ErrInvalid.
func (a *FunnelAccumulator) MarshalBinary() ([]byte, error) {
	if a == nil || a.f == nil {
		return nil, fmt.Errorf("journey: funnel: encode: %w: accumulator not made by NewFunnelAccumulator", leadkit.ErrInvalid)
	}
	spec, err := json.Marshal(a.f.spec)
	if err != nil {
		return nil, fmt.Errorf("journey: funnel: encode: %w", err)
	}
	b := slices.Clone(journeyFunnelMagic)
	b = binary.AppendUvarint(b, uint64(len(spec)))
	b = append(b, spec...)
	b = binary.AppendUvarint(b, uint64(a.leads))
	for s, c := range a.counts {
		b = binary.AppendUvarint(b, uint64(c))
		if s > 0 {
			b = a.gaps[s].AppendBinary(b)
		}
	}
	b = a.convert.AppendBinary(b)
	return b, nil
}

// UnmarshalBinary replaces a's state with the one MarshalBinary encoded in
// data; a may be the zero value (new(FunnelAccumulator)). Data that is not
// such an encoding, or encodes a spec CompileFunnel refuses or counts no
// funnel can hold, is refused with an error wrapping leadkit.ErrInvalid,
// and a is left unchanged.
func (a *FunnelAccumulator) UnmarshalBinary(data []byte) error {
	d := binenc.Decoder{B: data, Prefix: "journey: funnel: decode: "}
	if !bytes.HasPrefix(data, journeyFunnelMagic[:4]) {
		return d.Fail("not a journey funnel accumulator")
	}
	if len(data) < len(journeyFunnelMagic) || data[4] != journeyFunnelMagic[4] {
		return d.Fail("unknown format version")
	}
	d.B = data[len(journeyFunnelMagic):]
	specJSON := d.Bytes("spec")
	if d.Err != nil {
		return d.Err
	}
	spec, err := ParseFunnelSpec(specJSON)
	if err != nil {
		return fmt.Errorf("journey: funnel: decode: %w", err)
	}
	f, err := CompileFunnel(spec)
	if err != nil {
		return fmt.Errorf("journey: funnel: decode: %w", err)
	}
	out := f.NewAccumulator()
	out.leads = d.Total("leads")
	prev := out.leads
	// Every step of a lead's best attempt lies within the window of its start.
	over := "duration beyond the window " + leadkit.FormatDuration(f.window)
	for s := range out.counts {
		c := d.Total("count")
		if d.Err == nil && c > prev {
			if s == 0 {
				d.Fail("step 1: count %d > leads %d", c, prev)
			} else {
				d.Fail("step %d: count %d > step %d count %d", s+1, c, s, prev)
			}
		}
		out.counts[s] = c
		prev = c
		if s > 0 {
			out.gaps[s] = stats.ReadSummary(&d, f.quantiles, c, f.window, over)
		}
	}
	out.convert = stats.ReadSummary(&d, f.quantiles, out.counts[len(out.counts)-1], f.window, over)
	if d.Err == nil && len(d.B) > 0 {
		d.Fail("%d bytes after the end", len(d.B))
	}
	if d.Err != nil {
		return d.Err
	}
	*a = *out
	return nil
}
