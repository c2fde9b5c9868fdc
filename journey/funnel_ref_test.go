package journey

import (
	"cmp"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
)

// Two references check the funnel engine:
//
//   - bruteOrdered, independent of PostHog's code: for an Ordered funnel
//     over events with distinct times it follows every attempt on its own
//     (the greedy chain from each step-1 event) and picks the attempt with
//     the most steps, then the one that got there first (the smallest
//     index of its last event), then the latest start. That is what
//     PostHog's per-step table computes (each step keeps the latest
//     attempt that reached it, and a newer attempt is never worse).
//   - postHogFunnel, a line-by-line port of PostHog's funnel-udf
//     (steps.rs for Ordered and Strict, unordered_steps.rs for Unordered)
//     with its data structures kept as they are there (vectors of timings
//     and event ids cloned at each step, a deque per step), over any
//     events, same times included. Same-time events are first put in the
//     package's documented order (lowest step, then steps, then arrival),
//     which is one of the orders PostHog may receive them in.

// refEvent is an event as the references see it: its time, an id, and its
// steps (1-based, ascending), like the rows PostHog's UDF reads.
type refEvent struct {
	t     time.Time
	id    int
	steps []int
	mask  uint64
}

func refEvents(events []leadkit.Event, mask func(leadkit.Event) uint64, keepNonStep bool) []refEvent {
	var out []refEvent
	for i, e := range events {
		m := mask(e)
		if m == 0 && !keepNonStep {
			continue
		}
		re := refEvent{t: e.Time, id: i, mask: m}
		for k := 0; k < 64; k++ {
			if m&(1<<k) != 0 {
				re.steps = append(re.steps, k+1)
			}
		}
		out = append(out, re)
	}
	// Same-time events in step order (stable, events arrive sorted by time).
	slices.SortStableFunc(out, func(a, b refEvent) int {
		if c := a.t.Compare(b.t); c != 0 {
			return c
		}
		if c := cmp.Compare(bits.TrailingZeros64(a.mask), bits.TrailingZeros64(b.mask)); c != 0 {
			return c
		}
		return cmp.Compare(a.mask, b.mask)
	})
	return out
}

// bruteOrdered: see above. Events must have distinct times.
func bruteOrdered(n int, window time.Duration, evs []refEvent) []time.Time {
	var best []int
	for s := range evs {
		if evs[s].mask&1 == 0 {
			continue
		}
		chain := []int{s}
		for j := s + 1; j < len(evs) && len(chain) < n; j++ {
			if evs[j].t.Sub(evs[s].t) > window {
				break
			}
			if evs[j].mask&(1<<len(chain)) != 0 {
				chain = append(chain, j)
			}
		}
		switch {
		case len(chain) > len(best),
			len(chain) == len(best) && chain[len(chain)-1] < best[len(best)-1],
			len(chain) == len(best) && chain[len(chain)-1] == best[len(best)-1]: // later start
			best = chain
		}
	}
	out := make([]time.Time, len(best))
	for i, j := range best {
		out[i] = evs[j].t
	}
	return out
}

// postHogFunnel is the port described above. It returns the step times of
// the lead's best attempt.
func postHogFunnel(order Order, n int, window time.Duration, evs []refEvent) []time.Time {
	if order == Unordered {
		return postHogUnordered(n, window, evs)
	}
	type entered struct {
		set     bool // PostHog: timestamp != 0
		ts      time.Time
		timings []time.Time
		uuids   []int
	}
	et := make([]entered, n+1)
	maxStep, maxVal := 0, entered{}
	process := func(e refEvent, multiple bool) {
		for k := len(e.steps) - 1; k >= 0; k-- {
			step := e.steps[k]
			prev := et[step-1]
			inWindow := prev.set && e.t.Sub(prev.ts) <= window
			already := et[step].set && et[step].ts.Equal(prev.ts)
			if inWindow && !already {
				if multiple && slices.Contains(prev.uuids, e.id) {
					continue
				}
				nw := entered{set: true, ts: prev.ts,
					timings: append(slices.Clone(prev.timings), e.t), uuids: append(slices.Clone(prev.uuids), e.id)}
				et[step] = nw
				if step > maxStep {
					maxStep, maxVal = step, nw
				}
			}
		}
		if !multiple && order == Strict {
			for i := 1; i <= n; i++ {
				if !slices.Contains(e.steps, i) {
					et[i] = entered{}
				}
			}
		}
	}
	for g := 0; g < len(evs); {
		h := g
		for h < len(evs) && evs[h].t.Equal(evs[g].t) {
			h++
		}
		group := evs[g:h]
		et[0] = entered{set: true, ts: evs[g].t}
		allEqual := true
		for _, e := range group {
			allEqual = allEqual && slices.Equal(e.steps, group[0].steps)
		}
		if len(group) == 1 || allEqual {
			for _, e := range group {
				process(e, false)
			}
		} else {
			var expanded []refEvent
			for _, e := range group {
				for _, st := range e.steps {
					expanded = append(expanded, refEvent{t: e.t, id: e.id, steps: []int{st}})
				}
			}
			slices.SortStableFunc(expanded, func(a, b refEvent) int { return cmp.Compare(a.steps[0], b.steps[0]) })
			for _, e := range expanded {
				process(e, true)
			}
		}
		if et[n].set {
			break
		}
		g = h
	}
	return maxVal.timings
}

func postHogUnordered(n int, window time.Duration, evs []refEvent) []time.Time {
	byStep := make([][]refEvent, n) // deques
	completed, maxStep := 0, 0
	var maxTimings []time.Time
	update := func() {
		if completed > maxStep {
			var ts []time.Time
			for _, d := range byStep {
				if len(d) > 0 {
					ts = append(ts, d[0].t)
				}
			}
			slices.SortFunc(ts, time.Time.Compare)
			maxStep, maxTimings = completed, ts
		}
	}
	for i, e := range evs {
		for {
			oldest := -1
			for s, d := range byStep {
				if len(d) > 0 && (oldest < 0 || d[0].t.Before(byStep[oldest][0].t)) {
					oldest = s
				}
			}
			if oldest < 0 {
				break
			}
			if completed < n && !byStep[oldest][0].t.Add(window).Before(e.t) {
				break
			}
			update()
			byStep[oldest] = byStep[oldest][1:]
			if len(byStep[oldest]) == 0 {
				completed--
			}
		}
		key := func(step int) time.Time {
			if d := byStep[step-1]; len(d) > 0 {
				return d[len(d)-1].t
			}
			return time.Time{}
		}
		pick := e.steps[0]
		for _, st := range e.steps {
			if key(st).Before(key(pick)) {
				pick = st
			}
		}
		if len(byStep[pick-1]) == 0 {
			completed++
		}
		byStep[pick-1] = append(byStep[pick-1], e)
		if maxStep == n {
			break
		}
		if i == len(evs)-1 {
			update()
		}
	}
	return maxTimings
}

// bestAttempt runs the engine on one lead and returns its best attempt's
// step times.
func bestAttempt(t *testing.T, f *CompiledFunnel, l Timeline) []time.Time {
	t.Helper()
	a := f.NewAccumulator()
	var errs errorList
	k := a.attempt(l, &errs)
	require.NoError(t, errs.err())
	return slices.Clone(a.best[:k])
}

func stepMaskOf(spec FunnelSpec) func(leadkit.Event) uint64 {
	return func(e leadkit.Event) uint64 {
		var m uint64
		for k, s := range spec.Steps {
			if slices.Contains(s.Types, e.Type) {
				m |= 1 << k
			}
		}
		return m
	}
}

func randomSpec(rng *rand.Rand, order Order, types []string) FunnelSpec {
	var st []Step
	for i := range 1 + rng.IntN(4) {
		st = append(st, Step{Name: fmt.Sprint(i), Types: []string{types[rng.IntN(3)]}})
		if rng.IntN(3) == 0 { // a second type for some steps: events match several steps
			st[i].Types = append(st[i].Types, types[rng.IntN(len(types))])
		}
	}
	return FunnelSpec{Steps: st, Order: order, Window: days(float64(1 + rng.IntN(6)))}
}

func TestFunnelMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	types := []string{"a", "b", "c", "x"}
	leads := 0
	for iter := range 400 {
		spec := randomSpec(rng, Ordered, types)
		f, err := CompileFunnel(spec)
		require.NoError(t, err)
		var tls []Timeline
		wantCounts := make([]int, len(spec.Steps))
		for l := range 1 + rng.IntN(6) {
			// Distinct times: a random subset of 12 half-days.
			var specs []string
			for _, h := range rng.Perm(24)[:rng.IntN(12)] {
				specs = append(specs, fmt.Sprintf("%s@%g", types[rng.IntN(4)], float64(h)/2))
			}
			lead := tl(fmt.Sprint(l), specs...)
			leadkit.SortEvents(lead.Events)
			tls = append(tls, lead)
			want := bruteOrdered(len(spec.Steps), spec.Window, refEvents(lead.Events, stepMaskOf(spec), false))
			require.Equal(t, want, bestAttempt(t, f, lead), "iter %d lead %v spec %+v", iter, specs, spec)
			for k := range want {
				wantCounts[k]++
			}
			leads++
		}
		r, err := Funnel(spec, tls)
		require.NoError(t, err)
		require.Equal(t, wantCounts, counts(r), "iter %d", iter)
	}
	require.Greater(t, leads, 1000)
}

func TestFunnelMatchesPostHogPort(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 8))
	types := []string{"a", "b", "c", "x"}
	reached := map[Order]int{}
	for iter := range 1200 {
		order := []Order{Ordered, Strict, Unordered}[iter%3]
		spec := randomSpec(rng, order, types)
		f, err := CompileFunnel(spec)
		require.NoError(t, err)
		for l := range 1 + rng.IntN(5) {
			// Times on a coarse grid: many same-time events.
			var specs []string
			for range rng.IntN(10) {
				specs = append(specs, fmt.Sprintf("%s@%d", types[rng.IntN(4)], rng.IntN(8)))
			}
			lead := tl(fmt.Sprint(l), specs...)
			leadkit.SortEvents(lead.Events)
			want := postHogFunnel(order, len(spec.Steps), spec.Window, refEvents(lead.Events, stepMaskOf(spec), order == Strict))
			got := bestAttempt(t, f, lead)
			if len(want) == 0 {
				want = []time.Time{}
			}
			require.Equal(t, want, got, "iter %d order %s lead %v spec %+v", iter, order, specs, spec)
			if len(want) == len(spec.Steps) && len(want) > 1 {
				reached[order]++
			}
		}
	}
	for _, o := range []Order{Ordered, Strict, Unordered} {
		assert.Greater(t, reached[o], 50, "the data must complete multi-step %s funnels", o)
	}
}

func TestFunnelSameTimeArrivalOrderIrrelevant(t *testing.T) {
	// Shuffle each lead's events and re-sort them stably by time: only the
	// order of same-time events changes; the result must not.
	rng := rand.New(rand.NewPCG(9, 9))
	types := []string{"a", "b", "c", "x"}
	for iter := range 600 {
		spec := randomSpec(rng, []Order{Ordered, Strict, Unordered}[iter%3], types)
		f, err := CompileFunnel(spec)
		require.NoError(t, err)
		var specs []string
		for range 2 + rng.IntN(10) {
			specs = append(specs, fmt.Sprintf("%s@%d", types[rng.IntN(4)], rng.IntN(4)))
		}
		lead := tl("l", specs...)
		leadkit.SortEvents(lead.Events)
		want := bestAttempt(t, f, lead)
		for range 5 {
			rng.Shuffle(len(lead.Events), func(i, j int) { lead.Events[i], lead.Events[j] = lead.Events[j], lead.Events[i] })
			leadkit.SortEvents(lead.Events)
			require.Equal(t, want, bestAttempt(t, f, lead), "iter %d %s %v", iter, spec.Order, specs)
		}
	}
}

func TestFunnelPostHogAttempts(t *testing.T) {
	// The review's cases, worked through PostHog's steps.rs by hand: every
	// step-1 event restarts step 1, and the attempt that first reaches the
	// furthest step is kept.
	cases := []struct {
		name    string
		steps   []string
		tl      Timeline
		want    []int
		gaps    []time.Duration // time from the previous step, per step after the first
		convert time.Duration
	}{
		// a@0 starts attempt 1, a@5 attempt 2; b@6 extends attempt 2.
		{"newest start", []string{"a", "b"}, tl("l", "a@0", "a@5", "b@6"), []int{1, 1}, []time.Duration{days(1)}, days(1)},
		// a@0 b@1 is attempt 1 (2 steps); a@2 b@3 attempt 2 replaces it at
		// steps 1 and 2; c@4 extends attempt 2: 2 -> 3 -> 4.
		{"latest chain per step", []string{"a", "b", "c"}, tl("l", "a@0", "b@1", "a@2", "b@3", "c@4"), []int{1, 1, 1},
			[]time.Duration{days(1), days(1)}, days(2)},
		// Attempt 1 reaches b at day 1 first; attempt 2 also reaches b (day
		// 10) but is not further: the first to reach 2 steps is kept.
		{"first to reach the furthest step", []string{"a", "b"}, tl("l", "a@0", "b@1", "a@2", "b@10"), []int{1, 1}, []time.Duration{days(1)}, days(1)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := Funnel(FunnelSpec{Steps: steps(c.steps...)}, []Timeline{c.tl})
			require.NoError(t, err)
			assert.Equal(t, c.want, counts(r))
			for i, g := range c.gaps {
				assert.Equal(t, leadkit.Duration(g), r.Steps[i+1].MedianTime, "step %d", i+2)
			}
			assert.Equal(t, leadkit.Duration(c.convert), r.TimeToConvert.Median)
		})
	}
}

func TestFunnelSameTimeInStepOrder(t *testing.T) {
	// PostHog takes same-time events in step order, and Strict ignores
	// other events among them. Each case is run with the same-time events
	// in both arrival orders.
	spec3 := FunnelSpec{Steps: []Step{
		{Name: "a", Types: []string{"a"}},
		{Name: "b", Types: []string{"b", "bc"}},
		{Name: "c", Types: []string{"bc"}},
	}}
	cases := []struct {
		name string
		spec FunnelSpec
		tl   Timeline // the same-time events in one order; reversed below
		want []int
	}{
		{"ordered a and b at once", FunnelSpec{Steps: steps("a", "b")}, tl("l", "b@1", "a@1"), []int{1, 1}},
		{"strict a and b at once", FunnelSpec{Steps: steps("a", "b"), Order: Strict}, tl("l", "b@1", "a@1"), []int{1, 1}},
		// a@0, then x and b at day 1: x does not break the strict run.
		{"strict other event at the same time", FunnelSpec{Steps: steps("a", "b"), Order: Strict}, tl("l", "a@0", "x@1", "b@1"), []int{1, 1}},
		// bc matches steps 2 and 3, b only step 2: b fills step 2 and bc
		// step 3 (bc first would spend bc on step 2 and stop there).
		{"fewer steps first", spec3, tl("l", "a@0", "bc@1", "b@1"), []int{1, 1, 1}},
	}
	for _, c := range cases {
		for _, rev := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/reversed=%t", c.name, rev), func(t *testing.T) {
				l := Timeline{LeadID: c.tl.LeadID, Events: slices.Clone(c.tl.Events)}
				if rev {
					slices.Reverse(l.Events)
					leadkit.SortEvents(l.Events)
				}
				r, err := Funnel(c.spec, []Timeline{l})
				require.NoError(t, err)
				assert.Equal(t, c.want, counts(r))
			})
		}
	}
}

func TestFunnelLinearInEvents(t *testing.T) {
	// 100,000 page views inside the window, every one a step-1 event: one
	// pass takes milliseconds; one pass per attempt (the old engine, 0.78s
	// for 20,000) would take about a minute. The bound leaves a wide
	// margin for slow or -race runs.
	const n = 100_000
	evs := make([]leadkit.Event, n)
	for i := range evs {
		evs[i] = leadkit.Event{ID: fmt.Sprint(i), LeadID: "l", Type: "page_view", Time: t0.Add(time.Duration(i) * time.Second)}
	}
	evs[n-1].Type = "download"
	l := Timeline{LeadID: "l", Events: evs}
	for _, order := range []Order{Ordered, Strict, Unordered} {
		spec := FunnelSpec{Order: order, Steps: []Step{
			{Name: "visit", Types: []string{"page_view"}}, {Name: "download", Types: []string{"download"}}, {Name: "meeting", Types: []string{"meeting"}},
		}}
		start := time.Now()
		r, err := Funnel(spec, []Timeline{l})
		elapsed := time.Since(start)
		require.NoError(t, err)
		assert.Equal(t, []int{1, 1, 0}, counts(r), order)
		assert.Less(t, elapsed, 3*time.Second, "order %s: %v for %d events", order, elapsed, n)
	}
}
