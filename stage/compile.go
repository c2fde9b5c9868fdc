package stage

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/leadkit/leadkit/internal/lang"
)

type compiledTransition struct {
	Transition
	to      int
	from    []bool // by stage rank
	reasons map[string]bool
	guard   *guard
}

// compiler turns a Definition into a Machine, collecting every problem.
type compiler struct {
	m    *Machine
	def  Definition
	opts Options
	errs []error
	// maxCost and maxDecision are the guard cost bounds; budget is the
	// guards' expression budget, shared by the whole definition.
	maxCost, maxDecision float64
	budget               lang.Budget
	// edges are the structurally valid transitions by source rank, for the
	// graph checks; stagesSound says the stages and initial are valid.
	edges       [][]int
	stagesSound bool
}

func (c *compiler) bad(where, format string, args ...any) {
	c.errs = append(c.errs, &DefinitionError{Where: where, Msg: fmt.Sprintf(format, args...)})
}

// New validates def and compiles it into a Machine. It reports every
// problem at once (errors.Join of *DefinitionError, each wrapping
// leadkit.ErrInvalid): unknown or duplicate stage names, no initial stage,
// unreachable stages, non-terminal dead ends, transitions out of terminal
// stages, automatic transitions without guards, bad guard expressions (with
// line and column), unknown fact types and hooks on unknown stages.
func New(def Definition, opts Options) (*Machine, error) {
	def = def.Clone()
	if def.Name == "" {
		def.Name = "default"
	}
	m := &Machine{
		def:   def,
		opts:  opts,
		store: opts.Store,
		now:   opts.Now,
		rank:  make(map[string]int, len(def.Stages)),
		trans: make(map[string]*compiledTransition, len(def.Transitions)),
		limits: lang.Limits{
			MaxNodes:     opts.MaxGuardNodes,
			MemoryBudget: opts.GuardMemoryBudget,
		}.WithDefaults(),
		maxSteps: opts.MaxAutoSteps,
	}
	if m.store == nil {
		m.store = NewMemoryStore()
	}
	if m.now == nil {
		m.now = time.Now
	}
	if m.maxSteps <= 0 {
		m.maxSteps = len(def.Stages)
	}

	c := &compiler{m: m, def: def, opts: opts}
	// Sizes first: a definition over the caps is refused before any work
	// that grows with its size.
	if checkCaps(def, c.bad) {
		sortDefinitionErrors(c.errs)
		return nil, errors.Join(c.errs...)
	}
	c.facts()
	c.stages()
	c.transitions()
	c.targets()
	c.decisionCost()
	c.graph()
	c.hooks()
	if len(c.errs) > 0 {
		sortDefinitionErrors(c.errs)
		return nil, errors.Join(c.errs...)
	}
	return m, nil
}

// facts checks the fact declarations and the guard cost options.
func (c *compiler) facts() {
	m, def, opts, bad := c.m, c.def, c.opts, c.bad
	// Facts.
	for name, t := range def.Facts {
		if !t.Valid() {
			bad(fmt.Sprintf("facts %q", name), "unknown type %q (want number, string, bool, strings or time)", t)
		}
		if !lang.IsIdent(name) {
			bad(fmt.Sprintf("facts %q", name), "a fact name must be an identifier (letters, digits, _)")
		}
	}
	m.facts = newFactEnv(def.Facts, m.limits)
	c.maxCost = float64(opts.MaxGuardCost)
	if opts.MaxGuardCost < 0 {
		bad("options", "MaxGuardCost must not be negative")
	}
	c.maxDecision = float64(opts.MaxDecisionCost)
	switch {
	case opts.MaxDecisionCost < 0:
		bad("options", "MaxDecisionCost must not be negative")
	case opts.MaxDecisionCost == 0:
		c.maxDecision = max(lang.DefaultMaxCost, c.maxCost)
	}
}

// stages checks the stages and the initial stage.
func (c *compiler) stages() {
	m, def, bad := c.m, c.def, c.bad
	// Stages.
	if len(def.Stages) == 0 {
		bad("stages", "no stages defined")
	}
	for i, s := range def.Stages {
		where := fmt.Sprintf("stage %q", s.Name)
		if s.Name == "" {
			bad(fmt.Sprintf("stages[%d]", i), "empty stage name")
			continue
		}
		if s.Name == "*" {
			bad(where, `"*" is reserved for "every stage"`)
		}
		if _, dup := m.rank[s.Name]; dup {
			bad(where, "defined twice")
			continue
		}
		m.rank[s.Name] = i
		if !s.Category.valid() {
			bad(where, "unknown category %q", s.Category)
		}
		if s.SLA < 0 {
			bad(where, "negative SLA %s", s.SLA)
		}
		seen := map[string]bool{}
		for _, ss := range s.SubStatuses {
			if ss == "" || seen[ss] {
				bad(where, "sub-status %q empty or listed twice", ss)
			}
			seen[ss] = true
		}
	}
	if def.Initial == "" {
		bad("initial", "no initial stage")
	} else if _, ok := m.rank[def.Initial]; !ok {
		bad("initial", "unknown stage %q", def.Initial)
	}
}

// transitions checks and compiles the transitions and their guards.
func (c *compiler) transitions() {
	m, def, bad := c.m, c.def, c.bad
	// Transitions.
	c.stagesSound = len(c.errs) == 0
	n := len(def.Stages)
	c.edges = make([][]int, n)
	edges := c.edges
	m.fwd = def.forwardRanks()
	m.outgoing = make([][]*compiledTransition, n)
	m.auto = make([][]*compiledTransition, n)
	for i, t := range def.Transitions {
		where := fmt.Sprintf("transition %q", t.Name)
		if t.Name == "" {
			bad(fmt.Sprintf("transitions[%d]", i), "empty transition name")
			continue
		}
		if _, dup := m.trans[t.Name]; dup {
			bad(where, "defined twice")
			continue
		}
		ct := &compiledTransition{Transition: t, from: make([]bool, n)}
		ok := true
		to, found := m.rank[t.To]
		ct.to = to
		if t.To == "" {
			bad(where, "no target stage")
			ok = false
		} else if !found {
			bad(where, "unknown target stage %q", t.To)
			ok = false
		}
		if len(t.From) == 0 {
			bad(where, `no source stages (use "*" for every stage)`)
			ok = false
		}
		for _, f := range t.From {
			if f == "*" {
				// Every non-terminal stage but the target itself (and, when
				// forward-only, but the stages after it).
				for r, s := range def.Stages {
					if !s.Terminal && (!found || (r != to && (!t.ForwardOnly || m.fwd[r] < m.fwd[to]))) {
						ct.from[r] = true
					}
				}
				continue
			}
			r, known := m.rank[f]
			switch {
			case !known:
				bad(where, "unknown source stage %q", f)
				ok = false
			case def.Stages[r].Terminal:
				bad(where, "leaves terminal stage %q", f)
				ok = false
			case found && t.ForwardOnly && m.fwd[to] <= m.fwd[r]:
				bad(where, "is forward-only but %q does not come before %q", t.To, f)
				ok = false
			default:
				ct.from[r] = true
			}
		}
		if ok {
			for r := range ct.from {
				if ct.from[r] {
					edges[r] = append(edges[r], ct.to)
				}
			}
		}
		if t.Auto && len(t.Reasons) > 0 {
			bad(where, "an automatic transition cannot require a reason code (Advance has none to give)")
			ok = false
		}
		if len(t.Reasons) > 0 {
			ct.reasons = make(map[string]bool, len(t.Reasons))
			for _, r := range t.Reasons {
				if r == "" || ct.reasons[r] {
					bad(where, "reason code %q empty or listed twice", r)
				}
				ct.reasons[r] = true
			}
		}
		if t.Auto && t.Guard == "" {
			bad(where, "an automatic transition needs a guard")
			ok = false
		}
		if t.Guard != "" && !c.budget.Exceeded() {
			g, err := compileGuard(t.Guard, m.facts, c.maxCost, &c.budget)
			if err != nil {
				c.errs = append(c.errs, &DefinitionError{Where: where + " guard", Line: err.Line, Column: err.Column, Msg: err.Message})
				ok = false
			}
			ct.guard = g
		}
		m.trans[t.Name] = ct
		if !ok {
			continue
		}
		for r := range ct.from {
			if ct.from[r] {
				m.outgoing[r] = append(m.outgoing[r], ct)
				if t.Auto {
					m.auto[r] = append(m.auto[r], ct)
				}
			}
		}
	}
}

// decisionCost bounds the automatic guards leaving each stage, together.
func (c *compiler) decisionCost() {
	m, def, bad := c.m, c.def, c.bad
	// The automatic guards one stage evaluates, together.
	for r, ts := range m.auto {
		var cost float64
		for _, t := range ts {
			cost += t.guard.prog.Cost()
		}
		if cost > c.maxDecision {
			bad(fmt.Sprintf("stage %q", def.Stages[r].Name),
				"its %d automatic guards together may do about %.3g units of work per Advance step on facts at the size caps; the limit (Options.MaxDecisionCost) is %.3g: fewer or cheaper guards, or fewer transitions from \"*\"",
				len(ts), cost, c.maxDecision)
		}
	}
}

// graph checks reachability and dead ends, when the stages are sound.
func (c *compiler) graph() {
	m, def, bad := c.m, c.def, c.bad
	// Graph checks: meaningful when stages and initial are sound; they use
	// every transition whose stages are valid, even if its guard is not.
	edges, n := c.edges, len(def.Stages)
	if c.stagesSound {
		reach := make([]bool, n)
		queue := []int{m.rank[def.Initial]}
		reach[queue[0]] = true
		for len(queue) > 0 {
			r := queue[0]
			queue = queue[1:]
			for _, to := range edges[r] {
				if !reach[to] {
					reach[to] = true
					queue = append(queue, to)
				}
			}
		}
		for r, s := range def.Stages {
			where := fmt.Sprintf("stage %q", s.Name)
			if !reach[r] {
				bad(where, "unreachable from the initial stage %q", def.Initial)
			}
			if !s.Terminal && len(edges[r]) == 0 {
				bad(where, "is a dead end: not terminal, but no transition leaves it")
			}
		}
	}
}

// hooks validates and copies the hooks, so the caller's maps can change freely.
func (c *compiler) hooks() {
	m, opts, bad := c.m, c.opts, c.bad
	// Hooks: validated and copied, so the caller's maps can change freely.
	m.opts.Hooks = Hooks{Enter: map[string][]HookFunc{}, Exit: map[string][]HookFunc{}}
	for _, side := range []struct {
		name string
		in   map[string][]HookFunc
		out  map[string][]HookFunc
	}{{"entry", opts.Hooks.Enter, m.opts.Hooks.Enter}, {"exit", opts.Hooks.Exit, m.opts.Hooks.Exit}} {
		for name, list := range side.in {
			if _, ok := m.rank[name]; !ok && name != "*" {
				bad(fmt.Sprintf("%s hook %q", side.name, name), "unknown stage")
			}
			for i, h := range list {
				if h == nil {
					bad(fmt.Sprintf("%s hook %q", side.name, name), "hook %d is nil", i)
				}
			}
			side.out[name] = slices.Clone(list)
		}
	}
}

func sortDefinitionErrors(errs []error) {
	// Keep a stable, readable order: by location text.
	sort.SliceStable(errs, func(i, j int) bool {
		a, _ := errs[i].(*DefinitionError)
		b, _ := errs[j].(*DefinitionError)
		return a != nil && b != nil && a.Where < b.Where
	})
}
