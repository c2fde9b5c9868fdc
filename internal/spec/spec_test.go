package spec_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/spec"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type doc struct {
	Name  string   `json:"name"`
	Steps []string `json:"steps"`
}

func TestParse(t *testing.T) {
	var d doc
	require.NoError(t, spec.Parse([]byte(`{"name":"a","steps":["x"]}`), &d))
	assert.Equal(t, doc{Name: "a", Steps: []string{"x"}}, d)
	require.NoError(t, spec.Parse([]byte("name: b\nsteps: [first, second]\n"), &d))
	assert.Equal(t, doc{Name: "b", Steps: []string{"first", "second"}}, d)

	for name, bad := range map[string]string{
		"unknown key":   `{"name":"a","stepz":["x"]}`,
		"duplicate key": "name: a\nname: b\n",
		"wrong type":    `{"name":3}`,
		"syntax":        `{"name":`,
		"too big":       strings.Repeat(" ", leadkit.MaxDocumentBytes+1),
	} {
		err := spec.Parse([]byte(bad), &d)
		assert.ErrorIs(t, err, leadkit.ErrInvalid, name)
	}
	err := spec.DecodeStrict([]byte(`{"name":"a"} {"name":"b"}`), &d)
	assert.ErrorContains(t, err, "data after the document")
}

type nested struct {
	Doc   doc            `json:"doc"`
	Items []doc          `json:"items"`
	ByKey map[string]doc `json:"by_key"`
}

func TestParseRefusesMiscasedKeys(t *testing.T) {
	var d doc
	for _, bad := range []string{
		`{"NAME":"a"}`,
		`{"Steps":["x"]}`,
		"name: a\nSTEPS: [x]\n",
		"{\"\u017fteps\": [\"x\"]}", // long s folds to s in encoding/json
	} {
		err := spec.Parse([]byte(bad), &d)
		require.ErrorIs(t, err, leadkit.ErrInvalid, bad)
		assert.ErrorContains(t, err, "did you mean", bad)
	}
	var n nested
	err := spec.Parse([]byte(`{"items":[{"name":"a"},{"Name":"b"}]}`), &n)
	assert.ErrorContains(t, err, `key "Name" in items[1]: did you mean "name"?`)
	err = spec.Parse([]byte(`{"by_key":{"x":{"STEPS":[]}}}`), &n)
	assert.ErrorContains(t, err, `in by_key.x`)
	require.NoError(t, spec.Parse([]byte(`{"by_key":{"ANY Case":{"name":"a"}}}`), &n), "map keys are data, not field names")
	assert.Equal(t, "a", n.ByKey["ANY Case"].Name)
}

func TestParseYAMLCoreSchema(t *testing.T) {
	var d doc
	require.NoError(t, spec.Parse([]byte("name: No\nsteps: [on, off, yes, y, 'true']\n"), &d))
	assert.Equal(t, doc{Name: "No", Steps: []string{"on", "off", "yes", "y", "true"}}, d, "YAML 1.2: only true/false are booleans")

	var m map[string]any
	require.NoError(t, spec.Parse([]byte("a: 1\nb: 2.5\nc: true\nd: null\ne: 0x10\nf: 2026-01-02\n"), &m))
	assert.Equal(t, map[string]any{"a": 1.0, "b": 2.5, "c": true, "d": nil, "e": 16.0, "f": "2026-01-02"}, m)

	for name, bad := range map[string]string{
		"nan":            "a: .nan\n",
		"inf":            "a: -.inf\n",
		"two documents":  "a: 1\n---\na: 2\n",
		"merge key":      "x: &x {a: 1}\ny:\n  <<: *x\n",
		"duplicate":      "a: 1\nb: 2\na: 3\n",
		"custom tag":     "a: !thing 1\n",
		"too deep":       strings.Repeat("[", spec.MaxDepth+2) + strings.Repeat("]", spec.MaxDepth+2),
		"billion laughs": laughs(),
	} {
		err := spec.Parse([]byte(bad), &m)
		assert.ErrorIs(t, err, leadkit.ErrInvalid, name)
	}
	err := spec.Parse([]byte("a: 1\nb: 2\na: 3\n"), &m)
	assert.ErrorContains(t, err, `line 3: key "a" already set on line 1`)

	require.NoError(t, spec.Parse([]byte("x: &n [1, 2]\ny: *n\n"), &m), "aliases within the budget work")
	assert.Equal(t, []any{1.0, 2.0}, m["y"])
	require.NoError(t, spec.Parse(nil, &m), "an empty document is null")
}

// laughs is the "billion laughs" document: ten levels of ten aliases each,
// 10^10 values once expanded, a few hundred bytes written.
func laughs() string {
	var b strings.Builder
	b.WriteString("l0: &l0 [lol]\n")
	for i := 1; i <= 10; i++ {
		fmt.Fprintf(&b, "l%d: &l%d [", i, i)
		for j := range 10 {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "*l%d", i-1)
		}
		b.WriteString("]\n")
	}
	return b.String()
}

func ExampleParse() {
	var d doc
	err := spec.Parse([]byte("name: welcome\nstepz: [a]\n"), &d)
	fmt.Println(err)
	// Output:
	// leadkit: invalid input: json: unknown field "stepz"
}

// FuzzParse: any document either fails with ErrInvalid or decodes, and a
// document that decodes converts to JSON that decodes to the same value.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"name":"a","steps":["x"]}`))
	f.Add([]byte("name: b\nsteps: [on, 'off']\n"))
	f.Add([]byte("x: &n [1, 2]\ny: *n\n"))
	f.Add([]byte(laughs()))
	f.Fuzz(func(t *testing.T, data []byte) {
		var m any
		err := spec.Parse(data, &m)
		if err != nil {
			require.ErrorIs(t, err, leadkit.ErrInvalid)
			return
		}
		js, err := spec.YAMLToJSON(data)
		require.NoError(t, err)
		var again any
		require.NoError(t, spec.Parse(js, &again), "the JSON form parses too")
		assert.Equal(t, m, again)
		var d doc
		if err := spec.Parse(data, &d); err != nil {
			require.ErrorIs(t, err, leadkit.ErrInvalid)
		}
	})
}
