package attribution

import (
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/text"
)

// Credit is one attribution result to report on, with its label: the stage
// or outcome it credits ("mql", "sql", "won") and, when several models are
// compared, the model ("sql/markov"); in a report by period, the period
// it credits.
type Credit struct {
	Stage string `json:"stage"`
	// Period is the calendar period of the credit in a report by period
	// ([NewPeriodROIReport]): its label ("2026-Q1"), or its first day
	// ("2026-01-01"). [NewROIReport] has one uncut period: "".
	Period string `json:"period,omitempty"`
	Result Result `json:"result"`
}

// Caps of an ROI report, beyond the cost table's.
const (
	// MaxROIStages caps the distinct stage labels of the credits: every
	// stage of the largest definition (stage.MaxStages, 256) by the two
	// models lifecycle credits with.
	MaxROIStages = 512
	// MaxROICells caps the rows of a report: keys (or groups) times
	// periods.
	MaxROICells = 100_000
	// MaxCostGaps caps ROIRow.MissingCost; ROIRow.MissingCostRows counts
	// them all.
	MaxCostGaps = 20
)

// TotalKey is the key of the rows that add up every key. It is reserved:
// no cost row, credited key or group may be named so.
const TotalKey = "(total)"

// ROIOptions configures [NewROIReport] and [NewPeriodROIReport].
type ROIOptions struct {
	// GroupBy rolls keys (channels or campaigns) up into groups, e.g. a
	// marketing function or team: key -> group. Keys not in the map are
	// their own group. Costs and credit are summed per group. At most
	// MaxCostRows entries.
	GroupBy map[string]string `json:"group_by,omitempty"`
	// Period is the calendar period of a report by period (quarter);
	// "" means the cost table's. The cost table's periods must add up
	// to it (months to a quarter; weeks add up to weeks only).
	// NewROIReport has none.
	Period leadkit.Period `json:"period,omitempty"`
	// From and To bound a report by period: its periods are those of
	// [From, To), the first and last clipped ([Spans]); cost rows outside
	// are left out, credit outside is an error. Both must start periods
	// of the cost table. Zero: the periods of the credit and the costs,
	// whole. NewROIReport has none.
	From time.Time `json:"from,omitzero"`
	To   time.Time `json:"to,omitzero"`
}

// ROIReport joins attribution credit with cost, per channel or campaign
// (or per group), and in a report by period per calendar period: the
// marketing team's ROI view. It is plain data.
//
// A cost is unknown, not 0, where the cost table has no row: a row whose
// cost is not wholly known says so (CostUnknown, MissingCost) and has no
// ratios (JSON null), and so does every total that adds it up.
type ROIReport struct {
	// Stages are the credit labels, in the order first given.
	Stages []string `json:"stages"`
	// Period is the calendar period of the rows; "" for one uncut
	// period (NewROIReport).
	Period leadkit.Period `json:"period,omitempty"`
	// CostPeriod is the cost table's period (months of a quarterly
	// report), "" for NewROIReport.
	CostPeriod leadkit.Period `json:"cost_period,omitempty"`
	// Rows hold one row per key and period, by period, then key.
	Rows []ROIRow `json:"rows"`
	// Periods total every key per period (key TotalKey), in order;
	// absent from NewROIReport.
	Periods []ROIRow `json:"periods,omitempty"`
	// Keys total every period per key (no period), sorted by key;
	// absent from NewROIReport.
	Keys []ROIRow `json:"keys,omitempty"`
	// Total sums every row; its key is TotalKey.
	Total ROIRow `json:"total"`
	// PeriodsWithoutCosts are the periods in which the cost table has no
	// row at all.
	PeriodsWithoutCosts []string `json:"periods_without_costs,omitempty"`
	// Uncosted are the keys with credit in a period where a cost row
	// they need is missing (their own, or for a key without rows in the
	// report's range, their group's), sorted.
	Uncosted []string `json:"uncosted,omitempty"`
}

// ROIRow is the cost and the per-stage return of one key in one period
// (or of a total).
type ROIRow struct {
	Key string `json:"key"`
	// Period, Start and End are the period's label and bounds (clipped
	// to the report's range); empty in NewROIReport and in the totals
	// over every period.
	Period string    `json:"period,omitempty"`
	Start  time.Time `json:"start,omitzero"`
	End    time.Time `json:"end,omitzero"`
	// Cost is Spend + PeopleCost, of the cost rows there are.
	Cost       float64 `json:"cost"`
	Spend      float64 `json:"spend"`
	PeopleCost float64 `json:"people_cost"`
	// Headcount is the mean over the cost table's periods in the row of
	// the heads on the key: output per head divides by it.
	Headcount float64 `json:"headcount"`
	// CostUnknown says the cost is not wholly known: no cost row at all,
	// or some missing (MissingCost). The ratios are then nil.
	CostUnknown bool `json:"cost_unknown,omitempty"`
	// MissingCost names the cost rows missing (at most MaxCostGaps): a
	// key with cost rows in other periods of the report and no row in
	// one of the table's periods (its group's row does not stand in for
	// it: [Costs.Missing]), or a key with credit in the period, no row
	// of its own in the report's range, and no row of its group there.
	MissingCost []CostGap `json:"missing_cost,omitempty"`
	// MissingCostRows counts them all.
	MissingCostRows int `json:"missing_cost_rows,omitempty"`
	// Stages are in the order of ROIReport.Stages.
	Stages []StageROI `json:"stages"`
}

// CostGap is a cost row the table lacks: a key and one of the table's
// periods.
type CostGap struct {
	Key    string `json:"key"`
	Period string `json:"period,omitempty"`
}

// StageROI is what one key earned at one stage. A ratio whose denominator
// is zero, or whose cost is not known, is nil (JSON null): there is no
// cost per MQL without MQLs, no return without spend and no output per
// head without heads.
type StageROI struct {
	Stage string `json:"stage"`
	// Conversions and Value are the credited amounts.
	Conversions float64 `json:"conversions"`
	Value       float64 `json:"value"`
	// CostPer is Cost / Conversions (the cost per MQL, per SQL...).
	CostPer *float64 `json:"cost_per"`
	// ROAS is Value / Cost.
	ROAS *float64 `json:"roas"`
	// ROI is (Value - Cost) / Cost.
	ROI *float64 `json:"roi"`
	// PerHead is Conversions / Headcount: MQLs, SQLs, deals per head.
	PerHead *float64 `json:"per_head"`
	// ValuePerHead is Value / Headcount.
	ValuePerHead *float64 `json:"value_per_head"`
}

// Row returns the row of key in period ("" for NewROIReport).
func (r ROIReport) Row(key, period string) (ROIRow, bool) {
	for _, row := range r.Rows {
		if row.Key == key && row.Period == period {
			return row, true
		}
	}
	return ROIRow{}, false
}

// Stage returns the row's result for a stage label.
func (r ROIRow) Stage(label string) (StageROI, bool) {
	for _, s := range r.Stages {
		if s.Stage == label {
			return s, true
		}
	}
	return StageROI{}, false
}

// NewROIReport joins costs (spend per key, one uncut period) with the
// credits. A key with spend but no credit has zero conversions; a key
// with credit but no spend has cost 0 (in NewPeriodROIReport it has an
// unknown cost). Costs must be finite and non-negative, stage labels
// distinct and non-empty, credit finite, and so must their sums: every
// problem is reported at once.
func NewROIReport(costs map[string]float64, credits []Credit, opts ROIOptions) (ROIReport, error) {
	var errs errorList
	c := &Costs{byKey: map[string]map[int64]int{}}
	add := func(k string, v float64) {
		if _, ok := c.byKey[k]; ok {
			c.rows[c.byKey[k][startKey(time.Time{})]].Spend += v
			return
		}
		c.byKey[k] = map[int64]int{startKey(time.Time{}): len(c.rows)}
		c.keys = append(c.keys, k)
		c.rows = append(c.rows, CostRow{Key: k, Spend: v})
		c.starts = append(c.starts, time.Time{})
	}
	for _, k := range sortedKeys(costs) {
		if x := costs[k]; !finite(x) || x < 0 {
			errs.add(fmt.Errorf("attribution: roi report: %w: cost of %q: %s", leadkit.ErrInvalid, k, badCount(x)))
		}
		if msg := reservedKey(k); msg != "" {
			errs.add(fmt.Errorf("attribution: roi report: %w: cost key %s", leadkit.ErrInvalid, msg))
		}
		add(k, costs[k])
	}
	// Credit without spend costs 0 here.
	for _, cr := range credits {
		for _, m := range []map[string]float64{cr.Result.Conversions, cr.Result.Value} {
			for _, k := range sortedKeys(m) {
				if _, ok := c.byKey[k]; !ok {
					add(k, 0)
				}
			}
		}
	}
	slices.Sort(c.keys)
	if opts.Period != leadkit.PeriodNone || !opts.From.IsZero() || !opts.To.IsZero() {
		errs.add(fmt.Errorf("attribution: roi report: %w: NewROIReport reports one uncut period: for a period, from and to use NewPeriodROIReport", leadkit.ErrInvalid))
	}
	return buildROI(c, credits, opts, true, &errs)
}

// NewPeriodROIReport joins a cost table with credits per period: per key
// (or group, ROIOptions.GroupBy) and calendar period (ROIOptions.Period:
// a quarter of monthly costs adds up its months), the spend, the people
// cost, the heads, the credited conversions and value of each stage, the
// cost per conversion, ROAS and ROI, and output per head; totals per
// period, per key and overall.
//
// Each credit is one stage label in one period (Credit.Period); a stage
// not credited in a period has none there. A key's cost in a period is
// known when the table has its rows for every table period in it; a key
// with no row of its own in the report's range (credit only) is covered
// by its group's rows instead, but a key with rows must have all of them,
// a group's row covering none of its gaps (the rule of [Costs.Missing]:
// the people cost of a function is not the spend of its channels).
// Otherwise the row says which are missing and has no ratios: cost
// unknown is not cost 0. A period in which the table has no row at all
// has an unknown total.
//
// Bad input is reported at once, each problem wrapping
// [leadkit.ErrInvalid] and naming the row, credit, stage or period: the
// cost table's problems ([NewCosts]), an unknown period, a cost table
// whose periods do not add up to the report's, From or To off the cost
// table's periods, a credit without a stage label, for a period that
// does not parse or is out of range, or given twice, credit that is NaN
// or infinite, credit or a group named [TotalKey], and more than
// [MaxROIStages] stage labels, [MaxROIPeriods] periods or [MaxROICells]
// rows.
func NewPeriodROIReport(costs CostTable, credits []Credit, opts ROIOptions) (ROIReport, error) {
	c, err := NewCosts(costs)
	if err != nil {
		return ROIReport{}, err
	}
	var errs errorList
	return buildROI(c, credits, opts, false, &errs)
}

// roiBuild holds the report as it is summed: per cell (group x period)
// and per stage.
type roiBuild struct {
	c        *Costs
	legacy   bool
	period   leadkit.Period // the report's ("" legacy)
	sub      leadkit.Period // the cost table's, or the report's without rows
	spans    []Span
	stages   []string
	keys     []string // groups, sorted
	group    func(string) string
	spend    []float64 // per cell: ki*len(spans) + si
	people   []float64
	heads    []float64
	nrows    []int
	conv     [][]float64 // per stage, per cell
	val      [][]float64
	gaps     [][]CostGap
	ngaps    []int
	nsub     []int // per span: the cost table's periods in it
	uncosted map[string]bool
	noCosts  []bool // per span
}

func buildROI(c *Costs, credits []Credit, opts ROIOptions, legacy bool, errs *errorList) (ROIReport, error) {
	bad := func(format string, args ...any) {
		errs.add(fmt.Errorf("attribution: roi report: %w: "+format, append([]any{leadkit.ErrInvalid}, args...)...))
	}
	b := &roiBuild{c: c, legacy: legacy, uncosted: map[string]bool{}}
	b.group = func(k string) string {
		if g, ok := opts.GroupBy[k]; ok {
			return g
		}
		return k
	}
	if len(opts.GroupBy) > MaxCostRows {
		bad("group by: %d keys, at most %d", len(opts.GroupBy), MaxCostRows)
		return ROIReport{}, errs.err("roi report errors")
	}
	for _, k := range sortedKeys(opts.GroupBy) {
		for _, x := range []string{k, opts.GroupBy[k]} {
			if msg := leadkit.CheckText(x, leadkit.MaxNameBytes); x == "" || msg != "" {
				bad("group by: %q %s", text.Clip(x, 64), or(msg, "is empty"))
			} else if x == TotalKey {
				bad("group by: %q is reserved: it is the key of the totals (TotalKey)", x)
			}
		}
	}

	// The report's period and range.
	ranged := !opts.From.IsZero() || !opts.To.IsZero()
	if !legacy {
		b.period = opts.Period
		if b.period == leadkit.PeriodNone {
			b.period = c.period
		}
		if b.period == leadkit.PeriodNone {
			for _, cr := range credits {
				if p, _, err := leadkit.ParsePeriod(cr.Period, leadkit.PeriodNone); err == nil {
					b.period = p
					break
				}
			}
		}
		switch {
		case b.period == leadkit.PeriodNone:
			bad("no period: set ROIOptions.Period, or give cost rows or credit with period labels")
		case !b.period.Valid():
			bad(`unknown period %q (want "day", "week", "month", "quarter" or "year")`, text.Clip(string(b.period), 64))
		case c.period != leadkit.PeriodNone && !nests(c.period, b.period):
			bad("the cost table is by %s, and %ss do not add up to a %s", c.period, c.period, b.period)
		}
		if errs.failed() {
			return ROIReport{}, errs.err("roi report errors")
		}
		b.sub = c.period
		if b.sub == leadkit.PeriodNone {
			b.sub = b.period
		}
		if ranged {
			spans, reason := spans(b.period, opts.From, opts.To)
			if reason != "" {
				bad("%s", reason)
				return ROIReport{}, errs.err("roi report errors")
			}
			b.spans = spans
			for _, t := range []time.Time{opts.From, opts.To} {
				if s, label := c.period.Cohort(t); c.period != leadkit.PeriodNone && !s.Equal(t) {
					bad("%s is not the start of a %s (the cost table's periods: %s starts %s)", t.UTC().Format(time.RFC3339), b.sub, label, s.Format(time.RFC3339))
				}
			}
		}
	} else {
		b.spans = []Span{{}}
	}

	// Credits: stage labels, periods.
	type cell struct {
		stage int
		span  string
	}
	given := map[cell]int{}
	stageIdx := map[string]int{}
	type parsed struct {
		stage int
		label string
	}
	ok := make([]parsed, len(credits))
	for i, cr := range credits {
		ok[i] = parsed{stage: -1}
		where := fmt.Sprintf("stage %q", text.Clip(cr.Stage, 64))
		if cr.Period != "" {
			where += fmt.Sprintf(" in %q", text.Clip(cr.Period, 64))
		}
		good := true
		if cr.Stage == "" {
			bad("credit %d has no stage label", i)
			good = false
		} else if msg := leadkit.CheckText(cr.Stage, leadkit.MaxNameBytes); msg != "" {
			bad("credit %d: stage label %s", i, msg)
			good = false
		}
		label := ""
		switch {
		case legacy && cr.Period != "":
			bad("credit %d: period %q: NewROIReport has one uncut period", i, text.Clip(cr.Period, 64))
			good = false
		case !legacy && b.period.Valid() && b.period != leadkit.PeriodNone:
			_, start, err := leadkit.ParsePeriod(cr.Period, b.period)
			if err != nil {
				bad("credit %d (%s): %v", i, where, err)
				good = false
			} else {
				_, label = b.period.Cohort(start)
				if ranged && !slices.ContainsFunc(b.spans, func(s Span) bool { return s.Label == label }) {
					bad("credit %d (%s): %s is outside %s to %s", i, where, label, opts.From.UTC().Format(time.RFC3339), opts.To.UTC().Format(time.RFC3339))
					good = false
				}
			}
		}
		for _, m := range []struct {
			what string
			m    map[string]float64
		}{{"conversions", cr.Result.Conversions}, {"value", cr.Result.Value}} {
			for _, k := range sortedKeys(m.m) {
				if x := m.m[k]; !finite(x) {
					bad("%s: %s of %q: %g", where, m.what, text.Clip(k, 64), x)
					good = false
				}
				if k == TotalKey {
					bad("%s: %s of %q: the key is reserved: it is the key of the totals (TotalKey)", where, m.what, k)
					good = false
				}
			}
		}
		if cr.Stage == "" {
			continue
		}
		si, seen := stageIdx[cr.Stage]
		if !seen {
			if len(b.stages) == MaxROIStages {
				bad("more than %d stage labels (MaxROIStages)", MaxROIStages)
				continue
			}
			si = len(b.stages)
			stageIdx[cr.Stage] = si
			b.stages = append(b.stages, cr.Stage)
		}
		if _, dup := given[cell{si, label}]; dup && good {
			bad("%s given twice", where)
			good = false
		}
		given[cell{si, label}] = i
		if good {
			ok[i] = parsed{stage: si, label: label}
		}
	}
	if errs.failed() {
		return ROIReport{}, errs.err("roi report errors")
	}

	// Unranged: the periods of the credit and the costs, whole.
	if !legacy && !ranged {
		starts := map[int64]time.Time{}
		for _, p := range ok {
			if p.stage >= 0 {
				_, s, _ := leadkit.ParsePeriod(p.label, b.period)
				starts[s.UnixNano()] = s
			}
		}
		for _, s := range c.starts {
			ps, _ := b.period.Cohort(s)
			starts[ps.UnixNano()] = ps
		}
		if len(starts) > MaxROIPeriods {
			bad("%d periods, more than %d (MaxROIPeriods)", len(starts), MaxROIPeriods)
			return ROIReport{}, errs.err("roi report errors")
		}
		for _, s := range starts {
			_, label := b.period.Cohort(s)
			b.spans = append(b.spans, Span{Label: label, Start: s, End: b.period.Next(s)})
		}
		slices.SortFunc(b.spans, func(x, y Span) int { return x.Start.Compare(y.Start) })
	}
	spanOf := map[string]int{}
	for i, s := range b.spans {
		spanOf[s.Label] = i
	}
	// The cost rows in range, by span.
	rowSpan := make([]int, len(c.rows))
	keySet := map[string]bool{}
	rowKeys := map[string][]string{} // group -> keys with a row in range
	hasRow := map[string]bool{}      // keys with a row in range
	for i, r := range c.rows {
		rowSpan[i] = -1
		if legacy {
			rowSpan[i] = 0
		} else if s := c.starts[i]; len(b.spans) > 0 && !s.Before(b.spans[0].Start) && s.Before(b.spans[len(b.spans)-1].End) {
			_, label := b.period.Cohort(s)
			rowSpan[i] = spanOf[label]
		}
		if rowSpan[i] >= 0 {
			g := b.group(r.Key)
			keySet[g] = true
			if !hasRow[r.Key] {
				hasRow[r.Key] = true
				rowKeys[g] = append(rowKeys[g], r.Key)
			}
		}
	}
	for _, cr := range credits {
		for _, m := range []map[string]float64{cr.Result.Conversions, cr.Result.Value} {
			for k := range m {
				keySet[b.group(k)] = true
			}
		}
	}
	b.keys = sortedKeys(keySet)
	ns := len(b.spans)
	if len(b.keys)*ns > MaxROICells {
		bad("%d keys times %d periods: more than %d rows (MaxROICells)", len(b.keys), ns, MaxROICells)
		return ROIReport{}, errs.err("roi report errors")
	}
	keyIdx := map[string]int{}
	for i, k := range b.keys {
		keyIdx[k] = i
	}
	n := len(b.keys) * ns
	b.spend, b.people, b.heads, b.nrows = make([]float64, n), make([]float64, n), make([]float64, n), make([]int, n)
	b.gaps, b.ngaps = make([][]CostGap, n), make([]int, n)
	b.conv, b.val = make([][]float64, len(b.stages)), make([][]float64, len(b.stages))
	for s := range b.stages {
		b.conv[s], b.val[s] = make([]float64, n), make([]float64, n)
	}
	credited := make([]map[string]bool, ns) // per span: keys with credit
	for i := range credited {
		credited[i] = map[string]bool{}
	}
	mark := func(si int, k string) { credited[si][k] = true }
	for i, cr := range credits {
		p := ok[i]
		si := spanOf[p.label]
		for k, x := range cr.Result.Conversions {
			b.conv[p.stage][keyIdx[b.group(k)]*ns+si] += x
			if x != 0 {
				mark(si, k)
			}
		}
		for k, x := range cr.Result.Value {
			b.val[p.stage][keyIdx[b.group(k)]*ns+si] += x
			if x != 0 {
				mark(si, k)
			}
		}
	}
	b.noCosts = make([]bool, ns)
	for i := range b.noCosts {
		b.noCosts[i] = true
	}
	for i, r := range c.rows {
		if rowSpan[i] < 0 {
			continue
		}
		j := keyIdx[b.group(r.Key)]*ns + rowSpan[i]
		b.spend[j] += r.Spend
		b.people[j] += r.PeopleCost()
		b.heads[j] += r.Headcount
		b.nrows[j]++
		b.noCosts[rowSpan[i]] = false
	}

	// Missing rows: every key with a cost row in range must have its own
	// row in each table period; a key with credit in the period and no
	// row in range, its group's.
	b.nsub = make([]int, ns)
	subs := make([][]time.Time, ns)
	for si, sp := range b.spans {
		if legacy {
			subs[si] = []time.Time{{}}
		} else {
			for s := sp.Start; s.Before(sp.End); {
				subs[si] = append(subs[si], s)
				cs, _ := b.sub.Cohort(s)
				s = b.sub.Next(cs)
			}
		}
		b.nsub[si] = len(subs[si])
	}
	creditedBy := make([]map[string][]string, ns) // per span: group -> keys with credit
	for si := range credited {
		creditedBy[si] = map[string][]string{}
		for k := range credited[si] {
			g := b.group(k)
			creditedBy[si][g] = append(creditedBy[si][g], k)
		}
	}
	// The rule is Costs.Missing's: a key with rows in range must have all
	// of them, its group's rows covering none of its own gaps (a
	// function's people row is not the spend of its channel); a key
	// without rows in range, credited, is covered by its group's rows.
	for ki, g := range b.keys {
		for si := range b.spans {
			members := slices.Clone(rowKeys[g])
			for _, k := range creditedBy[si][g] {
				if !hasRow[k] {
					members = append(members, k)
				}
			}
			slices.Sort(members)
			j := ki*ns + si
			for _, k := range members {
				own := k
				if !hasRow[k] {
					own = g
				}
				for _, s := range c.gaps(own, subs[si]) {
					b.ngaps[j]++
					if len(b.gaps[j]) < MaxCostGaps {
						_, label := b.sub.Cohort(s)
						b.gaps[j] = append(b.gaps[j], CostGap{Key: k, Period: label})
					}
					if credited[si][k] {
						b.uncosted[k] = true
					}
				}
			}
		}
	}
	return b.report(bad, errs)
}

// report assembles the rows and totals, checking that every sum is
// finite.
func (b *roiBuild) report(bad func(string, ...any), errs *errorList) (ROIReport, error) {
	ns, nst := len(b.spans), len(b.stages)
	rep := ROIReport{Stages: b.stages, Period: b.period}
	if !b.legacy {
		rep.CostPeriod = b.sub
	}
	if rep.Stages == nil {
		rep.Stages = []string{}
	}
	// acc sums cells into one row.
	type acc struct {
		spend, people, heads float64
		nrows, nsub, ngaps   int
		gaps                 []CostGap
		conv, val            []float64
	}
	newAcc := func() *acc { return &acc{conv: make([]float64, nst), val: make([]float64, nst)} }
	addCell := func(a *acc, j, si int, withSub bool) {
		a.spend += b.spend[j]
		a.people += b.people[j]
		a.heads += b.heads[j]
		a.nrows += b.nrows[j]
		a.ngaps += b.ngaps[j]
		if withSub {
			a.nsub += b.nsub[si]
		}
		for _, g := range b.gaps[j] {
			if len(a.gaps) < MaxCostGaps {
				a.gaps = append(a.gaps, g)
			}
		}
		for s := range nst {
			a.conv[s] += b.conv[s][j]
			a.val[s] += b.val[s][j]
		}
	}
	where := func(key string, sp Span) string {
		if sp.Label == "" {
			return fmt.Sprintf("%q", key)
		}
		return fmt.Sprintf("%q in %q", key, sp.Label)
	}
	row := func(key string, sp Span, a *acc) ROIRow {
		cost := a.spend + a.people
		r := ROIRow{Key: key, Period: sp.Label, Start: sp.Start, End: sp.End, Cost: cost, Spend: a.spend, PeopleCost: a.people,
			CostUnknown: a.nrows == 0 || a.ngaps > 0, MissingCost: a.gaps, MissingCostRows: a.ngaps, Stages: make([]StageROI, nst)}
		if a.nsub > 0 {
			r.Headcount = a.heads / float64(a.nsub)
		}
		if b.legacy {
			r.CostUnknown = false // every key has a row: credit without spend costs 0
		}
		if !finite(cost) {
			if key == TotalKey && sp.Label == "" {
				bad("costs sum to %g", cost)
			} else {
				bad("costs of %s sum to %g", where(key, sp), cost)
			}
		}
		for s := range nst {
			st := StageROI{Stage: b.stages[s], Conversions: a.conv[s], Value: a.val[s]}
			if !finite(st.Conversions) || !finite(st.Value) {
				if key == TotalKey && sp.Label == "" {
					bad("stage %q: credit sums to %g conversions, %g value", b.stages[s], st.Conversions, st.Value)
				} else {
					bad("stage %q: credit of %s sums to %g conversions, %g value", b.stages[s], where(key, sp), st.Conversions, st.Value)
				}
			}
			if !r.CostUnknown {
				if st.Conversions > 0 {
					st.CostPer = leadkit.Ratio(cost, st.Conversions)
				}
				st.ROAS = leadkit.Ratio(st.Value, cost)
				st.ROI = leadkit.Ratio(st.Value-cost, cost)
				st.PerHead = leadkit.Ratio(st.Conversions, r.Headcount)
				st.ValuePerHead = leadkit.Ratio(st.Value, r.Headcount)
			}
			r.Stages[s] = st
		}
		return r
	}
	for si, sp := range b.spans {
		for ki, k := range b.keys {
			a := newAcc()
			addCell(a, ki*ns+si, si, true)
			rep.Rows = append(rep.Rows, row(k, sp, a))
		}
	}
	if errs.failed() {
		return ROIReport{}, errs.err("roi report errors")
	}
	total := newAcc()
	for si, sp := range b.spans {
		a := newAcc()
		for ki := range b.keys {
			addCell(a, ki*ns+si, si, false)
			addCell(total, ki*ns+si, si, false)
		}
		a.nsub = b.nsub[si]
		total.nsub += b.nsub[si]
		if !b.legacy {
			rep.Periods = append(rep.Periods, row(TotalKey, sp, a))
			if b.noCosts[si] {
				rep.PeriodsWithoutCosts = append(rep.PeriodsWithoutCosts, sp.Label)
			}
		}
	}
	if !b.legacy {
		for ki, k := range b.keys {
			a := newAcc()
			for si := range b.spans {
				addCell(a, ki*ns+si, si, true)
			}
			rep.Keys = append(rep.Keys, row(k, Span{}, a))
		}
	}
	rep.Total = row(TotalKey, Span{}, total)
	if rep.Rows == nil {
		rep.Rows = []ROIRow{}
	}
	rep.Uncosted = sortedKeys(b.uncosted)
	if len(rep.Uncosted) == 0 {
		rep.Uncosted = nil
	}
	if errs.failed() {
		return ROIReport{}, errs.err("roi report errors")
	}
	return rep, nil
}

// WriteCSV writes the report as a table. NewROIReport's: key, cost, then
// per stage its conversions, value, cost_per, roas and roi (empty when
// undefined), one row per key and a final total row. A report by period
// adds the period, its start and end, spend, people_cost, headcount and
// cost_unknown after the key, and per stage per_head and value_per_head;
// its rows are followed by the totals per period, per key and overall.
func (r ROIReport) WriteCSV(w io.Writer) error {
	byPeriod := r.Period != leadkit.PeriodNone
	cw := csv.NewWriter(w)
	head := []string{"key", "cost"}
	if byPeriod {
		head = []string{"key", "period", "start", "end", "spend", "people_cost", "headcount", "cost", "cost_unknown"}
	}
	for _, s := range r.Stages {
		head = append(head, s+"_conversions", s+"_value", s+"_cost_per", s+"_roas", s+"_roi")
		if byPeriod {
			head = append(head, s+"_per_head", s+"_value_per_head")
		}
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
	t := func(x time.Time) string {
		if x.IsZero() {
			return ""
		}
		return leadkit.FormatDate(x)
	}
	rows := slices.Concat(r.Rows, r.Periods, r.Keys, []ROIRow{r.Total})
	for _, row := range rows {
		rec := []string{row.Key, f(row.Cost)}
		if byPeriod {
			rec = []string{row.Key, row.Period, t(row.Start), t(row.End), f(row.Spend), f(row.PeopleCost), f(row.Headcount), f(row.Cost), strconv.FormatBool(row.CostUnknown)}
		}
		for _, s := range row.Stages {
			rec = append(rec, f(s.Conversions), f(s.Value), p(s.CostPer), p(s.ROAS), p(s.ROI))
			if byPeriod {
				rec = append(rec, p(s.PerHead), p(s.ValuePerHead))
			}
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
