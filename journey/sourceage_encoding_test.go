package journey

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit/internal/binenc"
	"github.com/leadkit/leadkit/internal/binenctest"
)

var encodingSourceAgeOptions = []SourceAgeOptions{
	{From: day(0)},
	{From: day(0), To: day(30), Buckets: []time.Duration{days(10), days(40)}, By: KeyContent, OldAge: days(8)},
	{From: day(-8), To: day(20), Buckets: []time.Duration{days(1)}, By: KeyCampaign},
}

func TestSourceAgeBinaryRoundTrip(t *testing.T) {
	binaryRoundTrips(t, NewSourceAgeAccumulator, encodingSourceAgeOptions, mqlAndWon, 40, func(a *SourceAgeAccumulator) any { return a.Result() })
}

// TestSourceAgeBinaryUTC: the same period in another zone is the same
// state: the same bytes, a result in UTC.
func TestSourceAgeBinaryUTC(t *testing.T) {
	paris := time.FixedZone("CET", 3600)
	opts := SourceAgeOptions{From: day(0).In(paris), To: day(30).In(paris)}
	a := maker(t, NewSourceAgeAccumulator, "MQL", opts)()
	utcOpts := SourceAgeOptions{From: day(0), To: day(30)}
	assert.Equal(t, binenctest.Encode(t, maker(t, NewSourceAgeAccumulator, "MQL", utcOpts)()), binenctest.Encode(t, a))
	r := binenctest.Copy(t, a).Result()
	assert.Equal(t, day(0), r.From)
	assert.Equal(t, time.UTC, r.To.Location())
}

func TestSourceAgeBinaryRefused(t *testing.T) {
	fill := func() *SourceAgeAccumulator {
		a := filled(t, NewSourceAgeAccumulator, "MQL", encodingSourceAgeOptions[1], 4)
		require.True(t, a.r.New > 0 && a.r.Earlier > 0 && a.r.Unknown > 0 && a.newMix.touches["web"] > 0 && len(a.channels) > 0, "%+v", a.r)
		return a
	}
	good := binenctest.Encode(t, fill())

	header := func(st, opts string) []byte {
		return binenc.AppendString(binenc.AppendString([]byte("LKSA\x01"), st), opts)
	}
	from := `{"from":"2026-01-05T00:00:00Z","buckets":["30d","90d","180d","365d"],"by":"channel"}`
	binenctest.DecodeRefusals(t, fill, "journey: source age: decode: ", map[string]binenctest.Bad{
		"not ours":        {append([]byte("LKON\x01"), good[5:]...), "not a source age accumulator"},
		"no stage":        {header("", from), "empty stage"},
		"no from":         {header("MQL", `{"from":"0001-01-01T00:00:00Z","buckets":["30d"],"by":"channel"}`), "needs a start"},
		"default buckets": {header("MQL", `{"from":"2026-01-05T00:00:00Z","by":"channel"}`), "not in the form"},
		"too many buckets": {header("MQL", fmt.Sprintf(`{"from":"2026-01-05T00:00:00Z","buckets":[%s"101d"],"by":"channel"}`, func() string {
			s := ""
			for i := range 100 {
				s += fmt.Sprintf(`"%dd",`, i+1)
			}
			return s
		}())), "101 age buckets, at most 100"},
		"not UTC":     {header("MQL", `{"from":"2026-01-05T01:00:00+01:00","buckets":["30d","90d","180d","365d"],"by":"channel"}`), "not in the form"},
		"no counts":   {header("MQL", from), "counts: truncated"},
		"lead counts": {append(header("MQL", from), 2, 0, 1, 0, 0, 0, 0), "new 1 + earlier 0 + unknown 0 leads are not the first time 2 + repeat 0"},
	}, map[string]func(*SourceAgeAccumulator) string{
		"leads":        func(a *SourceAgeAccumulator) string { a.r.Repeat++; return "are not the first time" },
		"unattributed": func(a *SourceAgeAccumulator) string { a.r.NewUnattributed = a.r.New + 1; return "new unattributed" },
		"bucket leads": func(a *SourceAgeAccumulator) string { a.mixes[0].leads++; return "the buckets hold" },
		"bucket touches": func(a *SourceAgeAccumulator) string {
			a.mixes[2].touches["web"]++
			a.mixes[2].leadsBy["web"] = 1
			return "the buckets' touches"
		},
		"type leads": func(a *SourceAgeAccumulator) string {
			a.newMix.leadsBy["web"] = a.newMix.leads + 1
			a.newMix.touches["web"] = a.newMix.leads + 1
			return "new leads: type \"web\""
		},
		"type without touches": func(a *SourceAgeAccumulator) string {
			a.oldMix.leadsBy["fax"], a.oldMix.touches["fax"] = 1, 0
			return "earlier leads: type \"fax\""
		},
		"bad type": func(a *SourceAgeAccumulator) string {
			a.oldMix.leadsBy[""], a.oldMix.touches[""] = 1, 1
			return "is empty"
		},
		"channel sums": func(a *SourceAgeAccumulator) string {
			a.channels["zz"] = &SourceChannel{Key: "zz", New: 1}
			return "do not add up"
		},
		"empty channel": func(a *SourceAgeAccumulator) string {
			a.channels["zz"] = &SourceChannel{Key: "zz"}
			return `channel "zz": no leads`
		},
	})
}

func sourceAgeSeeds(t testing.TB) map[string][]byte {
	rng := rand.New(rand.NewPCG(11, 12))
	seeds := validSeeds(t, rng, NewSourceAgeAccumulator, encodingSourceAgeOptions)
	good := seeds["valid_b"]
	seeds["truncated"] = good[:len(good)-3]
	seeds["trailing"] = append(append([]byte{}, good...), 0)
	bigSeeds(t, seeds, sourceAgeOne(t))
	return seeds
}

func TestSourceAgeBinarySeeds(t *testing.T) {
	seedCorpus[SourceAgeAccumulator](t, "FuzzSourceAgeAccumulatorBinary", sourceAgeSeeds(t))
}

// FuzzSourceAgeAccumulatorBinary decodes arbitrary bytes: see
// binenctest.FuzzDecode.
func FuzzSourceAgeAccumulatorBinary(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		binenctest.FuzzDecode(t, data, func(a *SourceAgeAccumulator) any { return a.Result() }, true)
	})
}
