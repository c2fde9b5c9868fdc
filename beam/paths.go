package beam

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/attribution"
	"github.com/leadkit/leadkit/journey"
)

func init() {
	register.DoFn3x0[TenantTimeline, func(TenantPath), func(RejectedTimeline)](&pathFn{})
	register.Emitter1[TenantPath]()
	register.DoFn3x0[TenantPath, func(string, attribution.Path), func(RejectedPath)](&keyPathFn{})
	register.Combiner1[attribution.Path](&sumPathFn{})
	register.DoFn4x0[string, attribution.Path, func(string, attribution.Path), func(RejectedPath)](&checkPathFn{})
	register.Emitter2[string, attribution.Path]()
	register.Combiner3[[]attribution.Path, attribution.Path, []attribution.Path](&pathTableFn{})
	register.Function2x1(tenantPaths)
	register.DoFn2x0[TenantPaths, func(TenantCredit)](&attributeFn{})
	register.Emitter1[TenantCredit]()
	register.Function1x1(pathOfTenant)

	beam.RegisterCoder(reflect.TypeFor[TenantPath](), encodeTenantPath, decodeTenantPath)
	beam.RegisterCoder(reflect.TypeFor[TenantPaths](), encodeTenantPaths, decodeTenantPaths)
	beam.RegisterCoder(reflect.TypeFor[TenantCredit](), encodeTenantCredit, decodeTenantCredit)
}

// TenantPath is one lead's path in one tenant: the touches of its
// timeline up to its conversion, with 1 conversion (and its value) or 1
// null. Paths makes one per lead.
type TenantPath struct {
	Tenant string           `json:"tenant"`
	Path   attribution.Path `json:"path"`
}

// TenantPaths is one tenant's path table: its leads' paths with
// identical paths summed, in canonical order (by channels, compared
// element by element as strings), the input the path models take.
type TenantPaths struct {
	Tenant string             `json:"tenant"`
	Paths  []attribution.Path `json:"paths"`
}

// TenantCredit is one path model's credit over one tenant's path table.
type TenantCredit struct {
	Tenant string `json:"tenant"`
	// Model names the model as PathModels' JSON does ("first_touch",
	// "last_touch", "last_non_direct", "linear", "position_based",
	// "markov", "shapley").
	Model string `json:"model"`
	// Result is the model's credit; empty when Error is set.
	Result attribution.Result `json:"result"`
	// Error is why the model could not credit the table (over one of its
	// caps: attribution.MaxPaths, the Markov model's states, Shapley's
	// channels), if so.
	Error string `json:"error,omitempty"`
}

// Paths cuts each timeline at its conversion by conv into its lead's
// path, by the rules of attribution.PathsFromTimelines (the same cut, one
// timeline at a time): result is a PCollection of TenantPath, one per
// timeline. A timeline the cut refuses (see attribution.Conversion: an
// event time out of range, a bad touch key, a value that is not a number,
// over attribution.MaxPathTouches touches) goes to rejected as a
// RejectedTimeline with the reason, and the pipeline goes on.
//
// The paths feed MarkovAttribution (after dropping the tenant, for one
// tenant's timelines) or PathCounts and Attribute (per tenant).
//
// A conv that attribution.Conversion.Validate refuses is an error
// (wrapping leadkit.ErrInvalid) at construction.
func Paths(s beam.Scope, conv attribution.Conversion, timelines beam.PCollection) (paths, rejected beam.PCollection, err error) {
	if err := conv.Validate(); err != nil {
		return beam.PCollection{}, beam.PCollection{}, err
	}
	s = s.Scope("leadkit.Paths")
	paths, rejected = beam.ParDo2(s, &pathFn{Conv: conv}, timelines)
	return paths, rejected, nil
}

// PathsOnly drops the tenant of TenantPath elements, for the transforms
// that take plain attribution.Path (MarkovAttribution): use it on one
// tenant's paths.
func PathsOnly(s beam.Scope, paths beam.PCollection) beam.PCollection {
	return beam.ParDo(s.Scope("leadkit.PathsOnly"), pathOfTenant, paths)
}

func pathOfTenant(p TenantPath) attribution.Path { return p.Path }

// pathFn cuts one timeline into its path.
type pathFn struct {
	Conv attribution.Conversion `json:"conv"`
}

// ProcessElement emits tl's path, or tl to bad.
func (f *pathFn) ProcessElement(tl TenantTimeline, good func(TenantPath), bad func(RejectedTimeline)) {
	ps, err := attribution.PathsFromTimelines([]journey.Timeline{tl.Timeline}, f.Conv)
	if err != nil || len(ps) != 1 {
		if err == nil {
			err = errors.New("no path")
		}
		bad(RejectedTimeline{Tenant: tl.Tenant, Timeline: tl.Timeline, Reason: err.Error()})
		return
	}
	good(TenantPath{Tenant: tl.Tenant, Path: ps[0]})
}

// PathCounts sums identical paths of each tenant into its path table:
// result is a PCollection of TenantPaths, one per tenant, whose paths
// equal what attribution.PathsFromTimelines returns for that tenant's
// timelines put in canonical order (by channels), with the same counts.
// Conversions and nulls are whole numbers and sum exactly in any order;
// values sum exactly when they are whole numbers below 2^53 (amounts in
// cents or units), otherwise up to rounding, in an order the runner
// decides.
//
// A summed path over attribution.MaxPathCount (values near the cap on
// many leads) is left out, as PathsFromTimelines leaves it out, and goes
// to rejected as a RejectedPath naming its tenant, as does a path of a
// bad tenant (checked as Timelines checks it) or an invalid path (one not
// made by Paths). Paths are summed per path across workers (a CombinePerKey keyed by tenant and channels);
// only the distinct paths of a tenant meet on one worker, at most
// attribution.MaxPaths of them for the models to take.
func PathCounts(s beam.Scope, paths beam.PCollection) (tables, rejected beam.PCollection) {
	s = s.Scope("leadkit.PathCounts")
	keyed, badTenants := beam.ParDo2(s, &keyPathFn{}, globalWindow(s, paths))
	summed := beam.CombinePerKey(s, &sumPathFn{}, keyed)
	checked, overCap := beam.ParDo2(s, &checkPathFn{}, summed)
	tables = beam.ParDo(s, tenantPaths, beam.CombinePerKey(s, &pathTableFn{}, checked))
	return tables, beam.Flatten(s, badTenants, overCap)
}

// keyPathFn keys a path by its tenant and channels (NUL bytes separate
// them: no valid tenant or channel holds one); a path of a bad tenant or
// an invalid path goes to the dead letters.
type keyPathFn struct{}

// ProcessElement emits p keyed, or to bad.
func (*keyPathFn) ProcessElement(p TenantPath, good func(string, attribution.Path), bad func(RejectedPath)) {
	err := checkTenant("path counts", p.Tenant)
	if err == nil {
		err = attribution.ValidatePaths([]attribution.Path{p.Path})
	}
	if err != nil {
		bad(RejectedPath{Tenant: p.Tenant, Path: p.Path, Reason: err.Error()})
		return
	}
	good(keyPath(p))
}

func keyPath(p TenantPath) (string, attribution.Path) {
	var b strings.Builder
	b.WriteString(p.Tenant)
	for _, ch := range p.Path.Channels {
		b.WriteByte(0)
		b.WriteString(ch)
	}
	return b.String(), p.Path
}

// sumPathFn sums the counts of identical paths.
type sumPathFn struct{}

// MergeAccumulators adds b's counts to a's (the channels are the same).
func (*sumPathFn) MergeAccumulators(a, b attribution.Path) attribution.Path {
	if a.Channels == nil {
		a.Channels = b.Channels
	}
	a.Conversions += b.Conversions
	a.Value += b.Value
	a.Nulls += b.Nulls
	return a
}

// checkPathFn keys a summed path by its tenant, or sends it to the dead
// letters if its sums are over the caps.
type checkPathFn struct{}

// ProcessElement emits the path keyed by tenant, or to bad.
func (*checkPathFn) ProcessElement(key string, p attribution.Path, good func(string, attribution.Path), bad func(RejectedPath)) {
	tenant, _, _ := strings.Cut(key, "\x00")
	if err := attribution.ValidatePaths([]attribution.Path{p}); err != nil {
		reason := strings.TrimPrefix(err.Error(), "attribution: path 0: ")
		bad(RejectedPath{Tenant: tenant, Path: p, Reason: "leadkit beam: path counts: the leads of this path sum over a cap (attribution.MaxPathCount): " + reason})
		return
	}
	good(tenant, p)
}

// pathTableFn collects a tenant's distinct paths into its table, sorted.
type pathTableFn struct{}

// CreateAccumulator returns an empty table.
func (*pathTableFn) CreateAccumulator() []attribution.Path { return nil }

// AddInput adds one distinct path.
func (*pathTableFn) AddInput(a []attribution.Path, p attribution.Path) []attribution.Path {
	return append(a, p)
}

// MergeAccumulators joins two tables of distinct paths.
func (*pathTableFn) MergeAccumulators(a, b []attribution.Path) []attribution.Path {
	return append(a, b...)
}

// ExtractOutput sorts the table.
func (*pathTableFn) ExtractOutput(a []attribution.Path) []attribution.Path {
	SortPaths(a)
	return a
}

// SortPaths puts paths in the canonical order of PathCounts: by
// channels, compared element by element as strings (a path before its
// extensions).
func SortPaths(paths []attribution.Path) {
	slices.SortFunc(paths, func(a, b attribution.Path) int { return slices.Compare(a.Channels, b.Channels) })
}

func tenantPaths(tenant string, paths []attribution.Path) TenantPaths {
	return TenantPaths{Tenant: tenant, Paths: paths}
}

// PathModels chooses the path models Attribute runs; the zero value runs
// none. It is data (JSON or YAML): the models with options take them
// (attribution.Markov, attribution.PositionBased,
// attribution.LastNonDirect), the others are switched on.
type PathModels struct {
	FirstTouch    bool                       `json:"first_touch,omitempty"`
	LastTouch     bool                       `json:"last_touch,omitempty"`
	LastNonDirect *attribution.LastNonDirect `json:"last_non_direct,omitempty"`
	Linear        bool                       `json:"linear,omitempty"`
	PositionBased *attribution.PositionBased `json:"position_based,omitempty"`
	Markov        *attribution.Markov        `json:"markov,omitempty"`
	Shapley       bool                       `json:"shapley,omitempty"`
}

type namedModel struct {
	name  string
	model attribution.Model
}

// models lists the chosen models in a fixed order, each checked.
func (m PathModels) models() ([]namedModel, error) {
	var out []namedModel
	var errs []error
	if m.FirstTouch {
		out = append(out, namedModel{"first_touch", attribution.FirstTouch{}})
	}
	if m.LastTouch {
		out = append(out, namedModel{"last_touch", attribution.LastTouch{}})
	}
	if m.LastNonDirect != nil {
		out = append(out, namedModel{"last_non_direct", *m.LastNonDirect})
	}
	if m.Linear {
		out = append(out, namedModel{"linear", attribution.Linear{}})
	}
	if m.PositionBased != nil {
		if err := m.PositionBased.Validate(); err != nil {
			errs = append(errs, err)
		}
		out = append(out, namedModel{"position_based", *m.PositionBased})
	}
	if m.Markov != nil {
		if err := m.Markov.Validate(); err != nil {
			errs = append(errs, err)
		}
		out = append(out, namedModel{"markov", *m.Markov})
	}
	if m.Shapley {
		out = append(out, namedModel{"shapley", attribution.Shapley{}})
	}
	if len(out) == 0 {
		errs = append(errs, fmt.Errorf("beam: attribute: %w: no path model chosen", leadkit.ErrInvalid))
	}
	return out, errors.Join(errs...)
}

// Attribute runs each model m chooses over each tenant's path table (from
// PathCounts): result is a PCollection of TenantCredit, one per tenant and
// model, whose Result equals the model's Attribute over the same table in
// one process (byte for byte as JSON: the table is in canonical order
// whatever the runner did). A model that cannot credit a table (over a
// cap) gives a TenantCredit with its Error and no result; the other
// models and tenants go on.
//
// The models run on the merged counts: a tenant's table meets on one
// worker, and each model's work grows with its distinct paths, not with
// its leads. Markov over very many distinct paths is cheaper through
// MarkovAttribution, whose partial counts are merged across workers.
//
// A model m refuses (Markov.Validate, PositionBased.Validate), or no
// model, is an error wrapping leadkit.ErrInvalid at construction.
func Attribute(s beam.Scope, m PathModels, tables beam.PCollection) (beam.PCollection, error) {
	if _, err := m.models(); err != nil {
		return beam.PCollection{}, err
	}
	return beam.ParDo(s.Scope("leadkit.Attribute"), &attributeFn{Models: m}, tables), nil
}

// attributeFn runs the models over one tenant's table.
type attributeFn struct {
	Models PathModels `json:"models"`
}

// ProcessElement emits one TenantCredit per model.
func (f *attributeFn) ProcessElement(t TenantPaths, emit func(TenantCredit)) {
	models, _ := f.Models.models() // checked by Attribute
	for _, m := range models {
		c := TenantCredit{Tenant: t.Tenant, Model: m.name}
		r, err := m.model.Attribute(t.Paths)
		if err != nil {
			c.Error = err.Error()
		} else {
			c.Result = r
		}
		emit(c)
	}
}

// TenantPath and the credits travel as JSON (the paths in them are valid,
// so finite); a table as its tenant then its paths in the binary form of
// encodePath (a table can hold millions of paths).

func encodeTenantPath(v TenantPath) ([]byte, error) { return encodeTotal(v) }

func decodeTenantPath(b []byte) (TenantPath, error) { return unmarshalTotal[TenantPath](b) }

func encodeTenantPaths(v TenantPaths) ([]byte, error) {
	b := appendString(nil, v.Tenant)
	b = appendUvarint(b, uint64(len(v.Paths)))
	for _, p := range v.Paths {
		b = appendPath(b, p)
	}
	return b, nil
}

func decodeTenantPaths(b []byte) (TenantPaths, error) {
	var v TenantPaths
	var err error
	if v.Tenant, b, err = readString(b); err != nil {
		return TenantPaths{}, err
	}
	n, b, err := readUvarint(b)
	if err != nil || n > uint64(len(b)) {
		return TenantPaths{}, fmt.Errorf("leadkit beam: path table: truncated")
	}
	v.Paths = make([]attribution.Path, 0, n)
	for range n {
		var p attribution.Path
		if p, b, err = readPath(b); err != nil {
			return TenantPaths{}, err
		}
		v.Paths = append(v.Paths, p)
	}
	if len(b) > 0 {
		return TenantPaths{}, fmt.Errorf("leadkit beam: path table: %d bytes after the end", len(b))
	}
	return v, nil
}

func encodeTenantCredit(v TenantCredit) ([]byte, error) { return json.Marshal(v) }

func decodeTenantCredit(b []byte) (TenantCredit, error) { return unmarshalJSON[TenantCredit](b) }
