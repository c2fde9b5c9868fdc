package storetest

import "testing"

// Factory is what a suite takes to make stores: a func that returns a
// fresh, empty store, with or without the test's *testing.T (take it to
// register cleanups or skip when a database is missing).
type Factory[S any] interface {
	func() S | func(*testing.T) S
}

func build[S any, F Factory[S]](t *testing.T, f F) S {
	t.Helper()
	switch f := any(f).(type) {
	case func() S:
		return f()
	case func(*testing.T) S:
		return f(t)
	}
	panic("unreachable: Factory has two forms")
}
