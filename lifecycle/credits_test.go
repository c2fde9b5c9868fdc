package lifecycle_test

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/attribution"
	"github.com/leadkit/leadkit/internal/binenctest"
	"github.com/leadkit/leadkit/journey"
	"github.com/leadkit/leadkit/lifecycle"
	"github.com/leadkit/leadkit/stage"
)

var creditT0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

// creditPlans are plans of the Classic stages over March 2026.
func creditPlans() []lifecycle.CreditPlan {
	order := []string{"Raw", "MQL", "SAL", "SQL", "Opportunity", "Won"}
	base := lifecycle.CreditPlan{From: creditT0, To: creditT0.AddDate(0, 1, 0), Order: order, Exits: []string{"Recycled", "Lost"},
		Keys: []attribution.TouchKey{attribution.ByChannel, attribution.ByCampaign}, Models: []string{"last_touch", "markov"}}
	valued := base
	valued.Value = &lifecycle.Value{Types: []string{"deal_won"}, Attr: "amount"}
	valued.Lookback = 20 * 24 * time.Hour
	valued.TouchTypes = []string{"page_view", "download", "webinar_attended"}
	second := base
	second.Keys = []attribution.TouchKey{attribution.ByChannel}
	second.Models = []string{"markov"}
	second.MarkovOrder = 2
	return []lifecycle.CreditPlan{base, valued, second}
}

// randomCreditJourneys returns a few leads' journeys on a coarse grid of
// days around March 2026 (ties common), with MQL and Won entries,
// recycling, deals with amounts, and now and then a journey attribution
// refuses (an amount that is not a number).
func randomCreditJourneys(rng *rand.Rand, n int) []journey.LeadJourney {
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	at := func() time.Time { return creditT0.AddDate(0, 0, rng.IntN(16)*3-15) }
	var out []journey.LeadJourney
	for l := range n {
		id := fmt.Sprintf("l%03d", l)
		j := journey.LeadJourney{Timeline: journey.Timeline{LeadID: id}}
		for e := range rng.IntN(8) {
			ev := leadkit.Event{ID: fmt.Sprintf("%s-%d", id, e), LeadID: id, Type: pick("page_view", "download", "webinar_attended", "sdr_call"),
				Channel: pick("web", "paid", "email", "events"), Campaign: pick("", "spring", "fall"), Time: at()}
			if rng.IntN(4) == 0 {
				ev.Type, ev.Attrs = "deal_won", map[string]any{"amount": float64(rng.IntN(5000))}
				if rng.IntN(3) == 0 {
					ev.Attrs["amount"] = "a lot"
				}
			}
			j.Events = append(j.Events, ev)
		}
		for range rng.IntN(4) {
			j.Visits = append(j.Visits, stage.Visit{LeadID: id, Stage: pick("MQL", "MQL", "Recycled", "Won", "Won", "Lost"), At: at()})
		}
		out = append(out, j)
	}
	return out
}

func newCredit(t testing.TB, st string, plan lifecycle.CreditPlan) *lifecycle.CreditAccumulator {
	a, err := lifecycle.NewCreditAccumulator(st, plan)
	require.NoError(t, err)
	return a
}

func creditJSON(t testing.TB, a *lifecycle.CreditAccumulator) string {
	b, err := json.Marshal(creditResult(a))
	require.NoError(t, err)
	return string(b)
}

// creditResult is the whole result of a credit accumulator.
func creditResult(a *lifecycle.CreditAccumulator) any {
	credits, skipped, reasons := a.Result()
	return map[string]any{"credits": credits, "skipped": skipped, "reasons": reasons}
}

// TestCreditAccumulatorShards: random journeys split into random shards,
// merged in a random order, as they are and each encoded and decoded on
// the way, give one pass's result byte for byte (as JSON) and its
// encoding (see binenctest.ShardedRoundTrip).
func TestCreditAccumulatorShards(t *testing.T) {
	credited, skippedAny := 0, 0
	for seed := range uint64(60) {
		rng := rand.New(rand.NewPCG(seed, 5))
		plan := creditPlans()[rng.IntN(3)]
		st := []string{"MQL", "Won"}[rng.IntN(2)]
		js := randomCreditJourneys(rng, 1+rng.IntN(30))
		one := binenctest.ShardedRoundTrip(t, rng, js, func() *lifecycle.CreditAccumulator { return newCredit(t, st, plan) },
			(*lifecycle.CreditAccumulator).Add, creditResult)
		credits, skipped, _ := one.Result()
		if credits[0].Result.TotalConversions() > 0 {
			credited++
		}
		if skipped > 0 {
			skippedAny++
		}
	}
	assert.Greater(t, credited, 20)
	assert.Greater(t, skippedAny, 3)
}

func TestCreditAccumulatorRefuses(t *testing.T) {
	plan := creditPlans()[0]
	for name, c := range map[string]struct {
		st   string
		edit func(*lifecycle.CreditPlan)
		why  string
	}{
		"stage":    {"", func(*lifecycle.CreditPlan) {}, `stage "" is empty`},
		"period":   {"MQL", func(p *lifecycle.CreditPlan) { p.To = p.From }, "want From before To"},
		"order":    {"MQL", func(p *lifecycle.CreditPlan) { p.Order = nil }, "order: want the funnel order"},
		"exit":     {"MQL", func(p *lifecycle.CreditPlan) { p.Exits = []string{"MQL"} }, `exit "MQL": want a stage outside the funnel order`},
		"keys":     {"MQL", func(p *lifecycle.CreditPlan) { p.Keys = nil }, "0 keys, want 1 to 4"},
		"twice":    {"MQL", func(p *lifecycle.CreditPlan) { p.Keys = []attribution.TouchKey{"channel", "channel"} }, `key "channel" listed twice`},
		"model":    {"MQL", func(p *lifecycle.CreditPlan) { p.Models = []string{"shapley"} }, `model "shapley": want last_touch or markov`},
		"order 9":  {"MQL", func(p *lifecycle.CreditPlan) { p.MarkovOrder = 99 }, "markov order 99"},
		"lookback": {"MQL", func(p *lifecycle.CreditPlan) { p.Lookback = -1 }, "lookback"},
		"types":    {"MQL", func(p *lifecycle.CreditPlan) { p.TouchTypes = []string{""} }, `touch types: event type ""`},
		"value":    {"MQL", func(p *lifecycle.CreditPlan) { p.Value = &lifecycle.Value{} }, `values of "MQL": want 1 to 100 event types`},
	} {
		t.Run(name, func(t *testing.T) {
			p := plan
			c.edit(&p)
			_, err := lifecycle.NewCreditAccumulator(c.st, p)
			require.ErrorIs(t, err, leadkit.ErrInvalid)
			assert.ErrorContains(t, err, "lifecycle: credit plan: ")
			assert.ErrorContains(t, err, c.why)
		})
	}
	a := newCredit(t, "MQL", plan)
	err := a.Add(journey.LeadJourney{Timeline: journey.Timeline{LeadID: "a", Events: []leadkit.Event{{ID: "e", LeadID: "b", Type: "x", Time: creditT0}}},
		Visits: []stage.Visit{{LeadID: "c", Stage: "MQL", At: creditT0}}})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.ErrorContains(t, err, `lifecycle: credit: lead "a": visit 0: leadkit: invalid input: the visit is of lead "c"`)
	assert.ErrorContains(t, err, `lifecycle: credit: lead "a": event 0: leadkit: invalid input: the event is of lead "b"`)
	assert.ErrorContains(t, a.Merge(a), "not nil, not itself")
	assert.ErrorContains(t, a.Merge(newCredit(t, "Won", plan)), "different stages or plans")
	_, err = new(lifecycle.CreditAccumulator).MarshalBinary()
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
}

func fillCredit(t testing.TB) *lifecycle.CreditAccumulator {
	a := newCredit(t, "Won", creditPlans()[1])
	for _, j := range randomCreditJourneys(rand.New(rand.NewPCG(9, 9)), 120) {
		require.NoError(t, a.Add(j))
	}
	_, skipped, reasons := a.Result()
	require.Positive(t, skipped)
	require.NotEmpty(t, reasons)
	return a
}

func TestCreditBinaryRefused(t *testing.T) {
	good := binenctest.Encode(t, fillCredit(t))
	header := func(st, plan string) []byte {
		b := binary.AppendUvarint([]byte("LKVC\x02"), uint64(len(st)))
		b = append(b, st...)
		b = binary.AppendUvarint(b, uint64(len(plan)))
		return append(b, plan...)
	}
	plan, err := json.Marshal(creditPlans()[2]) // markov only, order 2
	require.NoError(t, err)
	both, err := json.Marshal(creditPlans()[0]) // last touch and markov, two keys, no value
	require.NoError(t, err)
	f := func(x float64) []byte { return binary.LittleEndian.AppendUint64(nil, math.Float64bits(x)) }
	last := func(conv, val float64) []byte {
		return append(append(append(header("MQL", string(both)), 0, 0, 0, 1, 1, 'w'), f(conv)...), f(val)...)
	}
	order1, err := attribution.NewMarkovCounts(attribution.Markov{})
	require.NoError(t, err)
	m1, err := order1.MarshalBinary()
	require.NoError(t, err)
	binenctest.DecodeRefusals(t, func() *lifecycle.CreditAccumulator { return fillCredit(t) }, "lifecycle: credit: decode: ", map[string]binenctest.Bad{
		"not ours":          {append([]byte("LKCY\x01"), good[5:]...), "not a credit accumulator"},
		"old version":       {append([]byte("LKVC\x01"), good[5:]...), "unknown format version"},
		"trailing":          {append(append([]byte{}, good...), 0), "bytes after the end"},
		"plan form":         {header("MQL", strings.Replace(string(plan), `"from"`, ` "from"`, 1)), "plan not in the form"},
		"bad plan":          {header("MQL", `{"from":"2026-03-01T00:00:00Z"}`), "lifecycle: credit plan: "},
		"reasons":           {append(header("MQL", string(plan)), 0, 1, 1, 'a', 0, 1, 'x'), "1 skip reasons of 0 skipped journeys"},
		"unknown flag":      {append(header("MQL", string(plan)), 0, 0, 4), "flags 0x4"},
		"model not planned": {append(header("MQL", string(plan)), 0, 0, 1), "flags 0x1"},
		"no conversion":     {last(0, 0), "want a whole number, at least 1"},
		"half a conversion": {last(0.5, 0), "want a whole number, at least 1"},
		"a value":           {last(1, 1), "a value without a value in the plan"},
		"another model":     {append(binary.AppendUvarint(append(header("MQL", string(plan)), 0, 0, 0), uint64(len(m1))), m1...), "markov counts of another model"},
	}, nil)
}

// TestCreditBinarySeeds checks the seed corpus of
// FuzzCreditAccumulatorBinary (written with LEADKIT_UPDATE_SEEDS=1): the
// valid_* seeds decode and encode to themselves, the others are refused.
func TestCreditBinarySeeds(t *testing.T) {
	binenctest.SeedCorpus[lifecycle.CreditAccumulator](t, filepath.Join("testdata", "fuzz", "FuzzCreditAccumulatorBinary"), os.Getenv("LEADKIT_UPDATE_SEEDS") != "",
		func() map[string][]byte {
			seeds := map[string][]byte{}
			rng := rand.New(rand.NewPCG(3, 4))
			for i, plan := range creditPlans() {
				a := newCredit(t, "MQL", plan)
				for _, j := range randomCreditJourneys(rng, 12) {
					require.NoError(t, a.Add(j))
				}
				seeds["valid_"+strconv.Itoa(i)] = binenctest.Encode(t, a)
			}
			good := seeds["valid_1"]
			seeds["truncated"], seeds["trailing"] = good[:len(good)-3], append(append([]byte{}, good...), 0)
			return seeds
		})
}

// FuzzCreditAccumulatorBinary decodes arbitrary bytes: see
// binenctest.FuzzDecode (what decodes encodes to the very bytes it came
// from, and merges with a copy of itself into a state whose encoding
// decodes, or is refused at MaxCreditCount).
func FuzzCreditAccumulatorBinary(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		binenctest.FuzzDecode(t, data, func(a *lifecycle.CreditAccumulator) any { credits, _, _ := a.Result(); return credits }, true)
	})
}
