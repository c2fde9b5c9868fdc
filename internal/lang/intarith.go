package lang

import (
	"fmt"
	"math"
	"reflect"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
)

// Integer arithmetic is checked: Go's (and so expr's) wraps silently, so
// company.employees * 4611686018427387904 < 0 held and scored. intPatch
// rewrites +, - and * of two integers, and the negation of one, into calls
// of checked functions that fail on overflow; the closure compiler
// compiles the same calls, so both paths agree.
const (
	addName = "__add"
	subName = "__sub"
	mulName = "__mul"
	negName = "__neg"
)

var intType = reflect.TypeFor[int]()

type intPatch struct{}

// Visit rewrites one node (ast.Visitor).
func (intPatch) Visit(n *ast.Node) {
	switch x := (*n).(type) {
	case *ast.BinaryNode:
		name := map[string]string{"+": addName, "-": subName, "*": mulName}[x.Operator]
		if name == "" || x.Left.Type() != intType || x.Right.Type() != intType {
			return
		}
		call := &ast.CallNode{Callee: &ast.IdentifierNode{Value: name}, Arguments: []ast.Node{x.Left, x.Right}}
		call.SetType(intType) // so that an enclosing operation, visited next, is patched too
		ast.Patch(n, call)
	case *ast.UnaryNode:
		if x.Operator != "-" || x.Node.Type() != intType {
			return
		}
		call := &ast.CallNode{Callee: &ast.IdentifierNode{Value: negName}, Arguments: []ast.Node{x.Node}}
		call.SetType(intType)
		ast.Patch(n, call)
	}
}

func checkedAdd(a, b int) (int, error) {
	s := a + b
	if (a > 0 && b > 0 && s < 0) || (a < 0 && b < 0 && s >= 0) {
		return 0, fmt.Errorf("integer overflow: %d + %d", a, b)
	}
	return s, nil
}

func checkedSub(a, b int) (int, error) {
	s := a - b
	if (a >= 0 && b < 0 && s < 0) || (a < 0 && b > 0 && s >= 0) {
		return 0, fmt.Errorf("integer overflow: %d - %d", a, b)
	}
	return s, nil
}

func checkedMul(a, b int) (int, error) {
	if a == 0 || b == 0 {
		return 0, nil
	}
	p := a * b
	if p/b != a || (a == -1 && b == math.MinInt) || (b == -1 && a == math.MinInt) {
		return 0, fmt.Errorf("integer overflow: %d * %d", a, b)
	}
	return p, nil
}

func checkedNeg(a int) (int, error) {
	if a == math.MinInt {
		return 0, fmt.Errorf("integer overflow: -(%d)", a)
	}
	return -a, nil
}

func intFunctions() []expr.Option {
	bin := func(f func(a, b int) (int, error)) func(p ...any) (any, error) {
		return func(p ...any) (any, error) { return f(p[0].(int), p[1].(int)) }
	}
	return []expr.Option{
		expr.Function(addName, bin(checkedAdd), new(func(int, int) int)),
		expr.Function(subName, bin(checkedSub), new(func(int, int) int)),
		expr.Function(mulName, bin(checkedMul), new(func(int, int) int)),
		expr.Function(negName, func(p ...any) (any, error) { return checkedNeg(p[0].(int)) }, new(func(int) int)),
	}
}

// compileChecked compiles a checked integer call for the closure path.
func compileChecked(name string, a []Node) (Node, bool) {
	var f func(a, b int) (int, error)
	switch name {
	case addName:
		f = checkedAdd
	case subName:
		f = checkedSub
	case mulName:
		f = checkedMul
	case negName:
		if len(a) != 1 || a[0].Kind != Int {
			return Node{}, false
		}
		x := a[0].I
		return Node{Kind: Int, I: func(c *Ctx) int {
			v, err := checkedNeg(x(c))
			if err != nil {
				c.Fail("%v", err)
			}
			return v
		}}, true
	default:
		return Node{}, false
	}
	if len(a) != 2 || a[0].Kind != Int || a[1].Kind != Int {
		return Node{}, false
	}
	x, y := a[0].I, a[1].I
	return Node{Kind: Int, I: func(c *Ctx) int {
		v, err := f(x(c), y(c))
		if err != nil {
			c.Fail("%v", err)
		}
		return v
	}}, true
}
