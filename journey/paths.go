package journey

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/text"
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

// PathResult is what a [PathAccumulator] counted.
type PathResult struct {
	// Total is the number of paths added.
	Total int `json:"total"`
	// Paths are the distinct paths (after CollapseRepeats and MaxLength)
	// with their counts, by count (descending) then items.
	Paths []PathCount `json:"paths"`
	// Transitions are the first-order transitions, by From then To.
	Transitions []Transition `json:"transitions"`
}

// Top returns the n most common paths of r (all when n <= 0 or n exceeds
// them); it shares r's slice.
func (r PathResult) Top(n int) []PathCount {
	if n > 0 && n < len(r.Paths) {
		return r.Paths[:n]
	}
	return r.Paths
}

// PathAccumulator counts whole paths (e.g. the channel sequences of leads,
// see [Sequence]) and their first-order transitions. It follows the
// accumulator contract of the leadkit module (see "Specs, results and
// accumulators" in the root package documentation): counts are additive,
// so shards merge by addition and the result equals one pass. Not safe for
// concurrent use.
type PathAccumulator struct {
	opts  PathOptions
	paths map[string]*PathCount
	trans map[[2]string]int
	n     int
	// steps counts the transitions, held at MaxCount: every count in
	// trans is at most it, so a path of k transitions counted n more
	// times stays under MaxCount, without a look at its transitions, when
	// steps + n*k does.
	steps int
	key   strings.Builder
	buf   []string
	near  map[[2]string]int // scratch of fits near the cap
}

// NewPathAccumulator returns an empty accumulator that cuts paths as opts
// says. Invalid options are an error wrapping [leadkit.ErrInvalid].
func NewPathAccumulator(opts PathOptions) (*PathAccumulator, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	return &PathAccumulator{opts: opts, paths: map[string]*PathCount{}, trans: map[[2]string]int{}}, nil
}

// Options returns the options a was made with.
func (a *PathAccumulator) Options() PathOptions { return a.opts }

// Add counts one path (not retained). A path with an item that is empty,
// not valid text, over [leadkit.MaxStringBytes] or one of the markers
// [PathStart] and [PathEnd] is refused with a [*PathError] and nothing is
// counted. A path that would take the paths counted (Total) or the count
// of one of its transitions past [MaxCount] is refused with an error
// wrapping [leadkit.ErrInvalid] naming the cap, and nothing is counted.
func (a *PathAccumulator) Add(path []string) error {
	if err := checkPath("path", path, true); err != nil {
		return err
	}
	p := a.buf[:0]
	for i, it := range path {
		if a.opts.CollapseRepeats && i > 0 && it == path[i-1] {
			continue
		}
		p = append(p, it)
	}
	if a.opts.MaxLength > 0 && len(p) > a.opts.MaxLength {
		p = p[:a.opts.MaxLength]
	}
	a.buf = p[:0]
	if msg := a.fits(p, 1); msg != "" {
		return fmt.Errorf("journey: paths: %w: %s", leadkit.ErrInvalid, msg)
	}
	a.addN(p, 1)
	return nil
}

// fits returns why counting p n more times would take the paths or a
// transition past MaxCount, or "" when it would not.
func (a *PathAccumulator) fits(p []string, n int) string {
	if a.n > MaxCount-n {
		return fmt.Sprintf("more than %d paths (MaxCount)", MaxCount)
	}
	if k := len(p) + 1; (MaxCount-a.steps)/k >= n {
		return "" // steps + n*k <= MaxCount, without overflow
	}
	// Near the cap: each transition's count as it would be.
	if a.near == nil {
		a.near = map[[2]string]int{}
	}
	clear(a.near)
	prev := PathStart
	for i := range len(p) + 1 {
		to := PathEnd
		if i < len(p) {
			to = p[i]
		}
		a.near[[2]string{prev, to}]++
		prev = to
	}
	prev = PathStart
	for i := range len(p) + 1 { // in path order, so that the error names the first
		to := PathEnd
		if i < len(p) {
			to = p[i]
		}
		k := [2]string{prev, to}
		if a.near[k] > (MaxCount-a.trans[k])/n { // times n would pass the cap
			return fmt.Sprintf("transition %q -> %q more than %d times (MaxCount)", text.Clip(k[0], 64), text.Clip(k[1], 64), MaxCount)
		}
		prev = to
	}
	return ""
}

// addN counts p n times; fits(p, n) said it may.
func (a *PathAccumulator) addN(p []string, n int) {
	a.key.Reset()
	writeKey(&a.key, p)
	c := a.paths[a.key.String()]
	if c == nil {
		c = &PathCount{Items: cloneItems(p)}
		a.paths[a.key.String()] = c
	}
	c.Count += n
	a.n += n
	prev := PathStart
	for _, it := range p {
		a.trans[[2]string{prev, it}] += n
		prev = it
	}
	a.trans[[2]string{prev, PathEnd}] += n
	if k := len(p) + 1; (MaxCount-a.steps)/k < n {
		a.steps = MaxCount // held there: fits then looks at the transitions
	} else {
		a.steps += n * k
	}
}

// Merge adds other's counts into a; other is not modified. Accumulators
// with different options (paths were cut and collapsed as they were added)
// refuse to merge, and so does a merge that would take the paths counted
// (Total) or the count of a transition past [MaxCount]: Merge changes
// nothing and returns an error wrapping [leadkit.ErrInvalid].
func (a *PathAccumulator) Merge(other *PathAccumulator) error {
	if other == nil || other == a {
		return fmt.Errorf("journey: paths: %w: merge needs another accumulator (not nil, not itself)", leadkit.ErrInvalid)
	}
	if a.opts != other.opts {
		return fmt.Errorf("journey: paths: %w: cannot merge accumulators with different options (max length %d and %d, collapse repeats %t and %t)",
			leadkit.ErrMismatch, a.opts.MaxLength, other.opts.MaxLength, a.opts.CollapseRepeats, other.opts.CollapseRepeats)
	}
	if a.n > MaxCount-other.n {
		return fmt.Errorf("journey: paths: %w: merged, more than %d paths (MaxCount)", leadkit.ErrInvalid, MaxCount)
	}
	if a.steps > MaxCount-other.steps { // near the cap: each transition
		for _, k := range slices.SortedFunc(maps.Keys(other.trans), compareTransitions) {
			if a.trans[k] > MaxCount-other.trans[k] {
				return fmt.Errorf("journey: paths: %w: merged, transition %q -> %q more than %d times (MaxCount)", leadkit.ErrInvalid,
					text.Clip(k[0], 64), text.Clip(k[1], 64), MaxCount)
			}
		}
	}
	for _, c := range other.paths {
		a.key.Reset()
		writeKey(&a.key, c.Items)
		d := a.paths[a.key.String()]
		if d == nil {
			d = &PathCount{Items: cloneItems(c.Items)}
			a.paths[a.key.String()] = d
		}
		d.Count += c.Count
	}
	for k, n := range other.trans {
		a.trans[k] += n
	}
	a.n += other.n
	a.steps = upToMaxCount(a.steps, other.steps)
	return nil
}

// Len returns the number of paths added.
func (a *PathAccumulator) Len() int { return a.n }

// Result returns every distinct path with its count and every transition.
func (a *PathAccumulator) Result() PathResult {
	out := make([]PathCount, 0, len(a.paths))
	for _, c := range a.paths {
		out = append(out, PathCount{Items: cloneItems(c.Items), Count: c.Count})
	}
	slices.SortFunc(out, func(x, y PathCount) int {
		if c := cmp.Compare(y.Count, x.Count); c != 0 {
			return c
		}
		return slices.Compare(x.Items, y.Items)
	})
	keys := slices.SortedFunc(maps.Keys(a.trans), compareTransitions)
	trans := make([]Transition, len(keys))
	for i, k := range keys {
		trans[i] = Transition{From: k[0], To: k[1], Count: a.trans[k]}
	}
	return PathResult{Total: a.n, Paths: out, Transitions: trans}
}

// compareTransitions orders transitions by From, then To.
func compareTransitions(x, y [2]string) int {
	if c := cmp.Compare(x[0], y[0]); c != 0 {
		return c
	}
	return cmp.Compare(x[1], y[1])
}

// cloneItems copies p; an empty path is an empty list, never nil (null
// in JSON).
func cloneItems(p []string) []string { return append(make([]string, 0, len(p)), p...) }

// checkPath checks the items of a path or sequence (where names it in
// the error); markers says whether PathStart and PathEnd are refused.
func checkPath(where string, items []string, markers bool) error {
	for i, it := range items {
		msg := ""
		switch {
		case it == "":
			msg = "is empty"
		case markers && (it == PathStart || it == PathEnd):
			msg = "is a marker, not an item"
		default:
			msg = leadkit.CheckText(it, leadkit.MaxStringBytes)
		}
		if msg != "" {
			return &PathError{Where: where, Item: i + 1, Value: it, Msg: msg}
		}
	}
	return nil
}
