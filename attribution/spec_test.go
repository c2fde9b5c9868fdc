package attribution

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// parseCase is one document for one spec type: what Parse[T] makes of it.
type parseCase struct {
	name string
	doc  string
	// parse runs Parse of the case's type, want is the value expected (nil:
	// an error wrapping ErrInvalid is expected, containing msg).
	parse func(doc []byte) (any, error)
	want  any
	msg   string
}

func parseAs[T Spec]() func([]byte) (any, error) {
	return func(doc []byte) (any, error) { return Parse[T](doc) }
}

func TestParse(t *testing.T) {
	asOf := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	ok := []parseCase{
		{"conversion json", `{"types":["mql"],"touch_types":["page_view"],"key":"campaign","lookback":"2w","as_of":"2024-03-01T00:00:00Z","value_attr":"pipeline","no_touch":"none"}`,
			parseAs[Conversion](), Conversion{Types: []string{"mql"}, TouchTypes: []string{"page_view"}, Key: ByCampaign, Lookback: 14 * day, AsOf: asOf, ValueAttr: "pipeline", NoTouch: "none"}, ""},
		{"conversion yaml", "types: [mql]\nlookback: 1d12h\n", parseAs[Conversion](), Conversion{Types: []string{"mql"}, Lookback: 36 * time.Hour}, ""},
		{"markov yaml", "order: 3\ncollapse_channels: true\n", parseAs[Markov](), Markov{Order: 3, CollapseChannels: true}, ""},
		{"markov json", `{"order":2,"keep_repeats":true}`, parseAs[Markov](), Markov{Order: 2, KeepRepeats: true}, ""},
		{"position-based", "first: 0.3\nlast: 0.5\n", parseAs[PositionBased](), PositionBased{First: 0.3, Last: 0.5}, ""},
		{"position-based explicit", `{"first":0,"last":0,"explicit":true}`, parseAs[PositionBased](), PositionBased{Explicit: true}, ""},
		{"last non-direct", "direct: (direct)\nalso_direct: [none, typed]\n", parseAs[LastNonDirect](), LastNonDirect{Direct: "(direct)", AlsoDirect: []string{"none", "typed"}}, ""},
		{"time decay", "half_life: 90m", parseAs[TimeDecay](), TimeDecay{HalfLife: 90 * time.Minute}, ""},
		{"u-shaped", "milestones:\n  lead_created: [signup]\n", parseAs[UShaped](), UShaped{Milestones: Milestones{LeadCreated: []string{"signup"}}}, ""},
		{"w-shaped", `{"milestones":{"opportunity_created":["opp"]}}`, parseAs[WShaped](), WShaped{Milestones: Milestones{OpportunityCreated: []string{"opp"}}}, ""},
		{"full path", "milestones: {closed_won: [won]}", parseAs[FullPath](), FullPath{Milestones: Milestones{ClosedWon: []string{"won"}}}, ""},
		{"custom roles", "weights: {first_touch: 50, other: 50}\n", parseAs[CustomRoles](), CustomRoles{Weights: RoleWeights{FirstTouch: 50, Other: 50}}, ""},
		{"csv options", "delimiter: \"\\t\"\nseparator: \" / \"\npath_column: journey\n", parseAs[CSVOptions](), CSVOptions{Delimiter: '\t', Separator: " / ", PathColumn: "journey"}, ""},
		{"csv options unicode delimiter", `{"delimiter":"§"}`, parseAs[CSVOptions](), CSVOptions{Delimiter: '§'}, ""},
		{"roi options", "group_by: {seo: organic, blog: organic}\n", parseAs[ROIOptions](), ROIOptions{GroupBy: map[string]string{"seo": "organic", "blog": "organic"}}, ""},
		{"empty document", "", parseAs[Markov](), Markov{}, ""},
	}
	for _, c := range ok {
		got, err := c.parse([]byte(c.doc))
		require.NoError(t, err, c.name)
		assert.Equal(t, c.want, got, c.name)
	}

	bad := []parseCase{
		// unknown keys, at the top and nested
		{"conversion unknown", `{"types":["mql"],"lookbak":"14d"}`, parseAs[Conversion](), nil, `attribution: conversion: leadkit: invalid input: json: unknown field "lookbak"`},
		{"markov unknown", "order: 2\nkeep_repeat: true\n", parseAs[Markov](), nil, `attribution: markov: leadkit: invalid input: `},
		{"position-based unknown", `{"frist":0.5}`, parseAs[PositionBased](), nil, `attribution: position-based: leadkit: invalid input: `},
		{"last non-direct unknown", `{"directs":["x"]}`, parseAs[LastNonDirect](), nil, `attribution: last non-direct: `},
		{"time decay unknown", `{"halflife":"7d"}`, parseAs[TimeDecay](), nil, `attribution: time decay: `},
		{"u-shaped nested unknown", "milestones: {lead_create: [x]}", parseAs[UShaped](), nil, `attribution: u-shaped: `},
		{"w-shaped unknown", `{"weights":{"other":1}}`, parseAs[WShaped](), nil, `attribution: w-shaped: `},
		{"full path unknown", `{"milestone":{}}`, parseAs[FullPath](), nil, `attribution: full path: `},
		{"custom roles nested unknown", "weights: {first: 1}", parseAs[CustomRoles](), nil, `attribution: custom roles: `},
		{"csv options unknown", `{"delimter":";"}`, parseAs[CSVOptions](), nil, `attribution: csv options: leadkit: invalid input: `},
		{"roi options unknown", `{"groupby":{}}`, parseAs[ROIOptions](), nil, `attribution: roi options: `},
		// miscased keys
		{"conversion miscased", `{"Types":["mql"]}`, parseAs[Conversion](), nil, `did you mean "types"?`},
		{"conversion miscased duration", `{"types":["mql"],"LookBack":"14d"}`, parseAs[Conversion](), nil, `did you mean "lookback"?`},
		{"markov miscased", "Order: 2", parseAs[Markov](), nil, `attribution: markov: leadkit: invalid input: key "Order": did you mean "order"?`},
		{"custom roles nested miscased", `{"weights":{"First_Touch":1}}`, parseAs[CustomRoles](), nil, `did you mean "first_touch"?`},
		{"time decay miscased", "HALF_LIFE: 7d", parseAs[TimeDecay](), nil, `did you mean "half_life"?`},
		{"csv options miscased", `{"Delimiter":";"}`, parseAs[CSVOptions](), nil, `did you mean "delimiter"?`},
		// durations: text only
		{"lookback bare number", `{"types":["mql"],"lookback":14}`, parseAs[Conversion](), nil, `attribution: conversion: lookback: leadkit: invalid input: duration 14: want a string`},
		{"lookback number as text", `{"types":["mql"],"lookback":"14"}`, parseAs[Conversion](), nil, `a bare number has no unit`},
		{"half-life bare number yaml", "half_life: 7", parseAs[TimeDecay](), nil, `attribution: time decay: half_life: `},
		{"half-life prose", `{"half_life":"7 days"}`, parseAs[TimeDecay](), nil, `attribution: time decay: half_life: `},
		// other refusals
		{"duplicate key", "order: 2\norder: 3\n", parseAs[Markov](), nil, `attribution: markov: leadkit: invalid input: `},
		{"delimiter number", `{"delimiter":59}`, parseAs[CSVOptions](), nil, `attribution: csv options: leadkit: invalid input: `},
		{"delimiter two characters", `{"delimiter":";;"}`, parseAs[CSVOptions](), nil, `attribution: csv options: leadkit: invalid input: delimiter ";;": want one character`},
		{"delimiter empty", `{"delimiter":""}`, parseAs[CSVOptions](), nil, `want one character`},
		{"unknown touch key", `{"types":["mql"],"key":"campain"}`, parseAs[Conversion](), nil, `attribution: leadkit: invalid input: touch key "campain": want channel, campaign or content`},
		{"miscased touch key", "types: [mql]\nkey: Channel\n", parseAs[Conversion](), nil, `attribution: leadkit: invalid input: touch key "Channel"`},
		{"two documents", "order: 1\n---\norder: 2\n", parseAs[Markov](), nil, `attribution: markov: leadkit: invalid input: `},
	}
	for _, c := range bad {
		_, err := c.parse([]byte(c.doc))
		require.ErrorIs(t, err, leadkit.ErrInvalid, c.name)
		assert.Contains(t, err.Error(), c.msg, c.name)
	}
}

// TestSpecsRoundTrip: every spec written by json.Marshal parses back to
// itself, durations as text in leadkit's grammar.
func TestSpecsRoundTrip(t *testing.T) {
	roundTrip(t, Conversion{Types: []string{"mql"}, TouchTypes: []string{"page_view"}, Key: ByCampaign, Lookback: 14 * day,
		AsOf: t0, ValueAttr: "pipeline", NoTouch: "none"}, `"lookback":"2w"`)
	roundTrip(t, Conversion{Types: []string{"mql"}}, `{"types":["mql"]}`) // no zero as_of, no lookback
	roundTrip(t, Markov{Order: 2, KeepRepeats: true}, `{"order":2,"keep_repeats":true}`)
	roundTrip(t, PositionBased{First: 0.3, Last: 0.3, Explicit: true}, `"explicit":true`)
	roundTrip(t, LastNonDirect{Direct: "d", AlsoDirect: []string{"x"}}, `"also_direct":["x"]`)
	roundTrip(t, TimeDecay{HalfLife: 36 * time.Hour}, `{"half_life":"1d12h"}`)
	roundTrip(t, TimeDecay{}, `{}`)
	roundTrip(t, UShaped{Milestones: Milestones{LeadCreated: []string{"a"}}}, `{"milestones":{"lead_created":["a"]}}`)
	roundTrip(t, WShaped{}, `{"milestones":{}}`)
	roundTrip(t, FullPath{Milestones: Milestones{ClosedWon: []string{"w"}}}, `"closed_won":["w"]`)
	roundTrip(t, CustomRoles{Weights: UShapedWeights}, `"first_touch":40`)
	roundTrip(t, CSVOptions{Delimiter: '\t', NullsColumn: "n"}, `"delimiter":"\t"`)
	roundTrip(t, CSVOptions{}, `{}`)
	roundTrip(t, ROIOptions{GroupBy: map[string]string{"a": "b"}}, `{"group_by":{"a":"b"}}`)
}

func roundTrip[T Spec](t *testing.T, want T, wantJSON string) {
	t.Helper()
	b, err := json.Marshal(want)
	require.NoError(t, err)
	assert.Contains(t, string(b), wantJSON, "%T", want)
	got, err := Parse[T](b)
	require.NoError(t, err, "%T: %s", want, b)
	assert.Equal(t, want, got, "%T", want)
}

// TestUnmarshalJSONStrict: json.Unmarshal, without Parse, reads
// durations in leadkit's grammar and refuses bare numbers and unknown keys
// of the specs that have their own UnmarshalJSON.
func TestUnmarshalJSONStrict(t *testing.T) {
	for in, d := range map[string]time.Duration{`"14d"`: 14 * day, `"336h"`: 14 * day, `"1d12h"`: 36 * time.Hour, `"90m"`: 90 * time.Minute, `"2w"`: 14 * day} {
		var c Conversion
		require.NoError(t, json.Unmarshal([]byte(`{"types":["mql"],"lookback":`+in+`}`), &c), in)
		assert.Equal(t, d, c.Lookback, in)
		var m TimeDecay
		require.NoError(t, json.Unmarshal([]byte(`{"half_life":`+in+`}`), &m), in)
		assert.Equal(t, d, m.HalfLife, in)
	}
	for in, msg := range map[string]string{
		`{"types":["mql"],"lookback":14}`:   `attribution: conversion: lookback: leadkit: invalid input: duration 14: want a string`,
		`{"types":["mql"],"lookback":"14"}`: `a bare number has no unit`,
		`{"types":["mql"],"lookbak":"14d"}`: `attribution: conversion: leadkit: invalid input: json: unknown field "lookbak"`,
		`{"Types":["mql"]}`:                 `did you mean "types"?`,
	} {
		var c Conversion
		err := json.Unmarshal([]byte(in), &c)
		require.ErrorIs(t, err, leadkit.ErrInvalid, in)
		assert.Contains(t, err.Error(), msg, in)
	}
	for _, in := range []string{`{"half_life":7}`, `{"half_life":"7"}`, `{"halflife":"7d"}`, `{"half_life":"7 days"}`} {
		var m TimeDecay
		err := json.Unmarshal([]byte(in), &m)
		require.ErrorIs(t, err, leadkit.ErrInvalid, in)
		assert.Contains(t, err.Error(), "attribution: time decay: ", in)
	}
	for _, in := range []string{`{"delimiter":59}`, `{"delimiter":"ab"}`, `{"delimter":";"}`} {
		var o CSVOptions
		err := json.Unmarshal([]byte(in), &o)
		require.ErrorIs(t, err, leadkit.ErrInvalid, in)
		assert.Contains(t, err.Error(), "attribution: csv options: leadkit: invalid input: ", in)
	}
}
