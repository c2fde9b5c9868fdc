package attribution

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/journey"
)

// Milestone event types used when [Milestones] leaves a list empty.
const (
	EventLeadCreated        = "lead_created"
	EventOpportunityCreated = "opportunity_created"
	EventClosedWon          = "closed_won"
)

// Milestones names the event types that mark the B2B milestones of a
// timeline. An empty list takes its default.
//
// A milestone is the first event of its types at or before the conversion.
// Its role falls on the touch that earned it: the last touch (in timeline
// order) at or before the milestone event, which is the milestone event
// itself when that event is a touch (a form fill from a channel). A
// milestone that did not happen, or that has no touch at or before it left
// in the window, is absent.
type Milestones struct {
	// LeadCreated marks lead creation; default "lead_created" and
	// "form_submitted" (the first form fill creates the lead).
	LeadCreated []string `json:"lead_created,omitempty"`
	// OpportunityCreated marks opportunity creation; default
	// "opportunity_created".
	OpportunityCreated []string `json:"opportunity_created,omitempty"`
	// ClosedWon marks the won deal; default "closed_won".
	ClosedWon []string `json:"closed_won,omitempty"`
}

func (m Milestones) withDefaults() Milestones {
	if len(m.LeadCreated) == 0 {
		m.LeadCreated = []string{EventLeadCreated, leadkit.EventFormSubmitted}
	}
	if len(m.OpportunityCreated) == 0 {
		m.OpportunityCreated = []string{EventOpportunityCreated}
	}
	if len(m.ClosedWon) == 0 {
		m.ClosedWon = []string{EventClosedWon}
	}
	return m
}

// RoleWeights are the shares of the roles a touch can hold in a milestone
// model, plus Other: the share split equally over the touches that hold no
// role. The weights need not sum to 1 (they are relative).
//
// Edge rules: roles falling on the same touch add up (a first touch that
// also created the lead gets FirstTouch + LeadCreation); the weights of
// absent roles, and Other when every touch holds a role, are dropped and the
// rest re-normalised to the whole conversion. If nothing present has weight,
// the conversion is split equally over the touches.
type RoleWeights struct {
	FirstTouch          float64 `json:"first_touch"`
	LeadCreation        float64 `json:"lead_creation"`
	OpportunityCreation float64 `json:"opportunity_creation"`
	ClosedWon           float64 `json:"closed_won"`
	Other               float64 `json:"other"`
}

// Validate reports whether every weight is finite and non-negative and one
// is positive.
func (w RoleWeights) Validate() error {
	var errs []error
	var sum float64
	for _, f := range []struct {
		name string
		v    float64
	}{{"first_touch", w.FirstTouch}, {"lead_creation", w.LeadCreation}, {"opportunity_creation", w.OpportunityCreation}, {"closed_won", w.ClosedWon}, {"other", w.Other}} {
		if math.IsNaN(f.v) || math.IsInf(f.v, 0) || f.v < 0 {
			errs = append(errs, fmt.Errorf("attribution: role weights: %w: %s = %g, want finite and >= 0", leadkit.ErrInvalid, f.name, f.v))
		}
		sum += f.v
	}
	if len(errs) == 0 && sum == 0 {
		errs = append(errs, fmt.Errorf("attribution: role weights: %w: all zero", leadkit.ErrInvalid))
	}
	return errors.Join(errs...)
}

// Preset role weights of the B2B milestone models.
var (
	// UShapedWeights: first touch 40, lead creation 40, 20 to the rest.
	UShapedWeights = RoleWeights{FirstTouch: 40, LeadCreation: 40, Other: 20}
	// WShapedWeights: first touch, lead creation and opportunity creation
	// 30 each, 10 to the rest.
	WShapedWeights = RoleWeights{FirstTouch: 30, LeadCreation: 30, OpportunityCreation: 30, Other: 10}
	// FullPathWeights: the W-shaped roles and closed-won 22.5 each, 10 to
	// the rest.
	FullPathWeights = RoleWeights{FirstTouch: 22.5, LeadCreation: 22.5, OpportunityCreation: 22.5, ClosedWon: 22.5, Other: 10}
)

// UShaped is the B2B U-shaped model: first touch 40%, lead-creation touch
// 40%, 20% split over the other touches (see [RoleWeights] for the edge
// rules). Usually credited at lead creation or MQL.
type UShaped struct {
	Milestones Milestones `json:"milestones,omitempty"`
}

// AttributeTimelines implements [TimelineModel].
func (m UShaped) AttributeTimelines(timelines []journey.Timeline, conv Conversion) (Result, error) {
	return CustomRoles{Weights: UShapedWeights, Milestones: m.Milestones}.AttributeTimelines(timelines, conv)
}

// WShaped is the W-shaped model: first touch, lead creation and opportunity
// creation 30% each, 10% split over the other touches. Usually credited at
// opportunity creation.
type WShaped struct {
	Milestones Milestones `json:"milestones,omitempty"`
}

// AttributeTimelines implements [TimelineModel].
func (m WShaped) AttributeTimelines(timelines []journey.Timeline, conv Conversion) (Result, error) {
	return CustomRoles{Weights: WShapedWeights, Milestones: m.Milestones}.AttributeTimelines(timelines, conv)
}

// FullPath is the full-path (Z-shaped) model: first touch, lead creation,
// opportunity creation and closed-won 22.5% each, 10% split over the other
// touches. Usually credited at closed-won.
type FullPath struct {
	Milestones Milestones `json:"milestones,omitempty"`
}

// AttributeTimelines implements [TimelineModel].
func (m FullPath) AttributeTimelines(timelines []journey.Timeline, conv Conversion) (Result, error) {
	return CustomRoles{Weights: FullPathWeights, Milestones: m.Milestones}.AttributeTimelines(timelines, conv)
}

// CustomRoles is a milestone model with caller-chosen role weights.
type CustomRoles struct {
	Weights    RoleWeights `json:"weights"`
	Milestones Milestones  `json:"milestones,omitempty"`
}

// AttributeTimelines implements [TimelineModel].
func (m CustomRoles) AttributeTimelines(timelines []journey.Timeline, conv Conversion) (Result, error) {
	if err := m.Weights.Validate(); err != nil {
		return Result{}, err
	}
	ms := m.Milestones.withDefaults()
	wt := m.Weights
	var holds []bool
	return attributeTimelines(timelines, conv, func(j *journeyCut, w []float64) {
		holds = slices.Grow(holds[:0], len(w))[:len(w)]
		clear(holds)
		give := func(i int, x float64) {
			if i >= 0 && x > 0 {
				w[i] += x
				holds[i] = true
			}
		}
		give(0, wt.FirstTouch)
		give(j.roleTouch(ms.LeadCreated), wt.LeadCreation)
		give(j.roleTouch(ms.OpportunityCreated), wt.OpportunityCreation)
		give(j.roleTouch(ms.ClosedWon), wt.ClosedWon)
		others := 0
		for _, h := range holds {
			if !h {
				others++
			}
		}
		if others > 0 {
			share := wt.Other / float64(others)
			for i, h := range holds {
				if !h {
					w[i] += share
				}
			}
		}
	})
}

// roleTouch returns the index (into j.touches) of the touch that holds the
// milestone marked by types, or -1 when it is absent.
func (j *journeyCut) roleTouch(types []string) int {
	m := -1
	for i, e := range j.events {
		if slices.Contains(types, e.Type) {
			m = i
			break
		}
	}
	if m < 0 {
		return -1
	}
	best := -1
	for i, t := range j.touches {
		if t.event > m {
			break
		}
		best = i
	}
	return best
}
