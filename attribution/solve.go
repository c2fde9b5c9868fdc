package attribution

import (
	"fmt"
	"math"
)

// Iterative solver of the absorbing chain for chains above denseLimit:
// restarted GMRES, right-preconditioned by one backward Gauss-Seidel sweep,
// stopped on a proven error bound.
//
// Why GMRES: on long cycling paths the chain mixes fast among its states
// but is absorbed slowly (about once per mean path length), so a stationary
// iteration (Gauss-Seidel) contracts the error by barely less than 1 per
// sweep; that slow direction is essentially one vector, which a Krylov
// method removes in a few iterations. Why the preconditioner: states are
// numbered in order of first appearance along paths, so successors mostly
// have higher numbers, and a backward sweep solves a chain without cycles
// outright.
//
// The bound: for an approximate solution x with residual r = b - A x
// (A = I - Q), the error of x at Start is (N r)_Start with N = A^-1, and
// N[Start][i] is the expected number of visits to state i (chain.visits, an
// upper bound once states are removed), so |error| <= sum_i visits_i |r_i|.
//
// Work per iteration: one backward sweep over the upper part of Q (the
// preconditioner) and, for the product with A, one pass over its lower
// part only: with M = D - U, A M^-1 v = v - L M^-1 v. States removed by a
// solve are outside its system: every vector is zero there (x is zeroed
// there before the solve), so the sweeps read successors without checking
// whether they were removed. The work is charged to the chain's budget
// ([MaxMarkovWork]).

const (
	// gmresRestart is the Krylov subspace size before a restart.
	gmresRestart = 15
	// gmresTol is the target bound on the error of P(convert), and of the
	// expected value, relative to their values without removal.
	gmresTol = 1e-14
	// gmresMaxCycles bounds the restarts.
	gmresMaxCycles = 2000
	// breakdown: a new Krylov vector shorter than this, relative to the
	// operator's image it was taken from, is rounding noise.
	breakdown = 1e-12
)

// solver solves the chain without removal and with removals, reusing its
// scratch space; after the solve without removal, the iterative solves
// start from that solution (an upper bound of the solution with removal).
type solver struct {
	ch           *chain
	fullX, fullY []float64 // solution without removal (iterative only)

	b, r, z, w []float64
	v          [][]float64 // Krylov basis, gmresRestart+1 vectors
	h          [][]float64 // Hessenberg matrix, (gmresRestart+1) x gmresRestart
	cs, sn, g  []float64
	y          []float64
	visitNorm  float64 // Euclidean norm of ch.visits

	// Q split into its strictly upper part (read by precondition) and
	// strictly lower part (read by applyPreconditioned), compressed rows.
	upStart, loStart []int32
	upCol, loCol     []int32
	upProb, loProb   []float64
}

func newSolver(ch *chain) *solver { return &solver{ch: ch} }

// solve returns, from Start, the probability of conversion and the expected
// conversion value, with the states marked in removed (nil: none) forced
// to Null.
func (sv *solver) solve(removed []bool) (pConv, value float64, err error) {
	if sv.ch.n <= denseLimit {
		return sv.ch.solveDense(removed)
	}
	return sv.solveIterative(removed)
}

func (sv *solver) init() {
	if sv.b != nil {
		return
	}
	n := sv.ch.n
	sv.b = make([]float64, n)
	sv.r = make([]float64, n)
	sv.z = make([]float64, n)
	sv.w = make([]float64, n)
	sv.v = make([][]float64, gmresRestart+1)
	for i := range sv.v {
		sv.v[i] = make([]float64, n)
	}
	sv.h = make([][]float64, gmresRestart+1)
	for i := range sv.h {
		sv.h[i] = make([]float64, gmresRestart)
	}
	sv.cs = make([]float64, gmresRestart)
	sv.sn = make([]float64, gmresRestart)
	sv.g = make([]float64, gmresRestart+1)
	sv.y = make([]float64, gmresRestart)
	for _, v := range sv.ch.visits {
		sv.visitNorm += v * v
	}
	sv.visitNorm = math.Sqrt(sv.visitNorm)
	ch := sv.ch
	sv.upStart = make([]int32, n+1)
	sv.loStart = make([]int32, n+1)
	for s := range n {
		sv.upStart[s], sv.loStart[s] = int32(len(sv.upCol)), int32(len(sv.loCol))
		for k := ch.rowStart[s]; k < ch.rowStart[s+1]; k++ {
			if t := ch.col[k]; int(t) > s {
				sv.upCol = append(sv.upCol, t)
				sv.upProb = append(sv.upProb, ch.prob[k])
			} else {
				sv.loCol = append(sv.loCol, t)
				sv.loProb = append(sv.loProb, ch.prob[k])
			}
		}
	}
	sv.upStart[n], sv.loStart[n] = int32(len(sv.upCol)), int32(len(sv.loCol))
}

func (sv *solver) solveIterative(removed []bool) (float64, float64, error) {
	sv.init()
	ch := sv.ch
	x := make([]float64, ch.n)
	y := make([]float64, ch.n)
	if removed != nil && sv.fullX != nil {
		copy(x, sv.fullX)
		copy(y, sv.fullY)
		for s, rm := range removed {
			if rm {
				x[s], y[s] = 0, 0
			}
		}
	}
	p, err := sv.gmres(removed, false, x)
	if err != nil {
		return 0, 0, err
	}
	v, err := sv.gmres(removed, true, y)
	if err != nil {
		return 0, 0, err
	}
	if removed == nil {
		sv.fullX, sv.fullY = x, y
	}
	return p, v, nil
}

// gmres solves (I - Q) x = b in place from the initial x, b the probability
// (value: the expected value) of converting in one step, and returns x at
// Start.
func (sv *solver) gmres(removed []bool, value bool, x []float64) (float64, error) {
	ch := sv.ch
	scale := ch.p0
	if value {
		scale = ch.v0
	}
	for s := range sv.b {
		sv.b[s] = 0
		if removed == nil || !removed[s] {
			sv.b[s] = ch.pConv[s]
			if value {
				sv.b[s] *= ch.meanVal[s]
			}
		}
	}
	if scale == 0 {
		clear(x)
		return 0, nil
	}
	tol := gmresTol * scale
	best := math.Inf(1)
	stalls, iters := 0, 0
	e, n := len(ch.col), ch.n
	for cycle := 0; ; cycle++ {
		if err := ch.charge(3 * (e + n)); err != nil { // residual (double-double)
			return 0, err
		}
		bound, floor := sv.residual(removed, x)
		if bound <= tol || bound <= floor {
			return x[0], nil
		}
		if bound > best/2 {
			stalls++
		} else {
			stalls = 0
		}
		best = min(best, bound)
		if cycle >= gmresMaxCycles || stalls >= 5 {
			if bound <= 16*floor {
				return x[0], nil // stalled at the rounding level
			}
			return 0, fmt.Errorf("attribution: markov: solver stopped with an error bound of %.3g on a value of %.3g after %d iterations", bound, scale, iters)
		}
		beta := norm2(sv.r)
		scaleTo(sv.v[0], sv.r, 1/beta)
		clear(sv.g)
		sv.g[0] = beta
		k := 0
		for j := range gmresRestart {
			iters++
			// One sweep over the transitions (both halves of Q) and
			// 2(j+1) + 5 passes over the states (Gram-Schmidt, norm,
			// scaling, the two triangular passes).
			if err := ch.charge(e + (2*j+7)*n); err != nil {
				return 0, err
			}
			sv.precondition(sv.z, sv.v[j], removed)
			sv.applyPreconditioned(sv.w, sv.v[j], sv.z, removed)
			wn := norm2(sv.w)
			for i := 0; i <= j; i++ { // modified Gram-Schmidt
				hij := dot(sv.w, sv.v[i])
				sv.h[i][j] = hij
				axpy(sv.w, -hij, sv.v[i])
			}
			hn := norm2(sv.w)
			if hn <= breakdown*wn {
				// What is left of w is rounding noise: the basis spans an
				// invariant subspace (a "happy breakdown"; a chain without
				// backward edges gets there at once, the preconditioner
				// then being exact). Going on would orthogonalise noise.
				hn = 0
			}
			sv.h[j+1][j] = hn
			for i := range j { // previous Givens rotations
				a, b := sv.h[i][j], sv.h[i+1][j]
				sv.h[i][j] = sv.cs[i]*a + sv.sn[i]*b
				sv.h[i+1][j] = -sv.sn[i]*a + sv.cs[i]*b
			}
			den := math.Hypot(sv.h[j][j], sv.h[j+1][j])
			if den == 0 {
				break
			}
			sv.cs[j], sv.sn[j] = sv.h[j][j]/den, sv.h[j+1][j]/den
			sv.h[j][j], sv.h[j+1][j] = den, 0
			sv.g[j+1] = -sv.sn[j] * sv.g[j]
			sv.g[j] *= sv.cs[j]
			k = j + 1
			// |g[j+1]| is the residual norm; visitNorm times it bounds
			// the error. Aim below the tolerance, then check for real.
			if hn == 0 || math.Abs(sv.g[j+1])*sv.visitNorm <= tol/8 {
				break
			}
			scaleTo(sv.v[j+1], sv.w, 1/hn)
		}
		for i := k - 1; i >= 0; i-- {
			s := sv.g[i]
			for l := i + 1; l < k; l++ {
				s -= sv.h[i][l] * sv.y[l]
			}
			sv.y[i] = s / sv.h[i][i]
		}
		if err := ch.charge(e + (k+3)*n); err != nil { // the update of x
			return 0, err
		}
		clear(sv.w)
		for i := range k {
			axpy(sv.w, sv.y[i], sv.v[i])
		}
		sv.precondition(sv.z, sv.w, removed)
		axpy(x, 1, sv.z)
	}
}

// residual sets sv.r = b - A x, summed in double-double (products split
// exactly with FMA) so that it is accurate even when it is far below the
// rounding error of its terms, and returns the error bound
// sum_i visits_i |r_i| and its floor: the same sum over the magnitudes of
// the terms times 2^-55, about the level that rounding x itself to float64
// already reaches (a bound at the floor proves an error of at most about
// 3e-17 times the expected path length).
func (sv *solver) residual(removed []bool, x []float64) (bound, floor float64) {
	ch := sv.ch
	for s := range ch.n {
		if removed != nil && removed[s] {
			sv.r[s] = -x[s]
			continue
		}
		a := 1 - ch.self[s]
		d := a * x[s]
		hi, lo := twoSum(sv.b[s], -d)
		lo -= math.FMA(a, x[s], -d)
		mag := math.Abs(sv.b[s]) + math.Abs(d)
		for k := ch.rowStart[s]; k < ch.rowStart[s+1]; k++ {
			t := ch.col[k]
			if removed != nil && removed[t] {
				continue
			}
			q := ch.prob[k] * x[t]
			var e float64
			hi, e = twoSum(hi, q)
			lo += e + math.FMA(ch.prob[k], x[t], -q)
			mag += math.Abs(q)
		}
		sv.r[s] = hi + lo
		bound += ch.visits[s] * math.Abs(sv.r[s])
		floor += ch.visits[s] * mag
	}
	return bound, 0x1p-55 * floor
}

// twoSum returns a+b rounded and its exact rounding error.
func twoSum(a, b float64) (s, e float64) {
	s = a + b
	bb := s - a
	return s, (a - (s - bb)) + (b - bb)
}

// applyPreconditioned sets dst = A z for z = M^-1 v (see precondition).
// A = D - L - U, D the diagonal, L and U the strictly lower and upper parts
// of Q, and M = D - U, so A z = M z - L z = v - L z: only the lower part is
// read (the backward edges, few because states are numbered in order of
// first appearance), not the whole of A. Removed states are outside the
// system: their entries of dst are zero.
func (sv *solver) applyPreconditioned(dst, v, z []float64, removed []bool) {
	for s := range sv.ch.n {
		if removed != nil && removed[s] {
			dst[s] = 0
			continue
		}
		acc := v[s]
		for k := sv.loStart[s]; k < sv.loStart[s+1]; k++ {
			acc -= sv.loProb[k] * z[sv.loCol[k]]
		}
		dst[s] = acc
	}
}

// precondition sets z = M^-1 v, M = D - U the diagonal and upper part of A
// (one backward Gauss-Seidel sweep from zero). Removed states are outside
// the system: their entries of z are zero, so the sweep reads z of any
// successor without checking whether it was removed.
func (sv *solver) precondition(z, v []float64, removed []bool) {
	ch := sv.ch
	for s := ch.n - 1; s >= 0; s-- {
		if removed != nil && removed[s] {
			z[s] = 0
			continue
		}
		acc := v[s]
		for k := sv.upStart[s]; k < sv.upStart[s+1]; k++ {
			acc += sv.upProb[k] * z[sv.upCol[k]]
		}
		z[s] = acc / (1 - ch.self[s])
	}
}

// dot returns the dot product of a and b (len(b) >= len(a)), summed in four
// interleaved parts: a single running sum waits on each addition.
func dot(a, b []float64) float64 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

func norm2(a []float64) float64 { return math.Sqrt(dot(a, a)) }

// axpy sets y += alpha x.
func axpy(y []float64, alpha float64, x []float64) {
	for i := range y {
		y[i] += alpha * x[i]
	}
}

// scaleTo sets dst = alpha src.
func scaleTo(dst, src []float64, alpha float64) {
	for i := range dst {
		dst[i] = alpha * src[i]
	}
}
