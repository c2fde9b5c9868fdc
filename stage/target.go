package stage

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/leadkit/leadkit"
)

// Target is what a team expects of one step of its funnel: the rate at
// which subjects that reached From go on to reach To, and the median time
// it takes. A funnel is solid when each step is near its target; the step
// whose gap costs the most won deals is where to look first (see [Gaps]).
// Targets are data, in Definition.Targets or beside it.
type Target struct {
	From string `json:"from"`
	To   string `json:"to"`
	// Rate is the target conversion, in (0, 1]; 0 means none.
	Rate float64 `json:"rate,omitempty"`
	// CycleTime is the target median time from reaching From to reaching
	// To ("3d"); 0 means none.
	CycleTime leadkit.Duration `json:"cycle_time,omitempty"`
}

// MaxTargets caps Definition.Targets and the targets given to Gaps.
const MaxTargets = 1024

// checkTarget reports what is wrong with t by itself (not its stages).
func checkTarget(t Target) []string {
	var out []string
	if msg := leadkit.CheckText(t.From, leadkit.MaxNameBytes); msg != "" {
		out = append(out, "from "+msg)
	}
	if msg := leadkit.CheckText(t.To, leadkit.MaxNameBytes); msg != "" {
		out = append(out, "to "+msg)
	}
	if t.From == "" || t.To == "" {
		out = append(out, "a target needs both stages")
	} else if t.From == t.To {
		out = append(out, "from and to are the same stage")
	}
	if math.IsNaN(t.Rate) || t.Rate < 0 || t.Rate > 1 {
		out = append(out, fmt.Sprintf("rate %v outside (0, 1]", t.Rate))
	}
	if t.CycleTime < 0 {
		out = append(out, fmt.Sprintf("negative cycle time %s", t.CycleTime))
	} else if time.Duration(t.CycleTime) > leadkit.MaxDuration {
		out = append(out, fmt.Sprintf("cycle time %s over the limit of %s", t.CycleTime, leadkit.Duration(leadkit.MaxDuration)))
	}
	if t.Rate == 0 && t.CycleTime == 0 {
		out = append(out, "neither a rate nor a cycle time")
	}
	return out
}

// targets checks Definition.Targets: each well formed, between funnel
// stages (not recycled or closed) in funnel order, each step once.
func (c *compiler) targets() {
	m, def, bad := c.m, c.def, c.bad
	if len(def.Targets) > MaxTargets {
		bad("targets", "%d targets, the limit is %d", len(def.Targets), MaxTargets)
		return
	}
	seen := map[[2]string]bool{}
	for i, t := range def.Targets {
		where := fmt.Sprintf("targets[%d] (%s -> %s)", i, t.From, t.To)
		for _, msg := range checkTarget(t) {
			bad(where, "%s", msg)
		}
		from, okf := m.rank[t.From]
		to, okt := m.rank[t.To]
		switch {
		case t.From != "" && !okf:
			bad(where, "unknown stage %q", t.From)
		case t.To != "" && !okt:
			bad(where, "unknown stage %q", t.To)
		case !okf || !okt:
		case m.fwd[from] < 0 || m.fwd[to] < 0:
			bad(where, "both stages must be funnel stages (not recycled or closed)")
		case m.fwd[to] <= m.fwd[from]:
			bad(where, "%q does not come after %q in the funnel", t.To, t.From)
		}
		if seen[[2]string{t.From, t.To}] {
			bad(where, "the step has two targets")
		}
		seen[[2]string{t.From, t.To}] = true
	}
}

// GapReport compares a funnel's steps with their targets.
type GapReport struct {
	// Final is the stage whose conversions a gap is counted in: the
	// funnel's last stage (Won).
	Final string `json:"final"`
	// Steps are the funnel's consecutive steps, in funnel order, followed
	// by the targets of other steps (MQL -> SQL), in the order given. A
	// step without a target has a nil Target.
	Steps []Gap `json:"steps"`
	// Costliest is the step between consecutive stages that loses the most
	// Final conversions against its target (the largest positive Lost; a
	// target spanning several steps, MQL -> Won, is not a candidate: its
	// loss is theirs again); nil when no such step falls short.
	Costliest *Gap `json:"costliest"`
}

// Gap is one step's actual conversion beside its target.
type Gap struct {
	From string `json:"from"`
	To   string `json:"to"`
	// Rate is the actual conversion, with its interval.
	Rate leadkit.Rate `json:"rate"`
	// Target is the target rate, nil when the step has none; Gap is Rate -
	// Target (negative: short of it), nil without a target or without
	// data; Below says the actual interval lies wholly under the target
	// (never on a Small base).
	Target *float64 `json:"target"`
	Gap    *float64 `json:"gap"`
	Below  bool     `json:"below,omitempty"`
	// Median is the actual median time from From to To (nil without
	// conversions); TargetCycleTime the target (nil: none); CycleGap is
	// Median - TargetCycleTime
	// (positive: slower than the target), nil without a target or without
	// conversions; Slow says the median is over the target.
	Median          *leadkit.Duration `json:"median"`
	TargetCycleTime *leadkit.Duration `json:"target_cycle_time"`
	CycleGap        *leadkit.Duration `json:"cycle_gap"`
	Slow            bool              `json:"slow,omitempty"`
	// Lost is how many more Final conversions the step would have given
	// at its target rate: the shortfall in subjects that reach To,
	// (Target - actual) x Base, carried down the funnel at the actual
	// rate from To to Final (1 when To is Final). Negative when the step
	// beats its target. Nil without a target rate or without data on
	// either part.
	Lost *float64 `json:"lost"`
}

// Gaps compares the funnel r with targets, step by step. Targets for
// steps the funnel does not hold (a stage it does not list) give a Gap
// with no data, not an error; malformed targets (a rate outside (0, 1],
// a negative cycle time, the same step twice, more than MaxTargets) are
// errors wrapping leadkit.ErrInvalid, all of them joined, and no report.
func Gaps(r FunnelResult, targets []Target) (GapReport, error) {
	var errs []error
	if len(targets) > MaxTargets {
		errs = append(errs, fmt.Errorf("stage: gaps: %w: %d targets, at most %d", leadkit.ErrInvalid, len(targets), MaxTargets))
		targets = nil
	}
	byStep := map[[2]string]Target{}
	for i, t := range targets {
		for _, msg := range checkTarget(t) {
			errs = append(errs, fmt.Errorf("stage: gaps: %w: targets[%d] (%s -> %s): %s", leadkit.ErrInvalid, i, t.From, t.To, msg))
		}
		k := [2]string{t.From, t.To}
		if _, dup := byStep[k]; dup {
			errs = append(errs, fmt.Errorf("stage: gaps: %w: targets[%d]: the step %s -> %s has two targets", leadkit.ErrInvalid, i, t.From, t.To))
		}
		byStep[k] = t
	}
	if len(errs) > 0 {
		return GapReport{}, errors.Join(errs...)
	}
	rep := GapReport{Steps: []Gap{}}
	if n := len(r.Stages); n > 0 {
		rep.Final = r.Stages[n-1].Stage
	}
	gap := func(from, to string) Gap {
		g := Gap{From: from, To: to}
		c, ok := r.Conversion(from, to)
		if ok {
			g.Rate = leadkit.NewRate(c.Converted, c.Base) // the rate from the counts, not c.Rate
			if c.Converted > 0 {
				g.Median = durationOf(time.Duration(c.Median))
			}
		} else {
			g.Rate = leadkit.NewRate(0, 0)
		}
		t, has := byStep[[2]string{from, to}]
		if has && t.Rate > 0 {
			g.Target = &t.Rate
			if g.Rate.Rate != nil {
				d := *g.Rate.Rate - t.Rate
				g.Gap = &d
				g.Below = !g.Rate.Small && g.Rate.Below(t.Rate) // as an owner's: never on a small base
				down := 1.0
				if to != rep.Final {
					dc, ok := r.Conversion(to, rep.Final)
					if !ok || dc.Base == 0 {
						return withCycle(g, t, has, ok && c.Converted > 0)
					}
					down = leadkit.NewRate(dc.Converted, dc.Base).Value()
				}
				g.Lost = leadkit.Ratio((t.Rate-*g.Rate.Rate)*float64(g.Rate.Base)*down, 1) // nil if not finite
			}
		}
		return withCycle(g, t, has, ok && c.Converted > 0)
	}
	listed := map[[2]string]bool{}
	for i := 0; i+1 < len(r.Stages); i++ {
		from, to := r.Stages[i].Stage, r.Stages[i+1].Stage
		listed[[2]string{from, to}] = true
		rep.Steps = append(rep.Steps, gap(from, to))
	}
	for _, t := range targets {
		if !listed[[2]string{t.From, t.To}] {
			rep.Steps = append(rep.Steps, gap(t.From, t.To))
		}
	}
	// The costliest among the consecutive steps only: a target spanning
	// several steps (MQL -> Won) counts their losses again.
	for i := range rep.Steps {
		g := &rep.Steps[i]
		if !listed[[2]string{g.From, g.To}] {
			continue
		}
		if g.Lost != nil && *g.Lost > 0 && (rep.Costliest == nil || *g.Lost > *rep.Costliest.Lost) {
			rep.Costliest = g
		}
	}
	if rep.Costliest != nil {
		c := *rep.Costliest // a copy: the report's steps stay its own
		rep.Costliest = &c
	}
	return rep, nil
}

// withCycle adds the cycle-time target to g, when t has one and the step
// had conversions to measure.
func withCycle(g Gap, t Target, has, measured bool) Gap {
	if !has || t.CycleTime == 0 {
		return g
	}
	ct := t.CycleTime
	g.TargetCycleTime = &ct
	if measured {
		d := leadkit.Duration(time.Duration(*g.Median) - time.Duration(ct))
		g.CycleGap = &d
		g.Slow = d > 0
	}
	return g
}

// Targets returns a copy of the definition's targets.
func (m *Machine) Targets() []Target { return slices.Clone(m.def.Targets) }

// Gaps compares r, a funnel of this machine, with the definition's
// targets (see [Gaps]).
func (m *Machine) Gaps(r FunnelResult) (GapReport, error) {
	return Gaps(r, m.def.Targets)
}
