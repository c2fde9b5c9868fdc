package journey

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/stage"
)

// The type lists of the reports are capped at MaxTouchTypes and each type
// must be a valid name; every problem is named at once, and an
// over-long list is refused without checking it item by item.
func TestReportTypesCapped(t *testing.T) {
	huge := make([]string, 200_000)
	for i := range huge {
		huge[i] = strings.Repeat("x", 300)
	}
	bad := []string{"email", "", "\xff", "a\x00b", strings.Repeat("y", leadkit.MaxNameBytes+1)}
	full := make([]string, MaxTouchTypes)
	for i := range full {
		full[i] = "t" + strings.Repeat("x", i)
	}
	check := func(name string, build func(types []string) error) {
		err := build(huge)
		require.ErrorIs(t, err, leadkit.ErrInvalid, name)
		assert.ErrorContains(t, err, "200000 types, at most 100", name)
		assert.NotContains(t, err.Error(), "types[", name)

		err = build(bad)
		require.ErrorIs(t, err, leadkit.ErrInvalid, name)
		for _, want := range []string{"types[1]: empty", "types[2]: is not valid UTF-8", "types[3]: contains a NUL byte", "types[4]: is 257 bytes, the limit is 256"} {
			assert.ErrorContains(t, err, want, name)
		}
		assert.NotContains(t, err.Error(), "types[0]", name)

		require.NoError(t, build(full), "%s: %d types are allowed", name, MaxTouchTypes)
	}
	check("content phases", func(types []string) error {
		_, err := NewContentPhaseAccumulator("MQL", ContentPhaseOptions{Order: classicOrder, Types: types})
		return err
	})
	check("old lead nurture", func(types []string) error {
		_, err := NewOldLeadNurtureAccumulator("MQL", OldLeadNurtureOptions{From: day(0), To: day(30), Order: classicOrder, Types: types})
		return err
	})
	check("nurture power", func(types []string) error {
		_, err := NurturePower(nil, nil, "MQL", NurtureOptions{Types: types})
		return err
	})
}

// SourceAgeOptions.Buckets is capped at MaxAgeBuckets (each bucket holds
// a touch mix), and every bound must be one the duration grammar writes
// back (at most leadkit.MaxDuration).
func TestSourceAgeBucketsCapped(t *testing.T) {
	million := make([]time.Duration, 1_000_000)
	for i := range million {
		million[i] = time.Duration(i+1) * time.Second
	}
	_, err := NewSourceAgeAccumulator("MQL", SourceAgeOptions{From: day(0), Buckets: million})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.ErrorContains(t, err, "1000000 age buckets, at most 100")
	assert.NotContains(t, err.Error(), "bucket 2 ", "not checked one by one")

	most := make([]time.Duration, MaxAgeBuckets)
	for i := range most {
		most[i] = time.Duration(i+1) * leadkit.Day
	}
	_, err = NewSourceAgeAccumulator("MQL", SourceAgeOptions{From: day(0), Buckets: most})
	require.NoError(t, err)

	_, err = NewSourceAgeAccumulator("MQL", SourceAgeOptions{From: day(0), Buckets: []time.Duration{leadkit.Day, leadkit.MaxDuration + 1}})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.ErrorContains(t, err, "bucket 2")
}

// Every time in the options of the reports must fall in leadkit's time
// range, and every duration within leadkit.MaxDuration: otherwise the
// result (which repeats them) would not encode, or not decode back.
func TestReportOptionTimesInRange(t *testing.T) {
	y9999 := time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)
	y1 := time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC)
	inRange := day(0)

	for _, c := range []struct {
		from, to time.Time
		want     []string
	}{
		{y9999, y9999.AddDate(0, 0, 2), []string{"from 9999-12-31T00:00:00Z is outside years 1900 to 2149", "to 10000-01-02T00:00:00Z is outside years 1900 to 2149"}},
		{y1, inRange, []string{"from 0001-01-01T00:00:00Z is outside years 1900 to 2149"}},
	} {
		_, err := NewOldLeadNurtureAccumulator("MQL", OldLeadNurtureOptions{From: c.from, To: c.to, Order: classicOrder})
		require.ErrorIs(t, err, leadkit.ErrInvalid)
		r, ferr := OldLeadNurture(nil, nil, nil, "MQL", OldLeadNurtureOptions{From: c.from, To: c.to, Order: classicOrder})
		require.ErrorIs(t, ferr, leadkit.ErrInvalid, "the function form refuses it too")
		_, merr := json.Marshal(r)
		require.NoError(t, merr)
		_, serr := NewSourceAgeAccumulator("MQL", SourceAgeOptions{From: c.from, To: c.to})
		require.ErrorIs(t, serr, leadkit.ErrInvalid)
		_, nerr := NurturePower(nil, nil, "MQL", NurtureOptions{From: c.from, To: c.to})
		require.ErrorIs(t, nerr, leadkit.ErrInvalid)
		for _, w := range c.want {
			assert.ErrorContains(t, err, w)
			assert.ErrorContains(t, serr, w)
			assert.ErrorContains(t, nerr, w)
		}
	}

	for name, err := range map[string]error{
		"old lead old age": func() error {
			_, err := NewOldLeadNurtureAccumulator("MQL", OldLeadNurtureOptions{From: inRange, To: day(30), Order: classicOrder, OldAge: leadkit.MaxDuration + 1})
			return err
		}(),
		"old lead lookback": func() error {
			_, err := NewOldLeadNurtureAccumulator("MQL", OldLeadNurtureOptions{From: inRange, To: day(30), Order: classicOrder, Lookback: leadkit.MaxDuration + 1})
			return err
		}(),
		"source age old age": func() error {
			_, err := NewSourceAgeAccumulator("MQL", SourceAgeOptions{From: inRange, OldAge: leadkit.MaxDuration + 1})
			return err
		}(),
		"cycle instant": func() error {
			_, err := CycleTimes(nil, nil, "MQL", CycleOptions{Instant: leadkit.MaxDuration + 1})
			return err
		}(),
		"nurture window": func() error {
			_, err := NurturePower(nil, nil, "MQL", NurtureOptions{Window: leadkit.MaxDuration + 1})
			return err
		}(),
	} {
		assert.ErrorIs(t, err, leadkit.ErrInvalid, name)
		assert.ErrorContains(t, err, "at most 100000d", name)
	}
}

// CycleTimes' creation times are data: one outside leadkit's range is a
// bad entry, skipped (no start) and named, not a cycle of 2,000 years.
func TestCycleTimesCreatedOutOfRange(t *testing.T) {
	entries := []stage.Visit{{LeadID: "a", Stage: "MQL", At: day(1)}, {LeadID: "b", Stage: "MQL", At: day(2)}}
	created := map[string]time.Time{"a": time.Date(1, 1, 1, 0, 0, 1, 0, time.UTC), "b": day(0)}
	r, err := CycleTimes(nil, entries, "MQL", CycleOptions{Start: FromCreated, Created: created})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.ErrorContains(t, err, `journey: cycle times: lead "a": leadkit: invalid input: creation time 0001-01-01T00:00:01Z is outside years 1900 to 2149`)
	assert.Equal(t, 1, r.Overall.N, "b only")
	assert.Equal(t, 1, r.Skipped, "a")
	noNaN(t, r)
}
