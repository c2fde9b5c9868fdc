package lang

import (
	"fmt"
	"regexp/syntax"
	"strings"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"

	"github.com/leadkit/leadkit"
)

// A regular expression's cost is its compiled program: Go's matcher does
// work proportional to text length times program size, and compiling
// "[^A]{1000}" builds a thousand instructions from ten bytes of source (an
// attack kept 2.2 GB of compiled guards from a 104 KB stage definition).
// So the pattern of matches must be a literal, its program is counted
// before expr compiles it, and programs are capped per pattern and, with
// a Budget, per document.

// patternInsts returns the size of the compiled program of a pattern, or
// an error message for a pattern Go's regexp refuses.
func patternInsts(pattern string) (int, string) {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return 0, err.Error()
	}
	prog, err := syntax.Compile(re.Simplify())
	if err != nil {
		return 0, err.Error()
	}
	return len(prog.Inst), ""
}

// Budget is what the expressions of one document (a stage definition, a
// scoring model, a funnel) may use together: leadkit.MaxDocumentExprBytes
// of source and leadkit.MaxDocumentPatternInsts of compiled patterns. Pass
// the same Budget in Config for every expression of the document. The zero
// value is ready; a Budget is not safe for concurrent use.
type Budget struct {
	exprBytes, patternInsts int
	exceeded                bool
}

// Exceeded reports whether an expression was refused for going over the
// budget: callers stop compiling the document's other expressions (each
// would fail the same way) and report the one error.
func (b *Budget) Exceeded() bool { return b.exceeded }

// prescan refuses, before expr compiles anything, patterns that are not
// literals or compile to too large a program, and charges the budget.
// Syntax errors are left to the full compile, which reports them better.
func prescan(src string, b *Budget) *Error {
	tree, err := parser.Parse(src)
	if err != nil {
		return nil
	}
	var total int
	for _, n := range collect(tree.Node) {
		// Names starting with __ are the compiler's own (the as-of time,
		// checked arithmetic): reading them would bypass what they enforce.
		if id, ok := n.(*ast.IdentifierNode); ok && strings.HasPrefix(id.Value, "__") {
			return posError(src, n.Location().From, "names starting with __ are reserved")
		}
		if m, ok := n.(*ast.MemberNode); ok {
			if id, ok := m.Node.(*ast.IdentifierNode); ok && id.Value == "$env" {
				if p, ok := m.Property.(*ast.StringNode); ok && strings.HasPrefix(p.Value, "__") {
					return posError(src, n.Location().From, "names starting with __ are reserved")
				}
			}
		}
		bin, ok := n.(*ast.BinaryNode)
		if !ok || bin.Operator != "matches" {
			continue
		}
		lit, ok := bin.Right.(*ast.StringNode)
		if !ok {
			return posError(src, bin.Right.Location().From, "the pattern of matches must be a literal string (a pattern read from data could be any size)")
		}
		insts, msg := patternInsts(lit.Value)
		if msg != "" {
			return posError(src, lit.Location().From, "bad pattern: %s", msg)
		}
		if insts > leadkit.MaxPatternInsts {
			return posError(src, lit.Location().From, "the pattern compiles to %d instructions, the limit is %d: use smaller repeat counts ({n}) or fewer alternatives", insts, leadkit.MaxPatternInsts)
		}
		total += insts
		if total > leadkit.MaxPatternInsts {
			return posError(src, lit.Location().From, "the expression's patterns compile to %d instructions together, the limit is %d", total, leadkit.MaxPatternInsts)
		}
	}
	if b == nil {
		return nil
	}
	if b.exprBytes+len(src) > leadkit.MaxDocumentExprBytes {
		b.exceeded = true
		return &Error{Message: fmt.Sprintf("the document's expressions are over %d bytes together", leadkit.MaxDocumentExprBytes)}
	}
	if b.patternInsts+total > leadkit.MaxDocumentPatternInsts {
		b.exceeded = true
		return &Error{Message: fmt.Sprintf("the document's patterns compile to over %d instructions together", leadkit.MaxDocumentPatternInsts)}
	}
	b.exprBytes += len(src)
	b.patternInsts += total
	return nil
}
