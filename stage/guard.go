package stage

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/lang"
)

// Facts are the caller-supplied values guards read, e.g. {"score": 120,
// "grade": "A"}. Only facts declared in Definition.Facts are visible to
// guards; undeclared keys are ignored and missing ones read as the zero
// value of their type. Values are converted by leadkit's one rule (numbers
// by [leadkit.Number], so NaN, infinities and the string "5" are refused);
// a value of the wrong type, a list over [leadkit.MaxListItems] items or a
// string over [leadkit.MaxStringBytes] is an error.
type Facts map[string]any

// guard is a compiled guard expression; its clause tree explains which
// part blocks a transition.
type guard struct {
	src  string
	prog *lang.Program
}

// factEnv is the compiled fact declaration: each declared fact, sorted by
// name, reads a typed slot of the evaluation context.
type factEnv struct {
	names []string
	kinds []lang.Kind
	slots []int // index into the slot array of the fact's kind
	count [lang.Time + 1]int
	sch   *lang.Schema
	pool  sync.Pool // *evalCtx
	lim   lang.Limits
}

// evalCtx is the per-goroutine state of a guard evaluation.
type evalCtx struct {
	c lang.Ctx
	r *lang.Runner
}

func newFactEnv(types map[string]leadkit.FieldType, lim lang.Limits) *factEnv {
	fe := &factEnv{lim: lim}
	for name := range types {
		fe.names = append(fe.names, name)
	}
	sort.Strings(fe.names)
	fields := make([]lang.Field, 0, len(fe.names))
	for _, name := range fe.names {
		k := lang.KindOf(types[name])
		slot := fe.count[k]
		fe.count[k]++
		fe.kinds = append(fe.kinds, k)
		fe.slots = append(fe.slots, slot)
		f := lang.Field{Name: name, Get: lang.Node{Kind: k}}
		switch k {
		case lang.Num:
			f.Get.N = func(c *lang.Ctx) float64 { return c.Nums[slot] }
		case lang.Str:
			f.Get.S = func(c *lang.Ctx) string { return c.Texts[slot] }
		case lang.Bool:
			f.Get.B = func(c *lang.Ctx) bool { return c.Bools[slot] }
		case lang.List:
			f.Get.L = func(c *lang.Ctx) []string { return c.Lists[slot] }
		case lang.Time:
			f.Get.T = func(c *lang.Ctx) time.Time { return c.Times[slot] }
		default:
			continue // an unknown type: reported by New
		}
		fields = append(fields, f)
	}
	fe.sch = lang.NewSchema(fields, lang.SchemaOptions{
		DeclareBare: `undeclared fact: declare it in the definition's facts, e.g. "facts": {"{key}": "number"}`,
	})
	fe.pool.New = func() any {
		return &evalCtx{
			r: lang.NewRunner(lim),
			c: lang.Ctx{
				Nums: make([]float64, fe.count[lang.Num]), Texts: make([]string, fe.count[lang.Str]),
				Lists: make([][]string, fe.count[lang.List]), Bools: make([]bool, fe.count[lang.Bool]),
				Times: make([]time.Time, fe.count[lang.Time]),
			},
		}
	}
	return fe
}

// env converts the declared facts into a pooled evaluation context at the
// as-of time at (for daysSince). Release it with put.
func (fe *factEnv) env(facts Facts, at time.Time) (*evalCtx, error) {
	ec := fe.pool.Get().(*evalCtx)
	c := &ec.c
	c.AsOf, c.Err = at, nil
	for i, name := range fe.names {
		v, ok := facts[name]
		if ok && v == nil {
			ok = false
		}
		slot := fe.slots[i]
		var msg string
		switch fe.kinds[i] {
		case lang.Num:
			c.Nums[slot] = 0
			if ok {
				c.Nums[slot], msg = lang.ToNum(v)
			}
		case lang.Str:
			c.Texts[slot] = ""
			if ok {
				c.Texts[slot], msg = lang.ToStr(v)
			}
		case lang.Bool:
			c.Bools[slot] = false
			if ok {
				c.Bools[slot], msg = lang.ToBool(v)
			}
		case lang.List:
			c.Lists[slot] = nil
			if ok {
				c.Lists[slot], msg = lang.ToList(v)
			}
		case lang.Time:
			c.Times[slot] = time.Time{}
			if ok {
				c.Times[slot], msg = lang.ToTime(v)
			}
		}
		if msg != "" {
			fe.put(ec)
			return nil, fmt.Errorf("fact %q: %w: %s", name, leadkit.ErrInvalid, msg)
		}
	}
	return ec, nil
}

func (fe *factEnv) put(ec *evalCtx) {
	clear(ec.c.Lists)
	clear(ec.c.Texts)
	ec.c.Err = nil
	fe.pool.Put(ec)
}

// value returns a declared fact's converted value, for explanations.
func (fe *factEnv) value(ec *evalCtx, name string) (any, bool) {
	i := sort.SearchStrings(fe.names, name)
	if i == len(fe.names) || fe.names[i] != name {
		return nil, false
	}
	slot := fe.slots[i]
	switch fe.kinds[i] {
	case lang.Num:
		return ec.c.Nums[slot], true
	case lang.Str:
		return ec.c.Texts[slot], true
	case lang.Bool:
		return ec.c.Bools[slot], true
	case lang.List:
		if l := ec.c.Lists[slot]; l != nil {
			return l, true
		}
		return []string{}, true
	case lang.Time:
		return ec.c.Times[slot], true
	}
	return nil, false
}

// compileGuard compiles src as a bool expression over the facts, with its
// clause tree for explanations (built from the same compilation: a guard of
// 240 "or" leaves is compiled once, not 241 times).
func compileGuard(src string, fe *factEnv, maxCost float64, b *lang.Budget) (*guard, *lang.Error) {
	p, err := lang.Compile(src, fe.sch, lang.Config{Want: lang.Bool, Limits: fe.lim, MaxCost: maxCost, CostName: "Options.MaxGuardCost", Clauses: true, Budget: b})
	if err != nil {
		return nil, err
	}
	return &guard{src: src, prog: p}, nil
}

// holds evaluates the guard.
func (g *guard) holds(ec *evalCtx) (bool, error) { return g.prog.Bool(&ec.c, ec.r) }

// Clause is one part of a guard and its value on the facts given.
type Clause struct {
	// Expr is the clause's source, normalised (e.g. `score >= 100`).
	Expr string `json:"expr"`
	// Holds is the clause's value.
	Holds bool `json:"holds"`
	// Facts are the values of the facts the clause reads.
	Facts map[string]any `json:"facts,omitempty"`
	// Error is set when the clause failed to evaluate (it then does not
	// hold), e.g. a memory budget exceeded.
	Error string `json:"error,omitempty"`
}

// explain evaluates the guard as Advance does and, when it is false,
// walks the clause tree for the parts that make it so: the false parts of
// an "and", every part of a false "or". A part that fails to evaluate after
// an earlier false part of its "and" is left out, since the guard itself
// never evaluates it (short-circuit). When the guard fails to evaluate, the
// one blocking clause is the whole guard with the error.
func (g *guard) explain(fe *factEnv, ec *evalCtx) (bool, []Clause) {
	facts := func(names []string) map[string]any {
		m := map[string]any{}
		for _, n := range names {
			if v, ok := fe.value(ec, n); ok {
				m[n] = v
			}
		}
		return m
	}
	var used []string
	for _, f := range g.prog.Used() {
		used = append(used, f.Path())
	}
	holds, err := g.holds(ec)
	if err != nil {
		return false, []Clause{{Expr: g.String(), Facts: facts(used), Error: err.Error()}}
	}
	if holds {
		return true, nil
	}
	var out []Clause
	// walk returns the clause's value and whether it evaluated.
	var walk func(c *lang.Clause) (bool, bool)
	walk = func(c *lang.Clause) (bool, bool) {
		if c.Op == "" {
			ok, err := c.Eval(&ec.c, ec.r)
			if err != nil {
				return false, false
			}
			if !ok {
				out = append(out, Clause{Expr: c.Src, Facts: facts(c.Fields)})
			}
			return ok, true
		}
		mark := len(out)
		all, anyTrue, decided := true, false, false
		for _, ch := range c.Children {
			ok, evaluated := walk(ch)
			if !evaluated {
				if decided {
					continue // short-circuited in the real guard
				}
				out = append(out, Clause{Expr: ch.Src, Facts: facts(ch.Fields), Error: "failed to evaluate"})
				ok = false
			}
			all = all && ok
			anyTrue = anyTrue || ok
			if (c.Op == "and" && !ok) || (c.Op == "or" && ok) {
				decided = true
			}
		}
		if c.Op == "or" {
			if anyTrue {
				out = out[:mark] // a true "or" blocks nothing
			}
			return anyTrue, true
		}
		return all, true
	}
	if root := g.prog.Clauses(); root != nil {
		walk(root)
	}
	if len(out) == 0 {
		// The parts disagree with the whole (it cannot happen for pure
		// and/or trees, but never report a false guard as unblocked).
		out = []Clause{{Expr: g.String(), Facts: facts(used)}}
	}
	return false, out
}

// String returns the guard's source.
func (g *guard) String() string { return strings.TrimSpace(g.src) }
