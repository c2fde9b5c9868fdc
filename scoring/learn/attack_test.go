package learn_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/scoring/learn"
)

// Values kept as bins of their own are measured as the rule writes them
// (quoted): titles of soft hyphens, three times longer escaped, made the
// "other" bin's expression pass the expression cap.
func TestEscapedValuesFitTheExpressionCap(t *testing.T) {
	ex := history(600, 21)
	for i := range ex {
		ex[i].Lead.Person.Title = strings.Repeat("\u00ad", 99) + string(rune('a'+i%11))
	}
	opts := smallOpts()
	opts.Fields = []string{"person.title"}
	res, err := learn.Fit(ex, opts)
	require.NoError(t, err)
	requireClean(t, res)
}

// An event type named like a channel signal does not give two signals
// one name.
func TestTypeNamedLikeAChannelSignal(t *testing.T) {
	ex := history(600, 34)
	for i := 0; i < len(ex); i += 2 {
		ex[i].Events = append(ex[i].Events, leadkit.Event{ID: ex[i].Lead.ID + "-c", LeadID: ex[i].Lead.ID, Type: "channel:email", Time: cutOff.Add(-time.Hour)})
	}
	opts := smallOpts()
	opts.Signals = nil
	res, err := learn.Fit(ex, opts)
	require.NoError(t, err)
	requireClean(t, res)
}

// A leak is a leak also when its telling bin is too rare to keep: it is
// reported as one, not as a constant field.
func TestRareLeakReported(t *testing.T) {
	ex := history(3000, 28)
	for i := range ex {
		ex[i].Converted = i%100 == 0
		ex[i].Lead.Person.Custom = map[string]any{"won": ex[i].Converted}
	}
	opts := smallOpts()
	opts.Declare = []leadkit.FieldSpec{{Name: "person.won", Type: leadkit.TypeBool}}
	opts.Fields = append(opts.Fields, "person.won")
	res, err := learn.Fit(ex, opts)
	require.NoError(t, err)
	require.Contains(t, droppedFeatures(res, learn.DropLeak), "person.won")
}

// Points to double the odds below 1 would round every rule to 0: refused.
func TestTinyPDORefused(t *testing.T) {
	for _, pdo := range []float64{0.01, 0.3, 0.999} {
		_, err := learn.Fit(history(200, 31), learn.Options{PDO: pdo, Seed: 1})
		require.ErrorIs(t, err, leadkit.ErrInvalid, "%g", pdo)
		require.ErrorContains(t, err, "PDO")
	}
}

// Long declared field names and values across many fields could take the
// rules' expressions past the document cap: the least informative
// features are left out, with a warning, and the model compiles.
func TestExpressionsWithinTheDocumentCap(t *testing.T) {
	ex := history(4000, 33)
	var decl []leadkit.FieldSpec
	var fields []string
	key := func(f int) string { return strings.Repeat("f", 200) + strconv.Itoa(f) }
	for f := range 32 {
		decl = append(decl, leadkit.FieldSpec{Name: "person." + key(f), Type: leadkit.TypeString})
		fields = append(fields, "person."+key(f))
	}
	for i := range ex {
		c := map[string]any{}
		for f := range 32 {
			v := (i*7 + f*13 + i/(f+1)) % 18
			if ex[i].Converted && (i+f)%3 == 0 {
				v = f % 4
			}
			c[key(f)] = strings.Repeat("v", 186) + strconv.Itoa(1000+v)
		}
		ex[i].Lead.Person.Custom = c
	}
	res, err := learn.Fit(ex, learn.Options{Declare: decl, Fields: fields, Signals: []learn.Signal{}, Categories: 16, MinSupport: 5, Seed: 1, L2: 1e-3})
	require.NoError(t, err)
	require.NotEmpty(t, droppedFeatures(res, learn.DropSize))
	requireClean(t, res)
}

// Event types with ">" in their names cannot make two features one name:
// the probe's rules are named by index, and a path named like an
// earlier feature is left out with a warning.
func TestPathNamesFromOddTypes(t *testing.T) {
	for _, types := range [][]string{{"a>b", "c", "a", "b>c"}, {"path:a>b", "a", "b ever"}} {
		var ex []learn.Example
		for i := range 400 {
			var ev []leadkit.Event
			for k, ty := range types {
				ev = append(ev, leadkit.Event{ID: strconv.Itoa(k), Type: ty, Time: cutOff.Add(-time.Duration(1+(i*7+k*13)%500) * time.Hour)})
			}
			ex = append(ex, learn.Example{Lead: leadkit.Lead{ID: strconv.Itoa(i)}, Events: ev, CutOff: cutOff, Converted: i%3 == 0})
		}
		res, err := learn.Fit(ex, learn.Options{Seed: 1})
		require.NoError(t, err, "%v", types)
		requireClean(t, res)
	}
}
