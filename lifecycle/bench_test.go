package lifecycle_test

import (
	"context"
	"errors"
	"flag"
	"math/rand"
	"runtime"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/simbiz"
	"github.com/leadkit/leadkit/internal/simpool"
	"github.com/leadkit/leadkit/journey"
	"github.com/leadkit/leadkit/lifecycle"
	"github.com/leadkit/leadkit/pool"
	"github.com/leadkit/leadkit/scoring"
	"github.com/leadkit/leadkit/sim"
	"github.com/leadkit/leadkit/stage"
)

var benchLeads = flag.Int("lifecycle.leads", 10_000, "simulated leads in BenchmarkIngest, about 20 events each (the README's figures use 100000: 2.0M events)")

// business is the simulated business of BenchmarkIngest: sim's default
// business over 12 months, with every marketing channel touching three
// times as often (about 20 events per lead, sales activity included).
type business struct {
	events []leadkit.Event
	// seen is what a channel saw of the person at a touch (sim's
	// observation, converted to the pool's), by the ID of the touch's
	// event: what Options.Observe adds to the engine's observation.
	seen   map[string]*pool.Observation
	model  *scoring.Model
	policy pool.Policy
}

func newBusiness(b *testing.B, leads int) *business {
	b.Helper()
	chans := sim.DefaultChannels()
	for i := range chans {
		chans[i].Touches *= 3
	}
	s, err := sim.New(sim.Config{Seed: 11, Leads: leads, Channels: chans})
	require.NoError(b, err)
	d := &business{seen: map[string]*pool.Observation{}}
	// A channel's observation comes just before the event of the same
	// touch, the lead's next event.
	next := map[string]*pool.Observation{}
	for r := range s.Records() {
		switch r.Kind {
		case sim.KindObservation:
			o := simpool.Observation(r.Observation)
			next[r.Observation.Lead] = &pool.Observation{Identities: o.Identities, Person: o.Person, Company: o.Company}
		case sim.KindEvent:
			if o := next[r.Event.LeadID]; o != nil {
				delete(next, r.Event.LeadID)
				d.seen[r.Event.ID] = o
			}
			d.events = append(d.events, r.Event)
		}
	}
	spec, err := scoring.ParseModel([]byte(simbiz.Model))
	require.NoError(b, err)
	d.model, err = scoring.Compile(spec, scoring.Options{Now: func() time.Time { return now }})
	require.NoError(b, err)
	d.policy, err = pool.ParsePolicy([]byte(simbiz.Policy))
	require.NoError(b, err)
	return d
}

// observe completes the engine's observation of an event with what the
// channel saw at that touch, and tags a hand-raise.
func (d *business) observe(_ context.Context, ev leadkit.Event, obs *pool.Observation) error {
	d.complete(ev, obs)
	return nil
}

func (d *business) complete(ev leadkit.Event, obs *pool.Observation) {
	if ev.Type == sim.EventHandRaise {
		obs.Tags = append(obs.Tags, simbiz.HandRaiserTag)
	}
	if o := d.seen[ev.ID]; o != nil {
		obs.Identities = append(obs.Identities, o.Identities...)
		obs.Person, obs.Company = o.Person, o.Company
	}
}

// parts builds the business's parts over new stores, and the engine over
// them.
func (d *business) parts(b testing.TB) (*parts, *lifecycle.Engine) {
	b.Helper()
	p := &parts{events: journey.NewMemoryStore(), states: lifecycle.NewMemoryStore(), stages: stage.NewMemoryStore(), pstore: pool.NewMemoryStore(), model: d.model}
	clock := func() time.Time { return now }
	n := 0
	var err error
	p.pool, err = pool.New(pool.Options{Store: p.pstore, Policy: d.policy, Now: clock, NewID: func() string { n++; return "p" + strconv.Itoa(n) }})
	require.NoError(b, err)
	p.machine, err = stage.New(stage.Classic(), stage.Options{Store: p.stages, Now: clock})
	require.NoError(b, err)
	e, err := lifecycle.New(p.pool, d.model, p.machine, p.events, lifecycle.Options{States: p.states, Now: clock,
		Facts: simbiz.Facts, Observe: d.observe})
	require.NoError(b, err)
	return p, e
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

// BenchmarkIngest measures events/s of the simulated business through
// Engine.Ingest (the channels' observations added by Options.Observe, as
// a real feed would) against the sum of its parts called directly in the
// same run (pool upsert and qualification of prospects' events with the
// same observations, profile updates of leads' events, journey append,
// scoring Apply and ReadState, stage Start and Advance, with the lead's
// state in a map), and the heap kept per lead. The simulated sales
// decisions are not fired: the engine's work is its events.
func BenchmarkIngest(b *testing.B) {
	d := newBusiness(b, *benchLeads)
	evs := d.events
	b.Logf("%d simulated leads, %d events (%.1f per lead), %d observations", *benchLeads, len(evs), float64(len(evs))/float64(*benchLeads), len(d.seen))
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
				p, e := d.parts(b)
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
			benchParts(b, d, persist, perLead)
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
						engine = timeEngine(b, d)
					} else {
						parts = timeParts(b, d)
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

// timeEngine is the CPU time of one pass of the business's events
// through a new engine.
func timeEngine(b *testing.B, d *business) time.Duration {
	_, e := d.parts(b)
	runtime.GC()
	start := cpuTime()
	for i := 0; i < len(d.events); i += *benchBatchFlag {
		if _, err := e.Ingest(ctx, d.events[i:min(i+*benchBatchFlag, len(d.events))]...); err != nil {
			b.Fatal(err)
		}
	}
	runtime.GC() // the garbage made is part of the cost
	return cpuTime() - start
}

// timeParts is the CPU time of one pass of the business's events through
// the parts.
func timeParts(b *testing.B, d *business) time.Duration {
	sp := newSumOfParts(b, d, false)
	runtime.GC()
	start := cpuTime()
	for i := 0; i < len(d.events); i += *benchBatchFlag {
		if err := sp.ingest(d.events[i:min(i+*benchBatchFlag, len(d.events))]); err != nil {
			b.Fatal(err)
		}
	}
	runtime.GC() // the garbage made is part of the cost
	return cpuTime() - start
}

// benchParts runs the sum of the parts; with persist the lead's score
// state is read from and written to a lifecycle.MemoryStore at each event,
// as glue code that survives a restart would.
func benchParts(b *testing.B, d *business, persist bool, perLead func(*testing.B, runtime.MemStats, ...any)) {
	for b.Loop() {
		b.StopTimer()
		var before runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		sp := newSumOfParts(b, d, persist)
		b.StartTimer()
		for i := 0; i < len(d.events); i += *benchBatchFlag {
			if err := sp.ingest(d.events[i:min(i+*benchBatchFlag, len(d.events))]); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		perLead(b, before, sp)
		b.StartTimer()
	}
	b.ReportMetric(float64(len(d.events))*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

type leadState struct {
	lead             leadkit.Lead
	pstamps, cstamps leadkit.Stamps
	st               scoring.State
}

// sumOfParts is the engine's work written directly against the parts,
// without its store of states, retries, reports or checks.
type sumOfParts struct {
	d      *business
	p      *parts
	states map[string]*leadState
	res    scoring.Result
	score  scoring.FactRef
	grade  scoring.FactRef
	// persist keeps each lead's state in p.states too.
	persist bool
}

// newSumOfParts builds the parts over new stores (the engine built with
// them is left unused).
func newSumOfParts(b *testing.B, d *business, persist bool) *sumOfParts {
	p, _ := d.parts(b)
	sp := &sumOfParts{d: d, p: p, states: map[string]*leadState{}, persist: persist}
	sp.score, _ = d.model.Fact("total")
	sp.grade, _ = d.model.Fact("fit_band")
	return sp
}

func (s *sumOfParts) ingest(batch []leadkit.Event) error {
	p := s.p
	if _, err := p.events.Append(ctx, batch...); err != nil {
		return err
	}
	for _, ev := range batch {
		ls := s.states[ev.LeadID]
		if ls == nil {
			obs := pool.Observation{ID: ev.ID, At: ev.Time, Touch: true,
				Identities: []pool.Identity{{Kind: pool.Subject, Value: ev.LeadID}}, Source: pool.Source{Channel: ev.Channel, Campaign: ev.Campaign}}
			s.d.complete(ev, &obs)
			pr, _, err := p.pool.Upsert(ctx, obs)
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
			ls = &leadState{lead: g.Lead, pstamps: pr.PersonStamps, cstamps: pr.CompanyStamps, st: p.model.NewState()}
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
		} else {
			if o := s.d.seen[ev.ID]; o != nil {
				// What the channel saw updates the lead's profile.
				if ls.pstamps == nil {
					ls.pstamps, ls.cstamps = leadkit.Stamps{}, leadkit.Stamps{}
				}
				ls.lead.Person.UpdateAt(o.Person, ev.Time, ls.pstamps)
				ls.lead.Company.UpdateAt(o.Company, ev.Time, ls.cstamps)
			}
			if err := p.model.Apply(&ls.st, ev); err != nil {
				return err
			}
		}
		if s.persist {
			// Read and write the state as a lifecycle.LeadState.
			stored, err := p.states.Get(ctx, ev.LeadID)
			if err != nil && !errors.Is(err, leadkit.ErrNotFound) {
				return err
			}
			stored.LeadID, stored.Lead, stored.Score = ev.LeadID, ls.lead, ls.st
			stored.PersonStamps, stored.CompanyStamps = ls.pstamps, ls.cstamps
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
