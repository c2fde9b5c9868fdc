package scoring_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/scoring"
	"github.com/leadkit/leadkit/stage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A stage definition declares the facts the model gives and its guards
// read them: no glue between the two.
func TestFactsFeedStageGuards(t *testing.T) {
	m := compileExample()
	assert.Equal(t, map[string]leadkit.FieldType{
		"fit": leadkit.TypeNumber, "fit_band": leadkit.TypeString,
		"engagement": leadkit.TypeNumber, "engagement_band": leadkit.TypeString,
		"total": leadkit.TypeNumber, "cell": leadkit.TypeString, "reached": leadkit.TypeStrings,
	}, m.FactTypes())

	r, err := m.Score(scoring.Input{Lead: lead(), Events: events(), AsOf: asOf})
	require.NoError(t, err)
	f := r.Facts(m)
	// Worked from the example model: fit 25+15 = 40 (A); engagement: the
	// webinar 20 at asOf plus the pricing view 5 halved over 30 days =
	// 22.5 (band 2); total 40*0.5 + 22.5 = 42.5, over the mql threshold
	// of 40; cell A2.
	assert.Equal(t, "A", f["fit_band"])
	assert.Equal(t, "2", f["engagement_band"])
	assert.Equal(t, "A2", f["cell"])
	assert.Equal(t, []string{"mql"}, f["reached"])
	assert.InDelta(t, 42.5, f["total"], 1e-9)

	def := stage.Definition{Name: "g", Initial: "Raw", Facts: m.FactTypes(),
		Stages: []stage.Stage{{Name: "Raw"}, {Name: "MQL", Terminal: true}},
		Transitions: []stage.Transition{{Name: "qualify", From: []string{"Raw"}, To: "MQL", Auto: true,
			Guard: `"mql" in reached && fit_band in ["A", "B"]`}}}
	machine, err := stage.New(def, stage.Options{})
	require.NoError(t, err)
	ctx := context.Background()
	_, err = machine.Start(ctx, stage.Lead("jo"), stage.StartOptions{})
	require.NoError(t, err)
	rec, n, err := machine.Advance(ctx, stage.Lead("jo"), f, stage.Request{})
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	assert.Equal(t, "MQL", rec.Stage)
}

func TestFactName(t *testing.T) {
	for in, want := range map[string]string{"fit": "fit", "interest:ai": "interest_ai", "2025 score": "_2025_score", "é": "_"} {
		assert.Equal(t, want, scoring.FactName(in), in)
	}
}

func ExampleResult_Facts() {
	m := compileExample()
	r, _ := m.Score(scoring.Input{Lead: lead(), Events: events(), AsOf: asOf})
	f := r.Facts(m)
	fmt.Println(f["fit_band"], f["cell"], f["reached"])
	// Output: A A2 [mql]
}
