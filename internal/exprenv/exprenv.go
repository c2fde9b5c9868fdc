// Package exprenv is the sandbox that every leadkit package compiles tenant
// expressions in: a whitelist of side-effect-free builtins, a few typed
// helper functions, an AST node limit, a VM memory budget and a typed result.
//
// It exists so that stage guards, scoring rules and journey predicates accept
// the same language with the same limits, and so that expr types stay out of
// the public API: callers get an *Error with a line and column, never a
// *file.Error.
package exprenv

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"
)

// Default limits. They are generous for rules a person writes by hand and
// small enough that a hostile rule cannot exhaust a process.
const (
	DefaultMaxNodes     uint = 1000
	DefaultMemoryBudget uint = 100_000
	// MaxSourceLen is the longest expression source accepted, in bytes.
	MaxSourceLen = 4096
)

// Limits bounds what an expression may do. Zero fields take the defaults.
type Limits struct {
	// MaxNodes caps the size of the parsed expression.
	MaxNodes uint
	// MemoryBudget caps what one evaluation may allocate, in expr VM units
	// (roughly one per element of a collection built or walked).
	MemoryBudget uint
}

// WithDefaults fills zero fields with the defaults.
func (l Limits) WithDefaults() Limits {
	if l.MaxNodes == 0 {
		l.MaxNodes = DefaultMaxNodes
	}
	if l.MemoryBudget == 0 {
		l.MemoryBudget = DefaultMemoryBudget
	}
	return l
}

// SafeBuiltins lists the expr builtins left enabled: pure, deterministic
// functions whose output is no larger than their input. Left out: now, date,
// duration and timezone (a rule must be a pure function of its inputs so
// scores can be replayed), keys and values (random order), repeat, replace,
// join and the JSON and base64 codecs (ways to build large values), and the
// reflective ones.
var SafeBuiltins = []string{
	"all", "none", "any", "one", "filter", "map", "find", "count", "sum",
	"len", "abs", "ceil", "floor", "round", "int", "float", "string",
	"trim", "trimPrefix", "trimSuffix", "upper", "lower", "split",
	"indexOf", "hasPrefix", "hasSuffix", "max", "min", "mean",
	"median", "first", "last", "uniq",
}

// MaxPredicateDepth is how deeply predicate builtins (all, any, filter, map,
// count, ...) may nest: all(a, any(b, ...)) is depth 2. Each level
// multiplies the work by the length of a list, so deeper nesting is refused
// at compile time. expr has no step limit, so an evaluation's work is bounded
// by the node limit, this depth and the length of the lists in its input:
// callers cap the lists they pass (stage caps list facts at 1,000 items).
const MaxPredicateDepth = 2

// Functions lists the helper functions registered in every sandbox, with
// their typed signatures (so expr calls them without reflection).
var Functions = []string{
	"domain(s string) string: the lower-cased domain of an e-mail address or URL",
	"hasAny(list []string, items []string) bool: whether list holds any of items (case-insensitive)",
	"lowerAll(list []string) []string: every element lower-cased",
}

// Options returns the expr options that build the sandbox for an
// environment value env (a struct or map describing the variables). The
// caller adds the result type (expr.AsBool, expr.AsFloat64, ...).
func Options(env any, l Limits) []expr.Option {
	l = l.WithDefaults()
	opts := []expr.Option{
		expr.Env(env),
		expr.DisableAllBuiltins(),
		expr.MaxNodes(l.MaxNodes),
		expr.Function("domain", func(p ...any) (any, error) {
			return Domain(p[0].(string)), nil
		}, new(func(string) string)),
		expr.Function("hasAny", func(p ...any) (any, error) {
			return HasAny(toStrings(p[0]), toStrings(p[1])), nil
		}, new(func([]string, []string) bool), new(func([]any, []any) bool), new(func([]string, []any) bool)),
		expr.Function("lowerAll", func(p ...any) (any, error) {
			in := toStrings(p[0])
			out := make([]string, len(in))
			for i, s := range in {
				out[i] = strings.ToLower(s)
			}
			return out, nil
		}, new(func([]string) []string), new(func([]any) []string)),
	}
	for _, b := range SafeBuiltins {
		opts = append(opts, expr.EnableBuiltin(b))
	}
	return opts
}

func toStrings(v any) []string {
	switch v := v.(type) {
	case []string:
		return v
	case []any:
		out := make([]string, 0, len(v))
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// Domain returns the lower-cased domain of an e-mail address ("a@Acme.com"
// -> "acme.com") or URL ("https://www.acme.com/x" -> "www.acme.com"), or of
// a bare domain; "" when there is none.
func Domain(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		return strings.ToLower(s[i+1:])
	}
	if strings.Contains(s, "://") {
		if u, err := url.Parse(s); err == nil {
			return strings.ToLower(u.Hostname())
		}
	}
	if i := strings.IndexAny(s, "/?#"); i >= 0 {
		s = s[:i]
	}
	return strings.ToLower(s)
}

// HasAny reports whether list holds any of items, ignoring case.
func HasAny(list, items []string) bool {
	for _, a := range list {
		for _, b := range items {
			if strings.EqualFold(a, b) {
				return true
			}
		}
	}
	return false
}

// Error is a compile or run error of one expression, with its position.
// Line and Column are 1-based; zero when unknown.
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

// Wrap converts an expr error into an *Error, keeping its position.
func Wrap(err error) *Error {
	if err == nil {
		return nil
	}
	var fe *file.Error
	if errors.As(err, &fe) {
		return &Error{Line: fe.Line, Column: fe.Column + 1, Message: fe.Message, Snippet: fe.Snippet}
	}
	return &Error{Message: err.Error()}
}

// Compile compiles src in the sandbox. result is the expected result option
// (expr.AsBool(), expr.AsFloat64(), ...) or nil for any. Errors are *Error.
func Compile(src string, env any, l Limits, result expr.Option, extra ...expr.Option) (*vm.Program, error) {
	if strings.TrimSpace(src) == "" {
		return nil, &Error{Message: "empty expression"}
	}
	if len(src) > MaxSourceLen {
		return nil, &Error{Message: fmt.Sprintf("expression is %d bytes long, the limit is %d", len(src), MaxSourceLen)}
	}
	opts := Options(env, l)
	if result != nil {
		opts = append(opts, result)
	}
	opts = append(opts, extra...)
	p, err := compileSafely(src, opts)
	if err != nil {
		return nil, Wrap(err)
	}
	if e := checkShape(src, p.Node()); e != nil {
		return nil, e
	}
	return p, nil
}

// checkShape refuses what the memory budget cannot bound: variables (let
// chains double a string per node) and predicate builtins nested deeper than
// MaxPredicateDepth.
func checkShape(src string, root ast.Node) *Error {
	v := &shapeVisitor{depth: map[ast.Node]int{}}
	ast.Walk(&root, v)
	if v.bad != nil {
		return v.bad.at(src)
	}
	return nil
}

type shapeVisitor struct {
	depth map[ast.Node]int // predicate nesting below and including a node
	bad   *positioned
}

type positioned struct {
	from int
	msg  string
}

func (p *positioned) at(src string) *Error {
	line, col := 1, 1
	for i, r := range src {
		if i >= p.from {
			break
		}
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return &Error{Line: line, Column: col, Message: p.msg}
}

// Visit runs after a node's children (ast.Walk is post-order), so the
// children's depths are known.
func (v *shapeVisitor) Visit(n *ast.Node) {
	if v.bad != nil {
		return
	}
	switch node := (*n).(type) {
	case *ast.VariableDeclaratorNode:
		v.bad = &positioned{node.Location().From, "variables (let) are not allowed in rules"}
	case *ast.PredicateNode:
		d := 1 + v.below(node.Node)
		v.depth[node] = d
		if d > MaxPredicateDepth {
			v.bad = &positioned{node.Location().From, fmt.Sprintf("predicates nested %d deep; the limit is %d", d, MaxPredicateDepth)}
		}
	}
}

// below returns the deepest predicate nesting inside n.
func (v *shapeVisitor) below(n ast.Node) int {
	best := 0
	w := &depthCollector{v: v, best: &best}
	ast.Walk(&n, w)
	return best
}

type depthCollector struct {
	v    *shapeVisitor
	best *int
}

func (c *depthCollector) Visit(n *ast.Node) {
	if d, ok := c.v.depth[*n]; ok && d > *c.best {
		*c.best = d
	}
}

// compileSafely turns a panic inside the expr compiler (a bug on hostile
// input) into an error, so a bad rule can never crash the host.
func compileSafely(src string, opts []expr.Option) (p *vm.Program, err error) {
	defer func() {
		if r := recover(); r != nil {
			p, err = nil, fmt.Errorf("expression compiler failed: %v", r)
		}
	}()
	return expr.Compile(src, opts...)
}

// Runner evaluates compiled programs with a memory budget. It reuses one VM
// and is not safe for concurrent use: keep one per goroutine (or in a
// sync.Pool).
type Runner struct {
	vm     vm.VM
	budget uint
}

// NewRunner returns a Runner enforcing l's memory budget.
func NewRunner(l Limits) *Runner {
	l = l.WithDefaults()
	return &Runner{budget: l.MemoryBudget}
}

// Run evaluates p against env. Runtime failures (including a blown memory
// budget) come back as *Error.
func (r *Runner) Run(p *vm.Program, env any) (any, error) {
	r.vm.MemoryBudget = r.budget
	out, err := r.vm.Run(p, env)
	if err != nil {
		return nil, Wrap(err)
	}
	return out, nil
}

// RunBool evaluates a program compiled with expr.AsBool.
func (r *Runner) RunBool(p *vm.Program, env any) (bool, error) {
	out, err := r.Run(p, env)
	if err != nil {
		return false, err
	}
	b, ok := out.(bool)
	if !ok {
		return false, &Error{Message: fmt.Sprintf("expression returned %T, want bool", out)}
	}
	return b, nil
}

// RunFloat evaluates a program compiled with expr.AsFloat64 and rejects NaN
// and infinities.
func (r *Runner) RunFloat(p *vm.Program, env any) (float64, error) {
	out, err := r.Run(p, env)
	if err != nil {
		return 0, err
	}
	var f float64
	switch v := out.(type) {
	case float64:
		f = v
	case int:
		f = float64(v)
	default:
		return 0, &Error{Message: fmt.Sprintf("expression returned %T, want number", out)}
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, &Error{Message: fmt.Sprintf("expression returned %v", f)}
	}
	return f, nil
}
