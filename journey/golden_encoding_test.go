package journey

import (
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit/internal/binenc"
	"github.com/leadkit/leadkit/internal/binenctest"
)

var encodingPatternOptions = []PatternOptions{
	{},
	{MinSupport: 3, MaxLength: 3, CollapseRepeats: true},
	{MinSupport: 2, Contiguous: true, MaxPatterns: 500},
}

func fillPatterns(t testing.TB, opts PatternOptions, seqs [][]string) *PatternAccumulator {
	t.Helper()
	a, err := NewPatternAccumulator(opts)
	require.NoError(t, err)
	for _, s := range seqs {
		require.NoError(t, a.Add(s))
	}
	return a
}

type minedPatterns struct {
	Patterns []Pattern    `json:"patterns"`
	Golden   []GoldenPath `json:"golden"`
	Err      string       `json:"err"`
}

// mine runs Result, and GoldenPaths against other.
func mine(a, other *PatternAccumulator) minedPatterns {
	var m minedPatterns
	var err, gerr error
	m.Patterns, err = a.Result()
	m.Golden, gerr = a.GoldenPaths(other)
	if err = errors.Join(err, gerr); err != nil {
		m.Err = err.Error()
	}
	return m
}

// TestPatternBinaryRoundTrip: random sequences collected in shards, each
// encoded and decoded on the way, merge to the patterns, golden paths and
// bytes of one pass in another order; a decoded accumulator takes more
// sequences and refuses other options.
func TestPatternBinaryRoundTrip(t *testing.T) {
	for _, opts := range encodingPatternOptions {
		newAcc := func() *PatternAccumulator { return fillPatterns(t, opts, nil) }
		for seed := range uint64(6) {
			rng := rand.New(rand.NewPCG(seed, 2))
			seqs := randomSeqs(rng, 1+rng.IntN(60))
			others := binenctest.Copy(t, fillPatterns(t, opts, randomSeqs(rng, 30)))
			seqsRoundTrip(t, rng, seqs, newAcc, (*PatternAccumulator).Add,
				func(a *PatternAccumulator) any { return mine(a, others) }, fillPatterns(t, PatternOptions{MinSupport: 99}, nil))
		}
	}
}

// TestPatternBinaryRefused: what is not the encoding of sequences Add
// could have kept is an error wrapping ErrInvalid naming the problem.
func TestPatternBinaryRefused(t *testing.T) {
	enc := func(opts string, items []string, tail ...uint64) []byte {
		return seqsEncoding("LKJS\x01", opts, items, tail...)
	}
	plain := `{"min_support":2}`
	// (start) is an item like any other here; web email twice, email once.
	ok := enc(plain, []string{PathStart, "email", "web"}, 3, 1, 0, 1, 1, 1, 1, 2, 2, 1, 2)
	var dec PatternAccumulator
	require.NoError(t, dec.UnmarshalBinary(ok))
	pats, err := dec.Result()
	require.NoError(t, err)
	assert.Equal(t, []Pattern{{Items: []string{"email"}, Support: 3}, {Items: []string{"web"}, Support: 2}, {Items: []string{"web", "email"}, Support: 2}}, pats)
	assert.Equal(t, 4, dec.Len())
	assert.Equal(t, ok, binenctest.Encode(t, &dec))

	fill := func() *PatternAccumulator {
		return fillPatterns(t, encodingPatternOptions[1], randomSeqs(rand.New(rand.NewPCG(1, 2)), 50))
	}
	binenctest.DecodeRefusals(t, fill, "journey: patterns: decode: ", map[string]binenctest.Bad{
		"path accumulator":   {append([]byte("LKJP\x01"), ok[5:]...), "not a pattern accumulator"},
		"max gap":            {enc(`{"min_support":0,"max_gap":"1d"}`, nil, 0), "max gap needs timed sequences"},
		"not canonical":      {enc(`{"min_support":2,"max_length":0}`, nil, 0), "not in the form"},
		"empty item":         {enc(plain, []string{""}, 1, 1, 0, 1), "is empty"},
		"not collapsed":      {enc(`{"min_support":0,"collapse_repeats":true}`, []string{"web"}, 1, 2, 0, 0, 1), "repeated item with collapse repeats"},
		"sequence repeated":  {enc(plain, []string{"web"}, 2, 1, 0, 1, 1, 0, 1), "out of order or repeated"},
		"count out of range": {enc(plain, []string{"web"}, 1, 1, 0, MaxCount+1), "sequence count: 9007199254740992 is out of range"},
		"trailing":           {append(append([]byte{}, ok...), 0), "1 bytes after the end"},
	}, nil)
}

func patternSeeds(t testing.TB) map[string][]byte {
	seeds := map[string][]byte{}
	rng := rand.New(rand.NewPCG(9, 10))
	for i, opts := range encodingPatternOptions {
		seeds["valid_"+string(rune('a'+i))] = binenctest.Encode(t, fillPatterns(t, opts, randomSeqs(rng, 6)))
	}
	good := seeds["valid_b"]
	seeds["truncated"] = good[:len(good)-2]
	seeds["paths"] = append([]byte("LKJP\x01"), good[5:]...)
	seeds["zero_count"] = append(binenc.AppendString([]byte("LKJS\x01"), `{"min_support":0}`), 1, 1, 'x', 1, 1, 0, 0)
	bigSeeds(t, seeds, patternOne(t))
	return seeds
}

func TestPatternBinarySeeds(t *testing.T) {
	seedCorpus[PatternAccumulator](t, "FuzzPatternAccumulatorBinary", patternSeeds(t))
}

// FuzzPatternAccumulatorBinary decodes arbitrary bytes: see binenctest.FuzzDecode.
// What decodes is also mined (under a small MaxPatterns cap, so a
// decoded MinSupport of 1 over long sequences stays quick).
func FuzzPatternAccumulatorBinary(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		binenctest.FuzzDecode(t, data, func(a *PatternAccumulator) any {
			opts := a.Options()
			opts.MaxPatterns = 2000
			capped, err := NewPatternAccumulator(opts)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range a.seqs {
				capped.addN(c.items, c.count)
			}
			pats, _ := capped.Result()
			return pats
		}, true)
	})
}
