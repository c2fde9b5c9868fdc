package leadkit_test

import (
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
