package scoring

import (
	"math"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/expr-lang/expr/ast"
	"github.com/leadkit/leadkit/internal/exprenv"
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
func fastCompile(n ast.Node, s *schema) (out cnode, ok bool) {
	defer func() {
		if r := recover(); r != nil {
			if _, is := r.(unsupported); !is {
				panic(r)
			}
			out, ok = cnode{}, false
		}
	}()
	return compileNode(n, s), true
}

func bail() { panic(unsupported{}) }

func compileNode(n ast.Node, s *schema) cnode {
	switch n := n.(type) {
	case *ast.BoolNode:
		v := n.Value
		return cnode{k: kBool, b: func(*ectx) bool { return v }}
	case *ast.IntegerNode:
		v := n.Value
		return cnode{k: kInt, i: func(*ectx) int { return v }}
	case *ast.FloatNode:
		v := n.Value
		return cnode{k: kNum, n: func(*ectx) float64 { return v }}
	case *ast.StringNode:
		v := n.Value
		return cnode{k: kStr, s: func(*ectx) string { return v }}
	case *ast.ConstantNode:
		return compileConst(n.Value)
	case *ast.IdentifierNode:
		if i, ok := s.index[n.Value]; ok {
			return s.fields[i].get
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
	return cnode{}
}

func compileConst(v any) cnode {
	switch v := v.(type) {
	case bool:
		return cnode{k: kBool, b: func(*ectx) bool { return v }}
	case int:
		return cnode{k: kInt, i: func(*ectx) int { return v }}
	case float64:
		return cnode{k: kNum, n: func(*ectx) float64 { return v }}
	case string:
		return cnode{k: kStr, s: func(*ectx) string { return v }}
	case []string:
		return cnode{k: kStrs, ss: func(*ectx) []string { return v }}
	case []any:
		list := make([]string, len(v))
		for i, x := range v {
			s, ok := x.(string)
			if !ok {
				bail()
			}
			list[i] = s
		}
		return cnode{k: kStrs, ss: func(*ectx) []string { return list }}
	}
	bail()
	return cnode{}
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

func compileMember(n *ast.MemberNode, s *schema) cnode {
	path, ok := memberPath(n)
	if !ok {
		bail()
	}
	i, ok := s.index[path]
	if !ok {
		bail()
	}
	return s.fields[i].get
}

func compileUnary(n *ast.UnaryNode, s *schema) cnode {
	x := compileNode(n.Node, s)
	switch n.Operator {
	case "!", "not":
		if x.k != kBool {
			bail()
		}
		f := x.b
		return cnode{k: kBool, b: func(c *ectx) bool { return !f(c) }}
	case "-":
		switch x.k {
		case kInt:
			f := x.i
			return cnode{k: kInt, i: func(c *ectx) int { return -f(c) }}
		case kNum:
			f := x.n
			return cnode{k: kNum, n: func(c *ectx) float64 { return -f(c) }}
		}
	case "+":
		if x.k == kInt || x.k == kNum {
			return x
		}
	}
	bail()
	return cnode{}
}

func isNum(k kind) bool { return k == kInt || k == kNum }

func compileBinary(n *ast.BinaryNode, s *schema) cnode {
	op := n.Operator
	switch op {
	case "and", "&&", "or", "||":
		l, r := compileNode(n.Left, s), compileNode(n.Right, s)
		if l.k != kBool || r.k != kBool {
			bail()
		}
		lf, rf := l.b, r.b
		if op == "and" || op == "&&" {
			return cnode{k: kBool, b: func(c *ectx) bool { return lf(c) && rf(c) }}
		}
		return cnode{k: kBool, b: func(c *ectx) bool { return lf(c) || rf(c) }}
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
		var eq func(*ectx) bool
		switch {
		case isNum(l.k) && isNum(r.k):
			if l.k == kInt && r.k == kInt {
				lf, rf := l.i, r.i
				eq = func(c *ectx) bool { return lf(c) == rf(c) }
			} else {
				lf, rf := l.num(), r.num()
				eq = func(c *ectx) bool { return lf(c) == rf(c) }
			}
		case l.k == kStr && r.k == kStr:
			lf, rf := l.s, r.s
			eq = func(c *ectx) bool { return lf(c) == rf(c) }
		case l.k == kBool && r.k == kBool:
			lf, rf := l.b, r.b
			eq = func(c *ectx) bool { return lf(c) == rf(c) }
		default:
			bail()
		}
		if op == "!=" {
			return cnode{k: kBool, b: func(c *ectx) bool { return !eq(c) }}
		}
		return cnode{k: kBool, b: eq}
	case "<", "<=", ">", ">=":
		if l.k == kStr && r.k == kStr {
			lf, rf := l.s, r.s
			return cnode{k: kBool, b: cmpFunc(op, func(c *ectx) int { return strings.Compare(lf(c), rf(c)) })}
		}
		if !isNum(l.k) || !isNum(r.k) {
			bail()
		}
		if l.k == kInt && r.k == kInt {
			lf, rf := l.i, r.i
			switch op {
			case "<":
				return cnode{k: kBool, b: func(c *ectx) bool { return lf(c) < rf(c) }}
			case "<=":
				return cnode{k: kBool, b: func(c *ectx) bool { return lf(c) <= rf(c) }}
			case ">":
				return cnode{k: kBool, b: func(c *ectx) bool { return lf(c) > rf(c) }}
			default:
				return cnode{k: kBool, b: func(c *ectx) bool { return lf(c) >= rf(c) }}
			}
		}
		lf, rf := l.num(), r.num()
		switch op {
		case "<":
			return cnode{k: kBool, b: func(c *ectx) bool { return lf(c) < rf(c) }}
		case "<=":
			return cnode{k: kBool, b: func(c *ectx) bool { return lf(c) <= rf(c) }}
		case ">":
			return cnode{k: kBool, b: func(c *ectx) bool { return lf(c) > rf(c) }}
		default:
			return cnode{k: kBool, b: func(c *ectx) bool { return lf(c) >= rf(c) }}
		}
	case "contains", "startsWith", "endsWith":
		if l.k != kStr || r.k != kStr {
			bail()
		}
		lf, rf := l.s, r.s
		var f func(a, b string) bool
		switch op {
		case "contains":
			f = strings.Contains
		case "startsWith":
			f = strings.HasPrefix
		default:
			f = strings.HasSuffix
		}
		return cnode{k: kBool, b: func(c *ectx) bool { return f(lf(c), rf(c)) }}
	case "+":
		if l.k == kStr && r.k == kStr {
			lf, rf := l.s, r.s
			return cnode{k: kStr, s: func(c *ectx) string { return lf(c) + rf(c) }}
		}
		return arith(op, l, r)
	case "-", "*", "/", "%", "**", "^":
		return arith(op, l, r)
	}
	bail()
	return cnode{}
}

func cmpFunc(op string, cmp func(*ectx) int) func(*ectx) bool {
	switch op {
	case "<":
		return func(c *ectx) bool { return cmp(c) < 0 }
	case "<=":
		return func(c *ectx) bool { return cmp(c) <= 0 }
	case ">":
		return func(c *ectx) bool { return cmp(c) > 0 }
	}
	return func(c *ectx) bool { return cmp(c) >= 0 }
}

func arith(op string, l, r cnode) cnode {
	if !isNum(l.k) || !isNum(r.k) {
		bail()
	}
	if l.k == kInt && r.k == kInt {
		lf, rf := l.i, r.i
		switch op {
		case "+":
			return cnode{k: kInt, i: func(c *ectx) int { return lf(c) + rf(c) }}
		case "-":
			return cnode{k: kInt, i: func(c *ectx) int { return lf(c) - rf(c) }}
		case "*":
			return cnode{k: kInt, i: func(c *ectx) int { return lf(c) * rf(c) }}
		case "%":
			return cnode{k: kInt, i: func(c *ectx) int {
				a, b := lf(c), rf(c)
				if b == 0 {
					c.fail("integer divide by zero")
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
		return cnode{k: kNum, n: func(c *ectx) float64 { return lf(c) + rf(c) }}
	case "-":
		return cnode{k: kNum, n: func(c *ectx) float64 { return lf(c) - rf(c) }}
	case "*":
		return cnode{k: kNum, n: func(c *ectx) float64 { return lf(c) * rf(c) }}
	case "/":
		return cnode{k: kNum, n: func(c *ectx) float64 { return lf(c) / rf(c) }}
	case "**", "^":
		return cnode{k: kNum, n: func(c *ectx) float64 { return math.Pow(lf(c), rf(c)) }}
	}
	bail()
	return cnode{}
}

func compileIn(n *ast.BinaryNode, s *schema) cnode {
	if m, ok := n.Right.(*ast.ConstantNode); ok {
		switch set := m.Value.(type) {
		case map[string]struct{}:
			l := compileNode(n.Left, s)
			if l.k != kStr {
				bail()
			}
			lf := l.s
			if len(set) <= 8 {
				list := make([]string, 0, len(set))
				for k := range set {
					list = append(list, k)
				}
				return cnode{k: kBool, b: func(c *ectx) bool { return inList(lf(c), list) }}
			}
			return cnode{k: kBool, b: func(c *ectx) bool { _, ok := set[lf(c)]; return ok }}
		case map[int]struct{}:
			l := compileNode(n.Left, s)
			if l.k != kInt {
				bail()
			}
			lf := l.i
			return cnode{k: kBool, b: func(c *ectx) bool { _, ok := set[lf(c)]; return ok }}
		}
		bail()
	}
	l, r := compileNode(n.Left, s), compileNode(n.Right, s)
	if l.k != kStr || r.k != kStrs {
		bail()
	}
	lf, rf := l.s, r.ss
	return cnode{k: kBool, b: func(c *ectx) bool { return inList(lf(c), rf(c)) }}
}

func inList(x string, list []string) bool {
	for _, y := range list {
		if x == y {
			return true
		}
	}
	return false
}

func compileMatches(n *ast.BinaryNode, s *schema) cnode {
	pat, ok := n.Right.(*ast.StringNode)
	if !ok {
		bail()
	}
	re, err := regexp.Compile(pat.Value)
	if err != nil {
		bail()
	}
	l := compileNode(n.Left, s)
	if l.k != kStr {
		bail()
	}
	lf := l.s
	return cnode{k: kBool, b: func(c *ectx) bool { return re.MatchString(lf(c)) }}
}

// compileFoldCompare handles lower(x) OP "lit" (OP in ==, !=, contains,
// startsWith, endsWith) where lit has no upper-case letters: x is compared
// case-insensitively in place instead of being lower-cased into a new
// string. Non-ASCII inputs take strings.ToLower to stay exact.
func compileFoldCompare(n *ast.BinaryNode, s *schema) (cnode, bool) {
	b, ok := n.Left.(*ast.BuiltinNode)
	if !ok || b.Name != "lower" || len(b.Arguments) != 1 {
		return cnode{}, false
	}
	lit, ok := n.Right.(*ast.StringNode)
	if !ok || strings.ToLower(lit.Value) != lit.Value || !isASCII(lit.Value) {
		return cnode{}, false
	}
	x := compileNode(b.Arguments[0], s)
	if x.k != kStr {
		bail()
	}
	xf, want := x.s, lit.Value
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
		return cnode{}, false
	}
	op := n.Operator
	return cnode{k: kBool, b: func(c *ectx) bool {
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

func compileCond(n *ast.ConditionalNode, s *schema) cnode {
	cond := compileNode(n.Cond, s)
	a, b := compileNode(n.Exp1, s), compileNode(n.Exp2, s)
	if cond.k != kBool {
		bail()
	}
	cf := cond.b
	if a.k != b.k {
		// Branches of different kinds (e.g. an int and a float): expr
		// types the result as any and each use decides at run time (an int
		// compared with an int stays exact, with a float it is converted),
		// which one static kind cannot mirror. The VM runs it.
		bail()
	}
	switch a.k {
	case kBool:
		af, bf := a.b, b.b
		return cnode{k: kBool, b: func(c *ectx) bool {
			if cf(c) {
				return af(c)
			}
			return bf(c)
		}}
	case kInt:
		af, bf := a.i, b.i
		return cnode{k: kInt, i: func(c *ectx) int {
			if cf(c) {
				return af(c)
			}
			return bf(c)
		}}
	case kNum:
		af, bf := a.n, b.n
		return cnode{k: kNum, n: func(c *ectx) float64 {
			if cf(c) {
				return af(c)
			}
			return bf(c)
		}}
	case kStr:
		af, bf := a.s, b.s
		return cnode{k: kStr, s: func(c *ectx) string {
			if cf(c) {
				return af(c)
			}
			return bf(c)
		}}
	}
	bail()
	return cnode{}
}

func args(ns []ast.Node, s *schema) []cnode {
	out := make([]cnode, len(ns))
	for i, a := range ns {
		out[i] = compileNode(a, s)
	}
	return out
}

func compileBuiltin(n *ast.BuiltinNode, s *schema) cnode {
	if n.Map != nil || n.Threshold != nil {
		bail()
	}
	a := args(n.Arguments, s)
	one := func(k ...kind) cnode {
		if len(a) != 1 {
			bail()
		}
		for _, kk := range k {
			if a[0].k == kk {
				return a[0]
			}
		}
		bail()
		return cnode{}
	}
	switch n.Name {
	case "len":
		x := one(kStr, kStrs)
		if x.k == kStr {
			f := x.s
			return cnode{k: kInt, i: func(c *ectx) int { return utf8.RuneCountInString(f(c)) }}
		}
		f := x.ss
		return cnode{k: kInt, i: func(c *ectx) int { return len(f(c)) }}
	case "lower", "upper", "trim":
		f := one(kStr).s
		var g func(string) string
		switch n.Name {
		case "lower":
			g = strings.ToLower
		case "upper":
			g = strings.ToUpper
		default:
			g = strings.TrimSpace
		}
		return cnode{k: kStr, s: func(c *ectx) string { return g(f(c)) }}
	case "abs":
		x := one(kInt, kNum)
		if x.k == kInt {
			f := x.i
			return cnode{k: kInt, i: func(c *ectx) int {
				v := f(c)
				if v < 0 {
					return -v
				}
				return v
			}}
		}
		f := x.n
		return cnode{k: kNum, n: func(c *ectx) float64 { return math.Abs(f(c)) }}
	case "ceil", "floor":
		f := one(kInt, kNum).num()
		g := math.Ceil
		if n.Name == "floor" {
			g = math.Floor
		}
		return cnode{k: kNum, n: func(c *ectx) float64 { return g(f(c)) }}
	case "float":
		f := one(kInt, kNum).num()
		return cnode{k: kNum, n: f}
	case "hasPrefix", "hasSuffix":
		if len(a) != 2 || a[0].k != kStr || a[1].k != kStr {
			bail()
		}
		x, y := a[0].s, a[1].s
		g := strings.HasPrefix
		if n.Name == "hasSuffix" {
			g = strings.HasSuffix
		}
		return cnode{k: kBool, b: func(c *ectx) bool { return g(x(c), y(c)) }}
	case "max", "min":
		if len(a) < 2 {
			bail()
		}
		for _, x := range a {
			if x.k != kNum {
				// expr keeps ints as ints and mixes kinds: leave it to the VM.
				bail()
			}
		}
		fs := make([]func(*ectx) float64, len(a))
		for i, x := range a {
			fs[i] = x.n
		}
		isMax := n.Name == "max"
		return cnode{k: kNum, n: func(c *ectx) float64 {
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
	return cnode{}
}

func compileCall(n *ast.CallNode, s *schema) cnode {
	id, ok := n.Callee.(*ast.IdentifierNode)
	if !ok {
		bail()
	}
	a := args(n.Arguments, s)
	switch id.Value {
	case "domain":
		if len(a) != 1 || a[0].k != kStr {
			bail()
		}
		f := a[0].s
		return cnode{k: kStr, s: func(c *ectx) string { return exprenv.Domain(f(c)) }}
	case "hasAny":
		if len(a) != 2 || a[0].k != kStrs || a[1].k != kStrs {
			bail()
		}
		x, y := a[0].ss, a[1].ss
		return cnode{k: kBool, b: func(c *ectx) bool { return exprenv.HasAny(x(c), y(c)) }}
	case "has":
		if len(a) != 2 || a[0].k != kStrs || a[1].k != kStr {
			bail()
		}
		x, y := a[0].ss, a[1].s
		return cnode{k: kBool, b: func(c *ectx) bool { return hasFold(x(c), y(c)) }}
	case "daysSince":
		// daysSince(t, __asof) after asOfPatch.
		if len(a) != 2 || a[0].k != kTime || a[1].k != kTime {
			bail()
		}
		x, y := a[0].t, a[1].t
		return cnode{k: kNum, n: func(c *ectx) float64 { return daysSince(x(c), y(c)) }}
	}
	bail()
	return cnode{}
}

func compileArray(n *ast.ArrayNode, s *schema) cnode {
	list := make([]string, len(n.Nodes))
	for i, e := range n.Nodes {
		sn, ok := e.(*ast.StringNode)
		if !ok {
			bail()
		}
		list[i] = sn.Value
	}
	return cnode{k: kStrs, ss: func(*ectx) []string { return list }}
}

// hasFold reports whether list holds s, ignoring case.
func hasFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
