package sim_test

import (
	"errors"
	"testing"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/sim"
)

// FuzzParseConfig: any document is read or refused with ErrInvalid, never
// a panic, and New takes what ParseConfig accepts or refuses it with
// ErrInvalid.
func FuzzParseConfig(f *testing.F) {
	for _, seed := range []string{
		`{"seed": 1, "leads": 300}`,
		"seed: 2\nleads: 50\nmonths: 3\nold_lead_age: 30d\n",
		`{"channels": [{"name": "web", "touches": 1, "types": ["page_view"], "log_odds": 0.2}], "golden": {"items": ["page_view"], "log_odds": 1}}`,
		`{"leads": -1}`, `{"old_lead_age": 5}`, `{"seniority": [{"value": "vp", "share": 0}]}`, `[]`, `{"leeds": 1}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := sim.ParseConfig(data)
		if err != nil {
			if !errors.Is(err, leadkit.ErrInvalid) {
				t.Fatalf("ParseConfig error not ErrInvalid: %v", err)
			}
			return
		}
		if c.Leads > 5000 {
			c.Leads = 5000 // New samples plans for the team size, not the run
		}
		if _, err := sim.New(c); err != nil && !errors.Is(err, leadkit.ErrInvalid) {
			t.Fatalf("New error not ErrInvalid: %v", err)
		}
	})
}
