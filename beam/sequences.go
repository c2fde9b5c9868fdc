package beam

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"reflect"
	"strconv"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/journey"
)

func init() {
	register.DoFn3x0[TenantTimeline, func(string, []string), func(RejectedTimeline)](&keySequenceFn{})
	register.Emitter2[string, []string]()
	register.Combiner3[*journey.PathAccumulator, []string, *journey.PathAccumulator](&partialSequencesFn{})
	register.Function2x2(tenantOfSequenceShard)
	register.Combiner3[*journey.PathAccumulator, *journey.PathAccumulator, journey.PathResult](&mergeSequencesFn{})
	register.Function2x1(tenantSequences)

	beam.RegisterCoder(reflect.TypeFor[*journey.PathAccumulator](), encodePathAccumulator, decodePathAccumulator)
	beam.RegisterCoder(reflect.TypeFor[journey.PathResult](), encodePathResult, decodePathResult)
	beam.RegisterCoder(reflect.TypeFor[TenantSequences](), encodeTenantSequences, decodeTenantSequences)
}

// TenantSequences counts one tenant's distinct touch sequences: the
// result of journey.PathAccumulator over journey.Sequence of each of its
// timelines.
type TenantSequences struct {
	Tenant string             `json:"tenant"`
	Result journey.PathResult `json:"result"`
}

// Sequences counts the distinct touch sequences of timelines (from
// Timelines), per tenant: each timeline's journey.Sequence by key (its
// events' channels, campaigns, contents or types in time order), added to
// the library's journey.PathAccumulator with opts (truncation, collapsed
// repeats). result is a PCollection of TenantSequences, one per tenant,
// whose Result equals (as JSON, byte for byte) what one PathAccumulator
// over the same timelines' sequences gives, whatever the runner, workers,
// bundles and fanout. A timeline whose sequence the accumulator refuses
// (an item that is not valid text, or a path marker), or of a bad tenant,
// goes to rejected as a RejectedTimeline.
//
// Each tenant's leads are spread over o.Fanout partial accumulators by a
// hash of the lead ID, each travelling in its binary encoding, and merged
// per tenant. A key or opts the library refuses is an error (wrapping
// leadkit.ErrInvalid) at construction.
func Sequences(s beam.Scope, key journey.Key, opts journey.PathOptions, timelines beam.PCollection, o FunnelOptions) (result, rejected beam.PCollection, err error) {
	if _, err := journey.NewPathAccumulator(opts); err != nil {
		return beam.PCollection{}, beam.PCollection{}, err
	}
	switch key {
	case journey.KeyType, journey.KeyChannel, journey.KeyCampaign, journey.KeyContent:
	default:
		return beam.PCollection{}, beam.PCollection{}, fmt.Errorf("beam: sequences: %w: unknown key %q (want type, channel, campaign or content)", leadkit.ErrInvalid, key)
	}
	fanout := o.Fanout
	if fanout <= 0 {
		fanout = DefaultFanout
	}
	s = s.Scope("leadkit.Sequences")
	keyed, rejected := beam.ParDo2(s, &keySequenceFn{Key: key, Opts: opts, Fanout: fanout}, globalWindow(s, timelines))
	partial := beam.CombinePerKey(s, &partialSequencesFn{Opts: opts}, keyed)
	merged := beam.CombinePerKey(s, &mergeSequencesFn{Opts: opts}, beam.ParDo(s, tenantOfSequenceShard, partial))
	return beam.ParDo(s, tenantSequences, merged), rejected, nil
}

// keySequenceFn keys each timeline's sequence by tenant and shard, and
// sends the timelines the accumulator refuses to the dead letters (it
// adds each sequence to a scratch accumulator first: the same Add the
// combine runs).
type keySequenceFn struct {
	Key    journey.Key         `json:"key"`
	Opts   journey.PathOptions `json:"opts"`
	Fanout int                 `json:"fanout"`

	scratch *journey.PathAccumulator
	added   int
}

// ProcessElement emits tl's sequence keyed by tenant and shard, or tl to
// bad.
func (f *keySequenceFn) ProcessElement(tl TenantTimeline, good func(string, []string), bad func(RejectedTimeline)) {
	if err := checkTenant("sequences", tl.Tenant); err != nil {
		bad(RejectedTimeline{Tenant: tl.Tenant, Timeline: tl.Timeline, Reason: err.Error()})
		return
	}
	if f.scratch == nil || f.added >= 1024 { // the scratch keeps distinct paths: renew it
		var err error
		if f.scratch, err = journey.NewPathAccumulator(f.Opts); err != nil {
			bad(RejectedTimeline{Tenant: tl.Tenant, Timeline: tl.Timeline, Reason: err.Error()})
			return
		}
		f.added = 0
	}
	f.added++
	seq := journey.Sequence(tl.Timeline, f.Key)
	if err := f.scratch.Add(seq); err != nil {
		bad(RejectedTimeline{Tenant: tl.Tenant, Timeline: tl.Timeline, Reason: err.Error()})
		return
	}
	h := fnv.New32a()
	h.Write([]byte(tl.Timeline.LeadID))
	good(tl.Tenant+"\x00"+strconv.Itoa(int(h.Sum32()%uint32(f.Fanout))), seq)
}

func tenantOfSequenceShard(key string, a *journey.PathAccumulator) (string, *journey.PathAccumulator) {
	tenant, _, _ := strings.Cut(key, "\x00")
	return tenant, a
}

func tenantSequences(tenant string, r journey.PathResult) TenantSequences {
	return TenantSequences{Tenant: tenant, Result: r}
}

// partialSequencesFn adds sequences to a journey.PathAccumulator; its
// output is the accumulator itself.
type partialSequencesFn struct {
	Opts journey.PathOptions `json:"opts"`
}

// CreateAccumulator returns an empty accumulator of the options.
func (f *partialSequencesFn) CreateAccumulator() (*journey.PathAccumulator, error) {
	return journey.NewPathAccumulator(f.Opts)
}

// AddInput adds one lead's sequence.
func (f *partialSequencesFn) AddInput(a *journey.PathAccumulator, seq []string) (*journey.PathAccumulator, error) {
	return a, a.Add(seq)
}

// MergeAccumulators merges b into a.
func (f *partialSequencesFn) MergeAccumulators(a, b *journey.PathAccumulator) (*journey.PathAccumulator, error) {
	return a, a.Merge(b)
}

// ExtractOutput returns the accumulator itself.
func (f *partialSequencesFn) ExtractOutput(a *journey.PathAccumulator) *journey.PathAccumulator {
	return a
}

// mergeSequencesFn merges a tenant's partial accumulators into its
// result.
type mergeSequencesFn struct {
	Opts journey.PathOptions `json:"opts"`
}

// CreateAccumulator returns an empty accumulator of the options.
func (f *mergeSequencesFn) CreateAccumulator() (*journey.PathAccumulator, error) {
	return journey.NewPathAccumulator(f.Opts)
}

// AddInput merges one partial accumulator.
func (f *mergeSequencesFn) AddInput(a, partial *journey.PathAccumulator) (*journey.PathAccumulator, error) {
	return a, a.Merge(partial)
}

// MergeAccumulators merges b into a.
func (f *mergeSequencesFn) MergeAccumulators(a, b *journey.PathAccumulator) (*journey.PathAccumulator, error) {
	return a, a.Merge(b)
}

// ExtractOutput returns the counts.
func (f *mergeSequencesFn) ExtractOutput(a *journey.PathAccumulator) journey.PathResult {
	return a.Result()
}

func encodePathAccumulator(a *journey.PathAccumulator) ([]byte, error) { return a.MarshalBinary() }

func decodePathAccumulator(b []byte) (*journey.PathAccumulator, error) {
	return unmarshalNew[journey.PathAccumulator](b)
}

func encodePathResult(v journey.PathResult) ([]byte, error) { return json.Marshal(v) }

func decodePathResult(b []byte) (journey.PathResult, error) {
	return unmarshalJSON[journey.PathResult](b)
}

func encodeTenantSequences(v TenantSequences) ([]byte, error) { return json.Marshal(v) }

func decodeTenantSequences(b []byte) (TenantSequences, error) {
	return unmarshalJSON[TenantSequences](b)
}
