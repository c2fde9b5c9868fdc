package scoring

import (
	"errors"
	"fmt"
	"math"

	"github.com/expr-lang/expr"
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
}

// exprFuncs are the scoring helpers registered besides exprenv's.
func exprFuncs() []expr.Option {
	return []expr.Option{
		expr.Function("has", func(p ...any) (any, error) {
			return hasFold(p[0].([]string), p[1].(string)), nil
		}, new(func([]string, string) bool)),
	}
}

// compileExpr compiles src against sch, wanting a bool (want == kBool) or a
// number (kNum).
func compileExpr(src string, sch *schema, lim exprenv.Limits, want kind, forceVM bool) (*program, *exprenv.Error) {
	res := expr.AsBool()
	if want == kNum {
		res = expr.AsFloat64()
	}
	p, err := exprenv.Compile(src, sch.zero(), lim, res, exprFuncs()...)
	if err != nil {
		var e *exprenv.Error
		if !errors.As(err, &e) {
			e = exprenv.Wrap(err)
		}
		e.Message = sch.cleanMessage(e.Message)
		e.Snippet = sch.cleanMessage(e.Snippet)
		return nil, e
	}
	out := &program{src: src, vm: p, sch: sch}
	if !forceVM {
		if n, ok := fastCompile(p.Node(), sch); ok {
			switch {
			case want == kBool && n.k == kBool:
				out.fast, out.ok = n, true
			case want == kNum && (n.k == kNum || n.k == kInt):
				out.fast, out.ok = cnode{k: kNum, n: n.num()}, true
			}
		}
	}
	return out, nil
}

// bool evaluates a boolean program.
func (p *program) bool(c *ectx, r *exprenv.Runner) (bool, error) {
	if p.ok {
		v := p.fast.b(c)
		if c.err != nil {
			err := c.err
			c.err = nil
			return false, err
		}
		return v, nil
	}
	env := p.sch.fill(c)
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
		v = p.fast.n(c)
		if c.err != nil {
			err := c.err
			c.err = nil
			return 0, err
		}
	} else {
		env := p.sch.fill(c)
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
