//go:build !race

package lifecycle_test

import "testing"

// skipUnderRace: see race_test.go.
func skipUnderRace(*testing.T) {}
