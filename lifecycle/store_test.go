package lifecycle_test

import (
	"testing"

	"github.com/leadkit/leadkit/lifecycle"
	"github.com/leadkit/leadkit/storetest"
)

func TestMemoryStore(t *testing.T) {
	storetest.Lifecycle(t, func() lifecycle.Store { return lifecycle.NewMemoryStore() })
}
