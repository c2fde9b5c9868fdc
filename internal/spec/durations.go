package spec

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/leadkit/leadkit"
)

// Specs keep durations as time.Duration in Go, so callers set them without
// conversions, and write them in leadkit's duration grammar in JSON and
// YAML ("36h", "2w"; a bare number is refused: it would be nanoseconds).
// EncodeDurations and DecodeDurations do that for any spec struct, so a
// spec type's JSON methods are one line each:
//
//	func (s FunnelSpec) MarshalJSON() ([]byte, error) { return spec.EncodeDurations(s) }
//	func (s *FunnelSpec) UnmarshalJSON(b []byte) error {
//		return spec.DecodeDurations(b, s, "journey: funnel: ")
//	}

var (
	durationType  = reflect.TypeFor[time.Duration]()
	durationsType = reflect.TypeFor[[]time.Duration]()
	rawType       = reflect.TypeFor[json.RawMessage]()
	textDurType   = reflect.TypeFor[leadkit.Duration]()
	textDursType  = reflect.TypeFor[[]leadkit.Duration]()
	shadowTypes   sync.Map // shadowKey -> reflect.Type
)

type shadowKey struct {
	t      reflect.Type
	decode bool
}

// shadow returns t with its duration fields retyped: as leadkit.Duration
// (and []leadkit.Duration) to encode, as json.RawMessage to decode. The
// shadow has no methods, so encoding/json does not call back into t's.
func shadow(t reflect.Type, decode bool) reflect.Type {
	k := shadowKey{t, decode}
	if st, ok := shadowTypes.Load(k); ok {
		return st.(reflect.Type)
	}
	fields := make([]reflect.StructField, t.NumField())
	for i := range fields {
		f := t.Field(i)
		switch f.Type {
		case durationType:
			f.Type = textDurType
			if decode {
				f.Type = rawType
			}
		case durationsType:
			f.Type = textDursType
			if decode {
				f.Type = rawType
			}
		}
		fields[i] = reflect.StructField{Name: f.Name, Type: f.Type, Tag: f.Tag}
	}
	st := reflect.StructOf(fields)
	shadowTypes.Store(k, st)
	return st
}

// jsonName is the key encoding/json uses for the field.
func jsonName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	if name == "" {
		return f.Name
	}
	return name
}

// EncodeDurations marshals v, a spec struct, as encoding/json would, with
// its time.Duration and []time.Duration fields written as text.
func EncodeDurations(v any) ([]byte, error) {
	rv := reflect.ValueOf(v)
	sv := reflect.New(shadow(rv.Type(), false)).Elem()
	for i := range rv.NumField() {
		f := rv.Field(i)
		switch f.Type() {
		case durationType:
			sv.Field(i).SetInt(f.Int())
		case durationsType:
			if !f.IsNil() {
				ds := make([]leadkit.Duration, f.Len())
				for j := range ds {
					ds[j] = leadkit.Duration(f.Index(j).Int())
				}
				sv.Field(i).Set(reflect.ValueOf(ds))
			}
		default:
			sv.Field(i).Set(f)
		}
	}
	return json.Marshal(sv.Interface())
}

// DecodeDurations decodes data into v, a pointer to a spec struct, under
// the rules of [DecodeStrict], reading its time.Duration and
// []time.Duration fields with leadkit.ParseDuration. Absent keys leave
// fields as they are. Errors are prefixed with prefix ("journey: funnel:
// ") and name the field ("journey: funnel: window: ...", "...: buckets[1]:
// ..."); they wrap leadkit.ErrInvalid.
func DecodeDurations(data []byte, v any, prefix string) error {
	rv := reflect.ValueOf(v).Elem()
	t := rv.Type()
	sp := reflect.New(shadow(t, true))
	sv := sp.Elem()
	for i := range rv.NumField() {
		if ft := t.Field(i).Type; ft != durationType && ft != durationsType {
			sv.Field(i).Set(rv.Field(i))
		}
	}
	if err := DecodeStrict(data, sp.Interface()); err != nil {
		return Prefixed(prefix, err)
	}
	for i := range rv.NumField() {
		f := t.Field(i)
		switch f.Type {
		case durationType:
			raw := json.RawMessage(sv.Field(i).Bytes())
			if err := ReadDuration(prefix+jsonName(f), raw, rv.Field(i).Addr().Interface().(*time.Duration)); err != nil {
				return err
			}
		case durationsType:
			raw := sv.Field(i).Bytes()
			if raw == nil || string(raw) == "null" {
				continue // absent or null: unchanged
			}
			var items []json.RawMessage
			if err := json.Unmarshal(raw, &items); err != nil {
				return fmt.Errorf("%s%s: %w: want a list of durations", prefix, jsonName(f), leadkit.ErrInvalid)
			}
			ds := make([]time.Duration, len(items))
			for j, item := range items {
				if err := ReadDuration(fmt.Sprintf("%s%s[%d]", prefix, jsonName(f), j), item, &ds[j]); err != nil {
					return err
				}
			}
			rv.Field(i).Set(reflect.ValueOf(ds))
		default:
			rv.Field(i).Set(sv.Field(i))
		}
	}
	return nil
}
