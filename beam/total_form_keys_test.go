package beam

import (
	"bytes"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Whatever the total form encodes, it decodes: map keys that are distinct
// Go keys but write the same bytes (NaNs, times of one instant and offset
// (an offset with seconds) in two *time.Location values, interface keys that both become an
// Unsupported) must not make bytes the decoder refuses as "keys out of
// order".
func TestTotalFormDecodesWhatItEncodesMapKeys(t *testing.T) {
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	for name, v := range map[string]any{
		"NaN keys":       map[float64]int{math.NaN(): 1, math.NaN(): 2},
		"time keys":      map[time.Time]int{at.In(time.FixedZone("A", 3601)): 1, at.In(time.FixedZone("B", 3601)): 2},
		"interface keys": map[any]int{struct{ A int }{1}: 1, struct{ A int }{2}: 2},
	} {
		t.Run(name, func(t *testing.T) {
			b, err := encodeTotal(v)
			require.NoError(t, err)
			require.Equal(t, byte(formBinary), b[0])
			assert.NoError(t, decodeTotal(b, reflect.New(reflect.TypeOf(v)).Interface()))
		})
	}
}

// A typed map whose keys may write equal bytes (interfaces, floats,
// structs) gives the same bytes every time past the size cap too: its
// keys are encoded on a walk of their own and its values spend the cap in
// key order (they once spent it in Go's random map order, so which were
// cut changed from run to run).
func TestTotalFormSameBytesInterfaceKeysPastCap(t *testing.T) {
	big := strings.Repeat("k", 8<<10)
	m := map[any]int{}
	for i := range 300 {
		m[fmt.Sprintf("%03d%s", i, big)] = i
	}
	sameBytes(t, m)
}

func TestTotalFormSameBytesNaNKeysPastCap(t *testing.T) {
	big := strings.Repeat("v", 8<<10)
	m := map[float64]any{}
	for i := range 300 {
		m[math.NaN()] = fmt.Sprintf("%03d%s", i, big)
	}
	sameBytes(t, m)
}

func sameBytes(t *testing.T, v any) {
	t.Helper()
	first, err := encodeTotal(v)
	require.NoError(t, err)
	for i := range 20 {
		b, err := encodeTotal(v)
		require.NoError(t, err)
		if !assert.True(t, bytes.Equal(first, b), "encoding %d differs from the first (%d vs %d bytes)", i+2, len(b), len(first)) {
			return
		}
	}
}

// Crafted bytes for an interface-keyed typed map whose key reads as a
// list (not hashable: SetMapIndex once panicked) are an error.
func TestTotalFormCraftedUnhashableKey(t *testing.T) {
	b := []byte{formBinary, 2 /* one entry */, tagList, 0 /* []any(nil) */, 0 /* int 0 */}
	var m map[any]int
	assert.NotPanics(t, func() { _ = decodeTotal(b, &m) })
}

// A typed map whose keys may write equal bytes but do not (floats here)
// is walked once: only keys that write the same bytes are compared on
// copies of the walker, and those copies together walk at most the size
// cap (every value was once walked on a copy: 4.9 GB for this 70 KB map).
func TestTotalFormMapKeysWalkedOnce(t *testing.T) {
	s := strings.Repeat("v", 64<<10)
	inner := make([]any, 1000)
	for i := range inner {
		inner[i] = s
	}
	m := map[float64]any{}
	nan := map[float64]any{}
	for i := range 1000 {
		m[float64(i)] = inner
		nan[math.NaN()] = inner
	}
	type box struct{ M, NaN map[float64]any }
	alloc := allocOf(t, func() {
		_, err := encodeTotal(box{M: m, NaN: nan})
		require.NoError(t, err)
	})
	assert.Less(t, alloc, uint64(100<<20), "allocated %d MB for a ~140 KB input", alloc>>20)
}
