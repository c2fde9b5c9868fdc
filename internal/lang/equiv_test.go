package lang

import (
	"fmt"
	"math"
	"math/rand"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The closure compiler is checked against expr's own VM: the same
// type-checked program evaluated both ways must agree, on the value and on
// whether it fails, for generated leads and for edge cases (wrong-typed
// custom fields, huge integers, non-ASCII text, values over the size
// limits), for lead expressions, event predicates and bare-name slots.

const day = 24 * time.Hour

var fitCorpus = []string{
	`person.seniority in ["vp", "c_level", "director"]`,
	`person.seniority == "vp" || person.seniority == "director"`,
	`!(person.country in ["US", "DE"])`,
	`not (company.industry == "software")`,
	`lower(person.title) contains "marketing"`,
	`lower(person.title) startsWith "head"`,
	`lower(person.title) endsWith "officer"`,
	`lower(person.title) == "cto"`,
	`lower(person.title) != "cto"`,
	`lower(person.title) contains "ing"`,
	`upper(person.country) == "US"`,
	`upper(person.title) startsWith "HEAD"`,
	`trim(person.title) != ""`,
	`person.title contains "VP" && len(person.title) > 3`,
	`len(person.title) == 17`,
	`person.title matches "(?i)^head of"`,
	`domain(person.email) in ["gmail.com", "yahoo.com"]`,
	`domain(person.email) == company.domain`,
	`hasAny(company.tech_stack, ["Salesforce", "hubspot"])`,
	`has(company.tech_stack, "AWS")`,
	`"aws" in company.tech_stack`,
	`company.country in company.custom_regions_unused ?? false`,
	`len(company.tech_stack) >= 2`,
	`len(person.interests) == 0`,
	`company.employees >= 200 && company.employees <= 10000`,
	`company.employees in [5, 50, 200]`,
	`company.employees % 3 == 0`,
	`company.employees * 2 + 1 > 400`,
	`company.employees + 1 > 100`,
	`company.employees / 7 > 10.5`,
	`-company.employees < -100`,
	`company.employees == 200.0`,
	`float(company.employees) > 100`,
	`int(company.revenue / 1e6) > 20`,
	`int("7") + company.employees > 300`,
	`float("2.5") * company.employees > 300`,
	`abs(company.revenue - 5e7) < 1e7`,
	`company.revenue > 1e7 || company.employees > 1000`,
	`company.revenue ** 0.5 > 3000`,
	`company.revenue * 10 > 1e8`,
	`ceil(company.revenue / 1e6) == floor(company.revenue / 1e6)`,
	`max(company.revenue, 1.5e7) > 2.5e7`,
	`(company.employees > 100 ? "big" : "small") == "big"`,
	`company.employees > 100 ? person.seniority == "vp" : person.seniority == "manager"`,
	// Branches of mixed kinds (int and float) run on the VM.
	`(person.newsletter ? company.employees : 0.5) + 1 > 100`,
	`(person.newsletter ? company.employees : 0.5) * 2 > 100`,
	`(company.revenue > 5e7 ? company.employees : 2.5) >= 200`,
	`person.budget >= 50000`,
	`person.budget / 1000 > person.score_unused ?? 0`,
	`person.newsletter`,
	`person.newsletter == false`,
	`person.newsletter || person.budget > 40000`,
	`company.plan in ["pro", "enterprise"]`,
	`"emea" in company.regions`,
	`hasAny(company.regions, ["APAC"])`,
	`lead.source == "webinar" && lead.age_days < 100`,
	`daysSince(lead.created_at) < 100`,
	`daysSince(person.last_login) > 30`,
	`lead.created_at < person.last_login`,
	`person.first_name + person.title == "AdaCTO"`,
	`person.title < "M"`,
	`person.age_band >= "35"`,
	`any(company.tech_stack, # startsWith "s")`,
	`count(person.interests, # in ["ai", "crm"]) >= 1`,
	`company.employees in 100..1000`,
	`$env["person"].seniority == "vp"`,
}

// refused are expressions that must not compile, with the reason.
var refused = map[string]string{
	`let x = company.employees; x > 100`:                                             "variables (let) are not allowed",
	`"a" in split(person.title, " ")`:                                                "split is not available",
	`any(person.interests, any(company.tech_stack, any(company.regions, # == "a")))`: "predicates nested 3 deep",
	`hasAny(person.interests, company.tech_stack)`:                                   "Options.MaxCost",
	`any(company.tech_stack, # in company.regions)`:                                  "Options.MaxCost",
	`count(company.tech_stack, count(company.tech_stack, # == "zz") > 0) > 0`:        "Options.MaxCost",
	`lead.created_at.Local().Format("MST") == "JST"`:                                 "method calls are not allowed",
	`person.last_login.Year() > 2000`:                                                "method calls are not allowed",
	`now() > lead.created_at`:                                                        "now is not available",
	`person[person.title] == "x"`:                                                    "undefined",
	`len($env) > 0`:                                                                  `$env may only be used as $env["name"]`,
	`replace(person.title, "a", "bb") != ""`:                                         "replace is not available",
	`len(keys({"a": 1})) > 0`:                                                        "keys is not available",
	// Values the cost model cannot size (found by the outside review: each
	// passed the cost check and then ran for seconds on lists at the caps).
	`len(string(map(company.tech_stack, company.tech_stack))) > 0`:       "lists of lists are not allowed",
	`any([company.tech_stack, company.tech_stack], any(#, # == "x"))`:    "lists of lists are not allowed",
	`len(string([company.tech_stack, company.tech_stack])) > 0`:          "lists of lists are not allowed",
	`any(map(company.tech_stack, company.tech_stack), any(#, # == "x"))`: "lists of lists are not allowed",
	`person.title matches person.email`:                                  "the pattern of matches must be a literal string",
	`person.title matches "[^x]{1000}z"`:                                 "the pattern compiles to 1003 instructions, the limit is 1000",
	`person.title matches "[^x]{300}" || person.email matches "[^y]{300}" || company.name matches "[^z]{300}" || company.domain matches "[^w]{300}"`: "patterns compile to",
	`any(person.interests, # matches "(?:[^A]{10}|[^B]{10})z")`:                                                                                      "Options.MaxCost",
	`$env["__asof"] > lead.created_at`:        "names starting with __ are reserved",
	`__asof > lead.created_at`:                "names starting with __ are reserved",
	`__add(1, 2) > 0`:                         "names starting with __ are reserved",
	`len(string(company.tech_stack)) > 0`:     "string() of a list or map is not allowed",
	`string({"a": company.tech_stack}) != ""`: "string() of a list or map is not allowed",
	`len(string([{"a": 1}])) > 0`:             "lists of lists are not allowed",
}

func testDecls() []leadkit.FieldSpec {
	return []leadkit.FieldSpec{
		{Name: "person.budget", Type: leadkit.TypeNumber},
		{Name: "person.newsletter", Type: leadkit.TypeBool},
		{Name: "person.last_login", Type: leadkit.TypeTime},
		{Name: "company.plan", Type: leadkit.TypeString},
		{Name: "company.regions", Type: leadkit.TypeStrings},
		{Name: "event.amount", Type: leadkit.TypeNumber},
		{Name: "event.tags", Type: leadkit.TypeStrings},
	}
}

var declareHint = `declare it in fields: {"name": "{name}", "type": "{type}"}`

// testSchema is the lead (event false) or lead+event schema with the test
// declarations.
func testSchema(t testing.TB, event bool) *Schema {
	fields := LeadFields()
	scopes := []string{"person", "company"}
	if event {
		fields = append(fields, EventFields()...)
		scopes = append(scopes, "event")
	}
	var decls []leadkit.FieldSpec
	for _, d := range testDecls() {
		if event || !strings.HasPrefix(d.Name, "event.") {
			decls = append(decls, d)
		}
	}
	declared, problems := DeclaredFields(decls, fields, scopes...)
	require.Empty(t, problems)
	return NewSchema(append(fields, declared...), SchemaOptions{Declare: declareHint, DeclareScopes: scopes})
}

func testCfg(want Kind, forceVM bool, event bool) Config {
	c := Config{Want: want, ForceVM: forceVM, MaxCost: DefaultMaxCost, CostName: "Options.MaxCost"}
	if event {
		c.MaxCost, c.CostName = DefaultMaxEventCost, "Options.MaxEventCost"
	}
	return c
}

// bothWaysIn compiles src as a boolean expression of the lead (event
// false) or event schema, on the closure path and the VM path.
func bothWaysIn(t testing.TB, src string, event bool) (fast, slow *Program, err *Error) {
	sch := testSchema(t, event)
	fast, err = Compile(src, sch, testCfg(Bool, false, event))
	if err != nil {
		return nil, nil, err
	}
	slow, err = Compile(src, sch, testCfg(Bool, true, event))
	require.Nil(t, err)
	return fast, slow, nil
}

func bothWays(t testing.TB, src string) (fast, slow *Program, err *Error) {
	return bothWaysIn(t, src, false)
}

var fastAsOf = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// testGen draws the leads and events the closure and VM paths are compared
// on: arbitrary values from small vocabularies for every field the corpora
// mention, empty values, and custom fields (person.budget,
// person.newsletter, company.plan, company.regions, each sometimes
// missing). It is deliberately not package sim: sim's profiles are
// realistic but narrow (no custom fields, interests or age bands, never an
// empty value, titles of one pattern), and the corpora must be true for
// some generated values and false for others. Same seed, same data.
type testGen struct{ r *rand.Rand }

func newTestGen(seed int64) testGen { return testGen{rand.New(rand.NewSource(seed))} }

func (g testGen) pick(list ...string) string { return list[g.r.Intn(len(list))] }

func (g testGen) some(list ...string) []string {
	var out []string
	for _, s := range list {
		if g.r.Intn(3) == 0 {
			out = append(out, s)
		}
	}
	return out
}

var testDomains = []string{"acme.com", "gmail.com", "globex.io", "yahoo.com", "initech.de", "umbrella.fr"}

// lead returns lead number i, created in the 400 days before asOf.
func (g testGen) lead(i int, asOf time.Time) leadkit.Lead {
	first := g.pick("Ada", "Bo", "Cy", "Di", "Ed")
	l := leadkit.Lead{
		ID:        fmt.Sprintf("lead-%d", i),
		AccountID: fmt.Sprintf("acct-%d", g.r.Intn(1+i/3+1)),
		CreatedAt: asOf.Add(-time.Duration(g.r.Intn(400*24)) * time.Hour),
		Source:    g.pick("webinar", "list import", "organic", "paid"),
		Person: leadkit.Person{
			Email:      fmt.Sprintf("%s%d@%s", first, i, g.pick(testDomains...)),
			FirstName:  first,
			Title:      g.pick("Head of Marketing", "VP Sales", "CTO", "Marketing Manager", "Student", "Data Engineer", "IT Director", "Chief Executive Officer", ""),
			Seniority:  g.pick("c_level", "vp", "director", "manager", "individual", "student", ""),
			Department: g.pick("marketing", "it", "sales", "finance", "hr", "engineering", ""),
			Country:    g.pick("US", "DE", "FR", "GB", "IN", "BR", "JP", ""),
			AgeBand:    g.pick("18-24", "25-34", "35-44", "45-54", ""),
			Interests:  g.some("analytics", "crm", "automation", "security", "ai"),
			Custom:     map[string]any{},
		},
		Company: leadkit.Company{
			Name:      fmt.Sprintf("Co %d", g.r.Intn(100)),
			Domain:    g.pick(testDomains...),
			Industry:  g.pick("software", "finance", "retail", "healthcare", "education", "manufacturing", ""),
			Country:   g.pick("US", "DE", "FR", "GB", "IN", "BR", "JP", ""),
			Employees: []int{0, 5, 50, 200, 1000, 5000, 20000}[g.r.Intn(7)],
			Revenue:   float64(g.r.Intn(1000)) * 1e5,
			TechStack: g.some("salesforce", "hubspot", "snowflake", "aws", "gcp", "marketo", "zendesk"),
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
		l.Company.Custom["plan"] = g.pick("free", "pro", "enterprise")
	}
	if g.r.Intn(3) > 0 {
		l.Company.Custom["regions"] = g.some("emea", "amer", "apac")
	}
	return l
}

// events returns n events of leadID in the span before asOf, in time
// order; a quarter carry an "amount" attribute.
func (g testGen) events(leadID string, n int, asOf time.Time, span time.Duration) []leadkit.Event {
	evs := make([]leadkit.Event, n)
	for i := range evs {
		e := leadkit.Event{
			ID:     fmt.Sprintf("%s-e%d", leadID, i),
			LeadID: leadID,
			Type: g.pick(leadkit.EventPageView, leadkit.EventFormSubmitted, leadkit.EventDownload,
				leadkit.EventWebinarRegistered, leadkit.EventWebinarAttended, leadkit.EventEmailOpened,
				leadkit.EventEmailClicked, leadkit.EventMeeting, leadkit.EventSDRCall, leadkit.EventUnsubscribed),
			Channel:  g.pick("web", "email", "paid", "social", "event"),
			Campaign: fmt.Sprintf("c%d", g.r.Intn(5)),
			Content:  g.pick("/pricing", "/blog/x", "/docs", "whitepaper-ai", "case-study", "/pricing/enterprise", "demo"),
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

func evalBoth(fast, slow *Program, l *leadkit.Lead, ev *leadkit.Event) (a, b bool, errA, errB error) {
	r := NewRunner(Limits{})
	mk := func() *Ctx { return &Ctx{Lead: l, Event: ev, AsOf: fastAsOf} }
	a, errA = fast.Bool(mk(), r)
	b, errB = slow.Bool(mk(), r)
	return
}

// edgeLeads are leads with hostile or unusual values.
func edgeLeads() []leadkit.Lead {
	long := strings.Repeat("x", leadkit.MaxStringBytes+1)
	many := make([]string, leadkit.MaxListItems+1)
	return []leadkit.Lead{
		{},
		{Person: leadkit.Person{Title: "ÉLÈVE Marketing", Email: "X@ÉXAMPLE.com"}},
		{Person: leadkit.Person{Title: "\u212aelvin CTO", Email: "a@B.com", Custom: map[string]any{"newsletter": true}},
			Company: leadkit.Company{Employees: math.MaxInt64, Revenue: 1e300}},
		{Person: leadkit.Person{Title: "İstanbul Head", Custom: map[string]any{"newsletter": true}},
			Company: leadkit.Company{Employees: 9007199254740993, Custom: map[string]any{"regions": []any{"emea", "x"}}}},
		{Person: leadkit.Person{Title: "x", Custom: map[string]any{"newsletter": false}}, Company: leadkit.Company{Employees: -7, Revenue: -2.5}},
		// Wrong-typed custom fields: a rule fails only if it mentions them.
		{Person: leadkit.Person{Custom: map[string]any{"budget": "lots", "newsletter": "yes", "last_login": 5}}},
		{Company: leadkit.Company{Custom: map[string]any{"plan": 7, "regions": []any{"emea", 3}}}},
		{Person: leadkit.Person{Custom: map[string]any{"last_login": "2024-12-01T00:00:00Z", "budget": int64(1) << 60}}},
		{Person: leadkit.Person{Custom: map[string]any{"last_login": "yesterday", "budget": math.NaN()}}},
		{Person: leadkit.Person{Custom: map[string]any{"budget": math.Inf(1)}}, CreatedAt: time.Date(2024, 6, 1, 9, 0, 0, 0, time.FixedZone("JST", 9*3600))},
		// Over the size limits.
		{Person: leadkit.Person{Title: long}, Company: leadkit.Company{TechStack: many}},
		{Company: leadkit.Company{Custom: map[string]any{"regions": []string{long}}}},
	}
}

func TestFastMatchesVM(t *testing.T) {
	g := newTestGen(11)
	leads := make([]leadkit.Lead, 300)
	for i := range leads {
		leads[i] = g.lead(i, fastAsOf)
		if i%3 == 0 {
			leads[i].Person.Custom["last_login"] = fastAsOf.Add(-time.Duration(i) * 6 * time.Hour)
		}
	}
	generated := len(leads)
	leads = append(leads, edgeLeads()...)
	fastCount := 0
	for _, src := range fitCorpus {
		fast, slow, cerr := bothWays(t, src)
		if cerr != nil {
			// Only the deliberately invalid ones may fail.
			assert.Contains(t, src, "_unused", "%s: %v", src, cerr)
			continue
		}
		if fast.Fast() {
			fastCount++
		}
		trues := 0
		for i := range leads {
			a, b, ea, eb := evalBoth(fast, slow, &leads[i], nil)
			require.Equal(t, ea == nil, eb == nil, "%s on lead %d: %v / %v", src, i, ea, eb)
			require.Equal(t, b, a, "%s on lead %d", src, i)
			if a && i < generated {
				trues++
			}
		}
		// The corpus is meant to discriminate: each rule is true for some
		// generated leads and false for others.
		assert.True(t, trues > 0 && trues < generated, "%s true for %d of %d", src, trues, generated)
	}
	// Everything but list predicates, ranges, ?? and mixed-kind branches
	// takes the fast path.
	assert.GreaterOrEqual(t, fastCount, len(fitCorpus)-11)
}

// TestFieldErrorsFollowMentions: an expression fails when a field it
// mentions holds a bad value, on both paths, even when evaluation
// short-circuits past the field; one that does not mention the field never
// fails.
func TestFieldErrorsFollowMentions(t *testing.T) {
	bad := leadkit.Lead{ID: "b", Person: leadkit.Person{Seniority: "vp", Custom: map[string]any{"budget": "lots", "newsletter": true}}}
	for _, c := range []struct {
		src  string
		fail bool
	}{
		{`person.seniority == "vp"`, false},
		{`any(person.interests, # == "ai") || person.seniority == "vp"`, false}, // VM path
		{`person.newsletter || person.budget > 5`, true},
		{`person.seniority == "vp" || person.budget > 5`, true},
		{`any(person.interests, # == "ai") || person.budget > 5`, true},
	} {
		fast, slow, err := bothWays(t, c.src)
		require.Nil(t, err, c.src)
		_, _, ea, eb := evalBoth(fast, slow, &bad, nil)
		assert.Equal(t, c.fail, ea != nil, "closures: %s: %v", c.src, ea)
		assert.Equal(t, c.fail, eb != nil, "VM: %s: %v", c.src, eb)
		if c.fail {
			assert.ErrorContains(t, ea, `person.budget: want a number, got the string "lots"`)
		}
	}
}

var eventCorpus = []string{
	`event.content startsWith "/pricing"`,
	`lower(event.content) contains "pricing"`,
	`event.channel == "email" && event.amount > 200`,
	`event.amount > 200`,
	`event.amount * 2 > 300.5`,
	`"vip" in event.tags`,
	`any(event.tags, # startsWith "v")`,
	`event.age_days < 20`,
	`daysSince(event.time) >= 30`,
	`event.age_days < 20 ? event.channel == "web" : event.amount > 100`,
	`(event.channel == "web" ? 1 : 0.5) < 1`,
	`event.campaign + event.channel == "c1web"`,
	`event.type in ["download", "meeting"] || event.id endsWith "7"`,
	`event.time > lead.created_at + duration_unused`,
	`string(event.time) contains "2024-12"`,
}

func TestFastMatchesVMEvents(t *testing.T) {
	g := newTestGen(12)
	lead := g.lead(1, fastAsOf)
	evs := g.events(lead.ID, 400, fastAsOf, 60*day)
	for i := range evs {
		if i%5 == 0 {
			evs[i].Attrs = map[string]any{"tags": []string{"vip", "x"}, "amount": float64(i)}
		}
	}
	generated := len(evs)
	evs = append(evs,
		leadkit.Event{},
		leadkit.Event{Content: "/PRICİNG", Attrs: map[string]any{"amount": "12"}},
		leadkit.Event{Attrs: map[string]any{"amount": math.Inf(1), "tags": []any{"vip", 1}}},
		leadkit.Event{Content: strings.Repeat("p", leadkit.MaxStringBytes+1), Attrs: map[string]any{"amount": 1e308}},
		leadkit.Event{Time: fastAsOf.Add(-400 * day), Attrs: map[string]any{"amount": int64(math.MaxInt64)}},
		leadkit.Event{Time: fastAsOf.Add(-40 * day).In(time.FixedZone("JST", 9*3600))},
	)
	for _, src := range eventCorpus {
		fast, slow, cerr := bothWaysIn(t, src, true)
		if cerr != nil {
			assert.Contains(t, src, "_unused", "%s: %v", src, cerr)
			continue
		}
		trues := 0
		for i := range evs {
			a, b, ea, eb := evalBoth(fast, slow, &lead, &evs[i])
			require.Equal(t, ea == nil, eb == nil, "%s on event %d: %v / %v", src, i, ea, eb)
			require.Equal(t, b, a, "%s on event %d", src, i)
			if a && i < generated {
				trues++
			}
		}
		assert.True(t, trues > 0 && trues < generated, "%s true for %d of %d", src, trues, generated)
	}
}

func TestRefusedExpressions(t *testing.T) {
	for src, want := range refused {
		_, _, err := bothWays(t, src)
		require.NotNil(t, err, src)
		assert.Contains(t, err.Message, want, src)
		assert.Equal(t, 1, err.Line, src)
		assert.Positive(t, err.Column, src)
	}
	// The cost limit points at the expensive part and follows the size
	// limits: with lists of at most 50 items the same rule compiles, and a
	// longer list fails at run time naming the field.
	_, _, err := bothWays(t, `person.seniority == "vp" && hasAny(person.interests, company.tech_stack)`)
	require.NotNil(t, err)
	assert.Equal(t, 29, err.Column)
	sch := testSchema(t, false)
	p, err := Compile(`hasAny(person.interests, company.tech_stack)`, sch, Config{Want: Bool, Limits: Limits{MaxListItems: 50}})
	require.Nil(t, err)
	l := leadkit.Lead{Company: leadkit.Company{TechStack: make([]string, 51)}}
	_, rerr := p.Bool(&Ctx{Lead: &l, Caps: Limits{MaxListItems: 50}.Caps()}, NewRunner(Limits{}))
	assert.ErrorContains(t, rerr, "company.tech_stack: list has 51 items, the limit is 50")
}

func TestFastPathCoverage(t *testing.T) {
	for _, src := range []string{
		`person.seniority in ["vp", "c_level"]`, `lower(person.title) contains "marketing"`,
		`domain(person.email) in ["gmail.com"]`, `hasAny(company.tech_stack, ["a"])`,
		`company.employees >= 200 && company.revenue > 1e7`, `person.budget >= 5`,
		`"emea" in company.regions`, `person.title matches "x+"`, `daysSince(person.last_login) > 3`,
		`int(company.revenue) > 5`, `float(company.employees) > 5`,
	} {
		fast, _, err := bothWays(t, src)
		require.Nil(t, err, src)
		assert.True(t, fast.Fast(), "%s should compile to closures", src)
	}
	for _, src := range []string{`any(company.tech_stack, # == "a")`, `(person.newsletter ? 1 : 0.5) > 0`} {
		fast, _, err := bothWays(t, src)
		require.Nil(t, err, src)
		assert.False(t, fast.Fast(), "%s runs on the VM", src)
	}
}

// slotSchema is a schema of bare names read from Ctx slots, like scoring's
// dimensions and stage facts; "interest:ai" is only reachable through
// $env.
func slotSchema() *Schema {
	return NewSchema([]Field{
		{Name: "fit", Get: Node{Kind: Num, N: func(c *Ctx) float64 { return c.Nums[0] }}},
		{Name: "engagement", Get: Node{Kind: Num, N: func(c *Ctx) float64 { return c.Nums[1] }}},
		{Name: "interest:ai", Get: Node{Kind: Num, N: func(c *Ctx) float64 { return c.Nums[2] }}},
	}, SchemaOptions{})
}

func TestSlotsFastMatchesVM(t *testing.T) {
	sch := slotSchema()
	g := rand.New(rand.NewSource(3))
	for _, src := range []string{
		`fit * 0.4 + engagement * 0.6`, `fit > 50 ? engagement : 0`, `fit > 50 ? engagement : 0.0`, `$env["interest:ai"] * 2 - fit`,
		`max(fit, engagement, 3.0)`, `abs(fit - engagement) / 2`, `fit ** 2`, `-fit + 1`, `fit / engagement`,
		`fit > 0 ? 1 : 2`, `fit > 0 ? 1 : 2.5`, `int(fit * 1e30)`, `float(int(fit))`,
	} {
		fast, err := Compile(src, sch, Config{Want: Num})
		require.Nil(t, err, src)
		slow, err := Compile(src, sch, Config{Want: Num, ForceVM: true})
		require.Nil(t, err, src)
		r := NewRunner(Limits{})
		for i := 0; i < 300; i++ {
			dims := []float64{float64(g.Intn(100) - 20), float64(g.Intn(5)), g.Float64() * 10}
			switch i {
			case 0:
				dims = []float64{0, 0, 0}
			case 1:
				dims = []float64{1e308, -1e308, 1e308}
			case 2:
				dims = []float64{9007199254740993, 0.5, -0}
			}
			a, ea := fast.Float(&Ctx{Nums: dims}, r)
			b, eb := slow.Float(&Ctx{Nums: dims}, r)
			require.Equal(t, ea == nil, eb == nil, "%s %v: %v / %v", src, dims, ea, eb)
			if ea == nil {
				require.False(t, math.IsNaN(a))
				require.InDelta(t, b, a, 1e-9*math.Max(1, math.Abs(b)), "%s %v", src, dims)
			}
		}
	}
}
