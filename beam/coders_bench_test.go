package beam

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/journey"
	"github.com/leadkit/leadkit/stage"
)

// BenchmarkCoders times an encode and a decode through each input
// coder, against plain JSON of the same value (the naive coder, which
// changes what validation says of odd values): ns/op and the ratio to
// JSON, "x-json".
func BenchmarkCoders(b *testing.B) {
	evs := codedEvents(b)
	at := evs[0].Time
	visits := []stage.Visit{{LeadID: "l", Stage: "MQL", At: at}, {LeadID: "l", Stage: "SQL", At: at.Add(48 * 3600e9)}}
	lead := leadkit.Lead{ID: "l", CreatedAt: at, Source: "webinar",
		Person:  leadkit.Person{Email: "a@b.c", Title: "CMO", Custom: map[string]any{"budget": 12000.0, "tags": []any{"a", "b"}}},
		Company: leadkit.Company{Name: "Acme", Employees: 250, Revenue: 3e7}}
	tj := TenantJourney{Tenant: "acme", Journey: journey.LeadJourney{Timeline: journey.Timeline{LeadID: "l", Events: evs[:8]}, Visits: visits, Created: at}}
	odd := unfaithfulLead()
	cases := []struct {
		name string
		v    any
		enc  func() ([]byte, error)
		dec  func([]byte) error
	}{
		{"event", evs[len(evs)-3], func() ([]byte, error) { return encodeEvent(evs[len(evs)-3]) }, func(p []byte) error { _, err := decodeEvent(p); return err }},
		{"journey", tj, func() ([]byte, error) { return encodeTenantJourney(tj) }, func(p []byte) error { _, err := decodeTenantJourney(p); return err }},
		{"lead", lead, func() ([]byte, error) { return encodeLead(lead) }, func(p []byte) error { _, err := decodeLead(p); return err }},
		{"visit", visits[0], func() ([]byte, error) { return encodeVisit(visits[0]) }, func(p []byte) error { _, err := decodeVisit(p); return err }},
		{"lead-binary", odd, func() ([]byte, error) { return encodeLead(odd) }, func(p []byte) error { _, err := decodeLead(p); return err }},
	}
	for _, c := range cases {
		var jsonNs float64
		b.Run(c.name+"/json", func(b *testing.B) {
			if c.name == "lead-binary" {
				b.Skip("JSON cannot hold a NaN")
			}
			for b.Loop() {
				p, err := json.Marshal(c.v)
				require.NoError(b, err)
				require.NoError(b, json.Unmarshal(p, reflect.New(reflect.TypeOf(c.v)).Interface()))
			}
			jsonNs = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
		})
		b.Run(c.name+"/coder", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				p, err := c.enc()
				require.NoError(b, err)
				require.NoError(b, c.dec(p))
			}
			if jsonNs > 0 {
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/jsonNs, "x-json")
			}
		})
	}
}
