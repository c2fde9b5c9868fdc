package beam

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"reflect"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/leadkit/leadkit/attribution"
)

func init() {
	register.DoFn3x0[attribution.Path, func(int, attribution.Path), func(RejectedPath)](&validatePathFn{})
	register.Emitter2[int, attribution.Path]()
	register.Emitter1[RejectedPath]()
	register.Combiner3[*attribution.MarkovCounts, attribution.Path, *attribution.MarkovCounts](&partialMarkovFn{})
	register.Combiner3[*attribution.MarkovCounts, *attribution.MarkovCounts, attribution.Result](&mergeMarkovFn{})

	// What travels between workers: the counts in their own binary
	// encoding (MarshalBinary: versioned, canonical, checked on decode),
	// paths and dead letters in a small binary form (see encodePath), the
	// result as its JSON.
	beam.RegisterCoder(reflect.TypeFor[*attribution.MarkovCounts](), encodeMarkovCounts, decodeMarkovCounts)
	beam.RegisterCoder(reflect.TypeFor[attribution.Path](), encodePath, decodePath)
	beam.RegisterCoder(reflect.TypeFor[attribution.Result](), encodeAttributionResult, decodeAttributionResult)
	beam.RegisterCoder(reflect.TypeFor[RejectedPath](), encodeRejectedPath, decodeRejectedPath)
}

// MarkovOptions tunes MarkovAttribution; the zero value is the default.
type MarkovOptions struct {
	// Fanout is how many partial counts the paths are spread over (by a
	// hash of their channels) before the final merge: each partial count
	// is combined on its own, in parallel, and only the partial counts
	// (whose size grows with the chain's states and transitions, not with
	// the number of paths) meet on one worker. 0 means DefaultFanout; 1
	// combines all paths as one key.
	Fanout int
}

// RejectedPath is a path MarkovAttribution left out, with the reason: the
// dead-letter output. A rejected path is not counted, and the pipeline
// goes on.
type RejectedPath struct {
	// Tenant is the tenant of the path, where the transform knows it
	// (PathCounts); MarkovAttribution takes paths without one.
	Tenant string `json:"tenant,omitempty"`
	// Path is the input as it came.
	Path attribution.Path `json:"path"`
	// Reason is the error of attribution.ValidatePaths that refused it
	// (it wraps leadkit.ErrInvalid).
	Reason string `json:"reason"`
}

// MarkovAttribution credits the channels of paths, a PCollection of
// attribution.Path in any order, with the Markov chain model m, counted
// by the library's own attribution.MarkovCounts: result is a PCollection
// of one attribution.Result (none when no path is valid), the result of
// MarkovCounts.Result over the valid paths, whatever the runner, the number of workers or bundles and
// the fanout. rejected holds the paths that fail
// attribution.ValidatePaths, as RejectedPath.
//
// Each path is added to one of o.Fanout partial counts (by a hash of its
// channels), the partial counts are merged, and the merged counts are
// solved once. Before the solve the merged counts go through their
// canonical encoding (MarshalBinary, UnmarshalBinary), which numbers
// channels and states by name: the solve then does the same arithmetic in
// the same order however the counts were split, so the result is the
// same byte for byte (with transition weights that sum exactly in any
// order, as integer counts do; otherwise up to rounding).
//
// Counts the model cannot solve (over attribution.MaxChannels or
// attribution.MaxMarkovStates, or over its work budget) fail the pipeline
// with the error of MarkovCounts.Result. A model m refuses (see
// attribution.Markov.Validate) is an error, wrapping leadkit.ErrInvalid,
// at construction, before the pipeline runs.
func MarkovAttribution(s beam.Scope, m attribution.Markov, paths beam.PCollection, o MarkovOptions) (result, rejected beam.PCollection, err error) {
	if err := m.Validate(); err != nil {
		return beam.PCollection{}, beam.PCollection{}, err
	}
	fanout := o.Fanout
	if fanout <= 0 {
		fanout = DefaultFanout
	}
	s = s.Scope("leadkit.MarkovAttribution")
	keyed, rejected := beam.ParDo2(s, &validatePathFn{Fanout: fanout}, globalWindow(s, paths))
	partial := beam.DropKey(s, beam.CombinePerKey(s, &partialMarkovFn{Model: m}, keyed))
	result = beam.Combine(s, &mergeMarkovFn{Model: m}, partial)
	return result, rejected, nil
}

// validatePathFn keys each valid path by the partial counts it goes to and
// sends the others to the dead letters.
type validatePathFn struct {
	Fanout int `json:"fanout"`
}

// ProcessElement sends p to good, keyed by partial counts, or to bad.
func (f *validatePathFn) ProcessElement(p attribution.Path, good func(int, attribution.Path), bad func(RejectedPath)) {
	if err := attribution.ValidatePaths([]attribution.Path{p}); err != nil {
		bad(RejectedPath{Path: p, Reason: err.Error()})
		return
	}
	h := fnv.New32a()
	for _, ch := range p.Channels {
		h.Write([]byte(ch))
		h.Write([]byte{0}) // no valid channel name holds a NUL byte
	}
	good(int(h.Sum32()%uint32(f.Fanout)), p)
}

// partialMarkovFn adds paths to an attribution.MarkovCounts; its output is
// the counts themselves, for mergeMarkovFn.
type partialMarkovFn struct {
	Model attribution.Markov `json:"model"`
}

// CreateAccumulator returns empty counts of the model.
func (f *partialMarkovFn) CreateAccumulator() (*attribution.MarkovCounts, error) {
	return attribution.NewMarkovCounts(f.Model)
}

// AddInput adds one path.
func (f *partialMarkovFn) AddInput(c *attribution.MarkovCounts, p attribution.Path) (*attribution.MarkovCounts, error) {
	return c, c.Add(p)
}

// MergeAccumulators merges b into a.
func (f *partialMarkovFn) MergeAccumulators(a, b *attribution.MarkovCounts) (*attribution.MarkovCounts, error) {
	return a, a.Merge(b)
}

// ExtractOutput returns the counts themselves.
func (f *partialMarkovFn) ExtractOutput(c *attribution.MarkovCounts) *attribution.MarkovCounts {
	return c
}

// mergeMarkovFn merges partial counts and solves the model on them.
type mergeMarkovFn struct {
	Model attribution.Markov `json:"model"`
}

// CreateAccumulator returns empty counts of the model.
func (f *mergeMarkovFn) CreateAccumulator() (*attribution.MarkovCounts, error) {
	return attribution.NewMarkovCounts(f.Model)
}

// AddInput merges one partial count.
func (f *mergeMarkovFn) AddInput(a, partial *attribution.MarkovCounts) (*attribution.MarkovCounts, error) {
	return a, a.Merge(partial)
}

// MergeAccumulators merges b into a.
func (f *mergeMarkovFn) MergeAccumulators(a, b *attribution.MarkovCounts) (*attribution.MarkovCounts, error) {
	return a, a.Merge(b)
}

// ExtractOutput solves the model on the merged counts, numbered
// canonically first (see MarkovAttribution).
func (f *mergeMarkovFn) ExtractOutput(a *attribution.MarkovCounts) (attribution.Result, error) {
	canonical, err := canonicalCounts(a)
	if err != nil {
		return attribution.Result{}, err
	}
	r, err := canonical.Result()
	if err != nil {
		return attribution.Result{}, fmt.Errorf("leadkit beam: markov: %w", err)
	}
	return r, nil
}

// canonicalCounts returns c through its encoding: the same counts,
// numbered by name.
func canonicalCounts(c *attribution.MarkovCounts) (*attribution.MarkovCounts, error) {
	b, err := c.MarshalBinary()
	if err != nil {
		return nil, err
	}
	return decodeMarkovCounts(b)
}

func encodeMarkovCounts(c *attribution.MarkovCounts) ([]byte, error) { return c.MarshalBinary() }

func decodeMarkovCounts(b []byte) (*attribution.MarkovCounts, error) {
	return unmarshalNew[attribution.MarkovCounts](b)
}

// A path travels in a small binary form rather than JSON, so that a path
// with a NaN or infinite count (which JSON cannot carry) still reaches the
// dead letters: uvarint n, n x (uvarint length, bytes), then Conversions,
// Value and Nulls as 8 bytes each.
func encodePath(p attribution.Path) ([]byte, error) { return appendPath(nil, p), nil }

func decodePath(b []byte) (attribution.Path, error) {
	p, rest, err := readPath(b)
	if err == nil && len(rest) > 0 {
		err = fmt.Errorf("leadkit beam: path: %d bytes after the end", len(rest))
	}
	return p, err
}

func appendPath(b []byte, p attribution.Path) []byte {
	b = binary.AppendUvarint(b, uint64(len(p.Channels)))
	for _, ch := range p.Channels {
		b = binary.AppendUvarint(b, uint64(len(ch)))
		b = append(b, ch...)
	}
	for _, v := range []float64{p.Conversions, p.Value, p.Nulls} {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
	}
	return b
}

func readPath(b []byte) (attribution.Path, []byte, error) {
	var p attribution.Path
	bad := fmt.Errorf("leadkit beam: path: truncated")
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)) {
		return p, nil, bad
	}
	b = b[k:]
	if n > 0 {
		p.Channels = make([]string, n)
	}
	for i := range p.Channels {
		l, k := binary.Uvarint(b)
		if k <= 0 || l > uint64(len(b)-k) {
			return attribution.Path{}, nil, bad
		}
		p.Channels[i] = string(b[k : k+int(l)])
		b = b[k+int(l):]
	}
	if len(b) < 24 {
		return attribution.Path{}, nil, bad
	}
	p.Conversions = math.Float64frombits(binary.LittleEndian.Uint64(b))
	p.Value = math.Float64frombits(binary.LittleEndian.Uint64(b[8:]))
	p.Nulls = math.Float64frombits(binary.LittleEndian.Uint64(b[16:]))
	return p, b[24:], nil
}

func encodeAttributionResult(r attribution.Result) ([]byte, error) { return json.Marshal(r) }

func decodeAttributionResult(b []byte) (attribution.Result, error) {
	var r attribution.Result
	err := json.Unmarshal(b, &r)
	return r, err
}

// A dead path travels as its path, its tenant (uvarint length, bytes),
// then the reason to the end.
func encodeRejectedPath(r RejectedPath) ([]byte, error) {
	return append(appendString(appendPath(nil, r.Path), r.Tenant), r.Reason...), nil
}

func decodeRejectedPath(b []byte) (RejectedPath, error) {
	p, rest, err := readPath(b)
	if err != nil {
		return RejectedPath{}, err
	}
	tenant, rest, err := readString(rest)
	return RejectedPath{Tenant: tenant, Path: p, Reason: string(rest)}, err
}

func appendUvarint(b []byte, n uint64) []byte { return binary.AppendUvarint(b, n) }

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

func readUvarint(b []byte) (uint64, []byte, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 {
		return 0, nil, fmt.Errorf("leadkit beam: truncated")
	}
	return n, b[k:], nil
}

func readString(b []byte) (string, []byte, error) {
	n, rest, err := readUvarint(b)
	if err != nil || n > uint64(len(rest)) {
		return "", nil, fmt.Errorf("leadkit beam: truncated string")
	}
	return string(rest[:n]), rest[n:], nil
}
