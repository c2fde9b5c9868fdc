package attribution

import (
	"fmt"
	"slices"

	"github.com/leadkit/leadkit"
)

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

// finalResult is result, or an error if the credit does not sum to finite
// totals. Validated paths cannot get there (see [MaxPathCount]); the
// check makes sure no model ever returns infinite credit.
func (s *creditSheet) finalResult() (Result, error) {
	var conv, val float64
	for id := range s.in.names {
		conv += s.conv[id]
		val += s.val[id]
	}
	if !finite(conv) || !finite(val) {
		return Result{}, fmt.Errorf("attribution: %w: credit totals are not finite (conversions %g, value %g)", leadkit.ErrInvalid, conv, val)
	}
	return s.result(), nil
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
