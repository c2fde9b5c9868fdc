package attribution

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
)

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// functionCosts is a quarter of monthly costs: channel spend, and the
// people of two functions (events: 2 heads at 6,000 a month; sdr: 3 at
// 5,000).
func functionCosts() CostTable {
	t := CostTable{Period: leadkit.PeriodMonth}
	for _, m := range []string{"2026-01", "2026-02", "2026-03"} {
		offline := 0.0
		if m == "2026-02" {
			offline = 5000
		}
		t.Rows = append(t.Rows,
			CostRow{Key: "webinar", Period: m, Spend: 1000},
			CostRow{Key: "offline_event", Period: m, Spend: offline},
			CostRow{Key: "paid_search", Period: m, Spend: 2000},
			CostRow{Key: "events", Period: m, Headcount: 2, LoadedCost: 6000},
			CostRow{Key: "sdr", Period: m, Headcount: 3, LoadedCost: 5000},
		)
	}
	return t
}

var functions = map[string]string{"webinar": "events", "offline_event": "events", "paid_search": "paid", "sdr_call": "sdr"}

func functionCredits() []Credit {
	return []Credit{
		{Stage: "MQL", Period: "2026-Q1", Result: Result{Conversions: map[string]float64{"webinar": 30, "offline_event": 10, "paid_search": 40, "content": 5}}},
		{Stage: "Won", Period: "2026-Q1", Result: Result{Conversions: map[string]float64{"webinar": 2, "paid_search": 1}, Value: map[string]float64{"webinar": 50000, "paid_search": 20000}}},
		{Stage: "MQL", Period: "2026-Q2", Result: Result{Conversions: map[string]float64{"paid_search": 10}}},
	}
}

func ptr(x float64) *float64 { return &x }

// Worked out by hand: Q1 per function from monthly costs, and a Q2 the
// cost table does not cover.
func TestPeriodROIReportByHand(t *testing.T) {
	rep, err := NewPeriodROIReport(functionCosts(), functionCredits(), ROIOptions{GroupBy: functions, Period: leadkit.PeriodQuarter, From: date(2026, 1, 1), To: date(2026, 7, 1)})
	require.NoError(t, err)
	assert.Equal(t, []string{"MQL", "Won"}, rep.Stages)
	assert.Equal(t, leadkit.PeriodQuarter, rep.Period)
	assert.Equal(t, leadkit.PeriodMonth, rep.CostPeriod)
	assert.Len(t, rep.Rows, 2*4, "four functions (content is its own) times two quarters")

	get := func(key, period string) ROIRow {
		r, ok := rep.Row(key, period)
		require.True(t, ok, "%s %s", key, period)
		return r
	}
	// events: spend 3 x 1,000 (webinar) + 5,000 (offline, February),
	// people 3 months x 2 x 6,000 = 36,000: 44,000 for 40 MQLs (1,100
	// each, 20 per head) and 2 deals worth 50,000.
	ev := get("events", "2026-Q1")
	assert.Equal(t, date(2026, 1, 1), ev.Start)
	assert.Equal(t, date(2026, 4, 1), ev.End)
	assertROIRow(t, ROIRow{Key: "events", Period: "2026-Q1", Cost: 44000, Spend: 8000, PeopleCost: 36000, Headcount: 2, Stages: []StageROI{
		{Stage: "MQL", Conversions: 40, CostPer: ptr(1100), ROAS: ptr(0), ROI: ptr(-1), PerHead: ptr(20), ValuePerHead: ptr(0)},
		{Stage: "Won", Conversions: 2, Value: 50000, CostPer: ptr(22000), ROAS: ptr(50000.0 / 44000), ROI: ptr(6000.0 / 44000), PerHead: ptr(1), ValuePerHead: ptr(25000)},
	}}, ev)
	// paid: 6,000 of spend, no people: no output per head.
	assertROIRow(t, ROIRow{Key: "paid", Period: "2026-Q1", Cost: 6000, Spend: 6000, Stages: []StageROI{
		{Stage: "MQL", Conversions: 40, CostPer: ptr(150), ROAS: ptr(0), ROI: ptr(-1)},
		{Stage: "Won", Conversions: 1, Value: 20000, CostPer: ptr(6000), ROAS: ptr(20000.0 / 6000), ROI: ptr(14000.0 / 6000)},
	}}, get("paid", "2026-Q1"))
	// sdr: 45,000 of people, no credit of its own.
	assertROIRow(t, ROIRow{Key: "sdr", Period: "2026-Q1", Cost: 45000, PeopleCost: 45000, Headcount: 3, Stages: []StageROI{
		{Stage: "MQL", ROAS: ptr(0), ROI: ptr(-1), PerHead: ptr(0), ValuePerHead: ptr(0)},
		{Stage: "Won", ROAS: ptr(0), ROI: ptr(-1), PerHead: ptr(0), ValuePerHead: ptr(0)},
	}}, get("sdr", "2026-Q1"))
	// content: credit and no cost row: unknown, and which rows say so.
	c := get("content", "2026-Q1")
	assertROIRow(t, ROIRow{Key: "content", Period: "2026-Q1", CostUnknown: true, MissingCostRows: 3, Stages: []StageROI{{Stage: "MQL", Conversions: 5}, {Stage: "Won"}}}, c)
	assert.Equal(t, []CostGap{{"content", "2026-01"}, {"content", "2026-02"}, {"content", "2026-03"}}, c.MissingCost)
	// Uncosted: content (Q1) and paid_search (credit in Q2, no row).
	assert.Equal(t, []string{"content", "paid_search"}, rep.Uncosted)

	// Q2 has no cost row at all: every key with costs in range misses its
	// three months, paid_search also has credit there.
	assert.Equal(t, []string{"2026-Q2"}, rep.PeriodsWithoutCosts)
	p2 := get("paid", "2026-Q2")
	assertROIRow(t, ROIRow{Key: "paid", Period: "2026-Q2", CostUnknown: true, MissingCostRows: 3, Stages: []StageROI{{Stage: "MQL", Conversions: 10}, {Stage: "Won"}}}, p2)
	assert.Equal(t, 9, get("events", "2026-Q2").MissingCostRows, "webinar, offline_event and events, three months each")
	assert.True(t, get("content", "2026-Q2").CostUnknown)
	assert.Zero(t, get("content", "2026-Q2").MissingCostRows, "no credit and no cost rows in Q2: nothing missing, nothing known")

	// Totals per period: Q1 costs 95,000 (content's unknown), Q2 nothing.
	require.Len(t, rep.Periods, 2)
	q1 := rep.Periods[0]
	assert.Equal(t, TotalKey, q1.Key)
	assert.Equal(t, 95000.0, q1.Cost)
	assert.Equal(t, 5.0, q1.Headcount)
	assert.True(t, q1.CostUnknown, "content's cost is unknown, so is the quarter's")
	assert.Nil(t, q1.Stages[0].CostPer)
	assert.Equal(t, 85.0, q1.Stages[0].Conversions)
	// Totals per key over both quarters: events' cost is Q1's, unknown
	// in Q2; its heads average over six months.
	require.Len(t, rep.Keys, 4)
	evAll := rep.Keys[slices.IndexFunc(rep.Keys, func(r ROIRow) bool { return r.Key == "events" })]
	assert.Equal(t, 44000.0, evAll.Cost)
	assert.InDelta(t, 1.0, evAll.Headcount, 1e-12, "2 heads for 3 of 6 months (Q2 has no rows)")
	assert.True(t, evAll.CostUnknown)
	assert.Equal(t, 95000.0, rep.Total.Cost)
	assert.Equal(t, 95.0, rep.Total.Stages[0].Conversions)
	assert.Equal(t, 3+9+3+3, rep.Total.MissingCostRows)
	assert.Len(t, rep.Total.MissingCost, 18)
	assert.Equal(t, CostGap{"content", "2026-01"}, rep.Total.MissingCost[0])

	// Only Q1, content costed by a row of its function's own: every
	// ratio is known and the total adds up.
	costs := functionCosts()
	for _, m := range []string{"2026-01", "2026-02", "2026-03"} {
		costs.Rows = append(costs.Rows, CostRow{Key: "content", Period: m, Spend: 500})
	}
	rep, err = NewPeriodROIReport(costs, functionCredits()[:2], ROIOptions{GroupBy: functions, Period: leadkit.PeriodQuarter})
	require.NoError(t, err)
	assert.Empty(t, rep.Uncosted)
	assert.Empty(t, rep.PeriodsWithoutCosts)
	assert.False(t, rep.Total.CostUnknown)
	assert.Equal(t, 96500.0, rep.Total.Cost)
	require.NotNil(t, rep.Total.Stages[1].ROI)
	assert.InDelta(t, (70000-96500)/96500.0, *rep.Total.Stages[1].ROI, 1e-12)
	require.NotNil(t, rep.Total.Stages[0].PerHead)
	assert.InDelta(t, 85.0/5, *rep.Total.Stages[0].PerHead, 1e-12)

	var buf bytes.Buffer
	require.NoError(t, rep.WriteCSV(&buf))
	golden(t, "roi_by_period.csv", buf.Bytes())
}

func assertROIRow(t *testing.T, want, got ROIRow) {
	t.Helper()
	assert.Equal(t, want.Key, got.Key)
	assert.Equal(t, want.Period, got.Period)
	for _, f := range [][3]any{{"cost", want.Cost, got.Cost}, {"spend", want.Spend, got.Spend}, {"people cost", want.PeopleCost, got.PeopleCost}, {"headcount", want.Headcount, got.Headcount}} {
		assert.InDelta(t, f[1], f[2], 1e-9, "%s %s: %s", want.Key, want.Period, f[0])
	}
	assert.Equal(t, want.CostUnknown, got.CostUnknown, "%s %s: cost unknown", want.Key, want.Period)
	assert.Equal(t, want.MissingCostRows, got.MissingCostRows, "%s %s: missing cost rows", want.Key, want.Period)
	require.Len(t, got.Stages, len(want.Stages))
	for i, w := range want.Stages {
		g := got.Stages[i]
		assert.Equal(t, w.Stage, g.Stage)
		assert.InDelta(t, w.Conversions, g.Conversions, 1e-9, "%s %s", want.Key, w.Stage)
		assert.InDelta(t, w.Value, g.Value, 1e-9, "%s %s", want.Key, w.Stage)
		for _, p := range []struct {
			name string
			w, g *float64
		}{{"cost per", w.CostPer, g.CostPer}, {"roas", w.ROAS, g.ROAS}, {"roi", w.ROI, g.ROI}, {"per head", w.PerHead, g.PerHead}, {"value per head", w.ValuePerHead, g.ValuePerHead}} {
			if p.w == nil {
				assert.Nil(t, p.g, "%s %s %s %s", want.Key, want.Period, w.Stage, p.name)
			} else if assert.NotNil(t, p.g, "%s %s %s %s", want.Key, want.Period, w.Stage, p.name) {
				assert.InDelta(t, *p.w, *p.g, 1e-9, "%s %s %s %s", want.Key, want.Period, w.Stage, p.name)
			}
		}
	}
}

// Bad input: every problem at once, each naming where.
func TestPeriodROIReportRefusesBadInput(t *testing.T) {
	for name, c := range map[string]struct {
		costs   CostTable
		credits []Credit
		opts    ROIOptions
		want    []string
	}{
		"bad rows": {
			costs: CostTable{Rows: []CostRow{
				{Key: "a", Period: "2026-01", Spend: -1},
				{Key: "b", Period: "2026-01", Spend: math.NaN(), Headcount: math.Inf(1)},
				{Key: "", Period: "2026-01"},
				{Key: "a", Period: "2026-Q1"},
				{Key: "c", Period: "2026-13"},
				{Key: "d", Period: "2026-01", LoadedCost: 2 * MaxCostAmount},
				{Key: "e", Period: "2026-01"},
				{Key: "e", Period: "2026-01", Spend: 3},
				{Key: "f\x00", Period: "2026-01"},
			}},
			want: []string{
				`row 0 (key "a", period "2026-01"): spend -1 is negative`,
				`row 1 (key "b", period "2026-01"): spend is NaN`,
				`row 1 (key "b", period "2026-01"): headcount is infinite`,
				`row 2 (key "", period "2026-01"): no key`,
				`row 3 (key "a", period "2026-Q1"): period "2026-Q1": is a quarter, not a month`,
				`row 4 (key "c", period "2026-13"): period "2026-13": no month 13`,
				`row 5 (key "d", period "2026-01"): loaded cost 2e+12 is over the cap of 1e+12`,
				`row 7 (key "e", period "2026-01"): key "e" and period "2026-01" given twice (first in row 6)`,
				`row 8 (key "f\x00", period "2026-01"): key`,
			},
		},
		"table period": {costs: CostTable{Period: "fortnight"}, want: []string{`table period "fortnight" is not a calendar period`}},
		"not the first day": {
			costs: CostTable{Period: leadkit.PeriodQuarter, Rows: []CostRow{{Key: "a", Period: "2026-02-01"}}},
			want:  []string{`period "2026-02-01": is not the first day of a quarter (it falls in 2026-Q1)`},
		},
		"week 53": {costs: CostTable{Rows: []CostRow{{Key: "a", Period: "2025-W53"}}}, want: []string{`period "2025-W53": not a week label`}}, // 2025 has 52 ISO weeks
		"weeks in quarters": {
			costs: CostTable{Rows: []CostRow{{Key: "a", Period: "2026-W02"}}},
			opts:  ROIOptions{Period: leadkit.PeriodQuarter},
			want:  []string{"the cost table is by week, and weeks do not add up to a quarter"},
		},
		"range off the months": {
			costs: functionCosts(),
			opts:  ROIOptions{Period: leadkit.PeriodQuarter, From: date(2026, 1, 15), To: date(2026, 4, 1)},
			want:  []string{"2026-01-15T00:00:00Z is not the start of a month"},
		},
		"from without to": {costs: functionCosts(), opts: ROIOptions{From: date(2026, 1, 1)}, want: []string{"to 0001-01-01T00:00:00Z"}},
		"credit": {
			costs: functionCosts(),
			credits: []Credit{
				{Stage: "", Period: "2026-Q1"},
				{Stage: "MQL", Period: "2026-Q5"},
				{Stage: "MQL", Period: "2026-Q1", Result: Result{Conversions: map[string]float64{"paid_search": math.NaN()}}},
				{Stage: "Won", Period: "2026-Q1"},
				{Stage: "Won", Period: "2026-01-01"},
				{Stage: "Won", Period: "2026-Q3"},
			},
			opts: ROIOptions{Period: leadkit.PeriodQuarter, From: date(2026, 1, 1), To: date(2026, 7, 1)},
			want: []string{
				"credit 0 has no stage label",
				`credit 1 (stage "MQL" in "2026-Q5"): period "2026-Q5": no quarter 5`,
				`stage "MQL" in "2026-Q1": conversions of "paid_search": NaN`,
				`stage "Won" in "2026-01-01" given twice`,
				`credit 5 (stage "Won" in "2026-Q3"): 2026-Q3 is outside 2026-01-01T00:00:00Z to 2026-07-01T00:00:00Z`,
			},
		},
		"no period": {credits: []Credit{{Stage: "MQL"}}, want: []string{"no period"}},
		"group by":  {costs: functionCosts(), opts: ROIOptions{GroupBy: map[string]string{"a": ""}}, want: []string{`group by: "" is empty`}},
	} {
		_, err := NewPeriodROIReport(c.costs, c.credits, c.opts)
		require.ErrorIs(t, err, leadkit.ErrInvalid, name)
		for _, w := range c.want {
			assert.Contains(t, err.Error(), w, name)
		}
	}
	// Caps.
	var rows []CostRow
	for i := range MaxCostRows + 1 {
		rows = append(rows, CostRow{Key: fmt.Sprint(i), Period: "2026-01"})
	}
	_, err := NewCosts(CostTable{Rows: rows})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.Contains(t, err.Error(), "10001 rows, more than 10000 (MaxCostRows)")
	_, err = NewPeriodROIReport(CostTable{}, nil, ROIOptions{Period: leadkit.PeriodDay, From: date(2026, 1, 1), To: date(2030, 1, 1)})
	assert.ErrorContains(t, err, "more than 1000 day periods")
	var credits []Credit
	for i := range MaxROIStages + 1 {
		credits = append(credits, Credit{Stage: fmt.Sprint(i), Period: "2026-01"})
	}
	_, err = NewPeriodROIReport(CostTable{}, credits, ROIOptions{})
	assert.ErrorContains(t, err, fmt.Sprintf("more than %d stage labels", MaxROIStages))
	_, err = NewROIReport(nil, nil, ROIOptions{Period: leadkit.PeriodQuarter})
	assert.ErrorContains(t, err, "NewROIReport reports one uncut period")
}

// Zero headcount, zero cost and zero credit give no data, never NaN or a
// division by zero.
func TestPeriodROIReportZeroDenominators(t *testing.T) {
	rep, err := NewPeriodROIReport(CostTable{Rows: []CostRow{
		{Key: "free", Period: "2026-Q1"},                                          // cost 0, no heads
		{Key: "team", Period: "2026-Q1", Headcount: 0, LoadedCost: 9000},          // a loaded cost, nobody
		{Key: "unpaid", Period: "2026-Q1", Headcount: 2, LoadedCost: 0},           // heads that cost nothing
		{Key: "idle", Period: "2026-Q1", Spend: 100, Headcount: 1, LoadedCost: 1}, // cost, no credit
	}}, []Credit{{Stage: "MQL", Period: "2026-Q1", Result: Result{Conversions: map[string]float64{"free": 3, "team": 0, "unpaid": 4}}}}, ROIOptions{})
	require.NoError(t, err)
	free, _ := rep.Row("free", "2026-Q1")
	assertROIRow(t, ROIRow{Key: "free", Period: "2026-Q1", Stages: []StageROI{{Stage: "MQL", Conversions: 3, CostPer: ptr(0)}}}, free)
	team, _ := rep.Row("team", "2026-Q1")
	assertROIRow(t, ROIRow{Key: "team", Period: "2026-Q1", Stages: []StageROI{{Stage: "MQL"}}}, team)
	unpaid, _ := rep.Row("unpaid", "2026-Q1")
	assertROIRow(t, ROIRow{Key: "unpaid", Period: "2026-Q1", Headcount: 2, Stages: []StageROI{{Stage: "MQL", Conversions: 4, CostPer: ptr(0), PerHead: ptr(2), ValuePerHead: ptr(0)}}}, unpaid)
	idle, _ := rep.Row("idle", "2026-Q1")
	assertROIRow(t, ROIRow{Key: "idle", Period: "2026-Q1", Cost: 101, Spend: 100, PeopleCost: 1, Headcount: 1, Stages: []StageROI{{Stage: "MQL", ROAS: ptr(0), ROI: ptr(-1), PerHead: ptr(0), ValuePerHead: ptr(0)}}}, idle)
	b, err := json.Marshal(rep)
	require.NoError(t, err)
	assert.NotContains(t, string(b), "NaN")
	assert.Contains(t, string(b), `"cost_per":null`, "no data is JSON null")
}

// The report and the cost table are data: they round-trip through JSON.
func TestROIJSONRoundTrip(t *testing.T) {
	rep, err := NewPeriodROIReport(functionCosts(), functionCredits(), ROIOptions{GroupBy: functions, Period: leadkit.PeriodQuarter, From: date(2026, 1, 1), To: date(2026, 7, 1)})
	require.NoError(t, err)
	b, err := json.Marshal(rep)
	require.NoError(t, err)
	var back ROIReport
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, rep, back)
	costs, credits := roiInput()
	legacy, err := NewROIReport(costs, credits, ROIOptions{})
	require.NoError(t, err)
	b, err = json.Marshal(legacy)
	require.NoError(t, err)
	back = ROIReport{}
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, legacy, back)

	table := functionCosts()
	b, err = json.Marshal(table)
	require.NoError(t, err)
	again, err := ParseCosts(b)
	require.NoError(t, err)
	assert.Equal(t, table, again)
	opts := ROIOptions{GroupBy: functions, Period: leadkit.PeriodQuarter, From: date(2026, 1, 1), To: date(2026, 7, 1)}
	b, err = json.Marshal(opts)
	require.NoError(t, err)
	o, err := Parse[ROIOptions](b)
	require.NoError(t, err)
	assert.Equal(t, opts, o)
}

// ParseCosts reads YAML as the other specs: a year may be a bare number,
// unknown and miscased keys are refused.
func TestParseCosts(t *testing.T) {
	got, err := ParseCosts([]byte(`
period: year
rows:
  - {key: events, period: 2026, spend: 30000, headcount: 2, loaded_cost: 90000}
  - {key: paid, period: "2027", spend: 45000}
`))
	require.NoError(t, err)
	assert.Equal(t, CostTable{Period: leadkit.PeriodYear, Rows: []CostRow{
		{Key: "events", Period: "2026", Spend: 30000, Headcount: 2, LoadedCost: 90000},
		{Key: "paid", Period: "2027", Spend: 45000},
	}}, got)
	assert.Equal(t, 210000.0, got.Rows[0].Cost())
	for doc, want := range map[string]string{
		"rows: [{key: a, period: 2026-01, spend: 1, Spend: 2}]": `"Spend": did you mean "spend"?`,
		"rows: [{key: a, period: 2026-01, spend: 1, cost: 2}]":  `unknown field "cost"`,
		"rows: [{key: a, period: 20.5, spend: 1}]":              "period 20.5",
		"period: quarter\nperiod: month\nrows: []":              "period",
	} {
		_, err := ParseCosts([]byte(doc))
		require.ErrorIs(t, err, leadkit.ErrInvalid, doc)
		assert.Contains(t, err.Error(), want, doc)
		assert.True(t, strings.HasPrefix(err.Error(), "attribution: costs: "), err.Error())
	}
}

// Spans against a walk day by day.
func TestSpans(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 300 {
		from := date(2024, 1, 1).AddDate(0, 0, r.IntN(800))
		to := from.AddDate(0, 0, 1+r.IntN(400))
		for _, k := range []leadkit.Period{leadkit.PeriodWeek, leadkit.PeriodMonth, leadkit.PeriodQuarter, leadkit.PeriodYear} {
			got, err := Spans(k, from, to)
			require.NoError(t, err)
			var want []Span
			for d := from; d.Before(to); d = d.AddDate(0, 0, 1) {
				_, label := k.Cohort(d)
				if len(want) == 0 || want[len(want)-1].Label != label {
					want = append(want, Span{Label: label, Start: d})
				}
				want[len(want)-1].End = d.AddDate(0, 0, 1)
			}
			require.Equal(t, want, got, "%s %s to %s", k, from, to)
		}
	}
	_, err := Spans(leadkit.PeriodMonth, date(2026, 1, 1), date(2026, 1, 1))
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
	_, err = Spans("", date(2026, 1, 1), date(2026, 2, 1))
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
}

// Costs.Cost adds up whole periods of the table and nothing else.
func TestCostsCost(t *testing.T) {
	c, err := NewCosts(functionCosts())
	require.NoError(t, err)
	assert.Equal(t, []string{"events", "offline_event", "paid_search", "sdr", "webinar"}, c.Keys())
	for _, tc := range []struct {
		key      string
		from, to time.Time
		want     float64
		ok       bool
	}{
		{"events", date(2026, 1, 1), date(2026, 4, 1), 36000, true},
		{"offline_event", date(2026, 2, 1), date(2026, 3, 1), 5000, true},
		{"offline_event", date(2026, 3, 1), date(2026, 4, 1), 0, true},
		{"webinar", date(2026, 1, 1), date(2026, 5, 1), 0, false},  // April has no row
		{"webinar", date(2026, 1, 15), date(2026, 3, 1), 0, false}, // not a month's start
		{"webinar", date(2026, 3, 1), date(2026, 3, 1), 0, false},  // empty
		{"content", date(2026, 1, 1), date(2026, 2, 1), 0, false},  // no rows
	} {
		got, ok := c.Cost(tc.key, tc.from, tc.to)
		assert.Equal(t, tc.ok, ok, "%s %s", tc.key, tc.from)
		assert.Equal(t, tc.want, got, "%s %s", tc.key, tc.from)
	}
	row, ok := c.Row("sdr", date(2026, 2, 1))
	require.True(t, ok)
	assert.Equal(t, 15000.0, row.PeopleCost())
}

// refROI is the report computed the plain way, for TestPeriodROIReportBruteForce:
// every cell scans every row and credit; the table's periods in a
// quarter are found by walking its days.
type refCell struct {
	cost, spend, people, heads float64
	unknown                    bool
	missing                    int
	conv, val                  map[string]float64
}

func refROI(table CostTable, credits []Credit, group map[string]string, from, to time.Time) map[[2]string]*refCell {
	g := func(k string) string {
		if x, ok := group[k]; ok {
			return x
		}
		return k
	}
	out := map[[2]string]*refCell{}
	inRange := func(label string) bool {
		_, s, _ := leadkit.ParsePeriod(label, leadkit.PeriodMonth)
		return !s.Before(from) && s.Before(to)
	}
	keys := map[string]bool{}
	for _, r := range table.Rows {
		if inRange(r.Period) {
			keys[g(r.Key)] = true
		}
	}
	for _, c := range credits {
		for k := range c.Result.Conversions {
			keys[g(k)] = true
		}
		for k := range c.Result.Value {
			keys[g(k)] = true
		}
	}
	quarters := map[string][]string{} // quarter -> its months in range
	for d := from; d.Before(to); d = d.AddDate(0, 0, 1) {
		_, q := leadkit.PeriodQuarter.Cohort(d)
		_, m := leadkit.PeriodMonth.Cohort(d)
		if !slices.Contains(quarters[q], m) {
			quarters[q] = append(quarters[q], m)
		}
	}
	for q, months := range quarters {
		for key := range keys {
			c := &refCell{conv: map[string]float64{}, val: map[string]float64{}}
			rows := 0
			members := map[string]bool{}
			for _, r := range table.Rows {
				if g(r.Key) == key && inRange(r.Period) {
					members[r.Key] = true
					if slices.Contains(months, r.Period) {
						c.spend += r.Spend
						c.people += r.Headcount * r.LoadedCost
						c.heads += r.Headcount
						rows++
					}
				}
			}
			for _, cr := range credits {
				if cr.Period != q {
					continue
				}
				for k, x := range cr.Result.Conversions {
					if g(k) == key {
						c.conv[cr.Stage] += x
						if x != 0 {
							members[k] = true
						}
					}
				}
				for k, x := range cr.Result.Value {
					if g(k) == key {
						c.val[cr.Stage] += x
						if x != 0 {
							members[k] = true
						}
					}
				}
			}
			// A member with rows in range must have all of its own; one
			// with credit only is covered by its group's rows.
			for k := range members {
				own := slices.ContainsFunc(table.Rows, func(r CostRow) bool { return r.Key == k && inRange(r.Period) })
				for _, m := range months {
					if !slices.ContainsFunc(table.Rows, func(r CostRow) bool { return (r.Key == k || !own && r.Key == key) && r.Period == m }) {
						c.missing++
					}
				}
			}
			c.cost = c.spend + c.people
			c.heads /= float64(len(months))
			c.unknown = rows == 0 || c.missing > 0
			out[[2]string{key, q}] = c
		}
	}
	return out
}

// The report against refROI on random tables: months into quarters,
// random gaps, groups and credit.
func TestPeriodROIReportBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	keys := []string{"a", "b", "c", "d", "e", "F"}
	for trial := range 300 {
		from := date(2025, time.Month(1+r.IntN(12)), 1)
		to := from.AddDate(0, 1+r.IntN(14), 0)
		var table CostTable
		for m := from.AddDate(0, -2, 0); m.Before(to.AddDate(0, 2, 0)); m = m.AddDate(0, 1, 0) {
			for _, k := range keys {
				if r.IntN(4) > 0 {
					_, label := leadkit.PeriodMonth.Cohort(m)
					table.Rows = append(table.Rows, CostRow{Key: k, Period: label, Spend: float64(r.IntN(1000)), Headcount: float64(r.IntN(3)), LoadedCost: float64(r.IntN(500))})
				}
			}
		}
		group := map[string]string{}
		if trial%2 == 0 {
			group = map[string]string{"a": "F", "b": "F", "c": "G"}
		}
		spans, err := Spans(leadkit.PeriodQuarter, from, to)
		require.NoError(t, err)
		var credits []Credit
		for _, sp := range spans {
			for _, st := range []string{"MQL", "Won"} {
				if r.IntN(3) == 0 {
					continue
				}
				c := Credit{Stage: st, Period: sp.Label, Result: Result{Conversions: map[string]float64{}, Value: map[string]float64{}}}
				for _, k := range keys {
					if r.IntN(2) == 0 {
						c.Result.Conversions[k] = float64(r.IntN(20))
						c.Result.Value[k] = float64(r.IntN(5000))
					}
				}
				credits = append(credits, c)
			}
		}
		rep, err := NewPeriodROIReport(table, credits, ROIOptions{GroupBy: group, Period: leadkit.PeriodQuarter, From: from, To: to})
		require.NoError(t, err)
		want := refROI(table, credits, group, from, to)
		require.Len(t, rep.Rows, len(want), "trial %d", trial)
		total := 0.0
		for _, row := range rep.Rows {
			w := want[[2]string{row.Key, row.Period}]
			require.NotNil(t, w, "trial %d: %s %s", trial, row.Key, row.Period)
			total += row.Cost
			wantRow := ROIRow{Key: row.Key, Period: row.Period, Cost: w.cost, Spend: w.spend, PeopleCost: w.people, Headcount: w.heads, CostUnknown: w.unknown, MissingCostRows: w.missing}
			for _, st := range rep.Stages {
				s := StageROI{Stage: st, Conversions: w.conv[st], Value: w.val[st]}
				if !w.unknown {
					if s.Conversions > 0 {
						s.CostPer = ptr(w.cost / s.Conversions)
					}
					if w.cost != 0 {
						s.ROAS, s.ROI = ptr(s.Value/w.cost), ptr((s.Value-w.cost)/w.cost)
					}
					if w.heads != 0 {
						s.PerHead, s.ValuePerHead = ptr(s.Conversions/w.heads), ptr(s.Value/w.heads)
					}
				}
				wantRow.Stages = append(wantRow.Stages, s)
			}
			assertROIRow(t, wantRow, row)
			if t.Failed() {
				t.Fatalf("trial %d", trial)
			}
		}
		assert.InDelta(t, total, rep.Total.Cost, 1e-6)
	}
}
