// Package binenctest holds the test helpers of the accumulators and
// their binary encodings (package binenc), one home for the properties
// every accumulator's tests check: copies shipped through an encoding, as
// a distributed runner (the beam module) ships accumulators between
// workers, decode to the same bytes and result; shards merged, shipped or
// not, give one pass's result and bytes; states scaled up by merging
// copies keep their counts, and refuse to go past the cap; truncated,
// foreign and broken encodings are refused and change nothing; the fuzz
// targets' body and their seed corpora. It is for tests only.
package binenctest

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
)

// Acc is an accumulator with a binary encoding, as a pointer to A.
type Acc[A any] interface {
	*A
	encoding.BinaryMarshaler
	encoding.BinaryUnmarshaler
}

// Mergeable is an [Acc] that merges with its own kind.
type Mergeable[A any, P any] interface {
	Acc[A]
	Merge(P) error
}

// Encode encodes acc, failing t on an error.
func Encode[A any, P Acc[A]](t testing.TB, acc P) []byte {
	t.Helper()
	b, err := acc.MarshalBinary()
	require.NoError(t, err)
	return b
}

// Copy decodes acc's encoding into a new accumulator (the zero value
// first) and requires the copy to encode to the same bytes.
func Copy[A any, P Acc[A]](t testing.TB, acc P) P {
	t.Helper()
	b := Encode[A](t, acc)
	out := P(new(A))
	require.NoError(t, out.UnmarshalBinary(b), "an accumulator's own encoding must decode")
	require.Equal(t, b, Encode[A](t, out), "decoding then encoding gives the same bytes")
	return out
}

// Scaled returns an accumulator holding k times what one holds (k at
// least 1), made as a distributed runner makes it: copies of one's
// encoding merged by doubling (k = 2^40 takes 40 doublings, not 2^40
// merges), every state on the way shipped through its encoding. one is
// not modified.
func Scaled[A any, P Mergeable[A, P]](t testing.TB, one P, k uint64) P {
	t.Helper()
	require.Positive(t, k)
	pow := Copy[A](t, one) // one times 2^i
	var sum P              // the powers of two of k seen so far
	for {
		if k&1 == 1 {
			if sum == nil {
				sum = Copy[A](t, pow)
			} else {
				require.NoError(t, sum.Merge(Copy[A](t, pow)))
			}
		}
		if k >>= 1; k == 0 {
			return Copy[A](t, sum)
		}
		require.NoError(t, pow.Merge(Copy[A](t, pow)))
	}
}

// ScaledCounts requires one scaled k times (see [Scaled]; k past
// math.MaxInt32 makes states the decoders once refused) to hold k times
// each of one's counts, before and after a trip through its encoding.
// Every count of one must be positive, so that each is seen scaled.
func ScaledCounts[A any, P Mergeable[A, P], N int | float64](t testing.TB, one P, k uint64, counts func(P) []N) {
	t.Helper()
	big := Scaled(t, one, k)
	want := counts(one)
	require.NotEmpty(t, want)
	for i := range want {
		require.Positive(t, want[i], "count %d of one", i)
		want[i] *= N(k)
	}
	require.Equal(t, want, counts(big), "the counts of one, scaled")
	require.Equal(t, want, counts(Copy[A](t, big)), "the counts of one, scaled, through the encoding")
}

// Capped checks the cap of an accumulator's counts: one holds a unit
// whose largest count is 1, so that one scaled max-1 times merges one
// more and stands at the cap max; then merging one more and adding more
// (add, an Add of one unit) are refused with errors that hold mergeWhy
// and addWhy, and change nothing (see [Refused]). It returns the
// accumulator at the cap.
func Capped[A any, P Mergeable[A, P]](t testing.TB, one P, max uint64, result func(P) any, mergeWhy, addWhy string, add func(P) error) P {
	t.Helper()
	at := Scaled(t, one, max-1)
	require.NoError(t, at.Merge(Copy[A](t, one)), "up to the cap, merges go on")
	at = Copy[A](t, at)
	Refused(t, at, result, mergeWhy, func() error { return at.Merge(Copy[A](t, one)) })
	Refused(t, at, result, addWhy, func() error { return add(at) })
	return at
}

// capRefusal matches the names of the caps of the accumulators' counts
// in their errors: (MaxCount), (journey.MaxCount), (MaxCreditCount).
var capRefusal = regexp.MustCompile(`\((journey\.)?Max\w*Count\)`)

// MergeDecodes is the merge step of the encodings' fuzz targets: x and y
// were decoded from encodings of one spec, so x.Merge(y) either goes
// through, and the merged state's encoding decodes, or is refused at the
// cap of the counts, with an error wrapping leadkit.ErrInvalid that names
// the cap (MaxCount, journey.MaxCount, MaxCreditCount) and leaves x as it
// was.
func MergeDecodes[A any, P Mergeable[A, P]](t testing.TB, x, y P) {
	t.Helper()
	before := Encode[A](t, x)
	if err := x.Merge(y); err != nil {
		if !errors.Is(err, leadkit.ErrInvalid) || !capRefusal.MatchString(err.Error()) {
			t.Fatalf("decoded accumulators of one spec do not merge: %v", err)
		}
		if !bytes.Equal(before, Encode[A](t, x)) {
			t.Fatalf("a merge refused at the cap changed the accumulator: %v", err)
		}
		return
	}
	merged := Encode[A](t, x)
	if err := P(new(A)).UnmarshalBinary(merged); err != nil {
		t.Fatalf("a merged accumulator's encoding is refused: %v", err)
	}
}

// FuzzDecode is the body of the encodings' fuzz targets: arbitrary bytes
// decode or are refused with an error wrapping leadkit.ErrInvalid, never
// panic. What decodes has a result that encodes as JSON; it encodes to
// bytes that decode to the same result and encode to themselves (and,
// with canonical, are the very bytes it came from: one state, one
// encoding); and it merges with its copy (see [MergeDecodes]).
func FuzzDecode[A any, P Mergeable[A, P]](t testing.TB, data []byte, result func(P) any, canonical bool) {
	t.Helper()
	acc := P(new(A))
	if err := acc.UnmarshalBinary(data); err != nil {
		if !errors.Is(err, leadkit.ErrInvalid) {
			t.Fatalf("decode error does not wrap ErrInvalid: %v", err)
		}
		return
	}
	want, err := json.Marshal(result(acc))
	if err != nil {
		t.Fatalf("result does not encode: %v", err)
	}
	enc, err := acc.MarshalBinary()
	if err != nil {
		t.Fatalf("a decoded accumulator does not encode: %v", err)
	}
	if canonical && !bytes.Equal(enc, data) {
		t.Fatalf("decoded input encodes to other bytes:\n%q\n%q", data, enc)
	}
	again := P(new(A))
	if err := again.UnmarshalBinary(enc); err != nil {
		t.Fatalf("own encoding refused: %v", err)
	}
	if got, _ := json.Marshal(result(again)); !bytes.Equal(got, want) {
		t.Fatalf("result changed through an encoding:\n%s\n%s", want, got)
	}
	if enc2, err := again.MarshalBinary(); err != nil || !bytes.Equal(enc2, enc) {
		t.Fatalf("encoding not canonical (%v)", err)
	}
	MergeDecodes(t, again, acc)
}

// Sharded deals units (shuffled, in a copy) at random to k accumulators
// (newAcc, add) and merges them, in a random order, into a new one: what
// a sharded run gives. With ship, every accumulator travels through its
// encoding first ([Copy]), the one merged into too, as a distributed
// runner ships them. The same rng state gives the same shards, shipped or
// not.
func Sharded[A any, P Mergeable[A, P], U any](t testing.TB, rng *rand.Rand, units []U, k int, newAcc func() P, add func(P, U) error, ship bool) P {
	t.Helper()
	us := slices.Clone(units)
	rng.Shuffle(len(us), func(i, j int) { us[i], us[j] = us[j], us[i] })
	shards := make([]P, k)
	for i := range shards {
		shards[i] = newAcc()
	}
	for _, u := range us {
		require.NoError(t, add(shards[rng.IntN(k)], u))
	}
	maybeCopy := func(a P) P {
		if ship {
			return Copy[A](t, a)
		}
		return a
	}
	merged := maybeCopy(newAcc())
	for _, i := range rng.Perm(k) {
		require.NoError(t, merged.Merge(maybeCopy(shards[i])))
	}
	return merged
}

// ShardedRoundTrip adds units to one accumulator (newAcc, add), and the
// same units to 1 to 4 random shards merged in a random order (see
// [Sharded]), once as they are and once each shipped through its
// encoding: the three give the same result (as JSON, which also refuses
// NaN and infinities) and the same bytes, and one's copy the same result.
// It returns one.
func ShardedRoundTrip[A any, P Mergeable[A, P], U any](t testing.TB, rng *rand.Rand, units []U, newAcc func() P, add func(P, U) error, result func(P) any) P {
	t.Helper()
	one := newAcc()
	for _, u := range units {
		require.NoError(t, add(one, u))
	}
	k, seed := 1+rng.IntN(4), rng.Uint64()
	plain := Sharded(t, rand.New(rand.NewPCG(seed, 1)), units, k, newAcc, add, false)
	shipped := Sharded(t, rand.New(rand.NewPCG(seed, 1)), units, k, newAcc, add, true)
	want := jsonOf(t, result(one))
	require.Equal(t, want, jsonOf(t, result(shipped)), "the shards shipped through their encodings merge to one pass's result")
	require.Equal(t, want, jsonOf(t, result(plain)), "the shards merge to one pass's result")
	require.Equal(t, want, jsonOf(t, result(Copy[A](t, one))), "a copy has the result")
	enc := Encode[A](t, one)
	require.Equal(t, enc, Encode[A](t, shipped), "the shards shipped through their encodings merge to one pass's bytes")
	require.Equal(t, enc, Encode[A](t, plain), "the shards merge to one pass's bytes")
	return one
}

// Bad is an input a decoder refuses, and why: a part of the error. It is
// an alias of a struct literal type, so that tables of them can be
// written {data, why}.
type Bad = struct {
	Data []byte
	Why  string
}

// DecodeRefused requires data to be refused by into's UnmarshalBinary
// with an error wrapping leadkit.ErrInvalid that holds prefix and why,
// and into's state (its encoding) to be left alone.
func DecodeRefused[A any, P Acc[A]](t testing.TB, into P, prefix, why string, data []byte) {
	t.Helper()
	before := Encode[A](t, into)
	err := into.UnmarshalBinary(data)
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.ErrorContains(t, err, prefix)
	assert.ErrorContains(t, err, why)
	assert.Equal(t, before, Encode[A](t, into), "a refused decode leaves the accumulator alone")
}

// TruncationsRefused requires every proper prefix of good, a valid
// encoding, to be refused with an error wrapping leadkit.ErrInvalid.
func TruncationsRefused[A any, P Acc[A]](t testing.TB, good []byte) {
	t.Helper()
	for cut := range len(good) {
		err := P(new(A)).UnmarshalBinary(good[:cut])
		require.ErrorIs(t, err, leadkit.ErrInvalid, "prefix of %d bytes of %d", cut, len(good))
	}
}

// DecodeRefusals checks, a subtest each, what a decoder refuses, with
// errors that start with prefix ("journey: paths: decode: "): the zero
// value has no state to encode; no truncation of a full encoding (of
// fill(), an accumulator with something of everything) decodes; each of
// bad is refused and leaves a full accumulator alone; and each of broken,
// which changes a full accumulator into a state no Add makes and returns
// why, encodes to bytes that are refused.
func DecodeRefusals[A any, P Acc[A]](t *testing.T, fill func() P, prefix string, bad map[string]Bad, broken map[string]func(P) string) {
	t.Helper()
	_, err := P(new(A)).MarshalBinary()
	require.ErrorIs(t, err, leadkit.ErrInvalid, "the zero value has no state to encode")
	TruncationsRefused[A, P](t, Encode[A](t, fill()))
	for name, c := range bad {
		t.Run(name, func(t *testing.T) { DecodeRefused(t, fill(), prefix, c.Why, c.Data) })
	}
	for name, change := range broken {
		t.Run(name, func(t *testing.T) {
			acc := fill()
			why := change(acc)
			DecodeRefused(t, fill(), prefix, why, Encode[A](t, acc))
		})
	}
}

// SeedCorpus checks the seed corpus of a fuzz target in dir
// (testdata/fuzz/<target>): the valid seeds (named valid_*) decode and
// encode to themselves, the others are refused with an error wrapping
// leadkit.ErrInvalid. With update it writes the seeds first.
func SeedCorpus[A any, P Acc[A]](t *testing.T, dir string, update bool, seeds func() map[string][]byte) {
	t.Helper()
	if update {
		require.NoError(t, os.MkdirAll(dir, 0o755))
		for name, b := range seeds() {
			require.NoError(t, os.WriteFile(filepath.Join(dir, name), fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\n", b), 0o644))
		}
	}
	files, err := filepath.Glob(filepath.Join(dir, "*"))
	require.NoError(t, err)
	require.NotEmpty(t, files, "no seed corpus in %s (write it with the test's update flag)", dir)
	valid := 0
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		lit, ok := strings.CutPrefix(strings.TrimSpace(string(raw)), "go test fuzz v1\n[]byte(")
		require.True(t, ok, f)
		s, err := strconv.Unquote(strings.TrimSuffix(lit, ")"))
		require.NoError(t, err, f)
		acc := P(new(A))
		err = acc.UnmarshalBinary([]byte(s))
		if strings.HasPrefix(filepath.Base(f), "valid_") {
			valid++
			require.NoError(t, err, f)
			assert.Equal(t, []byte(s), Encode[A](t, acc), f)
		} else {
			assert.ErrorIs(t, err, leadkit.ErrInvalid, f)
		}
	}
	assert.Positive(t, valid, "no valid seed in %s", dir)
}

// Refused runs change (an Add to acc or a Merge into it) and requires it
// to fail with an error wrapping leadkit.ErrInvalid that holds why, and
// acc's encoding and result (as JSON) to be what they were.
func Refused[A any, P Acc[A]](t testing.TB, acc P, result func(P) any, why string, change func() error) {
	t.Helper()
	before, res := Encode[A](t, acc), jsonOf(t, result(acc))
	err := change()
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	require.ErrorContains(t, err, why)
	require.Equal(t, before, Encode[A](t, acc), "a refused change leaves the encoding alone")
	require.JSONEq(t, res, jsonOf(t, result(acc)), "a refused change leaves the result alone")
}

// jsonOf is v as JSON.
func jsonOf(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}
