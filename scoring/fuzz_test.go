package scoring

import (
	"math"
	"os"
	"testing"
	"time"

	"github.com/leadkit/leadkit"
)

// FuzzParseCompile feeds arbitrary documents to ParseModel and Compile; a
// model that compiles must score sample leads without panicking, and every
// score it returns must be finite.
func FuzzParseCompile(f *testing.F) {
	if b, err := os.ReadFile("testdata/bench_model.yaml"); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`{"name":"m","dimensions":[{"name":"a","expr":"b*2"},{"name":"b","fit":[{"name":"r","when":"true","points":1}]}]}`))
	f.Add([]byte("name: m\ndimensions:\n  - name: x\n    expr: x + 1\n"))
	asOf := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	lead := vpLead()
	evs := []leadkit.Event{
		{ID: "1", Type: "download", Content: "/pricing", Time: asOf.Add(-48 * time.Hour), Attrs: map[string]any{"amount": 3.0}},
		{ID: "2", Type: "meeting", Time: asOf.Add(-time.Hour)},
		{ID: "3", Type: "page_view", Time: time.Time{}},
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		spec, err := ParseModel(data)
		if err != nil {
			return
		}
		m, err := Compile(spec, Options{})
		if err != nil {
			return
		}
		res, err := m.Score(Input{Lead: lead, Events: evs, AsOf: asOf})
		if err != nil {
			return
		}
		for _, d := range res.Dimensions {
			if math.IsNaN(d.Score) || math.IsInf(d.Score, 0) || math.IsNaN(d.Lifetime) || math.IsInf(d.Lifetime, 0) {
				t.Fatalf("dimension %s not finite: %+v", d.Name, d)
			}
		}
		st, err := m.StateOf(Input{Lead: lead, Events: evs, AsOf: asOf})
		if err != nil {
			t.Fatalf("full score worked but state failed: %v", err)
		}
		var r2 Result
		_ = m.ReadState(&r2, &st, lead, asOf)
	})
}
