package scoring

import (
	"math"
	"testing"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/exprenv"
	"github.com/leadkit/leadkit/internal/leadgen"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The closure compiler is checked against expr's own VM: the same
// type-checked program evaluated both ways on generated leads must agree.

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
	`upper(person.country) == "US"`,
	`trim(person.title) != ""`,
	`person.title contains "VP" && len(person.title) > 3`,
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
	`company.employees / 7 > 10.5`,
	`-company.employees < -100`,
	`abs(company.revenue - 5e7) < 1e7`,
	`company.revenue > 1e7 || company.employees > 1000`,
	`company.revenue ** 0.5 > 3000`,
	`ceil(company.revenue / 1e6) == floor(company.revenue / 1e6)`,
	`float(company.employees) > 100`,
	`max(company.revenue, 1.5) > 2.5`,
	`(company.employees > 100 ? "big" : "small") == "big"`,
	`company.employees > 100 ? person.seniority == "vp" : person.seniority == "manager"`,
	`person.budget >= 50000`,
	`person.budget / 1000 > person.score_unused ?? 0`,
	`person.newsletter`,
	`person.newsletter == false`,
	`company.plan in ["pro", "enterprise"]`,
	`"emea" in company.regions`,
	`hasAny(company.regions, ["APAC"])`,
	`lead.source == "webinar" && lead.age_days < 100`,
	`person.first_name + person.last_name != ""`,
	`person.title < "M"`,
	`person.age_band >= "35"`,
	`any(company.tech_stack, # startsWith "s")`,
	`count(person.interests, # in ["ai", "crm"]) >= 1`,
	`company.employees in 100..1000`,
}

func testFields() []FieldSpec {
	return []FieldSpec{
		{Name: "person.budget", Type: TypeNumber},
		{Name: "person.newsletter", Type: TypeBool},
		{Name: "company.plan", Type: TypeString},
		{Name: "company.regions", Type: TypeStrings},
	}
}

// bothWays compiles src as a fit rule on the closure path and the VM path.
func bothWays(t testing.TB, src string) (fast, slow *program, err *exprenv.Error) {
	c := &compiler{predIdx: map[string]int32{}}
	fitSch, _ := c.schemas(testFields())
	require.Empty(t, c.errs)
	lim := exprenv.Limits{}.WithDefaults()
	fast, err = compileExpr(src, fitSch, lim, kBool, false)
	if err != nil {
		return nil, nil, err
	}
	slow, err = compileExpr(src, fitSch, lim, kBool, true)
	require.Nil(t, err)
	return fast, slow, nil
}

func evalBoth(fast, slow *program, l *leadkit.Lead) (a, b bool, errA, errB error) {
	r := exprenv.NewRunner(exprenv.Limits{})
	c := &ectx{lead: l, ageDays: 42.5}
	a, errA = fast.bool(c, r)
	c2 := &ectx{lead: l, ageDays: 42.5}
	b, errB = slow.bool(c2, r)
	return
}

func TestFastMatchesVM(t *testing.T) {
	g := leadgen.New(11)
	asOf := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	leads := make([]leadkit.Lead, 300)
	for i := range leads {
		leads[i] = g.Lead(i, asOf)
	}
	// Edge values.
	leads = append(leads, leadkit.Lead{}, leadkit.Lead{Person: leadkit.Person{Title: "ÉLÈVE Marketing", Email: "X@ÉXAMPLE.com"}})
	fastCount := 0
	for _, src := range fitCorpus {
		fast, slow, cerr := bothWays(t, src)
		if cerr != nil {
			// Only the deliberately invalid ones may fail.
			assert.Contains(t, src, "_unused", "%s: %v", src, cerr)
			continue
		}
		if fast.ok {
			fastCount++
		}
		trues := 0
		for i := range leads {
			a, b, ea, eb := evalBoth(fast, slow, &leads[i])
			require.Equal(t, ea == nil, eb == nil, "%s on %s: %v / %v", src, leads[i].ID, ea, eb)
			require.Equal(t, b, a, "%s on lead %s", src, leads[i].ID)
			if a {
				trues++
			}
		}
		// The corpus is meant to discriminate: each rule is true for some
		// leads and false for others (else the comparison proves little).
		assert.True(t, trues > 0 && trues < len(leads), "%s true for %d of %d", src, trues, len(leads))
	}
	// Everything but the list predicates, let and ranges takes the fast path.
	assert.GreaterOrEqual(t, fastCount, len(fitCorpus)-6)
}

func TestFastPathCoverage(t *testing.T) {
	for _, src := range []string{
		`person.seniority in ["vp", "c_level"]`, `lower(person.title) contains "marketing"`,
		`domain(person.email) in ["gmail.com"]`, `hasAny(company.tech_stack, ["a"])`,
		`company.employees >= 200 && company.revenue > 1e7`, `person.budget >= 5`,
		`"emea" in company.regions`, `person.title matches "x+"`,
	} {
		fast, _, err := bothWays(t, src)
		require.Nil(t, err, src)
		assert.True(t, fast.ok, "%s should compile to closures", src)
	}
	for _, src := range []string{`any(company.tech_stack, # == "a")`} {
		fast, _, err := bothWays(t, src)
		require.Nil(t, err, src)
		assert.False(t, fast.ok, "%s runs on the VM", src)
	}
}

func TestDerivedFastMatchesVM(t *testing.T) {
	fields := []field{
		{name: "fit", get: cnode{k: kNum, n: func(c *ectx) float64 { return c.dims[0] }}},
		{name: "engagement", get: cnode{k: kNum, n: func(c *ectx) float64 { return c.dims[1] }}},
		{name: "interest:ai", get: cnode{k: kNum, n: func(c *ectx) float64 { return c.dims[2] }}},
	}
	sch := newSchema(fields)
	lim := exprenv.Limits{}.WithDefaults()
	g := leadgen.New(3).Rand()
	for _, src := range []string{
		`fit * 0.4 + engagement * 0.6`, `fit > 50 ? engagement : 0`, `$env["interest:ai"] * 2 - fit`,
		`max(fit, engagement, 3.0)`, `abs(fit - engagement) / 2`, `fit ** 2`, `-fit + 1`, `fit / engagement`,
	} {
		fast, err := compileExpr(src, sch, lim, kNum, false)
		require.Nil(t, err, src)
		assert.True(t, fast.ok, src)
		slow, err := compileExpr(src, sch, lim, kNum, true)
		require.Nil(t, err, src)
		r := exprenv.NewRunner(lim)
		for i := 0; i < 200; i++ {
			dims := []float64{float64(g.Intn(100) - 20), float64(g.Intn(5)), g.Float64() * 10}
			a, ea := fast.float(&ectx{dims: dims}, r)
			b, eb := slow.float(&ectx{dims: dims}, r)
			require.Equal(t, ea == nil, eb == nil, "%s %v: %v / %v", src, dims, ea, eb)
			if ea == nil {
				require.False(t, math.IsNaN(a))
				require.InDelta(t, b, a, 1e-9*math.Max(1, math.Abs(b)), "%s %v", src, dims)
			}
		}
	}
}

// FuzzFastExpr compiles arbitrary rule text both ways; whenever it
// compiles to closures, they must agree with the VM on sample leads.
func FuzzFastExpr(f *testing.F) {
	for _, s := range fitCorpus {
		f.Add(s)
	}
	g := leadgen.New(5)
	asOf := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	leads := []leadkit.Lead{{}}
	for i := 0; i < 20; i++ {
		leads = append(leads, g.Lead(i, asOf))
	}
	f.Fuzz(func(t *testing.T, src string) {
		fast, slow, err := bothWays(t, src)
		if err != nil || !fast.ok {
			return
		}
		for i := range leads {
			a, b, ea, eb := evalBoth(fast, slow, &leads[i])
			if (ea == nil) != (eb == nil) {
				t.Fatalf("%q on lead %d: fast err %v, vm err %v", src, i, ea, eb)
			}
			if ea == nil && a != b {
				t.Fatalf("%q on lead %d: fast %v, vm %v", src, i, a, b)
			}
		}
	})
}
