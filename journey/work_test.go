package journey_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/journey"
	"github.com/leadkit/leadkit/stage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var workT0 = time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)

func wh(h float64) time.Time { return workT0.Add(time.Duration(h * float64(time.Hour))) }

func call(lead string, n int, h float64) leadkit.Event {
	return leadkit.Event{ID: fmt.Sprintf("%s-c%d", lead, n), LeadID: lead, Type: leadkit.EventSDRCall, Time: wh(h)}
}

func TestWorkHandCounted(t *testing.T) {
	w, err := journey.NewWork(journey.WorkSpec{Stages: []string{"MQL", "SAL"}, Types: []string{leadkit.EventSDRCall}})
	require.NoError(t, err)
	// a: MQL at 0 (ana), calls at 2 and 5, accepted at 5 by the second call.
	require.NoError(t, w.Add([]stage.Visit{{LeadID: "a", Stage: "MQL", At: wh(0), Owner: "ana"}, {LeadID: "a", Stage: "SAL", At: wh(5)}},
		[]leadkit.Event{call("a", 2, 5), call("a", 1, 2), {ID: "a-p", LeadID: "a", Type: "page_view", Time: wh(1)}}))
	// b: MQL at 0 (ana), never called, still there.
	require.NoError(t, w.Add([]stage.Visit{{LeadID: "b", Stage: "MQL", At: wh(0), Owner: "ana"}}, nil))
	// c: MQL at 0 (bo), a call at the instant of the MQL (not in the stay), one at 10.
	require.NoError(t, w.Add([]stage.Visit{{LeadID: "c", Stage: "MQL", At: wh(0), Owner: "bo"}},
		[]leadkit.Event{call("c", 1, 0), call("c", 2, 10)}))
	r := w.Result()
	mql := r.Stages[0]
	assert.Equal(t, 3, mql.All.Stays)
	assert.Equal(t, 2, mql.All.Worked.Count)
	assert.Equal(t, 3, mql.All.Touches)
	ana, ok := r.Owner("MQL", "ana")
	require.True(t, ok)
	assert.Equal(t, 2, ana.Stays)
	assert.Equal(t, 1, ana.Worked.Count)
	assert.Equal(t, 2, ana.Touches)
	assert.Equal(t, 1.0, *ana.PerStay)
	assert.Equal(t, 2.0, *ana.PerWorked)
	assert.Equal(t, leadkit.Duration(2*time.Hour), *ana.FirstMedian)
	bo, _ := r.Owner("MQL", "bo")
	assert.Equal(t, leadkit.Duration(10*time.Hour), *bo.FirstMean)
	// SAL: a's stay from 5, open; the call at 5 moved it there and is not in it.
	sal := r.Stages[1]
	require.Len(t, sal.Owners, 1)
	assert.Equal(t, "", sal.Owners[0].Owner)
	assert.Equal(t, 0, sal.Owners[0].Touches)
	assert.Equal(t, 0, sal.All.Worked.Count)
	assert.Nil(t, sal.All.PerWorked, "no worked stays: no data")
	_, ok = r.Owner("SAL", "ana")
	assert.False(t, ok)

	b, err := json.Marshal(r)
	require.NoError(t, err)
	var back journey.WorkResult
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, r, back)
}

// workByDefinition counts calls per stay straight from the definition:
// the first direct visit's stay, touches with enter < t <= next visit.
func workByDefinition(visits []stage.Visit, events []leadkit.Event, st string) (owner string, ok bool, calls int, first time.Duration) {
	x := -1
	for i, v := range visits {
		if v.Stage == st && (x < 0 || v.At.Before(visits[x].At)) {
			x = i
		}
	}
	if x < 0 {
		return "", false, 0, 0
	}
	// The stay ends at the next visit; at the same instant, visits come
	// in funnel order (the spec's stages, then the others), then as listed.
	sorted := true
	for k := 1; k < len(visits); k++ {
		sorted = sorted && !visits[k].At.Before(visits[k-1].At)
	}
	rank := func(st string) int {
		if sorted {
			return 0 // a list in time order is taken as listed
		}
		switch st {
		case "MQL":
			return 0
		case "SAL":
			return 1
		}
		return 2
	}
	var end time.Time
	for i, v := range visits {
		later := v.At.After(visits[x].At) || (v.At.Equal(visits[x].At) && (rank(v.Stage) > rank(visits[x].Stage) || (rank(v.Stage) == rank(visits[x].Stage) && i > x)))
		if i != x && later && (end.IsZero() || v.At.Before(end)) {
			end = v.At
		}
	}
	first = -1
	for _, e := range events {
		if e.Type == leadkit.EventSDRCall && e.Time.After(visits[x].At) && (end.IsZero() || !e.Time.After(end)) {
			calls++
			if d := e.Time.Sub(visits[x].At); first < 0 || d < first {
				first = d
			}
		}
	}
	return visits[x].Owner, true, calls, first
}

func TestWorkAgreesWithDefinitionAndMerges(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	spec := journey.WorkSpec{Stages: []string{"MQL", "SAL"}, Types: []string{leadkit.EventSDRCall}}
	one, err := journey.NewWork(spec)
	require.NoError(t, err)
	shards := []*journey.WorkAccumulator{}
	for range 3 {
		s, err := journey.NewWork(spec)
		require.NoError(t, err)
		shards = append(shards, s)
	}
	type tally struct{ stays, worked, calls int }
	want := map[[2]string]*tally{}
	for i := range 400 {
		lead := fmt.Sprintf("l%d", i)
		var vs []stage.Visit
		for range 1 + r.IntN(4) {
			vs = append(vs, stage.Visit{LeadID: lead, Stage: []string{"Raw", "MQL", "SAL", "Recycled"}[r.IntN(4)], At: wh(float64(r.IntN(20))), Owner: []string{"", "ana", "bo"}[r.IntN(3)]})
		}
		var evs []leadkit.Event
		for n := range r.IntN(5) {
			evs = append(evs, call(lead, n, float64(r.IntN(24))))
		}
		require.NoError(t, one.Add(vs, evs))
		require.NoError(t, shards[i%3].Add(vs, evs))
		for _, st := range spec.Stages {
			owner, ok, calls, _ := workByDefinition(vs, evs, st)
			if !ok {
				continue
			}
			k := [2]string{st, owner}
			if want[k] == nil {
				want[k] = &tally{}
			}
			want[k].stays++
			want[k].calls += calls
			if calls > 0 {
				want[k].worked++
			}
		}
	}
	res := one.Result()
	n := 0
	for _, s := range res.Stages {
		for _, o := range s.Owners {
			w := want[[2]string{s.Stage, o.Owner}]
			require.NotNil(t, w)
			assert.Equal(t, tally{w.stays, w.worked, w.calls}, tally{o.Stays, o.Worked.Count, o.Touches}, "%s %q", s.Stage, o.Owner)
			n++
		}
	}
	assert.Equal(t, len(want), n)
	require.NoError(t, shards[0].Merge(shards[1]))
	require.NoError(t, shards[0].Merge(shards[2]))
	assert.Equal(t, res, shards[0].Result())
}

func TestWorkBadInput(t *testing.T) {
	_, err := journey.NewWork(journey.WorkSpec{Stages: []string{"MQL", "MQL"}, Types: nil, From: wh(5), To: wh(1)})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	for _, want := range []string{`stages[1]: "MQL" listed twice`, "no types", "before from"} {
		assert.Contains(t, err.Error(), want)
	}
	w, err := journey.NewWork(journey.WorkSpec{Stages: []string{"MQL"}, Types: []string{leadkit.EventSDRCall}})
	require.NoError(t, err)
	err = w.Add([]stage.Visit{{LeadID: "a", Stage: "MQL", At: wh(0)}}, []leadkit.Event{call("b", 1, 1)})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	err = w.Add([]stage.Visit{{LeadID: "a", Stage: "MQL", At: wh(0)}, {LeadID: "b", Stage: "MQL", At: wh(0)}}, nil)
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	bad := call("a", 1, 1)
	bad.ID = ""
	err = w.Add([]stage.Visit{{LeadID: "a", Stage: "MQL", At: wh(0)}}, []leadkit.Event{bad})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.Equal(t, 0, w.Result().Stages[0].All.Stays, "refused leads count nothing")
	other, err := journey.NewWork(journey.WorkSpec{Stages: []string{"SAL"}, Types: []string{leadkit.EventSDRCall}})
	require.NoError(t, err)
	require.ErrorIs(t, w.Merge(other), leadkit.ErrInvalid)
}

// TestWorkOwnerAsTheFunnelCounts: a lead that reached MQL by skipping it
// (Raw -> SAL), was recycled and came back to MQL is nobody's MQL in the
// funnel by owner; its work is nobody's too, not the later visit's owner.
func TestWorkOwnerAsTheFunnelCounts(t *testing.T) {
	visits := []stage.Visit{
		{LeadID: "a", Stage: "SAL", At: wh(0), Owner: "ae-1"},
		{LeadID: "a", Stage: "Recycled", At: wh(10)},
		{LeadID: "a", Stage: "MQL", At: wh(20), Owner: "sdr-1"},
		{LeadID: "a", Stage: "SAL", At: wh(30)},
	}
	f, err := stage.NewFunnel(stage.FunnelSpec{Stages: []string{"MQL", "SAL"}, ByOwner: true})
	require.NoError(t, err)
	require.NoError(t, f.Add(visits))
	w, err := journey.NewWork(journey.WorkSpec{Stages: []string{"MQL"}, Types: []string{leadkit.EventSDRCall}, Order: []string{"Raw", "MQL", "SAL"}})
	require.NoError(t, err)
	require.NoError(t, w.Add(visits, []leadkit.Event{{ID: "c", LeadID: "a", Type: leadkit.EventSDRCall, Time: wh(21)}}))
	funnelOwner := f.Result().Owners[0].Owners[0].Owner
	assert.Equal(t, "", funnelOwner)
	nobody, ok := w.Result().Owner("MQL", "")
	require.True(t, ok, "one lead, one owner of its MQL stay: the funnel's")
	assert.Equal(t, 1, nobody.Touches)
	_, ok = w.Result().Owner("MQL", "sdr-1")
	assert.False(t, ok)

	_, err = journey.NewWork(journey.WorkSpec{Stages: []string{"TAL"}, Types: []string{leadkit.EventSDRCall}, Order: []string{"MQL", "SAL"}})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
}

// TestWorkSameInstantOrder: in a list out of time order, visits at one
// instant are taken in funnel order, as the stage funnel takes them: an
// MQL ended by a move to SAL at the same instant had no time to be
// called, in either list order.
func TestWorkSameInstantOrder(t *testing.T) {
	v := []stage.Visit{{LeadID: "x", Stage: "SQL", At: wh(5)}, {LeadID: "x", Stage: "MQL", At: wh(0), Owner: "ana"}, {LeadID: "x", Stage: "SAL", At: wh(0)}}
	ev := []leadkit.Event{call("x", 1, 1)}
	run := func(v []stage.Visit) journey.WorkResult {
		w, err := journey.NewWork(journey.WorkSpec{Stages: []string{"MQL"}, Types: []string{leadkit.EventSDRCall}})
		require.NoError(t, err)
		require.NoError(t, w.Add(v, ev))
		return w.Result()
	}
	a, b := run(v), run([]stage.Visit{v[0], v[2], v[1]})
	assert.Equal(t, a, b)
	assert.Equal(t, 0, b.Stages[0].All.Touches)
}

// TestWorkNoWorkNoTimes: an owner whose stays were never worked has no
// time to the first touch (null), not "0s".
func TestWorkNoWorkNoTimes(t *testing.T) {
	w, err := journey.NewWork(journey.WorkSpec{Stages: []string{"MQL"}, Types: []string{leadkit.EventSDRCall}})
	require.NoError(t, err)
	require.NoError(t, w.Add([]stage.Visit{{LeadID: "x", Stage: "MQL", At: wh(0), Owner: "cy"}}, nil))
	b, err := json.Marshal(w.Result().Stages[0].Owners[0])
	require.NoError(t, err)
	assert.Contains(t, string(b), `"first_mean":null`)
	assert.Contains(t, string(b), `"first_median":null`)
}

// TestWorkSpecTimes: times outside leadkit's range are refused.
func TestWorkSpecTimes(t *testing.T) {
	_, err := journey.NewWork(journey.WorkSpec{Stages: []string{"MQL"}, Types: []string{leadkit.EventSDRCall},
		From: time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC), To: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.Contains(t, err.Error(), "from 0001-01-01")
	assert.Contains(t, err.Error(), "to 10000-01-01")
}
