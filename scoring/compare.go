package scoring

import "math"

// Comparison is the outcome of scoring the same leads with two models.
type Comparison struct {
	Threshold string `json:"threshold"`
	// Leads holds one entry per lead scored by both models, in input order.
	Leads []LeadDiff `json:"leads"`
	// Up counts leads below the threshold under model a that reach it
	// under b; Down counts the reverse.
	Up   int `json:"up"`
	Down int `json:"down"`
	// MeanAbsDelta is the mean of |B - A| over Leads.
	MeanAbsDelta float64 `json:"mean_abs_delta"`
	// Errors holds the leads either model failed to score, one per
	// failing model and lead.
	Errors []*CompareError `json:"errors"`
}

// LeadDiff is one lead's score on the threshold's dimension under both
// models.
type LeadDiff struct {
	LeadID   string  `json:"lead_id"`
	A        float64 `json:"a"`
	B        float64 `json:"b"`
	Delta    float64 `json:"delta"`
	ReachedA bool    `json:"reached_a"`
	ReachedB bool    `json:"reached_b"`
}

// Compare scores in with models a and b (e.g. the current and the next
// version) and reports per-lead differences on the named threshold's
// dimension (each model's own threshold of that name) and how many leads
// cross it each way. A lead that fails in either model is listed in Errors
// and does not stop the comparison.
func Compare(a, b *Model, in []Input, thresholdName string) (Comparison, error) {
	ta, err := a.threshold(thresholdName)
	if err != nil {
		return Comparison{}, err
	}
	tb, err := b.threshold(thresholdName)
	if err != nil {
		return Comparison{}, err
	}
	cmp := Comparison{Threshold: thresholdName}
	var ra, rb Result
	var sum float64
	for i := range in {
		errA := a.ScoreInto(&ra, in[i])
		errB := b.ScoreInto(&rb, in[i])
		if errA != nil || errB != nil {
			for k, e := range []error{errA, errB} {
				if e != nil {
					mod := [2]*Model{a, b}[k]
					cmp.Errors = append(cmp.Errors, &CompareError{Index: i, LeadID: in[i].Lead.ID, Model: [2]string{"a", "b"}[k],
						Name: mod.spec.Name, Version: mod.spec.Version, Err: e})
				}
			}
			continue
		}
		d := LeadDiff{LeadID: in[i].Lead.ID, A: ra.Dimensions[ta.dim].Score, B: rb.Dimensions[tb.dim].Score}
		d.Delta = d.B - d.A
		d.ReachedA, d.ReachedB = d.A >= ta.value, d.B >= tb.value
		switch {
		case !d.ReachedA && d.ReachedB:
			cmp.Up++
		case d.ReachedA && !d.ReachedB:
			cmp.Down++
		}
		sum += math.Abs(d.Delta)
		cmp.Leads = append(cmp.Leads, d)
	}
	if len(cmp.Leads) > 0 {
		cmp.MeanAbsDelta = sum / float64(len(cmp.Leads))
	}
	return cmp, nil
}
