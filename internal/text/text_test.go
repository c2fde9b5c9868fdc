package text_test

import (
	"fmt"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"

	"github.com/leadkit/leadkit/internal/text"
)

func TestClip(t *testing.T) {
	assert.Equal(t, "short", text.Clip("short", 64))
	assert.Equal(t, "abc...", text.Clip("abcdef", 3))
	// Never in the middle of a character: é is two bytes.
	for n := 0; n < 8; n++ {
		got := text.Clip("ééééé", n)
		assert.True(t, utf8.ValidString(got), "%d: %q", n, got)
		assert.LessOrEqual(t, len(got), n+len("..."))
	}
}

func ExampleClip() {
	fmt.Println(text.Clip("a very long lead ID indeed", 6))
	// Output: a very...
}
