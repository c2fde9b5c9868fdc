package stage

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/stats"
)

// A funnel by owner answers "who converts": each step between consecutive
// funnel stages (MQL -> TAL, TAL -> SAL) broken down by who owned the
// subject in the step's first stage. It is the stage funnel of funnel.go
// with one more key, so its counts are the funnel's own: the owners' bases
// of a step add up to the step's base, their conversions to its
// conversions.
//
// The owner of a step is the Owner of the subject's first direct visit to
// the step's first stage, the visit whose time is the stage's reach time.
// A subject that skipped that stage (Raw -> SAL passes MQL and TAL) was
// owned by nobody there: its owner is "". Owners come from Visit.Owner:
// an assignment field of the caller's, or [Machine.OwnedVisits].

// OwnerSource says where [Machine.OwnedVisits] finds the owner of a visit.
type OwnerSource string

// The owner sources.
const (
	// OwnerActor: the person who worked the subject in the stage, the
	// actor of the first change made by a person (a manual transition or a
	// sub-status change, Trigger manual or substatus) after the subject
	// entered the stage, up to and including the change that moved it on.
	// The SDR who accepted or rejected an MQL owned its MQL visit; an MQL
	// nobody acted on has no owner. Automatic changes (the scoring engine)
	// are nobody's work.
	OwnerActor OwnerSource = "actor"
	// OwnerTeam: the stage's Team ("sdr", "sales").
	OwnerTeam OwnerSource = "team"
)

// OwnedVisits converts a history into visits, as [Visits] does, with each
// visit's Owner taken from by (default OwnerActor). An unknown source is an
// error wrapping leadkit.ErrInvalid.
func (m *Machine) OwnedVisits(history []Entry, by OwnerSource) ([]Visit, error) {
	var out []Visit
	switch by {
	case OwnerActor, "":
		for k, e := range history {
			if e.Trigger == TriggerSubStatus {
				continue
			}
			owner := ""
			for _, next := range history[k+1:] {
				if (next.Trigger == TriggerManual || next.Trigger == TriggerSubStatus) && next.Actor != "" {
					owner = next.Actor
					break
				}
				if next.Trigger != TriggerSubStatus {
					break // the stay ended by an automatic change
				}
			}
			out = append(out, Visit{LeadID: e.ID, Stage: e.To, At: e.At, Owner: owner})
		}
	case OwnerTeam:
		for _, e := range history {
			if e.Trigger == TriggerSubStatus {
				continue
			}
			team := ""
			if r, ok := m.rank[e.To]; ok {
				team = m.def.Stages[r].Team
			}
			out = append(out, Visit{LeadID: e.ID, Stage: e.To, At: e.At, Owner: team})
		}
	default:
		return nil, fmt.Errorf("stage: %w: unknown owner source %q (want %q or %q)", leadkit.ErrInvalid, by, OwnerActor, OwnerTeam)
	}
	return out, nil
}

// StepOwners is one step of a funnel by owner: the step over every owner
// and each owner's part.
type StepOwners struct {
	From string `json:"from"`
	To   string `json:"to"`
	// Rate is the step's conversion over every owner (the funnel's
	// Conversion of From -> To), the team rate each owner is compared to.
	Rate leadkit.Rate `json:"rate"`
	// SLA is From's SLA (0: none, and no breaches are counted).
	SLA leadkit.Duration `json:"sla,omitempty"`
	// Owners in order of name; "" is the subjects nobody owned in From.
	Owners []OwnerStep `json:"owners"`
}

// OwnerStep is one owner's conversion of one step.
type OwnerStep struct {
	Owner string `json:"owner"`
	// Rate counts the subjects the owner had in From (Base) and those of
	// them that reached To (Count), with its 95% interval; Small flags a
	// base too small to compare.
	Rate leadkit.Rate `json:"rate"`
	// Below and Above say that the owner's whole interval lies under or
	// over the step's rate over every owner: a difference beyond sampling
	// error. With a Small base neither is set.
	Below bool `json:"below,omitempty"`
	Above bool `json:"above,omitempty"`
	// Mean and Median time from reaching From to reaching To, over the
	// converted subjects (nil, no data, without any).
	Mean   *leadkit.Duration `json:"mean"`
	Median *leadkit.Duration `json:"median"`
	// Breaches counts the owner's stays in From that lasted longer than
	// From's SLA (Count) of the stays judged (Base: those that ended, and
	// those still open when FunnelSpec.Now is set); no data without an
	// SLA.
	Breaches leadkit.Rate `json:"breaches"`
}

// ownerCounts are the counts of a funnel by owner: per owner, per step
// (i -> i+1, at index i).
type ownerCounts struct {
	q    *stats.Params
	rows map[string]*ownerRow
}

type ownerRow struct {
	reached, converted, judged, breached []int
	durations                            []stats.Summary
}

func newOwnerCounts(q *stats.Params) *ownerCounts {
	return &ownerCounts{q: q, rows: map[string]*ownerRow{}}
}

func (o *ownerCounts) row(owner string, steps int) *ownerRow {
	r := o.rows[owner]
	if r == nil {
		r = &ownerRow{reached: make([]int, steps), converted: make([]int, steps), judged: make([]int, steps),
			breached: make([]int, steps), durations: o.q.Summaries(steps)}
		o.rows[owner] = r
	}
	return r
}

func (o *ownerCounts) merge(other *ownerCounts) {
	for owner, or := range other.rows {
		r := o.row(owner, len(or.reached))
		for i := range or.reached {
			r.reached[i] += or.reached[i]
			r.converted[i] += or.converted[i]
			r.judged[i] += or.judged[i]
			r.breached[i] += or.breached[i]
			r.durations[i].Merge(&or.durations[i])
		}
	}
}

// countOwners adds the subject in f's scratch to the owner counts.
func (f *FunnelAccumulator) countOwners() {
	steps := len(f.spec.Stages) - 1
	for i := range steps {
		if f.reach[i].IsZero() {
			continue
		}
		owner, stay := f.owner[i], f.stay[i]
		if !f.first[i].Equal(f.reach[i]) { // skipped on the way, worked (if at all) only later
			owner, stay = "", -1
		}
		r := f.owners.row(owner, steps)
		r.reached[i]++
		if !f.reach[i+1].IsZero() {
			r.converted[i]++
			r.durations[i].Add(f.reach[i+1].Sub(f.reach[i]))
		}
		sla := time.Duration(f.spec.SLA[f.spec.Stages[i]])
		if sla <= 0 || stay < 0 {
			continue
		}
		if d, ok := f.stayLength(stay); ok {
			r.judged[i]++
			if d > sla {
				r.breached[i]++
			}
		}
	}
}

// StayEnd returns when the stay that visits[x] began ended: the time of
// the subject's next direct visit (to any stage), or zero while the
// subject is still there. A list in time order, as [Visits] gives a
// history, is taken as it stands: its order of visits at one instant is
// the order they happened in (a correction from SQL back to MQL at the
// instant the lead reached SQL leaves it in MQL). A list out of time order
// has lost that order, so its visits at one instant are taken in funnel
// order (by position in order, stages outside it last, then as listed):
// the same visits in any such order give the same stay. It is the one
// meaning of a stay's end in leadkit: SLA breaches of a funnel by owner
// and journey's work per stay read it.
func StayEnd(visits []Visit, x int, order []string) time.Time {
	sorted := slices.IsSortedFunc(visits, func(a, b Visit) int { return a.At.Compare(b.At) })
	rank := func(st string) int {
		if i := slices.Index(order, st); i >= 0 {
			return i
		}
		return len(order)
	}
	start, rx := visits[x].At, rank(visits[x].Stage)
	var end time.Time
	for y, v := range visits {
		if y == x || v.Implied || v.At.Before(start) {
			continue
		}
		if v.At.Equal(start) {
			if sorted && y < x {
				continue // listed before x at the same instant
			}
			if ry := rank(v.Stage); !sorted && (ry < rx || (ry == rx && y < x)) {
				continue // before x in funnel order at the same instant
			}
		}
		if end.IsZero() || v.At.Before(end) {
			end = v.At
		}
	}
	return end
}

// stayLength is how long the stay that visit x began lasted (see
// StayEnd), or until spec.Now when it has not ended; false when it has
// not ended and Now is not set.
func (f *FunnelAccumulator) stayLength(x int) (time.Duration, bool) {
	start := f.visits[x].At
	order := f.spec.Order
	if order == nil {
		order = f.spec.Stages
	}
	end := StayEnd(f.visits, x, order)
	if end.IsZero() {
		if f.spec.Now.IsZero() {
			return 0, false
		}
		end = f.spec.Now
	}
	return max(end.Sub(start), 0), true
}

// ownerResult computes the funnel by owner; convs are the funnel's own
// conversions, whose consecutive steps are the team rates.
func (f *FunnelAccumulator) ownerResult(convs []Conversion) []StepOwners {
	n := len(f.spec.Stages)
	names := slices.Sorted(maps.Keys(f.owners.rows))
	out := make([]StepOwners, 0, n-1)
	for i := range n - 1 {
		c := convs[pairIndex(n, i, i+1)]
		step := StepOwners{From: c.From, To: c.To, Rate: leadkit.NewRate(c.Converted, c.Base),
			SLA: f.spec.SLA[c.From], Owners: []OwnerStep{}}
		team := step.Rate.Value()
		for _, name := range names {
			r := f.owners.rows[name]
			if r.reached[i] == 0 {
				continue
			}
			o := OwnerStep{Owner: name, Rate: leadkit.NewRate(r.converted[i], r.reached[i]), Breaches: leadkit.NewRate(r.breached[i], r.judged[i])}
			if !o.Rate.Small {
				o.Below, o.Above = o.Rate.Below(team), o.Rate.Above(team)
			}
			if d := &r.durations[i]; d.N() > 0 {
				o.Mean, o.Median = durationOf(d.Mean()), durationOf(d.Median())
			}
			step.Owners = append(step.Owners, o)
		}
		out = append(out, step)
	}
	return out
}

// durationOf returns d as a result's duration.
func durationOf(d time.Duration) *leadkit.Duration {
	x := leadkit.Duration(d)
	return &x
}
