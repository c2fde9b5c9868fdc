package pool_test

import (
	"context"
	"fmt"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/pool"
)

// A prospect seen twice, under two identities, is one prospect; it
// graduates once it meets the lead definition.
func Example() {
	ctx := context.Background()
	pol, err := pool.ParsePolicy([]byte(`
conditions:
  - {name: company, when: 'company.name != ""'}
  - {name: reachable, when: 'prospect.has_email || prospect.has_phone'}
  - {name: business email, when: 'prospect.business_email'}
`))
	if err != nil {
		panic(err)
	}
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	p, err := pool.New(pool.Options{Policy: pol, DefaultRegion: "US", Now: func() time.Time { return at.Add(time.Hour) },
		NewID: func() string { return "p1" }})
	if err != nil {
		panic(err)
	}
	// A webinar viewer leaves a phone number.
	pr, _, _ := p.Upsert(ctx, pool.Observation{ID: "webinar-42", At: at,
		Identities: []pool.Identity{{Kind: pool.Phone, Value: "(415) 555-0123"}}, Source: pool.Source{Channel: "webinar"}, Touch: true})
	why, _ := p.WhyNotYet(ctx, pr.ID, time.Time{})
	for _, c := range why {
		fmt.Println("not yet:", c.Condition, c.Values)
	}
	// Later a form fill with the same phone, a work email and the company.
	pr, _, _ = p.Upsert(ctx, pool.Observation{ID: "form-7", At: at.Add(30 * time.Minute),
		Identities: []pool.Identity{{Kind: pool.Email, Value: "Ada@Acme.com"}, {Kind: pool.Phone, Value: "+1 415 555 0123"}},
		Company:    leadkit.Company{Name: "Acme"}})
	fmt.Println(pr.ID, pr.Keys())
	g, ok, _ := p.Qualify(ctx, pr.ID, time.Time{})
	fmt.Println(ok, g.LeadID, g.Conditions, g.Lead.Source)
	// Output:
	// not yet: company map[company.name:]
	// not yet: business email map[prospect.business_email:false]
	// p1 [phone:+14155550123 email:ada@acme.com]
	// true L-p1 [company reachable business email] webinar
}
