package simbiz_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/simbiz"
	"github.com/leadkit/leadkit/pool"
	"github.com/leadkit/leadkit/scoring"
	"github.com/leadkit/leadkit/sim"
)

// The rules compile, read the simulator's event types and the tag, and
// keep a lead's fit and engagement below the MQL threshold.
func TestRulesFitTheSimulator(t *testing.T) {
	pol, err := pool.ParsePolicy([]byte(simbiz.Policy))
	require.NoError(t, err)
	_, err = pool.New(pool.Options{Policy: pol})
	require.NoError(t, err)
	assert.Contains(t, simbiz.Policy, `"`+simbiz.HandRaiserTag+`"`)

	spec, err := scoring.ParseModel([]byte(simbiz.Model))
	require.NoError(t, err)
	m, err := scoring.Compile(spec, scoring.Options{})
	require.NoError(t, err)
	assert.Contains(t, simbiz.Model, "types: ["+sim.EventHandRaise+"]")
	// The best fit the simulator's profiles can have, and the
	// engagement dimension's cap.
	best := 0.0
	for _, sen := range sim.DefaultSeniority() {
		for _, size := range sim.DefaultSizes() {
			res, err := m.Score(scoring.Input{Lead: leadkit.Lead{ID: "l", Person: leadkit.Person{Seniority: sen.Value}, Company: leadkit.Company{Employees: size.Max}},
				AsOf: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)})
			require.NoError(t, err)
			fit, _ := res.Dimension("fit")
			best = max(best, fit.Score)
		}
	}
	engMax := 0.0
	for _, d := range spec.Dimensions {
		if d.Name == "engagement" {
			require.NotNil(t, d.Max)
			engMax = *d.Max
		}
	}
	fitMax := best
	assert.Less(t, fitMax+engMax, spec.Thresholds[0].Value, "fit and engagement alone do not make an MQL")
}
