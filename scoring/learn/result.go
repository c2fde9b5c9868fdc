package learn

import (
	"math"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/scoring"
)

// Result is what Fit learnt: the model as data, its scale, the evidence
// behind every rule, what was left out and why, and the evaluation on the
// held-out examples. Every number in it is finite, and the same examples
// and options give the same Result (byte for byte in JSON).
type Result struct {
	// Spec is the learned model: one dimension of fit rules (binned
	// profile fields), behavior rules (binned event counts, and paths
	// held) and a base rule ("base", when true) holding the intercept
	// and the points of the paths' "not held" bins, with integer
	// points. It compiles with scoring.Compile.
	Spec scoring.ModelSpec `json:"spec"`
	// Scale maps the dimension's score to the probability of conversion.
	Scale Scale `json:"scale"`
	// BasePoints are the points of the base rule: the intercept's and
	// those of every kept path's "0" (not held) bin.
	BasePoints float64 `json:"base_points"`
	// Training and HoldOut count the examples each side of the split.
	Training Sample `json:"training"`
	HoldOut  Sample `json:"hold_out"`
	// Features are the kept features, in model order (fields as given,
	// then signals by window, then paths), each with its rules.
	Features []Feature `json:"features"`
	// Dropped lists the bins and features left out of the model, with
	// the reason.
	Dropped []Dropped `json:"dropped"`
	// Fit describes the regression.
	Fit FitInfo `json:"fit"`
	// Evaluation scores the held-out examples with the compiled Spec.
	Evaluation Evaluation `json:"evaluation"`
	// Current is the same evaluation of Options.Current, if given.
	Current *Evaluation `json:"current,omitempty"`
	// Warnings are problems found in the data that did not stop the fit.
	Warnings []Warning `json:"warnings"`
}

// Sample counts examples and conversions.
type Sample struct {
	Examples  int     `json:"examples"`
	Converted int     `json:"converted"`
	Rate      float64 `json:"rate"`
}

// Scale is the scorecard scale: a score S means log-odds of conversion
// ln(BaseOdds) + (S - BaseScore) / Factor, so BaseScore is odds BaseOdds
// and every PDO points double the odds. Factor is PDO / ln 2.
type Scale struct {
	PDO       float64 `json:"pdo"`
	Factor    float64 `json:"factor"`
	BaseScore float64 `json:"base_score"`
	BaseOdds  float64 `json:"base_odds"`
}

// LogOdds is the log-odds of conversion at score.
func (s Scale) LogOdds(score float64) float64 {
	return math.Log(s.BaseOdds) + (score-s.BaseScore)/s.Factor
}

// Probability is the probability of conversion at score.
func (s Scale) Probability(score float64) float64 {
	return sigmoid(s.LogOdds(score))
}

// Score is the score at probability p (in (0, 1)), the inverse of
// Probability.
func (s Scale) Score(p float64) float64 {
	return s.BaseScore + s.Factor*(math.Log(p/(1-p))-math.Log(s.BaseOdds))
}

func sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

// Feature is one binned field or signal count, with its fitted
// coefficient: the model's log-odds move by Coefficient times a bin's
// weight of evidence.
type Feature struct {
	// Name is the field ("company.employees") or the signal and window
	// ("webinar_attended ever", "channel:email 30d").
	Name string           `json:"name"`
	Kind scoring.RuleKind `json:"kind"`
	// Signal and Window name a behaviour feature's signal and window (0:
	// ever); Path a path feature's event types in order
	// ("path:webinar_attended>download": webinar_attended, then
	// download), whose bins are "0" (not held) and "1" (held).
	Signal string           `json:"signal,omitempty"`
	Window leadkit.Duration `json:"window,omitempty"`
	Path   []string         `json:"path,omitempty"`
	// Coefficient is the fitted weight of the feature's weights of
	// evidence, with its 95% Wald interval.
	Coefficient Interval `json:"coefficient"`
	// InformationValue is the feature's information value on the
	// training examples.
	InformationValue float64 `json:"information_value"`
	// Rules are the feature's bins, one rule each.
	Rules []Rule `json:"rules"`
}

// Interval is an estimate with its 95% confidence interval.
type Interval struct {
	Value float64 `json:"value"`
	Low   float64 `json:"low"`
	High  float64 `json:"high"`
}

// Rule is one bin of a feature as emitted: its rule's name and points,
// and the evidence on the training examples.
type Rule struct {
	// Name is the rule's name in Spec; Bin describes the bin ("50 to <
	// 250", "\"vp\"", "other", "missing", "2-3").
	Name string `json:"name"`
	Bin  string `json:"bin"`
	// Support is the number of training examples in the bin, Converted
	// how many of them converted, Rate the share.
	Support   int     `json:"support"`
	Converted int     `json:"converted"`
	Rate      float64 `json:"rate"`
	// WoE is the bin's weight of evidence: the log of its share of the
	// converted over its share of the others (smoothed by half an
	// example), i.e. the bin's log-odds against the training average.
	WoE float64 `json:"woe"`
	// Effect is what the bin adds to the model's log-odds (coefficient
	// times WoE), with a 95% interval by the delta method from the
	// coefficient's and the WoE's variances.
	Effect Interval `json:"effect"`
	// Points are the rule's points: Effect.Value times Scale.Factor,
	// rounded.
	Points float64 `json:"points"`
	// InBase is set on a path's "0" (not held) bin, which no rule can
	// match: its Points are in the base rule (Name is the name it would
	// have, and no rule in Spec has it), and the path rule, Name of the
	// "1" bin, gives the difference (its Points minus these), so that a
	// lead's score is the same.
	InBase bool `json:"in_base,omitempty"`
}

// Dropped is a bin or a whole feature (Bin empty) left out of the model.
type Dropped struct {
	Feature   string     `json:"feature"`
	Bin       string     `json:"bin,omitempty"`
	Support   int        `json:"support"`
	Converted int        `json:"converted"`
	Reason    DropReason `json:"reason"`
	// Detail explains the reason with the numbers.
	Detail string `json:"detail"`
}

// DropReason says why a bin or feature was dropped.
type DropReason string

// The reasons to drop.
const (
	// DropSupport: a bin with fewer training examples than MinSupport
	// (its leads get no points from the feature).
	DropSupport DropReason = "support"
	// DropConstant: a feature with fewer than two bins of enough support.
	DropConstant DropReason = "constant"
	// DropLeak: a feature that separates the outcome almost perfectly on
	// its own (AUC >= LeakAUC): a value recorded after the outcome.
	DropLeak DropReason = "leak"
	// DropWeak: a feature whose information value is below
	// Options.MinInformationValue.
	DropWeak DropReason = "weak"
	// DropDuplicate: a feature with the same bins and weights of
	// evidence as an earlier one on every training example (a channel
	// whose events are all of one type, and that type).
	DropDuplicate DropReason = "duplicate"
	// DropSign: a feature whose coefficient came out negative, against
	// its own weights of evidence (it is collinear with other features).
	DropSign DropReason = "sign"
	// DropSize: a feature left out so that the rules' expressions stay
	// within leadkit.MaxDocumentExprBytes (the least informative first).
	DropSize DropReason = "size"
)

// Warning is a problem with the data that Fit worked around.
type Warning struct {
	Kind    WarningKind `json:"kind"`
	Feature string      `json:"feature,omitempty"`
	Message string      `json:"message"`
}

// WarningKind classifies warnings.
type WarningKind string

// The kinds of warning.
const (
	// WarnConstant: a field or signal given in Options has one value.
	WarnConstant WarningKind = "constant"
	// WarnSeparation: a bin in which every example converted, or none
	// did (its weight of evidence rests on the smoothing).
	WarnSeparation WarningKind = "separation"
	// WarnLeak: a feature dropped as a leak of the outcome.
	WarnLeak WarningKind = "leak"
	// WarnSignals: the default signals were cut to the most frequent.
	WarnSignals WarningKind = "signals"
	// WarnConvergence: the optimiser stopped before converging.
	WarnConvergence WarningKind = "convergence"
	// WarnNoRules: no feature was kept; the model is the base rule.
	WarnNoRules WarningKind = "no_rules"
	// WarnCurrent: the current model failed to score some examples.
	WarnCurrent WarningKind = "current"
	// WarnMismatch: the compiled model scored a held-out example
	// differently from the fitted bins (a bug: please report it).
	WarnMismatch WarningKind = "mismatch"
	// WarnSize: features left out to keep the model's expressions within
	// leadkit.MaxDocumentExprBytes.
	WarnSize WarningKind = "size"
)

// FitInfo describes the regression.
type FitInfo struct {
	// Intercept is the fitted intercept (log-odds at WoE 0), with its
	// interval.
	Intercept Interval `json:"intercept"`
	// Iterations of the optimiser (summed over refits) and Refits after
	// dropping a feature whose sign reversed.
	Iterations int `json:"iterations"`
	Refits     int `json:"refits"`
	// LogLikelihood is the training log-likelihood at the optimum.
	LogLikelihood float64 `json:"log_likelihood"`
	// Status is the optimiser's final status.
	Status string `json:"status"`
}

// Evaluation measures a model on the held-out examples.
type Evaluation struct {
	// Model and Dimension name what was scored.
	Model     string `json:"model"`
	Dimension string `json:"dimension"`
	// Examples were scored (Failed could not be), Converted of them
	// converted.
	Examples  int `json:"examples"`
	Converted int `json:"converted"`
	Failed    int `json:"failed,omitempty"`
	// AUC is the probability that a converted example outscores one that
	// did not (ties count half).
	AUC float64 `json:"auc"`
	// Brier is the mean squared error of the predicted probabilities;
	// MeanPredicted their mean against Rate, the observed rate.
	Brier         float64 `json:"brier"`
	MeanPredicted float64 `json:"mean_predicted"`
	Rate          float64 `json:"rate"`
	// Calibrated says where the predicted probabilities come from:
	// "scale" (the learned Scale) or "platt" (a logistic fit of the
	// outcome on the score over the training examples, for a model
	// without a probability scale).
	Calibrated string `json:"calibrated"`
	// Deciles split the examples by score, highest first: lift and
	// calibration per band.
	Deciles []Decile `json:"deciles"`
}

// Decile is one tenth of the held-out examples by score (highest scores
// first; equal scores in input order).
type Decile struct {
	Decile    int     `json:"decile"`
	Examples  int     `json:"examples"`
	Converted int     `json:"converted"`
	MinScore  float64 `json:"min_score"`
	MaxScore  float64 `json:"max_score"`
	// Rate is the observed conversion, Predicted the mean predicted
	// probability (calibration).
	Rate      float64 `json:"rate"`
	Predicted float64 `json:"predicted"`
	// Lift is Rate over the overall rate; CumulativeLift the same for
	// deciles 1 to this one; Capture their share of all conversions.
	Lift           float64 `json:"lift"`
	CumulativeLift float64 `json:"cumulative_lift"`
	Capture        float64 `json:"capture"`
}
