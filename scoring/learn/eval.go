package learn

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat"

	"github.com/leadkit/leadkit/scoring"
)

// AUC is the area under the ROC curve of scores against outcomes: the
// probability that an example that converted outscores one that did not,
// ties counting half (the Mann-Whitney statistic with average ranks). It
// is an error, wrapping leadkit.ErrInvalid, when the lengths differ, a
// score is NaN, or one outcome is missing.
func AUC(scores []float64, converted []bool) (float64, error) {
	if len(scores) != len(converted) {
		return 0, invalid("AUC: %d scores for %d outcomes", len(scores), len(converted))
	}
	idx := make([]int, len(scores))
	pos := 0
	for i := range idx {
		idx[i] = i
		if math.IsNaN(scores[i]) {
			return 0, invalid("AUC: score %d is NaN", i)
		}
		if converted[i] {
			pos++
		}
	}
	neg := len(scores) - pos
	if pos == 0 || neg == 0 {
		return 0, invalid("AUC: %d converted and %d not: both outcomes are needed", pos, neg)
	}
	slices.SortFunc(idx, func(a, b int) int { return cmp.Compare(scores[a], scores[b]) })
	var rankSum float64
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && scores[idx[j]] == scores[idx[i]] {
			j++
		}
		avg := float64(i+j+1) / 2 // ranks i+1 .. j
		for k := i; k < j; k++ {
			if converted[idx[k]] {
				rankSum += avg
			}
		}
		i = j
	}
	p, n := float64(pos), float64(neg)
	return (rankSum - p*(p+1)/2) / (p * n), nil
}

// evaluation measures scores (with predicted probabilities) against the
// outcomes.
func evaluation(scores, pred []float64, y []bool) Evaluation {
	e := Evaluation{Examples: len(scores)}
	for i := range scores {
		if y[i] {
			e.Converted++
		}
		e.MeanPredicted += pred[i]
		d := pred[i]
		if y[i] {
			d--
		}
		e.Brier += d * d
	}
	if e.Examples == 0 {
		e.Deciles = []Decile{}
		return e
	}
	n := float64(e.Examples)
	e.MeanPredicted /= n
	e.Brier /= n
	e.Rate = float64(e.Converted) / n
	if auc, err := AUC(scores, y); err == nil {
		e.AUC = auc
	} else {
		e.AUC = 0.5
	}
	order := make([]int, len(scores))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(scores[b], scores[a]) })
	e.Deciles = []Decile{}
	cumN, cumPos := 0, 0
	for d := range 10 {
		lo, hi := d*len(order)/10, (d+1)*len(order)/10
		if lo == hi {
			continue
		}
		dc := Decile{Decile: d + 1, Examples: hi - lo, MaxScore: scores[order[lo]], MinScore: scores[order[hi-1]]}
		for _, i := range order[lo:hi] {
			if y[i] {
				dc.Converted++
			}
			dc.Predicted += pred[i]
		}
		dc.Predicted /= float64(dc.Examples)
		dc.Rate = float64(dc.Converted) / float64(dc.Examples)
		cumN += dc.Examples
		cumPos += dc.Converted
		if e.Rate > 0 {
			dc.Lift = dc.Rate / e.Rate
			dc.CumulativeLift = float64(cumPos) / float64(cumN) / e.Rate
		}
		if e.Converted > 0 {
			dc.Capture = float64(cumPos) / float64(e.Converted)
		}
		e.Deciles = append(e.Deciles, dc)
	}
	return e
}

// internal is the score of example i by the fitted bins: what the
// compiled model must give it.
func (f *fitter) internal(i int) float64 {
	s := f.res.BasePoints
	for _, ft := range f.feats {
		if ft.dropped {
			continue
		}
		if k := ft.at[i]; k >= 0 && ft.bins[k].dropped == "" {
			s += ft.bins[k].points
		}
	}
	return s
}

// evaluate compiles the emitted spec, scores the held-out examples with
// it at their cut-offs (checking each score against the fitted bins) and
// measures it, and the current model if one is given.
func (f *fitter) evaluate() error {
	m, err := scoring.Compile(f.res.Spec, scoring.Options{})
	if err != nil {
		return fmt.Errorf("learn: the learned model does not compile (a bug; please report it): %w", err)
	}
	scores := make([]float64, 0, len(f.test))
	ys := make([]bool, 0, len(f.test))
	mismatch, first := 0, -1
	err = f.scoreRows(m, f.test, func(i int, r *scoring.Result) {
		s := r.Dimensions[0].Score
		if s != f.internal(i) {
			if mismatch == 0 {
				first = i
			}
			mismatch++
		}
		scores = append(scores, s)
		ys = append(ys, f.y[i])
	}, nil)
	if err != nil {
		return err
	}
	if mismatch > 0 {
		f.warn(WarnMismatch, "", "the compiled model scored %d held-out examples differently from the fitted bins (the first: example %d, %g against %g): a bug, please report it", mismatch, first, scores[slices.Index(f.test, first)], f.internal(first))
	}
	pred := make([]float64, len(scores))
	for k, s := range scores {
		pred[k] = f.res.Scale.Probability(s)
	}
	e := evaluation(scores, pred, ys)
	e.Model, e.Dimension, e.Calibrated = f.c.Name, f.c.Dimension, "scale"
	f.res.Evaluation = e
	if f.c.Current != nil {
		ce := f.evaluateCurrent()
		f.res.Current = &ce
	}
	return nil
}

// evaluateCurrent scores the training and held-out examples with the
// current model, calibrates its score to a probability on the training
// examples (Platt scaling) and measures it on the held-out ones.
func (f *fitter) evaluateCurrent() Evaluation {
	cur, dim := f.c.Current, f.c.CurrentDimension
	score := make([]float64, len(f.ex))
	ok := make([]bool, len(f.ex))
	failed, firstErr := 0, error(nil)
	for _, rows := range [][]int{f.train, f.test} {
		_ = f.scoreRows(cur, rows, func(i int, r *scoring.Result) {
			if d, found := r.Dimension(dim); found {
				score[i], ok[i] = d.Score, true
			}
		}, func(i int, err error) {
			if failed == 0 {
				firstErr = f.exampleErr(i, err)
			}
			failed++
		})
	}
	if failed > 0 {
		f.warn(WarnCurrent, "", "the current model failed to score %d examples, left out of its evaluation; the first: %v", failed, firstErr)
	}
	// Platt scaling on the training examples the model scored.
	var tx []float64
	var ty []float64
	for _, i := range f.train {
		if ok[i] {
			tx = append(tx, score[i])
			ty = append(ty, b2f(f.y[i]))
		}
	}
	mean, sd := meanSD(tx)
	predict := func(s float64) float64 { return f.res.Training.Rate }
	if len(tx) > 0 && sd > 0 {
		x := mat.NewDense(len(tx), 2, nil)
		for k, v := range tx {
			x.Set(k, 0, 1)
			x.Set(k, 1, (v-mean)/sd)
		}
		fit := fitLogit(x, ty, 1e-6)
		predict = func(s float64) float64 { return sigmoid(fit.beta[0] + fit.beta[1]*(s-mean)/sd) }
	}
	var scores, pred []float64
	var ys []bool
	testFailed := 0
	for _, i := range f.test {
		if !ok[i] {
			testFailed++
			continue
		}
		scores = append(scores, score[i])
		pred = append(pred, predict(score[i]))
		ys = append(ys, f.y[i])
	}
	e := evaluation(scores, pred, ys)
	e.Model, e.Dimension, e.Calibrated, e.Failed = cur.Name(), dim, "platt", testFailed
	return e
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// meanSD is the mean and the standard deviation of xs (0 for fewer
// than two values or a non-finite result).
func meanSD(xs []float64) (mean, sd float64) {
	if len(xs) < 2 {
		return 0, 0
	}
	mean, sd = stat.MeanStdDev(xs, nil)
	if math.IsNaN(sd) || math.IsInf(sd, 0) || math.IsInf(mean, 0) {
		return 0, 0
	}
	return mean, sd
}
