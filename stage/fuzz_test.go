package stage_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/stage"
)

// FuzzDefinition feeds arbitrary bytes to ParseDefinition and New. Neither
// may panic; every error must wrap leadkit.ErrInvalid; a definition that
// compiles must run a subject and draw without panicking.
func FuzzDefinition(f *testing.F) {
	for _, d := range []stage.Definition{stage.Classic(), stage.Waterfall()} {
		b, _ := json.Marshal(d)
		f.Add(b)
	}
	f.Add([]byte("name: p\ninitial: A\nstages: [{name: A}, {name: B, terminal: true}]\ntransitions: [{name: ab, from: [A], to: B}]"))
	f.Add([]byte(`{"initial":"A","stages":[{"name":"A","sla":"3d"}],"transitions":[{"name":"x","from":["*"],"to":"A"}]}`))
	f.Add([]byte("name: p\ninitial: A\nstages: [{name: A, sla: 2d, team: sdr}, {name: B, terminal: true}]\ntransitions: [{name: ab, from: [A], to: B}]\ntargets: [{from: A, to: B, rate: 0.4, cycle_time: 1d}]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		def, err := stage.ParseDefinition(data)
		if err != nil {
			if !errors.Is(err, leadkit.ErrInvalid) {
				t.Fatalf("parse error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		m, err := stage.New(def, stage.Options{})
		if err != nil {
			if !errors.Is(err, leadkit.ErrInvalid) {
				t.Fatalf("New error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		_ = def.Mermaid()
		_ = def.DOT()
		l := stage.Lead("fuzz")
		if _, err := m.Start(ctx, l, stage.StartOptions{}); err != nil {
			t.Fatalf("start: %v", err)
		}
		_, _, _ = m.Advance(ctx, l, stage.Facts{"score": 150, "grade": "A"}, stage.Request{})
		for _, tr := range def.Transitions {
			_, _ = m.Fire(ctx, l, tr.Name, stage.Request{})
		}
		h, err := m.History(ctx, l)
		if err != nil {
			t.Fatal(err)
		}
		for i, e := range h {
			if e.Version != int64(i+1) {
				t.Fatalf("history entry %d has version %d", i, e.Version)
			}
		}
		// Targets New accepted are targets Gaps accepts, on a funnel by
		// owner of what the subject did.
		if len(m.FunnelStages()) >= 2 {
			r, err := m.Funnel(ctx, stage.FunnelOptions{ByOwner: true, Now: time.Now()})
			if err != nil {
				t.Fatalf("funnel: %v", err)
			}
			if _, err := m.Gaps(r); err != nil {
				t.Fatalf("gaps of targets New accepted: %v", err)
			}
		}
	})
}

// FuzzFunnelSpec reads funnel specs (by owner, with SLAs) as a tenant
// would send them: a spec is refused with ErrInvalid or counts visits into
// a result that encodes as JSON (no NaN or Inf anywhere).
func FuzzFunnelSpec(f *testing.F) {
	f.Add([]byte("stages: [MQL, SAL]\norder: [Raw, MQL, SAL, SQL]\ncohort: month\n"), "MQL", "ana", int64(3600))
	f.Add([]byte(`{"stages":["MQL","SAL","SQL"],"by_owner":true,"sla":{"MQL":"2d"},"now":"2026-03-09T00:00:00Z"}`), "SAL", "", int64(-86400))
	f.Add([]byte(`{"stages":["A","B"],"by_owner":true,"sla":{"A":"-1d"}}`), "A", "bo", int64(0))
	f.Fuzz(func(t *testing.T, data []byte, st, owner string, dt int64) {
		spec, err := stage.ParseFunnelSpec(data)
		if err != nil {
			if !errors.Is(err, leadkit.ErrInvalid) {
				t.Fatalf("parse error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		acc, err := stage.NewFunnel(spec)
		if err != nil {
			if !errors.Is(err, leadkit.ErrInvalid) {
				t.Fatalf("NewFunnel error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		t0 := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
		for i, s := range spec.Stages {
			vs := []stage.Visit{{LeadID: "a", Stage: s, At: t0, Owner: owner}, {LeadID: "a", Stage: st, At: t0.Add(time.Duration(dt) * time.Second)}}
			if err := acc.Add(vs[:1+i%2]); err != nil && !errors.Is(err, leadkit.ErrInvalid) {
				t.Fatalf("add: %v", err)
			}
		}
		r := acc.Result()
		if _, err := json.Marshal(r); err != nil {
			t.Fatalf("result does not encode: %v", err)
		}
		for _, step := range r.Owners {
			base := 0
			for _, o := range step.Owners {
				base += o.Rate.Base
			}
			if base != step.Rate.Base {
				t.Fatalf("%s -> %s: owners' bases %d, the step's %d", step.From, step.To, base, step.Rate.Base)
			}
		}
	})
}

// FuzzGuard compiles arbitrary guard expressions over typed facts. A guard
// must compile or fail with a *DefinitionError; one that compiles must
// evaluate without panicking, and the "why not yet" explanation must agree
// with the guard itself: Ready exactly when Advance moves the lead.
func FuzzGuard(f *testing.F) {
	for _, g := range []string{
		`score >= 100 && grade in ["A","B"]`,
		`score > 10 || (vip && "x" in tags)`,
		`not vip and score < 5`,
		`len(tags) > 2 && all(tags, # != "spam")`,
		`domain(email) == "acme.com"`,
		`score / 0 > 1`,
		`len(map(1..100000, #)) > 0`,
		`score >=`,
		`unknown > 1`,
	} {
		f.Add(g, 120.0, "B", true)
	}
	f.Fuzz(func(t *testing.T, guard string, score float64, grade string, vip bool) {
		def := stage.Definition{
			Name: "fz", Initial: "A",
			Facts:  map[string]leadkit.FieldType{"score": leadkit.TypeNumber, "grade": leadkit.TypeString, "vip": leadkit.TypeBool, "tags": leadkit.TypeStrings, "email": leadkit.TypeString},
			Stages: []stage.Stage{{Name: "A"}, {Name: "B", Terminal: true}},
			Transitions: []stage.Transition{
				{Name: "go", From: []string{"A"}, To: "B", Auto: true, Guard: guard},
			},
		}
		m, err := stage.New(def, stage.Options{})
		if err != nil {
			var de *stage.DefinitionError
			if !errors.As(err, &de) {
				t.Fatalf("not a DefinitionError: %v", err)
			}
			return
		}
		facts := stage.Facts{"score": score, "grade": grade, "vip": vip, "tags": []string{grade, "x"}, "email": grade + "@acme.com"}
		ex, explainErr := m.Explain("A", facts)
		l := stage.Lead("x")
		if _, err := m.Start(ctx, l, stage.StartOptions{}); err != nil {
			t.Fatal(err)
		}
		_, n, advErr := m.Advance(ctx, l, facts, stage.Request{})
		if explainErr != nil {
			t.Fatalf("explain failed: %v", explainErr)
		}
		if advErr != nil {
			if !errors.Is(advErr, stage.ErrGuardFailed) {
				t.Fatalf("advance error is not ErrGuardFailed: %v", advErr)
			}
			if ex[0].Ready {
				t.Fatalf("guard %q: explain says ready, advance failed: %v", guard, advErr)
			}
			return
		}
		if ex[0].Ready != (n == 1) {
			t.Fatalf("guard %q: explain says ready=%v, advance moved %d", guard, ex[0].Ready, n)
		}
	})
}
