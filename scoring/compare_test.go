package scoring

import (
	"testing"

	"github.com/leadkit/leadkit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCompare(t *testing.T) {
	specA := fitSpec()
	specA.Thresholds = []ThresholdSpec{{Name: "mql", Dimension: "fit", Value: 30}}
	specB := fitSpec()
	specB.Thresholds = specA.Thresholds
	specB.Dimensions[0].Fit[0].Points = -10 // senior
	specB.Dimensions[0].Fit[3].Points = 25  // size
	a, b := mustCompile(t, specA), mustCompile(t, specB)

	manager := leadkit.Lead{ID: "mgr", Person: leadkit.Person{Seniority: "manager", Title: "Marketing Manager", Email: "x@acme.com"}, Company: leadkit.Company{Employees: 500}}
	student := leadkit.Lead{ID: "stu", Person: leadkit.Person{Seniority: "student"}}
	broken := vpLead()
	broken.ID = "bad"
	broken.Person.Custom = map[string]any{"budget": "x"}
	in := []Input{{Lead: vpLead()}, {Lead: manager}, {Lead: student}, {Lead: broken}}

	c, err := Compare(a, b, in, "mql")
	require.NoError(t, err)
	// vp: A = 20+10-15+15+10 = 40 (reached), B = -10+10-15+25+10 = 20: down.
	// manager: A = 10+15 = 25, B = 10+25 = 35: up. student: -20 both.
	require.Len(t, c.Leads, 3)
	assert.Equal(t, LeadDiff{LeadID: "l1", A: 40, B: 20, Delta: -20, ReachedA: true}, c.Leads[0])
	assert.Equal(t, LeadDiff{LeadID: "mgr", A: 25, B: 35, Delta: 10, ReachedB: true}, c.Leads[1])
	assert.Equal(t, 1, c.Up)
	assert.Equal(t, 1, c.Down)
	assert.InDelta(t, 10.0, c.MeanAbsDelta, 1e-12) // (20+10+0)/3
	assert.Len(t, c.Errors, 2)

	_, err = Compare(a, b, in, "sql")
	assert.ErrorIs(t, err, leadkit.ErrNotFound)
}

// Compare says which model failed on which lead.
func TestCompareErrorNamesModel(t *testing.T) {
	specA := fitSpec()
	specA.Version = "1"
	specA.Thresholds = []ThresholdSpec{{Name: "mql", Dimension: "fit", Value: 30}}
	specB := specA
	specB.Version = "2"
	specB.Fields = nil
	specB.Dimensions = []DimensionSpec{{Name: "fit", Fit: []FitRule{{Name: "vp", When: `person.seniority == "vp"`, Points: 40}}}}
	a, b := mustCompile(t, specA), mustCompile(t, specB)
	broken := vpLead()
	broken.ID = "bad"
	broken.Person.Custom = map[string]any{"budget": "x"}
	c, err := Compare(a, b, []Input{{Lead: vpLead(), AsOf: asOf0}, {Lead: broken, AsOf: asOf0}}, "mql")
	require.NoError(t, err)
	require.Len(t, c.Errors, 1)
	var ce *CompareError
	require.ErrorAs(t, c.Errors[0], &ce)
	assert.Equal(t, CompareError{Index: 1, LeadID: "bad", Model: "a", Name: "fit", Version: "1", Err: ce.Err}, *ce)
	assert.Contains(t, ce.Error(), `scoring: compare: input 1 (lead "bad"): model a (fit 1): scoring: lead "bad"`)
	var re *RuleError
	assert.ErrorAs(t, c.Errors[0], &re)
}
