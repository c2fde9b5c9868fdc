package lang

import (
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/text"
)

// Kind is the static type of a value.
type Kind uint8

// The kinds. Int exists because expr keeps integer arithmetic exact; fields
// are Num unless they are Go ints (company.employees).
const (
	Bool Kind = iota + 1
	Int
	Num
	Str
	List // a list of strings
	Time
)

// String names the kind in the words of [leadkit.FieldType].
func (k Kind) String() string {
	switch k {
	case Bool:
		return string(leadkit.TypeBool)
	case Int:
		return "int"
	case Num:
		return string(leadkit.TypeNumber)
	case Str:
		return string(leadkit.TypeString)
	case List:
		return string(leadkit.TypeStrings)
	case Time:
		return string(leadkit.TypeTime)
	}
	return "unknown"
}

// KindOf returns the kind of a declared field type (0 for an unknown type).
func KindOf(t leadkit.FieldType) Kind {
	switch t {
	case leadkit.TypeNumber:
		return Num
	case leadkit.TypeString:
		return Str
	case leadkit.TypeBool:
		return Bool
	case leadkit.TypeStrings:
		return List
	case leadkit.TypeTime:
		return Time
	}
	return 0
}

func (k Kind) goType() reflect.Type {
	switch k {
	case Bool:
		return reflect.TypeOf(false)
	case Int:
		return reflect.TypeOf(0)
	case Num:
		return reflect.TypeOf(0.0)
	case Str:
		return reflect.TypeOf("")
	case Time:
		return reflect.TypeOf(time.Time{})
	default:
		return reflect.TypeOf([]string(nil))
	}
}

// Ctx is what a compiled expression reads when it runs: the lead and event
// of the standard fields, typed slots for bare names (scoring dimensions,
// stage facts), the as-of time, an extension value for package-specific
// fields, the caps in force and the first run-time error. A Ctx is reused
// across evaluations by its owner; it is not safe for concurrent use.
type Ctx struct {
	Lead  *leadkit.Lead
	Event *leadkit.Event
	// Slots of bare names, by the index their Field was built with.
	Nums  []float64
	Texts []string
	Lists [][]string
	Bools []bool
	Times []time.Time
	// AsOf is the time daysSince, event.age_days and lead.age_days
	// measure to. Expressions never read the wall clock.
	AsOf time.Time
	// Ext carries package-specific data that the package's own fields read.
	Ext any
	// Caps are the size caps checked when a field is read (zero: the
	// defaults).
	Caps Caps
	// Err is the first run-time error of the current evaluation.
	Err error
}

// Fail records a run-time error (the first one wins).
func (c *Ctx) Fail(format string, args ...any) {
	if c.Err == nil {
		c.Err = fmt.Errorf(format, args...)
	}
}

// Node is a compiled expression: one typed closure, set according to Kind.
type Node struct {
	Kind Kind
	B    func(*Ctx) bool
	I    func(*Ctx) int
	N    func(*Ctx) float64
	S    func(*Ctx) string
	L    func(*Ctx) []string
	T    func(*Ctx) time.Time
	// Fails marks a read that can fail at run time (a custom field of the
	// wrong type, a value over the caps).
	Fails bool
}

// Value reads the node's value as a Go value (bool, int, float64, string,
// []string or time.Time), for explanations that show what a rule read; a
// failed read sets c.Err and gives nil.
func (n Node) Value(c *Ctx) any {
	var v any
	switch n.Kind {
	case Bool:
		v = n.B(c)
	case Int:
		v = n.I(c)
	case Num:
		v = n.N(c)
	case Str:
		v = n.S(c)
	case List:
		v = n.L(c)
	case Time:
		v = n.T(c)
	}
	if c.Err != nil {
		return nil
	}
	return v
}

// touch reads the node's value for its side effect: a failed read sets
// c.Err.
func (n Node) touch(c *Ctx) {
	switch n.Kind {
	case Bool:
		n.B(c)
	case Int:
		n.I(c)
	case Num:
		n.N(c)
	case Str:
		n.S(c)
	case List:
		n.L(c)
	case Time:
		n.T(c)
	}
}

// num reads an int or number node as float64.
func (n Node) num() func(*Ctx) float64 {
	if n.Kind == Int {
		f := n.I
		return func(c *Ctx) float64 { return float64(f(c)) }
	}
	return n.N
}

// Field is one name an expression may read: Scope "person", Name "title" is
// person.title; Scope "" is a bare name (a dimension, a fact).
type Field struct {
	Scope, Name string
	Get         Node
	// AsOf marks a field whose value depends on the as-of time.
	AsOf bool
	// Declared marks a custom field declared by the tenant.
	Declared bool
}

// Path is the field's name as an expression writes it.
func (f Field) Path() string {
	if f.Scope == "" {
		return f.Name
	}
	return f.Scope + "." + f.Name
}

// asOfName is the hidden variable daysSince(t) is rewritten to read:
// daysSince(t) compiles as daysSince(t, __asof).
const asOfName = "__asof"

// Caps are the size caps of the values an expression reads; a longer
// string or list fails the expression at run time, naming the field.
type Caps struct{ Str, List int }

func (c Caps) withDefaults() Caps {
	if c.Str <= 0 {
		c.Str = leadkit.MaxStringBytes
	}
	if c.List <= 0 {
		c.List = leadkit.MaxListItems
	}
	return c
}

// CheckStr enforces the string cap on a value read from field name.
func CheckStr(c *Ctx, name, v string) string {
	if len(v) > c.Caps.Str {
		if lim := c.Caps.withDefaults().Str; len(v) > lim {
			c.Fail("%s: value is %d bytes, the limit is %d", name, len(v), lim)
			return ""
		}
	}
	return v
}

// CheckList enforces the list and string caps on a list read from field
// name.
func CheckList(c *Ctx, name string, v []string) []string {
	lim := c.Caps.withDefaults()
	if len(v) > lim.List {
		c.Fail("%s: list has %d items, the limit is %d", name, len(v), lim.List)
		return nil
	}
	for i := range v {
		if len(v[i]) > lim.Str {
			c.Fail("%s: item %d is %d bytes, the limit is %d", name, i+1, len(v[i]), lim.Str)
			return nil
		}
	}
	return v
}

// StrField is a string field read by get, with the cap checked.
func StrField(scope, name string, get func(*Ctx) string) Field {
	full := scope + "." + name
	return Field{Scope: scope, Name: name, Get: Node{Kind: Str, Fails: true, S: func(c *Ctx) string { return CheckStr(c, full, get(c)) }}}
}

// ListField is a strings field read by get, with the caps checked.
func ListField(scope, name string, get func(*Ctx) []string) Field {
	full := scope + "." + name
	return Field{Scope: scope, Name: name, Get: Node{Kind: List, Fails: true, L: func(c *Ctx) []string { return CheckList(c, full, get(c)) }}}
}

// NumField is a number field read by get.
func NumField(scope, name string, get func(*Ctx) float64) Field {
	return Field{Scope: scope, Name: name, Get: Node{Kind: Num, N: get}}
}

// TimeField is a time field read by get, in UTC (so nothing an expression
// computes from it depends on the location it came with).
func TimeField(scope, name string, get func(*Ctx) time.Time) Field {
	return Field{Scope: scope, Name: name, Get: Node{Kind: Time, T: func(c *Ctx) time.Time { return get(c).UTC() }}}
}

// asOfField is the hidden as-of time read by daysSince.
func asOfField() Field {
	return Field{Name: asOfName, AsOf: true, Get: Node{Kind: Time, T: func(c *Ctx) time.Time { return c.AsOf }}}
}

// LeadFields are the lead context: person.*, company.* and lead.*, read
// from Ctx.Lead.
func LeadFields() []Field {
	p := func(name string, f func(*leadkit.Person) string) Field {
		return StrField("person", name, func(c *Ctx) string { return f(&c.Lead.Person) })
	}
	co := func(name string, f func(*leadkit.Company) string) Field {
		return StrField("company", name, func(c *Ctx) string { return f(&c.Lead.Company) })
	}
	l := func(name string, f func(*leadkit.Lead) string) Field {
		return StrField("lead", name, func(c *Ctx) string { return f(c.Lead) })
	}
	ageDays := NumField("lead", "age_days", func(c *Ctx) float64 { return daysSince(c.Lead.CreatedAt, c.AsOf) })
	ageDays.AsOf = true
	return []Field{
		p("email", func(x *leadkit.Person) string { return x.Email }),
		p("first_name", func(x *leadkit.Person) string { return x.FirstName }),
		p("last_name", func(x *leadkit.Person) string { return x.LastName }),
		p("phone", func(x *leadkit.Person) string { return x.Phone }),
		p("title", func(x *leadkit.Person) string { return x.Title }),
		p("seniority", func(x *leadkit.Person) string { return x.Seniority }),
		p("department", func(x *leadkit.Person) string { return x.Department }),
		p("country", func(x *leadkit.Person) string { return x.Country }),
		p("region", func(x *leadkit.Person) string { return x.Region }),
		p("city", func(x *leadkit.Person) string { return x.City }),
		p("age_band", func(x *leadkit.Person) string { return x.AgeBand }),
		ListField("person", "interests", func(c *Ctx) []string { return c.Lead.Person.Interests }),
		co("name", func(x *leadkit.Company) string { return x.Name }),
		co("domain", func(x *leadkit.Company) string { return x.Domain }),
		co("industry", func(x *leadkit.Company) string { return x.Industry }),
		co("country", func(x *leadkit.Company) string { return x.Country }),
		{Scope: "company", Name: "employees", Get: Node{Kind: Int, I: func(c *Ctx) int { return c.Lead.Company.Employees }}},
		NumField("company", "revenue", func(c *Ctx) float64 { return c.Lead.Company.Revenue }),
		ListField("company", "tech_stack", func(c *Ctx) []string { return c.Lead.Company.TechStack }),
		l("id", func(x *leadkit.Lead) string { return x.ID }),
		l("account_id", func(x *leadkit.Lead) string { return x.AccountID }),
		l("source", func(x *leadkit.Lead) string { return x.Source }),
		ageDays,
		TimeField("lead", "created_at", func(c *Ctx) time.Time { return c.Lead.CreatedAt }),
	}
}

// EventFields are the event context: event.id, type, channel, campaign,
// content, time and age_days, read from Ctx.Event.
func EventFields() []Field {
	ev := func(name string, f func(*leadkit.Event) string) Field {
		return StrField("event", name, func(c *Ctx) string { return f(c.Event) })
	}
	ageDays := NumField("event", "age_days", func(c *Ctx) float64 { return daysSince(c.Event.Time, c.AsOf) })
	ageDays.AsOf = true
	return []Field{
		ev("id", func(e *leadkit.Event) string { return e.ID }),
		ev("type", func(e *leadkit.Event) string { return e.Type }),
		ev("channel", func(e *leadkit.Event) string { return e.Channel }),
		ev("campaign", func(e *leadkit.Event) string { return e.Campaign }),
		ev("content", func(e *leadkit.Event) string { return e.Content }),
		TimeField("event", "time", func(c *Ctx) time.Time { return c.Event.Time }),
		ageDays,
	}
}

// DeclaredFields builds the custom fields declared by specs, in the scopes
// allowed ("person" and "company" read Person.Custom and Company.Custom,
// "event" reads Event.Attrs). builtin lists the fields already defined, so a
// declaration cannot shadow one. Problems come back as messages, one per
// bad declaration, with its index.
func DeclaredFields(specs []leadkit.FieldSpec, builtin []Field, scopes ...string) ([]Field, []string) {
	seen := map[string]bool{}
	for _, f := range builtin {
		seen[f.Path()] = true
	}
	var out []Field
	var problems []string
	for i, fs := range specs {
		bad := func(format string, args ...any) {
			problems = append(problems, fmt.Sprintf("field %d %q: %s", i+1, text.Clip(fs.Name, 64), fmt.Sprintf(format, args...)))
		}
		scope, key, ok := strings.Cut(fs.Name, ".")
		if !ok || !contains(scopes, scope) {
			want := make([]string, len(scopes))
			for j, s := range scopes {
				want[j] = fmt.Sprintf("%q", s+".<key>")
			}
			bad("name must be %s", strings.Join(want, " or "))
			continue
		}
		if !IsIdent(key) || len(key) > leadkit.MaxNameBytes {
			bad("key %q is not an identifier (letters, digits and _, not starting with a digit)", text.Clip(key, 64))
			continue
		}
		if seen[fs.Name] {
			bad("declared twice or a built-in field")
			continue
		}
		k := KindOf(fs.Type)
		if k == 0 {
			bad("type %q is not number, string, bool, strings or time", text.Clip(string(fs.Type), 64))
			continue
		}
		seen[fs.Name] = true
		out = append(out, Field{Scope: scope, Name: key, Get: customGetter(scope, key, k), Declared: true})
	}
	return out, problems
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// IsIdent reports whether s is an identifier: ASCII letters, digits and _,
// not starting with a digit.
func IsIdent(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		r := s[i]
		if r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (i > 0 && r >= '0' && r <= '9') {
			continue
		}
		return false
	}
	return true
}

func customGetter(scope, key string, k Kind) Node {
	name := scope + "." + key
	lookup := func(c *Ctx) (any, bool) {
		var m map[string]any
		switch scope {
		case "person":
			m = c.Lead.Person.Custom
		case "company":
			m = c.Lead.Company.Custom
		default:
			m = c.Event.Attrs
		}
		v, ok := m[key]
		return v, ok && v != nil
	}
	return ValueNode(name, k, lookup)
}

// ValueNode reads a dynamically typed value (a custom field, an attribute,
// a fact) as kind k with the one conversion rule: numbers by
// [leadkit.Number], strings lists from []string or []any of strings, times
// from time.Time or RFC 3339 text; a missing value reads as the zero value,
// a value of another type fails the expression naming the field.
func ValueNode(name string, k Kind, lookup func(*Ctx) (any, bool)) Node {
	switch k {
	case Num:
		return Node{Kind: Num, Fails: true, N: func(c *Ctx) float64 {
			v, ok := lookup(c)
			if !ok {
				return 0
			}
			f, err := leadkit.Number(v)
			if err != nil {
				c.Fail("%s: %s", name, strings.TrimPrefix(err.Error(), leadkit.ErrInvalid.Error()+": "))
			}
			return f
		}}
	case Str:
		return Node{Kind: Str, Fails: true, S: func(c *Ctx) string {
			v, ok := lookup(c)
			if !ok {
				return ""
			}
			s, ok := v.(string)
			if !ok {
				c.Fail("%s: want string, got %T", name, v)
			}
			return CheckStr(c, name, s)
		}}
	case Bool:
		return Node{Kind: Bool, Fails: true, B: func(c *Ctx) bool {
			v, ok := lookup(c)
			if !ok {
				return false
			}
			b, ok := v.(bool)
			if !ok {
				c.Fail("%s: want bool, got %T", name, v)
			}
			return b
		}}
	case Time:
		return Node{Kind: Time, Fails: true, T: func(c *Ctx) time.Time {
			v, ok := lookup(c)
			if !ok {
				return time.Time{}
			}
			t, msg := toTime(v)
			if msg != "" {
				c.Fail("%s: %s", name, msg)
			}
			return t
		}}
	default:
		return Node{Kind: List, Fails: true, L: func(c *Ctx) []string {
			v, ok := lookup(c)
			if !ok {
				return nil
			}
			switch v := v.(type) {
			case []string:
				return CheckList(c, name, v)
			case []any:
				// Decoded JSON: copying allocates, so store []string where
				// speed matters.
				if lim := c.Caps.withDefaults().List; len(v) > lim {
					c.Fail("%s: list has %d items, the limit is %d", name, len(v), lim)
					return nil
				}
				out := make([]string, len(v))
				for i, x := range v {
					s, ok := x.(string)
					if !ok {
						c.Fail("%s: want strings, got %T element", name, x)
						return nil
					}
					out[i] = s
				}
				return CheckList(c, name, out)
			}
			c.Fail("%s: want strings, got %T", name, v)
			return nil
		}}
	}
}

// ToList converts a strings value ([]string, or []any holding strings; the
// latter is copied) within the caps, or says what is wrong with it.
func ToList(v any) ([]string, string) {
	var out []string
	switch l := v.(type) {
	case []string:
		out = l
	case []any:
		if len(l) > leadkit.MaxListItems {
			return nil, fmt.Sprintf("list has %d items, the limit is %d", len(l), leadkit.MaxListItems)
		}
		out = make([]string, len(l))
		for i, x := range l {
			s, ok := x.(string)
			if !ok {
				return nil, fmt.Sprintf("want strings, got %T element", x)
			}
			out[i] = s
		}
	default:
		return nil, fmt.Sprintf("want strings, got %T", v)
	}
	if len(out) > leadkit.MaxListItems {
		return nil, fmt.Sprintf("list has %d items, the limit is %d", len(out), leadkit.MaxListItems)
	}
	for i, s := range out {
		if len(s) > leadkit.MaxStringBytes {
			return nil, fmt.Sprintf("item %d is %d bytes, the limit is %d", i+1, len(s), leadkit.MaxStringBytes)
		}
	}
	return out, ""
}

// ToTime converts a time value (time.Time or RFC 3339 text) to UTC, or
// says what is wrong with it.
func ToTime(v any) (time.Time, string) { return toTime(v) }

// ToNum converts a value to a number by leadkit's one rule
// ([leadkit.Number]), returning what is wrong with it otherwise.
func ToNum(v any) (float64, string) {
	f, err := leadkit.Number(v)
	if err != nil {
		return 0, strings.TrimPrefix(err.Error(), leadkit.ErrInvalid.Error()+": ")
	}
	return f, ""
}

// ToStr converts a value to a string of at most leadkit.MaxStringBytes.
func ToStr(v any) (string, string) {
	s, ok := v.(string)
	if !ok {
		return "", fmt.Sprintf("want string, got %T", v)
	}
	if len(s) > leadkit.MaxStringBytes {
		return "", fmt.Sprintf("value is %d bytes, the limit is %d", len(s), leadkit.MaxStringBytes)
	}
	return s, ""
}

// ToBool converts a value to a bool: only a bool is one.
func ToBool(v any) (bool, string) {
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Sprintf("want bool, got %T", v)
	}
	return b, ""
}

// Convert converts a dynamically typed value to kind k by the rule of
// [ValueNode] (ToNum, ToStr, ToBool, ToTime, ToList), returning the
// converted value or what is wrong with it.
func Convert(v any, k Kind) (any, string) {
	switch k {
	case Num:
		f, msg := ToNum(v)
		if msg != "" {
			return nil, msg
		}
		return f, ""
	case Str:
		s, msg := ToStr(v)
		if msg != "" {
			return nil, msg
		}
		return s, ""
	case Bool:
		b, msg := ToBool(v)
		if msg != "" {
			return nil, msg
		}
		return b, ""
	case Time:
		t, msg := toTime(v)
		if msg != "" {
			return nil, msg
		}
		return t, ""
	case List:
		out, msg := ToList(v)
		if msg != "" {
			return nil, msg
		}
		return out, ""
	}
	return nil, "unknown type"
}

func toTime(v any) (time.Time, string) {
	switch v := v.(type) {
	case time.Time:
		if !v.IsZero() && !leadkit.ValidTime(v) {
			return time.Time{}, fmt.Sprintf("time %s is outside %s", v.UTC().Format(time.RFC3339), leadkit.TimeRange)
		}
		return v.UTC(), ""
	case string:
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return time.Time{}, fmt.Sprintf("want an RFC 3339 time, got %q", text.Clip(v, 64))
		}
		if !leadkit.ValidTime(t) {
			return time.Time{}, fmt.Sprintf("time %s is outside %s", t.UTC().Format(time.RFC3339), leadkit.TimeRange)
		}
		return t.UTC(), ""
	}
	return time.Time{}, fmt.Sprintf("want time, got %T", v)
}

// daysSince is the number of days from t to asOf (negative when t is
// later), 0 when t is the zero time (a missing value). It never reads the
// wall clock.
func daysSince(t, asOf time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return asOf.Sub(t).Hours() / 24
}

// DaysSince is daysSince for the packages that need the same arithmetic.
func DaysSince(t, asOf time.Time) float64 { return daysSince(t, asOf) }
