package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/spec"
	"github.com/leadkit/leadkit/internal/text"
	"github.com/leadkit/leadkit/journey"
	"github.com/leadkit/leadkit/stage"
)

// Diagnosis is the funnel diagnosis of the brief: each step's conversion
// beside its target and its owning team's rate, broken down by who worked
// the leads (SDRs on MQL -> TAL, sales reps on TAL -> SAL), with how they
// worked them (calls per lead, time to the first call), so a low rate can
// be read as screening (leads worked and not converted) or as follow-up
// (leads not worked, or worked late).
type Diagnosis struct {
	From time.Time `json:"from,omitzero"`
	To   time.Time `json:"to,omitzero"`
	// Funnel is the stage funnel of the leads that reached its first
	// stage in [From, To), by owner (FunnelResult.Owners).
	Funnel stage.FunnelResult `json:"funnel"`
	// Gaps compares the funnel with the definition's targets
	// (stage.Definition.Targets): the gap of each step and the step whose
	// gap costs the most won deals.
	Gaps stage.GapReport `json:"gaps"`
	// Work is how the funnel's leads were worked in each stage but the
	// last, per owner (journey.Work over DiagnoseOptions.Work): the same
	// leads and the same owners as the funnel's.
	Work journey.WorkResult `json:"work"`
	// Steps join the three per step and owner.
	Steps []StepDiagnosis `json:"steps"`
}

// StepDiagnosis is one step (From -> To) with each owner's part.
type StepDiagnosis struct {
	From string `json:"from"`
	To   string `json:"to"`
	// Team owns From (stage.Stage.Team); empty if the stage names none.
	Team string `json:"team,omitempty"`
	// Rate is the step's conversion over every owner; Target its target
	// rate (nil: none); BelowTarget says Rate's interval lies wholly under
	// the target.
	Rate        leadkit.Rate `json:"rate"`
	Target      *float64     `json:"target"`
	BelowTarget bool         `json:"below_target,omitempty"`
	// Unowned counts the step's leads nobody owned in From (Count) of its
	// Base. With owners from actors (the default), a lead nobody acted on
	// is nobody's: an SDR who leaves MQLs untouched does not own them,
	// and they show here (owner "" among the Owners, with its reading)
	// rather than in the SDR's rate. When it is large, give owners from
	// the CRM's assignment (DiagnoseOptions.Assigned).
	Unowned leadkit.Rate `json:"unowned"`
	// Work is how the team worked From's stays.
	Work journey.OwnerWork `json:"work"`
	// Owners in order of name.
	Owners []OwnerDiagnosis `json:"owners"`
}

// OwnerDiagnosis is one owner's conversion of a step, how it worked its
// leads in the step's first stage, and the reading.
type OwnerDiagnosis struct {
	stage.OwnerStep
	// Work is the owner's work on its stays in From (zero Stays: none
	// measured, e.g. stays that began before the period).
	Work journey.OwnerWork `json:"work"`
	// Reading says why a low rate is low: when the owner's interval lies
	// wholly under the step's target (or, for a step without a target,
	// under the team's rate). It is empty otherwise, with a Small base,
	// and when none of the owner's stays were measured (no work to read
	// it by). An owner compared with a team that includes a strong
	// colleague is below the team without doing anything wrong, so a
	// target, where there is one, is the measure. The leads nobody owned
	// (owner "") are read like an owner's: their follow-up reading says
	// that leads were left unworked.
	Reading Reading `json:"reading,omitempty"`
}

// Reading is a diagnosis of a low conversion.
type Reading string

// The readings.
const (
	// ReadingFollowUp: the owner's leads were not worked like the team's:
	// a share worked whose interval lies wholly under the team's share,
	// or a median time to the first work touch more than twice the team's.
	ReadingFollowUp Reading = "follow_up"
	// ReadingScreening: the leads were worked like the team's and still
	// converted less: the owner screens out, or digs for needs, worse.
	ReadingScreening Reading = "screening"
)

// DiagnoseOptions configures Engine.Diagnose.
type DiagnoseOptions struct {
	// From and To pick the leads: those that reached the first funnel
	// stage at From <= t < To (and, for Work, the stays that began then).
	// Zero values leave that side open.
	From time.Time `json:"from,omitzero"`
	To   time.Time `json:"to,omitzero"`
	// Stages of the funnel, in funnel order (default: the machine's
	// funnel stages).
	Stages []string `json:"stages,omitempty"`
	// Owner says who worked a stay (default stage.OwnerActor: the person
	// who acted on the lead in the stage).
	Owner stage.OwnerSource `json:"owner,omitempty"`
	// Assigned names, per stage, the lead's assignment field: the custom
	// person field (leadkit.Person.Custom) that holds who owns the lead in
	// that stage, as a CRM keeps it ({"MQL": "sdr_owner", "SAL":
	// "account_executive"}). Visits to those stages are owned by the
	// field's current value (a string; anything else, or no value, is
	// nobody); the other stages by Owner. The current value owns every
	// past visit too: after a reassignment, the new owner is charged with
	// the old owner's outcomes (the engine keeps a profile's history only
	// as of scoring times). At most stage.MaxStages entries.
	Assigned map[string]string `json:"assigned,omitempty"`
	// Work are the event types that count as working a lead in every
	// stage (default: leadkit.EventSDRCall, leadkit.EventSalesFollowUp and
	// leadkit.EventMeeting); WorkByStage gives a stage its own ({"MQL":
	// ["sdr_call"]}: an SDR's calls per lead without the meetings sales
	// books in the same stay). At most stage.MaxStages entries.
	Work        []string            `json:"work,omitempty"`
	WorkByStage map[string][]string `json:"work_by_stage,omitempty"`
	// Now measures the stays still open for SLA breaches (default: the
	// engine's clock).
	Now time.Time `json:"now,omitzero"`
}

// ParseDiagnoseOptions reads DiagnoseOptions from JSON or YAML, refusing
// unknown, miscased and duplicate keys (errors wrap leadkit.ErrInvalid);
// Diagnose checks the values.
func ParseDiagnoseOptions(data []byte) (DiagnoseOptions, error) {
	var o DiagnoseOptions
	if err := spec.Parse(data, &o); err != nil {
		return DiagnoseOptions{}, spec.Prefixed("lifecycle: diagnose options: ", err)
	}
	return o, nil
}

// Diagnose computes the Diagnosis from the engine's stage histories and
// timelines, one lead at a time (memory grows with owners and stages, and
// with the converted leads' cycle times, not with timelines).
func (e *Engine) Diagnose(ctx context.Context, o DiagnoseOptions) (Diagnosis, error) {
	now := o.Now
	if now.IsZero() {
		now = e.now()
	}
	work := o.Work
	if len(work) == 0 {
		work = []string{leadkit.EventSDRCall, leadkit.EventSalesFollowUp, leadkit.EventMeeting}
	}
	// Every problem of the options at once.
	var errs []error
	for _, t := range []struct {
		name string
		t    time.Time
	}{{"from", o.From}, {"to", o.To}, {"now", o.Now}} {
		if !t.t.IsZero() && !leadkit.ValidTime(t.t) {
			errs = append(errs, fmt.Errorf("%w: %s %s outside %s", leadkit.ErrInvalid, t.name, t.t.Format(time.RFC3339), leadkit.TimeRange))
		}
	}
	o.From, o.To = o.From.UTC(), o.To.UTC()
	fo := stage.FunnelOptions{Stages: o.Stages, From: o.From, To: o.To, ByOwner: true, Owner: o.Owner, Now: now}
	f, err := e.machine.NewFunnel(fo)
	if err != nil {
		errs = append(errs, err)
	}
	stages := e.machine.FunnelSpec(fo).Stages
	// One work accumulator per stage measured: each stage may have its
	// own work types (an SDR's calls in MQL, a rep's meetings in SQL).
	var ws []*journey.WorkAccumulator
	if len(stages) >= 2 {
		// The default list is checked once, whether a stage uses it or not.
		_, werr := journey.NewWork(journey.WorkSpec{Stages: stages[:1], Types: work})
		if werr != nil {
			errs = append(errs, fmt.Errorf("work: %w", werr))
		}
		for _, st := range stages[:len(stages)-1] {
			types, own := o.WorkByStage[st]
			if !own {
				if werr != nil {
					continue // reported once above
				}
				types = work
			}
			w, err := journey.NewWork(journey.WorkSpec{Stages: []string{st}, Types: types, Order: e.machine.FunnelStages()})
			if err != nil {
				errs = append(errs, fmt.Errorf("work of %q: %w", text.Clip(st, 64), err))
				continue
			}
			ws = append(ws, w)
		}
	}
	if len(o.WorkByStage) > stage.MaxStages {
		errs = append(errs, fmt.Errorf("%w: work_by_stage: %d stages, at most %d", leadkit.ErrInvalid, len(o.WorkByStage), stage.MaxStages))
	} else {
		for _, st := range slices.Sorted(maps.Keys(o.WorkByStage)) {
			if !slices.Contains(stages[:max(len(stages)-1, 0)], st) {
				errs = append(errs, fmt.Errorf("%w: work_by_stage: %q is not a stage of the funnel with a next stage", leadkit.ErrInvalid, text.Clip(st, 64)))
			}
		}
	}
	if len(o.Assigned) > stage.MaxStages {
		errs = append(errs, fmt.Errorf("%w: %d assigned stages, at most %d", leadkit.ErrInvalid, len(o.Assigned), stage.MaxStages))
	} else {
		for _, st := range slices.Sorted(maps.Keys(o.Assigned)) {
			if _, ok := e.machine.Rank(st); !ok {
				errs = append(errs, fmt.Errorf("%w: assigned: unknown stage %q", leadkit.ErrInvalid, text.Clip(st, 64)))
			}
			if field := o.Assigned[st]; field == "" {
				errs = append(errs, fmt.Errorf("%w: assigned[%q]: no field name", leadkit.ErrInvalid, text.Clip(st, 64)))
			} else if msg := leadkit.CheckText(field, leadkit.MaxNameBytes); msg != "" {
				errs = append(errs, fmt.Errorf("%w: assigned[%q]: field name %s", leadkit.ErrInvalid, text.Clip(st, 64), msg))
			}
		}
	}
	if len(errs) > 0 {
		return Diagnosis{}, fmt.Errorf("lifecycle: diagnose: %w", errors.Join(errs...))
	}
	measured := map[string]bool{}
	for _, s := range stages[:len(stages)-1] {
		measured[s] = true
	}
	err = stage.ScanHistories(ctx, e.machine.Store(), e.machine.Pipeline(), func(k stage.Key, h []stage.Entry) error {
		visits, err := e.machine.OwnedVisits(h, o.Owner)
		if err != nil {
			return err
		}
		if len(o.Assigned) > 0 {
			if err := e.assign(ctx, k.ID, visits, o.Assigned); err != nil {
				return err
			}
		}
		if err := f.Add(visits); err != nil {
			return err
		}
		// The work of the funnel's leads only: an owner's rate and its
		// work are measured over the same leads.
		if !f.Counted() || !slices.ContainsFunc(visits, func(v stage.Visit) bool { return measured[v.Stage] }) {
			return nil
		}
		events, err := e.events.Events(ctx, k.ID, time.Time{}, time.Time{})
		if err != nil {
			return err
		}
		for _, w := range ws {
			if err := w.Add(visits, events); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Diagnosis{}, fmt.Errorf("lifecycle: diagnose: %w", err)
	}
	d := Diagnosis{From: o.From, To: o.To, Funnel: f.Result(), Work: journey.WorkResult{Stages: []journey.StageWork{}}}
	for _, w := range ws {
		d.Work.Stages = append(d.Work.Stages, w.Result().Stages...)
	}
	if d.Gaps, err = e.machine.Gaps(d.Funnel); err != nil {
		return Diagnosis{}, fmt.Errorf("lifecycle: diagnose: %w", err)
	}
	d.Steps = diagnoseSteps(e.machine.Definition(), d)
	return d, nil
}

// assign sets the owner of the visits to assigned stages from the lead's
// assignment fields. A lead the engine has no state for (a subject
// started in the machine by hand) has no assignments.
func (e *Engine) assign(ctx context.Context, lead string, visits []stage.Visit, assigned map[string]string) error {
	st, err := e.states.Get(ctx, lead)
	if errors.Is(err, leadkit.ErrNotFound) {
		st = LeadState{}
	} else if err != nil {
		return err
	}
	for i := range visits {
		field, ok := assigned[visits[i].Stage]
		if !ok {
			continue
		}
		owner, _ := st.Lead.Person.Custom[field].(string)
		if leadkit.CheckText(owner, leadkit.MaxIDBytes) != "" {
			owner = "" // not a name a visit can carry
		}
		visits[i].Owner = owner
	}
	return nil
}

// diagnoseSteps joins the funnel by owner, the gaps and the work.
func diagnoseSteps(def stage.Definition, d Diagnosis) []StepDiagnosis {
	var out []StepDiagnosis
	for i, step := range d.Funnel.Owners {
		sd := StepDiagnosis{From: step.From, To: step.To, Rate: step.Rate, Owners: []OwnerDiagnosis{}}
		if st, ok := def.Stage(step.From); ok {
			sd.Team = st.Team
		}
		for _, g := range d.Gaps.Steps {
			if g.From == step.From && g.To == step.To {
				sd.Target, sd.BelowTarget = g.Target, g.Below
			}
		}
		var team journey.StageWork
		if i < len(d.Work.Stages) && d.Work.Stages[i].Stage == step.From {
			team = d.Work.Stages[i]
		}
		sd.Work = team.All
		unowned := 0
		for _, o := range step.Owners {
			if o.Owner == "" {
				unowned = o.Rate.Base
			}
		}
		sd.Unowned = leadkit.NewRate(unowned, step.Rate.Base)
		for _, o := range step.Owners {
			od := OwnerDiagnosis{OwnerStep: o}
			for _, ow := range team.Owners {
				if ow.Owner == o.Owner {
					od.Work = ow
				}
			}
			low := o.Below // under the team, or under the target when there is one
			if sd.Target != nil {
				low = o.Rate.Below(*sd.Target)
			}
			if low && !o.Rate.Small && od.Work.Stays > 0 {
				od.Reading = ReadingScreening
				teamWorked := team.All.Worked.Value()
				slow := team.All.FirstMedian != nil && od.Work.FirstMedian != nil && *team.All.FirstMedian > 0 && *od.Work.FirstMedian > 2**team.All.FirstMedian
				if od.Work.Stays > 0 && (od.Work.Worked.Below(teamWorked) || slow) {
					od.Reading = ReadingFollowUp
				}
			}
			sd.Owners = append(sd.Owners, od)
		}
		out = append(out, sd)
	}
	return out
}

// Step returns the diagnosis of one step, and whether the funnel has it.
func (d Diagnosis) Step(from, to string) (StepDiagnosis, bool) {
	for _, s := range d.Steps {
		if s.From == from && s.To == to {
			return s, true
		}
	}
	return StepDiagnosis{}, false
}
