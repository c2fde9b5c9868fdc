package attribution

import (
	"fmt"
	"math"

	"github.com/leadkit/leadkit"
)

// The chain of a [MarkovCounts] in the form the solvers read, and the
// direct solver (Gaussian elimination) of small chains; solve.go holds the
// iterative solver, solve1.go the one factorisation of order 1.

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
	return fmt.Errorf("attribution: markov: %w: solving the chain (order %d, %d channels, %d states, %d transitions) takes more than %d steps (MaxMarkovWork): use a lower order or fewer channels", leadkit.ErrInvalid,
		ch.order, ch.channels, ch.n-1, len(ch.col), ch.maxWork)
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
			return 0, 0, fmt.Errorf("attribution: markov: %w: singular chain (a state never leaves)", leadkit.ErrInvalid)
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
