package scoring

import (
	_ "embed"
	"fmt"
)

//go:embed default.yaml
var defaultModel []byte

// DefaultModelYAML is the default B2B model as YAML, commented rule by
// rule: the file to copy and edit (Default returns it parsed).
func DefaultModelYAML() []byte { return append([]byte(nil), defaultModel...) }

// Default returns leadkit's default B2B scoring model, for teams that
// start from nothing: fit from seniority, department, company size and
// the e-mail domain (at most 60), engagement from page views, pricing
// pages, forms, downloads, webinars, events, e-mail clicks, meetings,
// research bursts, unsubscribes and inactivity (at most 100, a 60-day
// half-life), a total with an MQL threshold at 100, bands and a fit x
// engagement matrix. DefaultModelYAML has the reason for every rule.
func Default() ModelSpec {
	s, err := ParseModel(defaultModel)
	if err != nil {
		panic(fmt.Sprintf("scoring: the embedded default model does not parse: %v", err)) // tested
	}
	return s
}
