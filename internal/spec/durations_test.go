package spec_test

import (
	"testing"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/spec"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type timed struct {
	Name    string          `json:"name"`
	Window  time.Duration   `json:"window,omitempty"`
	Buckets []time.Duration `json:"buckets,omitempty"`
	Plain   int             `json:"plain,omitempty"`
}

func TestDurations(t *testing.T) {
	b, err := spec.EncodeDurations(timed{Name: "a", Window: 36 * time.Hour, Buckets: []time.Duration{14 * 24 * time.Hour, 90 * time.Minute}})
	require.NoError(t, err)
	assert.JSONEq(t, `{"name": "a", "window": "1d12h", "buckets": ["2w", "1h30m"]}`, string(b))

	v := timed{Name: "kept", Window: time.Hour, Plain: 7}
	require.NoError(t, spec.DecodeDurations([]byte(`{"buckets": ["30d", "13w"]}`), &v, "x: "))
	assert.Equal(t, timed{Name: "kept", Window: time.Hour, Plain: 7, Buckets: []time.Duration{30 * 24 * time.Hour, 13 * 7 * 24 * time.Hour}}, v, "absent keys keep their values")

	for doc, want := range map[string]string{
		`{"window": 3}`:            "x: window: leadkit: invalid input: duration 3",
		`{"buckets": ["30d", 90]}`: "x: buckets[1]: leadkit: invalid input",
		`{"buckets": "30d"}`:       "x: buckets: leadkit: invalid input: want a list of durations",
		`{"windw": "1d"}`:          `x: leadkit: invalid input: json: unknown field "windw"`,
		`{"Window": "1d"}`:         `did you mean "window"?`,
	} {
		err := spec.DecodeDurations([]byte(doc), &v, "x: ")
		require.Error(t, err, doc)
		assert.ErrorIs(t, err, leadkit.ErrInvalid, doc)
		assert.ErrorContains(t, err, want, doc)
	}
	require.NoError(t, spec.DecodeDurations([]byte(`{"window": null, "buckets": null}`), &v, "x: "))
	assert.Equal(t, time.Hour, v.Window, "null leaves a duration as it is")
}
