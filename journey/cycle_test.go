package journey

import (
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/stage"
)

// Leads that reach the stage within the instant threshold of their start
// converted at registration: Overall keeps them, WithoutInstant leaves
// them out, Instants counts them.
func TestCycleTimesInstant(t *testing.T) {
	tls := []Timeline{
		tl("demo", "demo_request@0"),      // converts at once: 0s
		tl("sync", "form@0"),              // the CRM sync took 59 minutes
		tl("hour", "form@0"),              // exactly one hour: still instant
		tl("slow", "web@0", "form@3"),     // 3 days
		tl("slower", "web@31", "form@40"), // 9 days, February cohort
	}
	entries := []stage.Visit{
		{LeadID: "demo", Stage: "MQL", At: day(0)},
		{LeadID: "sync", Stage: "MQL", At: day(0).Add(59 * time.Minute)},
		{LeadID: "hour", Stage: "MQL", At: day(0).Add(time.Hour)},
		{LeadID: "slow", Stage: "MQL", At: day(3)},
		{LeadID: "slower", Stage: "MQL", At: day(40)},
	}
	r, err := CycleTimes(tls, entries, "MQL", CycleOptions{Cohort: leadkit.PeriodMonth})
	require.NoError(t, err)
	require.NotNil(t, r.Instant)
	assert.Equal(t, leadkit.Duration(time.Hour), *r.Instant, "the default")
	assert.Equal(t, 5, r.Overall.N, "Overall keeps every lead")
	assert.Equal(t, leadkit.NewRate(3, 5), r.Instants)
	assert.Equal(t, 2, r.WithoutInstant.N)
	assert.Equal(t, ldays(6), r.WithoutInstant.Mean) // 3d and 9d
	assert.Equal(t, ldays(3), r.WithoutInstant.Min)
	require.Len(t, r.Cohorts, 2)
	assert.Equal(t, leadkit.NewRate(3, 4), r.Cohorts[0].Instants)
	assert.Equal(t, ldays(3), r.Cohorts[0].WithoutInstant.Median)
	assert.Equal(t, leadkit.NewRate(0, 1), r.Cohorts[1].Instants)
	js := roundTrip(t, r)
	assert.Contains(t, js, `"instant":"1h"`)

	// A stricter threshold: only the demo request.
	r, err = CycleTimes(tls, entries, "MQL", CycleOptions{Instant: time.Minute})
	require.NoError(t, err)
	assert.Equal(t, 1, r.Instants.Count)
	assert.Equal(t, 4, r.WithoutInstant.N)

	// Off: WithoutInstant is Overall, Instant is null, and Instants has
	// no data (not "0 of 5" with an interval: nothing was asked).
	r, err = CycleTimes(tls, entries, "MQL", CycleOptions{Instant: -1, Cohort: leadkit.PeriodMonth})
	require.NoError(t, err)
	assert.Nil(t, r.Instant)
	assert.Equal(t, leadkit.NewRate(0, 0), r.Instants)
	assert.Nil(t, r.Instants.Rate)
	require.Len(t, r.Cohorts, 2)
	for _, c := range r.Cohorts {
		assert.Nil(t, c.Instants.Rate, c.Cohort)
		assert.Equal(t, c.Stats, c.WithoutInstant, c.Cohort)
	}
	assert.Equal(t, r.Overall, r.WithoutInstant)
	assert.Contains(t, roundTrip(t, r), `"instant":null`)

	// No leads: no data, not NaN.
	r, err = CycleTimes(nil, nil, "MQL", CycleOptions{})
	require.NoError(t, err)
	assert.Nil(t, r.Instants.Rate)
	assert.Contains(t, noNaN(t, r), `"instants":{"count":0,"base":0,"rate":null,"low":null,"high":null,"small":true}`)
}

// The threshold is written in the duration grammar.
func TestCycleOptionsInstantJSON(t *testing.T) {
	o, err := ParseCycleOptions([]byte("start: created\ninstant: 15m\n"))
	require.NoError(t, err)
	assert.Equal(t, CycleOptions{Start: FromCreated, Instant: 15 * time.Minute}, o)
	o, err = ParseCycleOptions([]byte(`{"instant": "-1s"}`))
	require.NoError(t, err)
	assert.Equal(t, -time.Second, o.Instant)
	b, err := json.Marshal(CycleOptions{Instant: 2 * time.Hour, Cohort: leadkit.PeriodWeek, Created: map[string]time.Time{"l": day(0)}})
	require.NoError(t, err)
	assert.JSONEq(t, `{"cohort":"week","instant":"2h"}`, string(b), "creation times are data, not spec")
	_, err = ParseCycleOptions([]byte(`{"instant": 3600}`))
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.ErrorContains(t, err, "journey: cycle options: instant")
}

// The split against a brute force on random small inputs.
func TestCycleTimesInstantReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 2))
	for iter := range 300 {
		in := randomInput(rng)
		opts := CycleOptions{Instant: []time.Duration{0, -1, days(4), days(8)}[rng.IntN(4)]}
		if rng.IntN(2) == 0 {
			opts.Start, opts.Created = FromCreated, in.created
		}
		got, err := CycleTimes(in.timelines, in.visits, "MQL", opts)
		require.NoError(t, err)
		threshold := opts.Instant
		if threshold == 0 {
			threshold = time.Hour
		}
		// By hand: each lead's first MQL entry minus its start.
		first := map[string]time.Time{}
		for _, v := range in.visits {
			if v.Stage == "MQL" && (first[v.LeadID].IsZero() || v.At.Before(first[v.LeadID])) {
				first[v.LeadID] = v.At
			}
		}
		var all, rest []time.Duration
		for lead, at := range first {
			var from time.Time
			if opts.Start == FromCreated {
				from = in.created[lead]
			} else {
				for _, tl := range in.timelines {
					if tl.LeadID == lead {
						ft, _ := FirstTouch(tl)
						from = ft.Time
					}
				}
			}
			if from.IsZero() || from.After(at) {
				continue
			}
			all = append(all, at.Sub(from))
			if threshold < 0 || at.Sub(from) > threshold {
				rest = append(rest, at.Sub(from))
			}
		}
		require.Equal(t, Summarize(all, 0), got.Overall, "iteration %d", iter)
		require.Equal(t, Summarize(rest, 0), got.WithoutInstant, "iteration %d", iter)
		wantInstants := leadkit.NewRate(len(all)-len(rest), len(all))
		if threshold < 0 {
			wantInstants = leadkit.NewRate(0, 0) // the split is off: no data
		}
		require.Equal(t, wantInstants, got.Instants, "iteration %d", iter)
		noNaN(t, got)
	}
}
