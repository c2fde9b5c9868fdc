package stage_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/binenc"
	"github.com/leadkit/leadkit/internal/binenctest"
	"github.com/leadkit/leadkit/stage"
)

// countsFunnel returns a funnel by owner and month with one subject in
// it: owned by ana in MQL, on to SQL two days later, in MQL past its SLA.
func countsFunnel(t testing.TB) *stage.FunnelAccumulator {
	t.Helper()
	f, err := stage.NewFunnel(stage.FunnelSpec{Stages: []string{"MQL", "SQL"}, Cohort: leadkit.PeriodMonth, ByOwner: true,
		SLA: map[string]leadkit.Duration{"MQL": leadkit.Duration(24 * time.Hour)}})
	require.NoError(t, err)
	require.NoError(t, f.Add(countsSubject("s")))
	return f
}

func countsSubject(id string) []stage.Visit {
	t0 := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	return []stage.Visit{{LeadID: id, Stage: "MQL", At: t0, Owner: "ana"}, {LeadID: id, Stage: "SQL", At: t0.Add(48 * time.Hour), Owner: "bo"}}
}

// funnelCounts are the counts a funnel's result shows of one subject.
func funnelCounts(f *stage.FunnelAccumulator) []int {
	r := f.Result()
	o := r.Owners[0].Owners[0]
	return []int{r.Stages[0].Reached, r.Stages[1].Entered, r.Conversions[0].Converted, r.Cohorts[0].Stages[1].Reached,
		o.Rate.Base, o.Rate.Count, o.Breaches.Base, o.Breaches.Count}
}

// A funnel merged over many workers counts subjects past math.MaxInt32
// (the decoder used to refuse those, so a merged state failed a Beam
// pipeline in its coder): such a state encodes and decodes to itself.
func TestFunnelCountsPastMaxInt32(t *testing.T) {
	binenctest.ScaledCounts(t, countsFunnel(t), 1<<32+3, funnelCounts)
}

// Add and Merge refuse to count a funnel's subjects past 2^53-1 (the cap
// of every count that merges sum, journey.MaxCount: exact in float64 and
// decoded), with an error wrapping ErrInvalid that names the funnel and
// the cap, and nothing changes; up to it they go on.
func TestFunnelCountsCapped(t *testing.T) {
	over := fmt.Sprintf("more than %d subjects (journey.MaxCount)", binenc.MaxTotal)
	at := binenctest.Capped(t, countsFunnel(t), binenc.MaxTotal, func(f *stage.FunnelAccumulator) any { return f.Result() },
		"stage: funnel: leadkit: invalid input: merged, "+over, "stage: funnel: leadkit: invalid input: "+over,
		func(f *stage.FunnelAccumulator) error { return f.Add(countsSubject("t")) })
	require.NoError(t, at.Add([]stage.Visit{{LeadID: "u", Stage: "Won", At: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)}}), "a subject outside the funnel is not counted")
	assert.False(t, at.Counted())
}
