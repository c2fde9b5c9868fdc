package learn_test

import (
	"flag"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/simbiz"
	"github.com/leadkit/leadkit/scoring"
	"github.com/leadkit/leadkit/scoring/learn"
	"github.com/leadkit/leadkit/sim"
	"github.com/leadkit/leadkit/stage"
)

// BenchmarkRecommendThreshold runs on sim's default business: each lead's
// trajectory of the examples' model (internal/simbiz) on "total", the
// dimension its MQL threshold reads, and its outcome (worked: it reached
// MQL; SQL: when it first reached SQL), beside its stage visits for the
// plain stage funnel, the baseline of the same run.

var capacityLeads = flag.Int("scoring.capacity.leads", 1_000_000, "simulated leads in BenchmarkRecommendThreshold (building 1M takes a minute or two on the shared 2-core machine)")

// capacitySeed is the seed of the simulated business.
const capacitySeed = 1

// capacityData is a simulated history as the recommendation and the
// stage funnel read it, lead by lead in creation order.
type capacityData struct {
	Spec   learn.CapacitySpec
	Leads  []learn.CapacityLead
	visits []stage.Visit
	start  []int // lead i's visits are visits[start[i]:start[i+1]]
}

func (d *capacityData) Visits(i int) []stage.Visit { return d.visits[d.start[i]:d.start[i+1]] }

// capacityCache keeps the data per size for the life of the process:
// building it is the slow part, and several benchmarks share it.
var capacityCache = struct {
	sync.Mutex
	m map[int]*capacityData
}{m: map[int]*capacityData{}}

// compactEvent is an event the model scores, kept small until the lead's
// trajectory is computed: an index into scoredTypes and a Unix time.
type compactEvent struct {
	typ uint8
	at  int64
}

// scoredTypes are the event types simbiz.Model's behavior rules read;
// other events (SDR calls, sales activity) leave the score unchanged, so
// the trajectory is the same without them.
var scoredTypes = []string{
	leadkit.EventPageView, leadkit.EventFormSubmitted, leadkit.EventEmailOpened, leadkit.EventEmailClicked,
	leadkit.EventDownload, leadkit.EventWebinarRegistered, leadkit.EventWebinarAttended, leadkit.EventOfflineEvent,
	sim.EventHandRaise,
}

// capacitySim builds the data of a simulated business of n leads over
// sim's default 12 months, once per process and size. The result is
// shared: callers must not change it.
func capacitySim(tb testing.TB, n int) *capacityData {
	tb.Helper()
	capacityCache.Lock()
	defer capacityCache.Unlock()
	if d := capacityCache.m[n]; d != nil {
		return d
	}
	s, err := sim.New(sim.Config{Seed: capacitySeed, Leads: n})
	require.NoError(tb, err)
	cfg := s.Config()
	spec, err := scoring.ParseModel([]byte(simbiz.Model))
	require.NoError(tb, err)
	m, err := scoring.Compile(spec, scoring.Options{})
	require.NoError(tb, err)
	typeIndex := map[string]uint8{}
	for i, t := range scoredTypes {
		typeIndex[t] = uint8(i)
	}
	type leadInfo struct {
		id        string
		seniority string
		employees int
		events    []compactEvent
		visits    []stage.Visit
		worked    bool
		sqlAt     time.Time
	}
	infos := make([]leadInfo, 0, n)
	index := make(map[string]int, n)
	for r := range s.Records() {
		switch r.Kind {
		case sim.KindLead:
			l := r.Lead
			index[l.ID] = len(infos)
			infos = append(infos, leadInfo{id: l.ID, seniority: l.Person.Seniority, employees: l.Company.Employees,
				visits: []stage.Visit{{LeadID: l.ID, Stage: sim.StageRaw, At: r.Time}}})
		case sim.KindEvent:
			t, ok := typeIndex[r.Event.Type]
			if !ok {
				continue
			}
			i, ok := index[r.Event.LeadID]
			require.True(tb, ok, "event of lead %q before its creation", r.Event.LeadID)
			infos[i].events = append(infos[i].events, compactEvent{t, r.Event.Time.Unix()})
		case sim.KindStage:
			c := r.Stage
			i, ok := index[c.LeadID]
			require.True(tb, ok, "stage change of lead %q before its creation", c.LeadID)
			in := &infos[i]
			in.visits = append(in.visits, stage.Visit{LeadID: in.id, Stage: c.To, At: c.At})
			switch {
			case c.To == sim.StageMQL:
				in.worked = true
			case c.To == sim.StageSQL && in.sqlAt.IsZero():
				in.sqlAt = c.At
			}
		}
	}
	end := cfg.Start.AddDate(0, cfg.Months, 0)
	d := &capacityData{
		Spec: learn.CapacitySpec{From: cfg.Start, To: end,
			Capacity: learn.SDRCapacity{SDRs: float64(cfg.SDRs), CallsPerSDRPerDay: float64(cfg.CallsPerSDRPerDay), CallsPerMQL: 1}},
		Leads: make([]learn.CapacityLead, len(infos)),
		start: make([]int, 0, len(infos)+1),
	}
	var evs []leadkit.Event
	for i := range infos {
		in := &infos[i]
		evs = evs[:0]
		for _, e := range in.events {
			evs = append(evs, leadkit.Event{Type: scoredTypes[e.typ], Time: time.Unix(e.at, 0).UTC()})
		}
		lead := leadkit.Lead{ID: in.id, Person: leadkit.Person{Seniority: in.seniority}, Company: leadkit.Company{Employees: in.employees}}
		traj, err := m.Trajectory(scoring.Input{Lead: lead, Events: evs, AsOf: end}, "total")
		require.NoError(tb, err)
		d.Leads[i] = learn.CapacityLead{ID: in.id, Scores: traj, Worked: in.worked, SQLAt: in.sqlAt}
		d.start = append(d.start, len(d.visits))
		d.visits = append(d.visits, in.visits...)
		in.events, in.visits = nil, nil
	}
	d.start = append(d.start, len(d.visits))
	capacityCache.m[n] = d
	return d
}

// TestCapacityOnSim checks the benchmark's data on a small business: a
// lead becomes an MQL at its hand-raise, which takes its total to 100 or
// more, so the leads that cross 100 in the run are exactly the leads that
// reached MQL, and every band at 100 and over was worked.
func TestCapacityOnSim(t *testing.T) {
	d := capacitySim(t, 3000)
	res, err := learn.RecommendThreshold(d.Spec, d.Leads)
	require.NoError(t, err)
	worked := 0
	for _, l := range d.Leads {
		if l.Worked {
			worked++
		}
	}
	require.Positive(t, worked)
	k := slices.IndexFunc(res.Curve, func(p learn.CapacityPoint) bool { return p.Threshold == 100 })
	require.GreaterOrEqual(t, k, 0)
	assert.Equal(t, worked, res.Curve[k].MQLs)
	for _, b := range res.Bands {
		if b.Min >= 100 && b.Leads > 0 {
			assert.Equal(t, b.Leads, b.Worked, "band %v", b.Min)
		}
		if b.Min < 100 {
			assert.Zero(t, b.Worked, "band %v: nobody under 100 is worked", b.Min)
		}
	}
	assert.True(t, res.Recommendation.OK, res.Recommendation.Reason)
	// The stage visits are the same leads'.
	assert.Equal(t, d.Leads[7].ID, d.Visits(7)[0].LeadID)
}

// BenchmarkRecommendThreshold measures the threshold recommendation
// (CapacityAccumulator: Add per lead, then Result) in leads/s against the
// plain stage funnel (stage.NewFunnel, FunnelAccumulator.Add per lead,
// Result) over the same leads' stage visits, in blocks of leads taken
// alternately so that both see the same machine load.
func BenchmarkRecommendThreshold(b *testing.B) {
	d := capacitySim(b, *capacityLeads)
	m, err := stage.New(stage.Classic(), stage.Options{})
	require.NoError(b, err)
	fspec := m.FunnelSpec(stage.FunnelOptions{})
	const block = 4096
	var rec, fun time.Duration
	var res learn.CapacityResult
	var fres stage.FunnelResult
	runtime.GC() // the generator's garbage, not charged to the first round
	for b.Loop() {
		a, err := learn.NewCapacityAccumulator(d.Spec)
		if err != nil {
			b.Fatal(err)
		}
		f, err := stage.NewFunnel(fspec)
		if err != nil {
			b.Fatal(err)
		}
		for lo := 0; lo < len(d.Leads); lo += block {
			hi := min(lo+block, len(d.Leads))
			t0 := time.Now()
			for i := lo; i < hi; i++ {
				if err := a.Add(d.Leads[i]); err != nil {
					b.Fatal(err)
				}
			}
			t1 := time.Now()
			for i := lo; i < hi; i++ {
				if err := f.Add(d.Visits(i)); err != nil {
					b.Fatal(err)
				}
			}
			rec += t1.Sub(t0)
			fun += time.Since(t1)
		}
		t0 := time.Now()
		res = a.Result()
		t1 := time.Now()
		fres = f.Result()
		rec += t1.Sub(t0)
		fun += time.Since(t1)
	}
	if res.Leads != len(d.Leads) || fres.Stages[0].Entered != len(d.Leads) || !res.Recommendation.OK {
		b.Fatalf("recommendation of %d leads (%s) and funnel of %d disagree with the %d leads", res.Leads, res.Recommendation.Reason, fres.Stages[0].Entered, len(d.Leads))
	}
	leads := float64(len(d.Leads) * b.N)
	b.ReportMetric(leads/rec.Seconds(), "leads/s")
	b.ReportMetric(leads/fun.Seconds(), "funnel-leads/s")
	b.ReportMetric(float64(rec)/float64(fun), "x-funnel")
	b.ReportMetric(*res.Recommendation.Threshold, "threshold")
}
