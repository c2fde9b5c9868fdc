package attribution

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

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

// Result is the credit a model gives each channel.
//
// Every model conserves credit: the sum of Conversions equals the total
// conversions of its input and the sum of Value the total value (up to
// floating-point rounding). A channel that received no credit may be absent
// or zero.
type Result struct {
	// Conversions is the conversion credit per channel.
	Conversions map[string]float64 `json:"conversions"`
	// Value is the value credit per channel.
	Value map[string]float64 `json:"value"`
	// RemovalEffects is set by [Markov]: per channel, the relative drop
	// 1 - P(convert without the channel) / P(convert).
	RemovalEffects map[string]float64 `json:"removal_effects,omitempty"`
	// ValueRemovalEffects is set by [Markov]: per channel, the relative drop
	// of the chain's expected conversion value when the channel is removed.
	ValueRemovalEffects map[string]float64 `json:"value_removal_effects,omitempty"`
	// ConversionProbability is set by [Markov]: the probability that the
	// fitted chain reaches the conversion state from the start. It equals
	// total conversions / (total conversions + total nulls).
	ConversionProbability float64 `json:"conversion_probability,omitempty"`
}

// TotalConversions is the sum of the conversion credit.
func (r Result) TotalConversions() float64 { return sumMap(r.Conversions) }

// TotalValue is the sum of the value credit.
func (r Result) TotalValue() float64 { return sumMap(r.Value) }

// Channels lists the channels that appear in the result, sorted.
func (r Result) Channels() []string {
	seen := make(map[string]struct{}, len(r.Conversions))
	for c := range r.Conversions {
		seen[c] = struct{}{}
	}
	for c := range r.Value {
		seen[c] = struct{}{}
	}
	out := make([]string, 0, len(seen))
	for c := range seen {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

func sumMap(m map[string]float64) float64 {
	// Sum in sorted key order so that the total is deterministic.
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var s float64
	for _, k := range keys {
		s += m[k]
	}
	return s
}

// Model is a path-based attribution model. Attribute validates every path
// first and returns an error listing every bad one (wrapping
// [leadkit.ErrInvalid]) without computing anything; otherwise the result
// conserves credit. Models are plain values, safe for concurrent use.
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

// PathError reports a bad [Path] given to a model: its index in the input and
// the problem. It wraps [leadkit.ErrInvalid].
type PathError struct {
	// Index is the position of the path in the input slice.
	Index int
	// Field names the offending field ("channels", "conversions", "value",
	// "nulls").
	Field string
	// Reason says what is wrong.
	Reason string
}

// Error implements the error interface.
func (e *PathError) Error() string {
	return fmt.Sprintf("attribution: path %d: %s: %s", e.Index, e.Field, e.Reason)
}

// Unwrap returns [leadkit.ErrInvalid].
func (e *PathError) Unwrap() error { return leadkit.ErrInvalid }

// maxPathErrors bounds how many path errors one call reports.
const maxPathErrors = 20

// ValidatePaths checks every path and returns an errors.Join of one
// *[PathError] per problem (at most 20, then a count of the rest), or nil.
// A path needs at least one non-empty channel name; its counts must be
// finite and non-negative; Value must be zero when Conversions is zero (a
// value without a conversion cannot be credited).
func ValidatePaths(paths []Path) error {
	var errs []error
	more := 0
	add := func(i int, field, reason string) {
		if len(errs) < maxPathErrors {
			errs = append(errs, &PathError{Index: i, Field: field, Reason: reason})
		} else {
			more++
		}
	}
	for i := range paths {
		p := &paths[i]
		if len(p.Channels) == 0 {
			add(i, "channels", "empty path")
		} else if slices.Contains(p.Channels, "") {
			add(i, "channels", "empty channel name")
		}
		if r := badCount(p.Conversions); r != "" {
			add(i, "conversions", r)
		}
		if r := badCount(p.Value); r != "" {
			add(i, "value", r)
		} else if p.Value != 0 && p.Conversions == 0 {
			add(i, "value", "value without conversions")
		}
		if r := badCount(p.Nulls); r != "" {
			add(i, "nulls", r)
		}
	}
	if more > 0 {
		errs = append(errs, fmt.Errorf("attribution: %d more path errors: %w", more, leadkit.ErrInvalid))
	}
	return errors.Join(errs...)
}

func badCount(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 0):
		return "infinite"
	case v < 0:
		return fmt.Sprintf("negative (%g)", v)
	}
	return ""
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

// creditSheet accumulates conversion and value credit per interned channel.
type creditSheet struct {
	in         *interner
	conv, val  []float64
	idsScratch []int32
}

func newCreditSheet() *creditSheet { return &creditSheet{in: newInterner()} }

// intern returns the ids of p's channels in a buffer reused across calls.
func (s *creditSheet) intern(channels []string) []int32 {
	ids := s.idsScratch[:0]
	for _, c := range channels {
		id := s.in.id(c)
		ids = append(ids, id)
	}
	s.idsScratch = ids
	if n := len(s.in.names); n > len(s.conv) {
		s.conv = append(s.conv, make([]float64, n-len(s.conv))...)
		s.val = append(s.val, make([]float64, n-len(s.val))...)
	}
	return ids
}

// id interns one channel name, growing the sheet as needed.
func (s *creditSheet) id(name string) int32 {
	id := s.in.id(name)
	if int(id) >= len(s.conv) {
		s.conv = append(s.conv, 0)
		s.val = append(s.val, 0)
	}
	return id
}

// give credits share of p's conversions and value to channel id.
func (s *creditSheet) give(id int32, share float64, p *Path) {
	s.conv[id] += share * p.Conversions
	s.val[id] += share * p.Value
}

func (s *creditSheet) result() Result {
	r := Result{
		Conversions: make(map[string]float64, len(s.in.names)),
		Value:       make(map[string]float64, len(s.in.names)),
	}
	for id, name := range s.in.names {
		if s.conv[id] != 0 || s.val[id] != 0 {
			r.Conversions[name] = s.conv[id]
			r.Value[name] = s.val[id]
		}
	}
	return r
}
