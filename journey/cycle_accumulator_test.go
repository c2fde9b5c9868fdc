package journey

import (
	"cmp"
	"fmt"
	"maps"
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

// cycleRef is CycleTimes by brute force, as it was written before the
// accumulator: every lead's time in one slice, summarised exactly.
func cycleRef(in randInput, st string, opts CycleOptions) CycleResult {
	instant := opts.Instant
	if instant == 0 {
		instant = DefaultInstant
	}
	start := cmp.Or(opts.Start, FromFirstTouch)
	first := map[string]time.Time{}
	for _, v := range in.visits {
		if v.Stage != st || (!opts.From.IsZero() && v.At.Before(opts.From)) || (!opts.To.IsZero() && !v.At.Before(opts.To)) {
			continue
		}
		if t, ok := first[v.LeadID]; !ok || v.At.Before(t) {
			first[v.LeadID] = v.At
		}
	}
	r := CycleResult{Stage: st, Start: start}
	if instant > 0 {
		d := leadkit.Duration(instant)
		r.Instant = &d
	}
	split := func(ds []time.Duration) (leadkit.Rate, DurationStats) {
		if instant < 0 {
			return leadkit.NewRate(0, 0), Summarize(ds, opts.Bins)
		}
		var rest []time.Duration
		for _, d := range ds {
			if d > instant {
				rest = append(rest, d)
			}
		}
		return leadkit.NewRate(len(ds)-len(rest), len(ds)), Summarize(rest, opts.Bins)
	}
	var all []time.Duration
	cohorts := map[string][]time.Duration{}
	starts := map[string]time.Time{}
	for _, lead := range slices.Sorted(maps.Keys(first)) {
		var from time.Time
		ok := false
		if start == FromCreated {
			from = in.created[lead]
			ok = !from.IsZero()
		} else {
			for _, tl := range in.timelines {
				if tl.LeadID == lead {
					var t Touch
					t, ok = FirstTouch(tl)
					from = t.Time
				}
			}
		}
		if !ok || from.After(first[lead]) {
			r.Skipped++
			continue
		}
		d := first[lead].Sub(from)
		all = append(all, d)
		if opts.Cohort != leadkit.PeriodNone {
			cs, label := opts.Cohort.Cohort(from)
			cohorts[label] = append(cohorts[label], d)
			starts[label] = cs
		}
	}
	r.Overall = Summarize(all, opts.Bins)
	r.Instants, r.WithoutInstant = split(all)
	for _, label := range slices.Sorted(maps.Keys(cohorts)) {
		c := CycleCohort{Cohort: label, Start: starts[label], Stats: Summarize(cohorts[label], opts.Bins)}
		c.Instants, c.WithoutInstant = split(cohorts[label])
		r.Cohorts = append(r.Cohorts, c)
	}
	return r
}

var cycleTestOptions = []CycleOptions{
	{},
	{Start: FromCreated, Cohort: leadkit.PeriodMonth, Instant: days(4)},
	{Start: FromCreated, From: day(-8), To: day(30), Cohort: leadkit.PeriodWeek, Instant: -1, Bins: 3},
	{From: day(0), Cohort: leadkit.PeriodDay, Instant: days(8)},
}

// TestCycleAccumulatorReference: over random businesses, CycleTimes equals
// the brute force, and accumulators filled with random shards of the
// journeys, merged in random orders, equal CycleTimes.
func TestCycleAccumulatorReference(t *testing.T) {
	for seed := range uint64(300) {
		rng := rand.New(rand.NewPCG(seed, 21))
		in := randomInput(rng)
		opts := cycleTestOptions[rng.IntN(len(cycleTestOptions))]
		st := []string{"MQL", "SAL", "Won", "Recycled"}[rng.IntN(4)]
		fopts := opts
		fopts.Created = in.created
		got, err := CycleTimes(in.timelines, in.visits, st, fopts)
		require.NoError(t, err)
		require.Equal(t, noNaN(t, cycleRef(in, st, opts)), noNaN(t, got), "seed %d", seed)

		js, err := Journeys(in.timelines, in.visits, in.created)
		require.NoError(t, err)
		merged := binenctest.Sharded(t, rng, js, 1+rng.IntN(4), maker(t, NewCycleAccumulator, st, opts), addLead, false)
		require.Equal(t, noNaN(t, got), noNaN(t, merged.Result()), "seed %d", seed)
	}
}

// TestCycleAccumulatorPastExact: past 1,024 leads the summaries are
// sketches; shards merged in any order still give one result, with N,
// Mean, Min and Max exact and the median within 1% of the exact one
// (the brute force's).
func TestCycleAccumulatorPastExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	in := randInput{created: map[string]time.Time{}}
	for l := range 3000 {
		lead := fmt.Sprintf("l%04d", l)
		in.created[lead] = day(float64(rng.IntN(60)))
		in.visits = append(in.visits, stage.Visit{LeadID: lead, Stage: "MQL", At: in.created[lead].Add(time.Duration(rng.Int64N(int64(days(90)))))})
	}
	opts := CycleOptions{Start: FromCreated, Cohort: leadkit.PeriodMonth}
	want := cycleRef(in, "MQL", opts)
	fopts := opts
	fopts.Created = in.created
	got, err := CycleTimes(nil, in.visits, "MQL", fopts)
	require.NoError(t, err)
	js, err := Journeys(nil, in.visits, in.created)
	require.NoError(t, err)
	for range 3 {
		merged := binenctest.Sharded(t, rng, js, 7, maker(t, NewCycleAccumulator, "MQL", opts), addLead, true)
		require.Equal(t, noNaN(t, got), noNaN(t, merged.Result()))
	}
	require.Greater(t, got.Overall.N, 1024)
	for _, c := range [][2]DurationStats{{want.Overall, got.Overall}, {want.WithoutInstant, got.WithoutInstant}, {want.Cohorts[0].Stats, got.Cohorts[0].Stats}} {
		w, g := c[0], c[1]
		assert.Equal(t, w.N, g.N)
		assert.Equal(t, w.Mean, g.Mean)
		assert.Equal(t, w.Min, g.Min)
		assert.Equal(t, w.Max, g.Max)
		assert.InEpsilon(t, float64(w.Median), float64(g.Median), 0.01)
		assert.InEpsilon(t, float64(w.P90), float64(g.P90), 0.01)
	}
	assert.Greater(t, want.Overall.N, 1024)
}

func TestCycleAccumulatorRefuses(t *testing.T) {
	_, err := NewCycleAccumulator("", CycleOptions{Start: "later", Cohort: "decade", From: day(2), To: day(1), Instant: leadkit.MaxDuration + 1})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	for _, why := range []string{"empty stage", `unknown start "later"`, `unknown cohort period "decade"`, "period ends", "instant 100000d0.000000001s: at most 100000d"} {
		assert.ErrorContains(t, err, why)
	}
	a, err := NewCycleAccumulator("MQL", CycleOptions{})
	require.NoError(t, err)
	err = a.Add(LeadJourney{Timeline: Timeline{LeadID: "a"}, Visits: []stage.Visit{{LeadID: "b", Stage: "MQL", At: day(1)}}})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.ErrorContains(t, err, `journey: cycle times: lead "a": visit 0`)
	assert.ErrorContains(t, a.Merge(a), "not nil, not itself")
	assert.ErrorContains(t, a.Merge(nil), "not nil, not itself")
	b, err := NewCycleAccumulator("MQL", CycleOptions{Instant: time.Minute})
	require.NoError(t, err)
	assert.ErrorContains(t, a.Merge(b), "different stages or options")
	c, err := NewCycleAccumulator("MQL", CycleOptions{Instant: DefaultInstant, Start: FromFirstTouch})
	require.NoError(t, err)
	assert.NoError(t, a.Merge(c), "the defaults written out are the same options")
	_, err = CycleTimes(nil, nil, "MQL", CycleOptions{Start: FromCreated})
	assert.ErrorContains(t, err, "needs creation times")
}

// nurtureRef is NurturePower by brute force, as it was written before
// the accumulator.
func nurtureRef(in randInput, st string, opts NurtureOptions) []ContentPower {
	by := cmp.Or(opts.By, KeyContent)
	first := map[string]time.Time{}
	for _, v := range in.visits {
		if t, ok := first[v.LeadID]; v.Stage == st && (!ok || v.At.Before(t)) {
			first[v.LeadID] = v.At
		}
	}
	stats := map[string]*ContentPower{}
	for _, tl := range in.timelines {
		touched := map[string]bool{}
		lastBefore := map[string]time.Time{}
		reached, converted := first[tl.LeadID]
		for _, e := range tl.Events {
			key := by.Of(e)
			if key == "" || e.Time.IsZero() || (len(opts.Types) > 0 && !slices.Contains(opts.Types, e.Type)) ||
				(!opts.From.IsZero() && e.Time.Before(opts.From)) || (!opts.To.IsZero() && !e.Time.Before(opts.To)) {
				continue
			}
			if stats[key] == nil {
				stats[key] = &ContentPower{Key: key}
			}
			stats[key].Sent++
			touched[key] = true
			if converted && !e.Time.After(reached) {
				if t, ok := lastBefore[key]; !ok || e.Time.After(t) {
					lastBefore[key] = e.Time
				}
			}
		}
		for key := range touched {
			stats[key].Leads++
			if t, ok := lastBefore[key]; ok && (opts.Window == 0 || reached.Sub(t) <= opts.Window) {
				stats[key].Converted++
			}
		}
	}
	out := []ContentPower{}
	for _, s := range stats {
		s.Power, s.Rate = ratio(s.Converted, s.Sent), ratio(s.Converted, s.Leads)
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b ContentPower) int {
		return cmp.Or(cmp.Compare(b.Power, a.Power), cmp.Compare(b.Converted, a.Converted), cmp.Compare(a.Key, b.Key))
	})
	return out
}

var nurtureTestOptions = []NurtureOptions{
	{},
	{By: KeyChannel, From: day(-8), To: day(30)},
	{By: KeyType, Types: []string{"web", "email"}, Window: days(12)},
	{By: KeyCampaign, From: day(0)},
}

// TestNurtureAccumulatorReference: over random businesses, NurturePower
// equals the brute force, and accumulators filled with random shards of
// the journeys, merged in random orders, equal NurturePower.
func TestNurtureAccumulatorReference(t *testing.T) {
	nonEmpty := 0
	for seed := range uint64(300) {
		rng := rand.New(rand.NewPCG(seed, 22))
		in := randomInput(rng)
		for i := range in.timelines {
			for k := range in.timelines[i].Events {
				in.timelines[i].Events[k].Campaign = []string{"", "spring", "fall"}[rng.IntN(3)]
			}
		}
		opts := nurtureTestOptions[rng.IntN(len(nurtureTestOptions))]
		st := []string{"MQL", "SAL", "Won"}[rng.IntN(3)]
		got, err := NurturePower(in.timelines, in.visits, st, opts)
		require.NoError(t, err)
		require.Equal(t, noNaN(t, nurtureRef(in, st, opts)), noNaN(t, got), "seed %d", seed)
		if len(got) > 0 {
			nonEmpty++
		}

		js, err := Journeys(in.timelines, in.visits, in.created)
		require.NoError(t, err)
		merged := binenctest.Sharded(t, rng, js, 1+rng.IntN(4), maker(t, NewNurtureAccumulator, st, opts), addLead, false)
		require.Equal(t, noNaN(t, got), noNaN(t, merged.Result()), "seed %d", seed)
	}
	assert.Greater(t, nonEmpty, 100)
}

// TestNurtureAccumulatorKeyCap: more than MaxNurtureKeys distinct keys
// fails in Add (the journey is refused, nothing counted), in Merge
// (nothing changes) and in NurturePower, whatever the order.
func TestNurtureAccumulatorKeyCap(t *testing.T) {
	lead := func(id string, from, n int) LeadJourney {
		j := LeadJourney{Timeline: Timeline{LeadID: id}}
		for k := range n {
			j.Events = append(j.Events, leadkit.Event{ID: fmt.Sprintf("%s-%d", id, k), Type: "email", Content: fmt.Sprintf("c%05d", from+k), Time: day(1)})
		}
		return j
	}
	a, err := NewNurtureAccumulator("MQL", NurtureOptions{})
	require.NoError(t, err)
	require.NoError(t, a.Add(lead("a", 0, MaxNurtureKeys-1)))
	before := binenctest.Encode(t, a)
	err = a.Add(lead("b", MaxNurtureKeys-1, 2))
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.ErrorContains(t, err, `journey: nurture power: lead "b": leadkit: invalid input: 10001 distinct keys, at most 10000 (MaxNurtureKeys)`)
	assert.Equal(t, before, binenctest.Encode(t, a), "nothing counted")
	require.NoError(t, a.Add(lead("c", 0, 3)), "known keys")
	require.NoError(t, a.Add(lead("d", MaxNurtureKeys-1, 1)), "up to the cap")
	assert.Len(t, a.Result(), MaxNurtureKeys)

	b, err := NewNurtureAccumulator("MQL", NurtureOptions{})
	require.NoError(t, err)
	require.NoError(t, b.Add(lead("e", MaxNurtureKeys, 1)))
	before = binenctest.Encode(t, a)
	assert.ErrorContains(t, a.Merge(b), "merged, 10001 distinct keys, at most 10000")
	assert.Equal(t, before, binenctest.Encode(t, a), "nothing merged")

	tls := []Timeline{lead("a", 0, MaxNurtureKeys).Timeline, lead("b", MaxNurtureKeys, 1).Timeline}
	r, err := NurturePower(tls, nil, "MQL", NurtureOptions{})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.ErrorContains(t, err, "MaxNurtureKeys")
	assert.Nil(t, r)
}

func TestNurtureAccumulatorRefuses(t *testing.T) {
	_, err := NewNurtureAccumulator("", NurtureOptions{By: "colour", Window: -1, Types: []string{""}, From: time.Date(1800, 1, 1, 0, 0, 0, 0, time.UTC)})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	for _, why := range []string{"empty stage", `unknown key "colour"`, "window -1ns is negative", "types[0]: empty", "from"} {
		assert.ErrorContains(t, err, why)
	}
	a, err := NewNurtureAccumulator("MQL", NurtureOptions{})
	require.NoError(t, err)
	err = a.Add(LeadJourney{Timeline: Timeline{LeadID: "a", Events: []leadkit.Event{{ID: "e", LeadID: "b", Type: "x", Content: "c", Time: day(1)}}}})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.ErrorContains(t, err, `journey: nurture power: lead "a": event 0`)
	assert.Empty(t, a.Result())
	assert.NotNil(t, a.Result(), "an empty list, as NurturePower's")
	assert.ErrorContains(t, a.Merge(a), "not nil, not itself")
	b, err := NewNurtureAccumulator("MQL", NurtureOptions{Window: time.Hour})
	require.NoError(t, err)
	assert.ErrorContains(t, a.Merge(b), "different stages or options")
}
