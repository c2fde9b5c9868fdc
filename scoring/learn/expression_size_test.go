package learn_test

import (
	"strconv"
	"strings"
	"testing"

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
