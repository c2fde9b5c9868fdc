package journey

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/leadkit/leadkit"
)

// ParseDuration reads a duration in Go syntax ("336h", "90m") with days and
// weeks allowed in front ("14d", "2w", "1d12h"): the text form of
// FunnelSpec.Window.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	bad := func() (time.Duration, error) {
		return 0, fmt.Errorf("journey: %w: invalid duration %q (want e.g. \"336h\", \"14d\" or \"2w\")", leadkit.ErrInvalid, s)
	}
	var total float64
	rest := s
	if m := dayWeekRE.FindStringSubmatch(s); m != nil {
		v, err := strconv.ParseFloat(m[1], 64)
		if err != nil {
			return bad()
		}
		unit := 24 * time.Hour
		if m[2] == "w" {
			unit *= 7
		}
		total, rest = v*float64(unit), m[3]
		if rest == "" {
			if total >= math.MaxInt64 {
				return bad()
			}
			return time.Duration(total), nil
		}
	}
	d, err := time.ParseDuration(rest)
	if err != nil || (total > 0 && d < 0) || total+float64(d) >= math.MaxInt64 {
		return bad()
	}
	return time.Duration(total) + d, nil
}

var dayWeekRE = regexp.MustCompile(`^([0-9]+(?:\.[0-9]+)?)([dw])(.*)$`)

// formatDuration writes d as whole weeks, days or hours when it is one
// ("2w", "3d", "36h"), else in Go syntax ("90m0s").
func formatDuration(d time.Duration) string {
	const day = 24 * time.Hour
	switch {
	case d != 0 && d%(7*day) == 0:
		return strconv.FormatInt(int64(d/(7*day)), 10) + "w"
	case d != 0 && d%day == 0:
		return strconv.FormatInt(int64(d/day), 10) + "d"
	case d != 0 && d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	}
	return d.String()
}

// funnelSpecJSON is FunnelSpec with the window in text form.
type funnelSpecJSON struct {
	Steps  []Step          `json:"steps"`
	Window json.RawMessage `json:"window,omitempty"`
	Order  Order           `json:"order,omitempty"`
	Bins   int             `json:"bins,omitempty"`
}

// UnmarshalJSON reads a spec whose window is a duration string (see
// [ParseDuration]) or a number of nanoseconds.
func (s *FunnelSpec) UnmarshalJSON(data []byte) error {
	var j funnelSpecJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return err
	}
	var w time.Duration
	if raw := bytes.TrimSpace(j.Window); len(raw) > 0 && !bytes.Equal(raw, []byte("null")) {
		if raw[0] == '"' {
			var str string
			if err := json.Unmarshal(raw, &str); err != nil {
				return err
			}
			d, err := ParseDuration(str)
			if err != nil {
				return fmt.Errorf("journey: funnel: window: %w", err)
			}
			w = d
		} else {
			ns, err := strconv.ParseInt(string(raw), 10, 64)
			if err != nil {
				return fmt.Errorf("journey: funnel: %w: window %s: want a duration string such as \"14d\" or nanoseconds", leadkit.ErrInvalid, raw)
			}
			w = time.Duration(ns)
		}
	}
	*s = FunnelSpec{Steps: j.Steps, Window: w, Order: j.Order, Bins: j.Bins}
	return nil
}

// MarshalJSON writes the window as a duration string ("14d", "36h").
func (s FunnelSpec) MarshalJSON() ([]byte, error) {
	j := funnelSpecJSON{Steps: s.Steps, Order: s.Order, Bins: s.Bins}
	if s.Window != 0 {
		j.Window, _ = json.Marshal(formatDuration(s.Window))
	}
	return json.Marshal(j)
}
