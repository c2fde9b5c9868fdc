package journey_test

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/journey"
)

// TestFunnelShardsByteIdentical: timelines split into random shards, each
// shipped through its binary encoding, merged in a random order give the
// result (step times, time to convert with its percentiles and histogram)
// and the encoding of one pass byte for byte, with the times kept exactly
// and (thresholds of 3 and 40) in sketches.
func TestFunnelShardsByteIdentical(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	tls := randomTimelines(rng, 1500)
	for name, spec := range encodingFunnels() {
		for _, q := range []leadkit.Quantiles{{}, {Exact: 3}, {Exact: 40, Accuracy: 0.03}} {
			spec.Quantiles = q
			f, err := journey.CompileFunnel(spec)
			require.NoError(t, err)
			one := f.NewAccumulator()
			for _, tl := range tls {
				require.NoError(t, one.Add(tl))
			}
			want, wantBin := funnelJSON(t, one), encode(t, one)
			for range 3 {
				k := 1 + rng.IntN(7)
				shards := make([]*journey.FunnelAccumulator, k)
				for i := range shards {
					shards[i] = f.NewAccumulator()
				}
				for _, i := range rng.Perm(len(tls)) {
					require.NoError(t, shards[rng.IntN(k)].Add(tls[i]))
				}
				for i, s := range shards {
					shards[i] = new(journey.FunnelAccumulator)
					require.NoError(t, shards[i].UnmarshalBinary(encode(t, s)))
				}
				rng.Shuffle(k, func(i, j int) { shards[i], shards[j] = shards[j], shards[i] })
				for _, s := range shards[1:] {
					require.NoError(t, shards[0].Merge(s))
				}
				require.Equal(t, want, funnelJSON(t, shards[0]), "%s %+v, %d shards", name, q, k)
				require.Equal(t, wantBin, encode(t, shards[0]), "%s %+v, %d shards", name, q, k)
			}
		}
	}
}

// TestQuantilesValidated: quantile settings past the caps are refused by
// the funnel and the work accumulator, as every spec field is.
func TestQuantilesValidated(t *testing.T) {
	bad := leadkit.Quantiles{Accuracy: 0.9}
	_, err := journey.CompileFunnel(journey.FunnelSpec{Steps: []journey.Step{{Name: "a", Types: []string{"a"}}}, Quantiles: bad})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	require.ErrorContains(t, err, "journey: funnel: leadkit: invalid input: quantiles: accuracy 0.9")
	_, err = journey.NewWork(journey.WorkSpec{Stages: []string{"MQL"}, Types: []string{"call"}, Quantiles: leadkit.Quantiles{Exact: -3}})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	require.ErrorContains(t, err, "journey: work: leadkit: invalid input: quantiles: exact -3")
	spec, err := journey.ParseFunnelSpec([]byte(`{"steps": [{"name": "a", "types": ["a"]}], "quantiles": {"exact": 10}}`))
	require.NoError(t, err)
	require.Equal(t, 10, spec.Quantiles.Exact)
}
