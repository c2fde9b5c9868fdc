package storetest_test

import (
	"testing"

	"github.com/leadkit/leadkit/stage"
	"github.com/leadkit/leadkit/storetest"
)

// A backend proves it honours the stage.Store contract by running the
// suite from its own tests. (Suites need a *testing.T, so this example is
// compiled, not run.)
func ExampleStage() {
	_ = func(t *testing.T) {
		storetest.Stage(t, func(t *testing.T) stage.Store {
			return stage.NewMemoryStore() // your store, fresh and empty
		})
	}
}
