package pool

import (
	"bytes"
	"encoding"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/binenc"
	"github.com/leadkit/leadkit/internal/stats"
)

// The binary encoding of a Metrics carries its state between processes,
// as the stage and journey funnels' encodings do: a runner that fills
// accumulators on many workers (the beam module) ships them to the worker
// that merges them. Layout, every integer a varint (encoding/binary), for
// a spec of b buckets:
//
//	"LKPM" 0x01                      magic and format version
//	uvarint n, n bytes               the MetricsSpec as JSON (Dormant resolved)
//	uvarint prospects                prospects added
//	(b+1) x varint                   not dormant: a difference array over bucket ends
//	uvarint k, k x source            the source channels in byte order
//
// where a source is its name (uvarint length, bytes), uvarint size at
// From, (b+1) x varint size (a difference array over bucket ends), then
// per bucket: uvarint inflow, graduated, opted out, erased, merged, and
// the graduated prospects' times to graduate: up to the spec's Quantiles
// threshold the durations sorted (the first a varint, the rest uvarint
// differences), past it their sketch (see stats.Summary.AppendBinary).
//
// The encoding is canonical: accumulators of the same spec holding the
// same counts encode to the same bytes, whatever the order prospects were
// added or merged in. Decoding checks everything it reads (the spec as
// NewMetrics does, the prospects added at most 2^53-1 (journey.MaxCount,
// the cap of Add and Merge), difference arrays whose running sums never
// go negative and end at zero, the prospects in the period at most those
// added, a source's pool at a bucket end and the prospects that left it
// at most its prospects in the period, the pool not dormant at an end at
// most its size, no trailing bytes), and allocates nothing for a length
// the bytes left cannot hold, so a corrupted or foreign input is an
// error, never a panic or an impossible pool.

var metricsMagic = []byte("LKPM\x01")

var (
	_ encoding.BinaryMarshaler   = (*Metrics)(nil)
	_ encoding.BinaryUnmarshaler = (*Metrics)(nil)
)

// MarshalBinary encodes the accumulator's state (its spec and everything
// added or merged so far) in a compact, versioned and canonical form that
// UnmarshalBinary reads back; the result of the decoded accumulator is the
// result of m. An accumulator not made by NewMetrics (the zero value) has
// no state to encode: an error wrapping leadkit.ErrInvalid.
func (m *Metrics) MarshalBinary() ([]byte, error) {
	if m == nil || m.q == nil {
		return nil, fmt.Errorf("pool: metrics: encode: %w: accumulator not made by NewMetrics", leadkit.ErrInvalid)
	}
	spec, err := json.Marshal(m.spec)
	if err != nil {
		return nil, fmt.Errorf("pool: metrics: encode: %w", err)
	}
	b := slices.Clone(metricsMagic)
	b = binary.AppendUvarint(b, uint64(len(spec)))
	b = append(b, spec...)
	b = binary.AppendUvarint(b, uint64(m.prospects))
	for _, v := range m.nonDormant {
		b = binary.AppendVarint(b, int64(v))
	}
	names := slices.Sorted(maps.Keys(m.sources))
	b = binary.AppendUvarint(b, uint64(len(names)))
	for _, name := range names {
		f := m.sources[name]
		b = binenc.AppendString(b, name)
		b = binary.AppendUvarint(b, uint64(f.startSize))
		for _, v := range f.size {
			b = binary.AppendVarint(b, int64(v))
		}
		for i := range f.inflow {
			o := f.outflow[i]
			for _, v := range [...]int{f.inflow[i], o.Graduated, o.OptedOut, o.Erased, o.Merged} {
				b = binary.AppendUvarint(b, uint64(v))
			}
			b = f.ttg[i].AppendBinary(b)
		}
	}
	return b, nil
}

// UnmarshalBinary replaces m's state with the one MarshalBinary encoded
// in data; m may be the zero value (new(Metrics)). Data that is not such
// an encoding, or encodes a spec NewMetrics refuses or counts no pool can
// hold, is refused with an error wrapping leadkit.ErrInvalid, and m is
// left unchanged.
func (m *Metrics) UnmarshalBinary(data []byte) error {
	d := binenc.Decoder{B: data, Prefix: "pool: metrics: decode: "}
	if !bytes.HasPrefix(data, metricsMagic[:4]) {
		return d.Fail("not a pool metrics accumulator")
	}
	if len(data) < len(metricsMagic) || data[4] != metricsMagic[4] {
		return d.Fail("unknown format version")
	}
	d.B = data[len(metricsMagic):]
	specJSON := d.Bytes("spec")
	if d.Err != nil {
		return d.Err
	}
	spec, err := ParseMetricsSpec(specJSON)
	if err != nil {
		return fmt.Errorf("pool: metrics: decode: %w", err)
	}
	out, err := NewMetrics(spec)
	if err != nil {
		return fmt.Errorf("pool: metrics: decode: %w", err)
	}
	n := len(out.ends)
	out.prospects = d.Total("prospects")
	// diffs reads a difference array of n+1 entries whose running sums
	// stay in [0, the prospects added] and end at zero, and returns the
	// sums.
	diffs := func(what string, into []int) []int {
		sums := make([]int, n)
		run := 0
		for i := range into {
			v := d.Varint(what)
			if d.Err != nil {
				return sums
			}
			if v < -binenc.MaxTotal || v > binenc.MaxTotal || run+int(v) < 0 || run+int(v) > out.prospects {
				d.Fail("%s: running count out of range", what)
				return sums
			}
			into[i] = int(v)
			run += int(v)
			if i < n {
				sums[i] = run
			}
		}
		if d.Err == nil && run != 0 {
			d.Fail("%s: counts do not end at zero", what)
		}
		return sums
	}
	awake := diffs("not dormant", out.nonDormant)
	size := make([]int, n)
	k := d.Length("sources", 3+6*n)
	inPeriod := 0
	prev := ""
	for x := range k {
		if d.Err != nil {
			break
		}
		name := string(d.Bytes("source"))
		if d.Err == nil && (name == "" || leadkit.CheckText(name, leadkit.MaxNameBytes) != "") {
			d.Fail("source %d: empty or not a name", x+1)
		}
		if d.Err == nil && x > 0 && name <= prev {
			d.Fail("source %q out of order or repeated", name)
		}
		prev = name
		f := out.newFlow()
		f.startSize = d.Total("size at from")
		sums := diffs("size", f.size)
		// Every count is at most the prospects added (each step checked,
		// so no sum overflows): counted, the source's prospects in the
		// period (in the pool at From or joined), bounds its pool at every
		// bucket end and the prospects that left it.
		counted, left := f.startSize, 0
		for i := range n {
			f.inflow[i] = d.Total("inflow")
			o := &f.outflow[i]
			o.Graduated, o.OptedOut, o.Erased, o.Merged = d.Total("graduated"), d.Total("opted out"), d.Total("erased"), d.Total("merged")
			f.ttg[i] = stats.ReadSummary(&d, out.q, o.Graduated, math.MaxInt64, "time to graduate out of range")
			counted += f.inflow[i]
			for _, v := range [...]int{o.Graduated, o.OptedOut, o.Erased, o.Merged} {
				left += v
				if d.Err == nil && left > out.prospects {
					d.Fail("source %q: more prospects left than the %d added", name, out.prospects)
				}
			}
			if d.Err == nil && counted > out.prospects {
				d.Fail("source %q: more prospects in the period than the %d added", name, out.prospects)
			}
		}
		if d.Err == nil && counted == 0 {
			d.Fail("source %q: no prospect in the period", name)
		}
		if d.Err == nil && left > counted {
			d.Fail("source %q: %d prospects left of %d in the period", name, left, counted)
		}
		for i, s := range sums {
			if d.Err == nil && s > counted {
				d.Fail("source %q, bucket %d: a pool of %d of %d prospects in the period", name, i+1, s, counted)
			}
		}
		for i, s := range sums {
			size[i] += s
		}
		inPeriod += counted
		if d.Err == nil && inPeriod > out.prospects {
			d.Fail("more prospects in the period than the %d added", out.prospects)
		}
		out.sources[name] = f
	}
	for i := range size {
		if d.Err == nil && awake[i] > size[i] {
			d.Fail("bucket %d: %d not dormant in a pool of %d", i+1, awake[i], size[i])
		}
	}
	if d.Err == nil && len(d.B) > 0 {
		d.Fail("%d bytes after the end", len(d.B))
	}
	if d.Err != nil {
		return d.Err
	}
	*m = *out
	return nil
}
