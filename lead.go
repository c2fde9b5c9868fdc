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
func (p *Person) Update(o Person) {
	for _, f := range []struct {
		dst *string
		v   string
	}{
		{&p.Email, o.Email}, {&p.FirstName, o.FirstName}, {&p.LastName, o.LastName}, {&p.Phone, o.Phone}, {&p.Title, o.Title},
		{&p.Seniority, o.Seniority}, {&p.Department, o.Department}, {&p.Country, o.Country}, {&p.Region, o.Region},
		{&p.City, o.City}, {&p.AgeBand, o.AgeBand},
	} {
		if f.v != "" {
			*f.dst = f.v
		}
	}
	p.Interests = union(p.Interests, o.Interests)
	p.Custom = setCustom(p.Custom, o.Custom)
}

// Update sets every field of c that o has, like [Person.Update]; a zero
// Employees or Revenue is not set.
func (c *Company) Update(o Company) {
	for _, f := range []struct {
		dst *string
		v   string
	}{
		{&c.Name, o.Name}, {&c.Domain, o.Domain}, {&c.Industry, o.Industry}, {&c.Country, o.Country},
	} {
		if f.v != "" {
			*f.dst = f.v
		}
	}
	if o.Employees != 0 {
		c.Employees = o.Employees
	}
	if o.Revenue != 0 {
		c.Revenue = o.Revenue
	}
	c.TechStack = union(c.TechStack, o.TechStack)
	c.Custom = setCustom(c.Custom, o.Custom)
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
// newer value winning) and returns the map, nil while both are empty.
func setCustom(have, more map[string]any) map[string]any {
	for k, v := range NormalizeAttrs(more) {
		if have == nil {
			have = map[string]any{}
		}
		have[k] = v
	}
	return have
}
