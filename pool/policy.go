package pool

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/lang"
	"github.com/leadkit/leadkit/internal/spec"
)

// Policy is the lead definition: the named conditions a prospect must all
// meet to graduate, written in leadkit's one expression language. Besides
// person.*, company.* and lead.* (the prospect as a lead: lead.id is the
// prospect ID, lead.created_at its join time, lead.source its channel), a
// condition reads:
//
//	prospect.tags            strings  the prospect's tags
//	prospect.channel         string   source channel
//	prospect.campaign        string   source campaign
//	prospect.score           number   the interest score given to the pool
//	prospect.has_email       bool     a valid email identity
//	prospect.has_phone       bool     a valid phone identity
//	prospect.business_email  bool     an email whose domain is not free mail
//	prospect.email_domain    string   the first valid email's domain
//	prospect.opted_in        bool     consent given
//	prospect.touches_7d, prospect.touches_30d, prospect.touches_90d
//	                         number   touches in the 7, 30, 90 days up to the as-of time
//	prospect.days_inactive   number   days from the last touch (or joining) to the as-of time
//
// For example:
//
//	conditions:
//	  - {name: company, when: 'company.name != ""'}
//	  - {name: reachable, when: 'prospect.has_email || prospect.has_phone'}
//	  - {name: business email, when: 'prospect.business_email'}
//	  - {name: engaged, when: 'prospect.touches_90d >= 3 || prospect.score >= 50'}
//	free_mail_domains: [example-mail.com]
type Policy struct {
	Conditions []Condition `json:"conditions"`
	// Segments are named conditions over prospects in the same language,
	// to target nurture content (see [Pool.Segment]); they do not gate
	// graduation.
	Segments []Condition `json:"segments,omitempty"`
	// Fields declares custom person.* and company.* fields (see
	// leadkit.FieldSpec).
	Fields []leadkit.FieldSpec `json:"fields,omitempty"`
	// FreeMailDomains extends [FreeMailDomains] for prospect.business_email.
	FreeMailDomains []string `json:"free_mail_domains,omitempty"`
}

// Condition is one named condition of a Policy.
type Condition struct {
	Name string `json:"name"`
	When string `json:"when"`
}

// Caps on a policy.
const (
	MaxConditions      = 100
	MaxFreeMailDomains = 10000
)

// ParsePolicy reads a Policy from JSON or YAML, refusing unknown, miscased
// and duplicate keys. It does not compile the conditions: New does.
func ParsePolicy(data []byte) (Policy, error) {
	var p Policy
	if err := spec.Parse(data, &p); err != nil {
		return Policy{}, fmt.Errorf("pool: policy: %w", err)
	}
	return p, nil
}

// ConditionError reports a condition that does not compile. It wraps
// leadkit.ErrInvalid; Line and Column locate the problem in When.
type ConditionError struct {
	Condition string
	// Segment is true for a segment's condition.
	Segment      bool
	Line, Column int
	Msg          string
}

// Error formats the problem as `pool: policy: condition "name": line L,
// column C: message`.
func (e *ConditionError) Error() string {
	var b strings.Builder
	what := "condition"
	if e.Segment {
		what = "segment"
	}
	fmt.Fprintf(&b, "pool: policy: %s %q: ", what, clip(e.Condition))
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d, column %d: ", e.Line, e.Column)
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap returns leadkit.ErrInvalid.
func (e *ConditionError) Unwrap() error { return leadkit.ErrInvalid }

type compiledPolicy struct {
	names []string
	whens []string
	progs []*lang.Program
	free  map[string]bool
	lim   lang.Limits
	// segments, by name
	segments map[string]*lang.Program
	segNames []string
}

// pctx is what prospect fields read.
type pctx struct {
	p    *Prospect
	free map[string]bool
}

func pr(c *lang.Ctx) *pctx { return c.Ext.(*pctx) }

func prospectFields() []lang.Field {
	days := func(name string, d int) lang.Field {
		f := lang.NumField("prospect", name, func(c *lang.Ctx) float64 {
			return float64(pr(c).p.TouchesBetween(c.AsOf.AddDate(0, 0, -d), c.AsOf))
		})
		f.AsOf = true
		return f
	}
	inactive := lang.NumField("prospect", "days_inactive", func(c *lang.Ctx) float64 {
		last, ok := pr(c).p.LastActivity(c.AsOf)
		if !ok {
			return 0
		}
		return c.AsOf.Sub(last).Hours() / 24
	})
	inactive.AsOf = true
	boolF := func(name string, f func(*pctx) bool) lang.Field {
		return lang.Field{Scope: "prospect", Name: name, Get: lang.Node{Kind: lang.Bool, B: func(c *lang.Ctx) bool { return f(pr(c)) }}}
	}
	email := func(x *pctx) string {
		if id, ok := x.p.First(Email); ok {
			return id.Value
		}
		return ""
	}
	return []lang.Field{
		lang.ListField("prospect", "tags", func(c *lang.Ctx) []string { return pr(c).p.Tags }),
		lang.StrField("prospect", "channel", func(c *lang.Ctx) string { return pr(c).p.Source.Channel }),
		lang.StrField("prospect", "campaign", func(c *lang.Ctx) string { return pr(c).p.Source.Campaign }),
		lang.NumField("prospect", "score", func(c *lang.Ctx) float64 { return pr(c).p.Score }),
		boolF("has_email", func(x *pctx) bool { return x.p.Has(Email) }),
		boolF("has_phone", func(x *pctx) bool { return x.p.Has(Phone) }),
		boolF("business_email", func(x *pctx) bool {
			e := email(x)
			return e != "" && !x.free[strings.TrimSuffix(EmailDomain(e), ".")] && !IsFreeMail(e, nil)
		}),
		lang.StrField("prospect", "email_domain", func(c *lang.Ctx) string { return EmailDomain(email(pr(c))) }),
		boolF("opted_in", func(x *pctx) bool { return x.p.Consent.OptedIn && !x.p.Consent.OptedOut }),
		days("touches_7d", 7), days("touches_30d", 30), days("touches_90d", 90),
		inactive,
	}
}

const declareHint = `declare it in the policy's fields: {"name": "{name}", "type": "{type}"}`

func compilePolicy(p Policy) (*compiledPolicy, error) {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("pool: policy: %w: %s", leadkit.ErrInvalid, fmt.Sprintf(format, args...)))
	}
	if len(p.Conditions) > MaxConditions || len(p.Segments) > MaxConditions {
		bad("%d conditions and %d segments, the limit is %d of each", len(p.Conditions), len(p.Segments), MaxConditions)
		return nil, errors.Join(errs...)
	}
	if len(p.FreeMailDomains) > MaxFreeMailDomains {
		bad("%d free mail domains, the limit is %d", len(p.FreeMailDomains), MaxFreeMailDomains)
	}
	cp := &compiledPolicy{free: map[string]bool{}, lim: lang.Limits{}.WithDefaults()}
	for _, d := range p.FreeMailDomains {
		if msg := leadkit.CheckText(d, leadkit.MaxNameBytes); msg != "" || d == "" {
			bad("free mail domain %q %s", clip(d), msg)
			continue
		}
		cp.free[NormalizeDomain(d)] = true
	}
	builtin := append(lang.LeadFields(), prospectFields()...)
	declared, problems := lang.DeclaredFields(p.Fields, builtin, "person", "company")
	for _, pr := range problems {
		bad("fields: %s", pr)
	}
	sch := lang.NewSchema(append(builtin, declared...), lang.SchemaOptions{Declare: declareHint, DeclareScopes: []string{"person", "company"}})
	var budget lang.Budget
	compile := func(what string, list []Condition, add func(name, when string, prog *lang.Program)) {
		seen := map[string]bool{}
		for i, c := range list {
			name := c.Name
			switch {
			case name == "":
				bad("%s %d: empty name", what, i+1)
				continue
			case leadkit.CheckText(name, leadkit.MaxNameBytes) != "":
				bad("%s %d: name %s", what, i+1, leadkit.CheckText(name, leadkit.MaxNameBytes))
				continue
			case seen[name]:
				bad("%s %q defined twice", what, clip(name))
				continue
			}
			seen[name] = true
			if budget.Exceeded() {
				continue
			}
			prog, err := lang.Compile(c.When, sch, lang.Config{Want: lang.Bool, Limits: cp.lim, CostName: "the condition cost limit", Budget: &budget})
			if err != nil {
				errs = append(errs, &ConditionError{Condition: name, Segment: what == "segment", Line: err.Line, Column: err.Column, Msg: err.Message})
				continue
			}
			add(name, c.When, prog)
		}
	}
	compile("condition", p.Conditions, func(name, when string, prog *lang.Program) {
		cp.names = append(cp.names, name)
		cp.whens = append(cp.whens, when)
		cp.progs = append(cp.progs, prog)
	})
	cp.segments = map[string]*lang.Program{}
	compile("segment", p.Segments, func(name, _ string, prog *lang.Program) {
		cp.segments[name] = prog
		cp.segNames = append(cp.segNames, name)
	})
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return cp, nil
}

// Check is one condition's verdict on a prospect.
type Check struct {
	Condition string `json:"condition"`
	When      string `json:"when"`
	Holds     bool   `json:"holds"`
	// Values are the fields the condition read, with the values it saw.
	Values map[string]any `json:"values,omitempty"`
	// Error is why the condition could not be evaluated (it then does not
	// hold).
	Error string `json:"error,omitempty"`
}

// state returns a pooled evaluation state reading p at asOf (the prospect as
// a lead: its ID, join time, source channel, person and company, read in
// place, not copied); Put it back when done.
func (cp *compiledPolicy) state(p *Prospect, asOf time.Time) *evalState {
	st := evalPool.Get().(*evalState)
	if st.r == nil {
		st.r = lang.NewRunner(cp.lim)
	}
	st.lead = leadkit.Lead{ID: p.ID, CreatedAt: p.JoinedAt, Source: p.Source.Channel, Person: p.Person, Company: p.Company}
	st.x = pctx{p: p, free: cp.free}
	st.c = lang.Ctx{Lead: &st.lead, AsOf: asOf.UTC(), Ext: &st.x}
	return st
}

// evalState is the reusable state of one evaluation.
type evalState struct {
	lead leadkit.Lead
	c    lang.Ctx
	x    pctx
	r    *lang.Runner
}

var evalPool = sync.Pool{New: func() any { return &evalState{} }}

// holds reports whether every condition holds on p at asOf, stopping at
// the first that does not (no explanation is built), and returns the
// names of the conditions met when all are.
func (cp *compiledPolicy) holds(p *Prospect, asOf time.Time) bool {
	st := cp.state(p, asOf)
	defer evalPool.Put(st)
	for _, prog := range cp.progs {
		ok, err := prog.Bool(&st.c, st.r)
		if err != nil || !ok {
			return false
		}
	}
	return true
}

// evaluate runs every condition on pr at asOf.
func (cp *compiledPolicy) evaluate(p *Prospect, asOf time.Time) []Check {
	st := cp.state(p, asOf)
	defer evalPool.Put(st)
	c, r := &st.c, st.r
	out := make([]Check, len(cp.progs))
	for i, prog := range cp.progs {
		ch := Check{Condition: cp.names[i], When: cp.whens[i]}
		ok, err := prog.Bool(c, r)
		if err != nil {
			ch.Error = err.Error()
		}
		ch.Holds = ok && err == nil
		if !ch.Holds {
			ch.Values = map[string]any{}
			for _, f := range prog.Used() {
				c.Err = nil
				if v := f.Get.Value(c); v != nil {
					ch.Values[f.Path()] = v
				}
			}
			c.Err = nil
		}
		out[i] = ch
	}
	return out
}

// WhyNotYet evaluates the lead definition on a prospect at asOf (zero:
// now) and returns the conditions that fail, with the values they read.
// An empty result means the prospect qualifies (or has left the pool: see
// its Status).
func (p *Pool) WhyNotYet(ctx context.Context, id string, asOf time.Time) ([]Check, error) {
	pr, err := p.store.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if asOf.IsZero() {
		asOf = p.now()
	}
	var out []Check
	for _, ch := range p.policy.evaluate(&pr, asOf) {
		if !ch.Holds {
			out = append(out, ch)
		}
	}
	return out, nil
}

// Graduation is the record of a prospect becoming a lead: the caller
// creates the lead from it (or hands it to the stage machine).
type Graduation struct {
	ProspectID string    `json:"prospect_id"`
	LeadID     string    `json:"lead_id"`
	At         time.Time `json:"at"`
	// Conditions are the names of the conditions it met.
	Conditions []string `json:"conditions"`
	// Lead is the new lead: ID, creation time, source channel, person and
	// company.
	Lead leadkit.Lead `json:"lead"`
}

// Qualify evaluates the lead definition on a prospect at at (zero: now)
// and graduates it when every condition holds: it marks the prospect
// graduated and returns the graduation record, exactly once even when
// several callers qualify the same prospect at the same time (the others
// get false). A prospect that is not active (graduated, merged, opted out)
// never graduates.
func (p *Pool) Qualify(ctx context.Context, id string, at time.Time) (Graduation, bool, error) {
	if at.IsZero() {
		at = p.now()
	}
	at = at.UTC()
	if !leadkit.ValidTime(at) {
		return Graduation{}, false, fmt.Errorf("pool: qualify: %w: time outside %s", leadkit.ErrInvalid, leadkit.TimeRange)
	}
	for range maxRetries {
		pr, err := p.store.Get(ctx, id)
		if err != nil {
			return Graduation{}, false, err
		}
		if pr.Status != StatusActive || pr.OptedOut() {
			return Graduation{}, false, nil
		}
		g, ok, err := p.graduate(&pr, laterOf(laterOf(at, pr.JoinedAt), pr.ReenteredAt))
		if err != nil || !ok {
			return Graduation{}, false, err
		}
		err = p.store.Apply(ctx, Mark{}, pr)
		switch {
		case err == nil:
			return g, true, nil
		case errors.Is(err, leadkit.ErrConflict):
			continue // changed meanwhile: look again
		default:
			return Graduation{}, false, err
		}
	}
	return Graduation{}, false, fmt.Errorf("pool: qualify %q: %w: still conflicting after %d attempts", clip(id), leadkit.ErrConflict, maxRetries)
}

// Backdate moves a graduated prospect's graduation back to at: for a
// caller that found, by replaying what the pool knew at each time (a
// what-if pool from WithStore, fed the prospect's observations in time
// order), that the lead definition held earlier than it graduated, because
// observations arrived out of order. The pool cannot tell that itself: it
// keeps a prospect's current data, not what it was at each time. It
// returns the corrected graduation record and true; false when the
// prospect is not graduated or graduated at or before at. A time before
// the prospect joined (or re-entered) is taken as that time.
func (p *Pool) Backdate(ctx context.Context, id string, at time.Time) (Graduation, bool, error) {
	at = at.UTC()
	if !leadkit.ValidTime(at) {
		return Graduation{}, false, fmt.Errorf("pool: backdate: %w: time outside %s", leadkit.ErrInvalid, leadkit.TimeRange)
	}
	for range maxRetries {
		pr, err := p.store.Get(ctx, id)
		if err != nil {
			return Graduation{}, false, err
		}
		t := laterOf(laterOf(at, pr.JoinedAt), pr.ReenteredAt)
		if pr.Status != StatusGraduated || !t.Before(pr.GraduatedAt) {
			return Graduation{}, false, nil
		}
		pr.GraduatedAt, pr.LeftAt = t, t
		pr.Version++
		err = p.store.Apply(ctx, Mark{}, pr)
		switch {
		case err == nil:
			return Graduation{ProspectID: pr.ID, LeadID: pr.LeadID, At: t, Conditions: append([]string{}, p.policy.names...), Lead: pr.Lead(pr.LeadID, t)}, true, nil
		case errors.Is(err, leadkit.ErrConflict):
			continue
		default:
			return Graduation{}, false, err
		}
	}
	return Graduation{}, false, fmt.Errorf("pool: backdate %q: %w: still conflicting after %d attempts", clip(id), leadkit.ErrConflict, maxRetries)
}

// graduate marks pr graduated if the policy holds and returns the record.
func (p *Pool) graduate(pr *Prospect, at time.Time) (Graduation, bool, error) {
	if !p.policy.holds(pr, at) {
		return Graduation{}, false, nil
	}
	g := Graduation{ProspectID: pr.ID, At: at, Conditions: append([]string{}, p.policy.names...)}
	g.LeadID = p.leadID(*pr)
	if err := leadkit.ValidateID("lead ID", g.LeadID); err != nil {
		return Graduation{}, false, fmt.Errorf("pool: qualify %q: Options.LeadID gave a bad lead ID: %w", clip(pr.ID), err)
	}
	g.Lead = pr.Lead(g.LeadID, at)
	pr.Status, pr.LeadID, pr.GraduatedAt, pr.LeftAt, pr.LeftAs = StatusGraduated, g.LeadID, at, at, StatusGraduated
	pr.Version++
	return g, true, nil
}

// QualifyEach qualifies the listed prospects (at most MaxPage) at at (zero:
// now) and returns the graduations, in the order of ids; an unknown ID is
// an error wrapping leadkit.ErrNotFound, after the others were qualified.
func (p *Pool) QualifyEach(ctx context.Context, ids []string, at time.Time) ([]Graduation, error) {
	if len(ids) > MaxPage {
		return nil, fmt.Errorf("pool: qualify: %w: %d prospects, at most %d per call", leadkit.ErrInvalid, len(ids), MaxPage)
	}
	var out []Graduation
	var errs []error
	for _, id := range ids {
		g, ok, err := p.Qualify(ctx, id, at)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ok {
			out = append(out, g)
		}
	}
	return out, errors.Join(errs...)
}

// QualifyAll qualifies every active prospect of the store at at (zero:
// now) and returns the graduations, in prospect ID order.
func (p *Pool) QualifyAll(ctx context.Context, at time.Time) ([]Graduation, error) {
	var out []Graduation
	if at.IsZero() {
		at = p.now()
	}
	err := p.store.Scan(ctx, func(pr Prospect) error {
		// The scanned copy answers for most prospects; Qualify reads
		// again, under the version check, only those that qualify.
		if pr.Status != StatusActive || pr.OptedOut() || !p.policy.holds(&pr, laterOf(laterOf(at.UTC(), pr.JoinedAt), pr.ReenteredAt)) {
			return nil
		}
		g, ok, err := p.Qualify(ctx, pr.ID, at)
		if err != nil {
			return err
		}
		if ok {
			out = append(out, g)
		}
		return nil
	})
	return out, err
}
