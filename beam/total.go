package beam

import (
	"bytes"
	"cmp"
	"encoding"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/binenc"
	"github.com/leadkit/leadkit/internal/text"
)

// Inputs, and the dead letters that carry them, travel in a total form:
// every value a Go program can put in them crosses a stage boundary
// without failing the pipeline in a coder, and what validation says of
// it does not change on the way.
//
// A value travels as its JSON when JSON gives it back as the library
// reads it (jsonFaithful). Otherwise it travels in a binary form (its
// type's plan, below): every exported field in order, strings as their
// bytes, numbers as their bits, times in time.Time's binary form (a time
// at a zone offset that form cannot hold becomes the same instant in
// UTC), maps with their entries in one fixed order (typed maps by their
// keys' forms, attribute maps by key), so the same value gives the same
// bytes, and what decodes encodes back to them (but for a time at an
// offset time.Time's binary form cannot hold: it decodes in UTC, the same
// instant, and a value left with nothing JSON would change then travels
// as JSON). A value inside an interface (an attribute, a custom
// field) travels as what validation sees of it: a time, a NaN or
// infinite number, text that is not UTF-8, a number too large for a
// float64 or past 2^53, all of which JSON cannot write or would change,
// are kept as they are; a value of a type validation refuses (a []byte,
// a map[string]int, a struct, a json.RawMessage...) becomes an
// Unsupported naming its type; what lies deeper than validation allows
// is cut; and a structure that shares or loops back on itself is walked
// only as far as validation's size cap. So an input validation refuses
// still reaches its dead letter, and one it accepts is not refused. The
// size walked is counted per event, person and company, as validation
// counts it; an attribute past the cap travels as an Unsupported. The
// first byte says which form (0: JSON, 1: binary).
//
// The walk's size cap bounds what sharing and cycles inside interfaces
// could make of a value; typed fields (IDs, names, lists of strings)
// travel whole, as JSON writes them: their size is the input's own.
//
// The binary form's decoder trusts no count: a list or map longer than
// the bytes left could hold is refused, room is made as items are read,
// and nesting is bounded, so crafted bytes give an error, never a crash,
// and allocate at most about 40 times their length.
func encodeTotal(v any) ([]byte, error) {
	rv := reflect.ValueOf(v)
	p := planOf(rv.Type())
	if p.faithful == nil || p.faithful(&walker{left: capBytes}, rv, 0) {
		if b, err := json.Marshal(v); err == nil {
			return append([]byte{formJSON}, b...), nil
		}
	}
	return p.enc(&walker{left: capBytes}, []byte{formBinary}, rv, 0), nil
}

// The total form's first byte.
const (
	formJSON   = 0
	formBinary = 1
)

func decodeTotal(b []byte, v any) error {
	if len(b) == 0 {
		return fmt.Errorf("leadkit beam: decode %T: no bytes", v)
	}
	switch b[0] {
	case formJSON:
		return json.Unmarshal(b[1:], v)
	case formBinary:
		rv := reflect.ValueOf(v).Elem()
		d := &binenc.Decoder{B: b[1:], Prefix: fmt.Sprintf("leadkit beam: decode %T: ", v)}
		planOf(rv.Type()).dec(d, rv, 0)
		return d.End()
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

// cost is at most what validation counts of x toward its size cap
// (leadkit.MaxEventBytes): a string's length and its quotes, 8 for any
// other value, a list's or a map's own 8 (their items count apart).
func cost(x any) int {
	switch y := x.(type) {
	case string:
		return len(y) + 2
	case json.Number:
		return max(len(y), 8) // as validation counts it
	case Unsupported:
		return len(y.Type) + 2 // validation refuses it: any count is safe
	}
	return 8
}

// maxTypedDepth cuts a typed structure that nests deeper through
// pointers, slices or maps (only a recursive type can; none of the
// library's inputs is one): deeper, they travel as nil.
const maxTypedDepth = 64

var (
	timeType          = reflect.TypeFor[time.Time]()
	byteType          = reflect.TypeFor[byte]()
	jsonMarshaler     = reflect.TypeFor[json.Marshaler]()
	textMarshaler     = reflect.TypeFor[encoding.TextMarshaler]()
	binaryMarshaler   = reflect.TypeFor[encoding.BinaryMarshaler]()
	binaryUnmarshaler = reflect.TypeFor[encoding.BinaryUnmarshaler]()
)

// plan is what the total form does with values of one type, worked out
// once per type (planOf): the reflection on types (fields, methods,
// kinds) is not done again per value.
type plan struct {
	// faithful reports whether JSON gives the value back as the library
	// reads it; nil when it always does (no strings, times or
	// interfaces inside).
	faithful func(w *walker, v reflect.Value, depth int) bool
	// enc appends the value's binary form; dec reads it into v (settable,
	// zero).
	enc func(w *walker, b []byte, v reflect.Value, depth int) []byte
	dec func(d *binenc.Decoder, v reflect.Value, depth int)
	// min is the fewest bytes enc writes (at least 1), so a decoder can
	// refuse a count the bytes left cannot hold.
	min int
	// built is set once the fields above are (a recursive type meets its
	// own plan while it is being built).
	built bool
}

var (
	plans  sync.Map // reflect.Type → *plan
	planMu sync.Mutex
)

// planOf returns t's plan.
func planOf(t reflect.Type) *plan {
	if p, ok := plans.Load(t); ok {
		return p.(*plan)
	}
	planMu.Lock()
	defer planMu.Unlock()
	building := map[reflect.Type]*plan{}
	p := build(t, building)
	for t, q := range building {
		plans.Store(t, q)
	}
	return p
}

// build makes t's plan, and the plans of the types inside it, into
// building.
func build(t reflect.Type, building map[reflect.Type]*plan) *plan {
	if p, ok := plans.Load(t); ok {
		return p.(*plan)
	}
	if p, ok := building[t]; ok {
		return p
	}
	p := &plan{}
	building[t] = p
	p.faithful = buildFaithful(t, building)
	buildBinary(p, t, building)
	if p.min < 1 {
		// A type whose form can be empty (struct{}, [0]T) writes a zero
		// byte, so every item of a list takes at least one.
		enc, dec := p.enc, p.dec
		p.enc = func(w *walker, b []byte, v reflect.Value, depth int) []byte {
			return append(enc(w, b, v, depth), 0)
		}
		p.dec = func(d *binenc.Decoder, v reflect.Value, depth int) {
			dec(d, v, depth)
			if d.Byte("empty value") != 0 {
				d.Fail("empty value: not a zero byte")
			}
		}
		p.min = 1
	}
	if scoped[t] {
		faithful, enc := p.faithful, p.enc
		if faithful != nil {
			p.faithful = func(w *walker, v reflect.Value, depth int) bool {
				left := w.left
				w.left = capBytes
				ok := faithful(w, v, depth)
				w.left = left
				return ok
			}
		}
		p.enc = func(w *walker, b []byte, v reflect.Value, depth int) []byte {
			left := w.left
			w.left = capBytes
			b = enc(w, b, v, depth)
			w.left = left
			return b
		}
	}
	p.built = true
	return p
}

// faithfulOf returns a call of q.faithful, or nil when q is built and
// always faithful.
func faithfulOf(q *plan) func(w *walker, v reflect.Value, depth int) bool {
	if q.built {
		return q.faithful
	}
	return func(w *walker, v reflect.Value, depth int) bool {
		f := q.faithful
		return f == nil || f(w, v, depth)
	}
}

// buildFaithful returns the check that JSON gives a value of t back as
// the library reads it (nil: always): every string (and map key) valid
// UTF-8, every time's zone offset whole minutes, no type with its own
// JSON or text form but time.Time, and inside interfaces only the shapes
// validation knows (anyFaithful). Fields JSON leaves out (unexported,
// "-") are not looked at.
func buildFaithful(t reflect.Type, building map[reflect.Type]*plan) func(w *walker, v reflect.Value, depth int) bool {
	never := func(*walker, reflect.Value, int) bool { return false }
	if t == timeType {
		return func(_ *walker, v reflect.Value, _ int) bool {
			_, off := v.Interface().(time.Time).Zone()
			return off%60 == 0
		}
	}
	if t.PkgPath() != "" && (t.Implements(jsonMarshaler) || t.Implements(textMarshaler) || reflect.PointerTo(t).Implements(jsonMarshaler) || reflect.PointerTo(t).Implements(textMarshaler)) {
		return never // a defined type with a form of its own
	}
	switch t.Kind() {
	case reflect.String:
		return func(_ *walker, v reflect.Value, _ int) bool { return utf8.ValidString(v.String()) }
	case reflect.Interface:
		return func(w *walker, v reflect.Value, _ int) bool {
			return v.IsNil() || w.anyFaithful(v.Elem().Interface(), 1)
		}
	case reflect.Pointer:
		elem := faithfulOf(build(t.Elem(), building))
		if elem == nil {
			return nil
		}
		return func(w *walker, v reflect.Value, depth int) bool {
			return depth <= maxTypedDepth && (v.IsNil() || elem(w, v.Elem(), depth+1))
		}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return nil // bytes: base64
		}
		elem := faithfulOf(build(t.Elem(), building))
		if elem == nil {
			return nil
		}
		return func(w *walker, v reflect.Value, depth int) bool {
			if depth > maxTypedDepth {
				return false
			}
			for i := range v.Len() {
				if !elem(w, v.Index(i), depth+1) {
					return false
				}
			}
			return true
		}
	case reflect.Map:
		key, elem := faithfulOf(build(t.Key(), building)), faithfulOf(build(t.Elem(), building))
		if key == nil && elem == nil {
			return nil
		}
		return func(w *walker, v reflect.Value, depth int) bool {
			if depth > maxTypedDepth {
				return false
			}
			it := v.MapRange()
			for it.Next() {
				if key != nil && !key(w, it.Key(), depth+1) || elem != nil && !elem(w, it.Value(), depth+1) {
					return false
				}
			}
			return true
		}
	case reflect.Struct:
		type field struct {
			i     int
			check func(w *walker, v reflect.Value, depth int) bool
		}
		var fields []field
		for i := range t.NumField() {
			if f := t.Field(i); f.IsExported() && f.Tag.Get("json") != "-" {
				if check := faithfulOf(build(f.Type, building)); check != nil {
					fields = append(fields, field{i, check})
				}
			}
		}
		if len(fields) == 0 {
			return nil
		}
		return func(w *walker, v reflect.Value, depth int) bool {
			for _, f := range fields {
				if !f.check(w, v.Field(f.i), depth+1) {
					return false
				}
			}
			return true
		}
	case reflect.Chan, reflect.Func, reflect.UnsafePointer, reflect.Complex64, reflect.Complex128:
		return never
	}
	return nil
}

// jsonFaithful reports whether JSON gives v back as the library reads it
// (see buildFaithful).
func jsonFaithful(v reflect.Value) bool {
	f := planOf(v.Type()).faithful
	return f == nil || f(&walker{left: capBytes}, v, 0)
}

// anyFaithful reports whether JSON gives back x, a value inside an
// interface at validation's nesting depth d, as the library reads it:
// only the shapes validation knows but times (nil, bools, strings,
// numbers of Go's own types, json.Number, []string, []any,
// map[string]any; a value of another type, which JSON would turn into
// one of these, and a time, which JSON would turn into text, are for
// the binary form to carry as validation sees them), with valid UTF-8,
// finite numbers, integers within ±2^53 (JSON reads them back as
// float64), at most leadkit.MaxAttrDepth deep and within the size cap.
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

// buildBinary sets p's binary form for values of t.
func buildBinary(p *plan, t reflect.Type, building map[reflect.Type]*plan) {
	p.min = 1
	switch {
	case t == timeType:
		p.enc = func(_ *walker, b []byte, v reflect.Value, _ int) []byte {
			return appendTime(b, v.Interface().(time.Time))
		}
		p.dec = func(d *binenc.Decoder, v reflect.Value, _ int) {
			v.Set(reflect.ValueOf(readTime(d)))
		}
		return
	case t.Implements(binaryMarshaler) && reflect.PointerTo(t).Implements(binaryUnmarshaler):
		// A type with a binary form of its own travels in it (a zero
		// byte when it fails to make one: the zero value).
		p.enc = func(_ *walker, b []byte, v reflect.Value, _ int) []byte {
			own, err := v.Interface().(encoding.BinaryMarshaler).MarshalBinary()
			if err != nil {
				return append(b, 0)
			}
			return binenc.AppendString(append(b, 1), string(own))
		}
		p.dec = func(d *binenc.Decoder, v reflect.Value, _ int) {
			switch d.Byte("value") {
			case 0:
			case 1:
				own := d.Bytes("value")
				if d.Err != nil {
					return
				}
				q := reflect.New(t)
				if err := q.Interface().(encoding.BinaryUnmarshaler).UnmarshalBinary(own); err != nil {
					d.Fail("%v: %v", t, err)
					return
				}
				v.Set(q.Elem())
			default:
				d.Fail("%v: unknown form", t)
			}
		}
		return
	}
	switch t.Kind() {
	case reflect.Bool:
		p.enc = func(_ *walker, b []byte, v reflect.Value, _ int) []byte {
			if v.Bool() {
				return append(b, 1)
			}
			return append(b, 0)
		}
		p.dec = func(d *binenc.Decoder, v reflect.Value, _ int) {
			switch d.Byte("bool") {
			case 0:
			case 1:
				v.SetBool(true)
			default:
				d.Fail("bool: not 0 or 1")
			}
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		p.enc = func(_ *walker, b []byte, v reflect.Value, _ int) []byte { return binary.AppendVarint(b, v.Int()) }
		p.dec = func(d *binenc.Decoder, v reflect.Value, _ int) {
			if n := d.Varint("integer"); v.OverflowInt(n) {
				d.Fail("integer: %d out of range of %v", n, t)
			} else {
				v.SetInt(n)
			}
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		p.enc = func(_ *walker, b []byte, v reflect.Value, _ int) []byte { return binary.AppendUvarint(b, v.Uint()) }
		p.dec = func(d *binenc.Decoder, v reflect.Value, _ int) {
			if n := d.Uvarint("integer"); v.OverflowUint(n) {
				d.Fail("integer: %d out of range of %v", n, t)
			} else {
				v.SetUint(n)
			}
		}
	case reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		p.min = int(t.Size())
		p.enc = func(_ *walker, b []byte, v reflect.Value, _ int) []byte {
			switch t.Kind() {
			case reflect.Float32:
				return binary.LittleEndian.AppendUint32(b, math.Float32bits(float32(v.Float())))
			case reflect.Float64:
				return binary.LittleEndian.AppendUint64(b, math.Float64bits(v.Float()))
			case reflect.Complex64:
				c := v.Complex()
				b = binary.LittleEndian.AppendUint32(b, math.Float32bits(float32(real(c))))
				return binary.LittleEndian.AppendUint32(b, math.Float32bits(float32(imag(c))))
			}
			c := v.Complex()
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(real(c)))
			return binary.LittleEndian.AppendUint64(b, math.Float64bits(imag(c)))
		}
		p.dec = func(d *binenc.Decoder, v reflect.Value, _ int) {
			raw := d.Fixed(int(t.Size()), "number")
			if raw == nil {
				return
			}
			switch t.Kind() {
			case reflect.Float32:
				v.SetFloat(float64(math.Float32frombits(binary.LittleEndian.Uint32(raw))))
			case reflect.Float64:
				v.SetFloat(math.Float64frombits(binary.LittleEndian.Uint64(raw)))
			case reflect.Complex64:
				v.SetComplex(complex(float64(math.Float32frombits(binary.LittleEndian.Uint32(raw))), float64(math.Float32frombits(binary.LittleEndian.Uint32(raw[4:])))))
			default:
				v.SetComplex(complex(math.Float64frombits(binary.LittleEndian.Uint64(raw)), math.Float64frombits(binary.LittleEndian.Uint64(raw[8:]))))
			}
		}
	case reflect.String:
		p.enc = func(_ *walker, b []byte, v reflect.Value, _ int) []byte { return binenc.AppendString(b, v.String()) }
		p.dec = func(d *binenc.Decoder, v reflect.Value, _ int) { v.SetString(string(d.Bytes("text"))) }
	case reflect.Interface:
		p.enc = func(w *walker, b []byte, v reflect.Value, _ int) []byte {
			if v.IsNil() {
				return append(b, tagNil)
			}
			x := v.Elem().Interface()
			at := len(b)
			b = w.appendAny(b, x, 1)
			if w.left < 0 {
				// Past the size cap (validation refuses the input): the
				// value's type alone, not the part walked.
				b = appendUnsupported(b[:at], fmt.Sprintf("%T past the size cap", x))
			}
			return b
		}
		p.dec = func(d *binenc.Decoder, v reflect.Value, _ int) {
			if x := readAny(d, 1); x != nil && reflect.TypeOf(x).AssignableTo(t) {
				v.Set(reflect.ValueOf(x))
			}
		}
	case reflect.Pointer:
		elem := build(t.Elem(), building)
		p.enc = func(w *walker, b []byte, v reflect.Value, depth int) []byte {
			if v.IsNil() || depth >= maxTypedDepth {
				return append(b, 0)
			}
			return elem.enc(w, append(b, 1), v.Elem(), depth+1)
		}
		p.dec = func(d *binenc.Decoder, v reflect.Value, depth int) {
			switch d.Byte("pointer") {
			case 0:
			case 1:
				if depth >= maxTypedDepth {
					d.Fail("pointer: nested too deep")
					return
				}
				q := reflect.New(t.Elem())
				elem.dec(d, q.Elem(), depth+1)
				v.Set(q)
			default:
				d.Fail("pointer: unknown form")
			}
		}
	case reflect.Slice:
		if t.Elem() == byteType {
			p.enc = func(_ *walker, b []byte, v reflect.Value, _ int) []byte {
				if v.IsNil() {
					return append(b, 0)
				}
				b = binary.AppendUvarint(b, uint64(v.Len())+1)
				return append(b, v.Bytes()...)
			}
			p.dec = func(d *binenc.Decoder, v reflect.Value, _ int) {
				if n, ok := length(d, 1, 0); ok {
					v.Set(reflect.ValueOf(bytes.Clone(d.B[:n:n])).Convert(t))
					d.B = d.B[n:]
				}
			}
			return
		}
		elem := build(t.Elem(), building)
		p.enc = func(w *walker, b []byte, v reflect.Value, depth int) []byte {
			if v.IsNil() || depth >= maxTypedDepth {
				return append(b, 0)
			}
			b = binary.AppendUvarint(b, uint64(v.Len())+1)
			for i := range v.Len() {
				b = elem.enc(w, b, v.Index(i), depth+1)
			}
			return b
		}
		p.dec = func(d *binenc.Decoder, v reflect.Value, depth int) {
			n, ok := length(d, elem.min, depth)
			if !ok {
				return
			}
			s := reflect.MakeSlice(t, min(n, maxPrealloc), min(n, maxPrealloc))
			for i := 0; i < n && d.Err == nil; i++ {
				if i == s.Len() {
					more := reflect.MakeSlice(t, room(i, n), room(i, n))
					reflect.Copy(more, s)
					s = more
				}
				elem.dec(d, s.Index(i), depth+1)
			}
			v.Set(s)
		}
	case reflect.Array:
		elem := build(t.Elem(), building)
		p.min = min(t.Len()*elem.min, 1<<20)
		p.enc = func(w *walker, b []byte, v reflect.Value, depth int) []byte {
			for i := range v.Len() {
				b = elem.enc(w, b, v.Index(i), depth+1)
			}
			return b
		}
		p.dec = func(d *binenc.Decoder, v reflect.Value, depth int) {
			for i := 0; i < v.Len() && d.Err == nil; i++ {
				elem.dec(d, v.Index(i), depth+1)
			}
		}
	case reflect.Map:
		key, elem := build(t.Key(), building), build(t.Elem(), building)
		// Keys of these kinds write distinct bytes for distinct keys;
		// others (floats: NaNs; times, interfaces, structs) may not.
		distinct := false
		switch t.Key().Kind() {
		case reflect.String, reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
			distinct = true
		}
		p.enc = func(w *walker, b []byte, v reflect.Value, depth int) []byte {
			if v.IsNil() || depth >= maxTypedDepth {
				return append(b, 0)
			}
			// Entries in the byte order of their keys' forms. Where two
			// keys write the same bytes (which the decoder would refuse as
			// a key twice), the entry whose value's form comes first is
			// kept: the same map gives the same bytes.
			type entry struct {
				key, val []byte
				v        reflect.Value
			}
			entries := make([]entry, 0, v.Len())
			it := v.MapRange()
			for it.Next() {
				// Keys on a walk of their own, so that what the values
				// spend of the size cap goes in key order.
				entries = append(entries, entry{key: key.enc(&walker{left: capBytes}, nil, it.Key(), depth+1), v: it.Value()})
			}
			slices.SortFunc(entries, func(a, b entry) int { return bytes.Compare(a.key, b.key) })
			if !distinct {
				// Which of the keys that write the same bytes stays is
				// chosen on copies of the walker, all alike, then the one
				// kept spends the cap in key order. Only such keys are
				// copied, and the copies together walk at most the size
				// cap: past it (whatever the order, as each copy walks
				// the same), every such key keeps the zero value.
				budget := capBytes
				collides := func(i int) bool {
					return i > 0 && bytes.Equal(entries[i-1].key, entries[i].key) ||
						i+1 < len(entries) && bytes.Equal(entries[i+1].key, entries[i].key)
				}
				for i := range entries {
					if !collides(i) || budget < 0 {
						continue
					}
					c := *w
					entries[i].val = elem.enc(&c, nil, entries[i].v, depth+1)
					budget -= w.left - c.left
				}
				if budget < 0 {
					for i := range entries {
						if collides(i) {
							entries[i].v, entries[i].val = reflect.Zero(t.Elem()), nil
						}
					}
				}
				slices.SortFunc(entries, func(a, b entry) int {
					return cmp.Or(bytes.Compare(a.key, b.key), bytes.Compare(a.val, b.val))
				})
				entries = slices.CompactFunc(entries, func(a, b entry) bool { return bytes.Equal(a.key, b.key) })
			}
			b = binary.AppendUvarint(b, uint64(len(entries))+1)
			for _, e := range entries {
				b = elem.enc(w, append(b, e.key...), e.v, depth+1)
			}
			return b
		}
		p.dec = func(d *binenc.Decoder, v reflect.Value, depth int) {
			n, ok := length(d, key.min+elem.min, depth)
			if !ok {
				return
			}
			m := reflect.MakeMapWithSize(t, min(n, maxPrealloc))
			var last []byte
			for i := 0; i < n && d.Err == nil; i++ {
				k, x := reflect.New(t.Key()).Elem(), reflect.New(t.Elem()).Elem()
				at := d.B
				key.dec(d, k, depth+1)
				raw := at[:len(at)-len(d.B)]
				if i > 0 && bytes.Compare(last, raw) >= 0 {
					d.Fail("map keys out of order")
					return
				}
				last = raw
				if !k.Comparable() {
					d.Fail("map key of type %s: not comparable", k.Elem().Type())
					return
				}
				elem.dec(d, x, depth+1)
				m.SetMapIndex(k, x)
			}
			v.Set(m)
		}
	case reflect.Struct:
		type field struct {
			i int
			p *plan
		}
		var fields []field
		p.min = 0
		for i := range t.NumField() {
			if f := t.Field(i); f.IsExported() {
				q := build(f.Type, building)
				fields = append(fields, field{i, q})
				p.min = min(p.min+q.min, 1<<20)
			}
		}
		p.enc = func(w *walker, b []byte, v reflect.Value, depth int) []byte {
			for _, f := range fields {
				b = f.p.enc(w, b, v.Field(f.i), depth+1)
			}
			return b
		}
		p.dec = func(d *binenc.Decoder, v reflect.Value, depth int) {
			for _, f := range fields {
				if d.Err != nil {
					return
				}
				f.p.dec(d, v.Field(f.i), depth+1)
			}
		}
	default:
		// Channels, functions, unsafe pointers: not carried (the zero
		// value), as JSON and validation would not.
		p.enc = func(_ *walker, b []byte, _ reflect.Value, _ int) []byte { return append(b, 0) }
		p.dec = func(d *binenc.Decoder, _ reflect.Value, _ int) {
			if d.Byte("value") != 0 {
				d.Fail("%v: not carried", t)
			}
		}
	}
}

// length reads a list's or a map's header (binenc's NilLength) and
// refuses one deeper than maxTypedDepth, where only nil was written.
func length(d *binenc.Decoder, size, depth int) (int, bool) {
	n, ok := d.NilLength("length", size)
	if ok && depth >= maxTypedDepth {
		d.Fail("length: nested too deep")
		return 0, false
	}
	return n, ok
}

// appendTime appends t in time.Time's binary form (the same instant and
// offset), through carryTime.
func appendTime(b []byte, t time.Time) []byte {
	own, _ := carryTime(t).MarshalBinary()
	return binenc.AppendString(b, string(own))
}

// readTime reads a time appendTime wrote.
func readTime(d *binenc.Decoder) time.Time {
	var t time.Time
	own := d.Bytes("time")
	if d.Err == nil {
		if err := t.UnmarshalBinary(own); err != nil {
			d.Fail("time: %v", err)
		}
	}
	return t
}

// carryTime returns t, or, when time.Time's binary form cannot hold its
// zone offset (one of -60 to -119 seconds, or past ±32767 minutes), the
// same instant in UTC: validation and the library read the instant.
func carryTime(t time.Time) time.Time {
	if _, err := t.MarshalBinary(); err != nil {
		return t.UTC()
	}
	return t
}

// The tags of the values that travel inside an interface: the shapes
// validation knows, and Unsupported.
const (
	tagNil = iota
	tagFalse
	tagTrue
	tagString
	tagFloat64
	tagFloat32
	tagInt
	tagInt8
	tagInt16
	tagInt32
	tagInt64
	tagUint
	tagUint8
	tagUint16
	tagUint32
	tagUint64
	tagNumber
	tagTime
	tagStrings
	tagList
	tagMap
	tagUnsupported
)

// appendAny appends x, a value inside an interface at validation's
// nesting depth d, as validation sees it: the shapes validation knows as
// they are (a time through carryTime, a map's entries in key order),
// another type an Unsupported, nil past validation's depth (which
// validation refuses as too deep, as it refused x), and an Unsupported
// past the size cap (which validation refuses, as x was over it).
func (w *walker) appendAny(b []byte, x any, d int) []byte {
	// Counted even past validation's depth (validation refuses it,
	// whatever it costs), so that a list holding itself a thousand times
	// is not walked for free a thousand times a level.
	over := !w.spend(cost(x))
	if d > leadkit.MaxAttrDepth {
		return append(b, tagNil)
	}
	if over {
		return appendUnsupported(b, fmt.Sprintf("%T", x))
	}
	switch y := x.(type) {
	case Unsupported:
		// One that crossed a boundary before keeps the type it names.
		return appendUnsupported(b, y.Type)
	case nil:
		return append(b, tagNil)
	case bool:
		if y {
			return append(b, tagTrue)
		}
		return append(b, tagFalse)
	case string:
		return binenc.AppendString(append(b, tagString), y)
	case float64:
		return binary.LittleEndian.AppendUint64(append(b, tagFloat64), math.Float64bits(y))
	case float32:
		return binary.LittleEndian.AppendUint32(append(b, tagFloat32), math.Float32bits(y))
	case int:
		return binary.AppendVarint(append(b, tagInt), int64(y))
	case int8:
		return binary.AppendVarint(append(b, tagInt8), int64(y))
	case int16:
		return binary.AppendVarint(append(b, tagInt16), int64(y))
	case int32:
		return binary.AppendVarint(append(b, tagInt32), int64(y))
	case int64:
		return binary.AppendVarint(append(b, tagInt64), y)
	case uint:
		return binary.AppendUvarint(append(b, tagUint), uint64(y))
	case uint8:
		return binary.AppendUvarint(append(b, tagUint8), uint64(y))
	case uint16:
		return binary.AppendUvarint(append(b, tagUint16), uint64(y))
	case uint32:
		return binary.AppendUvarint(append(b, tagUint32), uint64(y))
	case uint64:
		return binary.AppendUvarint(append(b, tagUint64), y)
	case json.Number:
		return binenc.AppendString(append(b, tagNumber), string(y))
	case time.Time:
		return appendTime(append(b, tagTime), y)
	case []string:
		for _, s := range y {
			if !w.spend(len(s) + 2) {
				return appendUnsupported(b, "[]string past the size cap")
			}
		}
		b = append(b, tagStrings)
		if y == nil {
			return append(b, 0)
		}
		b = binary.AppendUvarint(b, uint64(len(y))+1)
		for _, s := range y {
			b = binenc.AppendString(b, s)
		}
		return b
	case []any:
		b = append(b, tagList)
		if y == nil {
			return append(b, 0)
		}
		b = binary.AppendUvarint(b, uint64(len(y))+1)
		for _, z := range y {
			if w.left < 0 {
				// Past the size cap: the caller writes an Unsupported
				// in place of the whole value.
				break
			}
			b = w.appendAny(b, z, d+1)
		}
		return b
	case map[string]any:
		b = append(b, tagMap)
		if y == nil {
			return append(b, 0)
		}
		keys := make([]string, 0, len(y))
		for k := range y {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		// The entries walked before the size cap: their number goes
		// before them.
		var entries []byte
		n := 0
		for _, k := range keys {
			n++
			entries = binenc.AppendString(entries, k)
			if !w.spend(len(k) + 2) {
				entries = appendUnsupported(entries, "map[string]any past the size cap")
				break
			}
			entries = w.appendAny(entries, y[k], d+1)
			if w.left < 0 {
				break
			}
		}
		return append(binary.AppendUvarint(b, uint64(n)+1), entries...)
	}
	return appendUnsupported(b, fmt.Sprintf("%T", x))
}

// appendUnsupported appends an Unsupported naming typ.
func appendUnsupported(b []byte, typ string) []byte {
	if len(typ) > maxTypeName {
		typ = text.Clip(typ, maxTypeName-3) // with its "...": at most maxTypeName, so cut once
	}
	return binenc.AppendString(append(b, tagUnsupported), typ)
}

// maxTypeName cuts the type an Unsupported names.
const maxTypeName = 256

// room is the length a list being read grows to once its first have
// items are read, of n: twice as many, at most n, so that what a list
// allocates on the way is at most about twice its final size (append
// grows large slices by a quarter: five times).
func room(have, n int) int { return min(n, 2*have) }

// grow returns s with room for one more item (see room).
func grow[T any](s []T, n int) []T {
	if len(s) < cap(s) {
		return s
	}
	more := make([]T, len(s), room(len(s), n))
	copy(more, s)
	return more
}

// maxPrealloc is the most items a decoder makes room for before it has
// read them: a count is bounded by the bytes left, but nested counts each
// claim those same bytes, so room grows with what is read.
const maxPrealloc = 1024

// readAny reads a value appendAny wrote at nesting depth d (deeper than
// validation allows only nil was written).
func readAny(d *binenc.Decoder, depth int) any {
	tag := d.Byte("value")
	if d.Err != nil {
		return nil
	}
	if depth > leadkit.MaxAttrDepth && tag != tagNil {
		d.Fail("value: nested too deep")
		return nil
	}
	switch tag {
	case tagNil:
		return nil
	case tagFalse:
		return false
	case tagTrue:
		return true
	case tagString:
		return string(d.Bytes("text"))
	case tagFloat64:
		if raw := d.Fixed(8, "number"); raw != nil {
			return math.Float64frombits(binary.LittleEndian.Uint64(raw))
		}
	case tagFloat32:
		if raw := d.Fixed(4, "number"); raw != nil {
			return math.Float32frombits(binary.LittleEndian.Uint32(raw))
		}
	case tagInt, tagInt8, tagInt16, tagInt32, tagInt64:
		return readInt(d, tag)
	case tagUint, tagUint8, tagUint16, tagUint32, tagUint64:
		return readUint(d, tag)
	case tagNumber:
		return json.Number(d.Bytes("number"))
	case tagTime:
		return readTime(d)
	case tagStrings:
		n, ok := d.NilLength("texts", 1)
		if !ok {
			if d.Err == nil {
				return []string(nil)
			}
			return nil
		}
		out := make([]string, 0, min(n, maxPrealloc))
		for i := 0; i < n && d.Err == nil; i++ {
			out = append(grow(out, n), string(d.Bytes("text")))
		}
		return out
	case tagList:
		n, ok := d.NilLength("list", 1)
		if !ok {
			if d.Err == nil {
				return []any(nil)
			}
			return nil
		}
		out := make([]any, 0, min(n, maxPrealloc))
		for i := 0; i < n && d.Err == nil; i++ {
			out = append(grow(out, n), readAny(d, depth+1))
		}
		return out
	case tagMap:
		n, ok := d.NilLength("map", 2)
		if !ok {
			if d.Err == nil {
				return map[string]any(nil)
			}
			return nil
		}
		out := make(map[string]any, min(n, maxPrealloc))
		last := ""
		for i := 0; i < n && d.Err == nil; i++ {
			k := string(d.Bytes("key"))
			if i > 0 && k <= last {
				d.Fail("map keys out of order")
				return nil
			}
			last = k
			out[k] = readAny(d, depth+1)
		}
		return out
	case tagUnsupported:
		return Unsupported{Type: string(d.Bytes("unsupported"))}
	default:
		d.Fail("value: unknown tag %d", tag)
	}
	return nil
}

// readInt reads an integer of the tag's type.
func readInt(d *binenc.Decoder, tag byte) any {
	n := d.Varint("integer")
	x, ok := any(n), true
	switch tag {
	case tagInt:
		x, ok = narrow[int](n)
	case tagInt8:
		x, ok = narrow[int8](n)
	case tagInt16:
		x, ok = narrow[int16](n)
	case tagInt32:
		x, ok = narrow[int32](n)
	}
	if !ok {
		d.Fail("integer: %d out of range", n)
	}
	return x
}

// readUint reads an unsigned integer of the tag's type.
func readUint(d *binenc.Decoder, tag byte) any {
	n := d.Uvarint("integer")
	x, ok := any(n), true
	switch tag {
	case tagUint:
		x, ok = narrow[uint](n)
	case tagUint8:
		x, ok = narrow[uint8](n)
	case tagUint16:
		x, ok = narrow[uint16](n)
	case tagUint32:
		x, ok = narrow[uint32](n)
	}
	if !ok {
		d.Fail("integer: %d out of range", n)
	}
	return x
}

// narrow returns n as a T, and whether T holds it.
func narrow[T, N int | int8 | int16 | int32 | int64 | uint | uint8 | uint16 | uint32 | uint64](n N) (any, bool) {
	return T(n), N(T(n)) == n
}
