package beam

import (
	"encoding/json"
	"hash/fnv"
	"reflect"
	"strconv"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/leadkit/leadkit/pool"
)

func init() {
	register.DoFn3x1[pool.Prospect, func(string, pool.Prospect), func(RejectedProspect), error](&keyProspectFn{})
	register.Emitter2[string, pool.Prospect]()
	register.Emitter1[RejectedProspect]()
	register.Combiner3[*pool.Metrics, pool.Prospect, *pool.Metrics](&partialPoolFn{})
	register.Function2x2(tenantOfPoolShard)
	register.Combiner3[*pool.Metrics, *pool.Metrics, pool.MetricsResult](&mergePoolFn{})
	register.Function2x1(tenantPoolMetrics)

	// Prospects travel as their JSON, which keeps everything
	// pool.Metrics reads exactly (ID, status, source, every time to the
	// nanosecond; a UTC time stays UTC, another keeps its offset, not its
	// zone's name); custom profile fields are JSON values on the other
	// side (a number is a float64), as after a store.
	beam.RegisterCoder(reflect.TypeFor[pool.Prospect](), encodeProspect, decodeProspect)
	beam.RegisterCoder(reflect.TypeFor[*pool.Metrics](), encodePoolMetrics, decodePoolMetrics)
	beam.RegisterCoder(reflect.TypeFor[pool.MetricsResult](), encodeMetricsResult, decodeMetricsResult)
	beam.RegisterCoder(reflect.TypeFor[TenantPoolMetrics](), encodeTenantPoolMetrics, decodeTenantPoolMetrics)
	beam.RegisterCoder(reflect.TypeFor[RejectedProspect](), encodeRejectedProspect, decodeRejectedProspect)
}

// TenantPoolMetrics is the pool's flow over a spec's period for one
// tenant: pool.Metrics' result over the tenant's prospects.
type TenantPoolMetrics struct {
	Tenant string             `json:"tenant"`
	Result pool.MetricsResult `json:"result"`
}

// RejectedProspect is a prospect PoolMetrics left out, with the reason
// (the error of pool.Metrics.Add, which wraps leadkit.ErrInvalid).
type RejectedProspect struct {
	Tenant   string        `json:"tenant"`
	Prospect pool.Prospect `json:"prospect"`
	Reason   string        `json:"reason"`
}

// PoolMetrics measures the prospect pool's flow (size, inflow by source,
// outflow by reason, graduation rate and time, dormancy) over spec's
// period with the library's own pool.Metrics, over prospects, a
// PCollection of pool.Prospect of one tenant (as a store scan lists
// them, merged and erased prospects included): result is a PCollection
// holding one TenantPoolMetrics (none for no valid prospect), whose
// Result equals (as JSON, byte for byte) the Result of one pool.Metrics
// of spec to which every prospect was added, whatever the runner,
// workers, bundles and fanout (the counts add up in any order; the
// medians are exact up to spec.Quantiles' threshold and past it come
// from the same mergeable sketch).
//
// The prospects are spread over o.Fanout partial accumulators by a hash
// of the prospect ID, each combined on its own, and the partials, in
// pool.Metrics' binary encoding, merged into the result. A prospect
// pool.Metrics.Add refuses goes to rejected as a RejectedProspect with
// the reason, and is not counted. Prospects are not deduplicated: a
// prospect listed twice counts twice.
//
// The tenant is a parameter, as for Timelines (a prospect has no tenant;
// a pool's store is per tenant), checked as Timelines checks it; a spec
// pool.NewMetrics refuses is an error (wrapping leadkit.ErrInvalid) at
// construction.
func PoolMetrics(s beam.Scope, tenant string, spec pool.MetricsSpec, prospects beam.PCollection, o FunnelOptions) (result, rejected beam.PCollection, err error) {
	if err := checkTenant("pool metrics", tenant); err != nil {
		return beam.PCollection{}, beam.PCollection{}, err
	}
	if _, err := pool.NewMetrics(spec); err != nil {
		return beam.PCollection{}, beam.PCollection{}, err
	}
	fanout := o.Fanout
	if fanout <= 0 {
		fanout = DefaultFanout
	}
	s = s.Scope("leadkit.PoolMetrics")
	keyed, rejected := beam.ParDo2(s, &keyProspectFn{Tenant: tenant, Spec: spec, Fanout: fanout}, globalWindow(s, prospects))
	partial := beam.CombinePerKey(s, &partialPoolFn{Spec: spec}, keyed)
	merged := beam.CombinePerKey(s, &mergePoolFn{Spec: spec}, beam.ParDo(s, tenantOfPoolShard, partial))
	result = beam.ParDo(s, tenantPoolMetrics, merged)
	return result, rejected, nil
}

// keyProspectFn keys each prospect by tenant and partial accumulator, and
// sends the prospects pool.Metrics refuses to the dead letters: it adds
// each to a scratch accumulator first (the same Add the combine runs).
type keyProspectFn struct {
	Tenant string           `json:"tenant"`
	Spec   pool.MetricsSpec `json:"spec"`
	Fanout int              `json:"fanout"`

	scratch *pool.Metrics
	added   int
}

// ProcessElement emits p keyed by tenant and shard, or to bad.
func (f *keyProspectFn) ProcessElement(p pool.Prospect, good func(string, pool.Prospect), bad func(RejectedProspect)) error {
	if f.scratch == nil || f.added >= 1024 { // the scratch keeps times to graduate: renew it
		m, err := pool.NewMetrics(f.Spec)
		if err != nil {
			return err
		}
		f.scratch, f.added = m, 0
	}
	f.added++
	if err := f.scratch.Add(p); err != nil {
		bad(RejectedProspect{Tenant: f.Tenant, Prospect: p, Reason: err.Error()})
		return nil
	}
	h := fnv.New32a()
	h.Write([]byte(p.ID))
	good(f.Tenant+"\x00"+strconv.Itoa(int(h.Sum32()%uint32(f.Fanout))), p)
	return nil
}

func tenantOfPoolShard(key string, m *pool.Metrics) (string, *pool.Metrics) {
	tenant, _, _ := strings.Cut(key, "\x00")
	return tenant, m
}

func tenantPoolMetrics(tenant string, r pool.MetricsResult) TenantPoolMetrics {
	return TenantPoolMetrics{Tenant: tenant, Result: r}
}

// partialPoolFn adds prospects to a pool.Metrics; its output is the
// accumulator itself.
type partialPoolFn struct {
	Spec pool.MetricsSpec `json:"spec"`
}

// CreateAccumulator returns an empty accumulator of the spec.
func (f *partialPoolFn) CreateAccumulator() (*pool.Metrics, error) { return pool.NewMetrics(f.Spec) }

// AddInput adds one prospect.
func (f *partialPoolFn) AddInput(m *pool.Metrics, p pool.Prospect) (*pool.Metrics, error) {
	return m, m.Add(p)
}

// MergeAccumulators merges b into a.
func (f *partialPoolFn) MergeAccumulators(a, b *pool.Metrics) (*pool.Metrics, error) {
	return a, a.Merge(b)
}

// ExtractOutput returns the accumulator itself.
func (f *partialPoolFn) ExtractOutput(m *pool.Metrics) *pool.Metrics { return m }

// mergePoolFn merges a tenant's partial accumulators into its result.
type mergePoolFn struct {
	Spec pool.MetricsSpec `json:"spec"`
}

// CreateAccumulator returns an empty accumulator of the spec.
func (f *mergePoolFn) CreateAccumulator() (*pool.Metrics, error) { return pool.NewMetrics(f.Spec) }

// AddInput merges one partial accumulator.
func (f *mergePoolFn) AddInput(m, partial *pool.Metrics) (*pool.Metrics, error) {
	return m, m.Merge(partial)
}

// MergeAccumulators merges b into a.
func (f *mergePoolFn) MergeAccumulators(a, b *pool.Metrics) (*pool.Metrics, error) {
	return a, a.Merge(b)
}

// ExtractOutput returns the pool's flow.
func (f *mergePoolFn) ExtractOutput(m *pool.Metrics) pool.MetricsResult { return m.Result() }

func encodePoolMetrics(m *pool.Metrics) ([]byte, error) { return m.MarshalBinary() }

func decodePoolMetrics(b []byte) (*pool.Metrics, error) { return unmarshalNew[pool.Metrics](b) }

func encodeProspect(v pool.Prospect) ([]byte, error) { return encodeTotal(v) }

func decodeProspect(b []byte) (pool.Prospect, error) { return unmarshalTotal[pool.Prospect](b) }

func encodeMetricsResult(v pool.MetricsResult) ([]byte, error) { return json.Marshal(v) }

func decodeMetricsResult(b []byte) (pool.MetricsResult, error) {
	return unmarshalJSON[pool.MetricsResult](b)
}

func encodeTenantPoolMetrics(v TenantPoolMetrics) ([]byte, error) { return json.Marshal(v) }

func decodeTenantPoolMetrics(b []byte) (TenantPoolMetrics, error) {
	return unmarshalJSON[TenantPoolMetrics](b)
}

func encodeRejectedProspect(v RejectedProspect) ([]byte, error) { return encodeTotal(v) }

func decodeRejectedProspect(b []byte) (RejectedProspect, error) {
	return unmarshalTotal[RejectedProspect](b)
}
