package scoring

import (
	"errors"
	"math"
	"os"
	"strings"
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
		{ID: "0", Type: "page_view", Time: time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)},
		{ID: "1", Type: "download", Content: "/pricing", Time: asOf.Add(-48 * time.Hour), Attrs: map[string]any{"amount": 3.0, "tags": []any{"a", 1}}},
		{ID: "2", Type: "meeting", Time: asOf.Add(-time.Hour)},
	}
	zero := append([]leadkit.Event{{ID: "z", Type: "page_view"}}, evs...)
	f.Fuzz(func(t *testing.T, data []byte) {
		spec, err := ParseModel(data)
		if err != nil {
			return
		}
		m, err := Compile(spec, Options{})
		if err != nil {
			return
		}
		// A zero event time is an error for the lead, whatever the model.
		if _, err := m.Score(Input{Lead: lead, Events: zero, AsOf: asOf}); err == nil || !strings.Contains(err.Error(), `event "z": time is zero`) {
			t.Fatalf("zero time: %v", err)
		}
		res, err := m.Score(Input{Lead: lead, Events: evs, AsOf: asOf})
		if err != nil {
			var re *RuleError
			if !errors.As(err, &re) || re.LeadID != lead.ID {
				t.Fatalf("run-time error without a lead: %v", err)
			}
			return
		}
		for _, d := range res.Dimensions {
			if math.IsNaN(d.Score) || math.IsInf(d.Score, 0) || math.IsNaN(d.Lifetime) || math.IsInf(d.Lifetime, 0) {
				t.Fatalf("dimension %s not finite: %+v", d.Name, d)
			}
		}
		st, err := m.StateOf(Input{Lead: lead, Events: evs, AsOf: asOf})
		if err != nil {
			if m.asOfPred != "" && errors.Is(err, leadkit.ErrInvalid) {
				return // no incremental state for this model
			}
			t.Fatalf("full score worked but state failed: %v", err)
		}
		var r2 Result
		if err := m.ReadState(&r2, &st, lead, asOf); err != nil {
			t.Fatalf("full score worked but read failed: %v", err)
		}
		for i := range res.Dimensions {
			a, b := res.Dimensions[i].Score, r2.Dimensions[i].Score
			if math.Abs(a-b) > 1e-6*math.Max(1, math.Abs(a)) {
				t.Fatalf("dimension %s: full %v, incremental %v", res.Dimensions[i].Name, a, b)
			}
		}
	})
}
