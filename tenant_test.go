package leadkit_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/leadkit/leadkit"
)

func TestValidateTenant(t *testing.T) {
	for _, ok := range []string{leadkit.DefaultTenant, "acme", "ACME-2", "t_1.eu:prod", "7", "3f2b8c1e-9d4a-4b7e-8f00-1a2b3c4d5e6f", strings.Repeat("x", leadkit.MaxTenantBytes)} {
		assert.NoError(t, leadkit.ValidateTenant(ok), ok)
	}
	for _, bad := range []string{"", " ", "a b", "acme'", `a"b`, "a\x00", "é", "a/b", "a;b", ".", "..", "-x", "_x", ":x", strings.Repeat("x", leadkit.MaxTenantBytes+1)} {
		err := leadkit.ValidateTenant(bad)
		assert.ErrorIs(t, err, leadkit.ErrInvalid, "%q", bad)
	}
}

func ExampleValidateTenant() {
	fmt.Println(leadkit.ValidateTenant("acme-eu"))
	fmt.Println(leadkit.ValidateTenant("acme eu"))
	// Output:
	// <nil>
	// leadkit: invalid input: tenant ID "acme eu": byte 4 (' ') is not a letter, digit or one of - _ . :
}
