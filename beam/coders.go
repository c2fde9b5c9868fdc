package beam

import (
	"bytes"
	"encoding/gob"
	"encoding/json"
	"fmt"
	"reflect"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/leadkit/leadkit/stage"
)

// Every type that crosses a Beam stage boundary has an explicit coder, so
// what travels between workers is the library's own encoding and not
// whatever Beam would infer from the struct:
//
//   - *stage.FunnelAccumulator: its binary encoding (MarshalBinary);
//   - stage.Visit, stage.FunnelResult and Rejected: their JSON (the
//     library's result types round-trip through JSON byte for byte; times
//     keep their instant to the nanosecond); a lead's []stage.Visit is
//     Beam's list of the stage.Visit coder (Beam takes no coder for a
//     slice type).
func init() {
	beam.RegisterCoder(reflect.TypeFor[*stage.FunnelAccumulator](), encodeFunnelAccumulator, decodeFunnelAccumulator)
	beam.RegisterCoder(reflect.TypeFor[stage.Visit](), encodeVisit, decodeVisit)
	beam.RegisterCoder(reflect.TypeFor[stage.FunnelResult](), encodeFunnelResult, decodeFunnelResult)
	beam.RegisterCoder(reflect.TypeFor[Rejected](), encodeRejected, decodeRejected)
}

// The coder functions are plain functions, not instances of one generic
// function: Beam finds a coder on a worker by its function's symbol name,
// and generic instances can share one.

func encodeFunnelAccumulator(f *stage.FunnelAccumulator) ([]byte, error) { return f.MarshalBinary() }

func decodeFunnelAccumulator(b []byte) (*stage.FunnelAccumulator, error) {
	return unmarshalNew[stage.FunnelAccumulator](b)
}

func encodeVisit(v stage.Visit) ([]byte, error) { return encodeTotal(v) }

func decodeVisit(b []byte) (stage.Visit, error) { return unmarshalTotal[stage.Visit](b) }

func encodeFunnelResult(v stage.FunnelResult) ([]byte, error) { return json.Marshal(v) }

func decodeFunnelResult(b []byte) (stage.FunnelResult, error) {
	return unmarshalJSON[stage.FunnelResult](b)
}

func encodeRejected(v Rejected) ([]byte, error) { return encodeTotal(v) }

func decodeRejected(b []byte) (Rejected, error) { return unmarshalTotal[Rejected](b) }

// Inputs, and the dead letters that carry them, travel as their JSON when
// it can hold them, and otherwise in encoding/gob: a NaN or infinite
// attribute and a time outside years 0-9999 are values JSON cannot
// encode, and exactly what validation refuses, so an input holding one
// must still reach the transform that sends it to its dead letter rather
// than fail the pipeline in a coder. The first byte says which (0: JSON,
// 1: gob).
func encodeTotal(v any) ([]byte, error) {
	if b, err := json.Marshal(v); err == nil {
		return append([]byte{0}, b...), nil
	}
	var buf bytes.Buffer
	buf.WriteByte(1)
	if err := gob.NewEncoder(&buf).Encode(v); err != nil {
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

func init() {
	// The dynamic values an attribute or a custom profile field may hold,
	// for gob.
	for _, v := range []any{map[string]any{}, []any{}, float64(0), float32(0), int(0), int8(0), int16(0), int32(0), int64(0),
		uint(0), uint8(0), uint16(0), uint32(0), uint64(0), "", false, json.Number(""), time.Time{}, []string{}, map[string]string{}} {
		gob.Register(v)
	}
}

// The coder functions Beam registers are plain functions (it finds them
// by symbol); their bodies share these.

// unmarshalNew decodes an accumulator from its binary encoding.
func unmarshalNew[T any, P interface {
	*T
	UnmarshalBinary([]byte) error
}](b []byte) (P, error) {
	p := P(new(T))
	if err := p.UnmarshalBinary(b); err != nil {
		return nil, err
	}
	return p, nil
}

// unmarshalJSON decodes a result from its JSON.
func unmarshalJSON[T any](b []byte) (T, error) {
	var v T
	err := json.Unmarshal(b, &v)
	return v, err
}

// unmarshalTotal decodes an input or dead letter encoded by encodeTotal.
func unmarshalTotal[T any](b []byte) (T, error) {
	var v T
	err := decodeTotal(b, &v)
	return v, err
}
