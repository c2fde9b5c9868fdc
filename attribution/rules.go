package attribution

import (
	"fmt"
	"math"

	"github.com/leadkit/leadkit"
)

// FirstTouch gives all the credit of a path to its first channel.
type FirstTouch struct{}

// Attribute implements [Model].
func (FirstTouch) Attribute(paths []Path) (Result, error) {
	return ruleBased(paths, func(s *creditSheet, ids []int32, p *Path) {
		s.give(ids[0], 1, p)
	})
}

// LastTouch gives all the credit of a path to its last channel.
type LastTouch struct{}

// Attribute implements [Model].
func (LastTouch) Attribute(paths []Path) (Result, error) {
	return ruleBased(paths, func(s *creditSheet, ids []int32, p *Path) {
		s.give(ids[len(ids)-1], 1, p)
	})
}

// DefaultDirect is the channel name [LastNonDirect] treats as direct when
// its Direct field is empty.
const DefaultDirect = "direct"

// LastNonDirect gives all the credit of a path to its last channel that is
// not direct traffic, as Google Analytics' "last non-direct click" does. A
// path made only of direct touches gives its credit to direct.
type LastNonDirect struct {
	// Direct is the channel name of direct traffic (exact match); empty
	// means [DefaultDirect].
	Direct string `json:"direct,omitempty"`
	// AlsoDirect lists further channel names treated as direct.
	AlsoDirect []string `json:"also_direct,omitempty"`
}

// Attribute implements [Model].
func (m LastNonDirect) Attribute(paths []Path) (Result, error) {
	direct := m.Direct
	if direct == "" {
		direct = DefaultDirect
	}
	var isDirect []bool // by channel id, grown lazily
	return ruleBased(paths, func(s *creditSheet, ids []int32, p *Path) {
		for len(isDirect) < len(s.in.names) {
			name := s.in.names[len(isDirect)]
			d := name == direct
			for _, a := range m.AlsoDirect {
				d = d || name == a
			}
			isDirect = append(isDirect, d)
		}
		pick := ids[len(ids)-1]
		for i := len(ids) - 1; i >= 0; i-- {
			if !isDirect[ids[i]] {
				pick = ids[i]
				break
			}
		}
		s.give(pick, 1, p)
	})
}

// Linear splits the credit of a path equally over its touches: a channel seen
// twice in a path of n touches gets 2/n.
type Linear struct{}

// Attribute implements [Model].
func (Linear) Attribute(paths []Path) (Result, error) {
	return ruleBased(paths, func(s *creditSheet, ids []int32, p *Path) {
		share := 1 / float64(len(ids))
		for _, id := range ids {
			s.give(id, share, p)
		}
	})
}

// PositionBased (the "U-shaped" or "bathtub" rule on paths) gives the first
// touch the share First, the last touch the share Last and splits the rest
// equally over the touches in between.
//
// Edge rules: a path of one touch gives it everything; a path of two touches
// has no middle, so its credit is split First:Last re-normalised (half each
// for the default 0.4/0.4, and half each when both are 0). The zero value
// means First = Last = 0.4; set Explicit to use First and Last as written
// even when both are 0 (everything to the middle touches). First and Last
// must be in [0, 1] and sum to at most 1; a sum above 1 by rounding (up to
// 1e-12) is scaled back to 1, so credit is always conserved.
type PositionBased struct {
	// First is the share of the first touch.
	First float64 `json:"first"`
	// Last is the share of the last touch.
	Last float64 `json:"last"`
	// Explicit takes First and Last as written even when both are 0;
	// without it, First = Last = 0 means the default 0.4/0.4.
	Explicit bool `json:"explicit,omitempty"`
}

// Validate reports whether the shares are usable.
func (m PositionBased) Validate() error {
	f, l := m.rawShares()
	if math.IsNaN(f) || math.IsNaN(l) || f < 0 || l < 0 || f+l > 1+1e-12 {
		return fmt.Errorf("attribution: position-based: %w: shares first=%g last=%g must be in [0, 1] and sum to at most 1", leadkit.ErrInvalid, f, l)
	}
	return nil
}

func (m PositionBased) rawShares() (first, last float64) {
	if m.First == 0 && m.Last == 0 && !m.Explicit {
		return 0.4, 0.4
	}
	return m.First, m.Last
}

// shares returns the validated shares, scaled to sum to at most 1 exactly.
func (m PositionBased) shares() (first, last float64) {
	first, last = m.rawShares()
	if s := first + last; s > 1 {
		// Scale back; last takes the remainder so that the sum is 1
		// exactly and nothing is left for the middle.
		first = first / s
		last = 1 - first
	}
	return first, last
}

// Attribute implements [Model].
func (m PositionBased) Attribute(paths []Path) (Result, error) {
	if err := m.Validate(); err != nil {
		return Result{}, err
	}
	first, last := m.shares()
	twoFirst := 0.5 // both shares 0: no reason to favour either end
	if first+last > 0 {
		twoFirst = first / (first + last)
	}
	mid := max(0, 1-first-last)
	return ruleBased(paths, func(s *creditSheet, ids []int32, p *Path) {
		n := len(ids)
		switch n {
		case 1:
			s.give(ids[0], 1, p)
		case 2:
			s.give(ids[0], twoFirst, p)
			s.give(ids[1], 1-twoFirst, p)
		default:
			s.give(ids[0], first, p)
			s.give(ids[n-1], last, p)
			if mid > 0 {
				each := mid / float64(n-2)
				for _, id := range ids[1 : n-1] {
					s.give(id, each, p)
				}
			}
		}
	})
}

// ruleBased validates paths and runs rule for every path that carries
// conversions or value, with the path's interned channel ids. Validation
// and credit share one pass over the paths (they are read once); after
// the first bad path only validation goes on, and any bad path means an
// error and no result, as if the paths had been validated first.
func ruleBased(paths []Path, rule func(s *creditSheet, ids []int32, p *Path)) (Result, error) {
	if err := checkPathCount(len(paths)); err != nil {
		return Result{}, err
	}
	var pc pathChecker
	s := newCreditSheet()
	for i := range paths {
		p := &paths[i]
		if !pc.check(i, p) || pc.failed() || (p.Conversions == 0 && p.Value == 0) {
			continue
		}
		rule(s, s.intern(p.Channels), p)
	}
	if err := pc.err(); err != nil {
		return Result{}, err
	}
	return s.finalResult()
}
