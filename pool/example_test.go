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

// One observation with the identities of two prospects shows they are one
// person: the older absorbs the younger.
func ExamplePool_Upsert() {
	ctx := context.Background()
	n := 0
	p, _ := pool.New(pool.Options{NewID: func() string { n++; return fmt.Sprintf("p%d", n) }})
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	p.Upsert(ctx, pool.Observation{ID: "follow-1", At: at, Identities: []pool.Identity{{Kind: pool.Social, Value: "wechat:o6_bmjrPTlm6"}}})
	p.Upsert(ctx, pool.Observation{ID: "form-2", At: at.Add(time.Hour), Identities: []pool.Identity{{Kind: pool.Email, Value: "li@acme.cn"}},
		Person: leadkit.Person{Title: "CTO"}})
	pr, res, _ := p.Upsert(ctx, pool.Observation{ID: "bind-3", At: at.Add(2 * time.Hour),
		Identities: []pool.Identity{{Kind: pool.Social, Value: "WeChat:o6_bmjrPTlm6"}, {Kind: pool.Email, Value: "LI@acme.cn"}}})
	fmt.Println(pr.ID, res.Merged, pr.Person.Title, len(pr.Keys()))
	absorbed, _ := p.Store().Get(ctx, "p2")
	fmt.Println(absorbed.Status, absorbed.MergedInto)
	// Output:
	// p1 [p2] CTO 2
	// merged p1
}

// A segment lists the active prospects it selects, a page at a time.
func ExamplePool_Segment() {
	ctx := context.Background()
	n := 0
	p, _ := pool.New(pool.Options{NewID: func() string { n++; return fmt.Sprintf("p%d", n) },
		Policy: pool.Policy{Segments: []pool.Condition{{Name: "ai", When: `"ai" in prospect.tags`}}}})
	for i, tags := range [][]string{{"ai"}, {"crm"}, {"ai", "crm"}} {
		p.Upsert(ctx, pool.Observation{ID: fmt.Sprint("o", i), Identities: []pool.Identity{{Kind: pool.Email, Value: fmt.Sprintf("u%d@acme.com", i)}}, Tags: tags})
	}
	members, next, _ := p.Segment(ctx, "ai", "", 10, time.Time{})
	for _, m := range members {
		fmt.Println(m.ID, m.Tags)
	}
	fmt.Printf("next page: %q\n", next)
	// Output:
	// p1 [ai]
	// p3 [ai crm]
	// next page: ""
}
