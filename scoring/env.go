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
// the dimension values, the lead's age, and the first run-time error.
type ectx struct {
	lead    *leadkit.Lead
	ev      *leadkit.Event
	dims    []float64
	ageDays float64
	err     error
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
// "title" is person.title. Scope "" is a top-level name (dimensions).
type field struct {
	scope, name string
	get         cnode
}

// schema is the set of variables of one expression environment. envType is
// the struct type expr type-checks against (built with reflect.StructOf, so
// unknown fields fail at compile time); fill populates a value of it for
// the rare expression that runs on the expr VM.
type schema struct {
	fields  []field
	index   map[string]int // "scope.name" or "name" -> fields index
	envType reflect.Type
	scopes  []string
	// typeNames maps the printed struct types to scope names, to clean
	// expr's error messages.
	typeNames map[string]string
}

func newSchema(fields []field) *schema {
	s := &schema{fields: fields, index: map[string]int{}, typeNames: map[string]string{}}
	var top []reflect.StructField
	scopeFields := map[string][]reflect.StructField{}
	for i, f := range fields {
		key := f.name
		if f.scope != "" {
			key = f.scope + "." + f.name
			if _, ok := scopeFields[f.scope]; !ok {
				s.scopes = append(s.scopes, f.scope)
			}
			scopeFields[f.scope] = append(scopeFields[f.scope], reflect.StructField{
				Name: fmt.Sprintf("F%d", len(scopeFields[f.scope])),
				Type: f.get.k.goType(),
				Tag:  reflect.StructTag(fmt.Sprintf(`expr:%q`, f.name)),
			})
		} else {
			top = append(top, reflect.StructField{
				Name: fmt.Sprintf("F%d", len(top)),
				Type: f.get.k.goType(),
				Tag:  reflect.StructTag(fmt.Sprintf(`expr:%q`, f.name)),
			})
		}
		s.index[key] = i
	}
	for _, sc := range s.scopes {
		t := reflect.StructOf(scopeFields[sc])
		s.typeNames[t.String()] = sc
		top = append(top, reflect.StructField{
			Name: fmt.Sprintf("F%d", len(top)),
			Type: t,
			Tag:  reflect.StructTag(fmt.Sprintf(`expr:%q`, sc)),
		})
	}
	s.envType = reflect.StructOf(top)
	return s
}

// zero is a zero value of the environment, for type checking.
func (s *schema) zero() any { return reflect.New(s.envType).Elem().Interface() }

// fill builds the environment value for c (allocates: used only by the
// expr VM fallback).
func (s *schema) fill(c *ectx) any {
	v := reflect.New(s.envType).Elem()
	top, scoped := 0, map[string]int{}
	scopeIdx := map[string]int{}
	nTop := 0
	for _, f := range s.fields {
		if f.scope == "" {
			nTop++
		}
	}
	for i, sc := range s.scopes {
		scopeIdx[sc] = nTop + i
	}
	for _, f := range s.fields {
		var dst reflect.Value
		if f.scope == "" {
			dst = v.Field(top)
			top++
		} else {
			j := scoped[f.scope]
			scoped[f.scope] = j + 1
			dst = v.Field(scopeIdx[f.scope]).Field(j)
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

func strField(f func(*leadkit.Lead) string) cnode {
	return cnode{k: kStr, s: func(c *ectx) string { return f(c.lead) }}
}

func strsField(f func(*leadkit.Lead) []string) cnode {
	return cnode{k: kStrs, ss: func(c *ectx) []string { return f(c.lead) }}
}

// profileFields are the built-in fields of fit rules.
func profileFields() []field {
	return []field{
		{"person", "email", strField(func(l *leadkit.Lead) string { return l.Person.Email })},
		{"person", "first_name", strField(func(l *leadkit.Lead) string { return l.Person.FirstName })},
		{"person", "last_name", strField(func(l *leadkit.Lead) string { return l.Person.LastName })},
		{"person", "title", strField(func(l *leadkit.Lead) string { return l.Person.Title })},
		{"person", "seniority", strField(func(l *leadkit.Lead) string { return l.Person.Seniority })},
		{"person", "department", strField(func(l *leadkit.Lead) string { return l.Person.Department })},
		{"person", "country", strField(func(l *leadkit.Lead) string { return l.Person.Country })},
		{"person", "region", strField(func(l *leadkit.Lead) string { return l.Person.Region })},
		{"person", "city", strField(func(l *leadkit.Lead) string { return l.Person.City })},
		{"person", "age_band", strField(func(l *leadkit.Lead) string { return l.Person.AgeBand })},
		{"person", "interests", strsField(func(l *leadkit.Lead) []string { return l.Person.Interests })},
		{"company", "name", strField(func(l *leadkit.Lead) string { return l.Company.Name })},
		{"company", "domain", strField(func(l *leadkit.Lead) string { return l.Company.Domain })},
		{"company", "industry", strField(func(l *leadkit.Lead) string { return l.Company.Industry })},
		{"company", "country", strField(func(l *leadkit.Lead) string { return l.Company.Country })},
		{"company", "employees", cnode{k: kInt, i: func(c *ectx) int { return c.lead.Company.Employees }}},
		{"company", "revenue", cnode{k: kNum, n: func(c *ectx) float64 { return c.lead.Company.Revenue }}},
		{"company", "tech_stack", strsField(func(l *leadkit.Lead) []string { return l.Company.TechStack })},
		{"lead", "id", strField(func(l *leadkit.Lead) string { return l.ID })},
		{"lead", "account_id", strField(func(l *leadkit.Lead) string { return l.AccountID })},
		{"lead", "source", strField(func(l *leadkit.Lead) string { return l.Source })},
		{"lead", "age_days", cnode{k: kNum, n: func(c *ectx) float64 { return c.ageDays }}},
	}
}

// eventFields are the built-in fields of behavior rule predicates.
func eventFields() []field {
	ev := func(f func(*leadkit.Event) string) cnode {
		return cnode{k: kStr, s: func(c *ectx) string { return f(c.ev) }}
	}
	return []field{
		{"event", "id", ev(func(e *leadkit.Event) string { return e.ID })},
		{"event", "type", ev(func(e *leadkit.Event) string { return e.Type })},
		{"event", "channel", ev(func(e *leadkit.Event) string { return e.Channel })},
		{"event", "campaign", ev(func(e *leadkit.Event) string { return e.Campaign })},
		{"event", "content", ev(func(e *leadkit.Event) string { return e.Content })},
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
		return cnode{k: kNum, n: func(c *ectx) float64 {
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
		return cnode{k: kStr, s: func(c *ectx) string {
			v, ok := lookup(c)
			if !ok {
				return ""
			}
			s, ok := v.(string)
			if !ok {
				c.fail("%s: want string, got %T", name, v)
			}
			return s
		}}
	case kBool:
		return cnode{k: kBool, b: func(c *ectx) bool {
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
	default:
		return cnode{k: kStrs, ss: func(c *ectx) []string {
			v, ok := lookup(c)
			if !ok {
				return nil
			}
			switch v := v.(type) {
			case []string:
				return v
			case []any:
				// Decoded JSON: copying allocates, so store []string where
				// speed matters.
				out := make([]string, len(v))
				for i, x := range v {
					s, ok := x.(string)
					if !ok {
						c.fail("%s: want strings, got %T element", name, x)
						return nil
					}
					out[i] = s
				}
				return out
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
