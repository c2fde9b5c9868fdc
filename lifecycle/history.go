package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/scoring"
	"github.com/leadkit/leadkit/stage"
)

// ScoreHistoryOptions selects what ScoreHistories reads.
type ScoreHistoryOptions struct {
	// Dimension is the model's dimension the MQL threshold reads (the
	// threshold's dimension: "total").
	Dimension string `json:"dimension"`
	// Worked is the stage that means a lead was worked (handed to the SDRs:
	// "MQL"), Outcome the stage whose reach is the outcome ("SQL"); both
	// funnel stages, Outcome after Worked.
	Worked  string `json:"worked"`
	Outcome string `json:"outcome"`
	// AsOf ends the history (zero: the engine's clock).
	AsOf time.Time `json:"as_of,omitzero"`
}

// ScoreHistory is one lead's history for a threshold recommendation: its
// score on the dimension after each instant it had events (as
// scoring.Model.Trajectory gives it) and when it first reached the worked
// and the outcome stages, in the one meaning of reaching a stage
// (stage.Reach: a lead that skipped MQL on its way to SAL reached it).
// Fill learn.CapacityLead from it: {ID: LeadID, Scores: Scores, Worked:
// !WorkedAt.IsZero(), SQLAt: OutcomeAt}.
type ScoreHistory struct {
	LeadID    string               `json:"lead_id"`
	Scores    []scoring.ScorePoint `json:"scores"`
	WorkedAt  time.Time            `json:"worked_at,omitzero"`
	OutcomeAt time.Time            `json:"outcome_at,omitzero"`
}

// ScoreHistories calls fn with the ScoreHistory of every lead the engine
// has that was created by AsOf, in the order of its Store's Scan (a lead
// without events by then has nil Scores). The scores are the model's full
// replay of the lead's stored events up to AsOf on its current profile:
// what the model says of the lead's behaviour, without the Requalify
// resets the engine applies after a recycle (a threshold recommendation
// reads when a lead first reaches each candidate score). It stops at the
// first error of fn or of a store. Bad options are errors wrapping
// leadkit.ErrInvalid, every one at once.
func (e *Engine) ScoreHistories(ctx context.Context, o ScoreHistoryOptions, fn func(ScoreHistory) error) error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("lifecycle: score histories: %w: %s", leadkit.ErrInvalid, fmt.Sprintf(format, args...)))
	}
	if !slices.Contains(e.model.Dimensions(), o.Dimension) {
		bad("dimension %q is not one of the model's (%v)", clip(o.Dimension), e.model.Dimensions())
	}
	order := e.machine.FunnelStages()
	w, oc := slices.Index(order, o.Worked), slices.Index(order, o.Outcome)
	if w < 0 {
		bad("worked stage %q is not a funnel stage", clip(o.Worked))
	}
	if oc < 0 {
		bad("outcome stage %q is not a funnel stage", clip(o.Outcome))
	}
	if w >= 0 && oc >= 0 && oc <= w {
		bad("outcome stage %q does not come after worked stage %q", o.Outcome, o.Worked)
	}
	asOf := o.AsOf
	if asOf.IsZero() {
		asOf = e.now()
	}
	if !leadkit.ValidTime(asOf) {
		bad("as of %s outside %s", asOf.Format(time.RFC3339), leadkit.TimeRange)
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return e.states.Scan(ctx, func(st LeadState) error {
		if st.Lead.CreatedAt.After(asOf) {
			return nil // not a lead yet at AsOf
		}
		evs, err := e.events.Events(ctx, st.LeadID, time.Time{}, asOf.Add(time.Nanosecond))
		if err != nil {
			return err
		}
		h := ScoreHistory{LeadID: st.LeadID}
		if len(evs) > 0 {
			if h.Scores, err = e.model.Trajectory(scoring.Input{Lead: st.Lead, Events: evs, AsOf: asOf}, o.Dimension); err != nil {
				return fmt.Errorf("lifecycle: score histories: lead %q: %w", clip(st.LeadID), err)
			}
		}
		entries, err := e.machine.History(ctx, stage.Lead(st.LeadID))
		if err != nil {
			return err
		}
		visits, err := stage.Reach(stage.Visits(entries), order)
		if err != nil {
			return err
		}
		for _, v := range visits {
			if v.At.After(asOf) {
				continue
			}
			switch v.Stage {
			case o.Worked:
				if h.WorkedAt.IsZero() || v.At.Before(h.WorkedAt) {
					h.WorkedAt = v.At
				}
			case o.Outcome:
				if h.OutcomeAt.IsZero() || v.At.Before(h.OutcomeAt) {
					h.OutcomeAt = v.At
				}
			}
		}
		return fn(h)
	})
}
