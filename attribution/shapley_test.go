package attribution

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/leadkit/leadkit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestExactShapleyGloveGame checks the textbook glove game: L holds a left
// glove, R1 and R2 right gloves, a pair is worth 1. The Shapley values are
// L 2/3, R1 = R2 = 1/6 (L is pivotal in 4 of the 6 orders, each R in 1).
func TestExactShapleyGloveGame(t *testing.T) {
	calls := 0
	v := func(s []string) float64 {
		calls++
		l, r := false, false
		for _, p := range s {
			l = l || p == "L"
			r = r || p == "R1" || p == "R2"
		}
		if l && r {
			return 1
		}
		return 0
	}
	phi, err := ExactShapley(context.Background(), []string{"L", "R1", "R2"}, v)
	require.NoError(t, err)
	assert.InDelta(t, 2.0/3, phi["L"], 1e-12)
	assert.InDelta(t, 1.0/6, phi["R1"], 1e-12)
	assert.InDelta(t, 1.0/6, phi["R2"], 1e-12)
	assert.Equal(t, 8, calls, "one call per coalition")
}

// TestShapleyMatchesExact checks the simplified Shapley model against exact
// Shapley values of the path table's coalition game: the game is a sum of
// unanimity games (one per path, over its distinct channels), whose Shapley
// value gives each member an equal share, so the two must agree.
func TestShapleyMatchesExact(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		paths := randomPaths(seed, 300, 7, 6)
		simple, err := Shapley{}.Attribute(paths)
		require.NoError(t, err)
		c, err := NewCoalitions(paths)
		require.NoError(t, err)
		conv, err := ExactShapley(context.Background(), c.Channels(), c.Conversions)
		require.NoError(t, err)
		val, err := ExactShapley(context.Background(), c.Channels(), c.Value)
		require.NoError(t, err)
		for _, ch := range c.Channels() {
			assert.InDelta(t, conv[ch], simple.Conversions[ch], 1e-9, "seed %d %s", seed, ch)
			assert.InDelta(t, val[ch], simple.Value[ch], 1e-9, "seed %d %s", seed, ch)
		}
	}
}

func TestCoalitions(t *testing.T) {
	c, err := NewCoalitions(handTable())
	require.NoError(t, err)
	assert.Equal(t, []string{"A", "B", "C", "direct"}, c.Channels())
	// Paths within {A, B, C}: rows 1, 2, 3 and the null row 6.
	assert.Equal(t, 4.0, c.Conversions([]string{"A", "B", "C"}))
	assert.Equal(t, 46.0, c.Value([]string{"C", "B", "A", "unknown"}))
	assert.Equal(t, 0.0, c.Conversions(nil))

	many := make([]Path, 1000)
	for i := range many {
		many[i] = Path{Channels: []string{fmt.Sprint("c", i)}, Conversions: 1}
	}
	_, err = NewCoalitions(many[:MaxShapleyPlayers])
	require.NoError(t, err)
	_, err = NewCoalitions(many)
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.EqualError(t, err, "attribution: coalitions: leadkit: invalid input: 1000 channels, at most 20 (MaxShapleyPlayers)")
	_, err = NewCoalitions([]Path{{}})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
}

func TestExactShapleyErrors(t *testing.T) {
	ctx := context.Background()
	zero := func([]string) float64 { return 0 }
	_, err := ExactShapley(ctx, []string{"a", "a"}, zero)
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	_, err = ExactShapley(ctx, []string{""}, zero)
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	_, err = ExactShapley(ctx, make([]string, MaxShapleyPlayers+1), zero)
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	_, err = ExactShapley(ctx, []string{"a", "b"}, func(s []string) float64 {
		if len(s) == 2 {
			return math.NaN()
		}
		return 1
	})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.Contains(t, err.Error(), `["a" "b"]`)

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = ExactShapley(cctx, []string{"a"}, zero)
	require.ErrorIs(t, err, context.Canceled)

	for _, p := range []string{"", "a\x00", "\xff", strings.Repeat("x", leadkit.MaxNameBytes+1)} {
		_, err = ExactShapley(ctx, []string{"ok", p}, zero)
		require.ErrorIs(t, err, leadkit.ErrInvalid, p)
		assert.Contains(t, err.Error(), "attribution: exact shapley: leadkit: invalid input: player 1: ")
	}
	// Finite values whose differences overflow.
	_, err = ExactShapley(ctx, []string{"a", "b"}, func(s []string) float64 {
		if len(s) == 1 {
			return -math.MaxFloat64
		}
		return math.MaxFloat64
	})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.Contains(t, err.Error(), `attribution: exact shapley: leadkit: invalid input: the value of player "a" is `)

	phi, err := ExactShapley(ctx, nil, func([]string) float64 { return 5 })
	require.NoError(t, err)
	assert.Empty(t, phi)
}
