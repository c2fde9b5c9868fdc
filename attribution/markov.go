package attribution

import (
	"fmt"
	"math"

	"github.com/leadkit/leadkit"
)

// Markov is the data-driven model of Anderl et al. (2016): the paths are
// fitted as an absorbing Markov chain from a start state through channel
// states to a conversion or a null (no conversion) state, and each channel
// is credited in proportion to its removal effect, the relative drop in the
// chain's conversion probability when the channel is removed.
//
// States. With Order k, a state is the window of the last k channels seen
// (a sliding window); the first k-1 states of a path are the shorter
// prefixes, so a path of any length is a walk Start -> (a) -> (a,b) -> ... ->
// Conversion/Null. Repeats, by default: the windows are built over the
// touches as they are, then consecutive identical windows (repeated
// states) are merged into one step, as ChannelAttribution does; at order 2
// "c > a > a > a > b" is the walk (c), (c,a), (a,a), (a,b). With
// KeepRepeats a repeated state is a real step, a self-loop; removal effects
// are the same (a self-loop scales a state's other transitions by one
// factor, which changes no absorption probability), only the counts differ.
// With CollapseChannels consecutive repeated channels are merged before the
// windows are built ("c > a > a > b" is "c > a > b", so the state (a,a)
// never exists); at order 1 the three choices give the same result.
//
// Transition probabilities are the observed counts divided by the counts out
// of each state; a path weighs Conversions + Nulls, its last state moves to
// Conversion with weight Conversions and to Null with weight Nulls. The
// chain's conversion probability from Start then equals total conversions /
// (total conversions + total nulls) exactly.
//
// Removal. Removing a channel removes every state holding it; transitions
// into a removed state go to Null. Note that a channel seen only on paths
// that never convert still gets credit when it lies on the chain's routes
// to conversion (its states share windows and successors with converting
// paths): that is how the model is defined, and ChannelAttribution does the
// same.
//
// Solving. There is no Monte Carlo simulation: the absorption probabilities
// are solutions of the chain's linear system over the transient states.
// Order 1 needs one LU factorisation: removing channel s leaves
// P = x_0 - h(s) x_s, h(s) the probability of ever reaching s, read off the
// fundamental matrix. Higher orders, where a channel is many states, solve
// once per channel: by Gaussian elimination with partial
// pivoting (a direct method, exact up to rounding) up to 300 states, beyond
// that by restarted GMRES preconditioned with a Gauss-Seidel sweep and
// started from the solution without removal. The iteration is not exact:
// it stops on a proven error bound, not on a small change. The error of
// P(convert) is at most sum_i v_i |r_i|, r the residual of the linear system
// (computed in double-double) and v_i the expected visits to state i from
// Start, which for the fitted chain equal the observed visits divided by
// the number of journeys (and only shrink when states are removed). The
// bound must fall below 1e-14 relative to P(convert) without removal, or to
// the rounding level of float64 (about 3e-17 times the mean path length,
// that of a direct solve too); the same holds for the expected value. A
// solve that cannot reach it returns an error rather than a guess.
//
// Credit. Channel c gets total conversions * RE(c) / sum of RE over the
// channels. Value is attributed the same way with value removal effects:
// each conversion transition carries the mean conversion value of the state
// it leaves (total value of the conversions ending in that state divided by
// their number), and RE_v(c) is the relative drop of the chain's expected
// conversion value when c is removed.
//
// Counting is done by a [MarkovCounts] accumulator that can be filled per
// shard and merged; Attribute is [NewMarkovCounts], AddPaths and Result.
//
// Caps. The cost of the solve grows faster than the input: order 1 is one
// factorisation, cubic in the channels; higher orders solve once per
// channel over the whole chain. So a chain is refused, with an error
// wrapping [leadkit.ErrInvalid] that gives its size and the cap, when it
// has more than [MaxChannels] channels or [MaxMarkovStates] states, and
// at orders above 1 when its solves need more than [MaxMarkovWork] steps
// (checked before solving from the chain's size, and while solving, since
// the iterations a chain needs depend on its data). Order is at most
// [MaxMarkovOrder].
type Markov struct {
	// Order is the number of channels in a state (1 to MaxMarkovOrder); 0
	// means 1.
	Order int `json:"order,omitempty"`
	// KeepRepeats keeps consecutive repeated states as separate steps
	// (self-loops) instead of merging them.
	KeepRepeats bool `json:"keep_repeats,omitempty"`
	// CollapseChannels merges consecutive repeated channels before the
	// windows are built. It cannot be combined with KeepRepeats (after it
	// no state repeats).
	CollapseChannels bool `json:"collapse_channels,omitempty"`
}

func (m Markov) order() int {
	if m.Order == 0 {
		return 1
	}
	return m.Order
}

// Caps on one Markov chain (see [Markov]), set so that the worst chains
// built to be slow (stars, dense random chains, long cycling paths, rare
// conversions, orders 1 to 10) are refused or solved within a bounded
// time; the README gives the measured times.
const (
	// MaxMarkovOrder caps Markov.Order. A state is a window of Order
	// channels, so counting costs Order per touch; beyond order 4 or 5
	// nearly every path has states of its own.
	MaxMarkovOrder = 10
	// MaxChannels caps the distinct channels of one chain, at any order
	// (channels that appear only on paths of zero weight do not count).
	// Order 1 solves once, by one LU factorisation and the diagonal of
	// its inverse, cubic in the channels; more channels fail at once.
	MaxChannels = 1000
	// MaxMarkovStates caps the channel states of one chain (the windows
	// of Order channels seen; Start excluded). Counting stops creating
	// states past it, so a [MarkovCounts] stays small whatever it is fed;
	// the order-3 chain of 20 channels over a million paths has 8,364.
	MaxMarkovStates = 100_000
	// MaxMarkovWork caps the steps the solves of a chain of order above 1
	// may take: one solve per channel, each iteration one pass over the
	// chain's transitions and about 16 over its states. The order-3
	// chain of 20 channels over a million paths (8,364 states, 133,650
	// transitions) takes 2.4e8 steps.
	MaxMarkovWork = 500_000_000
)

// maxMarkovWork is MaxMarkovWork; tests lower it.
var maxMarkovWork = MaxMarkovWork

// Validate reports whether the options are usable.
func (m Markov) Validate() error {
	if m.Order < 0 || m.Order > MaxMarkovOrder {
		return fmt.Errorf("attribution: markov: %w: order %d, want 1 to %d", leadkit.ErrInvalid, m.Order, MaxMarkovOrder)
	}
	if m.KeepRepeats && m.CollapseChannels {
		return fmt.Errorf("attribution: markov: %w: keep_repeats and collapse_channels both set", leadkit.ErrInvalid)
	}
	return nil
}

// repeatsName names the repeat handling, for error messages.
func repeatsName(keep, collapse bool) string {
	switch {
	case keep:
		return "keep repeated states"
	case collapse:
		return "collapse repeated channels"
	}
	return "merge repeated states"
}

// Attribute implements [Model].
func (m Markov) Attribute(paths []Path) (Result, error) {
	c, err := NewMarkovCounts(m)
	if err != nil {
		return Result{}, err
	}
	if err := checkPathCount(len(paths)); err != nil {
		return Result{}, err
	}
	// AddPaths in one pass: the counts are discarded if a path is bad,
	// so they need not be left untouched.
	var pc pathChecker
	for i := range paths {
		if p := &paths[i]; pc.check(i, p) && !pc.failed() {
			c.add(p)
		}
	}
	if err := pc.err(); err != nil {
		return Result{}, err
	}
	c.added += len(paths)
	return m.AttributeCounts(c)
}

// AttributeCounts solves the chain of c and credits its channels: c.Result(),
// after checking that c was made for a Markov with the same Order,
// KeepRepeats and CollapseChannels as m.
func (m Markov) AttributeCounts(c *MarkovCounts) (Result, error) {
	if err := m.Validate(); err != nil {
		return Result{}, err
	}
	if c.order != m.order() || c.keepRepeats != m.KeepRepeats || c.collapseChannels != m.CollapseChannels {
		return Result{}, fmt.Errorf("attribution: markov: %w: counts of order %d (%s) given to a model of order %d (%s)", leadkit.ErrInvalid,
			c.order, repeatsName(c.keepRepeats, c.collapseChannels), m.order(), repeatsName(m.KeepRepeats, m.CollapseChannels))
	}
	if err := c.checkSize(); err != nil {
		return Result{}, err
	}
	names := c.in.names
	res := Result{
		Conversions:         make(map[string]float64, len(names)),
		Value:               make(map[string]float64, len(names)),
		RemovalEffects:      make(map[string]float64, len(names)),
		ValueRemovalEffects: make(map[string]float64, len(names)),
	}
	if c.conv == 0 {
		return res, nil
	}
	ch := c.chain()
	if c.order > 1 {
		// Every solve reads the whole chain at least once for its first
		// residual: a chain whose solves cannot fit in the budget is
		// refused before any work.
		if least := 2 * (len(names) + 1) * 3 * (len(ch.col) + ch.n); least > ch.maxWork {
			return Result{}, ch.workError()
		}
	}
	re := make([]float64, len(names))
	rev := make([]float64, len(names))
	var sumRE, sumREV float64
	effects := func(id int, p, v, p0, v0 float64) {
		re[id] = clamp01(1 - p/p0)
		sumRE += re[id]
		if v0 > 0 {
			rev[id] = clamp01(1 - v/v0)
			sumREV += rev[id]
		}
	}
	if c.order == 1 { // n <= MaxChannels + 1: one factorisation
		p0, v0, pw, vw, err := ch.removalsOrder1()
		if err != nil {
			return Result{}, err
		}
		res.ConversionProbability = p0
		for id := range names {
			if l := ch.byChan[id]; len(l) == 1 {
				effects(id, pw[l[0]], vw[l[0]], p0, v0)
			}
		}
	} else {
		sv := newSolver(ch)
		p0, v0, err := sv.solve(nil)
		if err != nil {
			return Result{}, err
		}
		res.ConversionProbability = p0
		removed := make([]bool, ch.n)
		for id := range names {
			if len(ch.byChan[id]) == 0 {
				continue // only on paths of zero weight
			}
			for _, s := range ch.byChan[id] {
				removed[s] = true
			}
			p, v, err := sv.solve(removed)
			for _, s := range ch.byChan[id] {
				removed[s] = false
			}
			if err != nil {
				return Result{}, err
			}
			effects(id, p, v, p0, v0)
		}
	}
	if !finite(sumRE) || !finite(sumREV) {
		return Result{}, fmt.Errorf("attribution: markov: %w: removal effects are not finite", leadkit.ErrInvalid)
	}
	for id, name := range names {
		if len(ch.byChan[id]) == 0 {
			continue
		}
		res.RemovalEffects[name] = re[id]
		res.ValueRemovalEffects[name] = rev[id]
		if sumRE > 0 {
			res.Conversions[name] = c.conv * re[id] / sumRE
		}
		if sumREV > 0 {
			res.Value[name] = c.val * rev[id] / sumREV
		}
	}
	return res, nil
}

// finite reports whether x is neither NaN nor infinite.
func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// clamp01 removes rounding noise that would push a removal effect out of
// [0, 1].
func clamp01(x float64) float64 {
	return min(1, max(0, x))
}
