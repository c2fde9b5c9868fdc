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
	"github.com/leadkit/leadkit/internal/binenc"
	"github.com/leadkit/leadkit/internal/stats"
)

// The binary encoding of a FunnelAccumulator carries its state between
// processes: a runner that fills accumulators on many workers (the beam
// module) ships them to the worker that merges them. Layout, every integer
// a varint (encoding/binary):
//
//	"LKFA" 0x02                      magic and format version
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
// judged, breached and converted durations. The durations of a count up
// to FunnelSpec.Quantiles' exact threshold are the durations, sorted: the
// first a varint, the rest uvarint differences from the one before; past
// it, the sketch that holds them (minimum, maximum, the 128-bit sum, the
// zeros and the bucket counts; see stats.Summary.AppendBinary). Version 1
// (every duration, whatever the count) is no longer read.
//
// The encoding is canonical: accumulators of the same spec holding the
// same counts and durations encode to the same bytes, whatever the order
// their subjects were added or merged in. Decoding checks everything it
// reads (the spec as NewFunnel does, counts against each other, cohort
// starts against the spec's period, no trailing bytes), so a corrupted or
// foreign input is an error, never a panic or an impossible funnel. Among
// the counts: every count is at most 2^53-1 (journey.MaxCount, the cap of
// Add and Merge), and at most the subjects counted (the first stage's
// reached of every subject): a stage's reached at most the first's, a
// cohort's or an owner's count at most that of every subject.

var funnelMagic = []byte("LKFA\x02")

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
			b = binenc.AppendString(b, name)
			for i := range r.reached {
				b = binary.AppendUvarint(b, uint64(r.reached[i]))
				b = binary.AppendUvarint(b, uint64(r.converted[i]))
				b = binary.AppendUvarint(b, uint64(r.judged[i]))
				b = binary.AppendUvarint(b, uint64(r.breached[i]))
				b = r.durations[i].AppendBinary(b)
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
	d := decoder{binenc.Decoder{B: data, Prefix: "stage: funnel: decode: "}}
	if !bytes.HasPrefix(data, funnelMagic[:4]) {
		return d.Fail("not a funnel accumulator")
	}
	if len(data) < len(funnelMagic) || data[4] != funnelMagic[4] {
		return d.Fail("unknown format version")
	}
	d.B = data[len(funnelMagic):]
	specJSON := d.Bytes("spec")
	if d.Err != nil {
		return d.Err
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
	d.counts(out.all, n, out.q)
	subjects := out.all.reached[0]
	if out.spec.Cohort != leadkit.PeriodNone {
		k := d.Length("cohorts", 1+2*n+n*(n-1)/2)
		prev := ""
		for range k {
			if d.Err != nil {
				break
			}
			start := time.Unix(d.Varint("cohort start"), 0).UTC()
			cstart, label := out.spec.Cohort.Cohort(start)
			if d.Err == nil && !cstart.Equal(start) {
				d.Fail("cohort start %s is not the start of a %s", start.Format(time.RFC3339), out.spec.Cohort)
			}
			if d.Err == nil && label <= prev {
				d.Fail("cohort %q out of order or repeated", label)
			}
			prev = label
			c := &cohortCounts{start: cstart, c: newCounts(n, out.q)}
			d.counts(c.c, n, out.q)
			if d.Err == nil && c.c.reached[0] > subjects {
				d.Fail("cohort %q: %d subjects of %d", label, c.c.reached[0], subjects)
			}
			out.cohorts[label] = c
		}
	}
	if out.owners != nil {
		m := d.Length("owners", 1+4*(n-1))
		prev := ""
		for x := range m {
			if d.Err != nil {
				break
			}
			name := string(d.Bytes("owner"))
			if d.Err == nil && x > 0 && name <= prev {
				d.Fail("owner %q out of order or repeated", name)
			}
			prev = name
			r := out.owners.row(name, n-1)
			for i := range n - 1 {
				r.reached[i] = d.Total("owner reached")
				r.converted[i] = d.Total("owner converted")
				r.judged[i] = d.Total("owner judged")
				r.breached[i] = d.Total("owner breached")
				if d.Err == nil && (r.reached[i] > out.all.reached[i] || r.converted[i] > r.reached[i] || r.judged[i] > r.reached[i] || r.breached[i] > r.judged[i]) {
					d.Fail("owner %q, step %d: counts no funnel holds", name, i+1)
				}
				r.durations[i] = stats.ReadSummary(&d.Decoder, out.q, r.converted[i], math.MaxInt64, "duration out of range")
			}
		}
	}
	if d.Err == nil && len(d.B) > 0 {
		d.Fail("%d bytes after the end", len(d.B))
	}
	if d.Err != nil {
		return d.Err
	}
	*f = *out
	return nil
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
		b = c.durations[p].AppendBinary(b)
	}
	return b
}

func (d *decoder) counts(c *counts, n int, q *stats.Params) {
	for i := range n {
		c.entered[i] = d.Total("entered")
	}
	for i := range n {
		c.reached[i] = d.Total("reached")
		if d.Err == nil && c.entered[i] > c.reached[i] {
			d.Fail("stage %d: entered %d > reached %d", i+1, c.entered[i], c.reached[i])
		}
		if d.Err == nil && c.reached[i] > c.reached[0] { // a subject that reached a stage passed the first
			d.Fail("stage %d: reached %d > stage 1 reached %d", i+1, c.reached[i], c.reached[0])
		}
	}
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			p := pairIndex(n, i, j)
			c.converted[p] = d.Total("converted")
			if d.Err == nil && (c.converted[p] > c.reached[i] || c.converted[p] > c.reached[j]) {
				d.Fail("stages %d -> %d: converted %d of %d", i+1, j+1, c.converted[p], c.reached[i])
			}
			c.durations[p] = stats.ReadSummary(&d.Decoder, q, c.converted[p], math.MaxInt64, "duration out of range")
		}
	}
}

// decoder reads the encoding (binenc.Decoder) and the funnel's counts.
type decoder struct{ binenc.Decoder }
