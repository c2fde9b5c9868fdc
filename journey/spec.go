package journey

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/spec"
)

// Specs and options are data: they read and write JSON and YAML with their
// durations as text in leadkit's one duration grammar ("90m", "36h", "14d",
// "2w"; see [leadkit.ParseDuration]), while their Go fields stay plain
// time.Duration values. A bare number such as "window": 3 is an error (it
// would otherwise be 3 ns), and so is an unknown key (a typo such as
// "stepz" would otherwise yield an empty funnel).

// ParseFunnelSpec decodes a funnel from JSON or YAML (YAML is a superset of
// JSON) of at most [leadkit.MaxDocumentBytes]. Unknown and duplicate keys
// and bare-number durations are errors wrapping [leadkit.ErrInvalid]. It
// does not validate the funnel: [CompileFunnel] does.
func ParseFunnelSpec(data []byte) (FunnelSpec, error) {
	var s FunnelSpec
	if err := spec.Parse(data, &s); err != nil {
		return FunnelSpec{}, spec.Prefixed("journey: funnel: ", err)
	}
	return s, nil
}

// ParsePatternOptions decodes the options of [MinePatterns],
// [MineTimedPatterns], [GoldenPaths] and [NewPatternAccumulator] from JSON
// or YAML, under the rules of [ParseFunnelSpec]: unknown, miscased and
// duplicate keys and bare-number durations (max_gap) are errors wrapping
// [leadkit.ErrInvalid]. It does not validate the values: the miner does.
func ParsePatternOptions(data []byte) (PatternOptions, error) {
	var o PatternOptions
	if err := spec.Parse(data, &o); err != nil {
		return PatternOptions{}, spec.Prefixed("journey: pattern options: ", err)
	}
	return o, nil
}

// ParseSourceAgeOptions decodes the options of [SourceAge] from JSON or
// YAML, under the rules of [ParseFunnelSpec] (buckets are durations such
// as "30d" or "13w").
func ParseSourceAgeOptions(data []byte) (SourceAgeOptions, error) {
	var o SourceAgeOptions
	if err := spec.Parse(data, &o); err != nil {
		return SourceAgeOptions{}, spec.Prefixed("journey: source age options: ", err)
	}
	return o, nil
}

// ParseNurtureOptions decodes the options of [NurturePower] from JSON or
// YAML, under the rules of [ParseFunnelSpec].
func ParseNurtureOptions(data []byte) (NurtureOptions, error) {
	var o NurtureOptions
	if err := spec.Parse(data, &o); err != nil {
		return NurtureOptions{}, spec.Prefixed("journey: nurture options: ", err)
	}
	return o, nil
}

// ParseCycleOptions decodes the options of [CycleTimes] from JSON or YAML,
// under the rules of [ParseFunnelSpec]. Created (creation times by lead)
// is data, not a spec: set it in Go.
func ParseCycleOptions(data []byte) (CycleOptions, error) {
	var o CycleOptions
	if err := spec.Parse(data, &o); err != nil {
		return CycleOptions{}, spec.Prefixed("journey: cycle options: ", err)
	}
	return o, nil
}

// ParsePathOptions decodes the options of [NewPathAccumulator] from JSON or
// YAML, under the rules of [ParseFunnelSpec]: unknown, miscased and
// duplicate keys are errors wrapping [leadkit.ErrInvalid]. It does not
// validate the values: [NewPathAccumulator] does.
func ParsePathOptions(data []byte) (PathOptions, error) {
	var o PathOptions
	if err := spec.Parse(data, &o); err != nil {
		return PathOptions{}, spec.Prefixed("journey: path options: ", err)
	}
	return o, nil
}

// MarshalJSON writes the window as text ("2w", "36h").
func (s FunnelSpec) MarshalJSON() ([]byte, error) {
	type plain FunnelSpec
	return json.Marshal(struct {
		plain
		Window leadkit.Duration `json:"window,omitempty"`
	}{plain(s), leadkit.Duration(s.Window)})
}

// UnmarshalJSON reads the window as text ("14d", "336h"); a bare number and
// an unknown key are errors wrapping [leadkit.ErrInvalid].
func (s *FunnelSpec) UnmarshalJSON(b []byte) error {
	type plain FunnelSpec
	var j struct {
		*plain
		Window json.RawMessage `json:"window,omitempty"`
	}
	j.plain = (*plain)(s)
	if err := spec.DecodeStrict(b, &j); err != nil {
		return spec.Prefixed("journey: funnel: ", err)
	}
	return spec.ReadDuration("journey: funnel: window", j.Window, &s.Window)
}

// MarshalJSON writes MaxGap as text ("36h").
func (o PatternOptions) MarshalJSON() ([]byte, error) {
	type plain PatternOptions
	return json.Marshal(struct {
		plain
		MaxGap leadkit.Duration `json:"max_gap,omitempty"`
	}{plain(o), leadkit.Duration(o.MaxGap)})
}

// UnmarshalJSON reads MaxGap as text ("36h", "2d"); a bare number and an
// unknown key are errors wrapping [leadkit.ErrInvalid].
func (o *PatternOptions) UnmarshalJSON(b []byte) error {
	type plain PatternOptions
	var j struct {
		*plain
		MaxGap json.RawMessage `json:"max_gap,omitempty"`
	}
	j.plain = (*plain)(o)
	if err := spec.DecodeStrict(b, &j); err != nil {
		return spec.Prefixed("journey: pattern options: ", err)
	}
	return spec.ReadDuration("journey: pattern options: max_gap", j.MaxGap, &o.MaxGap)
}

// MarshalJSON writes the bucket bounds as text ("30d", "13w").
func (o SourceAgeOptions) MarshalJSON() ([]byte, error) {
	type plain SourceAgeOptions
	var buckets []leadkit.Duration
	for _, d := range o.Buckets {
		buckets = append(buckets, leadkit.Duration(d))
	}
	return json.Marshal(struct {
		plain
		Buckets []leadkit.Duration `json:"buckets,omitempty"`
	}{plain(o), buckets})
}

// UnmarshalJSON reads the bucket bounds as text ("30d", "13w"); a bare
// number and an unknown key are errors wrapping [leadkit.ErrInvalid].
func (o *SourceAgeOptions) UnmarshalJSON(b []byte) error {
	type plain SourceAgeOptions
	var j struct {
		*plain
		Buckets *[]json.RawMessage `json:"buckets,omitempty"`
	}
	j.plain = (*plain)(o)
	if err := spec.DecodeStrict(b, &j); err != nil {
		return spec.Prefixed("journey: source age options: ", err)
	}
	if j.Buckets == nil {
		return nil // absent or null: unchanged
	}
	buckets := make([]time.Duration, len(*j.Buckets))
	for i, raw := range *j.Buckets {
		if err := spec.ReadDuration(fmt.Sprintf("journey: source age options: buckets[%d]", i), raw, &buckets[i]); err != nil {
			return err
		}
	}
	o.Buckets = buckets
	return nil
}

// MarshalJSON writes the window as text ("30d").
func (o NurtureOptions) MarshalJSON() ([]byte, error) {
	type plain NurtureOptions
	return json.Marshal(struct {
		plain
		Window leadkit.Duration `json:"window,omitempty"`
	}{plain(o), leadkit.Duration(o.Window)})
}

// UnmarshalJSON reads the window as text ("30d", "4w"); a bare number and
// an unknown key are errors wrapping [leadkit.ErrInvalid].
func (o *NurtureOptions) UnmarshalJSON(b []byte) error {
	type plain NurtureOptions
	var j struct {
		*plain
		Window json.RawMessage `json:"window,omitempty"`
	}
	j.plain = (*plain)(o)
	if err := spec.DecodeStrict(b, &j); err != nil {
		return spec.Prefixed("journey: nurture options: ", err)
	}
	return spec.ReadDuration("journey: nurture options: window", j.Window, &o.Window)
}
