// Package business wires the simulated business of package sim through
// the lifecycle engine, for the examples that show it (lifecycle, report):
// one home for the lead definition, the scoring model, the stages and the
// feeding of simulated records into the engine.
package business

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/attribution"
	"github.com/leadkit/leadkit/internal/simbiz"
	"github.com/leadkit/leadkit/internal/simpool"
	"github.com/leadkit/leadkit/journey"
	"github.com/leadkit/leadkit/lifecycle"
	"github.com/leadkit/leadkit/pool"
	"github.com/leadkit/leadkit/scoring"
	"github.com/leadkit/leadkit/sim"
	"github.com/leadkit/leadkit/stage"
)

// touchTypes are the marketing touches: what requalifies a recycled lead
// and what nurture power is measured on.
var touchTypes = []string{
	leadkit.EventPageView, leadkit.EventFormSubmitted, leadkit.EventEmailOpened, leadkit.EventEmailClicked,
	leadkit.EventDownload, leadkit.EventWebinarRegistered, leadkit.EventWebinarAttended, leadkit.EventOfflineEvent,
}

// Functions rolls the simulator's channels up into the marketing
// functions the engine verifies ROI for (a copy: callers may change it).
var functions = map[string]string{
	sim.ChannelWebsite: "owned", sim.ChannelEmail: "owned", sim.ChannelContent: "owned",
	sim.ChannelSocial: "paid", sim.ChannelPaidSearch: "paid", sim.ChannelPurchasedList: "paid",
	sim.ChannelWebinar: "events", sim.ChannelOfflineEvent: "events",
}

// salesMoves maps the simulator's sales stage changes to the Classic
// transitions that make them.
var salesMoves = simbiz.SalesMoves

// batchSize is the number of events per Ingest call.
const batchSize = 1000

// Stats counts what the stream did to the engine.
type Stats struct {
	Events  int
	Calls   int
	Dur     time.Duration
	Changes map[lifecycle.ChangeKind]int
	// Sales counts the simulated sales decisions fired on the engine's
	// machine; SalesSkipped those the engine's lead could not take (it
	// was not in the stage they start from: the engine had not made it
	// an MQL).
	Sales, SalesSkipped int
	// SimMQLs are the simulator's MQL entries; Agreed of them found the
	// engine's lead in MQL too.
	SimMQLs, Agreed int
	// EventErrors counts the events the engine reported a problem with
	// (stored and scored all the same); FirstEventError is the first.
	EventErrors     int
	FirstEventError string
}

// Feeder turns the simulated records into engine calls: events in
// batches, observations through Options.Observe, sales decisions as
// manual transitions.
type Feeder struct {
	engine *lifecycle.Engine
	// pending holds the batch's events by subject, in time order; n
	// counts them.
	pending map[string][]leadkit.Event
	order   []string
	n       int
	// seen is the observation a channel made at a subject's touch that
	// has not come as an event yet; observed the observation of an event
	// of the batch, by event ID (what Options.Observe reads).
	seen     map[string]*sim.Observation
	observed map[string]*sim.Observation
	stats    Stats
}

// New builds the engine (pool, scoring model, Classic stages) with clock
// as every part's clock, and a Feeder for it.
func New(ctx context.Context, clock func() time.Time) (*Feeder, error) {
	f := &Feeder{
		pending:  map[string][]leadkit.Event{},
		seen:     map[string]*sim.Observation{},
		observed: map[string]*sim.Observation{},
		stats:    Stats{Changes: map[lifecycle.ChangeKind]int{}},
	}
	pol, err := pool.ParsePolicy([]byte(simbiz.Policy))
	if err != nil {
		return nil, err
	}
	prospects, err := pool.New(pool.Options{Policy: pol, Now: clock})
	if err != nil {
		return nil, err
	}
	spec, err := scoring.ParseModel([]byte(simbiz.Model))
	if err != nil {
		return nil, err
	}
	scores, err := scoring.Compile(spec, scoring.Options{Now: clock})
	if err != nil {
		return nil, err
	}
	machine, err := stage.New(Definition(), stage.Options{Now: clock})
	if err != nil {
		return nil, err
	}
	f.engine, err = lifecycle.New(prospects, scores, machine, journey.NewMemoryStore(), lifecycle.Options{
		Now: clock,
		// The Classic stages read `score` (qualify: score >= 100) and
		// `grade`: the model's total and fit band.
		Facts: simbiz.Facts,
		// A lead recycled by sales qualifies again when it raises its
		// hand again after a new marketing touch (the simulator nurtures
		// recycled leads by e-mail): its intent is reset at the recycle,
		// fit and engagement stand.
		Requalify: lifecycle.Requalify{Reset: []string{"intent"}, MinTouches: 1, TouchTypes: touchTypes},
		Observe:   f.observe,
		Verify: lifecycle.VerifyOptions{
			// Marketing's credit: the touches, not the SDR calls and sales
			// follow-ups that come after the MQL.
			TouchTypes: touchTypes,
			Functions:  functions,
			Nurture:    journey.NurtureOptions{Types: touchTypes},
			Values:     map[string]lifecycle.Value{sim.StageWon: {Types: []string{sim.EventDealWon}, Attr: "amount"}},
		},
	})
	if err != nil {
		return nil, err
	}
	return f, nil
}

// observe completes the engine's observation of an event with what the
// channel saw of the person at that touch, if it saw anything new: the
// simulator's observation, converted field by field; a hand-raise tags
// the prospect.
func (f *Feeder) observe(_ context.Context, ev leadkit.Event, obs *pool.Observation) error {
	if ev.Type == sim.EventHandRaise {
		obs.Tags = append(obs.Tags, simbiz.HandRaiserTag)
	}
	o := f.observed[ev.ID]
	if o == nil {
		return nil
	}
	c := simpool.Observation(o)
	obs.Identities = append(obs.Identities, c.Identities...)
	obs.Person, obs.Company = c.Person, c.Company
	return nil
}

// Record takes one simulated record.
func (f *Feeder) Record(ctx context.Context, rec sim.Record) error {
	switch rec.Kind {
	case sim.KindObservation:
		// It comes just before the event of the same touch.
		f.seen[rec.Observation.Lead] = rec.Observation
	case sim.KindEvent:
		ev := rec.Event
		if o := f.seen[ev.LeadID]; o != nil {
			delete(f.seen, ev.LeadID)
			f.observed[ev.ID] = o
		}
		if _, ok := f.pending[ev.LeadID]; !ok {
			f.order = append(f.order, ev.LeadID)
		}
		f.pending[ev.LeadID] = append(f.pending[ev.LeadID], ev)
		if f.n++; f.n >= batchSize {
			return f.Flush(ctx)
		}
	case sim.KindStage:
		return f.stage(ctx, rec.Stage)
	}
	return nil
}

// Flush ingests the batch.
func (f *Feeder) Flush(ctx context.Context) error {
	if f.n == 0 {
		return nil
	}
	batch := make([]leadkit.Event, 0, f.n)
	for _, id := range f.order {
		batch = append(batch, f.pending[id]...)
	}
	clear(f.pending)
	f.order, f.n = f.order[:0], 0
	return f.ingest(ctx, batch)
}

// flushLead ingests the batch's events of one subject, so that a stage
// change made at its time sees them (the other subjects' events wait:
// leads do not depend on each other).
func (f *Feeder) flushLead(ctx context.Context, id string) error {
	evs, ok := f.pending[id]
	if !ok {
		return nil
	}
	delete(f.pending, id)
	for i, o := range f.order {
		if o == id {
			f.order = append(f.order[:i], f.order[i+1:]...)
			break
		}
	}
	f.n -= len(evs)
	return f.ingest(ctx, evs)
}

func (f *Feeder) ingest(ctx context.Context, evs []leadkit.Event) error {
	changes, err := f.engine.Ingest(ctx, evs...)
	if err := f.eventErrors(err); err != nil {
		return err
	}
	f.stats.Calls++
	f.stats.Events += len(evs)
	for _, c := range changes {
		f.stats.Changes[c.Kind]++
	}
	for _, ev := range evs {
		delete(f.observed, ev.ID)
	}
	return nil
}

// eventErrors counts the problems of single events among err (a pool that
// refuses an observation: the event is stored and counts in the score all
// the same) and returns what else err holds.
func (f *Feeder) eventErrors(err error) error {
	if err == nil {
		return nil
	}
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	var rest []error
	for _, e := range errs {
		var ee *lifecycle.EventError
		if !errors.As(e, &ee) {
			rest = append(rest, e)
			continue
		}
		if f.stats.EventErrors++; f.stats.FirstEventError == "" {
			f.stats.FirstEventError = ee.Error()
		}
	}
	return errors.Join(rest...)
}

// stage applies a simulated stage change: an MQL is the engine's to make
// (it is only compared); a sales decision is fired as the manual
// transition it is, if the engine's lead is where it starts from.
func (f *Feeder) stage(ctx context.Context, ch sim.StageChange) error {
	if err := f.flushLead(ctx, ch.LeadID); err != nil {
		return err
	}
	m := f.engine.Machine()
	if ch.To == sim.StageMQL {
		f.stats.SimMQLs++
		if rec, err := m.Get(ctx, stage.Lead(ch.LeadID)); err == nil && rec.Stage == sim.StageMQL {
			f.stats.Agreed++
		} else if err != nil && !errors.Is(err, leadkit.ErrNotFound) {
			return err
		}
		return nil
	}
	name, ok := salesMoves[ch.To]
	if !ok {
		return fmt.Errorf("simulated stage change to %q: no transition for it", ch.To)
	}
	reason := ch.Reason
	if name == "lose" && reason == "" {
		reason = "other"
	}
	_, err := m.Fire(ctx, stage.Lead(ch.LeadID), name, stage.Request{Actor: cmp.Or(ch.Actor, "sales"), Reason: reason, At: ch.At})
	var terr *stage.TransitionError
	switch {
	case err == nil:
		f.stats.Sales++
	case errors.Is(err, leadkit.ErrNotFound), errors.As(err, &terr) && errors.Is(err, stage.ErrNotAllowed):
		f.stats.SalesSkipped++
	default:
		return err
	}
	return nil
}

// Engine returns the engine the Feeder feeds.
func (f *Feeder) Engine() *lifecycle.Engine { return f.engine }

// Stats returns what the stream did to the engine so far.
func (f *Feeder) Stats() Stats { return f.stats }

// Definition is the business's stage model: the Classic stages, with the
// SDR team working MQLs (the simulator's SDRs call every MQL and accept
// or recycle it) and the sales reps working SALs on, and the targets the
// team holds each step to.
func Definition() stage.Definition {
	def := stage.Classic()
	for i := range def.Stages {
		switch def.Stages[i].Name {
		case sim.StageMQL:
			def.Stages[i].Team = "sdr"
		case sim.StageSAL:
			def.Stages[i].Team = "sales"
		}
	}
	def.Targets = []stage.Target{
		{From: sim.StageMQL, To: sim.StageSAL, Rate: 0.55, CycleTime: leadkit.Duration(24 * time.Hour)},
		{From: sim.StageSAL, To: sim.StageSQL, Rate: 0.5},
		{From: sim.StageSQL, To: sim.StageOpportunity, Rate: 0.6},
		{From: sim.StageOpportunity, To: sim.StageWon, Rate: 0.3},
	}
	return def
}

// Functions returns a copy of the map that rolls the simulator's channels
// up into the marketing functions the engine's ROI is reported for.
func Functions() map[string]string { return maps.Clone(functions) }

// SDRFunction is the SDR team's function: it has people and no spend,
// and no credit (its calls follow the MQL; marketing's touches are
// credited).
const SDRFunction = "sdr"

// DemoConfig is the simulated business of the demos: the simulator's
// default business, with two people planted for the funnel diagnosis to
// find: the SDR sdr-2 accepts fewer of the MQLs it calls (log-odds -1: it
// screens out more), and the sales rep ae-3 qualifies more of its SALs
// (+0.8).
func DemoConfig(seed uint64, leads, months int) sim.Config {
	return sim.Config{Seed: seed, Leads: leads, Months: months, SDRSkill: []float64{0, -1}, SalesSkill: []float64{0, 0, 0.8}}
}

// Staffing is the people on one function: heads (full-time equivalents)
// at a loaded cost per head per quarter (salary, benefits, overhead).
type Staffing struct {
	Function   string
	Heads      float64
	PerQuarter float64
}

// DemoStaff is the demos' assumption of the people on each function:
// made up (the simulator plays no marketers), stated in their output. The
// SDR team is as large as the simulator's.
func DemoStaff(t sim.Truth) []Staffing {
	return []Staffing{
		{Function: "events", Heads: 1.5, PerQuarter: 24_000},
		{Function: "owned", Heads: 2, PerQuarter: 24_000},
		{Function: "paid", Heads: 1, PerQuarter: 27_000},
		{Function: SDRFunction, Heads: float64(t.SDR.SDRs), PerQuarter: 18_000},
	}
}

// ChannelCosts is the simulator's spend per channel and month.
func ChannelCosts(t sim.Truth) attribution.CostTable {
	table := attribution.CostTable{Period: leadkit.PeriodMonth}
	for _, m := range t.Months {
		_, label := leadkit.PeriodMonth.Cohort(m.Month)
		for _, c := range m.Costs {
			table.Rows = append(table.Rows, attribution.CostRow{Key: c.Channel, Period: label, Spend: c.Cost})
		}
	}
	return table
}

// CostTable is the cost of each function per month of the run: the
// simulator's spend on its channels, and its staff at a third of the
// quarterly cost per head.
func CostTable(t sim.Truth, staff []Staffing) attribution.CostTable {
	table := attribution.CostTable{Period: leadkit.PeriodMonth}
	for _, m := range t.Months {
		_, label := leadkit.PeriodMonth.Cohort(m.Month)
		spend := map[string]float64{}
		for _, c := range m.Costs {
			spend[functions[c.Channel]] += c.Cost
		}
		for _, s := range staff {
			table.Rows = append(table.Rows, attribution.CostRow{Key: s.Function, Period: label,
				Spend: spend[s.Function], Headcount: s.Heads, LoadedCost: s.PerQuarter / 3})
		}
	}
	return table
}
