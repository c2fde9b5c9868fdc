package leadkit_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/leadkit/leadkit"
	specdoc "github.com/leadkit/leadkit/internal/spec"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"90m":          90 * time.Minute,
		"336h":         336 * time.Hour,
		"14d":          14 * leadkit.Day,
		"2w":           2 * leadkit.Week,
		"1d12h":        36 * time.Hour,
		"1w2d":         9 * leadkit.Day,
		"1.5d":         36 * time.Hour,
		" 3d ":         3 * leadkit.Day,
		"-2d":          -2 * leadkit.Day,
		"+1h":          time.Hour,
		"500ms":        500 * time.Millisecond,
		"1h0.5s":       time.Hour + 500*time.Millisecond,
		"0s":           0,
		"100000d":      leadkit.MaxDuration,
		"1.000000001s": time.Second + 1,
		"2µs":          2 * time.Microsecond,
	} {
		got, err := leadkit.ParseDuration(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for in, msg := range map[string]string{
		"3":                     `a bare number has no unit (write e.g. "3d", "3h" or "3m")`,
		"0":                     "a bare number has no unit",
		"1.5":                   "a bare number has no unit",
		"":                      "empty",
		"d":                     "want a number before each unit",
		"3 days":                `unknown unit " days"`,
		"3x":                    `unknown unit "x"`,
		"100001d":               "longer than the limit of 100000 days",
		"99999999999999999999h": "longer than the limit",
		"3d-2h":                 `unknown unit "d-"`,
		"1..5h":                 "missing unit",
	} {
		_, err := leadkit.ParseDuration(in)
		require.Error(t, err, in)
		assert.ErrorIs(t, err, leadkit.ErrInvalid, in)
		assert.ErrorContains(t, err, msg, in)
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                             "0s",
		14 * leadkit.Day:              "2w",
		15 * leadkit.Day:              "15d",
		36 * time.Hour:                "1d12h",
		90 * time.Minute:              "1h30m",
		1500 * time.Millisecond:       "1.5s",
		500 * time.Millisecond:        "500ms",
		-3 * leadkit.Day:              "-3d",
		leadkit.Day + time.Second + 1: "1d1.000000001s",
	} {
		assert.Equal(t, want, leadkit.FormatDuration(d), "%d", d)
		back, err := leadkit.ParseDuration(want)
		require.NoError(t, err)
		assert.Equal(t, d, back)
	}
}

func TestDurationJSONAndYAML(t *testing.T) {
	type spec struct {
		Window leadkit.Duration `json:"window"`
	}
	var s spec
	require.NoError(t, json.Unmarshal([]byte(`{"window":"14d"}`), &s))
	assert.Equal(t, leadkit.Duration(14*leadkit.Day), s.Window)
	b, err := json.Marshal(s)
	require.NoError(t, err)
	assert.JSONEq(t, `{"window":"2w"}`, string(b))
	require.NoError(t, specdoc.Parse([]byte("window: 1d12h\n"), &s))
	assert.Equal(t, leadkit.Duration(36*time.Hour), s.Window)

	for _, bad := range []string{`{"window":3}`, `{"window":"3"}`, `{"window":true}`, `{"window":"2 weeks"}`} {
		err := json.Unmarshal([]byte(bad), &s)
		assert.ErrorIs(t, err, leadkit.ErrInvalid, bad)
	}
	err = specdoc.Parse([]byte("window: 3\n"), &s)
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
}

// FuzzParseDuration: any text either fails with ErrInvalid or parses to a
// duration within the limit that formats back to itself.
func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"90m", "14d", "1d12h", "-2w", "1.5s", "3", "", "100000d", "1.000000001s", "2µs", "1h1h1h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := leadkit.ParseDuration(s)
		if err != nil {
			if !assert.ErrorIs(t, err, leadkit.ErrInvalid) {
				t.Fatal(s)
			}
			return
		}
		if d > leadkit.MaxDuration || d < -leadkit.MaxDuration {
			t.Fatalf("%q: %v beyond the limit", s, d)
		}
		text := leadkit.FormatDuration(d)
		back, err := leadkit.ParseDuration(text)
		if err != nil || back != d {
			t.Fatalf("%q -> %v -> %q -> %v, %v", s, d, text, back, err)
		}
	})
}

func ExampleParseDuration() {
	for _, s := range []string{"14d", "1d12h", "90m", "3"} {
		d, err := leadkit.ParseDuration(s)
		fmt.Println(d, err)
	}
	// Output:
	// 336h0m0s <nil>
	// 36h0m0s <nil>
	// 1h30m0s <nil>
	// 0s leadkit: invalid input: duration "3": a bare number has no unit (write e.g. "3d", "3h" or "3m")
}
