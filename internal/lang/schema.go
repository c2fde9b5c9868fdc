package lang

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
)

// Schema is the set of names one kind of expression may read. The expr
// type checker sees it as a struct type built with reflect.StructOf, so an
// unknown name fails at compile time; the closure compiler reads the fields'
// getters directly.
type Schema struct {
	fields  []Field
	index   map[string]int // "scope.name" or "name" -> fields index
	loc     [][2]int       // per field: top-level struct field, field in the scope struct (-1: none)
	envType reflect.Type
	scopes  []string
	// typeNames maps the printed struct types to scope names, to clean
	// expr's error messages.
	typeNames map[string]string
	opts      SchemaOptions
}

// SchemaOptions describe an expression context for error hints.
type SchemaOptions struct {
	// Declare tells how a new field is declared in this context, with the
	// placeholders {name} (the full name, e.g. event.topic), {key} (topic)
	// and {type}, e.g. `declare it in the funnel's fields: {"name":
	// "{name}", "type": "{type}"}`. Empty: fields cannot be declared.
	Declare string
	// DeclareScopes lists the scopes where fields can be declared.
	DeclareScopes []string
	// DeclareBare tells how a new bare name (a stage fact) is declared, with
	// the placeholder {key}; used when an unknown bare name is no near miss.
	DeclareBare string
	// NoAsOf marks a context without an as-of time: daysSince and the
	// age_days fields are refused, with NoAsOfHint as the reason.
	NoAsOf     bool
	NoAsOfHint string
}

// NewSchema returns the schema of fields. A daysSince as-of variable is
// added unless o.NoAsOf.
func NewSchema(fields []Field, o SchemaOptions) *Schema {
	if !o.NoAsOf {
		fields = append(fields[:len(fields):len(fields)], asOfField())
	}
	s := &Schema{fields: fields, index: map[string]int{}, typeNames: map[string]string{}, loc: make([][2]int, len(fields)), opts: o}
	var top []reflect.StructField
	scopeFields := map[string][]reflect.StructField{}
	scopeOf := make([]int, len(fields)) // index in the scope struct
	for i, f := range fields {
		sf := reflect.StructField{Type: f.Get.Kind.goType(), Tag: reflect.StructTag(fmt.Sprintf(`expr:%q`, f.Name))}
		if f.Scope != "" {
			if _, ok := scopeFields[f.Scope]; !ok {
				s.scopes = append(s.scopes, f.Scope)
			}
			scopeOf[i] = len(scopeFields[f.Scope])
			sf.Name = fmt.Sprintf("F%d", scopeOf[i])
			scopeFields[f.Scope] = append(scopeFields[f.Scope], sf)
		} else {
			sf.Name = fmt.Sprintf("F%d", len(top))
			s.loc[i] = [2]int{len(top), -1}
			top = append(top, sf)
		}
		s.index[f.Path()] = i
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
		if f.Scope != "" {
			s.loc[i] = [2]int{scopeTop[f.Scope], scopeOf[i]}
		}
	}
	s.envType = reflect.StructOf(top)
	return s
}

// Fields returns the schema's fields (not to be modified).
func (s *Schema) Fields() []Field { return s.fields }

// Lookup returns the field with the given path ("event.channel", "score").
func (s *Schema) Lookup(path string) (Field, bool) {
	i, ok := s.index[path]
	if !ok {
		return Field{}, false
	}
	return s.fields[i], true
}

// zero is a zero value of the environment, for type checking.
func (s *Schema) zero() any { return reflect.New(s.envType).Elem().Interface() }

// fill builds the environment value for c with the fields in used (the
// ones the expression reads; the others keep their zero values, so a bad
// value in a field the expression does not read cannot fail it). It
// allocates: it serves only the expr VM fallback.
func (s *Schema) fill(c *Ctx, used []int) any {
	v := reflect.New(s.envType).Elem()
	for _, i := range used {
		f := &s.fields[i]
		dst := v.Field(s.loc[i][0])
		if s.loc[i][1] >= 0 {
			dst = dst.Field(s.loc[i][1])
		}
		switch f.Get.Kind {
		case Bool:
			dst.SetBool(f.Get.B(c))
		case Int:
			dst.SetInt(int64(f.Get.I(c)))
		case Num:
			dst.SetFloat(f.Get.N(c))
		case Str:
			dst.SetString(f.Get.S(c))
		case List:
			dst.Set(reflect.ValueOf(f.Get.L(c)))
		case Time:
			dst.Set(reflect.ValueOf(f.Get.T(c)))
		}
		if c.Err != nil {
			break
		}
	}
	return v.Interface()
}

func (s *Schema) cleanMessage(msg string) string {
	for t, name := range s.typeNames {
		msg = strings.ReplaceAll(msg, t, name)
	}
	return msg
}

// legacy maps names of the old journey dialect (and capitalised forms
// users carry over from Go structs) to the one dialect.
var legacy = map[string]string{
	"ID":       "event.id",
	"LeadID":   "lead.id",
	"Type":     "event.type",
	"Channel":  "event.channel",
	"Campaign": "event.campaign",
	"Content":  "event.content",
	"Time":     "event.time",
	"Attrs":    "event.<attribute>",
	"Person":   "person",
	"Company":  "company",
	"Lead":     "lead",
	"Event":    "event",
}

// dialectScopes are the scopes of the one dialect, in some context or
// other.
var dialectScopes = []string{"event", "person", "company", "lead"}

// reads describes what an expression of this schema can read, for hints
// about names that belong to another context.
func (s *Schema) reads() string {
	var scopes []string
	for _, sc := range s.scopes {
		scopes = append(scopes, sc+".*")
	}
	if len(scopes) == 0 {
		return "it reads its declared facts by bare name"
	}
	sort.Strings(scopes)
	return "it reads " + strings.Join(scopes, ", ")
}

// hintName explains an unknown bare name: an old-style name names its
// replacement (and says so when the replacement belongs to another
// context), a near miss names the field meant. attr is the member read
// after the name (Attrs.pages), if any.
func (s *Schema) hintName(name, attr string) string {
	if to, ok := legacy[name]; ok {
		if to == "event.<attribute>" {
			if attr == "" {
				attr = "<name>"
			}
			to = "event." + attr
			if s.hasScope("event") {
				return fmt.Sprintf("event attributes are read as %s after declaring them", to) + s.declareHint("event", attr, "string")
			}
		}
		if _, ok := s.index[to]; ok || s.hasScope(to) {
			return fmt.Sprintf("the name is now %s", to)
		}
		return fmt.Sprintf("the name is now %s, which this expression cannot read: %s", to, s.reads())
	}
	if contains(dialectScopes, name) && !s.hasScope(name) {
		return fmt.Sprintf("%s.* is not available here: %s", name, s.reads())
	}
	// A near miss of a bare name, of a full path, or of a field name
	// written without its scope (chanel -> event.channel).
	var keys, paths []string
	for _, f := range s.fields {
		if f.Name == asOfName {
			continue
		}
		keys = append(keys, f.Path())
		paths = append(paths, f.Path())
		if f.Scope != "" {
			keys = append(keys, f.Name)
			paths = append(paths, f.Path())
		}
	}
	if best := nearest(name, keys, paths); best != "" {
		return fmt.Sprintf("did you mean %s?", best)
	}
	if s.hasScope(strings.ToLower(name)) {
		return fmt.Sprintf("did you mean %s?", strings.ToLower(name))
	}
	if best := nearest(name, s.scopes, s.scopes); best != "" {
		return fmt.Sprintf("did you mean %s?", best) // compnay.name
	}
	if s.opts.DeclareBare != "" {
		return strings.ReplaceAll(s.opts.DeclareBare, "{key}", name)
	}
	return ""
}

// hintMember explains an unknown field of a known scope.
func (s *Schema) hintMember(scope, name string) string {
	var keys, inScope []string
	for _, f := range s.fields {
		if f.Scope == scope {
			keys = append(keys, f.Name)
			inScope = append(inScope, f.Path())
		}
	}
	if best := nearest(name, keys, inScope); best != "" {
		return fmt.Sprintf("did you mean %s?", best)
	}
	if h := s.declareHint(scope, name, "string"); h != "" {
		return "undeclared field" + h
	}
	sort.Strings(inScope)
	return fmt.Sprintf("%s has %s", scope, strings.Join(inScope, ", "))
}

func (s *Schema) declareHint(scope, key, typ string) string {
	if s.opts.Declare == "" || !contains(s.opts.DeclareScopes, scope) {
		return ""
	}
	r := strings.NewReplacer("{name}", scope+"."+key, "{key}", key, "{type}", typ)
	return ": " + r.Replace(s.opts.Declare)
}

func (s *Schema) hasScope(name string) bool {
	for _, sc := range s.scopes {
		if sc == name {
			return true
		}
	}
	return false
}

// nearest returns the display form of the key equal to name ignoring case
// and underscores, or else of the nearest key within edit distance 2 (1 for
// names of up to 5 letters), or "".
func nearest(name string, keys, display []string) string {
	norm := func(x string) string { return strings.ToLower(strings.ReplaceAll(x, "_", "")) }
	n := norm(name)
	best, bestD := "", 3
	if len(n) <= 5 {
		bestD = 2 // title is not time
	}
	for i, k := range keys {
		if norm(k) == n {
			return display[i]
		}
		if d := editDistance(n, norm(k), bestD); d < bestD {
			best, bestD = display[i], d
		}
	}
	return best
}

// editDistance is the edit distance of a and b counting a swap of two
// adjacent letters as one edit (scroe -> score), or limit when it is at
// least limit.
func editDistance(a, b string, limit int) int {
	if d := len(a) - len(b); d >= limit || -d >= limit {
		return limit
	}
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return min(prev[len(b)], limit)
}

// Nearest returns the name among names that name was probably meant to
// be (equal ignoring case and underscores, or within a small edit
// distance), or "": the one "did you mean" rule for every name a user
// writes, in expressions and outside them.
func Nearest(name string, names []string) string { return nearest(name, names, names) }
