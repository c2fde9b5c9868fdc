package pool_test

import (
	"testing"

	"github.com/leadkit/leadkit/pool"
	"github.com/leadkit/leadkit/storetest"
)

func TestMemoryStoreConformance(t *testing.T) {
	storetest.Pool(t, func() pool.Store { return pool.NewMemoryStore() })
}
