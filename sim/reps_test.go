package sim_test

import (
	"testing"

	"github.com/leadkit/leadkit/sim"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRepsPlantedSkill: SDRs and sales reps make the decisions the stage
// changes name them in, and a planted weak SDR and strong rep show in the
// realised rates, counted from the very records.
func TestRepsPlantedSkill(t *testing.T) {
	s, err := sim.New(sim.Config{Seed: 4, Leads: 20000, SDRs: 3, SDRSkill: []float64{-1.5}, SalesReps: 2, SalesSkill: []float64{0, 1.5}})
	require.NoError(t, err)
	tr := s.Truth()
	require.Len(t, tr.SDR.Team, 3)
	require.Len(t, tr.Sales, 2)
	calls, accepts := map[string]int{}, map[string]int{}
	worked, sqls := map[string]int{}, map[string]int{}
	for r := range s.Records() {
		if r.Kind != sim.KindStage {
			continue
		}
		c := r.Stage
		switch {
		case c.To == sim.StageMQL:
			assert.Empty(t, c.Actor, "the hand-raise qualifies, not a person")
		case c.From == sim.StageMQL:
			calls[c.Actor]++
			if c.To == sim.StageSAL {
				accepts[c.Actor]++
			}
		case c.From == sim.StageSAL:
			worked[c.Actor]++
			if c.To == sim.StageSQL {
				sqls[c.Actor]++
			}
		default:
			assert.Regexp(t, `^ae-\d+$`, c.Actor, "moves after SQL are the rep's")
		}
	}
	for _, rep := range tr.SDR.Team {
		assert.Equal(t, rep.Leads, calls[rep.Name], rep.Name)
		assert.Equal(t, rep.Converted, accepts[rep.Name], rep.Name)
		assert.Greater(t, rep.Leads, 100, rep.Name)
	}
	for _, rep := range tr.Sales {
		assert.Equal(t, rep.Leads, worked[rep.Name], rep.Name)
		assert.Equal(t, rep.Converted, sqls[rep.Name], rep.Name)
	}
	// Calls go to the SDRs in turn: loads within a few percent.
	assert.InDelta(t, tr.SDR.Team[1].Leads, tr.SDR.Team[0].Leads, 0.05*float64(tr.SDR.Team[1].Leads))
	// The planted effects, beyond sampling error (rates near 0.55 and 0.22
	// for 1/3 of a few thousand calls: standard errors about 0.015).
	assert.Equal(t, -1.5, tr.SDR.Team[0].LogOdds)
	assert.Less(t, tr.SDR.Team[0].Rate.Rate+0.15, tr.SDR.Team[1].Rate.Rate)
	assert.Less(t, tr.SDR.Team[0].Rate.Rate+0.15, tr.SDR.Team[2].Rate.Rate)
	assert.Greater(t, tr.Sales[1].Rate.Rate, tr.Sales[0].Rate.Rate+0.15)

	_, err = sim.New(sim.Config{SDRs: 2, SDRSkill: []float64{1, 2, 3}})
	require.ErrorContains(t, err, "sdr_skill has 3 entries for 2 SDRs")
	_, err = sim.New(sim.Config{SalesReps: 1, SalesSkill: []float64{1, 2}})
	require.ErrorContains(t, err, "sales_skill has 2 entries for 1 sales reps")
	_, err = sim.New(sim.Config{SalesSkill: []float64{100}})
	require.ErrorContains(t, err, "sales_skill[0]")
	auto, err := sim.New(sim.Config{Leads: 100, SDRSkill: make([]float64, 7)})
	require.NoError(t, err)
	assert.GreaterOrEqual(t, auto.Config().SDRs, 7)
}
