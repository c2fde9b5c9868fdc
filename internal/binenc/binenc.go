// Package binenc holds the pieces of the accumulators' binary encodings
// (stage's and journey's funnels, attribution's Markov counts, journey's
// paths, patterns, source age, content phases, old lead nurture, cycle
// times and nurture power): the
// appenders, the canonical forms of string-keyed count maps (AppendMap)
// and of multisets of sequences (AppendSeqs), and a decoder whose first
// error sticks, so each package's MarshalBinary and UnmarshalBinary write
// only their own layout and checks.
package binenc

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/text"
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

// Count reads a non-negative int of at most math.MaxInt32: an index or a
// small number that merges do not sum (the place of a journey among a
// lead's). A count that merges sum is read with Total.
func (d *Decoder) Count(what string) int {
	v := d.Uvarint(what)
	if v > math.MaxInt32 {
		d.Fail("%s: %d is out of range", what, v)
		return 0
	}
	return int(v)
}

// MaxTotal caps the counts read by Total: every integer up to it (2^53 -
// 1, or math.MaxInt where int is 32 bits) is exact in float64 (and so in
// JSON). It is the one home of the cap of the accumulators' counts,
// exported as journey.MaxCount: their Add and Merge refuse to go past it,
// so every state they make encodes and decodes.
const MaxTotal = min(1<<53-1, math.MaxInt)

// Total reads a count that merges sum (leads, touches, sends, skipped
// journeys, the durations of a summary): at most MaxTotal, so that a
// merge of decoded states still decodes as long as Merge keeps to the
// same cap.
func (d *Decoder) Total(what string) int {
	v := d.Uvarint(what)
	if v > MaxTotal {
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

// NilLength reads the header of a list or a map that may be nil (0: nil,
// else the length plus one) and reports whether one follows; its items
// take at least size bytes each, so a length the bytes left cannot hold
// is refused before anything is allocated.
func (d *Decoder) NilLength(what string, size int) (int, bool) {
	u := d.Uvarint(what)
	if d.Err != nil || u == 0 {
		return 0, false
	}
	if u-1 > uint64(len(d.B)/size) {
		d.Fail("%s: %d items in %d bytes", what, u-1, len(d.B))
		return 0, false
	}
	return int(u - 1), true
}

// Fixed reads n bytes (not copied; nil when they are not there).
func (d *Decoder) Fixed(n int, what string) []byte {
	if d.Err != nil {
		return nil
	}
	if len(d.B) < n {
		d.Fail("%s: truncated", what)
		return nil
	}
	out := d.B[:n]
	d.B = d.B[n:]
	return out
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
	raw := d.Fixed(8, what)
	if raw == nil {
		return 0
	}
	bits := binary.LittleEndian.Uint64(raw)
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

// Magic checks that d.B starts with magic, whose last byte is the format
// version, and moves past it: another prefix fails with "not a(n) what",
// another version with "unknown format version".
func (d *Decoder) Magic(magic []byte, what string) bool {
	if d.Err != nil {
		return false
	}
	n := len(magic) - 1
	if len(d.B) < n || string(d.B[:n]) != string(magic[:n]) {
		d.Fail("not %s", what)
		return false
	}
	if len(d.B) < len(magic) || d.B[n] != magic[n] {
		d.Fail("unknown format version")
		return false
	}
	d.B = d.B[len(magic):]
	return true
}

// End fails when bytes are left after the end of the encoding.
func (d *Decoder) End() error {
	if d.Err == nil && len(d.B) > 0 {
		d.Fail("%d bytes after the end", len(d.B))
	}
	return d.Err
}

// AppendMap appends m's entries in key order (so that the same map gives
// the same bytes whatever order it was filled in): their number, then per
// entry its key (AppendString) and what value appends for it.
func AppendMap[V any](b []byte, m map[string]V, value func(b []byte, key string, v V) []byte) []byte {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = binary.AppendUvarint(b, uint64(len(keys)))
	for _, k := range keys {
		b = AppendString(b, k)
		b = value(b, k, m[k])
	}
	return b
}

// Map reads what AppendMap wrote: the number of entries, each at least
// size bytes (key included, so more than the bytes left can hold is
// refused before anything is read), then per entry its key, which must be
// in strictly ascending byte order (no repeats: one map has one
// encoding), and its value, which entry reads. It stops at the first
// error; entry may call Fail.
func (d *Decoder) Map(what string, size int, entry func(key string)) {
	n := d.Length(what, max(size, 1))
	prev := ""
	for i := range n {
		if d.Err != nil {
			return
		}
		k := string(d.Bytes(what + " key"))
		if d.Err != nil {
			return
		}
		if i > 0 && k <= prev {
			d.Fail("%s: key %q out of order or repeated", what, text.Clip(k, 64))
			return
		}
		prev = k
		entry(k)
	}
}

// Seq is a sequence of items counted Count times: an entry of a multiset
// of sequences (paths, pattern mining input).
type Seq struct {
	Items []string
	Count int
}

// AppendSeqs appends a multiset of distinct sequences in a canonical
// form: the number of distinct items and the items in byte order
// (AppendString), then the number of sequences and the sequences in order
// of their items (slices.Compare), each as its length, its items' places
// in the item list and its count. seqs is left alone.
func AppendSeqs(b []byte, seqs []Seq) []byte {
	ids := map[string]uint64{}
	for _, s := range seqs {
		for _, it := range s.Items {
			ids[it] = 0
		}
	}
	items := make([]string, 0, len(ids))
	for it := range ids {
		items = append(items, it)
	}
	slices.Sort(items)
	b = binary.AppendUvarint(b, uint64(len(items)))
	for i, it := range items {
		ids[it] = uint64(i)
		b = AppendString(b, it)
	}
	sorted := slices.Clone(seqs)
	slices.SortFunc(sorted, func(x, y Seq) int { return slices.Compare(x.Items, y.Items) })
	b = binary.AppendUvarint(b, uint64(len(sorted)))
	for _, s := range sorted {
		b = binary.AppendUvarint(b, uint64(len(s.Items)))
		for _, it := range s.Items {
			b = binary.AppendUvarint(b, ids[it])
		}
		b = binary.AppendUvarint(b, uint64(s.Count))
	}
	return b
}

// Seqs reads what AppendSeqs wrote. Items must be in strictly ascending
// byte order and each in some sequence, sequences in strictly ascending
// order of their items, every count at least 1 (one multiset has one
// encoding), and the counts add up to at most MaxTotal (the size of the
// multiset is a count too). check vets each item (a message, or "" when
// it is good) and seq each sequence (its items share the item list's
// strings). Lengths are bounded by the bytes left before anything is
// allocated.
func (d *Decoder) Seqs(check func(item string) string, seq func(items []string) string) []Seq {
	n := d.Length("items", 2)
	items := make([]string, 0, n)
	for i := range n {
		if d.Err != nil {
			return nil
		}
		it := string(d.Bytes("item"))
		if d.Err != nil {
			return nil
		}
		if msg := check(it); msg != "" {
			d.Fail("item %d %q: %s", i+1, text.Clip(it, 64), msg)
		} else if i > 0 && it <= items[i-1] {
			d.Fail("item %q out of order or repeated", text.Clip(it, 64))
		}
		items = append(items, it)
	}
	k := d.Length("sequences", 2)
	if d.Err != nil {
		return nil
	}
	out := make([]Seq, 0, k)
	used := make([]bool, len(items))
	var prev []uint64
	ids := []uint64{}
	total := 0
	for i := range k {
		m := d.Length("sequence length", 1)
		ids = ids[:0]
		s := Seq{Items: make([]string, 0, m)}
		for range m {
			id := d.Uvarint("sequence item")
			if d.Err != nil {
				return nil
			}
			if id >= uint64(len(items)) {
				d.Fail("sequence %d: item %d of %d", i+1, id+1, len(items))
				return nil
			}
			ids = append(ids, id)
			used[id] = true
			s.Items = append(s.Items, items[id])
		}
		s.Count = d.Total("sequence count")
		if d.Err != nil {
			return nil
		}
		if s.Count == 0 {
			d.Fail("sequence %d: count 0", i+1)
			return nil
		}
		if total > MaxTotal-s.Count {
			d.Fail("sequence %d: the counts add up to more than %d", i+1, MaxTotal)
			return nil
		}
		total += s.Count
		// Item places compare as the items do: the list is sorted.
		if i > 0 && slices.Compare(ids, prev) <= 0 {
			d.Fail("sequence %d out of order or repeated", i+1)
			return nil
		}
		prev = append(prev[:0], ids...)
		if msg := seq(s.Items); msg != "" {
			d.Fail("sequence %d: %s", i+1, msg)
			return nil
		}
		out = append(out, s)
	}
	for i, u := range used {
		if !u && d.Err == nil {
			d.Fail("item %q is in no sequence", text.Clip(items[i], 64))
		}
	}
	if d.Err != nil {
		return nil
	}
	return out
}
