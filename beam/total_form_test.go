package beam

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
)

// unfaithfulLead is a lead JSON cannot carry (a NaN custom field), with
// many custom fields and nested maps: it takes the binary total form.
func unfaithfulLead() leadkit.Lead {
	custom := map[string]any{"nan": math.NaN(), "at": time.Date(2025, 1, 2, 3, 4, 5, 6, time.FixedZone("x", 5*3600+17))}
	for i := range 30 {
		custom[fmt.Sprintf("k%02d", i)] = map[string]any{"a": i, "b": []any{float64(i), "s"}, "c": int8(i)}
	}
	return leadkit.Lead{ID: "l", Person: leadkit.Person{Email: "a@b.c", Custom: custom}, Company: leadkit.Company{Custom: map[string]any{"x": uint16(7), "y": []string{"p", "q"}}}}
}

// The total form is canonical: the same value gives the same bytes every
// time (gob wrote maps in Go's random order), and what decodes encodes
// back to the bytes it came from.
func TestTotalFormIsCanonical(t *testing.T) {
	l := unfaithfulLead()
	first, err := encodeLead(l)
	require.NoError(t, err)
	require.Equal(t, byte(1), first[0], "the binary total form")
	for range 20 {
		b, err := encodeLead(l)
		require.NoError(t, err)
		require.Equal(t, first, b)
	}
	back, err := decodeLead(first)
	require.NoError(t, err)
	again, err := encodeLead(back)
	require.NoError(t, err)
	assert.Equal(t, first, again)
	assert.True(t, math.IsNaN(back.Person.Custom["nan"].(float64)))
	assert.Equal(t, int8(3), back.Person.Custom["k03"].(map[string]any)["c"])
	assert.Equal(t, []string{"p", "q"}, back.Company.Custom["y"])
	_, off := back.Person.Custom["at"].(time.Time).Zone()
	assert.Equal(t, 5*3600+17, off)
}

// node is a recursive type: only its depth bounds its form.
type node struct{ Next *node }

// Crafted bytes in the binary form are errors, never a crash nor a huge
// allocation: a count the bytes left cannot hold is refused before
// anything is made (gob once took a map's claimed four billion entries
// at its word and the worker died out of memory), nesting is bounded,
// and map keys must come in order, once each.
func TestTotalFormRefusesCraftedBytes(t *testing.T) {
	huge := []byte{0xff, 0xff, 0xff, 0xff, 0x0f}
	deep := []byte{formBinary}
	for range 200 {
		deep = append(deep, tagList, 2)
	}
	deep = append(deep, tagNil)
	ptrs := []byte{formBinary}
	for range 200 {
		ptrs = append(ptrs, 1)
	}
	ptrs = append(ptrs, 0)
	for _, c := range []struct {
		name string
		b    []byte
		into any
		want string
	}{
		{"typed map", append([]byte{formBinary}, huge...), new(map[string]any), "items in"},
		{"typed list", append([]byte{formBinary}, huge...), new([]leadkit.Event), "items in"},
		{"bytes", append([]byte{formBinary}, huge...), new([]byte), "items in"},
		{"text", append([]byte{formBinary}, huge...), new(leadkit.Lead), "items in"},
		{"map in an attribute", append([]byte{formBinary, tagMap}, huge...), new(any), "items in"},
		{"list in an attribute", append([]byte{formBinary, tagList}, huge...), new(any), "items in"},
		{"texts in an attribute", append([]byte{formBinary, tagStrings}, huge...), new(any), "items in"},
		{"attributes nested too deep", deep, new(any), "nested too deep"},
		{"pointers nested too deep", ptrs, new(node), "nested too deep"},
		{"keys out of order", []byte{formBinary, 3, 1, 'b', tagNil, 1, 'a', tagNil}, new(map[string]any), "out of order"},
		{"a key twice", []byte{formBinary, 3, 1, 'a', tagNil, 1, 'a', tagNil}, new(map[string]any), "out of order"},
		{"attribute keys out of order", []byte{formBinary, tagMap, 3, 1, 'b', tagNil, 1, 'a', tagNil}, new(any), "out of order"},
		{"unknown tag", []byte{formBinary, 99}, new(any), "unknown tag"},
		{"int8 out of range", []byte{formBinary, tagInt8, 0x80, 0x04}, new(any), "out of range"},
		{"bool", []byte{formBinary, 2}, new(bool), "not 0 or 1"},
		{"a byte after the end", []byte{formBinary, 0, 0}, new(bool), "after the end"},
		{"truncated number", []byte{formBinary, tagFloat64, 1, 2}, new(any), "truncated"},
	} {
		err := decodeTotal(c.b, c.into)
		require.Error(t, err, c.name)
		assert.ErrorContains(t, err, c.want, c.name)
	}
	// The deepest a recursive type goes still travels.
	var n *node
	for range maxTypedDepth + 10 {
		n = &node{Next: n}
	}
	b, err := encodeTotal(*n)
	require.NoError(t, err)
	require.Equal(t, byte(formBinary), b[0], "JSON's own cut")
	var back node
	require.NoError(t, decodeTotal(b, &back))
}
