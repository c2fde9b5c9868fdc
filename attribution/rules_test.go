package attribution

import (
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/leadkit/leadkit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// handTable is the small table the rule tests credit by hand. Totals: 6
// conversions, value 56.
func handTable() []Path {
	return []Path{
		{Channels: []string{"A", "B", "C"}, Conversions: 2, Value: 30, Nulls: 1},
		{Channels: []string{"B", "A", "B", "B"}, Conversions: 1, Value: 12},
		{Channels: []string{"C"}, Conversions: 1, Value: 4},
		{Channels: []string{"direct", "A", "direct"}, Conversions: 1, Value: 8},
		{Channels: []string{"direct"}, Conversions: 1, Value: 2},
		{Channels: []string{"A", "B"}, Nulls: 5},
	}
}

type credit map[string][2]float64 // channel -> {conversions, value}

func TestRuleModelsByHand(t *testing.T) {
	tests := []struct {
		name  string
		model Model
		want  credit
		why   string
	}{
		{"first touch", FirstTouch{}, credit{"A": {2, 30}, "B": {1, 12}, "C": {1, 4}, "direct": {2, 10}},
			"first channels: A(2,30) B(1,12) C(1,4) direct(1,8)+(1,2)"},
		{"last touch", LastTouch{}, credit{"C": {3, 34}, "B": {1, 12}, "direct": {2, 10}},
			"last channels: C(2,30)+(1,4) B(1,12) direct(1,8)+(1,2)"},
		{"last non-direct", LastNonDirect{}, credit{"C": {3, 34}, "B": {1, 12}, "A": {1, 8}, "direct": {1, 2}},
			"row 4 skips the trailing direct to A; row 5 is all direct"},
		{"linear", Linear{}, credit{"A": {2.0/3 + 0.25 + 1.0/3, 10 + 3 + 8.0/3}, "B": {2.0/3 + 0.75, 19}, "C": {5.0 / 3, 14}, "direct": {5.0 / 3, 16.0/3 + 2}},
			"row 1 thirds; row 2 B 3/4 A 1/4; row 4 direct 2/3 A 1/3"},
		{"position based", PositionBased{}, credit{"A": {1.1, 14.8}, "B": {1.3, 16.8}, "C": {1.8, 16}, "direct": {1.8, 8.4}},
			"row 1 .4/.2/.4 x2; row 2 B .4+.1+.4 A .1; row 4 direct .4+.4 A .2"},
		{"shapley", Shapley{}, credit{"A": {5.0 / 3, 20}, "B": {7.0 / 6, 16}, "C": {5.0 / 3, 14}, "direct": {1.5, 6}},
			"distinct channels: row 1 thirds, row 2 {A,B} halves, row 4 {direct,A} halves"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := tc.model.Attribute(handTable())
			require.NoError(t, err)
			for ch, w := range tc.want {
				assert.InDelta(t, w[0], r.Conversions[ch], 1e-12, "%s conversions (%s)", ch, tc.why)
				assert.InDelta(t, w[1], r.Value[ch], 1e-12, "%s value (%s)", ch, tc.why)
			}
			for ch, v := range r.Conversions {
				if _, ok := tc.want[ch]; !ok {
					assert.Zero(t, v, "unexpected credit to %s", ch)
				}
			}
			assert.InDelta(t, 6, r.TotalConversions(), 1e-12)
			assert.InDelta(t, 56, r.TotalValue(), 1e-12)
		})
	}
}

func TestPositionBasedShares(t *testing.T) {
	// Two touches re-normalise First:Last = 0.6:0.2 to 0.75:0.25; the
	// middle of a 4-touch path gets (1-0.8)/2 each.
	m := PositionBased{First: 0.6, Last: 0.2}
	r, err := m.Attribute([]Path{{Channels: []string{"X", "Y"}, Conversions: 1}})
	require.NoError(t, err)
	assert.InDelta(t, 0.75, r.Conversions["X"], 1e-12)
	assert.InDelta(t, 0.25, r.Conversions["Y"], 1e-12)

	r, err = m.Attribute([]Path{{Channels: []string{"X", "Y", "Z", "W"}, Conversions: 1}})
	require.NoError(t, err)
	assert.InDelta(t, 0.6, r.Conversions["X"], 1e-12)
	assert.InDelta(t, 0.1, r.Conversions["Y"], 1e-12)
	assert.InDelta(t, 0.1, r.Conversions["Z"], 1e-12)
	assert.InDelta(t, 0.2, r.Conversions["W"], 1e-12)

	// First+Last = 1 leaves nothing to the middle.
	r, err = PositionBased{First: 0.5, Last: 0.5}.Attribute([]Path{{Channels: []string{"X", "Y", "Z"}, Conversions: 1}})
	require.NoError(t, err)
	assert.Zero(t, r.Conversions["Y"])

	for _, bad := range []PositionBased{{First: 0.7, Last: 0.7}, {First: -0.1, Last: 0.5}, {First: math.NaN()}} {
		_, err := bad.Attribute(nil)
		assert.ErrorIs(t, err, leadkit.ErrInvalid, "%+v", bad)
	}
}

func TestLastNonDirectCustom(t *testing.T) {
	paths := []Path{{Channels: []string{"seo", "typed", "bookmark"}, Conversions: 1}}
	r, err := LastNonDirect{Direct: "typed", AlsoDirect: []string{"bookmark"}}.Attribute(paths)
	require.NoError(t, err)
	assert.Equal(t, map[string]float64{"seo": 1}, r.Conversions)
}

// TestRuleModelsConserve checks conservation on a random table for every
// rule model.
func TestRuleModelsConserve(t *testing.T) {
	paths := randomPaths(99, 5000, 15, 12)
	conv, val, _ := Totals(paths)
	for _, m := range []Model{FirstTouch{}, LastTouch{}, LastNonDirect{Direct: "c0"}, Linear{}, PositionBased{}, PositionBased{First: 0.3, Last: 0.1}, Shapley{}, Markov{Order: 2}} {
		r, err := m.Attribute(paths)
		require.NoError(t, err)
		assert.InDelta(t, conv, r.TotalConversions(), 1e-9*conv, "%T", m)
		assert.InDelta(t, val, r.TotalValue(), 1e-9*val, "%T", m)
		for ch, v := range r.Conversions {
			assert.GreaterOrEqual(t, v, 0.0, "%T %s", m, ch)
		}
	}
}

func TestValidatePaths(t *testing.T) {
	tests := []struct {
		path Path
		want string
	}{
		{Path{Conversions: 1}, "path 0: channels: empty path"},
		{Path{Channels: []string{"a", ""}, Conversions: 1}, "path 0: channels: empty channel name"},
		{Path{Channels: []string{"a"}, Conversions: -1}, "path 0: conversions: negative (-1)"},
		{Path{Channels: []string{"a"}, Conversions: math.Inf(1)}, "path 0: conversions: infinite"},
		{Path{Channels: []string{"a"}, Conversions: 1, Value: math.NaN()}, "path 0: value: NaN"},
		{Path{Channels: []string{"a"}, Value: 3}, "path 0: value: value without conversions"},
		{Path{Channels: []string{"a"}, Nulls: -2}, "path 0: nulls: negative (-2)"},
		{Path{Channels: []string{"a"}, Conversions: 1e308}, "path 0: conversions: 1e+308 is over the cap of 1e+15"},
		{Path{Channels: []string{"a"}, Conversions: 1, Value: MaxPathCount * 2}, "path 0: value: 2e+15 is over the cap of 1e+15"},
		{Path{Channels: []string{"a", strings.Repeat("x", leadkit.MaxNameBytes+1)}, Conversions: 1}, "path 0: channels: touch 2: channel name is 257 bytes, the limit is 256"},
		{Path{Channels: []string{"a\xffb"}, Conversions: 1}, "path 0: channels: touch 1: channel name is not valid UTF-8"},
		{Path{Channels: []string{"a", "b", "\x00"}, Conversions: 1}, "path 0: channels: touch 3: channel name contains a NUL byte"},
		{Path{Channels: make([]string, MaxPathTouches+1), Conversions: 1}, "path 0: channels: 10001 touches, at most 10000 (MaxPathTouches)"},
	}
	for _, tc := range tests {
		err := ValidatePaths([]Path{tc.path})
		require.ErrorIs(t, err, leadkit.ErrInvalid)
		assert.EqualError(t, err, "attribution: "+tc.want)
		for _, m := range []Model{FirstTouch{}, LastTouch{}, LastNonDirect{}, Linear{}, PositionBased{}, Shapley{}, Markov{}} {
			_, err := m.Attribute([]Path{tc.path})
			assert.ErrorIs(t, err, leadkit.ErrInvalid, "%T %s", m, tc.want)
		}
	}
	// Many bad paths: 20 reported one by one, then a count.
	bad := make([]Path, 25)
	err := ValidatePaths(bad)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "path 19: channels")
	assert.NotContains(t, err.Error(), "path 20:")
	assert.Contains(t, err.Error(), "5 more path errors")
	require.NoError(t, ValidatePaths(handTable()))

	// The name cache: valid names shared by many paths, and a bad name
	// that looks like a cached one (same length, same bytes around).
	p := Path{Channels: []string{"seo", "ads", "seo"}, Conversions: 1}
	paths := []Path{p, p, {Channels: []string{"s\x00o"}, Conversions: 1}, p}
	err = ValidatePaths(paths)
	assert.EqualError(t, err, "attribution: path 2: channels: touch 1: channel name contains a NUL byte")
	at := make([]string, MaxPathTouches)
	for i := range at {
		at[i] = strings.Repeat("é", leadkit.MaxNameBytes/2)
	}
	require.NoError(t, ValidatePaths([]Path{{Channels: at, Nulls: MaxPathCount}}))
}

// TestRuleModelsFinite: credit that does not sum to finite totals is an
// error, never +Inf (validated paths cannot get there: see MaxPathCount).
func TestRuleModelsFinite(t *testing.T) {
	s := newCreditSheet()
	p := Path{Conversions: 1e308, Value: 1}
	s.give(s.id("a"), 1, &p)
	s.give(s.id("b"), 1, &p)
	_, err := s.finalResult()
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.Contains(t, err.Error(), "attribution: leadkit: invalid input: credit totals are not finite (conversions +Inf, value 2)")

	// A bad path among good ones: an error and no result, whatever the
	// model, even when the bad path comes after paths already credited.
	paths := append(handTable(), Path{Channels: []string{"x"}, Conversions: math.Inf(1)})
	for _, m := range []Model{FirstTouch{}, LastTouch{}, LastNonDirect{}, Linear{}, PositionBased{}, Shapley{}, Markov{}} {
		r, err := m.Attribute(paths)
		require.ErrorIs(t, err, leadkit.ErrInvalid, "%T", m)
		assert.Equal(t, "attribution: path "+strconv.Itoa(len(paths)-1)+": conversions: infinite", err.Error())
		assert.Empty(t, r.Conversions, "%T", m)
	}
}

func TestResultHelpers(t *testing.T) {
	r := Result{Conversions: map[string]float64{"b": 1, "a": 2}, Value: map[string]float64{"c": 4}}
	assert.Equal(t, []string{"a", "b", "c"}, r.Channels())
	assert.Equal(t, 3.0, r.TotalConversions())
	assert.Equal(t, 4.0, r.TotalValue())
	assert.Equal(t, "a > b", Path{Channels: []string{"a", "b"}}.String())
}

// TestPositionBasedClamp: First+Last may exceed 1 by rounding (1e-12
// passes validation); the shares are then scaled to sum to 1 so that credit
// is conserved: a 3-touch path credits exactly its 1 conversion.
func TestPositionBasedClamp(t *testing.T) {
	r, err := PositionBased{First: 0.6, Last: 0.4 + 1e-12}.Attribute([]Path{{Channels: []string{"X", "Y", "Z"}, Conversions: 1}})
	require.NoError(t, err)
	assert.InDelta(t, 1, r.TotalConversions(), 1e-15)
	assert.Zero(t, r.Conversions["Y"])
}

// TestPositionBasedExplicit: with Explicit, First = Last = 0 is taken as
// written: a 4-touch path gives its conversion to the two middle touches,
// 1/2 each; a 2-touch path has no middle and splits 0:0 as half each; a
// single touch takes everything. Without Explicit the zero value is
// 0.4/0.4 (middle touches 0.1 each).
func TestPositionBasedExplicit(t *testing.T) {
	m := PositionBased{Explicit: true}
	r, err := m.Attribute([]Path{{Channels: []string{"W", "X", "Y", "Z"}, Conversions: 1, Value: 8}})
	require.NoError(t, err)
	assert.Equal(t, map[string]float64{"X": 0.5, "Y": 0.5}, r.Conversions)
	assert.Equal(t, map[string]float64{"X": 4, "Y": 4}, r.Value)

	r, err = m.Attribute([]Path{{Channels: []string{"X", "Y"}, Conversions: 1}, {Channels: []string{"Z"}, Conversions: 2}})
	require.NoError(t, err)
	assert.Equal(t, map[string]float64{"X": 0.5, "Y": 0.5, "Z": 2}, r.Conversions)

	r, err = PositionBased{}.Attribute([]Path{{Channels: []string{"W", "X", "Y", "Z"}, Conversions: 1}})
	require.NoError(t, err)
	assert.InDelta(t, 0.1, r.Conversions["X"], 1e-15)
	assert.InDelta(t, 0.4, r.Conversions["W"], 1e-15)
}
