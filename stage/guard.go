package stage

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"
	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/exprenv"
)

// Facts are the caller-supplied values guards read, e.g. {"score": 120,
// "grade": "A"}. Only facts declared in Definition.Facts are visible to
// guards; undeclared keys are ignored, missing ones read as the zero value of
// their type, and a value of the wrong type is an error, as is a list fact
// longer than MaxListFact.
type Facts map[string]any

// MaxListFact caps the length of a strings fact. With predicates nested at
// most two deep, it bounds the work of one guard evaluation.
const MaxListFact = 1000

// guard is a compiled guard expression plus its and/or decomposition, used
// to explain which part blocks a transition.
type guard struct {
	src  string
	prog *vm.Program
	root *clause
}

// clause is a node of a guard's and/or tree. Leaves carry a program.
type clause struct {
	op       string // "and", "or" or "" for a leaf
	children []*clause
	src      string
	prog     *vm.Program
	idents   []string
}

type factEnv struct {
	types map[string]FactType
	zero  map[string]any
	pool  sync.Pool // of map[string]any
}

func newFactEnv(types map[string]FactType) *factEnv {
	fe := &factEnv{types: types, zero: make(map[string]any, len(types))}
	for name, t := range types {
		fe.zero[name] = zeroOf(t)
	}
	fe.pool.New = func() any { return make(map[string]any, len(types)) }
	return fe
}

func zeroOf(t FactType) any {
	switch t {
	case Number:
		return float64(0)
	case String:
		return ""
	case Bool:
		return false
	case Strings:
		return []string{}
	}
	return nil
}

// env fills a pooled map with the declared facts, converted to their types.
// Release it with put.
func (fe *factEnv) env(facts Facts) (map[string]any, error) {
	m := fe.pool.Get().(map[string]any)
	for name, t := range fe.types {
		v, ok := facts[name]
		if !ok || v == nil {
			m[name] = fe.zero[name]
			continue
		}
		cv, ok := convertFact(t, v)
		if !ok {
			fe.put(m)
			return nil, fmt.Errorf("fact %q: %w: want %s, got %T", name, leadkit.ErrInvalid, t, v)
		}
		if l, isList := cv.([]string); isList && len(l) > MaxListFact {
			fe.put(m)
			return nil, fmt.Errorf("fact %q: %w: %d items, the limit is %d", name, leadkit.ErrInvalid, len(l), MaxListFact)
		}
		m[name] = cv
	}
	return m, nil
}

func (fe *factEnv) put(m map[string]any) { fe.pool.Put(m) }

func convertFact(t FactType, v any) (any, bool) {
	switch t {
	case Number:
		switch n := v.(type) {
		case float64:
			return n, true
		case float32:
			return float64(n), true
		case int:
			return float64(n), true
		case int8:
			return float64(n), true
		case int16:
			return float64(n), true
		case int32:
			return float64(n), true
		case int64:
			return float64(n), true
		case uint:
			return float64(n), true
		case uint8:
			return float64(n), true
		case uint16:
			return float64(n), true
		case uint32:
			return float64(n), true
		case uint64:
			return float64(n), true
		case json.Number:
			f, err := n.Float64()
			return f, err == nil
		}
	case String:
		s, ok := v.(string)
		return s, ok
	case Bool:
		b, ok := v.(bool)
		return b, ok
	case Strings:
		switch l := v.(type) {
		case []string:
			return l, true
		case []any:
			out := make([]string, len(l))
			for i, x := range l {
				s, ok := x.(string)
				if !ok {
					return nil, false
				}
				out[i] = s
			}
			return out, true
		}
	}
	return nil, false
}

// compileGuard compiles src as a bool expression over the facts and splits
// it into and/or clauses for explanations.
func compileGuard(src string, fe *factEnv, lim exprenv.Limits) (*guard, error) {
	prog, err := exprenv.Compile(src, fe.zero, lim, expr.AsBool())
	if err != nil {
		return nil, err
	}
	g := &guard{src: src, prog: prog}
	if tree, err := parser.Parse(src); err == nil {
		g.root = buildClause(tree.Node, fe, lim)
	}
	if g.root == nil {
		g.root = &clause{src: src, prog: prog, idents: identsOf(src)}
	}
	return g, nil
}

func boolOp(n ast.Node) (string, ast.Node, ast.Node) {
	b, ok := n.(*ast.BinaryNode)
	if !ok {
		return "", nil, nil
	}
	switch b.Operator {
	case "&&", "and":
		return "and", b.Left, b.Right
	case "||", "or":
		return "or", b.Left, b.Right
	}
	return "", nil, nil
}

// buildClause flattens nested and/or nodes into n-ary clauses. It returns
// nil if a leaf fails to compile on its own, and the caller then treats the
// whole guard as one clause.
func buildClause(n ast.Node, fe *factEnv, lim exprenv.Limits) *clause {
	op, _, _ := boolOp(n)
	if op == "" {
		src := n.String()
		prog, err := exprenv.Compile(src, fe.zero, lim, expr.AsBool())
		if err != nil {
			return nil
		}
		return &clause{src: src, prog: prog, idents: identsOfNode(n)}
	}
	c := &clause{op: op, src: n.String()}
	var flatten func(ast.Node)
	flatten = func(x ast.Node) {
		if xop, l, r := boolOp(x); xop == op {
			flatten(l)
			flatten(r)
			return
		}
		c.children = append(c.children, buildClause(x, fe, lim))
	}
	flatten(n)
	for _, ch := range c.children {
		if ch == nil {
			return nil
		}
	}
	return c
}

type identVisitor struct{ seen map[string]bool }

func (v *identVisitor) Visit(n *ast.Node) {
	if id, ok := (*n).(*ast.IdentifierNode); ok {
		v.seen[id.Value] = true
	}
}

func identsOfNode(n ast.Node) []string {
	v := &identVisitor{seen: map[string]bool{}}
	ast.Walk(&n, v)
	out := make([]string, 0, len(v.seen))
	for k := range v.seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func identsOf(src string) []string {
	tree, err := parser.Parse(src)
	if err != nil {
		return nil
	}
	return identsOfNode(tree.Node)
}

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
func (g *guard) explain(r *exprenv.Runner, env map[string]any) (bool, []Clause) {
	holds, err := r.RunBool(g.prog, env)
	if err != nil {
		return false, []Clause{{Expr: g.String(), Facts: factsOf(identsOf(g.src), env), Error: err.Error()}}
	}
	if holds {
		return true, nil
	}
	var out []Clause
	// walk returns the clause's value and whether it evaluated.
	var walk func(c *clause) (bool, bool)
	walk = func(c *clause) (bool, bool) {
		if c.op == "" {
			ok, err := r.RunBool(c.prog, env)
			if err != nil {
				return false, false
			}
			if !ok {
				out = append(out, Clause{Expr: c.src, Facts: factsOf(c.idents, env)})
			}
			return ok, true
		}
		mark := len(out)
		all, anyTrue, decided := true, false, false
		for _, ch := range c.children {
			ok, evaluated := walk(ch)
			if !evaluated {
				if decided {
					continue // short-circuited in the real guard
				}
				out = append(out, Clause{Expr: ch.src, Facts: factsOf(identsOf(ch.src), env), Error: "failed to evaluate"})
				ok = false
			}
			all = all && ok
			anyTrue = anyTrue || ok
			if (c.op == "and" && !ok) || (c.op == "or" && ok) {
				decided = true
			}
		}
		if c.op == "or" {
			if anyTrue {
				out = out[:mark] // a true "or" blocks nothing
			}
			return anyTrue, true
		}
		return all, true
	}
	walk(g.root)
	if len(out) == 0 {
		// The parts disagree with the whole (it cannot happen for pure
		// and/or trees, but never report a false guard as unblocked).
		out = []Clause{{Expr: g.String(), Facts: factsOf(identsOf(g.src), env)}}
	}
	return false, out
}

func factsOf(idents []string, env map[string]any) map[string]any {
	m := map[string]any{}
	for _, id := range idents {
		if v, ok := env[id]; ok {
			m[id] = v
		}
	}
	return m
}

// String returns the guard's source.
func (g *guard) String() string { return strings.TrimSpace(g.src) }
