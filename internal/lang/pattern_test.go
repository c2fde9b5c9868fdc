package lang

import (
	"fmt"
	"strings"
	"testing"

	"github.com/leadkit/leadkit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A Budget bounds the expressions of one document together: their source
// bytes and their compiled patterns. An attack kept 2.2 GB of compiled
// guards from a 104 KB stage definition of "[^A]{1000}" patterns.
func TestBudget(t *testing.T) {
	sch := testSchema(t, false)
	cfg := func(b *Budget) Config { return Config{Want: Bool, Budget: b, MaxCost: 1e12} }

	// Patterns: ten expressions of 999 instructions fit, the eleventh not.
	var b Budget
	pat := `person.title matches "[^x]{996}z"`
	n, msg := patternInsts("[^x]{996}z")
	require.Empty(t, msg)
	require.Equal(t, 999, n)
	for i := 0; i < leadkit.MaxDocumentPatternInsts/999; i++ {
		_, err := Compile(pat, sch, cfg(&b))
		require.Nil(t, err, "expression %d", i+1)
	}
	require.False(t, b.Exceeded())
	_, err := Compile(pat, sch, cfg(&b))
	require.NotNil(t, err)
	assert.Contains(t, err.Message, "the document's patterns compile to over 10000 instructions together")
	assert.True(t, b.Exceeded())

	// Source bytes: up to MaxDocumentExprBytes, not one byte more.
	b = Budget{}
	src := `person.title == "` + strings.Repeat("a", 4000) + `"`
	total := 0
	for total+len(src) <= leadkit.MaxDocumentExprBytes {
		_, err := Compile(src, sch, cfg(&b))
		require.Nil(t, err)
		total += len(src)
	}
	rest := leadkit.MaxDocumentExprBytes - total
	if rest >= len(`person.title == ""`) {
		_, err := Compile(`person.title == "`+strings.Repeat("a", rest-len(`person.title == ""`))+`"`, sch, cfg(&b))
		require.Nil(t, err, "exactly at the cap")
	}
	_, err = Compile(`person.title == "b"`, sch, cfg(&b))
	require.NotNil(t, err)
	assert.Contains(t, err.Message, fmt.Sprintf("over %d bytes together", leadkit.MaxDocumentExprBytes))

	// Without a Budget only the per-expression caps apply.
	for i := 0; i < 20; i++ {
		_, err := Compile(pat, sch, cfg(nil))
		require.Nil(t, err)
	}
}
