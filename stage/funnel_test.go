package stage_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/stage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMachineFunnel(t *testing.T) {
	m, clk := newMachine(t, stage.Classic(), stage.Options{})
	day := 24 * time.Hour
	t0 := clk.Now()
	at := func(d int) { clk.Advance(t0.Add(time.Duration(d) * day).Sub(clk.Now())) }
	must := func(_ any, err error) { t.Helper(); require.NoError(t, err) }
	adv := func(id string) {
		t.Helper()
		_, _, err := m.Advance(ctx, stage.Lead(id), stage.Facts{"score": 100}, stage.Request{})
		require.NoError(t, err)
	}
	fire := func(id, tr, reason string) {
		t.Helper()
		must(m.Fire(ctx, stage.Lead(id), tr, stage.Request{Reason: reason}))
	}

	// Four leads, timelines chosen so every count below can be done by hand.
	at(0)
	must(m.Start(ctx, stage.Lead("L1"), stage.StartOptions{}))
	must(m.Start(ctx, stage.Lead("L2"), stage.StartOptions{}))
	must(m.Start(ctx, stage.Lead("L3"), stage.StartOptions{Stage: "SQL"})) // imported at SQL: skipped Raw..SAL
	at(1)
	adv("L1") // L1 MQL d1
	at(2)
	adv("L2") // L2 MQL d2
	at(3)
	fire("L1", "accept", "") // L1 SAL d3
	at(5)
	fire("L2", "recycle", "timing") // L2 Recycled d5
	at(6)
	fire("L1", "qualify_sql", "") // L1 SQL d6
	at(10)
	must(m.Start(ctx, stage.Lead("L4"), stage.StartOptions{})) // L4 Raw d10
	at(40)
	adv("L2") // L2 MQL again d40: counted once

	r, err := m.Funnel(ctx, stage.FunnelOptions{})
	require.NoError(t, err)
	assert.Equal(t, []stage.FunnelStage{
		{Stage: "Raw", Entered: 3, Reached: 4, Skipped: 1},
		{Stage: "MQL", Entered: 2, Reached: 3, Skipped: 1},
		{Stage: "SAL", Entered: 1, Reached: 2, Skipped: 1},
		{Stage: "SQL", Entered: 2, Reached: 2, Skipped: 0},
		{Stage: "Opportunity"},
		{Stage: "Won"},
	}, r.Stages)
	c, ok := r.Conversion("MQL", "SAL")
	require.True(t, ok)
	assert.Equal(t, 3, c.Base)
	assert.Equal(t, 2, c.Converted)
	assert.InDelta(t, 2.0/3, c.Rate, 1e-12)
	assert.Equal(t, leadkit.Duration(day), c.Median, "L1 took 2 days, L3 0: median 1 day")
	assert.Equal(t, leadkit.Duration(day), c.Mean)
	c, _ = r.Conversion("Raw", "MQL")
	assert.Equal(t, 4, c.Base)
	assert.Equal(t, 3, c.Converted)
	assert.Equal(t, leadkit.Duration(day), c.Median, "durations 1, 2 and 0 days")
	c, _ = r.Conversion("SQL", "Won")
	assert.Equal(t, 0, c.Converted)
	assert.Zero(t, c.Rate)

	// Cohort: leads that entered the funnel from day 5 on: only L4.
	r, err = m.Funnel(ctx, stage.FunnelOptions{From: t0.Add(5 * day)})
	require.NoError(t, err)
	assert.Equal(t, 1, r.Stages[0].Reached)
	assert.Equal(t, 0, r.Stages[1].Reached)

	// A custom stage list, e.g. just the hand-off. L3, imported at SQL,
	// passed both MQL and SAL without entering them.
	r, err = m.Funnel(ctx, stage.FunnelOptions{Stages: []string{"MQL", "SAL"}})
	require.NoError(t, err)
	assert.Equal(t, stage.FunnelStage{Stage: "MQL", Entered: 2, Reached: 3, Skipped: 1}, r.Stages[0])
	assert.Equal(t, stage.FunnelStage{Stage: "SAL", Entered: 1, Reached: 2, Skipped: 1}, r.Stages[1])
	assert.Len(t, r.Conversions, 1)

	_, err = m.Funnel(ctx, stage.FunnelOptions{Stages: []string{"MQL", "TAL"}})
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
	_, err = m.Funnel(ctx, stage.FunnelOptions{Stages: []string{"SAL", "MQL"}})
	assert.ErrorContains(t, err, "listed out of order")
	_, err = m.Funnel(ctx, stage.FunnelOptions{Stages: []string{"MQL", "Recycled"}})
	assert.ErrorContains(t, err, "not a funnel stage")

	// Sharded accumulators from the machine agree with Funnel, skipped
	// stages included (L3 was imported at SQL).
	want, err := m.Funnel(ctx, stage.FunnelOptions{Stages: []string{"MQL", "SAL"}})
	require.NoError(t, err)
	a, err := m.NewFunnel(stage.FunnelOptions{Stages: []string{"MQL", "SAL"}})
	require.NoError(t, err)
	b, _ := m.NewFunnel(stage.FunnelOptions{Stages: []string{"MQL", "SAL"}})
	for i, id := range []string{"L1", "L2", "L3", "L4"} {
		h, _ := m.History(ctx, stage.Lead(id))
		if i%2 == 0 {
			require.NoError(t, a.AddHistory(h))
		} else {
			require.NoError(t, b.AddHistory(h))
		}
	}
	require.NoError(t, a.Merge(b))
	assert.Equal(t, want, a.Result())
	plain, _ := stage.NewFunnel(stage.FunnelSpec{Stages: []string{"MQL", "SAL"}})
	assert.Error(t, a.Merge(plain), "a plain accumulator does not know the definition")
	_, err = m.Funnel(ctx, stage.FunnelOptions{Stages: []string{"MQL"}})
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
}

// The accumulator contract: random shards merged equal one pass, cohorts
// included; a different spec refuses to merge and changes nothing.
func TestFunnelAccumulatorMerge(t *testing.T) {
	order := []string{"Raw", "MQL", "SAL", "SQL", "Won"}
	spec := stage.FunnelSpec{Stages: []string{"MQL", "SQL", "Won"}, Order: order, Cohort: leadkit.PeriodWeek}
	for seed := range uint64(5) {
		rng := rand.New(rand.NewPCG(seed, 7))
		var subjects [][]stage.Visit
		for l := range 300 {
			at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(rng.IntN(90*24)) * time.Hour)
			var vs []stage.Visit
			for range 1 + rng.IntN(5) {
				at = at.Add(time.Duration(1+rng.IntN(200)) * time.Hour)
				vs = append(vs, stage.Visit{LeadID: fmt.Sprintf("L%d", l), Stage: order[rng.IntN(len(order))], At: at})
			}
			subjects = append(subjects, vs)
		}
		one, err := stage.NewFunnel(spec)
		require.NoError(t, err)
		shards := make([]*stage.FunnelAccumulator, 1+rng.IntN(6))
		for i := range shards {
			shards[i], _ = stage.NewFunnel(spec)
		}
		for _, vs := range subjects {
			require.NoError(t, one.Add(vs))
			require.NoError(t, shards[rng.IntN(len(shards))].Add(vs))
		}
		for _, sh := range shards[1:] {
			require.NoError(t, shards[0].Merge(sh))
		}
		want := one.Result()
		require.NotEmpty(t, want.Cohorts)
		assert.Equal(t, want, shards[0].Result(), "seed %d", seed)

		other, _ := stage.NewFunnel(stage.FunnelSpec{Stages: []string{"MQL", "SQL", "Won"}, Order: order})
		assert.ErrorIs(t, shards[0].Merge(other), leadkit.ErrInvalid)
		assert.ErrorIs(t, shards[0].Merge(nil), leadkit.ErrInvalid)
		assert.ErrorIs(t, shards[0].Merge(shards[0]), leadkit.ErrInvalid, "a self-merge would double the counts")
		assert.Equal(t, want, shards[0].Result(), "a refused merge changes nothing")
	}
	// Refused input changes nothing either.
	f, _ := stage.NewFunnel(spec)
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	require.NoError(t, f.Add([]stage.Visit{{LeadID: "a", Stage: "MQL", At: at}}))
	before := f.Result()
	for name, bad := range map[string][]stage.Visit{
		"two subjects": {{LeadID: "a", Stage: "MQL", At: at}, {LeadID: "b", Stage: "SQL", At: at}},
		"no time":      {{LeadID: "a", Stage: "MQL", At: at}, {LeadID: "a", Stage: "SQL"}},
		"no stage":     {{LeadID: "a", At: at}},
		"bad text":     {{LeadID: "a\x00", Stage: "MQL", At: at}},
	} {
		err := f.Add(bad)
		assert.ErrorIs(t, err, leadkit.ErrInvalid, name)
	}
	assert.Equal(t, before, f.Result())
}

// Specs and results are data: the spec parses strictly, the result
// round-trips with durations as text and zero times omitted.
func TestFunnelSpecAndResultJSON(t *testing.T) {
	s, err := stage.ParseFunnelSpec([]byte("stages: [MQL, SAL]\norder: [Raw, MQL, SAL, SQL]\ncohort: month\nfrom: 2026-01-01T00:00:00Z\n"))
	require.NoError(t, err)
	assert.Equal(t, stage.FunnelSpec{Stages: []string{"MQL", "SAL"}, Order: []string{"Raw", "MQL", "SAL", "SQL"}, Cohort: leadkit.PeriodMonth,
		From: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}, s)
	for _, bad := range []string{`{"stagez": ["a", "b"]}`, `{"Stages": ["a", "b"]}`, `{"stages": ["a", "b"], "cohort": 3}`} {
		_, err := stage.ParseFunnelSpec([]byte(bad))
		assert.ErrorIs(t, err, leadkit.ErrInvalid, bad)
	}
	_, err = stage.NewFunnel(stage.FunnelSpec{Stages: []string{"MQL", "SAL"}, Cohort: "fortnight"})
	assert.ErrorContains(t, err, `unknown cohort period "fortnight"`)

	at := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	r, err := stage.Funnel(s, []stage.Visit{
		{LeadID: "a", Stage: "MQL", At: at}, {LeadID: "a", Stage: "SAL", At: at.Add(36 * time.Hour)},
		{LeadID: "b", Stage: "SQL", At: at},
	})
	require.NoError(t, err)
	js, err := json.Marshal(r)
	require.NoError(t, err)
	// a took 36h; b entered SQL, so it reached MQL and SAL at once: mean 18h.
	assert.Contains(t, string(js), `"mean":"18h"`)
	assert.Contains(t, string(js), `"cohort":"2026-01"`)
	var back stage.FunnelResult
	require.NoError(t, json.Unmarshal(js, &back))
	assert.Equal(t, r, back)
	js, err = json.Marshal(stage.FunnelSpec{Stages: []string{"a", "b"}})
	require.NoError(t, err)
	assert.JSONEq(t, `{"stages": ["a", "b"]}`, string(js), "zero times and empty fields omitted")
}

// Counted by hand: reach, entry, skipped stages, cohorts, and a bad visit
// reported while the good ones count.
func TestFunnelHandCounted(t *testing.T) {
	day := func(n int) time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, n) }
	visits := []stage.Visit{
		{LeadID: "a", Stage: "MQL", At: day(0)}, {LeadID: "a", Stage: "SQL", At: day(10)},
		{LeadID: "b", Stage: "SQL", At: day(40)}, // skipped MQL: reached it on day 40 (February)
		{LeadID: "c", Stage: "MQL", At: day(2)},
		{LeadID: "", Stage: "MQL", At: day(2)}, // bad: no lead
	}
	r, err := stage.Funnel(stage.FunnelSpec{Stages: []string{"MQL", "SQL"}, Cohort: leadkit.PeriodMonth}, visits)
	require.Error(t, err)
	assert.ErrorContains(t, err, "visit 4")
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.Equal(t, []stage.FunnelStage{{"MQL", 2, 3, 1}, {"SQL", 2, 2, 0}}, r.Stages)
	require.Len(t, r.Conversions, 1)
	c := r.Conversions[0]
	assert.Equal(t, 3, c.Base)
	assert.Equal(t, 2, c.Converted)
	assert.Equal(t, leadkit.Duration(5*24*time.Hour), c.Median) // a: 10d, b: 0d
	require.Len(t, r.Cohorts, 2)
	assert.Equal(t, "2026-01", r.Cohorts[0].Cohort)
	assert.Equal(t, 2, r.Cohorts[0].Stages[0].Reached)
	assert.Equal(t, 1, r.Cohorts[1].Stages[1].Entered)

	_, err = stage.Funnel(stage.FunnelSpec{Stages: []string{"MQL"}, Cohort: "fortnight"}, nil)
	assert.ErrorContains(t, err, "at least two")
	assert.ErrorContains(t, err, `unknown cohort period "fortnight"`)
}

// Reach adds an implied visit only for a stage the lead skipped.
func TestReach(t *testing.T) {
	at := func(m time.Month, d int) time.Time { return time.Date(2026, m, d, 10, 0, 0, 0, time.UTC) }
	order := []string{"Raw", "MQL", "SAL", "SQL"}
	visits := []stage.Visit{
		{LeadID: "A", Stage: "MQL", At: at(10, 5)}, {LeadID: "A", Stage: "SAL", At: at(11, 3)}, // nothing skipped after Raw
		{LeadID: "B", Stage: "SAL", At: at(11, 3)}, {LeadID: "B", Stage: "Raw", At: at(10, 1)}, // out of order: Raw first in time
		{LeadID: "C", Stage: "MQL", At: at(8, 12)}, {LeadID: "C", Stage: "MRL", At: at(9, 2)}, {LeadID: "C", Stage: "MQL", At: at(11, 10)},
		{LeadID: "D", Stage: "SQL", At: at(11, 20)},
		{LeadID: "", Stage: "SQL", At: at(11, 20)}, // bad: kept, implies nothing
	}
	got, err := stage.Reach(visits, order)
	require.NoError(t, err)
	assert.Equal(t, visits, got[:len(visits)], "the given visits keep their index")
	assert.ElementsMatch(t, []stage.Visit{
		{LeadID: "A", Stage: "Raw", At: at(10, 5), Implied: true},
		{LeadID: "B", Stage: "MQL", At: at(11, 3), Implied: true},
		{LeadID: "C", Stage: "Raw", At: at(8, 12), Implied: true},
		{LeadID: "C", Stage: "Raw", At: at(11, 10), Implied: true}, // recycled: a new cycle
		{LeadID: "D", Stage: "Raw", At: at(11, 20), Implied: true},
		{LeadID: "D", Stage: "MQL", At: at(11, 20), Implied: true},
		{LeadID: "D", Stage: "SAL", At: at(11, 20), Implied: true},
	}, got[len(visits):])
	_, err = stage.Reach(visits, []string{"Raw", "Raw", ""})
	assert.ErrorIs(t, err, leadkit.ErrInvalid)

	// F: MQL in August, recycled, then straight to SAL in November: it
	// skipped MQL on its way back, so it reached MQL again in November.
	f := []stage.Visit{
		{LeadID: "F", Stage: "Raw", At: at(8, 1)}, {LeadID: "F", Stage: "MQL", At: at(8, 12)},
		{LeadID: "F", Stage: "MRL", At: at(9, 2)}, {LeadID: "F", Stage: "SAL", At: at(11, 10)},
	}
	got, err = stage.Reach(f, order)
	require.NoError(t, err)
	assert.Equal(t, []stage.Visit{
		{LeadID: "F", Stage: "Raw", At: at(11, 10), Implied: true},
		{LeadID: "F", Stage: "MQL", At: at(11, 10), Implied: true},
	}, got[len(f):])
	// Moving back within the order reopens the later stages only.
	g := []stage.Visit{
		{LeadID: "G", Stage: "Raw", At: at(1, 1)}, {LeadID: "G", Stage: "MQL", At: at(1, 2)}, {LeadID: "G", Stage: "SAL", At: at(1, 3)},
		{LeadID: "G", Stage: "MQL", At: at(1, 4)}, {LeadID: "G", Stage: "SQL", At: at(1, 5)},
	}
	got, err = stage.Reach(g, order)
	require.NoError(t, err)
	assert.Equal(t, []stage.Visit{{LeadID: "G", Stage: "SAL", At: at(1, 5), Implied: true}}, got[len(g):])
	// Same-time visits are taken in funnel order (a day-granular export):
	// Raw and MQL on one day imply nothing.
	same := []stage.Visit{{LeadID: "H", Stage: "MQL", At: at(2, 1)}, {LeadID: "H", Stage: "Raw", At: at(2, 1)}}
	got, err = stage.Reach(same, order)
	require.NoError(t, err)
	assert.Equal(t, same, got)
	// Reach is idempotent.
	once, err := stage.Reach(visits, order)
	require.NoError(t, err)
	twice, err := stage.Reach(once, order)
	require.NoError(t, err)
	assert.Equal(t, once, twice)
}
