package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/pool"
	"github.com/leadkit/leadkit/stage"
)

// AddLead makes a lead of a subject the engine did not see graduate: a
// lead imported from a CRM, or every lead of an engine without a pool
// whose Options.Unknown refuses unknown subjects. lead.ID is the subject;
// lead.CreatedAt (zero: now) is when it starts, in startIn (empty: the
// definition's initial stage; a later one to import a lead that is
// further down). Its events already stored are scored, and its stage is
// advanced from its creation on, as for a graduation; the start is
// reported as Graduated with a Graduation that names no prospect. A
// prospect of the subject in the pool is left as it is. A lead the engine
// has, or one with a stage record already, is an error wrapping
// leadkit.ErrConflict.
func (e *Engine) AddLead(ctx context.Context, lead leadkit.Lead, startIn string) ([]Change, error) {
	if err := leadkit.ValidateID("lead ID", lead.ID); err != nil {
		return nil, fmt.Errorf("lifecycle: add lead: %w", err)
	}
	if err := checkLead(lead); err != nil {
		return nil, err
	}
	if lead.CreatedAt.IsZero() {
		lead.CreatedAt = e.now()
	}
	lead = lead.Clone()
	lead.CreatedAt = lead.CreatedAt.UTC()
	if !leadkit.ValidTime(lead.CreatedAt) {
		return nil, fmt.Errorf("lifecycle: add lead %q: %w: created at outside %s", clip(lead.ID), leadkit.ErrInvalid, leadkit.TimeRange)
	}
	if _, err := e.states.Get(ctx, lead.ID); err == nil {
		return nil, fmt.Errorf("lifecycle: add lead %q: %w", clip(lead.ID), leadkit.ErrConflict)
	} else if !errors.Is(err, leadkit.ErrNotFound) {
		return nil, err
	}
	if _, err := e.machine.Get(ctx, stage.Lead(lead.ID)); err == nil {
		return nil, fmt.Errorf("lifecycle: add lead %q: it has a stage record already (ingest its events to make the engine take it up): %w", clip(lead.ID), leadkit.ErrConflict)
	} else if !errors.Is(err, leadkit.ErrNotFound) {
		return nil, err
	}
	s := &subject{id: lead.ID}
	g := pool.Graduation{LeadID: lead.ID, At: lead.CreatedAt, Lead: lead}
	// The imported profile is as of the creation: older events do not
	// overwrite it.
	stamps := pool.Prospect{PersonStamps: leadkit.Stamps{}, CompanyStamps: leadkit.Stamps{}}
	var p leadkit.Person
	var c leadkit.Company
	p.UpdateAt(lead.Person, lead.CreatedAt, stamps.PersonStamps)
	c.UpdateAt(lead.Company, lead.CreatedAt, stamps.CompanyStamps)
	err := e.create(ctx, s, g, stamps, startIn, true, &s.log)
	cs := s.log.final()
	if e.notify != nil {
		for _, c := range cs {
			e.notify(ctx, c)
		}
	}
	return cs, errors.Join(append(s.errs, err)...)
}

// checkLead checks a lead's profile against leadkit's caps.
func checkLead(l leadkit.Lead) error {
	if err := l.Validate(); err != nil {
		return fmt.Errorf("lifecycle: lead %q: %w", clip(l.ID), err)
	}
	return nil
}

// Erase removes a lead's personal data from the engine's stores: the
// person and company of its state (its ID, creation time, source and
// score stay, for the funnels), and its prospect in the pool with the
// prospects merged into it (see pool.Pool.Erase). Events up to the
// erasure never set the profile again, even redelivered. The events in
// the journey store and the stage history are not touched, and leadkit's
// journey stores cannot delete events yet: keep personal data out of
// event attributes (put it in the profile through Options.Observe).
// Erasing an erased or unknown lead does nothing; a subject still a
// prospect (no lead state yet) is erased from the pool only. Erase a lead
// while none of its events are being ingested (a graduation in flight
// writes the profile it read before), or call it again after.
func (e *Engine) Erase(ctx context.Context, leadID string) error {
	if err := leadkit.ValidateID("lead ID", leadID); err != nil {
		return fmt.Errorf("lifecycle: erase: %w", err)
	}
	if e.pool != nil {
		found, err := e.pool.Store().Find(ctx, []string{subjectKey(leadID)})
		if err != nil {
			return err
		}
		for _, pr := range found {
			if _, err := e.pool.Erase(ctx, pr.ID, time.Time{}); err != nil {
				return err
			}
		}
	}
	for range maxRetries {
		st, err := e.states.Get(ctx, leadID)
		switch {
		case errors.Is(err, leadkit.ErrNotFound):
			return nil
		case err != nil:
			return err
		}
		if emptyProfile(st.Lead.Person, st.Lead.Company) && !st.ErasedAt.IsZero() {
			return nil
		}
		// Erased as of now, or as of the latest event or profile update
		// if a sender's clock ran ahead: nothing seen so far comes back.
		at := e.now().UTC()
		for _, t := range []time.Time{st.Score.Updated, st.ErasedAt} {
			if t.After(at) {
				at = t
			}
		}
		for _, stamps := range []leadkit.Stamps{st.PersonStamps, st.CompanyStamps} {
			for _, t := range stamps {
				if t.After(at) {
					at = t
				}
			}
		}
		st.Lead.Person, st.Lead.Company = leadkit.Person{}, leadkit.Company{}
		st.PersonStamps, st.CompanyStamps, st.Origin, st.ErasedAt = nil, nil, nil, at
		st.Version++
		err = e.states.Put(ctx, st)
		if !errors.Is(err, leadkit.ErrConflict) {
			return err
		}
	}
	return fmt.Errorf("lifecycle: erase %q: %w: still conflicting after %d attempts", clip(leadID), leadkit.ErrConflict, maxRetries)
}
