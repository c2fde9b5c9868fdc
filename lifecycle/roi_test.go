package lifecycle_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/attribution"
	"github.com/leadkit/leadkit/journey"
	"github.com/leadkit/leadkit/lifecycle"
	"github.com/leadkit/leadkit/pool"
	"github.com/leadkit/leadkit/scoring"
	"github.com/leadkit/leadkit/sim"
	"github.com/leadkit/leadkit/stage"
)

func month(m time.Month) time.Time { return time.Date(2026, m, 1, 0, 0, 0, 0, time.UTC) }

// fixtureCosts is a monthly cost table for verifyFixture's business:
// nothing for January, webinar and content in February, and paid as well
// in March; the events function's people in February and March.
func fixtureCosts() attribution.CostTable {
	return attribution.CostTable{Period: leadkit.PeriodMonth, Rows: []attribution.CostRow{
		{Key: "webinar", Period: "2026-02", Spend: 1000},
		{Key: "content", Period: "2026-02", Spend: 400},
		{Key: "webinar", Period: "2026-03", Spend: 1000},
		{Key: "content", Period: "2026-03", Spend: 400},
		{Key: "paid", Period: "2026-03", Spend: 600},
		{Key: "events", Period: "2026-02", Headcount: 1, LoadedCost: 3000},
		{Key: "events", Period: "2026-03", Headcount: 2, LoadedCost: 3000},
	}}
}

// Worked out by hand on verifyFixture: "done" became an MQL in February
// at its page view (web: its engagement decays, so its second download
// left it just under 100), "old" in March at a download (content), "new"
// in March at a paid webinar.
func TestROIByHand(t *testing.T) {
	p, _ := verifyFixture(t)
	e := p.engine(t, lifecycle.Options{Verify: lifecycle.VerifyOptions{Stages: []string{"MQL"}}})
	r, err := e.ROI(ctx, lifecycle.ROIOptions{From: month(1), To: month(4), Period: leadkit.PeriodMonth, Costs: fixtureCosts(),
		Functions: map[string]string{"webinar": "events", "web": "organic"}, Models: []string{"last_touch"}})
	require.NoError(t, err)
	rep := r.Report
	assert.Equal(t, attribution.ByChannel, r.Key)
	assert.Equal(t, []string{"MQL/last_touch"}, rep.Stages)
	assert.Equal(t, []string{"2026-01"}, rep.PeriodsWithoutCosts)
	row := func(key, period string) attribution.ROIRow {
		x, ok := rep.Row(key, period)
		require.True(t, ok, "%s %s", key, period)
		return x
	}
	costPer := func(x attribution.ROIRow) *float64 { return x.Stages[0].CostPer }
	// February: done's MQL goes to web (organic), which has no cost row;
	// content costs 400 for none, events 1,000 of webinar and 3,000 of
	// people for none; paid has a row in March only, so its February
	// cost is unknown.
	org := row("organic", "2026-02")
	assert.Equal(t, 1.0, org.Stages[0].Conversions)
	assert.True(t, org.CostUnknown)
	assert.Nil(t, costPer(org))
	assert.Equal(t, []attribution.CostGap{{Key: "web", Period: "2026-02"}}, org.MissingCost)
	assert.Equal(t, []string{"web"}, rep.Uncosted)
	feb := row("content", "2026-02")
	assert.Zero(t, feb.Stages[0].Conversions)
	assert.Nil(t, costPer(feb))
	assert.Equal(t, 400.0, feb.Cost)
	ev := row("events", "2026-02")
	assert.Equal(t, 4000.0, ev.Cost)
	assert.Equal(t, 1.0, ev.Headcount)
	assert.Nil(t, costPer(ev), "no MQL: no cost per MQL")
	require.NotNil(t, ev.Stages[0].ROI)
	assert.Equal(t, -1.0, *ev.Stages[0].ROI)
	paid := row("paid", "2026-02")
	assert.True(t, paid.CostUnknown)
	assert.Equal(t, []attribution.CostGap{{Key: "paid", Period: "2026-02"}}, paid.MissingCost)
	// March: content 400 and paid 600 for one MQL each; events 1,000 +
	// 6,000, two heads.
	assert.Equal(t, 400.0, *costPer(row("content", "2026-03")))
	assert.Equal(t, 600.0, *costPer(row("paid", "2026-03")))
	ev = row("events", "2026-03")
	assert.Equal(t, 7000.0, ev.Cost)
	assert.Equal(t, 2.0, ev.Headcount)
	require.NotNil(t, ev.Stages[0].PerHead)
	assert.Equal(t, 0.0, *ev.Stages[0].PerHead)
	// January: no MQL, no cost row: every costed key misses its row.
	jan := row("content", "2026-01")
	assert.True(t, jan.CostUnknown)
	assert.Zero(t, jan.Stages[0].Conversions)
	// The totals: three MQLs, 4,400 + 8,000 of costs, known in March
	// only.
	assert.Equal(t, 3.0, rep.Total.Stages[0].Conversions)
	assert.Equal(t, 12400.0, rep.Total.Cost)
	assert.True(t, rep.Total.CostUnknown)
	require.Len(t, rep.Periods, 3)
	assert.True(t, rep.Periods[1].CostUnknown, "web's February cost is unknown")
	mar := rep.Periods[2]
	assert.False(t, mar.CostUnknown, "every key with credit or costs has its March rows")
	require.NotNil(t, mar.Stages[0].CostPer)
	assert.InDelta(t, 8000.0/2, *mar.Stages[0].CostPer, 1e-9)

	// The result is data: it round-trips through JSON.
	b, err := json.Marshal(r)
	require.NoError(t, err)
	var back lifecycle.ROIResult
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, r, back)
}

// ROI credits each period exactly as Verify credits it: per month, every
// stage, model and key agrees with Verify of that month.
func TestROIAgreesWithVerify(t *testing.T) {
	p, e := verifyFixture(t)
	at := time.Date(2026, 3, 20, 9, 0, 0, 0, time.UTC)
	for i, tr := range []string{"accept", "qualify_sql", "create_opportunity", "win"} {
		_, err := p.machine.Fire(ctx, stage.Lead("new"), tr, stage.Request{Actor: "ana", At: at.Add(time.Duration(i) * time.Minute)})
		require.NoError(t, err)
	}
	_, err := e.Ingest(ctx, leadkit.Event{ID: "deal", LeadID: "new", Type: "deal_won", Time: at.Add(time.Hour), Attrs: map[string]any{"amount": 7000}})
	require.NoError(t, err)
	values := map[string]lifecycle.Value{"Won": {Types: []string{"deal_won"}, Attr: "amount"}, "Opportunity": {Types: []string{"deal_won"}, Attr: "amount"}}
	e = p.engine(t, lifecycle.Options{Verify: lifecycle.VerifyOptions{Values: values}})
	r, err := e.ROI(ctx, lifecycle.ROIOptions{From: month(1), To: month(5), Period: leadkit.PeriodMonth})
	require.NoError(t, err)
	require.Len(t, r.Report.Stages, 2*5, "MQL, SAL, SQL, Opportunity and Won, by two models")
	for m := time.January; m <= time.April; m++ {
		v, err := e.Verify(ctx, lifecycle.Period{From: month(m), To: month(m + 1)})
		require.NoError(t, err)
		_, label := leadkit.PeriodMonth.Cohort(month(m))
		for _, st := range v.Stages {
			for _, model := range []string{"last_touch", "markov"} {
				want, ok := st.Credit(attribution.ByChannel, model)
				require.True(t, ok)
				for key, c := range want.Conversions {
					row, ok := r.Report.Row(key, label)
					require.True(t, ok, "%s %s", key, label)
					got, _ := row.Stage(st.Stage + "/" + model)
					assert.InDelta(t, c, got.Conversions, 1e-12, "%s %s %s %s", label, st.Stage, model, key)
					assert.InDelta(t, want.Value[key], got.Value, 1e-9, "%s %s %s %s", label, st.Stage, model, key)
				}
			}
		}
	}
	// The deal: 7,000 of won value and of pipeline in March, by last
	// touch to paid.
	paid, _ := r.Report.Row("paid", "2026-03")
	won, _ := paid.Stage("Won/last_touch")
	assert.Equal(t, 7000.0, won.Value)
	opp, _ := paid.Stage("Opportunity/last_touch")
	assert.Equal(t, 7000.0, opp.Value)
	assert.True(t, paid.CostUnknown, "no cost table: every cost unknown")
	assert.Nil(t, won.ROI)
}

// Bad options: every problem at once, before the stores are read.
func TestROIRefusesBadInput(t *testing.T) {
	_, e := verifyFixture(t)
	_, err := e.ROI(ctx, lifecycle.ROIOptions{
		From: month(3), To: month(1), Period: leadkit.PeriodQuarter,
		Costs:     attribution.CostTable{Rows: []attribution.CostRow{{Key: "paid", Period: "2026-01", Spend: math.NaN()}, {Key: "paid", Period: "2026-01", Spend: -1}}},
		Functions: map[string]string{"paid": ""},
		Stages:    []string{"MLQ"},
		Models:    []string{"linear", "markov", "markov"},
		Key:       "chanel",
		Values:    map[string]lifecycle.Value{"Won": {}},
	})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	for _, want := range []string{
		"to 2026-01-01T00:00:00Z is not after from 2026-03-01T00:00:00Z",
		`row 0 (key "paid", period "2026-01"): spend is NaN`,
		`row 1 (key "paid", period "2026-01"): spend -1 is negative`,
		`functions: "" `,
		`stage "MLQ" is not a stage of "classic" (did you mean "MQL"?)`,
		`model "linear": want last_touch or markov`,
		`model "markov" listed twice`,
		`key "chanel"`,
		`values of "Won"`,
	} {
		assert.Contains(t, err.Error(), want)
	}
	for name, c := range map[string]struct {
		o    lifecycle.ROIOptions
		want string
	}{
		"no period":     {lifecycle.ROIOptions{From: month(1), To: month(4)}, "period is required"},
		"off the month": {lifecycle.ROIOptions{From: month(1).AddDate(0, 0, 3), To: month(4), Period: leadkit.PeriodQuarter, Costs: fixtureCosts()}, "is not the start of a month"},
		"weeks":         {lifecycle.ROIOptions{From: month(1), To: month(4), Period: leadkit.PeriodWeek, Costs: fixtureCosts()}, "months do not add up to a week"},
		"no models":     {lifecycle.ROIOptions{From: month(1), To: month(4), Period: leadkit.PeriodMonth, Models: []string{}}, "no models"},
	} {
		_, err := e.ROI(ctx, c.o)
		require.ErrorIs(t, err, leadkit.ErrInvalid, name)
		assert.Contains(t, err.Error(), c.want, name)
	}
}

func TestParseROIOptions(t *testing.T) {
	o, err := lifecycle.ParseROIOptions([]byte(`
from: 2026-01-01T00:00:00Z
to: 2026-07-01T00:00:00Z
period: quarter
functions: {webinar: events, paid_search: paid}
models: [markov]
costs:
  period: month
  rows:
    - {key: webinar, period: 2026-01, spend: 1000}
    - {key: events, period: 2026-01, headcount: 2, loaded_cost: 6000}
`))
	require.NoError(t, err)
	assert.Equal(t, leadkit.PeriodQuarter, o.Period)
	assert.Equal(t, month(7), o.To)
	assert.Equal(t, 12000.0, o.Costs.Rows[1].PeopleCost())
	b, err := json.Marshal(o)
	require.NoError(t, err)
	again, err := lifecycle.ParseROIOptions(b)
	require.NoError(t, err)
	assert.Equal(t, o, again)
	_, err = lifecycle.ParseROIOptions([]byte("period: quarter\ncost: {}\n"))
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.Contains(t, err.Error(), "lifecycle: roi options: ")
}

// FuzzParseROIOptions checks that ParseROIOptions and ROI never panic on
// any document, and refuse with ErrInvalid.
func FuzzParseROIOptions(f *testing.F) {
	f.Add([]byte("from: 2026-01-01T00:00:00Z\nto: 2026-04-01T00:00:00Z\nperiod: month\ncosts: {rows: [{key: paid, period: 2026-03, spend: 600}]}\n"))
	f.Add([]byte(`{"from": "2026-03-01T00:00:00Z", "to": "2026-01-01T00:00:00Z", "period": "fortnight", "models": ["linear"], "key": "x", "stages": ["MLQ"]}`))
	f.Add([]byte(`{"from": "2026-01-01T00:00:00Z", "to": "2026-02-01T00:00:00Z", "period": "day", "functions": {"web": "organic"}, "costs": {"period": "week", "rows": [{"key": "web", "period": "2026-W01", "spend": 1}]}}`))
	_, e := verifyFixture(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		o, err := lifecycle.ParseROIOptions(data)
		if err != nil {
			if !errors.Is(err, leadkit.ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		if o.To.Sub(o.From) > 400*24*time.Hour {
			return // keep each run short: a year of days at most
		}
		if _, err := e.ROI(ctx, o); err != nil && !errors.Is(err, leadkit.ErrInvalid) {
			t.Fatalf("error does not wrap ErrInvalid: %v", err)
		}
	})
}

// simStages is the simulator's funnel with manual transitions only, one
// per target stage ("to_MQL"...), as sim's own Verify test has it.
func simStages() stage.Definition {
	return stage.Definition{
		Name:    "sim",
		Initial: sim.StageRaw,
		Stages: []stage.Stage{
			{Name: sim.StageRaw, Category: stage.Marketing},
			{Name: sim.StageMQL, Category: stage.Marketing},
			{Name: sim.StageSAL, Category: stage.Sales},
			{Name: sim.StageSQL, Category: stage.Sales},
			{Name: sim.StageOpportunity, Category: stage.Sales},
			{Name: sim.StageWon, Category: stage.Customer, Terminal: true},
			{Name: sim.StageLost, Category: stage.Closed},
			{Name: sim.StageRecycled, Category: stage.Recycled},
		},
		Transitions: []stage.Transition{
			{Name: "to_MQL", From: []string{sim.StageRaw, sim.StageRecycled}, To: sim.StageMQL},
			{Name: "to_SAL", From: []string{sim.StageMQL}, To: sim.StageSAL},
			{Name: "to_SQL", From: []string{sim.StageSAL}, To: sim.StageSQL},
			{Name: "to_Opportunity", From: []string{sim.StageSQL}, To: sim.StageOpportunity},
			{Name: "to_Won", From: []string{sim.StageOpportunity}, To: sim.StageWon},
			{Name: "to_Lost", From: []string{sim.StageOpportunity}, To: sim.StageLost},
			{Name: "to_Recycled", From: []string{sim.StageMQL, sim.StageSAL, sim.StageSQL}, To: sim.StageRecycled},
			{Name: "renurture", From: []string{sim.StageLost}, To: sim.StageRecycled},
		},
	}
}

// TestROIOnSim streams a simulated business through an engine (leads
// imported, events ingested, the simulator's stage changes fired at their
// times) and asks for ROI per channel and quarter with the simulator's
// own monthly channel costs as the cost table. Each channel's quarterly
// cost must be exactly the sum of its three months in sim.Truth, and the
// credit per quarter must add up to the MQLs, deals and revenue the Truth
// counts in its months (no recycling: every MQL is a first entry).
func TestROIOnSim(t *testing.T) {
	zero := 0.0
	s, err := sim.New(sim.Config{Seed: 17, Leads: 2500, RecycleRate: &zero})
	require.NoError(t, err)
	cfg := s.Config()
	end := cfg.Start.AddDate(0, cfg.Months, 0)
	clock := func() time.Time { return end }
	spec, err := scoring.ParseModel([]byte(`
name: sim
dimensions:
  - name: engagement
    behavior: [{name: touch, types: [page_view, download, webinar_attended], points: 1}]
`))
	require.NoError(t, err)
	model, err := scoring.Compile(spec, scoring.Options{})
	require.NoError(t, err)
	machine, err := stage.New(simStages(), stage.Options{Now: clock})
	require.NoError(t, err)
	e, err := lifecycle.New(nil, model, machine, journey.NewMemoryStore(), lifecycle.Options{
		Now: clock, Unknown: lifecycle.UnknownRefuse,
		Verify: lifecycle.VerifyOptions{
			Stages: []string{sim.StageMQL, sim.StageOpportunity, sim.StageWon},
			Keys:   []attribution.TouchKey{attribution.ByChannel},
			Values: map[string]lifecycle.Value{
				sim.StageWon:         {Types: []string{sim.EventDealWon}, Attr: "amount"},
				sim.StageOpportunity: {Types: []string{sim.EventDealWon, sim.EventDealLost}, Attr: "amount"},
			},
		},
	})
	require.NoError(t, err)
	var batch []leadkit.Event
	waiting := map[string]bool{}
	flush := func() {
		if len(batch) > 0 {
			_, err := e.Ingest(ctx, batch...)
			require.NoError(t, err)
			batch, waiting = batch[:0], map[string]bool{}
		}
	}
	for r := range s.Records() {
		switch r.Kind {
		case sim.KindLead:
			_, err := e.AddLead(ctx, *r.Lead, "")
			require.NoError(t, err)
		case sim.KindEvent:
			batch = append(batch, r.Event)
			waiting[r.Event.LeadID] = true
			if len(batch) == 5000 {
				flush()
			}
		case sim.KindStage:
			if waiting[r.Stage.LeadID] {
				flush()
			}
			_, err := machine.Fire(ctx, stage.Lead(r.Stage.LeadID), "to_"+r.Stage.To, stage.Request{At: r.Stage.At, Reason: r.Stage.Reason})
			require.NoError(t, err)
		}
	}
	flush()
	tr := s.Truth()

	// The simulator's costs, one row per channel and month.
	var costs attribution.CostTable
	type quarterTruth struct {
		cost         map[string]float64
		mqls, won    int
		revenue      float64
		months       int
		label, first string
	}
	quarters := map[string]*quarterTruth{}
	var order []string
	for _, m := range tr.Months {
		_, mlabel := leadkit.PeriodMonth.Cohort(m.Month)
		_, qlabel := leadkit.PeriodQuarter.Cohort(m.Month)
		q := quarters[qlabel]
		if q == nil {
			q = &quarterTruth{cost: map[string]float64{}, label: qlabel}
			quarters[qlabel] = q
			order = append(order, qlabel)
		}
		q.mqls += m.MQLs
		q.won += m.Won
		q.revenue += m.Revenue
		q.months++
		for _, c := range m.Costs {
			costs.Rows = append(costs.Rows, attribution.CostRow{Key: c.Channel, Period: mlabel, Spend: c.Cost})
			q.cost[c.Channel] += c.Cost
		}
	}
	require.NotEmpty(t, costs.Rows)

	started := time.Now()
	r, err := e.ROI(ctx, lifecycle.ROIOptions{From: cfg.Start, To: end, Period: leadkit.PeriodQuarter, Costs: costs})
	require.NoError(t, err)
	took := time.Since(started)
	v0 := time.Now()
	_, err = e.Verify(ctx, lifecycle.Period{From: cfg.Start, To: cfg.Start.AddDate(0, 3, 0)})
	require.NoError(t, err)
	t.Logf("%d leads, %d events: ROI of %d quarters in %s, one quarter's Verify in %s", tr.Leads, tr.Events, len(quarters), took, time.Since(v0))
	// Verify's credit is one pass of a CreditAccumulator; it equals the
	// paths of every journey credited at once (Markov within rounding:
	// the accumulator's table is in canonical order).
	for _, st := range []string{sim.StageMQL, sim.StageOpportunity, sim.StageWon} {
		for q := range 4 {
			p := lifecycle.Period{From: cfg.Start.AddDate(0, 3*q, 0), To: cfg.Start.AddDate(0, 3*q+3, 0)}
			got, ref, err := lifecycle.CreditsBothWays(ctx, e, st, p)
			require.NoError(t, err)
			sameCredit(t, ref, got)
		}
	}
	rep := r.Report
	assert.Empty(t, r.Unsolved)
	assert.Empty(t, rep.PeriodsWithoutCosts)
	require.Len(t, rep.Periods, len(order))
	for i, qlabel := range order {
		q := quarters[qlabel]
		for ch, want := range q.cost {
			row, ok := rep.Row(ch, qlabel)
			require.True(t, ok, "%s %s", ch, qlabel)
			assert.False(t, row.CostUnknown, "%s %s: %v", ch, qlabel, row.MissingCost)
			assert.InDelta(t, want, row.Cost, 1e-9*want, "%s %s", ch, qlabel)
			assert.Equal(t, row.Cost, row.Spend)
			// Cost per MQL, where the channel has last-touch MQLs.
			mql, _ := row.Stage(sim.StageMQL + "/last_touch")
			if mql.Conversions > 0 {
				require.NotNil(t, mql.CostPer)
				assert.InDelta(t, want/mql.Conversions, *mql.CostPer, 1e-9*want)
			}
		}
		total := rep.Periods[i]
		for _, model := range []string{"last_touch", "markov"} {
			mql, _ := total.Stage(sim.StageMQL + "/" + model)
			won, _ := total.Stage(sim.StageWon + "/" + model)
			assert.InDelta(t, float64(q.mqls), mql.Conversions, 1e-6, "%s %s MQLs", qlabel, model)
			assert.InDelta(t, float64(q.won), won.Conversions, 1e-6, "%s %s deals", qlabel, model)
			assert.InDelta(t, q.revenue, won.Value, 1e-6*max(1, q.revenue), "%s %s revenue", qlabel, model)
		}
		t.Logf("%s: %d months, %d MQLs, %d deals, revenue %.0f, marketing cost %.0f", qlabel, q.months, q.mqls, q.won, q.revenue, total.Cost)
	}
	// Credit to the sales team's touches, which have no cost row, is
	// flagged; no simulated channel is.
	for _, k := range rep.Uncosted {
		_, costed := quarters[order[0]].cost[k]
		assert.False(t, costed, "%s has costs", k)
	}
}

// TestROITeamOutput: the SDR team's output per period for its cost: the
// MQLs it moved on into TAL (recycled ones are not output), against the
// cost table's row for the team; a team without cost rows has no cost.
func TestROITeamOutput(t *testing.T) {
	e, m := talEngine(t)
	accept := map[time.Month]int{time.March: 30, time.April: 10, time.May: 7} // May is outside the report
	for mo, n := range accept {
		for i := range n + 5 {
			id := fmt.Sprintf("%s-%02d", mo, i)
			at := month(mo).Add(time.Duration(i) * time.Hour)
			_, err := e.AddLead(ctx, leadkit.Lead{ID: id, CreatedAt: at}, "MQL")
			require.NoError(t, err)
			tr, req := "accept", stage.Request{Actor: "ana", At: at.Add(time.Hour)}
			if i >= n {
				tr, req.Reason = "recycle", "timing"
			}
			_, err = m.Fire(ctx, stage.Lead(id), tr, req)
			require.NoError(t, err)
		}
	}
	costs := attribution.CostTable{Period: leadkit.PeriodMonth, Rows: []attribution.CostRow{
		{Key: "sdr", Period: "2026-03", Headcount: 2, LoadedCost: 9000},
		{Key: "sdr", Period: "2026-04", Headcount: 2, LoadedCost: 9000},
	}}
	r, err := e.ROI(ctx, lifecycle.ROIOptions{From: month(3), To: month(5), Period: leadkit.PeriodMonth, Costs: costs})
	require.NoError(t, err)
	by := map[string]lifecycle.TeamOutput{}
	for _, to := range r.Teams {
		by[to.Team+" "+to.Period] = to
	}
	march := by["sdr 2026-03"]
	require.NotNil(t, march.Cost)
	assert.Equal(t, 18000.0, *march.Cost)
	require.Len(t, march.Moved, 1)
	assert.Equal(t, lifecycle.TeamMove{Stage: "TAL", Count: 30, CostPer: ptr(600.0), PerHead: ptr(15.0)}, march.Moved[0])
	assert.Equal(t, 10, by["sdr 2026-04"].Moved[0].Count)
	sales := by["sales 2026-03"]
	assert.Nil(t, sales.Cost, "no cost rows for sales: unknown")
	assert.Empty(t, sales.Moved)
}

func ptr[T any](v T) *T { return &v }

// TestROITeamOutputReachesSkippedStages: an MQL an SDR moves straight to
// SAL reached TAL on the way (stage.Reach), and both are the SDR team's
// output, as ROI's stage credit counts the skipped stage too.
func TestROITeamOutputReachesSkippedStages(t *testing.T) {
	e, m := talEngine(t, stage.Transition{Name: "fast", From: []string{"MQL"}, To: "SAL"})
	at := month(3).Add(time.Hour)
	_, err := e.AddLead(ctx, leadkit.Lead{ID: "a", CreatedAt: at}, "MQL")
	require.NoError(t, err)
	_, err = m.Fire(ctx, stage.Lead("a"), "fast", stage.Request{Actor: "ana", At: at.Add(time.Hour)})
	require.NoError(t, err)
	r, err := e.ROI(ctx, lifecycle.ROIOptions{From: month(3), To: month(4), Period: leadkit.PeriodMonth,
		Costs: attribution.CostTable{Period: leadkit.PeriodMonth, Rows: []attribution.CostRow{{Key: "sdr", Period: "2026-03", Headcount: 1, LoadedCost: 1000}}}})
	require.NoError(t, err)
	for _, to := range r.Teams {
		if to.Team == "sdr" {
			assert.Equal(t, []lifecycle.TeamMove{{Stage: "SAL", Count: 1, CostPer: ptr(1000.0), PerHead: ptr(1.0)}, {Stage: "TAL", Count: 1, CostPer: ptr(1000.0), PerHead: ptr(1.0)}}, to.Moved)
		}
	}
}

// TestROITeamOutputAutomaticIsNobodys: the scoring engine's automatic
// qualifications out of Raw (marketing's stage in stage.Classic) are no
// team's output; a definition without teams has none, as an empty list.
func TestROITeamOutputAutomaticIsNobodys(t *testing.T) {
	_, e := verifyFixture(t) // Classic: old, new and done qualified automatically
	r, err := e.ROI(ctx, lifecycle.ROIOptions{From: month(1), To: month(4), Period: leadkit.PeriodMonth})
	require.NoError(t, err)
	require.NotEmpty(t, r.Teams)
	for _, to := range r.Teams {
		assert.Empty(t, to.Moved, "%s %s", to.Team, to.Period)
	}

	def := stage.Classic()
	for i := range def.Stages {
		def.Stages[i].Team = ""
	}
	p := newParts(t)
	m, err := stage.New(def, stage.Options{Store: p.stages, Now: func() time.Time { return now }})
	require.NoError(t, err)
	pol, err := pool.ParsePolicy([]byte(testPolicy))
	require.NoError(t, err)
	pl, err := pool.New(pool.Options{Store: p.pstore, Policy: pol, Now: func() time.Time { return now }})
	require.NoError(t, err)
	bare, err := lifecycle.New(pl, p.model, m, p.events, lifecycle.Options{States: p.states, Now: func() time.Time { return now },
		Facts: map[string]string{"score": "total", "grade": "fit_band"}})
	require.NoError(t, err)
	r, err = bare.ROI(ctx, lifecycle.ROIOptions{From: month(1), To: month(2), Period: leadkit.PeriodMonth})
	require.NoError(t, err)
	b, err := json.Marshal(r)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"teams":[]`, "no teams: an empty list, not null")
}

// sameCredit requires two stage results to have the same attribution:
// the same skipped journeys and reasons, models and errors, channels,
// and credit equal within rounding.
func sameCredit(t *testing.T, want, got lifecycle.StageResult) {
	t.Helper()
	require.Equal(t, want.Skipped, got.Skipped)
	require.Equal(t, want.SkipReasons, got.SkipReasons)
	require.Len(t, got.Attribution, len(want.Attribution))
	for i, w := range want.Attribution {
		g := got.Attribution[i]
		require.Equal(t, w.Key, g.Key)
		require.Equal(t, w.Model, g.Model)
		require.Equal(t, w.Error, g.Error)
		for _, m := range [][2]map[string]float64{{w.Result.Conversions, g.Result.Conversions}, {w.Result.Value, g.Result.Value},
			{w.Result.RemovalEffects, g.Result.RemovalEffects}, {w.Result.ValueRemovalEffects, g.Result.ValueRemovalEffects}} {
			require.Len(t, m[1], len(m[0]), "%s %s", w.Key, w.Model)
			for ch, x := range m[0] {
				require.InDelta(t, x, m[1][ch], 1e-9*max(1, x), "%s %s %s", w.Key, w.Model, ch)
			}
		}
		require.InDelta(t, w.Result.ConversionProbability, g.Result.ConversionProbability, 1e-12)
	}
}
