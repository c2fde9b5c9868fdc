// Package binenctest holds the test helpers of the accumulators' binary
// encodings (package binenc): copies shipped through an encoding, as a
// distributed runner (the beam module) ships accumulators between
// workers, states scaled up by merging such copies, and the check that a
// refused Add or Merge changes nothing. It is for tests only.
package binenctest

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"strings"
	"testing"

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

// MergeDecodes is the merge step of the encodings' fuzz targets: x and y
// were decoded from encodings of one spec, so x.Merge(y) either goes
// through, and the merged state's encoding decodes, or is refused at the
// cap of the counts, with an error wrapping leadkit.ErrInvalid that names
// MaxCount (journey.MaxCount, or MaxCount in package journey) and leaves
// x as it was.
func MergeDecodes[A any, P Mergeable[A, P]](t testing.TB, x, y P) {
	t.Helper()
	before := Encode[A](t, x)
	if err := x.Merge(y); err != nil {
		if !errors.Is(err, leadkit.ErrInvalid) || !strings.Contains(err.Error(), "MaxCount)") {
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
