package stage

import (
	"bytes"
	"encoding"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/leadkit/leadkit"
)

// The binary encoding of a FunnelAccumulator carries its state between
// processes: a runner that fills accumulators on many workers (the beam
// module) ships them to the worker that merges them. Layout, every integer
// a varint (encoding/binary):
//
//	"LKFA" 0x01                      magic and format version
//	uvarint n, n bytes               the FunnelSpec as JSON
//	counts                           every subject counted
//	uvarint k, k x (varint unix s, counts)
//	                                 calendar cohorts by start, in label order
//	                                 (only with FunnelSpec.Cohort)
//	uvarint m, m x (uvarint n, n bytes owner, steps)
//	                                 owners in byte order (only with ByOwner)
//
// where counts is, for s stages, s x uvarint entered, s x uvarint reached,
// then per stage pair (i, j), i < j, in order: uvarint converted and that
// many durations; steps is, per step i -> i+1: uvarint reached, converted,
// judged, breached and converted durations. Durations are sorted: the
// first a varint, the rest uvarint differences from the one before.
//
// The encoding is canonical: accumulators of the same spec holding the
// same counts and durations encode to the same bytes, whatever the order
// their subjects were added or merged in. Decoding checks everything it
// reads (the spec as NewFunnel does, counts against each other, cohort
// starts against the spec's period, no trailing bytes), so a corrupted or
// foreign input is an error, never a panic or an impossible funnel.

var funnelMagic = []byte("LKFA\x01")

var (
	_ encoding.BinaryMarshaler   = (*FunnelAccumulator)(nil)
	_ encoding.BinaryUnmarshaler = (*FunnelAccumulator)(nil)
)

// MarshalBinary encodes the accumulator's state (its spec and everything
// added or merged so far) in a compact, versioned and canonical form that
// UnmarshalBinary reads back; the result of the decoded accumulator is the
// result of f. An accumulator not made by NewFunnel (the zero value) has
// no state to encode: an error wrapping leadkit.ErrInvalid.
func (f *FunnelAccumulator) MarshalBinary() ([]byte, error) {
	if f == nil || f.all == nil {
		return nil, fmt.Errorf("stage: funnel: encode: %w: accumulator not made by NewFunnel", leadkit.ErrInvalid)
	}
	spec, err := json.Marshal(f.spec)
	if err != nil {
		return nil, fmt.Errorf("stage: funnel: encode: %w", err)
	}
	b := slices.Clone(funnelMagic)
	b = binary.AppendUvarint(b, uint64(len(spec)))
	b = append(b, spec...)
	b = appendCounts(b, f.all)
	if f.spec.Cohort != leadkit.PeriodNone {
		labels := slices.Sorted(maps.Keys(f.cohorts))
		b = binary.AppendUvarint(b, uint64(len(labels)))
		for _, label := range labels {
			c := f.cohorts[label]
			b = binary.AppendVarint(b, c.start.Unix())
			b = appendCounts(b, c.c)
		}
	}
	if f.owners != nil {
		names := slices.Sorted(maps.Keys(f.owners.rows))
		b = binary.AppendUvarint(b, uint64(len(names)))
		for _, name := range names {
			r := f.owners.rows[name]
			b = appendString(b, name)
			for i := range r.reached {
				b = binary.AppendUvarint(b, uint64(r.reached[i]))
				b = binary.AppendUvarint(b, uint64(r.converted[i]))
				b = binary.AppendUvarint(b, uint64(r.judged[i]))
				b = binary.AppendUvarint(b, uint64(r.breached[i]))
				b = appendDurations(b, r.durations[i])
			}
		}
	}
	return b, nil
}

// UnmarshalBinary replaces f's state with the one MarshalBinary encoded in
// data; f may be the zero value (new(FunnelAccumulator)). Data that is not
// such an encoding, or encodes a spec NewFunnel refuses or counts no
// funnel can hold, is refused with an error wrapping leadkit.ErrInvalid,
// and f is left unchanged.
func (f *FunnelAccumulator) UnmarshalBinary(data []byte) error {
	d := decoder{b: data}
	if !bytes.HasPrefix(data, funnelMagic[:4]) {
		return d.fail("not a funnel accumulator")
	}
	if len(data) < len(funnelMagic) || data[4] != funnelMagic[4] {
		return d.fail("unknown format version")
	}
	d.b = data[len(funnelMagic):]
	specJSON := d.bytes("spec")
	if d.err != nil {
		return d.err
	}
	spec, err := ParseFunnelSpec(specJSON)
	if err != nil {
		return fmt.Errorf("stage: funnel: decode: %w", err)
	}
	out, err := NewFunnel(spec)
	if err != nil {
		return fmt.Errorf("stage: funnel: decode: %w", err)
	}
	n := len(out.spec.Stages)
	d.counts(out.all, n)
	if out.spec.Cohort != leadkit.PeriodNone {
		k := d.length("cohorts", 1+2*n+n*(n-1)/2)
		prev := ""
		for range k {
			if d.err != nil {
				break
			}
			start := time.Unix(d.varint("cohort start"), 0).UTC()
			cstart, label := out.spec.Cohort.Cohort(start)
			if d.err == nil && !cstart.Equal(start) {
				d.fail("cohort start %s is not the start of a %s", start.Format(time.RFC3339), out.spec.Cohort)
			}
			if d.err == nil && label <= prev {
				d.fail("cohort %q out of order or repeated", label)
			}
			prev = label
			c := &cohortCounts{start: cstart, c: newCounts(n)}
			d.counts(c.c, n)
			out.cohorts[label] = c
		}
	}
	if out.owners != nil {
		m := d.length("owners", 1+4*(n-1))
		prev := ""
		for x := range m {
			if d.err != nil {
				break
			}
			name := string(d.bytes("owner"))
			if d.err == nil && x > 0 && name <= prev {
				d.fail("owner %q out of order or repeated", name)
			}
			prev = name
			r := out.owners.row(name, n-1)
			for i := range n - 1 {
				r.reached[i] = d.count("owner reached")
				r.converted[i] = d.count("owner converted")
				r.judged[i] = d.count("owner judged")
				r.breached[i] = d.count("owner breached")
				if d.err == nil && (r.converted[i] > r.reached[i] || r.judged[i] > r.reached[i] || r.breached[i] > r.judged[i]) {
					d.fail("owner %q, step %d: counts no funnel holds", name, i+1)
				}
				r.durations[i] = d.durations(r.converted[i])
			}
		}
	}
	if d.err == nil && len(d.b) > 0 {
		d.fail("%d bytes after the end", len(d.b))
	}
	if d.err != nil {
		return d.err
	}
	*f = *out
	return nil
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendCounts(b []byte, c *counts) []byte {
	for _, v := range c.entered {
		b = binary.AppendUvarint(b, uint64(v))
	}
	for _, v := range c.reached {
		b = binary.AppendUvarint(b, uint64(v))
	}
	for p, v := range c.converted {
		b = binary.AppendUvarint(b, uint64(v))
		b = appendDurations(b, c.durations[p])
	}
	return b
}

// appendDurations appends ds sorted (a copy: the accumulator's order is
// left alone), the first as a varint, the rest as differences.
func appendDurations(b []byte, ds []time.Duration) []byte {
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

// decoder reads the encoding; the first error sticks and later reads
// return zero values.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(format string, args ...any) error {
	if d.err == nil {
		d.err = fmt.Errorf("stage: funnel: decode: %w: %s", leadkit.ErrInvalid, fmt.Sprintf(format, args...))
	}
	return d.err
}

func (d *decoder) uvarint(what string) uint64 {
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

func (d *decoder) varint(what string) int64 {
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
func (d *decoder) count(what string) int {
	v := d.uvarint(what)
	if v > math.MaxInt32 {
		d.fail("%s: %d is out of range", what, v)
		return 0
	}
	return int(v)
}

// length reads the number of items that follow, each at least size bytes:
// more than the bytes left hold is refused before anything is allocated.
func (d *decoder) length(what string, size int) int {
	v := d.uvarint(what)
	if d.err == nil && v > uint64(len(d.b)/size) {
		d.fail("%s: %d items in %d bytes", what, v, len(d.b))
		return 0
	}
	return int(v)
}

func (d *decoder) bytes(what string) []byte {
	n := d.length(what, 1)
	if d.err != nil {
		return nil
	}
	out := d.b[:n]
	d.b = d.b[n:]
	return out
}

func (d *decoder) counts(c *counts, n int) {
	for i := range n {
		c.entered[i] = d.count("entered")
	}
	for i := range n {
		c.reached[i] = d.count("reached")
		if d.err == nil && c.entered[i] > c.reached[i] {
			d.fail("stage %d: entered %d > reached %d", i+1, c.entered[i], c.reached[i])
		}
	}
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			p := pairIndex(n, i, j)
			c.converted[p] = d.count("converted")
			if d.err == nil && (c.converted[p] > c.reached[i] || c.converted[p] > c.reached[j]) {
				d.fail("stages %d -> %d: converted %d of %d", i+1, j+1, c.converted[p], c.reached[i])
			}
			c.durations[p] = d.durations(c.converted[p])
		}
	}
}

func (d *decoder) durations(k int) []time.Duration {
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
			if out[0] < 0 {
				d.fail("negative duration")
				return nil
			}
			continue
		}
		delta := d.uvarint("duration")
		if d.err == nil && delta > uint64(math.MaxInt64-int64(out[i-1])) {
			d.fail("duration out of range")
		}
		if d.err != nil {
			return nil
		}
		out[i] = out[i-1] + time.Duration(delta)
	}
	return out
}
