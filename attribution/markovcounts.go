package attribution

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/journey"
)

// NewMarkovCounts returns an empty [MarkovCounts] accumulator for the chain
// of m (its order and repeat handling), or the error of [Markov.Validate].
func NewMarkovCounts(m Markov) (*MarkovCounts, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	c := &MarkovCounts{
		order:            m.order(),
		keepRepeats:      m.KeepRepeats,
		collapseChannels: m.CollapseChannels,
		in:               newInterner(),
		stateIDs:         make(map[string]int32, 64),
	}
	c.rows = append(c.rows, edgeRow{}) // the start state
	c.stateChans = append(c.stateChans, nil)
	c.convValue = append(c.convValue, 0)
	return c, nil
}

// Special targets of a transition besides transient states.
const (
	stateStart int32 = 0
	toConv     int32 = -1
	toNull     int32 = -2
)

// edgeRow holds the weighted transitions out of one state. Rows are short
// (at most the number of channels + 2), so lookups scan; a row that grows
// long gets an index map.
type edgeRow struct {
	to    []int32
	w     []float64
	index map[int32]int32
}

const rowIndexAt = 48

func (r *edgeRow) add(to int32, w float64) {
	if r.index != nil {
		if i, ok := r.index[to]; ok {
			r.w[i] += w
			return
		}
	} else {
		for i, t := range r.to {
			if t == to {
				r.w[i] += w
				return
			}
		}
	}
	r.to = append(r.to, to)
	r.w = append(r.w, w)
	if r.index != nil {
		r.index[to] = int32(len(r.to) - 1)
	} else if len(r.to) > rowIndexAt {
		r.index = make(map[int32]int32, 2*len(r.to))
		for i, t := range r.to {
			r.index[t] = int32(i)
		}
	}
}

// MarkovCounts accumulates the transition counts of a [Markov] chain: the
// accumulator of the model, with the contract every leadkit accumulator
// follows (see the package leadkit documentation, "Specs, results and
// accumulators"). Make one per shard with [NewMarkovCounts], fill it with
// Add or AddPaths, combine shards with Merge and solve with Result; the
// result does not depend on how the paths were split or in which order they
// were added (up to floating-point rounding of the solve).
//
// Result returns an error besides the result, unlike the counting
// accumulators of other packages: solving the chain can fail (too many
// channels or states, a solve over its work budget), and those limits are
// checked on the whole chain, not per path. A MarkovCounts is not safe for
// concurrent use; give each goroutine its own.
type MarkovCounts struct {
	order            int
	keepRepeats      bool
	collapseChannels bool
	in               *interner
	// states: id 0 is Start; others are windows of channel ids.
	stateIDs   map[string]int32
	stateChans [][]int32 // channel ids of each state's window
	order1     []int32   // order 1: state id by channel id (0 = none yet)
	rows       []edgeRow // by state id
	convValue  []float64 // by state id: value of conversions leaving it
	added      int
	conv, val  float64
	nulls      float64
	// full is set once the chain has more than MaxMarkovStates states:
	// from then on paths add to the totals and the channel names only,
	// and AttributeCounts refuses the counts.
	full bool

	ids []int32 // scratch
	key []byte  // scratch
}

// Order returns the chain order the counts were built for.
func (c *MarkovCounts) Order() int { return c.order }

// Spec returns the model the counts were made for (its Order is at least
// 1).
func (c *MarkovCounts) Spec() Markov {
	return Markov{Order: c.order, KeepRepeats: c.keepRepeats, CollapseChannels: c.collapseChannels}
}

// Result solves the chain of everything added so far and credits its
// channels, as [Markov.Attribute] does over the same paths in one pass.
// Counts over the caps of [Markov] are refused with an error wrapping
// [leadkit.ErrInvalid]; the counts are not changed, by this or by a
// failure.
func (c *MarkovCounts) Result() (Result, error) { return c.Spec().AttributeCounts(c) }

// States returns the number of channel states seen so far (Start
// excluded). Once it passes [MaxMarkovStates] no further states are made
// (the counts can no longer be solved), so it stays near the cap.
func (c *MarkovCounts) States() int { return len(c.rows) - 1 }

// Channels returns the number of distinct channels seen so far on paths
// of non-zero weight (see [MaxChannels]).
func (c *MarkovCounts) Channels() int { return len(c.in.names) }

// Paths returns the number of paths added so far, merged ones included:
// at most [journey.MaxCount].
func (c *MarkovCounts) Paths() int { return c.added }

// Totals returns the conversions, value and nulls added so far.
func (c *MarkovCounts) Totals() (conversions, value, nulls float64) {
	return c.conv, c.val, c.nulls
}

// AddPaths validates every path (see [ValidatePaths]: at most [MaxPaths] a
// call) and, if all are valid, adds them; otherwise it adds nothing and
// returns the errors. Any number of calls may add to the same counts, up
// to [journey.MaxCount] paths: paths that would take the paths added
// past it are refused with an error wrapping [leadkit.ErrInvalid] naming
// the cap, and nothing is added.
func (c *MarkovCounts) AddPaths(paths []Path) error {
	if err := ValidatePaths(paths); err != nil {
		return err
	}
	if c.added > journey.MaxCount-len(paths) {
		return c.overCap("")
	}
	for i := range paths {
		c.add(&paths[i])
	}
	c.added += len(paths)
	return nil
}

// Add validates p and adds it. On error nothing is added and the
// *[PathError] carries as Index the number of paths added before. Once
// [journey.MaxCount] paths were added, Add refuses every path with an
// error wrapping [leadkit.ErrInvalid] naming the cap.
func (c *MarkovCounts) Add(p Path) error {
	if err := ValidatePaths([]Path{p}); err != nil {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				var pe *PathError
				if errors.As(e, &pe) {
					pe.Index = c.added
				}
			}
		}
		return err
	}
	if c.added == journey.MaxCount {
		return c.overCap("")
	}
	c.add(&p)
	c.added++
	return nil
}

// overCap is the error of an Add, AddPaths or Merge (how: "merged, ")
// that would count more than journey.MaxCount paths.
func (c *MarkovCounts) overCap(how string) error {
	return fmt.Errorf("attribution: markov: %w: %smore than %d paths (journey.MaxCount)", leadkit.ErrInvalid, how, journey.MaxCount)
}

func (c *MarkovCounts) add(p *Path) {
	w := p.Conversions + p.Nulls
	if w == 0 {
		return
	}
	c.conv += p.Conversions
	c.val += p.Value
	c.nulls += p.Nulls
	if c.full {
		for _, ch := range p.Channels {
			c.in.id(ch) // the channel count stays exact for the error
		}
		return
	}
	ids := c.ids[:0]
	for _, ch := range p.Channels {
		id := c.in.id(ch)
		if c.collapseChannels && len(ids) > 0 && ids[len(ids)-1] == id {
			continue
		}
		ids = append(ids, id)
	}
	c.ids = ids
	prev := stateStart
	for i := range ids {
		var s int32
		if c.order == 1 {
			s = c.order1State(ids[i])
		} else {
			s = c.windowState(ids[max(0, i-c.order+1) : i+1])
		}
		if s == prev && !c.keepRepeats {
			continue // the same window again: one state, one step
		}
		c.rows[prev].add(s, w)
		prev = s
	}
	if p.Conversions > 0 {
		c.rows[prev].add(toConv, p.Conversions)
		c.convValue[prev] += p.Value
	}
	if p.Nulls > 0 {
		c.rows[prev].add(toNull, p.Nulls)
	}
}

func (c *MarkovCounts) order1State(ch int32) int32 {
	for int(ch) >= len(c.order1) {
		c.order1 = append(c.order1, 0)
	}
	if s := c.order1[ch]; s != 0 {
		return s
	}
	s := c.newState([]int32{ch})
	c.order1[ch] = s
	return s
}

func (c *MarkovCounts) windowState(win []int32) int32 {
	key := c.key[:0]
	for _, id := range win {
		key = binary.LittleEndian.AppendUint32(key, uint32(id))
	}
	c.key = key
	if s, ok := c.stateIDs[string(key)]; ok {
		return s
	}
	s := c.newState(append([]int32(nil), win...))
	c.stateIDs[string(key)] = s
	return s
}

func (c *MarkovCounts) newState(win []int32) int32 {
	s := int32(len(c.rows))
	c.rows = append(c.rows, edgeRow{})
	c.stateChans = append(c.stateChans, win)
	c.convValue = append(c.convValue, 0)
	if int(s) > MaxMarkovStates {
		c.full = true // the path being added still finishes
	}
	return s
}

// Merge adds the counts of o (built for the same order and repeat
// handling) to c. o is not modified. Counts of another spec (an error
// wrapping [leadkit.ErrMismatch]), nil, c itself, and counts that would
// take the paths added past [journey.MaxCount] are refused with an error
// wrapping [leadkit.ErrInvalid], and c is left as it was.
func (c *MarkovCounts) Merge(o *MarkovCounts) error {
	if o == nil {
		return fmt.Errorf("attribution: markov: %w: merge nil counts", leadkit.ErrInvalid)
	}
	if o == c {
		return fmt.Errorf("attribution: markov: %w: merge counts into themselves", leadkit.ErrInvalid)
	}
	if o.order != c.order || o.keepRepeats != c.keepRepeats || o.collapseChannels != c.collapseChannels {
		return fmt.Errorf("attribution: markov: %w: merge counts of order %d (%s) into order %d (%s)", leadkit.ErrMismatch,
			o.order, repeatsName(o.keepRepeats, o.collapseChannels), c.order, repeatsName(c.keepRepeats, c.collapseChannels))
	}
	if c.added > journey.MaxCount-o.added {
		return c.overCap("merged, ")
	}
	chanMap := make([]int32, len(o.in.names))
	for i, name := range o.in.names {
		chanMap[i] = c.in.id(name)
	}
	if c.full || o.full {
		c.full = true
		c.conv += o.conv
		c.val += o.val
		c.nulls += o.nulls
		c.added += o.added
		return nil
	}
	stateMap := make([]int32, len(o.rows))
	win := make([]int32, 0, c.order)
	for s := 1; s < len(o.rows); s++ {
		win = win[:0]
		for _, id := range o.stateChans[s] {
			win = append(win, chanMap[id])
		}
		if c.order == 1 {
			stateMap[s] = c.order1State(win[0])
		} else {
			stateMap[s] = c.windowState(win)
		}
	}
	for s := range o.rows {
		from := stateMap[s]
		r := &o.rows[s]
		for i, to := range r.to {
			if to > 0 {
				to = stateMap[to]
			}
			c.rows[from].add(to, r.w[i])
		}
		c.convValue[from] += o.convValue[s]
	}
	c.conv += o.conv
	c.val += o.val
	c.nulls += o.nulls
	c.added += o.added
	return nil
}

// checkSize refuses counts over the caps of [Markov] or with totals that
// are not finite.
func (c *MarkovCounts) checkSize() error {
	if n := len(c.in.names); n > MaxChannels {
		return fmt.Errorf("attribution: markov: %w: %d channels, at most %d (MaxChannels)", leadkit.ErrInvalid, n, MaxChannels)
	}
	if c.full {
		return fmt.Errorf("attribution: markov: %w: more than %d states (MaxMarkovStates) at order %d over %d channels: use a lower order or fewer channels", leadkit.ErrInvalid,
			MaxMarkovStates, c.order, len(c.in.names))
	}
	if !finite(c.conv) || !finite(c.val) || !finite(c.nulls) {
		return fmt.Errorf("attribution: markov: %w: totals are not finite (conversions %g, value %g, nulls %g)", leadkit.ErrInvalid, c.conv, c.val, c.nulls)
	}
	return nil
}
