package journey

import (
	"encoding/binary"
	"flag"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit/internal/binenc"
	"github.com/leadkit/leadkit/internal/binenctest"
)

var updateSeeds = flag.Bool("update-seeds", false, "rewrite the encodings' fuzz seed corpus in testdata/fuzz")

// seedCorpus checks the seed corpus of a fuzz target in
// testdata/fuzz/<target> (see binenctest.SeedCorpus); with -update-seeds
// it writes seeds first.
func seedCorpus[A any, P binenctest.Acc[A]](t *testing.T, target string, seeds map[string][]byte) {
	t.Helper()
	binenctest.SeedCorpus[A, P](t, filepath.Join("testdata", "fuzz", target), *updateSeeds, func() map[string][]byte { return seeds })
}

// leadAcc is a per-lead accumulator with a binary encoding.
type leadAcc[A any, P any] interface {
	binenctest.Mergeable[A, P]
	Add(LeadJourney) error
}

// maker returns a function that makes accumulators of stage st and
// options o with the constructor ctor, failing t on an error.
func maker[O, P any](t testing.TB, ctor func(string, O) (P, error), st string, o O) func() P {
	return func() P {
		a, err := ctor(st, o)
		require.NoError(t, err)
		return a
	}
}

// addLead adds a journey to a (binenctest's add).
func addLead[A any, P leadAcc[A, P]](a P, j LeadJourney) error { return a.Add(j) }

// validSeeds returns the valid seeds of a fuzz target (valid_a, valid_b,
// ...): per options of opts, an accumulator of stage MQL holding the
// journeys of a few random businesses drawn from rng.
func validSeeds[O any, A any, P leadAcc[A, P]](t testing.TB, rng *rand.Rand, ctor func(string, O) (P, error), opts []O) map[string][]byte {
	seeds := map[string][]byte{}
	for i, o := range opts {
		a := maker(t, ctor, "MQL", o)()
		for _, j := range randomJourneys(t, rng) {
			require.NoError(t, a.Add(j))
		}
		seeds["valid_"+string(rune('a'+i))] = binenctest.Encode(t, a)
	}
	return seeds
}

// seqsEncoding writes by hand an encoding of the layout of
// binenc.AppendSeqs (paths, patterns): magic, options, the items, then
// tail, the sequences as places in the item list and counts.
func seqsEncoding(magic, opts string, items []string, tail ...uint64) []byte {
	b := binenc.AppendString([]byte(magic), opts)
	b = binary.AppendUvarint(b, uint64(len(items)))
	for _, it := range items {
		b = binenc.AppendString(b, it)
	}
	for _, v := range tail {
		b = binary.AppendUvarint(b, v)
	}
	return b
}

// seqsRoundTrip checks an accumulator of sequences (paths, patterns)
// over the sequences seqs of rng: the last ones counted in shards merge
// to one pass (binenctest.ShardedRoundTrip), and a decoded accumulator
// takes the first as the original does and refuses to merge other, of
// other options.
func seqsRoundTrip[A any, P binenctest.Mergeable[A, P]](t *testing.T, rng *rand.Rand, seqs [][]string, newAcc func() P, add func(P, []string) error, result func(P) any, other P) {
	t.Helper()
	one := binenctest.ShardedRoundTrip(t, rng, seqs[1:], newAcc, add, result)
	copied := binenctest.Copy(t, one)
	require.NoError(t, add(copied, seqs[0]))
	require.NoError(t, add(one, seqs[0]))
	require.Equal(t, binenctest.Encode(t, one), binenctest.Encode(t, copied))
	require.Error(t, copied.Merge(other))
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

// shardedRoundTrip fills one accumulator with the journeys of seed's
// random businesses, and others with random shards of them, merged as
// they are and shipped through their encodings (see
// binenctest.ShardedRoundTrip): the results and the encodings are equal.
func shardedRoundTrip[A any, P leadAcc[A, P]](t *testing.T, seed uint64, newAcc func() P, result func(P) any) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 3))
	binenctest.ShardedRoundTrip(t, rng, randomJourneys(t, rng), newAcc, addLead[A, P], result)
}

// binaryRoundTrips runs shardedRoundTrip over seeds seeds for every
// options of opts and each of its stages, a subtest each, with
// accumulators the constructor ctor makes.
func binaryRoundTrips[O any, A any, P leadAcc[A, P]](t *testing.T, ctor func(string, O) (P, error), opts []O, stages func(O) []string, seeds uint64, result func(P) any) {
	t.Helper()
	for i, o := range opts {
		for _, st := range stages(o) {
			t.Run(fmt.Sprintf("%d/%s", i, st), func(t *testing.T) {
				for seed := range seeds {
					shardedRoundTrip(t, seed, maker(t, ctor, st, o), result)
				}
			})
		}
	}
}

// mqlAndWon are the stages of most round trips: one in the middle of the
// funnel order, and its last.
func mqlAndWon[O any](O) []string { return []string{"MQL", "Won"} }

// filled returns an accumulator of ctor, st and o with 30 rounds of
// seed's random businesses added.
func filled[O any, A any, P leadAcc[A, P]](t testing.TB, ctor func(string, O) (P, error), st string, o O, seed uint64) P {
	a := maker(t, ctor, st, o)()
	rng := rand.New(rand.NewPCG(seed, seed+1))
	for range 30 {
		for _, j := range randomJourneys(t, rng) {
			require.NoError(t, a.Add(j))
		}
	}
	return a
}
