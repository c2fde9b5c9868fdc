package beam

import (
	"bytes"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

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
