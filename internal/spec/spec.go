// Package spec is the one way leadkit reads the specs users write (stage
// definitions, scoring models, funnels, options): JSON or YAML, at most
// leadkit.MaxDocumentBytes, unknown and duplicate keys refused, durations in
// leadkit's grammar.
package spec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/leadkit/leadkit"
	"sigs.k8s.io/yaml"
)

// Parse decodes a JSON or YAML document (YAML is a superset of JSON) into
// v, refusing unknown keys (a typo such as "stepz" or "pionts" would
// otherwise pass silently), duplicate keys and documents over
// leadkit.MaxDocumentBytes. Errors wrap leadkit.ErrInvalid.
func Parse(data []byte, v any) error {
	if len(data) > leadkit.MaxDocumentBytes {
		return fmt.Errorf("%w: document is %d bytes, the limit is %d", leadkit.ErrInvalid, len(data), leadkit.MaxDocumentBytes)
	}
	js, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return fmt.Errorf("%w: %s", leadkit.ErrInvalid, err)
	}
	return DecodeStrict(js, v)
}

// DecodeStrict decodes one JSON value into v, refusing unknown keys and
// trailing data. Spec types with custom UnmarshalJSON methods call it so
// that the refusal reaches nested values. Errors wrap leadkit.ErrInvalid.
func DecodeStrict(data []byte, v any) error {
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
