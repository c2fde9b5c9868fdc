package stage_test

import (
	"encoding/binary"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/binenc"
	"github.com/leadkit/leadkit/internal/binenctest"
	"github.com/leadkit/leadkit/stage"
)

// encodingSpecs are the funnel shapes whose accumulators the encoding
// must carry: plain, implied stages, calendar cohorts, and by owner with
// SLAs and open stays.
func encodingSpecs(t *testing.T) map[string]stage.FunnelSpec {
	t.Helper()
	m, err := stage.New(stage.Classic(), stage.Options{})
	require.NoError(t, err)
	now := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	return map[string]stage.FunnelSpec{
		"classic":          m.FunnelSpec(stage.FunnelOptions{}),
		"mql-sql-implied":  m.FunnelSpec(stage.FunnelOptions{Stages: []string{"MQL", "SQL", "Won"}}),
		"monthly-cohorts":  m.FunnelSpec(stage.FunnelOptions{Cohort: leadkit.PeriodMonth}),
		"weekly-bounded":   m.FunnelSpec(stage.FunnelOptions{Cohort: leadkit.PeriodWeek, From: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)}),
		"by-owner-sla-now": m.FunnelSpec(stage.FunnelOptions{ByOwner: true, Now: now, Cohort: leadkit.PeriodQuarter}),
	}
}

// fill adds leads [from, to) of d to a new accumulator of spec.
func fill(t *testing.T, spec stage.FunnelSpec, d *simStages, from, to int) *stage.FunnelAccumulator {
	t.Helper()
	acc, err := stage.NewFunnel(spec)
	require.NoError(t, err)
	for i := from; i < to; i++ {
		require.NoError(t, acc.Add(d.Lead(i)))
	}
	return acc
}

func resultJSON(t *testing.T, acc *stage.FunnelAccumulator) string {
	t.Helper()
	b, err := json.Marshal(acc.Result())
	require.NoError(t, err)
	return string(b)
}

// TestFunnelAccumulatorBinaryRoundTrip: an accumulator filled in shards,
// encoded and decoded on the way (as a distributed runner ships them), has
// the result of one pass over every lead, byte for byte; a decoded
// accumulator takes more leads and merges like the original.
func TestFunnelAccumulatorBinaryRoundTrip(t *testing.T) {
	d := simStageData(t, 2000)
	n := len(d.Leads)
	for name, spec := range encodingSpecs(t) {
		t.Run(name, func(t *testing.T) {
			want := resultJSON(t, fill(t, spec, d, 0, n))

			a, b := fill(t, spec, d, 0, n/3), fill(t, spec, d, n/3, 2*n/3)
			ea, err := a.MarshalBinary()
			require.NoError(t, err)
			eb, err := b.MarshalBinary()
			require.NoError(t, err)
			var da, db stage.FunnelAccumulator
			require.NoError(t, da.UnmarshalBinary(ea))
			require.NoError(t, db.UnmarshalBinary(eb))
			assert.Equal(t, resultJSON(t, a), resultJSON(t, &da))
			again, err := da.MarshalBinary()
			require.NoError(t, err)
			assert.Equal(t, ea, again, "decoding then encoding gives the same bytes")

			require.NoError(t, da.Merge(&db))
			for i := 2 * n / 3; i < n; i++ {
				require.NoError(t, da.Add(d.Lead(i)))
			}
			assert.JSONEq(t, want, resultJSON(t, &da))
			assert.Equal(t, want, resultJSON(t, &da))

			// The decoded accumulator keeps the spec: it refuses to merge a
			// funnel of another one, and merges its own kind.
			other, err := stage.NewFunnel(stage.FunnelSpec{Stages: []string{"MQL", "SQL"}})
			require.NoError(t, err)
			assert.ErrorIs(t, da.Merge(other), leadkit.ErrInvalid)
			assert.NoError(t, a.Merge(&db))
		})
	}
}

// TestFunnelAccumulatorBinaryCanonical: the same subjects added in another
// order, or merged in another grouping, encode to the same bytes.
func TestFunnelAccumulatorBinaryCanonical(t *testing.T) {
	d := simStageData(t, 2000)
	n := len(d.Leads)
	for name, spec := range encodingSpecs(t) {
		t.Run(name, func(t *testing.T) {
			fwd := fill(t, spec, d, 0, n)
			rev, err := stage.NewFunnel(spec)
			require.NoError(t, err)
			for i := n - 1; i >= 0; i-- {
				require.NoError(t, rev.Add(d.Lead(i)))
			}
			merged := fill(t, spec, d, n/2, n)
			require.NoError(t, merged.Merge(fill(t, spec, d, 0, n/2)))
			want, err := fwd.MarshalBinary()
			require.NoError(t, err)
			for _, acc := range []*stage.FunnelAccumulator{rev, merged} {
				got, err := acc.MarshalBinary()
				require.NoError(t, err)
				assert.Equal(t, want, got)
			}
		})
	}
}

// TestFunnelAccumulatorBinaryRefused: what is not an encoding of a funnel
// a funnel can hold is an error wrapping ErrInvalid, and the accumulator
// decoded into is left as it was.
func TestFunnelAccumulatorBinaryRefused(t *testing.T) {
	_, err := new(stage.FunnelAccumulator).MarshalBinary()
	assert.ErrorIs(t, err, leadkit.ErrInvalid, "the zero value has no spec to encode")

	d := simStageData(t, 2000)
	spec := encodingSpecs(t)["by-owner-sla-now"]
	acc := fill(t, spec, d, 0, 300)
	good, err := acc.MarshalBinary()
	require.NoError(t, err)
	before := resultJSON(t, acc)

	// Every proper prefix is refused.
	for cut := 0; cut < len(good); cut++ {
		err := acc.UnmarshalBinary(good[:cut])
		require.ErrorIs(t, err, leadkit.ErrInvalid, "prefix of %d bytes of %d", cut, len(good))
	}
	assert.Equal(t, before, resultJSON(t, acc), "a refused decode leaves the accumulator alone")

	// A small two-stage funnel written by hand: MQL -> SQL.
	enc := func(spec string, tail ...uint64) []byte {
		b := []byte("LKFA\x02")
		b = binary.AppendUvarint(b, uint64(len(spec)))
		b = append(b, spec...)
		for _, v := range tail {
			b = binary.AppendUvarint(b, v)
		}
		return b
	}
	plain := `{"stages":["MQL","SQL"]}`
	// entered MQL 2, SQL 1; reached 2, 1; converted 1 with a 5 ns duration
	ok := enc(plain, 2, 1, 2, 1, 1, 10) // varint 5 is zigzag 10
	var dec stage.FunnelAccumulator
	require.NoError(t, dec.UnmarshalBinary(ok))
	r := dec.Result()
	assert.Equal(t, []stage.FunnelStage{{Stage: "MQL", Entered: 2, Reached: 2}, {Stage: "SQL", Entered: 1, Reached: 1}}, r.Stages)
	assert.Equal(t, stage.Conversion{From: "MQL", To: "SQL", Base: 2, Converted: 1, Rate: 0.5, Mean: 5, Median: 5}, r.Conversions[0])

	zz := func(v int64) uint64 { return uint64(v<<1) ^ uint64(v>>63) } // a varint as a uvarint
	monthly, owned := `{"stages":["MQL","SQL"],"cohort":"month"}`, `{"stages":["MQL","SQL"],"by_owner":true}`
	cases := map[string]struct {
		data []byte
		why  string
	}{
		"empty":             {nil, "not a funnel accumulator"},
		"not ours":          {[]byte(plain), "not a funnel accumulator"},
		"future version":    {append([]byte("LKFA\x03"), ok[5:]...), "unknown format version"},
		"version 1":         {append([]byte("LKFA\x01"), ok[5:]...), "unknown format version"},
		"trailing byte":     {append(append([]byte{}, ok...), 0), "1 bytes after the end"},
		"bad spec":          {enc(`{"stages":["MQL"]}`, 1, 1), "at least two stages"},
		"unknown spec key":  {enc(`{"stages":["MQL","SQL"],"colour":"red"}`, 0, 0, 0, 0, 0), "colour"},
		"entered > reached": {enc(plain, 3, 1, 2, 1, 1, 10), "entered 3 > reached 2"},
		"converted > base":  {enc(plain, 2, 1, 2, 1, 3, 10, 0, 0), "converted 3 of 2"},
		"negative duration": {enc(plain, 2, 1, 2, 1, 1, zz(-5)), "negative duration"},
		"spec length lies":  {append([]byte("LKFA\x02\xff\xff\x03"), plain...), "spec: 65535 items"},
		"cohort not a month start": {enc(monthly, 1, 0, 1, 0, 0, 1, zz(time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC).Unix()), 1, 0, 1, 0, 0),
			"not the start of a month"},
		"cohorts repeated": {enc(monthly, 2, 0, 2, 0, 0, 2, zz(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC).Unix()), 1, 0, 1, 0, 0,
			zz(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC).Unix()), 1, 0, 1, 0, 0), `cohort "2026-03" out of order or repeated`},
		"cohorts claimed beyond the data": {enc(monthly, 1, 0, 1, 0, 0, 1<<40), "cohorts: 1099511627776 items"},
		"owners out of order":             {append(enc(owned, 1, 0, 1, 0, 0, 2), 1, 'b', 1, 0, 0, 0, 1, 'a', 1, 0, 0, 0), `owner "a" out of order`},
		"owner breached > judged":         {append(enc(owned, 1, 0, 1, 0, 0, 1), 1, 'a', 1, 0, 0, 1), `owner "a", step 1`},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			got := dec
			err := got.UnmarshalBinary(c.data)
			require.ErrorIs(t, err, leadkit.ErrInvalid)
			assert.Contains(t, err.Error(), "stage: funnel: decode: ")
			assert.Contains(t, err.Error(), c.why)
			assert.Equal(t, dec.Result(), got.Result())
		})
	}
}

// FuzzFunnelAccumulatorBinary decodes arbitrary bytes. Decoding must
// succeed or fail with ErrInvalid, never panic; what decodes has a result
// that encodes as JSON, and its encoding is canonical: it decodes to the
// same result and encodes to itself; it merges with its copy into a state
// whose encoding decodes, or the merge is refused at the cap.
func FuzzFunnelAccumulatorBinary(f *testing.F) {
	for _, spec := range []stage.FunnelSpec{
		{Stages: []string{"MQL", "SAL", "SQL"}, Order: []string{"Raw", "MQL", "TAL", "SAL", "SQL"}, Cohort: leadkit.PeriodMonth},
		{Stages: []string{"MQL", "SQL"}, ByOwner: true, SLA: map[string]leadkit.Duration{"MQL": leadkit.Duration(48 * time.Hour)}},
		// past the exact threshold: sketches
		{Stages: []string{"MQL", "SQL"}, ByOwner: true, Quantiles: leadkit.Quantiles{Exact: 1, Accuracy: 0.05}},
	} {
		acc, err := stage.NewFunnel(spec)
		if err != nil {
			f.Fatal(err)
		}
		t0 := time.Date(2026, 3, 30, 0, 0, 0, 0, time.UTC)
		for i, who := range []string{"ana", "bo", "", "ana"} {
			vs := []stage.Visit{{LeadID: who + "x", Stage: "MQL", At: t0.Add(time.Duration(i) * 40 * time.Hour), Owner: who}}
			if i%2 == 0 {
				vs = append(vs, stage.Visit{LeadID: who + "x", Stage: "SQL", At: t0.Add(time.Duration(i) * 70 * time.Hour)})
			}
			if i == 3 {
				vs = append(vs, stage.Visit{LeadID: who + "x", Stage: "TAL", At: t0.Add(time.Hour)})
			}
			if err := acc.Add(vs); err != nil {
				f.Fatal(err)
			}
		}
		b, err := acc.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("LKFA\x02\x18{\"stages\":[\"MQL\",\"SQL\"]}\x02\x01\x02\x01\x01\x0a"))
	// counts past math.MaxInt32, and at the cap (a merge with itself is refused)
	one := countsFunnel(f)
	f.Add(binenctest.Encode(f, binenctest.Scaled(f, one, 1<<32+3)))
	f.Add(binenctest.Encode(f, binenctest.Scaled(f, one, binenc.MaxTotal)))
	f.Fuzz(func(t *testing.T, data []byte) {
		binenctest.FuzzDecode(t, data, func(a *stage.FunnelAccumulator) any { return a.Result() }, false)
	})
}
