package attribution

import (
	"fmt"
	"math"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/leadkit/leadkit"
)

// Path is one aggregated journey: the sequence of channels (or campaigns, or
// contents) that a group of leads touched, how many of them converted, the
// total value of those conversions and how many did not convert.
//
// Counts are float64 so that weighted or sampled data fit; they must be
// finite and non-negative. Rows of a table need not be unique: every model
// treats two Paths with the same Channels like one Path with the summed
// counts.
type Path struct {
	// Channels are the touches in time order. Repeats are real touches.
	Channels []string `json:"channels"`
	// Conversions is the number of journeys along this path that converted.
	Conversions float64 `json:"conversions"`
	// Value is the total conversion value of those journeys.
	Value float64 `json:"value,omitempty"`
	// Nulls is the number of journeys along this path that did not convert.
	Nulls float64 `json:"nulls,omitempty"`
}

// String renders the path in the ChannelAttribution notation
// "a > b > c".
func (p Path) String() string { return strings.Join(p.Channels, " > ") }

// Model is a path-based attribution model. Attribute validates every path
// (see [ValidatePaths]); if one is bad it returns an error listing every
// bad one (wrapping [leadkit.ErrInvalid]) and no result; otherwise the
// result conserves credit. Models are plain values, safe for concurrent
// use.
type Model interface {
	Attribute(paths []Path) (Result, error)
}

var (
	_ Model = FirstTouch{}
	_ Model = LastTouch{}
	_ Model = LastNonDirect{}
	_ Model = Linear{}
	_ Model = PositionBased{}
	_ Model = Markov{}
	_ Model = Shapley{}
)

// Caps on a path table, the same for [ReadPaths], [ValidatePaths] and so
// every [Model]. Input over a cap is refused with an error wrapping
// [leadkit.ErrInvalid], never truncated. Channel names are at most
// [leadkit.MaxNameBytes] of valid UTF-8 without NUL bytes, as event
// channels are.
const (
	// MaxPaths caps the paths of one table: the rows ReadPaths reads and
	// the paths one call of a model, of ValidatePaths or of
	// [MarkovCounts.AddPaths] takes. Bigger inputs are split into shards:
	// rule-based results add up key by key and a [MarkovCounts]
	// accumulates any number of AddPaths calls.
	MaxPaths = 10_000_000
	// MaxPathTouches caps the touches of one path. The longest path of
	// ChannelAttribution's demo table has 89; journeys cut from timelines
	// without a lookback can be much longer.
	MaxPathTouches = 10_000
	// MaxPathCount caps a path's Conversions, Value and Nulls. Below it
	// every integer count is exact in float64 (2^53 is about 9.007e15),
	// and the totals of [MaxPaths] paths at the cap (1e22) stay finite by
	// far, with a relative rounding error of at most MaxPaths * 2^-53
	// (about 1e-9) however they are summed. A conversion value of a
	// timeline ([Conversion.ValueAttr]) has the same cap.
	MaxPathCount = 1e15
)

// ValidatePaths checks every path and returns an errors.Join of one
// *[PathError] per problem (at most 20, then a count of the rest), or nil.
// A table holds at most [MaxPaths] paths. A path needs 1 to
// [MaxPathTouches] touches, each a channel name of 1 to
// [leadkit.MaxNameBytes] bytes of valid UTF-8 without NUL bytes; its counts
// must be finite, non-negative and at most [MaxPathCount]; Value must be
// zero when Conversions is zero (a value without a conversion cannot be
// credited).
func ValidatePaths(paths []Path) error {
	if err := checkPathCount(len(paths)); err != nil {
		return err
	}
	var pc pathChecker
	for i := range paths {
		pc.check(i, &paths[i])
	}
	return pc.err()
}

// maxPaths is MaxPaths; tests lower it.
var maxPaths = MaxPaths

// checkPathCount refuses tables of more than MaxPaths paths.
func checkPathCount(n int) error {
	if n > maxPaths {
		return fmt.Errorf("attribution: %w: %d paths, at most %d (MaxPaths): split the table into shards", leadkit.ErrInvalid, n, maxPaths)
	}
	return nil
}

// pathChecker checks paths one by one (the rules of ValidatePaths) and
// collects the problems.
type pathChecker struct {
	errs  errorList
	names nameCache
}

func (pc *pathChecker) add(i int, field, reason string) {
	pc.errs.add(&PathError{Index: i, Field: field, Reason: reason})
}

// failed reports whether a problem was found.
func (pc *pathChecker) failed() bool { return pc.errs.failed() }

// check checks path i and reports whether it is valid.
func (pc *pathChecker) check(i int, p *Path) bool {
	ok := true
	switch n := len(p.Channels); {
	case n == 0:
		pc.add(i, "channels", "empty path")
		ok = false
	case n > MaxPathTouches:
		pc.add(i, "channels", fmt.Sprintf("%d touches, at most %d (MaxPathTouches)", n, MaxPathTouches))
		ok = false
	default:
		for j, c := range p.Channels {
			if !pc.names.valid(c) {
				if c == "" {
					pc.add(i, "channels", badChannel(c))
				} else {
					pc.add(i, "channels", fmt.Sprintf("touch %d: %s", j+1, badChannel(c)))
				}
				ok = false
				break
			}
		}
	}
	if !countOK(p.Conversions) {
		pc.add(i, "conversions", badCount(p.Conversions))
		ok = false
	}
	if !countOK(p.Value) {
		pc.add(i, "value", badCount(p.Value))
		ok = false
	} else if p.Value != 0 && p.Conversions == 0 {
		pc.add(i, "value", "value without conversions")
		ok = false
	}
	if !countOK(p.Nulls) {
		pc.add(i, "nulls", badCount(p.Nulls))
		ok = false
	}
	return ok
}

// err returns the problems found, an errors.Join of *PathErrors and a count
// of the rest, or nil.
func (pc *pathChecker) err() error { return pc.errs.err("path errors") }

// countOK reports whether v is a usable count: in [0, MaxPathCount] (NaN
// fails both comparisons).
func countOK(v float64) bool { return v >= 0 && v <= MaxPathCount }

// badCount says what is wrong with a count that is not countOK.
func badCount(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 0):
		return "infinite"
	case v < 0:
		return fmt.Sprintf("negative (%g)", v)
	case v > MaxPathCount:
		return fmt.Sprintf("%g is over the cap of %g", v, float64(MaxPathCount))
	}
	return ""
}

// badChannel says what is wrong with a channel name c that is not
// channelOK.
func badChannel(c string) string {
	if c == "" {
		return "empty channel name"
	}
	return "channel name " + leadkit.CheckText(c, leadkit.MaxNameBytes)
}

// channelOK reports whether c is a usable channel name: non-empty and
// passing [leadkit.CheckText] with [leadkit.MaxNameBytes].
func channelOK(c string) bool {
	if len(c) == 0 || len(c) > leadkit.MaxNameBytes {
		return false
	}
	for i := 0; i < len(c); i++ {
		if b := c[i]; b == 0 || b >= utf8.RuneSelf {
			return leadkit.CheckText(c, leadkit.MaxNameBytes) == ""
		}
	}
	return true
}

// nameCache remembers a few channel names already found valid, so that a
// table whose paths share their name strings (as ReadPaths's do) checks
// each name once rather than once per touch. A hit compares the whole
// string (equal pointers make that immediate), so a collision only costs
// a check.
type nameCache [64]string

func (nc *nameCache) valid(c string) bool {
	if len(c) == 0 {
		return false
	}
	p := unsafe.StringData(c)
	h := (int(uintptr(unsafe.Pointer(p))>>3) ^ len(c)) & (len(nc) - 1)
	if e := nc[h]; len(e) == len(c) && (unsafe.StringData(e) == p || e == c) {
		return true
	}
	if !channelOK(c) {
		return false
	}
	nc[h] = c
	return true
}

// Totals returns the total conversions, value and nulls of paths.
func Totals(paths []Path) (conversions, value, nulls float64) {
	for i := range paths {
		conversions += paths[i].Conversions
		value += paths[i].Value
		nulls += paths[i].Nulls
	}
	return conversions, value, nulls
}

// interner maps channel names to dense ids. Credit is accumulated in slices
// indexed by id and turned into maps once at the end, so that models do one
// map lookup per touch and no allocation per path.
type interner struct {
	ids   map[string]int32
	names []string
}

func newInterner() *interner { return &interner{ids: make(map[string]int32, 32)} }

func (in *interner) id(name string) int32 {
	if id, ok := in.ids[name]; ok {
		return id
	}
	id := int32(len(in.names))
	in.ids[name] = id
	in.names = append(in.names, name)
	return id
}
