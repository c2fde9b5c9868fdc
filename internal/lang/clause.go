package lang

import (
	"sort"
	"sync"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/conf"
	"github.com/expr-lang/expr/parser"
)

// Clause is a node of an expression's and/or tree: the parts a "why not
// yet" explanation reports. Leaves evaluate on their own.
type Clause struct {
	// Op is "and", "or", or "" for a leaf.
	Op       string
	Children []*Clause
	// Src is the clause's source, normalised (e.g. `score >= 100`).
	Src string
	// Fields are the paths of the fields the clause reads, sorted.
	Fields []string

	sch   *Schema
	cfg   Config
	fast  Node
	ok    bool
	once  sync.Once
	prog  *Program
	perr  error
	check []Node
}

// buildClauses splits src into its and/or tree. Leaves are compiled to
// closures from the parse tree, never compiled again by expr (a guard of
// 240 "or" leaves costs one compilation); a leaf the closures do not cover
// is compiled on the VM the first time it is evaluated.
func buildClauses(src string, s *Schema, cfg Config, config *conf.Config) *Clause {
	tree, err := parser.ParseWithConfig(src, config)
	if err != nil {
		return nil
	}
	cfg.Clauses = false
	return clauseOf(tree.Node, s, cfg)
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

func clauseOf(n ast.Node, s *Schema, cfg Config) *Clause {
	op, _, _ := boolOp(n)
	if op == "" {
		c := &Clause{Src: n.String(), sch: s, cfg: cfg, Fields: fieldPaths(n, s)}
		if !cfg.ForceVM {
			if fn, ok := fastCompile(n, s); ok && fn.Kind == Bool {
				c.fast, c.ok = fn, true
				for _, i := range usedFields(n, s) {
					if f := s.fields[i]; f.Get.Fails {
						c.check = append(c.check, f.Get)
					}
				}
			}
		}
		return c
	}
	c := &Clause{Op: op, Src: n.String(), sch: s, cfg: cfg, Fields: fieldPaths(n, s)}
	var flatten func(ast.Node)
	flatten = func(x ast.Node) {
		if xop, l, r := boolOp(x); xop == op {
			flatten(l)
			flatten(r)
			return
		}
		c.Children = append(c.Children, clauseOf(x, s, cfg))
	}
	flatten(n)
	return c
}

// fieldPaths lists the schema fields n reads.
func fieldPaths(n ast.Node, s *Schema) []string {
	var out []string
	for _, i := range usedFields(n, s) {
		if s.fields[i].Name != asOfName {
			out = append(out, s.fields[i].Path())
		}
	}
	sort.Strings(out)
	return out
}

// Eval evaluates a leaf clause (an "and" or "or" clause evaluates its
// children with short-circuit, as the whole expression does).
func (c *Clause) Eval(ctx *Ctx, r *Runner) (bool, error) {
	switch c.Op {
	case "and", "or":
		for _, ch := range c.Children {
			v, err := ch.Eval(ctx, r)
			if err != nil {
				return false, err
			}
			if c.Op == "and" && !v {
				return false, nil
			}
			if c.Op == "or" && v {
				return true, nil
			}
		}
		return c.Op == "and", nil
	}
	if c.ok {
		for i := range c.check {
			c.check[i].touch(ctx)
		}
		v := false
		if ctx.Err == nil {
			v = c.fast.B(ctx)
		}
		if ctx.Err != nil {
			return false, takeErr(ctx)
		}
		return v, nil
	}
	c.once.Do(func() {
		p, err := Compile(c.Src, c.sch, c.cfg)
		if err != nil {
			c.perr = err
			return
		}
		c.prog = p
	})
	if c.perr != nil {
		return false, c.perr
	}
	return c.prog.Bool(ctx, r)
}
