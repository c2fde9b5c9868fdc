package pool_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/pool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	ctx = context.Background()
	t0  = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
)

func newPool(t *testing.T, pol pool.Policy) *pool.Pool {
	t.Helper()
	n := 0
	var mu sync.Mutex
	p, err := pool.New(pool.Options{Policy: pol, DefaultRegion: "US", Now: func() time.Time { return t0.Add(30 * 24 * time.Hour) },
		NewID: func() string { mu.Lock(); defer mu.Unlock(); n++; return fmt.Sprintf("p%03d", n) }})
	require.NoError(t, err)
	return p
}

func email(v string) pool.Identity { return pool.Identity{Kind: pool.Email, Value: v} }
func phone(v string) pool.Identity { return pool.Identity{Kind: pool.Phone, Value: v} }
func crm(v string) pool.Identity   { return pool.Identity{Kind: pool.CRM, Value: v} }

func TestUpsertFindsByNormalisedIdentity(t *testing.T) {
	p := newPool(t, pool.Policy{})
	a, res, err := p.Upsert(ctx, pool.Observation{ID: "o1", At: t0, Identities: []pool.Identity{email(" Ada@Example.COM ")},
		Person: leadkit.Person{FirstName: "Ada"}, Source: pool.Source{Channel: "webinar"}, Touch: true})
	require.NoError(t, err)
	assert.True(t, res.Created)
	assert.Equal(t, "ada@example.com", a.Identities[0].Value)
	o2 := pool.Observation{ID: "o2", At: t0.Add(time.Hour), Identities: []pool.Identity{email("ada@example.com"), phone("(415) 555-0123")},
		Person: leadkit.Person{Title: "CTO"}, Source: pool.Source{Channel: "ads"}, Touch: true}
	b, res, err := p.Upsert(ctx, o2)
	require.NoError(t, err)
	assert.False(t, res.Created)
	assert.Equal(t, a.ID, b.ID)
	assert.Equal(t, "Ada", b.Person.FirstName)
	assert.Equal(t, "CTO", b.Person.Title)
	assert.Equal(t, "webinar", b.Source.Channel, "the first source is kept")
	assert.Len(t, b.Touches, 2)
	assert.Equal(t, int64(2), b.Version)
	// Found by the phone, in another spelling.
	c, _, err := p.Upsert(ctx, pool.Observation{ID: "o3", At: t0.Add(2 * time.Hour), Identities: []pool.Identity{phone("+1 415 555 0123")}})
	require.NoError(t, err)
	assert.Equal(t, a.ID, c.ID)

	// Replaying an observation changes nothing.
	again, res, err := p.Upsert(ctx, o2)
	require.NoError(t, err)
	assert.True(t, res.Replayed)
	assert.Equal(t, c.Version, again.Version)
	assert.Len(t, again.Touches, 2)
	// Its ID with other content is refused: an ID names one observation.
	o2.Touch = false
	_, _, err = p.Upsert(ctx, o2)
	assert.ErrorIs(t, err, pool.ErrReused)
}

func TestUpsertMergesIntoTheOlder(t *testing.T) {
	p := newPool(t, pool.Policy{})
	old, _, err := p.Upsert(ctx, pool.Observation{ID: "o1", At: t0, Identities: []pool.Identity{email("a@acme.com")},
		Person: leadkit.Person{Title: "VP Sales"}, Tags: []string{"ebook"}})
	require.NoError(t, err)
	young, _, err := p.Upsert(ctx, pool.Observation{ID: "o2", At: t0.Add(24 * time.Hour), Identities: []pool.Identity{phone("415-555-0199")},
		Person: leadkit.Person{Title: "Sales", City: "SF"}, Tags: []string{"webinar"}})
	require.NoError(t, err)
	require.NotEqual(t, old.ID, young.ID)

	m, res, err := p.Upsert(ctx, pool.Observation{ID: "o3", At: t0.Add(48 * time.Hour), Identities: []pool.Identity{email("A@acme.com"), phone("+14155550199")}})
	require.NoError(t, err)
	assert.Equal(t, old.ID, m.ID, "the older prospect survives")
	assert.Equal(t, []string{young.ID}, res.Merged)
	assert.Equal(t, "VP Sales", m.Person.Title, "the survivor's own fields win")
	assert.Equal(t, "SF", m.Person.City, "empty fields are filled from the absorbed one")
	assert.ElementsMatch(t, []string{"ebook", "webinar"}, m.Tags)
	assert.Len(t, m.Keys(), 2)
	assert.Equal(t, []string{young.ID}, m.Absorbed)
	gone, err := p.Store().Get(ctx, young.ID)
	require.NoError(t, err)
	assert.Equal(t, pool.StatusMerged, gone.Status)
	assert.Equal(t, old.ID, gone.MergedInto)
	assert.Equal(t, "Sales", gone.Person.Title, "the absorbed history is kept")
	// The absorbed prospect's identity now finds the survivor.
	f, _, err := p.Upsert(ctx, pool.Observation{ID: "o4", Identities: []pool.Identity{phone("4155550199")}})
	require.NoError(t, err)
	assert.Equal(t, old.ID, f.ID)
}

func TestConflictingMergeRefused(t *testing.T) {
	p := newPool(t, pool.Policy{})
	a, _, err := p.Upsert(ctx, pool.Observation{ID: "o1", Identities: []pool.Identity{email("a@acme.com"), crm("salesforce:001")}})
	require.NoError(t, err)
	b, _, err := p.Upsert(ctx, pool.Observation{ID: "o2", Identities: []pool.Identity{email("b@acme.com"), crm("salesforce:002")}})
	require.NoError(t, err)
	_, _, err = p.Upsert(ctx, pool.Observation{ID: "o3", Identities: []pool.Identity{email("a@acme.com"), email("b@acme.com")}})
	require.Error(t, err)
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.ErrorContains(t, err, "different CRM IDs")
	for _, id := range []string{a.ID, b.ID} {
		got, err := p.Store().Get(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, pool.StatusActive, got.Status, "nothing changes")
		assert.Equal(t, int64(1), got.Version)
	}
	// The refused observation can be sent again once fixed: it was not
	// recorded.
	_, _, err = p.Upsert(ctx, pool.Observation{ID: "o3", Identities: []pool.Identity{email("a@acme.com")}})
	require.NoError(t, err)
}

func TestUpsertBadInput(t *testing.T) {
	p := newPool(t, pool.Policy{})
	for name, obs := range map[string]pool.Observation{
		"no ID":            {Identities: []pool.Identity{email("a@b.co")}},
		"no identity":      {ID: "x"},
		"only invalid":     {ID: "x", Identities: []pool.Identity{phone("not a number")}},
		"unknown kind":     {ID: "x", Identities: []pool.Identity{{Kind: "fax", Value: "1"}}},
		"time":             {ID: "x", At: time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), Identities: []pool.Identity{email("a@b.co")}},
		"long tag":         {ID: "x", Identities: []pool.Identity{email("a@b.co")}, Tags: []string{strings.Repeat("t", leadkit.MaxNameBytes+1)}},
		"NUL in title":     {ID: "x", Identities: []pool.Identity{email("a@b.co")}, Person: leadkit.Person{Title: "a\x00"}},
		"negative company": {ID: "x", Identities: []pool.Identity{email("a@b.co")}, Company: leadkit.Company{Employees: -1}},
	} {
		_, _, err := p.Upsert(ctx, obs)
		assert.ErrorIs(t, err, leadkit.ErrInvalid, name)
	}
	// An invalid identity beside a valid one is kept, flagged, not matched.
	pr, _, err := p.Upsert(ctx, pool.Observation{ID: "ok", Identities: []pool.Identity{email("a@b.co"), phone("12")}})
	require.NoError(t, err)
	require.Len(t, pr.Identities, 2)
	assert.NotEmpty(t, pr.Identities[1].Invalid)
	assert.Len(t, pr.Keys(), 1)
	n := 0
	require.NoError(t, p.Store().Scan(ctx, func(pool.Prospect) error { n++; return nil }))
	assert.Equal(t, 1, n, "refused observations wrote nothing")
}

// Concurrent upserts of one identity make one prospect; concurrent merges
// lose no identity.
func TestConcurrentUpserts(t *testing.T) {
	p := newPool(t, pool.Policy{})
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := p.Upsert(ctx, pool.Observation{ID: fmt.Sprintf("o%d", i), Identities: []pool.Identity{email("same@acme.com"), email(fmt.Sprintf("alias%d@acme.com", i))}, Touch: true})
			assert.NoError(t, err)
		}()
	}
	wg.Wait()
	var active []pool.Prospect
	require.NoError(t, p.Store().Scan(ctx, func(pr pool.Prospect) error {
		if pr.Status != pool.StatusMerged {
			active = append(active, pr)
		}
		return nil
	}))
	require.Len(t, active, 1, "one prospect for one person")
	assert.Len(t, active[0].Keys(), 41, "every alias kept")
	assert.Len(t, active[0].Touches, 40)
}

var policy = pool.Policy{Conditions: []pool.Condition{
	{Name: "company", When: `company.name != ""`},
	{Name: "business email", When: `prospect.business_email`},
	{Name: "engaged", When: `prospect.touches_90d >= 2 || prospect.score >= 50`},
}}

func TestPolicyWhyNotYetAndQualify(t *testing.T) {
	p := newPool(t, policy)
	pr, _, err := p.Upsert(ctx, pool.Observation{ID: "o1", At: t0, Identities: []pool.Identity{email("ada@gmail.com")}, Touch: true})
	require.NoError(t, err)
	why, err := p.WhyNotYet(ctx, pr.ID, time.Time{})
	require.NoError(t, err)
	require.Len(t, why, 3)
	assert.Equal(t, "company", why[0].Condition)
	assert.Equal(t, map[string]any{"company.name": ""}, why[0].Values)
	assert.Equal(t, map[string]any{"prospect.business_email": false}, why[1].Values)
	assert.Equal(t, 1.0, why[2].Values["prospect.touches_90d"])
	_, ok, err := p.Qualify(ctx, pr.ID, time.Time{})
	require.NoError(t, err)
	assert.False(t, ok)

	pr, _, err = p.Upsert(ctx, pool.Observation{ID: "o2", At: t0.Add(time.Hour), Identities: []pool.Identity{email("ada@gmail.com"), email("ada@acme.com")},
		Company: leadkit.Company{Name: "Acme"}, Touch: true})
	require.NoError(t, err)
	why, err = p.WhyNotYet(ctx, pr.ID, time.Time{})
	require.NoError(t, err)
	require.Len(t, why, 1, "%v", why)
	assert.Equal(t, "business email", why[0].Condition, "the first email is free mail")

	// Exactly once under concurrency.
	p2 := newPool(t, pool.Policy{Conditions: []pool.Condition{{Name: "company", When: `company.name != ""`}}})
	pr, _, err = p2.Upsert(ctx, pool.Observation{ID: "o1", Identities: []pool.Identity{email("bo@acme.com")}, Company: leadkit.Company{Name: "Acme"}})
	require.NoError(t, err)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var grads []pool.Graduation
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g, ok, err := p2.Qualify(ctx, pr.ID, time.Time{})
			assert.NoError(t, err)
			if ok {
				mu.Lock()
				grads = append(grads, g)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	require.Len(t, grads, 1, "graduated exactly once")
	assert.Equal(t, "L-"+pr.ID, grads[0].LeadID)
	assert.Equal(t, []string{"company"}, grads[0].Conditions)
	assert.Equal(t, "Acme", grads[0].Lead.Company.Name)
	got, err := p2.Store().Get(ctx, pr.ID)
	require.NoError(t, err)
	assert.Equal(t, pool.StatusGraduated, got.Status)
}

func TestOptedOutNeverGraduates(t *testing.T) {
	p := newPool(t, pool.Policy{})
	pr, _, err := p.Upsert(ctx, pool.Observation{ID: "o1", Identities: []pool.Identity{email("c@acme.com")}, Consent: &pool.Consent{OptedOut: true, How: "unsubscribe link"}})
	require.NoError(t, err)
	assert.Equal(t, pool.StatusOptedOut, pr.Status)
	_, ok, err := p.Qualify(ctx, pr.ID, time.Time{})
	require.NoError(t, err)
	assert.False(t, ok)
	gs, err := p.QualifyAll(ctx, time.Time{})
	require.NoError(t, err)
	assert.Empty(t, gs)
}

func TestParsePolicy(t *testing.T) {
	pol, err := pool.ParsePolicy([]byte("conditions:\n  - {name: company, when: 'company.name != \"\"'}\nfree_mail_domains: [example-mail.com]\n"))
	require.NoError(t, err)
	assert.Equal(t, []string{"example-mail.com"}, pol.FreeMailDomains)
	for _, bad := range []string{`{"conditionz": []}`, `{"Conditions": []}`, "conditions: []\nconditions: []\n"} {
		_, err := pool.ParsePolicy([]byte(bad))
		assert.ErrorIs(t, err, leadkit.ErrInvalid, bad)
	}
	_, err = pool.New(pool.Options{Policy: pool.Policy{Conditions: []pool.Condition{
		{Name: "typo", When: `compnay.name != ""`},
		{Name: "undeclared", When: `person.budget > 10`},
		{Name: "typo", When: `true`},
	}}})
	require.Error(t, err)
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.ErrorContains(t, err, `condition "typo": line 1, column 1: unknown name compnay: did you mean company`)
	assert.ErrorContains(t, err, `declare it in the policy's fields`)
	assert.ErrorContains(t, err, `condition "typo" defined twice`)
	_, err = pool.New(pool.Options{DefaultRegion: "XX"})
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
}

func TestQualifyEach(t *testing.T) {
	p := newPool(t, pool.Policy{Conditions: []pool.Condition{{Name: "company", When: `company.name != ""`}}})
	a, _, err := p.Upsert(ctx, pool.Observation{ID: "o1", Identities: []pool.Identity{email("a@acme.com")}, Company: leadkit.Company{Name: "Acme"}})
	require.NoError(t, err)
	b, _, err := p.Upsert(ctx, pool.Observation{ID: "o2", Identities: []pool.Identity{email("b@acme.com")}})
	require.NoError(t, err)
	gs, err := p.QualifyEach(ctx, []string{b.ID, "nobody", a.ID}, time.Time{})
	assert.ErrorIs(t, err, leadkit.ErrNotFound)
	require.Len(t, gs, 1)
	assert.Equal(t, a.ID, gs[0].ProspectID)
	_, err = p.QualifyEach(ctx, make([]string, pool.MaxPage+1), time.Time{})
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
}
