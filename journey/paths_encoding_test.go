package journey

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit/internal/binenctest"
)

// randomSeqs returns n random sequences of a few items (repeats and empty
// sequences common, one item with characters JSON escapes).
func randomSeqs(rng *rand.Rand, n int) [][]string {
	items := []string{"web", "email", "event", "call", "a<b>&é"}
	out := make([][]string, n)
	for i := range out {
		s := make([]string, rng.IntN(8))
		for j := range s {
			s[j] = items[rng.IntN(len(items))]
		}
		out[i] = s
	}
	return out
}

var encodingPathOptions = []PathOptions{{}, {MaxLength: 3}, {CollapseRepeats: true}, {MaxLength: 2, CollapseRepeats: true}}

func fillPaths(t testing.TB, opts PathOptions, seqs [][]string) *PathAccumulator {
	t.Helper()
	a, err := NewPathAccumulator(opts)
	require.NoError(t, err)
	for _, s := range seqs {
		require.NoError(t, a.Add(s))
	}
	return a
}

// TestPathBinaryRoundTrip: random paths counted in shards, each encoded
// and decoded on the way (as a distributed runner ships them), merge to
// the result and the bytes of one pass in another order; a decoded
// accumulator takes more paths and refuses other options.
func TestPathBinaryRoundTrip(t *testing.T) {
	for _, opts := range encodingPathOptions {
		newAcc := func() *PathAccumulator { return fillPaths(t, opts, nil) }
		for seed := range uint64(8) {
			rng := rand.New(rand.NewPCG(seed, 1))
			seqsRoundTrip(t, rng, randomSeqs(rng, 1+rng.IntN(200)), newAcc, (*PathAccumulator).Add,
				func(a *PathAccumulator) any { return a.Result() }, fillPaths(t, PathOptions{MaxLength: 9}, nil))
		}
	}
}

// TestPathBinaryRefused: what is not the encoding of paths Add could have
// counted is an error wrapping ErrInvalid naming the problem.
func TestPathBinaryRefused(t *testing.T) {
	// Written by hand: options, items, then paths of item places.
	enc := func(opts string, items []string, tail ...uint64) []byte {
		return seqsEncoding("LKJP\x01", opts, items, tail...)
	}
	plain := `{"max_length":3}`
	// web (x2), then web email; the empty path once.
	ok := enc(plain, []string{"email", "web"}, 3, 0, 1, 1, 1, 2, 2, 1, 0, 1)
	var dec PathAccumulator
	require.NoError(t, dec.UnmarshalBinary(ok))
	r := dec.Result()
	assert.Equal(t, 4, r.Total)
	assert.Equal(t, []PathCount{{Items: []string{"web"}, Count: 2}, {Items: []string{}, Count: 1}, {Items: []string{"web", "email"}, Count: 1}}, r.Paths)
	assert.Contains(t, r.Transitions, Transition{From: PathStart, To: PathEnd, Count: 1})
	assert.Contains(t, r.Transitions, Transition{From: "web", To: PathEnd, Count: 2})
	assert.Equal(t, ok, binenctest.Encode(t, &dec))

	collapse := `{"max_length":3,"collapse_repeats":true}`
	fill := func() *PathAccumulator {
		return fillPaths(t, PathOptions{MaxLength: 3}, randomSeqs(rand.New(rand.NewPCG(1, 2)), 50))
	}
	binenctest.DecodeRefusals(t, fill, "journey: paths: decode: ", map[string]binenctest.Bad{
		"empty":                 {nil, "not a path accumulator"},
		"pattern accumulator":   {append([]byte("LKJS\x01"), ok[5:]...), "not a path accumulator"},
		"future version":        {append([]byte("LKJP\x02"), ok[5:]...), "unknown format version"},
		"trailing byte":         {append(append([]byte{}, ok...), 0), "1 bytes after the end"},
		"bad options":           {enc(`{"max_length":-1}`, nil, 0), "negative"},
		"unknown option":        {enc(`{"colour":1}`, nil, 0), "colour"},
		"options not canonical": {enc(`{"max_length": 3}`, nil, 0), "not in the form"},
		"default written out":   {enc(`{"max_length":0}`, nil, 0), "not in the form"},
		"items out of order":    {enc(plain, []string{"web", "email"}, 1, 1, 0, 1), `item "email" out of order`},
		"item repeated":         {enc(plain, []string{"web", "web"}, 1, 1, 0, 1), "out of order or repeated"},
		"unused item":           {enc(plain, []string{"email", "web"}, 1, 1, 1, 1), `item "email" is in no sequence`},
		"empty item":            {enc(plain, []string{""}, 1, 1, 0, 1), "is empty"},
		"marker item":           {enc(plain, []string{PathEnd}, 1, 1, 0, 1), "is a marker"},
		"bad text":              {enc(plain, []string{"\xff"}, 1, 1, 0, 1), "not valid UTF-8"},
		"item out of range":     {enc(plain, []string{"web"}, 1, 1, 1, 1), "item 2 of 1"},
		"zero count":            {enc(plain, []string{"web"}, 1, 1, 0, 0), "count 0"},
		"paths out of order":    {enc(plain, []string{"email", "web"}, 2, 1, 1, 1, 1, 0, 1), "sequence 2 out of order"},
		"path repeated":         {enc(plain, []string{"web"}, 2, 1, 0, 1, 1, 0, 1), "sequence 2 out of order or repeated"},
		"too long":              {enc(plain, []string{"web"}, 1, 4, 0, 0, 0, 0, 1), "longer than max length"},
		"not collapsed":         {enc(collapse, []string{"web"}, 1, 2, 0, 0, 1), "repeated item with collapse repeats"},
		"length lies":           {enc(plain, []string{"web"}, 1<<20), "1048576 items in 0 bytes"},
		"overlong number":       {append(enc(plain, []string{"web"}, 1, 1, 0), 0x81, 0x00), "truncated or overlong"},
	}, nil)
}

func pathSeeds(t testing.TB) map[string][]byte {
	seeds := map[string][]byte{}
	rng := rand.New(rand.NewPCG(7, 8))
	for i, opts := range encodingPathOptions {
		seeds["valid_"+string(rune('a'+i))] = binenctest.Encode(t, fillPaths(t, opts, randomSeqs(rng, 6)))
	}
	good := seeds["valid_a"]
	seeds["truncated"] = good[:len(good)-1]
	seeds["trailing"] = append(append([]byte{}, good...), 1)
	seeds["version"] = append([]byte("LKJP\x09"), good[5:]...)
	bigSeeds(t, seeds, pathOne(t, "web", "form"))
	return seeds
}

func TestPathBinarySeeds(t *testing.T) {
	seedCorpus[PathAccumulator](t, "FuzzPathAccumulatorBinary", pathSeeds(t))
}

// FuzzPathAccumulatorBinary decodes arbitrary bytes: see binenctest.FuzzDecode.
func FuzzPathAccumulatorBinary(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		binenctest.FuzzDecode(t, data, func(a *PathAccumulator) any { return a.Result() }, true)
	})
}
