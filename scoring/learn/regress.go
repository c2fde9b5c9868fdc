package learn

import (
	"math"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize"
)

// logitFit is a fitted L2-regularised logistic regression.
type logitFit struct {
	beta []float64     // intercept first
	cov  *mat.SymDense // inverse of the penalised Hessian at beta
	ll   float64       // log-likelihood at beta
	iter int
	// status is the optimiser's; converged is false when it stopped
	// without meeting its gradient or function tolerance.
	status    string
	converged bool
}

// fitLogit fits the outcome y (0 or 1) on the columns of x (the first
// is the constant 1, not penalised) by maximum penalised likelihood,
// -log L(beta) + l2/2 * |beta[1:]|^2, with gonum's Newton method (exact
// Hessians), and returns the coefficients with their covariance (the
// inverse of the penalised Hessian: Wald intervals).
func fitLogit(x *mat.Dense, y []float64, l2 float64) logitFit {
	n, p := x.Dims()
	fn := float64(n)
	eta := make([]float64, n)
	etaVec := mat.NewVecDense(n, eta)
	resid := mat.NewVecDense(n, nil)
	xw := mat.NewDense(n, p, nil)
	linear := func(beta []float64) {
		etaVec.MulVec(x, mat.NewVecDense(p, beta))
	}
	// The objective is divided by n so that its gradient tolerance does
	// not depend on the number of examples.
	f := func(beta []float64) float64 {
		linear(beta)
		var s float64
		for i, e := range eta {
			s += softplus(e) - y[i]*e
		}
		for j := 1; j < p; j++ {
			s += l2 / 2 * beta[j] * beta[j]
		}
		return s / fn
	}
	grad := func(g, beta []float64) {
		linear(beta)
		for i, e := range eta {
			resid.SetVec(i, sigmoid(e)-y[i])
		}
		gv := mat.NewVecDense(p, g)
		gv.MulVec(x.T(), resid)
		for j := range g {
			if j > 0 {
				g[j] += l2 * beta[j]
			}
			g[j] /= fn
		}
	}
	hess := func(h *mat.SymDense, beta []float64) {
		linear(beta)
		// X' W X as (sqrt(W) X)' (sqrt(W) X).
		for i, e := range eta {
			pr := sigmoid(e)
			w := math.Sqrt(pr * (1 - pr))
			for j := range p {
				xw.Set(i, j, w*x.At(i, j))
			}
		}
		h.SymOuterK(1/fn, xw.T())
		for j := 1; j < p; j++ {
			h.SetSym(j, j, h.At(j, j)+l2/fn)
		}
	}
	res, err := optimize.Minimize(
		optimize.Problem{Func: f, Grad: grad, Hess: hess},
		make([]float64, p),
		&optimize.Settings{GradientThreshold: 1e-10, MajorIterations: 100},
		&optimize.Newton{},
	)
	out := logitFit{beta: make([]float64, p)}
	if res != nil {
		copy(out.beta, res.X)
		out.iter = res.Stats.MajorIterations
		out.status = res.Status.String()
		out.converged = err == nil && (res.Status == optimize.GradientThreshold || res.Status == optimize.FunctionConvergence)
	}
	if err != nil {
		out.status += ": " + err.Error()
	}
	for _, b := range out.beta {
		if math.IsNaN(b) || math.IsInf(b, 0) {
			// Never leave a non-finite coefficient: start again from 0.
			clear(out.beta)
			out.converged = false
			break
		}
	}
	out.ll = -f(out.beta) * fn
	for j := 1; j < p; j++ {
		out.ll += l2 / 2 * out.beta[j] * out.beta[j]
	}
	h := mat.NewSymDense(p, nil)
	hess(h, out.beta)
	h.ScaleSym(fn, h)
	out.cov = invertSym(h)
	return out
}

// invertSym inverts a positive definite matrix by Cholesky, adding a
// small ridge if rounding made it indefinite.
func invertSym(h *mat.SymDense) *mat.SymDense {
	p := h.SymmetricDim()
	var chol mat.Cholesky
	a := mat.NewSymDense(p, nil)
	a.CopySym(h)
	for ridge := 1e-9; ; ridge *= 10 {
		if chol.Factorize(a) {
			inv := mat.NewSymDense(p, nil)
			if chol.InverseTo(inv) == nil {
				return inv
			}
		}
		for j := range p {
			a.SetSym(j, j, h.At(j, j)+ridge)
		}
		if ridge > 1e6 {
			// Unreachable with a positive penalty; a diagonal guess.
			inv := mat.NewSymDense(p, nil)
			for j := range p {
				inv.SetSym(j, j, 1/max(h.At(j, j), 1e-12))
			}
			return inv
		}
	}
}

// softplus is log(1 + e^x) without overflow.
func softplus(x float64) float64 {
	if x > 0 {
		return x + math.Log1p(math.Exp(-x))
	}
	return math.Log1p(math.Exp(x))
}
