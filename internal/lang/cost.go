package lang

import (
	"math"

	"github.com/leadkit/leadkit"

	"github.com/expr-lang/expr/ast"
)

// The cost model bounds what one evaluation of a rule may do. expr has no
// step limit and its memory budget does not count the elements a predicate
// walks, so a rule such as count(a, count(a, # in b) > 0) over three lists
// of 1,000 items does 10^9 comparisons. Compile therefore estimates the
// worst-case work of every expression on inputs at the size limits (every
// string field the string cap long, every list the list cap
// long) and refuses expressions above the caller's cost limit
// (Config.MaxCost).
//
// One unit is about one expr VM step (a comparison, a field read, one list
// element visited by a predicate or by in); string work costs one unit per
// strBytesPerUnit bytes. On the 2-core CI machine a unit is 15-25 ns, so
// the default MaxCost of 10^6 units is 15-25 ms of worst case.

const strBytesPerUnit = 32

// size is what the cost model knows about a value: the most bytes of a
// string, the most items of a list and the most bytes of one item.
type size struct{ str, list, elem float64 }

// isList reports a value known to be a list or map (an unknown value has
// a string size too and is costed as either).
func isList(s size) bool { return s.list > 0 && s.str == 0 }

func maxSize(a, b size) size {
	return size{math.Max(a.str, b.str), math.Max(a.list, b.list), math.Max(a.elem, b.elem)}
}

type costModel struct {
	sch       *Schema
	caps      Caps
	memBudget float64 // bounds ranges, which the VM charges to its memory budget
	scope     []size  // element sizes of the enclosing predicates, innermost last
	// worst is the node whose subtree costs the most relative to its
	// depth: reported as the position of a refused rule.
	worst     ast.Node
	worstCost float64
	// refused is the first value the model cannot size (a list of lists,
	// the text of a list): Compile refuses the expression at that node.
	refused    ast.Node
	refusedMsg string
}

// refuse records the first value the cost model cannot bound.
func (cm *costModel) refuse(n ast.Node, msg string) {
	if cm.refused == nil {
		cm.refused, cm.refusedMsg = n, msg
	}
}

// listsOfLists is the refusal of a list whose items are lists or maps: the
// model sizes an item as one string, and tenant rules have no use for them.
const listsOfLists = "lists of lists are not allowed: test each list on its own, e.g. any(a, ...) || any(b, ...)"

func strUnits(b float64) float64 { return b / strBytesPerUnit }

// expensive returns the estimated worst-case cost of n and the outermost
// node that accounts for most of it (an error position).
func (cm *costModel) expensive(n ast.Node) (float64, ast.Node) {
	c, _ := cm.node(n)
	if cm.worst == nil {
		cm.worst = n
	}
	// Point at the start of the culprit's text, not at its operator.
	start := cm.worst
	for _, x := range collect(cm.worst) {
		if x.Location().From < start.Location().From {
			start = x
		}
	}
	return c, start
}

// note records n as the culprit when it is a predicate or list operation
// costing more than any seen so far.
func (cm *costModel) note(n ast.Node, c float64) float64 {
	if c > cm.worstCost {
		cm.worst, cm.worstCost = n, c
	}
	return c
}

func (cm *costModel) unknown() size {
	s, l := float64(cm.caps.Str), float64(cm.caps.List)
	return size{str: s, list: l, elem: s}
}

func (cm *costModel) field(i int) size {
	switch cm.sch.fields[i].Get.Kind {
	case Str:
		return size{str: float64(cm.caps.Str)}
	case List:
		return size{list: float64(cm.caps.List), elem: float64(cm.caps.Str)}
	}
	return size{}
}

func constSize(v any) size {
	switch v := v.(type) {
	case string:
		return size{str: float64(len(v))}
	case []string:
		s := size{list: float64(len(v))}
		for _, x := range v {
			s.elem = math.Max(s.elem, float64(len(x)))
		}
		return s
	case []any:
		s := size{list: float64(len(v))}
		for _, x := range v {
			if x, ok := x.(string); ok {
				s.elem = math.Max(s.elem, float64(len(x)))
			}
		}
		return s
	case map[string]struct{}:
		s := size{list: float64(len(v))}
		for x := range v {
			s.elem = math.Max(s.elem, float64(len(x)))
		}
		return s
	case map[int]struct{}:
		return size{list: float64(len(v))}
	}
	return size{}
}

func (cm *costModel) node(n ast.Node) (float64, size) {
	switch n := n.(type) {
	case nil:
		return 0, size{}
	case *ast.NilNode, *ast.BoolNode, *ast.IntegerNode, *ast.FloatNode:
		return 1, size{}
	case *ast.StringNode:
		return 1, size{str: float64(len(n.Value))}
	case *ast.ConstantNode:
		return 1, constSize(n.Value)
	case *ast.IdentifierNode:
		if i, ok := cm.sch.index[n.Value]; ok {
			return 1, cm.field(i)
		}
		return 1, cm.unknown()
	case *ast.MemberNode:
		if path, ok := memberPath(n); ok {
			if i, ok := cm.sch.index[path]; ok {
				return 1, cm.field(i)
			}
		}
		c1, _ := cm.node(n.Node)
		c2, _ := cm.node(n.Property)
		return c1 + c2 + 1, cm.unknown()
	case *ast.ChainNode:
		return cm.node(n.Node)
	case *ast.PointerNode:
		if n.Name == "" && len(cm.scope) > 0 {
			return 1, size{str: cm.scope[len(cm.scope)-1].elem}
		}
		return 1, size{}
	case *ast.UnaryNode:
		c, s := cm.node(n.Node)
		return c + 1, s
	case *ast.BinaryNode:
		return cm.binary(n)
	case *ast.ConditionalNode:
		c0, _ := cm.node(n.Cond)
		c1, s1 := cm.node(n.Exp1)
		c2, s2 := cm.node(n.Exp2)
		return c0 + math.Max(c1, c2) + 1, maxSize(s1, s2)
	case *ast.BuiltinNode:
		return cm.builtin(n)
	case *ast.CallNode:
		return cm.call(n)
	case *ast.ArrayNode:
		c, s := float64(len(n.Nodes)), size{list: float64(len(n.Nodes))}
		for _, e := range n.Nodes {
			ce, se := cm.node(e)
			c += ce
			s.elem = math.Max(s.elem, se.str)
			if isList(se) {
				cm.refuse(e, listsOfLists)
			}
		}
		return c, s
	case *ast.MapNode:
		c := float64(len(n.Pairs))
		for _, e := range n.Pairs {
			ce, _ := cm.node(e)
			c += ce
		}
		return c, size{list: float64(len(n.Pairs))}
	case *ast.PairNode:
		c1, _ := cm.node(n.Key)
		c2, s2 := cm.node(n.Value)
		return c1 + c2, s2
	case *ast.SliceNode:
		c, s := cm.node(n.Node)
		c1, _ := cm.node(n.From)
		c2, _ := cm.node(n.To)
		return c + c1 + c2 + 1, s
	case *ast.SequenceNode:
		var c float64
		var s size
		for _, e := range n.Nodes {
			var ce float64
			ce, s = cm.node(e)
			c += ce
		}
		return c, s
	case *ast.PredicateNode:
		return cm.node(n.Node)
	case *ast.VariableDeclaratorNode: // refused by checkShape; kept for safety
		c1, _ := cm.node(n.Value)
		c2, s := cm.node(n.Expr)
		return c1 + c2, s
	}
	// A node kind this model does not know: assume the worst.
	return math.Inf(1), cm.unknown()
}

func (cm *costModel) binary(n *ast.BinaryNode) (float64, size) {
	cl, sl := cm.node(n.Left)
	cr, sr := cm.node(n.Right)
	base := cl + cr + 1
	switch n.Operator {
	case "and", "&&", "or", "||", "??":
		return base, maxSize(sl, sr)
	case "==", "!=", "<", "<=", ">", ">=", "startsWith", "endsWith":
		c := base + strUnits(math.Min(sl.str, sr.str))
		if sl.list > 0 && sr.list > 0 { // deep equality of lists
			c += math.Min(sl.list, sr.list) * (1 + strUnits(math.Min(sl.elem, sr.elem)))
		}
		return c, size{}
	case "contains":
		return base + strUnits(sl.str+sr.str), size{}
	case "matches":
		// Go's matcher does up to a few ns per text byte per program
		// instruction (measured: 2 ns for "webinar|demo", 10 ns for a
		// 200-instruction alternation): one unit per 4 byte-instructions.
		insts := float64(leadkit.MaxPatternInsts)
		if lit, ok := n.Right.(*ast.StringNode); ok {
			if k, msg := patternInsts(lit.Value); msg == "" {
				insts = float64(k)
			}
		}
		return cm.note(n, base+strUnits(sl.str)+sl.str*insts/4), size{}
	case "in":
		if _, ok := n.Right.(*ast.ConstantNode); ok && sr.list > 0 {
			if _, isMap := n.Right.(*ast.ConstantNode).Value.(map[string]struct{}); isMap {
				return base + strUnits(sl.str), size{} // hashed
			}
		}
		if sr.list > 0 {
			return cm.note(n, base+sr.list*(1+strUnits(math.Min(sl.str, sr.elem)))), size{}
		}
		return base + strUnits(sl.str), size{}
	case "+":
		switch {
		case sl.str > 0 || sr.str > 0:
			out := sl.str + sr.str
			return base + strUnits(out), size{str: out}
		case sl.list > 0 || sr.list > 0:
			out := size{list: sl.list + sr.list, elem: math.Max(sl.elem, sr.elem)}
			return base + out.list, out
		}
		return base, size{}
	case "..":
		items := cm.memBudget
		a, okA := n.Left.(*ast.IntegerNode)
		b, okB := n.Right.(*ast.IntegerNode)
		if okA && okB {
			items = math.Max(0, math.Min(items, float64(b.Value)-float64(a.Value)+1))
		}
		return cm.note(n, base+items), size{list: items}
	}
	return base, size{}
}

// predicate builtins take a list and a predicate evaluated per element.
func (cm *costModel) builtin(n *ast.BuiltinNode) (float64, size) {
	var pred ast.Node
	for _, a := range n.Arguments {
		if p, ok := a.(*ast.PredicateNode); ok {
			pred = p
		}
	}
	if pred != nil || n.Map != nil {
		cl, sl := cm.node(n.Arguments[0])
		cm.scope = append(cm.scope, sl)
		cb, sb := cm.node(pred)
		cmap, smap := cm.node(n.Map)
		for _, a := range n.Arguments[1:] {
			if _, ok := a.(*ast.PredicateNode); !ok {
				ca, _ := cm.node(a) // e.g. the initial value of reduce
				cl += ca
			}
		}
		cm.scope = cm.scope[:len(cm.scope)-1]
		c := cm.note(n, cl+1+sl.list*(cb+cmap+2))
		if n.Name == "map" && isList(sb) {
			cm.refuse(pred, listsOfLists)
		}
		if n.Map != nil && isList(smap) {
			cm.refuse(n.Map, listsOfLists)
		}
		switch n.Name {
		case "filter":
			if n.Map != nil {
				return c, size{list: sl.list, elem: math.Max(smap.str, sl.elem)}
			}
			return c, size{list: sl.list, elem: sl.elem}
		case "map":
			return c, size{list: sl.list, elem: sb.str}
		case "find", "findLast":
			return c, size{str: sl.elem}
		}
		return c, size{}
	}
	c := 1.0
	var s []size
	for _, a := range n.Arguments {
		ca, sa := cm.node(a)
		c += ca
		s = append(s, sa)
	}
	arg := func(i int) size {
		if i < len(s) {
			return s[i]
		}
		return size{}
	}
	a0, a1 := arg(0), arg(1)
	switch n.Name {
	case "len":
		return c + strUnits(a0.str), size{}
	case "lower", "upper", "trim", "trimPrefix", "trimSuffix":
		out := a0.str
		if n.Name == "upper" || n.Name == "lower" {
			out *= 1.5 // a few runes grow when their case changes
		}
		return c + strUnits(a0.str+a1.str+out), size{str: out}
	case "indexOf", "lastIndexOf":
		return c + strUnits(a0.str+a1.str), size{}
	case "hasPrefix", "hasSuffix":
		return c + strUnits(math.Min(a0.str, a1.str)), size{}
	case "abs", "ceil", "floor", "round":
		return c, size{}
	case "int", "float":
		return c + strUnits(a0.str), size{}
	case "string":
		if isList(a0) {
			cm.refuse(n, "string() of a list or map is not allowed: it builds large text; test the items with any(list, ...) or in")
		}
		out := math.Max(a0.str, 32) + a0.list*(a0.elem+4)
		return cm.note(n, c+strUnits(out)+a0.list), size{str: out}
	case "first", "last":
		return c, size{str: a0.elem}
	case "uniq":
		return cm.note(n, c+a0.list*(1+strUnits(a0.elem))), a0
	}
	// max, min, mean, median, sum, count without a predicate, ...: walk
	// every list argument.
	for _, sa := range s {
		c += sa.list * (1 + strUnits(sa.elem))
	}
	return cm.note(n, c), size{}
}

func (cm *costModel) call(n *ast.CallNode) (float64, size) {
	c := 1.0
	var s []size
	for _, a := range n.Arguments {
		ca, sa := cm.node(a)
		c += ca
		s = append(s, sa)
	}
	name := ""
	if id, ok := n.Callee.(*ast.IdentifierNode); ok {
		name = id.Value
	}
	switch {
	case name == "domain" && len(s) == 1:
		return c + 4*strUnits(s[0].str), size{str: s[0].str}
	case name == "hasAny" && len(s) == 2:
		return cm.note(n, c+s[0].list*s[1].list*(1+strUnits(math.Min(s[0].elem, s[1].elem)))), size{}
	case name == "has" && len(s) == 2:
		return cm.note(n, c+s[0].list*(1+strUnits(math.Min(s[0].elem, s[1].str)))), size{}
	case name == "lowerAll" && len(s) == 1:
		return cm.note(n, c+s[0].list*(1+2*strUnits(s[0].elem))), size{list: s[0].list, elem: 1.5 * s[0].elem}
	case name == "daysSince", name == addName, name == subName, name == mulName, name == negName:
		return c, size{}
	case (name == "int" || name == "float") && len(s) == 1:
		return c + strUnits(s[0].str), size{}
	}
	// Unknown functions (none are registered): every argument walked.
	for _, sa := range s {
		c += sa.list*(1+strUnits(sa.elem)) + strUnits(sa.str)
	}
	return c + 10, cm.unknown()
}
