// Package storetest holds the conformance suites that every Store
// implementation must pass, whatever its backend: the in-memory stores of
// the core module run them, and so do the PostgreSQL stores.
//
// Call a suite from a test of your store, with a constructor that returns a
// fresh, empty store:
//
//	func TestMyStageStore(t *testing.T) {
//		storetest.Stage(t, func(t *testing.T) stage.Store { return newMyStore(t) })
//	}
//
// The suites check the contracts the packages rely on: not-found and
// conflict errors wrap the leadkit sentinels, optimistic versions let
// exactly one of several racing writers win, histories have no gaps or
// duplicates, and times come back in UTC.
package storetest
