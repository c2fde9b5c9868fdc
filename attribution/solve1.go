package attribution

import (
	"fmt"
	"math"

	"github.com/leadkit/leadkit"
)

// removalsOrder1 computes, for an order-1 chain, the conversion probability
// and expected value from Start with each channel state removed, from one LU
// factorisation of A = I - Q. In an order-1 chain removing a channel removes
// one state s, and by first-passage decomposition
//
//	P(convert without s) = x_0 - h(s) x_s,   h(s) = N[0][s] / N[s][s],
//
// where x = N b is the conversion probability from each state, N = A^-1 the
// fundamental matrix and h(s) the probability of ever reaching s from Start
// (N[0][s] counts the expected visits to s, each first visit followed by
// N[s][s] of them). The same holds for the expected value y = N bv. The
// cost is O(n^3) once instead of once per channel; n is at most
// MaxChannels + 1.
func (ch *chain) removalsOrder1() (p0, v0 float64, pWithout, vWithout []float64, err error) {
	n := ch.n
	a := make([]float64, n*n)
	for s := 0; s < n; s++ {
		row := a[s*n : (s+1)*n]
		row[s] = 1 - ch.self[s]
		for k := ch.rowStart[s]; k < ch.rowStart[s+1]; k++ {
			row[ch.col[k]] -= ch.prob[k]
		}
	}
	lu, err := factorLU(a, n)
	if err != nil {
		return 0, 0, nil, nil, err
	}
	x := make([]float64, n)
	y := make([]float64, n)
	for s := 0; s < n; s++ {
		x[s] = ch.pConv[s]
		y[s] = ch.pConv[s] * ch.meanVal[s]
	}
	lu.solve(x)
	lu.solve(y)
	// Row 0 of N: N^T e_0, i.e. solve A^T z = e_0.
	row0 := make([]float64, n)
	row0[0] = 1
	lu.solveT(row0)
	// Diagonal of N: N[s][s] = (A^-1 e_s)_s.
	diag := make([]float64, n)
	scratch := make([]float64, n)
	for s := 1; s < n; s++ {
		diag[s] = lu.inverseDiag(s, scratch)
	}
	pWithout = make([]float64, n)
	vWithout = make([]float64, n)
	for s := 1; s < n; s++ {
		h := row0[s] / diag[s]
		pWithout[s] = x[0] - h*x[s]
		vWithout[s] = y[0] - h*y[s]
	}
	return x[0], y[0], pWithout, vWithout, nil
}

// luFactors is an LU factorisation with partial pivoting: P A = L U, L unit
// lower triangular, both stored in a.
type luFactors struct {
	a    []float64
	n    int
	perm []int // row i of P A is row perm[i] of A
	pinv []int // inverse of perm, built on first use
}

func factorLU(a []float64, n int) (*luFactors, error) {
	perm := make([]int, n)
	for i := range perm {
		perm[i] = i
	}
	for col := 0; col < n; col++ {
		piv := col
		for r := col + 1; r < n; r++ {
			if math.Abs(a[r*n+col]) > math.Abs(a[piv*n+col]) {
				piv = r
			}
		}
		if math.Abs(a[piv*n+col]) < 1e-300 {
			return nil, fmt.Errorf("attribution: markov: %w: singular chain (a state never leaves)", leadkit.ErrInvalid)
		}
		if piv != col {
			for k := 0; k < n; k++ {
				a[piv*n+k], a[col*n+k] = a[col*n+k], a[piv*n+k]
			}
			perm[piv], perm[col] = perm[col], perm[piv]
		}
		pr := a[col*n : (col+1)*n]
		for r := col + 1; r < n; r++ {
			f := a[r*n+col] / pr[col]
			a[r*n+col] = f
			if f == 0 {
				continue
			}
			rr := a[r*n : (r+1)*n]
			for k := col + 1; k < n; k++ {
				rr[k] -= f * pr[k]
			}
		}
	}
	return &luFactors{a: a, n: n, perm: perm}, nil
}

// solve overwrites b with A^-1 b.
func (f *luFactors) solve(b []float64) {
	n, a := f.n, f.a
	tmp := make([]float64, n)
	for i := range n {
		tmp[i] = b[f.perm[i]]
	}
	for i := range n { // L z = P b
		s := tmp[i]
		row := a[i*n : i*n+i]
		for k, l := range row {
			s -= l * tmp[k]
		}
		tmp[i] = s
	}
	for i := n - 1; i >= 0; i-- { // U x = z
		s := tmp[i]
		row := a[i*n : (i+1)*n]
		for k := i + 1; k < n; k++ {
			s -= row[k] * tmp[k]
		}
		tmp[i] = s / row[i]
	}
	copy(b, tmp)
}

// inverseDiag returns (A^-1)[s][s] = (A^-1 e_s)_s. It skips the work a
// full solve would waste: P e_s is zero before position pinv(s), so forward
// substitution starts there, and back substitution stops at row s.
func (f *luFactors) inverseDiag(s int, tmp []float64) float64 {
	n, a := f.n, f.a
	if f.pinv == nil {
		f.pinv = make([]int, n)
		for i, p := range f.perm {
			f.pinv[p] = i
		}
	}
	i0 := f.pinv[s]
	clear(tmp)
	tmp[i0] = 1
	for i := i0 + 1; i < n; i++ {
		tmp[i] = -dot(a[i*n+i0:i*n+i], tmp[i0:i])
	}
	for i := n - 1; i >= s; i-- {
		row := a[i*n : (i+1)*n]
		tmp[i] = (tmp[i] - dot(row[i+1:], tmp[i+1:n])) / row[i]
	}
	return tmp[s]
}

// solveT overwrites b with A^-T b: A^T = U^T L^T P, so solve U^T w = b,
// then L^T z = w, then undo the permutation.
func (f *luFactors) solveT(b []float64) {
	n, a := f.n, f.a
	w := make([]float64, n)
	copy(w, b)
	for i := range n { // U^T w = b (forward)
		s := w[i]
		for k := range i {
			s -= a[k*n+i] * w[k]
		}
		w[i] = s / a[i*n+i]
	}
	for i := n - 1; i >= 0; i-- { // L^T z = w (backward, unit diagonal)
		s := w[i]
		for k := i + 1; k < n; k++ {
			s -= a[k*n+i] * w[k]
		}
		w[i] = s
	}
	for i := range n {
		b[f.perm[i]] = w[i]
	}
}
