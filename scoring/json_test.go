package scoring

import (
	"encoding/json"
	"regexp"
	"testing"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// roundTrip marshals v, checks that every key is snake_case, decodes it
// back, requires the copy to equal v and returns the JSON.
func roundTrip[T any](t *testing.T, v T) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	for _, k := range regexp.MustCompile(`"([^"]+)":`).FindAllStringSubmatch(string(b), -1) {
		assert.Regexp(t, `^[a-z][a-z0-9_]*$`, k[1], "key of %T in %s", v, b)
	}
	var back T
	require.NoError(t, json.Unmarshal(b, &back), string(b))
	assert.Equal(t, v, back, string(b))
	return string(b)
}

func TestResultJSON(t *testing.T) {
	spec := fitSpec()
	spec.Dimensions = append(spec.Dimensions, DimensionSpec{Name: "engagement", Behavior: []BehaviorRule{
		{Name: "download", Types: []string{"download"}, Points: 8}}})
	spec.Thresholds = []ThresholdSpec{{Name: "mql", Dimension: "fit", Value: 30}}
	m := mustCompile(t, spec)
	lead := vpLead()
	lead.AccountID = "acme"
	r := score(t, m, lead, ev("download", day))
	require.NotEmpty(t, r.Hits)
	s := roundTrip(t, r)
	assert.Contains(t, s, `"lead_id":"l1","account_id":"acme","as_of":"2025-06-01T00:00:00Z"`)
	assert.Contains(t, s, `"kind":"behavior"`)
	assert.Contains(t, s, `{"name":"mql","dimension":"fit","value":30,"reached":true}`)

	// A zero time and an empty band, cell and account are left out.
	s = roundTrip(t, Result{LeadID: "x", Dimensions: []DimensionScore{{Name: "d", Score: 1, Raw: 1.5}}})
	assert.Equal(t, `{"lead_id":"x","dimensions":[{"name":"d","score":1,"lifetime":0,"raw":1.5,"raw_lifetime":0}],"thresholds":null,"hits":null}`, s)
}

func TestAnalysisResultsJSON(t *testing.T) {
	specA := fitSpec()
	specA.Version = "1"
	specA.Thresholds = []ThresholdSpec{{Name: "mql", Dimension: "fit", Value: 30}}
	specB := specA
	specB.Version = "2"
	specB.Dimensions = []DimensionSpec{{Name: "fit", Fit: []FitRule{{Name: "vp", When: `person.seniority == "vp"`, Points: 10}}}}
	specB.Fields = nil
	a, b := mustCompile(t, specA), mustCompile(t, specB)
	broken := vpLead()
	broken.ID = "bad"
	broken.Person.Custom = map[string]any{"budget": "x"}
	c, err := Compare(a, b, []Input{{Lead: vpLead(), AsOf: asOf0}, {Lead: broken, AsOf: asOf0}}, "mql")
	require.NoError(t, err)
	require.Len(t, c.Errors, 1)
	require.Len(t, c.Leads, 1)

	// The error travels as its message.
	raw, err := json.Marshal(c)
	require.NoError(t, err)
	assert.Contains(t, string(raw), `"errors":[{"index":1,"lead_id":"bad","model":"a","name":"fit","version":"1","error":"scoring: lead \"bad\"`)
	var back Comparison
	require.NoError(t, json.Unmarshal(raw, &back))
	require.Len(t, back.Errors, 1)
	assert.Equal(t, c.Errors[0].Error(), back.Errors[0].Error())
	c.Errors, back.Errors = nil, nil
	assert.Equal(t, c, back)
	roundTrip(t, c)
	roundTrip(t, LeadDiff{LeadID: "l", A: 1, B: 2, Delta: 1, ReachedB: true})

	m := crossingModel(t)
	d0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	cs, err := m.Crossings(Input{Lead: leadkit.Lead{ID: "l1"}, Events: []leadkit.Event{{ID: "1", Type: "download", Time: d0}}, AsOf: d0.Add(10 * day)}, "mql")
	require.NoError(t, err)
	require.Len(t, cs, 2)
	assert.Contains(t, roundTrip(t, cs), `"time":"2025-01-01T00:00:00Z"`)
	assert.Equal(t, `{"threshold":"mql","up":false,"score":0}`, roundTrip(t, Crossing{Threshold: "mql"}))

	spec := fitSpec()
	spec.Dimensions = append(spec.Dimensions, DimensionSpec{Name: "engagement", Behavior: []BehaviorRule{
		{Name: "meeting", Types: []string{"meeting"}, Points: 30, Limit: &LimitSpec{Max: 1}}}})
	spec.Thresholds = []ThresholdSpec{{Name: "sql", Dimension: "engagement", Value: 50}}
	w := mustCompile(t, spec)
	g, err := w.WhyNot(Input{Lead: vpLead(), Events: []leadkit.Event{ev("meeting", day)}, AsOf: asOf0}, Target{Threshold: "sql"})
	require.NoError(t, err)
	require.NotEmpty(t, g.Suggestions)
	assert.Contains(t, roundTrip(t, g), `"blocked":"limit"`)
	roundTrip(t, Target{Dimension: "fit", Band: "A"})

	accounts, err := RollUp([]Result{{LeadID: "1", AccountID: "a", Dimensions: []DimensionScore{{Name: "fit", Score: 3}}}}, "fit", Aggregate{Method: RollSum})
	require.NoError(t, err)
	assert.Equal(t, `[{"account_id":"a","score":3,"contacts":1}]`, roundTrip(t, accounts))
	roundTrip(t, Aggregate{Method: RollAvgTop, N: 3})
}
