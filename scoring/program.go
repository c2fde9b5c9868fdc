package scoring

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"
	"github.com/leadkit/leadkit/internal/exprenv"
)

// program is one compiled rule expression: closures when the closure
// compiler covers it, the expr VM otherwise.
type program struct {
	src  string
	fast cnode
	ok   bool // fast is usable
	vm   *vm.Program
	sch  *schema
	// used lists the schema fields the expression reads: the VM
	// environment is filled with these only.
	used []int
	// checks are the reads of the used fields that can fail. The closure
	// path runs them first, so that, as on the VM (which reads every used
	// field to build its environment), a rule fails when a field it
	// mentions holds a bad value, even if evaluation would short-circuit
	// past it.
	checks []cnode
	// cost is the estimated worst-case work of one evaluation (cost.go).
	cost float64
	// asOf reports that the value depends on the as-of time (daysSince,
	// event.age_days, lead.age_days), not only on the lead or event.
	asOf bool
}

// exprCfg is how one expression is compiled.
type exprCfg struct {
	lim     exprenv.Limits
	want    kind // kBool or kNum
	forceVM bool
	derived bool // a derived dimension: $env may only be indexed by a constant name
	caps    caps
	budget  float64 // cost limit; the error names this part of the model
	what    string  // "Options.MaxCost" or "Options.MaxEventCost", for the error
}

// exprFuncs are the scoring helpers registered besides exprenv's.
func exprFuncs() []expr.Option {
	return []expr.Option{
		expr.Function("has", func(p ...any) (any, error) {
			return hasFold(p[0].([]string), p[1].(string)), nil
		}, new(func([]string, string) bool)),
		// daysSince(t) is rewritten to daysSince(t, __asof) by asOfPatch.
		expr.Function("daysSince", func(p ...any) (any, error) {
			return daysSince(p[0].(time.Time), p[1].(time.Time)), nil
		}, new(func(time.Time, time.Time) float64)),
	}
}

// asOfPatch rewrites daysSince(t) into daysSince(t, __asof), so that the
// function reads the scoring as-of time from the environment (never the
// wall clock) and the closure compiler and the VM agree.
type asOfPatch struct{}

func (asOfPatch) Visit(n *ast.Node) {
	call, ok := (*n).(*ast.CallNode)
	if !ok || len(call.Arguments) != 1 {
		return
	}
	if id, ok := call.Callee.(*ast.IdentifierNode); ok && id.Value == "daysSince" {
		asOf := &ast.IdentifierNode{Value: asOfName}
		asOf.SetLocation(call.Location())
		call.Arguments = append(call.Arguments, asOf)
	}
}

// posError is an *exprenv.Error at the rune offset loc.From of src.
func posError(src string, loc file.Location, format string, args ...any) *exprenv.Error {
	line, col, i := 1, 1, 0
	for _, r := range src {
		if i >= loc.From {
			break
		}
		i++
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return &exprenv.Error{Line: line, Column: col, Message: fmt.Sprintf(format, args...)}
}

// compileExpr compiles src against sch, wanting a bool (cfg.want == kBool)
// or a number (kNum).
func compileExpr(src string, sch *schema, cfg exprCfg) (*program, *exprenv.Error) {
	res := expr.AsBool()
	if cfg.want == kNum {
		res = expr.AsFloat64()
	}
	opts := exprFuncs()
	if _, ok := sch.index[asOfName]; ok {
		opts = append(opts, expr.Patch(asOfPatch{}))
	}
	p, err := exprenv.Compile(src, sch.zero(), cfg.lim, res, opts...)
	if err != nil {
		var e *exprenv.Error
		if !errors.As(err, &e) {
			e = exprenv.Wrap(err)
		}
		e.Message = sch.cleanMessage(e.Message)
		e.Snippet = sch.cleanMessage(e.Snippet)
		return nil, e
	}
	if e := checkScoringShape(src, p.Node(), cfg.derived); e != nil {
		return nil, e
	}
	out := &program{src: src, vm: p, sch: sch, used: usedFields(p.Node(), sch)}
	skips := shortCircuits(p.Node())
	for _, i := range out.used {
		if skips && sch.fields[i].get.fails {
			out.checks = append(out.checks, sch.fields[i].get)
		}
		switch f := sch.fields[i]; {
		case f.name == asOfName, f.scope == "event" && f.name == "age_days", f.scope == "lead" && f.name == "age_days":
			out.asOf = true
		}
	}
	cm := &costModel{sch: sch, caps: cfg.caps, memBudget: float64(cfg.lim.WithDefaults().MemoryBudget)}
	var worst ast.Node
	out.cost, worst = cm.expensive(p.Node())
	if cfg.budget > 0 && out.cost > cfg.budget {
		return nil, posError(src, worst.Location(),
			"the expression may do about %.3g units of work on inputs at the size limits (%d items per list, %d bytes per string); the limit (%s) is %.3g: avoid comparing lists with lists or nesting predicates",
			out.cost, cfg.caps.list, cfg.caps.str, cfg.what, cfg.budget)
	}
	if !cfg.forceVM {
		if n, ok := fastCompile(p.Node(), sch); ok {
			switch {
			case cfg.want == kBool && n.k == kBool:
				out.fast, out.ok = n, true
			case cfg.want == kNum && (n.k == kNum || n.k == kInt):
				out.fast, out.ok = cnode{k: kNum, n: n.num()}, true
			}
		}
	}
	return out, nil
}

// checkScoringShape refuses what scoring does not accept on top of
// exprenv's rules: split (it turns one bounded string into a list as long
// as the string, the lever of nested predicates), and in derived
// dimensions any use of $env other than $env["constant name"] (a computed
// name would hide a dependency, and with it a cycle).
func checkScoringShape(src string, root ast.Node, derived bool) *exprenv.Error {
	var bad *exprenv.Error
	covered := map[ast.Node]bool{}
	nodes := collect(root)
	for _, n := range nodes {
		if bad != nil {
			break
		}
		switch n := n.(type) {
		case *ast.BuiltinNode:
			if n.Name == "split" {
				bad = posError(src, n.Location(), "split is not available in scoring rules: declare the field with type strings")
			}
		case *ast.MemberNode:
			if id, ok := n.Node.(*ast.IdentifierNode); ok && id.Value == "$env" {
				covered[id] = true
				if _, ok := n.Property.(*ast.StringNode); !ok && derived {
					bad = posError(src, n.Location(), "$env must be indexed by a constant dimension name")
				}
			}
		}
	}
	if bad == nil && derived {
		for _, n := range nodes {
			if id, ok := n.(*ast.IdentifierNode); ok && id.Value == "$env" && !covered[id] {
				return posError(src, n.Location(), "$env may only be used as $env[\"dimension name\"]")
			}
		}
	}
	return bad
}

// shortCircuits reports whether evaluating root may skip some of its
// nodes (and, or, ??, ternaries, predicates): only then can the closure
// path miss a field read that the VM, reading every used field up front,
// would fail on.
func shortCircuits(root ast.Node) bool {
	for _, n := range collect(root) {
		switch n := n.(type) {
		case *ast.BinaryNode:
			switch n.Operator {
			case "and", "&&", "or", "||", "??":
				return true
			}
		case *ast.ConditionalNode, *ast.PredicateNode:
			return true
		}
	}
	return false
}

// collect lists every node of the tree, children before parents.
func collect(root ast.Node) []ast.Node {
	var c collector
	ast.Walk(&root, &c)
	return c.nodes
}

type collector struct{ nodes []ast.Node }

func (c *collector) Visit(n *ast.Node) { c.nodes = append(c.nodes, *n) }

// usedFields lists the schema fields an expression reads: member paths
// that name a field (person.title, $env["interest:ai"]) and top-level
// names; a scope or $env used as a whole (e.g. person[key] with a computed
// key) marks every field under it.
func usedFields(root ast.Node, s *schema) []int {
	nodes := collect(root)
	covered := map[ast.Node]bool{}
	mark := make([]bool, len(s.fields))
	// Parents come after children in nodes: walk backwards so the longest
	// member path is resolved first and covers its inner nodes.
	for k := len(nodes) - 1; k >= 0; k-- {
		n := nodes[k]
		if covered[n] {
			continue
		}
		var path string
		switch n := n.(type) {
		case *ast.MemberNode:
			p, ok := memberPath(n)
			if !ok {
				continue
			}
			path = p
		case *ast.IdentifierNode:
			path = n.Value
		default:
			continue
		}
		if i, ok := s.index[path]; ok {
			mark[i] = true
			for m, ok := n.(*ast.MemberNode); ok; m, ok = m.Node.(*ast.MemberNode) {
				covered[m.Node] = true
			}
			continue
		}
		// A whole scope ("person") or the whole environment ("$env", "").
		for i, f := range s.fields {
			if path == "$env" || path == "" || f.scope == path {
				mark[i] = true
			}
		}
	}
	var used []int
	for i, ok := range mark {
		if ok {
			used = append(used, i)
		}
	}
	return used
}

// precheck runs the failing reads of the closure path (see checks).
func (p *program) precheck(c *ectx) {
	for i := range p.checks {
		p.checks[i].touch(c)
	}
}

// bool evaluates a boolean program.
func (p *program) bool(c *ectx, r *exprenv.Runner) (bool, error) {
	if p.ok {
		p.precheck(c)
		v := false
		if c.err == nil {
			v = p.fast.b(c)
		}
		if c.err != nil {
			err := c.err
			c.err = nil
			return false, err
		}
		return v, nil
	}
	env := p.sch.fill(c, p.used)
	if c.err != nil {
		err := c.err
		c.err = nil
		return false, err
	}
	v, err := r.RunBool(p.vm, env)
	if err != nil {
		return false, err
	}
	return v, nil
}

// float evaluates a numeric program and rejects NaN and infinities.
func (p *program) float(c *ectx, r *exprenv.Runner) (float64, error) {
	var v float64
	if p.ok {
		if p.precheck(c); c.err == nil {
			v = p.fast.n(c)
		}
		if c.err != nil {
			err := c.err
			c.err = nil
			return 0, err
		}
	} else {
		env := p.sch.fill(c, p.used)
		if c.err != nil {
			err := c.err
			c.err = nil
			return 0, err
		}
		var err error
		if v, err = r.RunFloat(p.vm, env); err != nil {
			return 0, err
		}
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("expression returned %v", v)
	}
	return v, nil
}
