package lang

import (
	"testing"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// date("...") is a literal read at compile time: comparisons with times
// work on both paths (closures and VM), in any host time zone.
func TestDateLiterals(t *testing.T) {
	sch := testSchema(t, true)
	jst := time.FixedZone("JST", 9*3600)
	saved := time.Local
	defer func() { time.Local = saved }()
	cases := []struct {
		src  string
		at   time.Time
		want bool
	}{
		{`event.time >= date("2025-01-01")`, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), true},
		{`event.time >= date("2025-01-01")`, time.Date(2024, 12, 31, 23, 59, 59, 0, time.UTC), false},
		{`event.time >= date("2025-01-01") && event.time < date("2025-04-01T00:00:00+02:00")`, time.Date(2025, 3, 31, 21, 59, 0, 0, time.UTC), true},
		{`event.time >= date("2025-01-01") && event.time < date("2025-04-01T00:00:00+02:00")`, time.Date(2025, 3, 31, 22, 0, 0, 0, time.UTC), false},
		{`lead.created_at < date("2024-07-01")`, time.Time{}, true},
	}
	for _, local := range []*time.Location{time.UTC, jst} {
		time.Local = local
		for _, c := range cases {
			for _, force := range []bool{false, true} {
				p, err := Compile(c.src, sch, Config{Want: Bool, ForceVM: force})
				require.Nil(t, err, c.src)
				l := leadkit.Lead{CreatedAt: time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)}
				e := leadkit.Event{Time: c.at.In(jst)}
				ok, rerr := p.Bool(&Ctx{Lead: &l, Event: &e, AsOf: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}, NewRunner(Limits{}))
				require.NoError(t, rerr, c.src)
				assert.Equal(t, c.want, ok, "%s at %s, VM %v, zone %s", c.src, c.at, force, local)
			}
		}
	}
}

// Only a date written out is a literal; a bad one says what is wrong and
// where.
func TestDateLiteralErrors(t *testing.T) {
	sch := testSchema(t, true)
	for src, want := range map[string]string{
		`event.time > date(event.content)`:  `date takes a date written out`,
		`event.time > date("2025-13-01")`:   `date "2025-13-01": want YYYY-MM-DD or an RFC 3339 time`,
		`event.time > date("1800-01-01")`:   `date "1800-01-01" is outside years 1900 to 2149`,
		`event.time > date("2025-" + "01")`: `date takes a date written out`,
		`event.time > date("now")`:          `date "now"`,
	} {
		_, err := Compile(src, sch, Config{Want: Bool})
		require.NotNil(t, err, src)
		assert.Contains(t, err.Error(), want, src)
		assert.Contains(t, err.Error(), "column 14", src)
	}
}

// A name the schema does not know is refused where it is written, also
// as an argument of the overloaded functions (has, hasAny, lowerAll),
// where expr's checker let it through to fail at run time.
func TestUnknownNamesInFunctionArguments(t *testing.T) {
	sch := testSchema(t, true)
	for src, col := range map[string]string{
		`hasAny(A, [])`:     "column 8",
		`has(A, "x")`:       "column 5",
		`lowerAll(A) == []`: "column 10",
		`A == 1`:            "column 1",
		`has(person.interests, "ai") && hasAny(tagz, ["x"])`: "unknown name tagz",
	} {
		_, err := Compile(src, sch, Config{Want: Bool})
		require.NotNil(t, err, src)
		assert.Contains(t, err.Error(), "unknown name", src)
		assert.Contains(t, err.Error(), col, src)
	}
}
