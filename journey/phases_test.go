package journey

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/binenctest"
	"github.com/leadkit/leadkit/stage"
)

var classicOrder = []string{"Raw", "MQL", "SAL", "SQL", "Opportunity", "Won"}

// Each touch is placed by where its lead stood when it came.
func TestContentPhases(t *testing.T) {
	ev := func(id, typ, content string, d float64) leadkit.Event {
		return leadkit.Event{ID: id, Type: typ, Content: content, Time: day(d)}
	}
	tls := []Timeline{
		{LeadID: "ada", Events: []leadkit.Event{
			ev("1", "download", "whitepaper", 0), // at creation: acquisition
			ev("2", "email", "guide", 3),         // nurture
			ev("3", "demo", "", 5),               // at the MQL instant: nurture, under its type
			ev("4", "email", "case-study", 8),    // after MQL: sales
			ev("5", "email", "guide", 12),        // recycled: nurture again
			ev("6", "email", "case-study", 20),   // SQL again: sales, then won
		}},
		{LeadID: "bob", Events: []leadkit.Event{
			ev("7", "ad", "whitepaper", -2), // before creation: acquisition
			ev("8", "download", "whitepaper", 0),
			ev("9", "email", "guide", 4), // never converts
		}},
		{LeadID: "cyd", Events: []leadkit.Event{
			ev("10", "email", "guide", 1), // no creation time: its first visit (day 2) is its start
			ev("11", "email", "guide", 3), // standing in Raw: nurture
		}},
		{LeadID: "dan", Events: []leadkit.Event{ev("12", "email", "guide", 1)}}, // no creation, no visit: unplaced
	}
	entries := []stage.Visit{
		{LeadID: "ada", Stage: "MQL", At: day(5)},
		{LeadID: "ada", Stage: "Recycled", At: day(10)},
		{LeadID: "ada", Stage: "SQL", At: day(15)}, // skipped MQL and SAL on the way back
		{LeadID: "ada", Stage: "Won", At: day(25)},
		{LeadID: "cyd", Stage: "Raw", At: day(2)},
	}
	reached, err := stage.Reach(entries, classicOrder)
	require.NoError(t, err)
	created := map[string]time.Time{"ada": day(0), "bob": day(0)}
	r, err := ContentPhases(tls, reached, created, "MQL", ContentPhaseOptions{Order: classicOrder})
	require.NoError(t, err)
	assert.Equal(t, "Won", r.Outcome, "the last stage of the order")
	assert.Equal(t, 1, r.Unplaced)
	// By hand. Acquisition: whitepaper x3 (ada 1, bob 2), cyd's guide at
	// day 1 (before its start, day 2). Nurture: guide (ada x2, bob, cyd),
	// demo (ada). Sales: case-study x2 (ada), Won after both.
	// Acquisition leads: ada, bob and cyd; only ada reached MQL after.
	assert.Equal(t, PhaseUse{Touches: 4, Leads: 3, Converted: leadkit.NewRate(1, 3)}, r.Acquisition)
	get := func(key string, isType bool) ContentPhase {
		for _, c := range r.Content {
			if c.Key == key && c.Type == isType {
				return c
			}
		}
		t.Fatalf("no %q in %+v", key, r.Content)
		return ContentPhase{}
	}
	wp := get("whitepaper", false)
	assert.Equal(t, PhaseAcquisition, wp.Serves)
	assert.Equal(t, PhaseUse{Touches: 3, Leads: 2, Converted: leadkit.NewRate(1, 2)}, wp.Acquisition)
	guide := get("guide", false)
	assert.Equal(t, PhaseNurture, guide.Serves)
	// ada's guide at day 3 came before its MQL at day 5, and the one at
	// day 12 before its implied MQL at day 15: converted. bob's never;
	// cyd's day-3 guide never (cyd did not reach MQL).
	assert.Equal(t, PhaseUse{Touches: 4, Leads: 3, Converted: leadkit.NewRate(1, 3)}, guide.Nurture)
	assert.Equal(t, PhaseUse{Touches: 1, Leads: 1, Converted: leadkit.NewRate(0, 1)}, guide.Acquisition)
	demo := get("demo", true)
	assert.Equal(t, PhaseUse{Touches: 1, Leads: 1, Converted: leadkit.NewRate(1, 1)}, demo.Nurture, "the form at the MQL instant")
	cs := get("case-study", false)
	assert.Equal(t, PhaseSales, cs.Serves)
	assert.Equal(t, PhaseUse{Touches: 2, Leads: 1, Converted: leadkit.NewRate(1, 1)}, cs.Sales)
	// Sorted: acquisition content first, then nurture, then sales.
	var served []Phase
	for _, c := range r.Content {
		served = append(served, c.Serves)
	}
	assert.True(t, slices.IsSortedFunc(served, func(a, b Phase) int {
		return slices.Index(phases[:], a) - slices.Index(phases[:], b)
	}), "%v", served)
	roundTrip(t, r)

	// With the stage last in the order, sales touches have no outcome:
	// no data, not 0%.
	r, err = ContentPhases(tls, reached, created, "Won", ContentPhaseOptions{Order: classicOrder})
	require.NoError(t, err)
	assert.Empty(t, r.Outcome)
	assert.Equal(t, leadkit.Rate{}, r.Sales.Converted)
	assert.Contains(t, noNaN(t, r), `"sales":{"touches":0,"leads":0,"converted":{"count":0,"base":0,"rate":null`)

	for _, c := range []struct {
		stage string
		opts  ContentPhaseOptions
		want  string
	}{
		{"MQL", ContentPhaseOptions{}, "needs the funnel order"},
		{"MQL", ContentPhaseOptions{Order: []string{"Raw", "SAL"}}, `stage "MQL" is not in the funnel order`},
		{"MQL", ContentPhaseOptions{Order: []string{"Raw", "MQL", "MQL"}}, `stage "MQL" listed twice`},
		{"MQL", ContentPhaseOptions{Order: classicOrder, Outcome: "Raw"}, `outcome "Raw" is not a stage after "MQL"`},
		{"MQL", ContentPhaseOptions{Order: classicOrder, By: "colour"}, `unknown key "colour"`},
		{"", ContentPhaseOptions{Order: classicOrder}, "empty stage"},
	} {
		_, err := ContentPhases(tls, reached, created, c.stage, c.opts)
		assert.ErrorIs(t, err, leadkit.ErrInvalid, c.want)
		assert.ErrorContains(t, err, c.want)
	}
}

// ContentPhases against a brute force on random small inputs, whole and
// sharded.
func TestContentPhasesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 3))
	for iter := range 400 {
		in := randomInput(rng)
		st := []string{"MQL", "SAL", "Won"}[rng.IntN(3)]
		opts := ContentPhaseOptions{Order: randOrder}
		if rng.IntN(3) == 0 {
			opts.Types = []string{"email", "form"}
		}
		if rng.IntN(3) == 0 {
			opts.By = KeyChannel
		}
		if st == "MQL" && rng.IntN(2) == 0 {
			opts.Outcome = "SAL"
		}
		got, err := ContentPhases(in.timelines, in.visits, in.created, st, opts)
		require.NoError(t, err)
		want, wantTotal, unplaced := bruteContentPhases(in, st, opts)
		gotMap := map[phaseKey][3]int{}
		for _, c := range got.Content {
			for ph, u := range []PhaseUse{c.Acquisition, c.Nurture, c.Sales} {
				if u.Touches > 0 {
					gotMap[phaseKey{c.Key, c.Type, ph}] = [3]int{u.Touches, u.Leads, u.Converted.Count}
				}
				if ph == 2 && got.Outcome == "" {
					require.Equal(t, leadkit.Rate{}, u.Converted, "no outcome: no data")
				} else {
					require.Equal(t, u.Leads, u.Converted.Base)
				}
			}
		}
		require.Equal(t, want, gotMap, "iteration %d", iter)
		require.Equal(t, wantTotal, [3][3]int{
			{got.Acquisition.Touches, got.Acquisition.Leads, got.Acquisition.Converted.Count},
			{got.Nurture.Touches, got.Nurture.Leads, got.Nurture.Converted.Count},
			{got.Sales.Touches, got.Sales.Leads, got.Sales.Converted.Count},
		}, "iteration %d", iter)
		require.Equal(t, unplaced, got.Unplaced, "iteration %d", iter)

		js, err := Journeys(in.timelines, in.visits, in.created)
		require.NoError(t, err)
		merged := binenctest.Sharded(t, rng, js, 1+rng.IntN(3), maker(t, NewContentPhaseAccumulator, st, opts), addLead, false)
		require.Equal(t, got, merged.Result(), "iteration %d", iter)
		noNaN(t, got)
	}
}

type phaseKey struct {
	key    string
	isType bool
	phase  int
}

// bruteContentPhases places every touch by scanning all of the lead's
// visits.
func bruteContentPhases(in randInput, st string, opts ContentPhaseOptions) (map[phaseKey][3]int, [3][3]int, int) {
	by := opts.By
	if by == "" {
		by = KeyContent
	}
	outcome := opts.Outcome
	if outcome == "" {
		outcome = opts.Order[len(opts.Order)-1]
	}
	rank := func(s string) int {
		if i := slices.Index(opts.Order, s); i >= 0 {
			return i
		}
		return len(opts.Order)
	}
	touches := map[phaseKey]int{}
	leads := map[phaseKey]map[string]bool{}
	conv := map[phaseKey]map[string]bool{}
	var total [3][3]int
	totalLeads := [3]map[string]bool{{}, {}, {}}
	totalConv := [3]map[string]bool{{}, {}, {}}
	unplaced := 0
	for _, tl := range in.timelines {
		lead := tl.LeadID
		var visits []stage.Visit
		for _, v := range in.visits {
			if v.LeadID == lead {
				visits = append(visits, v)
			}
		}
		start := in.created[lead]
		if start.IsZero() {
			for _, v := range visits {
				if start.IsZero() || v.At.Before(start) {
					start = v.At
				}
			}
		}
		for _, e := range tl.Events {
			if e.Time.IsZero() || (len(opts.Types) > 0 && !slices.Contains(opts.Types, e.Type)) {
				continue
			}
			if start.IsZero() {
				unplaced++
				continue
			}
			ph := 1
			if !e.Time.After(start) {
				ph = 0
			} else {
				// The standing: among the visits strictly before the
				// touch, the latest; at one time the highest rank; then
				// the last listed.
				best := -1
				for i, v := range visits {
					if !v.At.Before(e.Time) {
						continue
					}
					if best < 0 || v.At.After(visits[best].At) || (v.At.Equal(visits[best].At) && rank(v.Stage) >= rank(visits[best].Stage)) {
						best = i
					}
				}
				if best >= 0 && slices.Contains(opts.Order, visits[best].Stage) && rank(visits[best].Stage) >= rank(st) {
					ph = 2
				}
			}
			target := st
			if ph == 2 {
				target = outcome
			}
			converted := false
			if ph < 2 || outcome != st {
				for _, v := range visits {
					if v.Stage == target && !v.At.Before(e.Time) {
						converted = true
					}
				}
			}
			k := phaseKey{by.Of(e), false, ph}
			if k.key == "" {
				k = phaseKey{e.Type, true, ph}
			}
			touches[k]++
			total[ph][0]++
			if leads[k] == nil {
				leads[k], conv[k] = map[string]bool{}, map[string]bool{}
			}
			leads[k][lead] = true
			totalLeads[ph][lead] = true
			if converted {
				conv[k][lead] = true
				totalConv[ph][lead] = true
			}
		}
	}
	out := map[phaseKey][3]int{}
	for k, n := range touches {
		out[k] = [3]int{n, len(leads[k]), len(conv[k])}
	}
	for ph := range total {
		total[ph][1], total[ph][2] = len(totalLeads[ph]), len(totalConv[ph])
	}
	return out, total, unplaced
}
