package journey

import (
	"encoding"
	"encoding/binary"
	"slices"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/binenc"
	"github.com/leadkit/leadkit/internal/stats"
)

// The binary encodings of a CycleAccumulator and a NurtureAccumulator
// carry their state between processes (the beam module fills
// accumulators on many workers and merges them on one). Layouts, every
// integer a varint (encoding/binary) in its shortest form:
//
//	"LKCY" 0x01                      cycle times: magic and version
//	uvarint n, n bytes               the stage
//	uvarint n, n bytes               the CycleOptions as JSON
//	uvarint skipped                  leads without a start (at most MaxCount)
//	group                            every lead measured
//	uvarint k, k x (start, group)    the cohorts, by start: the first a
//	                                 varint of Unix seconds, the rest
//	                                 uvarint differences (above 0)
//
// where group is uvarint i, uvarint r (i + r at most MaxCount), then the
// i cycle times of instant converters (at most CycleOptions.Instant) and
// the r others, each as
// stats.Summary.AppendBinary writes them (the durations sorted up to the
// exact threshold of 1,024, past it the sketch); and
//
//	"LKNP" 0x01                      nurture power: magic and version
//	uvarint n, n bytes               the stage
//	uvarint n, n bytes               the NurtureOptions as JSON
//	uvarint k, k x (uvarint n, n bytes key, uvarint sent, uvarint leads,
//	uvarint converted)               the keys in byte order (counts at
//	                                 most MaxCount)
//
// Both are canonical: accumulators of the same stage and options that
// counted the same leads encode to the same bytes, whatever the order
// they were added or merged in (options as the constructor filled them
// in, times in UTC), and an input that decodes is the encoding of its
// state (see encoding.go). Decoding runs the constructor on the options
// again and checks the state as Add leaves it: cycle times in [0, the
// span of leadkit's time range], instant ones at most the threshold and
// the others above it (none with the split off), cohorts that are the
// starts of their period, not empty, whose times together are the
// overall ones, none without a Cohort period; nurture keys an event can
// have (in Types when By is the event type and Types are set), at most
// MaxNurtureKeys of them, each sent at least once, to at least one lead
// and at most one per send, converted leads of the leads.

var (
	cycleMagic   = []byte("LKCY\x01")
	nurtureMagic = []byte("LKNP\x01")
)

var (
	_ encoding.BinaryMarshaler   = (*CycleAccumulator)(nil)
	_ encoding.BinaryUnmarshaler = (*CycleAccumulator)(nil)
	_ encoding.BinaryMarshaler   = (*NurtureAccumulator)(nil)
	_ encoding.BinaryUnmarshaler = (*NurtureAccumulator)(nil)
)

// maxCycle is the longest cycle time: the span of leadkit's time range.
var maxCycle = leadkit.MaxTime.Sub(leadkit.MinTime)

// encodedOptions are a's options as the encoding writes them.
func (a *CycleAccumulator) encodedOptions() CycleOptions {
	o := a.opts
	o.From, o.To = utc(o.From), utc(o.To)
	return o
}

func (g *cycleGroup) appendBinary(b []byte) []byte {
	b = binary.AppendUvarint(b, uint64(g.inst.N()))
	b = binary.AppendUvarint(b, uint64(g.rest.N()))
	b = g.inst.AppendBinary(b)
	return g.rest.AppendBinary(b)
}

// MarshalBinary encodes the accumulator's state (its stage, options and
// everything added or merged so far) in a compact, versioned and
// canonical form that UnmarshalBinary reads back; the decoded accumulator
// has the same Result and merges as a would. An accumulator not made by
// [NewCycleAccumulator] (the zero value) has no state to encode: an
// error wrapping leadkit.ErrInvalid.
func (a *CycleAccumulator) MarshalBinary() ([]byte, error) {
	if a == nil || a.cohorts == nil {
		return nil, notMade("cycle times", "NewCycleAccumulator")
	}
	b := binenc.AppendString(slices.Clone(cycleMagic), a.stage)
	b, err := appendOptions(b, "journey: cycle times: encode: ", a.encodedOptions())
	if err != nil {
		return nil, err
	}
	b = binary.AppendUvarint(b, uint64(a.skipped))
	b = a.overall.appendBinary(b)
	starts := make([]time.Time, 0, len(a.cohorts))
	for s := range a.cohorts {
		starts = append(starts, s)
	}
	slices.SortFunc(starts, func(x, y time.Time) int { return x.Compare(y) })
	b = binary.AppendUvarint(b, uint64(len(starts)))
	for i, s := range starts {
		if i == 0 {
			b = binary.AppendVarint(b, s.Unix())
		} else {
			b = binary.AppendUvarint(b, uint64(s.Unix()-starts[i-1].Unix()))
		}
		b = a.cohorts[s].appendBinary(b)
	}
	return b, nil
}

// readGroup reads what appendGroup wrote, checking each time against the
// instant threshold (negative: the split is off, every time is in rest).
func readGroup(d *binenc.Decoder, what string, instant time.Duration) cycleGroup {
	p := stats.DefaultParams()
	ni, nr := d.Total(what+" instants"), d.Total(what+" others")
	if d.Err == nil && ni > MaxCount-nr {
		d.Fail("%s: %d instant and %d other cycle times, more than %d (MaxCount)", what, ni, nr, MaxCount)
	}
	if d.Err == nil && instant < 0 && ni > 0 {
		d.Fail("%s: %d instant converters with the split off", what, ni)
	}
	g := cycleGroup{inst: stats.ReadSummary(d, p, ni, max(instant, 0), what+": instant cycle time over the threshold")}
	g.rest = stats.ReadSummary(d, p, nr, maxCycle, what+": cycle time over the span of leadkit's time range")
	if d.Err == nil && instant >= 0 && nr > 0 && g.rest.Min() <= instant {
		d.Fail("%s: cycle time %s of a converter that is not instant is at most the threshold %s", what, leadkit.FormatDuration(g.rest.Min()), leadkit.FormatDuration(instant))
	}
	return g
}

// UnmarshalBinary replaces a's state with the one MarshalBinary encoded
// in data; a may be the zero value (new(CycleAccumulator)). Data that is
// not such an encoding, or encodes a stage and options
// NewCycleAccumulator refuses or times no leads can give, is refused
// with an error wrapping leadkit.ErrInvalid, and a is left unchanged.
func (a *CycleAccumulator) UnmarshalBinary(data []byte) error {
	d := binenc.Decoder{B: data, Prefix: "journey: cycle times: decode: ", Canonical: true}
	if !d.Magic(cycleMagic, "a cycle time accumulator") {
		return d.Err
	}
	st := string(d.Bytes("stage"))
	opts, raw, err := readOptions(&d, ParseCycleOptions)
	if err != nil {
		return err
	}
	out, err := NewCycleAccumulator(st, opts)
	if err != nil {
		return prefixed(&d, err)
	}
	if err := canonicalOptions(&d, raw, out.encodedOptions()); err != nil {
		return err
	}
	instant, period := out.opts.Instant, out.opts.Cohort
	out.skipped = d.Total("skipped")
	out.overall = readGroup(&d, "overall", instant)
	n := d.Length("cohorts", 3)
	if d.Err == nil && n > 0 && period == leadkit.PeriodNone {
		d.Fail("%d cohorts without a cohort period", n)
	}
	var sum cycleGroup
	var prev int64
	for i := range n {
		var secs int64
		if i == 0 {
			secs = d.Varint("cohort start")
		} else {
			delta := d.Uvarint("cohort start")
			if d.Err == nil && (delta == 0 || delta > uint64(maxCycle/time.Second)) {
				d.Fail("cohort start out of order or range")
			}
			secs = prev + int64(delta)
		}
		prev = secs
		if d.Err != nil {
			return d.Err
		}
		start := time.Unix(secs, 0).UTC()
		if cs, _ := period.Cohort(start); !cs.Equal(start) || !start.Before(leadkit.MaxTime) || !period.Next(start).After(leadkit.MinTime) {
			return d.Fail("cohort start %s: not the start of a %s in %s", start.Format(time.RFC3339), period, leadkit.TimeRange)
		}
		g := readGroup(&d, "cohort "+start.Format(time.DateOnly), instant)
		if d.Err != nil {
			return d.Err
		}
		if g.n() == 0 {
			return d.Fail("cohort %s: no leads", start.Format(time.DateOnly))
		}
		if sum.n() > out.overall.n()-g.n() { // more than the overall already (and no sum overflows)
			return d.Fail("the cohorts' cycle times are not the overall ones")
		}
		sum.merge(&g)
		out.cohorts[start] = &g
	}
	if err := d.End(); err != nil {
		return err
	}
	if period != leadkit.PeriodNone && (string(sum.inst.AppendBinary(nil)) != string(out.overall.inst.AppendBinary(nil)) || sum.inst.N() != out.overall.inst.N() ||
		string(sum.rest.AppendBinary(nil)) != string(out.overall.rest.AppendBinary(nil)) || sum.rest.N() != out.overall.rest.N()) {
		return d.Fail("the cohorts' cycle times are not the overall ones")
	}
	*a = *out
	return nil
}

// encodedOptions are a's options as the encoding writes them.
func (a *NurtureAccumulator) encodedOptions() NurtureOptions {
	o := a.opts
	o.From, o.To = utc(o.From), utc(o.To)
	return o
}

// MarshalBinary encodes the accumulator's state (its stage, options and
// everything added or merged so far) in a compact, versioned and
// canonical form that UnmarshalBinary reads back; the decoded accumulator
// has the same Result and merges as a would. An accumulator not made by
// [NewNurtureAccumulator] (the zero value) has no state to encode: an
// error wrapping leadkit.ErrInvalid.
func (a *NurtureAccumulator) MarshalBinary() ([]byte, error) {
	if a == nil || a.keys == nil {
		return nil, notMade("nurture power", "NewNurtureAccumulator")
	}
	b := binenc.AppendString(slices.Clone(nurtureMagic), a.stage)
	b, err := appendOptions(b, "journey: nurture power: encode: ", a.encodedOptions())
	if err != nil {
		return nil, err
	}
	return binenc.AppendMap(b, a.keys, func(b []byte, _ string, c *powerCount) []byte {
		b = binary.AppendUvarint(b, uint64(c.sent))
		b = binary.AppendUvarint(b, uint64(c.leads))
		return binary.AppendUvarint(b, uint64(c.converted))
	}), nil
}

// UnmarshalBinary replaces a's state with the one MarshalBinary encoded
// in data; a may be the zero value (new(NurtureAccumulator)). Data that
// is not such an encoding, or encodes a stage and options
// NewNurtureAccumulator refuses or counts no leads can make (more than
// MaxNurtureKeys keys among them), is refused with an error wrapping
// leadkit.ErrInvalid, and a is left unchanged.
func (a *NurtureAccumulator) UnmarshalBinary(data []byte) error {
	d := binenc.Decoder{B: data, Prefix: "journey: nurture power: decode: ", Canonical: true}
	if !d.Magic(nurtureMagic, "a nurture power accumulator") {
		return d.Err
	}
	st := string(d.Bytes("stage"))
	opts, raw, err := readOptions(&d, ParseNurtureOptions)
	if err != nil {
		return err
	}
	out, err := NewNurtureAccumulator(st, opts)
	if err != nil {
		return prefixed(&d, err)
	}
	if err := canonicalOptions(&d, raw, out.encodedOptions()); err != nil {
		return err
	}
	by := out.opts.By
	d.Map("keys", 4, func(k string) {
		if len(out.keys) == MaxNurtureKeys {
			d.Fail("more than %d keys (MaxNurtureKeys)", MaxNurtureKeys)
			return
		}
		if msg := checkKey(by, k); msg != "" {
			d.Fail("key %q: %s", clipKey(k), msg)
			return
		}
		if by == KeyType && out.types != nil && !out.types[k] {
			d.Fail("key %q: not one of the types", clipKey(k))
			return
		}
		c := &powerCount{sent: d.Total("sent"), leads: d.Total("leads"), converted: d.Total("converted")}
		if d.Err == nil && (c.leads == 0 || c.leads > c.sent || c.converted > c.leads) {
			d.Fail("key %q: %d sent to %d leads, %d converted", clipKey(k), c.sent, c.leads, c.converted)
		}
		out.keys[k] = c
	})
	if err := d.End(); err != nil {
		return err
	}
	*a = *out
	return nil
}
