package scoring

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/lang"
	"github.com/leadkit/leadkit/internal/text"
)

// Rules are compiled by the one expression compiler of leadkit
// (internal/lang): the same names, builtins, limits, cost bound and error
// shape as stage guards and journey funnel steps.

// declareHint tells a rule author how to declare a custom field.
const declareHint = `declare it in the model's fields: {"name": "{name}", "type": "{type}"}`

// schemas builds the fit (lead) and event environments with the custom
// fields. Problems are compile errors located at the field.
func (c *compiler) schemas(fields []leadkit.FieldSpec) (fit, ev *lang.Schema) {
	lead, event := lang.LeadFields(), lang.EventFields()
	var fitDecls, evDecls []leadkit.FieldSpec
	for i, f := range fields {
		switch {
		case strings.HasPrefix(f.Name, "event."):
			evDecls = append(evDecls, f)
		case strings.HasPrefix(f.Name, "person."), strings.HasPrefix(f.Name, "company."):
			fitDecls = append(fitDecls, f)
		default:
			c.add("", "", "fields", "field %d %q: name must be \"person.<key>\", \"company.<key>\" or \"event.<key>\"", i+1, text.Clip(f.Name, 64))
		}
	}
	if len(fields) > maxFields {
		c.add("", "", "fields", "%d fields, the limit is %d", len(fields), maxFields)
	}
	fd, p1 := lang.DeclaredFields(fitDecls, lead, "person", "company")
	ed, p2 := lang.DeclaredFields(evDecls, event, "event")
	for _, p := range append(p1, p2...) {
		c.add("", "", "fields", "%s", p)
	}
	fit = lang.NewSchema(append(lead, fd...), lang.SchemaOptions{Declare: declareHint, DeclareScopes: []string{"person", "company"}})
	ev = lang.NewSchema(append(event, ed...), lang.SchemaOptions{Declare: declareHint, DeclareScopes: []string{"event"}})
	return fit, ev
}

// derivedSchema reads the dimensions as bare names (Ctx.Nums by dimension
// index); names that are not identifiers are read as $env["interest:ai"].
func derivedSchema(dims []dimension) *lang.Schema {
	fields := make([]lang.Field, len(dims))
	for i, d := range dims {
		i := i
		fields[i] = lang.Field{Name: d.name, Get: lang.Node{Kind: lang.Num, N: func(c *lang.Ctx) float64 { return c.Nums[i] }}}
	}
	return lang.NewSchema(fields, lang.SchemaOptions{})
}

// errSkipped stands for an expression not compiled because the model's
// expressions already went over their budget (reported once).
var errSkipped = &lang.Error{Message: "not compiled: the model is over its expression budget"}

// compile compiles one expression of m.
func (c *compiler) compile(m *Model, src string, sch *lang.Schema, want lang.Kind, event bool) (*lang.Program, *lang.Error) {
	if c.budget.Exceeded() {
		return nil, errSkipped
	}
	cfg := lang.Config{Want: want, Limits: m.lim, ForceVM: c.forceVM, MaxCost: c.maxCost, CostName: "Options.MaxCost", Budget: &c.budget}
	if event {
		cfg.MaxCost, cfg.CostName = c.maxEventCost, "Options.MaxEventCost"
	}
	return lang.Compile(src, sch, cfg)
}

// float evaluates a numeric program and refuses values beyond MaxPoints,
// so that sums of dimensions stay finite.
func float(p *lang.Program, c *lang.Ctx, r *lang.Runner) (float64, error) {
	v, err := p.Float(c, r)
	if err == nil && math.Abs(v) > MaxPoints {
		return 0, fmt.Errorf("expression returned %g, beyond ±%g (MaxPoints)", v, float64(MaxPoints))
	}
	return v, err
}

// exprError fills a RuleError's position from an expression error.
func exprError(re *RuleError, err error) *RuleError {
	var le *lang.Error
	if errors.As(err, &le) {
		re.Line, re.Column, re.Msg = le.Line, le.Column, le.Message
	} else {
		re.Msg = err.Error()
	}
	return re
}
