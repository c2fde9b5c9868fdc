package sim

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
)

// workdays counts weeks at once; it agrees with counting day by day,
// before 1970 too.
func TestWorkdaysAgreesWithCounting(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		a := r.Int64N(40000) - 20000
		b := a + r.Int64N(3000) - 10
		want := 0
		for d := a; d < b; d++ {
			if !weekend(d) {
				want++
			}
		}
		assert.Equal(t, want, workdays(a, b), "%d to %d", a, b)
	}
}
