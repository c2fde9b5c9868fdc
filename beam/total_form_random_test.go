package beam

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"math/rand"
	"reflect"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/journey"
	"github.com/leadkit/leadkit/pool"
)

// Concurrent encoders of types never seen before (StructOf makes new
// ones) share planOf safely (run with -race).
func TestTotalFormConcurrentNewTypes(t *testing.T) {
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				typ := reflect.StructOf([]reflect.StructField{
					{Name: "A", Type: reflect.TypeFor[map[string]any]()},
					{Name: "B", Type: reflect.TypeFor[[]leadkit.Event]()},
					{Name: "N" + string(rune('a'+g)) + string(rune('a'+i)), Type: reflect.TypeFor[*node]()},
				})
				v := reflect.New(typ).Elem()
				v.Field(0).Set(reflect.ValueOf(map[string]any{"x": math.NaN()}))
				b, err := encodeTotal(v.Interface())
				if err != nil {
					t.Error(err)
					return
				}
				back := reflect.New(typ)
				if err := decodeTotal(b, back.Interface()); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
}

// Random bytes after the form byte never panic, for every input type.
func TestTotalFormRandomBytes(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	into := []func() any{
		func() any { return new(leadkit.Event) }, func() any { return new(leadkit.Lead) },
		func() any { return new(TenantJourney) }, func() any { return new(pool.Prospect) },
		func() any { return new(RejectedJourney) }, func() any { return new(TenantPath) }, func() any { return new(any) },
	}
	seeds := [][]byte{}
	for _, v := range []any{unfaithfulLead(), leadkit.Event{ID: "e", Time: attackAt, Attrs: map[string]any{"n": math.NaN(), "l": []any{1, "x", []string{"a"}, map[string]any{"t": attackAt}}}}} {
		b, err := encodeTotal(v)
		require.NoError(t, err)
		seeds = append(seeds, b)
	}
	for range 200000 {
		var b []byte
		if r.Intn(2) == 0 {
			s := seeds[r.Intn(len(seeds))]
			b = append([]byte(nil), s...)
			for range 1 + r.Intn(4) {
				b[1+r.Intn(len(b)-1)] = byte(r.Intn(256))
			}
			if r.Intn(4) == 0 {
				b = b[:1+r.Intn(len(b)-1)]
			}
		} else {
			b = make([]byte, 1+r.Intn(40))
			r.Read(b)
			b[0] = formBinary
		}
		for _, f := range into {
			func() {
				defer func() {
					if p := recover(); p != nil {
						t.Fatalf("panic on %x into %T: %v", b, f(), p)
					}
				}()
				_ = decodeTotal(b, f())
			}()
		}
	}
}

// randValue is a random attribute value of odd shapes.
func randValue(r *rand.Rand, d int) any {
	switch r.Intn(22) {
	case 0:
		return nil
	case 1:
		return math.NaN()
	case 2:
		return math.Copysign(0, -1)
	case 3:
		return int64(1<<53 + 1)
	case 4:
		return uint64(math.MaxUint64)
	case 5:
		return "\xff\xfe"
	case 6:
		return "a\x00b"
	case 7:
		return json.Number([]string{"1e400", " 5", "0x10", "-0", "1.5", "01", "1e-400"}[r.Intn(7)])
	case 8:
		return time.Date([]int{0, 1899, 2000, 10000}[r.Intn(4)], 1, 1, 0, 0, 0, 0, time.FixedZone("z", []int{-90, 30, 86400 * 2, 40000 * 60, 3600}[r.Intn(5)]))
	case 9:
		return []byte("b")
	case 10:
		return (*int)(nil)
	case 11:
		return []string(nil)
	case 12:
		return map[string]any(nil)
	case 13:
		return float32(math.Inf(1))
	case 14:
		return int8(-128)
	case 15:
		return struct{ A int }{1}
	case 16:
		return Unsupported{Type: "x"}
	}
	if d >= 6 {
		return "leaf"
	}
	if r.Intn(2) == 0 {
		l := make([]any, r.Intn(4))
		for i := range l {
			l[i] = randValue(r, d+1)
		}
		return l
	}
	m := map[string]any{}
	for range r.Intn(4) {
		m[[]string{"a", "b", "\xff", "", "c"}[r.Intn(5)]] = randValue(r, d+1)
	}
	return m
}

// The validation verdict and the bytes survive a round trip, for random
// odd attributes and custom fields.
func TestTotalFormRandomVerdicts(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	for i := range 20000 {
		attrs := map[string]any{}
		for range r.Intn(4) {
			attrs[[]string{"a", "b", "\xff", ""}[r.Intn(4)]] = randValue(r, 1)
		}
		e := leadkit.Event{ID: "e", LeadID: "l", Type: "t", Time: attackAt, Attrs: attrs}
		b, err := encodeEvent(e)
		require.NoError(t, err)
		back, err := decodeEvent(b)
		require.NoError(t, err, "%d: %#v", i, attrs)
		require.Equal(t, e.Validate() == nil, back.Validate() == nil, "%d: %#v -> %#v", i, attrs, back.Attrs)
		l := leadkit.Lead{ID: "l", Person: leadkit.Person{Custom: attrs}, Company: leadkit.Company{Custom: attrs}}
		lb, err := encodeLead(l)
		require.NoError(t, err)
		lback, err := decodeLead(lb)
		require.NoError(t, err)
		require.Equal(t, l.Validate() == nil, lback.Validate() == nil, "%d: %#v -> %#v", i, attrs, lback.Person.Custom)
		j := TenantJourney{Tenant: "t", Journey: journey.LeadJourney{Timeline: journey.Timeline{LeadID: "l", Events: []leadkit.Event{e}}}}
		jb, err := encodeTenantJourney(j)
		require.NoError(t, err)
		jback, err := decodeTenantJourney(jb)
		require.NoError(t, err)
		require.Equal(t, e.Validate() == nil, jback.Journey.Events[0].Validate() == nil)
	}
}

// A verify accumulator's stage count is bounded by the bytes left at
// the fewest bytes a stage takes (it once let each byte claim a stage of
// ~72 bytes in memory).
func TestVerifyAccumulatorDecodeAllocation(t *testing.T) {
	const n = 1 << 20
	b := binary.AppendUvarint(nil, n)
	b = append(b, make([]byte, n)...)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := decodeVerifyAccumulator(b)
	runtime.ReadMemStats(&after)
	require.Error(t, err)
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("%d bytes: %d MB allocated", len(b), alloc>>20)
	assert.Less(t, alloc, uint64(16*len(b)), "decoding %d crafted bytes allocated %d MB", len(b), alloc>>20)
}
