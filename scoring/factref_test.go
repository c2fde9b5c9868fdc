package scoring_test

import (
	"encoding/json"
	"fmt"

	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
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

// The index of same-instant event IDs is never trusted for LastIDs it was
// not built for: a decoded state, or two copies that went their own ways.
func TestSameInstantIndexStaysRight(t *testing.T) {
	m := compileExample()
	at := asOf
	st := m.NewState()
	for i := range 100 {
		require.NoError(t, m.Apply(&st, leadkit.Event{ID: fmt.Sprint("a", i), Type: leadkit.EventWebinarAttended, Time: at}))
	}
	b, err := json.Marshal(st)
	require.NoError(t, err)
	var reused scoring.State = st // shares the index
	other := m.NewState()
	for i := range 100 {
		require.NoError(t, m.Apply(&other, leadkit.Event{ID: fmt.Sprint("b", i), Type: leadkit.EventWebinarAttended, Time: at}))
	}
	ob, err := json.Marshal(other)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(ob, &reused))
	before, err := json.Marshal(reused)
	require.NoError(t, err)
	require.NoError(t, m.Apply(&reused, leadkit.Event{ID: "b7", Type: leadkit.EventWebinarAttended, Time: at}))
	after, err := json.Marshal(reused)
	require.NoError(t, err)
	assert.JSONEq(t, string(before), string(after), "b7 was applied: a redelivery changes nothing")

	// Two copies that share the index and then append different events.
	var x, y scoring.State
	require.NoError(t, json.Unmarshal(b, &x))
	require.NoError(t, m.Apply(&x, leadkit.Event{ID: "a0", Type: leadkit.EventWebinarAttended, Time: at})) // builds the index
	y = x
	x.LastIDs = append(x.LastIDs[:len(x.LastIDs):len(x.LastIDs)], "unused") // x gets its own array
	x.LastIDs = x.LastIDs[:len(x.LastIDs)-1]
	require.NoError(t, m.Apply(&x, leadkit.Event{ID: "w", Type: leadkit.EventWebinarAttended, Time: at}))
	require.NoError(t, m.Apply(&y, leadkit.Event{ID: "v", Type: leadkit.EventWebinarAttended, Time: at}))
	snap, err := json.Marshal(x)
	require.NoError(t, err)
	require.NoError(t, m.Apply(&x, leadkit.Event{ID: "w", Type: leadkit.EventWebinarAttended, Time: at}))
	again, err := json.Marshal(x)
	require.NoError(t, err)
	assert.JSONEq(t, string(snap), string(again), "w counts once in x")
}
