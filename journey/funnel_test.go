package journey

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
)

func TestFunnelOrderedHandCounted(t *testing.T) {
	tls := []Timeline{
		tl("l1", "a@0", "b@1", "c@3"),        // a b c: 3 steps, gaps 1d, 2d
		tl("l2", "a@0", "x@1", "b@2"),        // a b: 2 steps, gap 2d (x between is fine)
		tl("l3", "b@0", "a@1"),               // b before a: only step 1
		tl("l4", "a@0", "c@1", "b@2"),        // c before b: 2 steps, gap 2d
		tl("l5", "x@0", "c@1"),               // never did a: not in the funnel
		tl("l6"),                             // no events
		tl("l7", "c@5", "b@4", "a@0", "b@4"), // unsorted input: a@0 b@4 c@5: gaps 4d, 1d
	}
	r, err := Funnel(FunnelSpec{Steps: steps("a", "b", "c")}, tls)
	require.NoError(t, err)
	assert.Equal(t, 7, r.Leads)
	assert.Equal(t, []int{5, 4, 2}, counts(r))
	assert.Equal(t, leadkit.Duration(DefaultWindow), r.Window)
	assert.Equal(t, Ordered, r.Order)

	s1, s2, s3 := r.Steps[0], r.Steps[1], r.Steps[2]
	assert.Equal(t, "1:a", s1.Name)
	assert.InDelta(t, 1.0, s1.ConversionFromFirst, 1e-12)
	assert.InDelta(t, 1.0, s1.ConversionFromPrevious, 1e-12)
	assert.Zero(t, s1.DropOff)
	assert.Zero(t, s1.AverageTime)

	assert.InDelta(t, 4.0/5, s2.ConversionFromFirst, 1e-12)
	assert.InDelta(t, 4.0/5, s2.ConversionFromPrevious, 1e-12)
	assert.Equal(t, 1, s2.DropOff)
	assert.InDelta(t, 1.0/5, s2.DropOffRate, 1e-12)
	// Gaps a->b: 1d, 2d, 2d, 4d: mean 9/4 d, median (2d+2d)/2.
	assert.Equal(t, ldays(9.0/4), s2.AverageTime)
	assert.Equal(t, ldays(2), s2.MedianTime)

	assert.InDelta(t, 2.0/5, s3.ConversionFromFirst, 1e-12)
	assert.InDelta(t, 2.0/4, s3.ConversionFromPrevious, 1e-12)
	assert.Equal(t, 2, s3.DropOff)
	// Gaps b->c: 2d (l1), 1d (l7): even sample, median is their mean 1.5d.
	assert.Equal(t, ldays(1.5), s3.AverageTime)
	assert.Equal(t, ldays(1.5), s3.MedianTime)

	// Time to convert a->c: l1 3d, l7 5d.
	assert.Equal(t, 2, r.TimeToConvert.N)
	assert.Equal(t, ldays(4), r.TimeToConvert.Mean)
	assert.Equal(t, ldays(4), r.TimeToConvert.Median)
	assert.Equal(t, ldays(3), r.TimeToConvert.Min)
	assert.Equal(t, ldays(5), r.TimeToConvert.Max)
	total := 0
	for _, b := range r.TimeToConvert.Histogram {
		total += b.Count
	}
	assert.Equal(t, 2, total)
}

func TestFunnelWindow(t *testing.T) {
	cases := []struct {
		name   string
		window time.Duration
		tl     Timeline
		want   []int
		gap    time.Duration // a->b time of the best attempt, when b is reached
	}{
		{"bound is inclusive", 0, tl("l", "a@0", "b@14"), []int{1, 1}, days(14)},
		{"one second late", 0, Timeline{LeadID: "l", Events: []leadkit.Event{
			{ID: "1", Type: "a", Time: day(0)}, {ID: "2", Type: "b", Time: day(14).Add(time.Second)}}}, []int{1, 0}, 0},
		{"custom window", days(2), tl("l", "a@0", "b@3"), []int{1, 0}, 0},
		// The attempt at d0 times out; the one at d10 converts: a lead
		// counts once, at its best attempt, with that attempt's times.
		{"later attempt converts", 0, tl("l", "a@0", "a@10", "b@20"), []int{1, 1}, days(10)},
		// Both attempts convert: the first to convert is kept (1d, not 8d).
		{"first to convert is kept", 0, tl("l", "a@0", "b@1", "a@2", "b@10"), []int{1, 1}, days(1)},
		// The newest step-1 event restarts the attempt (PostHog).
		{"newest start", 0, tl("l", "a@0", "a@5", "b@6"), []int{1, 1}, days(1)},
		// Greedy: b is matched at its first occurrence after a.
		{"first b after a", 0, tl("l", "a@0", "b@3", "b@5"), []int{1, 1}, days(3)},
		{"same time counts", 0, tl("l", "a@1", "b@1"), []int{1, 1}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := Funnel(FunnelSpec{Steps: steps("a", "b"), Window: c.window}, []Timeline{c.tl})
			require.NoError(t, err)
			assert.Equal(t, c.want, counts(r))
			if c.want[1] == 1 {
				assert.Equal(t, leadkit.Duration(c.gap), r.Steps[1].MedianTime)
			}
		})
	}
}

func TestFunnelOrders(t *testing.T) {
	cases := []struct {
		name  string
		order Order
		tl    Timeline
		want  []int
	}{
		{"ordered allows events between", Ordered, tl("l", "a@0", "x@1", "b@2", "c@3"), []int{1, 1, 1}},
		{"strict breaks on other event", Strict, tl("l", "a@0", "x@1", "b@2", "c@3"), []int{1, 0, 0}},
		{"strict consecutive", Strict, tl("l", "a@0", "b@1", "c@2"), []int{1, 1, 1}},
		{"strict retries at next a", Strict, tl("l", "a@0", "x@1", "a@2", "b@3", "x@4", "c@5"), []int{1, 1, 0}},
		// a@1 restarts the attempt at step 1; b@2 extends it; no c.
		{"strict repeated step-1 event restarts", Strict, tl("l", "a@0", "a@1", "b@2"), []int{1, 1, 0}},
		// PostHog drops the attempts waiting at the steps an event does
		// not match: b@2 matches step 2, so the attempt at step 2 stays.
		{"strict repeat of the current step", Strict, tl("l", "a@0", "b@1", "b@2", "c@3"), []int{1, 1, 1}},
		{"strict other event after step 2", Strict, tl("l", "a@0", "b@1", "x@2", "c@3"), []int{1, 1, 0}},
		{"ordered needs order", Ordered, tl("l", "c@0", "b@1", "a@2"), []int{1, 0, 0}},
		{"unordered any order", Unordered, tl("l", "c@0", "b@1", "a@2"), []int{1, 1, 1}},
		{"unordered counts distinct steps", Unordered, tl("l", "b@0", "b@1", "x@2"), []int{1, 0, 0}},
		// The window runs from the attempt's first step event and is inclusive.
		{"unordered window inclusive", Unordered, tl("l", "b@0", "c@10", "a@14"), []int{1, 1, 1}},
		// a comes 1s after b@0 leaves the window: at most b and c, or c
		// and a, are inside it at once.
		{"unordered window exceeded", Unordered, Timeline{LeadID: "l", Events: []leadkit.Event{
			{ID: "1", Type: "b", Time: day(0)}, {ID: "2", Type: "c", Time: day(10)},
			{ID: "3", Type: "a", Time: day(14).Add(time.Second)}}}, []int{1, 1, 0}},
		{"unordered nothing", Unordered, tl("l", "x@0"), []int{0, 0, 0}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := Funnel(FunnelSpec{Steps: steps("a", "b", "c"), Order: c.order}, []Timeline{c.tl})
			require.NoError(t, err)
			assert.Equal(t, c.want, counts(r))
		})
	}
}

func TestFunnelUnorderedTimes(t *testing.T) {
	// b@0, c@1, a@4: three distinct steps, first done at 0, 1, 4: gaps 1d, 3d.
	r, err := Funnel(FunnelSpec{Steps: steps("a", "b", "c"), Order: Unordered},
		[]Timeline{tl("l", "b@0", "c@1", "b@2", "a@4")})
	require.NoError(t, err)
	assert.Equal(t, []int{1, 1, 1}, counts(r))
	assert.Equal(t, ldays(1), r.Steps[1].MedianTime)
	assert.Equal(t, ldays(3), r.Steps[2].MedianTime)
	assert.Equal(t, ldays(4), r.TimeToConvert.Median)
}

func TestFunnelRepeatedStepType(t *testing.T) {
	// Steps "download" then "download" again: one event fills one step.
	spec := FunnelSpec{Steps: []Step{
		{Name: "first download", Types: []string{"download"}},
		{Name: "second download", Types: []string{"download"}},
	}}
	r, err := Funnel(spec, []Timeline{tl("l1", "download@0"), tl("l2", "download@0", "download@1")})
	require.NoError(t, err)
	assert.Equal(t, []int{2, 1}, counts(r))
}

func TestFunnelWhen(t *testing.T) {
	spec := FunnelSpec{Steps: []Step{
		{Name: "webinar", Types: []string{"webinar_attended"}},
		{Name: "whitepaper", Types: []string{"download"}, When: `event.content == "whitepaper" && event.pages > 10`},
		{Name: "any meeting", When: `hasPrefix(event.type, "meeting")`},
	}, Fields: []leadkit.FieldSpec{{Name: "event.pages", Type: leadkit.TypeNumber}}}
	ev := func(id, typ, content string, d float64, attrs map[string]any) leadkit.Event {
		return leadkit.Event{ID: id, LeadID: "l", Type: typ, Content: content, Time: day(d), Attrs: attrs}
	}
	tls := []Timeline{
		{LeadID: "l1", Events: []leadkit.Event{
			ev("1", "webinar_attended", "", 0, nil),
			ev("2", "download", "case-study", 1, map[string]any{"pages": 50}), // wrong content
			ev("3", "download", "whitepaper", 2, map[string]any{"pages": 5}),  // too short
			ev("4", "download", "whitepaper", 3, map[string]any{"pages": 12}), // matches
			ev("5", "meeting_booked", "", 4, nil),
		}},
		{LeadID: "l2", Events: []leadkit.Event{
			ev("1", "webinar_attended", "", 0, nil),
			ev("2", "download", "whitepaper", 1, map[string]any{"pages": 20}),
		}},
	}
	r, err := Funnel(spec, tls)
	require.NoError(t, err)
	assert.Equal(t, []int{2, 2, 1}, counts(r))
	assert.Equal(t, ldays(2), r.Steps[1].AverageTime) // l1 3d, l2 1d
}

// A lead with a bad event is refused whole, by the accumulator (which
// changes nothing) and by Funnel (which counts the other leads); the error
// names every bad event.
func TestFunnelLeadsWithBadEventsRefused(t *testing.T) {
	spec := FunnelSpec{Steps: []Step{
		{Name: "a", Types: []string{"a"}},
		{Name: "b", Types: []string{"b"}, When: `event.n + 1 > 2`},
	}, Fields: []leadkit.FieldSpec{{Name: "event.n", Type: leadkit.TypeNumber}}}
	tls := []Timeline{
		{LeadID: "l1", Events: []leadkit.Event{
			{ID: "no-time", Type: "a"},
			{ID: "a1", Type: "a", Time: day(0)},
			{ID: "b-bad", Type: "b", Time: day(1), Attrs: map[string]any{"n": "text"}},
			{ID: "b-ok", Type: "b", Time: day(2), Attrs: map[string]any{"n": 5}},
		}},
		tl("l2", "a@0"),
	}
	r, err := Funnel(spec, tls)
	require.Error(t, err)
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
	lines := strings.Split(err.Error(), "\n")
	require.Len(t, lines, 2, "one line per bad event")
	assert.Equal(t, `journey: lead "l1": event "no-time": leadkit: invalid input: missing time`, lines[0])
	assert.True(t, strings.HasPrefix(lines[1], `journey: lead "l1": event "b-bad": step "b": when: leadkit: invalid input: `), lines[1])
	// l1 is not counted, not even through its good events.
	assert.Equal(t, 1, r.Leads)
	assert.Equal(t, []int{1, 0}, counts(r))

	acc, err := NewFunnelAccumulator(spec)
	require.NoError(t, err)
	require.NoError(t, acc.Add(tls[1]))
	want := acc.Result()
	addErr := acc.Add(tls[0])
	assert.ErrorIs(t, addErr, leadkit.ErrInvalid)
	assert.Equal(t, strings.Join(lines, "\n"), addErr.Error(), "Add names the same bad events")
	assert.Equal(t, want, acc.Result(), "a refused timeline changes nothing")
	assert.Equal(t, r, acc.Result())
}

func TestFunnelErrorCap(t *testing.T) {
	var tls []Timeline
	for i := range 25 {
		tls = append(tls, Timeline{LeadID: fmt.Sprint(i), Events: []leadkit.Event{{ID: fmt.Sprint(i), Type: "a"}}})
	}
	_, err := Funnel(FunnelSpec{Steps: steps("a")}, tls)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "and 15 more errors")
}

func TestCompileFunnelErrors(t *testing.T) {
	many := make([]Step, MaxSteps+1)
	for i := range many {
		many[i] = Step{Name: fmt.Sprint(i), Types: []string{"a"}}
	}
	cases := []struct {
		name string
		spec FunnelSpec
		want []string
	}{
		{"empty funnel", FunnelSpec{}, []string{"journey: funnel:", "no steps"}},
		{"negative window", FunnelSpec{Steps: steps("a"), Window: -time.Hour}, []string{"window -1h is negative"}},
		{"unknown order", FunnelSpec{Steps: steps("a"), Order: "random"}, []string{`unknown order "random"`}},
		{"bins", FunnelSpec{Steps: steps("a"), Bins: -1}, []string{"bins -1 out of range"}},
		{"too many steps", FunnelSpec{Steps: many}, []string{"65 steps, at most 64"}},
		{"names", FunnelSpec{Steps: []Step{{Name: "x", Types: []string{"a"}}, {Name: " ", Types: []string{"a"}}, {Name: "x", Types: []string{"b"}}}},
			[]string{`step 2 " ": name: empty name`, `step 3 "x": name: name already used by step 1`}},
		{"matches everything", FunnelSpec{Steps: []Step{{Name: "all"}}}, []string{`step 1 "all": types: no types and no when`}},
		{"empty type", FunnelSpec{Steps: []Step{{Name: "e", Types: []string{""}}}}, []string{`step 1 "e": types: type 1: empty event type`}},
		{"unknown field", FunnelSpec{Steps: []Step{{Name: "mql", Types: []string{"a"}, When: `chanel == "web"`}}},
			[]string{`step 1 "mql": when: line 1, column 1: unknown name chanel: did you mean event.channel?`}},
		{"not boolean", FunnelSpec{Steps: []Step{{Name: "s", Types: []string{"a"}, When: `event.channel`}}}, []string{`step 1 "s": when:`, "expected bool"}},
		{"disabled builtin", FunnelSpec{Steps: []Step{{Name: "s", Types: []string{"a"}, When: `now() > event.time`}}},
			[]string{"now is not available: expressions must not read the clock"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := CompileFunnel(c.spec)
			require.Error(t, err)
			assert.ErrorIs(t, err, leadkit.ErrInvalid)
			for _, w := range c.want {
				assert.Contains(t, err.Error(), w)
			}
			r, err2 := Funnel(c.spec, []Timeline{tl("l", "a@0")})
			assert.Equal(t, err.Error(), err2.Error())
			assert.Empty(t, r.Steps)
		})
	}
}

func TestCompileFunnelStepErrorPosition(t *testing.T) {
	// Two bad steps are both reported, each with its name and position.
	_, err := CompileFunnel(FunnelSpec{Steps: []Step{
		{Name: "ok", Types: []string{"a"}},
		{Name: "second", Types: []string{"a"}, When: "event.channel == \"web\" &&\n  campain == \"q1\""},
		{Name: "third", Types: []string{"a"}, When: `event.type ==`},
	}})
	require.Error(t, err)
	var errs []*StepError
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var se *StepError
		require.True(t, errors.As(e, &se))
		errs = append(errs, se)
	}
	require.Len(t, errs, 2)
	assert.Equal(t, "second", errs[0].Step)
	assert.Equal(t, 2, errs[0].Index)
	assert.Equal(t, "when", errs[0].Field)
	assert.Equal(t, 2, errs[0].Line)   // Campain is on line 2 ...
	assert.Equal(t, 3, errs[0].Column) // ... after two spaces of indent
	assert.Equal(t, "third", errs[1].Step)
	assert.Equal(t, 1, errs[1].Line)
}

// Random shards merged in a random order equal one pass and Run, for every
// order and several seeds, refused timelines included (refused by all).
func TestFunnelAccumulatorShardsEqualOnePass(t *testing.T) {
	for seed := range uint64(4) {
		rng := rand.New(rand.NewPCG(3, seed))
		tls := randomTimelines(rng, 400, 30)
		for i := range tls {
			if rng.IntN(15) == 0 && len(tls[i].Events) > 0 {
				tls[i].Events[rng.IntN(len(tls[i].Events))].Time = time.Time{} // a bad event
			}
		}
		for _, order := range []Order{Ordered, Strict, Unordered} {
			t.Run(fmt.Sprintf("seed %d %s", seed, order), func(t *testing.T) {
				f, err := CompileFunnel(FunnelSpec{Steps: []Step{
					{Name: "visit", Types: []string{"page_view"}},
					{Name: "download", Types: []string{"download"}, When: `event.channel != "paid"`},
					{Name: "webinar", Types: []string{"webinar_attended"}},
					{Name: "meeting", Types: []string{"meeting"}},
				}, Order: order, Window: days(10)})
				require.NoError(t, err)
				one := f.NewAccumulator()
				refused := 0
				for _, l := range tls {
					if one.Add(l) != nil {
						refused++
					}
				}
				require.Positive(t, refused, "the data must hold refused timelines")
				shard, k := shardInto(rng, len(tls))
				shards := make([]*FunnelAccumulator, k)
				for i := range shards {
					shards[i] = f.NewAccumulator()
				}
				for i, l := range tls {
					_ = shards[shard[i]].Add(l)
				}
				perm := rng.Perm(k)
				for _, i := range perm[1:] {
					require.NoError(t, shards[perm[0]].Merge(shards[i]))
				}
				want := one.Result()
				assert.Equal(t, want, shards[perm[0]].Result())
				run, err := f.Run(tls)
				assert.ErrorIs(t, err, leadkit.ErrInvalid)
				assert.Equal(t, want, run)
				assert.Equal(t, len(tls)-refused, want.Leads)
				assert.Greater(t, want.Steps[len(want.Steps)-1].Count, 0, "the data must exercise every step")
			})
		}
	}
}

// Accumulators of different funnels refuse to merge and change nothing.
func TestFunnelAccumulatorMergeChecksSpec(t *testing.T) {
	a, err := NewFunnelAccumulator(FunnelSpec{Steps: steps("a")})
	require.NoError(t, err)
	b, err := NewFunnelAccumulator(FunnelSpec{Steps: steps("b")})
	require.NoError(t, err)
	c, err := NewFunnelAccumulator(FunnelSpec{Steps: steps("a")})
	require.NoError(t, err)
	require.NoError(t, a.Add(tl("l1", "a@0")))
	require.NoError(t, b.Add(tl("l2", "b@0")))
	wantA, wantB := a.Result(), b.Result()
	err = a.Merge(b)
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.EqualError(t, err, "journey: funnel: leadkit: invalid input: accumulators of different specs: cannot merge accumulators of different funnels")
	assert.Equal(t, wantA, a.Result())
	assert.Equal(t, wantB, b.Result())
	assert.NoError(t, a.Merge(c), "equal specs merge")
	assert.ErrorIs(t, a.Merge(a), leadkit.ErrInvalid, "merging into itself is refused (it would double)")
	assert.Equal(t, 1, a.Result().Leads, "unchanged: l1 only (c was empty)")

	_, err = NewFunnelAccumulator(FunnelSpec{})
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
}

var channelTypes = []string{"page_view", "download", "webinar_attended", "email_clicked", "meeting", "form_submitted"}

// randomTimelines makes n leads with up to maxEvents events each over 60
// days, deterministic for a given rng.
func randomTimelines(rng *rand.Rand, n, maxEvents int) []Timeline {
	channels := []string{"web", "email", "paid", "event"}
	out := make([]Timeline, n)
	for i := range out {
		lead := fmt.Sprintf("lead%05d", i)
		k := rng.IntN(maxEvents + 1)
		evs := make([]leadkit.Event, k)
		for j := range evs {
			evs[j] = leadkit.Event{
				ID: fmt.Sprintf("%s-%d", lead, j), LeadID: lead,
				Type:    channelTypes[rng.IntN(len(channelTypes))],
				Channel: channels[rng.IntN(len(channels))],
				Content: fmt.Sprintf("c%d", rng.IntN(5)),
				Time:    t0.Add(time.Duration(rng.Int64N(int64(60 * 24 * time.Hour)))).Truncate(time.Minute),
			}
		}
		leadkit.SortEvents(evs)
		out[i] = Timeline{LeadID: lead, Events: evs}
	}
	return out
}

func TestFunnelUnorderedOneEventOneStep(t *testing.T) {
	// Steps {pv}, {pv or dl}, {c}. PostHog (unordered_steps.rs) puts each
	// event in one step: pv@0 takes step 1 (the lowest empty step it
	// matches), c@1 step 3: 2 steps, not 3.
	spec := FunnelSpec{Order: Unordered, Steps: []Step{
		{Name: "pv", Types: []string{"pv"}}, {Name: "pv or dl", Types: []string{"pv", "dl"}}, {Name: "c", Types: []string{"c"}},
	}}
	cases := []struct {
		name string
		tl   Timeline
		want []int
	}{
		{"one event, one step", tl("l", "pv@0", "c@1"), []int{1, 1, 0}},
		// The second pv finds step 1 taken and step 2 empty.
		{"two page views fill two steps", tl("l", "pv@0", "pv@1", "c@2"), []int{1, 1, 1}},
		{"download fills step 2", tl("l", "dl@0", "pv@1", "c@2"), []int{1, 1, 1}},
		// Same time: pv and dl at day 0 are taken in step order (pv's
		// lowest step is 1, dl's is 2), whatever their arrival order.
		{"same time, dl first", tl("l", "dl@0", "pv@0", "c@0"), []int{1, 1, 1}},
		{"same time, pv first", tl("l", "pv@0", "dl@0", "c@0"), []int{1, 1, 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := Funnel(spec, []Timeline{c.tl})
			require.NoError(t, err)
			assert.Equal(t, c.want, counts(r))
		})
	}
	// PostHog's assignment is greedy, not a best matching: with steps
	// {a or b}, {a}, a@0 takes step 1 (lowest empty) and b@1 can only
	// join step 1, so 1 step although a->2, b->1 would give 2.
	r, err := Funnel(FunnelSpec{Order: Unordered, Steps: []Step{
		{Name: "a or b", Types: []string{"a", "b"}}, {Name: "a", Types: []string{"a"}},
	}}, []Timeline{tl("l", "a@0", "b@1")})
	require.NoError(t, err)
	assert.Equal(t, []int{1, 0}, counts(r))
}
