package attribution

import (
	"encoding/binary"
	"errors"
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

// Caps on one Markov chain (see [Markov]). The times are CPU times of
// timing runs on a 2-core AMD EPYC shared with other work (one core used:
// the solve is sequential), on chains built to be slow: stars, dense
// random chains, long cycling paths, rare conversions, orders 1 to 10.
const (
	// MaxMarkovOrder caps Markov.Order. A state is a window of Order
	// channels, so counting costs Order per touch; beyond order 4 or 5
	// nearly every path has states of its own.
	MaxMarkovOrder = 10
	// MaxChannels caps the distinct channels of one chain, at any order
	// (channels that appear only on paths of zero weight do not count).
	// Order 1 solves once, by one LU factorisation and the diagonal of
	// its inverse, cubic in the channels: 1,000 channels took 0.25 to
	// 0.45 s for the densest chains (0.15 s for a star). Before this cap,
	// 20,000 channels took 16.7 s and 2,400 channels 5.4 s; now more
	// than 1,000 fail at once.
	MaxChannels = 1000
	// MaxMarkovStates caps the channel states of one chain (the windows
	// of Order channels seen; Start excluded). Counting stops creating
	// states past it, so a [MarkovCounts] stays small whatever it is fed;
	// the order-3 chain of 20 channels over a million paths has 8,364.
	MaxMarkovStates = 100_000
	// MaxMarkovWork caps the steps the solves of a chain of order above 1
	// may take: one solve per channel, each iteration one pass over the
	// chain's transitions and about 16 over its states. A step takes
	// about 1 ns: chains that reach the cap stop after 0.4 to 0.65 s.
	// The order-3 chain of 20 channels over a million paths (8,364
	// states, 133,650 transitions) takes 2.4e8 steps, 0.25 to 0.35 s.
	MaxMarkovWork = 500_000_000
)

// maxMarkovWork is MaxMarkovWork; tests lower it.
var maxMarkovWork = MaxMarkovWork

// Validate reports whether the options are usable.
func (m Markov) Validate() error {
	if m.Order < 0 || m.Order > MaxMarkovOrder {
		return fmt.Errorf("attribution: markov: order %d, want 1 to %d: %w", m.Order, MaxMarkovOrder, leadkit.ErrInvalid)
	}
	if m.KeepRepeats && m.CollapseChannels {
		return fmt.Errorf("attribution: markov: keep_repeats and collapse_channels both set: %w", leadkit.ErrInvalid)
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

// NewMarkovCounts returns an empty [MarkovCounts] accumulator for the chain
// of m (its order and repeat handling), or the error of [Markov.Validate].
func NewMarkovCounts(m Markov) (*MarkovCounts, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	c := &MarkovCounts{
		order:            m.order(),
		keepRepeats:      m.KeepRepeats,
		collapseChannels: m.CollapseChannels,
		in:               newInterner(),
		stateIDs:         make(map[string]int32, 64),
	}
	c.rows = append(c.rows, edgeRow{}) // the start state
	c.stateChans = append(c.stateChans, nil)
	c.convValue = append(c.convValue, 0)
	return c, nil
}

// Special targets of a transition besides transient states.
const (
	stateStart int32 = 0
	toConv     int32 = -1
	toNull     int32 = -2
)

// edgeRow holds the weighted transitions out of one state. Rows are short
// (at most the number of channels + 2), so lookups scan; a row that grows
// long gets an index map.
type edgeRow struct {
	to    []int32
	w     []float64
	index map[int32]int32
}

const rowIndexAt = 48

func (r *edgeRow) add(to int32, w float64) {
	if r.index != nil {
		if i, ok := r.index[to]; ok {
			r.w[i] += w
			return
		}
	} else {
		for i, t := range r.to {
			if t == to {
				r.w[i] += w
				return
			}
		}
	}
	r.to = append(r.to, to)
	r.w = append(r.w, w)
	if r.index != nil {
		r.index[to] = int32(len(r.to) - 1)
	} else if len(r.to) > rowIndexAt {
		r.index = make(map[int32]int32, 2*len(r.to))
		for i, t := range r.to {
			r.index[t] = int32(i)
		}
	}
}

// MarkovCounts accumulates the transition counts of a [Markov] chain: the
// accumulator of the model, with the contract every leadkit accumulator
// follows (see the package leadkit documentation, "Specs, results and
// accumulators"). Make one per shard with [NewMarkovCounts], fill it with
// Add or AddPaths, combine shards with Merge and solve with Result; the
// result does not depend on how the paths were split or in which order they
// were added (up to floating-point rounding of the solve).
//
// Result returns an error besides the result, unlike the counting
// accumulators of other packages: solving the chain can fail (too many
// channels or states, a solve over its work budget), and those limits are
// checked on the whole chain, not per path. A MarkovCounts is not safe for
// concurrent use; give each goroutine its own.
type MarkovCounts struct {
	order            int
	keepRepeats      bool
	collapseChannels bool
	in               *interner
	// states: id 0 is Start; others are windows of channel ids.
	stateIDs   map[string]int32
	stateChans [][]int32 // channel ids of each state's window
	order1     []int32   // order 1: state id by channel id (0 = none yet)
	rows       []edgeRow // by state id
	convValue  []float64 // by state id: value of conversions leaving it
	added      int
	conv, val  float64
	nulls      float64
	// full is set once the chain has more than MaxMarkovStates states:
	// from then on paths add to the totals and the channel names only,
	// and AttributeCounts refuses the counts.
	full bool

	ids []int32 // scratch
	key []byte  // scratch
}

// Order returns the chain order the counts were built for.
func (c *MarkovCounts) Order() int { return c.order }

// Spec returns the model the counts were made for (its Order is at least
// 1).
func (c *MarkovCounts) Spec() Markov {
	return Markov{Order: c.order, KeepRepeats: c.keepRepeats, CollapseChannels: c.collapseChannels}
}

// Result solves the chain of everything added so far and credits its
// channels, as [Markov.Attribute] does over the same paths in one pass.
// Counts over the caps of [Markov] are refused with an error wrapping
// [leadkit.ErrInvalid]; the counts are not changed, by this or by a
// failure.
func (c *MarkovCounts) Result() (Result, error) { return c.Spec().AttributeCounts(c) }

// States returns the number of channel states seen so far (Start
// excluded). Once it passes [MaxMarkovStates] no further states are made
// (the counts can no longer be solved), so it stays near the cap.
func (c *MarkovCounts) States() int { return len(c.rows) - 1 }

// Channels returns the number of distinct channels seen so far on paths
// of non-zero weight (see [MaxChannels]).
func (c *MarkovCounts) Channels() int { return len(c.in.names) }

// Totals returns the conversions, value and nulls added so far.
func (c *MarkovCounts) Totals() (conversions, value, nulls float64) {
	return c.conv, c.val, c.nulls
}

// AddPaths validates every path (see [ValidatePaths]: at most [MaxPaths] a
// call) and, if all are valid, adds them; otherwise it adds nothing and
// returns the errors. Any number of calls may add to the same counts.
func (c *MarkovCounts) AddPaths(paths []Path) error {
	if err := ValidatePaths(paths); err != nil {
		return err
	}
	for i := range paths {
		c.add(&paths[i])
	}
	c.added += len(paths)
	return nil
}

// Add validates p and adds it. On error nothing is added and the
// *[PathError] carries as Index the number of paths added before.
func (c *MarkovCounts) Add(p Path) error {
	if err := ValidatePaths([]Path{p}); err != nil {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				var pe *PathError
				if errors.As(e, &pe) {
					pe.Index = c.added
				}
			}
		}
		return err
	}
	c.add(&p)
	c.added++
	return nil
}

func (c *MarkovCounts) add(p *Path) {
	w := p.Conversions + p.Nulls
	if w == 0 {
		return
	}
	c.conv += p.Conversions
	c.val += p.Value
	c.nulls += p.Nulls
	if c.full {
		for _, ch := range p.Channels {
			c.in.id(ch) // the channel count stays exact for the error
		}
		return
	}
	ids := c.ids[:0]
	for _, ch := range p.Channels {
		id := c.in.id(ch)
		if c.collapseChannels && len(ids) > 0 && ids[len(ids)-1] == id {
			continue
		}
		ids = append(ids, id)
	}
	c.ids = ids
	prev := stateStart
	for i := range ids {
		var s int32
		if c.order == 1 {
			s = c.order1State(ids[i])
		} else {
			s = c.windowState(ids[max(0, i-c.order+1) : i+1])
		}
		if s == prev && !c.keepRepeats {
			continue // the same window again: one state, one step
		}
		c.rows[prev].add(s, w)
		prev = s
	}
	if p.Conversions > 0 {
		c.rows[prev].add(toConv, p.Conversions)
		c.convValue[prev] += p.Value
	}
	if p.Nulls > 0 {
		c.rows[prev].add(toNull, p.Nulls)
	}
}

func (c *MarkovCounts) order1State(ch int32) int32 {
	for int(ch) >= len(c.order1) {
		c.order1 = append(c.order1, 0)
	}
	if s := c.order1[ch]; s != 0 {
		return s
	}
	s := c.newState([]int32{ch})
	c.order1[ch] = s
	return s
}

func (c *MarkovCounts) windowState(win []int32) int32 {
	key := c.key[:0]
	for _, id := range win {
		key = binary.LittleEndian.AppendUint32(key, uint32(id))
	}
	c.key = key
	if s, ok := c.stateIDs[string(key)]; ok {
		return s
	}
	s := c.newState(append([]int32(nil), win...))
	c.stateIDs[string(key)] = s
	return s
}

func (c *MarkovCounts) newState(win []int32) int32 {
	s := int32(len(c.rows))
	c.rows = append(c.rows, edgeRow{})
	c.stateChans = append(c.stateChans, win)
	c.convValue = append(c.convValue, 0)
	if int(s) > MaxMarkovStates {
		c.full = true // the path being added still finishes
	}
	return s
}

// Merge adds the counts of o (built for the same order and repeat
// handling) to c. o is not modified. Counts of another spec, nil and c
// itself are refused with an error wrapping [leadkit.ErrInvalid], and c
// is left as it was.
func (c *MarkovCounts) Merge(o *MarkovCounts) error {
	if o == nil {
		return fmt.Errorf("attribution: markov: merge nil counts: %w", leadkit.ErrInvalid)
	}
	if o == c {
		return fmt.Errorf("attribution: markov: merge counts into themselves: %w", leadkit.ErrInvalid)
	}
	if o.order != c.order || o.keepRepeats != c.keepRepeats || o.collapseChannels != c.collapseChannels {
		return fmt.Errorf("attribution: markov: merge counts of order %d (%s) into order %d (%s): %w",
			o.order, repeatsName(o.keepRepeats, o.collapseChannels), c.order, repeatsName(c.keepRepeats, c.collapseChannels), leadkit.ErrInvalid)
	}
	chanMap := make([]int32, len(o.in.names))
	for i, name := range o.in.names {
		chanMap[i] = c.in.id(name)
	}
	if c.full || o.full {
		c.full = true
		c.conv += o.conv
		c.val += o.val
		c.nulls += o.nulls
		c.added += o.added
		return nil
	}
	stateMap := make([]int32, len(o.rows))
	win := make([]int32, 0, c.order)
	for s := 1; s < len(o.rows); s++ {
		win = win[:0]
		for _, id := range o.stateChans[s] {
			win = append(win, chanMap[id])
		}
		if c.order == 1 {
			stateMap[s] = c.order1State(win[0])
		} else {
			stateMap[s] = c.windowState(win)
		}
	}
	for s := range o.rows {
		from := stateMap[s]
		r := &o.rows[s]
		for i, to := range r.to {
			if to > 0 {
				to = stateMap[to]
			}
			c.rows[from].add(to, r.w[i])
		}
		c.convValue[from] += o.convValue[s]
	}
	c.conv += o.conv
	c.val += o.val
	c.nulls += o.nulls
	c.added += o.added
	return nil
}

// denseLimit is the largest transient state count (Start included) solved
// by Gaussian elimination, one O(n^3) factorisation per removal; bigger
// chains use preconditioned GMRES (solve.go), which is faster from a few
// hundred states on, even on long cycling paths: for an order-2 chain of
// 420 states with paths of mean length 3000, the 21 solves took 200 ms
// dense and 54 ms by GMRES; 651 states of short paths: 450 ms and 28 ms.
const denseLimit = 300

// chain is the solved-for form of the counts: transition probabilities in
// compressed rows over the transient states (Start = 0).
type chain struct {
	n        int
	rowStart []int32
	col      []int32
	prob     []float64
	self     []float64 // self-loop probability
	pConv    []float64 // probability of moving to Conversion
	meanVal  []float64 // mean value of a conversion leaving the state
	byChan   [][]int32 // states holding each channel
	// visits is the expected number of visits to each state from Start,
	// known from the counts: the observed visits (the weight out of the
	// state) divided by the number of journeys. The observed counts solve
	// the chain's flow equations, so visits is row Start of the
	// fundamental matrix (I - Q)^-1; with states removed, an upper bound of
	// it. It bounds the error of an approximate solution (see bound).
	visits []float64
	// p0, v0: P(convert) and the expected value from Start, known from the
	// counts (total conversions and value divided by the journeys); they
	// scale the iterative solver's tolerance.
	p0, v0 float64

	// work counts the steps of the solves (orders above 1), at most
	// maxWork (MaxMarkovWork); order, channels: for the error.
	work, maxWork   int
	order, channels int
}

func (c *MarkovCounts) chain() *chain {
	n := len(c.rows)
	ch := &chain{
		n:        n,
		rowStart: make([]int32, n+1),
		self:     make([]float64, n),
		pConv:    make([]float64, n),
		meanVal:  make([]float64, n),
		byChan:   make([][]int32, len(c.in.names)),
		visits:   make([]float64, n),
		maxWork:  maxMarkovWork,
		order:    c.order,
		channels: len(c.in.names),
	}
	var journeys float64
	for s := range c.rows {
		r := &c.rows[s]
		var total, convW float64
		for i, to := range r.to {
			total += r.w[i]
			if to == toConv {
				convW += r.w[i]
			}
		}
		ch.rowStart[s] = int32(len(ch.col))
		ch.visits[s] = total
		if s == int(stateStart) {
			journeys = total
		}
		if total == 0 {
			continue
		}
		for i, to := range r.to {
			p := r.w[i] / total
			switch {
			case to == toConv:
				ch.pConv[s] += p
			case to == int32(s):
				ch.self[s] += p
			case to > 0:
				ch.col = append(ch.col, to)
				ch.prob = append(ch.prob, p)
			}
		}
		if convW > 0 {
			ch.meanVal[s] = c.convValue[s] / convW
		}
	}
	ch.rowStart[n] = int32(len(ch.col))
	if journeys > 0 {
		for s := range ch.visits {
			ch.visits[s] /= journeys
		}
		ch.p0, ch.v0 = c.conv/journeys, c.val/journeys
	}
	for s := 1; s < n; s++ {
		for _, id := range c.stateChans[s] {
			if l := ch.byChan[id]; len(l) == 0 || l[len(l)-1] != int32(s) {
				ch.byChan[id] = append(ch.byChan[id], int32(s))
			}
		}
	}
	return ch
}

// charge adds n steps to the work of the solves and fails once it passes
// the budget.
func (ch *chain) charge(n int) error {
	ch.work += n
	if ch.work > ch.maxWork {
		return ch.workError()
	}
	return nil
}

func (ch *chain) workError() error {
	return fmt.Errorf("attribution: markov: solving the chain (order %d, %d channels, %d states, %d transitions) takes more than %d steps (MaxMarkovWork): use a lower order or fewer channels: %w",
		ch.order, ch.channels, ch.n-1, len(ch.col), ch.maxWork, leadkit.ErrInvalid)
}

func (ch *chain) solveDense(removed []bool) (float64, float64, error) {
	// Kept states get dense indices; the system is (I - Q) [x y] = [b bv].
	idx := make([]int, ch.n)
	m := 0
	for s := 0; s < ch.n; s++ {
		if removed != nil && removed[s] {
			idx[s] = -1
			continue
		}
		idx[s] = m
		m++
	}
	w := m + 2
	a := make([]float64, m*w)
	for s := 0; s < ch.n; s++ {
		i := idx[s]
		if i < 0 {
			continue
		}
		row := a[i*w : (i+1)*w]
		row[i] = 1 - ch.self[s]
		for k := ch.rowStart[s]; k < ch.rowStart[s+1]; k++ {
			if j := idx[ch.col[k]]; j >= 0 {
				row[j] -= ch.prob[k]
			}
		}
		row[m] = ch.pConv[s]
		row[m+1] = ch.pConv[s] * ch.meanVal[s]
	}
	// Gaussian elimination with partial pivoting, charged per column: the
	// pivot search and the rows it updates.
	for col := 0; col < m; col++ {
		steps := m - col
		piv := col
		for r := col + 1; r < m; r++ {
			if math.Abs(a[r*w+col]) > math.Abs(a[piv*w+col]) {
				piv = r
			}
		}
		if math.Abs(a[piv*w+col]) < 1e-300 {
			return 0, 0, fmt.Errorf("attribution: markov: singular chain (a state never leaves): %w", leadkit.ErrInvalid)
		}
		if piv != col {
			for k := 0; k < w; k++ {
				a[piv*w+k], a[col*w+k] = a[col*w+k], a[piv*w+k]
			}
		}
		pr := a[col*w : (col+1)*w]
		for r := col + 1; r < m; r++ {
			f := a[r*w+col] / pr[col]
			if f == 0 {
				continue
			}
			rr := a[r*w : (r+1)*w]
			for k := col; k < w; k++ {
				rr[k] -= f * pr[k]
			}
			steps += w - col
		}
		if err := ch.charge(steps); err != nil {
			return 0, 0, err
		}
	}
	if err := ch.charge(m * m); err != nil { // back substitution
		return 0, 0, err
	}
	// Back substitution; only Start (index 0) is needed, but every unknown
	// above it must be solved first.
	x := make([]float64, m)
	y := make([]float64, m)
	for r := m - 1; r >= 0; r-- {
		row := a[r*w : (r+1)*w]
		sx, sy := row[m], row[m+1]
		for k := r + 1; k < m; k++ {
			sx -= row[k] * x[k]
			sy -= row[k] * y[k]
		}
		x[r] = sx / row[r]
		y[r] = sy / row[r]
	}
	if idx[0] < 0 {
		return 0, 0, nil
	}
	return x[idx[0]], y[idx[0]], nil
}

// AttributeCounts solves the chain of c and credits its channels: c.Result(),
// after checking that c was made for a Markov with the same Order,
// KeepRepeats and CollapseChannels as m.
func (m Markov) AttributeCounts(c *MarkovCounts) (Result, error) {
	if err := m.Validate(); err != nil {
		return Result{}, err
	}
	if c.order != m.order() || c.keepRepeats != m.KeepRepeats || c.collapseChannels != m.CollapseChannels {
		return Result{}, fmt.Errorf("attribution: markov: counts of order %d (%s) given to a model of order %d (%s): %w",
			c.order, repeatsName(c.keepRepeats, c.collapseChannels), m.order(), repeatsName(m.KeepRepeats, m.CollapseChannels), leadkit.ErrInvalid)
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
		return Result{}, fmt.Errorf("attribution: markov: removal effects are not finite: %w", leadkit.ErrInvalid)
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

// checkSize refuses counts over the caps of [Markov] or with totals that
// are not finite.
func (c *MarkovCounts) checkSize() error {
	if n := len(c.in.names); n > MaxChannels {
		return fmt.Errorf("attribution: markov: %d channels, at most %d (MaxChannels): %w", n, MaxChannels, leadkit.ErrInvalid)
	}
	if c.full {
		return fmt.Errorf("attribution: markov: more than %d states (MaxMarkovStates) at order %d over %d channels: use a lower order or fewer channels: %w",
			MaxMarkovStates, c.order, len(c.in.names), leadkit.ErrInvalid)
	}
	if !finite(c.conv) || !finite(c.val) || !finite(c.nulls) {
		return fmt.Errorf("attribution: markov: totals are not finite (conversions %g, value %g, nulls %g): %w", c.conv, c.val, c.nulls, leadkit.ErrInvalid)
	}
	return nil
}

// finite reports whether x is neither NaN nor infinite.
func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// clamp01 removes rounding noise that would push a removal effect out of
// [0, 1].
func clamp01(x float64) float64 {
	return min(1, max(0, x))
}
