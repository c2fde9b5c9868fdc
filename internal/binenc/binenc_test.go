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

func TestMagicAndEnd(t *testing.T) {
	d := Decoder{B: []byte("ABCD\x01rest"), Prefix: "x: "}
	require.True(t, d.Magic([]byte("ABCD\x01"), "an abcd"))
	assert.Equal(t, "rest", string(d.B))
	assert.ErrorContains(t, d.End(), "4 bytes after the end")

	for data, why := range map[string]string{"": "not an abcd", "ABC": "not an abcd", "ABCE\x01": "not an abcd", "ABCD": "unknown format version", "ABCD\x02": "unknown format version"} {
		d := Decoder{B: []byte(data)}
		assert.False(t, d.Magic([]byte("ABCD\x01"), "an abcd"))
		assert.ErrorContains(t, d.Err, why, "%q", data)
		assert.ErrorIs(t, d.Err, leadkit.ErrInvalid)
	}
}

func TestMapRoundTripAndOrder(t *testing.T) {
	m := map[string]int{"b": 2, "a": 1, "c": 3}
	value := func(b []byte, _ string, v int) []byte { return append(b, byte(v)) }
	b := AppendMap(nil, m, value)
	assert.Equal(t, "\x03\x01a\x01\x01b\x02\x01c\x03", string(b), "keys in byte order")

	got := map[string]int{}
	d := Decoder{B: b}
	d.Map("m", 2, func(k string) { got[k] = int(d.Byte("v")) })
	require.NoError(t, d.End())
	assert.Equal(t, m, got)

	for data, why := range map[string]string{
		"\x02\x01b\x02\x01a\x01": `m: key "a" out of order or repeated`,
		"\x02\x01a\x02\x01a\x01": `m: key "a" out of order or repeated`,
		"\x05\x01a\x01":          "m: 5 items in 3 bytes",
	} {
		d := Decoder{B: []byte(data)}
		d.Map("m", 2, func(string) { d.Byte("v") })
		assert.ErrorContains(t, d.Err, why, "%q", data)
	}
}

func TestSeqsRoundTrip(t *testing.T) {
	seqs := []Seq{{Items: []string{"web", "email"}, Count: 2}, {Items: []string{}, Count: 1}, {Items: []string{"email"}, Count: 5}}
	b := AppendSeqs(nil, seqs)
	assert.Equal(t, []string{"web", "email"}, seqs[0].Items, "the caller's sequences are left alone")
	ok := func(string) string { return "" }
	okSeq := func([]string) string { return "" }
	d := Decoder{B: b, Canonical: true}
	got := d.Seqs(ok, okSeq)
	require.NoError(t, d.End())
	assert.Equal(t, []Seq{{Items: []string{}, Count: 1}, {Items: []string{"email"}, Count: 5}, {Items: []string{"web", "email"}, Count: 2}}, got)
	assert.Equal(t, b, AppendSeqs(nil, got), "one multiset, one encoding")

	// The callbacks' messages name the item and the sequence.
	d = Decoder{B: b}
	d.Seqs(func(it string) string {
		if it == "web" {
			return "is refused"
		}
		return ""
	}, okSeq)
	assert.ErrorContains(t, d.Err, `item 2 "web": is refused`)
	d = Decoder{B: b}
	d.Seqs(ok, func(items []string) string {
		if len(items) > 1 {
			return "too long"
		}
		return ""
	})
	assert.ErrorContains(t, d.Err, "sequence 3: too long")
}

// A multiset's counts are counts that merges sum: each, and their total
// (the multiset's size), at most MaxTotal.
func TestSeqsCountsUpToMaxTotal(t *testing.T) {
	ok := func(string) string { return "" }
	okSeq := func([]string) string { return "" }
	full := []Seq{{Items: []string{"a"}, Count: MaxTotal - 1}, {Items: []string{"b"}, Count: 1}}
	d := Decoder{B: AppendSeqs(nil, full), Canonical: true}
	assert.Equal(t, full, d.Seqs(ok, okSeq))
	require.NoError(t, d.End())

	for _, over := range [][]Seq{
		{{Items: []string{"a"}, Count: MaxTotal}, {Items: []string{"b"}, Count: 1}},
		{{Items: []string{"a"}, Count: MaxTotal + 1}},
	} {
		d = Decoder{B: AppendSeqs(nil, over), Canonical: true}
		assert.Nil(t, d.Seqs(ok, okSeq))
		require.ErrorIs(t, d.Err, leadkit.ErrInvalid)
	}
	assert.ErrorContains(t, d.Err, "sequence count: 9007199254740992 is out of range")
	d = Decoder{B: AppendSeqs(nil, []Seq{{Items: []string{"a"}, Count: MaxTotal}, {Items: []string{"b"}, Count: 1}})}
	d.Seqs(ok, okSeq)
	assert.ErrorContains(t, d.Err, "sequence 2: the counts add up to more than 9007199254740991")
}
