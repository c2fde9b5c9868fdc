package lifecycle

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/pool"
)

// updateProfile applies the profile fields the events of items carry
// (Options.Observe) to the lead: each field takes the value of its latest
// observation by event time (replays and late events change nothing a
// newer one set), and events up to an erasure set nothing. An update that
// would break a cap is its event's error and is left out.
func updateProfile(st *LeadState, s *subject, items []item) {
	for _, it := range items {
		if it.obs == nil || !it.ev.Time.After(st.ErasedAt) && !st.ErasedAt.IsZero() {
			continue
		}
		if err := updateAt(&st.Lead, &st.PersonStamps, &st.CompanyStamps, it.obs, it.ev.Time); err != nil {
			s.errs = append(s.errs, &EventError{Index: it.index, ID: it.ev.ID, Err: fmt.Errorf("profile not updated: %w", err)})
		}
	}
}

// updateAt applies an observation's person and company fields, observed
// at t, to a profile and its stamps, or, if the result would break a cap,
// changes nothing and says why.
func updateAt(l *leadkit.Lead, pstamps, cstamps *leadkit.Stamps, obs *pool.Observation, t time.Time) error {
	if emptyProfile(obs.Person, obs.Company) {
		return nil
	}
	p, c := l.Person.Clone(), l.Company.Clone()
	ps, cs := maps.Clone(*pstamps), maps.Clone(*cstamps)
	if ps == nil {
		ps = leadkit.Stamps{}
	}
	if cs == nil {
		cs = leadkit.Stamps{}
	}
	p.UpdateAt(obs.Person, t, ps)
	c.UpdateAt(obs.Company, t, cs)
	if err := p.Validate(); err != nil {
		return err
	}
	if err := c.Validate(); err != nil {
		return err
	}
	l.Person, l.Company, *pstamps, *cstamps = p, c, ps, cs
	return nil
}

// profile is a lead's profile as known at each time of a replay: the
// lead's profile as of the replay's first evaluation (leadkit's AsOf: the
// fields set later are dropped), then the updates of the stored events in
// time order, so each evaluation reads the profile as it stood then.
type profile struct {
	lead   leadkit.Lead
	ps, cs leadkit.Stamps
}

// profileAsOf is st's profile as known at t: its origin (the profile it
// started with), or its current profile, without the fields set after t.
// The stored events' updates up to t are the caller's to replay.
func profileAsOf(st *LeadState, t time.Time) *profile {
	p := &profile{lead: st.Lead}
	from := Profile{Person: st.Lead.Person, Company: st.Lead.Company, PersonStamps: st.PersonStamps, CompanyStamps: st.CompanyStamps}
	if st.Origin != nil {
		from = *st.Origin
	}
	p.lead.Person, p.ps = from.Person.AsOf(from.PersonStamps, t)
	p.lead.Company, p.cs = from.Company.AsOf(from.CompanyStamps, t)
	return p
}

// Profile is a person and a company with the times their fields were set
// (see leadkit.Stamps).
type Profile struct {
	Person        leadkit.Person  `json:"person"`
	Company       leadkit.Company `json:"company"`
	PersonStamps  leadkit.Stamps  `json:"person_stamps,omitempty"`
	CompanyStamps leadkit.Stamps  `json:"company_stamps,omitempty"`
}

// Clone returns a deep copy of p (nil for nil).
func (p *Profile) Clone() *Profile {
	if p == nil {
		return nil
	}
	return &Profile{Person: p.Person.Clone(), Company: p.Company.Clone(), PersonStamps: maps.Clone(p.PersonStamps), CompanyStamps: maps.Clone(p.CompanyStamps)}
}

// validate checks a profile against leadkit's caps.
func (p *Profile) validate() error {
	if p == nil {
		return nil
	}
	for _, err := range []error{p.Person.Validate(), p.Company.Validate(), p.PersonStamps.Validate(), p.CompanyStamps.Validate()} {
		if err != nil {
			return err
		}
	}
	return nil
}

// observe applies a stored event's profile fields (Options.Observe, which
// must give the same observation for the same event every time). An
// update that would break a cap was refused when it came and is skipped.
func (p *profile) observe(ctx context.Context, e *Engine, ev *leadkit.Event) {
	if obs, err := e.observation(ctx, *ev); err == nil {
		_ = updateAt(&p.lead, &p.ps, &p.cs, obs, ev.Time) // refused when it came, too
	}
}

// hasProfile reports whether a call's events update the lead's profile.
func hasProfile(items []item) bool {
	for _, it := range items {
		if it.obs != nil && !emptyProfile(it.obs.Person, it.obs.Company) {
			return true
		}
	}
	return false
}

// emptyProfile reports whether a person and a company hold nothing.
func emptyProfile(p leadkit.Person, c leadkit.Company) bool {
	return reflect.DeepEqual(p, leadkit.Person{}) && reflect.DeepEqual(c, leadkit.Company{})
}
