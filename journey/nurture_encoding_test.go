package journey

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit/internal/binenc"
	"github.com/leadkit/leadkit/internal/binenctest"
)

var encodingContentPhaseOptions = []ContentPhaseOptions{
	{Order: randOrder},
	{Order: randOrder, Outcome: "Won", By: KeyChannel, Types: []string{"web", "email", "form"}},
	{Order: randOrder, By: KeyType},
}

func TestContentPhaseBinaryRoundTrip(t *testing.T) {
	binaryRoundTrips(t, NewContentPhaseAccumulator, encodingContentPhaseOptions, func(o ContentPhaseOptions) []string {
		if o.Outcome != "" {
			return []string{"MQL"} // an outcome must come after the stage
		}
		return []string{"MQL", "Won"} // Won is the last stage: the default outcome is the stage itself
	}, 40, func(a *ContentPhaseAccumulator) any { return a.Result() })
	// An explicit outcome that is the default is the same state.
	explicit := maker(t, NewContentPhaseAccumulator, "MQL", ContentPhaseOptions{Order: randOrder, Outcome: "Won"})()
	assert.Equal(t, binenctest.Encode(t, maker(t, NewContentPhaseAccumulator, "MQL", ContentPhaseOptions{Order: randOrder})()), binenctest.Encode(t, explicit))
}

func fillContentPhases(t *testing.T) *ContentPhaseAccumulator {
	a := filled(t, NewContentPhaseAccumulator, "MQL", encodingContentPhaseOptions[0], 6)
	require.True(t, a.content[contentKey{"guide", false}] != nil && a.content[contentKey{"call", true}] != nil && a.total[2].converted > 0)
	return a
}

func TestContentPhaseBinaryRefused(t *testing.T) {
	good := binenctest.Encode(t, fillContentPhases(t))
	header := func(st, opts string) []byte {
		return binenc.AppendString(binenc.AppendString([]byte("LKCP\x01"), st), opts)
	}
	key := func(k string, isType bool) contentKey { return contentKey{k, isType} }
	binenctest.DecodeRefusals(t, func() *ContentPhaseAccumulator { return fillContentPhases(t) }, "journey: content phases: decode: ", map[string]binenctest.Bad{
		"not ours":           {append([]byte("LKSA\x01"), good[5:]...), "not a content phase accumulator"},
		"stage not in order": {header("Lost", `{"order":["Raw","MQL","SAL","Won"],"by":"content"}`), "not in the funnel order"},
		"outcome before":     {header("SAL", `{"order":["Raw","MQL","SAL","Won"],"outcome":"MQL","by":"content"}`), "is not a stage after"},
		"default outcome":    {header("MQL", `{"order":["Raw","MQL","SAL","Won"],"outcome":"Won","by":"content"}`), "not in the form"},
		"too many types":     {header("MQL", `{"order":["MQL"],"by":"content","types":[`+repeatNames(101)+`]}`), "101 types, at most 100"},
	}, map[string]func(*ContentPhaseAccumulator) string{
		"leads over touches": func(a *ContentPhaseAccumulator) string {
			a.content[key("guide", false)][1] = phaseCount{touches: 1, leads: 2}
			return `content "guide", nurture: 1 touches, 2 leads`
		},
		"converted over leads": func(a *ContentPhaseAccumulator) string {
			a.content[key("call", true)][0] = phaseCount{touches: 3, leads: 1, converted: 2}
			return `types "call", acquisition`
		},
		"no touches": func(a *ContentPhaseAccumulator) string {
			a.content[key("zz", false)] = &[3]phaseCount{}
			return `content "zz": no touches`
		},
		"total leads under a content's": func(a *ContentPhaseAccumulator) string {
			most, conv := 0, 0
			for _, c := range a.content {
				most, conv = max(most, c[0].leads), max(conv, c[0].converted)
			}
			a.total[0] = phaseCount{leads: most - 1, converted: min(conv, most-1)}
			require.GreaterOrEqual(t, most-1, conv, "only the leads are short")
			return "acquisition: "
		},
		"total leads over the sum": func(a *ContentPhaseAccumulator) string {
			a.total[1].leads += 1000
			return "nurture: "
		},
		"total converted": func(a *ContentPhaseAccumulator) string {
			a.total[2].converted = a.total[2].leads + 1
			return "sales: "
		},
		"type named by type": func(a *ContentPhaseAccumulator) string {
			a.opts.By = KeyType
			return "named by its type already"
		},
		"bad key": func(a *ContentPhaseAccumulator) string {
			a.content[key("a\x00b", false)] = &[3]phaseCount{{touches: 1, leads: 1}}
			return "NUL"
		},
	})
}

// repeatNames returns n distinct quoted names, comma separated.
func repeatNames(n int) string {
	s := ""
	for i := range n {
		if i > 0 {
			s += ","
		}
		s += fmt.Sprintf(`"t%d"`, i)
	}
	return s
}

var encodingOldLeadOptions = []OldLeadNurtureOptions{
	{From: day(0), To: day(30), Order: randOrder},
	{From: day(0), To: day(30), OldAge: days(4), Lookback: days(20), Types: []string{"email", "form", "web"}, Order: randOrder, Closed: []string{"Recycled", "Lost", "Lost"}},
}

func TestOldLeadNurtureBinaryRoundTrip(t *testing.T) {
	binaryRoundTrips(t, NewOldLeadNurtureAccumulator, encodingOldLeadOptions, func(OldLeadNurtureOptions) []string { return []string{"MQL"} }, 60,
		func(a *OldLeadNurtureAccumulator) any { return a.Result() })
}

func fillOldLead(t *testing.T) *OldLeadNurtureAccumulator {
	a := filled(t, NewOldLeadNurtureAccumulator, "MQL", encodingOldLeadOptions[1], 8)
	require.True(t, a.conv.all.leads > 0 && a.other.byChannel["paid"] != nil && a.shut > 0, "%+v", a.conv)
	return a
}

func TestOldLeadNurtureBinaryRefused(t *testing.T) {
	good := binenctest.Encode(t, fillOldLead(t))
	header := func(opts string) []byte {
		return binenc.AppendString(binenc.AppendString([]byte("LKON\x01"), "MQL"), opts)
	}
	base := `"from":"2026-01-05T00:00:00Z","to":"2026-02-04T00:00:00Z","order":["Raw","MQL","SAL","Won"]`
	binenctest.DecodeRefusals(t, func() *OldLeadNurtureAccumulator { return fillOldLead(t) }, "journey: old lead nurture: decode: ", map[string]binenctest.Bad{
		"not ours":         {append([]byte("LKJF\x01"), good[5:]...), "not an old lead nurture accumulator"},
		"no period end":    {header(`{"from":"2026-01-05T00:00:00Z","order":["MQL"]}`), "needs a start and an end"},
		"default lookback": {header(`{` + base + `}`), "not in the form"},
		"closed unsorted":  {header(`{` + base[:len(base)-len(`,"order":["Raw","MQL","SAL","Won"]`)] + `,"lookback":"90d","order":["Raw","MQL","SAL","Won"],"closed":["Lost","Lost"]}`), "not in the form"},
		"too many types":   {header(`{` + base + `,"lookback":"90d","types":[` + repeatNames(101) + `]}`), "101 types, at most 100"},
		"closed without closed stages": {append(header(`{"from":"2026-01-05T00:00:00Z","to":"2026-02-04T00:00:00Z","lookback":"90d","order":["Raw","MQL","SAL","Won"]}`), 0, 0, 1),
			"1 closed leads without closed stages"},
	}, map[string]func(*OldLeadNurtureAccumulator) string{
		"touched over leads": func(a *OldLeadNurtureAccumulator) string {
			a.conv.all.leads = a.conv.leads + 1
			return "converted: "
		},
		"type touches": func(a *OldLeadNurtureAccumulator) string {
			a.other.byType["email"].touches++
			return "not converted types: "
		},
		"type not in types": func(a *OldLeadNurtureAccumulator) string {
			a.other.byType["call"] = &nurtureCount{leads: 1, touches: 1}
			return `"call" is not one of the options' types`
		},
		"channel leads": func(a *OldLeadNurtureAccumulator) string {
			a.other.byChannel["paid"].leads = a.other.all.leads + 1
			return `not converted channels: "paid"`
		},
		"channel touches": func(a *OldLeadNurtureAccumulator) string {
			a.conv.byChannel["zz"] = &nurtureCount{leads: 1, touches: a.conv.all.touches + 1}
			return "converted channels: "
		},
		"bad channel": func(a *OldLeadNurtureAccumulator) string {
			a.conv.byChannel["\xff"] = &nurtureCount{leads: 1, touches: 1}
			return "not valid UTF-8"
		},
	})
}

func contentPhaseSeeds(t testing.TB) map[string][]byte {
	rng := rand.New(rand.NewPCG(13, 14))
	seeds := validSeeds(t, rng, NewContentPhaseAccumulator, encodingContentPhaseOptions)
	seeds["truncated"] = seeds["valid_a"][:len(seeds["valid_a"])-1]
	seeds["trailing"] = append(append([]byte{}, seeds["valid_b"]...), 9)
	bigSeeds[ContentPhaseAccumulator](t, seeds, nil) // no cap in Add and Merge yet (nurture.go)
	return seeds
}

func oldLeadSeeds(t testing.TB) map[string][]byte {
	rng := rand.New(rand.NewPCG(15, 16))
	seeds := validSeeds(t, rng, NewOldLeadNurtureAccumulator, encodingOldLeadOptions)
	seeds["truncated"] = seeds["valid_b"][:len(seeds["valid_b"])-2]
	seeds["version"] = append([]byte("LKON\x00"), seeds["valid_a"][5:]...)
	bigSeeds[OldLeadNurtureAccumulator](t, seeds, nil) // no cap in Add and Merge yet (nurture.go)
	return seeds
}

func TestContentPhaseBinarySeeds(t *testing.T) {
	seedCorpus[ContentPhaseAccumulator](t, "FuzzContentPhaseAccumulatorBinary", contentPhaseSeeds(t))
}

func TestOldLeadNurtureBinarySeeds(t *testing.T) {
	seedCorpus[OldLeadNurtureAccumulator](t, "FuzzOldLeadNurtureAccumulatorBinary", oldLeadSeeds(t))
}

// FuzzContentPhaseAccumulatorBinary decodes arbitrary bytes: see
// binenctest.FuzzDecode.
func FuzzContentPhaseAccumulatorBinary(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		binenctest.FuzzDecode(t, data, func(a *ContentPhaseAccumulator) any { return a.Result() }, true)
	})
}

// FuzzOldLeadNurtureAccumulatorBinary decodes arbitrary bytes: see
// binenctest.FuzzDecode.
func FuzzOldLeadNurtureAccumulatorBinary(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		binenctest.FuzzDecode(t, data, func(a *OldLeadNurtureAccumulator) any { return a.Result() }, true)
	})
}
