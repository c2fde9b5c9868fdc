package scoring

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strings"
	"time"

	"github.com/leadkit/leadkit"
)

// ectx is what a compiled expression reads: the lead, the current event,
// the dimension values, the as-of time and the lead's age at it, and the
// first run-time error.
type ectx struct {
	lead    *leadkit.Lead
	ev      *leadkit.Event
	dims    []float64
	asOf    time.Time
	ageDays float64
	caps    caps
	err     error
}

// Default input size limits (see [Options]). Expressions have no step
// limit, so the work of one evaluation is bounded by the expression's
// shape (its estimated cost, see [Options].MaxCost) and by the size of what
// it reads: a rule that reads a longer string or list fails at run time for
// that lead, naming the field.
const (
	// DefaultMaxStringBytes is the longest string value (a profile or
	// event field, a list element) a rule may read.
	DefaultMaxStringBytes = 4096
	// DefaultMaxListItems is the longest list (interests, tech stack, a
	// custom strings field) a rule may read.
	DefaultMaxListItems = 1000
)

// caps are the input size limits in force.
type caps struct{ str, list int }

func (c caps) withDefaults() caps {
	if c.str <= 0 {
		c.str = DefaultMaxStringBytes
	}
	if c.list <= 0 {
		c.list = DefaultMaxListItems
	}
	return c
}

func (c *ectx) fail(format string, args ...any) {
	if c.err == nil {
		c.err = fmt.Errorf(format, args...)
	}
}

// kind is the static type of a compiled expression node.
type kind uint8

const (
	kBool kind = iota + 1
	kInt
	kNum
	kStr
	kStrs
	kTime
)

func (k kind) String() string {
	switch k {
	case kBool:
		return TypeBool
	case kInt:
		return "int"
	case kNum:
		return TypeNumber
	case kStr:
		return TypeString
	case kStrs:
		return TypeStrings
	case kTime:
		return TypeTime
	}
	return "unknown"
}

func (k kind) goType() reflect.Type {
	switch k {
	case kBool:
		return reflect.TypeOf(false)
	case kInt:
		return reflect.TypeOf(0)
	case kNum:
		return reflect.TypeOf(0.0)
	case kStr:
		return reflect.TypeOf("")
	case kTime:
		return reflect.TypeOf(time.Time{})
	default:
		return reflect.TypeOf([]string(nil))
	}
}

// cnode is a compiled expression node: one typed closure, set according to
// k. isConst marks values known at compile time.
type cnode struct {
	k  kind
	b  func(*ectx) bool
	i  func(*ectx) int
	n  func(*ectx) float64
	s  func(*ectx) string
	ss func(*ectx) []string
	t  func(*ectx) time.Time
	// fails marks a field read that can fail at run time (a custom field
	// of the wrong type, a value over the size limits).
	fails bool
}

// touch reads the node's value for its side effect: a failed read sets
// c.err.
func (n cnode) touch(c *ectx) {
	switch n.k {
	case kBool:
		n.b(c)
	case kInt:
		n.i(c)
	case kNum:
		n.n(c)
	case kStr:
		n.s(c)
	case kStrs:
		n.ss(c)
	case kTime:
		n.t(c)
	}
}

// num reads an int or float node as float64.
func (n cnode) num() func(*ectx) float64 {
	if n.k == kInt {
		f := n.i
		return func(c *ectx) float64 { return float64(f(c)) }
	}
	return n.n
}

// field is one variable an expression may read: scope "person", name
// "title" is person.title. Scope "" is a top-level name (dimensions, and
// the hidden as-of time of daysSince).
type field struct {
	scope, name string
	get         cnode
}

// asOfName is the hidden variable that daysSince(t) is rewritten to read:
// daysSince(t) compiles as daysSince(t, __asof).
const asOfName = "__asof"

// schema is the set of variables of one expression environment. envType is
// the struct type expr type-checks against (built with reflect.StructOf, so
// unknown fields fail at compile time); fill populates the fields an
// expression reads in a value of it, for the expressions that run on the
// expr VM.
type schema struct {
	fields  []field
	index   map[string]int // "scope.name" or "name" -> fields index
	loc     [][2]int       // per field: top-level struct field, field in the scope struct (-1: none)
	envType reflect.Type
	scopes  []string
	// typeNames maps the printed struct types to scope names, to clean
	// expr's error messages.
	typeNames map[string]string
}

func newSchema(fields []field) *schema {
	s := &schema{fields: fields, index: map[string]int{}, typeNames: map[string]string{}, loc: make([][2]int, len(fields))}
	var top []reflect.StructField
	scopeFields := map[string][]reflect.StructField{}
	scopeOf := make([]int, len(fields)) // index in the scope struct
	for i, f := range fields {
		key := f.name
		sf := reflect.StructField{Type: f.get.k.goType(), Tag: reflect.StructTag(fmt.Sprintf(`expr:%q`, f.name))}
		if f.scope != "" {
			key = f.scope + "." + f.name
			if _, ok := scopeFields[f.scope]; !ok {
				s.scopes = append(s.scopes, f.scope)
			}
			scopeOf[i] = len(scopeFields[f.scope])
			sf.Name = fmt.Sprintf("F%d", scopeOf[i])
			scopeFields[f.scope] = append(scopeFields[f.scope], sf)
		} else {
			sf.Name = fmt.Sprintf("F%d", len(top))
			s.loc[i] = [2]int{len(top), -1}
			top = append(top, sf)
		}
		s.index[key] = i
	}
	scopeTop := map[string]int{}
	for _, sc := range s.scopes {
		t := reflect.StructOf(scopeFields[sc])
		s.typeNames[t.String()] = sc
		scopeTop[sc] = len(top)
		top = append(top, reflect.StructField{
			Name: fmt.Sprintf("F%d", len(top)),
			Type: t,
			Tag:  reflect.StructTag(fmt.Sprintf(`expr:%q`, sc)),
		})
	}
	for i, f := range fields {
		if f.scope != "" {
			s.loc[i] = [2]int{scopeTop[f.scope], scopeOf[i]}
		}
	}
	s.envType = reflect.StructOf(top)
	return s
}

// zero is a zero value of the environment, for type checking.
func (s *schema) zero() any { return reflect.New(s.envType).Elem().Interface() }

// fill builds the environment value for c with the fields in used (the
// ones the expression reads; the others keep their zero values, so a bad
// value in a field the expression does not read cannot fail it). It
// allocates: it serves only the expr VM fallback.
func (s *schema) fill(c *ectx, used []int) any {
	v := reflect.New(s.envType).Elem()
	for _, i := range used {
		f := &s.fields[i]
		dst := v.Field(s.loc[i][0])
		if s.loc[i][1] >= 0 {
			dst = dst.Field(s.loc[i][1])
		}
		switch f.get.k {
		case kBool:
			dst.SetBool(f.get.b(c))
		case kInt:
			dst.SetInt(int64(f.get.i(c)))
		case kNum:
			dst.SetFloat(f.get.n(c))
		case kStr:
			dst.SetString(f.get.s(c))
		case kStrs:
			dst.Set(reflect.ValueOf(f.get.ss(c)))
		case kTime:
			dst.Set(reflect.ValueOf(f.get.t(c)))
		}
		if c.err != nil {
			break
		}
	}
	return v.Interface()
}

func (s *schema) cleanMessage(msg string) string {
	for t, name := range s.typeNames {
		msg = strings.ReplaceAll(msg, t, name)
	}
	return msg
}

// checkStr enforces the string size limit on a value read from field name.
func checkStr(c *ectx, name, v string) string {
	if len(v) > c.caps.str { // caps.str is 0 only in tests: take the default
		if lim := c.caps.withDefaults().str; len(v) > lim {
			c.fail("%s: value is %d bytes, the limit is %d", name, len(v), lim)
			return ""
		}
	}
	return v
}

// checkStrs enforces the list and string size limits on a list read from
// field name.
func checkStrs(c *ectx, name string, v []string) []string {
	lim := c.caps.withDefaults()
	if len(v) > lim.list {
		c.fail("%s: list has %d items, the limit is %d", name, len(v), lim.list)
		return nil
	}
	for i := range v {
		if len(v[i]) > lim.str {
			c.fail("%s: item %d is %d bytes, the limit is %d", name, i+1, len(v[i]), lim.str)
			return nil
		}
	}
	return v
}

func strField(scope, name string, f func(*leadkit.Lead) string) field {
	full := scope + "." + name
	return field{scope, name, cnode{k: kStr, fails: true, s: func(c *ectx) string { return checkStr(c, full, f(c.lead)) }}}
}

func strsField(scope, name string, f func(*leadkit.Lead) []string) field {
	full := scope + "." + name
	return field{scope, name, cnode{k: kStrs, fails: true, ss: func(c *ectx) []string { return checkStrs(c, full, f(c.lead)) }}}
}

// asOfField is the hidden as-of time read by daysSince.
func asOfField() field {
	return field{"", asOfName, cnode{k: kTime, t: func(c *ectx) time.Time { return c.asOf }}}
}

// profileFields are the built-in fields of fit rules.
func profileFields() []field {
	return []field{
		strField("person", "email", func(l *leadkit.Lead) string { return l.Person.Email }),
		strField("person", "first_name", func(l *leadkit.Lead) string { return l.Person.FirstName }),
		strField("person", "last_name", func(l *leadkit.Lead) string { return l.Person.LastName }),
		strField("person", "title", func(l *leadkit.Lead) string { return l.Person.Title }),
		strField("person", "seniority", func(l *leadkit.Lead) string { return l.Person.Seniority }),
		strField("person", "department", func(l *leadkit.Lead) string { return l.Person.Department }),
		strField("person", "country", func(l *leadkit.Lead) string { return l.Person.Country }),
		strField("person", "region", func(l *leadkit.Lead) string { return l.Person.Region }),
		strField("person", "city", func(l *leadkit.Lead) string { return l.Person.City }),
		strField("person", "age_band", func(l *leadkit.Lead) string { return l.Person.AgeBand }),
		strsField("person", "interests", func(l *leadkit.Lead) []string { return l.Person.Interests }),
		strField("company", "name", func(l *leadkit.Lead) string { return l.Company.Name }),
		strField("company", "domain", func(l *leadkit.Lead) string { return l.Company.Domain }),
		strField("company", "industry", func(l *leadkit.Lead) string { return l.Company.Industry }),
		strField("company", "country", func(l *leadkit.Lead) string { return l.Company.Country }),
		{"company", "employees", cnode{k: kInt, i: func(c *ectx) int { return c.lead.Company.Employees }}},
		{"company", "revenue", cnode{k: kNum, n: func(c *ectx) float64 { return c.lead.Company.Revenue }}},
		strsField("company", "tech_stack", func(l *leadkit.Lead) []string { return l.Company.TechStack }),
		strField("lead", "id", func(l *leadkit.Lead) string { return l.ID }),
		strField("lead", "account_id", func(l *leadkit.Lead) string { return l.AccountID }),
		strField("lead", "source", func(l *leadkit.Lead) string { return l.Source }),
		{"lead", "age_days", cnode{k: kNum, n: func(c *ectx) float64 { return c.ageDays }}},
		{"lead", "created_at", cnode{k: kTime, t: func(c *ectx) time.Time { return c.lead.CreatedAt }}},
		asOfField(),
	}
}

// eventFields are the built-in fields of behavior rule predicates.
func eventFields() []field {
	ev := func(name string, f func(*leadkit.Event) string) field {
		full := "event." + name
		return field{"event", name, cnode{k: kStr, fails: true, s: func(c *ectx) string { return checkStr(c, full, f(c.ev)) }}}
	}
	return []field{
		ev("id", func(e *leadkit.Event) string { return e.ID }),
		ev("type", func(e *leadkit.Event) string { return e.Type }),
		ev("channel", func(e *leadkit.Event) string { return e.Channel }),
		ev("campaign", func(e *leadkit.Event) string { return e.Campaign }),
		ev("content", func(e *leadkit.Event) string { return e.Content }),
		{"event", "time", cnode{k: kTime, t: func(c *ectx) time.Time { return c.ev.Time }}},
		{"event", "age_days", cnode{k: kNum, n: func(c *ectx) float64 { return daysSince(c.ev.Time, c.asOf) }}},
		asOfField(),
	}
}

// customField returns the accessor of a declared custom field.
func customField(scope, key string, k kind) cnode {
	name := scope + "." + key
	lookup := func(c *ectx) (any, bool) {
		var m map[string]any
		switch scope {
		case "person":
			m = c.lead.Person.Custom
		case "company":
			m = c.lead.Company.Custom
		default:
			m = c.ev.Attrs
		}
		v, ok := m[key]
		return v, ok && v != nil
	}
	switch k {
	case kNum:
		return cnode{k: kNum, fails: true, n: func(c *ectx) float64 {
			v, ok := lookup(c)
			if !ok {
				return 0
			}
			f, ok := toFloat(v)
			if !ok {
				c.fail("%s: want number, got %T", name, v)
			}
			return f
		}}
	case kStr:
		return cnode{k: kStr, fails: true, s: func(c *ectx) string {
			v, ok := lookup(c)
			if !ok {
				return ""
			}
			s, ok := v.(string)
			if !ok {
				c.fail("%s: want string, got %T", name, v)
			}
			return checkStr(c, name, s)
		}}
	case kBool:
		return cnode{k: kBool, fails: true, b: func(c *ectx) bool {
			v, ok := lookup(c)
			if !ok {
				return false
			}
			b, ok := v.(bool)
			if !ok {
				c.fail("%s: want bool, got %T", name, v)
			}
			return b
		}}
	case kTime:
		return cnode{k: kTime, fails: true, t: func(c *ectx) time.Time {
			v, ok := lookup(c)
			if !ok {
				return time.Time{}
			}
			switch v := v.(type) {
			case time.Time:
				return v
			case string:
				t, err := time.Parse(time.RFC3339Nano, v)
				if err != nil {
					c.fail("%s: want an RFC 3339 time, got %q", name, checkStr(c, name, v))
				}
				return t
			}
			c.fail("%s: want time, got %T", name, v)
			return time.Time{}
		}}
	default:
		return cnode{k: kStrs, fails: true, ss: func(c *ectx) []string {
			v, ok := lookup(c)
			if !ok {
				return nil
			}
			switch v := v.(type) {
			case []string:
				return checkStrs(c, name, v)
			case []any:
				// Decoded JSON: copying allocates, so store []string where
				// speed matters.
				if lim := c.caps.withDefaults().list; len(v) > lim {
					c.fail("%s: list has %d items, the limit is %d", name, len(v), lim)
					return nil
				}
				out := make([]string, len(v))
				for i, x := range v {
					s, ok := x.(string)
					if !ok {
						c.fail("%s: want strings, got %T element", name, x)
						return nil
					}
					out[i] = s
				}
				return checkStrs(c, name, out)
			}
			c.fail("%s: want strings, got %T", name, v)
			return nil
		}}
	}
}

func toFloat(v any) (float64, bool) {
	switch v := v.(type) {
	case float64:
		return v, true
	case int:
		return float64(v), true
	case int64:
		return float64(v), true
	case int32:
		return float64(v), true
	case float32:
		return float64(v), true
	case uint:
		return float64(v), true
	case uint64:
		return float64(v), true
	case uint32:
		return float64(v), true
	case json.Number:
		f, err := v.Float64()
		return f, err == nil
	}
	return 0, false
}

// daysSince is the number of days from t to asOf (negative when t is
// later), 0 when t is the zero time (a missing value). It never reads the
// wall clock: asOf is the scoring as-of time.
func daysSince(t, asOf time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return asOf.Sub(t).Hours() / 24
}

// daysBetween is (to - from) in days.
func daysBetween(from, to time.Time) float64 {
	if from.IsZero() {
		return 0
	}
	d := to.Sub(from).Hours() / 24
	if math.IsNaN(d) {
		return 0
	}
	return d
}
