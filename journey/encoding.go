package journey

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/binenc"
	"github.com/leadkit/leadkit/internal/text"
)

// The binary encodings of the path, pattern, source age, content phase,
// old lead nurture, cycle time and nurture power accumulators share one
// shape (the funnel's, see
// funnel_encoding.go): a magic and format version, the accumulator's
// options as JSON (and its stage), then its counts. Every integer is a
// varint (encoding/binary) in its shortest form.
//
// The options are written in one form: as the constructor filled them in
// (default buckets, key, lookback and so on written out, Closed sorted),
// times in UTC, and a default Outcome left out. Decoding parses them with
// the package's Parse function, runs the constructor again (so every
// check and cap it enforces, such as MaxAgeBuckets and MaxTouchTypes,
// holds for a decoded accumulator too) and refuses options that are not
// in that one form: together with keys and sequences in strictly
// ascending order and counts in their shortest form, an input that
// decodes is the encoding of its state, byte for byte.

// appendOptions appends opts as JSON, its length first.
func appendOptions(b []byte, prefix string, opts any) ([]byte, error) {
	js, err := json.Marshal(opts)
	if err != nil {
		return nil, fmt.Errorf("%s%w", prefix, err)
	}
	b = binary.AppendUvarint(b, uint64(len(js)))
	return append(b, js...), nil
}

// readOptions reads the options JSON and parses it with parse; the raw
// bytes are returned for [canonicalOptions].
func readOptions[O any](d *binenc.Decoder, parse func([]byte) (O, error)) (O, []byte, error) {
	var zero O
	raw := d.Bytes("options")
	if d.Err != nil {
		return zero, nil, d.Err
	}
	o, err := parse(raw)
	if err != nil {
		return zero, nil, prefixed(d, err)
	}
	return o, raw, nil
}

// canonicalOptions fails unless raw is the JSON of opts, the options as
// the encoder writes them.
func canonicalOptions(d *binenc.Decoder, raw []byte, opts any) error {
	want, err := json.Marshal(opts)
	if err != nil {
		return d.Fail("options: %v", err)
	}
	if !bytes.Equal(raw, want) {
		return d.Fail("options not in the form the encoder writes (%s)", want)
	}
	return nil
}

// checkKey vets a decoded key of a count map: what an Add can store, a
// value of by (or an event type).
func checkKey(by Key, k string) string {
	if k == "" {
		return "is empty"
	}
	limit := leadkit.MaxNameBytes
	if by == KeyContent {
		limit = leadkit.MaxStringBytes
	}
	return leadkit.CheckText(k, limit)
}

// notMade is the error of MarshalBinary on an accumulator its
// constructor did not make (the zero value).
func notMade(what, constructor string) error {
	return fmt.Errorf("journey: %s: encode: %w: accumulator not made by %s", what, leadkit.ErrInvalid, constructor)
}

// prefixed wraps an error of a Parse function or constructor met while
// decoding in the decoder's prefix.
func prefixed(d *binenc.Decoder, err error) error {
	return fmt.Errorf("%s%w", d.Prefix, err)
}

// utc is t in UTC; the zero time stays zero.
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC()
}

// clipKey shortens a key for an error message.
func clipKey(k string) string { return text.Clip(k, 64) }
