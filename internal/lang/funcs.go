package lang

import (
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/expr-lang/expr"

	"github.com/leadkit/leadkit/internal/text"
)

// SafeBuiltins lists the expr builtins left enabled: pure, deterministic
// functions whose output is no larger than their input. Left out: now, date,
// duration and timezone (an expression is a pure function of its inputs, so
// scores can be replayed and results do not depend on the host), keys and
// values (random order), split, repeat, replace and join (ways to build
// large values: split turns one string into a list as long as the string),
// the JSON and base64 codecs, and the reflective ones. int and float are
// leadkit's own (see [Functions]): expr's int turns 1e30 into -9.2e18 and
// its float reads "NaN".
var SafeBuiltins = []string{
	"all", "none", "any", "one", "filter", "map", "find", "count", "sum",
	"len", "abs", "ceil", "floor", "round", "string",
	"trim", "trimPrefix", "trimSuffix", "upper", "lower",
	"indexOf", "hasPrefix", "hasSuffix", "max", "min", "mean",
	"median", "first", "last", "uniq",
}

// Functions documents the functions leadkit adds to every expression.
var Functions = []string{
	"domain(s string) string: the lower-cased domain of an e-mail address or URL",
	"hasAny(list []string, items []string) bool: whether list holds any of items, ignoring case",
	"has(list []string, s string) bool: whether list holds s, ignoring case",
	"lowerAll(list []string) []string: every element lower-cased",
	"daysSince(t time) number: days from t to the as-of time (0 for a missing time)",
	`date("2025-01-01") time: a date literal (midnight UTC, or an RFC 3339 time; see leadkit.ParseDate), read when the expression is compiled: the argument must be written out`,
	"int(x) int: x truncated to an integer; an error when x is not finite or out of range, or text that is not an integer",
	"float(x) number: x as a number; an error for text that is not a finite number",
}

// unavailable explains why a well-known function is not in the language.
var unavailable = map[string]string{
	"now":           "expressions must not read the clock: compare with daysSince(t), event.age_days or lead.age_days, which use the as-of time",
	"duration":      "durations are not values in expressions: use daysSince(t) and compare numbers of days",
	"timezone":      "results must not depend on time zones",
	"keys":          "map keys come in random order",
	"values":        "map values come in random order",
	"split":         "it turns one string into a list as long as the string: declare the field with type strings",
	"repeat":        "it builds large values",
	"replace":       "it builds large values",
	"join":          "it builds large values",
	"toJSON":        "it is not available in expressions",
	"fromJSON":      "it is not available in expressions",
	"toBase64":      "it is not available in expressions",
	"fromBase64":    "it is not available in expressions",
	"get":           "read fields by name (event.topic) after declaring them",
	"type":          "it is not available in expressions",
	"toPairs":       "it is not available in expressions",
	"fromPairs":     "it is not available in expressions",
	"reduce":        "it is not available in expressions",
	"sortBy":        "it is not available in expressions",
	"sort":          "it is not available in expressions",
	"groupBy":       "it is not available in expressions",
	"bitand":        "it is not available in expressions",
	"flatten":       "it is not available in expressions",
	"concat":        "it is not available in expressions",
	"reverse":       "it is not available in expressions",
	"lastIndexOf":   "it is not available in expressions",
	"findIndex":     "it is not available in expressions",
	"findLast":      "it is not available in expressions",
	"findLastIndex": "it is not available in expressions",
}

func functionOptions() []expr.Option {
	return []expr.Option{
		expr.Function("domain", func(p ...any) (any, error) {
			return Domain(p[0].(string)), nil
		}, new(func(string) string)),
		expr.Function("hasAny", func(p ...any) (any, error) {
			return HasAny(toStrings(p[0]), toStrings(p[1])), nil
		}, new(func([]string, []string) bool), new(func([]any, []any) bool), new(func([]string, []any) bool), new(func([]any, []string) bool)),
		expr.Function("has", func(p ...any) (any, error) {
			return hasFold(toStrings(p[0]), p[1].(string)), nil
		}, new(func([]string, string) bool), new(func([]any, string) bool)),
		expr.Function("lowerAll", func(p ...any) (any, error) {
			in := toStrings(p[0])
			out := make([]string, len(in))
			for i, s := range in {
				out[i] = strings.ToLower(s)
			}
			return out, nil
		}, new(func([]string) []string), new(func([]any) []string)),
		// daysSince(t) is rewritten to daysSince(t, __asof) by asOfPatch.
		expr.Function("daysSince", func(p ...any) (any, error) {
			return daysSince(p[0].(time.Time), p[1].(time.Time)), nil
		}, new(func(time.Time, time.Time) float64)),
		expr.Function("int", func(p ...any) (any, error) {
			switch v := p[0].(type) {
			case int:
				return v, nil
			case float64:
				return toInt(v)
			case string:
				return parseInt(v)
			}
			return nil, fmt.Errorf("int: want a number or text, got %T", p[0])
		}, new(func(int) int), new(func(float64) int), new(func(string) int)),
		expr.Function("float", func(p ...any) (any, error) {
			switch v := p[0].(type) {
			case int:
				return float64(v), nil
			case float64:
				return v, nil
			case string:
				return parseFloat(v)
			}
			return nil, fmt.Errorf("float: want a number or text, got %T", p[0])
		}, new(func(int) float64), new(func(float64) float64), new(func(string) float64)),
	}
}

// toInt truncates f, refusing what does not fit an int.
func toInt(f float64) (int, error) {
	if math.IsNaN(f) || f >= 9.223372036854775807e18 || f < -9.223372036854775808e18 {
		return 0, fmt.Errorf("int(%g): out of range", f)
	}
	return int(f), nil
}

func parseInt(s string) (int, error) {
	v, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("int(%q): not an integer", text.Clip(s, 64))
	}
	return v, nil
}

func parseFloat(s string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("float(%q): not a finite number", text.Clip(s, 64))
	}
	return v, nil
}

func toStrings(v any) []string {
	switch v := v.(type) {
	case []string:
		return v
	case []any:
		out := make([]string, 0, len(v))
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// Domain returns the lower-cased domain of an e-mail address ("a@Acme.com"
// -> "acme.com") or URL ("https://www.acme.com/x" -> "www.acme.com"), or of
// a bare domain; "" when there is none.
func Domain(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		return strings.ToLower(s[i+1:])
	}
	if strings.Contains(s, "://") {
		if u, err := url.Parse(s); err == nil {
			return strings.ToLower(u.Hostname())
		}
	}
	if i := strings.IndexAny(s, "/?#"); i >= 0 {
		s = s[:i]
	}
	return strings.ToLower(s)
}

// HasAny reports whether list holds any of items, ignoring case.
func HasAny(list, items []string) bool {
	for _, a := range list {
		for _, b := range items {
			if strings.EqualFold(a, b) {
				return true
			}
		}
	}
	return false
}

// hasFold reports whether list holds s, ignoring case.
func hasFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
