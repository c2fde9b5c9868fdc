package leadkit

import (
	"errors"
	"fmt"
)

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
	// ErrMismatch reports a merge of two accumulators made with
	// different specs, stages or options: their states do not add up.
	// It wraps ErrInvalid. A merge refused because it would pass a cap
	// is ErrInvalid alone.
	ErrMismatch = fmt.Errorf("%w: accumulators of different specs", ErrInvalid)
	// ErrUnavailable reports that a store could not be reached (a
	// database server down, a connection lost): nothing is known to have
	// been written, and the same call may be retried.
	ErrUnavailable = errors.New("leadkit: store unavailable")
)
