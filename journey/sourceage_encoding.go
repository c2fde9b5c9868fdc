package journey

import (
	"encoding"
	"encoding/binary"
	"maps"
	"slices"
	"strconv"

	"github.com/leadkit/leadkit/internal/binenc"
)

// The binary encoding of a SourceAgeAccumulator carries its state between
// processes (the beam module fills accumulators on many workers and
// merges them on one). Layout, every integer a varint (encoding/binary)
// in its shortest form:
//
//	"LKSA" 0x01                      magic and format version
//	uvarint n, n bytes               the stage
//	uvarint n, n bytes               the SourceAgeOptions as JSON
//	7 x uvarint                      first time, repeat, new, earlier,
//	                                 unknown, new unattributed, earlier
//	                                 unattributed
//	mix, mix                         the touches of the new and of the
//	                                 earlier leads
//	(b+1) x (uvarint leads, mix)     per age bucket, the open one last
//	uvarint c, c x (uvarint n, n bytes key, uvarint new, uvarint revived)
//	                                 the channels in byte order
//
// where a mix is uvarint t, t x (uvarint n, n bytes type, uvarint leads,
// uvarint touches), the touch types in byte order with the leads that had
// them and their number.
//
// The encoding is canonical: accumulators of the same stage and options
// that counted the same leads encode to the same bytes, whatever the
// order they were added or merged in (options are written as the
// constructor filled them in, times in UTC, so that the From and To of a
// decoded accumulator's result are in UTC), and an input that decodes is
// the encoding of its state (see encoding.go). Decoding runs
// NewSourceAgeAccumulator on the options again (MaxAgeBuckets and every
// other check hold) and checks the counts against each other as Add
// leaves them: first time and repeat leads are the new, earlier and
// unknown ones, at most MaxCount of them; the buckets hold the new and
// earlier leads, and their touch mixes add up to those of the two
// groups, whose touches are at most MaxCount; a type was had by at least
// one lead and at most all of its group, at most once per touch; the
// channels and the unattributed leads add up to the new and earlier
// ones.

var sourceAgeMagic = []byte("LKSA\x01")

var (
	_ encoding.BinaryMarshaler   = (*SourceAgeAccumulator)(nil)
	_ encoding.BinaryUnmarshaler = (*SourceAgeAccumulator)(nil)
)

// encodedOptions are a's options as the encoding writes them.
func (a *SourceAgeAccumulator) encodedOptions() SourceAgeOptions {
	o := a.opts
	o.From, o.To = utc(o.From), utc(o.To)
	return o
}

// MarshalBinary encodes the accumulator's state (its stage, options and
// everything added or merged so far) in a compact, versioned and
// canonical form that UnmarshalBinary reads back; the decoded accumulator
// has the same Result (with From and To in UTC) and merges as a would.
// An accumulator not made by [NewSourceAgeAccumulator] (the zero value)
// has no state to encode: an error wrapping leadkit.ErrInvalid.
func (a *SourceAgeAccumulator) MarshalBinary() ([]byte, error) {
	if a == nil || a.channels == nil {
		return nil, notMade("source age", "NewSourceAgeAccumulator")
	}
	b := binenc.AppendString(slices.Clone(sourceAgeMagic), a.stage)
	b, err := appendOptions(b, "journey: source age: encode: ", a.encodedOptions())
	if err != nil {
		return nil, err
	}
	r := &a.r
	for _, v := range []int{r.FirstTime, r.Repeat, r.New, r.Earlier, r.Unknown, r.NewUnattributed, r.EarlierUnattributed} {
		b = binary.AppendUvarint(b, uint64(v))
	}
	b = a.newMix.appendTypes(b)
	b = a.oldMix.appendTypes(b)
	for _, m := range a.mixes {
		b = binary.AppendUvarint(b, uint64(m.leads))
		b = m.appendTypes(b)
	}
	return binenc.AppendMap(b, a.channels, func(b []byte, _ string, c *SourceChannel) []byte {
		b = binary.AppendUvarint(b, uint64(c.New))
		return binary.AppendUvarint(b, uint64(c.Revived))
	}), nil
}

// UnmarshalBinary replaces a's state with the one MarshalBinary encoded
// in data; a may be the zero value (new(SourceAgeAccumulator)). Data that
// is not such an encoding, or encodes a stage and options
// NewSourceAgeAccumulator refuses or counts no leads can make, is refused
// with an error wrapping leadkit.ErrInvalid, and a is left unchanged.
func (a *SourceAgeAccumulator) UnmarshalBinary(data []byte) error {
	d := binenc.Decoder{B: data, Prefix: "journey: source age: decode: ", Canonical: true}
	if !d.Magic(sourceAgeMagic, "a source age accumulator") {
		return d.Err
	}
	st := string(d.Bytes("stage"))
	opts, raw, err := readOptions(&d, ParseSourceAgeOptions)
	if err != nil {
		return err
	}
	out, err := NewSourceAgeAccumulator(st, opts)
	if err != nil {
		return prefixed(&d, err)
	}
	if err := canonicalOptions(&d, raw, out.encodedOptions()); err != nil {
		return err
	}
	r := &out.r
	for _, p := range []*int{&r.FirstTime, &r.Repeat, &r.New, &r.Earlier, &r.Unknown, &r.NewUnattributed, &r.EarlierUnattributed} {
		*p = d.Total("counts")
	}
	if d.Err != nil {
		return d.Err
	}
	r.Leads = r.FirstTime + r.Repeat // each at most MaxCount: no overflow, nor below
	switch {
	case r.Leads > MaxCount:
		return d.Fail("first time %d + repeat %d leads: more than %d (MaxCount)", r.FirstTime, r.Repeat, MaxCount)
	case r.New+r.Earlier+r.Unknown != r.Leads:
		return d.Fail("new %d + earlier %d + unknown %d leads are not the first time %d + repeat %d", r.New, r.Earlier, r.Unknown, r.FirstTime, r.Repeat)
	case r.NewUnattributed > r.New:
		return d.Fail("new unattributed %d > new %d", r.NewUnattributed, r.New)
	case r.EarlierUnattributed > r.Earlier:
		return d.Fail("earlier unattributed %d > earlier %d", r.EarlierUnattributed, r.Earlier)
	}
	out.newMix.leads, out.oldMix.leads = r.New, r.Earlier
	out.newMix.readTypes(&d, "new leads")
	out.oldMix.readTypes(&d, "earlier leads")
	for _, m := range []*touchMix{out.newMix, out.oldMix} {
		for _, n := range m.touches {
			if d.Err == nil && out.touches > MaxCount-n {
				d.Fail("the new and earlier leads have more than %d touches (MaxCount)", MaxCount)
			}
			out.touches += n
		}
	}
	inBuckets := 0
	sum := newTouchMix()
	for i, m := range out.mixes { // at most MaxAgeBuckets+1: the sums stay far from overflow
		m.leads = d.Total("bucket leads")
		inBuckets += m.leads
		m.readTypes(&d, "bucket "+strconv.Itoa(i+1))
		sum.merge(m)
	}
	if d.Err != nil {
		return d.Err
	}
	if inBuckets != r.New+r.Earlier {
		return d.Fail("the buckets hold %d leads, not the new %d + earlier %d", inBuckets, r.New, r.Earlier)
	}
	both := newTouchMix()
	both.merge(out.newMix)
	both.merge(out.oldMix)
	if !maps.Equal(sum.touches, both.touches) || !maps.Equal(sum.leadsBy, both.leadsBy) {
		return d.Fail("the buckets' touches are not those of the new and earlier leads")
	}
	var chNew, chRevived int
	d.Map("channels", 3, func(k string) {
		if msg := checkKey(out.opts.By, k); msg != "" {
			d.Fail("channel %q: %s", clipKey(k), msg)
			return
		}
		c := &SourceChannel{Key: k, New: d.Total("channel new"), Revived: d.Total("channel revived")}
		switch {
		case d.Err != nil:
		case c.New+c.Revived == 0:
			d.Fail("channel %q: no leads", clipKey(k))
		case c.New > r.New-chNew || c.Revived > r.Earlier-chRevived: // so that the sums never overflow
			d.Fail("channels: more than the new %d or earlier %d leads", r.New, r.Earlier)
		}
		chNew += c.New
		chRevived += c.Revived
		out.channels[k] = c
	})
	if err := d.End(); err != nil {
		return err
	}
	if chNew+r.NewUnattributed != r.New || chRevived+r.EarlierUnattributed != r.Earlier {
		return d.Fail("channels (%d new, %d revived) and unattributed leads (%d, %d) do not add up to the new %d and earlier %d",
			chNew, chRevived, r.NewUnattributed, r.EarlierUnattributed, r.New, r.Earlier)
	}
	*a = *out
	return nil
}

// appendTypes appends m's touch types in byte order, each with its leads
// and touches.
func (m *touchMix) appendTypes(b []byte) []byte {
	return binenc.AppendMap(b, m.touches, func(b []byte, typ string, n int) []byte {
		b = binary.AppendUvarint(b, uint64(m.leadsBy[typ]))
		return binary.AppendUvarint(b, uint64(n))
	})
}

// readTypes reads what appendTypes wrote into m, whose leads are set:
// every type an event type, had by 1 to m.leads leads, each at least
// once.
func (m *touchMix) readTypes(d *binenc.Decoder, group string) {
	d.Map(group+" types", 3, func(typ string) {
		if msg := checkKey(KeyType, typ); msg != "" {
			d.Fail("%s: type %q: %s", group, clipKey(typ), msg)
			return
		}
		leads, touches := d.Total("type leads"), d.Total("type touches")
		if d.Err == nil && (leads == 0 || leads > m.leads || leads > touches) {
			d.Fail("%s: type %q: %d leads with %d touches of %d leads", group, clipKey(typ), leads, touches, m.leads)
		}
		m.leadsBy[typ], m.touches[typ] = leads, touches
	})
}
