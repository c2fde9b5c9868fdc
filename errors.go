package leadkit

import "errors"

// Sentinel errors shared by every package and store of leadkit. Packages wrap
// them in typed errors that carry the details; test for them with [errors.Is].
var (
	// ErrNotFound reports that a lead, record or definition does not exist.
	ErrNotFound = errors.New("leadkit: not found")
	// ErrConflict reports an optimistic-concurrency failure: the record
	// changed since the caller read its version.
	ErrConflict = errors.New("leadkit: version conflict")
	// ErrInvalid reports bad input: a malformed definition, rule, event or row.
	ErrInvalid = errors.New("leadkit: invalid input")
)
