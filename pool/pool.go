package pool

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/text"
)

// Options configures a Pool. The zero value is a working default with an
// empty lead definition (every active prospect qualifies).
type Options struct {
	// Store keeps the prospects; nil means a new MemoryStore.
	Store Store
	// Policy is the lead definition (see [ParsePolicy]).
	Policy Policy
	// DefaultRegion is the ISO 3166 region phones without a country code
	// are read in ("US", "CN"); empty means phones must be international.
	DefaultRegion string
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// NewID makes prospect IDs; nil means 16 random hex characters.
	NewID func() string
	// LeadID names the lead a prospect graduates into; nil means the
	// prospect's Subject identity if it has one (so a subject keeps its ID
	// as a lead), else "L-" and the prospect's ID.
	LeadID func(Prospect) string
}

// Pool is the prospect pool bound to a Store. It is safe for concurrent
// use; concurrent changes to one prospect are serialised by the store's
// optimistic versions and retried.
type Pool struct {
	store  Store
	policy *compiledPolicy
	region string
	now    func() time.Time
	newID  func() string
	leadID func(Prospect) string
}

// New compiles the policy and returns a Pool. Errors wrap leadkit.ErrInvalid
// and name the condition and position.
func New(o Options) (*Pool, error) {
	if !ValidRegion(o.DefaultRegion) {
		return nil, fmt.Errorf("pool: %w: default region %q is not an ISO 3166 region with phone numbering", leadkit.ErrInvalid, clip(o.DefaultRegion))
	}
	pol, err := compilePolicy(o.Policy)
	if err != nil {
		return nil, err
	}
	p := &Pool{store: o.Store, policy: pol, region: strings.ToUpper(o.DefaultRegion), now: o.Now, newID: o.NewID, leadID: o.LeadID}
	if p.store == nil {
		p.store = NewMemoryStore()
	}
	if p.now == nil {
		p.now = time.Now
	}
	if p.newID == nil {
		p.newID = randomID
	}
	if p.leadID == nil {
		p.leadID = defaultLeadID
	}
	return p, nil
}

// defaultLeadID names a prospect's lead: its Subject identity if it has
// one, else "L-" and its ID; after a re-entry "-2", "-3"... is appended.
func defaultLeadID(pr Prospect) string {
	base := "L-" + pr.ID
	if s, ok := pr.First(Subject); ok && s.Invalid == "" {
		base = s.Value
	}
	if n := len(pr.PastLeads); n > 0 {
		return fmt.Sprintf("%s-%d", base, n+1) // a new lead after re-entry
	}
	return base
}

// WithStore returns a pool with the same policy and options over another
// store: a what-if pool. Fed a prospect's observations in time order (into
// a new MemoryStore) and qualified after each, it shows when the prospect
// would have graduated had they come in that order (see Backdate).
func (p *Pool) WithStore(s Store) *Pool {
	q := *p
	q.store = s
	return &q
}

// LeadID returns the ID the prospect would graduate into now, by
// Options.LeadID (or the default: its Subject identity, else "L-" and its
// ID). Engines that route events by subject check with it that a pool
// names leads the way they need.
func (p *Pool) LeadID(pr Prospect) string { return p.leadID(pr) }

func randomID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Store returns the pool's store.
func (p *Pool) Store() Store { return p.store }

// Observation is one sighting of a prospect: a form fill, a follow, a
// webinar view, a list import row. Empty fields add nothing.
type Observation struct {
	// ID makes Upsert idempotent: replaying an observation changes nothing.
	// Required, at most leadkit.MaxIDBytes.
	ID string `json:"id"`
	// At is when it happened; zero means now.
	At time.Time `json:"at,omitzero"`
	// Identities as seen (raw values; Upsert normalises them). At least
	// one valid identity is needed to find or create a prospect.
	Identities []Identity `json:"identities"`
	// Person and Company fields that are set overwrite the prospect's.
	Person  leadkit.Person  `json:"person"`
	Company leadkit.Company `json:"company"`
	// Source is kept from the first observation that has one.
	Source Source   `json:"source"`
	Tags   []string `json:"tags,omitempty"`
	// Touch marks an activity (a visit, a download, a view): it counts
	// towards touches and the last activity time.
	Touch bool `json:"touch,omitempty"`
	// Consent, when set, replaces the prospect's consent; opting out moves
	// the prospect to StatusOptedOut for good.
	Consent *Consent `json:"consent,omitempty"`
	// Score, when set, replaces the prospect's interest score.
	Score *float64 `json:"score,omitempty"`
}

// UpsertResult tells what an Upsert did.
type UpsertResult struct {
	// Created is true when the observation made a new prospect.
	Created bool `json:"created,omitempty"`
	// Merged lists the prospects absorbed into the returned one because
	// the observation carried identities of several.
	Merged []string `json:"merged,omitempty"`
	// Replayed is true when the observation was applied before: nothing
	// changed.
	Replayed bool `json:"replayed,omitempty"`
}

// maxRetries bounds the optimistic retries of one change.
const maxRetries = 32

// Upsert applies an observation: it finds the prospect by any of the
// observation's identities (normalised), creates one if none matches,
// merges prospects when the observation shows they are one person (into
// the older; see [Pool.Upsert] merge rules below), and records the new
// data. Replaying an observation (same ID) changes nothing.
//
// Merge rules: the survivor is a graduated prospect if there is one (its
// lead stays), else the earliest joined (then the smallest ID). It keeps
// its own person and company fields and takes the absorbed ones' values
// only where its own are empty; identities, tags and touches are united;
// the most restrictive consent wins (an opt-out anywhere opts the survivor
// out); the absorbed prospects keep their data with StatusMerged and
// MergedInto set. Prospects that cannot be one person (two different CRM
// IDs of the same system, two graduated leads) are not merged: the
// observation is refused with an error wrapping leadkit.ErrInvalid that
// names them, and nothing changes.
func (p *Pool) Upsert(ctx context.Context, obs Observation) (Prospect, UpsertResult, error) {
	at, ids, err := p.checkObservation(obs)
	if err != nil {
		return Prospect{}, UpsertResult{}, err
	}
	mark := Mark{ID: obs.ID, Hash: fingerprint(obs)}
	var keys []string
	for _, id := range ids {
		if k, ok := id.Key(); ok {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return Prospect{}, UpsertResult{}, fmt.Errorf("pool: observation %q: %w: no valid identity to find or create a prospect by", clip(obs.ID), leadkit.ErrInvalid)
	}
	for range maxRetries {
		found, err := p.store.Find(ctx, keys)
		if err != nil {
			return Prospect{}, UpsertResult{}, err
		}
		var res UpsertResult
		var surv Prospect
		var absorbed []Prospect
		switch len(found) {
		case 0:
			res.Created = true
			surv = Prospect{ID: p.newID(), Status: StatusActive, JoinedAt: at}
		default:
			surv, absorbed, err = chooseSurvivor(found)
			if err != nil {
				return Prospect{}, UpsertResult{}, fmt.Errorf("pool: observation %q: %w", clip(obs.ID), err)
			}
			for _, a := range absorbed {
				mergeInto(&surv, a, at)
				res.Merged = append(res.Merged, a.ID)
			}
		}
		observe(&surv, obs, ids, at)
		if err := checkProspect(&surv); err != nil {
			return Prospect{}, UpsertResult{}, fmt.Errorf("pool: observation %q: %w", clip(obs.ID), err)
		}
		surv.Version++
		writes := []Prospect{surv}
		for _, a := range absorbed {
			a.Status, a.MergedInto, a.LeftAt, a.LeftAs = StatusMerged, surv.ID, laterOf(at, a.JoinedAt), StatusMerged
			a.Version++
			writes = append(writes, a)
		}
		err = p.store.Apply(ctx, mark, writes...)
		switch {
		case err == nil:
			return surv, res, nil
		case errors.Is(err, ErrSeen):
			cur, err := p.store.Find(ctx, keys)
			if err != nil {
				return Prospect{}, UpsertResult{Replayed: true}, err
			}
			if len(cur) == 0 {
				return Prospect{}, UpsertResult{Replayed: true}, fmt.Errorf("pool: observation %q: %w: applied before, and its prospect was erased or merged away", clip(obs.ID), leadkit.ErrNotFound)
			}
			return cur[0], UpsertResult{Replayed: true}, nil
		case errors.Is(err, leadkit.ErrConflict):
			continue // another writer moved first: read again
		default:
			return Prospect{}, UpsertResult{}, err
		}
	}
	return Prospect{}, UpsertResult{}, fmt.Errorf("pool: observation %q: %w: still conflicting after %d attempts", clip(obs.ID), leadkit.ErrConflict, maxRetries)
}

// checkObservation validates an observation and normalises its identities.
func (p *Pool) checkObservation(obs Observation) (time.Time, []Identity, error) {
	bad := func(format string, args ...any) (time.Time, []Identity, error) {
		return time.Time{}, nil, fmt.Errorf("pool: observation %q: %w: %s", clip(obs.ID), leadkit.ErrInvalid, fmt.Sprintf(format, args...))
	}
	if err := leadkit.ValidateID("observation ID", obs.ID); err != nil {
		return time.Time{}, nil, fmt.Errorf("pool: %w", err)
	}
	at := obs.At.UTC()
	if obs.At.IsZero() {
		at = p.now().UTC()
	}
	if !leadkit.ValidTime(at) {
		return bad("time outside %s", leadkit.TimeRange)
	}
	if len(obs.Identities) > MaxIdentities {
		return bad("%d identities, the limit is %d", len(obs.Identities), MaxIdentities)
	}
	if len(obs.Tags) > MaxTags {
		return bad("%d tags, the limit is %d", len(obs.Tags), MaxTags)
	}
	for _, t := range obs.Tags {
		if msg := leadkit.CheckText(t, leadkit.MaxNameBytes); msg != "" {
			return bad("tag %s", msg)
		}
	}
	for name, v := range map[string]string{"source channel": obs.Source.Channel, "source campaign": obs.Source.Campaign} {
		if msg := leadkit.CheckText(v, leadkit.MaxNameBytes); msg != "" {
			return bad("%s %s", name, msg)
		}
	}
	if err := obs.Person.Validate(); err != nil {
		return time.Time{}, nil, fmt.Errorf("pool: observation %q: %w", clip(obs.ID), err)
	}
	if err := obs.Company.Validate(); err != nil {
		return time.Time{}, nil, fmt.Errorf("pool: observation %q: %w", clip(obs.ID), err)
	}
	if obs.Score != nil {
		if _, err := leadkit.Number(*obs.Score); err != nil {
			return bad("score: %v", err)
		}
	}
	ids := make([]Identity, 0, len(obs.Identities))
	for _, id := range obs.Identities {
		if !id.Kind.Valid() {
			return bad("identity kind %q: want email, phone, social, device, crm or subject", clip(string(id.Kind)))
		}
		n := Normalize(id.Kind, id.Value, p.region)
		if n.Invalid != "" {
			// Kept for the record, never matched: as valid text within the
			// ID cap, so every store can keep it.
			n.Value = text.Clip(strings.ReplaceAll(strings.ToValidUTF8(n.Value, "\uFFFD"), "\x00", ""), leadkit.MaxIDBytes-len("..."))
		}
		ids = append(ids, n)
	}
	if c := obs.Consent; c != nil {
		if msg := leadkit.CheckText(c.How, leadkit.MaxNameBytes); msg != "" {
			return bad("consent how %s", msg)
		}
		if !c.At.IsZero() && !leadkit.ValidTime(c.At) {
			return bad("consent time outside %s", leadkit.TimeRange)
		}
	}
	return at, ids, nil
}

// chooseSurvivor picks the prospect that absorbs the others and refuses
// merges that cannot be right.
func chooseSurvivor(found []Prospect) (Prospect, []Prospect, error) {
	slices.SortFunc(found, func(a, b Prospect) int {
		if ga, gb := a.Status == StatusGraduated, b.Status == StatusGraduated; ga != gb {
			if ga {
				return -1
			}
			return 1
		}
		if c := a.JoinedAt.Compare(b.JoinedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	surv := found[0]
	for _, other := range found[1:] {
		if surv.Status == StatusGraduated && other.Status == StatusGraduated {
			return Prospect{}, nil, fmt.Errorf("%w: prospects %q and %q are both graduated (leads %q and %q): not merged", leadkit.ErrInvalid, clip(surv.ID), clip(other.ID), clip(surv.LeadID), clip(other.LeadID))
		}
	}
	return surv, found[1:], nil
}

// checkProspect refuses a prospect an observation or a merge would make
// but that cannot be right or kept: two CRM IDs of one system (two
// records in the CRM are two people until someone merges them there), two
// subject IDs (two leads to be), or
// more identities, tags or custom fields than the caps (dropping some
// would leave an identity held by nobody).
func checkProspect(p *Prospect) error {
	crm := map[string]string{}
	subject := ""
	for _, id := range p.Identities {
		if id.Kind == Subject && id.Invalid == "" {
			if subject != "" && subject != id.Value {
				return fmt.Errorf("%w: different subject IDs (%s, %s): not merged", leadkit.ErrInvalid, clip(subject), clip(id.Value))
			}
			subject = id.Value
		}
		if id.Kind != CRM || id.Invalid != "" {
			continue
		}
		sys, _, _ := strings.Cut(id.Value, ":")
		if other, ok := crm[sys]; ok && other != id.Value {
			return fmt.Errorf("%w: different CRM IDs of one system (%s, %s): not merged", leadkit.ErrInvalid, clip(other), clip(id.Value))
		}
		crm[sys] = id.Value
	}
	if len(p.Identities) > MaxIdentities {
		return fmt.Errorf("%w: the prospect would have %d identities, the limit is %d", leadkit.ErrInvalid, len(p.Identities), MaxIdentities)
	}
	if len(p.Tags) > MaxTags {
		return fmt.Errorf("%w: the prospect would have %d tags, the limit is %d", leadkit.ErrInvalid, len(p.Tags), MaxTags)
	}
	if err := p.Person.Validate(); err != nil {
		return fmt.Errorf("the prospect would be: %w", err)
	}
	if err := p.Company.Validate(); err != nil {
		return fmt.Errorf("the prospect would be: %w", err)
	}
	return nil
}

// fingerprint is a hash of an observation's content, recorded with its ID.
func fingerprint(obs Observation) string {
	// Canonical form: the same observation read back from another store or
	// transport (times in another zone, custom values of another Go type)
	// is the same content.
	if !obs.At.IsZero() {
		obs.At = obs.At.UTC()
	}
	if obs.Consent != nil {
		c := *obs.Consent
		if !c.At.IsZero() {
			c.At = c.At.UTC()
		}
		obs.Consent = &c
	}
	obs.Person.Custom = leadkit.NormalizeAttrs(obs.Person.Custom)
	obs.Company.Custom = leadkit.NormalizeAttrs(obs.Company.Custom)
	b, _ := json.Marshal(obs)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

func laterOf(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// mergeInto folds absorbed into surv by the merge rules of Upsert.
func mergeInto(surv *Prospect, a Prospect, at time.Time) {
	surv.Identities = addIdentities(surv.Identities, a.Identities)
	fillPerson(&surv.Person, a.Person)
	fillCompany(&surv.Company, a.Company)
	surv.PersonStamps = mergeStamps(surv.PersonStamps, a.PersonStamps)
	surv.CompanyStamps = mergeStamps(surv.CompanyStamps, a.CompanyStamps)
	surv.Tags = union(surv.Tags, a.Tags)
	surv.Touches = mergeTouches(surv.Touches, a.Touches)
	if a.LastActivityAt.After(surv.LastActivityAt) {
		surv.LastActivityAt = a.LastActivityAt
	}
	if surv.Source == (Source{}) {
		surv.Source = a.Source
	}
	if a.OptedOut() && !surv.Consent.OptedOut {
		surv.Consent = a.Consent
		surv.Consent.OptedOut, surv.Consent.OptedIn = true, false
	}
	if surv.Consent.OptedOut && surv.Status == StatusActive {
		surv.Status, surv.LeftAt, surv.LeftAs = StatusOptedOut, laterOf(at, surv.JoinedAt), StatusOptedOut
	}
	surv.Score = max(surv.Score, a.Score)
	surv.Absorbed = append(surv.Absorbed, a.ID)
}

// observe records an observation's data on the prospect.
func observe(pr *Prospect, obs Observation, ids []Identity, at time.Time) {
	pr.Identities = addIdentities(pr.Identities, ids)
	if pr.PersonStamps == nil {
		pr.PersonStamps = leadkit.Stamps{}
	}
	if pr.CompanyStamps == nil {
		pr.CompanyStamps = leadkit.Stamps{}
	}
	pr.Person.UpdateAt(obs.Person, at, pr.PersonStamps)
	pr.Company.UpdateAt(obs.Company, at, pr.CompanyStamps)
	if len(pr.PersonStamps) == 0 {
		pr.PersonStamps = nil
	}
	if len(pr.CompanyStamps) == 0 {
		pr.CompanyStamps = nil
	}
	pr.Tags = union(pr.Tags, obs.Tags)
	if obs.Source != (Source{}) && (pr.Source == (Source{}) || at.Before(pr.JoinedAt)) {
		pr.Source = obs.Source // the earliest observation's, whatever the order they come in
	}
	if obs.Touch {
		pr.Touches = mergeTouches(pr.Touches, []time.Time{at})
		if at.After(pr.LastActivityAt) {
			pr.LastActivityAt = at
		}
	}
	if obs.Consent != nil {
		c := *obs.Consent
		if c.At.IsZero() {
			c.At = at
		}
		c.At = c.At.UTC()
		if pr.OptedOut() {
			c.OptedOut, c.OptedIn = true, false // an opt-out is for good
		}
		pr.Consent = c
		if c.OptedOut && pr.Status == StatusActive {
			pr.Status, pr.LeftAt, pr.LeftAs = StatusOptedOut, at, StatusOptedOut
		}
	}
	if obs.Score != nil {
		pr.Score = *obs.Score
	}
	if pr.JoinedAt.IsZero() || at.Before(pr.JoinedAt) {
		pr.JoinedAt = at
	}
}

// addIdentities adds the identities of more that have is missing (by
// kind and value), up to MaxIdentities.
func addIdentities(have, more []Identity) []Identity {
	for _, id := range more {
		if !slices.ContainsFunc(have, func(x Identity) bool { return x.Kind == id.Kind && x.Value == id.Value }) {
			have = append(have, id)
		}
	}
	return have
}

func union(a, b []string) []string {
	for _, x := range b {
		if !slices.Contains(a, x) {
			a = append(a, x)
		}
	}
	return a
}

// mergeTouches merges sorted touch times, keeping the latest MaxTouches.
func mergeTouches(a, b []time.Time) []time.Time {
	out := append(slices.Clone(a), b...)
	slices.SortFunc(out, func(x, y time.Time) int { return x.Compare(y) })
	if len(out) > MaxTouches {
		out = out[len(out)-MaxTouches:]
	}
	return out
}

// mergeStamps adds the stamps of b that a lacks (the survivor's fields
// keep their own times; those it takes from the absorbed one, theirs).
func mergeStamps(a, b leadkit.Stamps) leadkit.Stamps {
	for k, t := range b {
		if _, ok := a[k]; !ok {
			if a == nil {
				a = leadkit.Stamps{}
			}
			a[k] = t
		}
	}
	return a
}

// fillPerson sets p's empty fields from o (the survivor's own values win).
func fillPerson(p *leadkit.Person, o leadkit.Person) {
	keep := p.Clone()
	*p = o.Clone()
	p.Update(keep)
}

func fillCompany(c *leadkit.Company, o leadkit.Company) {
	keep := c.Clone()
	*c = o.Clone()
	c.Update(keep)
}

func clip(s string) string { return text.Clip(s, 64) }
