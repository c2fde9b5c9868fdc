// Package spec is the one way leadkit reads the specs users write (stage
// definitions, scoring models, funnels, options): JSON or YAML, at most
// leadkit.MaxDocumentBytes, unknown, duplicate and miscased keys refused,
// durations in leadkit's grammar.
//
// YAML is read by the YAML 1.2 core schema: only true and false are
// booleans, so a stage named "No" or a channel named "on" stays a string
// (YAML 1.1 readers turn them into booleans). Anchors and aliases work, but
// their expansion counts against the same budget as the document, so a
// "billion laughs" document is refused instead of expanded.
package spec

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/leadkit/leadkit"
	"go.yaml.in/yaml/v3"
)

// MaxDepth caps how deeply a spec document nests objects and lists.
const MaxDepth = 64

// maxNodes caps the values a YAML document expands to, aliases included.
const maxNodes = leadkit.MaxDocumentBytes / 4

// Parse decodes a JSON or YAML document (YAML is a superset of JSON) into
// v, refusing unknown keys (a typo such as "stepz" or "pionts" would
// otherwise pass silently), keys that differ from the spec's only in case
// ("Steps" for "steps"), duplicate keys, more than one document, non-finite
// numbers and documents over leadkit.MaxDocumentBytes or MaxDepth. Errors
// wrap leadkit.ErrInvalid.
func Parse(data []byte, v any) error {
	if len(data) > leadkit.MaxDocumentBytes {
		return fmt.Errorf("%w: document is %d bytes, the limit is %d", leadkit.ErrInvalid, len(data), leadkit.MaxDocumentBytes)
	}
	js, err := YAMLToJSON(data)
	if err != nil {
		return err
	}
	return DecodeStrict(js, v)
}

// YAMLToJSON converts one YAML (or JSON) document to JSON under the rules
// of Parse. Errors wrap leadkit.ErrInvalid and name the YAML line.
func YAMLToJSON(data []byte) ([]byte, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if err == io.EOF {
			return []byte("null"), nil // an empty document
		}
		return nil, fmt.Errorf("%w: %s", leadkit.ErrInvalid, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err != io.EOF {
		return nil, fmt.Errorf("%w: more than one YAML document (line %d)", leadkit.ErrInvalid, extra.Line)
	}
	c := converter{}
	var out bytes.Buffer
	if err := c.value(&out, &doc, 0); err != nil {
		return nil, fmt.Errorf("%w: %s", leadkit.ErrInvalid, err)
	}
	return out.Bytes(), nil
}

type converter struct{ nodes int }

func (c *converter) value(out *bytes.Buffer, n *yaml.Node, depth int) error {
	if depth > MaxDepth {
		return fmt.Errorf("line %d: nested deeper than %d levels", n.Line, MaxDepth)
	}
	if c.nodes++; c.nodes > maxNodes {
		return fmt.Errorf("line %d: the document expands to more than %d values", n.Line, maxNodes)
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			out.WriteString("null")
			return nil
		}
		return c.value(out, n.Content[0], depth)
	case yaml.AliasNode:
		return c.value(out, n.Alias, depth+1)
	case yaml.SequenceNode:
		out.WriteByte('[')
		for i, item := range n.Content {
			if i > 0 {
				out.WriteByte(',')
			}
			if err := c.value(out, item, depth+1); err != nil {
				return err
			}
		}
		out.WriteByte(']')
		return nil
	case yaml.MappingNode:
		out.WriteByte('{')
		seen := make(map[string]int, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			if k.Kind == yaml.AliasNode {
				k = k.Alias
			}
			if k.Kind != yaml.ScalarNode {
				return fmt.Errorf("line %d: a key must be a plain value", k.Line)
			}
			if k.ShortTag() == "!!merge" {
				return fmt.Errorf("line %d: merge keys (<<) are not supported", k.Line)
			}
			if first, dup := seen[k.Value]; dup {
				return fmt.Errorf("line %d: key %q already set on line %d", k.Line, k.Value, first)
			}
			seen[k.Value] = k.Line
			if i > 0 {
				out.WriteByte(',')
			}
			key, _ := json.Marshal(k.Value)
			out.Write(key)
			out.WriteByte(':')
			if err := c.value(out, val, depth+1); err != nil {
				return err
			}
		}
		out.WriteByte('}')
		return nil
	case yaml.ScalarNode:
		return scalar(out, n)
	}
	return fmt.Errorf("line %d: unsupported YAML node", n.Line)
}

func scalar(out *bytes.Buffer, n *yaml.Node) error {
	switch n.ShortTag() {
	case "!!null":
		out.WriteString("null")
		return nil
	case "!!bool", "!!int", "!!float":
		var v any
		if err := n.Decode(&v); err != nil {
			return fmt.Errorf("line %d: %s", n.Line, err)
		}
		if f, ok := v.(float64); ok && (math.IsNaN(f) || math.IsInf(f, 0)) {
			return fmt.Errorf("line %d: %s is not a finite number", n.Line, n.Value)
		}
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("line %d: %s", n.Line, err)
		}
		out.Write(b)
		return nil
	case "!!str", "!!timestamp":
		b, _ := json.Marshal(n.Value)
		out.Write(b)
		return nil
	}
	return fmt.Errorf("line %d: unsupported YAML tag %s", n.Line, n.ShortTag())
}

// ReadDuration decodes raw (absent: unchanged) into *d through
// leadkit.Duration, naming the field what in the error. Spec types with
// durations call it from their UnmarshalJSON.
func ReadDuration(what string, raw json.RawMessage, d *time.Duration) error {
	if raw == nil {
		return nil
	}
	v := leadkit.Duration(*d)
	if err := v.UnmarshalJSON(raw); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	*d = time.Duration(v)
	return nil
}

// Prefixed adds prefix ("journey: funnel: ") to err unless its message
// already names the package ("journey: ", from a nested UnmarshalJSON).
func Prefixed(prefix string, err error) error {
	pkg := prefix
	if i := strings.Index(prefix, ": "); i >= 0 {
		pkg = prefix[:i+2]
	}
	if strings.HasPrefix(err.Error(), pkg) {
		return err
	}
	return fmt.Errorf("%s%w", prefix, err)
}

// DecodeStrict decodes one JSON value into v, refusing unknown keys, keys
// that match a field only when case is ignored, and trailing data. Spec
// types with custom UnmarshalJSON methods call it so that the refusal
// reaches nested values. Errors wrap leadkit.ErrInvalid.
func DecodeStrict(data []byte, v any) error {
	if err := checkKeys(data, reflect.TypeOf(v)); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, leadkit.ErrInvalid) {
			return err // a nested spec's own error
		}
		return fmt.Errorf("%w: %s", leadkit.ErrInvalid, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: data after the document", leadkit.ErrInvalid)
	}
	return nil
}

// checkKeys walks the document beside the Go type it decodes into and
// refuses keys that encoding/json would match only case-insensitively.
// Types with their own UnmarshalJSON are left to it (they call
// DecodeStrict on their shadow struct).
func checkKeys(data []byte, t reflect.Type) error {
	var doc any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return nil // the strict decode reports syntax errors
	}
	return walkKeys(doc, t, "")
}

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

func walkKeys(doc any, t reflect.Type, path string) error {
	for t != nil && t.Kind() == reflect.Pointer {
		if t.Implements(jsonUnmarshaler) || t.Implements(textUnmarshaler) {
			return nil
		}
		t = t.Elem()
	}
	if t == nil {
		return nil
	}
	if reflect.PointerTo(t).Implements(jsonUnmarshaler) || reflect.PointerTo(t).Implements(textUnmarshaler) {
		return nil
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := doc.(map[string]any)
		if !ok {
			return nil
		}
		fields := structFields(t)
		for k, v := range obj {
			f, ok := fields.exact[k]
			if !ok {
				if name, miscased := fields.folded[foldKey(k)]; miscased {
					return fmt.Errorf("%w: key %q%s: did you mean %q?", leadkit.ErrInvalid, k, at(path), name)
				}
				continue // the strict decode reports it as unknown
			}
			if err := walkKeys(v, f, join(path, k)); err != nil {
				return err
			}
		}
	case reflect.Map:
		if obj, ok := doc.(map[string]any); ok {
			for k, v := range obj {
				if err := walkKeys(v, t.Elem(), join(path, k)); err != nil {
					return err
				}
			}
		}
	case reflect.Slice, reflect.Array:
		if list, ok := doc.([]any); ok {
			for i, v := range list {
				if err := walkKeys(v, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func at(path string) string {
	if path == "" {
		return ""
	}
	return " in " + path
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

// foldKey maps every spelling encoding/json treats as equal (Unicode
// simple case folding, so "K" and the Kelvin sign too) to one key.
func foldKey(s string) string {
	return strings.Map(func(r rune) rune {
		min := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if f < min {
				min = f
			}
		}
		return min
	}, s)
}

type fieldSet struct {
	exact  map[string]reflect.Type
	folded map[string]string
}

var fieldCache sync.Map // reflect.Type -> fieldSet

// structFields lists the JSON names of t's fields the way encoding/json
// does: tag names, untagged exported names, embedded structs flattened,
// "-" skipped.
func structFields(t reflect.Type) fieldSet {
	if fs, ok := fieldCache.Load(t); ok {
		return fs.(fieldSet)
	}
	fs := fieldSet{exact: map[string]reflect.Type{}, folded: map[string]string{}}
	var add func(t reflect.Type, depth int)
	add = func(t reflect.Type, depth int) {
		if depth > 8 {
			return
		}
		for i := range t.NumField() {
			f := t.Field(i)
			tag := f.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, _, _ := strings.Cut(tag, ",")
			ft := f.Type
			if f.Anonymous && name == "" {
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if ft.Kind() == reflect.Struct {
					add(ft, depth+1)
					continue
				}
			}
			if !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			if _, ok := fs.exact[name]; !ok {
				fs.exact[name] = f.Type
				fs.folded[foldKey(name)] = name
			}
		}
	}
	add(t, 0)
	fieldCache.Store(t, fs)
	return fs
}
