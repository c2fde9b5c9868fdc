package beam

import (
	"encoding/json"
	"reflect"

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
	f := new(stage.FunnelAccumulator)
	if err := f.UnmarshalBinary(b); err != nil {
		return nil, err
	}
	return f, nil
}

func encodeVisit(v stage.Visit) ([]byte, error) { return json.Marshal(v) }

func decodeVisit(b []byte) (stage.Visit, error) {
	var v stage.Visit
	err := json.Unmarshal(b, &v)
	return v, err
}

func encodeFunnelResult(v stage.FunnelResult) ([]byte, error) { return json.Marshal(v) }

func decodeFunnelResult(b []byte) (stage.FunnelResult, error) {
	var v stage.FunnelResult
	err := json.Unmarshal(b, &v)
	return v, err
}

func encodeRejected(v Rejected) ([]byte, error) { return json.Marshal(v) }

func decodeRejected(b []byte) (Rejected, error) {
	var v Rejected
	err := json.Unmarshal(b, &v)
	return v, err
}
