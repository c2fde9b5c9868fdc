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

func TestOldLeadNurture(t *testing.T) {
	march := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	april := march.AddDate(0, 1, 0)
	d := func(n int) time.Time { return march.AddDate(0, 0, n) }
	ev := func(id, typ, channel string, at time.Time) leadkit.Event {
		return leadkit.Event{ID: id, Type: typ, Channel: channel, Time: at}
	}
	tls := []Timeline{
		// conv: nurtured by two emails and a webinar, then the demo form
		// (the conversion itself: not counted).
		{LeadID: "conv", Events: []leadkit.Event{
			ev("1", "email", "email", d(-20)), ev("2", "email", "email", d(2)), ev("3", "webinar", "webinar", d(5)),
			ev("4", "demo", "", d(6)), ev("5", "email", "email", d(7)), // after the conversion
		}},
		// rest: one email in its lookback before April 1; an older one
		// outside the 30-day lookback.
		{LeadID: "rest", Events: []leadkit.Event{ev("6", "email", "email", d(-40)), ev("7", "email", "email", d(20))}},
		// quiet: old, no touches.
		// sql: old but in SQL at March 1: already converted, left out.
		{LeadID: "sql", Events: []leadkit.Event{ev("8", "email", "email", d(3))}},
		// fresh: created in March: not an old lead.
		{LeadID: "fresh", Events: []leadkit.Event{ev("9", "email", "email", d(3))}},
	}
	entries := []stage.Visit{
		{LeadID: "conv", Stage: "MQL", At: d(-100)}, {LeadID: "conv", Stage: "Recycled", At: d(-60)}, // recycled before March: eligible
		{LeadID: "conv", Stage: "MQL", At: d(6)},
		{LeadID: "sql", Stage: "SQL", At: d(-10)},
		{LeadID: "fresh", Stage: "MQL", At: d(4)},
		{LeadID: "nocreate", Stage: "MQL", At: d(4)},
	}
	created := map[string]time.Time{"conv": d(-200), "rest": d(-50), "quiet": d(-31), "sql": d(-90), "fresh": d(1)}
	opts := OldLeadNurtureOptions{From: march, To: april, Lookback: 30 * leadkit.Day, Order: classicOrder}
	r, err := OldLeadNurture(tls, entries, created, "MQL", opts)
	require.NoError(t, err)
	assert.Equal(t, 3, r.OldLeads, "conv, rest, quiet")
	assert.Equal(t, leadkit.NewRate(1, 3), r.Converted)
	assert.Equal(t, 1, r.Excluded, "sql")
	assert.Equal(t, 1, r.Unknown, "nocreate")
	// conv: email d-20 and d2, webinar d5 within 30 days before d6 (3
	// touches); rest: email d20 within 30 days before April 1 (1); quiet:
	// none.
	one, half := 1.0, 0.5
	three := 3.0
	six := 6.0
	assert.Equal(t, NurtureComparison{
		Converted:    NurtureUse{Touched: leadkit.NewRate(1, 1), Touches: 3, PerLead: &three},
		NotConverted: NurtureUse{Touched: leadkit.NewRate(1, 2), Touches: 1, PerLead: &half},
		PerLeadRatio: &six,
	}, r.All)
	require.Len(t, r.Types, 2)
	two := 2.0
	four := 4.0
	assert.Equal(t, NurtureComparison{Key: "email",
		Converted:    NurtureUse{Touched: leadkit.NewRate(1, 1), Touches: 2, PerLead: &two},
		NotConverted: NurtureUse{Touched: leadkit.NewRate(1, 2), Touches: 1, PerLead: &half},
		PerLeadRatio: &four,
	}, r.Types[0])
	// Only the converters got a webinar: the ratio has no data (the
	// others got none), not +Inf.
	assert.Equal(t, NurtureComparison{Key: "webinar",
		Converted:    NurtureUse{Touched: leadkit.NewRate(1, 1), Touches: 1, PerLead: &one},
		NotConverted: NurtureUse{Touched: leadkit.NewRate(0, 2), Touches: 0, PerLead: new(float64)},
	}, r.Types[1])
	assert.Equal(t, []string{"email", "webinar"}, []string{r.Channels[0].Key, r.Channels[1].Key})
	js := roundTrip(t, r)
	assert.Contains(t, js, `"lookback":"30d"`)
	assert.Contains(t, js, `"per_lead_ratio":null`)

	// Older than 45 days at March 1: conv and rest only.
	opts.OldAge = 45 * leadkit.Day
	r, err = OldLeadNurture(tls, entries, created, "MQL", opts)
	require.NoError(t, err)
	assert.Equal(t, 2, r.OldLeads)
	// Only the email type counts as nurture.
	opts.OldAge, opts.Types = 0, []string{"email"}
	r, err = OldLeadNurture(tls, entries, created, "MQL", opts)
	require.NoError(t, err)
	assert.Equal(t, 2, r.All.Converted.Touches)
	assert.Len(t, r.Types, 1)

	// No old leads at all: every rate is no data.
	r, err = OldLeadNurture(nil, nil, nil, "MQL", OldLeadNurtureOptions{From: march, To: april, Order: classicOrder})
	require.NoError(t, err)
	assert.Equal(t, leadkit.Duration(DefaultLookback), r.Lookback)
	assert.Nil(t, r.Converted.Rate)
	assert.Nil(t, r.All.Converted.PerLead)
	assert.Nil(t, r.All.PerLeadRatio)
	noNaN(t, r)

	for _, c := range []struct {
		opts OldLeadNurtureOptions
		want string
	}{
		{OldLeadNurtureOptions{To: april, Order: classicOrder}, "needs a start and an end"},
		{OldLeadNurtureOptions{From: april, To: march, Order: classicOrder}, "period ends"},
		{OldLeadNurtureOptions{From: march, To: april, Order: classicOrder, OldAge: -1}, "old age -1ns is negative"},
		{OldLeadNurtureOptions{From: march, To: april, Order: classicOrder, Lookback: -1}, "lookback -1ns is negative"},
		{OldLeadNurtureOptions{From: march, To: april}, "needs the funnel order"},
	} {
		_, err := OldLeadNurture(tls, entries, created, "MQL", c.opts)
		assert.ErrorIs(t, err, leadkit.ErrInvalid, c.want)
		assert.ErrorContains(t, err, c.want)
	}
}

func TestParseSmallReportOptions(t *testing.T) {
	o, err := ParseOldLeadNurtureOptions([]byte("from: 2026-03-01T00:00:00Z\nto: 2026-04-01T00:00:00Z\nold_age: 90d\nlookback: 8w\ntypes: [email_opened]\norder: [Raw, MQL, SAL]\n"))
	require.NoError(t, err)
	march := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	want := OldLeadNurtureOptions{From: march, To: march.AddDate(0, 1, 0), OldAge: 90 * leadkit.Day, Lookback: 8 * leadkit.Week,
		Types: []string{"email_opened"}, Order: []string{"Raw", "MQL", "SAL"}}
	assert.Equal(t, want, o)
	b, err := want.MarshalJSON()
	require.NoError(t, err)
	assert.Contains(t, string(b), `"old_age":"90d","lookback":"8w"`)
	back, err := ParseOldLeadNurtureOptions(b)
	require.NoError(t, err)
	assert.Equal(t, want, back)

	p, err := ParseContentPhaseOptions([]byte(`{"order": ["Raw", "MQL", "Won"], "outcome": "Won", "by": "campaign", "types": ["download"]}`))
	require.NoError(t, err)
	assert.Equal(t, ContentPhaseOptions{Order: []string{"Raw", "MQL", "Won"}, Outcome: "Won", By: KeyCampaign, Types: []string{"download"}}, p)

	so, err := ParseSourceAgeOptions([]byte("from: 2026-03-01T00:00:00Z\nby: campaign\n"))
	require.NoError(t, err)
	assert.Equal(t, KeyCampaign, so.By)

	for name, bad := range map[string]func() error{
		"old lead bare number": func() error { _, err := ParseOldLeadNurtureOptions([]byte(`{"lookback": 30}`)); return err },
		"old lead unknown key": func() error { _, err := ParseOldLeadNurtureOptions([]byte(`{"look_back": "30d"}`)); return err },
		"phases unknown key":   func() error { _, err := ParseContentPhaseOptions([]byte(`{"orders": []}`)); return err },
		"phases miscased":      func() error { _, err := ParseContentPhaseOptions([]byte(`{"Outcome": "Won"}`)); return err },
	} {
		err := bad()
		require.Error(t, err, name)
		assert.ErrorIs(t, err, leadkit.ErrInvalid, name)
		assert.Regexp(t, `^journey: (old lead nurture|content phase) options: `, err.Error(), name)
	}
}

// OldLeadNurture against a brute force on random small inputs, whole and
// sharded.
func TestOldLeadNurtureReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 4))
	for iter := range 400 {
		in := randomInput(rng)
		st := []string{"MQL", "SAL"}[rng.IntN(2)]
		opts := OldLeadNurtureOptions{From: day(0), To: day(24), Order: randOrder,
			OldAge:   []time.Duration{0, days(8), days(20)}[rng.IntN(3)],
			Lookback: []time.Duration{0, days(8), days(16)}[rng.IntN(3)]}
		if rng.IntN(3) == 0 {
			opts.Types = []string{"email", "call"}
		}
		opts.Closed = [][]string{nil, {"Lost"}, {"Recycled", "Lost"}, {"Won", "Lost"}}[rng.IntN(4)]
		got, err := OldLeadNurture(in.timelines, in.visits, in.created, st, opts)
		require.NoError(t, err)
		want := bruteOldLeadNurture(in, st, opts)
		require.Equal(t, want.counts, [6]int{got.OldLeads, got.Converted.Count, got.Excluded, got.Unknown, got.Converted.Base, got.Closed}, "iteration %d", iter)
		flat := func(x NurtureComparison) [4]int {
			return [4]int{x.Converted.Touched.Count, x.Converted.Touches, x.NotConverted.Touched.Count, x.NotConverted.Touches}
		}
		require.Equal(t, want.all, flat(got.All), "iteration %d", iter)
		gotTypes, gotChannels := map[string][4]int{}, map[string][4]int{}
		for _, x := range got.Types {
			gotTypes[x.Key] = flat(x)
		}
		for _, x := range got.Channels {
			gotChannels[x.Key] = flat(x)
		}
		require.Equal(t, want.types, gotTypes, "iteration %d", iter)
		require.Equal(t, want.channels, gotChannels, "iteration %d", iter)
		// Rates and ratios follow from the counts.
		for _, x := range append(append([]NurtureComparison{got.All}, got.Types...), got.Channels...) {
			c, o := got.Converted.Count, got.OldLeads-got.Converted.Count
			require.Equal(t, leadkit.NewRate(x.Converted.Touched.Count, c), x.Converted.Touched)
			require.Equal(t, leadkit.NewRate(x.NotConverted.Touched.Count, o), x.NotConverted.Touched)
			require.Equal(t, leadkit.Ratio(float64(x.Converted.Touches), float64(c)), x.Converted.PerLead)
			if c > 0 && o > 0 && x.NotConverted.Touches > 0 {
				require.InDelta(t, (float64(x.Converted.Touches)/float64(c))/(float64(x.NotConverted.Touches)/float64(o)), *x.PerLeadRatio, 1e-12)
			} else {
				require.Nil(t, x.PerLeadRatio)
			}
		}

		js, err := Journeys(in.timelines, in.visits, in.created)
		require.NoError(t, err)
		merged := binenctest.Sharded(t, rng, js, 1+rng.IntN(3), maker(t, NewOldLeadNurtureAccumulator, st, opts), addLead, false)
		require.Equal(t, got, merged.Result(), "iteration %d", iter)
		noNaN(t, got)
	}
}

type oldLeadWant struct {
	counts          [6]int // old leads, converted, excluded, unknown, old leads, closed
	all             [4]int // converted touched, touches; not converted touched, touches
	types, channels map[string][4]int
}

func bruteOldLeadNurture(in randInput, st string, opts OldLeadNurtureOptions) oldLeadWant {
	lookback := opts.Lookback
	if lookback == 0 {
		lookback = DefaultLookback
	}
	rank := func(s string) int {
		if i := slices.Index(opts.Order, s); i >= 0 {
			return i
		}
		return len(opts.Order)
	}
	w := oldLeadWant{types: map[string][4]int{}, channels: map[string][4]int{}}
	leads := map[string]bool{}
	for _, tl := range in.timelines {
		leads[tl.LeadID] = true
	}
	for _, v := range in.visits {
		leads[v.LeadID] = true
	}
	for l := range in.created {
		leads[l] = true
	}
	for lead := range leads {
		var visits []stage.Visit
		for _, v := range in.visits {
			if v.LeadID == lead {
				visits = append(visits, v)
			}
		}
		var at time.Time
		for _, v := range visits {
			if v.Stage == st && !v.At.Before(opts.From) && v.At.Before(opts.To) && (at.IsZero() || v.At.Before(at)) {
				at = v.At
			}
		}
		c, ok := in.created[lead]
		if !ok || c.IsZero() {
			if !at.IsZero() {
				w.counts[3]++
			}
			continue
		}
		if !c.Add(opts.OldAge).Before(opts.From) {
			continue
		}
		// The stage a lead stood in just before t: its last visit before
		// t, at one instant the later in the order (stages outside it
		// last), then the last listed.
		standing := func(t time.Time) (string, bool) {
			best := -1
			for i, v := range visits {
				if v.At.Before(t) && (best < 0 || v.At.After(visits[best].At) || (v.At.Equal(visits[best].At) && rank(v.Stage) >= rank(visits[best].Stage))) {
					best = i
				}
			}
			if best < 0 {
				return "", false
			}
			return visits[best].Stage, true
		}
		if s, ok := standing(opts.From); ok && slices.Contains(opts.Order, s) && rank(s) >= rank(st) {
			w.counts[2]++
			continue
		}
		if s, ok := standing(opts.To); ok && at.IsZero() && slices.Contains(opts.Closed, s) {
			w.counts[5]++
			continue
		}
		w.counts[0]++
		w.counts[4]++
		ref, off := opts.To, 2
		if !at.IsZero() {
			w.counts[1]++
			ref, off = at, 0
		}
		typesSeen, chanSeen := map[string]bool{}, map[string]bool{}
		n := 0
		for _, tl := range in.timelines {
			if tl.LeadID != lead {
				continue
			}
			for _, e := range tl.Events {
				if e.Time.IsZero() || e.Time.Before(ref.Add(-lookback)) || !e.Time.Before(ref) {
					continue
				}
				if len(opts.Types) > 0 && !slices.Contains(opts.Types, e.Type) {
					continue
				}
				n++
				x := w.types[e.Type]
				x[off+1]++
				if !typesSeen[e.Type] {
					typesSeen[e.Type] = true
					x[off]++
				}
				w.types[e.Type] = x
				if e.Channel != "" {
					y := w.channels[e.Channel]
					y[off+1]++
					if !chanSeen[e.Channel] {
						chanSeen[e.Channel] = true
						y[off]++
					}
					w.channels[e.Channel] = y
				}
			}
		}
		if n > 0 {
			w.all[off]++
			w.all[off+1] += n
		}
	}
	return w
}

// OldLeadNurtureOptions.Closed lists the stages that end a lead's
// chances (Disqualified, Lost): an old lead that did not convert and
// stood in one of them just before To is no candidate, and is counted in
// Closed instead of OldLeads. Reaching the stage reopens a lead: a
// converter is never closed. Without Closed every old lead is a
// candidate, as before.
func TestOldLeadNurtureClosed(t *testing.T) {
	from := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	to := from.AddDate(0, 1, 0)
	created := from.AddDate(0, -6, 0)
	visits := []stage.Visit{
		// dq: disqualified before the period, never back.
		{LeadID: "dq", Stage: "MQL", At: created.AddDate(0, 1, 0)},
		{LeadID: "dq", Stage: "Disqualified", At: created.AddDate(0, 2, 0)},
		// lost: open at From, lost in the period.
		{LeadID: "lost", Stage: "MQL", At: created.AddDate(0, 1, 0)},
		{LeadID: "lost", Stage: "Recycled", At: created.AddDate(0, 2, 0)},
		{LeadID: "lost", Stage: "Lost", At: from.AddDate(0, 0, 10)},
		// back: disqualified, then reopened and converted in the period.
		{LeadID: "back", Stage: "MQL", At: created.AddDate(0, 1, 0)},
		{LeadID: "back", Stage: "Disqualified", At: created.AddDate(0, 2, 0)},
		{LeadID: "back", Stage: "SAL", At: from.AddDate(0, 0, 5)},
		// reopened: disqualified, then recycled in the period: open at To.
		{LeadID: "reopened", Stage: "Disqualified", At: created.AddDate(0, 2, 0)},
		{LeadID: "reopened", Stage: "Recycled", At: from.AddDate(0, 0, 3)},
		// open: recycled, still a candidate.
		{LeadID: "open", Stage: "Recycled", At: created.AddDate(0, 2, 0)},
		// late: lost at To itself: not before To, still open in the period.
		{LeadID: "late", Stage: "Lost", At: to},
	}
	leads := map[string]time.Time{"dq": created, "lost": created, "back": created, "reopened": created, "open": created, "late": created}
	order := []string{"MQL", "SAL", "SQL", "Won"}
	opts := OldLeadNurtureOptions{From: from, To: to, Order: order, Closed: []string{"Disqualified", "Lost"}}
	r, err := OldLeadNurture(nil, visits, leads, "SAL", opts)
	require.NoError(t, err)
	assert.Equal(t, 2, r.Closed, "dq and lost")
	assert.Equal(t, 4, r.OldLeads, "back, reopened, open, late")
	assert.Equal(t, leadkit.NewRate(1, 4), r.Converted, "back")
	assert.Equal(t, 0, r.Excluded)
	assert.Equal(t, []string{"Disqualified", "Lost"}, r.ClosedStages)
	js := roundTrip(t, r)
	assert.Contains(t, js, `"closed":2`)
	assert.Contains(t, js, `"closed_stages":["Disqualified","Lost"]`)

	// Without Closed: every old lead is a candidate.
	opts.Closed = nil
	r, err = OldLeadNurture(nil, visits, leads, "SAL", opts)
	require.NoError(t, err)
	assert.Equal(t, 6, r.OldLeads)
	assert.Equal(t, 0, r.Closed)

	// Sharded and merged: the same; different Closed lists do not merge.
	opts.Closed = []string{"Lost", "Disqualified"}
	js2, err := Journeys(nil, visits, leads)
	require.NoError(t, err)
	a, err := NewOldLeadNurtureAccumulator("SAL", opts)
	require.NoError(t, err)
	b, err := NewOldLeadNurtureAccumulator("SAL", OldLeadNurtureOptions{From: from, To: to, Order: order, Closed: []string{"Disqualified", "Lost", "Lost"}})
	require.NoError(t, err)
	for i, j := range js2 {
		require.NoError(t, []*OldLeadNurtureAccumulator{a, b}[i%2].Add(j))
	}
	require.NoError(t, a.Merge(b), "the same stages in another order")
	assert.Equal(t, 2, a.Result().Closed)
	assert.Equal(t, 4, a.Result().OldLeads)
	c, err := NewOldLeadNurtureAccumulator("SAL", OldLeadNurtureOptions{From: from, To: to, Order: order, Closed: []string{"Lost"}})
	require.NoError(t, err)
	assert.ErrorIs(t, a.Merge(c), leadkit.ErrInvalid)

	// The list is checked: names, and at most stage.MaxStages.
	_, err = NewOldLeadNurtureAccumulator("SAL", OldLeadNurtureOptions{From: from, To: to, Order: order, Closed: []string{"", "\xff", "Won"}})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.ErrorContains(t, err, "closed[0]: empty")
	assert.ErrorContains(t, err, "closed[1]: is not valid UTF-8")
	assert.NotContains(t, err.Error(), "closed[2]", "a terminal stage of the order, such as Won, may be listed")
	_, err = NewOldLeadNurtureAccumulator("SAL", OldLeadNurtureOptions{From: from, To: to, Order: order, Closed: make([]string, stage.MaxStages+1)})
	assert.ErrorContains(t, err, "257 closed stages, at most 256")

	o, err := ParseOldLeadNurtureOptions([]byte(`{"from": "2026-03-01T00:00:00Z", "to": "2026-04-01T00:00:00Z", "order": ["MQL"], "closed": ["Lost"]}`))
	require.NoError(t, err)
	assert.Equal(t, []string{"Lost"}, o.Closed)
}
