package leadkit

import "fmt"

// DefaultTenant is the tenant of stores made without one.
const DefaultTenant = "default"

// MaxTenantBytes caps a tenant ID.
const MaxTenantBytes = 64

// ValidateTenant checks a tenant ID (see Tenants in the package doc). The error wraps
// [ErrInvalid] and shows the ID.
func ValidateTenant(id string) error {
	if id == "" {
		return fmt.Errorf("%w: tenant ID is empty", ErrInvalid)
	}
	if len(id) > MaxTenantBytes {
		return fmt.Errorf("%w: tenant ID is %d bytes, the limit is %d", ErrInvalid, len(id), MaxTenantBytes)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || i > 0 && (c == '-' || c == '_' || c == '.' || c == ':') {
			continue
		}
		if i == 0 && (c == '-' || c == '_' || c == '.' || c == ':') {
			return fmt.Errorf("%w: tenant ID %q: starts with %q, not a letter or digit", ErrInvalid, id, c)
		}
		return fmt.Errorf("%w: tenant ID %q: byte %d (%q) is not a letter, digit or one of - _ . :", ErrInvalid, id, i, c)
	}
	return nil
}

// TenantScoped is a store bound to one tenant that gives views of the same
// storage bound to other tenants. S is the store's own type
// (*stage.MemoryStore, *postgres.StageStore, ...), so a view keeps the
// store's other methods. Every store of leadkit implements it, and the
// conformance suites of package storetest check the isolation of any
// store with these two methods.
type TenantScoped[S any] interface {
	// Tenant returns the tenant the store is bound to.
	Tenant() string
	// ForTenant returns the same storage bound to tenant: a cheap view,
	// safe for concurrent use beside the store. A tenant ID that fails
	// ValidateTenant is an error wrapping ErrInvalid.
	ForTenant(tenant string) (S, error)
}
