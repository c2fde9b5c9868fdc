package pool

import (
	"maps"
	"slices"
	"time"

	"github.com/leadkit/leadkit"
)

// Status is where a prospect stands in the pool.
type Status string

// Prospect statuses.
const (
	// StatusActive is a prospect in the pool: it can be nurtured, segmented
	// and qualified.
	StatusActive Status = "active"
	// StatusGraduated is a prospect that met the lead definition and became
	// a lead (see [Graduation]).
	StatusGraduated Status = "graduated"
	// StatusMerged is a prospect absorbed into another (MergedInto) when an
	// observation showed both were one person.
	StatusMerged Status = "merged"
	// StatusOptedOut is a prospect that withdrew consent: never selected
	// for nurture and never graduated.
	StatusOptedOut Status = "opted_out"
	// StatusErased is a prospect whose personal data was erased on request:
	// only anonymous facts remain (source, times, status), for metrics.
	StatusErased Status = "erased"
)

// Valid reports whether s is one of the statuses above.
func (s Status) Valid() bool {
	switch s {
	case StatusActive, StatusGraduated, StatusMerged, StatusOptedOut, StatusErased:
		return true
	}
	return false
}

// Indexed reports whether a prospect of status s holds its identities in
// the store's index: merged and erased prospects release theirs (an
// identity of an erased prospect seen again is a new prospect).
func (s Status) Indexed() bool { return s != StatusMerged && s != StatusErased }

// Source is where a prospect entered the pool.
type Source struct {
	Channel  string `json:"channel,omitempty"`
	Campaign string `json:"campaign,omitempty"`
}

// Consent is a prospect's latest consent decision.
type Consent struct {
	// OptedIn and OptedOut record the decision; OptedOut wins.
	OptedIn  bool `json:"opted_in,omitempty"`
	OptedOut bool `json:"opted_out,omitempty"`
	// At is when it was given and How through what (a form, an email
	// link, a call).
	At  time.Time `json:"at,omitzero"`
	How string    `json:"how,omitempty"`
}

// MaxTouches caps the recent touch times a prospect keeps (for
// "touches in the last N days" conditions); older ones are dropped first.
const MaxTouches = 256

// MaxIdentities caps the identities of one prospect, and MaxTags its tags.
const (
	MaxIdentities = 64
	MaxTags       = 256
	// MaxPastLeads caps how often a prospect can graduate and re-enter,
	// and MaxAbsorbed how many prospects can be merged into one.
	MaxPastLeads = 100
	MaxAbsorbed  = 1000
)

// Prospect is someone in the pool: known identities, what is known of the
// person and the company (partial), where they came from, consent, activity
// and status. It is plain data (JSON) owned by the [Store]; change it with
// [Pool.Upsert], [Pool.Qualify] and the other Pool methods.
type Prospect struct {
	ID string `json:"id"`
	// Identities are every way the prospect was seen, normalised; invalid
	// ones are kept (flagged) but never matched.
	Identities []Identity      `json:"identities"`
	Person     leadkit.Person  `json:"person"`
	Company    leadkit.Company `json:"company"`
	// PersonStamps and CompanyStamps record when each profile field was
	// last set, so the latest observation of a field wins whatever order
	// observations come in (see leadkit.Person.UpdateAt).
	PersonStamps  leadkit.Stamps `json:"person_stamps,omitempty"`
	CompanyStamps leadkit.Stamps `json:"company_stamps,omitempty"`
	Source        Source         `json:"source"`
	Tags          []string       `json:"tags,omitempty"`
	Consent       Consent        `json:"consent"`
	// Score is an interest score the caller supplies (for example from a
	// scoring model), readable by the lead definition as prospect.score.
	Score float64 `json:"score,omitempty"`
	// JoinedAt is the first observation, LastActivityAt the latest touch.
	JoinedAt       time.Time `json:"joined_at,omitzero"`
	LastActivityAt time.Time `json:"last_activity_at,omitzero"`
	// Touches are the times of recent touches, ascending, at most
	// MaxTouches.
	Touches []time.Time `json:"touches,omitempty"`
	Status  Status      `json:"status"`
	// MergedInto is the surviving prospect of a merge (Status merged);
	// Absorbed lists the prospects merged into this one.
	MergedInto string   `json:"merged_into,omitempty"`
	Absorbed   []string `json:"absorbed,omitempty"`
	// LeadID and GraduatedAt are set when the prospect graduated.
	LeadID      string    `json:"lead_id,omitempty"`
	GraduatedAt time.Time `json:"graduated_at,omitzero"`
	// LeftAt is when the prospect left the pool (graduated, merged, opted
	// out or erased); zero while it is active. PastLeads are the leads it
	// graduated into before re-entering the pool (see [Pool.Reenter]).
	LeftAt    time.Time `json:"left_at,omitzero"`
	PastLeads []string  `json:"past_leads,omitempty"`
	// LeftAs is why it left (the status it left with), kept through an
	// erasure so metrics still count an opt-out or a merge as such.
	LeftAs Status `json:"left_as,omitempty"`
	// ReenteredAt is when it last re-entered the pool; it cannot graduate
	// again before then.
	ReenteredAt time.Time `json:"reentered_at,omitzero"`
	// Version is the optimistic version: 1 when created, +1 per change.
	Version int64 `json:"version"`
}

// Clone returns a deep copy of p.
func (p Prospect) Clone() Prospect {
	c := p
	c.Identities = slices.Clone(p.Identities)
	c.Tags = slices.Clone(p.Tags)
	c.Touches = slices.Clone(p.Touches)
	c.Absorbed = slices.Clone(p.Absorbed)
	c.PastLeads = slices.Clone(p.PastLeads)
	c.Person = p.Person.Clone()
	c.Company = p.Company.Clone()
	c.PersonStamps = maps.Clone(p.PersonStamps)
	c.CompanyStamps = maps.Clone(p.CompanyStamps)
	return c
}

// Keys returns the resolution keys of p's valid identities.
func (p Prospect) Keys() []string {
	var out []string
	for _, id := range p.Identities {
		if k, ok := id.Key(); ok {
			out = append(out, k)
		}
	}
	return out
}

// Has reports whether p has a valid identity of the kind.
func (p Prospect) Has(kind IdentityKind) bool {
	for _, id := range p.Identities {
		if id.Kind == kind && id.Invalid == "" {
			return true
		}
	}
	return false
}

// First returns p's first valid identity of the kind.
func (p Prospect) First(kind IdentityKind) (Identity, bool) {
	for _, id := range p.Identities {
		if id.Kind == kind && id.Invalid == "" {
			return id, true
		}
	}
	return Identity{}, false
}

// TouchesSince counts p's touches at or after t.
func (p Prospect) TouchesSince(t time.Time) int {
	i, _ := slices.BinarySearchFunc(p.Touches, t, func(a, b time.Time) int { return a.Compare(b) })
	return len(p.Touches) - i
}

// TouchesBetween counts p's touches in [from, to].
func (p Prospect) TouchesBetween(from, to time.Time) int {
	cmp := func(a, b time.Time) int { return a.Compare(b) }
	i, _ := slices.BinarySearchFunc(p.Touches, from, cmp)
	j, found := slices.BinarySearchFunc(p.Touches, to, cmp)
	for found && j < len(p.Touches) && p.Touches[j].Equal(to) {
		j++
	}
	return max(j-i, 0)
}

// LastActivity returns p's latest touch at or before asOf, or its joining
// time when it has none; false when it had not joined by asOf.
func (p Prospect) LastActivity(asOf time.Time) (time.Time, bool) {
	for i := len(p.Touches) - 1; i >= 0; i-- {
		if !p.Touches[i].After(asOf) {
			return p.Touches[i], true
		}
	}
	if p.JoinedAt.IsZero() || p.JoinedAt.After(asOf) {
		return time.Time{}, false
	}
	return p.JoinedAt, true
}

// OptedOut reports whether p withdrew consent (its status, or its consent
// record): such a prospect is never selected for nurture and never
// graduates.
func (p Prospect) OptedOut() bool { return p.Status == StatusOptedOut || p.Consent.OptedOut }

// Lead returns the leadkit.Lead a graduated prospect becomes (or would
// become): its lead ID, person, company, creation time and source channel.
func (p Prospect) Lead(leadID string, at time.Time) leadkit.Lead {
	return leadkit.Lead{ID: leadID, CreatedAt: at, Source: p.Source.Channel, Person: p.Person.Clone(), Company: p.Company.Clone()}
}
