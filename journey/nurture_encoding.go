package journey

import (
	"encoding"
	"encoding/binary"
	"slices"

	"github.com/leadkit/leadkit/internal/binenc"
)

// The binary encodings of a ContentPhaseAccumulator and an
// OldLeadNurtureAccumulator carry their state between processes (the beam
// module fills accumulators on many workers and merges them on one).
// Layouts, every integer a varint (encoding/binary) in its shortest form:
//
//	"LKCP" 0x01                      content phases: magic and version
//	uvarint n, n bytes               the stage
//	uvarint n, n bytes               the ContentPhaseOptions as JSON
//	uvarint unplaced                 touches of leads with no start
//	3 x (uvarint leads, uvarint converted)
//	                                 the phases' totals (acquisition,
//	                                 nurture, sales; their touches are
//	                                 the content's)
//	content, content                 the content named by a value of By,
//	                                 then the content named by an event type
//
// where content is uvarint c, c x (uvarint n, n bytes key, 3 x (uvarint
// touches, uvarint leads, uvarint converted)), keys in byte order; and
//
//	"LKON" 0x01                      old lead nurture: magic and version
//	uvarint n, n bytes               the stage
//	uvarint n, n bytes               the OldLeadNurtureOptions as JSON
//	uvarint excluded, unknown, closed
//	group, group                     the leads that converted, the others
//
// where group is uvarint leads, uvarint touched leads, uvarint touches,
// then the types and the channels, each uvarint k, k x (uvarint n, n
// bytes key, uvarint leads, uvarint touches), keys in byte order.
//
// Both are canonical: accumulators of the same stage and options that
// counted the same leads encode to the same bytes, whatever the order
// they were added or merged in (options are written as the constructor
// filled them in, times in UTC, a default Outcome left out), and an input
// that decodes is the encoding of its state (see encoding.go). Decoding
// runs the constructor on the options again (MaxTouchTypes,
// stage.MaxStages and every other check hold) and checks the counts as
// Add leaves them: every count at most MaxCount (a phase's touches, the
// sum of its content's, too), a key an event can have (and in Types when
// they are set), leads of at least 1 and at most the touches, converted
// leads of the leads (none after a sales touch without an outcome, none
// closed without Closed stages), totals that lie between the largest and
// the sum of their parts.

var (
	contentPhasesMagic  = []byte("LKCP\x01")
	oldLeadNurtureMagic = []byte("LKON\x01")
)

var (
	_ encoding.BinaryMarshaler   = (*ContentPhaseAccumulator)(nil)
	_ encoding.BinaryUnmarshaler = (*ContentPhaseAccumulator)(nil)
	_ encoding.BinaryMarshaler   = (*OldLeadNurtureAccumulator)(nil)
	_ encoding.BinaryUnmarshaler = (*OldLeadNurtureAccumulator)(nil)
)

// encodedOptions are a's options as the encoding writes them: the
// Outcome left out when it is the default, the last stage of Order (the
// constructor refuses an Outcome that is the stage itself, which the
// default can be).
func (a *ContentPhaseAccumulator) encodedOptions() ContentPhaseOptions {
	o := a.opts
	if o.Outcome == o.Order[len(o.Order)-1] {
		o.Outcome = ""
	}
	return o
}

// MarshalBinary encodes the accumulator's state (its stage, options and
// everything added or merged so far) in a compact, versioned and
// canonical form that UnmarshalBinary reads back; the decoded accumulator
// has the same Result and merges as a would. An accumulator not made by
// [NewContentPhaseAccumulator] (the zero value) has no state to encode:
// an error wrapping leadkit.ErrInvalid.
func (a *ContentPhaseAccumulator) MarshalBinary() ([]byte, error) {
	if a == nil || a.content == nil {
		return nil, notMade("content phases", "NewContentPhaseAccumulator")
	}
	b := binenc.AppendString(slices.Clone(contentPhasesMagic), a.stage)
	b, err := appendOptions(b, "journey: content phases: encode: ", a.encodedOptions())
	if err != nil {
		return nil, err
	}
	b = binary.AppendUvarint(b, uint64(a.unplace))
	for _, t := range a.total {
		b = binary.AppendUvarint(b, uint64(t.leads))
		b = binary.AppendUvarint(b, uint64(t.converted))
	}
	byKey, byType := map[string]*[3]phaseCount{}, map[string]*[3]phaseCount{}
	for k, c := range a.content {
		if k.isType {
			byType[k.key] = c
		} else {
			byKey[k.key] = c
		}
	}
	for _, m := range []map[string]*[3]phaseCount{byKey, byType} {
		b = binenc.AppendMap(b, m, func(b []byte, _ string, c *[3]phaseCount) []byte {
			for _, p := range c {
				b = binary.AppendUvarint(b, uint64(p.touches))
				b = binary.AppendUvarint(b, uint64(p.leads))
				b = binary.AppendUvarint(b, uint64(p.converted))
			}
			return b
		})
	}
	return b, nil
}

// UnmarshalBinary replaces a's state with the one MarshalBinary encoded
// in data; a may be the zero value (new(ContentPhaseAccumulator)). Data
// that is not such an encoding, or encodes a stage and options
// NewContentPhaseAccumulator refuses or counts no leads can make, is
// refused with an error wrapping leadkit.ErrInvalid, and a is left
// unchanged.
func (a *ContentPhaseAccumulator) UnmarshalBinary(data []byte) error {
	d := binenc.Decoder{B: data, Prefix: "journey: content phases: decode: ", Canonical: true}
	if !d.Magic(contentPhasesMagic, "a content phase accumulator") {
		return d.Err
	}
	st := string(d.Bytes("stage"))
	opts, raw, err := readOptions(&d, ParseContentPhaseOptions)
	if err != nil {
		return err
	}
	out, err := NewContentPhaseAccumulator(st, opts)
	if err != nil {
		return prefixed(&d, err)
	}
	if err := canonicalOptions(&d, raw, out.encodedOptions()); err != nil {
		return err
	}
	out.unplace = d.Total("unplaced")
	for ph := range out.total {
		out.total[ph].leads = d.Total("phase leads")
		out.total[ph].converted = d.Total("phase converted")
	}
	// The phases' totals lie between the largest and the sum of the
	// content's: a lead is counted once per phase however many pieces of
	// content touched it.
	var sum, most [3]phaseCount
	for _, isType := range []bool{false, true} {
		what, by := "content", out.opts.By
		if isType {
			what, by = "types", KeyType
		}
		d.Map(what, 1+9, func(k string) {
			if msg := checkKey(by, k); msg != "" {
				d.Fail("%s %q: %s", what, clipKey(k), msg)
				return
			}
			switch {
			case isType && out.opts.By == KeyType:
				d.Fail("type %q: content is named by its type already", clipKey(k))
				return
			case by == KeyType && out.types != nil && !out.types[k]:
				d.Fail("%s %q is not one of the options' types", what, clipKey(k))
				return
			}
			c := &[3]phaseCount{}
			touched := false
			for ph := range c {
				p := &c[ph]
				p.touches, p.leads, p.converted = d.Total("touches"), d.Total("leads"), d.Total("converted")
				if d.Err != nil {
					return
				}
				if p.leads > p.touches || (p.touches > 0) != (p.leads > 0) || p.converted > p.leads || (ph == 2 && !out.hasOutcome() && p.converted > 0) {
					d.Fail("%s %q, %s: %d touches, %d leads, %d converted", what, clipKey(k), phases[ph], p.touches, p.leads, p.converted)
					return
				}
				if sum[ph].touches > MaxCount-p.touches {
					d.Fail("%s: more than %d touches (MaxCount)", phases[ph], MaxCount)
					return
				}
				touched = touched || p.touches > 0
				sum[ph].touches += p.touches
				// Leads and converted leads sum only to bound the totals:
				// held at MaxCount, which no total passes.
				sum[ph].leads, sum[ph].converted = upToMaxCount(sum[ph].leads, p.leads), upToMaxCount(sum[ph].converted, p.converted)
				most[ph].leads, most[ph].converted = max(most[ph].leads, p.leads), max(most[ph].converted, p.converted)
			}
			if !touched {
				d.Fail("%s %q: no touches", what, clipKey(k))
				return
			}
			out.content[contentKey{key: k, isType: isType}] = c
		})
	}
	if err := d.End(); err != nil {
		return err
	}
	for ph := range out.total {
		t := &out.total[ph]
		t.touches = sum[ph].touches
		if t.leads < most[ph].leads || t.leads > sum[ph].leads || t.converted < most[ph].converted || t.converted > min(sum[ph].converted, t.leads) {
			return d.Fail("%s: %d leads, %d converted: not what the content's (%d to %d leads, %d to %d converted) make",
				phases[ph], t.leads, t.converted, most[ph].leads, sum[ph].leads, most[ph].converted, sum[ph].converted)
		}
	}
	*a = *out
	return nil
}

// encodedOptions are a's options as the encoding writes them.
func (a *OldLeadNurtureAccumulator) encodedOptions() OldLeadNurtureOptions {
	o := a.opts
	o.From, o.To = utc(o.From), utc(o.To)
	return o
}

// MarshalBinary encodes the accumulator's state (its stage, options and
// everything added or merged so far) in a compact, versioned and
// canonical form that UnmarshalBinary reads back; the decoded accumulator
// has the same Result (with From and To in UTC) and merges as a would.
// An accumulator not made by [NewOldLeadNurtureAccumulator] (the zero
// value) has no state to encode: an error wrapping leadkit.ErrInvalid.
func (a *OldLeadNurtureAccumulator) MarshalBinary() ([]byte, error) {
	if a == nil || a.conv == nil {
		return nil, notMade("old lead nurture", "NewOldLeadNurtureAccumulator")
	}
	b := binenc.AppendString(slices.Clone(oldLeadNurtureMagic), a.stage)
	b, err := appendOptions(b, "journey: old lead nurture: encode: ", a.encodedOptions())
	if err != nil {
		return nil, err
	}
	b = binary.AppendUvarint(b, uint64(a.excluded))
	b = binary.AppendUvarint(b, uint64(a.unknown))
	b = binary.AppendUvarint(b, uint64(a.shut))
	for _, g := range []*nurtureGroup{a.conv, a.other} {
		b = binary.AppendUvarint(b, uint64(g.leads))
		b = binary.AppendUvarint(b, uint64(g.all.leads))
		b = binary.AppendUvarint(b, uint64(g.all.touches))
		for _, m := range []map[string]*nurtureCount{g.byType, g.byChannel} {
			b = binenc.AppendMap(b, m, func(b []byte, _ string, c *nurtureCount) []byte {
				b = binary.AppendUvarint(b, uint64(c.leads))
				return binary.AppendUvarint(b, uint64(c.touches))
			})
		}
	}
	return b, nil
}

// UnmarshalBinary replaces a's state with the one MarshalBinary encoded
// in data; a may be the zero value (new(OldLeadNurtureAccumulator)). Data
// that is not such an encoding, or encodes a stage and options
// NewOldLeadNurtureAccumulator refuses or counts no leads can make, is
// refused with an error wrapping leadkit.ErrInvalid, and a is left
// unchanged.
func (a *OldLeadNurtureAccumulator) UnmarshalBinary(data []byte) error {
	d := binenc.Decoder{B: data, Prefix: "journey: old lead nurture: decode: ", Canonical: true}
	if !d.Magic(oldLeadNurtureMagic, "an old lead nurture accumulator") {
		return d.Err
	}
	st := string(d.Bytes("stage"))
	opts, raw, err := readOptions(&d, ParseOldLeadNurtureOptions)
	if err != nil {
		return err
	}
	out, err := NewOldLeadNurtureAccumulator(st, opts)
	if err != nil {
		return prefixed(&d, err)
	}
	if err := canonicalOptions(&d, raw, out.encodedOptions()); err != nil {
		return err
	}
	out.excluded, out.unknown, out.shut = d.Total("excluded"), d.Total("unknown"), d.Total("closed")
	if d.Err == nil && out.shut > 0 && out.closed == nil {
		return d.Fail("%d closed leads without closed stages", out.shut)
	}
	out.conv.read(&d, "converted", out.types)
	out.other.read(&d, "not converted", out.types)
	if err := d.End(); err != nil {
		return err
	}
	*a = *out
	return nil
}

// read reads a group as OldLeadNurtureAccumulator.MarshalBinary wrote it
// into g (empty), checking its counts against each other; types, when
// not nil, are the only types counted.
func (g *nurtureGroup) read(d *binenc.Decoder, name string, types map[string]bool) {
	g.leads, g.all.leads, g.all.touches = d.Total("leads"), d.Total("touched leads"), d.Total("touches")
	if d.Err != nil {
		return
	}
	if g.all.leads > g.leads || g.all.leads > g.all.touches || (g.all.touches > 0) != (g.all.leads > 0) {
		d.Fail("%s: %d leads, %d touched with %d touches", name, g.leads, g.all.leads, g.all.touches)
		return
	}
	for i, m := range []map[string]*nurtureCount{g.byType, g.byChannel} {
		what, by := name+" types", KeyType
		if i == 1 {
			what, by = name+" channels", KeyChannel
		}
		var leads, touches int
		d.Map(what, 3, func(k string) {
			if msg := checkKey(by, k); msg != "" {
				d.Fail("%s: %q: %s", what, clipKey(k), msg)
				return
			}
			if i == 0 && types != nil && !types[k] {
				d.Fail("%s: %q is not one of the options' types", what, clipKey(k))
				return
			}
			c := &nurtureCount{leads: d.Total("leads"), touches: d.Total("touches")}
			switch {
			case d.Err != nil:
			case c.leads == 0 || c.leads > g.all.leads || c.leads > c.touches:
				d.Fail("%s: %q: %d leads with %d touches of %d touched", what, clipKey(k), c.leads, c.touches, g.all.leads)
			case touches > g.all.touches-c.touches: // so that the sum never overflows
				d.Fail("%s: more than the group's %d touches", what, g.all.touches)
			}
			leads = upToMaxCount(leads, c.leads) // only compared with the group's leads
			touches += c.touches
			m[k] = c
		})
		if d.Err != nil {
			return
		}
		// Every touch has a type, not every one a channel.
		if i == 0 && (touches != g.all.touches || leads < g.all.leads) || i == 1 && touches > g.all.touches {
			d.Fail("%s: %d touches of %d leads, not what the group's %d touches of %d leads make", what, touches, leads, g.all.touches, g.all.leads)
			return
		}
	}
}
