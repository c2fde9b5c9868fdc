package lang

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/leadkit/leadkit"
)

// FuzzCompile compiles arbitrary text in every kind of context the
// packages use (lead rules, event predicates, bare-name slots, a context
// without an as-of time). Compile must never panic; an error must have a
// position inside the source; whatever compiles must give the same answer
// (and fail the same way) on closures and on the VM, for sample leads and
// events with edge cases.
func FuzzCompile(f *testing.F) {
	for _, s := range fitCorpus {
		f.Add(s)
	}
	for _, s := range eventCorpus {
		f.Add(s)
	}
	for s := range refused {
		f.Add(s)
	}
	g := newTestGen(5)
	leads := edgeLeads()
	for i := 0; i < 20; i++ {
		leads = append(leads, g.lead(i, fastAsOf))
	}
	evs := g.events("l", 20, fastAsOf, 40*day)
	evs = append(evs, leadkit.Event{}, leadkit.Event{Content: "ÉVÉNEMENT", Attrs: map[string]any{"amount": "x", "tags": []any{1}}},
		leadkit.Event{Attrs: map[string]any{"amount": float64(1 << 62), "tags": []string{"vip"}}})
	lead, event, slots, journey := testSchema(f, false), testSchema(f, true), slotSchema(), journeySchema(f)
	r := NewRunner(Limits{})
	checkErr := func(t *testing.T, src string, err *Error) {
		if err.Line < 0 || err.Column < 0 || err.Message == "" {
			t.Fatalf("%q: bad error %#v", src, err)
		}
		if err.Line > 0 && utf8.ValidString(src) {
			lines := 1
			for _, c := range src {
				if c == '\n' {
					lines++
				}
			}
			if err.Line > lines {
				t.Fatalf("%q: error line %d of %d", src, err.Line, lines)
			}
		}
	}
	f.Fuzz(func(t *testing.T, src string) {
		for _, sch := range []*Schema{lead, event} {
			fast, err := Compile(src, sch, Config{Want: Bool})
			if err != nil {
				checkErr(t, src, err)
				continue
			}
			slow, err := Compile(src, sch, Config{Want: Bool, ForceVM: true})
			if err != nil {
				t.Fatalf("%q compiles on closures but not on the VM: %v", src, err)
			}
			// Pair each lead with an event (every one is used), so a costly
			// expression at the cost limit still runs a bounded number of
			// times.
			for k := 0; k < max(len(leads), len(evs)); k++ {
				i, j := k%len(leads), k%len(evs)
				{
					c1 := &Ctx{Lead: &leads[i], Event: &evs[j], AsOf: fastAsOf}
					c2 := &Ctx{Lead: &leads[i], Event: &evs[j], AsOf: fastAsOf}
					a, ea := fast.Bool(c1, r)
					b, eb := slow.Bool(c2, r)
					if (ea == nil) != (eb == nil) {
						t.Fatalf("%q on lead %d event %d: fast err %v, vm err %v", src, i, j, ea, eb)
					}
					if ea == nil && a != b {
						t.Fatalf("%q on lead %d event %d: fast %v, vm %v", src, i, j, a, b)
					}
				}
			}
		}
		if fast, err := Compile(src, slots, Config{Want: Num}); err == nil {
			slow, err := Compile(src, slots, Config{Want: Num, ForceVM: true})
			if err != nil {
				t.Fatalf("%q: %v", src, err)
			}
			for _, dims := range [][]float64{{0, 0, 0}, {1, 2, 3}, {1e308, -1e308, 0.5}} {
				a, ea := fast.Float(&Ctx{Nums: dims}, r)
				b, eb := slow.Float(&Ctx{Nums: dims}, r)
				if (ea == nil) != (eb == nil) || (ea == nil && a != b && !(a-b < 1e-9 && b-a < 1e-9)) {
					t.Fatalf("%q %v: fast %v %v, vm %v %v", src, dims, a, ea, b, eb)
				}
			}
		} else {
			checkErr(t, src, err)
		}
		if p, err := Compile(src, journey, Config{Want: Bool}); err == nil && p.AsOf() {
			t.Fatalf("%q reads the as-of time in a context without one", src)
		}
	})
}

// FuzzCostBound: whatever compiles within the default cost limits runs, on
// a lead and an event with every string and list at the size caps, within
// its estimated cost at a generous 1 µs per unit (measured: 15-25 ns) plus
// a fixed allowance. The cost model is an upper bound of the work, not a
// guess: a counterexample is a sandbox escape.
func FuzzCostBound(f *testing.F) {
	for _, s := range []string{
		`len(string(map(company.tech_stack, company.tech_stack))) > 0`,
		`any([company.tech_stack, company.tech_stack], any(#, trimSuffix(#, "a") + "b" in company.tech_stack))`,
		`any(map(event.tags, event.tags), any(#, # == "x"))`,
		`any(company.tech_stack, lower(person.title) contains #)`,
		`count(event.tags, # in company.regions) > 0`,
		`len(upper(person.title + person.title)) > 0`,
	} {
		f.Add(s)
	}
	for _, s := range fitCorpus {
		f.Add(s)
	}
	long := strings.Repeat("aB", leadkit.MaxStringBytes/2)
	list := make([]string, leadkit.MaxListItems)
	anyList := make([]any, leadkit.MaxListItems)
	for i := range list {
		list[i] = long[:len(long)-i%7]
		anyList[i] = list[i]
	}
	lead := leadkit.Lead{
		Person:  leadkit.Person{Title: long, Email: long, Interests: list, Custom: map[string]any{"budget": 1e9}},
		Company: leadkit.Company{Name: long, Domain: long, Industry: long, TechStack: list, Custom: map[string]any{"plan": long, "regions": anyList}},
	}
	event := leadkit.Event{ID: "e", LeadID: "l", Type: long, Channel: long, Campaign: long, Content: long,
		Time: fastAsOf.Add(-time.Hour), Attrs: map[string]any{"tags": anyList, "amount": 5.0}}
	sch, esch := testSchema(f, false), testSchema(f, true)
	r := NewRunner(Limits{})
	f.Fuzz(func(t *testing.T, src string) {
		if raceEnabled {
			t.Skip("timing bound")
		}
		for _, c := range []struct {
			sch *Schema
			cfg Config
		}{{sch, testCfg(Bool, false, false)}, {esch, testCfg(Bool, false, true)}, {esch, testCfg(Bool, true, true)}} {
			p, err := Compile(src, c.sch, c.cfg)
			if err != nil {
				continue
			}
			start := time.Now()
			_, _ = p.Bool(&Ctx{Lead: &lead, Event: &event, AsOf: fastAsOf}, r)
			el := time.Since(start)
			if bound := time.Duration(p.Cost()*1000) + 50*time.Millisecond; el > bound {
				t.Fatalf("%q: estimated %.0f units, ran %v (bound %v)", src, p.Cost(), el, bound)
			}
		}
	})
}
