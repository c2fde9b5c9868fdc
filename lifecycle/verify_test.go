package lifecycle_test

import (
	"fmt"
	"strings"

	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/attribution"
	"github.com/leadkit/leadkit/journey"
	"github.com/leadkit/leadkit/lifecycle"
	"github.com/leadkit/leadkit/pool"
	"github.com/leadkit/leadkit/stage"
)

// marchPeriod is March 2026, the period most verification tests read.
var marchPeriod = lifecycle.Period{From: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)}

func chEv(id, lead, typ, channel, campaign, content string, at time.Time) leadkit.Event {
	return leadkit.Event{ID: id, LeadID: lead, Type: typ, Channel: channel, Campaign: campaign, Content: content, Time: at}
}

// A small business with answers worked out by hand: in March, "old" (a
// lead since January) and "new" (a lead since March) become MQLs; "cold"
// graduates but does not; "done" was an MQL in February.
func verifyFixture(t testing.TB) (*parts, *lifecycle.Engine) {
	p := newParts(t)
	e := p.engine(t, lifecycle.Options{})
	jan := time.Date(2026, 1, 10, 9, 0, 0, 0, time.UTC)
	feb := time.Date(2026, 2, 10, 9, 0, 0, 0, time.UTC)
	mar := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	_, err := e.Ingest(ctx,
		// old: two page views in January (graduates, 10 points), then in
		// March a webinar and two downloads: MQL at the second download.
		chEv("o1", "old", "page_view", "web", "", "/home", jan),
		chEv("o2", "old", "page_view", "web", "", "/pricing", jan.Add(hours(1))),
		chEv("o3", "old", "webinar_attended", "webinar", "spring", "", mar),
		chEv("o4", "old", "download", "content", "spring", "guide", mar.Add(hours(1))),
		chEv("o5", "old", "download", "content", "spring", "guide", mar.Add(hours(2))),
		// new: all in March (graduates at the webinar); MQL at the paid
		// webinar.
		chEv("n1", "new", "page_view", "paid", "search", "/pricing", mar.Add(hours(3))),
		chEv("n2", "new", "webinar_attended", "webinar", "spring", "", mar.Add(hours(4))),
		chEv("n3", "new", "download", "content", "spring", "guide", mar.Add(hours(5))),
		chEv("n4", "new", "webinar_attended", "paid", "search", "", mar.Add(hours(6))),
		// cold: two page views in March, no MQL.
		chEv("c1", "cold", "page_view", "paid", "search", "/home", mar.Add(hours(7))),
		chEv("c2", "cold", "page_view", "web", "", "/home", mar.Add(hours(8))),
		// done: an MQL in February.
		chEv("d1", "done", "webinar_attended", "webinar", "winter", "", feb),
		chEv("d2", "done", "download", "content", "winter", "guide", feb.Add(hours(1))),
		chEv("d3", "done", "download", "content", "winter", "guide", feb.Add(hours(2))),
		chEv("d4", "done", "page_view", "web", "", "/pricing", feb.Add(hours(3))),
		// anon: one page view, a prospect only.
		chEv("a1", "anon", "page_view", "paid", "search", "/home", mar.Add(hours(9))),
	)
	require.NoError(t, err)
	for id, want := range map[string]string{"old": "MQL", "new": "MQL", "cold": "Raw", "done": "MQL"} {
		rec, err := p.machine.Get(ctx, stage.Lead(id))
		require.NoError(t, err)
		require.Equal(t, want, rec.Stage, id)
	}
	return p, e
}

func TestVerifyByHand(t *testing.T) {
	p, _ := verifyFixture(t)
	e := p.engine(t, lifecycle.Options{Verify: lifecycle.VerifyOptions{Stages: []string{"MQL"}, Functions: map[string]string{"webinar": "events", "content": "content", "paid": "paid", "web": "organic"}}})
	march := lifecycle.Period{From: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC),
		Costs: map[string]float64{"webinar": 1000, "content": 400, "paid": 600}}
	v, err := e.Verify(ctx, march)
	require.NoError(t, err)
	assert.Equal(t, 4, v.Leads)
	assert.Equal(t, 5, v.Timelines, "the prospect's timeline counts too")
	require.Len(t, v.Stages, 1)
	mql := v.Stages[0]
	assert.Equal(t, "MQL", mql.Stage)
	// Two MQLs in March: one new, one from a January lead; both first-time.
	assert.Equal(t, 2, mql.Age.Leads)
	assert.Equal(t, 1, mql.Age.New)
	assert.Equal(t, 1, mql.Age.Earlier)
	assert.Equal(t, 2, mql.Age.FirstTime)
	assert.InDelta(t, 0.5, mql.Age.EarlierShare, 1e-12)
	// Cycle from creation: old was created at its second touch (January
	// 10, 10:00), new at its second (March 10, 13:00).
	assert.Equal(t, 2, mql.Cycle.Overall.N)
	assert.Equal(t, leadkit.Duration(2*time.Hour), mql.Cycle.Overall.Min, "new: created at 13:00, MQL at 15:00")
	assert.Equal(t, leadkit.Duration(59*24*time.Hour+time.Hour), mql.Cycle.Overall.Max, "old: January 10 10:00 to March 10 11:00")

	// Last touch: old's last touch before its MQL is the content download
	// at the MQL's time, new's is the paid webinar: content 1, paid 1.
	lt, ok := mql.Credit(attribution.ByChannel, "last_touch")
	require.True(t, ok)
	assert.Equal(t, map[string]float64{"content": 1, "paid": 1}, nonZero(lt.Conversions))
	mk, ok := mql.Credit(attribution.ByChannel, "markov")
	require.True(t, ok)
	assert.InDelta(t, 2, mk.TotalConversions(), 1e-9, "Markov conserves the period's two MQLs")
	camp, ok := mql.Credit(attribution.ByCampaign, "last_touch")
	require.True(t, ok)
	assert.Equal(t, map[string]float64{"spring": 1, "search": 1}, nonZero(camp.Conversions))

	// Nurture: the guide was downloaded 3 times by 2 leads in March, and
	// both became MQLs at or after a download.
	var guide *struct{ sent, leads, converted int }
	for _, c := range mql.Nurture {
		if c.Key == "guide" {
			guide = &struct{ sent, leads, converted int }{c.Sent, c.Leads, c.Converted}
		}
	}
	require.NotNil(t, guide)
	assert.Equal(t, struct{ sent, leads, converted int }{3, 2, 2}, *guide)

	// ROI by channel: cost per MQL (last touch) of content 400/1, paid
	// 600/1; webinar has cost and no last-touch MQL.
	row := func(r attribution.ROIReport, key string) attribution.ROIRow {
		for _, x := range r.Rows {
			if x.Key == key {
				return x
			}
		}
		t.Fatalf("no row %q", key)
		return attribution.ROIRow{}
	}
	require.Equal(t, []string{"MQL/last_touch", "MQL/markov"}, v.ROI.Stages)
	c := row(v.ROI, "content")
	assert.Equal(t, 400.0, c.Cost)
	require.NotNil(t, c.Stages[0].CostPer)
	assert.Equal(t, 400.0, *c.Stages[0].CostPer)
	w := row(v.ROI, "webinar")
	assert.Nil(t, w.Stages[0].CostPer, "no MQL by last touch: no cost per MQL")
	require.NotNil(t, v.ROIByFunction)
	assert.Equal(t, 1000.0, row(*v.ROIByFunction, "events").Cost)

	// The stage funnel of the leads that entered Raw in March: new and
	// cold; one of the two reached MQL.
	conv, ok := v.Funnel.Conversion("Raw", "MQL")
	require.True(t, ok)
	assert.Equal(t, 2, conv.Base)
	assert.Equal(t, 1, conv.Converted)

	// The result is data: it round-trips through JSON.
	b, err := json.Marshal(v)
	require.NoError(t, err)
	var back lifecycle.Verification
	require.NoError(t, json.Unmarshal(b, &back))
	b2, err := json.Marshal(back)
	require.NoError(t, err)
	assert.JSONEq(t, string(b), string(b2))
}

func nonZero(m map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for k, v := range m {
		if v != 0 {
			out[k] = v
		}
	}
	return out
}

func TestVerifyRefusesBadInput(t *testing.T) {
	p, e := verifyFixture(t)
	from := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for name, c := range map[string]struct {
		p    lifecycle.Period
		want string
	}{
		"empty period":  {lifecycle.Period{From: from, To: from}, "want From before To"},
		"no period":     {lifecycle.Period{}, "want From before To"},
		"negative cost": {lifecycle.Period{From: from, To: from.AddDate(0, 1, 0), Costs: map[string]float64{"paid": -1}}, `cost of "paid"`},
		"NaN cost":      {lifecycle.Period{From: from, To: from.AddDate(0, 1, 0), Costs: map[string]float64{"paid": math.NaN()}}, `cost of "paid"`},
	} {
		_, err := e.Verify(ctx, c.p)
		require.ErrorIs(t, err, leadkit.ErrInvalid, name)
		assert.Contains(t, err.Error(), c.want, name)
	}
	for name, c := range map[string]struct {
		o    lifecycle.VerifyOptions
		want string
	}{
		"unknown stage":  {lifecycle.VerifyOptions{Stages: []string{"MLQ"}}, `stage "MLQ" is not a stage of "classic" (did you mean "MQL"?)`},
		"bad key":        {lifecycle.VerifyOptions{Keys: []attribution.TouchKey{"chanel"}}, `key "chanel"`},
		"bad value spec": {lifecycle.VerifyOptions{Values: map[string]lifecycle.Value{"Won": {}}}, `values of "Won"`},
		"markov order":   {lifecycle.VerifyOptions{MarkovOrder: 99}, "markov order 99"},
		"bucket":         {lifecycle.VerifyOptions{Buckets: []time.Duration{-time.Hour}}, "age bucket -1h"},
	} {
		_, err := lifecycle.New(p.pool, p.model, p.machine, p.events, lifecycle.Options{Facts: map[string]string{"score": "total", "grade": "fit_band"}, Verify: c.o})
		require.ErrorIs(t, err, leadkit.ErrInvalid, name)
		assert.Contains(t, err.Error(), c.want, name)
	}
	o, err := lifecycle.ParseVerifyOptions([]byte("stages: [MQL]\nlookback: 90d\nkeys: [channel]\n"))
	require.NoError(t, err)
	assert.Equal(t, 90*24*time.Hour, o.Lookback)
	_, err = lifecycle.ParseVerifyOptions([]byte("lookback: 90\n"))
	require.ErrorIs(t, err, leadkit.ErrInvalid)
}

func TestVerifyValuesAndROI(t *testing.T) {
	p, e := verifyFixture(t)
	at := time.Date(2026, 3, 20, 9, 0, 0, 0, time.UTC)
	for i, tr := range []string{"accept", "qualify_sql", "create_opportunity", "win"} {
		_, err := p.machine.Fire(ctx, stage.Lead("new"), tr, stage.Request{Actor: "ana", At: at.Add(time.Duration(i) * time.Minute)})
		require.NoError(t, err)
	}
	deal := leadkit.Event{ID: "deal-1", LeadID: "new", Type: "deal_won", Time: at.Add(3 * time.Minute), Attrs: map[string]any{"amount": 5000}}
	_, err := e.Ingest(ctx, deal)
	require.NoError(t, err)
	march := lifecycle.Period{From: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC),
		Costs: map[string]float64{"paid": 600}}
	e = p.engine(t, lifecycle.Options{Verify: lifecycle.VerifyOptions{Stages: []string{"Won"}, Keys: []attribution.TouchKey{attribution.ByChannel},
		Values: map[string]lifecycle.Value{"Won": {Types: []string{"deal_won"}, Attr: "amount"}}}})
	v, err := e.Verify(ctx, march)
	require.NoError(t, err)
	won, ok := v.Stages[0].Credit(attribution.ByChannel, "last_touch")
	require.True(t, ok)
	assert.Equal(t, map[string]float64{"paid": 1}, nonZero(won.Conversions), "the deal's last touch was the paid webinar")
	assert.Equal(t, map[string]float64{"paid": 5000}, nonZero(won.Value))
	for _, r := range v.ROI.Rows {
		if r.Key == "paid" {
			require.NotNil(t, r.Stages[0].ROAS)
			assert.InDelta(t, 5000.0/600, *r.Stages[0].ROAS, 1e-12)
		}
	}
}

// A recycled lead's repeat MQL in the period is a conversion, credited to
// the touches since its previous entry, and counted alike in the age
// split, the cycle times and the credit.
func TestVerifyRepeatEntries(t *testing.T) {
	p, e := verifyFixture(t)
	// "done" (an MQL in February) is recycled, then re-qualifies in March
	// on new engagement (the default policy resets the old points).
	_, err := p.machine.Fire(ctx, stage.Lead("done"), "recycle", stage.Request{Actor: "sdr", Reason: "not_ready", At: time.Date(2026, 2, 20, 0, 0, 0, 0, time.UTC)})
	require.NoError(t, err)
	mar := time.Date(2026, 3, 15, 9, 0, 0, 0, time.UTC)
	_, err = e.Ingest(ctx,
		chEv("d5", "done", "webinar_attended", "paid", "search", "", mar),
		chEv("d6", "done", "download", "social", "spring", "guide", mar.Add(time.Hour)),
		chEv("d7", "done", "download", "social", "spring", "guide", mar.Add(2*time.Hour)),
		chEv("d8", "done", "page_view", "social", "spring", "/pricing", mar.Add(3*time.Hour)),
	)
	require.NoError(t, err)
	rec, err := p.machine.Get(ctx, stage.Lead("done"))
	require.NoError(t, err)
	require.Equal(t, "MQL", rec.Stage, "back in MQL in March")
	e = p.engine(t, lifecycle.Options{Verify: lifecycle.VerifyOptions{Stages: []string{"MQL"}}})
	v, err := e.Verify(ctx, marchPeriod)
	require.NoError(t, err)
	mql := v.Stages[0]
	assert.Equal(t, 3, mql.Age.Leads)
	assert.Equal(t, 1, mql.Age.Repeat, "done is a repeat MQL")
	assert.Equal(t, 3, mql.Cycle.Overall.N)
	lt, ok := mql.Credit(attribution.ByChannel, "last_touch")
	require.True(t, ok)
	assert.Equal(t, map[string]float64{"content": 1, "paid": 1, "social": 1}, nonZero(lt.Conversions),
		"done's repeat MQL goes to its last touch since the recycle, social")
	mk, ok := mql.Credit(attribution.ByChannel, "markov")
	require.True(t, ok)
	assert.InDelta(t, 3, mk.TotalConversions(), 1e-9)
}

// The journeys Verify credits, built by hand: MQL in March, by channel.
// old converts after content (its touches before its January creation
// count: no lookback); new after paid, webinar, content, paid; cold and
// anon (active in March) do not convert; done converted in February and
// has no March event, so it is not a March journey at all. Markov on
// Verify's paths equals Markov on these.
func TestVerifyPathsByHand(t *testing.T) {
	p, _ := verifyFixture(t)
	// A visitor active only in 2025 is no March journey either.
	_, err := p.engine(t, lifecycle.Options{}).Ingest(ctx, chEv("j1", "jan25", "page_view", "paid", "search", "/", time.Date(2025, 1, 5, 0, 0, 0, 0, time.UTC)))
	require.NoError(t, err)
	e := p.engine(t, lifecycle.Options{Verify: lifecycle.VerifyOptions{Stages: []string{"MQL"}, Keys: []attribution.TouchKey{attribution.ByChannel}}})
	v, err := e.Verify(ctx, marchPeriod)
	require.NoError(t, err)
	want, err := attribution.Markov{}.Attribute([]attribution.Path{
		{Channels: []string{"web", "web", "webinar", "content", "content"}, Conversions: 1},
		{Channels: []string{"paid", "webinar", "content", "paid"}, Conversions: 1},
		{Channels: []string{"paid", "web"}, Nulls: 1},
		{Channels: []string{"paid"}, Nulls: 1},
	})
	require.NoError(t, err)
	got, ok := v.Stages[0].Credit(attribution.ByChannel, "markov")
	require.True(t, ok)
	for ch, c := range want.Conversions {
		assert.InDelta(t, c, got.Conversions[ch], 1e-9, ch)
	}
	assert.InDelta(t, want.ConversionProbability, got.ConversionProbability, 1e-12)
	assert.Zero(t, v.Stages[0].Skipped)
}

// TouchTypes keeps other events from credit: with only webinars and
// downloads as touches, the paths are those events' channels alone.
func TestVerifyTouchTypes(t *testing.T) {
	p, _ := verifyFixture(t)
	e := p.engine(t, lifecycle.Options{Verify: lifecycle.VerifyOptions{Stages: []string{"MQL"}, Keys: []attribution.TouchKey{attribution.ByChannel},
		TouchTypes: []string{"webinar_attended", "download"}}})
	v, err := e.Verify(ctx, marchPeriod)
	require.NoError(t, err)
	for model, m := range map[string]attribution.Model{"markov": attribution.Markov{}, "last_touch": attribution.LastTouch{}} {
		want, err := m.Attribute([]attribution.Path{
			{Channels: []string{"webinar", "content", "content"}, Conversions: 1},
			{Channels: []string{"webinar", "content", "paid"}, Conversions: 1},
		})
		require.NoError(t, err)
		got, ok := v.Stages[0].Credit(attribution.ByChannel, model)
		require.True(t, ok, model)
		// cold's journey has no touch of those types: a path of its own
		// that earns nothing.
		assert.Zero(t, got.Conversions["(none)"], model)
		delete(got.Conversions, "(none)")
		assert.InDeltaMapValues(t, want.Conversions, got.Conversions, 1e-9, "%s: %v %v", model, want.Conversions, got.Conversions)
		assert.NotContains(t, got.Conversions, "web", model)
	}
}

// A journey Verify cannot use is counted and explained, not dropped in
// silence.
func TestVerifySkippedJourneys(t *testing.T) {
	p, e := verifyFixture(t)
	mar := time.Date(2026, 3, 20, 0, 0, 0, 0, time.UTC)
	var evs []leadkit.Event
	for i := range 10_001 {
		evs = append(evs, chEv(fmt.Sprintf("r%d", i), "reader", "email_opened", "email", "news", "", mar.Add(time.Duration(i)*time.Second)))
	}
	_, err := e.Ingest(ctx, evs...)
	require.NoError(t, err)
	e = p.engine(t, lifecycle.Options{Verify: lifecycle.VerifyOptions{Stages: []string{"MQL"}, Keys: []attribution.TouchKey{attribution.ByChannel}}})
	v, err := e.Verify(ctx, marchPeriod)
	require.NoError(t, err)
	assert.Equal(t, 1, v.Stages[0].Skipped)
	require.Len(t, v.Stages[0].SkipReasons, 1)
	assert.Contains(t, v.Stages[0].SkipReasons[0], "reader")
}

// A deal's value counts when its event comes after the Won entry too.
func TestVerifyValueAfterTheEntry(t *testing.T) {
	p, e := verifyFixture(t)
	at := time.Date(2026, 3, 20, 9, 0, 0, 0, time.UTC)
	for i, tr := range []string{"accept", "qualify_sql", "create_opportunity", "win"} {
		_, err := p.machine.Fire(ctx, stage.Lead("new"), tr, stage.Request{Actor: "ana", At: at.Add(time.Duration(i) * time.Minute)})
		require.NoError(t, err)
	}
	_, err := e.Ingest(ctx, leadkit.Event{ID: "deal", LeadID: "new", Type: "deal_won", Time: at.Add(time.Hour), Attrs: map[string]any{"amount": 7000}})
	require.NoError(t, err)
	e = p.engine(t, lifecycle.Options{Verify: lifecycle.VerifyOptions{Stages: []string{"Won"}, Keys: []attribution.TouchKey{attribution.ByChannel},
		Values: map[string]lifecycle.Value{"Won": {Types: []string{"deal_won"}, Attr: "amount"}}}})
	v, err := e.Verify(ctx, marchPeriod)
	require.NoError(t, err)
	won, _ := v.Stages[0].Credit(attribution.ByChannel, "last_touch")
	assert.Equal(t, map[string]float64{"paid": 7000}, nonZero(won.Value))
}

// Every list and string of VerifyOptions has a cap, checked by New.
func TestVerifyOptionCaps(t *testing.T) {
	p, _ := verifyFixture(t)
	many := make([]time.Duration, lifecycle.MaxAgeBuckets+1)
	for i := range many {
		many[i] = time.Duration(i+1) * time.Hour
	}
	types := make([]string, lifecycle.MaxTouchTypes+1)
	for i := range types {
		types[i] = fmt.Sprint(i)
	}
	for name, o := range map[string]lifecycle.VerifyOptions{
		"buckets":        {Buckets: many},
		"nurture types":  {Nurture: journey.NurtureOptions{Types: types}},
		"touch types":    {TouchTypes: types},
		"touch type NUL": {TouchTypes: []string{"a\x00"}},
		"function NUL":   {Functions: map[string]string{"paid": "a\x00b"}},
		"function long":  {Functions: map[string]string{"paid": strings.Repeat("x", leadkit.MaxNameBytes+1)}},
		"value type":     {Values: map[string]lifecycle.Value{"Won": {Types: []string{"\xff"}, Attr: "amount"}}},
		"stage twice":    {Stages: []string{"MQL", "MQL"}},
		"key twice":      {Keys: []attribution.TouchKey{"channel", "channel"}},
		"nurture window": {Nurture: journey.NurtureOptions{Window: -time.Hour}},
	} {
		_, err := lifecycle.New(p.pool, p.model, p.machine, p.events, lifecycle.Options{Facts: map[string]string{"score": "total", "grade": "fit_band"}, Verify: o})
		assert.ErrorIs(t, err, leadkit.ErrInvalid, name)
	}
	e := p.engine(t, lifecycle.Options{})
	_, err := e.Verify(ctx, lifecycle.Period{From: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC),
		Costs: map[string]float64{"a": math.MaxFloat64, "b": math.MaxFloat64}})
	assert.ErrorIs(t, err, leadkit.ErrInvalid, "costs that add up to infinity")
}

// A lead still in the stage cannot convert into it: its events after the
// entry are no non-converting journey; a recycled lead's are, from the
// recycle on.
func TestVerifyNonConvertersCouldConvert(t *testing.T) {
	p, e := verifyFixture(t)
	e = p.engine(t, lifecycle.Options{Verify: lifecycle.VerifyOptions{Stages: []string{"MQL"}, Keys: []attribution.TouchKey{attribution.ByChannel}}})
	base, err := e.Verify(ctx, marchPeriod)
	require.NoError(t, err)
	// done (an MQL since February) reads a page in March: no new journey.
	_, err = e.Ingest(ctx, chEv("d9", "done", "page_view", "social", "", "/blog", time.Date(2026, 3, 25, 0, 0, 0, 0, time.UTC)))
	require.NoError(t, err)
	v, err := e.Verify(ctx, marchPeriod)
	require.NoError(t, err)
	b, _ := base.Stages[0].Credit(attribution.ByChannel, "markov")
	g, _ := v.Stages[0].Credit(attribution.ByChannel, "markov")
	assert.InDelta(t, b.ConversionProbability, g.ConversionProbability, 1e-12, "an MQL reading a page is not a failed MQL journey")
	// Recycled, its later reading is a journey that did not convert.
	_, err = p.machine.Fire(ctx, stage.Lead("done"), "recycle", stage.Request{Actor: "sdr", Reason: "not_ready", At: time.Date(2026, 3, 26, 0, 0, 0, 0, time.UTC)})
	require.NoError(t, err)
	_, err = e.Ingest(ctx, chEv("d10", "done", "page_view", "social", "", "/blog", time.Date(2026, 3, 27, 0, 0, 0, 0, time.UTC)))
	require.NoError(t, err)
	v, err = e.Verify(ctx, marchPeriod)
	require.NoError(t, err)
	g, _ = v.Stages[0].Credit(attribution.ByChannel, "markov")
	assert.Less(t, g.ConversionProbability, b.ConversionProbability, "one more journey that did not convert")
	assert.InDelta(t, b.TotalConversions(), g.TotalConversions(), 1e-12)
}

// One journey Verify cannot use counts once, whatever the number of keys.
func TestVerifySkippedOncePerJourney(t *testing.T) {
	p, e := verifyFixture(t)
	var evs []leadkit.Event
	for i := range 10_001 {
		evs = append(evs, chEv(fmt.Sprintf("r%d", i), "reader", "email_opened", "email", "news", "", time.Date(2026, 3, 20, 0, 0, i, 0, time.UTC)))
	}
	_, err := e.Ingest(ctx, evs...)
	require.NoError(t, err)
	e = p.engine(t, lifecycle.Options{Verify: lifecycle.VerifyOptions{Stages: []string{"MQL"}}}) // channel and campaign
	v, err := e.Verify(ctx, marchPeriod)
	require.NoError(t, err)
	assert.Equal(t, 1, v.Stages[0].Skipped)
}

// A value event belongs to one entry: a lead that enters SQL twice with
// one quote in between counts the quote once.
func TestVerifyValueCountsOnce(t *testing.T) {
	p, e := verifyFixture(t)
	day := func(d int) time.Time { return time.Date(2026, 3, d, 9, 0, 0, 0, time.UTC) }
	fire := func(tr string, at time.Time, reason string) {
		t.Helper()
		_, err := p.machine.Fire(ctx, stage.Lead("new"), tr, stage.Request{Actor: "ana", At: at, Reason: reason, Facts: stage.Facts{"score": 200.0, "grade": "A"}})
		require.NoError(t, err)
	}
	fire("accept", day(13), "")
	fire("qualify_sql", day(13).Add(time.Minute), "")
	_, err := e.Ingest(ctx, leadkit.Event{ID: "q", LeadID: "new", Type: "quote", Time: day(14), Attrs: map[string]any{"amount": 100}})
	require.NoError(t, err)
	fire("recycle", day(15), "timing")
	fire("qualify", day(16), "")
	fire("accept", day(20), "")
	fire("qualify_sql", day(20).Add(time.Minute), "")
	e = p.engine(t, lifecycle.Options{Requalify: lifecycle.Requalify{Off: true}, Verify: lifecycle.VerifyOptions{Stages: []string{"SQL"}, Keys: []attribution.TouchKey{attribution.ByChannel},
		Values: map[string]lifecycle.Value{"SQL": {Types: []string{"quote"}, Attr: "amount"}}}})
	v, err := e.Verify(ctx, marchPeriod)
	require.NoError(t, err)
	lt, _ := v.Stages[0].Credit(attribution.ByChannel, "last_touch")
	assert.InDelta(t, 2, lt.TotalConversions(), 1e-12, "two SQL entries")
	assert.InDelta(t, 100, lt.TotalValue(), 1e-12, "one quote")
}

// A disqualified lead cannot convert again: its later events are no
// journey that failed to.
func TestVerifyDisqualifiedLeadsAreNoJourneys(t *testing.T) {
	p, e := verifyFixture(t)
	e = p.engine(t, lifecycle.Options{Verify: lifecycle.VerifyOptions{Stages: []string{"MQL"}, Keys: []attribution.TouchKey{attribution.ByChannel}}})
	base, err := e.Verify(ctx, marchPeriod)
	require.NoError(t, err)
	_, err = p.machine.Fire(ctx, stage.Lead("done"), "disqualify", stage.Request{Actor: "sdr", Reason: "not_icp", At: time.Date(2026, 2, 20, 0, 0, 0, 0, time.UTC)})
	require.NoError(t, err)
	_, err = e.Ingest(ctx, chEv("d9", "done", "page_view", "social", "", "/blog", time.Date(2026, 3, 25, 0, 0, 0, 0, time.UTC)))
	require.NoError(t, err)
	v, err := e.Verify(ctx, marchPeriod)
	require.NoError(t, err)
	b, _ := base.Stages[0].Credit(attribution.ByChannel, "markov")
	g, _ := v.Stages[0].Credit(attribution.ByChannel, "markov")
	assert.InDelta(t, b.ConversionProbability, g.ConversionProbability, 1e-12)
}

// TestVerifyPhasesAndOldLeads: the verification carries the content
// phases and the old-lead nurture comparison, counted by hand on the
// fixture.
func TestVerifyPhasesAndOldLeads(t *testing.T) {
	p, _ := verifyFixture(t)
	e := p.engine(t, lifecycle.Options{Verify: lifecycle.VerifyOptions{Stages: []string{"MQL"}}})
	v, err := e.Verify(ctx, lifecycle.Period{From: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)})
	require.NoError(t, err)
	mql := v.Stages[0]
	// Each lead graduated at its second touch: 8 acquisition touches. After
	// that, before or at the MQL: old o3-o5, new n3-n4, done d3-d4 (its
	// engagement decays a little in the hour before d3, so it reaches 100
	// only at d4's page view): 7 nurture touches, none in sales. anon
	// never became a lead.
	h, err := p.machine.History(ctx, stage.Lead("done"))
	require.NoError(t, err)
	assert.Equal(t, time.Date(2026, 2, 10, 12, 0, 0, 0, time.UTC), h[len(h)-1].At, "done's MQL at d4")
	ph := mql.Phases
	assert.Equal(t, 8, ph.Acquisition.Touches)
	assert.Equal(t, 4, ph.Acquisition.Leads)
	assert.Equal(t, 7, ph.Nurture.Touches)
	assert.Equal(t, 3, ph.Nurture.Leads)
	assert.Equal(t, 3, ph.Nurture.Converted.Count)
	assert.Equal(t, 0, ph.Sales.Touches)
	assert.Equal(t, 1, ph.Unplaced)
	// Old leads: old (Raw on March 1) converted in March; done stood at
	// MQL already and is left out; new and cold are not old.
	ol := mql.OldLeads
	assert.Equal(t, 1, ol.OldLeads)
	assert.Equal(t, 1, ol.Converted.Count)
	assert.Equal(t, 1, ol.Excluded)
	assert.Nil(t, ol.All.PerLeadRatio, "no old lead failed to convert: nothing to compare with")
}

// TestVerifyStageOutsideTheFunnel: a verified stage outside the funnel
// order (Recycled) is verified as before, without content phases.
func TestVerifyStageOutsideTheFunnel(t *testing.T) {
	p, _ := verifyFixture(t)
	e := p.engine(t, lifecycle.Options{Verify: lifecycle.VerifyOptions{Stages: []string{"MQL", "Recycled"}}})
	v, err := e.Verify(ctx, lifecycle.Period{From: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)})
	require.NoError(t, err)
	require.Len(t, v.Stages, 2)
	assert.Equal(t, "Recycled", v.Stages[1].Stage)
	assert.Zero(t, v.Stages[1].Phases.Acquisition.Touches)
	assert.NotZero(t, v.Stages[0].Phases.Acquisition.Touches)
}

// bigEngine is an engine over Classic with 40 stages inserted between MQL
// and SAL (a definition well under stage.MaxStages).
func bigEngine(t *testing.T) *lifecycle.Engine {
	def := stage.Classic()
	prev := "MQL"
	for i := range 40 {
		name := fmt.Sprintf("X%02d", i)
		var err error
		def, err = def.InsertBetween(stage.Stage{Name: name}, prev, "SAL")
		require.NoError(t, err)
		prev = name
	}
	p := newParts(t)
	m, err := stage.New(def, stage.Options{Store: p.stages, Now: func() time.Time { return now }})
	require.NoError(t, err)
	pol, err := pool.ParsePolicy([]byte(testPolicy))
	require.NoError(t, err)
	pl, err := pool.New(pool.Options{Store: p.pstore, Policy: pol, Now: func() time.Time { return now }})
	require.NoError(t, err)
	e, err := lifecycle.New(pl, p.model, m, p.events, lifecycle.Options{States: p.states, Now: func() time.Time { return now },
		Facts: map[string]string{"score": "total", "grade": "fit_band"}})
	require.NoError(t, err)
	return e
}

// TestVerifyBigDefinition: Verify with its default options on a
// definition of 45 funnel stages credits 44 stages by two models: 88 stage
// labels, within the ROI report's cap (which once stopped at 64 and
// failed the whole verification).
func TestVerifyBigDefinition(t *testing.T) {
	e := bigEngine(t)
	_, err := e.Verify(ctx, lifecycle.Period{From: month(1), To: month(4)})
	require.NoError(t, err)
}

// TestVerifyOldLeadsLeaveOutClosed: an old lead that was disqualified
// cannot convert, and is not counted among the old leads that did not.
func TestVerifyOldLeadsLeaveOutClosed(t *testing.T) {
	april := lifecycle.Period{From: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)}
	p, _ := verifyFixture(t)
	e := p.engine(t, lifecycle.Options{Verify: lifecycle.VerifyOptions{Stages: []string{"MQL"}}})
	v, err := e.Verify(ctx, april)
	require.NoError(t, err)
	assert.Equal(t, 1, v.Stages[0].OldLeads.OldLeads, "cold, still Raw, is April's one old lead not yet converted")
	_, err = p.machine.Fire(ctx, stage.Lead("cold"), "disqualify", stage.Request{Reason: "competitor", At: time.Date(2026, 3, 20, 0, 0, 0, 0, time.UTC)})
	require.NoError(t, err)
	v, err = e.Verify(ctx, april)
	require.NoError(t, err)
	assert.Equal(t, 0, v.Stages[0].OldLeads.OldLeads)
	assert.Equal(t, 1, v.Stages[0].OldLeads.Closed)
}

// TestVerifyPlanGivesVerifysAggregates: the accumulators built from
// VerifyPlan's options, filled with one journey per lead from the
// engine's stores (visits through stage.Reach, as Verify reads them) in
// two shards merged, give Verify's Age, Cycle, Nurture, Phases, OldLeads
// and Attribution (with Skipped and SkipReasons), stage by stage; a stage outside the funnel order has no Phases or OldLeads plan.
func TestVerifyPlanGivesVerifysAggregates(t *testing.T) {
	p, _ := verifyFixture(t)
	e := p.engine(t, lifecycle.Options{Verify: lifecycle.VerifyOptions{Stages: []string{"MQL", "Recycled"}, TouchTypes: []string{"webinar_attended", "download", "page_view"}}})
	period := lifecycle.Period{From: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)}
	v, err := e.Verify(ctx, period)
	require.NoError(t, err)
	plans, err := e.VerifyPlan(period)
	require.NoError(t, err)
	require.Len(t, plans, 2)
	assert.Nil(t, plans[1].Phases, "Recycled is outside the funnel order")
	assert.Nil(t, plans[1].OldLeads)

	created := map[string]time.Time{}
	require.NoError(t, p.states.Scan(ctx, func(st lifecycle.LeadState) error {
		created[st.LeadID] = st.Lead.CreatedAt
		return nil
	}))
	var visits []stage.Visit
	require.NoError(t, stage.ScanHistories(ctx, p.machine.Store(), p.machine.Pipeline(), func(_ stage.Key, h []stage.Entry) error {
		visits = append(visits, stage.Visits(h)...)
		return nil
	}))
	visits, err = stage.Reach(visits, p.machine.FunnelStages())
	require.NoError(t, err)
	timelines, err := journey.Timelines(ctx, p.events)
	require.NoError(t, err)
	journeys, err := journey.Journeys(timelines, visits, created)
	require.NoError(t, err)
	require.Greater(t, len(journeys), 3)

	for i, plan := range plans {
		require.Equal(t, v.Stages[i].Stage, plan.Stage)
		// Round-trip the plan through JSON, as a pipeline ships it.
		b, err := json.Marshal(plan)
		require.NoError(t, err)
		var shipped lifecycle.StagePlan
		require.NoError(t, json.Unmarshal(b, &shipped))
		var ages [2]*journey.SourceAgeAccumulator
		for k := range ages {
			ages[k], err = journey.NewSourceAgeAccumulator(shipped.Stage, shipped.Age)
			require.NoError(t, err)
		}
		for k, j := range journeys {
			require.NoError(t, ages[k%2].Add(j))
		}
		require.NoError(t, ages[0].Merge(ages[1]))
		assert.Equal(t, v.Stages[i].Age, ages[0].Result(), plan.Stage)
		var cycles [2]*journey.CycleAccumulator
		var nurtures [2]*journey.NurtureAccumulator
		for k := range cycles {
			cycles[k], err = journey.NewCycleAccumulator(shipped.Stage, shipped.Cycle)
			require.NoError(t, err)
			nurtures[k], err = journey.NewNurtureAccumulator(shipped.Stage, shipped.Nurture)
			require.NoError(t, err)
		}
		for k, j := range journeys {
			require.NoError(t, cycles[(k/2)%2].Add(j))
			require.NoError(t, nurtures[(k/3)%2].Add(j))
		}
		require.NoError(t, cycles[1].Merge(cycles[0]))
		require.NoError(t, nurtures[1].Merge(nurtures[0]))
		assert.Equal(t, v.Stages[i].Cycle, cycles[1].Result(), plan.Stage)
		assert.Equal(t, v.Stages[i].Nurture, nurtures[1].Result(), plan.Stage)
		var credits [2]*lifecycle.CreditAccumulator
		for k := range credits {
			credits[k], err = lifecycle.NewCreditAccumulator(shipped.Stage, *shipped.Attribution)
			require.NoError(t, err)
		}
		for k, j := range journeys {
			require.NoError(t, credits[(k/2+1)%2].Add(j))
		}
		require.NoError(t, credits[0].Merge(credits[1]))
		attr, skipped, reasons := credits[0].Result()
		assert.Equal(t, v.Stages[i].Attribution, attr, plan.Stage)
		assert.Equal(t, v.Stages[i].Skipped, skipped, plan.Stage)
		assert.Equal(t, v.Stages[i].SkipReasons, reasons, plan.Stage)
		assert.NotEmpty(t, v.Stages[i].Nurture, "a plan that measures something: %s", plan.Stage)
		if shipped.Phases == nil {
			continue
		}
		ph, err := journey.NewContentPhaseAccumulator(shipped.Stage, *shipped.Phases)
		require.NoError(t, err)
		ol, err := journey.NewOldLeadNurtureAccumulator(shipped.Stage, *shipped.OldLeads)
		require.NoError(t, err)
		for _, j := range journeys {
			require.NoError(t, ph.Add(j))
			require.NoError(t, ol.Add(j))
		}
		assert.Equal(t, v.Stages[i].Phases, ph.Result(), plan.Stage)
		assert.Equal(t, v.Stages[i].OldLeads, ol.Result(), plan.Stage)
		assert.Positive(t, ph.Result().Nurture.Touches, "a plan that measures something")
		assert.Positive(t, v.Stages[i].Cycle.Overall.N, "a plan that measures something")
	}

	_, err = e.VerifyPlan(lifecycle.Period{From: period.To, To: period.From})
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
}

// Every journey Verify cannot use is counted, past the twenty reasons
// attribution reports one by one (Skipped used to count the joined
// errors: twenty and one "and 2 more"), and the reasons kept are the
// first MaxSkipReasons by lead.
func TestVerifySkippedCountsEveryJourney(t *testing.T) {
	p, e := verifyFixture(t)
	mar := time.Date(2026, 3, 20, 0, 0, 0, 0, time.UTC)
	for r := range 22 {
		var evs []leadkit.Event
		for i := range 10_001 {
			evs = append(evs, chEv(fmt.Sprintf("r%d-%d", r, i), fmt.Sprintf("reader%02d", r), "email_opened", "email", "news", "", mar.Add(time.Duration(i)*time.Second)))
		}
		_, err := e.Ingest(ctx, evs...)
		require.NoError(t, err)
	}
	e = p.engine(t, lifecycle.Options{Verify: lifecycle.VerifyOptions{Stages: []string{"MQL"}, Keys: []attribution.TouchKey{attribution.ByChannel}}})
	v, err := e.Verify(ctx, marchPeriod)
	require.NoError(t, err)
	assert.Equal(t, 22, v.Stages[0].Skipped)
	require.Len(t, v.Stages[0].SkipReasons, lifecycle.MaxSkipReasons)
	for i, reason := range v.Stages[0].SkipReasons {
		assert.Contains(t, reason, fmt.Sprintf(`"reader%02d"`, i))
	}
}
