package lang

import (
	"strings"
	"testing"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The cost model is an upper bound of the real work. Each
// admitted rule is timed on inputs at the size limits and must stay under
// its estimate times a generous 200 ns per unit (measured: 15-25 ns).
func TestCostBoundsWork(t *testing.T) {
	if raceEnabled || testing.Short() {
		t.Skip("timing test")
	}
	long := strings.Repeat("ab", leadkit.MaxStringBytes/2)
	list := make([]string, leadkit.MaxListItems)
	for i := range list {
		list[i] = long[:len(long)-i%7]
	}
	lead := leadkit.Lead{Person: leadkit.Person{Title: long, Email: long, Interests: list}, Company: leadkit.Company{TechStack: list, Domain: long}}
	for _, src := range []string{
		`lower(person.title) contains "marketing"`,
		`any(company.tech_stack, lower(#) contains "zz")`,
		`any(company.tech_stack, lower(person.title) contains #)`,
		`count(person.interests, # in ["a", "b", "c"]) > 0`,
		`person.title matches "z+q" || lower(person.email) matches "(vp|director).*(sales|marketing)"`,
		`has(company.tech_stack, person.title)`,
		`domain(person.email) == company.domain`,
		`len(filter(company.tech_stack, # endsWith "zz")) > 0`,
		`person.title in company.tech_stack`,
	} {
		fast, slow, cerr := bothWays(t, src)
		require.Nil(t, cerr, src)
		for _, p := range []*Program{fast, slow} {
			c := &Ctx{Lead: &lead, AsOf: fastAsOf}
			r := NewRunner(Limits{})
			start := time.Now()
			_, err := p.Bool(c, r)
			el := time.Since(start)
			require.NoError(t, err, src)
			assert.Less(t, float64(el.Nanoseconds()), p.cost*200+20000, "%s (closures %v): %v for %.0f units", src, p.ok, el, p.cost)
		}
	}
}
