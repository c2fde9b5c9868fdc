package journey

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
)

func newPaths(t *testing.T, opts PathOptions) *PathAccumulator {
	t.Helper()
	a, err := NewPathAccumulator(opts)
	require.NoError(t, err)
	return a
}

func TestPathAccumulator(t *testing.T) {
	paths := [][]string{{"web", "web", "email"}, {"web", "email"}, {"call"}, {}, {"web", "email", "call", "meeting"}}
	a := newPaths(t, PathOptions{CollapseRepeats: true, MaxLength: 2})
	for _, p := range paths {
		require.NoError(t, a.Add(p))
	}
	assert.Equal(t, 5, a.Len())
	r := a.Result()
	assert.Equal(t, 5, r.Total)
	// Collapsed and cut to 2: web,email x3; call; empty.
	assert.Equal(t, []PathCount{{Items: []string{"web", "email"}, Count: 3}, {Items: []string{}, Count: 1}, {Items: []string{"call"}, Count: 1}}, r.Paths)
	assert.Equal(t, r.Paths[:1], r.Top(1))
	assert.Equal(t, r.Paths, r.Top(0))
	assert.Equal(t, []Transition{
		{From: PathStart, To: PathEnd, Count: 1},
		{From: PathStart, To: "call", Count: 1},
		{From: PathStart, To: "web", Count: 3},
		{From: "call", To: PathEnd, Count: 1},
		{From: "email", To: PathEnd, Count: 3},
		{From: "web", To: "email", Count: 3},
	}, r.Transitions)
	assert.Equal(t, []string{"web", "web", "email"}, paths[0], "input not modified")
	roundTrip(t, r)

	// Whole paths by default.
	b := newPaths(t, PathOptions{})
	require.NoError(t, b.Add([]string{"web", "web", "email"}))
	assert.Equal(t, []PathCount{{Items: []string{"web", "web", "email"}, Count: 1}}, b.Result().Paths)

	_, err := NewPathAccumulator(PathOptions{MaxLength: -1})
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.EqualError(t, err, "journey: path options: leadkit: invalid input: max length -1 is negative")
}

// A refused path leaves the accumulator as it was.
func TestPathAccumulatorRefusesBadItems(t *testing.T) {
	a := newPaths(t, PathOptions{})
	require.NoError(t, a.Add([]string{"web", "email"}))
	want := a.Result()
	for _, c := range []struct {
		name string
		path []string
		msg  string
	}{
		{"empty item", []string{"web", ""}, `journey: path: item 2 "": is empty`},
		{"start marker", []string{PathStart, "web"}, `journey: path: item 1 "(start)": is a marker, not an item`},
		{"end marker", []string{"web", PathEnd}, `journey: path: item 2 "(end)": is a marker, not an item`},
		{"NUL", []string{"w\x00b"}, `journey: path: item 1 "w\x00b": contains a NUL byte`},
		{"invalid UTF-8", []string{"web", "\xff"}, `journey: path: item 2 "\xff": is not valid UTF-8`},
		{"too long", []string{strings.Repeat("x", leadkit.MaxStringBytes+1)}, "is 4097 bytes, the limit is 4096"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := a.Add(c.path)
			require.Error(t, err)
			assert.ErrorIs(t, err, leadkit.ErrInvalid)
			var pe *PathError
			require.ErrorAs(t, err, &pe)
			assert.Contains(t, err.Error(), c.msg)
			assert.Equal(t, want, a.Result(), "nothing counted")
			assert.Equal(t, 1, a.Len())
		})
	}
}

func TestPathAccumulatorMergeChecksOptions(t *testing.T) {
	a, b := newPaths(t, PathOptions{MaxLength: 2}), newPaths(t, PathOptions{})
	require.NoError(t, a.Add([]string{"web", "email", "call"}))
	require.NoError(t, b.Add([]string{"web", "email", "call"}))
	wantA, wantB := a.Result(), b.Result()
	err := a.Merge(b)
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.ErrorContains(t, err, "max length 2 and 0")
	assert.Equal(t, wantA, a.Result(), "a failed merge changes nothing")
	assert.Equal(t, wantB, b.Result(), "nor other")
	c := newPaths(t, PathOptions{MaxLength: 2, CollapseRepeats: true})
	assert.ErrorContains(t, a.Merge(c), "collapse repeats false and true")

	// Merging an accumulator into itself is refused (it would double it).
	assert.ErrorIs(t, a.Merge(a), leadkit.ErrInvalid)
	assert.Equal(t, []PathCount{{Items: []string{"web", "email"}, Count: 1}}, a.Result().Paths)
	assert.Equal(t, 1, a.Result().Total)
}

// randomPaths makes n paths of up to maxLen items over alphabet, about one
// in bad of them with a refused item (0: none).
func randomPaths(rng *rand.Rand, n, maxLen, bad int, alphabet []string) [][]string {
	out := make([][]string, n)
	for i := range out {
		p := make([]string, rng.IntN(maxLen+1))
		for j := range p {
			p[j] = alphabet[rng.IntN(len(alphabet))]
		}
		if bad > 0 && len(p) > 0 && rng.IntN(bad) == 0 {
			p[rng.IntN(len(p))] = ""
		}
		out[i] = p
	}
	return out
}

// shardInto splits n inputs at random into 1 to 5 shards and returns each
// input's shard and the number of shards.
func shardInto(rng *rand.Rand, n int) (shard []int, k int) {
	k = 1 + rng.IntN(5)
	shard = make([]int, n)
	for i := range shard {
		shard[i] = rng.IntN(k)
	}
	return shard, k
}

// Random shards merged in a random order equal one pass, refused paths
// included (refused by both).
func TestPathAccumulatorShardsEqualOnePass(t *testing.T) {
	for seed := range uint64(6) {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 77))
			opts := PathOptions{MaxLength: rng.IntN(4), CollapseRepeats: rng.IntN(2) == 0}
			paths := randomPaths(rng, 300, 7, 20, []string{"web", "email", "event", "paid"})
			one := newPaths(t, opts)
			refused := 0
			for _, p := range paths {
				if one.Add(p) != nil {
					refused++
				}
			}
			require.Positive(t, refused, "the data must hold refused paths")
			shard, k := shardInto(rng, len(paths))
			shards := make([]*PathAccumulator, k)
			for i := range shards {
				shards[i] = newPaths(t, opts)
			}
			for i, p := range paths {
				_ = shards[shard[i]].Add(p)
			}
			perm := rng.Perm(k)
			for _, i := range perm[1:] {
				require.NoError(t, shards[perm[0]].Merge(shards[i]))
			}
			assert.Equal(t, one.Result(), shards[perm[0]].Result())
			assert.Equal(t, len(paths)-refused, one.Len())
		})
	}
}
