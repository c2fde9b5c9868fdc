package attribution

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/leadkit/leadkit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMarkovHandSolved checks order 1 against a chain solved by hand.
//
// Paths: "A > B" 1 conversion (value 10) + 1 null; "A" 1 conversion (value
// 20) + 1 null; "B" 1 conversion (value 2).
// Counts: Start->A 4, Start->B 1; A->B 2, A->conv 1, A->null 1; B->conv 2,
// B->null 1. Mean conversion value: A 20/1 = 20, B (10+2)/2 = 6.
// P(conv): x_B = 2/3, x_A = 1/2*2/3 + 1/4 = 7/12, x_S = 4/5*7/12 + 1/5*2/3
// = 3/5 (= 3 conversions / 5 journeys). Expected value: y_B = 2/3*6 = 4,
// y_A = 1/2*4 + 1/4*20 = 7, y_S = 4/5*7 + 1/5*4 = 32/5.
// Without A: x_S = 1/5*2/3 = 2/15, RE = 1 - (2/15)/(3/5) = 7/9; y_S = 4/5,
// REv = 1 - (4/5)/(32/5) = 7/8.
// Without B: x_A = 1/4, x_S = 1/5, RE = 2/3; y_A = 5, y_S = 4, REv = 3/8.
// Credit: conversions 3 * 7/13 and 3 * 6/13; value 32 * 7/10 and 32 * 3/10.
func TestMarkovHandSolved(t *testing.T) {
	paths := []Path{
		{Channels: []string{"A", "B"}, Conversions: 1, Value: 10, Nulls: 1},
		{Channels: []string{"A"}, Conversions: 1, Value: 20, Nulls: 1},
		{Channels: []string{"B"}, Conversions: 1, Value: 2},
	}
	for _, keep := range []bool{false, true} {
		r, err := Markov{Order: 1, KeepRepeats: keep}.Attribute(paths)
		require.NoError(t, err)
		const eps = 1e-12
		assert.InDelta(t, 3.0/5, r.ConversionProbability, eps)
		assert.InDelta(t, 7.0/9, r.RemovalEffects["A"], eps)
		assert.InDelta(t, 2.0/3, r.RemovalEffects["B"], eps)
		assert.InDelta(t, 7.0/8, r.ValueRemovalEffects["A"], eps)
		assert.InDelta(t, 3.0/8, r.ValueRemovalEffects["B"], eps)
		assert.InDelta(t, 21.0/13, r.Conversions["A"], eps)
		assert.InDelta(t, 18.0/13, r.Conversions["B"], eps)
		assert.InDelta(t, 22.4, r.Value["A"], eps)
		assert.InDelta(t, 9.6, r.Value["B"], eps)
	}
}

// TestMarkovHandSolvedOrder2 checks the sliding windows and removal of
// every state holding a channel. Paths: "A > B > A" 1 conversion; "B > A"
// 1 null; "A > A > B" 1 null (windows (A), (A,A), (A,B)).
// States: (A), (A,B), (B,A), (B), (A,A). Counts: S->(A) 2, S->(B) 1;
// (A)->(A,B) 1, (A)->(A,A) 1; (A,A)->(A,B) 1; (A,B)->(B,A) 1,
// (A,B)->null 1; (B)->(B,A) 1; (B,A)->conv 1, (B,A)->null 1.
// P(conv): x(B,A) = 1/2, x(A,B) = x(A,A) = x(A) = 1/4, x(B) = 1/2,
// x_S = 2/3*1/4 + 1/3*1/2 = 1/3 (1 of 3 journeys). Removing either
// channel removes (B,A), the only converting state: RE = 1 for both, so
// each gets half of the single conversion.
func TestMarkovHandSolvedOrder2(t *testing.T) {
	paths := []Path{
		{Channels: []string{"A", "B", "A"}, Conversions: 1},
		{Channels: []string{"B", "A"}, Nulls: 1},
		{Channels: []string{"A", "A", "B"}, Nulls: 1},
	}
	r, err := Markov{Order: 2}.Attribute(paths)
	require.NoError(t, err)
	assert.InDelta(t, 1.0/3, r.ConversionProbability, 1e-12)
	assert.InDelta(t, 1.0, r.RemovalEffects["A"], 1e-12)
	assert.InDelta(t, 1.0, r.RemovalEffects["B"], 1e-12)
	assert.InDelta(t, 0.5, r.Conversions["A"], 1e-12)
	assert.InDelta(t, 0.5, r.Conversions["B"], 1e-12)

	c, err := NewMarkovCounts(Markov{Order: 2})
	require.NoError(t, err)
	require.NoError(t, c.AddPaths(paths))
	assert.Equal(t, 5, c.States())
}

// refOptions selects the modelling choices and the solver of refMarkov.
type refOptions struct {
	order            int
	keep             bool // keep consecutive identical states (self-loops)
	collapseChannels bool // collapse consecutive repeated channels first
	dense            bool // solve by Gaussian elimination instead of pushing mass
}

// refMarkov is an independent, naive implementation of the model used as a
// brute-force check: string-keyed counts built from scratch (windows over
// the touches, consecutive identical windows merged unless keep), and the
// absorption probabilities found either by pushing probability mass forward
// from Start step by step until less than 1e-16 is left in transient states,
// or (dense, for long cycling paths where that takes too many steps) by
// Gaussian elimination with partial pivoting on a [][]float64 copy of the
// system for every removal. It returns P(conv), the expected value and the
// (value) removal effects per channel.
func refMarkov(paths []Path, o refOptions) (p0, v0 float64, re, rev map[string]float64) {
	const start, conv, null = "<start>", "<conv>", "<null>"
	counts := map[string]map[string]float64{}
	convVal := map[string]float64{}
	members := map[string][]string{}
	add := func(from, to string, w float64) {
		if w == 0 {
			return
		}
		if counts[from] == nil {
			counts[from] = map[string]float64{}
		}
		counts[from][to] += w
	}
	channels := map[string]bool{}
	for _, p := range paths {
		w := p.Conversions + p.Nulls
		if w == 0 {
			continue
		}
		var seq []string
		for _, c := range p.Channels {
			if !o.collapseChannels || len(seq) == 0 || seq[len(seq)-1] != c {
				seq = append(seq, c)
			}
		}
		prev := start
		for i := range seq {
			win := seq[max(0, i-o.order+1) : i+1]
			s := "[" + strings.Join(win, "|") + "]"
			if s == prev && !o.keep {
				continue
			}
			members[s] = win
			for _, c := range win {
				channels[c] = true
			}
			add(prev, s, w)
			prev = s
		}
		add(prev, conv, p.Conversions)
		add(prev, null, p.Nulls)
		convVal[prev] += p.Value
	}
	push := func(removed string) (pc, val float64) {
		mass := map[string]float64{start: 1}
		for {
			left := 0.0
			next := map[string]float64{}
			for s, m := range mass {
				var total float64
				for _, w := range counts[s] {
					total += w
				}
				for to, w := range counts[s] {
					q := m * w / total
					switch {
					case to == conv:
						pc += q
						val += q * convVal[s] / counts[s][conv]
					case to == null:
					case removed != "" && slices.Contains(members[to], removed):
						// into a removed state: null
					default:
						next[to] += q
						left += q
					}
				}
			}
			mass = next
			if left < 1e-16 {
				return pc, val
			}
		}
	}
	gauss := func(removed string) (pc, val float64) {
		var names []string
		idx := map[string]int{}
		for s := range counts {
			if s == start || !slices.Contains(members[s], removed) {
				names = append(names, s)
			}
		}
		slices.Sort(names) // a fixed order: the rounding must not vary
		for i, s := range names {
			idx[s] = i
		}
		n := len(names)
		a := make([][]float64, n) // [I - Q | b | bv]
		for i, s := range names {
			a[i] = make([]float64, n+2)
			a[i][i] = 1
			var total float64
			for _, w := range counts[s] {
				total += w
			}
			for to, w := range counts[s] {
				switch to {
				case conv:
					a[i][n] += w / total
					a[i][n+1] += convVal[s] / total
				case null:
				default:
					if j, ok := idx[to]; ok {
						a[i][j] -= w / total
					}
				}
			}
		}
		for col := range n {
			piv := col
			for r := col + 1; r < n; r++ {
				if math.Abs(a[r][col]) > math.Abs(a[piv][col]) {
					piv = r
				}
			}
			a[col], a[piv] = a[piv], a[col]
			for r := col + 1; r < n; r++ {
				if f := a[r][col] / a[col][col]; f != 0 {
					for k := col; k < n+2; k++ {
						a[r][k] -= f * a[col][k]
					}
				}
			}
		}
		x := make([]float64, n)
		y := make([]float64, n)
		for r := n - 1; r >= 0; r-- {
			sx, sy := a[r][n], a[r][n+1]
			for k := r + 1; k < n; k++ {
				sx -= a[r][k] * x[k]
				sy -= a[r][k] * y[k]
			}
			x[r], y[r] = sx/a[r][r], sy/a[r][r]
		}
		return x[idx[start]], y[idx[start]]
	}
	run := push
	if o.dense {
		run = gauss
	}
	p0, v0 = run("")
	re, rev = map[string]float64{}, map[string]float64{}
	for c := range channels {
		p, v := run(c)
		re[c] = 1 - p/p0
		rev[c] = 1 - v/v0
	}
	return p0, v0, re, rev
}

// longPaths makes n paths over m channels of mean length meanLen (1 to
// 2*meanLen-1) that wander at random, so that the order-k chain is full of
// long cycles: P(absorb) per step is about 1/meanLen.
func longPaths(seed uint64, n, m, meanLen int) []Path {
	r := rand.New(rand.NewPCG(seed, 99))
	out := make([]Path, n)
	for i := range out {
		ch := make([]string, 1+r.IntN(2*meanLen-1))
		for j := range ch {
			ch[j] = "c" + strconv.Itoa(r.IntN(m))
		}
		conv := float64(r.IntN(2))
		out[i] = Path{Channels: ch, Conversions: conv, Value: conv * float64(1+r.IntN(9)), Nulls: float64(r.IntN(3))}
	}
	return out
}

// TestMarkovAgainstBruteForce compares the solvers with refMarkov on random
// tables, orders 1 to 3, with and without repeats. The 25-channel order-2
// case and the order-2 long-cycle cases have more states than denseLimit,
// so they exercise the iterative solver. The long-cycle cases (paths of mean length 3000 over 20
// channels, about 420 order-2 states, where a step is absorbed with
// probability about 1/3000) are checked against Gaussian elimination, and
// P(convert) against its exact value, total conversions / journeys, to
// 1e-13 relative: the error of a solver that stops when an iteration moves
// little is about change * rho/(1-rho), far above that (3e-12 here).
func TestMarkovAgainstBruteForce(t *testing.T) {
	cases := []struct {
		name      string
		paths     []Path
		m         Markov
		dense     bool    // reference by Gaussian elimination
		iterative bool    // more states than denseLimit
		tolP      float64 // relative tolerance on P(convert)
	}{
		{"order1", randomPaths(1, 200, 4, 6), Markov{Order: 1}, false, false, 1e-12},
		{"order1_keep", randomPaths(2, 200, 4, 6), Markov{Order: 1, KeepRepeats: true}, false, false, 1e-12},
		{"order2", randomPaths(3, 300, 5, 7), Markov{Order: 2}, false, false, 1e-12},
		{"order2_keep", randomPaths(4, 300, 5, 7), Markov{Order: 2, KeepRepeats: true}, false, false, 1e-12},
		{"order3", randomPaths(5, 400, 4, 8), Markov{Order: 3}, false, false, 1e-12},
		{"order3_keep", randomPaths(6, 400, 4, 8), Markov{Order: 3, KeepRepeats: true}, false, false, 1e-12},
		{"order3_collapse_channels", randomPaths(12, 400, 4, 8), Markov{Order: 3, CollapseChannels: true}, false, false, 1e-12},
		{"order2_many_states", randomPaths(7, 3000, 25, 6), Markov{Order: 2}, false, true, 1e-12},
		{"order2_long_cycles", longPaths(8, 60, 20, 3000), Markov{Order: 2}, true, true, 1e-13},
		{"order2_long_cycles_keep", longPaths(9, 60, 20, 3000), Markov{Order: 2, KeepRepeats: true}, true, true, 1e-13},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			paths := tc.paths
			m := tc.m
			c, err := NewMarkovCounts(m)
			require.NoError(t, err)
			require.NoError(t, c.AddPaths(paths))
			assert.Equal(t, tc.iterative, c.States()+1 > denseLimit, "states %d", c.States())

			r, err := m.Attribute(paths)
			require.NoError(t, err)
			p0, v0, re, rev := refMarkov(paths, refOptions{order: m.order(), keep: m.KeepRepeats, collapseChannels: m.CollapseChannels, dense: tc.dense})
			require.Greater(t, v0, 0.0)
			// P(convert) is known exactly (conversions / journeys);
			// the reference solvers only agree with it to about 1e-13
			// on long cycles.
			conv, _, nulls := Totals(paths)
			exact := conv / (conv + nulls)
			assert.InDelta(t, exact, p0, 1e-12*exact, "reference")
			assert.InDelta(t, exact, r.ConversionProbability, tc.tolP*exact)
			require.Len(t, r.RemovalEffects, len(re))
			for ch, want := range re {
				assert.InDelta(t, want, r.RemovalEffects[ch], 1e-10, ch)
				assert.InDelta(t, rev[ch], r.ValueRemovalEffects[ch], 1e-10, ch)
			}
			_, val, _ := Totals(paths)
			assert.InDelta(t, conv, sumOf(r.Conversions), 1e-9*conv)
			assert.InDelta(t, val, sumOf(r.Value), 1e-9*val)
		})
	}
}

// TestMarkovHittingFormula checks order-1 removal effects with a second
// exact algorithm: by first-passage decomposition, P(convert avoiding s) =
// x_start - h(s) x_s, where h(s) = N[start][s] / N[s][s] is the probability
// of ever reaching s and N = (I - Q)^-1 is the fundamental matrix, inverted
// here by Gauss-Jordan elimination once for all channels.
func TestMarkovHittingFormula(t *testing.T) {
	paths := randomPaths(11, 500, 8, 9)
	// Build Q and b (probability to conversion) from scratch.
	idx := map[string]int{"": 0}
	names := []string{""}
	id := func(c string) int {
		if i, ok := idx[c]; ok {
			return i
		}
		idx[c] = len(names)
		names = append(names, c)
		return idx[c]
	}
	type edge struct{ from, to int }
	cnt := map[edge]float64{}
	out := map[int]float64{}
	toConv := map[int]float64{}
	for _, p := range paths {
		w := p.Conversions + p.Nulls
		if w == 0 {
			continue
		}
		prev := 0
		for i, c := range p.Channels {
			if i > 0 && c == p.Channels[i-1] {
				continue
			}
			s := id(c)
			cnt[edge{prev, s}] += w
			out[prev] += w
			prev = s
		}
		toConv[prev] += p.Conversions
		out[prev] += w
	}
	n := len(names)
	// Augmented [I-Q | I].
	a := make([][]float64, n)
	for i := range a {
		a[i] = make([]float64, 2*n)
		a[i][i] = 1
		a[i][n+i] = 1
	}
	for e, w := range cnt {
		a[e.from][e.to] -= w / out[e.from]
	}
	for col := 0; col < n; col++ {
		piv := col
		for r := col + 1; r < n; r++ {
			if math.Abs(a[r][col]) > math.Abs(a[piv][col]) {
				piv = r
			}
		}
		a[col], a[piv] = a[piv], a[col]
		f := a[col][col]
		for k := range a[col] {
			a[col][k] /= f
		}
		for r := 0; r < n; r++ {
			if r != col && a[r][col] != 0 {
				g := a[r][col]
				for k := range a[r] {
					a[r][k] -= g * a[col][k]
				}
			}
		}
	}
	N := func(i, j int) float64 { return a[i][n+j] }
	x := make([]float64, n) // x = N b
	for i := range n {
		for j := range n {
			x[i] += N(i, j) * toConv[j] / out[j]
		}
	}
	r, err := Markov{}.Attribute(paths)
	require.NoError(t, err)
	assert.InDelta(t, x[0], r.ConversionProbability, 1e-12)
	for s := 1; s < n; s++ {
		without := x[0] - N(0, s)/N(s, s)*x[s]
		assert.InDelta(t, 1-without/x[0], r.RemovalEffects[names[s]], 1e-10, names[s])
	}
}

// TestMarkovConversionProbability checks the identity P(convert) = total
// conversions / (conversions + nulls), which holds for any order because the
// observed visit counts solve the chain's flow equations.
func TestMarkovConversionProbability(t *testing.T) {
	paths := randomPaths(21, 2000, 12, 10)
	conv, _, nulls := Totals(paths)
	for order := 1; order <= 4; order++ {
		for _, keep := range []bool{false, true} {
			r, err := Markov{Order: order, KeepRepeats: keep}.Attribute(paths)
			require.NoError(t, err)
			assert.InDelta(t, conv/(conv+nulls), r.ConversionProbability, 1e-12, "order %d keep %v", order, keep)
		}
	}
}

// TestMarkovRepeatsOrder1 checks that for order 1 keeping repeats changes
// nothing: a self-loop only rescales a state's other transitions by the same
// factor, which leaves every absorption probability unchanged.
func TestMarkovRepeatsOrder1(t *testing.T) {
	paths := randomPaths(31, 1000, 6, 8)
	a, err := Markov{}.Attribute(paths)
	require.NoError(t, err)
	b, err := Markov{KeepRepeats: true}.Attribute(paths)
	require.NoError(t, err)
	for ch, v := range a.RemovalEffects {
		assert.InDelta(t, v, b.RemovalEffects[ch], 1e-12)
	}
}

// TestMarkovMergeEqualsWhole: counts filled per shard (random sharding,
// several seeds, shards merged in random order) give the result of one
// pass, and Merge leaves the merged-in counts as they were.
func TestMarkovMergeEqualsWhole(t *testing.T) {
	models := []Markov{{Order: 1}, {Order: 2}, {Order: 3, KeepRepeats: true}, {Order: 2, CollapseChannels: true}}
	for seed := uint64(1); seed <= 5; seed++ {
		r := rand.New(rand.NewPCG(seed, 99))
		paths := randomPaths(40+seed, 1500, 10, 8)
		paths = append(paths, Path{Channels: []string{"only-weightless"}}) // weighs nothing
		for _, m := range models {
			whole, err := m.Attribute(paths)
			require.NoError(t, err)

			shards := make([]*MarkovCounts, 1+r.IntN(6))
			for i := range shards {
				shards[i], err = NewMarkovCounts(m)
				require.NoError(t, err)
			}
			for _, p := range paths {
				require.NoError(t, shards[r.IntN(len(shards))].Add(p))
			}
			for len(shards) > 1 {
				i, j := r.IntN(len(shards)), r.IntN(len(shards)-1)
				if j >= i {
					j++
				}
				before, errBefore := shards[j].Result()
				states, channels := shards[j].States(), shards[j].Channels()
				require.NoError(t, shards[i].Merge(shards[j]))
				after, errAfter := shards[j].Result()
				assert.Equal(t, before, after, "merge modified other")
				assert.Equal(t, errBefore, errAfter)
				assert.Equal(t, []int{states, channels}, []int{shards[j].States(), shards[j].Channels()})
				shards = append(shards[:j], shards[j+1:]...)
			}
			got, err := shards[0].Result()
			require.NoError(t, err)
			name := fmt.Sprintf("seed %d %+v", seed, m)
			assert.InDelta(t, whole.ConversionProbability, got.ConversionProbability, 1e-12, name)
			require.Equal(t, whole.Channels(), got.Channels(), name)
			for ch, v := range whole.Conversions {
				assert.InDelta(t, v, got.Conversions[ch], 1e-9, name)
				assert.InDelta(t, whole.Value[ch], got.Value[ch], 1e-9, name)
				assert.InDelta(t, whole.RemovalEffects[ch], got.RemovalEffects[ch], 1e-12, name)
				assert.InDelta(t, whole.ValueRemovalEffects[ch], got.ValueRemovalEffects[ch], 1e-12, name)
			}
			c1, v1, n1 := shards[0].Totals()
			c2, v2, n2 := Totals(paths)
			assert.Equal(t, []float64{c2, v2, n2}, []float64{c1, v1, n1}, name)
			one, err := NewMarkovCounts(m)
			require.NoError(t, err)
			require.NoError(t, one.AddPaths(paths))
			assert.Equal(t, []int{one.States(), one.Channels()}, []int{shards[0].States(), shards[0].Channels()}, name)
		}
	}
}

// TestMarkovCountsRefusalChangesNothing: a refused Add, AddPaths or Merge
// leaves the counts as they were.
func TestMarkovCountsRefusalChangesNothing(t *testing.T) {
	m := Markov{Order: 2}
	c, err := NewMarkovCounts(m)
	require.NoError(t, err)
	require.NoError(t, c.AddPaths(randomPaths(7, 300, 6, 5)))
	want, err := c.Result()
	require.NoError(t, err)
	states, channels := c.States(), c.Channels()
	conv, val, nulls := c.Totals()

	other1, _ := NewMarkovCounts(Markov{Order: 1})
	require.NoError(t, other1.Add(Path{Channels: []string{"new"}, Conversions: 1}))
	otherCollapse, _ := NewMarkovCounts(Markov{Order: 2, CollapseChannels: true})
	require.NoError(t, otherCollapse.Add(Path{Channels: []string{"new2"}, Conversions: 1}))
	for name, refused := range map[string]error{
		"add bad path":        c.Add(Path{Channels: []string{"new", ""}, Conversions: 1}),
		"add negative":        c.Add(Path{Channels: []string{"new"}, Conversions: -1}),
		"add paths, one bad":  c.AddPaths([]Path{{Channels: []string{"new"}, Conversions: 1}, {Channels: []string{"x"}, Nulls: math.Inf(1)}}),
		"merge other order":   c.Merge(other1),
		"merge other repeats": c.Merge(otherCollapse),
		"merge itself":        c.Merge(c),
		"merge nil":           c.Merge(nil),
	} {
		require.ErrorIs(t, refused, leadkit.ErrInvalid, name)
	}
	got, err := c.Result()
	require.NoError(t, err)
	assert.Equal(t, want, got)
	assert.Equal(t, []int{states, channels}, []int{c.States(), c.Channels()})
	c2, v2, n2 := c.Totals()
	assert.Equal(t, []float64{conv, val, nulls}, []float64{c2, v2, n2})
	assert.Equal(t, Markov{Order: 2}, c.Spec())
	d, _ := NewMarkovCounts(Markov{})
	assert.Equal(t, Markov{Order: 1}, d.Spec())
}

func TestMarkovErrors(t *testing.T) {
	_, err := Markov{Order: -1}.Attribute(nil)
	require.ErrorIs(t, err, leadkit.ErrInvalid)

	_, err = Markov{}.Attribute([]Path{{Channels: []string{"a"}, Conversions: 1}, {Conversions: 1}, {Channels: []string{"b"}, Nulls: math.NaN()}})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.Contains(t, err.Error(), "path 1: channels: empty path")
	assert.Contains(t, err.Error(), "path 2: nulls: NaN")

	c1, _ := NewMarkovCounts(Markov{Order: 1})
	c2, _ := NewMarkovCounts(Markov{Order: 2})
	require.ErrorIs(t, c1.Merge(c2), leadkit.ErrInvalid)
	require.ErrorIs(t, c1.Merge(c1), leadkit.ErrInvalid)
	_, err = Markov{Order: 2}.AttributeCounts(c1)
	require.ErrorIs(t, err, leadkit.ErrInvalid)

	require.NoError(t, c1.Add(Path{Channels: []string{"a"}, Conversions: 1}))
	err = c1.Add(Path{Channels: []string{"a"}, Conversions: -1})
	var pe *PathError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, 1, pe.Index)
	assert.Equal(t, "conversions", pe.Field)
	conv, _, _ := c1.Totals()
	assert.Equal(t, 1.0, conv, "a rejected path adds nothing")
}

func TestMarkovNoConversions(t *testing.T) {
	r, err := Markov{}.Attribute([]Path{{Channels: []string{"a", "b"}, Nulls: 3}})
	require.NoError(t, err)
	assert.Empty(t, r.Conversions)
	assert.Zero(t, r.ConversionProbability)
	r, err = Markov{}.Attribute(nil)
	require.NoError(t, err)
	assert.Empty(t, r.Conversions)
}

// TestMarkovSolversAgree checks the three solvers against each other on the
// same order-1 chain: the single-factorisation hitting method, one dense
// Gaussian elimination per removal and one Gauss-Seidel iteration per
// removal.
func TestMarkovSolversAgree(t *testing.T) {
	paths := randomPaths(51, 2000, 30, 8)
	for _, keep := range []bool{false, true} {
		c, err := NewMarkovCounts(Markov{KeepRepeats: keep})
		require.NoError(t, err)
		require.NoError(t, c.AddPaths(paths))
		ch := c.chain()
		p0, v0, pw, vw, err := ch.removalsOrder1()
		require.NoError(t, err)
		dp, dv, err := ch.solveDense(nil)
		require.NoError(t, err)
		sv := newSolver(ch)
		ip, iv, err := sv.solveIterative(nil)
		require.NoError(t, err)
		assert.InDelta(t, p0, dp, 1e-13)
		assert.InDelta(t, p0, ip, 1e-13)
		assert.InDelta(t, v0, dv, 1e-10)
		assert.InDelta(t, v0, iv, 1e-10)
		removed := make([]bool, ch.n)
		for s := 1; s < ch.n; s++ {
			removed[s] = true
			dp, dv, err := ch.solveDense(removed)
			require.NoError(t, err)
			ip, iv, err := sv.solveIterative(removed)
			require.NoError(t, err)
			removed[s] = false
			assert.InDelta(t, pw[s], dp, 1e-13, "state %d", s)
			assert.InDelta(t, pw[s], ip, 1e-13, "state %d", s)
			assert.InDelta(t, vw[s], dv, 1e-10, "state %d", s)
			assert.InDelta(t, vw[s], iv, 1e-10, "state %d", s)
		}
	}
}

// FuzzMarkov builds small path tables from bytes and checks the chain's
// invariants: no error or panic on valid paths, credit conserved, P(convert)
// equal to conversions / (conversions + nulls), removal effects in [0, 1].
// The first byte picks the order (bits 0-1), KeepRepeats (bit 3),
// CollapseChannels (bit 4), up to 64 channels instead of 4 (bit 5; more
// than rowIndexAt successors, fast enough to fuzz), and counts scaled by
// 1e300, which must be refused (bit 6).
func FuzzMarkov(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8})
	f.Add([]byte{5, 0xff, 0x1b, 4, 0x3, 0x10, 2})
	f.Add([]byte{0x40, 1, 2, 3})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 1 {
			return
		}
		m := Markov{Order: 1 + int(data[0]%3), KeepRepeats: data[0]&8 != 0}
		m.CollapseChannels = !m.KeepRepeats && data[0]&16 != 0
		wide, huge := data[0]&32 != 0, data[0]&64 != 0
		scale := 1.0
		if huge {
			scale = 1e300
		}
		data = data[1:]
		var paths []Path
		for len(data) >= 3 {
			b0, b1, b2 := data[0], data[1], data[2]
			data = data[3:]
			ch := make([]string, 1+b0%4)
			for i := range ch {
				if wide {
					ch[i] = fmt.Sprint("w", (int(b1)*7+i*int(b0|1))%64)
				} else {
					ch[i] = fmt.Sprint("c", (b1>>(2*i))&3)
				}
			}
			conv := float64(b2 % 3)
			paths = append(paths, Path{Channels: ch, Conversions: scale * conv, Nulls: scale * float64((b2/3)%3), Value: scale * conv * float64(b2%7)})
		}
		r, err := m.Attribute(paths)
		conv, val, nulls := Totals(paths)
		if huge && conv+nulls > 0 {
			if !errors.Is(err, leadkit.ErrInvalid) || !strings.Contains(err.Error(), "over the cap") {
				t.Fatalf("counts over MaxPathCount: got %v", err)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(r.TotalConversions()-conv) > 1e-9*max(1, conv) || math.Abs(r.TotalValue()-val) > 1e-9*max(1, val) {
			t.Fatalf("credit not conserved: %v/%v vs %v/%v", r.TotalConversions(), r.TotalValue(), conv, val)
		}
		if conv > 0 && math.Abs(r.ConversionProbability-conv/(conv+nulls)) > 1e-12 {
			t.Fatalf("P(convert) %v, want %v", r.ConversionProbability, conv/(conv+nulls))
		}
		for ch, re := range r.RemovalEffects {
			if !(re >= 0 && re <= 1) {
				t.Fatalf("removal effect of %s = %v", ch, re)
			}
		}
	})
}

// TestMarkovStateCollapseOrder2 pins the default repeat handling at order 2:
// windows are built over the touches as they are, then consecutive
// identical windows (states) are merged; repeated channels are not removed
// first.
//
// Paths: "C > A > A > A > B" 1 conversion; "D > A > A > E" 1 null.
// Windows: (C),(C,A),(A,A),(A,A),(A,B) -> merged (C),(C,A),(A,A),(A,B);
// (D),(D,A),(A,A),(A,E). The state (A,A) is shared by both paths:
// (A,A) -> (A,B) 1/2, (A,E) 1/2; (A,B) converts, (A,E) does not.
// P(convert) = 1/2 (1 of 2 journeys).
// Removing C: only the D branch is left, P = 1/2 * 1/2 = 1/4, RE = 1/2.
// Removing D: likewise RE = 1/2. Removing A or B: P = 0, RE = 1.
// Removing E: (A,E) already ends in null, RE = 0.
// Credit (sum of RE = 3): C 1/6, D 1/6, A 1/3, B 1/3, E 0.
// Collapsing repeated channels first would give "C > A > B" and
// "D > A > E", two disjoint chains, and D would get nothing.
func TestMarkovStateCollapseOrder2(t *testing.T) {
	paths := []Path{
		{Channels: []string{"C", "A", "A", "A", "B"}, Conversions: 1},
		{Channels: []string{"D", "A", "A", "E"}, Nulls: 1},
	}
	r, err := Markov{Order: 2}.Attribute(paths)
	require.NoError(t, err)
	const eps = 1e-12
	assert.InDelta(t, 0.5, r.ConversionProbability, eps)
	want := map[string][2]float64{ // removal effect, credit
		"C": {0.5, 1.0 / 6}, "D": {0.5, 1.0 / 6}, "A": {1, 1.0 / 3}, "B": {1, 1.0 / 3}, "E": {0, 0},
	}
	for ch, w := range want {
		assert.InDelta(t, w[0], r.RemovalEffects[ch], eps, ch)
		assert.InDelta(t, w[1], r.Conversions[ch], eps, ch)
	}
	c, err := NewMarkovCounts(Markov{Order: 2})
	require.NoError(t, err)
	require.NoError(t, c.AddPaths(paths))
	assert.Equal(t, 7, c.States(), "(C),(C,A),(A,A),(A,B),(D),(D,A),(A,E)")
}

// TestMarkovDefaultEqualsKeepRepeats checks the default against KeepRepeats
// at orders 1 to 3: both build the same windows, and a kept repeat is only
// a self-loop, which scales a state's other transitions by the same factor
// and so leaves every absorption probability, hence every removal effect,
// unchanged.
func TestMarkovDefaultEqualsKeepRepeats(t *testing.T) {
	paths := randomPaths(61, 1500, 5, 9)
	for order := 1; order <= 3; order++ {
		a, err := Markov{Order: order}.Attribute(paths)
		require.NoError(t, err)
		b, err := Markov{Order: order, KeepRepeats: true}.Attribute(paths)
		require.NoError(t, err)
		require.Len(t, a.RemovalEffects, len(b.RemovalEffects))
		for ch, v := range b.RemovalEffects {
			assert.InDelta(t, v, a.RemovalEffects[ch], 1e-12, "order %d %s", order, ch)
			assert.InDelta(t, b.ValueRemovalEffects[ch], a.ValueRemovalEffects[ch], 1e-12, "order %d %s", order, ch)
		}
	}
}

// TestMarkovCollapseChannels: the table of TestMarkovStateCollapseOrder2
// with repeated channels merged first becomes "C > A > B" (1 conversion)
// and "D > A > E" (1 null): two disjoint chains (C),(C,A),(A,B) and
// (D),(D,A),(A,E), 6 states. P(convert) = 1/2; removing C, A or B leaves
// no route to conversion (RE 1); removing D or E changes nothing (RE 0).
// Credit: C, A, B 1/3 each.
func TestMarkovCollapseChannels(t *testing.T) {
	paths := []Path{
		{Channels: []string{"C", "A", "A", "A", "B"}, Conversions: 1},
		{Channels: []string{"D", "A", "A", "E"}, Nulls: 1},
	}
	m := Markov{Order: 2, CollapseChannels: true}
	r, err := m.Attribute(paths)
	require.NoError(t, err)
	assert.InDelta(t, 0.5, r.ConversionProbability, 1e-12)
	for ch, want := range map[string]float64{"C": 1.0 / 3, "A": 1.0 / 3, "B": 1.0 / 3, "D": 0, "E": 0} {
		assert.InDelta(t, want, r.Conversions[ch], 1e-12, ch)
	}
	c, err := NewMarkovCounts(m)
	require.NoError(t, err)
	require.NoError(t, c.AddPaths(paths))
	assert.Equal(t, 6, c.States())

	_, err = Markov{KeepRepeats: true, CollapseChannels: true}.Attribute(paths)
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	other, err := NewMarkovCounts(Markov{Order: 2})
	require.NoError(t, err)
	err = c.Merge(other)
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.Contains(t, err.Error(), "merge counts of order 2 (merge repeated states) into order 2 (collapse repeated channels)")
	_, err = Markov{Order: 2}.AttributeCounts(c)
	require.ErrorIs(t, err, leadkit.ErrInvalid)
}

// TestMarkovManyChannels runs order 1 and 2 over 70 channels, so that the
// rows out of Start (and of busy order-1 states) have more successors than
// rowIndexAt and switch to their index map, and checks the removal effects
// against refMarkov (brute force; order 2, about 1,600 states, goes through
// the iterative solver).
func TestMarkovManyChannels(t *testing.T) {
	paths := randomPaths(81, 1500, 70, 3)
	for _, order := range []int{1, 2} {
		m := Markov{Order: order}
		c, err := NewMarkovCounts(m)
		require.NoError(t, err)
		require.NoError(t, c.AddPaths(paths))
		require.NotNil(t, c.rows[stateStart].index, "order %d: Start row not indexed", order)
		require.Greater(t, len(c.rows[stateStart].to), 60)
		if order == 2 {
			require.Greater(t, c.States()+1, denseLimit, "order 2 should use the iterative solver")
		}

		r, err := m.AttributeCounts(c)
		require.NoError(t, err)
		p0, _, re, rev := refMarkov(paths, refOptions{order: order})
		assert.InDelta(t, p0, r.ConversionProbability, 1e-12)
		require.Len(t, r.RemovalEffects, 70)
		for ch, want := range re {
			assert.InDelta(t, want, r.RemovalEffects[ch], 1e-10, ch)
			assert.InDelta(t, rev[ch], r.ValueRemovalEffects[ch], 1e-10, ch)
		}
	}
}

// starPaths makes n one-touch paths over n channels c0..c(n-1), one
// conversion and one null each: the cheapest table with n channels.
func starPaths(n int) []Path {
	out := make([]Path, n)
	for i := range out {
		out[i] = Path{Channels: []string{"c" + strconv.Itoa(i)}, Conversions: 1, Nulls: 1}
	}
	return out
}

// TestMarkovChannelCap: more than MaxChannels channels is refused before
// any solving, at every order, by Attribute and by AttributeCounts, with
// the count and the cap in the message. The 20,000-channel table took
// 16.7 s before the cap; now it fails at once.
func TestMarkovChannelCap(t *testing.T) {
	for _, order := range []int{1, 2, MaxMarkovOrder} {
		m := Markov{Order: order}
		_, err := m.Attribute(starPaths(MaxChannels + 1))
		require.ErrorIs(t, err, leadkit.ErrInvalid)
		assert.Contains(t, err.Error(), "attribution: markov: leadkit: invalid input: 1001 channels, at most 1000 (MaxChannels)")

		c, err := NewMarkovCounts(m)
		require.NoError(t, err)
		require.NoError(t, c.AddPaths(starPaths(20_000)))
		assert.Equal(t, 20_000, c.Channels())
		_, err = m.AttributeCounts(c)
		require.ErrorIs(t, err, leadkit.ErrInvalid)
		assert.Contains(t, err.Error(), "20000 channels, at most 1000")
	}
	// Channels on paths of zero weight are not counted.
	paths := append(starPaths(10), Path{Channels: []string{"ghost"}})
	r, err := Markov{}.Attribute(paths)
	require.NoError(t, err)
	assert.Len(t, r.RemovalEffects, 10)
}

// TestMarkovAtChannelCap solves an order-1 chain of MaxChannels channels
// (one factorisation; the dense worst case takes about 0.3 s, so the
// test uses the star, about 0.1 s).
func TestMarkovAtChannelCap(t *testing.T) {
	if testing.Short() {
		t.Skip("solves a chain of 1,000 channels")
	}
	r, err := Markov{}.Attribute(starPaths(MaxChannels))
	require.NoError(t, err)
	assert.Len(t, r.RemovalEffects, MaxChannels)
	assert.InDelta(t, float64(MaxChannels), r.TotalConversions(), 1e-9)
	assert.InDelta(t, 1.0/MaxChannels, r.RemovalEffects["c7"], 1e-12)
}

// TestMarkovStateCap: an order-3 chain of 60 channels over long random
// paths has far more than MaxMarkovStates windows. Counting stops making
// states past the cap (the counts stay small), the totals and the channel
// count stay exact, and solving is refused. Merging such counts keeps
// them refused.
func TestMarkovStateCap(t *testing.T) {
	paths := longPaths(3, 200, 60, 1000)
	m := Markov{Order: 3}
	c, err := NewMarkovCounts(m)
	require.NoError(t, err)
	require.NoError(t, c.AddPaths(paths))
	assert.LessOrEqual(t, c.States(), MaxMarkovStates+MaxPathTouches)
	assert.Greater(t, c.States(), MaxMarkovStates)
	assert.Equal(t, 60, c.Channels())
	conv, val, nulls := c.Totals()
	wc, wv, wn := Totals(paths)
	assert.Equal(t, []float64{wc, wv, wn}, []float64{conv, val, nulls})
	_, err = m.AttributeCounts(c)
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.Contains(t, err.Error(), "more than 100000 states (MaxMarkovStates) at order 3 over 60 channels")

	other, err := NewMarkovCounts(m)
	require.NoError(t, err)
	require.NoError(t, other.Add(Path{Channels: []string{"a", "b"}, Conversions: 1}))
	require.NoError(t, other.Merge(c))
	_, err = m.AttributeCounts(other)
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.Contains(t, err.Error(), "MaxMarkovStates")

	_, err = m.Attribute(paths)
	require.ErrorIs(t, err, leadkit.ErrInvalid)
}

// TestMarkovWorkCap lowers the work budget: a chain whose solves cannot
// fit is refused before solving, one that runs out while iterating (or
// in the dense solver) stops with the same error, naming its size.
func TestMarkovWorkCap(t *testing.T) {
	defer func(w int) { maxMarkovWork = w }(maxMarkovWork)
	paths := randomPaths(7, 3000, 25, 6) // order 2: iterative, about 650 states
	small := randomPaths(3, 300, 5, 7)   // order 3: dense, 152 states
	for _, tc := range []struct {
		name  string
		paths []Path
		work  int
	}{
		{"before solving", paths, 1000},
		{"while iterating", paths, 5_000_000},
		{"dense", small, 100_000},
	} {
		maxMarkovWork = tc.work
		order := 2
		if tc.name == "dense" {
			order = 3
		}
		_, err := Markov{Order: order}.Attribute(tc.paths)
		require.ErrorIs(t, err, leadkit.ErrInvalid, tc.name)
		assert.Regexp(t, `attribution: markov: leadkit: invalid input: solving the chain \(order \d, \d+ channels, \d+ states, \d+ transitions\) takes more than \d+ steps \(MaxMarkovWork\)`, err.Error())
	}
	maxMarkovWork = MaxMarkovWork
	_, err := Markov{Order: 2}.Attribute(paths)
	require.NoError(t, err)
	// Order 1 is one factorisation, bounded by MaxChannels: not metered.
	maxMarkovWork = 1
	_, err = Markov{Order: 1}.Attribute(paths)
	require.NoError(t, err)
}

// TestMarkovOrderCap: Order runs from 1 to MaxMarkovOrder.
func TestMarkovOrderCap(t *testing.T) {
	paths := randomPaths(5, 50, 4, 12)
	_, err := Markov{Order: MaxMarkovOrder}.Attribute(paths)
	require.NoError(t, err)
	for _, order := range []int{-1, MaxMarkovOrder + 1, 1 << 30} {
		_, err := Markov{Order: order}.Attribute(paths)
		require.ErrorIs(t, err, leadkit.ErrInvalid)
		assert.Contains(t, err.Error(), "want 1 to 10")
	}
}

// TestMarkovAcyclicIterative: chains without backward edges above
// denseLimit, where the preconditioner is exact and GMRES breaks down
// after one step (the Krylov space is invariant at once). A star of 1,000
// channels at order 2 and random paths at order 4 (nearly every window
// new) used to orthogonalise rounding noise and fail ("solver stopped
// with an error bound of 0.5 on a value of 0.5").
func TestMarkovAcyclicIterative(t *testing.T) {
	star := starPaths(MaxChannels)
	star[3].Value, star[5].Value = 10, 4
	r := rand.New(rand.NewPCG(5, 5))
	short := make([]Path, 150)
	for i := range short {
		ch := make([]string, 20)
		for j := range ch {
			ch[j] = "c" + strconv.Itoa(r.IntN(40))
		}
		conv := float64(r.IntN(2))
		short[i] = Path{Channels: ch, Conversions: conv, Value: 3 * conv, Nulls: float64(r.IntN(2))}
	}
	for _, tc := range []struct {
		name  string
		paths []Path
		m     Markov
	}{
		{"star order 2", star, Markov{Order: 2}},
		{"short paths order 4", short, Markov{Order: 4}},
	} {
		c, err := NewMarkovCounts(tc.m)
		require.NoError(t, err)
		require.NoError(t, c.AddPaths(tc.paths))
		require.Greater(t, c.States()+1, denseLimit, tc.name)
		got, err := tc.m.AttributeCounts(c)
		require.NoError(t, err, tc.name)
		p0, _, re, rev := refMarkov(tc.paths, refOptions{order: tc.m.Order})
		assert.InDelta(t, p0, got.ConversionProbability, 1e-12, tc.name)
		for ch, want := range re {
			assert.InDelta(t, want, got.RemovalEffects[ch], 1e-10, "%s %s", tc.name, ch)
			assert.InDelta(t, rev[ch], got.ValueRemovalEffects[ch], 1e-10, "%s %s", tc.name, ch)
		}
	}
}

// TestMarkovCountCap: counts of 1e308 used to sum to +Inf, and Markov
// returned no credit and a total of 0 without an error. Counts over
// MaxPathCount are refused, by Attribute and by the accumulator.
func TestMarkovCountCap(t *testing.T) {
	paths := []Path{
		{Channels: []string{"a"}, Conversions: 1e308, Nulls: 1},
		{Channels: []string{"b"}, Conversions: 1e308, Nulls: 1},
	}
	_, err := Markov{}.Attribute(paths)
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.Contains(t, err.Error(), "path 0: conversions: 1e+308 is over the cap of 1e+15")
	c, err := NewMarkovCounts(Markov{})
	require.NoError(t, err)
	require.ErrorIs(t, c.Add(paths[0]), leadkit.ErrInvalid)
	require.ErrorIs(t, c.AddPaths(paths), leadkit.ErrInvalid)

	// At the cap every count is exact and every total finite.
	paths = []Path{
		{Channels: []string{"a", "b"}, Conversions: MaxPathCount, Value: MaxPathCount, Nulls: MaxPathCount},
		{Channels: []string{"b"}, Conversions: MaxPathCount, Value: MaxPathCount},
	}
	for _, m := range []Model{Markov{}, Markov{Order: 2}, Shapley{}, Linear{}, FirstTouch{}} {
		r, err := m.Attribute(paths)
		require.NoError(t, err, "%T", m)
		assert.InDelta(t, 2*MaxPathCount, r.TotalConversions(), 1, "%T", m)
		assert.InDelta(t, 2*MaxPathCount, r.TotalValue(), 1, "%T", m)
	}

	// Totals that are not finite (out of reach through validated paths)
	// are an error, never an empty result.
	c, err = NewMarkovCounts(Markov{})
	require.NoError(t, err)
	require.NoError(t, c.Add(Path{Channels: []string{"a"}, Conversions: 1}))
	c.conv = math.Inf(1)
	_, err = Markov{}.AttributeCounts(c)
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.Contains(t, err.Error(), "totals are not finite")
}
