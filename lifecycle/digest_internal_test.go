package lifecycle

import (
	"fmt"
	"testing"
)

// Sums of the hashes of two IDs never equal those of two other IDs among
// IDs that differ in their last characters, as plain FNV-1a's do (the
// digest of counted events relies on sums).
func TestIDHashSumsDoNotCancel(t *testing.T) {
	var ids []string
	for l := range 20 {
		for i := range 40 {
			ids = append(ids, fmt.Sprintf("s%03d-%d", l, i))
		}
	}
	seen := map[uint64][2]string{}
	for i, a := range ids {
		for _, b := range ids[i+1:] {
			sum := idHash(a) + idHash(b)
			if prev, ok := seen[sum]; ok {
				t.Fatalf("%s+%s and %s+%s have the same sum", a, b, prev[0], prev[1])
			}
			seen[sum] = [2]string{a, b}
		}
	}
}
