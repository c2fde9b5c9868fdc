package leadkit

import "time"

// Caps on user-supplied input. Tenant rules and documents are untrusted:
// every package and every store backend enforces these same caps, and input
// over a cap is refused with an error wrapping [ErrInvalid] that names the
// field, never truncated. Packages document further caps of their own
// (stages per definition, steps per funnel, channels per attribution) next
// to the types they bound.
const (
	// MaxIDBytes caps an ID: event, lead, subject, account.
	MaxIDBytes = 256
	// MaxNameBytes caps a name: an event type, channel or campaign, a
	// stage, transition, rule, dimension, step or field name.
	MaxNameBytes = 256
	// MaxStringBytes caps any other string value: event content, an
	// attribute or custom field value, a profile field, a note.
	// Expressions read no longer string.
	MaxStringBytes = 4096
	// MaxListItems caps a list value: a list attribute or fact, interests,
	// a tech stack. Expressions read no longer list.
	MaxListItems = 1000
	// MaxAttrs caps the attributes of one event.
	MaxAttrs = 100
	// MaxAttrDepth caps how deeply attribute values nest (a list in a map
	// in a map is depth 3).
	MaxAttrDepth = 4
	// MaxEventBytes caps one event's total size, counted as the bytes of
	// its fields plus its attributes as JSON writes them: names, map keys
	// and string values with their quotes and escapes, a json.Number's
	// text (at least 8), and 8 for every other value, list and map. The per-field caps alone admit events of
	// gigabytes (100 attributes of nested lists of long strings, or of
	// lists of a thousand empty strings), and a JSON store keeps escapes.
	MaxEventBytes = 1 << 20
	// MaxExprBytes caps one expression's source.
	MaxExprBytes = 4096
	// MaxDocumentExprBytes caps the expressions of one document together
	// (a stage definition's guards, a scoring model's rules, a funnel's
	// steps), whether it is parsed or built in Go: compiling costs
	// about 2 s per MB of expressions.
	MaxDocumentExprBytes = 256 << 10
	// MaxPatternInsts caps the compiled program of the patterns of one
	// expression (the right side of matches, which must be a literal):
	// "[^x]{1000}" is ten bytes of source and a thousand instructions, and
	// matching costs text length times program size.
	MaxPatternInsts = 1000
	// MaxDocumentPatternInsts caps the compiled patterns of one document
	// together.
	MaxDocumentPatternInsts = 10000
	// MaxDocumentBytes caps one spec document (a stage definition, a
	// scoring model, a funnel) read by a Parse function.
	MaxDocumentBytes = 1 << 20
)

// The time range every package accepts: event times, as-of times and
// stored times fall in [MinTime, MaxTime). Inside it the difference of two
// times fits a time.Duration (under 292 years), so decay and window
// arithmetic stay exact, and a zero or garbled time is refused instead of
// counting as an event 2,000 years old.
var (
	MinTime = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)
	MaxTime = time.Date(2150, 1, 1, 0, 0, 0, 0, time.UTC)
)

// TimePrecision is the resolution every store keeps times at: PostgreSQL's
// timestamptz keeps microseconds, and the memory stores (and the engines)
// truncate to it alike, so that the same events give the same order and
// the same answers on every backend.
const TimePrecision = time.Microsecond

// TimeRange describes [MinTime, MaxTime) for error messages.
const TimeRange = "years 1900 to 2149"

// ValidTime reports whether t falls in [MinTime, MaxTime).
func ValidTime(t time.Time) bool {
	u := t.Unix()
	return u >= minUnix && u < maxUnix
}

const (
	minUnix = -2208988800 // 1900-01-01T00:00:00Z
	maxUnix = 5680281600  // 2150-01-01T00:00:00Z
)
