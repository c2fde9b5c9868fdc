package leadkit

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/leadkit/leadkit/internal/text"
)

// MaxDuration is the longest duration [ParseDuration] accepts and a spec may
// hold: 100,000 days (about 273 years), comfortably inside time.Duration.
const MaxDuration = 100_000 * 24 * time.Hour

// Duration units beyond Go's: a day is 24 hours and a week 7 days (calendar
// days are not used: durations are exact).
const (
	Day  = 24 * time.Hour
	Week = 7 * Day
)

var durationUnits = map[string]uint64{
	"ns": uint64(time.Nanosecond),
	"us": uint64(time.Microsecond),
	"µs": uint64(time.Microsecond), // U+00B5
	"μs": uint64(time.Microsecond), // U+03BC
	"ms": uint64(time.Millisecond),
	"s":  uint64(time.Second),
	"m":  uint64(time.Minute),
	"h":  uint64(time.Hour),
	"d":  uint64(Day),
	"w":  uint64(Week),
}

// ParseDuration reads a duration in the one grammar every leadkit spec uses:
// Go's duration syntax ("90m", "336h", "1h30m", "1.5s") with days and weeks
// as units too ("14d", "2w", "1d12h"). A leading "-" makes it negative (specs
// that need a positive duration say so). A bare number such as "3" is
// refused: it has no unit, and reading it as nanoseconds (Go's rule for "0"
// and for JSON numbers) silently turns "a window of 3" into 3 ns. The
// magnitude is at most [MaxDuration]. Errors wrap [ErrInvalid].
func ParseDuration(s string) (time.Duration, error) {
	orig := s
	bad := func(why string) (time.Duration, error) {
		return 0, fmt.Errorf("%w: duration %q: %s", ErrInvalid, text.Clip(orig, 64), why)
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return bad(`empty (write e.g. "90m", "36h", "14d" or "2w")`)
	}
	neg := false
	if s[0] == '-' || s[0] == '+' {
		neg = s[0] == '-'
		s = s[1:]
	}
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return bad(fmt.Sprintf(`a bare number has no unit (write e.g. "%sd", "%sh" or "%sm")`, text.Clip(s, 16), text.Clip(s, 16), text.Clip(s, 16)))
	}
	var total uint64
	limit := uint64(MaxDuration)
	for s != "" {
		// A number: digits, optionally a fraction.
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		intPart := s[:i]
		frac := ""
		if i < len(s) && s[i] == '.' {
			j := i + 1
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			frac, i = s[i+1:j], j
		}
		if intPart == "" && frac == "" {
			return bad(`want a number before each unit (e.g. "1d12h")`)
		}
		j := i
		for j < len(s) && (s[j] < '0' || s[j] > '9') && s[j] != '.' {
			j++
		}
		unitName := s[i:j]
		unit, ok := durationUnits[unitName]
		if !ok {
			if unitName == "" {
				return bad(`missing unit (ns, us, ms, s, m, h, d or w)`)
			}
			return bad(fmt.Sprintf("unknown unit %q (want ns, us, ms, s, m, h, d or w)", text.Clip(unitName, 16)))
		}
		s = s[j:]
		var v uint64
		for _, c := range intPart {
			v = v*10 + uint64(c-'0')
			if v > limit {
				return bad("longer than the limit of 100000 days")
			}
		}
		if v > limit/unit {
			return bad("longer than the limit of 100000 days")
		}
		v *= unit
		// The fraction, exactly: digits beyond nanosecond precision are
		// dropped, as Go does.
		scale := uint64(1)
		var f uint64
		for _, c := range frac {
			if scale > 1e18/10 {
				break
			}
			f = f*10 + uint64(c-'0')
			scale *= 10
		}
		v += uint64(float64(f) * (float64(unit) / float64(scale)))
		total += v
		if total > limit {
			return bad("longer than the limit of 100000 days")
		}
	}
	if neg {
		return -time.Duration(total), nil
	}
	return time.Duration(total), nil
}

// FormatDuration writes d in the grammar [ParseDuration] reads, in a
// canonical form people read easily: whole weeks ("2w"), else days, hours,
// minutes and seconds with a decimal fraction ("24d", "1d12h", "1h30m",
// "1.5s"), or Go's form below a second ("500ms"); "0s" for zero. ParseDuration(FormatDuration(d))
// == d for every d within [MaxDuration].
func FormatDuration(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	var b strings.Builder
	u := uint64(d)
	if d < 0 {
		b.WriteByte('-')
		u = -u
	}
	if u < uint64(time.Second) {
		return b.String() + time.Duration(u).String()
	}
	if u%uint64(Week) == 0 {
		return b.String() + strconv.FormatUint(u/uint64(Week), 10) + "w"
	}
	for _, p := range []struct {
		unit uint64
		name string
	}{{uint64(Day), "d"}, {uint64(time.Hour), "h"}, {uint64(time.Minute), "m"}} {
		if u >= p.unit {
			b.WriteString(strconv.FormatUint(u/p.unit, 10))
			b.WriteString(p.name)
			u %= p.unit
		}
	}
	if u > 0 {
		b.WriteString(strconv.FormatUint(u/uint64(time.Second), 10))
		if ns := u % uint64(time.Second); ns > 0 {
			frac := strings.TrimRight(fmt.Sprintf("%09d", ns), "0")
			b.WriteByte('.')
			b.WriteString(frac)
		}
		b.WriteByte('s')
	}
	return b.String()
}

// Duration is a time.Duration that reads and writes the leadkit duration
// grammar in JSON, YAML and text ("14d", "36h", "2w"; see [ParseDuration]).
// Specs keep plain time.Duration fields, so Go callers set them without
// conversions; their JSON form goes through Duration.
type Duration time.Duration

// String formats d with [FormatDuration].
func (d Duration) String() string { return FormatDuration(time.Duration(d)) }

// MarshalText writes d with [FormatDuration].
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads d with [ParseDuration].
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON writes d as a JSON string ("14d").
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads a JSON string with [ParseDuration]. A JSON number is
// refused, as a bare number is: "window": 3 would otherwise mean 3 ns.
// null leaves d unchanged.
func (d *Duration) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("%w: duration %s: want a string such as \"14d\", \"36h\" or \"90m\"", ErrInvalid, text.Clip(string(b), 64))
	}
	return d.UnmarshalText([]byte(s))
}
