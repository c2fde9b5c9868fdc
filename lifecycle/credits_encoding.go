package lifecycle

import (
	"encoding"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"slices"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/attribution"
	"github.com/leadkit/leadkit/internal/binenc"
)

// The binary encoding of a CreditAccumulator carries its state between
// processes (the beam module fills accumulators on many workers and
// merges them on one). Layout, every integer a varint (encoding/binary)
// in its shortest form, every float its eight bytes little-endian:
//
//	"LKVC" 0x02                      magic and format version
//	uvarint n, n bytes               the stage
//	uvarint n, n bytes               the CreditPlan as JSON
//	uvarint skipped                  journeys skipped (at most MaxCreditCount)
//	uvarint r, r x (uvarint n, n bytes lead, uvarint piece, uvarint n,
//	n bytes reason)                  the reasons kept, by lead, piece, then reason
//	per key of the plan:
//	  byte flags                     1 last touch over its cap, 2 Markov over
//	                                 its cap (their state is then left out)
//	  with last touch, not over: uvarint c, c x (uvarint n, n bytes
//	  channel, float conversions, float value)
//	                                 last-touch credit, in byte order of
//	                                 the channel
//	  with markov, not over: uvarint n, n bytes
//	                                 the attribution.MarkovCounts encoding
//
// It is canonical (accumulators of one stage and plan that credited the
// same leads encode to the same bytes, whatever the order they were added
// or merged in, with values that sum exactly, as whole numbers below 2^53
// do; an input that decodes is the encoding of its state), and decoding
// checks what Add leaves: the plan as NewCreditAccumulator takes it and in
// the form the encoder writes, at most MaxSkipReasons reasons of at most
// the skipped journeys, in order, at most attribution.MaxChannels
// channels of valid names per model, last-touch credit of whole
// conversions (at least one) and a finite value only under a plan with
// one, Markov counts of the plan's model. Sums have no cap below
// float64's range (no state Add and Merge reach overflows it), so every
// state they make decodes.

// Flags of a key's state.
const (
	creditLastOver   = 1
	creditMarkovOver = 2
)

var creditMagic = []byte("LKVC\x02")

var (
	_ encoding.BinaryMarshaler   = (*CreditAccumulator)(nil)
	_ encoding.BinaryUnmarshaler = (*CreditAccumulator)(nil)
)

// MarshalBinary encodes the accumulator's state (its stage, plan and
// everything added or merged so far) in a compact, versioned and
// canonical form that UnmarshalBinary reads back; the decoded accumulator
// has the same Result and merges as a would. An accumulator not made by
// NewCreditAccumulator (the zero value) is an error wrapping
// leadkit.ErrInvalid.
func (a *CreditAccumulator) MarshalBinary() ([]byte, error) {
	if a == nil || a.keys == nil {
		return nil, fmt.Errorf("lifecycle: credit: encode: %w: accumulator not made by NewCreditAccumulator", leadkit.ErrInvalid)
	}
	plan, err := json.Marshal(a.plan)
	if err != nil {
		return nil, fmt.Errorf("lifecycle: credit: encode: %w", err)
	}
	b := binenc.AppendString(slices.Clone(creditMagic), a.stage)
	b = binenc.AppendString(b, string(plan))
	b = binary.AppendUvarint(b, uint64(a.skipped))
	b = binary.AppendUvarint(b, uint64(len(a.reasons)))
	for _, r := range a.reasons {
		b = binenc.AppendString(b, r.lead)
		b = binary.AppendUvarint(b, uint64(r.piece))
		b = binenc.AppendString(b, r.reason)
	}
	hasLast, hasMarkov := slices.Contains(a.plan.Models, "last_touch"), slices.Contains(a.plan.Models, "markov")
	for i := range a.keys {
		k := &a.keys[i]
		var flags byte
		if k.lastOver {
			flags |= creditLastOver
		}
		if k.markovOver {
			flags |= creditMarkovOver
		}
		b = append(b, flags)
		if hasLast && !k.lastOver {
			b = binenc.AppendMap(b, k.last, func(b []byte, _ string, c *[2]float64) []byte {
				return binenc.AppendFloat(binenc.AppendFloat(b, c[0]), c[1])
			})
		}
		if hasMarkov && !k.markovOver {
			m, err := k.markov.MarshalBinary()
			if err != nil {
				return nil, fmt.Errorf("lifecycle: credit: encode: %w", err)
			}
			b = binenc.AppendString(b, string(m))
		}
	}
	return b, nil
}

// UnmarshalBinary replaces a's state with the one MarshalBinary encoded
// in data; a may be the zero value (new(CreditAccumulator)). Data that is
// not such an encoding, or encodes a plan NewCreditAccumulator refuses or
// a state no leads can make, is refused with an error wrapping
// leadkit.ErrInvalid, and a is left unchanged.
func (a *CreditAccumulator) UnmarshalBinary(data []byte) error {
	d := binenc.Decoder{B: data, Prefix: "lifecycle: credit: decode: ", Canonical: true}
	if !d.Magic(creditMagic, "a credit accumulator") {
		return d.Err
	}
	st := string(d.Bytes("stage"))
	raw := d.Bytes("plan")
	if d.Err != nil {
		return d.Err
	}
	var plan CreditPlan
	if err := json.Unmarshal(raw, &plan); err != nil {
		return d.Fail("plan: %v", err)
	}
	out, err := NewCreditAccumulator(st, plan)
	if err != nil {
		return fmt.Errorf("%s%w", d.Prefix, err)
	}
	if want, err := json.Marshal(out.plan); err != nil || string(want) != string(raw) {
		return d.Fail("plan not in the form the encoder writes (%s)", want)
	}
	out.skipped = d.Total("skipped")
	n := d.Length("skip reasons", 3)
	if d.Err == nil && (n > MaxSkipReasons || n > out.skipped) {
		d.Fail("%d skip reasons of %d skipped journeys, at most %d", n, out.skipped, MaxSkipReasons)
	}
	for i := range n {
		r := skipReason{lead: string(d.Bytes("skip reason lead")), piece: d.Count("skip reason journey")}
		r.reason = string(d.Bytes("skip reason"))
		if d.Err != nil {
			return d.Err
		}
		if err := leadkit.ValidateID("lead ID", r.lead); err != nil {
			return d.Fail("skip reason %d: %v", i+1, err)
		}
		if msg := leadkit.CheckText(r.reason, leadkit.MaxStringBytes); r.reason == "" || msg != "" {
			return d.Fail("skip reason %d: not a reason", i+1)
		}
		if i > 0 {
			if out.reasons[i-1].compare(r) >= 0 {
				return d.Fail("skip reasons out of order")
			}
		}
		out.reasons = append(out.reasons, r)
	}
	hasLast, hasMarkov := slices.Contains(out.plan.Models, "last_touch"), slices.Contains(out.plan.Models, "markov")
	for i := range out.keys {
		if d.Err != nil {
			return d.Err
		}
		k, key := &out.keys[i], out.plan.Keys[i]
		flags := d.Byte("flags")
		if d.Err == nil && (flags&^(creditLastOver|creditMarkovOver) != 0 ||
			!hasLast && flags&creditLastOver != 0 || !hasMarkov && flags&creditMarkovOver != 0) {
			return d.Fail("key %q: flags %#x", key, flags)
		}
		if flags&creditLastOver != 0 {
			k.last, k.lastOver = nil, true
		}
		if flags&creditMarkovOver != 0 {
			k.markov, k.markovOver = nil, true
		}
		if k.last != nil {
			d.Map("last touch channels", 17, func(ch string) {
				if len(k.last) == attribution.MaxChannels {
					d.Fail("key %q: last touch: more than %d channels (attribution.MaxChannels)", key, attribution.MaxChannels)
					return
				}
				conv, val := d.Float("conversions"), d.Float("value")
				if d.Err != nil {
					return
				}
				switch err := attribution.ValidatePaths([]attribution.Path{{Channels: []string{ch}}}); {
				case err != nil:
					d.Fail("key %q: last touch: channel %q: %v", key, clip(ch), err)
				case !(conv >= 1) || math.IsInf(conv, 0) || math.Trunc(conv) != conv:
					d.Fail("key %q: last touch: channel %q: %v conversions, want a whole number, at least 1", key, clip(ch), conv)
				case !(val >= 0) || math.IsInf(val, 0):
					d.Fail("key %q: last touch: channel %q: value %v", key, clip(ch), val)
				case val != 0 && out.plan.Value == nil:
					d.Fail("key %q: last touch: channel %q: a value without a value in the plan", key, clip(ch))
				}
				k.last[ch] = &[2]float64{conv, val}
			})
		}
		if k.markov != nil {
			raw := d.Bytes("markov counts")
			if d.Err != nil {
				return d.Err
			}
			var m attribution.MarkovCounts
			if err := m.UnmarshalBinary(raw); err != nil {
				return d.Fail("key %q: %v", key, err)
			}
			if m.Spec() != (attribution.Markov{Order: max(1, out.plan.MarkovOrder)}) {
				return d.Fail("key %q: markov counts of another model", key)
			}
			if m.Channels() > attribution.MaxChannels {
				return d.Fail("key %q: markov: more than %d channels (attribution.MaxChannels)", key, attribution.MaxChannels)
			}
			k.markov = &m
		}
	}
	if err := d.End(); err != nil {
		return err
	}
	*a = *out
	return nil
}
