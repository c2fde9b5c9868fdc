package leadkit_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPeriodCohort(t *testing.T) {
	at := time.Date(2026, 3, 5, 17, 30, 0, 0, time.FixedZone("JST", 9*3600)) // 08:30 UTC, a Thursday
	for _, c := range []struct {
		p     leadkit.Period
		start time.Time
		label string
	}{
		{leadkit.PeriodDay, time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC), "2026-03-05"},
		{leadkit.PeriodWeek, time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), "2026-W10"},
		{leadkit.PeriodMonth, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), "2026-03"},
		{leadkit.PeriodQuarter, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), "2026-Q1"},
		{leadkit.PeriodYear, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), "2026"},
		{leadkit.PeriodNone, time.Time{}, ""},
	} {
		s, l := c.p.Cohort(at)
		assert.Equal(t, c.start, s, c.p)
		assert.Equal(t, c.label, l, c.p)
		assert.True(t, c.p.Valid())
	}
	// A Sunday belongs to the ISO week that started the Monday before,
	// which may be in the previous ISO year.
	s, l := leadkit.PeriodWeek.Cohort(time.Date(2026, 1, 4, 23, 0, 0, 0, time.UTC))
	assert.Equal(t, time.Date(2025, 12, 29, 0, 0, 0, 0, time.UTC), s)
	assert.Equal(t, "2026-W01", l)
	assert.False(t, leadkit.Period("fortnight").Valid())
}

func ExamplePeriod_Cohort() {
	start, label := leadkit.PeriodQuarter.Cohort(time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC))
	fmt.Println(label, start.Format("2006-01-02"))
	// Output: 2026-Q4 2026-10-01
}

// Every label Cohort writes parses back to its period and start.
func TestParsePeriod(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	kinds := []leadkit.Period{leadkit.PeriodDay, leadkit.PeriodWeek, leadkit.PeriodMonth, leadkit.PeriodQuarter, leadkit.PeriodYear}
	for range 5000 {
		at := time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(r.Int64N(int64(100 * 365 * 24 * time.Hour))))
		for _, k := range kinds {
			start, label := k.Cohort(at)
			p, s, err := leadkit.ParsePeriod(label, leadkit.PeriodNone)
			require.NoError(t, err, label)
			assert.Equal(t, k, p, label)
			assert.Equal(t, start, s, label)
			// The next period starts where this one's last instant is
			// not.
			next := k.Next(start)
			ls, _ := k.Cohort(next.Add(-time.Nanosecond))
			ns, _ := k.Cohort(next)
			require.Equal(t, start, ls, label)
			require.Equal(t, next, ns, label)
			// Its first day reads as it in a table of that period.
			if k != leadkit.PeriodDay {
				p, s, err = leadkit.ParsePeriod(start.Format(time.DateOnly), k)
				require.NoError(t, err)
				assert.Equal(t, k, p)
				assert.Equal(t, start, s)
			}
		}
	}
	for _, bad := range []string{"", "26", "2026-", "2026-Q0", "2026-Q", "2026-W00", "2026-W54", "2026-00", "2026-1", "2026-02-30", "2026/03", "２０２６", "2026-03-01T00:00:00Z", "1899", "2150-Q1", "+026"} {
		_, _, err := leadkit.ParsePeriod(bad, leadkit.PeriodNone)
		assert.ErrorIs(t, err, leadkit.ErrInvalid, bad)
	}
}

// TestParsePeriodLastPeriodFirstDay: the first day of the last periods in
// leadkit's range reads as its period, as the label does.
func TestParsePeriodLastPeriodFirstDay(t *testing.T) {
	for _, c := range []struct {
		label, first string
		want         leadkit.Period
	}{{"2149", "2149-01-01", leadkit.PeriodYear}, {"2149-Q4", "2149-10-01", leadkit.PeriodQuarter}, {"2149-12", "2149-12-01", leadkit.PeriodMonth}} {
		k, s, err := leadkit.ParsePeriod(c.label, c.want)
		require.NoError(t, err, c.label)
		k2, s2, err := leadkit.ParsePeriod(c.first, c.want)
		require.NoError(t, err, c.first)
		assert.Equal(t, k, k2)
		assert.True(t, s.Equal(s2))
	}
	_, _, err := leadkit.ParsePeriod("2026-Q1", leadkit.PeriodMonth)
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.Contains(t, err.Error(), "is a quarter, not a month")
}
