package journey

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/stats"
	"github.com/leadkit/leadkit/stage"
)

func TestSummarize(t *testing.T) {
	// 1..10 hours. Mean 5.5h; median (5h+6h)/2; p90: h = 9*0.9 = 8.1 ->
	// s[8] + 0.1*(s[9]-s[8]) = 9h + 6m.
	var ds []time.Duration
	for i := 10; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Hour)
	}
	s := Summarize(ds, 3)
	assert.Equal(t, 10, s.N)
	assert.Equal(t, leadkit.Duration(5*time.Hour+30*time.Minute), s.Mean)
	assert.Equal(t, leadkit.Duration(5*time.Hour+30*time.Minute), s.Median)
	assert.Equal(t, leadkit.Duration(9*time.Hour+6*time.Minute), s.P90)
	assert.Equal(t, leadkit.Duration(time.Hour), s.Min)
	assert.Equal(t, leadkit.Duration(10*time.Hour), s.Max)
	// Range 9h over 3 bins: width 3h: [1h,4h) 1,2,3 / [4h,7h) 4,5,6 / [7h,10h] 7..10.
	assert.Equal(t, []Bin{
		{From: leadkit.Duration(time.Hour), To: leadkit.Duration(4 * time.Hour), Count: 3},
		{From: leadkit.Duration(4 * time.Hour), To: leadkit.Duration(7 * time.Hour), Count: 3},
		{From: leadkit.Duration(7 * time.Hour), To: leadkit.Duration(10 * time.Hour), Count: 4},
	}, s.Histogram)
	assert.Equal(t, time.Duration(10), ds[0]/time.Hour, "input not modified")
	assert.Equal(t, DurationStats{}, Summarize(nil, 0))

	// Auto bins: ceil(cbrt(10)) = 3; identical values: one 1s-wide bin.
	assert.Len(t, Histogram(ds, 0), 3)
	assert.Equal(t, []Bin{{From: 0, To: leadkit.Duration(time.Second), Count: 2}}, Histogram([]time.Duration{0, 0}, 1))
	odd := Summarize([]time.Duration{3, 1, 2}, 1)
	assert.Equal(t, leadkit.Duration(2), odd.Median)
}

func TestTouches(t *testing.T) {
	l := Timeline{LeadID: "l", Events: []leadkit.Event{
		{ID: "3", Type: "email_clicked", Channel: "email", Campaign: "nurture", Content: "guide", Time: day(3)},
		{ID: "1", Type: "page_view", Channel: "paid", Campaign: "q1", Time: day(1)},
		{ID: "x", Type: "page_view"}, // no time: ignored
		{ID: "2", Type: "download", Channel: "web", Content: "guide", Time: day(2)},
		{ID: "2b", Type: "page_view", Channel: "web", Time: day(2)},
	}}
	first, ok := FirstTouch(l)
	require.True(t, ok)
	assert.Equal(t, Touch{EventID: "1", Type: "page_view", Channel: "paid", Campaign: "q1", Time: day(1)}, first)
	last, ok := LastTouch(l, day(2))
	require.True(t, ok)
	assert.Equal(t, "2b", last.EventID, "last listed on a tie")
	last, _ = LastTouch(l, time.Time{})
	assert.Equal(t, "3", last.EventID)
	_, ok = FirstTouch(Timeline{})
	assert.False(t, ok)

	c := CountTouches(l, day(2))
	assert.Equal(t, 3, c.Total)
	assert.Equal(t, map[string]int{"page_view": 2, "download": 1}, c.ByType)
	assert.Equal(t, map[string]int{"paid": 1, "web": 2}, c.ByChannel)
	assert.Equal(t, map[string]int{"q1": 1}, c.ByCampaign)
	assert.Equal(t, map[string]int{"guide": 1}, c.ByContent)
	assert.Equal(t, "1", c.First.EventID)
	assert.Equal(t, "2b", c.Last.EventID)
}

func TestTouchMix(t *testing.T) {
	tls := []Timeline{
		tl("l1", "webinar@0", "download@1", "download@2", "form@3", "meeting@9"),
		tl("l2", "download@0", "form@1"),
		tl("l3", "webinar@0"), // never an MQL
	}
	entries := []stage.Visit{
		{LeadID: "l1", Stage: "MQL", At: day(3)}, // form@3 counts (same time)
		{LeadID: "l2", Stage: "MQL", At: day(5)},
		{LeadID: "l2", Stage: "MQL", At: day(0.5)}, // first entry: only download@0 before
		{LeadID: "l4", Stage: "MQL", At: day(1)},   // no timeline
		{LeadID: "l3", Stage: "SQL", At: day(1)},
	}
	r, err := TouchMix(tls, entries, "MQL")
	require.NoError(t, err)
	assert.Equal(t, 3, r.Leads)
	// By hand: download: l1 (2 touches), l2 (1) -> 2 leads, 3 touches;
	// webinar: l1; form: l1.
	assert.Equal(t, []TypeShare{
		{Type: "download", Leads: 2, Share: 2.0 / 3, Touches: 3, PerLead: 1},
		{Type: "form", Leads: 1, Share: 1.0 / 3, Touches: 1, PerLead: 1.0 / 3},
		{Type: "webinar", Leads: 1, Share: 1.0 / 3, Touches: 1, PerLead: 1.0 / 3},
	}, r.Types)
	_, err = TouchMix(tls, entries, "")
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
}

func TestCycleTimes(t *testing.T) {
	tls := []Timeline{
		tl("l1", "web@0", "form@10"),
		tl("l2", "web@2", "form@6"),
		tl("l3", "web@40"),
		tl("l4", "web@31"),
		tl("l5", "web@9"),
	}
	entries := []stage.Visit{
		{LeadID: "l1", Stage: "MQL", At: day(10)}, // 10d from first touch, Jan cohort
		{LeadID: "l2", Stage: "MQL", At: day(6)},  // 4d
		{LeadID: "l3", Stage: "MQL", At: day(50)}, // 10d, Feb cohort (day 40 = Feb 14)
		{LeadID: "l4", Stage: "MQL", At: day(33)}, // 2d, Feb cohort (day 31 = Feb 5)
		{LeadID: "l5", Stage: "MQL", At: day(1)},  // first touch after entry: skipped
		{LeadID: "l6", Stage: "MQL", At: day(1)},  // no timeline: skipped
	}
	r, err := CycleTimes(tls, entries, "MQL", CycleOptions{Cohort: leadkit.PeriodMonth})
	require.NoError(t, err)
	assert.Equal(t, FromFirstTouch, r.Start)
	assert.Equal(t, 2, r.Skipped)
	// Sample 2,4,10,10 days: mean 6.5d, median 7d, p90 h=2.7 -> 10d.
	assert.Equal(t, 4, r.Overall.N)
	assert.Equal(t, ldays(6.5), r.Overall.Mean)
	assert.Equal(t, ldays(7), r.Overall.Median)
	assert.Equal(t, ldays(10), r.Overall.P90)
	require.Len(t, r.Cohorts, 2)
	assert.Equal(t, "2026-01", r.Cohorts[0].Cohort)
	assert.Equal(t, ldays(7), r.Cohorts[0].Stats.Mean) // 10d and 4d
	assert.Equal(t, "2026-02", r.Cohorts[1].Cohort)
	assert.Equal(t, ldays(6), r.Cohorts[1].Stats.Median) // 10d and 2d

	created := map[string]time.Time{"l1": day(-5), "l2": day(1), "l6": day(0)}
	r, err = CycleTimes(tls, entries, "MQL", CycleOptions{Start: FromCreated, Created: created})
	require.NoError(t, err)
	// l1 15d, l2 5d, l6 1d; l3, l4, l5 have no creation time.
	assert.Equal(t, 3, r.Overall.N)
	assert.Equal(t, ldays(5), r.Overall.Median)
	assert.Equal(t, 3, r.Skipped)

	_, err = CycleTimes(tls, entries, "", CycleOptions{Start: "nope", Cohort: "decade"})
	require.Error(t, err)
	for _, w := range []string{"empty stage", `unknown start "nope"`, `unknown cohort period "decade"`} {
		assert.ErrorContains(t, err, w)
	}
	_, err = CycleTimes(tls, entries, "MQL", CycleOptions{Start: FromCreated})
	assert.ErrorContains(t, err, "needs creation times")
}

func TestSourceAge(t *testing.T) {
	march := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	april := march.AddDate(0, 1, 0)
	d := func(n int) time.Time { return march.AddDate(0, 0, n) }
	tls := []Timeline{
		tl("new1"), tl("old1"),
	}
	tls[0].Events = []leadkit.Event{{ID: "a", Type: "form", Time: d(2)}}
	tls[1].Events = []leadkit.Event{{ID: "b", Type: "webinar", Time: d(-100)}, {ID: "c", Type: "email", Time: d(10)}, {ID: "z", Type: "call", Time: d(20)}}
	entries := []stage.Visit{
		{LeadID: "new1", Stage: "MQL", At: d(3)},     // created d1: new, age 2d
		{LeadID: "old1", Stage: "MQL", At: d(10)},    // created d-200: earlier, age 210d
		{LeadID: "old2", Stage: "MQL", At: d(5)},     // created d-40: earlier, age 45d
		{LeadID: "old2", Stage: "MQL", At: d(-3)},    // before the period: ignored
		{LeadID: "feb", Stage: "MQL", At: d(-1)},     // reached in February: not counted
		{LeadID: "nocreate", Stage: "MQL", At: d(7)}, // unknown creation
		{LeadID: "edge", Stage: "MQL", At: d(30)},    // created exactly 30d earlier: bucket [30d,90d)
	}
	created := map[string]time.Time{"new1": d(1), "old1": d(-200), "old2": d(-40), "feb": d(-50), "edge": d(0)}
	r, err := SourceAge(tls, entries, created, "MQL", SourceAgeOptions{From: march, To: april})
	require.NoError(t, err)
	assert.Equal(t, 5, r.Leads)
	assert.Equal(t, 2, r.New) // new1, edge
	assert.Equal(t, 2, r.Earlier)
	assert.Equal(t, 1, r.Unknown)
	assert.InDelta(t, 0.5, r.EarlierShare, 1e-12)
	got := []int{}
	for _, b := range r.Buckets {
		got = append(got, b.Leads)
	}
	// <30d: new1; 30-90d: old2, edge; 90-180d: none; 180-365d: old1; >365d: none.
	assert.Equal(t, []int{1, 2, 0, 1, 0}, got)
	assert.Equal(t, leadkit.Duration(days(365)), r.Buckets[4].From)
	assert.Zero(t, r.Buckets[4].To)
	// old1 had a webinar and an email at or before d10 (not the call at d20).
	assert.Equal(t, []TypeShare{
		{Type: "email", Leads: 1, Share: 0.5, Touches: 1, PerLead: 0.5},
		{Type: "webinar", Leads: 1, Share: 0.5, Touches: 1, PerLead: 0.5},
	}, r.EarlierTouches)
	assert.Equal(t, "webinar", r.Buckets[3].Touches[1].Type)
	assert.Equal(t, []TypeShare{{Type: "form", Leads: 1, Share: 0.5, Touches: 1, PerLead: 0.5}}, r.NewTouches)

	_, err = SourceAge(tls, entries, created, "MQL", SourceAgeOptions{To: march, Buckets: []time.Duration{time.Hour, time.Hour}})
	require.Error(t, err)
	assert.ErrorContains(t, err, "needs a start")
	assert.ErrorContains(t, err, "bucket 2")
}

func TestNurturePower(t *testing.T) {
	ev := func(id, lead, typ, content string, d float64) leadkit.Event {
		return leadkit.Event{ID: id, LeadID: lead, Type: typ, Content: content, Campaign: "c-" + content, Time: day(d)}
	}
	tls := []Timeline{
		{LeadID: "l1", Events: []leadkit.Event{ev("1", "l1", "email_opened", "guide", 1), ev("2", "l1", "email_opened", "guide", 2), ev("3", "l1", "email_opened", "case", 3)}},
		{LeadID: "l2", Events: []leadkit.Event{ev("4", "l2", "email_opened", "guide", 1), ev("5", "l2", "page_view", "case", 2)}},
		{LeadID: "l3", Events: []leadkit.Event{ev("6", "l3", "email_opened", "case", 1), ev("7", "l3", "email_opened", "old", -10)}},
	}
	entries := []stage.Visit{
		{LeadID: "l1", Stage: "MQL", At: day(2.5)}, // after guide, before case
		{LeadID: "l2", Stage: "MQL", At: day(0.5)}, // before every touch
		{LeadID: "l3", Stage: "SQL", At: day(9)},
	}
	got, err := NurturePower(tls, entries, "MQL", NurtureOptions{Types: []string{"email_opened"}, From: day(0), To: day(30)})
	require.NoError(t, err)
	// guide: sent 3 (l1 x2, l2), leads 2, converted 1 (l1) -> power 1/3.
	// case: sent 2 emails (l1, l3; l2's page view is not a send), converted 0.
	// old: before the period.
	assert.Equal(t, []ContentPower{
		{Key: "guide", Sent: 3, Leads: 2, Converted: 1, Power: 1.0 / 3, Rate: 0.5},
		{Key: "case", Sent: 2, Leads: 2, Converted: 0, Power: 0, Rate: 0},
	}, got)
	got, err = NurturePower(tls, entries, "MQL", NurtureOptions{By: KeyCampaign, From: day(0)})
	require.NoError(t, err)
	assert.Equal(t, "c-guide", got[0].Key)
	assert.Equal(t, 3, got[1].Sent, "page views count when Types is empty")
	_, err = NurturePower(tls, entries, "MQL", NurtureOptions{By: "colour"})
	assert.ErrorContains(t, err, `unknown key "colour"`)
}

func TestNurturePowerFirstEntryOnly(t *testing.T) {
	// The lead became an MQL on day 0, then got the guide on day 10, was
	// recycled and became an MQL again a year later: the guide did not
	// make it an MQL.
	tls := []Timeline{
		{LeadID: "late", Events: []leadkit.Event{{ID: "1", LeadID: "late", Type: "email_opened", Content: "guide", Time: day(10)}}},
		{LeadID: "fresh", Events: []leadkit.Event{{ID: "2", LeadID: "fresh", Type: "email_opened", Content: "guide", Time: day(10)}}},
	}
	entries := []stage.Visit{
		{LeadID: "late", Stage: "MQL", At: day(0)},
		{LeadID: "late", Stage: "Recycled", At: day(20)},
		{LeadID: "late", Stage: "MQL", At: day(375)},
		{LeadID: "fresh", Stage: "MQL", At: day(40)}, // 30 days after the guide
	}
	got, err := NurturePower(tls, entries, "MQL", NurtureOptions{})
	require.NoError(t, err)
	// Sent 2 (one per lead), 2 leads, only "fresh" converted after it.
	assert.Equal(t, []ContentPower{{Key: "guide", Sent: 2, Leads: 2, Converted: 1, Power: 0.5, Rate: 0.5}}, got)

	// A window: 30 days is inside a 30-day window (inclusive), not a
	// 29-day one.
	got, err = NurturePower(tls, entries, "MQL", NurtureOptions{Window: days(30)})
	require.NoError(t, err)
	assert.Equal(t, 1, got[0].Converted)
	got, err = NurturePower(tls, entries, "MQL", NurtureOptions{Window: days(29)})
	require.NoError(t, err)
	assert.Equal(t, 0, got[0].Converted)
	_, err = NurturePower(tls, entries, "MQL", NurtureOptions{Window: -1})
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
}

func TestReachOneMeaningOfReached(t *testing.T) {
	order := []string{"Raw", "MQL", "SAL", "SQL"}
	// skip: Raw d0 -> SQL d5 (skipped MQL and SAL); direct: Raw d0 -> MQL d2.
	tls := []Timeline{tl("skip", "web@0", "webinar@4", "call@9"), tl("direct", "web@0", "form@2")}
	entries := []stage.Visit{
		{LeadID: "skip", Stage: "Raw", At: day(0)}, {LeadID: "skip", Stage: "SQL", At: day(5)},
		{LeadID: "direct", Stage: "Raw", At: day(0)}, {LeadID: "direct", Stage: "MQL", At: day(2)},
		{LeadID: "direct", Stage: "Recycled", At: day(3)}, // outside the order: kept as is
	}
	reached, err := stage.Reach(entries, order)
	require.NoError(t, err)
	// By hand: skip's SQL entry implies MQL and SAL at day 5, the stages it
	// skipped; not Raw, which it entered at day 0. direct's MQL entry
	// implies nothing: it entered Raw itself. (An implied entry for every
	// earlier stage made an October MQL a November one again.)
	assert.Equal(t, entries, reached[:len(entries)], "the given entries keep their index")
	assert.ElementsMatch(t, []stage.Visit{
		{LeadID: "skip", Stage: "MQL", At: day(5), Implied: true},
		{LeadID: "skip", Stage: "SAL", At: day(5), Implied: true},
	}, reached[len(entries):])

	// Direct entries only: the lead that skipped MQL is not an MQL.
	mix, err := TouchMix(tls, entries, "MQL")
	require.NoError(t, err)
	assert.Equal(t, 1, mix.Leads)
	// With stage.Reach it is, at day 5: its web and webinar touches count.
	mix, err = TouchMix(tls, reached, "MQL")
	require.NoError(t, err)
	assert.Equal(t, 2, mix.Leads)
	assert.Equal(t, []TypeShare{
		{Type: "web", Leads: 2, Share: 1, Touches: 2, PerLead: 1},
		{Type: "form", Leads: 1, Share: 0.5, Touches: 1, PerLead: 0.5},
		{Type: "webinar", Leads: 1, Share: 0.5, Touches: 1, PerLead: 0.5},
	}, mix.Types)
	cyc, err := CycleTimes(tls, reached, "MQL", CycleOptions{})
	require.NoError(t, err)
	assert.Equal(t, 2, cyc.Overall.N)
	assert.Equal(t, ldays(3.5), cyc.Overall.Mean) // 2d and 5d
	conv, other, err := ConversionPaths(tls, reached, "MQL", KeyType)
	require.NoError(t, err)
	assert.Equal(t, [][]string{{"web", "form"}, {"web", "webinar"}}, conv) // direct, skip
	assert.Empty(t, other)
	// The stage funnel with the same order agrees: MQL reached by 2.
	sf, err := stage.Funnel(stage.FunnelSpec{Stages: order}, entries)
	require.NoError(t, err)
	assert.Equal(t, stage.FunnelStage{Stage: "MQL", Entered: 1, Reached: 2, Skipped: 1}, sf.Stages[1])

	_, err = stage.Reach(entries, []string{"Raw", "Raw", ""})
	require.Error(t, err)
	assert.ErrorContains(t, err, `stage "Raw" listed twice`)
	assert.ErrorContains(t, err, "stage 3: empty name")
}

func TestReachAgreeWithStageFunnelTimes(t *testing.T) {
	// CycleTimes over stage.Reach, measured from each lead's reach time
	// of the first stage (computed here as its earliest entry into any
	// stage of the order), must give the stage funnel's conversion times
	// from the first stage to the nanosecond: same sample, same mean and
	// median rules.
	order := []string{"Raw", "MQL", "SAL", "SQL"}
	rng := rand.New(rand.NewPCG(4, 2))
	var entries []stage.Visit
	start := map[string]time.Time{}
	for l := range 400 {
		lead := fmt.Sprintf("l%03d", l)
		for range 1 + rng.IntN(4) {
			st := append(order, "Recycled")[rng.IntN(5)]
			at := t0.Add(time.Duration(rng.Int64N(int64(90 * 24 * time.Hour))))
			entries = append(entries, stage.Visit{LeadID: lead, Stage: st, At: at})
			if st != "Recycled" && (start[lead].IsZero() || at.Before(start[lead])) {
				start[lead] = at
			}
		}
	}
	reached, err := stage.Reach(entries, order)
	require.NoError(t, err)
	sf, err := stage.Funnel(stage.FunnelSpec{Stages: order}, entries)
	require.NoError(t, err)
	for _, target := range order[1:] {
		cyc, err := CycleTimes(nil, reached, target, CycleOptions{Start: FromCreated, Created: start})
		require.NoError(t, err)
		var c stage.Conversion
		for _, x := range sf.Conversions {
			if x.From == "Raw" && x.To == target {
				c = x
			}
		}
		require.Greater(t, c.Converted, 100)
		assert.Equal(t, c.Converted, cyc.Overall.N, target)
		assert.Equal(t, c.Mean, cyc.Overall.Mean, target)
		assert.Equal(t, c.Median, cyc.Overall.Median, target)
	}
}

func TestSummarizeRoundsLikeStageFunnel(t *testing.T) {
	// {1ns, 2ns}: the mean 1.5ns and the median (1+2)/2 truncate to 1ns in
	// stats.MeanMedian; Summarize must say the same.
	s := Summarize([]time.Duration{2, 1}, 1)
	assert.Equal(t, leadkit.Duration(1), s.Mean)
	assert.Equal(t, leadkit.Duration(1), s.Median)
	rng := rand.New(rand.NewPCG(3, 3))
	for range 200 {
		ds := make([]time.Duration, 1+rng.IntN(9))
		for i := range ds {
			ds[i] = time.Duration(rng.Int64N(1e6))
		}
		mean, median := stats.MeanMedian(ds)
		got := Summarize(ds, 1)
		require.Equal(t, leadkit.Duration(mean), got.Mean, "%v", ds)
		require.Equal(t, leadkit.Duration(median), got.Median, "%v", ds)
	}
}

// The user's report: fed with stage.Reach, SourceAge counted 608
// "November MQLs" where 410 leads entered MQL in November, because a lead
// that entered MQL in October and SAL in November was counted as a
// November MQL through an implied entry. An implied entry stands only for
// a stage the lead skipped.
func TestNovemberMQLs(t *testing.T) {
	at := func(m time.Month, d int) time.Time { return time.Date(2026, m, d, 10, 0, 0, 0, time.UTC) }
	order := []string{"Raw", "MQL", "SAL", "SQL"}
	entries := []stage.Visit{
		// A: MQL Oct 5, SAL Nov 3: an October MQL, not a November one.
		{LeadID: "A", Stage: "Raw", At: at(9, 20)}, {LeadID: "A", Stage: "MQL", At: at(10, 5)}, {LeadID: "A", Stage: "SAL", At: at(11, 3)},
		// B: Raw Oct 1, SAL Nov 3, skipping MQL: a November MQL, first time.
		{LeadID: "B", Stage: "Raw", At: at(10, 1)}, {LeadID: "B", Stage: "SAL", At: at(11, 3)},
		// C: MQL in August, recycled in September, MQL again Nov 10: a
		// November MQL, a repeat one.
		{LeadID: "C", Stage: "MQL", At: at(8, 12)}, {LeadID: "C", Stage: "MRL", At: at(9, 2)}, {LeadID: "C", Stage: "MQL", At: at(11, 10)},
		// D: MQL Oct 5, then SQL Nov 20 (skipping SAL): not a November MQL.
		{LeadID: "D", Stage: "MQL", At: at(10, 5)}, {LeadID: "D", Stage: "SQL", At: at(11, 20)},
		// E: entered MQL itself in November: a November MQL.
		{LeadID: "E", Stage: "Raw", At: at(11, 1)}, {LeadID: "E", Stage: "MQL", At: at(11, 2)},
		// F: MQL in August, recycled, then straight to SAL on Nov 12: it
		// skipped MQL on its way back, a repeat November MQL like C.
		{LeadID: "F", Stage: "MQL", At: at(8, 12)}, {LeadID: "F", Stage: "MRL", At: at(9, 2)}, {LeadID: "F", Stage: "SAL", At: at(11, 12)},
	}
	reached, err := stage.Reach(entries, order)
	require.NoError(t, err)
	created := map[string]time.Time{"A": at(9, 20), "B": at(10, 1), "C": at(8, 1), "D": at(10, 5), "E": at(11, 1), "F": at(8, 1)}
	r, err := SourceAge(nil, reached, created, "MQL", SourceAgeOptions{From: at(11, 1).Truncate(24 * time.Hour), To: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)})
	require.NoError(t, err)
	assert.Equal(t, 4, r.Leads, "B, C, E and F")
	assert.Equal(t, 2, r.FirstTime, "B and E")
	assert.Equal(t, 2, r.Repeat, "C and F")
	assert.Equal(t, 1, r.New, "E was created in November")
	assert.Equal(t, 3, r.Earlier)

	// Every analysis reading the same entries agrees on who reached MQL in
	// November: the touch mix and the cycle times count the same leads.
	novEntries := []stage.Visit{}
	for _, e := range reached {
		if !e.At.Before(at(11, 1).Truncate(24*time.Hour)) && e.Stage == "MQL" {
			novEntries = append(novEntries, e)
		}
	}
	mix, err := TouchMix(nil, novEntries, "MQL")
	require.NoError(t, err)
	assert.Equal(t, 4, mix.Leads)
}

// TestNurturePowerOneTimelinePerLead: a lead is one lead. Of two
// timelines of one lead the last is used, as Journeys and the other
// calculators use it (NurturePower used to count both: the lead twice in
// Leads and in Converted); an event of another lead is a bad entry,
// left out and named (it used to count as a send to this lead).
func TestNurturePowerOneTimelinePerLead(t *testing.T) {
	ev := func(id, lead string, d float64) leadkit.Event {
		return leadkit.Event{ID: id, LeadID: lead, Type: "email_opened", Content: "guide", Time: day(d)}
	}
	tls := []Timeline{
		{LeadID: "a", Events: []leadkit.Event{ev("1", "a", 1)}},
		{LeadID: "a", Events: []leadkit.Event{ev("1", "a", 1), ev("2", "a", 2)}},
		{LeadID: "b", Events: []leadkit.Event{ev("3", "b", 1), ev("4", "x", 1)}},
	}
	entries := []stage.Visit{{LeadID: "a", Stage: "MQL", At: day(3)}}
	got, err := NurturePower(tls, entries, "MQL", NurtureOptions{})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.ErrorContains(t, err, `journey: timeline 2 (lead "b"): event 1: leadkit: invalid input: event "4" is of lead "x"`)
	assert.Equal(t, []ContentPower{{Key: "guide", Sent: 3, Leads: 2, Converted: 1, Power: 1.0 / 3, Rate: 0.5}}, got)
}
