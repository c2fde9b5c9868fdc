package leadkit

import "time"

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
