package attribution

import (
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/spec"
)

// Spec is every attribution spec a user writes: the options of the models
// that have any, the [Conversion] that cuts timelines, and the options of
// [ReadPaths] and [NewROIReport]. [FirstTouch], [LastTouch], [Linear] and
// [Shapley] have no options. It is a constraint for [Parse].
type Spec interface {
	Conversion | Markov | PositionBased | LastNonDirect | TimeDecay |
		UShaped | WShaped | FullPath | CustomRoles | CSVOptions | ROIOptions | CostTable
}

// Parse decodes one spec from JSON or YAML (YAML is a superset of JSON) of
// at most [leadkit.MaxDocumentBytes], for example
// Parse[Markov]([]byte("order: 2")) or
// Parse[Conversion]([]byte(`{"types": ["mql"], "lookback": "2w"}`)).
//
// Unknown, miscased and duplicate keys are errors (a typo such as
// "lookbak" would otherwise drop the window silently), and so is a
// duration written as a bare number ("half_life": 7 would otherwise be 7
// ns): durations are text in leadkit's one grammar ("90m", "36h", "14d",
// "2w"; see [leadkit.ParseDuration]). The delimiter of [CSVOptions] is a
// one-character string (";", "\t"). Errors wrap [leadkit.ErrInvalid] and
// name the spec ("attribution: markov: ...").
//
// Parse does not validate the values: the model (or [ReadPaths],
// [NewROIReport]) does when it runs, and Validate methods
// ([Conversion.Validate], [Markov.Validate], [PositionBased.Validate],
// [RoleWeights.Validate]) check them beforehand.
func Parse[T Spec](data []byte) (T, error) {
	var v T
	if err := spec.Parse(data, &v); err != nil {
		var zero T
		return zero, spec.Prefixed("attribution: "+specName(any(zero))+": ", err)
	}
	return v, nil
}

// specName names a spec in errors, as its own errors do.
func specName(v any) string {
	switch v.(type) {
	case Conversion:
		return "conversion"
	case Markov:
		return "markov"
	case PositionBased:
		return "position-based"
	case LastNonDirect:
		return "last non-direct"
	case TimeDecay:
		return "time decay"
	case UShaped:
		return "u-shaped"
	case WShaped:
		return "w-shaped"
	case FullPath:
		return "full path"
	case CustomRoles:
		return "custom roles"
	case CSVOptions:
		return "csv options"
	case ROIOptions:
		return "roi options"
	case CostTable:
		return "costs"
	}
	return fmt.Sprintf("%T", v)
}

// MarshalJSON writes the lookback as text ("14d", "36h"; see
// leadkit.FormatDuration).
func (c Conversion) MarshalJSON() ([]byte, error) { return spec.EncodeDurations(c) }

// UnmarshalJSON reads the lookback as text ("14d", "36h"); a bare number and
// an unknown key are errors wrapping [leadkit.ErrInvalid].
func (c *Conversion) UnmarshalJSON(b []byte) error {
	return spec.DecodeDurations(b, c, "attribution: conversion: ")
}

// MarshalJSON writes the half-life as text ("14d", "36h"; see
// leadkit.FormatDuration).
func (m TimeDecay) MarshalJSON() ([]byte, error) { return spec.EncodeDurations(m) }

// UnmarshalJSON reads the half-life as text ("14d", "36h"); a bare number and
// an unknown key are errors wrapping [leadkit.ErrInvalid].
func (m *TimeDecay) UnmarshalJSON(b []byte) error {
	return spec.DecodeDurations(b, m, "attribution: time decay: ")
}

// MarshalJSON writes the delimiter as a one-character string (";").
func (o CSVOptions) MarshalJSON() ([]byte, error) {
	type plain CSVOptions
	var delim string
	if o.Delimiter != 0 {
		delim = string(o.Delimiter)
	}
	return json.Marshal(struct {
		plain
		Delimiter string `json:"delimiter,omitempty"`
	}{plain(o), delim})
}

// UnmarshalJSON reads the delimiter as a one-character string (";",
// "\t"); a number, a longer string and an unknown key are errors wrapping
// [leadkit.ErrInvalid].
func (o *CSVOptions) UnmarshalJSON(b []byte) error {
	type plain CSVOptions
	var j struct {
		*plain
		Delimiter *string `json:"delimiter,omitempty"`
	}
	j.plain = (*plain)(o)
	if err := spec.DecodeStrict(b, &j); err != nil {
		return spec.Prefixed("attribution: csv options: ", err)
	}
	if j.Delimiter == nil {
		return nil // absent or null: unchanged
	}
	r, n := utf8.DecodeRuneInString(*j.Delimiter)
	if n == 0 || n != len(*j.Delimiter) || r == utf8.RuneError {
		return fmt.Errorf("attribution: csv options: %w: delimiter %q: want one character", leadkit.ErrInvalid, *j.Delimiter)
	}
	o.Delimiter = r
	return nil
}
