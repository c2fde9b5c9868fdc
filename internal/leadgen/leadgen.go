// Package leadgen generates deterministic synthetic leads and events for
// tests and benchmarks: the same seed always yields the same data.
package leadgen

import (
	"fmt"
	"math/rand"
	"sort"
	"time"

	"github.com/leadkit/leadkit"
)

// Vocabularies the generator draws from; tests may refer to them.
var (
	Seniorities = []string{"c_level", "vp", "director", "manager", "individual", "student", ""}
	Departments = []string{"marketing", "it", "sales", "finance", "hr", "engineering", ""}
	Countries   = []string{"US", "DE", "FR", "GB", "IN", "BR", "JP", ""}
	Industries  = []string{"software", "finance", "retail", "healthcare", "education", "manufacturing", ""}
	Titles      = []string{"Head of Marketing", "VP Sales", "CTO", "Marketing Manager", "Student", "Data Engineer", "IT Director", "Chief Executive Officer", ""}
	Domains     = []string{"acme.com", "gmail.com", "globex.io", "yahoo.com", "initech.de", "umbrella.fr"}
	Tech        = []string{"salesforce", "hubspot", "snowflake", "aws", "gcp", "marketo", "zendesk"}
	Interests   = []string{"analytics", "crm", "automation", "security", "ai"}
	EventTypes  = []string{
		leadkit.EventPageView, leadkit.EventFormSubmitted, leadkit.EventDownload,
		leadkit.EventWebinarRegistered, leadkit.EventWebinarAttended, leadkit.EventEmailOpened,
		leadkit.EventEmailClicked, leadkit.EventMeeting, leadkit.EventSDRCall, leadkit.EventUnsubscribed,
	}
	Channels = []string{"web", "email", "paid", "social", "event"}
	Contents = []string{"/pricing", "/blog/x", "/docs", "whitepaper-ai", "case-study", "/pricing/enterprise", "demo"}
)

// Gen is a deterministic generator. It is not safe for concurrent use.
type Gen struct {
	r *rand.Rand
}

// New returns a generator seeded with seed.
func New(seed int64) *Gen { return &Gen{r: rand.New(rand.NewSource(seed))} }

// Rand exposes the generator's source for callers that need more draws.
func (g *Gen) Rand() *rand.Rand { return g.r }

func (g *Gen) pick(list []string) string { return list[g.r.Intn(len(list))] }

func (g *Gen) some(list []string) []string {
	var out []string
	for _, s := range list {
		if g.r.Intn(3) == 0 {
			out = append(out, s)
		}
	}
	return out
}

// Lead returns lead number i with a random profile and company, created
// before asOf. Custom fields: person.budget (number), person.newsletter
// (bool), company.plan (string) and company.regions (strings), each
// sometimes missing.
func (g *Gen) Lead(i int, asOf time.Time) leadkit.Lead {
	first := []string{"Ada", "Bo", "Cy", "Di", "Ed"}[g.r.Intn(5)]
	l := leadkit.Lead{
		ID:        fmt.Sprintf("lead-%d", i),
		AccountID: fmt.Sprintf("acct-%d", g.r.Intn(1+i/3+1)),
		CreatedAt: asOf.Add(-time.Duration(g.r.Intn(400*24)) * time.Hour),
		Source:    g.pick([]string{"webinar", "list import", "organic", "paid"}),
		Person: leadkit.Person{
			Email:      fmt.Sprintf("%s%d@%s", first, i, g.pick(Domains)),
			FirstName:  first,
			Title:      g.pick(Titles),
			Seniority:  g.pick(Seniorities),
			Department: g.pick(Departments),
			Country:    g.pick(Countries),
			AgeBand:    g.pick([]string{"18-24", "25-34", "35-44", "45-54", ""}),
			Interests:  g.some(Interests),
			Custom:     map[string]any{},
		},
		Company: leadkit.Company{
			Name:      fmt.Sprintf("Co %d", g.r.Intn(100)),
			Domain:    g.pick(Domains),
			Industry:  g.pick(Industries),
			Country:   g.pick(Countries),
			Employees: []int{0, 5, 50, 200, 1000, 5000, 20000}[g.r.Intn(7)],
			Revenue:   float64(g.r.Intn(1000)) * 1e5,
			TechStack: g.some(Tech),
			Custom:    map[string]any{},
		},
	}
	if g.r.Intn(4) > 0 {
		l.Person.Custom["budget"] = float64(g.r.Intn(100)) * 1000
	}
	if g.r.Intn(2) == 0 {
		l.Person.Custom["newsletter"] = g.r.Intn(2) == 0
	}
	if g.r.Intn(3) > 0 {
		l.Company.Custom["plan"] = g.pick([]string{"free", "pro", "enterprise"})
	}
	if g.r.Intn(3) > 0 {
		l.Company.Custom["regions"] = g.some([]string{"emea", "amer", "apac"})
	}
	return l
}

// Events returns n events of lead id spread over the span before asOf,
// sorted by time. Attrs carry "amount" (number) on some events.
func (g *Gen) Events(leadID string, n int, asOf time.Time, span time.Duration) []leadkit.Event {
	evs := make([]leadkit.Event, n)
	for i := range evs {
		e := leadkit.Event{
			ID:       fmt.Sprintf("%s-e%d", leadID, i),
			LeadID:   leadID,
			Type:     g.pick(EventTypes),
			Channel:  g.pick(Channels),
			Campaign: fmt.Sprintf("c%d", g.r.Intn(5)),
			Content:  g.pick(Contents),
			Time:     asOf.Add(-time.Duration(g.r.Int63n(int64(span)))).Truncate(time.Second),
		}
		if g.r.Intn(4) == 0 {
			e.Attrs = map[string]any{"amount": float64(g.r.Intn(500))}
		}
		evs[i] = e
	}
	sort.SliceStable(evs, func(a, b int) bool { return evs[a].Time.Before(evs[b].Time) })
	return evs
}
