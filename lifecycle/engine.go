package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/lang"
	"github.com/leadkit/leadkit/internal/text"
	"github.com/leadkit/leadkit/journey"
	"github.com/leadkit/leadkit/pool"
	"github.com/leadkit/leadkit/scoring"
	"github.com/leadkit/leadkit/stage"
)

// Unknown says what Ingest does with an event whose subject is neither a
// lead of the engine nor a prospect of its pool.
type Unknown string

const (
	// UnknownCreate (the default) creates a prospect for the subject in
	// the pool (or, without a pool, a lead starting at the event's time).
	UnknownCreate Unknown = "create"
	// UnknownRefuse refuses the event with an error wrapping
	// leadkit.ErrInvalid; it is not stored.
	UnknownRefuse Unknown = "refuse"
)

// DefaultActor is the actor recorded on the stage changes the engine makes.
const DefaultActor = "lifecycle"

// MaxEventsPerCall caps the events of one Ingest call.
const MaxEventsPerCall = 100_000

// maxRetries bounds the optimistic retries of one lead's processing.
const maxRetries = 32

// Options configures an Engine. The zero value is a working default.
type Options struct {
	// States keeps each lead's score state; nil means a new MemoryStore.
	States Store
	// Now returns the current time; nil means time.Now. Stage changes are
	// recorded at the time of the event that caused them, but never after
	// Now.
	Now func() time.Time
	// Unknown says what an event for an unknown subject does (default
	// UnknownCreate).
	Unknown Unknown
	// Observe, if set, reads what an event tells about the person: it
	// completes the pool observation the engine makes of a prospect's
	// event (ID, time, the subject identity, a touch, the event's channel
	// and campaign as source) with the identities, person and company
	// fields, tags or consent the event carries (a form fill's e-mail and
	// title). For a lead's event, the person and company fields it sets
	// update the lead's profile (see leadkit.Person.Update), which fit
	// rules read from that call on. An error refuses the event (it is not
	// stored). An observation the pool then refuses (an identity it cannot
	// read, a merge it will not make) is that event's *EventError; the
	// event is stored and still counts in the score.
	Observe func(ctx context.Context, ev leadkit.Event, obs *pool.Observation) error
	// Facts maps stage facts to the scoring facts that feed them, for
	// definitions whose guards use other names: {"score": "total",
	// "grade": "fit_band"}. A stage fact without an entry is read under
	// its own name. See scoring.Facts for the facts a model gives.
	Facts map[string]string
	// Requalify is the policy for leads in recycled stages.
	Requalify Requalify
	// Verify configures Engine.Verify.
	Verify VerifyOptions
	// Actor is recorded on the engine's stage changes (default
	// DefaultActor). Engines that share stores must use the same Actor:
	// a change one made but could not report is reported by the next call
	// for that lead, whichever engine takes it, by its actor.
	Actor string
	// OnChange, if set, is called with every change Ingest returns, in the
	// calling goroutine, when the lead it belongs to is done (before the
	// next lead of the call).
	OnChange func(ctx context.Context, c Change)
}

// Engine ties a prospect pool, a scoring model, a stage machine and a
// journey store together. It is safe for concurrent use, and several
// engines (several processes) may share the same stores: each lead's
// changes are serialised by the stores' optimistic versions and retried.
type Engine struct {
	pool    *pool.Pool
	model   *scoring.Model
	machine *stage.Machine
	events  journey.Store
	tenant  string // the tenant of every store
	states  Store
	now     func() time.Time
	unknown Unknown
	observe func(context.Context, leadkit.Event, *pool.Observation) error
	facts   []fact    // the stage facts and where they come from
	scratch sync.Pool // *scratch
	calls   sync.Pool // *call
	requal  requalify
	matrix  *scoring.MatrixSpec
	// verify holds the checked Options.Verify and the stages it verifies.
	verify       VerifyOptions
	verifyStages []string
	actor        string
	notify       func(context.Context, Change)
}

// New checks that the parts fit together and returns the engine. The pool
// may be nil (every subject is then a lead from its first event); the
// model, the machine and the journey store are required. The stage facts
// the definition declares must be facts the model gives (see
// scoring.Model.FactTypes), under their own names or through
// Options.Facts, with the same types; every mismatch is reported, with
// the names the model does give.
func New(p *pool.Pool, model *scoring.Model, machine *stage.Machine, events journey.Store, o Options) (*Engine, error) {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("lifecycle: %w: %s", leadkit.ErrInvalid, fmt.Sprintf(format, args...)))
	}
	if model == nil {
		bad("no scoring model")
	}
	if machine == nil {
		bad("no stage machine")
	}
	if events == nil {
		bad("no journey store")
	}
	switch o.Unknown {
	case "", UnknownCreate, UnknownRefuse:
	default:
		bad("unknown-subject option %q: want %q or %q", clip(string(o.Unknown)), UnknownCreate, UnknownRefuse)
	}
	if o.Actor != "" {
		if err := leadkit.ValidateID("actor", o.Actor); err != nil {
			bad("%v", err)
		}
	}
	if p != nil {
		const probe = "lifecycle-probe"
		pr := pool.Prospect{ID: "p", Identities: []pool.Identity{{Kind: pool.Subject, Value: probe}}}
		if got := p.LeadID(pr); got != probe {
			bad("the pool would make subject %q lead %q: the engine needs a subject's lead to have the subject's ID, so that events name a person the same way before and after graduation (leave pool.Options.LeadID nil)", probe, clip(got))
		}
	}
	if model == nil || machine == nil || events == nil {
		return nil, errors.Join(errs...)
	}
	tenant, err := partsTenant(p, machine, events, o.States)
	if err != nil {
		errs = append(errs, err)
	}
	// The other problems are reported with every fact mismatch.
	e := &Engine{pool: p, model: model, machine: machine, events: events, states: o.States, now: o.Now,
		unknown: o.Unknown, observe: o.Observe, actor: o.Actor, notify: o.OnChange}
	if e.states == nil {
		e.states = NewMemoryStore()
		if tenant != leadkit.DefaultTenant {
			e.states, _ = NewMemoryStore().ForTenant(tenant) // checked by partsTenant
		}
	}
	e.tenant = tenant
	if e.now == nil {
		e.now = time.Now
	}
	if e.unknown == "" {
		e.unknown = UnknownCreate
	}
	if e.actor == "" {
		e.actor = DefaultActor
	}

	if m := model.Spec().Matrix; m != nil {
		e.matrix = m
	}
	if e.facts, err = checkFacts(model, machine.Definition(), o.Facts); err != nil {
		errs = append(errs, err)
	}
	if e.requal, err = o.Requalify.compile(model, machine.Definition()); err != nil {
		errs = append(errs, err)
	}
	if e.verify, e.verifyStages, err = checkVerify(machine, o.Verify); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return e, nil
}

// fact is a stage fact read from the score.
type fact struct {
	name string
	ref  scoring.FactRef
}

// checkFacts matches the stage definition's facts with the model's and
// returns where each stage fact comes from.
func checkFacts(model *scoring.Model, def stage.Definition, alias map[string]string) ([]fact, error) {
	gives := model.FactTypes()
	names := make([]string, 0, len(gives))
	for n := range gives {
		names = append(names, n)
	}
	sort.Strings(names)
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("lifecycle: facts: %w: %s", leadkit.ErrInvalid, fmt.Sprintf(format, args...)))
	}
	for _, f := range slices.Sorted(maps.Keys(alias)) {
		if _, ok := def.Facts[f]; !ok {
			bad("Options.Facts maps %q, which the stage definition %q does not declare", clip(f), clip(def.Name))
		}
	}
	var out []fact
	for _, f := range slices.Sorted(maps.Keys(def.Facts)) {
		want := def.Facts[f]
		src, mapped := alias[f]
		if !mapped {
			src = f
		}
		typ, ok := gives[src]
		switch {
		case !ok && mapped:
			bad("stage fact %q is mapped to %q, which model %q does not give%s; it gives %s", clip(f), clip(src), clip(model.Name()), hint(src, names), strings.Join(names, ", "))
		case !ok:
			bad("stage fact %q is not a fact of model %q%s (map it in Options.Facts); the model gives %s", clip(f), clip(model.Name()), hint(src, names), strings.Join(names, ", "))
		case typ != want:
			bad("stage fact %q is declared %s but model %q gives %q as %s", clip(f), want, clip(model.Name()), src, typ)
		default:
			ref, _ := model.Fact(src)
			out = append(out, fact{name: f, ref: ref})
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// hint suggests the name meant, if one is close.
func hint(name string, names []string) string {
	if best := lang.Nearest(name, names); best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return ""
}

// Model returns the engine's scoring model.
func (e *Engine) Model() *scoring.Model { return e.model }

// Machine returns the engine's stage machine.
func (e *Engine) Machine() *stage.Machine { return e.machine }

// Pool returns the engine's prospect pool (nil without one).
func (e *Engine) Pool() *pool.Pool { return e.pool }

// Journey returns the engine's journey store (the events).
func (e *Engine) Journey() journey.Store { return e.events }

// States returns the engine's store of lead states.
func (e *Engine) States() Store { return e.states }

func clip(s string) string { return text.Clip(s, 64) }

// Tenant returns the tenant the engine's stores are bound to
// (leadkit.DefaultTenant when none says otherwise).
func (e *Engine) Tenant() string { return e.tenant }

// partsTenant returns the tenant the engine's stores are bound to: every
// store that says its tenant (leadkit stores do) must say the same, or
// one tenant's events would be scored into another's states and stages.
func partsTenant(p *pool.Pool, machine *stage.Machine, events journey.Store, states Store) (string, error) {
	type part struct {
		name  string
		store any
	}
	parts := []part{{"stage store", machine.Store()}, {"journey store", events}, {"lead-state store", states}}
	if p != nil {
		parts = append(parts, part{"pool store", p.Store()})
	}
	tenant, from := "", ""
	for _, pt := range parts {
		s, ok := pt.store.(interface{ Tenant() string })
		if !ok {
			continue
		}
		switch t := s.Tenant(); {
		case tenant == "":
			tenant, from = t, pt.name
		case t != tenant:
			return "", fmt.Errorf("lifecycle: %w: the %s is bound to tenant %q and the %s to tenant %q: an engine's stores serve one tenant", leadkit.ErrInvalid, from, tenant, pt.name, t)
		}
	}
	if tenant == "" {
		return leadkit.DefaultTenant, nil
	}
	return tenant, leadkit.ValidateTenant(tenant)
}
