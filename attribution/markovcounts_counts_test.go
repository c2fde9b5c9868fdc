package attribution

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit/internal/binenctest"
	"github.com/leadkit/leadkit/journey"
)

// countsPaths returns order-1 Markov counts of one converting path.
func countsPaths(t testing.TB) *MarkovCounts {
	t.Helper()
	return countsOf(t, Markov{}, []Path{{Channels: []string{"web", "email"}, Conversions: 1, Value: 10}})
}

// Markov counts merged over many workers hold counts past math.MaxInt32:
// such a state encodes and decodes to itself, with the same totals.
func TestMarkovCountsPastMaxInt32(t *testing.T) {
	const k = 1<<32 + 3
	one := countsPaths(t)
	binenctest.ScaledCounts(t, one, k, func(c *MarkovCounts) []float64 {
		conv, val, _ := c.Totals()
		return []float64{float64(c.added), conv, val}
	})
	r, err := binenctest.Scaled(t, one, k).Result()
	require.NoError(t, err)
	assert.InDelta(t, float64(k), r.Conversions["web"]+r.Conversions["email"], 1e-3*k)
}

// Add, AddPaths and Merge refuse to count paths past journey.MaxCount
// (every count up to it is exact in float64 and decodes), with an error
// wrapping ErrInvalid that names the counts and the cap, and nothing
// changes; up to it they go on.
func TestMarkovCountsCapped(t *testing.T) {
	result := func(c *MarkovCounts) any {
		r, err := c.Result()
		require.NoError(t, err)
		return r
	}
	over := fmt.Sprintf("more than %d paths (journey.MaxCount)", journey.MaxCount)
	p := Path{Channels: []string{"web"}, Conversions: 1}
	at := binenctest.Capped(t, countsPaths(t), journey.MaxCount, result, "attribution: markov: leadkit: invalid input: merged, "+over,
		"attribution: markov: leadkit: invalid input: "+over, func(c *MarkovCounts) error { return c.Add(p) })
	binenctest.Refused(t, at, result, "attribution: markov: leadkit: invalid input: "+over, func() error { return at.AddPaths([]Path{p}) })
	require.NoError(t, at.AddPaths(nil), "no paths, nothing past the cap")

	below := binenctest.Scaled(t, countsPaths(t), journey.MaxCount-2)
	require.NoError(t, below.AddPaths([]Path{p, {Channels: []string{"email"}, Nulls: 1}}), "up to the cap, AddPaths goes on")
	binenctest.Refused(t, below, result, "attribution: markov: leadkit: invalid input: "+over, func() error { return below.Add(p) })
}
