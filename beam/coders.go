package beam

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"reflect"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/binenc"
	"github.com/leadkit/leadkit/journey"
	"github.com/leadkit/leadkit/stage"
)

// Every type that crosses a Beam stage boundary has an explicit coder, so
// what travels between workers is the library's own encoding and not
// whatever Beam would infer from the struct:
//
//   - *stage.FunnelAccumulator: its binary encoding (MarshalBinary);
//   - leadkit.Event, journey.Timeline and TenantTimeline: a compact
//     binary form (formEvent, below);
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

// Events are the bulk of what a pipeline moves (every event crosses the
// grouping into timelines, and again inside its timeline), so they, and
// the timelines that hold them, travel in a compact binary form (first
// byte 2), about half their JSON: the text fields as length and bytes
// (as they are, valid UTF-8 or not), the time as UTC seconds and
// nanoseconds at offset 0 (or at an offset time.Time's binary form
// cannot hold: the same instant), else in time.Time's own binary form
// (the same instant and offset), and the attributes as their JSON when
// JSON gives them back as Go put them (jsonFaithful). Such an event
// decodes to what its JSON decodes to. An event holding an attribute
// JSON would change (a time, which it turns into text; an integer past
// 2^53; a NaN, text that is not UTF-8, a value of a type validation
// refuses) takes the total form (encodeTotal), with its attributes as Go
// put them, as the in-memory library reads them, and what validation
// refuses still refused.
const formEvent = 2

// appendEvent appends e in the binary form (without the form byte); it
// fails only when e's attributes or time cannot be encoded.
func appendEvent(b []byte, e *leadkit.Event) ([]byte, error) {
	for _, s := range [...]string{e.ID, e.LeadID, e.Type, e.Channel, e.Campaign, e.Content} {
		b = binenc.AppendString(b, s)
	}
	// At offset 0 (JSON writes it "Z" and reads it back UTC), and at an
	// offset time.Time's binary form cannot hold (-60 to -119 seconds,
	// past ±32767 minutes), the instant as UTC seconds and nanoseconds;
	// at any other offset, time.Time's binary form.
	var tb []byte
	if _, off := e.Time.Zone(); off != 0 {
		tb, _ = e.Time.MarshalBinary()
	}
	if tb == nil {
		b = append(b, 0)
		b = binary.AppendVarint(b, e.Time.Unix())
		b = binary.AppendUvarint(b, uint64(e.Time.Nanosecond()))
	} else {
		b = append(b, 1)
		b = binenc.AppendString(b, string(tb))
	}
	if len(e.Attrs) == 0 {
		return append(b, 0), nil
	}
	if !jsonFaithful(reflect.ValueOf(e.Attrs)) {
		return nil, errors.New("attributes JSON would not give back")
	}
	a, err := json.Marshal(e.Attrs)
	if err != nil {
		return nil, err
	}
	return binenc.AppendString(b, string(a)), nil
}

// readEvent reads an event appendEvent wrote.
func readEvent(d *binenc.Decoder) leadkit.Event {
	var e leadkit.Event
	for _, f := range [...]*string{&e.ID, &e.LeadID, &e.Type, &e.Channel, &e.Campaign, &e.Content} {
		*f = string(d.Bytes("event text"))
	}
	switch d.Byte("event time") {
	case 0:
		sec := d.Varint("event time")
		ns := d.Uvarint("event time")
		if ns >= 1e9 {
			d.Fail("event time: %d nanoseconds", ns)
		}
		e.Time = time.Unix(sec, int64(ns)).UTC()
	case 1:
		if err := e.Time.UnmarshalBinary(d.Bytes("event time")); err != nil {
			d.Fail("event time: %v", err)
		}
	default:
		d.Fail("event time: unknown form")
	}
	if a := d.Bytes("event attributes"); len(a) > 0 && d.Err == nil {
		if err := json.Unmarshal(a, &e.Attrs); err != nil {
			d.Fail("event attributes: %v", err)
		}
	}
	return e
}

// eventsDecoder is the decoder of a binary event form.
func eventsDecoder(b []byte) *binenc.Decoder {
	return &binenc.Decoder{B: b, Prefix: "leadkit beam: decode event: "}
}

func encodeEvent(v leadkit.Event) ([]byte, error) {
	if b, err := appendEvent([]byte{formEvent}, &v); err == nil {
		return b, nil
	}
	return encodeTotal(v)
}

func decodeEvent(b []byte) (leadkit.Event, error) {
	if len(b) == 0 || b[0] != formEvent {
		return unmarshalTotal[leadkit.Event](b)
	}
	d := eventsDecoder(b[1:])
	e := readEvent(d)
	return e, d.End()
}

// appendTimeline appends tl's lead and events in the binary form.
func appendTimeline(b []byte, tl *journey.Timeline) ([]byte, error) {
	b = binenc.AppendString(b, tl.LeadID)
	b = binary.AppendUvarint(b, uint64(len(tl.Events)))
	for i := range tl.Events {
		var err error
		if b, err = appendEvent(b, &tl.Events[i]); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// readTimeline reads a timeline appendTimeline wrote.
func readTimeline(d *binenc.Decoder) journey.Timeline {
	tl := journey.Timeline{LeadID: string(d.Bytes("lead ID"))}
	// An event takes at least 10 bytes: six lengths, the time's form,
	// seconds, nanoseconds and the attributes' length.
	n := d.Length("events", 10)
	if n > 0 {
		tl.Events = make([]leadkit.Event, 0, n)
	}
	for range n {
		if d.Err != nil {
			break
		}
		tl.Events = append(tl.Events, readEvent(d))
	}
	return tl
}

func encodeTimeline(v journey.Timeline) ([]byte, error) {
	if b, err := appendTimeline([]byte{formEvent}, &v); err == nil {
		return b, nil
	}
	return encodeTotal(v)
}

func decodeTimeline(b []byte) (journey.Timeline, error) {
	if len(b) == 0 || b[0] != formEvent {
		return unmarshalTotal[journey.Timeline](b)
	}
	d := eventsDecoder(b[1:])
	tl := readTimeline(d)
	return tl, d.End()
}

func encodeTenantTimeline(v TenantTimeline) ([]byte, error) {
	if b, err := appendTimeline(binenc.AppendString([]byte{formEvent}, v.Tenant), &v.Timeline); err == nil {
		return b, nil
	}
	return encodeTotal(v)
}

func decodeTenantTimeline(b []byte) (TenantTimeline, error) {
	if len(b) == 0 || b[0] != formEvent {
		return unmarshalTotal[TenantTimeline](b)
	}
	d := eventsDecoder(b[1:])
	v := TenantTimeline{Tenant: string(d.Bytes("tenant"))}
	v.Timeline = readTimeline(d)
	return v, d.End()
}
