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

func ExampleParse() {
	var d doc
	err := spec.Parse([]byte("name: welcome\nstepz: [a]\n"), &d)
	fmt.Println(err)
	// Output:
	// leadkit: invalid input: json: unknown field "stepz"
}
