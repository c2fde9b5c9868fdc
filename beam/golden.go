package beam

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/journey"
)

func init() {
	register.DoFn3x1[TenantJourney, func(string, goldenSeq), func(RejectedJourney), error](&keyGoldenFn{})
	register.Emitter2[string, goldenSeq]()
	register.Combiner3[*goldenAccumulator, goldenSeq, *goldenAccumulator](&partialGoldenFn{})
	register.Function2x2(tenantOfGoldenShard)
	register.Combiner3[*goldenAccumulator, *goldenAccumulator, TenantGoldenPaths](&mergeGoldenFn{})
	register.Function2x1(tenantGoldenPaths)

	beam.RegisterCoder(reflect.TypeFor[goldenSeq](), encodeGoldenSeq, decodeGoldenSeq)
	beam.RegisterCoder(reflect.TypeFor[*goldenAccumulator](), encodeGoldenAccumulator, decodeGoldenAccumulator)
	beam.RegisterCoder(reflect.TypeFor[TenantGoldenPaths](), encodeTenantGoldenPaths, decodeTenantGoldenPaths)
}

// GoldenSpec is what GoldenPaths mines: the stage a lead converts by
// entering, the event field its touches are named by, and the pattern
// options. It is data (JSON or YAML), checked at construction.
type GoldenSpec struct {
	// Stage is the conversion stage (required): a lead with an entry into
	// it is a converter, its sequence cut after its first entry, as
	// journey.ConversionPaths cuts it.
	Stage string `json:"stage"`
	// Key names each touch by an event field (journey.KeyChannel,
	// KeyType, KeyCampaign or KeyContent; required).
	Key journey.Key `json:"key"`
	// Patterns are the mining options of journey.GoldenPaths (the zero
	// value mines every pattern; MaxGap is refused: sequences here carry
	// no times).
	Patterns journey.PatternOptions `json:"patterns"`
}

// TenantGoldenPaths is the golden conversion paths of one tenant's
// journeys into a stage: what journey.GoldenPaths returns for the
// tenant's journey.ConversionPaths.
type TenantGoldenPaths struct {
	Tenant string `json:"tenant"`
	Stage  string `json:"stage"`
	// Paths are ranked as journey.GoldenPaths ranks them; nil when Error
	// is set.
	Paths []journey.GoldenPath `json:"paths"`
	// Error is why the paths could not be mined (more patterns than
	// PatternOptions.MaxPatterns), if so: the error journey.GoldenPaths
	// returns then.
	Error string `json:"error,omitempty"`
}

// GoldenPaths finds each tenant's golden conversion paths into
// spec.Stage over journeys, a PCollection of TenantJourney (from
// Journeys): result is a PCollection of TenantGoldenPaths, one per tenant
// with a journey, equal (as JSON, byte for byte) to
//
//	journey.GoldenPaths(journey.ConversionPaths(timelines, visits, spec.Stage, spec.Key), spec.Patterns)
//
// over the tenant's journeys' timelines and visits, whatever the runner,
// workers, bundles and fanout. The result does not depend on the order
// of the sequences (the miner counts a multiset; ties are ranked by
// items), only on each lead's sequence, which follows its events' order:
// Journeys sorts them by time then ID, so same-time events are in ID
// order (journey.NewTimeline keeps them in input order: sort them the
// same way for a comparison).
//
// Each journey is cut into its lead's sequence by
// journey.ConversionPaths, one lead at a time, and added to one of two
// journey.PatternAccumulators (converted, other) of a partial
// accumulator: a tenant's leads are spread over o.Fanout partials by a
// hash of the lead ID, the partials travel in the accumulators' binary
// encoding and are merged per tenant, and the patterns are mined once,
// by PatternAccumulator.GoldenPaths. The accumulators keep the distinct
// sequences with counts, so what meets on one worker grows with the
// distinct paths, not the leads.
//
// A journey that is not as Journeys makes it (an event or visit of
// another lead, a bad event or visit, a bad tenant) or whose sequence
// the accumulator refuses goes to rejected as a RejectedJourney with the
// reason, and counts nowhere (not in the base rate either).
//
// A spec with no stage, an unknown key or pattern options
// journey.NewPatternAccumulator refuses is an error (wrapping
// leadkit.ErrInvalid) at construction.
func GoldenPaths(s beam.Scope, spec GoldenSpec, journeys beam.PCollection, o FunnelOptions) (result, rejected beam.PCollection, err error) {
	if err := spec.check(); err != nil {
		return beam.PCollection{}, beam.PCollection{}, err
	}
	fanout := o.Fanout
	if fanout <= 0 {
		fanout = DefaultFanout
	}
	s = s.Scope("leadkit.GoldenPaths")
	keyed, rejected := beam.ParDo2(s, &keyGoldenFn{Spec: spec, Fanout: fanout}, globalWindow(s, journeys))
	partial := beam.CombinePerKey(s, &partialGoldenFn{Spec: spec}, keyed)
	merged := beam.CombinePerKey(s, &mergeGoldenFn{Spec: spec}, beam.ParDo(s, tenantOfGoldenShard, partial))
	result = beam.ParDo(s, tenantGoldenPaths, merged)
	return result, rejected, nil
}

func (spec GoldenSpec) check() error {
	if _, _, err := journey.ConversionPaths(nil, nil, spec.Stage, spec.Key); err != nil {
		return fmt.Errorf("beam: golden paths: %w", err)
	}
	if msg := leadkit.CheckText(spec.Stage, leadkit.MaxNameBytes); msg != "" {
		return fmt.Errorf("beam: golden paths: %w: stage %s", leadkit.ErrInvalid, msg)
	}
	if _, err := journey.NewPatternAccumulator(spec.Patterns); err != nil {
		return fmt.Errorf("beam: golden paths: %w", err)
	}
	return nil
}

// goldenSeq is one lead's sequence: converted or not.
type goldenSeq struct {
	Converted bool     `json:"converted"`
	Items     []string `json:"items"`
}

// keyGoldenFn cuts each journey into its lead's sequence, keyed by
// tenant and partial accumulator, or sends the journey to the dead
// letters.
type keyGoldenFn struct {
	Spec   GoldenSpec `json:"spec"`
	Fanout int        `json:"fanout"`

	scratch *journey.PatternAccumulator
	added   int
}

// ProcessElement emits j's sequence keyed by tenant and shard, or j to bad.
func (f *keyGoldenFn) ProcessElement(j TenantJourney, good func(string, goldenSeq), bad func(RejectedJourney)) error {
	reject := func(err error) { bad(RejectedJourney{Tenant: j.Tenant, Journey: j.Journey, Reason: err.Error()}) }
	if err := checkJourney("golden paths", j); err != nil {
		reject(err)
		return nil
	}
	conv, other, err := journey.ConversionPaths([]journey.Timeline{j.Journey.Timeline}, j.Journey.Visits, f.Spec.Stage, f.Spec.Key)
	if err != nil {
		reject(err)
		return nil
	}
	var seq goldenSeq
	switch {
	case len(conv) == 1 && len(other) == 0:
		seq = goldenSeq{Converted: true, Items: conv[0]}
	case len(conv) == 0 && len(other) == 1:
		seq = goldenSeq{Items: other[0]}
	default: // checkJourney keeps every visit of the lead: cannot happen
		reject(fmt.Errorf("beam: golden paths: %w: lead %q cut into %d sequences", leadkit.ErrInvalid, j.Journey.LeadID, len(conv)+len(other)))
		return nil
	}
	// The accumulator's own check, on a scratch accumulator (renewed:
	// it keeps the distinct sequences).
	if f.scratch == nil || f.added >= 1024 {
		if f.scratch, err = journey.NewPatternAccumulator(f.Spec.Patterns); err != nil {
			return err
		}
		f.added = 0
	}
	f.added++
	if err := f.scratch.Add(seq.Items); err != nil {
		reject(err)
		return nil
	}
	h := fnv.New32a()
	h.Write([]byte(j.Journey.LeadID))
	good(j.Tenant+"\x00"+strconv.Itoa(int(h.Sum32()%uint32(f.Fanout))), seq)
	return nil
}

// checkJourney refuses a journey Journeys could not have made: a bad
// tenant, bad events or visits or creation time (as journey.Journeys
// refuses them), a visit of another lead.
func checkJourney(what string, j TenantJourney) error {
	if err := checkTenant(what, j.Tenant); err != nil {
		return err
	}
	var created map[string]time.Time
	if !j.Journey.Created.IsZero() {
		created = map[string]time.Time{j.Journey.LeadID: j.Journey.Created}
	}
	if _, err := journey.Journeys([]journey.Timeline{j.Journey.Timeline}, j.Journey.Visits, created); err != nil {
		return fmt.Errorf("beam: %s: %w", what, err)
	}
	for _, v := range j.Journey.Visits {
		if v.LeadID != j.Journey.LeadID {
			return fmt.Errorf("beam: %s: %w: a visit of lead %q in the journey of %q", what, leadkit.ErrInvalid, v.LeadID, j.Journey.LeadID)
		}
	}
	return nil
}

func tenantOfGoldenShard(key string, a *goldenAccumulator) (string, *goldenAccumulator) {
	tenant, _, _ := strings.Cut(key, "\x00")
	return tenant, a
}

func tenantGoldenPaths(tenant string, r TenantGoldenPaths) TenantGoldenPaths {
	r.Tenant = tenant
	return r
}

// goldenAccumulator is the converted and the other sequences, each in
// the library's journey.PatternAccumulator.
type goldenAccumulator struct {
	converted, other *journey.PatternAccumulator
}

func newGoldenAccumulator(opts journey.PatternOptions) (*goldenAccumulator, error) {
	c, err := journey.NewPatternAccumulator(opts)
	if err != nil {
		return nil, err
	}
	o, err := journey.NewPatternAccumulator(opts)
	if err != nil {
		return nil, err
	}
	return &goldenAccumulator{converted: c, other: o}, nil
}

func (a *goldenAccumulator) merge(b *goldenAccumulator) error {
	if err := a.converted.Merge(b.converted); err != nil {
		return err
	}
	return a.other.Merge(b.other)
}

// partialGoldenFn adds sequences to a goldenAccumulator; its output is
// the accumulator itself.
type partialGoldenFn struct {
	Spec GoldenSpec `json:"spec"`
}

// CreateAccumulator returns empty accumulators of the pattern options.
func (f *partialGoldenFn) CreateAccumulator() (*goldenAccumulator, error) {
	return newGoldenAccumulator(f.Spec.Patterns)
}

// AddInput adds one lead's sequence.
func (f *partialGoldenFn) AddInput(a *goldenAccumulator, s goldenSeq) (*goldenAccumulator, error) {
	if s.Converted {
		return a, a.converted.Add(s.Items)
	}
	return a, a.other.Add(s.Items)
}

// MergeAccumulators merges b into a.
func (f *partialGoldenFn) MergeAccumulators(a, b *goldenAccumulator) (*goldenAccumulator, error) {
	return a, a.merge(b)
}

// ExtractOutput returns the accumulator itself.
func (f *partialGoldenFn) ExtractOutput(a *goldenAccumulator) *goldenAccumulator { return a }

// mergeGoldenFn merges a tenant's partial accumulators and mines them.
type mergeGoldenFn struct {
	Spec GoldenSpec `json:"spec"`
}

// CreateAccumulator returns empty accumulators of the pattern options.
func (f *mergeGoldenFn) CreateAccumulator() (*goldenAccumulator, error) {
	return newGoldenAccumulator(f.Spec.Patterns)
}

// AddInput merges one partial accumulator.
func (f *mergeGoldenFn) AddInput(a, partial *goldenAccumulator) (*goldenAccumulator, error) {
	return a, a.merge(partial)
}

// MergeAccumulators merges b into a.
func (f *mergeGoldenFn) MergeAccumulators(a, b *goldenAccumulator) (*goldenAccumulator, error) {
	return a, a.merge(b)
}

// ExtractOutput mines the golden paths (the tenant is set after).
func (f *mergeGoldenFn) ExtractOutput(a *goldenAccumulator) TenantGoldenPaths {
	r := TenantGoldenPaths{Stage: f.Spec.Stage}
	paths, err := a.converted.GoldenPaths(a.other)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	r.Paths = paths
	return r
}

// A goldenAccumulator travels as its two accumulators' own encodings,
// converted then other, each length-prefixed.
func encodeGoldenAccumulator(a *goldenAccumulator) ([]byte, error) {
	c, err := a.converted.MarshalBinary()
	if err != nil {
		return nil, err
	}
	o, err := a.other.MarshalBinary()
	if err != nil {
		return nil, err
	}
	return appendString(appendString(nil, string(c)), string(o)), nil
}

func decodeGoldenAccumulator(b []byte) (*goldenAccumulator, error) {
	c, b, err := readString(b)
	if err != nil {
		return nil, fmt.Errorf("leadkit beam: golden accumulator: %w", err)
	}
	o, b, err := readString(b)
	if err != nil {
		return nil, fmt.Errorf("leadkit beam: golden accumulator: %w", err)
	}
	if len(b) > 0 {
		return nil, fmt.Errorf("leadkit beam: golden accumulator: %d bytes after the end", len(b))
	}
	a := &goldenAccumulator{converted: new(journey.PatternAccumulator), other: new(journey.PatternAccumulator)}
	if err := a.converted.UnmarshalBinary([]byte(c)); err != nil {
		return nil, err
	}
	if err := a.other.UnmarshalBinary([]byte(o)); err != nil {
		return nil, err
	}
	return a, nil
}

func encodeGoldenSeq(v goldenSeq) ([]byte, error) { return json.Marshal(v) }

func decodeGoldenSeq(b []byte) (goldenSeq, error) { return unmarshalJSON[goldenSeq](b) }

func encodeTenantGoldenPaths(v TenantGoldenPaths) ([]byte, error) { return json.Marshal(v) }

func decodeTenantGoldenPaths(b []byte) (TenantGoldenPaths, error) {
	return unmarshalJSON[TenantGoldenPaths](b)
}
