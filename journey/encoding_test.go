package journey

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
)

var updateSeeds = flag.Bool("update-seeds", false, "rewrite the encodings' fuzz seed corpus in testdata/fuzz")

// binaryAcc is an accumulator with a binary encoding, as a pointer.
type binaryAcc[A any] interface {
	*A
	MarshalBinary() ([]byte, error)
	UnmarshalBinary([]byte) error
}

// mustEncode encodes acc.
func mustEncode[A any, P binaryAcc[A]](t testing.TB, acc P) []byte {
	t.Helper()
	b, err := acc.MarshalBinary()
	require.NoError(t, err)
	return b
}

// decoded encodes acc and decodes it into a fresh zero value, and
// requires the decoded one to encode to the same bytes.
func decoded[A any, P binaryAcc[A]](t testing.TB, acc P) P {
	t.Helper()
	b := mustEncode[A](t, acc)
	out := P(new(A))
	require.NoError(t, out.UnmarshalBinary(b))
	require.Equal(t, b, mustEncode[A](t, out), "decoding then encoding gives the same bytes")
	return out
}

// refused requires data to be refused with an error wrapping ErrInvalid,
// starting with prefix and holding why, and into leaves its state alone.
func refused[A any, P binaryAcc[A]](t *testing.T, into P, prefix, why string, data []byte) {
	t.Helper()
	before := mustEncode[A](t, into)
	err := into.UnmarshalBinary(data)
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.Contains(t, err.Error(), prefix)
	assert.Contains(t, err.Error(), why)
	assert.Equal(t, before, mustEncode[A](t, into), "a refused decode leaves the accumulator alone")
}

// refusedPrefixes requires every proper prefix of a valid encoding to be
// refused.
func refusedPrefixes[A any, P binaryAcc[A]](t *testing.T, good []byte) {
	t.Helper()
	for cut := range len(good) {
		err := P(new(A)).UnmarshalBinary(good[:cut])
		require.ErrorIs(t, err, leadkit.ErrInvalid, "prefix of %d bytes of %d", cut, len(good))
	}
}

// fuzzDecode is the body of the encodings' fuzz targets: arbitrary bytes
// decode or are refused with ErrInvalid, never panic; what decodes has a
// result that encodes as JSON, encodes to the very bytes it came from
// (one state, one encoding), and merges with a copy of itself into a
// state whose encoding decodes (or is refused at MaxCount).
func fuzzDecode[A any, P binaryAcc[A]](t *testing.T, data []byte, result func(P) any, merge func(x, y P) error) {
	acc := P(new(A))
	if err := acc.UnmarshalBinary(data); err != nil {
		if !errors.Is(err, leadkit.ErrInvalid) {
			t.Fatalf("decode error does not wrap ErrInvalid: %v", err)
		}
		return
	}
	if _, err := json.Marshal(result(acc)); err != nil {
		t.Fatalf("result does not encode: %v", err)
	}
	enc, err := acc.MarshalBinary()
	if err != nil {
		t.Fatalf("a decoded accumulator does not encode: %v", err)
	}
	if string(enc) != string(data) {
		t.Fatalf("decoded input encodes to other bytes:\n%q\n%q", data, enc)
	}
	again := P(new(A))
	if err := again.UnmarshalBinary(enc); err != nil {
		t.Fatalf("own encoding refused: %v", err)
	}
	if err := merge(again, acc); err != nil {
		if errors.Is(err, leadkit.ErrInvalid) && strings.Contains(err.Error(), "(MaxCount)") {
			return // counts at the cap: refused, nothing changed
		}
		t.Fatalf("decoded accumulators of one spec do not merge: %v", err)
	}
	merged, err := again.MarshalBinary()
	if err != nil {
		t.Fatalf("a merged accumulator does not encode: %v", err)
	}
	if err := P(new(A)).UnmarshalBinary(merged); err != nil {
		t.Fatalf("a merged accumulator's encoding is refused: %v", err)
	}
}

// seedCorpus checks the seed corpus of a fuzz target in
// testdata/fuzz/<target>: the valid seeds (named valid_*) decode and
// encode to themselves, the others are refused. With -update-seeds it
// writes seeds first.
func seedCorpus[A any, P binaryAcc[A]](t *testing.T, target string, seeds map[string][]byte) {
	t.Helper()
	dir := filepath.Join("testdata", "fuzz", target)
	if *updateSeeds {
		require.NoError(t, os.MkdirAll(dir, 0o755))
		for name, b := range seeds {
			require.NoError(t, os.WriteFile(filepath.Join(dir, name), fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\n", b), 0o644))
		}
	}
	files, err := filepath.Glob(filepath.Join(dir, "*"))
	require.NoError(t, err)
	require.NotEmpty(t, files, "no seed corpus in %s (run with -update-seeds)", dir)
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
			assert.Equal(t, []byte(s), mustEncode[A](t, acc), f)
		} else {
			assert.ErrorIs(t, err, leadkit.ErrInvalid, f)
		}
	}
	assert.Positive(t, valid, "no valid seed in %s", dir)
}

// leadAcc is a per-lead accumulator with a binary encoding.
type leadAcc[A any, P any] interface {
	binaryAcc[A]
	Add(LeadJourney) error
	Merge(P) error
}

// randomJourneys returns the journeys of a few random businesses.
func randomJourneys(t testing.TB, rng *rand.Rand) []LeadJourney {
	var js []LeadJourney
	for range 1 + rng.IntN(4) {
		in := randomInput(rng)
		j, err := Journeys(in.timelines, in.visits, in.created)
		require.NoError(t, err)
		js = append(js, j...)
	}
	return js
}

// shardedRoundTrip fills one accumulator with random journeys, and
// others with shards of them in another order, each encoded and decoded
// on the way (as a distributed runner ships them) and merged into a
// decoded empty one: the results and the encodings are equal.
func shardedRoundTrip[A any, P leadAcc[A, P]](t *testing.T, seed uint64, newAcc func() P, result func(P) any) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 3))
	js := randomJourneys(t, rng)
	one := newAcc()
	for _, j := range js {
		require.NoError(t, one.Add(j))
	}
	rng.Shuffle(len(js), func(i, j int) { js[i], js[j] = js[j], js[i] })
	merged := decoded(t, newAcc())
	for _, part := range shards(rng, js, 1+rng.IntN(4)) {
		acc := newAcc()
		for _, j := range part {
			require.NoError(t, acc.Add(j))
		}
		require.NoError(t, merged.Merge(decoded(t, acc)))
	}
	require.Equal(t, noNaN(t, result(one)), noNaN(t, result(merged)), "seed %d", seed)
	require.Equal(t, mustEncode(t, one), mustEncode(t, merged), "seed %d", seed)
	require.Equal(t, noNaN(t, result(one)), noNaN(t, result(decoded(t, one))), "seed %d", seed)
}

// brokenRefused marshals an accumulator whose state break changed into
// one no Add makes, and requires decoding to refuse it naming why.
func brokenRefused[A any, P binaryAcc[A]](t *testing.T, fill func() P, prefix string, cases map[string]func(P) string) {
	t.Helper()
	for name, broken := range cases {
		t.Run(name, func(t *testing.T) {
			acc := fill()
			why := broken(acc)
			b := mustEncode(t, acc)
			refused(t, fill(), prefix, why, b)
		})
	}
}
