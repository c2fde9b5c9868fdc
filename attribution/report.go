package attribution

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"

	"github.com/leadkit/leadkit"
)

// Credit is one attribution result to report on, with its label: the stage
// or outcome it credits ("mql", "sql", "won") and, when several models are
// compared, the model ("sql/markov").
type Credit struct {
	Stage  string `json:"stage"`
	Result Result `json:"result"`
}

// ROIOptions configures [NewROIReport].
type ROIOptions struct {
	// GroupBy rolls keys (channels or campaigns) up into groups, e.g. a
	// marketing function or team: key -> group. Keys not in the map are
	// their own group. Costs and credit are summed per group.
	GroupBy map[string]string `json:"group_by,omitempty"`
}

// ROIReport joins attribution credit with spend, per channel or campaign
// (or per group): the marketing team's ROI view. It is plain data.
type ROIReport struct {
	// Stages are the credit labels, in the order given.
	Stages []string `json:"stages"`
	// Rows hold one row per key, sorted by key.
	Rows []ROIRow `json:"rows"`
	// Total sums every row; its key is "(total)".
	Total ROIRow `json:"total"`
}

// ROIRow is the cost and the per-stage return of one key.
type ROIRow struct {
	Key  string  `json:"key"`
	Cost float64 `json:"cost"`
	// Stages are in the order of ROIReport.Stages.
	Stages []StageROI `json:"stages"`
}

// StageROI is what one key earned at one stage. A ratio whose denominator
// is zero is nil: there is no cost per MQL without MQLs and no return
// without spend.
type StageROI struct {
	Stage string `json:"stage"`
	// Conversions and Value are the credited amounts.
	Conversions float64 `json:"conversions"`
	Value       float64 `json:"value"`
	// CostPer is Cost / Conversions (the cost per MQL, per SQL...).
	CostPer *float64 `json:"cost_per,omitempty"`
	// ROAS is Value / Cost.
	ROAS *float64 `json:"roas,omitempty"`
	// ROI is (Value - Cost) / Cost.
	ROI *float64 `json:"roi,omitempty"`
}

// NewROIReport joins costs (spend per key) with the credits. A key with
// spend but no credit has zero conversions; a key with credit but no spend
// has cost 0. Costs must be finite and non-negative, stage labels distinct
// and non-empty, credit finite, and so must their sums: every problem is
// reported at once.
func NewROIReport(costs map[string]float64, credits []Credit, opts ROIOptions) (ROIReport, error) {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("attribution: roi report: %w: "+format, append([]any{leadkit.ErrInvalid}, args...)...))
	}
	group := func(k string) string {
		if g, ok := opts.GroupBy[k]; ok {
			return g
		}
		return k
	}
	cost := map[string]float64{}
	keys := map[string]bool{}
	for _, k := range sortedKeys(costs) {
		if x := costs[k]; !finite(x) || x < 0 {
			bad("cost of %q: %s", k, badCount(x))
		}
		cost[group(k)] += costs[k]
		keys[group(k)] = true
	}
	rep := ROIReport{}
	conv := make([]map[string]float64, len(credits))
	val := make([]map[string]float64, len(credits))
	for i, c := range credits {
		if c.Stage == "" {
			bad("credit %d has no stage label", i)
		} else if slices.Contains(rep.Stages, c.Stage) {
			bad("stage %q given twice", c.Stage)
		}
		rep.Stages = append(rep.Stages, c.Stage)
		conv[i], val[i] = map[string]float64{}, map[string]float64{}
		for _, k := range sortedKeys(c.Result.Conversions) {
			x := c.Result.Conversions[k]
			if math.IsNaN(x) || math.IsInf(x, 0) {
				bad("stage %q: conversions of %q: %g", c.Stage, k, x)
			}
			conv[i][group(k)] += x
			keys[group(k)] = true
		}
		for _, k := range sortedKeys(c.Result.Value) {
			x := c.Result.Value[k]
			if math.IsNaN(x) || math.IsInf(x, 0) {
				bad("stage %q: value of %q: %g", c.Stage, k, x)
			}
			val[i][group(k)] += x
			keys[group(k)] = true
		}
	}
	if len(errs) > 0 {
		return ROIReport{}, errors.Join(errs...)
	}
	// Finite amounts can still overflow when summed by group.
	for _, k := range sortedKeys(keys) {
		if !finite(cost[k]) {
			bad("costs of %q sum to %g", k, cost[k])
		}
		for i := range credits {
			if !finite(conv[i][k]) || !finite(val[i][k]) {
				bad("stage %q: credit of %q sums to %g conversions, %g value", rep.Stages[i], k, conv[i][k], val[i][k])
			}
		}
	}
	if len(errs) > 0 {
		return ROIReport{}, errors.Join(errs...)
	}
	rep.Total = ROIRow{Key: "(total)", Stages: make([]StageROI, len(credits))}
	for _, k := range sortedKeys(keys) {
		row := ROIRow{Key: k, Cost: cost[k], Stages: make([]StageROI, len(credits))}
		rep.Total.Cost += row.Cost
		for i := range credits {
			row.Stages[i] = StageROI{Stage: rep.Stages[i], Conversions: conv[i][k], Value: val[i][k]}
			rep.Total.Stages[i].Conversions += conv[i][k]
			rep.Total.Stages[i].Value += val[i][k]
			row.Stages[i].ratios(row.Cost)
		}
		rep.Rows = append(rep.Rows, row)
	}
	for i := range credits {
		rep.Total.Stages[i].Stage = rep.Stages[i]
		rep.Total.Stages[i].ratios(rep.Total.Cost)
		if !finite(rep.Total.Stages[i].Conversions) || !finite(rep.Total.Stages[i].Value) {
			bad("stage %q: credit sums to %g conversions, %g value", rep.Stages[i], rep.Total.Stages[i].Conversions, rep.Total.Stages[i].Value)
		}
	}
	if !finite(rep.Total.Cost) {
		bad("costs sum to %g", rep.Total.Cost)
	}
	if len(errs) > 0 {
		return ROIReport{}, errors.Join(errs...)
	}
	return rep, nil
}

func (s *StageROI) ratios(cost float64) {
	ptr := func(x float64) *float64 { return &x }
	if s.Conversions > 0 {
		s.CostPer = ptr(cost / s.Conversions)
	}
	if cost > 0 {
		s.ROAS = ptr(s.Value / cost)
		s.ROI = ptr((s.Value - cost) / cost)
	}
}

// WriteCSV writes the report as a table: key, cost, then per stage its
// conversions, value, cost_per, roas and roi (empty when undefined), one
// row per key and a final total row.
func (r ROIReport) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	head := []string{"key", "cost"}
	for _, s := range r.Stages {
		head = append(head, s+"_conversions", s+"_value", s+"_cost_per", s+"_roas", s+"_roi")
	}
	if err := cw.Write(head); err != nil {
		return err
	}
	f := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
	p := func(x *float64) string {
		if x == nil {
			return ""
		}
		return f(*x)
	}
	for _, row := range append(slices.Clone(r.Rows), r.Total) {
		rec := []string{row.Key, f(row.Cost)}
		for _, s := range row.Stages {
			rec = append(rec, f(s.Conversions), f(s.Value), p(s.CostPer), p(s.ROAS), p(s.ROI))
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
