package leadkit_test

import (
	"errors"
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

// FuzzValidateTenant: an accepted tenant ID is 1 to MaxTenantBytes bytes
// of letters, digits and - _ . :, starting with a letter or digit. The
// PostgreSQL stores write accepted IDs into SQL text unquoted, so no
// quote, backslash, space or semicolon may ever pass.
func FuzzValidateTenant(f *testing.F) {
	for _, s := range []string{"acme", "default", "a-b_c.d:e", "", "'; DROP TABLE x; --", "a\\b", ".", "é", strings.Repeat("z", 65)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		err := leadkit.ValidateTenant(id)
		if err != nil {
			if !errors.Is(err, leadkit.ErrInvalid) {
				t.Fatalf("%q: error %v does not wrap ErrInvalid", id, err)
			}
			return
		}
		if id == "" || len(id) > leadkit.MaxTenantBytes {
			t.Fatalf("%q accepted: length %d", id, len(id))
		}
		for i := 0; i < len(id); i++ {
			c := id[i]
			alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
			if !alnum && (i == 0 || !strings.ContainsRune("-_.:", rune(c))) {
				t.Fatalf("%q accepted: byte %d is %q", id, i, c)
			}
		}
	})
}
