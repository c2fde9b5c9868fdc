package lifecycle_test

import (
	"errors"
	"flag"
	"fmt"
	"math/rand"
	"runtime"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/lifecycle"
	"github.com/leadkit/leadkit/pool"
	"github.com/leadkit/leadkit/scoring"
	"github.com/leadkit/leadkit/stage"
)

var benchLeads = flag.Int("lifecycle.leads", 10_000, "leads in BenchmarkIngest (the README's figures use 100000: 2M events)")

// benchEvents is a business of n subjects with 20 events each on average
// over five months, in time order.
func benchEvents(n int) []leadkit.Event {
	r := rand.New(rand.NewSource(11))
	types := []string{"page_view", "page_view", "page_view", "email_opened", "email_opened", "download", "webinar_attended"}
	channels := []string{"web", "email", "paid", "social", "webinar", "content"}
	out := make([]leadkit.Event, 0, n*20)
	for i := range n {
		id := fmt.Sprintf("s%07d", i)
		start := t0.Add(time.Duration(r.Int63n(int64(120 * 24 * time.Hour))))
		for j := range 1 + r.Intn(39) {
			out = append(out, leadkit.Event{ID: fmt.Sprintf("%s-%d", id, j), LeadID: id, Type: types[r.Intn(len(types))],
				Channel: channels[r.Intn(len(channels))], Time: start.Add(time.Duration(r.Int63n(int64(30 * 24 * time.Hour))))})
		}
	}
	slices.SortStableFunc(out, func(a, b leadkit.Event) int { return a.Time.Compare(b.Time) })
	return out
}

// delayed returns evs in the order they arrive when each is delivered up
// to d late (a fixed pseudo-random delay per event).
func delayed(evs []leadkit.Event, d time.Duration) []leadkit.Event {
	r := rand.New(rand.NewSource(5))
	type arrival struct {
		ev leadkit.Event
		at time.Time
	}
	arr := make([]arrival, len(evs))
	for i, ev := range evs {
		arr[i] = arrival{ev, ev.Time.Add(time.Duration(r.Int63n(int64(d))))}
	}
	slices.SortStableFunc(arr, func(a, b arrival) int { return a.at.Compare(b.at) })
	out := make([]leadkit.Event, len(evs))
	for i := range arr {
		out[i] = arr[i].ev
	}
	return out
}

var benchBatchFlag = flag.Int("lifecycle.batch", 1000, "events per Ingest call in BenchmarkIngest")

// BenchmarkIngest measures events/s through Engine.Ingest against the sum
// of its parts called directly in the same run (pool upsert and
// qualification of prospects' events, journey append, scoring Apply and
// ReadState, stage Start and Advance, with the lead's state in a map),
// and the heap kept per lead.
func BenchmarkIngest(b *testing.B) {
	evs := benchEvents(*benchLeads)
	b.Logf("%d leads, %d events", *benchLeads, len(evs))
	perLead := func(b *testing.B, before runtime.MemStats, keep ...any) {
		var after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-min(before.HeapAlloc, after.HeapAlloc))/float64(*benchLeads), "B/lead")
		runtime.KeepAlive(keep)
	}
	engine := func(evs []leadkit.Event) func(b *testing.B) {
		return func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				var before runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				p := newParts(b)
				e := p.engine(b, lifecycle.Options{})
				b.StartTimer()
				for i := 0; i < len(evs); i += *benchBatchFlag {
					if _, err := e.Ingest(ctx, evs[i:min(i+*benchBatchFlag, len(evs))]...); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				perLead(b, before, p, e)
				b.StartTimer()
			}
			b.ReportMetric(float64(len(evs))*float64(b.N)/b.Elapsed().Seconds(), "events/s")
		}
	}
	b.Run("engine", engine(evs))
	// The same events, each delivered up to six hours late (webhooks
	// retried, queues backed up): late events rebuild their lead and take
	// back its stage changes since them.
	b.Run("engine-delayed", engine(delayed(evs, 6*time.Hour)))
	for _, persist := range []bool{false, true} {
		name := "parts"
		if persist {
			name = "parts-with-state-store"
		}
		b.Run(name, func(b *testing.B) {
			benchParts(b, evs, persist, perLead)
		})
	}
	// The overhead: engine and parts timed in alternating rounds (which
	// goes first alternates too), the median of the rounds' ratios, so
	// that the machine's drift during a run lands on both sides. Time is
	// the process's CPU time (user and system, the garbage collector's
	// included), so that other processes on a shared machine do not count.
	b.Run("overhead", func(b *testing.B) {
		for b.Loop() {
			var ratios []float64
			for r := range *benchRounds {
				var engine, parts time.Duration
				for k := range 2 {
					if (r+k)%2 == 0 {
						engine = timeEngine(b, evs)
					} else {
						parts = timeParts(b, evs)
					}
				}
				ratios = append(ratios, engine.Seconds()/parts.Seconds())
			}
			slices.Sort(ratios)
			b.ReportMetric(ratios[len(ratios)/2], "engine/parts")
			b.ReportMetric(ratios[0], "min-engine/parts")
			b.ReportMetric(ratios[len(ratios)-1], "max-engine/parts")
		}
	})
}

var benchRounds = flag.Int("lifecycle.rounds", 5, "alternating rounds of BenchmarkIngest/overhead")

// cpuTime is the CPU time the process has used (user and system).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// timeEngine is the CPU time of one pass of evs through a new engine.
func timeEngine(b *testing.B, evs []leadkit.Event) time.Duration {
	p := newParts(b)
	e := p.engine(b, lifecycle.Options{})
	runtime.GC()
	start := cpuTime()
	for i := 0; i < len(evs); i += *benchBatchFlag {
		if _, err := e.Ingest(ctx, evs[i:min(i+*benchBatchFlag, len(evs))]...); err != nil {
			b.Fatal(err)
		}
	}
	runtime.GC() // the garbage made is part of the cost
	return cpuTime() - start
}

// timeParts is the CPU time of one pass of evs through the parts.
func timeParts(b *testing.B, evs []leadkit.Event) time.Duration {
	p := newParts(b)
	_ = p.engine(b, lifecycle.Options{}) // the pool and the machine
	sp := &sumOfParts{p: p, states: map[string]*leadState{}}
	sp.score, _ = p.model.Fact("total")
	sp.grade, _ = p.model.Fact("fit_band")
	runtime.GC()
	start := cpuTime()
	for i := 0; i < len(evs); i += *benchBatchFlag {
		if err := sp.ingest(evs[i:min(i+*benchBatchFlag, len(evs))]); err != nil {
			b.Fatal(err)
		}
	}
	runtime.GC() // the garbage made is part of the cost
	return cpuTime() - start
}

// benchParts runs the sum of the parts; with persist the lead's score
// state is read from and written to a lifecycle.MemoryStore at each event,
// as glue code that survives a restart would.
func benchParts(b *testing.B, evs []leadkit.Event, persist bool, perLead func(*testing.B, runtime.MemStats, ...any)) {
	for b.Loop() {
		b.StopTimer()
		var before runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		p := newParts(b)
		_ = p.engine(b, lifecycle.Options{}) // the pool and the machine
		sp := &sumOfParts{p: p, states: map[string]*leadState{}, persist: persist}
		sp.score, _ = p.model.Fact("total")
		sp.grade, _ = p.model.Fact("fit_band")
		b.StartTimer()
		for i := 0; i < len(evs); i += *benchBatchFlag {
			if err := sp.ingest(evs[i:min(i+*benchBatchFlag, len(evs))]); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		perLead(b, before, p, sp)
		b.StartTimer()
	}
	b.ReportMetric(float64(len(evs))*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

type leadState struct {
	lead leadkit.Lead
	st   scoring.State
}

// sumOfParts is the engine's work written directly against the parts,
// without its store of states, retries, reports or checks.
type sumOfParts struct {
	p      *parts
	states map[string]*leadState
	res    scoring.Result
	score  scoring.FactRef
	grade  scoring.FactRef
	// persist keeps each lead's state in p.states too.
	persist bool
}

func (s *sumOfParts) ingest(batch []leadkit.Event) error {
	p := s.p
	if _, err := p.events.Append(ctx, batch...); err != nil {
		return err
	}
	for _, ev := range batch {
		ls := s.states[ev.LeadID]
		if ls == nil {
			pr, _, err := p.pool.Upsert(ctx, pool.Observation{ID: ev.ID, At: ev.Time, Touch: true,
				Identities: []pool.Identity{{Kind: pool.Subject, Value: ev.LeadID}}, Source: pool.Source{Channel: ev.Channel}})
			if err != nil {
				return err
			}
			g, ok, err := p.pool.Qualify(ctx, pr.ID, ev.Time)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			if _, err := p.machine.Start(ctx, stage.Lead(ev.LeadID), stage.StartOptions{At: g.At}); err != nil {
				return err
			}
			ls = &leadState{lead: g.Lead, st: p.model.NewState()}
			s.states[ev.LeadID] = ls
			past, err := p.events.Events(ctx, ev.LeadID, time.Time{}, time.Time{})
			if err != nil {
				return err
			}
			for _, x := range past {
				if x.Time.After(ev.Time) {
					break // later events of the batch come in the loop
				}
				if err := p.model.Apply(&ls.st, x); err != nil {
					return err
				}
			}
		} else if err := p.model.Apply(&ls.st, ev); err != nil {
			return err
		}
		if s.persist {
			// Read and write the state as a lifecycle.LeadState.
			stored, err := p.states.Get(ctx, ev.LeadID)
			if err != nil && !errors.Is(err, leadkit.ErrNotFound) {
				return err
			}
			stored.LeadID, stored.Lead, stored.Score = ev.LeadID, ls.lead, ls.st
			stored.Version++
			if err := p.states.Put(ctx, stored); err != nil {
				return err
			}
		}
		if err := p.model.ReadState(&s.res, &ls.st, ls.lead, ev.Time); err != nil {
			return err
		}
		facts := stage.Facts{"score": s.res.Fact(s.score), "grade": s.res.Fact(s.grade)}
		if _, _, err := p.machine.Advance(ctx, stage.Lead(ev.LeadID), facts, stage.Request{At: ev.Time}); err != nil {
			return err
		}
	}
	return nil
}
