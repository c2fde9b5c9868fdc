package beam

import (
	"bytes"
	"encoding"
	"encoding/gob"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/leadkit/leadkit"
)

// Inputs, and the dead letters that carry them, travel in a total form:
// every value a Go program can put in them crosses a stage boundary
// without failing the pipeline in a coder, and what validation says of
// it does not change on the way.
//
// A value travels as its JSON when JSON gives it back as the library
// reads it (jsonFaithful). Otherwise it travels in encoding/gob, as a
// copy (carry) in which every value inside an interface (an attribute,
// a custom field) has a shape validation knows: a time, a NaN or
// infinite number, text that is not UTF-8, a number too large for a
// float64 or past 2^53, all of which JSON cannot write or would change,
// are kept as they are (a time at a zone offset time.Time's binary form
// cannot hold becomes the same instant in UTC, there and in the typed
// fields); a
// value of a type validation refuses (a []byte, a map[string]int, a
// struct, a json.RawMessage...) becomes an Unsupported naming its type;
// what lies deeper than validation allows is cut; and a structure that
// shares or loops back on itself is walked only as far as validation's
// size cap. So an input validation refuses still reaches its dead
// letter, and one it accepts is not refused. The size walked is counted
// per event, person and company, as validation counts it; an attribute
// past the cap travels as an Unsupported. The first byte says which
// form (0: JSON, 1: gob).
func encodeTotal(v any) ([]byte, error) {
	rv := reflect.ValueOf(v)
	if jsonFaithful(rv) {
		if b, err := json.Marshal(v); err == nil {
			return append([]byte{0}, b...), nil
		}
	}
	var buf bytes.Buffer
	buf.WriteByte(1)
	w := walker{left: capBytes}
	if err := gob.NewEncoder(&buf).EncodeValue(w.carry(rv, 0)); err != nil {
		return nil, fmt.Errorf("leadkit beam: encode %T: %w", v, err)
	}
	return buf.Bytes(), nil
}

func decodeTotal(b []byte, v any) error {
	if len(b) == 0 {
		return fmt.Errorf("leadkit beam: decode %T: no bytes", v)
	}
	switch b[0] {
	case 0:
		return json.Unmarshal(b[1:], v)
	case 1:
		return gob.NewDecoder(bytes.NewReader(b[1:])).Decode(v)
	}
	return fmt.Errorf("leadkit beam: decode %T: unknown form %d", v, b[0])
}

// Unsupported stands, in an input that crossed a stage boundary, for a
// value the coders do not carry: a value of a type validation refuses
// inside an attribute or a custom field (a []byte, a map[string]int, a
// struct, a json.RawMessage...), or one past the size validation allows.
// Type is the value's Go type. Validation refuses an input holding one,
// as it refused the value, so the input reaches its dead letter; the
// reason then names beam.Unsupported (Type names what the program put
// there).
type Unsupported struct {
	Type string `json:"unsupported"`
}

// capBytes is validation's size cap for the values inside an event's
// attributes, and inside a person's or a company's custom fields
// (leadkit.MaxEventBytes each): the walks below count what they see
// against it, never more than validation counts, and stop past it (an
// input over it is refused anyway), so that a structure that shares
// itself (a list of a thousand references to a list of a thousand) is
// not walked a billion times.
const capBytes = leadkit.MaxEventBytes

// walker counts the bytes walked in the current scope of validation's
// size cap (an event, a person, a company).
type walker struct{ left int }

// scoped are the types whose values validation caps in size: a walk
// counts each one's values afresh.
var scoped = map[reflect.Type]bool{
	reflect.TypeFor[leadkit.Event]():   true,
	reflect.TypeFor[leadkit.Person]():  true,
	reflect.TypeFor[leadkit.Company](): true,
}

// spend counts a value of n bytes (at most what validation counts for
// it); false past the cap.
func (w *walker) spend(n int) bool {
	w.left -= n
	return w.left >= 0
}

// maxTypedDepth cuts a typed structure that nests deeper (none of the
// library's inputs does).
const maxTypedDepth = 64

var (
	timeType        = reflect.TypeFor[time.Time]()
	numberType      = reflect.TypeFor[json.Number]()
	jsonMarshaler   = reflect.TypeFor[json.Marshaler]()
	textMarshaler   = reflect.TypeFor[encoding.TextMarshaler]()
	gobEncoder      = reflect.TypeFor[gob.GobEncoder]()
	binaryMarshaler = reflect.TypeFor[encoding.BinaryMarshaler]()
)

// jsonFaithful reports whether JSON gives v back as the library reads it:
// every string (and map key) valid UTF-8, every time's zone offset whole
// minutes, no type with its own JSON or text form but time.Time, and
// inside interfaces only the shapes validation knows (anyFaithful).
// Fields JSON leaves out (unexported, "-") are not looked at.
func jsonFaithful(v reflect.Value) bool {
	w := walker{left: capBytes}
	return w.typedFaithful(v, 0)
}

func (w *walker) typedFaithful(v reflect.Value, depth int) bool {
	if depth > maxTypedDepth {
		return false
	}
	t := v.Type()
	if scoped[t] {
		defer func(left int) { w.left = left }(w.left)
		w.left = capBytes
	}
	if t == timeType {
		_, off := v.Interface().(time.Time).Zone()
		return off%60 == 0
	}
	if t.PkgPath() != "" && (t.Implements(jsonMarshaler) || t.Implements(textMarshaler) || reflect.PointerTo(t).Implements(jsonMarshaler) || reflect.PointerTo(t).Implements(textMarshaler)) {
		return false // a defined type with a form of its own
	}
	switch v.Kind() {
	case reflect.String:
		return utf8.ValidString(v.String())
	case reflect.Interface:
		if v.IsNil() {
			return true
		}
		return w.anyFaithful(v.Elem().Interface(), 1)
	case reflect.Pointer:
		return v.IsNil() || w.typedFaithful(v.Elem(), depth+1)
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return true // bytes: base64
		}
		for i := range v.Len() {
			if !w.typedFaithful(v.Index(i), depth+1) {
				return false
			}
		}
		return true
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			if !w.typedFaithful(it.Key(), depth+1) || !w.typedFaithful(it.Value(), depth+1) {
				return false
			}
		}
		return true
	case reflect.Struct:
		for i := range t.NumField() {
			if f := t.Field(i); f.IsExported() && f.Tag.Get("json") != "-" && !w.typedFaithful(v.Field(i), depth+1) {
				return false
			}
		}
		return true
	case reflect.Chan, reflect.Func, reflect.UnsafePointer, reflect.Complex64, reflect.Complex128:
		return false
	}
	return true
}

// anyFaithful reports whether JSON gives back x, a value inside an
// interface at validation's nesting depth d, as the library reads it:
// only the shapes validation knows but times (nil, bools, strings,
// numbers of Go's own types, json.Number, []string, []any,
// map[string]any; a value of another type, which JSON would turn into
// one of these, and a time, which JSON would turn into text, are for
// gob to carry as validation sees them), with valid UTF-8, finite
// numbers, integers within ±2^53 (JSON reads them back as float64), at
// most leadkit.MaxAttrDepth deep and within the size cap.
func (w *walker) anyFaithful(x any, d int) bool {
	if d > leadkit.MaxAttrDepth || !w.spend(cost(x)) {
		return false
	}
	switch x := x.(type) {
	case nil, bool:
		return true
	case string:
		return utf8.ValidString(x)
	case float64:
		return !math.IsNaN(x) && !math.IsInf(x, 0)
	case float32:
		return !math.IsNaN(float64(x)) && !math.IsInf(float64(x), 0)
	case int, int8, int16, int32, int64:
		n := reflect.ValueOf(x).Int()
		return n <= 1<<53 && n >= -(1<<53)
	case uint, uint8, uint16, uint32, uint64:
		return reflect.ValueOf(x).Uint() <= 1<<53
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		return err == nil && !math.IsInf(f, 0) && json.Valid([]byte(x))
	case []string:
		for _, s := range x {
			if !utf8.ValidString(s) || !w.spend(len(s)+2) {
				return false
			}
		}
		return true
	case []any:
		for _, y := range x {
			if !w.anyFaithful(y, d+1) {
				return false
			}
		}
		return true
	case map[string]any:
		for k, y := range x {
			if !utf8.ValidString(k) || !w.spend(len(k)+2) || !w.anyFaithful(y, d+1) {
				return false
			}
		}
		return true
	}
	return false
}

// cost is at most what validation counts of x toward its size cap
// (leadkit.MaxEventBytes): a string's length and its quotes, 8 for any
// other value, a list's or a map's own 8 (their items count apart).
func cost(x any) int {
	if s, ok := x.(string); ok {
		return len(s) + 2
	}
	return 8
}

// carry returns a copy of v for gob: the same but for the values inside
// interfaces, which carryAny makes gob-safe, and for times no binary form
// holds (carryTime). Parts without either inside are shared, not copied.
func (w *walker) carry(v reflect.Value, depth int) reflect.Value {
	t := v.Type()
	if t == timeType {
		return reflect.ValueOf(carryTime(v.Interface().(time.Time)))
	}
	if !needsCarry(t) {
		return v
	}
	out := reflect.New(t).Elem()
	if depth > maxTypedDepth {
		return out
	}
	if scoped[t] {
		defer func(left int) { w.left = left }(w.left)
		w.left = capBytes
	}
	switch v.Kind() {
	case reflect.Interface:
		if v.IsNil() {
			return out
		}
		c := w.carryAny(v.Elem().Interface(), 1)
		if w.left < 0 {
			// Past the size cap (validation refuses the input): the
			// value's type alone, not the part walked.
			c = Unsupported{Type: fmt.Sprintf("%T past the size cap", v.Elem().Interface())}
		}
		if c != nil && reflect.TypeOf(c).AssignableTo(t) {
			out.Set(reflect.ValueOf(c))
		}
	case reflect.Pointer:
		if !v.IsNil() {
			p := reflect.New(t.Elem())
			p.Elem().Set(w.carry(v.Elem(), depth+1))
			out.Set(p)
		}
	case reflect.Slice:
		if !v.IsNil() {
			out.Set(reflect.MakeSlice(t, v.Len(), v.Len()))
			for i := range v.Len() {
				out.Index(i).Set(w.carry(v.Index(i), depth+1))
			}
		}
	case reflect.Array:
		for i := range v.Len() {
			out.Index(i).Set(w.carry(v.Index(i), depth+1))
		}
	case reflect.Map:
		if !v.IsNil() {
			out.Set(reflect.MakeMapWithSize(t, v.Len()))
			it := v.MapRange()
			for it.Next() {
				out.SetMapIndex(w.carry(it.Key(), depth+1), w.carry(it.Value(), depth+1))
			}
		}
	case reflect.Struct:
		for i := range t.NumField() {
			if t.Field(i).IsExported() {
				out.Field(i).Set(w.carry(v.Field(i), depth+1))
			}
		}
	}
	return out
}

// carryTime returns t, or, when time.Time's binary form (which gob uses)
// cannot hold its zone offset (one of -60 to -119 seconds, or past
// ±32767 minutes), the same instant in UTC: validation and the library
// read the instant.
func carryTime(t time.Time) time.Time {
	if _, err := t.MarshalBinary(); err != nil {
		return t.UTC()
	}
	return t
}

// needsCarry reports whether a value of t can hold an interface value or
// a time (types with their own gob or binary form but time.Time encode
// themselves).
func needsCarry(t reflect.Type) bool {
	if t == timeType {
		return true
	}
	if t.Implements(gobEncoder) || t.Implements(binaryMarshaler) {
		return false
	}
	switch t.Kind() {
	case reflect.Interface:
		return true
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return needsCarry(t.Elem())
	case reflect.Map:
		return needsCarry(t.Key()) || needsCarry(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if t.Field(i).IsExported() && needsCarry(t.Field(i).Type) {
				return true
			}
		}
	}
	return false
}

// carryAny returns x, a value inside an interface at validation's
// nesting depth d, as gob can carry it and validation sees it: the
// shapes validation knows as they are (lists and maps copied, a time
// through carryTime), another type an Unsupported, nil past validation's
// depth (which validation refuses as too deep, as it refused x), and an
// Unsupported past the size cap (which validation refuses, as x was
// over it).
func (w *walker) carryAny(x any, d int) any {
	if d > leadkit.MaxAttrDepth {
		return nil
	}
	if !w.spend(cost(x)) {
		return Unsupported{Type: fmt.Sprintf("%T", x)}
	}
	switch y := x.(type) {
	case nil, bool, string, float64, float32, int, int8, int16, int32, int64,
		uint, uint8, uint16, uint32, uint64, json.Number:
		return x
	case time.Time:
		return carryTime(y)
	case []string:
		for _, s := range y {
			if !w.spend(len(s) + 2) {
				return Unsupported{Type: "[]string past the size cap"}
			}
		}
		return x
	case []any:
		if y == nil {
			return y
		}
		out := make([]any, len(y))
		for i, z := range y {
			out[i] = w.carryAny(z, d+1)
		}
		return out
	case map[string]any:
		if y == nil {
			return y
		}
		out := make(map[string]any, len(y))
		for k, z := range y {
			if !w.spend(len(k) + 2) {
				out[k] = Unsupported{Type: "map[string]any past the size cap"}
				break
			}
			out[k] = w.carryAny(z, d+1)
		}
		return out
	}
	return Unsupported{Type: fmt.Sprintf("%T", x)}
}

func init() {
	// The values carryAny leaves inside an interface, for gob.
	for _, v := range []any{map[string]any{}, []any{}, float64(0), float32(0), int(0), int8(0), int16(0), int32(0), int64(0),
		uint(0), uint8(0), uint16(0), uint32(0), uint64(0), "", false, json.Number(""), time.Time{}, []string{}, Unsupported{}} {
		gob.Register(v)
	}
}
