package lang

import (
	"math"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/expr-lang/expr/ast"
)

// The closure compiler turns the type-checked, optimized AST of a rule into
// a tree of typed Go closures. It covers what scoring rules are made of
// (fields, literals, comparisons, boolean and arithmetic operators, in,
// contains/startsWith/endsWith/matches, the string and number builtins,
// domain/hasAny/has/daysSince); anything else (predicates over lists,
// ranges, ??, branches of mixed kinds ...) runs on the expr VM instead. Closures neither box values nor
// allocate, which keeps scoring at zero allocations per lead.

type unsupported struct{}

// fastCompile compiles n or reports false when some construct is not
// supported (the caller then uses the VM).
func fastCompile(n ast.Node, s *Schema) (out Node, ok bool) {
	defer func() {
		if r := recover(); r != nil {
			if _, is := r.(unsupported); !is {
				panic(r)
			}
			out, ok = Node{}, false
		}
	}()
	return compileNode(n, s), true
}

func bail() { panic(unsupported{}) }

func compileNode(n ast.Node, s *Schema) Node {
	switch n := n.(type) {
	case *ast.BoolNode:
		v := n.Value
		return Node{Kind: Bool, B: func(*Ctx) bool { return v }}
	case *ast.IntegerNode:
		v := n.Value
		return Node{Kind: Int, I: func(*Ctx) int { return v }}
	case *ast.FloatNode:
		v := n.Value
		return Node{Kind: Num, N: func(*Ctx) float64 { return v }}
	case *ast.StringNode:
		v := n.Value
		return Node{Kind: Str, S: func(*Ctx) string { return v }}
	case *ast.ConstantNode:
		return compileConst(n.Value)
	case *ast.IdentifierNode:
		if i, ok := s.index[n.Value]; ok {
			return s.fields[i].Get
		}
		bail()
	case *ast.MemberNode:
		return compileMember(n, s)
	case *ast.UnaryNode:
		return compileUnary(n, s)
	case *ast.BinaryNode:
		return compileBinary(n, s)
	case *ast.ConditionalNode:
		return compileCond(n, s)
	case *ast.BuiltinNode:
		return compileBuiltin(n, s)
	case *ast.CallNode:
		return compileCall(n, s)
	case *ast.ArrayNode:
		return compileArray(n, s)
	}
	bail()
	return Node{}
}

func compileConst(v any) Node {
	switch v := v.(type) {
	case bool:
		return Node{Kind: Bool, B: func(*Ctx) bool { return v }}
	case int:
		return Node{Kind: Int, I: func(*Ctx) int { return v }}
	case float64:
		return Node{Kind: Num, N: func(*Ctx) float64 { return v }}
	case string:
		return Node{Kind: Str, S: func(*Ctx) string { return v }}
	case time.Time:
		return Node{Kind: Time, T: func(*Ctx) time.Time { return v }}
	case []string:
		return Node{Kind: List, L: func(*Ctx) []string { return v }}
	case []any:
		list := make([]string, len(v))
		for i, x := range v {
			s, ok := x.(string)
			if !ok {
				bail()
			}
			list[i] = s
		}
		return Node{Kind: List, L: func(*Ctx) []string { return list }}
	}
	bail()
	return Node{}
}

// memberPath flattens person.title, person["title"] and $env.person.title.
func memberPath(n ast.Node) (string, bool) {
	switch n := n.(type) {
	case *ast.IdentifierNode:
		if n.Value == "$env" {
			return "", true
		}
		return n.Value, true
	case *ast.MemberNode:
		if n.Optional {
			return "", false
		}
		prop, ok := n.Property.(*ast.StringNode)
		if !ok {
			return "", false
		}
		base, ok := memberPath(n.Node)
		if !ok {
			return "", false
		}
		if base == "" {
			return prop.Value, true
		}
		return base + "." + prop.Value, true
	}
	return "", false
}

func compileMember(n *ast.MemberNode, s *Schema) Node {
	path, ok := memberPath(n)
	if !ok {
		bail()
	}
	i, ok := s.index[path]
	if !ok {
		bail()
	}
	return s.fields[i].Get
}

func compileUnary(n *ast.UnaryNode, s *Schema) Node {
	x := compileNode(n.Node, s)
	switch n.Operator {
	case "!", "not":
		if x.Kind != Bool {
			bail()
		}
		f := x.B
		return Node{Kind: Bool, B: func(c *Ctx) bool { return !f(c) }}
	case "-":
		switch x.Kind {
		case Int:
			f := x.I
			return Node{Kind: Int, I: func(c *Ctx) int { return -f(c) }}
		case Num:
			f := x.N
			return Node{Kind: Num, N: func(c *Ctx) float64 { return -f(c) }}
		}
	case "+":
		if x.Kind == Int || x.Kind == Num {
			return x
		}
	}
	bail()
	return Node{}
}

func isNum(k Kind) bool { return k == Int || k == Num }

func compileBinary(n *ast.BinaryNode, s *Schema) Node {
	op := n.Operator
	switch op {
	case "and", "&&", "or", "||":
		l, r := compileNode(n.Left, s), compileNode(n.Right, s)
		if l.Kind != Bool || r.Kind != Bool {
			bail()
		}
		lf, rf := l.B, r.B
		if op == "and" || op == "&&" {
			return Node{Kind: Bool, B: func(c *Ctx) bool { return lf(c) && rf(c) }}
		}
		return Node{Kind: Bool, B: func(c *Ctx) bool { return lf(c) || rf(c) }}
	case "in":
		return compileIn(n, s)
	case "matches":
		return compileMatches(n, s)
	}
	// Case-insensitive forms of lower(x) op "literal" that do not allocate.
	if f, ok := compileFoldCompare(n, s); ok {
		return f
	}
	l, r := compileNode(n.Left, s), compileNode(n.Right, s)
	switch op {
	case "==", "!=":
		var eq func(*Ctx) bool
		switch {
		case isNum(l.Kind) && isNum(r.Kind):
			if l.Kind == Int && r.Kind == Int {
				lf, rf := l.I, r.I
				eq = func(c *Ctx) bool { return lf(c) == rf(c) }
			} else {
				lf, rf := l.num(), r.num()
				eq = func(c *Ctx) bool { return lf(c) == rf(c) }
			}
		case l.Kind == Str && r.Kind == Str:
			lf, rf := l.S, r.S
			eq = func(c *Ctx) bool { return lf(c) == rf(c) }
		case l.Kind == Bool && r.Kind == Bool:
			lf, rf := l.B, r.B
			eq = func(c *Ctx) bool { return lf(c) == rf(c) }
		default:
			bail()
		}
		if op == "!=" {
			return Node{Kind: Bool, B: func(c *Ctx) bool { return !eq(c) }}
		}
		return Node{Kind: Bool, B: eq}
	case "<", "<=", ">", ">=":
		if l.Kind == Str && r.Kind == Str {
			lf, rf := l.S, r.S
			return Node{Kind: Bool, B: cmpFunc(op, func(c *Ctx) int { return strings.Compare(lf(c), rf(c)) })}
		}
		if !isNum(l.Kind) || !isNum(r.Kind) {
			bail()
		}
		if l.Kind == Int && r.Kind == Int {
			lf, rf := l.I, r.I
			switch op {
			case "<":
				return Node{Kind: Bool, B: func(c *Ctx) bool { return lf(c) < rf(c) }}
			case "<=":
				return Node{Kind: Bool, B: func(c *Ctx) bool { return lf(c) <= rf(c) }}
			case ">":
				return Node{Kind: Bool, B: func(c *Ctx) bool { return lf(c) > rf(c) }}
			default:
				return Node{Kind: Bool, B: func(c *Ctx) bool { return lf(c) >= rf(c) }}
			}
		}
		lf, rf := l.num(), r.num()
		switch op {
		case "<":
			return Node{Kind: Bool, B: func(c *Ctx) bool { return lf(c) < rf(c) }}
		case "<=":
			return Node{Kind: Bool, B: func(c *Ctx) bool { return lf(c) <= rf(c) }}
		case ">":
			return Node{Kind: Bool, B: func(c *Ctx) bool { return lf(c) > rf(c) }}
		default:
			return Node{Kind: Bool, B: func(c *Ctx) bool { return lf(c) >= rf(c) }}
		}
	case "contains", "startsWith", "endsWith":
		if l.Kind != Str || r.Kind != Str {
			bail()
		}
		lf, rf := l.S, r.S
		var f func(a, b string) bool
		switch op {
		case "contains":
			f = strings.Contains
		case "startsWith":
			f = strings.HasPrefix
		default:
			f = strings.HasSuffix
		}
		return Node{Kind: Bool, B: func(c *Ctx) bool { return f(lf(c), rf(c)) }}
	case "+":
		if l.Kind == Str && r.Kind == Str {
			lf, rf := l.S, r.S
			return Node{Kind: Str, S: func(c *Ctx) string { return lf(c) + rf(c) }}
		}
		return arith(op, l, r)
	case "-", "*", "/", "%", "**", "^":
		return arith(op, l, r)
	}
	bail()
	return Node{}
}

func cmpFunc(op string, cmp func(*Ctx) int) func(*Ctx) bool {
	switch op {
	case "<":
		return func(c *Ctx) bool { return cmp(c) < 0 }
	case "<=":
		return func(c *Ctx) bool { return cmp(c) <= 0 }
	case ">":
		return func(c *Ctx) bool { return cmp(c) > 0 }
	}
	return func(c *Ctx) bool { return cmp(c) >= 0 }
}

func arith(op string, l, r Node) Node {
	if !isNum(l.Kind) || !isNum(r.Kind) {
		bail()
	}
	if l.Kind == Int && r.Kind == Int {
		lf, rf := l.I, r.I
		switch op {
		case "+":
			return Node{Kind: Int, I: func(c *Ctx) int { return lf(c) + rf(c) }}
		case "-":
			return Node{Kind: Int, I: func(c *Ctx) int { return lf(c) - rf(c) }}
		case "*":
			return Node{Kind: Int, I: func(c *Ctx) int { return lf(c) * rf(c) }}
		case "%":
			return Node{Kind: Int, I: func(c *Ctx) int {
				a, b := lf(c), rf(c)
				if b == 0 {
					c.Fail("integer divide by zero")
					return 0
				}
				return a % b
			}}
		}
	}
	if op == "%" {
		bail()
	}
	lf, rf := l.num(), r.num()
	switch op {
	case "+":
		return Node{Kind: Num, N: func(c *Ctx) float64 { return lf(c) + rf(c) }}
	case "-":
		return Node{Kind: Num, N: func(c *Ctx) float64 { return lf(c) - rf(c) }}
	case "*":
		return Node{Kind: Num, N: func(c *Ctx) float64 { return lf(c) * rf(c) }}
	case "/":
		return Node{Kind: Num, N: func(c *Ctx) float64 { return lf(c) / rf(c) }}
	case "**", "^":
		return Node{Kind: Num, N: func(c *Ctx) float64 { return math.Pow(lf(c), rf(c)) }}
	}
	bail()
	return Node{}
}

func compileIn(n *ast.BinaryNode, s *Schema) Node {
	if m, ok := n.Right.(*ast.ConstantNode); ok {
		switch set := m.Value.(type) {
		case map[string]struct{}:
			l := compileNode(n.Left, s)
			if l.Kind != Str {
				bail()
			}
			lf := l.S
			if len(set) <= 8 {
				list := make([]string, 0, len(set))
				for k := range set {
					list = append(list, k)
				}
				return Node{Kind: Bool, B: func(c *Ctx) bool { return inList(lf(c), list) }}
			}
			return Node{Kind: Bool, B: func(c *Ctx) bool { _, ok := set[lf(c)]; return ok }}
		case map[int]struct{}:
			l := compileNode(n.Left, s)
			if l.Kind != Int {
				bail()
			}
			lf := l.I
			return Node{Kind: Bool, B: func(c *Ctx) bool { _, ok := set[lf(c)]; return ok }}
		}
		bail()
	}
	l, r := compileNode(n.Left, s), compileNode(n.Right, s)
	if l.Kind != Str || r.Kind != List {
		bail()
	}
	lf, rf := l.S, r.L
	return Node{Kind: Bool, B: func(c *Ctx) bool { return inList(lf(c), rf(c)) }}
}

func inList(x string, list []string) bool {
	for _, y := range list {
		if x == y {
			return true
		}
	}
	return false
}

func compileMatches(n *ast.BinaryNode, s *Schema) Node {
	pat, ok := n.Right.(*ast.StringNode)
	if !ok {
		bail()
	}
	re, err := regexp.Compile(pat.Value)
	if err != nil {
		bail()
	}
	l := compileNode(n.Left, s)
	if l.Kind != Str {
		bail()
	}
	lf := l.S
	return Node{Kind: Bool, B: func(c *Ctx) bool { return re.MatchString(lf(c)) }}
}

// compileFoldCompare handles lower(x) OP "lit" (OP in ==, !=, contains,
// startsWith, endsWith) where lit has no upper-case letters: x is compared
// case-insensitively in place instead of being lower-cased into a new
// string. Non-ASCII inputs take strings.ToLower to stay exact.
func compileFoldCompare(n *ast.BinaryNode, s *Schema) (Node, bool) {
	b, ok := n.Left.(*ast.BuiltinNode)
	if !ok || b.Name != "lower" || len(b.Arguments) != 1 {
		return Node{}, false
	}
	lit, ok := n.Right.(*ast.StringNode)
	if !ok || strings.ToLower(lit.Value) != lit.Value || !isASCII(lit.Value) {
		return Node{}, false
	}
	x := compileNode(b.Arguments[0], s)
	if x.Kind != Str {
		bail()
	}
	xf, want := x.S, lit.Value
	var f func(string) bool
	switch n.Operator {
	case "==":
		f = func(v string) bool { return len(v) == len(want) && asciiHasPrefixFold(v, want) }
	case "!=":
		f = func(v string) bool { return !(len(v) == len(want) && asciiHasPrefixFold(v, want)) }
	case "startsWith":
		f = func(v string) bool { return asciiHasPrefixFold(v, want) }
	case "endsWith":
		f = func(v string) bool { return len(v) >= len(want) && asciiHasPrefixFold(v[len(v)-len(want):], want) }
	case "contains":
		f = func(v string) bool { return asciiContainsFold(v, want) }
	default:
		return Node{}, false
	}
	op := n.Operator
	return Node{Kind: Bool, B: func(c *Ctx) bool {
		v := xf(c)
		if !isASCII(v) {
			lv := strings.ToLower(v)
			switch op {
			case "==":
				return lv == want
			case "!=":
				return lv != want
			case "startsWith":
				return strings.HasPrefix(lv, want)
			case "endsWith":
				return strings.HasSuffix(lv, want)
			}
			return strings.Contains(lv, want)
		}
		return f(v)
	}}, true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func lowerASCII(b byte) byte {
	if 'A' <= b && b <= 'Z' {
		return b + 'a' - 'A'
	}
	return b
}

// asciiHasPrefixFold reports whether v starts with lower-case want, ignoring
// the case of v.
func asciiHasPrefixFold(v, want string) bool {
	if len(v) < len(want) {
		return false
	}
	for i := 0; i < len(want); i++ {
		if lowerASCII(v[i]) != want[i] {
			return false
		}
	}
	return true
}

func asciiContainsFold(v, want string) bool {
	for i := 0; i+len(want) <= len(v); i++ {
		if asciiHasPrefixFold(v[i:], want) {
			return true
		}
	}
	return false
}

func compileCond(n *ast.ConditionalNode, s *Schema) Node {
	cond := compileNode(n.Cond, s)
	a, b := compileNode(n.Exp1, s), compileNode(n.Exp2, s)
	if cond.Kind != Bool {
		bail()
	}
	cf := cond.B
	if a.Kind != b.Kind {
		// Branches of different kinds (e.g. an int and a float): expr
		// types the result as any and each use decides at run time (an int
		// compared with an int stays exact, with a float it is converted),
		// which one static Kind cannot mirror. The VM runs it.
		bail()
	}
	switch a.Kind {
	case Bool:
		af, bf := a.B, b.B
		return Node{Kind: Bool, B: func(c *Ctx) bool {
			if cf(c) {
				return af(c)
			}
			return bf(c)
		}}
	case Int:
		af, bf := a.I, b.I
		return Node{Kind: Int, I: func(c *Ctx) int {
			if cf(c) {
				return af(c)
			}
			return bf(c)
		}}
	case Num:
		af, bf := a.N, b.N
		return Node{Kind: Num, N: func(c *Ctx) float64 {
			if cf(c) {
				return af(c)
			}
			return bf(c)
		}}
	case Str:
		af, bf := a.S, b.S
		return Node{Kind: Str, S: func(c *Ctx) string {
			if cf(c) {
				return af(c)
			}
			return bf(c)
		}}
	}
	bail()
	return Node{}
}

func args(ns []ast.Node, s *Schema) []Node {
	out := make([]Node, len(ns))
	for i, a := range ns {
		out[i] = compileNode(a, s)
	}
	return out
}

func compileBuiltin(n *ast.BuiltinNode, s *Schema) Node {
	if n.Map != nil || n.Threshold != nil {
		bail()
	}
	a := args(n.Arguments, s)
	one := func(k ...Kind) Node {
		if len(a) != 1 {
			bail()
		}
		for _, kk := range k {
			if a[0].Kind == kk {
				return a[0]
			}
		}
		bail()
		return Node{}
	}
	switch n.Name {
	case "len":
		x := one(Str, List)
		if x.Kind == Str {
			f := x.S
			return Node{Kind: Int, I: func(c *Ctx) int { return utf8.RuneCountInString(f(c)) }}
		}
		f := x.L
		return Node{Kind: Int, I: func(c *Ctx) int { return len(f(c)) }}
	case "lower", "upper", "trim":
		f := one(Str).S
		var g func(string) string
		switch n.Name {
		case "lower":
			g = strings.ToLower
		case "upper":
			g = strings.ToUpper
		default:
			g = strings.TrimSpace
		}
		return Node{Kind: Str, S: func(c *Ctx) string { return g(f(c)) }}
	case "abs":
		x := one(Int, Num)
		if x.Kind == Int {
			f := x.I
			return Node{Kind: Int, I: func(c *Ctx) int {
				v := f(c)
				if v < 0 {
					return -v
				}
				return v
			}}
		}
		f := x.N
		return Node{Kind: Num, N: func(c *Ctx) float64 { return math.Abs(f(c)) }}
	case "ceil", "floor":
		f := one(Int, Num).num()
		g := math.Ceil
		if n.Name == "floor" {
			g = math.Floor
		}
		return Node{Kind: Num, N: func(c *Ctx) float64 { return g(f(c)) }}
	case "float":
		f := one(Int, Num).num()
		return Node{Kind: Num, N: f}
	case "hasPrefix", "hasSuffix":
		if len(a) != 2 || a[0].Kind != Str || a[1].Kind != Str {
			bail()
		}
		x, y := a[0].S, a[1].S
		g := strings.HasPrefix
		if n.Name == "hasSuffix" {
			g = strings.HasSuffix
		}
		return Node{Kind: Bool, B: func(c *Ctx) bool { return g(x(c), y(c)) }}
	case "max", "min":
		if len(a) < 2 {
			bail()
		}
		for _, x := range a {
			if x.Kind != Num {
				// expr keeps ints as ints and mixes kinds: leave it to the VM.
				bail()
			}
		}
		fs := make([]func(*Ctx) float64, len(a))
		for i, x := range a {
			fs[i] = x.N
		}
		isMax := n.Name == "max"
		return Node{Kind: Num, N: func(c *Ctx) float64 {
			v := fs[0](c)
			for _, f := range fs[1:] {
				w := f(c)
				if (isMax && w > v) || (!isMax && w < v) {
					v = w
				}
			}
			return v
		}}
	}
	bail()
	return Node{}
}

func compileCall(n *ast.CallNode, s *Schema) Node {
	id, ok := n.Callee.(*ast.IdentifierNode)
	if !ok {
		bail()
	}
	a := args(n.Arguments, s)
	if n, ok := compileChecked(id.Value, a); ok {
		return n
	}
	switch id.Value {
	case "domain":
		if len(a) != 1 || a[0].Kind != Str {
			bail()
		}
		f := a[0].S
		return Node{Kind: Str, S: func(c *Ctx) string { return Domain(f(c)) }}
	case "hasAny":
		if len(a) != 2 || a[0].Kind != List || a[1].Kind != List {
			bail()
		}
		x, y := a[0].L, a[1].L
		return Node{Kind: Bool, B: func(c *Ctx) bool { return HasAny(x(c), y(c)) }}
	case "has":
		if len(a) != 2 || a[0].Kind != List || a[1].Kind != Str {
			bail()
		}
		x, y := a[0].L, a[1].S
		return Node{Kind: Bool, B: func(c *Ctx) bool { return hasFold(x(c), y(c)) }}
	case "float":
		if len(a) != 1 || (a[0].Kind != Int && a[0].Kind != Num) {
			bail()
		}
		return Node{Kind: Num, N: a[0].num()}
	case "int":
		if len(a) != 1 {
			bail()
		}
		switch a[0].Kind {
		case Int:
			return a[0]
		case Num:
			f := a[0].N
			return Node{Kind: Int, I: func(c *Ctx) int {
				v, err := toInt(f(c))
				if err != nil {
					c.Fail("%v", err)
				}
				return v
			}}
		}
		bail()
	case "daysSince":
		// daysSince(t, __asof) after asOfPatch.
		if len(a) != 2 || a[0].Kind != Time || a[1].Kind != Time {
			bail()
		}
		x, y := a[0].T, a[1].T
		return Node{Kind: Num, N: func(c *Ctx) float64 { return daysSince(x(c), y(c)) }}
	}
	bail()
	return Node{}
}

func compileArray(n *ast.ArrayNode, s *Schema) Node {
	list := make([]string, len(n.Nodes))
	for i, e := range n.Nodes {
		sn, ok := e.(*ast.StringNode)
		if !ok {
			bail()
		}
		list[i] = sn.Value
	}
	return Node{Kind: List, L: func(*Ctx) []string { return list }}
}
