//go:build race

package sim_test

import "testing"

// skipUnderRace skips a long single-goroutine test under the race
// detector, which has nothing to find in it and makes it 5-10 times
// slower; scripts/test.sh runs it in its pass without -race.
func skipUnderRace(t *testing.T) {
	t.Helper()
	t.Skip("single goroutine and long: runs in the pass without -race (scripts/test.sh)")
}
