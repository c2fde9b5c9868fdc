package stage

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/text"
)

// Visit is one entry of a subject into a stage: the neutral form of a stage
// history that analyses read (stage funnels here; cycle times, source age,
// touch mix and nurture power in package journey). Convert a history with
// [Visits]; histories kept elsewhere (a CRM export) convert field by field.
type Visit struct {
	LeadID string    `json:"lead_id"`
	Stage  string    `json:"stage"`
	At     time.Time `json:"at"`
	// Implied marks a visit the subject did not make itself: it reached the
	// stage by entering a later one (see [Reach]). Analyses treat it as an
	// entry; the stage funnel counts it in Reached, not Entered.
	Implied bool `json:"implied,omitempty"`
	// Owner is who worked the subject during the visit (an SDR, a sales
	// rep, a team), read by a funnel by owner (FunnelSpec.ByOwner). Fill it
	// from an assignment field of your own, or let
	// [Machine.OwnedVisits] take it from the history's actors or the
	// stage's team. Empty means nobody (or nobody known).
	Owner string `json:"owner,omitempty"`
}

// Validate reports a visit without a lead ID, a stage or a time, or with
// text over leadkit's caps. The error wraps leadkit.ErrInvalid.
func (v Visit) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("stage: visit (lead %q, stage %q): %w: %s", text.Clip(v.LeadID, 64), text.Clip(v.Stage, 64), leadkit.ErrInvalid, fmt.Sprintf(format, args...))
	}
	switch {
	case v.LeadID == "":
		return bad("missing lead_id")
	case v.Stage == "":
		return bad("missing stage")
	case v.At.IsZero():
		return bad("missing at")
	case !leadkit.ValidTime(v.At):
		return bad("time outside %s", leadkit.TimeRange)
	}
	if msg := leadkit.CheckText(v.LeadID, leadkit.MaxIDBytes); msg != "" {
		return bad("lead_id %s", msg)
	}
	if msg := leadkit.CheckText(v.Stage, leadkit.MaxNameBytes); msg != "" {
		return bad("stage %s", msg)
	}
	if msg := leadkit.CheckText(v.Owner, leadkit.MaxIDBytes); msg != "" {
		return bad("owner %s", msg)
	}
	return nil
}

// Visits converts one subject's history into visits, in order, leaving
// out sub-status changes (they do not enter a stage).
func Visits(history []Entry) []Visit {
	out := make([]Visit, 0, len(history))
	for _, e := range history {
		if e.Trigger == TriggerSubStatus {
			continue
		}
		out = append(out, Visit{LeadID: e.ID, Stage: e.To, At: e.At})
	}
	return out
}

// Reach returns visits followed by the visits they imply, the one meaning
// of "reached a stage" in leadkit: a visit to the stage at position p of
// order (a funnel order such as [Machine.FunnelStages]) implies a visit, at
// the same time, to each stage before p that the lead skipped: one it had
// not reached in its current cycle through the funnel (by a visit of its
// own or an implied one). So a lead that entered MQL in October and SAL in
// November did not reach MQL again in November, while a lead that went
// from Raw to SAL in November reached MQL then.
//
// A cycle ends when the lead leaves the funnel order (a visit to a stage
// outside it, such as Recycled or MRL): a recycled lead that comes back,
// to MQL itself or straight to SAL, reached MQL again, a repeat reach. A
// move back within the order (SQL to MQL) reopens the stages after the one
// it moves to. Direct visits are all kept, repeats too. Visits at the same
// time are taken in funnel order, and visits already marked Implied mark
// their stage reached without implying more, so Reach(Reach(v)) adds
// nothing. The first visit of a lead to a stage in the result is the time
// it reached the stage, as the stage funnel defines it (the earliest entry
// into the stage or a later one). Visits to stages outside order are kept
// as they are; visits keep their index (bad ones too, for the analyses to
// report). order must hold distinct, non-empty names.
func Reach(visits []Visit, order []string) ([]Visit, error) {
	pos, err := orderIndex(order)
	if err != nil {
		return nil, err
	}
	out := slices.Clone(visits)
	byLead := map[string][]int{}
	var leads []string
	for i, v := range visits {
		if v.Validate() != nil {
			continue
		}
		if _, ok := byLead[v.LeadID]; !ok {
			leads = append(leads, v.LeadID)
		}
		byLead[v.LeadID] = append(byLead[v.LeadID], i)
	}
	// rank orders stages outside the funnel after those in it, so that at
	// one time a lead passes the funnel stages before leaving it.
	rank := func(st string) int {
		if p, ok := pos[st]; ok {
			return p
		}
		return len(order)
	}
	reached := make([]bool, len(order))
	for _, lead := range leads {
		idx := byLead[lead]
		slices.SortStableFunc(idx, func(a, b int) int {
			if c := visits[a].At.Compare(visits[b].At); c != 0 {
				return c
			}
			return rank(visits[a].Stage) - rank(visits[b].Stage)
		})
		clear(reached)
		top := -1 // the furthest position reached in this cycle
		for _, i := range idx {
			v := visits[i]
			p, in := pos[v.Stage]
			switch {
			case !in:
				clear(reached) // the lead left the funnel: a new cycle
				top = -1
				continue
			case p < top:
				clear(reached[p+1:]) // moved back: later stages reopen
			}
			if !v.Implied {
				for q, st := range order[:p] {
					if !reached[q] {
						reached[q] = true
						out = append(out, Visit{LeadID: v.LeadID, Stage: st, At: v.At, Implied: true})
					}
				}
			}
			reached[p] = true
			top = p
		}
	}
	return out, nil
}

// orderIndex maps each stage of a funnel order to its position, refusing
// empty and repeated names.
func orderIndex(order []string) (map[string]int, error) {
	pos := make(map[string]int, len(order))
	var errs []error
	for i, st := range order {
		switch _, dup := pos[st]; {
		case st == "":
			errs = append(errs, fmt.Errorf("stage: order: %w: stage %d: empty name", leadkit.ErrInvalid, i+1))
		case dup:
			errs = append(errs, fmt.Errorf("stage: order: %w: stage %q listed twice", leadkit.ErrInvalid, st))
		default:
			pos[st] = i
		}
	}
	return pos, errors.Join(errs...)
}
