// Package tenants holds the per-tenant data of the in-memory stores: one
// home for how a memory store keeps tenants apart.
package tenants

import (
	"sync"

	"github.com/leadkit/leadkit"
)

// Set maps tenant IDs to their data, made on first use. A memory store
// holds its tenant's data directly, so the lookup costs nothing on its
// hot paths; views for other tenants share the Set.
type Set[T any] struct {
	mu   sync.Mutex
	data map[string]*T
	mk   func() *T
}

// New returns a Set that makes a tenant's data with mk.
func New[T any](mk func() *T) *Set[T] {
	return &Set[T]{data: map[string]*T{}, mk: mk}
}

// Get returns tenant's data, making it on first use. A tenant ID that
// fails leadkit.ValidateTenant is an error.
func (s *Set[T]) Get(tenant string) (*T, error) {
	if err := leadkit.ValidateTenant(tenant); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.data[tenant]
	if !ok {
		d = s.mk()
		s.data[tenant] = d
	}
	return d, nil
}
