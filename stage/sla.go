package stage

import (
	"context"
	"sort"
	"time"

	"github.com/leadkit/leadkit"
)

// Stay is one uninterrupted period a subject spent in a stage.
type Stay struct {
	Stage   string    `json:"stage"`
	Entered time.Time `json:"entered"`
	// Left is when the subject moved on; zero while it is still there.
	Left time.Time `json:"left,omitzero"`
	// Duration is Left - Entered, or now - Entered for the current stay.
	Duration leadkit.Duration `json:"duration"`
	// SLA is the stage's SLA (0 if none); Breached is Duration > SLA > 0.
	SLA      leadkit.Duration `json:"sla,omitempty"`
	Breached bool             `json:"breached,omitempty"`
}

// Stays turns a history into stays, measuring the last one up to now, and
// flags the stays that broke their stage's SLA. Sub-status changes do not
// end a stay.
func (m *Machine) Stays(history []Entry, now time.Time) []Stay {
	var out []Stay
	for _, e := range history {
		if e.Trigger == TriggerSubStatus {
			continue
		}
		if n := len(out); n > 0 {
			out[n-1].Left = e.At
		}
		out = append(out, Stay{Stage: e.To, Entered: e.At})
	}
	for i := range out {
		end := out[i].Left
		if end.IsZero() {
			end = now
		}
		out[i].Duration = leadkit.Duration(max(end.Sub(out[i].Entered), 0)) // now may precede the entry
		if s, ok := m.def.Stage(out[i].Stage); ok && s.SLA > 0 {
			out[i].SLA = leadkit.Duration(s.SLA)
			out[i].Breached = out[i].Duration > out[i].SLA
		}
	}
	return out
}

// TimeInStage sums a history's stays per stage, the current one up to now.
func (m *Machine) TimeInStage(history []Entry, now time.Time) map[string]time.Duration {
	out := map[string]time.Duration{}
	for _, s := range m.Stays(history, now) {
		out[s.Stage] += time.Duration(s.Duration)
	}
	return out
}

// Overdue is a subject that has stayed in its stage longer than the SLA.
type Overdue struct {
	Record Record           `json:"record"`
	SLA    leadkit.Duration `json:"sla"`
	// InStage is how long it has been in the stage; Over = InStage - SLA.
	InStage leadkit.Duration `json:"in_stage"`
	Over    leadkit.Duration `json:"over"`
}

// Overdue lists the subjects of the pipeline whose time in their current
// stage exceeds the stage's SLA at now, most overdue first.
func (m *Machine) Overdue(ctx context.Context, now time.Time) ([]Overdue, error) {
	var out []Overdue
	err := m.store.Scan(ctx, m.def.Name, func(r Record) error {
		rank, ok := m.rank[r.Stage]
		if !ok {
			return nil
		}
		sla := m.def.Stages[rank].SLA
		if in := now.Sub(r.EnteredAt); sla > 0 && in > sla {
			out = append(out, Overdue{Record: r, SLA: leadkit.Duration(sla), InStage: leadkit.Duration(in), Over: leadkit.Duration(in - sla)})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sortOverdue(out)
	return out, nil
}

func sortOverdue(o []Overdue) {
	sort.Slice(o, func(i, j int) bool {
		if o[i].Over != o[j].Over {
			return o[i].Over > o[j].Over
		}
		return lessKey(o[i].Record.Key, o[j].Record.Key)
	})
}
