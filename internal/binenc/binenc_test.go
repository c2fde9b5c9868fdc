package binenc

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
)

func TestRoundTrip(t *testing.T) {
	b := AppendString(nil, "MQL")
	b = AppendSortedDurations(b, []time.Duration{5 * time.Hour, time.Hour, 3 * time.Hour})
	b = AppendFloat(b, 2.5)
	b = append(b, 7)
	d := Decoder{B: b, Prefix: "x: "}
	assert.Equal(t, "MQL", string(d.Bytes("name")))
	assert.Equal(t, []time.Duration{time.Hour, 3 * time.Hour, 5 * time.Hour}, d.Durations(3, math.MaxInt64, "too long"))
	assert.Equal(t, 2.5, d.Float("f"))
	assert.Equal(t, byte(7), d.Byte("b"))
	require.NoError(t, d.Err)
	assert.Empty(t, d.B)
}

func TestDecoderRefuses(t *testing.T) {
	// The first error sticks, later reads give zero values.
	d := Decoder{B: []byte{0x80}, Prefix: "x: decode: "}
	assert.Zero(t, d.Uvarint("n"))
	assert.Zero(t, d.Count("m"))
	require.ErrorIs(t, d.Err, leadkit.ErrInvalid)
	assert.Equal(t, "x: decode: leadkit: invalid input: n: truncated or overlong number", d.Err.Error())

	// A length longer than the bytes left, before any allocation.
	d = Decoder{B: []byte{0xff, 0x01, 'a'}}
	assert.Nil(t, d.Bytes("s"))
	assert.ErrorContains(t, d.Err, "s: 255 items in 1 bytes")

	// Canonical: a number not in its shortest form.
	overlong := []byte{0x81, 0x00}
	loose := Decoder{B: overlong}
	assert.Equal(t, uint64(1), loose.Uvarint("n"))
	strict := Decoder{B: overlong, Canonical: true}
	strict.Uvarint("n")
	assert.ErrorContains(t, strict.Err, "overlong")

	// Durations past the bound, and a negative first one.
	b := AppendSortedDurations(nil, []time.Duration{time.Hour, 3 * time.Hour})
	d = Decoder{B: b}
	assert.Nil(t, d.Durations(2, 2*time.Hour, "beyond the window"))
	assert.ErrorContains(t, d.Err, "beyond the window")
	d = Decoder{B: AppendSortedDurations(nil, []time.Duration{-time.Second})}
	d.Durations(1, time.Hour, "x")
	assert.ErrorContains(t, d.Err, "negative duration")

	// Floats: NaN and negative zero would make two encodings of one value.
	for _, bits := range []float64{math.NaN(), math.Copysign(0, -1), math.Inf(1)} {
		d = Decoder{B: AppendFloat(nil, bits)}
		d.Float("f")
		assert.ErrorContains(t, d.Err, "not a finite number")
	}
}
