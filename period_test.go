package leadkit_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/stretchr/testify/assert"
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
