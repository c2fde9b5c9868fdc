package attribution

import (
	"bytes"
	"flag"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/leadkit/leadkit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

func roiInput() (map[string]float64, []Credit) {
	costs := map[string]float64{"seo": 100, "ads": 300, "email": 0}
	credits := []Credit{
		{Stage: "mql", Result: Result{Conversions: map[string]float64{"seo": 4, "ads": 2, "events": 1}}},
		{Stage: "won", Result: Result{Conversions: map[string]float64{"seo": 1, "ads": 0.5}, Value: map[string]float64{"seo": 1000, "ads": 200}}},
	}
	return costs, credits
}

func TestROIReport(t *testing.T) {
	costs, credits := roiInput()
	rep, err := NewROIReport(costs, credits, ROIOptions{})
	require.NoError(t, err)
	assert.Equal(t, []string{"mql", "won"}, rep.Stages)
	keys := []string{}
	for _, r := range rep.Rows {
		keys = append(keys, r.Key)
	}
	assert.Equal(t, []string{"ads", "email", "events", "seo"}, keys)

	f := func(x float64) *float64 { return &x }
	// Hand-computed: ads spends 300 for 2 MQLs (150 each) and half a deal
	// worth 200 (cost per deal 600, ROAS 2/3, ROI -1/3); seo spends 100 for
	// 4 MQLs (25) and a deal of 1000 (ROAS 10, ROI 9); events has credit
	// but no spend (cost per MQL 0, no ROAS); email has spend 0 and no
	// credit (nothing defined).
	want := map[string]ROIRow{
		"ads": {Key: "ads", Cost: 300, Stages: []StageROI{
			{Stage: "mql", Conversions: 2, CostPer: f(150), ROAS: f(0), ROI: f(-1)},
			{Stage: "won", Conversions: 0.5, Value: 200, CostPer: f(600), ROAS: f(2.0 / 3), ROI: f(-1.0 / 3)},
		}},
		"email": {Key: "email", Stages: []StageROI{{Stage: "mql"}, {Stage: "won"}}},
		"events": {Key: "events", Stages: []StageROI{
			{Stage: "mql", Conversions: 1, CostPer: f(0)},
			{Stage: "won"},
		}},
		"seo": {Key: "seo", Cost: 100, Stages: []StageROI{
			{Stage: "mql", Conversions: 4, CostPer: f(25), ROAS: f(0), ROI: f(-1)},
			{Stage: "won", Conversions: 1, Value: 1000, CostPer: f(100), ROAS: f(10), ROI: f(9)},
		}},
	}
	for _, row := range rep.Rows {
		assertRow(t, want[row.Key], row)
	}
	// Total: 400 spent, 7 MQLs, 1.5 deals worth 1200.
	assertRow(t, ROIRow{Key: "(total)", Cost: 400, Stages: []StageROI{
		{Stage: "mql", Conversions: 7, CostPer: f(400.0 / 7), ROAS: f(0), ROI: f(-1)},
		{Stage: "won", Conversions: 1.5, Value: 1200, CostPer: f(400 / 1.5), ROAS: f(3), ROI: f(2)},
	}}, rep.Total)

	var buf bytes.Buffer
	require.NoError(t, rep.WriteCSV(&buf))
	golden(t, "roi_report.csv", buf.Bytes())
}

func assertRow(t *testing.T, want, got ROIRow) {
	t.Helper()
	assert.Equal(t, want.Key, got.Key)
	assert.InDelta(t, want.Cost, got.Cost, 1e-12, want.Key)
	require.Len(t, got.Stages, len(want.Stages))
	for i, w := range want.Stages {
		g := got.Stages[i]
		assert.Equal(t, w.Stage, g.Stage)
		assert.InDelta(t, w.Conversions, g.Conversions, 1e-12, want.Key)
		assert.InDelta(t, w.Value, g.Value, 1e-12, want.Key)
		for _, p := range [][2]*float64{{w.CostPer, g.CostPer}, {w.ROAS, g.ROAS}, {w.ROI, g.ROI}} {
			if p[0] == nil {
				assert.Nil(t, p[1], "%s %s", want.Key, w.Stage)
			} else if assert.NotNil(t, p[1], "%s %s", want.Key, w.Stage) {
				assert.InDelta(t, *p[0], *p[1], 1e-12, "%s %s", want.Key, w.Stage)
			}
		}
	}
}

func TestROIReportGroups(t *testing.T) {
	costs, credits := roiInput()
	rep, err := NewROIReport(costs, credits, ROIOptions{GroupBy: map[string]string{"seo": "inbound", "email": "inbound", "events": "field", "ads": "paid"}})
	require.NoError(t, err)
	require.Len(t, rep.Rows, 3)
	in := rep.Rows[1]
	assert.Equal(t, "inbound", in.Key)
	assert.Equal(t, 100.0, in.Cost)
	assert.Equal(t, 4.0, in.Stages[0].Conversions)
}

func TestROIReportErrors(t *testing.T) {
	_, err := NewROIReport(map[string]float64{"a": -1, "b": math.NaN()},
		[]Credit{{Stage: ""}, {Stage: "x", Result: Result{Conversions: map[string]float64{"a": math.Inf(1)}}}, {Stage: "x"}}, ROIOptions{})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	for _, w := range []string{`cost of "a": negative`, `cost of "b": NaN`, "credit 0 has no stage label", `stage "x": conversions of "a": +Inf`, `stage "x" given twice`} {
		assert.Contains(t, err.Error(), w)
	}

	// Finite amounts whose sums overflow, by group or in the total.
	mql := Result{Conversions: map[string]float64{"a": 1e308, "b": 1e308}, Value: map[string]float64{"a": 1}}
	_, err = NewROIReport(map[string]float64{"a": 1e308, "b": 1e308}, []Credit{{Stage: "mql", Result: mql}}, ROIOptions{GroupBy: map[string]string{"a": "g", "b": "g"}})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.Contains(t, err.Error(), `attribution: roi report: leadkit: invalid input: costs of "g" sum to +Inf`)
	assert.Contains(t, err.Error(), `stage "mql": credit of "g" sums to +Inf conversions, 1 value`)
	_, err = NewROIReport(map[string]float64{"a": 1e308, "b": 1e308}, []Credit{{Stage: "mql", Result: mql}}, ROIOptions{})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.Contains(t, err.Error(), "costs sum to +Inf")
	assert.Contains(t, err.Error(), `stage "mql": credit sums to +Inf conversions`)
}

// golden compares got with testdata/name, rewriting it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run with -update to create %s", path)
	assert.Equal(t, string(want), string(got))
}
