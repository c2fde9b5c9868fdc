package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/attribution"
	"github.com/leadkit/leadkit/internal/spec"
	"github.com/leadkit/leadkit/stage"
)

// ROIOptions is what Engine.ROI reports on: a range cut into calendar
// periods, the cost table, and what is credited. Stages, Models, Key and
// Values default to Options.Verify's, so ROI credits each period as
// Verify would credit it. ParseROIOptions reads it from JSON or YAML.
type ROIOptions struct {
	// From and To bound the report: the periods of [From, To), the first
	// and last clipped (attribution.Spans). With cost rows, both must
	// start periods of the cost table.
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Period is the calendar period of the report (quarter); required.
	// The cost table's periods must add up to it (months to quarters).
	Period leadkit.Period `json:"period"`
	// Costs is the cost table: spend and people per key (a channel, or a
	// function when Functions is set) and period, at most MaxCostRows
	// rows. A key or period without a row has an unknown cost, not 0.
	Costs attribution.CostTable `json:"costs"`
	// Functions rolls keys up into marketing functions ("webinar" ->
	// "events", "paid_search" -> "paid"); nil reports per key. At most
	// MaxCostRows entries.
	Functions map[string]string `json:"functions,omitempty"`
	// Stages whose entries are credited (nil: Options.Verify's: with
	// Classic, MQL, SAL, SQL, Opportunity and Won).
	Stages []string `json:"stages,omitempty"`
	// Models credit each stage: "last_touch", "markov" (nil: both). The
	// report's stage labels are "<stage>/<model>" ("MQL/markov"), as in
	// Verification.ROI.
	Models []string `json:"models,omitempty"`
	// Key is the touch field credited ("": the first of
	// Options.Verify.Keys, channel by default).
	Key attribution.TouchKey `json:"key,omitempty"`
	// Values gives a stage's conversions a value (nil:
	// Options.Verify.Values): the Opportunity stage's is the pipeline
	// value, the Won stage's the won value. A value event counts in the
	// period of its entry if it comes before the period ends (see Value).
	Values map[string]Value `json:"values,omitempty"`
}

// ParseROIOptions reads ROIOptions from JSON or YAML, refusing unknown
// keys; times are RFC 3339 text, the cost table is as
// attribution.ParseCosts reads it.
func ParseROIOptions(data []byte) (ROIOptions, error) {
	var o ROIOptions
	if err := spec.Parse(data, &o); err != nil {
		return ROIOptions{}, spec.Prefixed("lifecycle: roi options: ", err)
	}
	return o, nil
}

// ROIResult is the ROI per key or function and per period: cost (spend
// and people), credited conversions and value per stage and model, cost
// per conversion, ROI and output per head (attribution.ROIReport).
type ROIResult struct {
	// Key is the touch field credited.
	Key attribution.TouchKey `json:"key"`
	// Report holds the rows per key (or function) and period, the totals,
	// and which costs are unknown.
	Report attribution.ROIReport `json:"report"`
	// Skipped counts the journeys left out of the attribution, once per
	// stage and period (see StageResult.Skipped); SkipReasons says why for
	// the first MaxSkipReasons.
	Skipped     int      `json:"skipped,omitempty"`
	SkipReasons []string `json:"skip_reasons,omitempty"`
	// Unsolved names the stage, model and period whose model could not be
	// solved (a cap of the Markov model), with the reason: the report has
	// no credit for them, which is no data, not zero.
	Unsolved []string `json:"unsolved,omitempty"`
	// Teams is the output of the teams that work leads (the stages'
	// Team) per period, with the cost table's cost of the team's key: what
	// a function such as the SDR team produced for its cost, which
	// attribution cannot say (its calls follow the MQL and are not
	// marketing touches). A move is the output of the team that owns the
	// stage it leaves: with an SDR team owning MQL, its SALs (or TALs);
	// with stage.Classic's teams (MQL marketing's, SAL the SDR team's),
	// the SDR team's output is SQLs. Sorted by team, then period.
	Teams []TeamOutput `json:"teams"`
}

// TeamOutput is what one team produced in one period: the entries into
// later funnel stages that its people made from the stages it owns (an
// SDR team owning MQL: its MQLs accepted into SAL), with its cost from the
// cost table (the row of the team's name) and the cost and heads per
// entry. Automatic changes are nobody's output; a lead recycled and
// accepted again counts again, as a repeat reach does.
type TeamOutput struct {
	Team   string    `json:"team"`
	Period string    `json:"period"`
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"`
	// Moved counts, per stage reached, the entries of the period from a
	// stage the team owns into a later funnel stage, with the stages the
	// move skipped (MQL -> SQL reaches SAL too, as stage.Reach says;
	// recycling and disqualifying are not output), sorted by stage.
	Moved []TeamMove `json:"moved"`
	// Cost is the team's cost in the period (nil: unknown, no cost row
	// or some missing) and Headcount its mean heads.
	Cost      *float64 `json:"cost"`
	Headcount float64  `json:"headcount"`
}

// TeamMove is one kind of move a team made in a period.
type TeamMove struct {
	Stage string `json:"stage"`
	Count int    `json:"count"`
	// CostPer is Cost / Count and PerHead Count / Headcount (nil: no
	// data).
	CostPer *float64 `json:"cost_per"`
	PerHead *float64 `json:"per_head"`
}

// ROI computes the return on marketing per key (or function) and per
// calendar period from the engine's stores: for each period, the entries
// into each stage credited by last touch and Markov exactly as Verify
// credits a period, joined with the cost table by
// attribution.NewPeriodROIReport. Bad options are reported at once, each
// wrapping leadkit.ErrInvalid, before the stores are read. Like Verify,
// it reads every timeline into memory.
func (e *Engine) ROI(ctx context.Context, o ROIOptions) (ROIResult, error) {
	o, spans, err := e.checkROI(o)
	if err != nil {
		return ROIResult{}, err
	}
	vopts := e.verify
	vopts.Values = o.Values
	moves := e.newTeamMoves(spans)
	snap, err := e.snapshot(ctx, moves.add)
	if err != nil {
		return ROIResult{}, err
	}
	out := ROIResult{Key: o.Key}
	var credits []attribution.Credit
	for _, sp := range spans {
		if err := ctx.Err(); err != nil {
			return ROIResult{}, err
		}
		p := Period{From: sp.Start, To: sp.End}
		for _, st := range o.Stages {
			var r StageResult
			if err := stageCredits(snap, st, e.creditPlan(st, p, []attribution.TouchKey{o.Key}, o.Models, vopts), &r); err != nil {
				return ROIResult{}, fmt.Errorf("lifecycle: roi %s in %s: %w", clip(st), sp.Label, err)
			}
			out.Skipped += r.Skipped
			for _, reason := range r.SkipReasons {
				if len(out.SkipReasons) < MaxSkipReasons {
					out.SkipReasons = append(out.SkipReasons, reason)
				}
			}
			for _, a := range r.Attribution {
				label := st + "/" + a.Model
				if a.Error != "" {
					out.Unsolved = append(out.Unsolved, fmt.Sprintf("%s in %s: %s", label, sp.Label, a.Error))
					continue
				}
				credits = append(credits, attribution.Credit{Stage: label, Period: sp.Label, Result: a.Result})
			}
		}
	}
	out.Report, err = attribution.NewPeriodROIReport(o.Costs, credits, o.reportOptions())
	if err != nil {
		return ROIResult{}, fmt.Errorf("lifecycle: roi: %w", err)
	}
	out.Teams = moves.output(out.Report)
	return out, nil
}

// teamMoves counts, per team and period, the stages reached by the moves
// out of the stages each team owns.
type teamMoves struct {
	team   map[string]string // stage -> its team
	rank   map[string]int    // funnel stage -> position
	order  []string
	spans  []attribution.Span
	counts map[string][]map[string]int // team -> span -> stage -> entries
}

func (e *Engine) newTeamMoves(spans []attribution.Span) *teamMoves {
	m := &teamMoves{team: map[string]string{}, rank: map[string]int{}, order: e.machine.FunnelStages(), spans: spans,
		counts: map[string][]map[string]int{}}
	for _, s := range e.machine.Definition().Stages {
		if s.Team != "" {
			m.team[s.Name] = s.Team
			m.counts[s.Team] = make([]map[string]int, len(spans))
		}
	}
	for i, s := range m.order {
		m.rank[s] = i
	}
	return m
}

// add counts the moves of one history: each change a person made
// (automatic changes are nobody's work) from a team-owned stage to a
// later funnel stage reaches that stage and, in stage.Reach's meaning,
// the stages it skipped on the way; all of them are the team's output,
// in the period of the change.
func (m *teamMoves) add(h []stage.Entry) error {
	var reached []stage.Visit
	for _, en := range h {
		team, owned := m.team[en.From]
		if !owned || en.Trigger != stage.TriggerManual {
			continue
		}
		from, okf := m.rank[en.From]
		to, okt := m.rank[en.To]
		if !okf || !okt || to <= from {
			continue
		}
		k := sort.Search(len(m.spans), func(i int) bool { return m.spans[i].End.After(en.At) })
		if k == len(m.spans) || en.At.Before(m.spans[k].Start) {
			continue // outside the report's range
		}
		if reached == nil {
			var err error
			if reached, err = stage.Reach(stage.Visits(h), m.order); err != nil {
				return err
			}
		}
		c := m.counts[team][k]
		if c == nil {
			c = map[string]int{}
			m.counts[team][k] = c
		}
		c[en.To]++
		for _, v := range reached {
			if r, ok := m.rank[v.Stage]; ok && v.Implied && v.At.Equal(en.At) && r > from && r < to {
				c[v.Stage]++ // skipped on the way: reached by this move
			}
		}
	}
	return nil
}

// output is the teams' output per span, with the costs of the report's
// rows.
func (m *teamMoves) output(rep attribution.ROIReport) []TeamOutput {
	out := []TeamOutput{}
	for _, team := range slices.Sorted(maps.Keys(m.counts)) {
		for k, sp := range m.spans {
			to := TeamOutput{Team: team, Period: sp.Label, Start: sp.Start, End: sp.End, Moved: []TeamMove{}}
			if row, ok := rep.Row(team, sp.Label); ok {
				to.Headcount = row.Headcount
				if !row.CostUnknown {
					c := row.Cost
					to.Cost = &c
				}
			}
			counts := m.counts[team][k]
			for _, st := range slices.Sorted(maps.Keys(counts)) {
				tm := TeamMove{Stage: st, Count: counts[st], PerHead: leadkit.Ratio(float64(counts[st]), to.Headcount)}
				if to.Cost != nil {
					tm.CostPer = leadkit.Ratio(*to.Cost, float64(counts[st]))
				}
				to.Moved = append(to.Moved, tm)
			}
			out = append(out, to)
		}
	}
	return out
}

func (o ROIOptions) reportOptions() attribution.ROIOptions {
	return attribution.ROIOptions{GroupBy: o.Functions, Period: o.Period, From: o.From, To: o.To}
}

// checkROI checks o against the engine and returns it with its defaults
// and its periods.
func (e *Engine) checkROI(o ROIOptions) (ROIOptions, []attribution.Span, error) {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("lifecycle: roi options: %w: %s", leadkit.ErrInvalid, fmt.Sprintf(format, args...)))
	}
	if o.Period == leadkit.PeriodNone {
		bad(`period is required ("day", "week", "month", "quarter" or "year")`)
	}
	spans, err := attribution.Spans(o.Period, o.From, o.To)
	if err != nil && o.Period != leadkit.PeriodNone {
		errs = append(errs, fmt.Errorf("lifecycle: roi options: %w", err))
	}
	if _, err := attribution.NewCosts(o.Costs); err != nil {
		errs = append(errs, fmt.Errorf("lifecycle: roi options: %w", err))
	} else if len(errs) == 0 {
		// The cost table against the period and the range.
		if _, err := attribution.NewPeriodROIReport(o.Costs, nil, o.reportOptions()); err != nil {
			errs = append(errs, fmt.Errorf("lifecycle: roi options: %w", err))
		}
	}
	if msg := checkFunctions(o.Functions); msg != "" {
		bad("%s", msg)
	}
	if o.Stages == nil {
		o.Stages = e.verifyStages
	}
	if msg := checkStages(e.machine, o.Stages); msg != "" {
		bad("%s", msg)
	}
	if o.Values == nil {
		o.Values = e.verify.Values
	}
	if msg := checkValues(e.machine, o.Values); msg != "" {
		bad("%s", msg)
	}
	if o.Models == nil {
		o.Models = verifyModels
	}
	if len(o.Models) == 0 {
		bad("no models: want last_touch, markov or both")
	}
	for i, m := range o.Models {
		if !slices.Contains(verifyModels, m) {
			bad("model %q: want last_touch or markov%s", clip(m), hint(m, verifyModels))
		} else if slices.Contains(o.Models[:i], m) {
			bad("model %q listed twice", m)
		}
	}
	if n := len(o.Stages) * len(o.Models); n > attribution.MaxROIStages {
		bad("%d stages x %d models make %d stage labels, more than attribution.MaxROIStages (%d): name fewer stages or models", len(o.Stages), len(o.Models), n, attribution.MaxROIStages)
	}
	if o.Key == "" {
		o.Key = e.verify.Keys[0]
	}
	if err := o.Key.Validate(); err != nil {
		bad("key %q: %v", clip(string(o.Key)), err)
	}
	if len(errs) > 0 {
		return ROIOptions{}, nil, errors.Join(errs...)
	}
	return o, spans, nil
}
