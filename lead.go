package leadkit

import (
	"fmt"
	"slices"
	"time"

	"github.com/leadkit/leadkit/internal/text"
)

// Lead is a known person that marketing and sales work: who they are (the
// [Person] profile) and where they work (the [Company]). It is the input of
// fit scoring; what a lead does is a list of [Event]s.
type Lead struct {
	// ID identifies the lead; events refer to it in Event.LeadID.
	ID string `json:"id"`
	// AccountID groups contacts of one company for account-based roll-ups.
	AccountID string `json:"account_id,omitempty"`
	// CreatedAt is when the lead was created (left the prospect pool).
	CreatedAt time.Time `json:"created_at,omitzero"`
	// Source is the lead source (e.g. "webinar", "list import").
	Source  string  `json:"source,omitempty"`
	Person  Person  `json:"person"`
	Company Company `json:"company"`
}

// Person is a lead's profile: the "who they are" half of fit scoring.
type Person struct {
	Email      string   `json:"email,omitempty"`
	FirstName  string   `json:"first_name,omitempty"`
	LastName   string   `json:"last_name,omitempty"`
	Phone      string   `json:"phone,omitempty"` // E.164 preferred, e.g. "+14155550123"
	Title      string   `json:"title,omitempty"`
	Seniority  string   `json:"seniority,omitempty"`  // e.g. "c_level", "vp", "director", "manager", "individual"
	Department string   `json:"department,omitempty"` // e.g. "marketing", "it"
	Country    string   `json:"country,omitempty"`    // ISO 3166-1 alpha-2 preferred
	Region     string   `json:"region,omitempty"`
	City       string   `json:"city,omitempty"`
	AgeBand    string   `json:"age_band,omitempty"` // e.g. "25-34"
	Interests  []string `json:"interests,omitempty"`
	// Custom holds tenant-defined fields; rules read them as person.<key>
	// (person.budget) once the model or funnel declares the field and its
	// type (see FieldSpec).
	Custom map[string]any `json:"custom,omitempty"`
}

// Company is the organisation a lead works for: the "where they work" half of
// fit scoring.
type Company struct {
	Name      string   `json:"name,omitempty"`
	Domain    string   `json:"domain,omitempty"`
	Industry  string   `json:"industry,omitempty"`
	Country   string   `json:"country,omitempty"`
	Employees int      `json:"employees,omitempty"`
	Revenue   float64  `json:"revenue,omitempty"` // annual revenue in the tenant's currency
	TechStack []string `json:"tech_stack,omitempty"`
	// Custom holds tenant-defined fields, like Person.Custom.
	Custom map[string]any `json:"custom,omitempty"`
}

// Validate reports a profile that no store should keep: a field over
// [MaxStringBytes] or not valid text, more than [MaxListItems] interests,
// custom fields that [Event.Validate] would refuse as attributes. The error
// wraps [ErrInvalid] and names the field.
func (p Person) Validate() error {
	for _, f := range []struct{ name, v string }{
		{"email", p.Email}, {"first_name", p.FirstName}, {"last_name", p.LastName}, {"phone", p.Phone}, {"title", p.Title},
		{"seniority", p.Seniority}, {"department", p.Department}, {"country", p.Country}, {"region", p.Region},
		{"city", p.City}, {"age_band", p.AgeBand},
	} {
		if msg := CheckText(f.v, MaxStringBytes); msg != "" {
			return fmt.Errorf("%w: person.%s %s", ErrInvalid, f.name, msg)
		}
	}
	return checkProfile("person", p.Interests, "interests", p.Custom)
}

// Validate reports a company profile that no store should keep, like
// [Person.Validate]; employees must not be negative and revenue must be a
// finite number.
func (c Company) Validate() error {
	for _, f := range []struct{ name, v string }{
		{"name", c.Name}, {"domain", c.Domain}, {"industry", c.Industry}, {"country", c.Country},
	} {
		if msg := CheckText(f.v, MaxStringBytes); msg != "" {
			return fmt.Errorf("%w: company.%s %s", ErrInvalid, f.name, msg)
		}
	}
	if c.Employees < 0 {
		return fmt.Errorf("%w: company.employees is negative (%d)", ErrInvalid, c.Employees)
	}
	if _, err := Number(c.Revenue); err != nil {
		return fmt.Errorf("company.revenue: %w", err)
	}
	return checkProfile("company", c.TechStack, "tech_stack", c.Custom)
}

func checkProfile(scope string, list []string, listName string, custom map[string]any) error {
	if len(list) > MaxListItems {
		return fmt.Errorf("%w: %s.%s has %d items, the limit is %d", ErrInvalid, scope, listName, len(list), MaxListItems)
	}
	for i, s := range list {
		if msg := CheckText(s, MaxStringBytes); msg != "" {
			return fmt.Errorf("%w: %s.%s item %d %s", ErrInvalid, scope, listName, i+1, msg)
		}
	}
	if len(custom) > MaxAttrs {
		return fmt.Errorf("%w: %s has %d custom fields, the limit is %d", ErrInvalid, scope, len(custom), MaxAttrs)
	}
	left := MaxEventBytes
	for k, v := range custom {
		if msg := CheckText(k, MaxNameBytes); k == "" || msg != "" {
			return fmt.Errorf("%w: %s custom field name %q %s", ErrInvalid, scope, text.Clip(k, 64), msg)
		}
		if msg := checkValue(v, 1, &left); msg != "" {
			return fmt.Errorf("%w: %s.%s: %s", ErrInvalid, scope, text.Clip(k, 64), msg)
		}
	}
	if left < 0 {
		return fmt.Errorf("%w: %s custom fields are over %d bytes", ErrInvalid, scope, MaxEventBytes)
	}
	return nil
}

// Clone returns a deep copy of p: its lists copied and its custom fields
// in the shapes a store gives back (see [NormalizeAttrs]), so that neither
// copy shares anything with the other.
func (p Person) Clone() Person {
	p.Interests = slices.Clone(p.Interests)
	p.Custom = NormalizeAttrs(p.Custom)
	return p
}

// Clone returns a deep copy of c, like [Person.Clone].
func (c Company) Clone() Company {
	c.TechStack = slices.Clone(c.TechStack)
	c.Custom = NormalizeAttrs(c.Custom)
	return c
}

// Validate checks a lead's profile against leadkit's caps, the same for
// every package and store: the person and the company (see
// [Person.Validate]), an account ID of at most MaxIDBytes and a source of
// at most MaxNameBytes, valid text. The ID and the creation time are the
// caller's to check. The error wraps ErrInvalid.
func (l Lead) Validate() error {
	if err := l.Person.Validate(); err != nil {
		return err
	}
	if err := l.Company.Validate(); err != nil {
		return err
	}
	for _, f := range []struct {
		what, v string
		max     int
	}{{"account ID", l.AccountID, MaxIDBytes}, {"source", l.Source, MaxNameBytes}} {
		if msg := CheckText(f.v, f.max); msg != "" {
			return fmt.Errorf("%w: lead %s %s", ErrInvalid, f.what, msg)
		}
	}
	return nil
}

// Clone returns a deep copy of l, like [Person.Clone].
func (l Lead) Clone() Lead {
	l.Person = l.Person.Clone()
	l.Company = l.Company.Clone()
	return l
}

// Update sets every field of p that o has: its non-empty text fields
// replace p's, its interests are added to p's, and its custom fields are
// written over p's (normalised, see [NormalizeAttrs]). Empty fields of o
// change nothing, so an update from a form that asked only for a title
// keeps the rest.
func (p *Person) Update(o Person) { p.UpdateAt(o, time.Time{}, nil) }

// Stamps records when each profile field was last set ("title",
// "custom.budget"), so that updates that arrive out of order end as if
// they had come in time order: see [Person.UpdateAt].
type Stamps map[string]time.Time

// MaxStamps caps a Stamps: the profile's fields and custom fields.
const MaxStamps = MaxAttrs + 16

// Validate checks stamps against the caps every store keeps: at most
// MaxStamps fields, names of profile fields ("title", "custom.<name>"),
// times in leadkit's range.
func (s Stamps) Validate() error {
	if len(s) > MaxStamps {
		return fmt.Errorf("%w: %d profile stamps, at most %d", ErrInvalid, len(s), MaxStamps)
	}
	for k, t := range s {
		if msg := CheckText(k, MaxNameBytes+len("custom.")); k == "" || msg != "" {
			return fmt.Errorf("%w: profile stamp %q %s", ErrInvalid, text.Clip(k, 64), msg)
		}
		if !ValidTime(t) {
			return fmt.Errorf("%w: profile stamp %q at a time outside %s", ErrInvalid, text.Clip(k, 64), TimeRange)
		}
	}
	return nil
}

// set reports whether a value of field from at may be written, and
// records at: stamps nil always writes.
func (s Stamps) set(field string, at time.Time) bool {
	if s == nil {
		return true
	}
	if prev, ok := s[field]; ok && at.Before(prev) {
		return false
	}
	s[field] = at
	return true
}

// UpdateAt is Update for a value observed at time at: a field is written
// only if at is not before the time it was last set (recorded in stamps,
// which UpdateAt keeps), so the latest observation of each field wins
// whatever order the updates come in; interests are added whatever their
// time. With nil stamps it is Update.
func (p *Person) UpdateAt(o Person, at time.Time, stamps Stamps) {
	src := o.fields()
	for i, f := range p.fields() {
		if v := *src[i].v; v != "" && stamps.set(f.name, at) {
			*f.v = v
		}
	}
	p.Interests = union(p.Interests, o.Interests)
	p.Custom = setCustom(p.Custom, o.Custom, at, stamps)
}

// field is a named text field of a profile.
type field struct {
	name string
	v    *string
}

// fields are p's text fields by stamp name.
func (p *Person) fields() [11]field {
	return [...]field{
		{"email", &p.Email}, {"first_name", &p.FirstName}, {"last_name", &p.LastName},
		{"phone", &p.Phone}, {"title", &p.Title}, {"seniority", &p.Seniority},
		{"department", &p.Department}, {"country", &p.Country}, {"region", &p.Region},
		{"city", &p.City}, {"age_band", &p.AgeBand},
	}
}

// AsOf returns the person as known at t by its stamps: a copy without
// the fields last set after t, with the stamps up to t. The values those
// fields had before are not kept; replay the updates up to t over the
// result (UpdateAt) to bring them back. Interests, which have no stamps,
// are kept.
func (p Person) AsOf(stamps Stamps, t time.Time) (Person, Stamps) {
	q, kept := p.Clone(), Stamps{}
	for _, f := range q.fields() {
		forget(stamps, kept, f.name, t, f.v)
	}
	q.Custom = forgetCustom(q.Custom, stamps, kept, t)
	return q, kept
}

// forget zeroes *v if the field was last set after t, else keeps its
// stamp in kept.
func forget(stamps, kept Stamps, name string, t time.Time, v *string) {
	if at, ok := stamps[name]; ok {
		if at.After(t) {
			*v = ""
		} else {
			kept[name] = at
		}
	}
}

// forgetCustom drops the custom fields set after t, keeping the stamps of
// the others in kept.
func forgetCustom(custom map[string]any, stamps, kept Stamps, t time.Time) map[string]any {
	for k := range custom {
		if at, ok := stamps["custom."+k]; ok {
			if at.After(t) {
				delete(custom, k)
			} else {
				kept["custom."+k] = at
			}
		}
	}
	if len(custom) == 0 {
		return nil
	}
	return custom
}

// Update sets every field of c that o has, like [Person.Update]; a zero
// Employees or Revenue is not set.
func (c *Company) Update(o Company) { c.UpdateAt(o, time.Time{}, nil) }

// UpdateAt is Update for a value observed at time at, like
// [Person.UpdateAt] (use separate stamps for a person and a company).
func (c *Company) UpdateAt(o Company, at time.Time, stamps Stamps) {
	src := o.fields()
	for i, f := range c.fields() {
		if v := *src[i].v; v != "" && stamps.set(f.name, at) {
			*f.v = v
		}
	}
	if o.Employees != 0 && stamps.set("employees", at) {
		c.Employees = o.Employees
	}
	if o.Revenue != 0 && stamps.set("revenue", at) {
		c.Revenue = o.Revenue
	}
	c.TechStack = union(c.TechStack, o.TechStack)
	c.Custom = setCustom(c.Custom, o.Custom, at, stamps)
}

// fields are c's text fields by stamp name.
func (c *Company) fields() [4]field {
	return [...]field{{"name", &c.Name}, {"domain", &c.Domain}, {"industry", &c.Industry}, {"country", &c.Country}}
}

// AsOf returns the company as known at t by its stamps, like
// [Person.AsOf]; the tech stack, which has no stamps, is kept.
func (c Company) AsOf(stamps Stamps, t time.Time) (Company, Stamps) {
	q, kept := c.Clone(), Stamps{}
	for _, f := range q.fields() {
		forget(stamps, kept, f.name, t, f.v)
	}
	if at, ok := stamps["employees"]; ok {
		if at.After(t) {
			q.Employees = 0
		} else {
			kept["employees"] = at
		}
	}
	if at, ok := stamps["revenue"]; ok {
		if at.After(t) {
			q.Revenue = 0
		} else {
			kept["revenue"] = at
		}
	}
	q.Custom = forgetCustom(q.Custom, stamps, kept, t)
	return q, kept
}

// union adds the items of b that a lacks, in order.
func union(a, b []string) []string {
	for _, x := range b {
		if !slices.Contains(a, x) {
			a = append(a, x)
		}
	}
	return a
}

// setCustom writes the custom fields of more over have (normalised, the
// newer value winning, see Stamps) and returns the map, nil while both
// are empty.
func setCustom(have, more map[string]any, at time.Time, stamps Stamps) map[string]any {
	for k, v := range NormalizeAttrs(more) {
		if !stamps.set("custom."+k, at) {
			continue
		}
		if have == nil {
			have = map[string]any{}
		}
		have[k] = v
	}
	return have
}
