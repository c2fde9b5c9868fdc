package attribution

import (
	"fmt"
	"math"
	"slices"
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
// 1 null; "A > A > B" 1 null (collapsed to "A > B").
// States: (A), (A,B), (B,A), (B). Counts: S->(A) 2, S->(B) 1;
// (A)->(A,B) 2; (A,B)->(B,A) 1, (A,B)->null 1; (B)->(B,A) 1;
// (B,A)->conv 1, (B,A)->null 1.
// P(conv) = 2/3*1/2*1/2 + 1/3*1/2 = 1/3 (1 of 3 journeys). Removing either
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

	c, err := Markov{Order: 2}.NewCounts()
	require.NoError(t, err)
	require.NoError(t, c.AddPaths(paths))
	assert.Equal(t, 4, c.States())
}

// refMarkov is an independent, naive implementation of the same model used
// as a brute-force check: string-keyed counts built from scratch, and the
// absorption probabilities found by pushing probability mass forward from
// Start step by step until less than 1e-16 is left in transient states
// (instead of solving a linear system). It returns P(conv), the expected
// value and the (value) removal effects per channel.
func refMarkov(paths []Path, order int, keep bool) (p0, v0 float64, re, rev map[string]float64) {
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
			if keep || len(seq) == 0 || seq[len(seq)-1] != c {
				seq = append(seq, c)
			}
		}
		prev := start
		for i := range seq {
			win := seq[max(0, i-order+1) : i+1]
			s := "[" + strings.Join(win, "|") + "]"
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
	run := func(removed string) (pc, val float64) {
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
	p0, v0 = run("")
	re, rev = map[string]float64{}, map[string]float64{}
	for c := range channels {
		p, v := run(c)
		re[c] = 1 - p/p0
		rev[c] = 1 - v/v0
	}
	return p0, v0, re, rev
}

// TestMarkovAgainstBruteForce compares the solver (dense and Gauss-Seidel)
// with refMarkov on random tables, orders 1 to 3, with and without
// repeats. The 25-channel order-2 case has more than denseLimit states, so
// it exercises the iterative solver.
func TestMarkovAgainstBruteForce(t *testing.T) {
	cases := []struct {
		seed              uint64
		n, m, maxLen, ord int
		keep              bool
		iterative         bool
	}{
		{1, 200, 4, 6, 1, false, false},
		{2, 200, 4, 6, 1, true, false},
		{3, 300, 5, 7, 2, false, false},
		{4, 300, 5, 7, 2, true, false},
		{5, 400, 4, 8, 3, false, false},
		{6, 400, 4, 8, 3, true, false},
		{7, 3000, 25, 6, 2, false, true},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("seed%d_order%d_keep%v", tc.seed, tc.ord, tc.keep), func(t *testing.T) {
			paths := randomPaths(tc.seed, tc.n, tc.m, tc.maxLen)
			m := Markov{Order: tc.ord, KeepRepeats: tc.keep}
			c, err := m.NewCounts()
			require.NoError(t, err)
			require.NoError(t, c.AddPaths(paths))
			assert.Equal(t, tc.iterative, c.States()+1 > denseLimit, "states %d", c.States())

			r, err := m.Attribute(paths)
			require.NoError(t, err)
			p0, v0, re, rev := refMarkov(paths, tc.ord, tc.keep)
			require.Greater(t, v0, 0.0)
			assert.InDelta(t, p0, r.ConversionProbability, 1e-12)
			require.Len(t, r.RemovalEffects, len(re))
			for ch, want := range re {
				assert.InDelta(t, want, r.RemovalEffects[ch], 1e-10, ch)
				assert.InDelta(t, rev[ch], r.ValueRemovalEffects[ch], 1e-10, ch)
			}
			conv, val, _ := Totals(paths)
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

func TestMarkovMergeEqualsWhole(t *testing.T) {
	paths := randomPaths(41, 3000, 10, 8)
	for _, m := range []Markov{{Order: 1}, {Order: 3, KeepRepeats: true}} {
		whole, err := m.Attribute(paths)
		require.NoError(t, err)

		shards := make([]*MarkovCounts, 3)
		for i := range shards {
			shards[i], err = m.NewCounts()
			require.NoError(t, err)
		}
		for i, p := range paths {
			require.NoError(t, shards[(i*7)%3].Add(p))
		}
		require.NoError(t, shards[1].Merge(shards[2]))
		require.NoError(t, shards[0].Merge(shards[1]))
		got, err := m.AttributeCounts(shards[0])
		require.NoError(t, err)
		for ch, v := range whole.Conversions {
			assert.InDelta(t, v, got.Conversions[ch], 1e-9)
			assert.InDelta(t, whole.Value[ch], got.Value[ch], 1e-9)
		}
		c1, v1, n1 := shards[0].Totals()
		c2, v2, n2 := Totals(paths)
		assert.Equal(t, []float64{c2, v2, n2}, []float64{c1, v1, n1})
	}
}

func TestMarkovErrors(t *testing.T) {
	_, err := Markov{Order: -1}.Attribute(nil)
	require.ErrorIs(t, err, leadkit.ErrInvalid)

	_, err = Markov{}.Attribute([]Path{{Channels: []string{"a"}, Conversions: 1}, {Conversions: 1}, {Channels: []string{"b"}, Nulls: math.NaN()}})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.Contains(t, err.Error(), "path 1: channels: empty path")
	assert.Contains(t, err.Error(), "path 2: nulls: NaN")

	c1, _ := Markov{Order: 1}.NewCounts()
	c2, _ := Markov{Order: 2}.NewCounts()
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
		c, err := Markov{KeepRepeats: keep}.NewCounts()
		require.NoError(t, err)
		require.NoError(t, c.AddPaths(paths))
		ch := c.chain()
		p0, v0, pw, vw, err := ch.removalsOrder1()
		require.NoError(t, err)
		dp, dv, err := ch.solveDense(nil)
		require.NoError(t, err)
		ip, iv, err := ch.solveIterative(nil)
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
			ip, iv, err := ch.solveIterative(removed)
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
func FuzzMarkov(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8})
	f.Add([]byte{5, 0xff, 0x1b, 4, 0x3, 0x10, 2})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 1 {
			return
		}
		m := Markov{Order: 1 + int(data[0]%3), KeepRepeats: data[0]&8 != 0}
		data = data[1:]
		var paths []Path
		for len(data) >= 3 {
			b0, b1, b2 := data[0], data[1], data[2]
			data = data[3:]
			ch := make([]string, 1+b0%4)
			for i := range ch {
				ch[i] = fmt.Sprint("c", (b1>>(2*i))&3)
			}
			conv := float64(b2 % 3)
			paths = append(paths, Path{Channels: ch, Conversions: conv, Nulls: float64((b2 / 3) % 3), Value: conv * float64(b2%7)})
		}
		r, err := m.Attribute(paths)
		if err != nil {
			t.Fatal(err)
		}
		conv, val, nulls := Totals(paths)
		if math.Abs(r.TotalConversions()-conv) > 1e-9 || math.Abs(r.TotalValue()-val) > 1e-9 {
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
