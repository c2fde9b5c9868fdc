package beam

import (
	"math"
	"reflect"
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
