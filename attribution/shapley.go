package attribution

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/leadkit/leadkit"
)

// Shapley is the simplified Shapley value used for path attribution: each
// conversion (and its value) is split equally over the distinct channels of
// its path, however often each appears.
//
// It equals the exact Shapley value of the coalition game "v(S) = the
// conversions of the paths whose channels all lie in S" (a sum of unanimity
// games), which [ExactShapley] over [Coalitions] computes the long way.
type Shapley struct{}

// Attribute implements [Model].
func (Shapley) Attribute(paths []Path) (Result, error) {
	var seen []bool // by channel id: seen in the current path
	return ruleBased(paths, func(s *creditSheet, ids []int32, p *Path) {
		for len(seen) < len(s.in.names) {
			seen = append(seen, false)
		}
		distinct := 0
		for _, id := range ids {
			if !seen[id] {
				seen[id] = true
				distinct++
			}
		}
		share := 1 / float64(distinct)
		for _, id := range ids {
			if seen[id] { // credit each distinct channel once, then reset
				seen[id] = false
				s.give(id, share, p)
			}
		}
	})
}

// MaxShapleyPlayers is the largest player set [ExactShapley] accepts: it
// evaluates the value function on all 2^n coalitions.
const MaxShapleyPlayers = 20

// ExactShapley computes the Shapley value of every player of the coalition
// game v:
//
//	phi_i = sum over S not holding i of |S|! (n-|S|-1)! / n! * (v(S+i) - v(S))
//
// v is called exactly once per coalition (2^n calls, the empty one
// included) with the members in the order of players; the slice is reused
// between calls, so v must not keep it. The values are efficient: they sum
// to v(players) - v(empty). ctx is checked between calls. players must be
// distinct, non-empty and at most [MaxShapleyPlayers]; a NaN or infinite
// value is an error naming the coalition, and so is a Shapley value that
// overflows. Players are names like channels: valid UTF-8 without NUL
// bytes, at most [leadkit.MaxNameBytes].
func ExactShapley(ctx context.Context, players []string, v func(coalition []string) float64) (map[string]float64, error) {
	n := len(players)
	if n > MaxShapleyPlayers {
		return nil, fmt.Errorf("attribution: exact shapley: %w: %d players, at most %d", leadkit.ErrInvalid, n, MaxShapleyPlayers)
	}
	seen := make(map[string]bool, n)
	for i, p := range players {
		if !channelOK(p) {
			return nil, fmt.Errorf("attribution: exact shapley: %w: player %d: %s", leadkit.ErrInvalid, i, badChannel(p))
		}
		if seen[p] {
			return nil, fmt.Errorf("attribution: exact shapley: %w: player %q repeated", leadkit.ErrInvalid, p)
		}
		seen[p] = true
	}
	vals := make([]float64, 1<<n)
	buf := make([]string, 0, n)
	for mask := range vals {
		if mask&1023 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		buf = buf[:0]
		for i := range n {
			if mask&(1<<i) != 0 {
				buf = append(buf, players[i])
			}
		}
		x := v(buf)
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("attribution: exact shapley: %w: value of coalition %q is %g", leadkit.ErrInvalid, buf, x)
		}
		vals[mask] = x
	}
	// weight[s] = s! (n-s-1)! / n!, computed in logs-free form by recurrence:
	// weight[0] = 1/n, weight[s+1] = weight[s] * (s+1) / (n-s-1).
	weight := make([]float64, n)
	if n > 0 {
		weight[0] = 1 / float64(n)
		for s := 0; s+1 < n; s++ {
			weight[s+1] = weight[s] * float64(s+1) / float64(n-s-1)
		}
	}
	phi := make([]float64, n)
	for mask := range vals {
		size := popcount(uint64(mask))
		for i := range n {
			bit := 1 << i
			if mask&bit == 0 {
				phi[i] += weight[size] * (vals[mask|bit] - vals[mask])
			}
		}
	}
	out := make(map[string]float64, n)
	for i, p := range players {
		if !finite(phi[i]) {
			// Finite values can still overflow in the differences and
			// sums (values near the float64 limit).
			return nil, fmt.Errorf("attribution: exact shapley: %w: the value of player %q is %g", leadkit.ErrInvalid, p, phi[i])
		}
		out[p] = phi[i]
	}
	return out, nil
}

func popcount(x uint64) int {
	c := 0
	for x != 0 {
		x &= x - 1
		c++
	}
	return c
}

// Coalitions is the coalition game of a path table: a coalition S is worth
// the conversions (or value) of the paths whose distinct channels all lie in
// S. Use its methods as the value function of [ExactShapley]. It is
// immutable and safe for concurrent use.
type Coalitions struct {
	channels []string
	index    map[string]int
	masks    []uint64 // distinct channel sets of the paths
	conv     []float64
	val      []float64
}

// NewCoalitions builds the game of paths. The paths must be valid (see
// [ValidatePaths]) and hold at most [MaxShapleyPlayers] distinct channels.
func NewCoalitions(paths []Path) (*Coalitions, error) {
	if err := ValidatePaths(paths); err != nil {
		return nil, err
	}
	c := &Coalitions{index: map[string]int{}}
	byMask := map[uint64]int{}
	for i := range paths {
		var mask uint64
		for _, ch := range paths[i].Channels {
			id, ok := c.index[ch]
			if !ok {
				id = len(c.channels)
				c.index[ch] = id
				c.channels = append(c.channels, ch)
			}
			if id < MaxShapleyPlayers {
				mask |= 1 << id
			}
		}
		k, ok := byMask[mask]
		if !ok {
			k = len(c.masks)
			byMask[mask] = k
			c.masks = append(c.masks, mask)
			c.conv = append(c.conv, 0)
			c.val = append(c.val, 0)
		}
		c.conv[k] += paths[i].Conversions
		c.val[k] += paths[i].Value
	}
	if n := len(c.channels); n > MaxShapleyPlayers {
		return nil, fmt.Errorf("attribution: coalitions: %w: %d channels, at most %d (MaxShapleyPlayers)", leadkit.ErrInvalid, n, MaxShapleyPlayers)
	}
	return c, nil
}

// Channels returns the players: the distinct channels in order of first
// appearance.
func (c *Coalitions) Channels() []string { return slices.Clone(c.channels) }

// Conversions returns the conversions of the paths whose channels all lie in
// coalition. Unknown names are ignored.
func (c *Coalitions) Conversions(coalition []string) float64 { return c.sum(coalition, c.conv) }

// Value returns the conversion value of the paths whose channels all lie in
// coalition. Unknown names are ignored.
func (c *Coalitions) Value(coalition []string) float64 { return c.sum(coalition, c.val) }

func (c *Coalitions) sum(coalition []string, w []float64) float64 {
	var s uint64
	for _, ch := range coalition {
		if id, ok := c.index[ch]; ok {
			s |= 1 << id
		}
	}
	var total float64
	for k, m := range c.masks {
		if m&^s == 0 {
			total += w[k]
		}
	}
	return total
}
