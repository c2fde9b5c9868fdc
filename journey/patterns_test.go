package journey

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/stage"
)

// brutePatterns is the reference miner: it enumerates every index tuple
// i1 < i2 < ... < ik of every sequence (k <= maxLen) that satisfies the
// contiguity and gap constraints, collects the distinct item tuples per
// sequence, and counts in how many sequences each occurs.
func brutePatterns(seqs [][]TimedItem, opts PatternOptions) []Pattern {
	support := map[string]int{}
	items := map[string][]string{}
	for _, s := range seqs {
		// A collapsed run of an item spans from its first to its last
		// time: gaps are measured into its start and out of its end.
		ends := make([]time.Time, len(s))
		for i, it := range s {
			ends[i] = it.Time
		}
		if opts.CollapseRepeats {
			var c []TimedItem
			var ce []time.Time
			for i, it := range s {
				if i == 0 || it.Item != s[i-1].Item {
					c = append(c, it)
					ce = append(ce, it.Time)
				} else {
					ce[len(ce)-1] = it.Time
				}
			}
			s, ends = c, ce
		}
		seen := map[string]bool{}
		var rec func(idx []int)
		rec = func(idx []int) {
			if len(idx) > 0 {
				p := make([]string, len(idx))
				for i, j := range idx {
					p[i] = s[j].Item
				}
				k := strings.Join(p, "\x00")
				if !seen[k] {
					seen[k] = true
					support[k]++
					items[k] = p
				}
			}
			if opts.MaxLength > 0 && len(idx) == opts.MaxLength {
				return
			}
			next := 0
			if len(idx) > 0 {
				next = idx[len(idx)-1] + 1
			}
			for j := next; j < len(s); j++ {
				if len(idx) > 0 {
					last := idx[len(idx)-1]
					if opts.Contiguous && j != last+1 {
						break
					}
					if opts.MaxGap > 0 && s[j].Time.Sub(ends[last]) > opts.MaxGap {
						continue
					}
				}
				rec(append(slices.Clone(idx), j))
			}
		}
		rec(nil)
	}
	out := []Pattern{}
	for k, n := range support {
		if n >= max(opts.MinSupport, 1) {
			out = append(out, Pattern{Items: items[k], Support: n})
		}
	}
	slices.SortFunc(out, func(a, b Pattern) int {
		if c := cmp.Compare(b.Support, a.Support); c != 0 {
			return c
		}
		return slices.Compare(a.Items, b.Items)
	})
	return out
}

func randomTimedSeqs(rng *rand.Rand, n, maxLen int, alphabet []string) [][]TimedItem {
	out := make([][]TimedItem, n)
	for i := range out {
		t := t0
		for range rng.IntN(maxLen + 1) {
			t = t.Add(time.Duration(rng.IntN(4)) * time.Hour)
			out[i] = append(out[i], TimedItem{Item: alphabet[rng.IntN(len(alphabet))], Time: t})
		}
	}
	return out
}

func untimed(seqs [][]TimedItem) [][]string {
	out := make([][]string, len(seqs))
	for i, s := range seqs {
		out[i] = make([]string, len(s))
		for j, it := range s {
			out[i][j] = it.Item
		}
	}
	return out
}

func TestMinePatternsMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(42, 1))
	alphabets := [][]string{{"a", "b"}, {"a", "b", "c"}, {"web", "email", "event", "call", "ad"}}
	for iter := range 400 {
		seqs := randomTimedSeqs(rng, 1+rng.IntN(12), 7, alphabets[rng.IntN(len(alphabets))])
		opts := PatternOptions{
			MinSupport:      rng.IntN(4),
			MaxLength:       rng.IntN(5),
			CollapseRepeats: rng.IntN(3) == 0,
			Contiguous:      rng.IntN(3) == 0,
		}
		want := brutePatterns(seqs, opts)
		got, err := MinePatterns(untimed(seqs), opts)
		require.NoError(t, err)
		require.Equal(t, want, got, "iter %d opts %+v", iter, opts)

		// Timed mining with a gap bound against the same reference.
		opts.MaxGap = time.Duration(rng.IntN(8)) * time.Hour
		want = brutePatterns(seqs, opts)
		got, err = MineTimedPatterns(seqs, opts)
		require.NoError(t, err)
		require.Equal(t, want, got, "iter %d timed opts %+v", iter, opts)
	}
}

func TestMinePatternsHandCounted(t *testing.T) {
	seqs := [][]string{
		{"web", "email", "webinar", "call"},
		{"web", "webinar", "call"},
		{"email", "web", "web", "call"},
		{"ad"},
	}
	got, err := MinePatterns(seqs, PatternOptions{MinSupport: 3})
	require.NoError(t, err)
	// Counted by hand: web in 1,2,3; call in 1,2,3; web->call in 1,2,3;
	// email in 1,3 and webinar in 1,2 (support 2, dropped).
	assert.Equal(t, []Pattern{
		{Items: []string{"call"}, Support: 3},
		{Items: []string{"web"}, Support: 3},
		{Items: []string{"web", "call"}, Support: 3},
	}, got)

	// Repeated items are real items; a sequence counts once.
	got, err = MinePatterns(seqs, PatternOptions{MinSupport: 1, MaxLength: 2})
	require.NoError(t, err)
	assert.Contains(t, got, Pattern{Items: []string{"web", "web"}, Support: 1})
	got, err = MinePatterns(seqs, PatternOptions{MinSupport: 1, MaxLength: 2, CollapseRepeats: true})
	require.NoError(t, err)
	assert.NotContains(t, got, Pattern{Items: []string{"web", "web"}, Support: 1})

	// Contiguous: web->call is adjacent only in sequence 3.
	got, err = MinePatterns(seqs, PatternOptions{MinSupport: 1, Contiguous: true, MaxLength: 2})
	require.NoError(t, err)
	assert.Contains(t, got, Pattern{Items: []string{"web", "call"}, Support: 1})
}

func TestMinePatternsOptionsErrors(t *testing.T) {
	_, err := MinePatterns(nil, PatternOptions{MinSupport: -1, MaxLength: -2, MaxGap: time.Hour, MaxPatterns: -3})
	require.Error(t, err)
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
	for _, w := range []string{"min support -1", "max length -2", "max gap needs timed", "max patterns -3"} {
		assert.Contains(t, err.Error(), w)
	}
	_, err = MineTimedPatterns(nil, PatternOptions{MaxGap: -time.Hour})
	assert.ErrorContains(t, err, "max gap -1h0m0s is negative")

	// The guard against runaway mining.
	long := [][]string{strings.Split("abcdefghijklmnop", "")}
	_, err = MinePatterns(long, PatternOptions{MaxPatterns: 1000})
	assert.ErrorContains(t, err, "more than 1000 patterns")

	got, err := MinePatterns(nil, PatternOptions{})
	require.NoError(t, err)
	assert.Empty(t, got)
	got, err = MinePatterns([][]string{{}, {"a"}}, PatternOptions{MinSupport: 5})
	require.NoError(t, err)
	assert.Empty(t, got)
}

func TestGoldenPaths(t *testing.T) {
	converted := [][]string{
		{"web", "webinar", "call"},
		{"webinar", "call"},
		{"web", "email", "webinar"},
		{"email", "call"},
	}
	other := [][]string{
		{"web", "email"},
		{"web"},
		{"email", "webinar"},
		{"ad", "web", "email"},
		{"email"},
		{"web", "call"},
	}
	got, err := GoldenPaths(converted, other, PatternOptions{MinSupport: 2})
	require.NoError(t, err)
	// Base rate 4/10. Supports counted by hand (converted / other):
	//   webinar->call 2/0: conf 1, lift 2.5
	//   webinar 3/1: conf .75, lift 1.875
	//   call 3/1: conf .75, lift 1.875
	//   web->webinar 2/0: conf 1, lift 2.5
	//   email 2/4: conf 1/3, lift 5/6
	//   web 2/4: conf 1/3, lift 5/6
	want := []GoldenPath{
		// equal lift and support: items in string order ("web" < "webinar")
		{Items: []string{"web", "webinar"}, Converted: 2, Other: 0, Confidence: 1, Lift: 2.5},
		{Items: []string{"webinar", "call"}, Converted: 2, Other: 0, Confidence: 1, Lift: 2.5},
		{Items: []string{"call"}, Converted: 3, Other: 1, Confidence: 0.75, Lift: 1.875},
		{Items: []string{"webinar"}, Converted: 3, Other: 1, Confidence: 0.75, Lift: 1.875},
		{Items: []string{"email"}, Converted: 2, Other: 4, Confidence: 1.0 / 3, Lift: 5.0 / 6},
		{Items: []string{"web"}, Converted: 2, Other: 4, Confidence: 1.0 / 3, Lift: 5.0 / 6},
	}
	require.Len(t, got, len(want))
	for i := range want {
		assert.Equal(t, want[i].Items, got[i].Items, "rank %d", i)
		assert.Equal(t, want[i].Converted, got[i].Converted, "rank %d", i)
		assert.Equal(t, want[i].Other, got[i].Other, "rank %d", i)
		assert.InDelta(t, want[i].Confidence, got[i].Confidence, 1e-12, "rank %d", i)
		assert.InDelta(t, want[i].Lift, got[i].Lift, 1e-12, "rank %d", i)
	}
}

func TestGoldenPathsOtherSupportMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	alphabet := []string{"a", "b", "c", "d"}
	for iter := range 150 {
		conv := untimed(randomTimedSeqs(rng, 1+rng.IntN(8), 6, alphabet))
		other := untimed(randomTimedSeqs(rng, rng.IntN(8), 6, append(alphabet, "z")))
		opts := PatternOptions{MinSupport: 1 + rng.IntN(2), MaxLength: rng.IntN(4), Contiguous: rng.IntN(3) == 0, CollapseRepeats: rng.IntN(3) == 0}
		got, err := GoldenPaths(conv, other, opts)
		require.NoError(t, err)
		// Reference: brute-force support of every pattern among the others.
		ref := map[string]int{}
		bo := opts
		bo.MinSupport = 1
		for _, p := range brutePatterns(timedOf(other), bo) {
			ref[strings.Join(p.Items, "\x00")] = p.Support
		}
		convRef := brutePatterns(timedOf(conv), opts)
		require.Len(t, got, len(convRef), "iter %d", iter)
		for _, g := range got {
			require.Equal(t, ref[strings.Join(g.Items, "\x00")], g.Other, "iter %d pattern %v", iter, g.Items)
		}
		for i := 1; i < len(got); i++ {
			require.GreaterOrEqual(t, got[i-1].Lift, got[i].Lift)
		}
	}
}

func timedOf(seqs [][]string) [][]TimedItem {
	out := make([][]TimedItem, len(seqs))
	for i, s := range seqs {
		for j, it := range s {
			out[i] = append(out[i], TimedItem{Item: it, Time: t0.Add(time.Duration(j) * time.Hour)})
		}
	}
	return out
}

func newPatterns(t *testing.T, opts PatternOptions) *PatternAccumulator {
	t.Helper()
	a, err := NewPatternAccumulator(opts)
	require.NoError(t, err)
	return a
}

// Random shards merged in a random order equal MinePatterns over every
// sequence, refused sequences included (refused by both); golden paths from
// accumulators equal the slice version.
func TestPatternAccumulatorShardsEqualOnePass(t *testing.T) {
	for seed := range uint64(5) {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(9, seed))
			seqs := randomPaths(rng, 600, 8, 25, []string{"web", "email", "event", "call", "ad", "ppc"})
			opts := PatternOptions{MinSupport: 20 + rng.IntN(20), MaxLength: rng.IntN(5), CollapseRepeats: rng.IntN(2) == 0, Contiguous: rng.IntN(3) == 0}
			want, err := MinePatterns(seqs, opts)
			require.Error(t, err, "the data must hold refused sequences")
			assert.ErrorIs(t, err, leadkit.ErrInvalid)
			require.NotEmpty(t, want)

			one := newPatterns(t, opts)
			refused := 0
			for _, s := range seqs {
				if one.Add(s) != nil {
					refused++
				}
			}
			shard, k := shardInto(rng, len(seqs))
			shards := make([]*PatternAccumulator, k)
			for i := range shards {
				shards[i] = newPatterns(t, opts)
			}
			for i, s := range seqs {
				_ = shards[shard[i]].Add(s)
			}
			perm := rng.Perm(k)
			for _, i := range perm[1:] {
				require.NoError(t, shards[perm[0]].Merge(shards[i]))
			}
			merged := shards[perm[0]]
			assert.Equal(t, len(seqs)-refused, merged.Len())
			got, err := merged.Result()
			require.NoError(t, err)
			assert.Equal(t, want, got)
			got, err = one.Result()
			require.NoError(t, err)
			assert.Equal(t, want, got)

			half := len(seqs) / 2
			ca, oa := newPatterns(t, opts), newPatterns(t, opts)
			for _, s := range seqs[:half] {
				_ = ca.Add(s)
			}
			for _, s := range seqs[half:] {
				_ = oa.Add(s)
			}
			g1, err := GoldenPaths(seqs[:half], seqs[half:], opts)
			require.Error(t, err)
			g2, err := ca.GoldenPaths(oa)
			require.NoError(t, err)
			assert.Equal(t, g1, g2)
		})
	}
}

// A refused sequence leaves the accumulator as it was; accumulators with
// different options neither merge nor compare, and change nothing.
func TestPatternAccumulatorRefusals(t *testing.T) {
	a := newPatterns(t, PatternOptions{MinSupport: 1})
	require.NoError(t, a.Add([]string{"web", "email"}))
	want, err := a.Result()
	require.NoError(t, err)
	for _, seq := range [][]string{{"web", ""}, {"\xff"}, {"a\x00"}, {strings.Repeat("x", leadkit.MaxStringBytes+1)}} {
		err := a.Add(seq)
		require.Error(t, err)
		assert.ErrorIs(t, err, leadkit.ErrInvalid)
		var pe *PathError
		require.ErrorAs(t, err, &pe)
		assert.Regexp(t, `^journey: sequence: item \d `, err.Error())
		got, err := a.Result()
		require.NoError(t, err)
		assert.Equal(t, want, got)
		assert.Equal(t, 1, a.Len())
	}
	// The markers are ordinary items in a sequence.
	require.NoError(t, newPatterns(t, PatternOptions{}).Add([]string{PathStart}))

	b := newPatterns(t, PatternOptions{MinSupport: 2})
	require.NoError(t, b.Add([]string{"web"}))
	err = a.Merge(b)
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.ErrorContains(t, err, "different options")
	_, err = a.GoldenPaths(b)
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
	got, err := a.Result()
	require.NoError(t, err)
	assert.Equal(t, want, got, "a failed merge changes nothing")
	assert.Equal(t, 1, b.Len(), "nor other")

	assert.ErrorIs(t, a.Merge(a), leadkit.ErrInvalid, "merging into itself is refused (it would double)")
	got, err = a.Result()
	require.NoError(t, err)
	assert.Equal(t, want, got)

	_, err = NewPatternAccumulator(PatternOptions{MaxGap: time.Hour})
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.ErrorContains(t, err, "max gap needs timed sequences")
	_, err = NewPatternAccumulator(PatternOptions{MinSupport: -1})
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
}

// MinePatterns, MineTimedPatterns and GoldenPaths leave out the sequences
// PatternAccumulator.Add refuses and name them.
func TestMinePatternsRefusedSequences(t *testing.T) {
	pats, err := MinePatterns([][]string{{"web", "email"}, {"web", ""}, {"web"}}, PatternOptions{MinSupport: 2})
	require.Error(t, err)
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.EqualError(t, err, `journey: sequence 2: item 2 "": is empty`)
	assert.Equal(t, []Pattern{{Items: []string{"web"}, Support: 2}}, pats)

	timed := [][]TimedItem{
		{{Item: "web", Time: day(0)}, {Item: "email", Time: day(1)}},
		{{Item: "web"}},
		{{Item: "web", Time: day(0)}},
	}
	pats, err = MineTimedPatterns(timed, PatternOptions{MinSupport: 2, MaxGap: days(2)})
	assert.ErrorContains(t, err, `journey: sequence 2: item 1 "web": time 0001-01-01T00:00:00Z is outside years 1900 to 2149`)
	assert.Equal(t, []Pattern{{Items: []string{"web"}, Support: 2}}, pats)

	golden, err := GoldenPaths([][]string{{"web"}, {"\xff"}}, [][]string{{"email"}, {""}}, PatternOptions{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `journey: converted sequence 2: item 1 "\xff": is not valid UTF-8`)
	assert.Contains(t, err.Error(), `journey: other sequence 2: item 1 "": is empty`)
	require.Len(t, golden, 1)
	assert.Equal(t, GoldenPath{Items: []string{"web"}, Converted: 1, Confidence: 1, Lift: 2}, golden[0], "base rate 1 of 2 good sequences")

	// A mining error wins: no patterns.
	pats, err = MinePatterns([][]string{{"a", "b", "c"}, {""}}, PatternOptions{MaxPatterns: 2})
	assert.Nil(t, pats)
	assert.ErrorContains(t, err, "more than 2 patterns")
	assert.ErrorContains(t, err, "is empty")
}
func TestConversionPaths(t *testing.T) {
	tls := []Timeline{
		tl("l1", "web@0", "email@1", "form@2", "call@5"),
		tl("l2", "web@0", "web@3"),
		tl("l3", "form@0"),
	}
	entries := []stage.Visit{
		{LeadID: "l1", Stage: "MQL", At: day(2)}, // the form at day 2 counts
		{LeadID: "l1", Stage: "MQL", At: day(9)}, // later re-entry ignored
		{LeadID: "l4", Stage: "MQL", At: day(1)}, // no timeline: empty path
		{LeadID: "l3", Stage: "SQL", At: day(1)}, // another stage
	}
	conv, other, err := ConversionPaths(tls, entries, "MQL", KeyType)
	require.NoError(t, err)
	assert.Equal(t, [][]string{{"web", "email", "form"}, nil}, conv)
	assert.Equal(t, [][]string{{"web", "web"}, {"form"}}, other)
	_, _, err = ConversionPaths(tls, entries, "", KeyType)
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
	_, _, err = ConversionPaths(tls, append(entries, stage.Visit{Stage: "MQL", At: day(1)}), "MQL", KeyType)
	assert.ErrorContains(t, err, "stage entry 4")
}

func TestSequenceHelpers(t *testing.T) {
	l := tl("l", "b@2", "a@1", "c@3")
	l.Events[2].Channel = "email"
	assert.Equal(t, []string{"a", "b", "c"}, Sequence(l, KeyType))
	assert.Equal(t, []string{"email"}, Sequence(l, KeyChannel))
	ts := TimedSequence(l, KeyType)
	require.Len(t, ts, 3)
	assert.Equal(t, TimedItem{Item: "a", Time: day(1)}, ts[0])
	assert.Equal(t, "", Key("nope").Of(l.Events[0]))
}

func TestCollapseRepeatsMaxGapSpansRuns(t *testing.T) {
	h := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Hour) }
	opts := PatternOptions{MinSupport: 1, CollapseRepeats: true, MaxGap: 2 * time.Hour}
	// web@0, web@5h, email@6h: the web run ends at 5h, 1h before email.
	got, err := MineTimedPatterns([][]TimedItem{{{"web", h(0)}, {"web", h(5)}, {"email", h(6)}}}, opts)
	require.NoError(t, err)
	assert.Contains(t, got, Pattern{Items: []string{"web", "email"}, Support: 1})
	// email@0, web@1h, web@6h: the web run starts at 1h, 1h after email.
	got, err = MineTimedPatterns([][]TimedItem{{{"email", h(0)}, {"web", h(1)}, {"web", h(6)}}}, opts)
	require.NoError(t, err)
	assert.Contains(t, got, Pattern{Items: []string{"email", "web"}, Support: 1})
	// web@0, email@3h: 3h apart, over the 2h bound.
	got, err = MineTimedPatterns([][]TimedItem{{{"web", h(0)}, {"web", h(0)}, {"email", h(3)}}}, opts)
	require.NoError(t, err)
	assert.NotContains(t, got, Pattern{Items: []string{"web", "email"}, Support: 1})
}
