package lifecycle

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"time"

	"github.com/leadkit/leadkit"
)

// updateProfile applies the profile fields the events of items carry
// (Options.Observe) to the lead: each field takes the value of its latest
// observation by event time (replays and late events change nothing a
// newer one set), and events up to an erasure set nothing. An update that
// would break a cap is its event's error and is left out.
func updateProfile(st *LeadState, s *subject, items []item) {
	for _, it := range items {
		if it.obs == nil || emptyProfile(it.obs.Person, it.obs.Company) || !it.ev.Time.After(st.ErasedAt) && !st.ErasedAt.IsZero() {
			continue
		}
		p, c := st.Lead.Person.Clone(), st.Lead.Company.Clone()
		ps, cs := maps.Clone(st.PersonStamps), maps.Clone(st.CompanyStamps)
		if ps == nil {
			ps = leadkit.Stamps{}
		}
		if cs == nil {
			cs = leadkit.Stamps{}
		}
		p.UpdateAt(it.obs.Person, it.ev.Time, ps)
		c.UpdateAt(it.obs.Company, it.ev.Time, cs)
		err := p.Validate()
		if err == nil {
			err = c.Validate()
		}
		if err != nil {
			s.errs = append(s.errs, &EventError{Index: it.index, ID: it.ev.ID, Err: fmt.Errorf("profile not updated: %w", err)})
			continue
		}
		st.Lead.Person, st.Lead.Company, st.PersonStamps, st.CompanyStamps = p, c, ps, cs
	}
}

// profile is a lead's profile as known at each time of a replay: the
// lead's profile as of the replay's first evaluation (leadkit's AsOf: the
// fields set later are dropped), then the updates of the stored events in
// time order, so each evaluation reads the profile as it stood then.
type profile struct {
	lead   leadkit.Lead
	ps, cs leadkit.Stamps
}

// profileAsOf is st's profile as known at t.
func profileAsOf(st *LeadState, t time.Time) *profile {
	p := &profile{lead: st.Lead}
	p.lead.Person, p.ps = st.Lead.Person.AsOf(st.PersonStamps, t)
	p.lead.Company, p.cs = st.Lead.Company.AsOf(st.CompanyStamps, t)
	return p
}

// observe applies a stored event's profile fields (Options.Observe, which
// must give the same observation for the same event every time). An
// update that would break a cap was refused when it came and is skipped.
func (p *profile) observe(ctx context.Context, e *Engine, ev *leadkit.Event) {
	obs, err := e.observation(ctx, *ev)
	if err != nil || emptyProfile(obs.Person, obs.Company) {
		return
	}
	per, com := p.lead.Person.Clone(), p.lead.Company.Clone()
	ps, cs := maps.Clone(p.ps), maps.Clone(p.cs)
	per.UpdateAt(obs.Person, ev.Time, ps)
	com.UpdateAt(obs.Company, ev.Time, cs)
	if per.Validate() != nil || com.Validate() != nil {
		return
	}
	p.lead.Person, p.lead.Company, p.ps, p.cs = per, com, ps, cs
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
