package journey

import (
	"errors"
	"strings"
	"testing"

	"github.com/leadkit/leadkit"
)

// FuzzCompileFunnel feeds arbitrary funnel documents (JSON or YAML) to
// ParseFunnelSpec and the compiler and runs every spec that compiles over a
// fixed set of timelines, one of them holding an attribute list over
// leadkit.MaxListItems. It checks that nothing panics, that parse and
// compile errors wrap leadkit.ErrInvalid, that a compile error is a join of
// problems where each step problem is a *StepError naming its step, that
// run errors wrap leadkit.ErrInvalid, and the funnel invariants: counts
// never grow along the steps and never exceed the number of leads.
func FuzzCompileFunnel(f *testing.F) {
	f.Add([]byte(`{"steps":[{"name":"a","types":["page_view"]},{"name":"b","types":["download"],"when":"event.channel == \"web\""}]}`))
	f.Add([]byte(`{"steps":[{"name":"x","when":"event.n > 3"}],"fields":[{"name":"event.n","type":"number"}],"order":"unordered","window":"1h"}`))
	f.Add([]byte(`{"steps":[{"name":"s","types":["a"],"when":"event.chanel =="}],"order":"strict"}`))
	f.Add([]byte(`{"steps":[]}`))
	f.Add([]byte("steps:\n  - name: a\n    types: [a]\n    when: event.list[0] == \"x\"\nfields:\n  - {name: event.list, type: strings}\nwindow: 2w\n"))
	tls := []Timeline{
		tl("l1", "page_view@0", "download@1", "a@2", "x@2"),
		tl("l2", "download@0", "page_view@0.5", "a@20"),
		tl("l3"),
		tl("l4", "a@0", "a@1", "download@2"),
	}
	tls[0].Events[1].Channel = "web"
	tls[1].Events[0].Attrs = map[string]any{"n": 5, "list": []string{"x", "y"}}
	tls[1].Events[2].Attrs = map[string]any{"n": "five"}
	tls[3].Events[0].Attrs = map[string]any{"list": make([]string, leadkit.MaxListItems+1)}
	tls[3].Events[1].Attrs = map[string]any{"list": []any{"x"}, "n": 1.5}
	f.Fuzz(func(t *testing.T, data []byte) {
		spec, err := ParseFunnelSpec(data)
		if err != nil {
			if !errors.Is(err, leadkit.ErrInvalid) {
				t.Fatalf("parse error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		cf, err := CompileFunnel(spec)
		if err != nil {
			if !errors.Is(err, leadkit.ErrInvalid) {
				t.Fatalf("compile error does not wrap ErrInvalid: %v", err)
			}
			// Every problem is one joined error; a step's problem is a
			// *StepError naming that very step.
			joined, ok := err.(interface{ Unwrap() []error })
			if !ok {
				t.Fatalf("compile error is not a join: %T", err)
			}
			for _, e := range joined.Unwrap() {
				if !errors.Is(e, leadkit.ErrInvalid) {
					t.Fatalf("problem does not wrap ErrInvalid: %v", e)
				}
				var se *StepError
				if !errors.As(e, &se) {
					if !strings.HasPrefix(e.Error(), "journey: funnel: ") {
						t.Fatalf("funnel-wide problem without its prefix: %v", e)
					}
					continue
				}
				if se.Index < 1 || se.Index > len(spec.Steps) || spec.Steps[se.Index-1].Name != se.Step {
					t.Fatalf("step error %+v does not match step %d of %d", se, se.Index, len(spec.Steps))
				}
				if se.Field != "name" && se.Field != "types" && se.Field != "when" {
					t.Fatalf("step error field %q", se.Field)
				}
				if (se.Line > 0 && se.Field != "when") || se.Line < 0 || se.Column < 0 {
					t.Fatalf("step error position %d:%d in field %s", se.Line, se.Column, se.Field)
				}
				if se.Line > 0 {
					lines := strings.Split(spec.Steps[se.Index-1].When, "\n")
					if se.Line > len(lines) || se.Column > len([]rune(lines[se.Line-1]))+1 {
						t.Fatalf("step error position %d:%d outside %q", se.Line, se.Column, spec.Steps[se.Index-1].When)
					}
				}
			}
			return
		}
		r, runErr := cf.Run(tls)
		if runErr != nil && !errors.Is(runErr, leadkit.ErrInvalid) {
			t.Fatalf("run error does not wrap ErrInvalid: %v", runErr)
		}
		// A lead with a bad event is refused, and named in the error.
		if (runErr == nil && r.Leads != len(tls)) || (runErr != nil && r.Leads >= len(tls)) || len(r.Steps) != len(spec.Steps) {
			t.Fatalf("leads %d steps %d", r.Leads, len(r.Steps))
		}
		for i, s := range r.Steps {
			if s.Count > r.Leads || (i > 0 && s.Count > r.Steps[i-1].Count) || s.Count < 0 {
				t.Fatalf("bad counts %+v", r.Steps)
			}
		}
	})
}
