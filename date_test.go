package leadkit_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
)

func TestParseDate(t *testing.T) {
	for in, want := range map[string]time.Time{
		"2025-01-01":                time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
		"1900-01-01":                time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC),
		"2025-03-04T09:30:00+01:00": time.Date(2025, 3, 4, 8, 30, 0, 0, time.UTC),
		"2025-03-04T09:30:00.5Z":    time.Date(2025, 3, 4, 9, 30, 0, 5e8, time.UTC),
	} {
		got, err := leadkit.ParseDate(in)
		require.NoError(t, err, in)
		assert.True(t, want.Equal(got), "%s: %s", in, got)
		assert.Equal(t, time.UTC, got.Location(), in)
		back, err := leadkit.ParseDate(leadkit.FormatDate(got))
		require.NoError(t, err)
		assert.True(t, got.Equal(back), in)
	}
	assert.Equal(t, "2025-01-01", leadkit.FormatDate(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)))
	assert.Equal(t, "1950-06-01", leadkit.FormatDate(time.Date(1950, 6, 1, 0, 0, 0, 0, time.UTC)))
	assert.Equal(t, "2025-01-01T10:00:00Z", leadkit.FormatDate(time.Date(2025, 1, 1, 10, 0, 0, 0, time.UTC)))
	for _, bad := range []string{"", "2025-1-1", "01/02/2025", "2025-02-30", "1899-12-31", "2150-01-01", "2025-01-01 10:00", "now"} {
		_, err := leadkit.ParseDate(bad)
		assert.ErrorIs(t, err, leadkit.ErrInvalid, bad)
	}
}
