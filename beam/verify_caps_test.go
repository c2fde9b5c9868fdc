package beam

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/journey"
	"github.com/leadkit/leadkit/lifecycle"
)

// nurtureLead is a lead that sent n distinct contents before verifyCapAt.
func nurtureLead(id string, n int) journey.LeadJourney {
	j := journey.LeadJourney{Timeline: journey.Timeline{LeadID: id}}
	for i := range n {
		j.Events = append(j.Events, leadkit.Event{ID: fmt.Sprint(id, i), LeadID: id, Type: "email_opened",
			Content: fmt.Sprintf("%s%d", id, i), Time: verifyCapAt.Add(-time.Duration(i+1) * time.Second)})
	}
	return j
}

// A tenant's error says which stage's aggregate passed which cap in a
// fixed text: the same whatever the order of adds and merges (it once
// named the lead that happened to be added last), and a stage whose
// aggregates stay within their caps keeps its results.
func TestTenantErrorIndependentOfOrder(t *testing.T) {
	capped := verifyCapPlan(false)
	within := verifyCapPlan(false)
	within.Stage = "MQL"
	within.Nurture.Types = []string{"webinar_attended"}
	plans := []lifecycle.StagePlan{capped, within}
	a, b, c := nurtureLead("a", journey.MaxNurtureKeys), nurtureLead("b", 1), nurtureLead("c", 1)
	runPlans := func(plans []lifecycle.StagePlan, js ...journey.LeadJourney) []TenantStage {
		acc, err := newVerifyAccumulator(plans)
		require.NoError(t, err)
		for _, j := range js {
			acc.add(j)
		}
		return acc.results()
	}
	run := func(js ...journey.LeadJourney) []TenantStage { return runPlans(plans, js...) }
	abc, acb := run(a, b, c), run(a, c, b)
	require.NotEmpty(t, abc[0].Error)
	assert.Equal(t, abc, acb, "same leads, another order")
	assert.NotContains(t, abc[0].Error, `"b"`, "no lead is named")
	assert.NotContains(t, abc[0].Error, `"c"`, "no lead is named")
	assert.Contains(t, abc[0].Error, "MaxNurtureKeys")
	assert.Empty(t, abc[1].Error, "the other stage is within its caps")
	assert.Equal(t, runPlans([]lifecycle.StagePlan{within}, a, b, c)[0], abc[1], "the other stage's results are its own")

	// Sharded: {a, b} and {c} merged, both ways.
	for _, swap := range []bool{false, true} {
		x, err := newVerifyAccumulator(plans)
		require.NoError(t, err)
		x.add(a)
		y, err := newVerifyAccumulator(plans)
		require.NoError(t, err)
		y.add(c)
		y.add(b)
		if swap {
			x, y = y, x
		}
		enc, err := encodeVerifyAccumulator(y)
		require.NoError(t, err)
		y, err = decodeVerifyAccumulator(enc)
		require.NoError(t, err, "a capped accumulator travels")
		require.NoError(t, x.merge(y))
		assert.Equal(t, abc, x.results(), "same leads, sharded (swap %v)", swap)
	}
}

// Whatever the bytes, a verify accumulator's decoder never panics, and
// what decodes encodes to the same bytes.
func FuzzVerifyAccumulatorForm(f *testing.F) {
	plans := []lifecycle.StagePlan{verifyCapPlan(true)}
	for _, js := range [][]journey.LeadJourney{nil, {nurtureLead("a", 3)}, {wonJourney("t", "w", 5).Journey, nurtureLead("b", 2)}} {
		acc, err := newVerifyAccumulator(plans)
		require.NoError(f, err)
		for _, j := range js {
			acc.add(j)
		}
		b, err := encodeVerifyAccumulator(acc)
		require.NoError(f, err)
		f.Add(b)
		acc.stages[0].capped = 1 << capNurture
		b, err = encodeVerifyAccumulator(acc)
		require.NoError(f, err)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := decodeVerifyAccumulator(b)
		if err != nil {
			return
		}
		again, err := encodeVerifyAccumulator(a)
		require.NoError(t, err)
		back, err := decodeVerifyAccumulator(again)
		require.NoError(t, err)
		assert.Equal(t, a.results(), back.results())
	})
}

// Accumulators of plans that differ (other nurture options here) do not
// merge: the merge is an error naming the stage, wrapping
// leadkit.ErrMismatch, and the stage is not marked capped (it once was,
// as if the data had passed a cap).
func TestVerifyMergeOfOtherPlansIsAnError(t *testing.T) {
	plan := verifyCapPlan(false)
	other := verifyCapPlan(false)
	other.Nurture.Types = []string{"webinar_attended"}
	x, err := newVerifyAccumulator([]lifecycle.StagePlan{plan})
	require.NoError(t, err)
	y, err := newVerifyAccumulator([]lifecycle.StagePlan{other})
	require.NoError(t, err)
	y.add(nurtureLead("a", 2))
	err = x.merge(y)
	require.ErrorIs(t, err, leadkit.ErrMismatch)
	assert.ErrorContains(t, err, `"Won"`)
	assert.Zero(t, x.stages[0].capped)

	// The same through the encoding a partial travels in.
	enc, err := encodeVerifyAccumulator(y)
	require.NoError(t, err)
	dec, err := decodeVerifyAccumulator(enc)
	require.NoError(t, err)
	fresh, err := newVerifyAccumulator([]lifecycle.StagePlan{plan})
	require.NoError(t, err)
	require.ErrorIs(t, fresh.merge(dec), leadkit.ErrMismatch)
}
