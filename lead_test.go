package leadkit_test

import (
	"time"

	"testing"

	"github.com/stretchr/testify/assert"

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
