package lifecycle

import (
	"encoding"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/attribution"
	"github.com/leadkit/leadkit/internal/binenc"
)

// The binary encoding of a CreditAccumulator carries its state between
// processes (the beam module fills accumulators on many workers and
// merges them on one). Layout, every integer a varint (encoding/binary)
// in its shortest form, every float its eight bytes little-endian:
//
//	"LKVC" 0x01                      magic and format version
//	uvarint n, n bytes               the stage
//	uvarint n, n bytes               the CreditPlan as JSON
//	uvarint skipped                  journeys skipped
//	uvarint r, r x (uvarint n, n bytes lead, uvarint piece, uvarint n,
//	n bytes reason)                  the reasons kept, by lead then piece
//	per key of the plan: uvarint k, k x (uvarint n, n bytes channels
//	joined by NUL bytes, float conversions, float value, float nulls)
//	                                 its paths, in byte order of the key
//
// It is canonical (accumulators of one stage and plan that credited the
// same leads encode to the same bytes, whatever the order they were added
// or merged in; an input that decodes is the encoding of its state), and
// decoding checks what Add leaves: the plan as NewCreditAccumulator takes
// it and in the form the encoder writes, at most MaxSkipReasons reasons
// of at most the skipped journeys, in order, paths that
// attribution.ValidatePaths accepts, each of whole conversions and nulls
// (at least one), with a value only under a plan with one.

var creditMagic = []byte("LKVC\x01")

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
	if a == nil || a.tables == nil {
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
	for _, t := range a.tables {
		b = binenc.AppendMap(b, t, func(b []byte, _ string, p *attribution.Path) []byte {
			b = binenc.AppendFloat(b, p.Conversions)
			b = binenc.AppendFloat(b, p.Value)
			return binenc.AppendFloat(b, p.Nulls)
		})
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
	out.skipped = d.Count("skipped")
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
			if p := out.reasons[i-1]; p.lead > r.lead || p.lead == r.lead && p.piece >= r.piece {
				return d.Fail("skip reasons out of order")
			}
		}
		out.reasons = append(out.reasons, r)
	}
	for k := range out.tables {
		d.Map("paths", 25, func(key string) {
			p := attribution.Path{Channels: strings.Split(key, "\x00")}
			p.Conversions, p.Value, p.Nulls = d.Float("conversions"), d.Float("value"), d.Float("nulls")
			if d.Err != nil {
				return
			}
			whole := func(x float64) bool { return x >= 0 && x <= attribution.MaxPathCount && math.Trunc(x) == x }
			switch err := attribution.ValidatePaths([]attribution.Path{p}); {
			case err != nil:
				d.Fail("key %q: path %q: %v", out.plan.Keys[k], clip(p.String()), err)
			case !whole(p.Conversions) || !whole(p.Nulls) || p.Conversions+p.Nulls == 0:
				d.Fail("key %q: path %q: %v conversions and %v nulls, want whole numbers, not both 0", out.plan.Keys[k], clip(p.String()), p.Conversions, p.Nulls)
			case p.Value != 0 && out.plan.Value == nil:
				d.Fail("key %q: path %q: a value without a value in the plan", out.plan.Keys[k], clip(p.String()))
			}
			out.tables[k][key] = &p
		})
	}
	if err := d.End(); err != nil {
		return err
	}
	*a = *out
	return nil
}
