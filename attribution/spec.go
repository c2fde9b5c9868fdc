package attribution

import (
	"encoding/json"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/spec"
)

// Options and conversions are data: they read and write JSON and YAML with
// their durations as text in leadkit's one duration grammar ("90m", "36h",
// "14d", "2w"; see [leadkit.ParseDuration]), while their Go fields stay
// plain time.Duration values. A bare number such as "half_life": 7 is an
// error (it would otherwise be 7 ns), and so is an unknown key (a typo such
// as "lookbak" would otherwise drop the window silently). Errors wrap
// [leadkit.ErrInvalid].

// MarshalJSON writes the lookback as text ("14d").
func (c Conversion) MarshalJSON() ([]byte, error) {
	type plain Conversion
	return json.Marshal(struct {
		plain
		Lookback leadkit.Duration `json:"lookback,omitempty"`
	}{plain(c), leadkit.Duration(c.Lookback)})
}

// UnmarshalJSON reads the lookback as text ("14d", "336h"); a bare number
// and an unknown key are errors wrapping [leadkit.ErrInvalid].
func (c *Conversion) UnmarshalJSON(b []byte) error {
	type plain Conversion
	var j struct {
		*plain
		Lookback json.RawMessage `json:"lookback,omitempty"`
	}
	j.plain = (*plain)(c)
	if err := spec.DecodeStrict(b, &j); err != nil {
		return spec.Prefixed("attribution: conversion: ", err)
	}
	return spec.ReadDuration("attribution: conversion: lookback", j.Lookback, &c.Lookback)
}

// MarshalJSON writes the half-life as text ("7d").
func (m TimeDecay) MarshalJSON() ([]byte, error) {
	type plain TimeDecay
	return json.Marshal(struct {
		plain
		HalfLife leadkit.Duration `json:"half_life,omitempty"`
	}{plain(m), leadkit.Duration(m.HalfLife)})
}

// UnmarshalJSON reads the half-life as text ("7d", "36h"); a bare number
// and an unknown key are errors wrapping [leadkit.ErrInvalid].
func (m *TimeDecay) UnmarshalJSON(b []byte) error {
	type plain TimeDecay
	var j struct {
		*plain
		HalfLife json.RawMessage `json:"half_life,omitempty"`
	}
	j.plain = (*plain)(m)
	if err := spec.DecodeStrict(b, &j); err != nil {
		return spec.Prefixed("attribution: time decay: ", err)
	}
	return spec.ReadDuration("attribution: time decay: half_life", j.HalfLife, &m.HalfLife)
}
