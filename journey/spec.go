package journey

import (
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

// MarshalJSON writes the window as text ("14d", "36h"; see
// leadkit.FormatDuration).
func (s FunnelSpec) MarshalJSON() ([]byte, error) { return spec.EncodeDurations(s) }

// UnmarshalJSON reads the window as text ("14d", "36h"); a bare number and
// an unknown key are errors wrapping [leadkit.ErrInvalid].
func (s *FunnelSpec) UnmarshalJSON(b []byte) error {
	return spec.DecodeDurations(b, s, "journey: funnel: ")
}

// MarshalJSON writes max_gap as text ("14d", "36h"; see
// leadkit.FormatDuration).
func (o PatternOptions) MarshalJSON() ([]byte, error) { return spec.EncodeDurations(o) }

// UnmarshalJSON reads max_gap as text ("14d", "36h"); a bare number and
// an unknown key are errors wrapping [leadkit.ErrInvalid].
func (o *PatternOptions) UnmarshalJSON(b []byte) error {
	return spec.DecodeDurations(b, o, "journey: pattern options: ")
}

// MarshalJSON writes the bucket bounds as text ("14d", "36h"; see
// leadkit.FormatDuration).
func (o SourceAgeOptions) MarshalJSON() ([]byte, error) { return spec.EncodeDurations(o) }

// UnmarshalJSON reads the bucket bounds as text ("14d", "36h"); a bare number and
// an unknown key are errors wrapping [leadkit.ErrInvalid].
func (o *SourceAgeOptions) UnmarshalJSON(b []byte) error {
	return spec.DecodeDurations(b, o, "journey: source age options: ")
}

// MarshalJSON writes the window as text ("14d", "36h"; see
// leadkit.FormatDuration).
func (o NurtureOptions) MarshalJSON() ([]byte, error) { return spec.EncodeDurations(o) }

// UnmarshalJSON reads the window as text ("14d", "36h"); a bare number and
// an unknown key are errors wrapping [leadkit.ErrInvalid].
func (o *NurtureOptions) UnmarshalJSON(b []byte) error {
	return spec.DecodeDurations(b, o, "journey: nurture options: ")
}

// ParseContentPhaseOptions decodes the options of [ContentPhases] from
// JSON or YAML, under the rules of [ParseFunnelSpec].
func ParseContentPhaseOptions(data []byte) (ContentPhaseOptions, error) {
	var o ContentPhaseOptions
	if err := spec.Parse(data, &o); err != nil {
		return ContentPhaseOptions{}, spec.Prefixed("journey: content phase options: ", err)
	}
	return o, nil
}

// ParseOldLeadNurtureOptions decodes the options of [OldLeadNurture] from
// JSON or YAML, under the rules of [ParseFunnelSpec] (old_age and
// lookback are durations such as "90d").
func ParseOldLeadNurtureOptions(data []byte) (OldLeadNurtureOptions, error) {
	var o OldLeadNurtureOptions
	if err := spec.Parse(data, &o); err != nil {
		return OldLeadNurtureOptions{}, spec.Prefixed("journey: old lead nurture options: ", err)
	}
	return o, nil
}

// MarshalJSON writes instant as text ("1h"; see leadkit.FormatDuration).
func (o CycleOptions) MarshalJSON() ([]byte, error) { return spec.EncodeDurations(o) }

// UnmarshalJSON reads instant as text ("1h", "-1s"); a bare number and an
// unknown key are errors wrapping [leadkit.ErrInvalid].
func (o *CycleOptions) UnmarshalJSON(b []byte) error {
	return spec.DecodeDurations(b, o, "journey: cycle options: ")
}

// MarshalJSON writes old_age and lookback as text ("90d"; see
// leadkit.FormatDuration).
func (o OldLeadNurtureOptions) MarshalJSON() ([]byte, error) { return spec.EncodeDurations(o) }

// UnmarshalJSON reads old_age and lookback as text ("90d"); a bare number
// and an unknown key are errors wrapping [leadkit.ErrInvalid].
func (o *OldLeadNurtureOptions) UnmarshalJSON(b []byte) error {
	return spec.DecodeDurations(b, o, "journey: old lead nurture options: ")
}
