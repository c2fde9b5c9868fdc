package journey

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/leadkit/leadkit"
)

// Pseudo-items that mark where a path starts and ends in [Transition]s.
const (
	PathStart = "(start)"
	PathEnd   = "(end)"
)

// PathCount is a distinct path with the number of leads that took it.
type PathCount struct {
	Items []string `json:"items"`
	Count int      `json:"count"`
}

// Transition counts how often From is directly followed by To over all paths
// (PathStart and PathEnd mark the ends; an empty path is PathStart ->
// PathEnd).
type Transition struct {
	From  string `json:"from"`
	To    string `json:"to"`
	Count int    `json:"count"`
}

// PathOptions says how a [PathAccumulator] cuts paths before counting
// them. The zero value counts whole paths as they are. It is data: load it
// from JSON or YAML with [ParsePathOptions]; unknown keys are errors.
type PathOptions struct {
	// MaxLength truncates paths to their first MaxLength items (0: whole;
	// negative is an error).
	MaxLength int `json:"max_length,omitempty"`
	// CollapseRepeats merges runs of the same item before counting (web,
	// web, email -> web, email), before MaxLength cuts.
	CollapseRepeats bool `json:"collapse_repeats,omitempty"`
}

// validate checks o; errors wrap leadkit.ErrInvalid.
func (o PathOptions) validate() error {
	if o.MaxLength < 0 {
		return fmt.Errorf("journey: path options: %w: max length %d is negative", leadkit.ErrInvalid, o.MaxLength)
	}
	return nil
}

// PathAccumulator counts whole paths (e.g. the channel sequences of leads)
// and their first-order transitions. Counts are additive, so shards merge
// by addition and the result equals one pass. Not safe for concurrent use.
type PathAccumulator struct {
	// MaxLength truncates paths to their first MaxLength items (0: whole).
	MaxLength int
	// CollapseRepeats merges runs of the same item before counting.
	CollapseRepeats bool

	paths map[string]*PathCount
	trans map[[2]string]int
	n     int
}

// NewPathAccumulator returns an empty accumulator; set its MaxLength and
// CollapseRepeats before adding paths.
func NewPathAccumulator() *PathAccumulator {
	return &PathAccumulator{paths: map[string]*PathCount{}, trans: map[[2]string]int{}}
}

// Add counts one path.
func (a *PathAccumulator) Add(path []string) {
	p := make([]string, 0, len(path))
	for i, it := range path {
		if a.CollapseRepeats && i > 0 && it == path[i-1] {
			continue
		}
		p = append(p, it)
	}
	if a.MaxLength > 0 && len(p) > a.MaxLength {
		p = p[:a.MaxLength]
	}
	a.addN(p, 1)
}

func (a *PathAccumulator) addN(p []string, n int) {
	var sb strings.Builder
	writeKey(&sb, p)
	c := a.paths[sb.String()]
	if c == nil {
		c = &PathCount{Items: slices.Clone(p)}
		a.paths[sb.String()] = c
	}
	c.Count += n
	a.n += n
	prev := PathStart
	for _, it := range p {
		a.trans[[2]string{prev, it}] += n
		prev = it
	}
	a.trans[[2]string{prev, PathEnd}] += n
}

// Merge adds other's counts into a. Both must have the same MaxLength and
// CollapseRepeats (paths were cut and collapsed as they were added), else
// Merge changes nothing and returns an error wrapping leadkit.ErrInvalid.
func (a *PathAccumulator) Merge(other *PathAccumulator) error {
	if a.MaxLength != other.MaxLength || a.CollapseRepeats != other.CollapseRepeats {
		return fmt.Errorf("journey: paths: %w: cannot merge accumulators with different settings (max length %d and %d, collapse repeats %t and %t)",
			leadkit.ErrInvalid, a.MaxLength, other.MaxLength, a.CollapseRepeats, other.CollapseRepeats)
	}
	for _, c := range other.paths {
		var sb strings.Builder
		writeKey(&sb, c.Items)
		d := a.paths[sb.String()]
		if d == nil {
			d = &PathCount{Items: slices.Clone(c.Items)}
			a.paths[sb.String()] = d
		}
		d.Count += c.Count
	}
	for k, n := range other.trans {
		a.trans[k] += n
	}
	a.n += other.n
	return nil
}

// Len returns the number of paths added.
func (a *PathAccumulator) Len() int { return a.n }

// Top returns the n most common paths (all when n <= 0), by count
// (descending) then items.
func (a *PathAccumulator) Top(n int) []PathCount {
	out := make([]PathCount, 0, len(a.paths))
	for _, c := range a.paths {
		out = append(out, PathCount{Items: slices.Clone(c.Items), Count: c.Count})
	}
	slices.SortFunc(out, func(x, y PathCount) int {
		if c := cmp.Compare(y.Count, x.Count); c != 0 {
			return c
		}
		return slices.Compare(x.Items, y.Items)
	})
	if n > 0 && len(out) > n {
		out = out[:n]
	}
	return out
}

// Transitions returns every transition, sorted by From then To.
func (a *PathAccumulator) Transitions() []Transition {
	keys := slices.SortedFunc(maps.Keys(a.trans), func(x, y [2]string) int {
		if c := cmp.Compare(x[0], y[0]); c != 0 {
			return c
		}
		return cmp.Compare(x[1], y[1])
	})
	out := make([]Transition, len(keys))
	for i, k := range keys {
		out[i] = Transition{From: k[0], To: k[1], Count: a.trans[k]}
	}
	return out
}
