package learn_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/leadkit/leadkit/scoring/learn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A Result reads back from its JSON as it was.
func TestResultJSON(t *testing.T) {
	opts := smallOpts()
	opts.Windows = nil // ever and 30d: windows in the JSON
	res, err := learn.Fit(history(2000, 9), opts)
	require.NoError(t, err)
	b, err := json.Marshal(res)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"window":"30d"`)
	assert.Contains(t, string(b), `"information_value":`)
	var back learn.Result
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, res, back)
	b2, err := json.Marshal(back)
	require.NoError(t, err)
	assert.Equal(t, string(b), string(b2))
}

// The same examples and options give byte-identical results, whatever
// the number of workers; another seed gives another split.
func TestDeterministic(t *testing.T) {
	ex := history(3000, 10)
	fit := func(seed uint64, workers int) []byte {
		opts := learn.Options{Seed: seed, Workers: workers}
		res, err := learn.Fit(ex, opts)
		require.NoError(t, err)
		b, err := json.Marshal(res)
		require.NoError(t, err)
		return b
	}
	a := fit(1, 1)
	assert.True(t, bytes.Equal(a, fit(1, 1)))
	assert.True(t, bytes.Equal(a, fit(1, 2)), "workers change nothing")
	assert.False(t, bytes.Equal(a, fit(2, 1)), "the seed chooses the split")
}
