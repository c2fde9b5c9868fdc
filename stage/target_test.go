package stage_test

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/stage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// gapFunnel: 100 MQLs, 40 SAL, 30 SQL, 10 Won; medians MQL->SAL 2d, SAL->SQL 5d.
func gapFunnel(t *testing.T) stage.FunnelResult {
	t.Helper()
	var vs []stage.Visit
	for i := range 100 {
		id := string(rune('a'+i%26)) + string(rune('a'+i/26))
		vs = append(vs, stage.Visit{LeadID: id, Stage: "MQL", At: day(0)})
		if i < 40 {
			vs = append(vs, stage.Visit{LeadID: id, Stage: "SAL", At: day(2)})
		}
		if i < 30 {
			vs = append(vs, stage.Visit{LeadID: id, Stage: "SQL", At: day(7)})
		}
		if i < 10 {
			vs = append(vs, stage.Visit{LeadID: id, Stage: "Won", At: day(30)})
		}
	}
	r, err := stage.Funnel(stage.FunnelSpec{Stages: []string{"MQL", "SAL", "SQL", "Won"}}, vs)
	require.NoError(t, err)
	return r
}

func TestGapsHandCounted(t *testing.T) {
	r := gapFunnel(t)
	rep, err := stage.Gaps(r, []stage.Target{
		{From: "MQL", To: "SAL", Rate: 0.5, CycleTime: leadkit.Duration(24 * time.Hour)},
		{From: "SAL", To: "SQL", Rate: 0.7},
		{From: "MQL", To: "Won", Rate: 0.05}, // not a consecutive step: listed after them
	})
	require.NoError(t, err)
	assert.Equal(t, "Won", rep.Final)
	require.Len(t, rep.Steps, 4)
	mql := rep.Steps[0]
	assert.Equal(t, 0.4, *mql.Rate.Rate)
	assert.InDelta(t, -0.1, *mql.Gap, 1e-12)
	// 10 fewer SALs than target; SAL -> Won converts 10 of 40.
	assert.InDelta(t, 10*0.25, *mql.Lost, 1e-12)
	assert.True(t, mql.Below, "0.4 of 100: the Wilson interval [0.309, 0.498] lies under 0.5")
	assert.InDelta(t, 0.498, *mql.Rate.High, 5e-4)
	assert.Equal(t, leadkit.Duration(48*time.Hour), *mql.Median)
	assert.Equal(t, leadkit.Duration(24*time.Hour), *mql.CycleGap)
	assert.True(t, mql.Slow)
	sal := rep.Steps[1]
	assert.Equal(t, 0.75, *sal.Rate.Rate)
	assert.InDelta(t, 0.05, *sal.Gap, 1e-12)
	// Beats its target: 2 more SQLs than target, at 10/30 to Won.
	assert.InDelta(t, -0.05*40*(10.0/30), *sal.Lost, 1e-12)
	assert.Nil(t, sal.TargetCycleTime)
	assert.Nil(t, sal.CycleGap)
	won := rep.Steps[2]
	assert.Equal(t, "SQL", won.From)
	assert.Nil(t, won.Target, "no target: no data, not zero")
	assert.Nil(t, won.Gap)
	assert.Nil(t, won.Lost)
	whole := rep.Steps[3]
	assert.Equal(t, [2]string{"MQL", "Won"}, [2]string{whole.From, whole.To})
	assert.InDelta(t, 0.05, *whole.Gap, 1e-12)
	assert.InDelta(t, -5, *whole.Lost, 1e-12, "to Final: carried at 1")
	require.NotNil(t, rep.Costliest)
	assert.Equal(t, "MQL", rep.Costliest.From)
	assert.Equal(t, "SAL", rep.Costliest.To)

	b, err := json.Marshal(rep)
	require.NoError(t, err)
	var back stage.GapReport
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, rep, back)
}

func TestGapsNoData(t *testing.T) {
	r := gapFunnel(t)
	// A target for a stage the funnel does not list: a gap with no data.
	rep, err := stage.Gaps(r, []stage.Target{{From: "MQL", To: "TAL", Rate: 0.6}, {From: "SQL", To: "Won", Rate: 0.1}})
	require.NoError(t, err)
	tal := rep.Steps[len(rep.Steps)-1]
	assert.Equal(t, "TAL", tal.To)
	assert.Nil(t, tal.Rate.Rate)
	assert.NotNil(t, tal.Target)
	assert.Nil(t, tal.Gap)
	assert.Nil(t, tal.Lost)
	assert.Nil(t, rep.Costliest, "SQL -> Won beats its target: nothing lost")
	empty, err := stage.Gaps(stage.FunnelResult{}, nil)
	require.NoError(t, err)
	assert.Empty(t, empty.Steps)
	assert.Nil(t, empty.Costliest)
}

func TestGapsBadTargets(t *testing.T) {
	_, err := stage.Gaps(gapFunnel(t), []stage.Target{
		{From: "MQL", To: "SAL", Rate: 1.5},
		{From: "MQL", To: "SAL", Rate: 0.5},
		{From: "SAL", To: "SQL"},
		{From: "SQL", To: "SQL", Rate: 0.5},
		{From: "SQL", To: "Won", CycleTime: -1},
	})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	for _, want := range []string{"targets[0] (MQL -> SAL): rate 1.5 outside (0, 1]", "targets[1]: the step MQL -> SAL has two targets",
		"targets[2] (SAL -> SQL): neither a rate nor a cycle time", "targets[3] (SQL -> SQL): from and to are the same stage", "targets[4] (SQL -> Won): negative cycle time"} {
		assert.Contains(t, err.Error(), want)
	}
}

func TestDefinitionTargets(t *testing.T) {
	def := stage.Classic()
	def.Targets = []stage.Target{
		{From: "MQL", To: "SAL", Rate: 0.6, CycleTime: leadkit.Duration(48 * time.Hour)},
		{From: "SAL", To: "MQL", Rate: 0.5},  // backwards
		{From: "MQL", To: "Lost", Rate: 0.1}, // closed stage
		{From: "MQL", To: "Nope", Rate: 0.1},
		{From: "SQL", To: "Won", Rate: 0.3},
		{From: "SQL", To: "Won", Rate: 0.2},
	}
	_, err := stage.New(def, stage.Options{})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	for _, want := range []string{`"MQL" does not come after "SAL"`, "must be funnel stages", `unknown stage "Nope"`, "the step has two targets"} {
		assert.Contains(t, err.Error(), want)
	}
	def.Targets = []stage.Target{{From: "MQL", To: "SAL", Rate: 0.6, CycleTime: leadkit.Duration(48 * time.Hour)}}
	m, err := stage.New(def, stage.Options{})
	require.NoError(t, err)
	assert.Equal(t, def.Targets, m.Targets())

	// Targets are data: YAML in, the same targets out.
	b, err := json.Marshal(def)
	require.NoError(t, err)
	back, err := stage.ParseDefinition(b)
	require.NoError(t, err)
	assert.Equal(t, def.Targets, back.Targets)
	yd, err := stage.ParseDefinition([]byte("name: p\ninitial: A\nstages: [{name: A}, {name: B, terminal: true}]\ntransitions: [{name: go, from: [A], to: B}]\ntargets: [{from: A, to: B, rate: 0.5, cycle_time: 3d}]\n"))
	require.NoError(t, err)
	assert.Equal(t, []stage.Target{{From: "A", To: "B", Rate: 0.5, CycleTime: leadkit.Duration(72 * time.Hour)}}, yd.Targets)
	_, err = stage.ParseDefinition([]byte("name: p\ntargets: [{from: A, to: B, rate: 0.5, cycle_time: 3}]\n"))
	require.ErrorIs(t, err, leadkit.ErrInvalid, "a bare number is not a duration")
}

// TestGapsCostliestIsAStep: a target over several steps (MQL -> Won) is
// reported, but it is not a candidate for the costliest step: its
// shortfall is theirs again.
func TestGapsCostliestIsAStep(t *testing.T) {
	r := gapFunnel(t) // 100 MQL, 40 SAL, 30 SQL, 10 Won
	rep, err := stage.Gaps(r, []stage.Target{
		{From: "MQL", To: "SAL", Rate: 0.5},  // 10 SALs short, x 10/40: 2.5 won lost
		{From: "SAL", To: "SQL", Rate: 0.75}, // on target
		{From: "SQL", To: "Won", Rate: 1.0 / 3},
		{From: "MQL", To: "Won", Rate: 0.13}, // 3 won short: more than any step
	})
	require.NoError(t, err)
	require.NotNil(t, rep.Costliest)
	assert.Equal(t, [2]string{"MQL", "SAL"}, [2]string{rep.Costliest.From, rep.Costliest.To})
	assert.InDelta(t, 3, *rep.Steps[3].Lost, 1e-9, "the composite gap is still reported")
}

// TestGapBelowNotOnSmallBase: 0 of 3 is too few to read as below a
// target, as for an owner's rate.
func TestGapBelowNotOnSmallBase(t *testing.T) {
	var vs []stage.Visit
	for _, id := range []string{"a", "b", "c"} {
		vs = append(vs, stage.Visit{LeadID: id, Stage: "MQL", At: day(0)})
	}
	r, err := stage.Funnel(stage.FunnelSpec{Stages: []string{"MQL", "SAL"}}, vs)
	require.NoError(t, err)
	rep, err := stage.Gaps(r, []stage.Target{{From: "MQL", To: "SAL", Rate: 0.9}})
	require.NoError(t, err)
	require.True(t, rep.Steps[0].Rate.Small)
	assert.False(t, rep.Steps[0].Below)
}

// TestGapsReadRatesFromCounts: a funnel result read back from a document
// whose rate disagrees with its counts (1e308) cannot make a gap infinite:
// rates come from the counts.
func TestGapsReadRatesFromCounts(t *testing.T) {
	r := stage.FunnelResult{
		Stages: []stage.FunnelStage{{Stage: "MQL"}, {Stage: "SAL"}, {Stage: "Won"}},
		Conversions: []stage.Conversion{
			{From: "MQL", To: "SAL", Base: 1_000_000, Converted: 1, Rate: 1e-6},
			{From: "MQL", To: "Won", Base: 1_000_000, Converted: 1, Rate: 1e-6},
			{From: "SAL", To: "Won", Base: 1, Converted: 1, Rate: 1e308},
		},
	}
	rep, err := stage.Gaps(r, []stage.Target{{From: "MQL", To: "SAL", Rate: 0.9}})
	require.NoError(t, err)
	_, err = json.Marshal(rep)
	require.NoError(t, err)
	assert.InDelta(t, 0.9*1e6-1, *rep.Steps[0].Lost, 1e-3, "carried down at 1 of 1")
}

// TestTargetCycleTimeCap: a cycle time over leadkit.MaxDuration is refused
// by New, so every definition New accepts reads back.
func TestTargetCycleTimeCap(t *testing.T) {
	def := stage.Classic()
	def.Targets = []stage.Target{{From: "MQL", To: "SAL", Rate: 0.5, CycleTime: leadkit.Duration(math.MaxInt64)}}
	_, err := stage.New(def, stage.Options{})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.Contains(t, err.Error(), "over the limit")
}
