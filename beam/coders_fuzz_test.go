package beam

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/journey"
)

// Whatever the bytes, the input decoders never panic (the total and event
// forms), and what decodes re-encodes.
func FuzzInputDecoders(f *testing.F) {
	e := leadkit.Event{ID: "e", LeadID: "l", Type: "t", Time: edgeAt, Attrs: map[string]any{"a": 1.0, "b": []any{"x", map[string]any{"y": true}}}}
	bad := e
	bad.Attrs = map[string]any{"nan": math.NaN(), "raw": json.RawMessage("1"), "b": []byte("x"), "l": []any{int64(1) << 60}}
	for _, v := range []leadkit.Event{e, bad} {
		b, _ := encodeEvent(v)
		f.Add(b)
		b, _ = encodeTotal(v)
		f.Add(b)
		b, _ = encodeTenantJourney(TenantJourney{Tenant: "acme", Journey: journey.LeadJourney{Timeline: journey.Timeline{LeadID: "l", Events: []leadkit.Event{v}}}})
		f.Add(b)
		b, _ = encodeLead(leadkit.Lead{ID: "l", Person: leadkit.Person{Custom: v.Attrs}})
		f.Add(b)
	}
	b, _ := encodeLead(unfaithfulLead())
	f.Add(b)
	f.Add([]byte{formBinary, tagMap, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		if ev, err := decodeEvent(b); err == nil {
			if _, err := encodeEvent(ev); err != nil {
				t.Fatalf("decoded event does not encode: %v", err)
			}
		}
		if tj, err := decodeTenantJourney(b); err == nil {
			if _, err := encodeTenantJourney(tj); err != nil {
				t.Fatalf("decoded journey does not encode: %v", err)
			}
		}
		if l, err := decodeLead(b); err == nil {
			if _, err := encodeLead(l); err != nil {
				t.Fatalf("decoded lead does not encode: %v", err)
			}
		}
		if tl, err := decodeTimeline(b); err == nil {
			if _, err := encodeTimeline(tl); err != nil {
				t.Fatalf("decoded timeline does not encode: %v", err)
			}
		}
	})
}
