package pool_test

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/pool"
)

// benchProspects is the size of the pool the benchmarks work in.
const benchProspects = 1_000_000

var (
	benchOnce sync.Once
	benchPool *pool.Pool
	// bytesPerProspect is the live heap the filled pool took, per prospect.
	bytesPerProspect float64
)

func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// filledPool is a pool of benchProspects prospects, one email each, a
// third with a company, built once per test binary.
func filledPool(b *testing.B) *pool.Pool {
	b.Helper()
	benchOnce.Do(func() {
		before := liveHeap()
		n := 0
		p, err := pool.New(pool.Options{Policy: policy, Now: func() time.Time { return t0.Add(24 * time.Hour) },
			NewID: func() string { n++; return fmt.Sprintf("p%07d", n) }})
		if err != nil {
			panic(err)
		}
		for i := range benchProspects {
			obs := pool.Observation{ID: fmt.Sprintf("seed%d", i), At: t0, Identities: []pool.Identity{email(fmt.Sprintf("user%d@corp%d.com", i, i%5000))}, Touch: true}
			if i%3 == 0 {
				obs.Company = leadkit.Company{Name: "Corp"}
			}
			if _, _, err := p.Upsert(ctx, obs); err != nil {
				panic(err)
			}
		}
		benchPool = p
		bytesPerProspect = float64(liveHeap()-before) / benchProspects
	})
	return benchPool
}

// mapPool is the baseline: the same resolution by normalised email and
// the same field updates, in a plain map behind a mutex.
type mapPool struct {
	mu   sync.Mutex
	byID map[string]*mapProspect
	keys map[string]string
	seen map[string]bool
}

type mapProspect struct {
	id      string
	emails  []string
	company string
	touches []time.Time
	version int64
}

func (m *mapPool) upsert(obsID, rawEmail, company string, at time.Time) {
	key := "email:" + strings.ToLower(strings.TrimSpace(rawEmail))
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.seen[obsID] {
		return
	}
	m.seen[obsID] = true
	id, ok := m.keys[key]
	if !ok {
		id = fmt.Sprintf("m%d", len(m.byID))
		m.byID[id] = &mapProspect{id: id, emails: []string{key}}
		m.keys[key] = id
	}
	p := m.byID[id]
	if company != "" {
		p.company = company
	}
	p.touches = append(p.touches, at)
	p.version++
}

// BenchmarkUpsert: observations of known prospects (identity resolution,
// field updates, a touch) in a pool of 1M, against the map baseline doing
// the same resolution and updates in the same run.
func BenchmarkUpsert(b *testing.B) {
	if testing.Short() {
		b.Skip("builds a pool of 1M prospects")
	}
	p := filledPool(b)
	base := &mapPool{byID: map[string]*mapProspect{}, keys: map[string]string{}, seen: map[string]bool{}}
	for i := range benchProspects {
		base.upsert(fmt.Sprintf("seed%d", i), fmt.Sprintf("user%d@corp%d.com", i, i%5000), "", t0)
	}
	b.Run("pool", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			j := (i * 7919) % benchProspects
			_, _, err := p.Upsert(ctx, pool.Observation{ID: fmt.Sprintf("b%d-%d", b.N, i), At: t0.Add(time.Hour),
				Identities: []pool.Identity{email(fmt.Sprintf(" User%d@Corp%d.com", j, j%5000))}, Company: leadkit.Company{Name: "Corp"}, Touch: true})
			if err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "upserts/s")
		b.ReportMetric(bytesPerProspect, "heap-bytes/prospect")
	})
	b.Run("map-baseline", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			j := (i * 7919) % benchProspects
			base.upsert(fmt.Sprintf("b%d-%d", b.N, i), fmt.Sprintf(" User%d@Corp%d.com", j, j%5000), "Corp", t0.Add(time.Hour))
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "upserts/s")
	})
}

// BenchmarkQualify evaluates the lead definition (three conditions) on
// every prospect of a pool of 1M without graduating anyone (a policy that
// no prospect meets), against the same conditions written in Go over the
// same prospects.
func BenchmarkQualify(b *testing.B) {
	if testing.Short() {
		b.Skip("builds a pool of 1M prospects")
	}
	p := filledPool(b)
	var all []pool.Prospect
	if err := p.Store().Scan(ctx, func(pr pool.Prospect) error { all = append(all, pr); return nil }); err != nil {
		b.Fatal(err)
	}
	asOf := t0.Add(24 * time.Hour)
	b.Run("qualify", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			for _, pr := range all[:100_000] {
				if _, ok, err := p.Qualify(ctx, pr.ID, asOf); err != nil || ok {
					b.Fatal(err, ok)
				}
			}
		}
		b.ReportMetric(float64(b.N)*100_000/b.Elapsed().Seconds(), "prospects/s")
	})
	b.Run("why-not-yet", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			for _, pr := range all[:10_000] {
				if _, err := p.WhyNotYet(ctx, pr.ID, asOf); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(b.N)*10_000/b.Elapsed().Seconds(), "prospects/s")
	})
	b.Run("handwritten", func(b *testing.B) {
		met := 0
		for i := 0; i < b.N; i++ {
			for _, pr := range all[:100_000] {
				e, _ := pr.First(pool.Email)
				business := e.Value != "" && !pool.IsFreeMail(e.Value, nil)
				engaged := pr.TouchesSince(asOf.AddDate(0, 0, -90)) >= 2 || pr.Score >= 50
				if pr.Company.Name != "" && business && engaged {
					met++
				}
			}
		}
		b.ReportMetric(float64(b.N)*100_000/b.Elapsed().Seconds(), "prospects/s")
		_ = met
	})
}
