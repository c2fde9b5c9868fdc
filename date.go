package leadkit

import (
	"fmt"
	"time"

	"github.com/leadkit/leadkit/internal/text"
)

// ParseDate reads a date as models and specs write it: "2025-01-01"
// (midnight UTC) or an RFC 3339 time ("2025-01-01T09:30:00+01:00",
// returned in UTC). The time must be valid (ValidTime); errors wrap
// ErrInvalid. It is the one date grammar of the library: rule dates in
// specs and date("...") literals in expressions read through it.
func ParseDate(s string) (time.Time, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		if t, err = time.Parse(time.RFC3339Nano, s); err != nil {
			return time.Time{}, fmt.Errorf("%w: date %q: want YYYY-MM-DD or an RFC 3339 time", ErrInvalid, text.Clip(s, 64))
		}
	}
	t = t.UTC()
	if !ValidTime(t) {
		return time.Time{}, fmt.Errorf("%w: date %q is outside %s", ErrInvalid, text.Clip(s, 64), TimeRange)
	}
	return t, nil
}

// FormatDate writes t as ParseDate reads it: "2025-01-01" at midnight
// UTC, else RFC 3339 in UTC.
func FormatDate(t time.Time) string {
	t = t.UTC()
	if t.Equal(t.Truncate(24 * time.Hour)) {
		return t.Format(time.DateOnly)
	}
	return t.Format(time.RFC3339Nano)
}
