package beam

import (
	"encoding/binary"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
)

// Every list and map header is checked against the bytes left, and a
// nested one against the same bytes again: a list whose first item is a
// list whose first item is a list... (four deep, as validation allows)
// each claims all the bytes left. Room is made as items are read (at
// most maxPrealloc ahead, lists grown to at most twice what was read), so
// crafted bytes allocate at most ~40x their length (16 bytes an item of
// one byte, twice; the claims once stacked: 104x).

// nestedClaims returns an attribute map's bytes (typed map[string]any)
// whose one value is lists nested to validation's depth, each claiming
// every byte left, over fill nil bytes.
func nestedClaims(fill int) []byte {
	inner := make([]byte, fill) // tagNil items
	for range leadkit.MaxAttrDepth {
		n := uint64(len(inner))
		inner = append(binary.AppendUvarint([]byte{tagList}, n+1), inner...)
	}
	inner = append([]byte{1, 'a'}, inner...)
	return append(binary.AppendUvarint(nil, uint64(len(inner)/2)+1), inner...)
}

func eventClaims(fill int) []byte {
	b := make([]byte, 6) // six empty strings
	tb, _ := attackAt.MarshalBinary()
	b = append(append(b, byte(len(tb))), tb...)
	return append(b, nestedClaims(fill)...)
}

func allocOf(t *testing.T, f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestTotalFormDecodeAllocNestedLists(t *testing.T) {
	b := append([]byte{formBinary}, eventClaims(1<<20)...)
	var err error
	alloc := allocOf(t, func() { _, err = decodeEvent(b) })
	require.Error(t, err)
	t.Logf("%d bytes: %v; allocated %d MB (%.0fx)", len(b), err, alloc>>20, float64(alloc)/float64(len(b)))
	assert.LessOrEqual(t, alloc, uint64(40*len(b)), "crafted event bytes allocated %.0fx their length", float64(alloc)/float64(len(b)))
}

// The same under a journey's event list (one more claim of all the bytes).
func TestTotalFormDecodeAllocNestedJourney(t *testing.T) {
	ev := eventClaims(1 << 20)
	b := []byte{formBinary, 0, 0} // tenant, lead ID
	b = binary.AppendUvarint(b, uint64(len(ev)/8)+1)
	b = append(b, ev...)
	var err error
	alloc := allocOf(t, func() { _, err = unmarshalTotal[TenantJourney](b) })
	require.Error(t, err)
	t.Logf("%d bytes: %v; allocated %d MB (%.0fx)", len(b), err, alloc>>20, float64(alloc)/float64(len(b)))
	assert.LessOrEqual(t, alloc, uint64(40*len(b)), "crafted journey bytes allocated %.0fx their length", float64(alloc)/float64(len(b)))
}
