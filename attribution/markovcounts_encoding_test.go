package attribution

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/binenctest"
	"github.com/leadkit/leadkit/journey"
)

// encodingModels are the chain shapes whose counts the encoding must
// carry: every order handling of repeats.
var encodingModels = []Markov{{}, {Order: 2}, {Order: 3, KeepRepeats: true}, {Order: 2, CollapseChannels: true}, {Order: 1, KeepRepeats: true}}

func countsOf(t testing.TB, m Markov, paths []Path) *MarkovCounts {
	t.Helper()
	c, err := NewMarkovCounts(m)
	require.NoError(t, err)
	require.NoError(t, c.AddPaths(paths))
	return c
}

func marshalCounts(t testing.TB, c *MarkovCounts) []byte {
	t.Helper()
	b, err := c.MarshalBinary()
	require.NoError(t, err)
	return b
}

func countsResultJSON(t testing.TB, c *MarkovCounts) string {
	t.Helper()
	r, err := c.Result()
	require.NoError(t, err)
	b, err := json.Marshal(r)
	require.NoError(t, err)
	return string(b)
}

// TestMarkovCountsBinaryRoundTrip: counts of random paths decode to counts
// with the same totals, channels, states and result (up to the rounding
// of a solve in another state order), that encode to the same bytes, take
// more paths and merge like the original.
func TestMarkovCountsBinaryRoundTrip(t *testing.T) {
	for seed := uint64(1); seed <= 4; seed++ {
		paths := randomPaths(100+seed, 1200, 4+int(seed)*3, 9)
		paths = append(paths, Path{Channels: []string{"weightless"}})
		for _, m := range encodingModels {
			name := fmt.Sprintf("seed %d %+v", seed, m)
			c := countsOf(t, m, paths[:800])
			enc := marshalCounts(t, c)
			var d MarkovCounts
			require.NoError(t, d.UnmarshalBinary(enc), name)
			assert.Equal(t, enc, marshalCounts(t, &d), name)
			assert.Equal(t, c.Spec(), d.Spec(), name)
			assert.Equal(t, []int{c.States(), c.Channels()}, []int{d.States(), d.Channels()}, name)
			c1, v1, n1 := c.Totals()
			c2, v2, n2 := d.Totals()
			assert.Equal(t, []float64{c1, v1, n1}, []float64{c2, v2, n2}, name)
			want, err := c.Result()
			require.NoError(t, err)
			got, err := d.Result()
			require.NoError(t, err)
			assertResultsClose(t, want, got, name)

			// The decoded counts go on: more paths, a merge, another round.
			require.NoError(t, d.AddPaths(paths[800:1000]), name)
			rest := countsOf(t, m, paths[1000:])
			require.NoError(t, d.Merge(rest), name)
			assert.Equal(t, marshalCounts(t, countsOf(t, m, paths)), marshalCounts(t, &d), name)
			assert.Equal(t, 1201, d.added, name)

			other, err := NewMarkovCounts(Markov{Order: m.order() + 1})
			require.NoError(t, err)
			assert.ErrorIs(t, d.Merge(other), leadkit.ErrInvalid, "the decoded counts keep their spec")
		}
	}
}

func assertResultsClose(t *testing.T, want, got Result, name string) {
	t.Helper()
	require.Equal(t, want.Channels(), got.Channels(), name)
	assert.InDelta(t, want.ConversionProbability, got.ConversionProbability, 1e-12, name)
	for ch, v := range want.Conversions {
		assert.InDelta(t, v, got.Conversions[ch], 1e-9, name)
		assert.InDelta(t, want.Value[ch], got.Value[ch], 1e-9, name)
		assert.InDelta(t, want.RemovalEffects[ch], got.RemovalEffects[ch], 1e-12, name)
		assert.InDelta(t, want.ValueRemovalEffects[ch], got.ValueRemovalEffects[ch], 1e-12, name)
	}
}

// TestMarkovCountsBinaryCanonical: the same paths added in another order,
// or spread over shards merged in any grouping, encode to the same bytes,
// and their decoded counts have the same result byte for byte.
func TestMarkovCountsBinaryCanonical(t *testing.T) {
	for seed := uint64(1); seed <= 3; seed++ {
		paths := randomPaths(200+seed, 1500, 12, 8)
		for _, m := range encodingModels {
			name := fmt.Sprintf("seed %d %+v", seed, m)
			want := marshalCounts(t, countsOf(t, m, paths))

			rev, err := NewMarkovCounts(m)
			require.NoError(t, err)
			for i := len(paths) - 1; i >= 0; i-- {
				require.NoError(t, rev.Add(paths[i]))
			}
			assert.Equal(t, want, marshalCounts(t, rev), name)

			r := rand.New(rand.NewPCG(seed, 5))
			shards := make([]*MarkovCounts, 2+r.IntN(6))
			for i := range shards {
				shards[i], err = NewMarkovCounts(m)
				require.NoError(t, err)
			}
			for _, p := range paths {
				require.NoError(t, shards[r.IntN(len(shards))].Add(p))
			}
			for len(shards) > 1 {
				i, j := r.IntN(len(shards)), r.IntN(len(shards)-1)
				if j >= i {
					j++
				}
				// Half the time the shard travels through its encoding.
				o := shards[j]
				if r.IntN(2) == 0 {
					o = new(MarkovCounts)
					require.NoError(t, o.UnmarshalBinary(marshalCounts(t, shards[j])))
				}
				require.NoError(t, shards[i].Merge(o))
				shards = append(shards[:j], shards[j+1:]...)
			}
			assert.Equal(t, want, marshalCounts(t, shards[0]), name)

			var a, b MarkovCounts
			require.NoError(t, a.UnmarshalBinary(want))
			require.NoError(t, b.UnmarshalBinary(marshalCounts(t, shards[0])))
			assert.Equal(t, countsResultJSON(t, &a), countsResultJSON(t, &b), name)
		}
	}
}

// TestMarkovCountsBinaryFull: counts over MaxMarkovStates keep their
// totals and channels through the encoding, and are still refused by
// Result; merged with other counts in any order they encode the same.
func TestMarkovCountsBinaryFull(t *testing.T) {
	paths := longPaths(3, 200, 60, 1000)
	m := Markov{Order: 3}
	c := countsOf(t, m, paths)
	require.Greater(t, c.States(), MaxMarkovStates)
	enc := marshalCounts(t, c)
	var d MarkovCounts
	require.NoError(t, d.UnmarshalBinary(enc))
	assert.Equal(t, enc, marshalCounts(t, &d))
	assert.Equal(t, 60, d.Channels())
	conv, val, nulls := d.Totals()
	wc, wv, wn := Totals(paths)
	assert.Equal(t, []float64{wc, wv, wn}, []float64{conv, val, nulls})
	_, err := d.Result()
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.Contains(t, err.Error(), "MaxMarkovStates")

	small := countsOf(t, m, []Path{{Channels: []string{"zz", "a"}, Conversions: 1}})
	require.NoError(t, small.Merge(&d))
	require.NoError(t, d.Merge(countsOf(t, m, []Path{{Channels: []string{"zz", "a"}, Conversions: 1}})))
	assert.Equal(t, marshalCounts(t, small), marshalCounts(t, &d))
}

// markovEnc builds an encoding by hand: the header, then the channels,
// then raw parts (a uint64 is a uvarint, a float64 its 8 bytes).
func markovEnc(order uint64, flags byte, added uint64, totals [3]float64, channels []string, parts ...any) []byte {
	b := []byte("LKMC\x01")
	b = binary.AppendUvarint(b, order)
	b = append(b, flags)
	b = binary.AppendUvarint(b, added)
	for _, v := range totals {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
	}
	b = binary.AppendUvarint(b, uint64(len(channels)))
	for _, ch := range channels {
		b = binary.AppendUvarint(b, uint64(len(ch)))
		b = append(b, ch...)
	}
	for _, p := range parts {
		switch v := p.(type) {
		case int:
			b = binary.AppendUvarint(b, uint64(v))
		case uint64:
			b = binary.AppendUvarint(b, v)
		case float64:
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
		default:
			panic(fmt.Sprintf("markovEnc: %T", p))
		}
	}
	return b
}

// TestMarkovCountsBinaryRefused: what is not an encoding of counts some
// paths make is an error wrapping ErrInvalid, and the counts decoded into
// are left as they were.
func TestMarkovCountsBinaryRefused(t *testing.T) {
	_, err := new(MarkovCounts).MarshalBinary()
	assert.ErrorIs(t, err, leadkit.ErrInvalid, "the zero value has no spec to encode")

	c := countsOf(t, Markov{Order: 2}, randomPaths(9, 200, 5, 6))
	good := marshalCounts(t, c)
	before := countsResultJSON(t, c)
	for cut := 0; cut < len(good); cut++ {
		err := c.UnmarshalBinary(good[:cut])
		require.ErrorIs(t, err, leadkit.ErrInvalid, "prefix of %d bytes of %d", cut, len(good))
	}
	assert.Equal(t, before, countsResultJSON(t, c), "a refused decode leaves the counts alone")

	// "a > b": 1 conversion of value 10; "a": 1 null. Order 1: states a
	// (1) and b (2); Start -> a 2; a -> null 1, a -> b 1; b -> conv 1.
	ab := []string{"a", "b"}
	tot := [3]float64{1, 10, 1}
	rows := func(aRow ...any) []any {
		out := []any{2, 1, 0, 1, 1, // windows: [0], [1]
			0.0, 1, 2, 2.0} // Start: -> a (code 2) weight 2
		out = append(out, aRow...)
		return append(out, 10.0, 1, 1, 1.0) // b: value 10, -> conv 1
	}
	ok := markovEnc(1, 0, 2, tot, ab, rows(0.0, 2, 0, 1.0, 3, 1.0)...)
	var dec MarkovCounts
	require.NoError(t, dec.UnmarshalBinary(ok))
	want, err := Markov{}.Attribute([]Path{{Channels: ab, Conversions: 1, Value: 10}, {Channels: []string{"a"}, Nulls: 1}})
	require.NoError(t, err)
	got, err := dec.Result()
	require.NoError(t, err)
	assert.Equal(t, want, got)
	assert.Equal(t, ok, marshalCounts(t, &dec))

	cases := map[string]struct {
		data []byte
		why  string
	}{
		"empty":               {nil, "not markov counts"},
		"not ours":            {[]byte("LKFA\x01"), "not markov counts"},
		"future version":      {append([]byte("LKMC\x02"), ok[5:]...), "unknown format version"},
		"trailing byte":       {append(append([]byte{}, ok...), 0), "1 bytes after the end"},
		"order 0":             {markovEnc(0, 0, 0, [3]float64{}, nil, 0, 0.0, 0), "order 0"},
		"order 11":            {markovEnc(11, 0, 0, [3]float64{}, nil, 0, 0.0, 0), "order 11"},
		"unknown flag":        {markovEnc(1, 8, 0, [3]float64{}, nil, 0, 0.0, 0), "unknown flags"},
		"keep and collapse":   {markovEnc(1, 3, 0, [3]float64{}, nil, 0, 0.0, 0), "keep_repeats and collapse_channels"},
		"negative total":      {markovEnc(1, 0, 0, [3]float64{-1, 0, 0}, nil, 0, 0.0, 0), "conversions: -1 is negative"},
		"NaN total":           {markovEnc(1, 0, 0, [3]float64{0, 0, math.NaN()}, nil, 0, 0.0, 0), "nulls: NaN"},
		"negative zero":       {markovEnc(1, 0, 0, [3]float64{math.Copysign(0, -1), 0, 0}, nil, 0, 0.0, 0), "not a finite number"},
		"value, no converts":  {markovEnc(1, 0, 0, [3]float64{0, 5, 0}, nil, 0, 0.0, 0), "value 5 without conversions"},
		"channels unsorted":   {markovEnc(1, 0, 2, tot, []string{"b", "a"}, rows(0.0, 2, 0, 1.0, 3, 1.0)...), `channel "a" out of order`},
		"channel repeated":    {markovEnc(1, 0, 2, tot, []string{"a", "a"}, rows(0.0, 2, 0, 1.0, 3, 1.0)...), `channel "a" out of order`},
		"empty channel":       {markovEnc(1, 0, 2, tot, []string{"", "a"}, rows(0.0, 2, 0, 1.0, 3, 1.0)...), "empty channel name"},
		"NUL in channel":      {markovEnc(1, 0, 2, tot, []string{"a\x00", "b"}, rows(0.0, 2, 0, 1.0, 3, 1.0)...), "channel 1"},
		"channels lie":        {append(markovEnc(1, 0, 0, [3]float64{}, nil)[:len(markovEnc(1, 0, 0, [3]float64{}, nil))-1], 0xff, 0xff, 0x03), "channels: 65535 items"},
		"states lie":          {markovEnc(1, 0, 2, tot, ab, uint64(1)<<40), "states: 1099511627776 items"},
		"window too long":     {markovEnc(1, 0, 2, tot, ab, 1, 2, 0, 1), "window of 2 channels at order 1"},
		"empty window":        {markovEnc(2, 0, 2, tot, ab, 1, 0, 0.0, 0), "window of 0 channels"},
		"window channel":      {markovEnc(1, 0, 2, tot, ab, 1, 1, 2), "channel 2 of 2"},
		"states unsorted":     {markovEnc(1, 0, 2, tot, ab, 2, 1, 1, 1, 0), "state 2 out of order"},
		"states repeated":     {markovEnc(1, 0, 2, tot, ab, 2, 1, 0, 1, 0), "state 2 out of order"},
		"collapsed repeat":    {markovEnc(2, 2, 2, tot, ab, 1, 2, 0, 0), "repeated channel with collapsed"},
		"targets unsorted":    {markovEnc(1, 0, 2, tot, ab, rows(0.0, 2, 3, 1.0, 0, 1.0)...), "transition to 0 out of order"},
		"target out of range": {markovEnc(1, 0, 2, tot, ab, rows(0.0, 2, 0, 1.0, 4, 1.0)...), "transition to 4"},
		"zero weight":         {markovEnc(1, 0, 2, tot, ab, rows(0.0, 2, 0, 0.0, 3, 1.0)...), "transition weight 0"},
		"infinite weight":     {markovEnc(1, 0, 2, tot, ab, rows(0.0, 2, 0, math.Inf(1), 3, 1.0)...), "not a finite number"},
		"repeat not kept":     {markovEnc(1, 0, 2, tot, ab, rows(0.0, 3, 0, 1.0, 2, 1.0, 3, 1.0)...), "a repeat without keep_repeats"},
		"value, no convert":   {markovEnc(1, 0, 2, tot, ab, rows(4.0, 2, 0, 1.0, 3, 1.0)...), "conversion value without conversions"},
		"negative value":      {markovEnc(1, 0, 2, tot, ab, rows(-4.0, 2, 0, 1.0, 3, 1.0)...), "negative conversion value"},
		"state never entered": {markovEnc(1, 0, 2, tot, ab, rows(0.0, 1, 0, 1.0)...), "state 2 is never entered"},
		"conversion at Start": {markovEnc(1, 0, 1, [3]float64{1, 0, 0}, nil, 0, 0.0, 1, 1, 1.0), "Start: a transition to a conversion"},
		"transitions lie":     {markovEnc(1, 0, 2, tot, ab, 2, 1, 0, 1, 1, 0.0, uint64(1)<<40), "transitions: 1099511627776 items"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			got := dec
			err := got.UnmarshalBinary(c.data)
			require.ErrorIs(t, err, leadkit.ErrInvalid)
			assert.Contains(t, err.Error(), "attribution: markov: decode: ")
			assert.Contains(t, err.Error(), c.why)
			assert.Equal(t, ok, marshalCounts(t, &got), "left unchanged")
		})
	}
}

// FuzzMarkovCountsBinary decodes arbitrary bytes. Decoding must succeed
// or fail with ErrInvalid, never panic; what decodes solves or fails with
// ErrInvalid, and its encoding is canonical: it decodes to the same
// result and encodes to itself, and it merges with its own kind into
// counts whose encoding decodes (or the merge is refused at the cap).
func FuzzMarkovCountsBinary(f *testing.F) {
	for i, m := range encodingModels {
		c, err := NewMarkovCounts(m)
		if err != nil {
			f.Fatal(err)
		}
		if err := c.AddPaths(randomPaths(uint64(i), 6, 3, 4)); err != nil {
			f.Fatal(err)
		}
		b, err := c.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(markovEnc(1, 0, 2, [3]float64{1, 10, 1}, []string{"a", "b"}, 2, 1, 0, 1, 1, 0.0, 1, 2, 2.0, 0.0, 2, 0, 1.0, 3, 1.0, 10.0, 1, 1, 1.0))
	f.Add(markovEnc(3, markovFlagFull, 5, [3]float64{1, 0, 4}, []string{"x"}))
	f.Add([]byte("LKMC\x01"))
	// counts past math.MaxInt32, and at the cap (a merge with itself is refused)
	one := countsPaths(f)
	f.Add(marshalCounts(f, binenctest.Scaled(f, one, 1<<32+3)))
	f.Add(marshalCounts(f, binenctest.Scaled(f, one, journey.MaxCount)))
	f.Fuzz(func(t *testing.T, data []byte) {
		binenctest.FuzzDecode(t, data, func(c *MarkovCounts) any {
			r, err := c.Result()
			if err != nil {
				if !errors.Is(err, leadkit.ErrInvalid) {
					t.Fatalf("result error does not wrap ErrInvalid: %v", err)
				}
				return err.Error()
			}
			return r
		}, true)
	})
}
