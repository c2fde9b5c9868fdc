package attribution

import (
	"math"
	"strings"
	"testing"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/journey"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMarkovStateCollapseOrder2 pins the default repeat handling at order 2:
// windows are built over the touches as they are, then consecutive
// identical windows (states) are merged; repeated channels are not removed
// first.
//
// Paths: "C > A > A > A > B" 1 conversion; "D > A > A > E" 1 null.
// Windows: (C),(C,A),(A,A),(A,A),(A,B) -> merged (C),(C,A),(A,A),(A,B);
// (D),(D,A),(A,A),(A,E). The state (A,A) is shared by both paths:
// (A,A) -> (A,B) 1/2, (A,E) 1/2; (A,B) converts, (A,E) does not.
// P(convert) = 1/2 (1 of 2 journeys).
// Removing C: only the D branch is left, P = 1/2 * 1/2 = 1/4, RE = 1/2.
// Removing D: likewise RE = 1/2. Removing A or B: P = 0, RE = 1.
// Removing E: (A,E) already ends in null, RE = 0.
// Credit (sum of RE = 3): C 1/6, D 1/6, A 1/3, B 1/3, E 0.
// Collapsing repeated channels first would give "C > A > B" and
// "D > A > E", two disjoint chains, and D would get nothing.
func TestMarkovStateCollapseOrder2(t *testing.T) {
	paths := []Path{
		{Channels: []string{"C", "A", "A", "A", "B"}, Conversions: 1},
		{Channels: []string{"D", "A", "A", "E"}, Nulls: 1},
	}
	r, err := Markov{Order: 2}.Attribute(paths)
	require.NoError(t, err)
	const eps = 1e-12
	assert.InDelta(t, 0.5, r.ConversionProbability, eps)
	want := map[string][2]float64{ // removal effect, credit
		"C": {0.5, 1.0 / 6}, "D": {0.5, 1.0 / 6}, "A": {1, 1.0 / 3}, "B": {1, 1.0 / 3}, "E": {0, 0},
	}
	for ch, w := range want {
		assert.InDelta(t, w[0], r.RemovalEffects[ch], eps, ch)
		assert.InDelta(t, w[1], r.Conversions[ch], eps, ch)
	}
	c, err := Markov{Order: 2}.NewCounts()
	require.NoError(t, err)
	require.NoError(t, c.AddPaths(paths))
	assert.Equal(t, 7, c.States(), "(C),(C,A),(A,A),(A,B),(D),(D,A),(A,E)")
}

// TestMarkovDefaultEqualsKeepRepeats checks the default against KeepRepeats
// at orders 1 to 3: both build the same windows, and a kept repeat is only
// a self-loop, which scales a state's other transitions by the same factor
// and so leaves every absorption probability, hence every removal effect,
// unchanged.
func TestMarkovDefaultEqualsKeepRepeats(t *testing.T) {
	paths := randomPaths(61, 1500, 5, 9)
	for order := 1; order <= 3; order++ {
		a, err := Markov{Order: order}.Attribute(paths)
		require.NoError(t, err)
		b, err := Markov{Order: order, KeepRepeats: true}.Attribute(paths)
		require.NoError(t, err)
		require.Len(t, a.RemovalEffects, len(b.RemovalEffects))
		for ch, v := range b.RemovalEffects {
			assert.InDelta(t, v, a.RemovalEffects[ch], 1e-12, "order %d %s", order, ch)
			assert.InDelta(t, b.ValueRemovalEffects[ch], a.ValueRemovalEffects[ch], 1e-12, "order %d %s", order, ch)
		}
	}
}

// TestTimeDecayUnderflow: touches 1200 and 1170 days before the conversion
// with a half-life of 1 day weigh 2^-1200 and 2^-1170, both below the
// smallest float64. Their ratio is 2^-30, so the shares are
// 2^-30/(1+2^-30) and 1/(1+2^-30) (weights taken relative to the latest
// touch), not an equal split.
func TestTimeDecayUnderflow(t *testing.T) {
	conv := Conversion{Types: []string{"won"}}
	c := tl("c", ev("c", "1", "page_view", "seo", 0, nil), ev("c", "2", "page_view", "ads", 30, nil),
		ev("c", "3", "won", "", 1200, nil))
	r, err := TimeDecay{HalfLife: day}.AttributeTimelines([]journey.Timeline{c}, conv)
	require.NoError(t, err)
	small := math.Exp2(-30)
	assert.InDelta(t, small/(1+small), r.Conversions["seo"], 1e-15)
	assert.InDelta(t, 1/(1+small), r.Conversions["ads"], 1e-15)
}

// TestReadPathsUnclosedQuote: the quote opened on line 3 is never closed,
// so the field runs to the end of the input (line 5). The error must name
// line 3, where the bad field starts.
func TestReadPathsUnclosedQuote(t *testing.T) {
	in := "path;total_conversions\na;1\n\"b;2\nc;3\nd;4\n"
	paths, err := ReadPaths(strings.NewReader(in), CSVOptions{})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	var ce *CSVError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, 3, ce.Line, err.Error())
	assert.Contains(t, err.Error(), "csv line 3:")
	assert.Contains(t, err.Error(), "quoted field runs to line 5")
	assert.Len(t, paths, 1)
}

// TestReadPathsNumberSyntax: strconv.ParseFloat also reads Go literals
// (hexadecimal floats, digit separators); a path table must not.
func TestReadPathsNumberSyntax(t *testing.T) {
	for _, s := range []string{"0x1p3", "0X10p0", "1_0", "0x_1p0", "1__0"} {
		_, err := ReadPaths(strings.NewReader("path;total_conversions\na;"+s+"\n"), CSVOptions{})
		require.ErrorIs(t, err, leadkit.ErrInvalid, s)
		assert.Contains(t, err.Error(), `csv line 2, column 2 (total_conversions): "`+s+`" is not a number`)
	}
	paths, err := ReadPaths(strings.NewReader("path;total_conversions\na;1.5e2\nb;.5\nc;+3\n"), CSVOptions{})
	require.NoError(t, err)
	assert.Equal(t, []float64{150, 0.5, 3}, []float64{paths[0].Conversions, paths[1].Conversions, paths[2].Conversions})
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

// TestMarkovCollapseChannels: the table of TestMarkovStateCollapseOrder2
// with repeated channels merged first becomes "C > A > B" (1 conversion)
// and "D > A > E" (1 null): two disjoint chains (C),(C,A),(A,B) and
// (D),(D,A),(A,E), 6 states. P(convert) = 1/2; removing C, A or B leaves
// no route to conversion (RE 1); removing D or E changes nothing (RE 0).
// Credit: C, A, B 1/3 each.
func TestMarkovCollapseChannels(t *testing.T) {
	paths := []Path{
		{Channels: []string{"C", "A", "A", "A", "B"}, Conversions: 1},
		{Channels: []string{"D", "A", "A", "E"}, Nulls: 1},
	}
	m := Markov{Order: 2, CollapseChannels: true}
	r, err := m.Attribute(paths)
	require.NoError(t, err)
	assert.InDelta(t, 0.5, r.ConversionProbability, 1e-12)
	for ch, want := range map[string]float64{"C": 1.0 / 3, "A": 1.0 / 3, "B": 1.0 / 3, "D": 0, "E": 0} {
		assert.InDelta(t, want, r.Conversions[ch], 1e-12, ch)
	}
	c, err := m.NewCounts()
	require.NoError(t, err)
	require.NoError(t, c.AddPaths(paths))
	assert.Equal(t, 6, c.States())

	_, err = Markov{KeepRepeats: true, CollapseChannels: true}.Attribute(paths)
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	other, err := Markov{Order: 2}.NewCounts()
	require.NoError(t, err)
	err = c.Merge(other)
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.Contains(t, err.Error(), "merge counts of order 2 (merge repeated states) into order 2 (collapse repeated channels)")
	_, err = Markov{Order: 2}.AttributeCounts(c)
	require.ErrorIs(t, err, leadkit.ErrInvalid)
}

// TestMarkovManyChannels runs order 1 and 2 over 70 channels, so that the
// rows out of Start (and of busy order-1 states) have more successors than
// rowIndexAt and switch to their index map, and checks the removal effects
// against refMarkov (brute force; order 2, about 1,600 states, goes through
// the iterative solver).
func TestMarkovManyChannels(t *testing.T) {
	paths := randomPaths(81, 1500, 70, 3)
	for _, order := range []int{1, 2} {
		m := Markov{Order: order}
		c, err := m.NewCounts()
		require.NoError(t, err)
		require.NoError(t, c.AddPaths(paths))
		require.NotNil(t, c.rows[stateStart].index, "order %d: Start row not indexed", order)
		require.Greater(t, len(c.rows[stateStart].to), 60)
		if order == 2 {
			require.Greater(t, c.States()+1, denseLimit, "order 2 should use the iterative solver")
		}

		r, err := m.AttributeCounts(c)
		require.NoError(t, err)
		p0, _, re, rev := refMarkov(paths, refOptions{order: order})
		assert.InDelta(t, p0, r.ConversionProbability, 1e-12)
		require.Len(t, r.RemovalEffects, 70)
		for ch, want := range re {
			assert.InDelta(t, want, r.RemovalEffects[ch], 1e-10, ch)
			assert.InDelta(t, rev[ch], r.ValueRemovalEffects[ch], 1e-10, ch)
		}
	}
}

// TestReadPathsPaddedColumnNames: header cells are trimmed, so configured
// names are too (found by FuzzReadPaths: " 00000" never matched); a name
// of blanks only is an error, not the default.
func TestReadPathsPaddedColumnNames(t *testing.T) {
	paths, err := ReadPaths(strings.NewReader("journey ; conv\na;1\n"), CSVOptions{PathColumn: " journey", ConversionsColumn: "conv "})
	require.NoError(t, err)
	assert.Equal(t, []Path{{Channels: []string{"a"}, Conversions: 1}}, paths)
	_, err = ReadPaths(strings.NewReader("path;total_conversions\na;1\n"), CSVOptions{NullsColumn: "  "})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.Contains(t, err.Error(), `attribution: csv options: column name "  " is blank`)
}
