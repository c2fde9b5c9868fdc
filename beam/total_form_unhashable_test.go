package beam

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// Crafted bytes for an interface-keyed typed map whose key reads as a
// list (not hashable: SetMapIndex once panicked) are an error.
func TestTotalFormCraftedUnhashableKey(t *testing.T) {
	b := []byte{formBinary, 2 /* one entry */, tagList, 0 /* []any(nil) */, 0 /* int 0 */}
	var m map[any]int
	assert.NotPanics(t, func() { _ = decodeTotal(b, &m) })
}
