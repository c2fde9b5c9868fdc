package journey

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/leadkit/leadkit"
)

// FuzzCompileFunnel feeds arbitrary JSON funnel specs to the compiler and
// runs every spec that compiles over a fixed set of timelines. It checks
// that nothing panics, that every compile error wraps leadkit.ErrInvalid,
// and the funnel invariants: counts never grow along the steps and never
// exceed the number of leads.
func FuzzCompileFunnel(f *testing.F) {
	f.Add([]byte(`{"steps":[{"name":"a","types":["page_view"]},{"name":"b","types":["download"],"when":"Channel == \"web\""}]}`))
	f.Add([]byte(`{"steps":[{"name":"x","when":"Attrs[\"n\"] > 3"}],"order":"unordered","window":3600000000000}`))
	f.Add([]byte(`{"steps":[{"name":"s","types":["a"],"when":"Chanel =="}],"order":"strict"}`))
	f.Add([]byte(`{"steps":[]}`))
	tls := []Timeline{
		tl("l1", "page_view@0", "download@1", "a@2", "x@2"),
		tl("l2", "download@0", "page_view@0.5", "a@20"),
		tl("l3"),
	}
	tls[0].Events[1].Channel = "web"
	tls[1].Events[0].Attrs = map[string]any{"n": 5}
	tls[1].Events[2].Attrs = map[string]any{"n": "five"}
	f.Fuzz(func(t *testing.T, data []byte) {
		var spec FunnelSpec
		if json.Unmarshal(data, &spec) != nil {
			return
		}
		cf, err := CompileFunnel(spec)
		if err != nil {
			if !errors.Is(err, leadkit.ErrInvalid) {
				t.Fatalf("compile error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		r, _ := cf.Run(tls)
		if r.Leads != len(tls) || len(r.Steps) != len(spec.Steps) {
			t.Fatalf("leads %d steps %d", r.Leads, len(r.Steps))
		}
		for i, s := range r.Steps {
			if s.Count > r.Leads || (i > 0 && s.Count > r.Steps[i-1].Count) || s.Count < 0 {
				t.Fatalf("bad counts %+v", r.Steps)
			}
		}
	})
}
