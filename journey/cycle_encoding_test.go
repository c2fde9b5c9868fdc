package journey

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/binenc"
	"github.com/leadkit/leadkit/internal/binenctest"
)

func TestCycleBinaryRoundTrip(t *testing.T) {
	binaryRoundTrips(t, NewCycleAccumulator, cycleTestOptions, mqlAndWon, 40, func(a *CycleAccumulator) any { return a.Result() })
}

func TestNurtureBinaryRoundTrip(t *testing.T) {
	binaryRoundTrips(t, NewNurtureAccumulator, nurtureTestOptions, mqlAndWon, 40, func(a *NurtureAccumulator) any { return a.Result() })
}

// TestCycleBinaryUTC: the same period in another zone is the same state.
func TestCycleBinaryUTC(t *testing.T) {
	paris := time.FixedZone("CET", 3600)
	a := maker(t, NewCycleAccumulator, "MQL", CycleOptions{From: day(0).In(paris), To: day(30).In(paris)})()
	assert.Equal(t, binenctest.Encode(t, maker(t, NewCycleAccumulator, "MQL", CycleOptions{From: day(0), To: day(30)})()), binenctest.Encode(t, a))
	n := maker(t, NewNurtureAccumulator, "MQL", NurtureOptions{From: day(0).In(paris)})()
	assert.Equal(t, binenctest.Encode(t, maker(t, NewNurtureAccumulator, "MQL", NurtureOptions{From: day(0)})()), binenctest.Encode(t, n))
}

func fillCycle(t *testing.T) *CycleAccumulator {
	a := filled(t, NewCycleAccumulator, "MQL", cycleTestOptions[1], 4)
	require.True(t, a.overall.inst.N() > 0 && a.overall.rest.N() > 0 && len(a.cohorts) > 1 && a.skipped > 0, "%+v", a.Result())
	return a
}

func TestCycleBinaryRefused(t *testing.T) {
	good := binenctest.Encode(t, fillCycle(t))

	header := func(st, opts string) []byte {
		return binenc.AppendString(binenc.AppendString([]byte("LKCY\x01"), st), opts)
	}
	opts := `{"start":"first_touch","instant":"1h"}`
	binenctest.DecodeRefusals(t, func() *CycleAccumulator { return fillCycle(t) }, "journey: cycle times: decode: ", map[string]binenctest.Bad{
		"not ours":        {append([]byte("LKNP\x01"), good[5:]...), "not a cycle time accumulator"},
		"version":         {append([]byte("LKCY\x02"), good[5:]...), "unknown format version"},
		"no stage":        {header("", opts), "empty stage"},
		"default instant": {header("MQL", `{"start":"first_touch"}`), "not in the form"},
		"bad start":       {header("MQL", `{"start":"later","instant":"1h"}`), `unknown start "later"`},
		"cohorts":         {append(header("MQL", opts), 0, 0, 0, 1, 0, 0, 0), "1 cohorts without a cohort period"},
		"instant over":    {binary.AppendVarint(append(header("MQL", opts), 0, 1, 0), int64(2*time.Hour)), "instant cycle time over the threshold"},
		"not instant":     {append(header("MQL", opts), 0, 0, 1, 2), "is at most the threshold"},
		"split off":       {append(header("MQL", `{"start":"first_touch","instant":"-1ns"}`), 0, 1, 0, 2), "instant converters with the split off"},
		"trailing":        {append(append([]byte{}, good...), 0), "bytes after the end"},
	}, map[string]func(*CycleAccumulator) string{
		"cohort sum": func(a *CycleAccumulator) string {
			for _, c := range a.cohorts {
				c.rest.Add(days(5))
				break
			}
			return "the cohorts' cycle times are not the overall ones"
		},
		"empty cohort": func(a *CycleAccumulator) string {
			a.cohorts[time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)] = &cycleGroup{}
			return "cohort 2020-01-01: no leads"
		},
		"cohort start": func(a *CycleAccumulator) string {
			a.cohorts[time.Date(2020, 1, 2, 0, 0, 0, 0, time.UTC)] = &cycleGroup{}
			return "not the start of a month"
		},
		"negative": func(a *CycleAccumulator) string {
			a.overall.inst = a.overall.inst.Clone()
			a.overall.inst.Add(-1) // counts as 0: still valid
			a.overall.rest.Add(-days(1))
			return "is at most the threshold"
		},
	})
}

func fillNurture(t *testing.T) *NurtureAccumulator {
	a := filled(t, NewNurtureAccumulator, "MQL", NurtureOptions{By: KeyType, Types: []string{"web", "email", "form"}}, 4)
	require.True(t, len(a.keys) > 1 && a.keys["web"] != nil && a.keys["web"].converted > 0, "%+v", a.Result())
	return a
}

func TestNurtureBinaryRefused(t *testing.T) {
	good := binenctest.Encode(t, fillNurture(t))
	header := func(st, opts string) []byte {
		return binenc.AppendString(binenc.AppendString([]byte("LKNP\x01"), st), opts)
	}
	binenctest.DecodeRefusals(t, func() *NurtureAccumulator { return fillNurture(t) }, "journey: nurture power: decode: ", map[string]binenctest.Bad{
		"not ours":   {append([]byte("LKCY\x01"), good[5:]...), "not a nurture power accumulator"},
		"no stage":   {header("", `{"by":"content"}`), "empty stage"},
		"default by": {header("MQL", `{}`), "not in the form"},
		"trailing":   {append(append([]byte{}, good...), 0), "bytes after the end"},
		"too many keys": {func() []byte {
			b := append(header("MQL", `{"by":"content"}`), 0x91, 0x4e) // 10001 keys
			for k := range MaxNurtureKeys + 1 {
				b = append(binenc.AppendString(b, fmt.Sprintf("c%05d", k)), 1, 1, 0)
			}
			return b
		}(), "more than 10000 keys (MaxNurtureKeys)"},
	}, map[string]func(*NurtureAccumulator) string{
		"no leads":     func(a *NurtureAccumulator) string { a.keys["web"].leads = 0; return `key "web"` },
		"leads > sent": func(a *NurtureAccumulator) string { a.keys["web"].leads = a.keys["web"].sent + 1; return `key "web"` },
		"converted": func(a *NurtureAccumulator) string {
			a.keys["web"].converted = a.keys["web"].leads + 1
			return `key "web"`
		},
		"not a type": func(a *NurtureAccumulator) string {
			a.keys["call"] = &powerCount{1, 1, 0}
			return `key "call": not one of the types`
		},
		"empty key":    func(a *NurtureAccumulator) string { a.keys[""] = &powerCount{1, 1, 0}; return `key "": is empty` },
		"key not text": func(a *NurtureAccumulator) string { a.keys["\xff"] = &powerCount{1, 1, 0}; return `key "\xff"` },
	})
}

func cycleSeeds(t testing.TB) map[string][]byte {
	rng := rand.New(rand.NewPCG(11, 12))
	seeds := validSeeds(t, rng, NewCycleAccumulator, cycleTestOptions)
	// A sketch past the exact threshold.
	a := maker(t, NewCycleAccumulator, "MQL", CycleOptions{Cohort: leadkit.PeriodYear})()
	for range 1100 {
		for _, j := range randomJourneys(t, rng) {
			require.NoError(t, a.Add(j))
		}
	}
	require.False(t, a.overall.rest.Exact())
	seeds["valid_sketch"] = binenctest.Encode(t, a)
	good := seeds["valid_b"]
	seeds["truncated"] = good[:len(good)-3]
	seeds["trailing"] = append(append([]byte{}, good...), 0)
	bigSeeds(t, seeds, cycleOne(t))
	return seeds
}

func nurtureSeeds(t testing.TB) map[string][]byte {
	rng := rand.New(rand.NewPCG(11, 12))
	seeds := validSeeds(t, rng, NewNurtureAccumulator, nurtureTestOptions)
	good := seeds["valid_c"]
	seeds["truncated"] = good[:len(good)-3]
	seeds["trailing"] = append(append([]byte{}, good...), 0)
	return seeds
}

func TestCycleBinarySeeds(t *testing.T) {
	seedCorpus[CycleAccumulator](t, "FuzzCycleAccumulatorBinary", cycleSeeds(t))
}

func TestNurtureBinarySeeds(t *testing.T) {
	seedCorpus[NurtureAccumulator](t, "FuzzNurtureAccumulatorBinary", nurtureSeeds(t))
}

// FuzzCycleAccumulatorBinary decodes arbitrary bytes: see
// binenctest.FuzzDecode.
func FuzzCycleAccumulatorBinary(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		binenctest.FuzzDecode(t, data, func(a *CycleAccumulator) any { return a.Result() }, true)
	})
}

// FuzzNurtureAccumulatorBinary decodes arbitrary bytes: see
// binenctest.FuzzDecode.
func FuzzNurtureAccumulatorBinary(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		binenctest.FuzzDecode(t, data, func(a *NurtureAccumulator) any { return a.Result() }, true)
	})
}
