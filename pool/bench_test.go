package pool_test

import (
	"flag"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/simpool"
	"github.com/leadkit/leadkit/pool"
	"github.com/leadkit/leadkit/sim"
)

// benchLeads sizes the pool: 100,000 simulated leads make 113,861
// prospects from 319,986 observations, filled in about 20 s of CPU; a
// pool of 1M prospects takes about 880,000 leads and several minutes.
var benchLeads = flag.Int("pool.leads", 100_000, "simulated leads whose observations fill the pool of BenchmarkUpsert and BenchmarkQualify "+
	"(100000: 113,861 prospects; about 880000 for 1M)")

// benchSim is sim's default business (12 months, eight channels) of
// benchLeads leads: its observations are the pool's data. A person seen
// by several channels is seen with different identities (a device on the
// website, an address and the device on a form, an address and a phone at
// a trade show, a second free-mail address for some), so the pool holds
// more prospects than people until an observation links them.
func benchSim() (*sim.Sim, error) {
	return sim.New(sim.Config{Seed: 7, Leads: *benchLeads})
}

// simObservations calls f with each of s's observations, converted to the
// pool's field by field, in time order.
func simObservations(s *sim.Sim, f func(pool.Observation) error) error {
	for r := range s.Records() {
		if r.Kind != sim.KindObservation {
			continue
		}
		if err := f(simpool.Observation(r.Observation)); err != nil {
			return err
		}
	}
	return nil
}

// benchPool is the pool the benchmarks work in, filled once per test
// binary.
type benchPool struct {
	pool *pool.Pool
	// observations is the number of observations that filled it; active
	// the prospects they made (after merges).
	observations, active int
	// bytesPerProspect is the live heap the filled pool took, per active
	// prospect.
	bytesPerProspect float64
	// end is the end of the simulated run; asOf, a year later, is the
	// pool's clock and the time the benchmarks qualify at.
	end, asOf time.Time
	// took is the time the filling took, cpu the process's CPU time
	// meanwhile (the garbage collector's included).
	took, cpu time.Duration
	// seq numbers the observations the benchmarks make.
	seq int
}

var (
	benchOnce sync.Once
	bench     *benchPool
	benchErr  error
)

// cpuTime is the CPU time the process has used (user and system).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// filledPool is the pool of the simulated business's observations, under
// the three-condition policy, built once per test binary.
func filledPool(b *testing.B) *benchPool {
	b.Helper()
	benchOnce.Do(func() { bench, benchErr = fillPool() })
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return bench
}

func fillPool() (*benchPool, error) {
	start, cpu := time.Now(), cpuTime()
	s, err := benchSim()
	if err != nil {
		return nil, err
	}
	cfg := s.Config()
	bp := &benchPool{end: cfg.Start.AddDate(0, cfg.Months, 0)}
	bp.asOf = bp.end.AddDate(1, 0, 0)
	before := liveHeap()
	n := 0
	bp.pool, err = pool.New(pool.Options{Policy: policy, Now: func() time.Time { return bp.asOf },
		NewID: func() string { n++; return "p" + strconv.Itoa(n) }})
	if err != nil {
		return nil, err
	}
	err = simObservations(s, func(o pool.Observation) error {
		bp.observations++
		_, _, err := bp.pool.Upsert(ctx, o)
		return err
	})
	if err != nil {
		return nil, err
	}
	err = bp.pool.Store().Scan(ctx, func(pr pool.Prospect) error {
		if pr.Status == pool.StatusActive {
			bp.active++
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	bp.bytesPerProspect = float64(liveHeap()-before) / float64(bp.active)
	bp.took, bp.cpu = time.Since(start), cpuTime()-cpu
	return bp, nil
}

// mapPool is the baseline: the same resolution by normalised identities
// (the pool's Normalize) and the same field updates, in plain maps behind
// a mutex; an observation that links two prospects moves the younger's
// identities and touches into the older.
type mapPool struct {
	mu     sync.Mutex
	n      int
	keys   map[string]*mapProspect
	seen   map[string]bool
	merged int
}

type mapProspect struct {
	seq              int
	keys             []string
	person           leadkit.Person
	company          leadkit.Company
	pstamps, cstamps leadkit.Stamps
	source           pool.Source
	touches          []time.Time
	version          int64
}

func newMapPool() *mapPool {
	return &mapPool{keys: map[string]*mapProspect{}, seen: map[string]bool{}}
}

func (m *mapPool) upsert(o pool.Observation) {
	var buf [4]string
	keys := buf[:0]
	for _, id := range o.Identities {
		if k, ok := pool.Normalize(id.Kind, id.Value, "").Key(); ok {
			keys = append(keys, k)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.seen[o.ID] {
		return
	}
	m.seen[o.ID] = true
	var p *mapProspect
	for _, k := range keys {
		switch q := m.keys[k]; {
		case q == nil || q == p:
		case p == nil:
			p = q
		default:
			p = m.merge(p, q)
		}
	}
	if p == nil {
		p = &mapProspect{seq: m.n, source: o.Source, pstamps: leadkit.Stamps{}, cstamps: leadkit.Stamps{}}
		m.n++
	}
	for _, k := range keys {
		if m.keys[k] != p {
			m.keys[k] = p
			p.keys = append(p.keys, k)
		}
	}
	p.person.UpdateAt(o.Person, o.At, p.pstamps)
	p.company.UpdateAt(o.Company, o.At, p.cstamps)
	if o.Touch {
		p.touches = append(p.touches, o.At)
	}
	p.version++
}

// merge moves the younger of a and b into the older and returns it.
func (m *mapPool) merge(a, b *mapProspect) *mapProspect {
	if b.seq < a.seq {
		a, b = b, a
	}
	for _, k := range b.keys {
		m.keys[k] = a
	}
	a.keys = append(a.keys, b.keys...)
	a.touches = append(a.touches, b.touches...)
	a.version++
	m.merged++
	return a
}

// active counts the baseline's prospects.
func (m *mapPool) active() int {
	ps := map[*mapProspect]bool{}
	for _, p := range m.keys {
		ps[p] = true
	}
	return len(ps)
}

// BenchmarkUpsert: a known person seen again (one of the simulated
// observations, every identity and profile field of it, with a new ID a
// little after the run: identity resolution, field updates, a touch) in
// the pool of the simulated business, against the map baseline filled
// with the same observations and doing the same resolution and updates
// in the same run.
func BenchmarkUpsert(b *testing.B) {
	if testing.Short() {
		b.Skip("builds a pool of the observations of -pool.leads simulated leads")
	}
	bp := filledPool(b)
	b.Logf("%d simulated leads: %d observations, %d prospects, pool filled in %s (%s of CPU)", *benchLeads, bp.observations, bp.active,
		bp.took.Round(time.Millisecond), bp.cpu.Round(time.Millisecond))
	s, err := benchSim()
	if err != nil {
		b.Fatal(err)
	}
	base := newMapPool()
	// again are the observations seen again: every fourth.
	var again []pool.Observation
	if err := simObservations(s, func(o pool.Observation) error {
		base.upsert(o)
		if len(base.seen)%4 == 0 {
			again = append(again, o)
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	if n := base.active(); n != bp.active {
		b.Fatalf("the baseline holds %d prospects, the pool %d: not the same resolution", n, bp.active)
	}
	seenAgain := func(i int) pool.Observation {
		o := again[(i*7919)%len(again)]
		bp.seq++ // a new observation every time, in every run of the binary
		o.ID, o.At = "again-"+strconv.Itoa(bp.seq), bp.end.Add(time.Hour)
		return o
	}
	b.Run("pool", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, _, err := bp.pool.Upsert(ctx, seenAgain(i)); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "upserts/s")
		b.ReportMetric(bp.bytesPerProspect, "heap-bytes/prospect")
	})
	b.Run("map-baseline", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			base.upsert(seenAgain(i))
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "upserts/s")
	})
}

// BenchmarkQualify evaluates the lead definition (three conditions: a
// company, a business e-mail, two touches in 90 days or a score of 50) on
// the active prospects of the simulated business's pool a year after the
// run, when no one has touches in the last 90 days, so no one graduates
// and the pool stays as it is (the first two conditions hold for most),
// against the same conditions written in Go over the same prospects.
func BenchmarkQualify(b *testing.B) {
	if testing.Short() {
		b.Skip("builds a pool of the observations of -pool.leads simulated leads")
	}
	bp := filledPool(b)
	var all []pool.Prospect
	if err := bp.pool.Store().Scan(ctx, func(pr pool.Prospect) error {
		if pr.Status == pool.StatusActive {
			all = append(all, pr)
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	some, few := all[:min(100_000, len(all))], all[:min(10_000, len(all))]
	b.Run("qualify", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			for _, pr := range some {
				if _, ok, err := bp.pool.Qualify(ctx, pr.ID, bp.asOf); err != nil || ok {
					b.Fatal(err, ok)
				}
			}
		}
		b.ReportMetric(float64(b.N)*float64(len(some))/b.Elapsed().Seconds(), "prospects/s")
	})
	b.Run("why-not-yet", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			for _, pr := range few {
				if _, err := bp.pool.WhyNotYet(ctx, pr.ID, bp.asOf); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(b.N)*float64(len(few))/b.Elapsed().Seconds(), "prospects/s")
	})
	b.Run("handwritten", func(b *testing.B) {
		met := 0
		for i := 0; i < b.N; i++ {
			for _, pr := range some {
				if pr.Company.Name == "" {
					continue
				}
				if e, _ := pr.First(pool.Email); e.Value == "" || pool.IsFreeMail(e.Value, nil) {
					continue
				}
				if pr.TouchesSince(bp.asOf.AddDate(0, 0, -90)) >= 2 || pr.Score >= 50 {
					met++
				}
			}
		}
		if met > 0 {
			b.Fatal(met, "prospects meet the conditions")
		}
		b.ReportMetric(float64(b.N)*float64(len(some))/b.Elapsed().Seconds(), "prospects/s")
	})
}
