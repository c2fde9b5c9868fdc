// Package simpool converts package sim's pool observations to package
// pool's: sim imports only the root package (so it cannot name
// pool.Observation), and every program that feeds the simulated business
// to a pool (the examples, the pool, lifecycle and postgres benchmarks,
// sim's own tests) converts them here, field by field, one way.
package simpool

import (
	"github.com/leadkit/leadkit/pool"
	"github.com/leadkit/leadkit/sim"
)

// Observation returns o as the pool's observation: the same ID, time,
// identities (the simulator's kinds are the pool's), person and company
// profiles, source (channel and campaign) and touch. It shares o's
// profile maps.
func Observation(o *sim.Observation) pool.Observation {
	var ids []pool.Identity
	if len(o.Identities) > 0 {
		ids = make([]pool.Identity, len(o.Identities))
		for i, id := range o.Identities {
			ids[i] = pool.Identity{Kind: pool.IdentityKind(id.Kind), Value: id.Value}
		}
	}
	return pool.Observation{
		ID:         o.ID,
		At:         o.At,
		Identities: ids,
		Person:     o.Person,
		Company:    o.Company,
		Source:     pool.Source{Channel: o.Channel, Campaign: o.Campaign},
		Touch:      o.Touch,
	}
}
