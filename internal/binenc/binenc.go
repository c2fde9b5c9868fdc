// Package binenc holds the pieces of the accumulators' binary encodings
// (stage's and journey's funnels, attribution's Markov counts): the
// appenders and a decoder whose first error sticks, so each package's
// MarshalBinary and UnmarshalBinary write only their own layout and
// checks.
package binenc

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/leadkit/leadkit"
)

// AppendString appends s as its length and its bytes.
func AppendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// AppendSortedDurations appends ds sorted (a copy: the caller's order is
// left alone), the first as a varint, the rest as differences: the same
// durations give the same bytes in any order.
func AppendSortedDurations(b []byte, ds []time.Duration) []byte {
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

// AppendFloat appends v's eight bytes, little-endian.
func AppendFloat(b []byte, v float64) []byte {
	return binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
}

// Decoder reads an encoding from B. The first error sticks (Err) and later
// reads return zero values; every error wraps leadkit.ErrInvalid and
// starts with Prefix ("stage: funnel: decode: ").
type Decoder struct {
	B      []byte
	Err    error
	Prefix string
	// Canonical refuses numbers not in their shortest form, so that no
	// two byte strings decode to the same value.
	Canonical bool
}

// Fail records the error (if it is the first) and returns the one kept.
func (d *Decoder) Fail(format string, args ...any) error {
	if d.Err == nil {
		d.Err = fmt.Errorf("%s%w: %s", d.Prefix, leadkit.ErrInvalid, fmt.Sprintf(format, args...))
	}
	return d.Err
}

// Uvarint reads an unsigned varint.
func (d *Decoder) Uvarint(what string) uint64 {
	if d.Err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.B)
	if n <= 0 || d.Canonical && n > 1 && d.B[n-1] == 0 { // a zero last byte: not the shortest form
		d.Fail("%s: truncated or overlong number", what)
		return 0
	}
	d.B = d.B[n:]
	return v
}

// Varint reads a signed varint.
func (d *Decoder) Varint(what string) int64 {
	if d.Err != nil {
		return 0
	}
	v, n := binary.Varint(d.B)
	if n <= 0 || d.Canonical && n > 1 && d.B[n-1] == 0 {
		d.Fail("%s: truncated or overlong number", what)
		return 0
	}
	d.B = d.B[n:]
	return v
}

// Count reads a non-negative int of at most math.MaxInt32.
func (d *Decoder) Count(what string) int {
	v := d.Uvarint(what)
	if v > math.MaxInt32 {
		d.Fail("%s: %d is out of range", what, v)
		return 0
	}
	return int(v)
}

// Length reads the number of items that follow, each at least size bytes:
// more than the bytes left can hold is refused before anything is
// allocated.
func (d *Decoder) Length(what string, size int) int {
	v := d.Uvarint(what)
	if d.Err == nil && v > uint64(len(d.B)/size) {
		d.Fail("%s: %d items in %d bytes", what, v, len(d.B))
		return 0
	}
	return int(v)
}

// Bytes reads a length and that many bytes (not copied).
func (d *Decoder) Bytes(what string) []byte {
	n := d.Length(what, 1)
	if d.Err != nil {
		return nil
	}
	out := d.B[:n]
	d.B = d.B[n:]
	return out
}

// Byte reads one byte.
func (d *Decoder) Byte(what string) byte {
	if d.Err != nil {
		return 0
	}
	if len(d.B) == 0 {
		d.Fail("%s: truncated", what)
		return 0
	}
	v := d.B[0]
	d.B = d.B[1:]
	return v
}

// Float reads a finite float64 that is not negative zero (which would
// make two encodings of one value).
func (d *Decoder) Float(what string) float64 {
	if d.Err != nil {
		return 0
	}
	if len(d.B) < 8 {
		d.Fail("%s: truncated", what)
		return 0
	}
	bits := binary.LittleEndian.Uint64(d.B)
	d.B = d.B[8:]
	v := math.Float64frombits(bits)
	if math.IsNaN(v) || math.IsInf(v, 0) || bits == 1<<63 {
		d.Fail("%s: %g is not a finite number", what, v)
		return 0
	}
	return v
}

// Durations reads k durations as AppendSortedDurations wrote them, each
// in [0, max]; one over max fails with the message over ("duration out
// of range").
func (d *Decoder) Durations(k int, max time.Duration, over string) []time.Duration {
	if d.Err != nil || k == 0 {
		return nil
	}
	if k > len(d.B) {
		d.Fail("%d durations in %d bytes", k, len(d.B))
		return nil
	}
	out := make([]time.Duration, k)
	for i := range out {
		if i == 0 {
			out[0] = time.Duration(d.Varint("duration"))
			if d.Err == nil && out[0] < 0 {
				d.Fail("negative duration")
			}
		} else {
			delta := d.Uvarint("duration")
			if d.Err == nil && delta > uint64(max-out[i-1]) {
				d.Fail("%s", over)
			}
			out[i] = out[i-1] + time.Duration(delta)
		}
		if d.Err == nil && out[i] > max {
			d.Fail("%s", over)
		}
		if d.Err != nil {
			return nil
		}
	}
	return out
}
