package stage_test

import (
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
	assert.Equal(t, day, c.Median, "L1 took 2 days, L3 0: median 1 day")
	assert.Equal(t, day, c.Mean)
	c, _ = r.Conversion("Raw", "MQL")
	assert.Equal(t, 4, c.Base)
	assert.Equal(t, 3, c.Converted)
	assert.Equal(t, day, c.Median, "durations 1, 2 and 0 days")
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
	assert.ErrorContains(t, err, "out of definition order")
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
			a.Add(h)
		} else {
			b.Add(h)
		}
	}
	require.NoError(t, a.Merge(b))
	assert.Equal(t, want, a.Result())
	plain, _ := stage.NewFunnel([]string{"MQL", "SAL"}, time.Time{}, time.Time{})
	assert.Error(t, a.Merge(plain), "a plain accumulator does not know the definition")
	_, err = m.Funnel(ctx, stage.FunnelOptions{Stages: []string{"MQL"}})
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
}

func TestFunnelAccumulatorMerge(t *testing.T) {
	h := func(id string, stages ...string) []stage.Entry {
		var out []stage.Entry
		for i, s := range stages {
			out = append(out, stage.Entry{Key: stage.Key{Pipeline: "p", Subject: stage.Lead(id)}, Version: int64(i + 1), To: s, At: time.Unix(int64(i)*3600, 0).UTC()})
		}
		return out
	}
	hs := [][]stage.Entry{h("a", "Raw", "MQL"), h("b", "Raw"), h("c", "Raw", "MQL", "SAL"), h("d", "MQL")}
	stages := []string{"Raw", "MQL", "SAL"}
	one, err := stage.NewFunnel(stages, time.Time{}, time.Time{})
	require.NoError(t, err)
	x, _ := stage.NewFunnel(stages, time.Time{}, time.Time{})
	y, _ := stage.NewFunnel(stages, time.Time{}, time.Time{})
	for i, hh := range hs {
		one.Add(hh)
		if i%2 == 0 {
			x.Add(hh)
		} else {
			y.Add(hh)
		}
	}
	require.NoError(t, x.Merge(y))
	assert.Equal(t, one.Result(), x.Result())
	z, _ := stage.NewFunnel([]string{"Raw", "SAL"}, time.Time{}, time.Time{})
	assert.Error(t, x.Merge(z))
}
