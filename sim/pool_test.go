package sim_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit/internal/simpool"
	"github.com/leadkit/leadkit/pool"
	"github.com/leadkit/leadkit/sim"
)

// toPool converts a simulated observation to the pool's.
func toPool(o *sim.Observation) pool.Observation { return simpool.Observation(o) }

// unionFind over string nodes.
type unionFind map[string]string

func (u unionFind) find(x string) string {
	if _, ok := u[x]; !ok {
		u[x] = x
	}
	for u[x] != x {
		u[x] = u[u[x]]
		x = u[x]
	}
	return x
}

func (u unionFind) union(a, b string) bool {
	ra, rb := u.find(a), u.find(b)
	if ra == rb {
		return false
	}
	u[rb] = ra
	return true
}

// TestPoolMergesPeople feeds the simulated observations to a real pool and
// holds the pool to what the identities allow.
//
// A person's observations carry identities of three kinds of sighting:
// "web" (website, social, paid search: a device ID and the subject, and
// the forms of content downloads and webinars, which carry the device with
// the address typed in), "main" (the main address with the phone, at
// offline events and from purchased lists) and "dup" (a duplicate
// person's second address). The exact expectation is one prospect per
// connected component of the identities seen together: a form fill links
// a person's anonymous visits to their address (and a duplicate's second
// address to them), while a person only ever seen at a trade show and on
// the website stays two prospects until something links them. So:
//
//   - active prospects = connected components of the (lead, group) graph;
//   - each prospect holds the identities of exactly one component;
//   - the pool's merges are exactly the observations that joined two
//     components seen before;
//   - per person (away from identities two people share), one prospect per
//     component of their sightings.
func TestPoolMergesPeople(t *testing.T) {
	ctx := context.Background()
	s, err := sim.New(sim.Config{Seed: 31, Leads: 4000})
	require.NoError(t, err)
	n := 0
	p, err := pool.New(pool.Options{NewID: func() string { n++; return fmt.Sprintf("p%06d", n) }})
	require.NoError(t, err)

	mainEmail := map[string]string{}
	uf := unionFind{}
	keyNode := map[string]string{} // identity key -> first (lead, group) node holding it
	nodes := map[string]bool{}
	groupsOf := map[string]map[string]bool{} // lead -> groups seen
	leadKeys := map[string][]string{}        // lead -> valid identity keys
	leadObs := map[string]int{}
	sharedBy := map[string]map[string]bool{} // identity key -> leads
	created, merged, wantMerges, obsCount := 0, 0, 0, 0
	for r := range s.Records() {
		switch r.Kind {
		case sim.KindLead:
			mainEmail[r.Lead.ID] = r.Lead.Person.Email
		case sim.KindObservation:
			obsCount++
			o := r.Observation
			group := "main"
			for _, id := range o.Identities {
				switch {
				case id.Kind == "device" || id.Kind == "subject":
					group = "web"
				case id.Kind == "email" && id.Value != mainEmail[o.Lead]:
					group = "dup"
				}
			}
			node := o.Lead + "/" + group
			if groupsOf[o.Lead] == nil {
				groupsOf[o.Lead] = map[string]bool{}
			}
			groupsOf[o.Lead][group] = true
			nodes[node] = true
			leadObs[o.Lead]++

			// What the pool must do with it: the components of the nodes
			// its valid identities were seen in before, joined.
			before := map[string]bool{}
			for _, id := range o.Identities {
				k, ok := pool.Normalize(pool.IdentityKind(id.Kind), id.Value, "").Key()
				if !ok {
					continue
				}
				leadKeys[o.Lead] = append(leadKeys[o.Lead], k)
				if sharedBy[k] == nil {
					sharedBy[k] = map[string]bool{}
				}
				sharedBy[k][o.Lead] = true
				if prev, seen := keyNode[k]; seen {
					before[uf.find(prev)] = true
				} else {
					keyNode[k] = node
				}
			}
			if len(before) > 1 {
				wantMerges++
			}
			for _, id := range o.Identities {
				if k, ok := pool.Normalize(pool.IdentityKind(id.Kind), id.Value, "").Key(); ok {
					uf.union(keyNode[k], node)
				}
			}
			uf.find(node)

			_, res, err := p.Upsert(ctx, toPool(o))
			require.NoError(t, err, "observation %s", o.ID)
			if res.Created {
				created++
			}
			merged += len(res.Merged)
		}
	}
	tr := s.Truth()
	require.Equal(t, tr.Observations, obsCount)

	components := map[string]bool{}
	for node := range nodes {
		components[uf.find(node)] = true
	}
	// Components that hold more than one person, and the keys two people share.
	leadsOf := map[string]map[string]bool{}
	for node := range nodes {
		root := uf.find(node)
		if leadsOf[root] == nil {
			leadsOf[root] = map[string]bool{}
		}
		leadsOf[root][strings.SplitN(node, "/", 2)[0]] = true
	}
	mixed := 0
	for _, ls := range leadsOf {
		if len(ls) > 1 {
			mixed++
		}
	}
	// Only a phone number can be shared by two people.
	shared := 0
	for k, ls := range sharedBy {
		if len(ls) > 1 {
			shared++
			assert.True(t, strings.HasPrefix(k, "phone:"), "%s is shared by %v", k, ls)
		}
	}

	rootKeys := map[string][]string{}
	for k, node := range keyNode {
		root := uf.find(node)
		rootKeys[root] = append(rootKeys[root], k)
	}

	// The pool's prospects.
	active := 0
	prospectOf := map[string]string{} // component -> prospect
	var mixedProspects int
	prospectOfKey := map[string]string{}
	require.NoError(t, p.Store().Scan(ctx, func(pr pool.Prospect) error {
		if pr.Status == pool.StatusMerged {
			assert.NotEmpty(t, pr.MergedInto)
			return nil
		}
		active++
		roots := map[string]bool{}
		leads := map[string]bool{}
		for _, k := range pr.Keys() {
			node, ok := keyNode[k]
			require.True(t, ok, "prospect %s holds %s, which no observation carried", pr.ID, k)
			roots[uf.find(node)] = true
			leads[strings.SplitN(node, "/", 2)[0]] = true
		}
		require.Len(t, roots, 1, "prospect %s spans components", pr.ID)
		for root := range roots {
			require.Empty(t, prospectOf[root], "component %s in prospects %s and %s", root, prospectOf[root], pr.ID)
			prospectOf[root] = pr.ID
			// Every identity of the component is the prospect's.
			assert.ElementsMatch(t, pr.Keys(), rootKeys[root], "prospect %s", pr.ID)
		}
		for _, k := range pr.Keys() {
			prospectOfKey[k] = pr.ID
		}
		if len(leads) > 1 {
			mixedProspects++
		}
		return nil
	}))

	people := len(groupsOf)
	groups, split, splitDup := 0, 0, 0
	for _, gs := range groupsOf {
		groups += len(gs)
		if len(gs) > 1 {
			split++
		}
		if gs["dup"] && gs["main"] {
			splitDup++
		}
	}
	t.Logf("%d leads, %d observed people, %d observations; %d (person, group) nodes, %d components (%d holding two or more people); pool: %d created, %d merged, %d active; %d people in several groups (%d duplicates seen under both addresses); %d identities shared by two people",
		tr.Leads, people, obsCount, groups, len(components), mixed, created, merged, active, split, splitDup, shared)

	assert.Equal(t, len(components), active, "one prospect per connected identity group")
	assert.Equal(t, len(components), len(prospectOf))
	assert.Equal(t, wantMerges, merged, "merges are the observations that joined components")
	assert.Equal(t, active, created-merged)
	assert.Equal(t, mixed, mixedProspects)
	// Per person, away from shared phones: one prospect per group the
	// person was seen in, never fewer, never more; and a person seen in
	// one group only is one prospect however many channels saw them.
	multi, linked := 0, 0
	for lead, gs := range groupsOf {
		prs := map[string]bool{}
		alone := true
		for _, k := range leadKeys[lead] {
			prs[prospectOfKey[k]] = true
			alone = alone && len(leadsOf[uf.find(keyNode[k])]) == 1
		}
		if !alone {
			continue
		}
		roots := map[string]bool{}
		for g := range gs {
			roots[uf.find(lead+"/"+g)] = true
		}
		assert.Len(t, prs, len(roots), "lead %s seen in groups %v", lead, gs)
		if len(gs) > 1 && len(roots) == 1 {
			linked++
		}
		if len(gs) == 1 && leadObs[lead] > 1 {
			multi++
		}
	}
	t.Logf("%d people seen by several channels of one group, each one prospect; %d seen in several groups that a form fill linked into one prospect", multi, linked)
	assert.Positive(t, multi)
	assert.Positive(t, linked, "form fills link a person's sightings")
	assert.Positive(t, split, "some people are seen in several groups")
}
