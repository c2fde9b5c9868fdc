package journey

import (
	"bytes"
	"encoding"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/leadkit/leadkit"
)

// The binary encoding of a FunnelAccumulator carries its state between
// processes: a runner that fills accumulators on many workers (the beam
// module) ships them to the worker that merges them. It follows the
// encoding of the stage funnel's accumulator. Layout, every integer a
// varint (encoding/binary):
//
//	"LKJF" 0x01                      magic and format version
//	uvarint n, n bytes               the FunnelSpec as JSON
//	uvarint leads                    timelines added
//	uvarint count                    leads that reached step 1
//	(s-1) x (uvarint count, count durations)
//	                                 per step 2..s: the leads that reached
//	                                 it and their times from the step before
//	counts[s] durations              the time to convert of the leads that
//	                                 reached the last step
//
// Durations are sorted: the first a varint, the rest uvarint differences
// from the one before.
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

var journeyFunnelMagic = []byte("LKJF\x01")

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
			b = appendSortedDurations(b, a.gaps[s])
		}
	}
	b = appendSortedDurations(b, a.convert)
	return b, nil
}

// UnmarshalBinary replaces a's state with the one MarshalBinary encoded in
// data; a may be the zero value (new(FunnelAccumulator)). Data that is not
// such an encoding, or encodes a spec CompileFunnel refuses or counts no
// funnel can hold, is refused with an error wrapping leadkit.ErrInvalid,
// and a is left unchanged.
func (a *FunnelAccumulator) UnmarshalBinary(data []byte) error {
	d := funnelDecoder{b: data}
	if !bytes.HasPrefix(data, journeyFunnelMagic[:4]) {
		return d.fail("not a journey funnel accumulator")
	}
	if len(data) < len(journeyFunnelMagic) || data[4] != journeyFunnelMagic[4] {
		return d.fail("unknown format version")
	}
	d.b = data[len(journeyFunnelMagic):]
	specJSON := d.bytes("spec")
	if d.err != nil {
		return d.err
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
	out.leads = d.count("leads")
	prev := out.leads
	for s := range out.counts {
		c := d.count("count")
		if d.err == nil && c > prev {
			if s == 0 {
				d.fail("step 1: count %d > leads %d", c, prev)
			} else {
				d.fail("step %d: count %d > step %d count %d", s+1, c, s, prev)
			}
		}
		out.counts[s] = c
		prev = c
		if s > 0 {
			out.gaps[s] = d.durations(c, f.window)
		}
	}
	out.convert = d.durations(out.counts[len(out.counts)-1], f.window)
	if d.err == nil && len(d.b) > 0 {
		d.fail("%d bytes after the end", len(d.b))
	}
	if d.err != nil {
		return d.err
	}
	*a = *out
	return nil
}

// appendSortedDurations appends ds sorted (a copy: the accumulator's order
// is left alone), the first as a varint, the rest as differences.
func appendSortedDurations(b []byte, ds []time.Duration) []byte {
	s := slices.Clone(ds)
	slices.Sort(s)
	for i, d := range s {
		if i == 0 {
			b = binary.AppendVarint(b, int64(d))
		} else {
			b = binary.AppendUvarint(b, uint64(d-s[i-1]))
		}
	}
	return b
}

// funnelDecoder reads the encoding; the first error sticks and later reads
// return zero values.
type funnelDecoder struct {
	b   []byte
	err error
}

func (d *funnelDecoder) fail(format string, args ...any) error {
	if d.err == nil {
		d.err = fmt.Errorf("journey: funnel: decode: %w: %s", leadkit.ErrInvalid, fmt.Sprintf(format, args...))
	}
	return d.err
}

func (d *funnelDecoder) uvarint(what string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("%s: truncated or overlong number", what)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *funnelDecoder) varint(what string) int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("%s: truncated or overlong number", what)
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads a non-negative int.
func (d *funnelDecoder) count(what string) int {
	v := d.uvarint(what)
	if v > math.MaxInt32 {
		d.fail("%s: %d is out of range", what, v)
		return 0
	}
	return int(v)
}

// bytes reads a length and that many bytes: a length longer than the
// bytes left is refused.
func (d *funnelDecoder) bytes(what string) []byte {
	v := d.uvarint(what)
	if d.err == nil && v > uint64(len(d.b)) {
		d.fail("%s: %d bytes claimed, %d left", what, v, len(d.b))
	}
	if d.err != nil {
		return nil
	}
	out := d.b[:v]
	d.b = d.b[v:]
	return out
}

// durations reads k sorted durations, each in [0, window]: every step of
// a lead's best attempt lies within the window of its start.
func (d *funnelDecoder) durations(k int, window time.Duration) []time.Duration {
	if d.err != nil || k == 0 {
		return nil
	}
	if k > len(d.b) {
		d.fail("%d durations in %d bytes", k, len(d.b))
		return nil
	}
	out := make([]time.Duration, k)
	for i := range out {
		if i == 0 {
			out[0] = time.Duration(d.varint("duration"))
			if d.err == nil && out[0] < 0 {
				d.fail("negative duration")
			}
		} else {
			delta := d.uvarint("duration")
			if d.err == nil && delta > uint64(window-out[i-1]) {
				d.fail("duration beyond the window %s", leadkit.FormatDuration(window))
			}
			out[i] = out[i-1] + time.Duration(delta)
		}
		if d.err == nil && out[i] > window {
			d.fail("duration beyond the window %s", leadkit.FormatDuration(window))
		}
		if d.err != nil {
			return nil
		}
	}
	return out
}
