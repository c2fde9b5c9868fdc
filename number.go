package leadkit

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/leadkit/leadkit/internal/text"
)

// Number converts a value read from stage facts, event attributes or custom
// profile fields into a float64. It is the one number rule of leadkit:
//
//   - every Go integer and floating-point type is a number, as is a
//     json.Number (what a decoder with UseNumber produces);
//   - strings are not numbers, not even "5": a value stored as text is a
//     data problem to fix where it is written, not to guess at;
//   - NaN and infinities are refused: they pass comparisons silently
//     (+Inf >= 100) and poison sums.
//
// Integers beyond 2^53 lose precision, as in JSON. The error wraps
// [ErrInvalid] and names what was found.
func Number(v any) (float64, error) {
	var f float64
	switch n := v.(type) {
	case float64:
		f = n
	case float32:
		f = float64(n)
	case int:
		return float64(n), nil
	case int8:
		return float64(n), nil
	case int16:
		return float64(n), nil
	case int32:
		return float64(n), nil
	case int64:
		return float64(n), nil
	case uint:
		return float64(n), nil
	case uint8:
		return float64(n), nil
	case uint16:
		return float64(n), nil
	case uint32:
		return float64(n), nil
	case uint64:
		return float64(n), nil
	case json.Number:
		// Only JSON's number syntax: strconv also reads "0x1p4", "+5",
		// ".5" and "Inf", which no JSON store can hold.
		var err error
		if !isJSONNumber(string(n)) {
			return 0, fmt.Errorf("%w: %q is not a JSON number", ErrInvalid, text.Clip(string(n), 64))
		}
		if f, err = n.Float64(); err != nil {
			return 0, fmt.Errorf("%w: %q is not a number", ErrInvalid, text.Clip(string(n), 64))
		}
	case string:
		return 0, fmt.Errorf("%w: want a number, got the string %q", ErrInvalid, text.Clip(n, 64))
	case nil:
		return 0, fmt.Errorf("%w: want a number, got nothing", ErrInvalid)
	default:
		return 0, fmt.Errorf("%w: want a number, got %T", ErrInvalid, v)
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%w: %v is not a finite number", ErrInvalid, f)
	}
	return f, nil
}

// isJSONNumber reports whether s is a number in JSON's grammar.
func isJSONNumber(s string) bool {
	return s != "" && (s[0] == '-' || (s[0] >= '0' && s[0] <= '9')) && json.Valid([]byte(s))
}

// IsNumber reports whether [Number] accepts v's type (finite or not).
func IsNumber(v any) bool {
	switch v.(type) {
	case float64, float32, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, json.Number:
		return true
	}
	return false
}
