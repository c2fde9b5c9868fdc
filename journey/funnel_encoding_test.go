package journey_test

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/binenctest"
	"github.com/leadkit/leadkit/journey"
)

// encodingFunnels are the funnel shapes whose accumulators the encoding
// must carry: every order, a When predicate over a declared attribute
// (compiled again on decode), a step of any type, a custom window and
// histogram bins.
func encodingFunnels() map[string]journey.FunnelSpec {
	abc := []journey.Step{{Name: "a", Types: []string{"a"}}, {Name: "b", Types: []string{"b"}}, {Name: "c", Types: []string{"c", "x"}}}
	return map[string]journey.FunnelSpec{
		"ordered":   {Steps: abc},
		"strict":    {Steps: abc, Order: journey.Strict, Window: 90 * time.Hour},
		"unordered": {Steps: abc, Order: journey.Unordered, Window: 3*24*time.Hour + 30*time.Minute, Bins: 7},
		"when": {
			Steps: []journey.Step{
				{Name: "visit", Types: []string{"a", "x"}},
				{Name: "big", When: `event.type != "a" && event.n > 2`},
				{Name: "close", Types: []string{"c"}, When: `event.channel == "web"`},
			},
			Fields: []leadkit.FieldSpec{{Name: "event.n", Type: leadkit.TypeNumber}},
			Window: 10 * 24 * time.Hour,
		},
	}
}

// randomTimelines returns n timelines of random events: types a, b, c
// and x, times on a coarse grid (so same-time events happen), a number
// attribute and a channel.
func randomTimelines(rng *rand.Rand, n int) []journey.Timeline {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	types := []string{"a", "b", "c", "x"}
	out := make([]journey.Timeline, n)
	for i := range out {
		lead := fmt.Sprintf("lead-%d", i)
		events := make([]leadkit.Event, rng.IntN(12))
		for j := range events {
			events[j] = leadkit.Event{
				ID: fmt.Sprintf("%s-%d", lead, j), LeadID: lead, Type: types[rng.IntN(len(types))],
				Time:  t0.Add(time.Duration(rng.IntN(40*24)) * time.Hour / 2),
				Attrs: map[string]any{"n": float64(rng.IntN(5))},
			}
			if rng.IntN(2) == 0 {
				events[j].Channel = "web"
			}
		}
		leadkit.SortEvents(events)
		out[i] = journey.Timeline{LeadID: lead, Events: events}
	}
	return out
}

func fillFunnel(t *testing.T, spec journey.FunnelSpec, tls []journey.Timeline) *journey.FunnelAccumulator {
	t.Helper()
	acc, err := journey.NewFunnelAccumulator(spec)
	require.NoError(t, err)
	for _, tl := range tls {
		require.NoError(t, acc.Add(tl))
	}
	return acc
}

func funnelJSON(t *testing.T, acc *journey.FunnelAccumulator) string {
	t.Helper()
	b, err := json.Marshal(acc.Result())
	require.NoError(t, err)
	return string(b)
}

func encode(t *testing.T, acc *journey.FunnelAccumulator) []byte {
	t.Helper()
	b, err := acc.MarshalBinary()
	require.NoError(t, err)
	return b
}

// TestJourneyFunnelBinaryRoundTrip: random timelines filled in shards,
// each encoded and decoded on the way (as a distributed runner ships
// them), merge to the result of one pass, byte for byte; a decoded
// accumulator encodes to the bytes it came from, takes more timelines and
// merges with accumulators of an equal spec.
func TestJourneyFunnelBinaryRoundTrip(t *testing.T) {
	for name, spec := range encodingFunnels() {
		t.Run(name, func(t *testing.T) {
			for seed := range uint64(8) {
				rng := rand.New(rand.NewPCG(seed, 16))
				tls := randomTimelines(rng, 20+rng.IntN(300))
				n := len(tls)
				one := fillFunnel(t, spec, tls)
				want := funnelJSON(t, one)

				a, b := fillFunnel(t, spec, tls[:n/3]), fillFunnel(t, spec, tls[n/3:2*n/3])
				ea, eb := encode(t, a), encode(t, b)
				var da, db journey.FunnelAccumulator
				require.NoError(t, da.UnmarshalBinary(ea))
				require.NoError(t, db.UnmarshalBinary(eb))
				assert.Equal(t, funnelJSON(t, a), funnelJSON(t, &da))
				assert.Equal(t, ea, encode(t, &da), "decoding then encoding gives the same bytes")

				require.NoError(t, da.Merge(&db))
				for _, tl := range tls[2*n/3:] {
					require.NoError(t, da.Add(tl))
				}
				assert.Equal(t, want, funnelJSON(t, &da), "seed %d", seed)
				assert.Equal(t, encode(t, one), encode(t, &da))

				// A fresh accumulator of an equal spec (another compile)
				// merges a decoded one; a funnel of another spec does not.
				fresh := fillFunnel(t, spec, nil)
				require.NoError(t, fresh.Merge(&da))
				assert.Equal(t, want, funnelJSON(t, fresh))
				other := fillFunnel(t, journey.FunnelSpec{Steps: []journey.Step{{Name: "a", Types: []string{"a"}}}}, nil)
				assert.ErrorIs(t, da.Merge(other), leadkit.ErrInvalid)
			}
		})
	}
}

// TestJourneyFunnelBinaryCanonical: the same timelines added in another
// order, or merged in another grouping, encode to the same bytes as one
// pass.
func TestJourneyFunnelBinaryCanonical(t *testing.T) {
	for name, spec := range encodingFunnels() {
		t.Run(name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(3, 4))
			tls := randomTimelines(rng, 400)
			want := encode(t, fillFunnel(t, spec, tls))

			rev := make([]journey.Timeline, len(tls))
			for i, tl := range tls {
				rev[len(tls)-1-i] = tl
			}
			assert.Equal(t, want, encode(t, fillFunnel(t, spec, rev)))

			// Merged from seven shards of a shuffled order, in a tree.
			shuffled := append([]journey.Timeline{}, tls...)
			rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
			var parts []*journey.FunnelAccumulator
			for k := range 7 {
				var part []journey.Timeline
				for i := k; i < len(shuffled); i += 7 {
					part = append(part, shuffled[i])
				}
				parts = append(parts, fillFunnel(t, spec, part))
			}
			for len(parts) > 1 {
				require.NoError(t, parts[len(parts)-1].Merge(parts[0]))
				parts = parts[1:]
			}
			assert.Equal(t, want, encode(t, parts[0]))
		})
	}
}

// TestJourneyFunnelBinaryRefused: what is not an encoding of a funnel a
// funnel can hold is an error wrapping ErrInvalid, and the accumulator
// decoded into is left as it was.
func TestJourneyFunnelBinaryRefused(t *testing.T) {
	_, err := new(journey.FunnelAccumulator).MarshalBinary()
	assert.ErrorIs(t, err, leadkit.ErrInvalid, "the zero value has no spec to encode")

	acc := fillFunnel(t, encodingFunnels()["when"], randomTimelines(rand.New(rand.NewPCG(5, 6)), 200))
	good := encode(t, acc)
	before := funnelJSON(t, acc)
	for cut := 0; cut < len(good); cut++ {
		err := acc.UnmarshalBinary(good[:cut])
		require.ErrorIs(t, err, leadkit.ErrInvalid, "prefix of %d bytes of %d", cut, len(good))
	}
	assert.Equal(t, before, funnelJSON(t, acc), "a refused decode leaves the accumulator alone")

	// A small two-step funnel written by hand, a then b, 1h window.
	enc := func(spec string, tail ...uint64) []byte {
		b := []byte("LKJF\x02")
		b = binary.AppendUvarint(b, uint64(len(spec)))
		b = append(b, spec...)
		for _, v := range tail {
			b = binary.AppendUvarint(b, v)
		}
		return b
	}
	zz := func(v int64) uint64 { return uint64(v<<1) ^ uint64(v>>63) } // a varint as a uvarint
	plain := `{"steps":[{"name":"a","types":["a"]},{"name":"b","types":["b"]}],"window":"1h"}`
	m := uint64(time.Minute)
	// 3 leads, 2 reached a, 1 reached b after 5 minutes, converting in 5.
	ok := enc(plain, 3, 2, 1, zz(5*int64(m)), zz(5*int64(m)))
	var dec journey.FunnelAccumulator
	require.NoError(t, dec.UnmarshalBinary(ok))
	r := dec.Result()
	assert.Equal(t, 3, r.Leads)
	assert.Equal(t, []int{2, 1}, []int{r.Steps[0].Count, r.Steps[1].Count})
	assert.Equal(t, leadkit.Duration(5*time.Minute), r.Steps[1].MedianTime)
	assert.Equal(t, leadkit.Duration(5*time.Minute), r.TimeToConvert.Median)
	assert.Equal(t, ok, encode(t, &dec))

	cases := map[string]struct {
		data []byte
		why  string
	}{
		"empty":                  {nil, "not a journey funnel accumulator"},
		"not ours":               {[]byte(plain), "not a journey funnel accumulator"},
		"a stage funnel":         {append([]byte("LKFA\x01"), ok[5:]...), "not a journey funnel accumulator"},
		"future version":         {append([]byte("LKJF\x03"), ok[5:]...), "unknown format version"},
		"version 1":              {append([]byte("LKJF\x01"), ok[5:]...), "unknown format version"},
		"trailing byte":          {append(append([]byte{}, ok...), 0), "1 bytes after the end"},
		"spec length lies":       {append([]byte("LKJF\x02\xff\xff\x03"), plain...), "spec: 65535 items"},
		"unknown spec key":       {enc(`{"steps":[{"name":"a","types":["a"]}],"colour":"red"}`, 0, 0), "colour"},
		"bad spec":               {enc(`{"steps":[]}`, 0), "no steps"},
		"bad when":               {enc(`{"steps":[{"name":"a","when":"event.nope > 1"}]}`, 0, 0), "event.nope"},
		"step 1 > leads":         {enc(plain, 1, 2, 0), "step 1: count 2 > leads 1"},
		"counts grow":            {enc(plain, 3, 1, 2, 0, 0, 0, 0), "step 2: count 2 > step 1 count 1"},
		"count out of range":     {enc(plain, journey.MaxCount+1), "leads: 9007199254740992 is out of range"},
		"durations beyond bytes": {enc(plain, 1000, 1000, 1000), "1000 durations in 0 bytes"},
		"sketch beyond bytes":    {enc(plain, 1<<30, 1<<30, 1<<30), "sketch min: truncated"},
		"negative duration":      {enc(plain, 3, 2, 1, zz(-5), zz(5)), "negative duration"},
		"gap beyond the window":  {enc(plain, 3, 2, 1, zz(61*int64(m)), zz(5*int64(m))), "duration beyond the window 1h"},
		"sum beyond the window":  {enc(plain, 3, 2, 2, zz(50*int64(m)), 11*m, zz(5*int64(m)), 0), "duration beyond the window 1h"},
		"overlong number":        {append(enc(plain), "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"...), "leads: truncated or overlong number"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			got := dec
			err := got.UnmarshalBinary(c.data)
			require.ErrorIs(t, err, leadkit.ErrInvalid)
			assert.Contains(t, err.Error(), "journey: funnel: decode: ")
			assert.Contains(t, err.Error(), c.why)
			assert.Equal(t, dec.Result(), got.Result())
		})
	}
}

// FuzzJourneyFunnelBinary decodes arbitrary bytes. Decoding must succeed
// or fail with ErrInvalid, never panic; what decodes has a result that
// encodes as JSON, and its encoding is canonical: it decodes to the same
// result and encodes to itself, and it merges with accumulators of its
// spec into a state whose encoding decodes (or the merge is refused at
// MaxCount).
func FuzzJourneyFunnelBinary(f *testing.F) {
	rng := rand.New(rand.NewPCG(11, 12))
	var specs []journey.FunnelSpec
	for _, name := range slices.Sorted(maps.Keys(encodingFunnels())) {
		spec := encodingFunnels()[name]
		specs = append(specs, spec)
		spec.Quantiles = leadkit.Quantiles{Exact: 2, Accuracy: 0.05} // past the threshold: sketches
		specs = append(specs, spec)
	}
	for _, spec := range specs {
		acc, err := journey.NewFunnelAccumulator(spec)
		if err != nil {
			f.Fatal(err)
		}
		for _, tl := range randomTimelines(rng, 12) {
			if err := acc.Add(tl); err != nil {
				f.Fatal(err)
			}
		}
		b, err := acc.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	anyStep := `{"steps":[{"name":"a","when":"event.channel == \"web\""}]}`
	f.Add(append(append(binary.AppendUvarint([]byte("LKJF\x02"), uint64(len(anyStep))), anyStep...), 2, 1))
	f.Add([]byte("LKJF\x02"))
	// counts past math.MaxInt32, and at the cap (a merge with itself is refused)
	one, err := journey.NewFunnelAccumulator(journey.FunnelSpec{Steps: []journey.Step{{Name: "a", Types: []string{"a"}}, {Name: "b", Types: []string{"b"}}}})
	if err != nil {
		f.Fatal(err)
	}
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	if err := one.Add(journey.Timeline{LeadID: "l", Events: []leadkit.Event{{ID: "1", Type: "a", Time: t0}, {ID: "2", Type: "b", Time: t0.Add(time.Hour)}}}); err != nil {
		f.Fatal(err)
	}
	f.Add(binenctest.Encode(f, binenctest.Scaled(f, one, 1<<32+3)))
	f.Add(binenctest.Encode(f, binenctest.Scaled(f, one, journey.MaxCount)))
	f.Fuzz(func(t *testing.T, data []byte) {
		binenctest.FuzzDecode(t, data, func(a *journey.FunnelAccumulator) any { return a.Result() }, false)
	})
}
