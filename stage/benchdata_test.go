package stage_test

import (
	"context"
	"flag"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit/internal/simbiz"
	"github.com/leadkit/leadkit/sim"
	"github.com/leadkit/leadkit/stage"
)

// The stage benchmarks run on the simulated business of package sim: its
// leads' stage changes, in the names of stage.Classic, are the transitions
// fired, advanced and counted in funnels.

var funnelLeads = flag.Int("stage.funnel.leads", 1_000_000, "simulated leads in BenchmarkFunnel (generating 1M takes 25-55 s on the shared 2-core machine)")

// simSeed is the seed of every simulated business of the stage benchmarks.
const simSeed = 1

// simLead is a simulated lead: its ID, and what a funnel can be split by
// (its account and first source).
type simLead struct {
	ID, Account, Source string
	Created             time.Time
}

// simStages are the stage histories of a simulated business.
type simStages struct {
	Leads []simLead
	// Visits holds every lead's visits, grouped by lead in the order of
	// Leads (creation order): lead i's are Visits[start[i]:start[i+1]], in
	// time order, the first one to Raw at its creation, then one per
	// stage change.
	Visits []stage.Visit
	start  []int
	// Changes are the stage changes in the stream's (time) order.
	Changes []sim.StageChange
}

// Lead returns lead i's visits.
func (d *simStages) Lead(i int) []stage.Visit { return d.Visits[d.start[i]:d.start[i+1]] }

var simStagesCache = struct {
	sync.Mutex
	m map[int]*simStages
}{m: map[int]*simStages{}}

// simStageData returns the stage histories of the simulated business of
// leads leads over the default 12 months (seed simSeed), generated once per
// process and size; the result is shared, so callers must not change it.
// At a million leads (1.63M visits, 628k changes) it takes 25-55 s on the
// shared 2-core machine (the simulation itself) and holds about 270 MiB.
func simStageData(tb testing.TB, leads int) *simStages {
	tb.Helper()
	simStagesCache.Lock()
	defer simStagesCache.Unlock()
	if d := simStagesCache.m[leads]; d != nil {
		return d
	}
	s, err := sim.New(sim.Config{Seed: simSeed, Leads: leads})
	if err != nil {
		tb.Fatal(err)
	}
	d := &simStages{Leads: make([]simLead, 0, leads)}
	index := make(map[string]int, leads)
	byLead := make([][]stage.Visit, 0, leads)
	for r := range s.Records() {
		switch r.Kind {
		case sim.KindLead:
			l := r.Lead
			index[l.ID] = len(d.Leads)
			d.Leads = append(d.Leads, simLead{ID: l.ID, Account: l.AccountID, Source: l.Source, Created: r.Time})
			byLead = append(byLead, []stage.Visit{{LeadID: l.ID, Stage: sim.StageRaw, At: r.Time}})
		case sim.KindStage:
			c := r.Stage
			i, ok := index[c.LeadID]
			if !ok {
				tb.Fatalf("stage change of lead %q before its creation", c.LeadID)
			}
			d.Changes = append(d.Changes, c)
			// The person who moved the lead on worked it in the stage it
			// left (Machine.OwnedVisits with OwnerActor).
			byLead[i][len(byLead[i])-1].Owner = c.Actor
			byLead[i] = append(byLead[i], stage.Visit{LeadID: d.Leads[i].ID, Stage: c.To, At: c.At})
		}
	}
	d.Visits = make([]stage.Visit, 0, len(d.Leads)+len(d.Changes))
	d.start = make([]int, 0, len(d.Leads)+1)
	for _, vs := range byLead {
		d.start = append(d.start, len(d.Visits))
		d.Visits = append(d.Visits, vs...)
	}
	d.start = append(d.start, len(d.Visits))
	simStagesCache.m[leads] = d
	return d
}

// salesMoves maps the simulator's sales stage changes to the Classic
// transitions that make them.
var salesMoves = simbiz.SalesMoves

// replaySubject is a subject of a replay: where and when it starts.
type replaySubject struct {
	ID    string
	Stage string
	At    time.Time
}

// replayOp is one transition of a replay: subject index, transition,
// reason code and time.
type replayOp struct {
	Subject    int
	Transition string
	Reason     string
	At         time.Time
}

// replay is a list of transitions on subjects that start where the
// simulated leads were, in the simulated stream's order.
type replay struct {
	Subjects []replaySubject
	Ops      []replayOp
}

// salesReplay is the sales decisions of d as manual transitions: each time
// a lead enters MQL it is a subject started in MQL then (a recycled lead
// that qualifies again is a second subject, "<lead>#2"), and every later
// change of the lead until it leaves the sales stages is an op on it.
func salesReplay(d *simStages) replay {
	var r replay
	cur := map[string]int{}
	cycles := map[string]int{}
	for _, c := range d.Changes {
		if c.To == sim.StageMQL {
			cycles[c.LeadID]++
			id := c.LeadID
			if n := cycles[c.LeadID]; n > 1 {
				id = fmt.Sprintf("%s#%d", c.LeadID, n)
			}
			cur[c.LeadID] = len(r.Subjects)
			r.Subjects = append(r.Subjects, replaySubject{ID: id, Stage: sim.StageMQL, At: c.At})
			continue
		}
		reason := c.Reason
		if c.To == sim.StageLost && reason == "" {
			reason = "other" // Classic's lose needs a reason; sim gives none
		}
		r.Ops = append(r.Ops, replayOp{Subject: cur[c.LeadID], Transition: salesMoves[c.To], Reason: reason, At: c.At})
	}
	return r
}

// qualifyReplay is the MQL entries of d as automatic transitions: each is
// a subject started where the lead was (Raw at its creation, Recycled when
// it was recycled) and one qualify op at the time the lead entered MQL.
func qualifyReplay(d *simStages) replay {
	var r replay
	since := make(map[string]time.Time, len(d.Leads))
	for _, l := range d.Leads {
		since[l.ID] = l.Created
	}
	cycles := map[string]int{}
	for _, c := range d.Changes {
		if c.To != sim.StageMQL {
			since[c.LeadID] = c.At
			continue
		}
		cycles[c.LeadID]++
		id := c.LeadID
		if n := cycles[c.LeadID]; n > 1 {
			id = fmt.Sprintf("%s#%d", c.LeadID, n)
		}
		r.Ops = append(r.Ops, replayOp{Subject: len(r.Subjects), Transition: "qualify", At: c.At})
		r.Subjects = append(r.Subjects, replaySubject{ID: id, Stage: c.From, At: since[c.LeadID]})
	}
	return r
}

// benchNow is the machines' clock in the replays: after every simulated
// change, so none lies in the future.
func benchNow() time.Time { return time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC) }

// start returns a fresh machine of def with r's subjects started.
func (r replay) start(tb testing.TB, def stage.Definition) (*stage.Machine, []stage.Subject) {
	tb.Helper()
	m, err := stage.New(def, stage.Options{Now: benchNow})
	if err != nil {
		tb.Fatal(err)
	}
	subs := make([]stage.Subject, len(r.Subjects))
	for i, s := range r.Subjects {
		subs[i] = stage.Lead(s.ID)
		if _, err := m.Start(context.Background(), subs[i], stage.StartOptions{Stage: s.Stage, At: s.At}); err != nil {
			tb.Fatal(err)
		}
	}
	return m, subs
}

// mapMachine is the baseline: a mutex, a map of current stages and a
// history slice per subject; transitions looked up in a nested map, no
// input checks (reasons, times, caps).
type mapMachine struct {
	mu      sync.Mutex
	allowed map[string]map[string]string // from -> transition -> to
	cur     map[string]string
	ver     map[string]int64
	hist    map[string][]stage.Entry
}

// newMapMachine returns the map machine of def's transitions ("*" left
// out) with r's subjects started.
func newMapMachine(def stage.Definition, r replay) *mapMachine {
	mm := &mapMachine{allowed: map[string]map[string]string{},
		cur: map[string]string{}, ver: map[string]int64{}, hist: map[string][]stage.Entry{}}
	for _, t := range def.Transitions {
		for _, from := range t.From {
			if mm.allowed[from] == nil {
				mm.allowed[from] = map[string]string{}
			}
			mm.allowed[from][t.Name] = t.To
		}
	}
	for _, s := range r.Subjects {
		mm.cur[s.ID], mm.ver[s.ID] = s.Stage, 1
		mm.hist[s.ID] = []stage.Entry{{To: s.Stage, Version: 1, At: s.At}}
	}
	return mm
}

func (mm *mapMachine) fire(id, tr, reason string, at time.Time) error {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	from := mm.cur[id]
	to, ok := mm.allowed[from][tr]
	if !ok {
		return fmt.Errorf("%s: %s not allowed from %s", id, tr, from)
	}
	mm.cur[id] = to
	mm.ver[id]++
	mm.hist[id] = append(mm.hist[id], stage.Entry{From: from, To: to, Transition: tr, Reason: reason, Version: mm.ver[id], At: at})
	return nil
}

// TestSimReplays checks the benchmarks' data on a small simulated
// business: every simulated stage change is a Classic transition the
// machine and the map baseline take, and the visits are the changes plus
// one Raw visit per lead.
func TestSimReplays(t *testing.T) {
	ctx := context.Background()
	d := simStageData(t, 2000)
	require.NotEmpty(t, d.Changes)
	assert.Len(t, d.Visits, len(d.Leads)+len(d.Changes))
	for i, l := range d.Leads {
		vs := d.Lead(i)
		require.Equal(t, stage.Visit{LeadID: l.ID, Stage: sim.StageRaw, At: l.Created}, vs[0])
		for _, v := range vs[1:] {
			require.Equal(t, l.ID, v.LeadID)
			require.False(t, v.At.Before(vs[0].At))
		}
	}
	def := stage.Classic()
	sales, qualify := salesReplay(d), qualifyReplay(d)
	assert.Len(t, sales.Ops, len(d.Changes)-len(qualify.Ops))
	assert.Len(t, qualify.Subjects, len(sales.Subjects), "one sales cycle per MQL entry")
	m, subs := sales.start(t, def)
	mm := newMapMachine(def, sales)
	for _, op := range sales.Ops {
		_, err := m.Fire(ctx, subs[op.Subject], op.Transition, stage.Request{Actor: "sales", Reason: op.Reason, At: op.At})
		require.NoError(t, err)
		require.NoError(t, mm.fire(sales.Subjects[op.Subject].ID, op.Transition, op.Reason, op.At))
	}
	m, subs = qualify.start(t, def)
	mm = newMapMachine(def, qualify)
	for _, op := range qualify.Ops {
		_, n, err := m.Advance(ctx, subs[op.Subject], stage.Facts{"score": 120, "grade": "A"}, stage.Request{At: op.At})
		require.NoError(t, err)
		require.Equal(t, 1, n)
		require.NoError(t, mm.fire(qualify.Subjects[op.Subject].ID, op.Transition, "", op.At))
	}
	// The funnel and the plain count agree where they count the same.
	spec := m.FunnelSpec(stage.FunnelOptions{})
	res, err := stage.Funnel(spec, d.Visits)
	require.NoError(t, err)
	hand := countStages(d, classicIndex())
	assert.Equal(t, len(d.Leads), res.Stages[0].Entered)
	assert.Equal(t, len(d.Leads), hand.entered[0])
	assert.Equal(t, res.Stages[len(res.Stages)-1].Entered, hand.entered[classicIndex()[sim.StageWon]])
}
