package scoring

// Test hooks: what tests need of the package's internals without a field
// in a public struct.

// compileOnVM is Compile evaluating every expression on the expr VM
// instead of compiled closures, so tests can check the two agree.
func compileOnVM(spec ModelSpec, opts Options) (*Model, error) {
	return compile(spec, opts, true)
}
