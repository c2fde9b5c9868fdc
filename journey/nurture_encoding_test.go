package journey

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit/internal/binenc"
)

var encodingContentPhaseOptions = []ContentPhaseOptions{
	{Order: randOrder},
	{Order: randOrder, Outcome: "Won", By: KeyChannel, Types: []string{"web", "email", "form"}},
	{Order: randOrder, By: KeyType},
}

func newContentPhases(t testing.TB, st string, opts ContentPhaseOptions) func() *ContentPhaseAccumulator {
	return func() *ContentPhaseAccumulator {
		a, err := NewContentPhaseAccumulator(st, opts)
		require.NoError(t, err)
		return a
	}
}

func TestContentPhaseBinaryRoundTrip(t *testing.T) {
	for i, opts := range encodingContentPhaseOptions {
		// Won is the last stage: the default outcome is the stage itself.
		for _, st := range []string{"MQL", "Won"} {
			t.Run(fmt.Sprintf("%d/%s", i, st), func(t *testing.T) {
				if st == "Won" && opts.Outcome != "" {
					t.Skip("an outcome must come after the stage")
				}
				for seed := range uint64(40) {
					shardedRoundTrip(t, seed, newContentPhases(t, st, opts), func(a *ContentPhaseAccumulator) any { return a.Result() })
				}
			})
		}
	}
	// An explicit outcome that is the default is the same state.
	explicit := newContentPhases(t, "MQL", ContentPhaseOptions{Order: randOrder, Outcome: "Won"})()
	assert.Equal(t, mustEncode(t, newContentPhases(t, "MQL", ContentPhaseOptions{Order: randOrder})()), mustEncode(t, explicit))
}

func fillContentPhases(t *testing.T) *ContentPhaseAccumulator {
	a := newContentPhases(t, "MQL", encodingContentPhaseOptions[0])()
	rng := rand.New(rand.NewPCG(6, 7))
	for range 30 {
		for _, j := range randomJourneys(t, rng) {
			require.NoError(t, a.Add(j))
		}
	}
	require.True(t, a.content[contentKey{"guide", false}] != nil && a.content[contentKey{"call", true}] != nil && a.total[2].converted > 0)
	return a
}

func TestContentPhaseBinaryRefused(t *testing.T) {
	_, err := new(ContentPhaseAccumulator).MarshalBinary()
	require.Error(t, err)
	good := mustEncode(t, fillContentPhases(t))
	refusedPrefixes[ContentPhaseAccumulator](t, good)

	header := func(st, opts string) []byte {
		return binenc.AppendString(binenc.AppendString([]byte("LKCP\x01"), st), opts)
	}
	for name, c := range map[string]struct {
		data []byte
		why  string
	}{
		"not ours":           {append([]byte("LKSA\x01"), good[5:]...), "not a content phase accumulator"},
		"stage not in order": {header("Lost", `{"order":["Raw","MQL","SAL","Won"],"by":"content"}`), "not in the funnel order"},
		"outcome before":     {header("SAL", `{"order":["Raw","MQL","SAL","Won"],"outcome":"MQL","by":"content"}`), "is not a stage after"},
		"default outcome":    {header("MQL", `{"order":["Raw","MQL","SAL","Won"],"outcome":"Won","by":"content"}`), "not in the form"},
		"too many types":     {header("MQL", `{"order":["MQL"],"by":"content","types":[`+repeatNames(101)+`]}`), "101 types, at most 100"},
	} {
		t.Run(name, func(t *testing.T) {
			refused(t, fillContentPhases(t), "journey: content phases: decode: ", c.why, c.data)
		})
	}

	key := func(k string, isType bool) contentKey { return contentKey{k, isType} }
	brokenRefused(t, func() *ContentPhaseAccumulator { return fillContentPhases(t) }, "journey: content phases: decode: ", map[string]func(*ContentPhaseAccumulator) string{
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

func newOldLead(t testing.TB, opts OldLeadNurtureOptions) func() *OldLeadNurtureAccumulator {
	return func() *OldLeadNurtureAccumulator {
		a, err := NewOldLeadNurtureAccumulator("MQL", opts)
		require.NoError(t, err)
		return a
	}
}

func TestOldLeadNurtureBinaryRoundTrip(t *testing.T) {
	for i, opts := range encodingOldLeadOptions {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			for seed := range uint64(60) {
				shardedRoundTrip(t, seed, newOldLead(t, opts), func(a *OldLeadNurtureAccumulator) any { return a.Result() })
			}
		})
	}
}

func fillOldLead(t *testing.T) *OldLeadNurtureAccumulator {
	a := newOldLead(t, encodingOldLeadOptions[1])()
	rng := rand.New(rand.NewPCG(8, 9))
	for range 30 {
		for _, j := range randomJourneys(t, rng) {
			require.NoError(t, a.Add(j))
		}
	}
	require.True(t, a.conv.all.leads > 0 && a.other.byChannel["paid"] != nil && a.shut > 0, "%+v", a.conv)
	return a
}

func TestOldLeadNurtureBinaryRefused(t *testing.T) {
	_, err := new(OldLeadNurtureAccumulator).MarshalBinary()
	require.Error(t, err)
	good := mustEncode(t, fillOldLead(t))
	refusedPrefixes[OldLeadNurtureAccumulator](t, good)

	header := func(opts string) []byte {
		return binenc.AppendString(binenc.AppendString([]byte("LKON\x01"), "MQL"), opts)
	}
	base := `"from":"2026-01-05T00:00:00Z","to":"2026-02-04T00:00:00Z","order":["Raw","MQL","SAL","Won"]`
	for name, c := range map[string]struct {
		data []byte
		why  string
	}{
		"not ours":         {append([]byte("LKJF\x01"), good[5:]...), "not an old lead nurture accumulator"},
		"no period end":    {header(`{"from":"2026-01-05T00:00:00Z","order":["MQL"]}`), "needs a start and an end"},
		"default lookback": {header(`{` + base + `}`), "not in the form"},
		"closed unsorted":  {header(`{` + base[:len(base)-len(`,"order":["Raw","MQL","SAL","Won"]`)] + `,"lookback":"90d","order":["Raw","MQL","SAL","Won"],"closed":["Lost","Lost"]}`), "not in the form"},
		"too many types":   {header(`{` + base + `,"lookback":"90d","types":[` + repeatNames(101) + `]}`), "101 types, at most 100"},
		"closed without closed stages": {append(header(`{"from":"2026-01-05T00:00:00Z","to":"2026-02-04T00:00:00Z","lookback":"90d","order":["Raw","MQL","SAL","Won"]}`), 0, 0, 1),
			"1 closed leads without closed stages"},
	} {
		t.Run(name, func(t *testing.T) { refused(t, fillOldLead(t), "journey: old lead nurture: decode: ", c.why, c.data) })
	}

	brokenRefused(t, func() *OldLeadNurtureAccumulator { return fillOldLead(t) }, "journey: old lead nurture: decode: ", map[string]func(*OldLeadNurtureAccumulator) string{
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
	seeds := map[string][]byte{}
	rng := rand.New(rand.NewPCG(13, 14))
	for i, opts := range encodingContentPhaseOptions {
		a := newContentPhases(t, "MQL", opts)()
		for _, j := range randomJourneys(t, rng) {
			require.NoError(t, a.Add(j))
		}
		seeds["valid_"+string(rune('a'+i))] = mustEncode(t, a)
	}
	seeds["truncated"] = seeds["valid_a"][:len(seeds["valid_a"])-1]
	seeds["trailing"] = append(append([]byte{}, seeds["valid_b"]...), 9)
	bigSeeds[ContentPhaseAccumulator](t, seeds, nil) // no cap in Add and Merge yet (nurture.go)
	return seeds
}

func oldLeadSeeds(t testing.TB) map[string][]byte {
	seeds := map[string][]byte{}
	rng := rand.New(rand.NewPCG(15, 16))
	for i, opts := range encodingOldLeadOptions {
		a := newOldLead(t, opts)()
		for _, j := range randomJourneys(t, rng) {
			require.NoError(t, a.Add(j))
		}
		seeds["valid_"+string(rune('a'+i))] = mustEncode(t, a)
	}
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
// fuzzDecode.
func FuzzContentPhaseAccumulatorBinary(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzDecode(t, data, func(a *ContentPhaseAccumulator) any { return a.Result() }, (*ContentPhaseAccumulator).Merge)
	})
}

// FuzzOldLeadNurtureAccumulatorBinary decodes arbitrary bytes: see
// fuzzDecode.
func FuzzOldLeadNurtureAccumulatorBinary(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzDecode(t, data, func(a *OldLeadNurtureAccumulator) any { return a.Result() }, (*OldLeadNurtureAccumulator).Merge)
	})
}
