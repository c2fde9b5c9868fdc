package journey

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
)

// A funnel's window is read and written in leadkit's one duration grammar;
// a bare number is refused (it used to be nanoseconds).
func TestFunnelSpecJSONWindow(t *testing.T) {
	cases := []struct {
		in   string
		want time.Duration
		err  string
	}{
		{`"336h"`, 14 * 24 * time.Hour, ""},
		{`"14d"`, 14 * 24 * time.Hour, ""},
		{`"2w"`, 14 * 24 * time.Hour, ""},
		{`"1d12h"`, 36 * time.Hour, ""},
		{`"90m"`, 90 * time.Minute, ""},
		{`null`, 0, ""},
		{`3`, 0, `journey: funnel: window: leadkit: invalid input: duration 3: want a string such as "14d"`},
		{`3600000000000`, 0, "want a string"},
		{`"3"`, 0, "a bare number has no unit"},
		{`1.5`, 0, "want a string"},
		{`"fortnight"`, 0, `duration "fortnight"`},
		{`"1d-2h"`, 0, "journey: funnel: window:"},
		{`"9999999999d"`, 0, "longer than the limit"},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			doc := `{"steps":[{"name":"a","types":["a"]}],"window":` + c.in + `,"order":"strict"}`
			var direct FunnelSpec
			err := json.Unmarshal([]byte(doc), &direct)
			parsed, perr := ParseFunnelSpec([]byte(doc))
			if c.err != "" {
				for _, err := range []error{err, perr} {
					require.Error(t, err)
					assert.ErrorIs(t, err, leadkit.ErrInvalid)
					assert.ErrorContains(t, err, c.err)
				}
				return
			}
			require.NoError(t, err)
			require.NoError(t, perr)
			assert.Equal(t, direct, parsed)
			assert.Equal(t, c.want, parsed.Window)
			assert.Equal(t, Strict, parsed.Order)
			assert.Equal(t, []Step{{Name: "a", Types: []string{"a"}}}, parsed.Steps)
		})
	}
}

func TestFunnelSpecJSONRoundTrip(t *testing.T) {
	for _, w := range []time.Duration{0, 14 * 24 * time.Hour, 3 * 24 * time.Hour, 36 * time.Hour, 90 * time.Minute, 1500 * time.Millisecond} {
		in := FunnelSpec{
			Steps:  []Step{{Name: "a", Types: []string{"a"}}, {Name: "b", When: `event.topic == "ai"`}},
			Fields: []leadkit.FieldSpec{{Name: "event.topic", Type: leadkit.TypeString}},
			Window: w, Order: Unordered, Bins: 3,
		}
		b, err := json.Marshal(in)
		require.NoError(t, err)
		out, err := ParseFunnelSpec(b)
		require.NoError(t, err, "%s", b)
		assert.Equal(t, in, out, "%s", b)
	}
	b, err := json.Marshal(FunnelSpec{Steps: steps("a"), Window: 14 * 24 * time.Hour})
	require.NoError(t, err)
	assert.JSONEq(t, `{"steps":[{"name":"1:a","types":["a"]}],"window":"2w"}`, string(b))
}

// ParseFunnelSpec reads JSON and YAML and refuses what json.Unmarshal
// would pass silently: unknown keys (at any depth), duplicate keys.
func TestParseFunnelSpec(t *testing.T) {
	yaml := `
steps:
  - name: webinar
    types: [webinar_attended]
    when: event.channel == "webinar" && event.minutes > 30
  - name: meeting
    types: [meeting]
fields:
  - {name: event.minutes, type: number}
window: 2w
order: strict
`
	s, err := ParseFunnelSpec([]byte(yaml))
	require.NoError(t, err)
	assert.Equal(t, FunnelSpec{
		Steps: []Step{
			{Name: "webinar", Types: []string{"webinar_attended"}, When: `event.channel == "webinar" && event.minutes > 30`},
			{Name: "meeting", Types: []string{"meeting"}},
		},
		Fields: []leadkit.FieldSpec{{Name: "event.minutes", Type: leadkit.TypeNumber}},
		Window: 14 * 24 * time.Hour, Order: Strict,
	}, s)
	_, err = CompileFunnel(s)
	require.NoError(t, err)

	for _, c := range []struct{ name, doc, want string }{
		{"unknown key", `{"stepz": [{"name": "a", "types": ["a"]}]}`, `unknown field "stepz"`},
		{"unknown step key", `{"steps": [{"name": "a", "type": ["a"]}]}`, `unknown field "type"`},
		{"unknown field key", `{"steps": [{"name": "a", "types": ["a"]}], "fields": [{"name": "event.x", "kind": "string"}]}`, `unknown field "kind"`},
		{"unknown yaml key", "steps:\n  - name: a\n    types: [a]\nwindw: 2w\n", `unknown field "windw"`},
		{"duplicate key", `{"steps": [], "steps": [{"name": "a", "types": ["a"]}]}`, `key "steps" already set`},
		{"miscased key", `{"Steps": [{"name": "a", "types": ["a"]}]}`, `key "Steps": did you mean "steps"?`},
		{"miscased step key", `{"steps": [{"name": "a", "TYPES": ["a"]}]}`, `key "TYPES" in steps[0]: did you mean "types"?`},
		{"bare number", "steps: [{name: a, types: [a]}]\nwindow: 3\n", "journey: funnel: window: leadkit: invalid input: duration 3"},
		{"too long", `{"steps": [], "order": "` + string(make([]byte, leadkit.MaxDocumentBytes)) + `"}`, "the limit is"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseFunnelSpec([]byte(c.doc))
			require.Error(t, err)
			assert.ErrorIs(t, err, leadkit.ErrInvalid)
			assert.ErrorContains(t, err, c.want)
			assert.Regexp(t, `^journey: funnel: `, err.Error())
		})
	}
	// json.Unmarshal into a FunnelSpec is as strict.
	var direct FunnelSpec
	err = json.Unmarshal([]byte(`{"stepz": [{"name": "a", "types": ["a"]}]}`), &direct)
	require.Error(t, err)
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.ErrorContains(t, err, `journey: funnel: leadkit: invalid input: json: unknown field "stepz"`)
}

// The options of the other calculators read and write their durations in
// the same grammar and refuse unknown keys.
func TestOptionsJSON(t *testing.T) {
	pattern := PatternOptions{MinSupport: 3, MaxLength: 4, CollapseRepeats: true, MaxGap: 36 * time.Hour, MaxPatterns: 10}
	source := SourceAgeOptions{From: t0, To: t0.AddDate(0, 1, 0), Buckets: []time.Duration{30 * 24 * time.Hour, 13 * 7 * 24 * time.Hour}}
	nurture := NurtureOptions{By: KeyCampaign, Types: []string{"email_opened"}, From: t0, Window: 30 * 24 * time.Hour}
	month := leadkit.FormatDuration(30 * 24 * time.Hour)
	for _, c := range []struct {
		name string
		in   any
		out  any
		json string
	}{
		{"pattern", pattern, &PatternOptions{}, `{"min_support":3,"max_length":4,"collapse_repeats":true,"max_gap":"1d12h","max_patterns":10}`},
		{"source age", source, &SourceAgeOptions{}, `{"from":"2026-01-05T00:00:00Z","to":"2026-02-05T00:00:00Z","buckets":["` + month + `","13w"]}`},
		{"nurture", nurture, &NurtureOptions{}, `{"by":"campaign","types":["email_opened"],"from":"2026-01-05T00:00:00Z","window":"` + month + `"}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			b, err := json.Marshal(c.in)
			require.NoError(t, err)
			assert.JSONEq(t, c.json, string(b))
			require.NoError(t, json.Unmarshal(b, c.out))
			assert.Equal(t, c.in, deref(c.out))
		})
	}
	for _, c := range []struct {
		name string
		doc  string
		out  any
		want string
	}{
		{"pattern bare number", `{"min_support":1,"max_gap":3600}`, &PatternOptions{}, "journey: pattern options: max_gap: leadkit: invalid input: duration 3600"},
		{"pattern unknown key", `{"min_suport":1}`, &PatternOptions{}, `journey: pattern options: leadkit: invalid input: json: unknown field "min_suport"`},
		{"source age bare number", `{"from":"2026-01-05T00:00:00Z","buckets":["30d",7776000000000000]}`, &SourceAgeOptions{}, "journey: source age options: buckets[1]: leadkit: invalid input: duration"},
		{"source age unknown key", `{"form":"2026-01-05T00:00:00Z"}`, &SourceAgeOptions{}, `unknown field "form"`},
		{"nurture bare number", `{"window":30}`, &NurtureOptions{}, "journey: nurture options: window: leadkit: invalid input: duration 30"},
		{"nurture unknown key", `{"windows":"30d"}`, &NurtureOptions{}, `journey: nurture options: leadkit: invalid input: json: unknown field "windows"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := json.Unmarshal([]byte(c.doc), c.out)
			require.Error(t, err)
			assert.ErrorIs(t, err, leadkit.ErrInvalid)
			assert.ErrorContains(t, err, c.want)
		})
	}
}

func deref(v any) any {
	switch v := v.(type) {
	case *PatternOptions:
		return *v
	case *SourceAgeOptions:
		return *v
	case *NurtureOptions:
		return *v
	}
	return v
}

// ParsePatternOptions and ParsePathOptions read JSON and YAML with
// durations as text and refuse unknown, miscased and duplicate keys.
func TestParseOptions(t *testing.T) {
	pat, err := ParsePatternOptions([]byte("min_support: 3\nmax_length: 4\ncollapse_repeats: true\nmax_gap: 1d12h\nmax_patterns: 10\n"))
	require.NoError(t, err)
	assert.Equal(t, PatternOptions{MinSupport: 3, MaxLength: 4, CollapseRepeats: true, MaxGap: 36 * time.Hour, MaxPatterns: 10}, pat)
	pat, err = ParsePatternOptions([]byte(`{"min_support": 2, "contiguous": true, "max_gap": "2w"}`))
	require.NoError(t, err)
	assert.Equal(t, PatternOptions{MinSupport: 2, Contiguous: true, MaxGap: 14 * 24 * time.Hour}, pat)

	path, err := ParsePathOptions([]byte("max_length: 5\ncollapse_repeats: true\n"))
	require.NoError(t, err)
	assert.Equal(t, PathOptions{MaxLength: 5, CollapseRepeats: true}, path)
	path, err = ParsePathOptions([]byte(`{}`))
	require.NoError(t, err)
	assert.Equal(t, PathOptions{}, path)

	for _, c := range []struct {
		name  string
		parse func([]byte) error
		doc   string
		want  string
	}{
		{"pattern unknown key", parsePattern, `{"min_suport": 1}`, `journey: pattern options: leadkit: invalid input: json: unknown field "min_suport"`},
		{"pattern unknown yaml key", parsePattern, "min_support: 1\nmaxgap: 2d\n", `unknown field "maxgap"`},
		{"pattern miscased key", parsePattern, `{"Min_Support": 1}`, `journey: pattern options: leadkit: invalid input: key "Min_Support": did you mean "min_support"?`},
		{"pattern duplicate key", parsePattern, "min_support: 1\nmin_support: 2\n", `key "min_support" already set`},
		{"pattern bare number", parsePattern, "max_gap: 3600\n", "journey: pattern options: max_gap: leadkit: invalid input: duration 3600"},
		{"pattern bad duration", parsePattern, `{"max_gap": "a while"}`, `journey: pattern options: max_gap: leadkit: invalid input: duration "a while"`},
		{"path unknown key", parsePath, `{"max_len": 3}`, `journey: path options: leadkit: invalid input: json: unknown field "max_len"`},
		{"path miscased key", parsePath, "MAX_LENGTH: 3\n", `journey: path options: leadkit: invalid input: key "MAX_LENGTH": did you mean "max_length"?`},
		{"path wrong type", parsePath, `{"collapse_repeats": "yes"}`, `journey: path options: leadkit: invalid input: json: cannot unmarshal string`},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.parse([]byte(c.doc))
			require.Error(t, err)
			assert.ErrorIs(t, err, leadkit.ErrInvalid)
			assert.ErrorContains(t, err, c.want)
		})
	}
}

func parsePattern(b []byte) error { _, err := ParsePatternOptions(b); return err }
func parsePath(b []byte) error    { _, err := ParsePathOptions(b); return err }

// PathOptions round-trips through JSON.
func TestPathOptionsJSONRoundTrip(t *testing.T) {
	in := PathOptions{MaxLength: 3, CollapseRepeats: true}
	b, err := json.Marshal(in)
	require.NoError(t, err)
	assert.JSONEq(t, `{"max_length":3,"collapse_repeats":true}`, string(b))
	out, err := ParsePathOptions(b)
	require.NoError(t, err)
	assert.Equal(t, in, out)
}

// Every options struct a user writes has a strict Parse function.
func TestParseAnalysisOptions(t *testing.T) {
	sa, err := ParseSourceAgeOptions([]byte("from: 2026-11-01T00:00:00Z\nto: 2026-12-01T00:00:00Z\nbuckets: [30d, 13w, 1y]\n"))
	if err == nil {
		t.Fatalf("1y is not in the grammar, got %v", sa)
	}
	sa, err = ParseSourceAgeOptions([]byte("from: 2026-11-01T00:00:00Z\nbuckets: [30d, 13w]\n"))
	require.NoError(t, err)
	assert.Equal(t, SourceAgeOptions{From: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), Buckets: []time.Duration{30 * 24 * time.Hour, 13 * 7 * 24 * time.Hour}}, sa)
	no, err := ParseNurtureOptions([]byte(`{"by": "campaign", "window": "2w", "types": ["email_opened"]}`))
	require.NoError(t, err)
	assert.Equal(t, NurtureOptions{By: KeyCampaign, Window: 14 * 24 * time.Hour, Types: []string{"email_opened"}}, no)
	co, err := ParseCycleOptions([]byte("start: created\ncohort: month\nbins: 5\n"))
	require.NoError(t, err)
	assert.Equal(t, CycleOptions{Start: FromCreated, Cohort: leadkit.PeriodMonth, Bins: 5}, co)
	for name, bad := range map[string]func() error{
		"source unknown key":  func() error { _, err := ParseSourceAgeOptions([]byte(`{"form": "2026-11-01T00:00:00Z"}`)); return err },
		"source bare number":  func() error { _, err := ParseSourceAgeOptions([]byte(`{"buckets": [30]}`)); return err },
		"nurture miscased":    func() error { _, err := ParseNurtureOptions([]byte(`{"Window": "2w"}`)); return err },
		"cycle unknown key":   func() error { _, err := ParseCycleOptions([]byte(`{"created": {}}`)); return err },
		"cycle duplicate key": func() error { _, err := ParseCycleOptions([]byte("bins: 1\nbins: 2\n")); return err },
	} {
		err := bad()
		require.Error(t, err, name)
		assert.ErrorIs(t, err, leadkit.ErrInvalid, name)
		assert.Regexp(t, `^journey: `, err.Error(), name)
	}
}
