package scoring

import (
	"fmt"
	"math"
	"sort"

	"github.com/leadkit/leadkit"
)

// RollMethod is how [RollUp] combines an account's contact scores.
type RollMethod string

// Roll-up methods for [Aggregate]. RollUp refuses any other value.
const (
	RollSum    RollMethod = "sum"
	RollMax    RollMethod = "max"
	RollAvgTop RollMethod = "avg_top" // the mean of the N best contacts
)

// Aggregate chooses how an account's score is built from its contacts'.
type Aggregate struct {
	Method RollMethod `json:"method"`
	// N is the number of contacts averaged by RollAvgTop.
	N int `json:"n,omitempty"`
}

// AccountScore is an account's rolled-up score.
type AccountScore struct {
	AccountID string  `json:"account_id"`
	Score     float64 `json:"score"`
	// Contacts is the number of scored contacts of the account.
	Contacts int `json:"contacts"`
}

// RollUp groups results by AccountID (results without one are skipped) and
// combines their scores on dimension: for account-based marketing. The
// output is sorted by account ID.
func RollUp(results []Result, dimension string, agg Aggregate) ([]AccountScore, error) {
	switch agg.Method {
	case RollSum, RollMax:
	case RollAvgTop:
		if agg.N < 1 {
			return nil, fmt.Errorf("scoring: %w: roll-up %s: n must be >= 1", leadkit.ErrInvalid, agg.Method)
		}
	default:
		return nil, fmt.Errorf("scoring: %w: roll-up method %q is not sum, max or avg_top", leadkit.ErrInvalid, agg.Method)
	}
	by := map[string][]float64{}
	for i := range results {
		r := &results[i]
		if r.AccountID == "" {
			continue
		}
		d, ok := r.Dimension(dimension)
		if !ok {
			return nil, fmt.Errorf("scoring: roll-up: lead %q has no dimension %q: %w", r.LeadID, dimension, leadkit.ErrNotFound)
		}
		by[r.AccountID] = append(by[r.AccountID], d.Score)
	}
	out := make([]AccountScore, 0, len(by))
	for id, scores := range by {
		a := AccountScore{AccountID: id, Contacts: len(scores)}
		switch agg.Method {
		case RollSum:
			for _, s := range scores {
				a.Score += s
			}
		case RollMax:
			a.Score = scores[0]
			for _, s := range scores[1:] {
				a.Score = math.Max(a.Score, s)
			}
		case RollAvgTop:
			sort.Sort(sort.Reverse(sort.Float64Slice(scores)))
			n := min(agg.N, len(scores))
			for _, s := range scores[:n] {
				a.Score += s
			}
			a.Score /= float64(n)
		}
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].AccountID < out[j].AccountID })
	return out, nil
}
