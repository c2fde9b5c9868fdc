package lifecycle_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/lifecycle"
	"github.com/leadkit/leadkit/pool"
	"github.com/leadkit/leadkit/stage"
)

// talEngine is an engine over the classic stages with TAL between MQL
// and SAL, the SDR team owning MQL, and a target of 0.4 for MQL -> TAL.
func talEngine(t *testing.T, extra ...stage.Transition) (*lifecycle.Engine, *stage.Machine) {
	t.Helper()
	def, err := stage.Classic().InsertBetween(stage.Stage{Name: "TAL", Team: "sales"}, "MQL", "SAL")
	require.NoError(t, err)
	def.Transitions = append(def.Transitions, extra...)
	for i := range def.Stages {
		if def.Stages[i].Name == "MQL" {
			def.Stages[i].Team = "sdr"
			def.Stages[i].SLA = 3 * 24 * time.Hour
		}
	}
	def.Targets = []stage.Target{{From: "MQL", To: "TAL", Rate: 0.4, CycleTime: leadkit.Duration(24 * time.Hour)}}
	p := newParts(t)
	m, err := stage.New(def, stage.Options{Store: p.stages, Now: func() time.Time { return now }})
	require.NoError(t, err)
	pol, err := pool.ParsePolicy([]byte(testPolicy))
	require.NoError(t, err)
	pl, err := pool.New(pool.Options{Store: p.pstore, Policy: pol, Now: func() time.Time { return now }})
	require.NoError(t, err)
	e, err := lifecycle.New(pl, p.model, m, p.events, lifecycle.Options{States: p.states, Now: func() time.Time { return now },
		Facts: map[string]string{"score": "total", "grade": "fit_band"}})
	require.NoError(t, err)
	return e, m
}

// TestDiagnoseScreeningAndFollowUp plants three SDRs of 100 MQLs each:
// ana calls every lead and accepts half; bo calls every lead and accepts
// a tenth (screening); cy calls 30 and recycles the other 70 without a
// call, accepting half of those it called (follow-up). Sales reps split
// the TALs; dee moves 80% to SAL, eve 30%.
func TestDiagnoseScreeningAndFollowUp(t *testing.T) {
	e, m := talEngine(t)
	type plan struct {
		sdr            string
		called, accept int
	}
	plans := []plan{{"ana", 100, 50}, {"bo", 100, 10}, {"cy", 30, 15}}
	rep := 0
	for _, p := range plans {
		for i := range 100 {
			id := fmt.Sprintf("%s-%03d", p.sdr, i)
			at := t0.Add(time.Duration(i) * time.Hour)
			_, err := e.AddLead(ctx, leadkit.Lead{ID: id, CreatedAt: at}, "MQL")
			require.NoError(t, err)
			lead := stage.Lead(id)
			if i >= p.called {
				_, err = m.Fire(ctx, lead, "recycle", stage.Request{Actor: p.sdr, Reason: "timing", At: at.Add(10 * 24 * time.Hour)})
				require.NoError(t, err)
				continue
			}
			callAt := at.Add(2 * time.Hour)
			_, err = e.Ingest(ctx, leadkit.Event{ID: id + "-call", LeadID: id, Type: leadkit.EventSDRCall, Channel: "sdr", Time: callAt})
			require.NoError(t, err)
			if i >= p.accept {
				_, err = m.Fire(ctx, lead, "recycle", stage.Request{Actor: p.sdr, Reason: "timing", At: callAt})
				require.NoError(t, err)
				continue
			}
			_, err = m.Fire(ctx, lead, "accept", stage.Request{Actor: p.sdr, At: callAt})
			require.NoError(t, err)
			owner, share := "dee", 8
			if rep%2 == 1 {
				owner, share = "eve", 3
			}
			next := "recycle"
			if (rep/2)%10 < share {
				next = "tal_to_sal"
			}
			rep++
			req := stage.Request{Actor: owner, At: callAt.Add(24 * time.Hour)}
			if next == "recycle" {
				req.Reason = "timing"
			}
			_, err = m.Fire(ctx, lead, next, req)
			require.NoError(t, err)
		}
	}

	d, err := e.Diagnose(ctx, lifecycle.DiagnoseOptions{Stages: []string{"MQL", "TAL", "SAL"}})
	require.NoError(t, err)
	step, ok := d.Step("MQL", "TAL")
	require.True(t, ok)
	assert.Equal(t, "sdr", step.Team)
	assert.Equal(t, 300, step.Rate.Base)
	assert.Equal(t, 75, step.Rate.Count)
	require.NotNil(t, step.Target)
	assert.Equal(t, 0.4, *step.Target)
	assert.True(t, step.BelowTarget, "0.25 of 300 is under 0.4")
	assert.Equal(t, 230, step.Work.Worked.Count)
	got := map[string]lifecycle.OwnerDiagnosis{}
	for _, o := range step.Owners {
		got[o.Owner] = o
	}
	require.Len(t, got, 3)
	assert.True(t, got["ana"].Above)
	assert.Empty(t, got["ana"].Reading)
	assert.Equal(t, lifecycle.ReadingScreening, got["bo"].Reading)
	assert.Equal(t, lifecycle.ReadingFollowUp, got["cy"].Reading)
	assert.Equal(t, 30, got["cy"].Work.Worked.Count)
	assert.Equal(t, leadkit.Duration(2*time.Hour), *got["bo"].Work.FirstMedian)
	assert.Equal(t, 1.0, *got["bo"].Work.PerStay)
	// cy's 70 uncalled leads sat 10 days in MQL: breaches of the 3-day SLA.
	assert.Equal(t, 70, got["cy"].Breaches.Count)
	assert.Equal(t, 0, got["ana"].Breaches.Count)

	sal, ok := d.Step("TAL", "SAL")
	require.True(t, ok)
	assert.Equal(t, "sales", sal.Team)
	assert.Nil(t, sal.Target, "no target: no data")
	reps := map[string]lifecycle.OwnerDiagnosis{}
	for _, o := range sal.Owners {
		reps[o.Owner] = o
	}
	assert.Equal(t, 38, reps["dee"].Rate.Base)
	assert.Equal(t, 37, reps["eve"].Rate.Base)
	assert.Greater(t, reps["dee"].Rate.Value(), reps["eve"].Rate.Value())
	assert.Equal(t, 0, reps["dee"].Work.Touches, "no sales follow-ups were logged")
	assert.Nil(t, reps["dee"].Work.PerWorked)

	// The costliest gap is MQL -> TAL, the one step with a target.
	require.NotNil(t, d.Gaps.Costliest)
	assert.Equal(t, "TAL", d.Gaps.Costliest.To)

	b, err := json.Marshal(d)
	require.NoError(t, err)
	var back lifecycle.Diagnosis
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, d, back)

	_, err = e.Diagnose(ctx, lifecycle.DiagnoseOptions{Owner: "boss"})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	_, err = e.Diagnose(ctx, lifecycle.DiagnoseOptions{Stages: []string{"MQL", "Nope"}})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
}

// TestDiagnoseAssignedField: a CRM's assignment field owns the stays of
// its stage, whoever fired the transitions; other stages keep the actor.
func TestDiagnoseAssignedField(t *testing.T) {
	e, m := talEngine(t)
	for i := range 4 {
		id := fmt.Sprintf("a%d", i)
		at := t0.Add(time.Duration(i) * time.Hour)
		custom := map[string]any{"sdr_owner": "zed"}
		if i == 3 {
			custom = map[string]any{"sdr_owner": 7} // not a name: nobody
		}
		_, err := e.AddLead(ctx, leadkit.Lead{ID: id, CreatedAt: at, Person: leadkit.Person{Custom: custom}}, "MQL")
		require.NoError(t, err)
		_, err = m.Fire(ctx, stage.Lead(id), "accept", stage.Request{Actor: "ana", At: at.Add(time.Hour)})
		require.NoError(t, err)
	}
	d, err := e.Diagnose(ctx, lifecycle.DiagnoseOptions{Stages: []string{"MQL", "TAL", "SAL"}, Assigned: map[string]string{"MQL": "sdr_owner"}})
	require.NoError(t, err)
	step, _ := d.Step("MQL", "TAL")
	require.Len(t, step.Owners, 2)
	assert.Equal(t, "", step.Owners[0].Owner)
	assert.Equal(t, 1, step.Owners[0].Rate.Base)
	assert.Equal(t, "zed", step.Owners[1].Owner)
	assert.Equal(t, 3, step.Owners[1].Rate.Base)
	without, err := e.Diagnose(ctx, lifecycle.DiagnoseOptions{Stages: []string{"MQL", "TAL", "SAL"}})
	require.NoError(t, err)
	s2, _ := without.Step("MQL", "TAL")
	require.Len(t, s2.Owners, 1)
	assert.Equal(t, "ana", s2.Owners[0].Owner)

	_, err = e.Diagnose(ctx, lifecycle.DiagnoseOptions{Assigned: map[string]string{"Nope": "x"}})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	_, err = e.Diagnose(ctx, lifecycle.DiagnoseOptions{Assigned: map[string]string{"MQL": ""}})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
}

// TestDiagnoseWorkOfTheFunnelsLeads: an owner's work is measured over the
// leads of its rate. eve's TAL stays begin after To, of leads that reached
// MQL before it: they are in her rate, so their (missing) follow-ups are
// her work, and she reads as not following up, not as screening.
func TestDiagnoseWorkOfTheFunnelsLeads(t *testing.T) {
	e, m := talEngine(t)
	from, to := t0, t0.Add(200*time.Hour)
	for i := range 120 {
		id := fmt.Sprintf("l-%03d", i)
		at := t0.Add(time.Duration(i) * time.Hour)
		_, err := e.AddLead(ctx, leadkit.Lead{ID: id, CreatedAt: at}, "MQL")
		require.NoError(t, err)
		lead := stage.Lead(id)
		owner, acceptAt, converts := "dee", at.Add(2*time.Hour), i%10 < 8
		if i%2 == 1 {
			owner, acceptAt, converts = "eve", at.Add(300*time.Hour), i%10 == 1 // after To
		}
		_, err = e.Ingest(ctx, leadkit.Event{ID: id + "-call", LeadID: id, Type: leadkit.EventSDRCall, Channel: "sdr", Time: acceptAt})
		require.NoError(t, err)
		_, err = m.Fire(ctx, lead, "accept", stage.Request{Actor: "ana", At: acceptAt})
		require.NoError(t, err)
		if owner == "dee" { // dee follows up every lead
			_, err = e.Ingest(ctx, leadkit.Event{ID: id + "-fu", LeadID: id, Type: leadkit.EventSalesFollowUp, Time: acceptAt.Add(time.Hour)})
			require.NoError(t, err)
		}
		req := stage.Request{Actor: owner, At: acceptAt.Add(24 * time.Hour)}
		next := "tal_to_sal"
		if !converts {
			next, req.Reason = "recycle", "timing"
		}
		_, err = m.Fire(ctx, lead, next, req)
		require.NoError(t, err)
	}
	d, err := e.Diagnose(ctx, lifecycle.DiagnoseOptions{From: from, To: to, Stages: []string{"MQL", "TAL", "SAL"}})
	require.NoError(t, err)
	step, ok := d.Step("TAL", "SAL")
	require.True(t, ok)
	var eve lifecycle.OwnerDiagnosis
	for _, o := range step.Owners {
		if o.Owner == "eve" {
			eve = o
		}
	}
	require.Equal(t, 60, eve.Rate.Base, "eve's 60 leads are in the funnel")
	assert.Equal(t, 60, eve.Work.Stays, "the work should be measured over the same leads as the rate")
	assert.Equal(t, 0, eve.Work.Worked.Count)
	assert.Equal(t, lifecycle.ReadingFollowUp, eve.Reading, "eve never followed up a lead: not screening")
}

// TestDiagnoseNeglectedLeads: with owners from actors, the MQLs an SDR
// never touched are nobody's: they show as the unowned share and as the
// "" owner read as follow-up; with the CRM's assignment field, they are
// the SDR's, and so is the follow-up reading.
func TestDiagnoseNeglectedLeads(t *testing.T) {
	e, m := talEngine(t)
	for _, sdr := range []string{"ana", "cy"} {
		for i := range 100 {
			id := fmt.Sprintf("%s-%03d", sdr, i)
			at := t0.Add(time.Duration(i) * time.Hour)
			_, err := e.AddLead(ctx, leadkit.Lead{ID: id, CreatedAt: at, Person: leadkit.Person{Custom: map[string]any{"sdr": sdr}}}, "MQL")
			require.NoError(t, err)
			if sdr == "cy" && i >= 30 {
				continue // never called, never touched
			}
			callAt := at.Add(2 * time.Hour)
			_, err = e.Ingest(ctx, leadkit.Event{ID: id + "-call", LeadID: id, Type: leadkit.EventSDRCall, Time: callAt})
			require.NoError(t, err)
			tr, req := "accept", stage.Request{Actor: sdr, At: callAt}
			if i%2 == 1 {
				tr, req.Reason = "recycle", "timing"
			}
			_, err = m.Fire(ctx, stage.Lead(id), tr, req)
			require.NoError(t, err)
		}
	}
	owners := func(o lifecycle.DiagnoseOptions) (lifecycle.StepDiagnosis, map[string]lifecycle.OwnerDiagnosis) {
		o.Stages = []string{"MQL", "TAL", "SAL"}
		d, err := e.Diagnose(ctx, o)
		require.NoError(t, err)
		step, ok := d.Step("MQL", "TAL")
		require.True(t, ok)
		m := map[string]lifecycle.OwnerDiagnosis{}
		for _, o := range step.Owners {
			m[o.Owner] = o
		}
		return step, m
	}
	step, by := owners(lifecycle.DiagnoseOptions{})
	assert.Equal(t, 30, by["cy"].Rate.Base)
	assert.Equal(t, 70, by[""].Rate.Base)
	assert.Equal(t, 70, step.Unowned.Count)
	assert.Equal(t, 200, step.Unowned.Base)
	assert.Equal(t, lifecycle.ReadingFollowUp, by[""].Reading, "the untouched leads read as not followed up")
	assert.Equal(t, 70, by[""].Breaches.Count)

	step, by = owners(lifecycle.DiagnoseOptions{Assigned: map[string]string{"MQL": "sdr"}})
	assert.Equal(t, 100, by["cy"].Rate.Base)
	assert.Equal(t, 0, step.Unowned.Count)
	assert.Equal(t, lifecycle.ReadingFollowUp, by["cy"].Reading)
	assert.Equal(t, 30, by["cy"].Work.Worked.Count)
	assert.Empty(t, by["ana"].Reading)
}

// TestDiagnoseOptionsAllProblems: bad options are reported all at once.
func TestDiagnoseOptionsAllProblems(t *testing.T) {
	e, _ := talEngine(t)
	_, err := e.Diagnose(ctx, lifecycle.DiagnoseOptions{Owner: "boss", Work: []string{""}, Assigned: map[string]string{"Nope": "x", "MQL": ""}})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	for _, want := range []string{`unknown owner source "boss"`, `types[0]: empty`, `assigned: unknown stage "Nope"`, `assigned["MQL"]: no field name`} {
		assert.Contains(t, err.Error(), want)
	}
}

// TestDiagnoseTimesOutOfRange: times outside leadkit's range are refused,
// so a diagnosis returned always encodes.
func TestDiagnoseTimesOutOfRange(t *testing.T) {
	e, _ := talEngine(t)
	from := time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)
	_, err := e.Diagnose(ctx, lifecycle.DiagnoseOptions{From: from, To: from.AddDate(0, 0, 2), Now: time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC)})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	for _, want := range []string{"from 9999-12-31", "to 10000-01-02", "now 0001-01-01"} {
		assert.Contains(t, err.Error(), want)
	}
}

// TestDiagnoseInUTC: the diagnosis writes its times in UTC, as Verify
// does, so it survives a JSON round trip whatever the caller's zone.
func TestDiagnoseInUTC(t *testing.T) {
	e, _ := talEngine(t)
	loc := time.FixedZone("CEST", 2*3600)
	d, err := e.Diagnose(ctx, lifecycle.DiagnoseOptions{From: time.Date(2026, 1, 1, 0, 0, 0, 0, loc), To: time.Date(2026, 7, 1, 0, 0, 0, 0, loc)})
	require.NoError(t, err)
	b, err := json.Marshal(d)
	require.NoError(t, err)
	var back lifecycle.Diagnosis
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, d, back)
	assert.Equal(t, time.UTC, d.From.Location())
}

// TestDiagnoseWorkByStage: a stage's own work types: an SDR's calls per
// lead in MQL without the meetings booked in the same stay.
func TestDiagnoseWorkByStage(t *testing.T) {
	e, m := talEngine(t)
	for i := range 4 {
		id := fmt.Sprintf("w%d", i)
		at := t0.Add(time.Duration(i) * time.Hour)
		_, err := e.AddLead(ctx, leadkit.Lead{ID: id, CreatedAt: at}, "MQL")
		require.NoError(t, err)
		_, err = e.Ingest(ctx,
			leadkit.Event{ID: id + "-call", LeadID: id, Type: leadkit.EventSDRCall, Time: at.Add(time.Hour)},
			leadkit.Event{ID: id + "-meet", LeadID: id, Type: leadkit.EventMeeting, Time: at.Add(2 * time.Hour)})
		require.NoError(t, err)
		_, err = m.Fire(ctx, stage.Lead(id), "accept", stage.Request{Actor: "ana", At: at.Add(3 * time.Hour)})
		require.NoError(t, err)
	}
	d, err := e.Diagnose(ctx, lifecycle.DiagnoseOptions{Stages: []string{"MQL", "TAL", "SAL"}})
	require.NoError(t, err)
	step, _ := d.Step("MQL", "TAL")
	assert.Equal(t, 2.0, *step.Work.PerStay, "by default a meeting is work too")
	d, err = e.Diagnose(ctx, lifecycle.DiagnoseOptions{Stages: []string{"MQL", "TAL", "SAL"}, WorkByStage: map[string][]string{"MQL": {leadkit.EventSDRCall}}})
	require.NoError(t, err)
	step, _ = d.Step("MQL", "TAL")
	assert.Equal(t, 1.0, *step.Work.PerStay)
	require.Len(t, d.Work.Stages, 2)
	_, err = e.Diagnose(ctx, lifecycle.DiagnoseOptions{Stages: []string{"MQL", "TAL", "SAL"}, WorkByStage: map[string][]string{"SAL": {"x"}, "MQL": {}}})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.Contains(t, err.Error(), `work_by_stage: "SAL" is not a stage of the funnel with a next stage`)
	assert.Contains(t, err.Error(), `work of "MQL"`)
}

// TestDiagnoseBadWorkOnce: a bad default work list is reported once, even
// when every stage has its own.
func TestDiagnoseBadWorkOnce(t *testing.T) {
	e, _ := talEngine(t)
	_, err := e.Diagnose(ctx, lifecycle.DiagnoseOptions{Stages: []string{"MQL", "TAL", "SAL"}, Work: []string{""}})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.Equal(t, 1, strings.Count(err.Error(), "types[0]"), err.Error())
	_, err = e.Diagnose(ctx, lifecycle.DiagnoseOptions{Stages: []string{"MQL", "TAL", "SAL"}, Work: []string{""},
		WorkByStage: map[string][]string{"MQL": {"sdr_call"}, "TAL": {"meeting"}}})
	require.ErrorIs(t, err, leadkit.ErrInvalid, "a bad default list is an error even when no stage uses it")
}
