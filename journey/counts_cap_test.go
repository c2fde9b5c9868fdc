package journey

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit/internal/binenctest"
	"github.com/leadkit/leadkit/stage"
)

// pastInt32 is a multiple that takes every count of an accumulator past
// math.MaxInt32: odd, so that scaling merges in every power of two.
const pastInt32 = 1<<32 + 3

// capLead is a lead created on day -40 (an old lead for a period from
// day 0) whose events are the "type@day" pairs of specs, on channel web,
// that reached MQL on day 2.
func capLead(id string, specs ...string) LeadJourney {
	j := LeadJourney{Timeline: tl(id, specs...), Created: day(-40),
		Visits: []stage.Visit{{LeadID: id, Stage: "MQL", At: day(2)}}}
	for i := range j.Events {
		j.Events[i].Channel = "web"
	}
	return j
}

// The accumulators of one lead (or path, or sequence) that counts_cap
// tests and seeds scale: each of their counts is 0 or 1.
func sourceAgeOne(t testing.TB) *SourceAgeAccumulator {
	a, err := NewSourceAgeAccumulator("MQL", SourceAgeOptions{From: day(0)})
	require.NoError(t, err)
	require.NoError(t, a.Add(capLead("l", "web@1")))
	return a
}

func cycleOne(t testing.TB) *CycleAccumulator {
	a, err := NewCycleAccumulator("MQL", CycleOptions{Start: FromCreated})
	require.NoError(t, err)
	require.NoError(t, a.Add(capLead("l")))
	return a
}

func pathOne(t testing.TB, path ...string) *PathAccumulator {
	a, err := NewPathAccumulator(PathOptions{})
	require.NoError(t, err)
	require.NoError(t, a.Add(path))
	return a
}

func patternOne(t testing.TB) *PatternAccumulator {
	a, err := NewPatternAccumulator(PatternOptions{MinSupport: 1})
	require.NoError(t, err)
	require.NoError(t, a.Add([]string{"web", "form"}))
	return a
}

// bigSeeds adds to the seeds of a fuzz target its valid_a state scaled
// past math.MaxInt32 (valid_past_int32) and, when one is not nil, one
// scaled to MaxCount (valid_at_cap, whose merge with itself is refused).
func bigSeeds[A any, P binenctest.Mergeable[A, P]](t testing.TB, seeds map[string][]byte, one P) {
	a := P(new(A))
	require.NoError(t, a.UnmarshalBinary(seeds["valid_a"]))
	seeds["valid_past_int32"] = binenctest.Encode(t, binenctest.Scaled(t, a, pastInt32))
	if one != nil {
		seeds["valid_at_cap"] = binenctest.Encode(t, binenctest.Scaled(t, one, MaxCount))
	}
}

// Accumulators merged over many workers hold counts past math.MaxInt32
// (the decoders used to refuse those, so a merged state failed a Beam
// pipeline in its coder): such states encode and decode to themselves.
func TestAccumulatorCountsPastMaxInt32(t *testing.T) {
	t.Run("funnel", func(t *testing.T) {
		a, err := NewFunnelAccumulator(FunnelSpec{Steps: steps("web", "form")})
		require.NoError(t, err)
		require.NoError(t, a.Add(tl("l", "web@0", "form@1")))
		binenctest.ScaledCounts(t, a, pastInt32, func(a *FunnelAccumulator) []int {
			r := a.Result()
			return append([]int{r.Leads, r.TimeToConvert.N}, counts(r)...)
		})
	})
	t.Run("source age", func(t *testing.T) {
		a, err := NewSourceAgeAccumulator("MQL", SourceAgeOptions{From: day(0)})
		require.NoError(t, err)
		require.NoError(t, a.Add(capLead("l", "web@1", "web@1.5")))
		binenctest.ScaledCounts(t, a, pastInt32, func(a *SourceAgeAccumulator) []int {
			r := a.Result()
			return []int{r.Leads, r.Earlier, r.Buckets[1].Leads, r.EarlierTouches[0].Touches, r.Channels[0].Revived}
		})
	})
	t.Run("cycle times", func(t *testing.T) {
		a, err := NewCycleAccumulator("MQL", CycleOptions{Start: FromCreated})
		require.NoError(t, err)
		require.NoError(t, a.Add(capLead("l")))
		skipped := capLead("s")
		skipped.Created = day(3)
		require.NoError(t, a.Add(skipped))
		binenctest.ScaledCounts(t, a, pastInt32, func(a *CycleAccumulator) []int {
			r := a.Result()
			return []int{r.Overall.N, r.WithoutInstant.N, r.Skipped}
		})
	})
	t.Run("paths", func(t *testing.T) {
		a, err := NewPathAccumulator(PathOptions{})
		require.NoError(t, err)
		require.NoError(t, a.Add([]string{"web", "form", "web", "form"}))
		binenctest.ScaledCounts(t, a, pastInt32, func(a *PathAccumulator) []int {
			r := a.Result()
			most := 0
			for _, tr := range r.Transitions {
				most = max(most, tr.Count)
			}
			return []int{r.Total, r.Paths[0].Count, most}
		})
	})
	t.Run("patterns", func(t *testing.T) {
		a, err := NewPatternAccumulator(PatternOptions{MinSupport: 1})
		require.NoError(t, err)
		require.NoError(t, a.Add([]string{"web", "form"}))
		binenctest.ScaledCounts(t, a, pastInt32, func(a *PatternAccumulator) []int {
			ps, err := a.Result()
			require.NoError(t, err)
			return []int{a.Len(), ps[0].Support}
		})
	})
	t.Run("content phases", func(t *testing.T) {
		a, err := NewContentPhaseAccumulator("MQL", ContentPhaseOptions{Order: []string{"MQL", "SQL"}})
		require.NoError(t, err)
		require.NoError(t, a.Add(capLead("l", "web@-41", "web@1", "web@3")))
		binenctest.ScaledCounts(t, a, pastInt32, func(a *ContentPhaseAccumulator) []int {
			r := a.Result()
			return []int{r.Acquisition.Touches, r.Nurture.Leads, r.Nurture.Converted.Count, r.Sales.Touches, r.Content[0].Acquisition.Touches}
		})
	})
	t.Run("old lead nurture", func(t *testing.T) {
		a, err := NewOldLeadNurtureAccumulator("MQL", OldLeadNurtureOptions{From: day(0), To: day(30), Order: []string{"MQL", "SQL"}})
		require.NoError(t, err)
		require.NoError(t, a.Add(capLead("l", "web@1", "web@1.5")))
		require.NoError(t, a.Add(LeadJourney{Timeline: tl("o", "web@20"), Created: day(-40)}))
		binenctest.ScaledCounts(t, a, pastInt32, func(a *OldLeadNurtureAccumulator) []int {
			r := a.Result()
			return []int{r.OldLeads, r.Converted.Count, r.All.Converted.Touches, r.All.NotConverted.Touched.Count, r.Channels[0].Converted.Touches}
		})
	})
}

// capped is binenctest.Capped at MaxCount with the errors of the
// accumulator name over the count what.
func capped[A any, P binenctest.Mergeable[A, P]](t *testing.T, one P, result func(P) any, name, what string, more func(P) error) P {
	t.Helper()
	over := fmt.Sprintf("more than %d %s (MaxCount)", MaxCount, what)
	return binenctest.Capped(t, one, MaxCount, result, name+": leadkit: invalid input: merged, "+over, name+": leadkit: invalid input: "+over, more)
}

// Add and Merge refuse to take a count of an accumulator past MaxCount
// (every count up to it is exact in float64 and decodes), with an error
// wrapping ErrInvalid that names the accumulator and the cap, and
// nothing changes; up to it they go on.
func TestAccumulatorCountsCapped(t *testing.T) {
	t.Run("funnel", func(t *testing.T) {
		a, err := NewFunnelAccumulator(FunnelSpec{Steps: steps("web", "form")})
		require.NoError(t, err)
		require.NoError(t, a.Add(tl("l", "web@0", "form@1")))
		capped(t, a, func(a *FunnelAccumulator) any { return a.Result() }, "journey: funnel", "leads",
			func(a *FunnelAccumulator) error { return a.Add(tl("m", "web@0")) })
	})
	t.Run("source age", func(t *testing.T) {
		result := func(a *SourceAgeAccumulator) any { return a.Result() }
		at := capped(t, sourceAgeOne(t), result, "journey: source age", "leads",
			func(a *SourceAgeAccumulator) error { return a.Add(capLead("m")) })
		require.NoError(t, at.Add(LeadJourney{Timeline: tl("n", "web@3")}), "a lead that did not reach the stage is not counted")

		// Touches have the cap of their own: two a lead here.
		a, err := NewSourceAgeAccumulator("MQL", SourceAgeOptions{From: day(0)})
		require.NoError(t, err)
		require.NoError(t, a.Add(capLead("l", "web@1", "form@1.5")))
		at = binenctest.Scaled(t, a, MaxCount/2)
		require.NoError(t, at.Add(capLead("m", "web@1")), "up to MaxCount touches")
		over := fmt.Sprintf("more than %d touches (MaxCount)", MaxCount)
		binenctest.Refused(t, at, result, "journey: source age: leadkit: invalid input: "+over, func() error { return at.Add(capLead("n", "web@1")) })
		binenctest.Refused(t, at, result, "journey: source age: leadkit: invalid input: merged, "+over, func() error { return at.Merge(binenctest.Copy(t, a)) })
		require.NoError(t, at.Add(capLead("n")), "a lead without touches")
	})
	t.Run("cycle times", func(t *testing.T) {
		capped(t, cycleOne(t), func(a *CycleAccumulator) any { return a.Result() }, "journey: cycle times", "cycle times",
			func(a *CycleAccumulator) error { return a.Add(capLead("m")) })
	})
	t.Run("paths", func(t *testing.T) {
		result := func(a *PathAccumulator) any { return a.Result() }
		capped(t, pathOne(t, "web"), result, "journey: paths", "paths",
			func(a *PathAccumulator) error { return a.Add([]string{"form"}) })

		// A transition can count more than the paths: twice a path here.
		two := pathOne(t, "web", "form", "web", "form")
		at := binenctest.Scaled(t, two, MaxCount/2)
		require.NoError(t, at.Add([]string{"form", "web"}), "other transitions go on")
		require.NoError(t, at.Add([]string{"web", "form"}), "up to MaxCount")
		over := fmt.Sprintf(`transition "web" -> "form" more than %d times (MaxCount)`, MaxCount)
		binenctest.Refused(t, at, result, "journey: paths: leadkit: invalid input: "+over, func() error { return at.Add([]string{"email", "web", "form"}) })
		binenctest.Refused(t, at, result, "journey: paths: leadkit: invalid input: merged, "+over, func() error { return at.Merge(binenctest.Copy(t, two)) })
	})
	t.Run("patterns", func(t *testing.T) {
		capped(t, patternOne(t), func(a *PatternAccumulator) any { return a.Len() }, "journey: patterns", "sequences",
			func(a *PatternAccumulator) error { return a.Add([]string{"form"}) })
	})
	t.Run("content phases", func(t *testing.T) {
		a, err := NewContentPhaseAccumulator("MQL", ContentPhaseOptions{Order: []string{"MQL", "SQL"}})
		require.NoError(t, err)
		require.NoError(t, a.Add(capLead("l", "web@1")))
		result := func(a *ContentPhaseAccumulator) any { return a.Result() }
		at := capped(t, a, result, "journey: content phases", "touches",
			func(a *ContentPhaseAccumulator) error { return a.Add(capLead("m", "web@1")) })
		require.NoError(t, at.Add(capLead("n", "web@-41")), "other counts go on")
		require.NoError(t, at.Add(capLead("n")), "a lead without touches")
	})
	t.Run("old lead nurture", func(t *testing.T) {
		a, err := NewOldLeadNurtureAccumulator("MQL", OldLeadNurtureOptions{From: day(0), To: day(30), Order: []string{"MQL", "SQL"}})
		require.NoError(t, err)
		require.NoError(t, a.Add(capLead("l", "web@1")))
		result := func(a *OldLeadNurtureAccumulator) any { return a.Result() }
		at := capped(t, a, result, "journey: old lead nurture", "leads or touches",
			func(a *OldLeadNurtureAccumulator) error { return a.Add(capLead("m", "web@1")) })
		require.NoError(t, at.Add(LeadJourney{Timeline: tl("o", "web@20"), Created: day(-40)}), "the other group goes on")
	})
}

// GoldenPaths reads the other sequences' counts as weights: an
// accumulator whose other side holds 2^40 copies of a path (as a
// distributed run can make, at the cap's scale) gives the result of
// that many (it once expanded one entry per count, and ran out of
// memory).
func TestGoldenPathsWeighOtherCounts(t *testing.T) {
	conv, err := NewPatternAccumulator(PatternOptions{MinSupport: 1})
	require.NoError(t, err)
	require.NoError(t, conv.Add([]string{"web", "form"}))
	other := patternOne(t)
	require.NoError(t, other.Add([]string{"email"}))
	if math.MaxInt < 1<<40 {
		t.Skip("counts of 2^40 take 64-bit ints")
	}
	const k uint64 = 1 << 40
	big := binenctest.Scaled(t, other, k)
	got, err := conv.GoldenPaths(big)
	require.NoError(t, err)
	small, err := conv.GoldenPaths(other)
	require.NoError(t, err)
	require.Len(t, got, len(small))
	for i := range got {
		require.Equal(t, small[i].Items, got[i].Items)
		require.Equal(t, uint64(small[i].Other)*k, uint64(got[i].Other), "support among the others, scaled")
	}
	// The ranks and the lift by the formula: base rate 1 / (1 + 2 * 2^40).
	for _, g := range got {
		conf := float64(g.Converted) / float64(g.Converted+g.Other)
		require.InEpsilon(t, conf/(1/(1+2*float64(k))), g.Lift, 1e-9, "%v", g.Items)
	}
}
