package beam

import (
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/journey"
	"github.com/leadkit/leadkit/lifecycle"
	"github.com/leadkit/leadkit/stage"
)

func init() {
	register.DoFn3x0[leadkit.Lead, func(string, leadkit.Lead), func(RejectedLead)](&validateLeadFn{})
	register.Emitter2[string, leadkit.Lead]()
	register.Emitter1[RejectedLead]()
	register.DoFn6x0[string, func(*leadkit.Event) bool, func(*stage.Visit) bool, func(*leadkit.Lead) bool, func(TenantJourney), func(RejectedJourney)](&leadJourneyFn{})
	register.Iter1[leadkit.Lead]()
	register.Emitter1[TenantJourney]()
	register.Emitter1[RejectedJourney]()
	register.DoFn3x0[TenantJourney, func(string, TenantJourney), func(RejectedJourney)](&keyJourneyFn{})
	register.Emitter2[string, TenantJourney]()
	register.Combiner3[*verifyAccumulator, TenantJourney, *verifyAccumulator](&partialVerifyFn{})
	register.Function2x2(tenantOfVerifyShard)
	register.Combiner3[*verifyAccumulator, *verifyAccumulator, []TenantStage](&mergeVerifyFn{})
	register.Function3x0(emitStages)
	register.Emitter1[TenantStage]()

	beam.RegisterCoder(reflect.TypeFor[leadkit.Lead](), encodeLead, decodeLead)
	beam.RegisterCoder(reflect.TypeFor[RejectedLead](), encodeRejectedLead, decodeRejectedLead)
	beam.RegisterCoder(reflect.TypeFor[TenantJourney](), encodeTenantJourney, decodeTenantJourney)
	beam.RegisterCoder(reflect.TypeFor[RejectedJourney](), encodeRejectedJourney, decodeRejectedJourney)
	beam.RegisterCoder(reflect.TypeFor[TenantStage](), encodeTenantStage, decodeTenantStage)
	beam.RegisterCoder(reflect.TypeFor[*verifyAccumulator](), encodeVerifyAccumulator, decodeVerifyAccumulator)
}

// TenantJourney is one lead's journey in one tenant (its timeline, stage
// visits and creation time): what the per-lead aggregates of
// lifecycle.Verify add. Journeys makes one per lead.
type TenantJourney struct {
	Tenant  string              `json:"tenant"`
	Journey journey.LeadJourney `json:"journey"`
}

// RejectedLead is a lead record Journeys could not use, with the reason:
// a lead ID that is not valid (the record is dropped), or a creation time
// outside leadkit's time range (the lead's journey goes on, of unknown
// creation, as journey.Journeys keeps it).
type RejectedLead struct {
	Tenant string       `json:"tenant"`
	Lead   leadkit.Lead `json:"lead"`
	Reason string       `json:"reason"`
}

// RejectedJourney names what a journey lost: the error of
// journey.Journeys for the lead (bad entries it left out), or of an
// aggregate that refused the journey. Journey is the lead's journey as
// it was kept (by Journeys) or as it came (refused by VerifyAggregates).
type RejectedJourney struct {
	Tenant  string              `json:"tenant"`
	Journey journey.LeadJourney `json:"journey"`
	Reason  string              `json:"reason"`
}

// JourneyOptions tunes Journeys; the zero value takes the visits as
// they come.
type JourneyOptions struct {
	// Order is the funnel order (stage.Machine.FunnelStages()): when set,
	// each lead's visits go through stage.Reach with it, so that a stage
	// a lead skipped counts as reached, as lifecycle.Verify reads the
	// stage histories. Leave it empty for visits already through Reach.
	Order []string `json:"order,omitempty"`
}

// JourneyOutputs are the outputs of Journeys.
type JourneyOutputs struct {
	// Journeys holds one TenantJourney per lead named by an event, a
	// visit or a lead record.
	Journeys beam.PCollection
	// RejectedEvents, RejectedVisits and RejectedLeads are the inputs
	// left out (events and visits that fail their Validate, lead records
	// with a bad ID or creation time).
	RejectedEvents, RejectedVisits, RejectedLeads beam.PCollection
	// RejectedJourneys names what journey.Journeys left out of a lead's
	// journey beyond those (nothing, for inputs that passed their
	// validation; kept so that nothing is lost silently).
	RejectedJourneys beam.PCollection
}

// Journeys joins one tenant's events, stage visits and lead records by
// lead into journeys: Journeys.Journeys is a PCollection of
// TenantJourney, each as journey.Journeys makes it for that lead (events
// that fail leadkit.Event.Validate and visits that fail
// stage.Visit.Validate left out, to the dead letters), with its events
// sorted by time then ID, its visits by time, funnel position (with
// o.Order), stage, owner and direct before implied, then through
// stage.Reach when o.Order is set, and Created the lead record's
// CreatedAt (the latest, if several records name the lead; zero for a
// lead without one: a prospect). leads may be an empty PCollection.
//
// The tenant is checked as Timelines checks it; an o.Order stage.Reach
// refuses is an error (wrapping leadkit.ErrInvalid) at construction.
func Journeys(s beam.Scope, tenant string, events, visits, leads beam.PCollection, o JourneyOptions) (JourneyOutputs, error) {
	if err := checkTenant("journeys", tenant); err != nil {
		return JourneyOutputs{}, err
	}
	if len(o.Order) > 0 {
		if _, err := stage.Reach(nil, o.Order); err != nil {
			return JourneyOutputs{}, fmt.Errorf("beam: journeys: %w", err)
		}
	}
	s = s.Scope("leadkit.Journeys")
	var out JourneyOutputs
	goodEvents, badEvents := beam.ParDo2(s, &validateEventFn{Tenant: tenant}, globalWindow(s, events))
	goodVisits, badVisits := beam.ParDo2(s, &validateVisitFn{}, globalWindow(s, visits))
	goodLeads, badLeads := beam.ParDo2(s, &validateLeadFn{Tenant: tenant}, globalWindow(s, leads))
	grouped := beam.CoGroupByKey(s, goodEvents, goodVisits, goodLeads)
	out.Journeys, out.RejectedJourneys = beam.ParDo2(s, &leadJourneyFn{Tenant: tenant, Order: o.Order}, grouped)
	out.RejectedEvents, out.RejectedVisits, out.RejectedLeads = badEvents, badVisits, badLeads
	return out, nil
}

// validateLeadFn keys lead records by lead; a bad ID goes to the dead
// letters, a bad creation time too, with the lead kept of unknown
// creation.
type validateLeadFn struct {
	Tenant string `json:"tenant"`
}

// ProcessElement sends l to good, keyed by its ID, and/or to bad.
func (f *validateLeadFn) ProcessElement(l leadkit.Lead, good func(string, leadkit.Lead), bad func(RejectedLead)) {
	if err := leadkit.ValidateID("lead ID", l.ID); err != nil {
		bad(RejectedLead{Tenant: f.Tenant, Lead: l, Reason: err.Error()})
		return
	}
	if !l.CreatedAt.IsZero() && !leadkit.ValidTime(l.CreatedAt) {
		bad(RejectedLead{Tenant: f.Tenant, Lead: l, Reason: fmt.Sprintf("beam: journeys: lead %q: %v: creation time %s outside leadkit's time range", l.ID, leadkit.ErrInvalid, l.CreatedAt.Format(time.RFC3339Nano))})
		l.CreatedAt = time.Time{}
	}
	good(l.ID, leadkit.Lead{ID: l.ID, CreatedAt: l.CreatedAt})
}

// leadJourneyFn builds one lead's journey from its grouped inputs.
type leadJourneyFn struct {
	Tenant string   `json:"tenant"`
	Order  []string `json:"order,omitempty"`

	pos map[string]int
}

// ProcessElement emits the lead's journey, and what journey.Journeys
// refused of it, if anything, to bad.
func (f *leadJourneyFn) ProcessElement(lead string, events func(*leadkit.Event) bool, visits func(*stage.Visit) bool, leads func(*leadkit.Lead) bool, good func(TenantJourney), bad func(RejectedJourney)) {
	if f.pos == nil {
		f.pos = make(map[string]int, len(f.Order))
		for i, st := range f.Order {
			if _, ok := f.pos[st]; !ok {
				f.pos[st] = i
			}
		}
	}
	var es []leadkit.Event
	var e leadkit.Event
	for events(&e) {
		es = append(es, e)
		e = leadkit.Event{}
	}
	slices.SortFunc(es, compareEvents)
	var vs []stage.Visit
	var v stage.Visit
	for visits(&v) {
		vs = append(vs, v)
	}
	slices.SortFunc(vs, func(a, b stage.Visit) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		pa, oka := f.pos[a.Stage]
		pb, okb := f.pos[b.Stage]
		if oka && okb && pa != pb {
			return cmp.Compare(pa, pb)
		}
		return compareVisits(a, b)
	})
	var created map[string]time.Time
	var l leadkit.Lead
	for leads(&l) {
		if created == nil {
			created = map[string]time.Time{}
		}
		if c, ok := created[lead]; !ok || l.CreatedAt.After(c) {
			created[lead] = l.CreatedAt
		}
	}
	if len(f.Order) > 0 {
		reached, err := stage.Reach(vs, f.Order)
		if err != nil { // the order was checked: a bad visit cannot get here
			bad(RejectedJourney{Tenant: f.Tenant, Journey: journey.LeadJourney{Timeline: journey.Timeline{LeadID: lead}}, Reason: err.Error()})
			return
		}
		vs = reached
	}
	js, err := journey.Journeys([]journey.Timeline{{LeadID: lead, Events: es}}, vs, created)
	for _, j := range js {
		if j.LeadID == lead {
			good(TenantJourney{Tenant: f.Tenant, Journey: j})
		}
	}
	if err != nil {
		bad(RejectedJourney{Tenant: f.Tenant, Journey: journey.LeadJourney{Timeline: journey.Timeline{LeadID: lead}}, Reason: err.Error()})
	}
}

// TenantStage is the per-lead aggregates of lifecycle.Verify for one
// tenant and one stage plan: StageResult's Age, Cycle, Nurture, Phases,
// OldLeads, and Attribution with Skipped and SkipReasons.
type TenantStage struct {
	Tenant string `json:"tenant"`
	Stage  string `json:"stage"`
	// Age is lifecycle.StageResult.Age.
	Age journey.SourceAgeResult `json:"age"`
	// Cycle is lifecycle.StageResult.Cycle: its medians and percentiles
	// past 1,024 leads are the sketch's (see journey.CycleTimes), as
	// Verify's are.
	Cycle journey.CycleResult `json:"cycle"`
	// Nurture is lifecycle.StageResult.Nurture.
	Nurture []journey.ContentPower `json:"nurture"`
	// Phases and OldLeads are lifecycle.StageResult's; empty for a plan
	// without them (a stage outside the funnel order), as in Verify.
	Phases   journey.ContentPhasesResult  `json:"phases"`
	OldLeads journey.OldLeadNurtureResult `json:"old_leads"`
	// Attribution, Skipped and SkipReasons are lifecycle.StageResult's
	// (a lifecycle.CreditAccumulator's result); empty for a plan without
	// Attribution.
	Attribution []lifecycle.StageCredit `json:"attribution"`
	Skipped     int                     `json:"skipped,omitempty"`
	SkipReasons []string                `json:"skip_reasons,omitempty"`
	// Error, when set, is why the stage's aggregates could not be
	// computed for the tenant: its data passes a cap of one of the
	// stage's accumulators (more distinct nurture keys than
	// journey.MaxNurtureKeys, for example, where lifecycle.Verify
	// returns an error), named in a fixed text per cap, so that the same
	// data gives the same error however it was split; the other fields
	// are then empty. One stage's error never fails the pipeline nor
	// another stage's or tenant's results.
	Error string `json:"error,omitempty"`
}

// VerifyAggregates computes the per-lead aggregates of lifecycle.Verify
// (source age, cycle time, nurture power, content phases, old-lead
// nurture, and the stage's attribution) for each stage plan
// (lifecycle.Engine.VerifyPlan) over journeys (from Journeys), per
// tenant: result is a PCollection of TenantStage, one per tenant and
// plan, each field equal (as JSON, byte for byte) to the same field of
// Verify's StageResult over the same data, whatever the runner, workers,
// bundles and fanout.
//
// Each tenant's leads are spread over o.Fanout partial accumulators by a
// hash of the lead ID; a partial accumulator holds the library's
// journey.SourceAgeAccumulator, CycleAccumulator, NurtureAccumulator,
// ContentPhaseAccumulator, OldLeadNurtureAccumulator and
// lifecycle.CreditAccumulator of every plan, travels in their binary
// encodings, and the partial accumulators of a tenant are merged into
// its results. A journey an accumulator refuses (one not made by
// Journeys: bad events, visits or creation time) goes to rejected as a
// RejectedJourney and counts in none of them. A tenant whose data passes
// an accumulator's cap (more distinct nurture keys than
// journey.MaxNurtureKeys, where Verify returns the error) gets that
// stage's result carrying the error (TenantStage.Error), the same
// whatever the order of adds and merges; the pipeline, the tenant's
// other stages and the other tenants go on.
//
// Plans an accumulator refuses are an error (wrapping leadkit.ErrInvalid)
// at construction.
func VerifyAggregates(s beam.Scope, plans []lifecycle.StagePlan, journeys beam.PCollection, o FunnelOptions) (result, rejected beam.PCollection, err error) {
	if len(plans) == 0 {
		return beam.PCollection{}, beam.PCollection{}, fmt.Errorf("beam: verify aggregates: %w: no stage plans", leadkit.ErrInvalid)
	}
	if _, err := newVerifyAccumulator(plans); err != nil {
		return beam.PCollection{}, beam.PCollection{}, err
	}
	fanout := o.Fanout
	if fanout <= 0 {
		fanout = DefaultFanout
	}
	s = s.Scope("leadkit.VerifyAggregates")
	keyed, rejected := beam.ParDo2(s, &keyJourneyFn{Fanout: fanout}, globalWindow(s, journeys))
	partial := beam.CombinePerKey(s, &partialVerifyFn{Plans: plans}, keyed)
	merged := beam.CombinePerKey(s, &mergeVerifyFn{Plans: plans}, beam.ParDo(s, tenantOfVerifyShard, partial))
	result = beam.ParDo(s, emitStages, merged)
	return result, rejected, nil
}

// keyJourneyFn keys each journey by its tenant and partial accumulator,
// and sends the journeys the accumulators would refuse, or of a bad
// tenant, to the dead letters (checkJourney).
type keyJourneyFn struct {
	Fanout int `json:"fanout"`
}

// ProcessElement emits j keyed by tenant and shard, or to bad.
func (f *keyJourneyFn) ProcessElement(j TenantJourney, good func(string, TenantJourney), bad func(RejectedJourney)) {
	if err := checkJourney("verify aggregates", j); err != nil {
		bad(RejectedJourney{Tenant: j.Tenant, Journey: j.Journey, Reason: err.Error()})
		return
	}
	h := fnv.New32a()
	h.Write([]byte(j.Journey.LeadID))
	good(j.Tenant+"\x00"+strconv.Itoa(int(h.Sum32()%uint32(f.Fanout))), j)
}

func tenantOfVerifyShard(key string, a *verifyAccumulator) (string, *verifyAccumulator) {
	tenant, _, _ := strings.Cut(key, "\x00")
	return tenant, a
}

func emitStages(tenant string, stages []TenantStage, emit func(TenantStage)) {
	for _, st := range stages {
		st.Tenant = tenant
		emit(st)
	}
}

// verifyAccumulator holds the accumulators of every plan.
type verifyAccumulator struct {
	stages []stageAccumulators
}

type stageAccumulators struct {
	stage string
	// capped has a bit per accumulator (the order of capTexts) that
	// refused an add or a merge: the tenant's data passes one of its
	// caps. Whether it does depends on the data alone (an accumulator
	// refuses only what would take it past a cap, and keeps taking what
	// fits), never on the order of adds and merges.
	capped   uint8
	age      *journey.SourceAgeAccumulator
	cycle    *journey.CycleAccumulator
	nurture  *journey.NurtureAccumulator
	credits  *lifecycle.CreditAccumulator
	phases   *journey.ContentPhaseAccumulator
	oldLeads *journey.OldLeadNurtureAccumulator
}

func newVerifyAccumulator(plans []lifecycle.StagePlan) (*verifyAccumulator, error) {
	if len(plans) > stage.MaxStages {
		return nil, fmt.Errorf("beam: verify aggregates: %w: %d stage plans, at most %d (stage.MaxStages)", leadkit.ErrInvalid, len(plans), stage.MaxStages)
	}
	a := &verifyAccumulator{stages: make([]stageAccumulators, len(plans))}
	for i, p := range plans {
		st := &a.stages[i]
		st.stage = p.Stage
		var err error
		if st.age, err = journey.NewSourceAgeAccumulator(p.Stage, p.Age); err != nil {
			return nil, err
		}
		if st.cycle, err = journey.NewCycleAccumulator(p.Stage, p.Cycle); err != nil {
			return nil, err
		}
		if st.nurture, err = journey.NewNurtureAccumulator(p.Stage, p.Nurture); err != nil {
			return nil, err
		}
		if p.Attribution != nil {
			if st.credits, err = lifecycle.NewCreditAccumulator(p.Stage, *p.Attribution); err != nil {
				return nil, err
			}
		}
		if (p.Phases == nil) != (p.OldLeads == nil) {
			return nil, fmt.Errorf("beam: verify aggregates: %w: stage %q: a plan has both phases and old leads or neither", leadkit.ErrInvalid, p.Stage)
		}
		if p.Phases == nil {
			continue
		}
		if st.phases, err = journey.NewContentPhaseAccumulator(p.Stage, *p.Phases); err != nil {
			return nil, err
		}
		if st.oldLeads, err = journey.NewOldLeadNurtureAccumulator(p.Stage, *p.OldLeads); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// The accumulators of a stage, in the order of their bits in capped,
// and what passing their caps means.
const (
	capAge = iota
	capCycle
	capNurture
	capCredits
	capPhases
	capOldLeads
)

var capTexts = [...]string{
	capAge:      fmt.Sprintf("source age: a count past %d (journey.MaxCount)", journey.MaxCount),
	capCycle:    fmt.Sprintf("cycle times: more than %d leads skipped (journey.MaxCount)", journey.MaxCount),
	capNurture:  fmt.Sprintf("nurture power: more than %d distinct keys (journey.MaxNurtureKeys), or a key sent more than %d times (journey.MaxCount)", journey.MaxNurtureKeys, journey.MaxCount),
	capCredits:  fmt.Sprintf("attribution: more than %d skipped journeys (lifecycle.MaxCreditCount), or more than %d Markov paths (journey.MaxCount)", lifecycle.MaxCreditCount, journey.MaxCount),
	capPhases:   fmt.Sprintf("content phases: a count past %d (journey.MaxCount)", journey.MaxCount),
	capOldLeads: fmt.Sprintf("old-lead nurture: a count past %d (journey.MaxCount)", journey.MaxCount),
}

// accumulator is what verifyAccumulator needs of each accumulator.
type accumulator interface {
	Add(journey.LeadJourney) error
	MarshalBinary() ([]byte, error)
	UnmarshalBinary([]byte) error
}

// each calls f with each accumulator of st and its bit.
func (st *stageAccumulators) each(f func(bit int, acc accumulator)) {
	f(capAge, st.age)
	f(capCycle, st.cycle)
	f(capNurture, st.nurture)
	if st.credits != nil {
		f(capCredits, st.credits)
	}
	if st.phases != nil {
		f(capPhases, st.phases)
		f(capOldLeads, st.oldLeads)
	}
}

// add adds j to every accumulator; one that refuses it (j would take it
// past a cap: checkJourney sent every other refusal to the dead letters)
// marks its stage capped and the others go on.
func (a *verifyAccumulator) add(j journey.LeadJourney) {
	for i := range a.stages {
		st := &a.stages[i]
		st.each(func(bit int, acc accumulator) {
			if acc.Add(j) != nil {
				st.capped |= 1 << bit
			}
		})
	}
}

// merge merges b into a: a merge an accumulator refuses (past a cap)
// marks its stage capped, as do b's marks. Only plans that differ are an
// error (wrapping leadkit.ErrMismatch when the stages' accumulators
// differ): the pipeline fails, as its accumulators were not made by one
// plan, and a, partly merged, is not to be used.
func (a *verifyAccumulator) merge(b *verifyAccumulator) error {
	if a == b {
		return fmt.Errorf("beam: verify aggregates: %w: merge needs another accumulator (not itself)", leadkit.ErrInvalid)
	}
	if len(a.stages) != len(b.stages) {
		return fmt.Errorf("beam: verify aggregates: %w: merging %d stages into %d", leadkit.ErrMismatch, len(b.stages), len(a.stages))
	}
	for i := range a.stages {
		x, y := &a.stages[i], &b.stages[i]
		if x.stage != y.stage || (x.credits == nil) != (y.credits == nil) || (x.phases == nil) != (y.phases == nil) {
			return fmt.Errorf("beam: verify aggregates: %w: stage %q planned differently", leadkit.ErrMismatch, x.stage)
		}
	}
	for i := range a.stages {
		x, y := &a.stages[i], &b.stages[i]
		x.capped |= y.capped
		var errs [len(capTexts)]error
		errs[capAge], errs[capCycle], errs[capNurture] = x.age.Merge(y.age), x.cycle.Merge(y.cycle), x.nurture.Merge(y.nurture)
		if x.credits != nil {
			errs[capCredits] = x.credits.Merge(y.credits)
		}
		if x.phases != nil {
			errs[capPhases], errs[capOldLeads] = x.phases.Merge(y.phases), x.oldLeads.Merge(y.oldLeads)
		}
		for bit, err := range errs {
			if errors.Is(err, leadkit.ErrMismatch) {
				return fmt.Errorf("beam: verify aggregates: stage %q: %w", x.stage, err)
			}
			if err != nil {
				x.capped |= 1 << bit
			}
		}
	}
	return nil
}

// capError is the error of a stage whose data passes the caps of the
// accumulators marked in capped: a fixed text per cap, so that the same
// data gives the same error however it was split.
func capError(stage string, capped uint8) string {
	var texts []string
	for bit, t := range capTexts {
		if capped&(1<<bit) != 0 {
			texts = append(texts, t)
		}
	}
	return fmt.Sprintf("beam: verify aggregates: %v: stage %q: %s", leadkit.ErrInvalid, stage, strings.Join(texts, "; "))
}

func (a *verifyAccumulator) results() []TenantStage {
	out := make([]TenantStage, len(a.stages))
	for i, st := range a.stages {
		if st.capped != 0 {
			out[i] = TenantStage{Stage: st.stage, Error: capError(st.stage, st.capped)}
			continue
		}
		out[i] = TenantStage{Stage: st.stage, Age: st.age.Result(), Cycle: st.cycle.Result(), Nurture: st.nurture.Result()}
		if st.credits != nil {
			out[i].Attribution, out[i].Skipped, out[i].SkipReasons = st.credits.Result()
		}
		if st.phases != nil {
			out[i].Phases = st.phases.Result()
			out[i].OldLeads = st.oldLeads.Result()
		}
	}
	return out
}

// partialVerifyFn adds journeys to a verifyAccumulator; its output is the
// accumulator itself.
type partialVerifyFn struct {
	Plans []lifecycle.StagePlan `json:"plans"`
}

// CreateAccumulator returns empty accumulators of the plans.
func (f *partialVerifyFn) CreateAccumulator() (*verifyAccumulator, error) {
	return newVerifyAccumulator(f.Plans)
}

// AddInput adds one lead's journey.
func (f *partialVerifyFn) AddInput(a *verifyAccumulator, j TenantJourney) (*verifyAccumulator, error) {
	a.add(j.Journey)
	return a, nil
}

// MergeAccumulators merges b into a.
func (f *partialVerifyFn) MergeAccumulators(a, b *verifyAccumulator) (*verifyAccumulator, error) {
	return a, a.merge(b)
}

// ExtractOutput returns the accumulator itself.
func (f *partialVerifyFn) ExtractOutput(a *verifyAccumulator) *verifyAccumulator { return a }

// mergeVerifyFn merges a tenant's partial accumulators into its results.
type mergeVerifyFn struct {
	Plans []lifecycle.StagePlan `json:"plans"`
}

// CreateAccumulator returns empty accumulators of the plans.
func (f *mergeVerifyFn) CreateAccumulator() (*verifyAccumulator, error) {
	return newVerifyAccumulator(f.Plans)
}

// AddInput merges one partial accumulator.
func (f *mergeVerifyFn) AddInput(a, partial *verifyAccumulator) (*verifyAccumulator, error) {
	return a, a.merge(partial)
}

// MergeAccumulators merges b into a.
func (f *mergeVerifyFn) MergeAccumulators(a, b *verifyAccumulator) (*verifyAccumulator, error) {
	return a, a.merge(b)
}

// ExtractOutput returns the results, one per plan.
func (f *mergeVerifyFn) ExtractOutput(a *verifyAccumulator) []TenantStage { return a.results() }

// A verifyAccumulator travels as: uvarint stages, then per stage its
// name, a byte of flags (1: with phases and old leads, 2: with credit),
// a byte of its capped marks, and each accumulator's own binary
// encoding, length-prefixed, in the order of their marks: source age,
// cycle time, nurture power, then the credit, content phases and
// old-lead nurture when there.
func encodeVerifyAccumulator(a *verifyAccumulator) ([]byte, error) {
	b := binary.AppendUvarint(nil, uint64(len(a.stages)))
	var err error
	for i := range a.stages {
		st := &a.stages[i]
		b = appendString(b, st.stage)
		b = append(b, st.flags(), st.capped)
		st.each(func(_ int, acc accumulator) {
			enc, e := acc.MarshalBinary()
			err = cmp.Or(err, e)
			b = appendString(b, string(enc))
		})
	}
	return b, err
}

// flags is the stage's flags byte.
func (st *stageAccumulators) flags() (flags byte) {
	if st.phases != nil {
		flags |= 1
	}
	if st.credits != nil {
		flags |= 2
	}
	return flags
}

func decodeVerifyAccumulator(b []byte) (*verifyAccumulator, error) {
	bad := fmt.Errorf("leadkit beam: verify accumulator: truncated")
	n, b, err := readUvarint(b)
	// A stage takes at least 6 bytes: its name's length, flags, capped
	// marks and three accumulators' lengths.
	if err != nil || n > uint64(len(b)/6) {
		return nil, bad
	}
	if n > stage.MaxStages {
		return nil, fmt.Errorf("leadkit beam: verify accumulator: %d stages, at most %d (stage.MaxStages)", n, stage.MaxStages)
	}
	a := &verifyAccumulator{stages: make([]stageAccumulators, n)}
	for i := range a.stages {
		st := &a.stages[i]
		if st.stage, b, err = readString(b); err != nil || len(b) < 2 {
			return nil, bad
		}
		flags, capped := b[0], b[1]
		b = b[2:]
		if flags > 3 {
			return nil, fmt.Errorf("leadkit beam: verify accumulator: flags %d", flags)
		}
		st.age, st.cycle, st.nurture = new(journey.SourceAgeAccumulator), new(journey.CycleAccumulator), new(journey.NurtureAccumulator)
		if flags&2 != 0 {
			st.credits = new(lifecycle.CreditAccumulator)
		}
		if flags&1 != 0 {
			st.phases, st.oldLeads = new(journey.ContentPhaseAccumulator), new(journey.OldLeadNurtureAccumulator)
		}
		var marks uint8
		st.each(func(bit int, acc accumulator) {
			marks |= 1 << bit
			if err != nil {
				return
			}
			var enc string
			if enc, b, err = readString(b); err != nil {
				err = bad
				return
			}
			err = acc.UnmarshalBinary([]byte(enc))
		})
		if err != nil {
			return nil, err
		}
		if capped&^marks != 0 {
			return nil, fmt.Errorf("leadkit beam: verify accumulator: capped marks %#x of accumulators the stage has not", capped)
		}
		st.capped = capped
	}
	if len(b) > 0 {
		return nil, fmt.Errorf("leadkit beam: verify accumulator: %d bytes after the end", len(b))
	}
	return a, nil
}

func encodeLead(v leadkit.Lead) ([]byte, error) { return encodeTotal(v) }

func decodeLead(b []byte) (leadkit.Lead, error) { return unmarshalTotal[leadkit.Lead](b) }

func encodeRejectedLead(v RejectedLead) ([]byte, error) { return encodeTotal(v) }

func decodeRejectedLead(b []byte) (RejectedLead, error) { return unmarshalTotal[RejectedLead](b) }

func encodeTenantJourney(v TenantJourney) ([]byte, error) { return encodeTotal(v) }

func decodeTenantJourney(b []byte) (TenantJourney, error) { return unmarshalTotal[TenantJourney](b) }

func encodeRejectedJourney(v RejectedJourney) ([]byte, error) { return encodeTotal(v) }

func decodeRejectedJourney(b []byte) (RejectedJourney, error) {
	return unmarshalTotal[RejectedJourney](b)
}

func encodeTenantStage(v TenantStage) ([]byte, error) { return json.Marshal(v) }

func decodeTenantStage(b []byte) (TenantStage, error) { return unmarshalJSON[TenantStage](b) }
