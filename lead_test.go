package leadkit_test

import (
	"math/rand"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
)

func TestProfileUpdateAndClone(t *testing.T) {
	p := leadkit.Person{Email: "a@x.co", Title: "CTO", Interests: []string{"ai"}, Custom: map[string]any{"budget": 1}}
	c := p.Clone()
	p.Update(leadkit.Person{Title: "CEO", Interests: []string{"ai", "crm"}, Custom: map[string]any{"plan": "pro"}})
	assert.Equal(t, leadkit.Person{Email: "a@x.co", Title: "CEO", Interests: []string{"ai", "crm"}, Custom: map[string]any{"budget": 1, "plan": "pro"}}, p)
	assert.Equal(t, []string{"ai"}, c.Interests, "a clone shares nothing")
	assert.Equal(t, map[string]any{"budget": 1.0}, c.Custom, "custom fields come back in JSON's shapes")

	co := leadkit.Company{Name: "Acme", Employees: 50}
	co.Update(leadkit.Company{Employees: 0, Revenue: 2e6, TechStack: []string{"aws"}})
	assert.Equal(t, leadkit.Company{Name: "Acme", Employees: 50, Revenue: 2e6, TechStack: []string{"aws"}}, co, "a zero count changes nothing")
}

// Updates that arrive out of order end as in time order: each field keeps
// its latest observation.
func TestProfileUpdateAt(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	a := leadkit.Person{Title: "Analyst", Seniority: "staff", Custom: map[string]any{"budget": 1}}
	b := leadkit.Person{Title: "VP", Custom: map[string]any{"budget": 2}}
	var inOrder, reversed leadkit.Person
	s1, s2 := leadkit.Stamps{}, leadkit.Stamps{}
	inOrder.UpdateAt(a, t0, s1)
	inOrder.UpdateAt(b, t0.Add(time.Hour), s1)
	reversed.UpdateAt(b, t0.Add(time.Hour), s2)
	reversed.UpdateAt(a, t0, s2)
	reversed.UpdateAt(a, t0, s2) // a replay
	assert.Equal(t, leadkit.Person{Title: "VP", Seniority: "staff", Custom: map[string]any{"budget": 2.0}}, inOrder)
	assert.Equal(t, inOrder, reversed)
	assert.Equal(t, s1, s2)
}

// A profile known as of t (AsOf) with the updates up to t replayed over it
// is the profile those updates alone give, whatever order every update
// came in: what the engine evaluates fit rules on when it replays a
// lead's history.
func TestProfileAsOfThenReplayEqualsUpdatesUpToT(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	titles := []string{"", "CTO", "VP Sales", "Engineer"}
	type upd struct {
		at time.Time
		p  leadkit.Person
		c  leadkit.Company
	}
	for trial := range 300 {
		var ups []upd
		for i := range 1 + r.Intn(8) {
			u := upd{at: base.Add(time.Duration(r.Intn(10)) * time.Hour).Add(time.Duration(i) * time.Nanosecond)}
			u.p.Title, u.p.Seniority = titles[r.Intn(4)], titles[r.Intn(4)]
			if r.Intn(2) == 0 {
				u.p.Custom = map[string]any{"budget": float64(r.Intn(5))}
			}
			u.c.Employees, u.c.Revenue, u.c.Industry = r.Intn(3)*100, float64(r.Intn(3)), titles[r.Intn(4)]
			ups = append(ups, u)
		}
		var all leadkit.Person
		var allC leadkit.Company
		ps, cs := leadkit.Stamps{}, leadkit.Stamps{}
		for _, i := range r.Perm(len(ups)) {
			all.UpdateAt(ups[i].p, ups[i].at, ps)
			allC.UpdateAt(ups[i].c, ups[i].at, cs)
		}
		cut := base.Add(time.Duration(r.Intn(11)) * time.Hour)
		p, pst := all.AsOf(ps, cut)
		c, cst := allC.AsOf(cs, cut)
		var want leadkit.Person
		var wantC leadkit.Company
		wps, wcs := leadkit.Stamps{}, leadkit.Stamps{}
		for _, i := range r.Perm(len(ups)) {
			if u := ups[i]; !u.at.After(cut) {
				p.UpdateAt(u.p, u.at, pst)
				c.UpdateAt(u.c, u.at, cst)
				want.UpdateAt(u.p, u.at, wps)
				wantC.UpdateAt(u.c, u.at, wcs)
			}
		}
		require.Equal(t, want, p, "trial %d", trial)
		require.Equal(t, wantC, c, "trial %d", trial)
		require.Equal(t, wps, pst, "trial %d", trial)
	}
}

// Lead.Validate holds a profile to the caps every package and store use.
func TestLeadValidate(t *testing.T) {
	ok := leadkit.Lead{ID: "L1", AccountID: "A1", Source: "webinar", Person: leadkit.Person{Title: "CTO"}}
	require.NoError(t, ok.Validate())
	for name, l := range map[string]leadkit.Lead{
		"long source":     {Source: strings.Repeat("s", leadkit.MaxNameBytes+1)},
		"NUL account":     {AccountID: "a\x00"},
		"bad UTF-8 title": {Person: leadkit.Person{Title: "\xff"}},
		"bad company":     {Company: leadkit.Company{Employees: -1}},
	} {
		err := l.Validate()
		assert.ErrorIs(t, err, leadkit.ErrInvalid, name)
	}
}
