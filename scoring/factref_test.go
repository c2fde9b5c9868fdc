package scoring_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit/scoring"
)

// Model.Fact and Result.Fact read every fact exactly as Result.Facts
// gives it.
func TestFactRefMatchesFacts(t *testing.T) {
	m := compileExample()
	for _, in := range []scoring.Input{{Lead: lead(), Events: events(), AsOf: asOf}, {Lead: lead(), AsOf: asOf}} {
		res, err := m.Score(in)
		require.NoError(t, err)
		all := res.Facts(m)
		require.NotEmpty(t, all)
		for name, typ := range m.FactTypes() {
			ref, ok := m.Fact(name)
			require.True(t, ok, name)
			assert.Equal(t, all[name], res.Fact(ref), "%s (%s)", name, typ)
		}
	}
	_, ok := m.Fact("nope")
	assert.False(t, ok)
	_, ok = m.Fact("total_band")
	assert.False(t, ok, "total has no bands")
	var none scoring.FactRef
	var r scoring.Result
	assert.Nil(t, r.Fact(none))
}

func TestDependents(t *testing.T) {
	m := compileExample() // total = fit * 0.5 + engagement
	assert.Equal(t, []string{"engagement"}, m.BehaviorDimensions())
	assert.Equal(t, []string{"engagement", "total"}, m.Dependents("engagement"))
	assert.Equal(t, []string{"fit", "total"}, m.Dependents("fit", "nope"))
	assert.Equal(t, []string{"total"}, m.Dependents("total"))
	assert.Empty(t, m.Dependents())
}

func TestStateCopyTo(t *testing.T) {
	m := compileExample()
	st, err := m.StateOf(scoring.Input{Lead: lead(), Events: events(), AsOf: asOf})
	require.NoError(t, err)
	var dst scoring.State
	st.CopyTo(&dst)
	assert.Equal(t, st.Clone(), dst)
	dst.Rules[0].N = 99
	if len(dst.LastIDs) > 0 {
		dst.LastIDs[0] = "changed"
	}
	assert.NotEqual(t, dst.Rules[0].N, st.Rules[0].N, "the copy shares nothing")
	var empty scoring.State
	empty.CopyTo(&dst)
	assert.Equal(t, scoring.State{}, dst)
}
