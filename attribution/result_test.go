package attribution

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// resultRoundTrip marshals v, checks the JSON holds each of keys, and
// unmarshals it into a fresh T that must equal v.
func resultRoundTrip[T any](t *testing.T, v T, keys ...string) {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	for _, k := range keys {
		assert.Contains(t, string(b), `"`+k+`":`, "%T", v)
	}
	var got T
	require.NoError(t, json.Unmarshal(b, &got), "%T: %s", v, b)
	assert.Equal(t, v, got, "%T: %s", v, b)
}

// TestResultTypesRoundTrip: every result type is data: snake_case keys,
// and marshal then unmarshal gives the same value, for results the models
// computed (irrational shares and all).
func TestResultTypesRoundTrip(t *testing.T) {
	paths := randomPaths(5, 200, 5, 6)
	markov, err := Markov{Order: 2}.Attribute(paths)
	require.NoError(t, err)
	resultRoundTrip(t, markov, "conversions", "value", "removal_effects", "value_removal_effects", "conversion_probability")
	linear, err := Linear{}.Attribute(paths)
	require.NoError(t, err)
	resultRoundTrip(t, linear, "conversions", "value")
	b, err := json.Marshal(linear)
	require.NoError(t, err)
	assert.NotContains(t, string(b), "removal_effects", "Markov's fields are omitted when unset")
	resultRoundTrip(t, Result{})

	resultRoundTrip(t, paths[0], "channels", "conversions")
	resultRoundTrip(t, Path{Channels: []string{"a"}, Conversions: 1, Value: 2.5, Nulls: 3}, "channels", "conversions", "value", "nulls")

	costs, credits := roiInput()
	credits = append(credits, Credit{Stage: "sql/markov", Result: markov})
	resultRoundTrip(t, credits[2], "stage", "result")
	rep, err := NewROIReport(costs, credits, ROIOptions{GroupBy: map[string]string{"c0": "paid"}})
	require.NoError(t, err)
	resultRoundTrip(t, rep, "stages", "rows", "total", "key", "cost", "conversions", "value", "cost_per", "roas", "roi")
	// nil ratios (no MQLs, no spend) stay nil
	var row ROIRow
	for _, r := range rep.Rows {
		if r.Key == "events" {
			row = r
		}
	}
	require.Equal(t, "events", row.Key)
	assert.Nil(t, row.Stages[0].ROI)
	resultRoundTrip(t, row, "key", "cost", "stages")
}
