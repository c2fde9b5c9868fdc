package pool_test

import (
	"errors"
	"testing"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/pool"
)

// FuzzPolicy: any policy document either fails to parse or compile with
// an error wrapping leadkit.ErrInvalid, or compiles into a pool whose
// WhyNotYet works on a prospect without panicking.
func FuzzPolicy(f *testing.F) {
	f.Add([]byte("conditions:\n  - {name: company, when: 'company.name != \"\"'}\n"))
	f.Add([]byte(`{"conditions": [{"name": "engaged", "when": "prospect.touches_90d >= 3 || prospect.score > 50"}], "segments": [{"name": "ai", "when": "\"ai\" in prospect.tags"}]}`))
	f.Add([]byte(`{"conditions": [{"name": "x", "when": "person.title matches \"[^x]{1000}\""}]}`))
	f.Add([]byte("conditions:\n  - {name: a, when: 'compnay.name'}\n  - {name: a, when: 'true'}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		pol, err := pool.ParsePolicy(data)
		if err != nil {
			if !errors.Is(err, leadkit.ErrInvalid) {
				t.Fatalf("parse error without ErrInvalid: %v", err)
			}
			return
		}
		p, err := pool.New(pool.Options{Policy: pol})
		if err != nil {
			if !errors.Is(err, leadkit.ErrInvalid) {
				t.Fatalf("compile error without ErrInvalid: %v", err)
			}
			return
		}
		pr, _, err := p.Upsert(ctx, pool.Observation{ID: "o", At: t0, Identities: []pool.Identity{email("a@acme.com")}, Tags: []string{"ai"}, Touch: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.WhyNotYet(ctx, pr.ID, t0); err != nil {
			t.Fatal(err)
		}
		if _, _, err := p.Qualify(ctx, pr.ID, t0); err != nil {
			t.Fatal(err)
		}
	})
}
