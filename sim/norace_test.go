//go:build !race

package sim_test

import "testing"

// skipUnderRace: see race_test.go.
func skipUnderRace(*testing.T) {}
