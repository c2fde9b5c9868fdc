package beam

import (
	"cmp"
	"encoding/json"
	"hash/fnv"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/binenc"
	"github.com/leadkit/leadkit/journey"
)

func init() {
	register.DoFn3x0[leadkit.Event, func(string, leadkit.Event), func(RejectedEvent)](&validateEventFn{})
	register.Emitter2[string, leadkit.Event]()
	register.Emitter1[RejectedEvent]()
	register.DoFn3x0[string, func(*leadkit.Event) bool, func(TenantTimeline)](&leadTimelineFn{})
	register.Iter1[leadkit.Event]()
	register.Emitter1[TenantTimeline]()
	register.DoFn3x0[TenantTimeline, func(string, journey.Timeline), func(RejectedTimeline)](&keyTimelineFn{})
	register.Emitter2[string, journey.Timeline]()
	register.Emitter1[RejectedTimeline]()
	register.Function2x2(tenantOfShard)
	register.Function2x1(tenantFunnel)
	register.Combiner3[*journey.FunnelAccumulator, journey.Timeline, *journey.FunnelAccumulator](&partialJourneyFn{})
	register.Combiner3[*journey.FunnelAccumulator, *journey.FunnelAccumulator, journey.FunnelResult](&mergeJourneyFn{})

	// Coders, as in coders.go: the accumulator in its binary encoding,
	// the rest as their JSON (event attributes travel as JSON values: a
	// number is a float64 on the other side, as after a store).
	beam.RegisterCoder(reflect.TypeFor[*journey.FunnelAccumulator](), encodeJourneyAccumulator, decodeJourneyAccumulator)
	beam.RegisterCoder(reflect.TypeFor[leadkit.Event](), encodeEvent, decodeEvent)
	beam.RegisterCoder(reflect.TypeFor[journey.Timeline](), encodeTimeline, decodeTimeline)
	beam.RegisterCoder(reflect.TypeFor[journey.FunnelResult](), encodeJourneyResult, decodeJourneyResult)
	beam.RegisterCoder(reflect.TypeFor[TenantTimeline](), encodeTenantTimeline, decodeTenantTimeline)
	beam.RegisterCoder(reflect.TypeFor[TenantFunnel](), encodeTenantFunnel, decodeTenantFunnel)
	beam.RegisterCoder(reflect.TypeFor[RejectedEvent](), encodeRejectedEvent, decodeRejectedEvent)
	beam.RegisterCoder(reflect.TypeFor[RejectedTimeline](), encodeRejectedTimeline, decodeRejectedTimeline)
}

// TenantTimeline is one lead's timeline in one tenant: the element
// Timelines makes and JourneyFunnel reads.
type TenantTimeline struct {
	Tenant   string           `json:"tenant"`
	Timeline journey.Timeline `json:"timeline"`
}

// TenantFunnel is the journey funnel of one tenant's timelines.
type TenantFunnel struct {
	Tenant string               `json:"tenant"`
	Result journey.FunnelResult `json:"result"`
}

// RejectedEvent is an event Timelines left out, with the reason (the
// error of leadkit.Event.Validate, which wraps leadkit.ErrInvalid).
type RejectedEvent struct {
	Tenant string        `json:"tenant"`
	Event  leadkit.Event `json:"event"`
	Reason string        `json:"reason"`
}

// RejectedTimeline is a timeline JourneyFunnel left out: one of its
// events made a step's When predicate fail at run time (an attribute of
// the wrong type, over the size caps), so journey.FunnelAccumulator.Add
// refuses it, as journey.Funnel skips and reports it. Reason is Add's
// error, naming the bad events.
type RejectedTimeline struct {
	Tenant   string           `json:"tenant"`
	Timeline journey.Timeline `json:"timeline"`
	Reason   string           `json:"reason"`
}

// Timelines groups events, a PCollection of leadkit.Event of one tenant,
// into one TenantTimeline per lead: result is a PCollection of
// TenantTimeline. rejected holds the events that fail
// leadkit.Event.Validate, as RejectedEvent; they are in no timeline and
// the pipeline goes on.
//
// The tenant is a parameter, not a field of the input: leadkit.Event has
// no tenant (a store is per tenant), and a pipeline reads one tenant's
// events from one source (its table, its files). A pipeline over several
// tenants calls Timelines once per tenant's source and may Flatten the
// results: JourneyFunnel keeps the tenants apart. The tenant must be
// non-empty text of at most leadkit.MaxIDBytes without NUL bytes, else
// Timelines returns an error (wrapping leadkit.ErrInvalid) before the
// pipeline runs.
//
// A lead's events are sorted by time, then ID (then type, channel,
// campaign and content, then the whole event), so the timeline is the
// same whatever order the runner delivers them in. A store keeps
// same-time events in the order they were appended, which a pipeline
// cannot know: where that order matters (the order of two touches of one
// instant in a path; the journey funnel does not depend on it), the
// pipeline's results equal the in-memory library's over timelines sorted
// the same way, by time then ID. Events are not deduplicated: an event
// delivered twice is in the timeline twice. The input is taken in the
// global window, whatever windows its source made.
func Timelines(s beam.Scope, tenant string, events beam.PCollection) (timelines, rejected beam.PCollection, err error) {
	if err := checkTenant("timelines", tenant); err != nil {
		return beam.PCollection{}, beam.PCollection{}, err
	}
	s = s.Scope("leadkit.Timelines")
	good, rejected := beam.ParDo2(s, &validateEventFn{Tenant: tenant}, globalWindow(s, events))
	timelines = beam.ParDo(s, &leadTimelineFn{Tenant: tenant}, beam.GroupByKey(s, good))
	return timelines, rejected, nil
}

// validateEventFn keys each valid event by its lead and sends the others
// to the dead letters.
type validateEventFn struct {
	Tenant string `json:"tenant"`
}

// ProcessElement sends e to good, keyed by lead, or to bad.
func (f *validateEventFn) ProcessElement(e leadkit.Event, good func(string, leadkit.Event), bad func(RejectedEvent)) {
	if err := e.Validate(); err != nil {
		bad(RejectedEvent{Tenant: f.Tenant, Event: e, Reason: err.Error()})
		return
	}
	good(e.LeadID, e)
}

// leadTimelineFn collects one lead's events into its timeline.
type leadTimelineFn struct {
	Tenant string `json:"tenant"`
}

// ProcessElement emits a lead's timeline, sorted.
func (f *leadTimelineFn) ProcessElement(lead string, iter func(*leadkit.Event) bool, emit func(TenantTimeline)) {
	var es []leadkit.Event
	var e leadkit.Event
	for iter(&e) {
		es = append(es, e)
		e = leadkit.Event{}
	}
	slices.SortFunc(es, compareEvents)
	emit(TenantTimeline{Tenant: f.Tenant, Timeline: journey.Timeline{LeadID: lead, Events: es}})
}

func compareEvents(a, b leadkit.Event) int {
	if c := cmp.Or(a.Time.Compare(b.Time), cmp.Compare(a.ID, b.ID), cmp.Compare(a.Type, b.Type),
		cmp.Compare(a.Channel, b.Channel), cmp.Compare(a.Campaign, b.Campaign), cmp.Compare(a.Content, b.Content)); c != 0 {
		return c
	}
	// Two deliveries of one event ID that differ only in their
	// attributes (or lead): ordered by their total form (maps in key
	// order, so bounded and without cycles), so that the timeline does
	// not depend on the order they arrived in.
	return cmp.Compare(eventText(a), eventText(b))
}

// eventText is e's lead and attributes in the total form's binary form
// (maps in key order, bounded, without cycles).
func eventText(e leadkit.Event) string {
	b := binenc.AppendString(nil, e.LeadID)
	return string(attrsPlan.enc(&walker{left: capBytes}, b, reflect.ValueOf(e.Attrs), 0))
}

// attrsPlan is the total form's plan of an event's attributes.
var attrsPlan = planOf(reflect.TypeFor[map[string]any]())

// JourneyFunnel computes the journey funnel of spec over timelines, a
// PCollection of TenantTimeline (from Timelines), with the library's own
// journey.FunnelAccumulator, one funnel per tenant: result is a
// PCollection of TenantFunnel, one per tenant, whose Result equals (as
// JSON, byte for byte) what journey.Funnel returns for that tenant's
// timelines, whatever the runner, the number of workers or bundles and
// the fanout. rejected holds the timelines the accumulator refuses (see
// RejectedTimeline); they are not counted, as journey.Funnel leaves them
// out.
//
// Each tenant's leads are spread over o.Fanout partial accumulators by a
// hash of the lead ID, each combined in a CombinePerKey, and the partial
// accumulators of a tenant merged into its funnel by a second
// CombinePerKey. A lead should be in one timeline only (Timelines makes
// one per lead).
//
// A spec journey.CompileFunnel refuses is an error (wrapping
// leadkit.ErrInvalid) at construction, before the pipeline runs.
func JourneyFunnel(s beam.Scope, spec journey.FunnelSpec, timelines beam.PCollection, o FunnelOptions) (result, rejected beam.PCollection, err error) {
	if _, err := journey.CompileFunnel(spec); err != nil {
		return beam.PCollection{}, beam.PCollection{}, err
	}
	fanout := o.Fanout
	if fanout <= 0 {
		fanout = DefaultFanout
	}
	s = s.Scope("leadkit.JourneyFunnel")
	keyed, rejected := beam.ParDo2(s, &keyTimelineFn{Spec: spec, Fanout: fanout}, globalWindow(s, timelines))
	partial := beam.CombinePerKey(s, &partialJourneyFn{Spec: spec}, keyed)
	byTenant := beam.CombinePerKey(s, &mergeJourneyFn{Spec: spec}, beam.ParDo(s, tenantOfShard, partial))
	result = beam.ParDo(s, tenantFunnel, byTenant)
	return result, rejected, nil
}

// keyTimelineFn keys each timeline by its tenant and partial funnel, and
// sends the timelines the funnel refuses to the dead letters: it adds
// each one to a scratch accumulator first (the same Add the combine runs,
// so what passes here is counted there).
type keyTimelineFn struct {
	Spec   journey.FunnelSpec `json:"spec"`
	Fanout int                `json:"fanout"`

	f       *journey.CompiledFunnel
	scratch *journey.FunnelAccumulator
	added   int
}

// Setup compiles the funnel once per instance.
func (f *keyTimelineFn) Setup() error {
	var err error
	f.f, err = journey.CompileFunnel(f.Spec)
	return err
}

// ProcessElement emits tl keyed by tenant and partial funnel, or to bad.
func (f *keyTimelineFn) ProcessElement(tl TenantTimeline, good func(string, journey.Timeline), bad func(RejectedTimeline)) {
	if err := checkTenant("journey funnel", tl.Tenant); err != nil {
		bad(RejectedTimeline{Tenant: tl.Tenant, Timeline: tl.Timeline, Reason: err.Error()})
		return
	}
	if f.scratch == nil || f.added >= 1024 { // the scratch keeps durations: renew it
		f.scratch, f.added = f.f.NewAccumulator(), 0
	}
	f.added++
	if err := f.scratch.Add(tl.Timeline); err != nil {
		bad(RejectedTimeline{Tenant: tl.Tenant, Timeline: tl.Timeline, Reason: err.Error()})
		return
	}
	h := fnv.New32a()
	h.Write([]byte(tl.Timeline.LeadID))
	good(tl.Tenant+"\x00"+strconv.Itoa(int(h.Sum32()%uint32(f.Fanout))), tl.Timeline)
}

// tenantOfShard drops the partial funnel from a partial accumulator's key.
func tenantOfShard(key string, acc *journey.FunnelAccumulator) (string, *journey.FunnelAccumulator) {
	tenant, _, _ := strings.Cut(key, "\x00")
	return tenant, acc
}

func tenantFunnel(tenant string, r journey.FunnelResult) TenantFunnel {
	return TenantFunnel{Tenant: tenant, Result: r}
}

// partialJourneyFn adds timelines to a journey.FunnelAccumulator; its
// output is the accumulator itself, for mergeJourneyFn.
type partialJourneyFn struct {
	Spec journey.FunnelSpec `json:"spec"`

	f *journey.CompiledFunnel
}

func compiled(spec journey.FunnelSpec, f **journey.CompiledFunnel) (*journey.FunnelAccumulator, error) {
	if *f == nil {
		c, err := journey.CompileFunnel(spec)
		if err != nil {
			return nil, err
		}
		*f = c
	}
	return (*f).NewAccumulator(), nil
}

// CreateAccumulator returns an empty funnel of the spec (compiled once
// per instance).
func (f *partialJourneyFn) CreateAccumulator() (*journey.FunnelAccumulator, error) {
	return compiled(f.Spec, &f.f)
}

// AddInput adds one lead's timeline.
func (f *partialJourneyFn) AddInput(a *journey.FunnelAccumulator, tl journey.Timeline) (*journey.FunnelAccumulator, error) {
	return a, a.Add(tl)
}

// MergeAccumulators merges b into a.
func (f *partialJourneyFn) MergeAccumulators(a, b *journey.FunnelAccumulator) (*journey.FunnelAccumulator, error) {
	return a, a.Merge(b)
}

// ExtractOutput returns the accumulator itself.
func (f *partialJourneyFn) ExtractOutput(a *journey.FunnelAccumulator) *journey.FunnelAccumulator {
	return a
}

// mergeJourneyFn merges partial accumulators into the funnel's result.
type mergeJourneyFn struct {
	Spec journey.FunnelSpec `json:"spec"`

	f *journey.CompiledFunnel
}

// CreateAccumulator returns an empty funnel of the spec.
func (f *mergeJourneyFn) CreateAccumulator() (*journey.FunnelAccumulator, error) {
	return compiled(f.Spec, &f.f)
}

// AddInput merges one partial funnel.
func (f *mergeJourneyFn) AddInput(a, partial *journey.FunnelAccumulator) (*journey.FunnelAccumulator, error) {
	return a, a.Merge(partial)
}

// MergeAccumulators merges b into a.
func (f *mergeJourneyFn) MergeAccumulators(a, b *journey.FunnelAccumulator) (*journey.FunnelAccumulator, error) {
	return a, a.Merge(b)
}

// ExtractOutput returns the funnel.
func (f *mergeJourneyFn) ExtractOutput(a *journey.FunnelAccumulator) journey.FunnelResult {
	return a.Result()
}

func encodeJourneyAccumulator(a *journey.FunnelAccumulator) ([]byte, error) { return a.MarshalBinary() }

func decodeJourneyAccumulator(b []byte) (*journey.FunnelAccumulator, error) {
	return unmarshalNew[journey.FunnelAccumulator](b)
}

func encodeJourneyResult(v journey.FunnelResult) ([]byte, error) { return json.Marshal(v) }

func decodeJourneyResult(b []byte) (journey.FunnelResult, error) {
	return unmarshalJSON[journey.FunnelResult](b)
}

func encodeTenantFunnel(v TenantFunnel) ([]byte, error) { return json.Marshal(v) }

func decodeTenantFunnel(b []byte) (TenantFunnel, error) { return unmarshalJSON[TenantFunnel](b) }

func encodeRejectedEvent(v RejectedEvent) ([]byte, error) { return encodeTotal(v) }

func decodeRejectedEvent(b []byte) (RejectedEvent, error) { return unmarshalTotal[RejectedEvent](b) }

func encodeRejectedTimeline(v RejectedTimeline) ([]byte, error) { return encodeTotal(v) }

func decodeRejectedTimeline(b []byte) (RejectedTimeline, error) {
	return unmarshalTotal[RejectedTimeline](b)
}
