package lang

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/checker"
	"github.com/expr-lang/expr/compiler"
	"github.com/expr-lang/expr/conf"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/optimizer"
	"github.com/expr-lang/expr/vm"
	"github.com/leadkit/leadkit"
)

// Default limits: generous for expressions a person writes by hand and
// small enough that a hostile one cannot exhaust a process.
const (
	// DefaultMaxNodes caps the size of one parsed expression.
	DefaultMaxNodes uint = 1000
	// DefaultMemoryBudget caps what one evaluation on the expr VM may
	// allocate, in VM units (about one per element of a collection built).
	DefaultMemoryBudget uint = 100_000
	// DefaultMaxCost bounds the estimated worst-case work of one
	// evaluation of an expression run once per lead or decision (a fit
	// rule, a derived dimension, a stage guard): about 15-25 ms.
	DefaultMaxCost = 1_000_000
	// DefaultMaxEventCost bounds an expression run once per event (a
	// behavior predicate, a funnel step): about 0.3-0.5 ms.
	DefaultMaxEventCost = 20_000
)

// MaxPredicateDepth is how deeply predicate builtins (all, any, filter,
// map, count, ...) may nest: all(a, any(b, ...)) is depth 2.
const MaxPredicateDepth = 2

// Limits bound what expressions may do. Zero fields take the defaults.
type Limits struct {
	// MaxNodes caps the size of each expression (default DefaultMaxNodes).
	MaxNodes uint
	// MemoryBudget caps what one VM evaluation may allocate (default
	// DefaultMemoryBudget).
	MemoryBudget uint
	// MaxStringBytes and MaxListItems cap the values expressions read
	// (defaults leadkit.MaxStringBytes and leadkit.MaxListItems). The cost
	// bound is estimated at these sizes.
	MaxStringBytes int
	MaxListItems   int
}

// WithDefaults fills zero fields with the defaults.
func (l Limits) WithDefaults() Limits {
	if l.MaxNodes == 0 {
		l.MaxNodes = DefaultMaxNodes
	}
	if l.MemoryBudget == 0 {
		l.MemoryBudget = DefaultMemoryBudget
	}
	if l.MaxStringBytes <= 0 {
		l.MaxStringBytes = leadkit.MaxStringBytes
	}
	if l.MaxListItems <= 0 {
		l.MaxListItems = leadkit.MaxListItems
	}
	return l
}

// Caps returns the size caps of l.
func (l Limits) Caps() Caps {
	l = l.WithDefaults()
	return Caps{Str: l.MaxStringBytes, List: l.MaxListItems}
}

// Config is how one expression is compiled.
type Config struct {
	// Want is the result kind: Bool or Num.
	Want Kind
	// Limits bound the expression; zero fields take the defaults.
	Limits Limits
	// MaxCost bounds the estimated worst-case work of one evaluation
	// (default DefaultMaxCost); CostName is how the caller's API names the
	// limit, for the error (e.g. "Options.MaxEventCost").
	MaxCost  float64
	CostName string
	// Clauses builds the expression's and/or clause tree, for
	// explanations (see [Program.Clauses]).
	Clauses bool
	// ForceVM evaluates on the expr VM even when closures cover the
	// expression (tests compare both).
	ForceVM bool
	// Budget, when set, is charged with the expression's source bytes and
	// compiled patterns, shared by every expression of one document.
	Budget *Budget
}

// Error is a compile or run-time error of one expression. Line and Column
// are 1-based (columns count runes); zero when unknown.
type Error struct {
	Line    int
	Column  int
	Message string
	// Snippet shows the offending line with a caret under the position.
	Snippet string
}

// Error formats the message with its position.
func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Column, e.Message)
	}
	return e.Message
}

// wrap converts an expr error into an *Error, keeping its position.
func wrap(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var fe *file.Error
	if errors.As(err, &fe) {
		if fe.Line > 0 {
			return &Error{Line: fe.Line, Column: fe.Column + 1, Message: fe.Message, Snippet: fe.Snippet}
		}
		return &Error{Message: fe.Message}
	}
	return &Error{Message: err.Error()}
}

// posError is an *Error at the rune offset from of src.
func posError(src string, from int, format string, args ...any) *Error {
	line, col, i := 1, 1, 0
	for _, r := range src {
		if i >= from {
			break
		}
		i++
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return &Error{Line: line, Column: col, Message: fmt.Sprintf(format, args...)}
}

// Program is one compiled expression: closures when the closure compiler
// covers it, the expr VM otherwise. It is immutable and safe for
// concurrent use; each goroutine evaluates with its own Ctx and Runner.
type Program struct {
	src  string
	fast Node
	ok   bool // fast is usable
	vm   *vm.Program
	sch  *Schema
	want Kind
	// used lists the schema fields the expression reads: the VM
	// environment is filled with these only.
	used []int
	// checks are the reads of the used fields that can fail. The closure
	// path runs them first, so that, as on the VM (which reads every used
	// field to build its environment), an expression fails when a field it
	// mentions holds a bad value, even if evaluation would short-circuit
	// past it.
	checks  []Node
	cost    float64
	asOf    bool
	clauses *Clause
}

// Source returns the expression's source.
func (p *Program) Source() string { return p.src }

// Cost returns the estimated worst-case work of one evaluation.
func (p *Program) Cost() float64 { return p.cost }

// AsOf reports whether the value depends on the as-of time (daysSince,
// event.age_days, lead.age_days), not only on the inputs.
func (p *Program) AsOf() bool { return p.asOf }

// Fast reports whether the program runs as closures (no VM, no
// allocation).
func (p *Program) Fast() bool { return p.ok }

// Used returns the fields the expression reads, in schema order.
func (p *Program) Used() []Field {
	out := make([]Field, 0, len(p.used))
	for _, i := range p.used {
		if p.sch.fields[i].Name != asOfName {
			out = append(out, p.sch.fields[i])
		}
	}
	return out
}

// Clauses returns the and/or clause tree built when Config.Clauses was
// set, or nil.
func (p *Program) Clauses() *Clause { return p.clauses }

// compiles counts Compile calls: tests check that an explained guard is
// compiled once, not once per clause.
var compiles atomic.Int64

// Compile compiles src against the schema s. Errors are *Error values with
// a position (when the problem has one) and a hint.
func Compile(src string, s *Schema, cfg Config) (p *Program, err *Error) {
	compiles.Add(1)
	defer func() {
		if r := recover(); r != nil {
			// A panic in the expr compiler is a bug on hostile input: never
			// let it crash the host.
			p, err = nil, &Error{Message: fmt.Sprintf("expression compiler failed: %v", r)}
		}
	}()
	if strings.TrimSpace(src) == "" {
		return nil, &Error{Message: "empty expression"}
	}
	if len(src) > leadkit.MaxExprBytes {
		return nil, &Error{Message: fmt.Sprintf("expression is %d bytes long, the limit is %d", len(src), leadkit.MaxExprBytes)}
	}
	if msg := leadkit.CheckText(src, leadkit.MaxExprBytes); msg != "" {
		return nil, &Error{Message: "expression " + msg}
	}
	if e := prescan(src, cfg.Budget); e != nil {
		return nil, e
	}
	lim := cfg.Limits.WithDefaults()
	config := newConfig(s, cfg.Want, lim)

	tree, cerr := checker.ParseCheck(src, config)
	if cerr != nil {
		return nil, s.explain(src, cerr)
	}
	if e := checkShape(src, tree.Node, s); e != nil {
		return nil, e
	}
	p = &Program{src: src, sch: s, want: cfg.Want}
	if cfg.Clauses {
		p.clauses = buildClauses(src, s, cfg, config)
	}
	if config.Optimize {
		if oerr := optimizer.Optimize(&tree.Node, config); oerr != nil {
			var fe *file.Error
			if errors.As(oerr, &fe) {
				return nil, wrap(fe.Bind(tree.Source))
			}
			return nil, wrap(oerr)
		}
	}
	prog, perr := compiler.Compile(tree, config)
	if perr != nil {
		return nil, wrap(perr)
	}
	p.vm = prog
	p.used = usedFields(tree.Node, s)
	skips := shortCircuits(tree.Node)
	for _, i := range p.used {
		f := s.fields[i]
		if skips && f.Get.Fails {
			p.checks = append(p.checks, f.Get)
		}
		if f.AsOf {
			p.asOf = true
		}
	}
	maxCost := cfg.MaxCost
	if maxCost <= 0 {
		maxCost = DefaultMaxCost
	}
	caps := lim.Caps()
	cm := &costModel{sch: s, caps: caps, memBudget: float64(lim.MemoryBudget)}
	var worst ast.Node
	p.cost, worst = cm.expensive(tree.Node)
	if cm.refused != nil {
		return nil, posError(src, cm.refused.Location().From, "%s", cm.refusedMsg)
	}
	if p.cost > maxCost {
		name := cfg.CostName
		if name == "" {
			name = "the cost limit"
		}
		return nil, posError(src, worst.Location().From,
			"the expression may do about %.3g units of work on inputs at the size limits (%d items per list, %d bytes per string); the limit (%s) is %.3g: avoid comparing lists with lists or nesting predicates",
			p.cost, caps.List, caps.Str, name, maxCost)
	}
	if !cfg.ForceVM {
		if n, ok := fastCompile(tree.Node, s); ok {
			switch {
			case cfg.Want == Bool && n.Kind == Bool:
				p.fast, p.ok = n, true
			case cfg.Want == Num && (n.Kind == Num || n.Kind == Int):
				p.fast, p.ok = Node{Kind: Num, N: n.num()}, true
			}
		}
	}
	return p, nil
}

// newConfig builds the expr configuration of the sandbox.
func newConfig(s *Schema, want Kind, lim Limits) *conf.Config {
	config := conf.CreateNew()
	opts := []expr.Option{
		expr.Env(s.zero()),
		expr.DisableAllBuiltins(),
		expr.MaxNodes(lim.MaxNodes),
	}
	for _, b := range SafeBuiltins {
		opts = append(opts, expr.EnableBuiltin(b))
	}
	opts = append(opts, functionOptions()...)
	opts = append(opts, intFunctions()...)
	opts = append(opts, expr.Patch(intPatch{}), expr.Patch(datePatch{}))
	// date's signature, for the type checker; every call with a literal
	// is replaced by its value before it could run (datePatch), and any
	// other call is refused (checkShape).
	opts = append(opts, expr.Function("date", func(p ...any) (any, error) {
		return nil, fmt.Errorf("date takes a literal")
	}, new(func(string) time.Time)))
	switch want {
	case Bool:
		opts = append(opts, expr.AsBool())
	case Num:
		opts = append(opts, expr.AsFloat64())
	}
	if _, ok := s.index[asOfName]; ok {
		opts = append(opts, expr.Patch(asOfPatch{}))
	}
	for _, o := range opts {
		o(config)
	}
	for name := range config.Disabled {
		delete(config.Builtins, name)
	}
	config.Check()
	return config
}

// datePatch replaces date("2025-01-01") by the time it names, read by
// leadkit.ParseDate when the expression is compiled. A call with anything
// but a valid string literal is left for checkShape to refuse.
type datePatch struct{}

// Visit rewrites one node (ast.Visitor).
func (datePatch) Visit(n *ast.Node) {
	call, ok := (*n).(*ast.CallNode)
	if !ok || len(call.Arguments) != 1 {
		return
	}
	id, ok := call.Callee.(*ast.IdentifierNode)
	if !ok || id.Value != "date" {
		return
	}
	lit, ok := call.Arguments[0].(*ast.StringNode)
	if !ok {
		return
	}
	t, err := leadkit.ParseDate(lit.Value)
	if err != nil {
		return
	}
	c := &ast.ConstantNode{Value: t}
	c.SetType(timeType)
	ast.Patch(n, c)
}

// asOfPatch rewrites daysSince(t) into daysSince(t, __asof), so that the
// function reads the as-of time from the environment (never the wall
// clock) and the closure compiler and the VM agree.
type asOfPatch struct{}

// Visit rewrites one node (ast.Visitor).
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

var (
	unknownNameRE = regexp.MustCompile(`^unknown name ([A-Za-z_$][A-Za-z0-9_]*)`)
	noFieldRE     = regexp.MustCompile(`^type (.+) has no field ([A-Za-z_][A-Za-z0-9_]*)`)
)

// explain turns an expr compile error into an *Error with a hint: an
// old-style or misspelt name names the one meant, an undeclared field says
// how to declare it, a function left out of the sandbox says why.
func (s *Schema) explain(src string, err error) *Error {
	e := wrap(err)
	e.Message = s.cleanMessage(e.Message)
	e.Snippet = s.cleanMessage(e.Snippet)
	if s.opts.NoAsOf && strings.Contains(e.Message, "daysSince") {
		e.Message = "daysSince is not available: " + s.opts.NoAsOfHint
		return e
	}
	if m := unknownNameRE.FindStringSubmatch(e.Message); m != nil {
		name := m[1]
		if why, ok := unavailable[name]; ok {
			e.Message = fmt.Sprintf("%s is not available: %s", name, why)
		} else if name == "daysSince" && s.opts.NoAsOf {
			e.Message = "daysSince is not available: " + s.opts.NoAsOfHint
		} else if h := s.hintName(name, memberAfter(src, name)); h != "" {
			e.Message = fmt.Sprintf("unknown name %s: %s", name, h)
		}
		return e
	}
	if m := noFieldRE.FindStringSubmatch(e.Message); m != nil {
		scope, name := m[1], m[2]
		if s.hasScope(scope) {
			e.Message = fmt.Sprintf("%s has no field %s: %s", scope, name, s.hintMember(scope, name))
		}
		return e
	}
	return e
}

// memberAfter returns the member read after name in src (pages in
// Attrs.pages), or "".
func memberAfter(src, name string) string {
	if i := strings.Index(src, name+`["`); i >= 0 {
		rest := src[i+len(name)+2:]
		if j := strings.IndexByte(rest, '"'); j > 0 && IsIdent(rest[:j]) {
			return rest[:j]
		}
	}
	i := strings.Index(src, name+".")
	if i < 0 {
		return ""
	}
	rest := src[i+len(name)+1:]
	j := 0
	for j < len(rest) && (rest[j] == '_' || rest[j] >= 'a' && rest[j] <= 'z' || rest[j] >= 'A' && rest[j] <= 'Z' || j > 0 && rest[j] >= '0' && rest[j] <= '9') {
		j++
	}
	return rest[:j]
}

var timeType = reflect.TypeOf(time.Time{})

// checkShape refuses what the sandbox forbids beyond the builtin
// whitelist: variables (let chains double a string per node), predicate
// builtins nested deeper than MaxPredicateDepth, method calls and member
// access on values (a time's Local() or Format("MST") depend on the host),
// computed field names and $env other than $env["constant name"] (both
// hide what an expression reads), and, in contexts without an as-of time,
// the fields that need one.
func checkShape(src string, root ast.Node, s *Schema) *Error {
	v := &shapeVisitor{src: src, s: s, depth: map[ast.Node]int{}, envMember: map[ast.Node]bool{}}
	ast.Walk(&root, v)
	if v.bad != nil {
		return v.bad
	}
	// $env alone (not indexed by a constant): refused.
	nodes := collect(root)
	callees := map[ast.Node]bool{}
	for _, n := range nodes {
		if c, ok := n.(*ast.CallNode); ok {
			callees[c.Callee] = true
		}
	}
	for _, n := range nodes {
		id, ok := n.(*ast.IdentifierNode)
		if !ok {
			continue
		}
		if id.Value == "$env" && !v.envMember[id] {
			return posError(src, n.Location().From, `$env may only be used as $env["name"]`)
		}
		// A name the checker let through as an argument of an
		// overloaded function (hasAny(A, [])) would fail at run time.
		if _, known := s.index[id.Value]; !known && !callees[id] && id.Value != "$env" && !s.hasScope(id.Value) {
			msg := "unknown name " + id.Value
			if h := s.hintName(id.Value, ""); h != "" {
				msg += ": " + h
			}
			return posError(src, n.Location().From, "%s", msg)
		}
	}
	return nil
}

type shapeVisitor struct {
	src       string
	s         *Schema
	depth     map[ast.Node]int // predicate nesting below and including a node
	envMember map[ast.Node]bool
	bad       *Error
}

func (v *shapeVisitor) fail(n ast.Node, format string, args ...any) {
	if v.bad == nil {
		v.bad = posError(v.src, n.Location().From, format, args...)
	}
}

// Visit runs after a node's children (ast.Walk is post-order), so the
// children's depths are known.
func (v *shapeVisitor) Visit(n *ast.Node) {
	if v.bad != nil {
		return
	}
	switch node := (*n).(type) {
	case *ast.VariableDeclaratorNode:
		v.fail(node, "variables (let) are not allowed")
	case *ast.PredicateNode:
		d := 1 + v.below(node.Node)
		v.depth[node] = d
		if d > MaxPredicateDepth {
			v.fail(node, "predicates nested %d deep; the limit is %d", d, MaxPredicateDepth)
		}
	case *ast.CallNode:
		if m, ok := node.Callee.(*ast.MemberNode); ok {
			name := "a method"
			if p, ok := m.Property.(*ast.StringNode); ok {
				name = p.Value
			}
			v.fail(node, "method calls are not allowed (%s): an expression must give the same result on every host; compare times directly or use daysSince(t)", name)
		}
		if id, ok := node.Callee.(*ast.IdentifierNode); ok && id.Value == "daysSince" && v.s.opts.NoAsOf {
			v.fail(node, "daysSince is not available: %s", v.s.opts.NoAsOfHint)
		}
		if id, ok := node.Callee.(*ast.IdentifierNode); ok && id.Value == "date" {
			// datePatch replaced every valid literal: this one is not.
			if lit, ok := node.Arguments[0].(*ast.StringNode); ok && len(node.Arguments) == 1 {
				_, err := leadkit.ParseDate(lit.Value)
				v.fail(node, "%s", strings.TrimPrefix(err.Error(), leadkit.ErrInvalid.Error()+": "))
			} else {
				v.fail(node, `date takes a date written out, as in date("2025-01-01"): expressions do not parse dates from data`)
			}
		}
	case *ast.MemberNode:
		base := node.Node
		if id, ok := base.(*ast.IdentifierNode); ok && id.Value == "$env" {
			v.envMember[id] = true
			if _, ok := node.Property.(*ast.StringNode); !ok {
				v.fail(node, `$env must be indexed by a constant name: $env["name"]`)
			}
			break
		}
		if t := base.Type(); t == timeType {
			name := "a field"
			if p, ok := node.Property.(*ast.StringNode); ok {
				name = p.Value
			}
			v.fail(node, "method calls are not allowed (%s): an expression must give the same result on every host; compare times directly or use daysSince(t)", name)
			break
		}
		if _, ok := node.Property.(*ast.StringNode); !ok && isScope(base, v.s) {
			v.fail(node, "field names must be written out (person.title), not computed")
		}
	}
	if v.bad == nil && v.s.opts.NoAsOf {
		if path, ok := memberPath(*n); ok {
			if f, ok := v.s.Lookup(path); ok && f.AsOf {
				v.fail(*n, "%s is not available: %s", path, v.s.opts.NoAsOfHint)
			}
		}
	}
}

// isScope reports whether n names a scope of s (person, event, ...).
func isScope(n ast.Node, s *Schema) bool {
	id, ok := n.(*ast.IdentifierNode)
	return ok && s.hasScope(id.Value)
}

// below returns the deepest predicate nesting inside n.
func (v *shapeVisitor) below(n ast.Node) int {
	best := 0
	for _, x := range collect(n) {
		if d, ok := v.depth[x]; ok && d > best {
			best = d
		}
	}
	return best
}

// shortCircuits reports whether evaluating root may skip some of its nodes
// (and, or, ??, ternaries, predicates): only then can the closure path miss
// a field read that the VM, reading every used field up front, would fail
// on.
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

// Visit collects one node (ast.Visitor).
func (c *collector) Visit(n *ast.Node) { c.nodes = append(c.nodes, *n) }

// usedFields lists the schema fields an expression reads: member paths that
// name a field (person.title, $env["interest:ai"]) and bare names.
func usedFields(root ast.Node, s *Schema) []int {
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
		path, ok := memberPath(n)
		if !ok {
			continue
		}
		if i, ok := s.index[path]; ok {
			mark[i] = true
			for m, ok := n.(*ast.MemberNode); ok; m, ok = m.Node.(*ast.MemberNode) {
				covered[m.Node] = true
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

// Runner evaluates programs on the expr VM with a memory budget. It reuses
// one VM and is not safe for concurrent use: keep one per goroutine (or in
// a sync.Pool).
type Runner struct {
	vm     vm.VM
	budget uint
}

// NewRunner returns a Runner enforcing l's memory budget.
func NewRunner(l Limits) *Runner {
	return &Runner{budget: l.WithDefaults().MemoryBudget}
}

func (r *Runner) run(p *vm.Program, env any) (out any, err error) {
	defer func() {
		if x := recover(); x != nil {
			out, err = nil, fmt.Errorf("expression failed: %v", x)
		}
	}()
	r.vm.MemoryBudget = r.budget
	return r.vm.Run(p, env)
}

// precheck runs the failing reads of the closure path (see checks).
func (p *Program) precheck(c *Ctx) {
	for i := range p.checks {
		p.checks[i].touch(c)
	}
}

// takeErr returns and clears c.Err.
func takeErr(c *Ctx) error {
	err := c.Err
	c.Err = nil
	return err
}

// Bool evaluates a boolean program. Run-time failures (a field of the
// wrong type, a value over the caps, a blown memory budget) are errors;
// expr's come back as *Error.
func (p *Program) Bool(c *Ctx, r *Runner) (bool, error) {
	if p.ok {
		p.precheck(c)
		v := false
		if c.Err == nil {
			v = p.fast.B(c)
		}
		if c.Err != nil {
			return false, takeErr(c)
		}
		return v, nil
	}
	env := p.sch.fill(c, p.used)
	if c.Err != nil {
		return false, takeErr(c)
	}
	out, err := r.run(p.vm, env)
	if err != nil {
		return false, wrap(err)
	}
	b, ok := out.(bool)
	if !ok {
		return false, &Error{Message: fmt.Sprintf("expression returned %T, want bool", out)}
	}
	return b, nil
}

// Float evaluates a numeric program and refuses NaN and infinities.
func (p *Program) Float(c *Ctx, r *Runner) (float64, error) {
	var v float64
	if p.ok {
		if p.precheck(c); c.Err == nil {
			v = p.fast.N(c)
		}
		if c.Err != nil {
			return 0, takeErr(c)
		}
	} else {
		env := p.sch.fill(c, p.used)
		if c.Err != nil {
			return 0, takeErr(c)
		}
		out, err := r.run(p.vm, env)
		if err != nil {
			return 0, wrap(err)
		}
		switch x := out.(type) {
		case float64:
			v = x
		case int:
			v = float64(x)
		default:
			return 0, &Error{Message: fmt.Sprintf("expression returned %T, want number", out)}
		}
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, &Error{Message: fmt.Sprintf("expression returned %v", v)}
	}
	return v, nil
}
