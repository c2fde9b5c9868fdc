package journey

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/binenctest"
	"github.com/leadkit/leadkit/stage"
)

// New leads are credited to their source channel, earlier ones to the
// channel that revived them; touches without a channel are passed over.
func TestSourceAgeChannels(t *testing.T) {
	march := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	d := func(n int) time.Time { return march.AddDate(0, 0, n) }
	ev := func(id, typ, channel string, at time.Time) leadkit.Event {
		return leadkit.Event{ID: id, Type: typ, Channel: channel, Time: at}
	}
	tls := []Timeline{
		// new1: paid ad first (its source), then an email, then the demo form.
		{LeadID: "new1", Events: []leadkit.Event{ev("1", "ad", "paid", d(2)), ev("2", "email", "email", d(3)), ev("3", "demo", "", d(4))}},
		// new2: only a form without a channel: unattributed.
		{LeadID: "new2", Events: []leadkit.Event{ev("4", "demo", "", d(5))}},
		// old1: came from paid a year ago, revived by an email; the call
		// after its conversion does not count.
		{LeadID: "old1", Events: []leadkit.Event{ev("5", "ad", "paid", d(-365)), ev("6", "email", "email", d(8)), ev("7", "demo", "", d(9)), ev("8", "call", "sdr", d(10))}},
		// old2: revived by an event; two touches at once: the last listed.
		{LeadID: "old2", Events: []leadkit.Event{ev("9", "ad", "paid", d(-100)), ev("10", "booth", "event", d(12)), ev("11", "email", "email", d(12))}},
		// new3: its source is paid too.
		{LeadID: "new3", Events: []leadkit.Event{ev("12", "ad", "paid", d(1))}},
	}
	entries := []stage.Visit{
		{LeadID: "new1", Stage: "MQL", At: d(4)},
		{LeadID: "new2", Stage: "MQL", At: d(5)},
		{LeadID: "old1", Stage: "MQL", At: d(9)},
		{LeadID: "old2", Stage: "MQL", At: d(12)},
		{LeadID: "new3", Stage: "MQL", At: d(1)},
		{LeadID: "ghost", Stage: "MQL", At: d(3)}, // no creation time: in neither group
	}
	created := map[string]time.Time{"new1": d(2), "new2": d(5), "new3": d(1), "old1": d(-365), "old2": d(-100)}
	r, err := SourceAge(tls, entries, created, "MQL", SourceAgeOptions{From: march, To: march.AddDate(0, 1, 0)})
	require.NoError(t, err)
	assert.Equal(t, KeyChannel, r.By)
	assert.Equal(t, 3, r.New)
	assert.Equal(t, 2, r.Earlier)
	assert.Equal(t, 1, r.Unknown)
	assert.Equal(t, 1, r.NewUnattributed)
	assert.Zero(t, r.EarlierUnattributed)
	require.Len(t, r.Channels, 2)
	// paid: new1 and new3 (2 of the 2 attributed new leads); email: old2
	// (the last listed at day 12) and old1: 2 of 2 revived.
	email, paid := r.Channels[0], r.Channels[1]
	assert.Equal(t, "email", email.Key)
	assert.Equal(t, 0, email.New)
	assert.Equal(t, 2, email.Revived)
	assert.Equal(t, 0.0, email.NewShare.Value())
	assert.Equal(t, 1.0, email.OfRevived.Value())
	assert.Equal(t, leadkit.NewRate(0, 2), email.OfNew)
	assert.Equal(t, "paid", paid.Key)
	assert.Equal(t, 2, paid.New)
	assert.Equal(t, 0, paid.Revived)
	assert.Equal(t, leadkit.NewRate(2, 2), paid.NewShare)
	assert.True(t, paid.NewShare.Small, "two leads are too few to tell")
	assert.Equal(t, leadkit.NewRate(0, 2), paid.OfRevived)

	// By campaign: no touch has one, so everyone is unattributed, and the
	// shares of an empty group are no data (null), not NaN.
	r, err = SourceAge(tls, entries, created, "MQL", SourceAgeOptions{From: march, By: KeyCampaign})
	require.NoError(t, err)
	assert.Empty(t, r.Channels)
	assert.Equal(t, 3, r.NewUnattributed)
	assert.Equal(t, 2, r.EarlierUnattributed)
	js := roundTrip(t, r)
	assert.Contains(t, js, `"channels":[]`)
	assert.Contains(t, js, `"by":"campaign"`)

	_, err = SourceAge(tls, entries, created, "MQL", SourceAgeOptions{From: march, By: "colour"})
	assert.ErrorContains(t, err, `unknown key "colour"`)
}

// SourceAge against a brute force on random small inputs: the counts, the
// channel credit, and the touch mixes, which must equal TouchMix over the
// same leads' first entries in the period. Filled in shards and merged,
// the accumulator gives the same result.
func TestSourceAgeReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 1))
	for iter := range 400 {
		in := randomInput(rng)
		opts := SourceAgeOptions{From: day(0), Buckets: []time.Duration{days(8), days(30)}}
		if rng.IntN(2) == 0 {
			opts.To = day(24)
		}
		if rng.IntN(3) == 0 {
			opts.By = KeyContent
		}
		opts.OldAge = []time.Duration{0, days(8), days(20)}[rng.IntN(3)]
		got, err := SourceAge(in.timelines, in.visits, in.created, "MQL", opts)
		require.NoError(t, err)
		want := bruteSourceAge(in, opts)
		require.Equal(t, want.counts, [8]int{got.Leads, got.FirstTime, got.Repeat, got.New, got.Earlier, got.Unknown, got.NewUnattributed, got.EarlierUnattributed}, "iteration %d", iter)
		gotCh := map[string][2]int{}
		newTotal, oldTotal := 0, 0
		for _, c := range got.Channels {
			gotCh[c.Key] = [2]int{c.New, c.Revived}
			newTotal += c.New
			oldTotal += c.Revived
			require.Equal(t, leadkit.NewRate(c.New, c.New+c.Revived), c.NewShare)
		}
		require.Equal(t, want.channels, gotCh, "iteration %d", iter)
		require.Equal(t, got.New, newTotal+got.NewUnattributed)
		require.Equal(t, got.Earlier, oldTotal+got.EarlierUnattributed)

		// The touch mixes are TouchMix's over the same leads and times.
		var newEntries, oldEntries []stage.Visit
		for lead, at := range want.reached {
			c, ok := in.created[lead]
			switch {
			case !ok || c.IsZero():
			case c.Add(opts.OldAge).Before(opts.From):
				oldEntries = append(oldEntries, stage.Visit{LeadID: lead, Stage: "MQL", At: at})
			default:
				newEntries = append(newEntries, stage.Visit{LeadID: lead, Stage: "MQL", At: at})
			}
		}
		nm, err := TouchMix(in.timelines, newEntries, "MQL")
		require.NoError(t, err)
		om, err := TouchMix(in.timelines, oldEntries, "MQL")
		require.NoError(t, err)
		require.Equal(t, nm.Types, got.NewTouches, "iteration %d", iter)
		require.Equal(t, om.Types, got.EarlierTouches, "iteration %d", iter)

		// Sharded and merged.
		js, err := Journeys(in.timelines, in.visits, in.created)
		require.NoError(t, err)
		k := 1 + rng.IntN(3)
		merged := binenctest.Sharded(t, rng, js, k, maker(t, NewSourceAgeAccumulator, "MQL", opts), addLead, false)
		require.Equal(t, got, merged.Result(), "iteration %d", iter)
		noNaN(t, got)
	}
}

type sourceAgeWant struct {
	// Leads, FirstTime, Repeat, New, Earlier, Unknown, NewUnattributed,
	// EarlierUnattributed
	counts   [8]int
	channels map[string][2]int // new, revived
	reached  map[string]time.Time
}

// bruteSourceAge follows the definitions lead by lead.
func bruteSourceAge(in randInput, opts SourceAgeOptions) sourceAgeWant {
	by := opts.By
	if by == "" {
		by = KeyChannel
	}
	w := sourceAgeWant{channels: map[string][2]int{}, reached: map[string]time.Time{}}
	leads := map[string]bool{}
	for _, v := range in.visits {
		leads[v.LeadID] = true
	}
	events := map[string][]leadkit.Event{}
	for _, tl := range in.timelines {
		events[tl.LeadID] = tl.Events
	}
	for lead := range leads {
		var first time.Time
		before := false
		for _, v := range in.visits {
			if v.LeadID != lead || v.Stage != "MQL" {
				continue
			}
			if v.At.Before(opts.From) {
				before = true
			} else if (opts.To.IsZero() || v.At.Before(opts.To)) && (first.IsZero() || v.At.Before(first)) {
				first = v.At
			}
		}
		if first.IsZero() {
			continue
		}
		w.reached[lead] = first
		w.counts[0]++
		if before {
			w.counts[2]++
		} else {
			w.counts[1]++
		}
		c, ok := in.created[lead]
		if !ok || c.IsZero() {
			w.counts[5]++
			continue
		}
		old := c.Add(opts.OldAge).Before(opts.From) // created more than OldAge before From
		if old {
			w.counts[4]++
		} else {
			w.counts[3]++
		}
		// The candidates: touches with a value at or before the entry.
		// New: the earliest, first listed; old: the latest, last listed.
		pickI := -1
		es := events[lead]
		for i, e := range es {
			if e.Time.IsZero() || e.Time.After(first) || by.Of(e) == "" {
				continue
			}
			switch {
			case pickI < 0:
				pickI = i
			case old && !e.Time.Before(es[pickI].Time):
				pickI = i
			case !old && e.Time.Before(es[pickI].Time):
				pickI = i
			}
		}
		switch {
		case pickI < 0 && old:
			w.counts[7]++
		case pickI < 0:
			w.counts[6]++
		default:
			k := by.Of(es[pickI])
			c := w.channels[k]
			if old {
				c[1]++
			} else {
				c[0]++
			}
			w.channels[k] = c
		}
	}
	return w
}

// Accumulators of different options refuse to merge, as do nil and the
// accumulator itself; a bad journey is refused whole.
func TestSourceAgeAccumulatorRefuses(t *testing.T) {
	a, err := NewSourceAgeAccumulator("MQL", SourceAgeOptions{From: day(0)})
	require.NoError(t, err)
	require.NoError(t, a.Add(LeadJourney{Timeline: Timeline{LeadID: "l"}, Visits: []stage.Visit{{LeadID: "l", Stage: "MQL", At: day(1)}}, Created: day(0)}))
	before := a.Result()
	for _, bad := range []LeadJourney{
		{Visits: []stage.Visit{{LeadID: "l", Stage: "MQL", At: day(1)}}},
		{Timeline: Timeline{LeadID: "m"}, Visits: []stage.Visit{{LeadID: "m", Stage: "MQL", At: day(1)}, {LeadID: "m", Stage: "MQL"}}},
		{Timeline: Timeline{LeadID: "m"}, Visits: []stage.Visit{{LeadID: "other", Stage: "MQL", At: day(1)}}},
	} {
		assert.ErrorIs(t, a.Add(bad), leadkit.ErrInvalid)
	}
	b, err := NewSourceAgeAccumulator("MQL", SourceAgeOptions{From: day(0), By: KeyCampaign})
	require.NoError(t, err)
	for _, err := range []error{a.Merge(nil), a.Merge(a), a.Merge(b)} {
		assert.ErrorIs(t, err, leadkit.ErrInvalid)
	}
	assert.Equal(t, before, a.Result())
	assert.Equal(t, 1, before.New)
}

// SourceAgeOptions.OldAge is OldLeadNurtureOptions.OldAge: a lead is old
// (Earlier, revived by its converting channel) only when created more
// than OldAge before From. A lead a webinar created 30 minutes before the
// period and made an MQL an hour later is a new lead the webinar brought,
// and OldLeadNurture with the same OldAge does not count it either. Zero
// keeps "created before From".
func TestSourceAgeOldAge(t *testing.T) {
	from := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	created := map[string]time.Time{"a": from.Add(-30 * time.Minute), "b": from.AddDate(0, 0, -40)}
	tls := []Timeline{
		{LeadID: "a", Events: []leadkit.Event{{ID: "1", LeadID: "a", Type: "webinar_registered", Channel: "webinar", Time: created["a"]}}},
		{LeadID: "b", Events: []leadkit.Event{{ID: "2", LeadID: "b", Type: "webinar_attended", Channel: "webinar", Time: from.Add(time.Hour)}}},
	}
	visits := []stage.Visit{{LeadID: "a", Stage: "MQL", At: from.Add(30 * time.Minute)}, {LeadID: "b", Stage: "MQL", At: from.Add(2 * time.Hour)}}
	month := from.AddDate(0, 1, 0)

	r, err := SourceAge(tls, visits, created, "MQL", SourceAgeOptions{From: from, To: month, OldAge: leadkit.Day})
	require.NoError(t, err)
	assert.Equal(t, leadkit.Duration(leadkit.Day), r.OldAge)
	assert.Equal(t, 1, r.New, "a: a day is the least age of an old lead")
	assert.Equal(t, 1, r.Earlier, "b")
	require.Len(t, r.Channels, 1)
	assert.Equal(t, SourceChannel{Key: "webinar", New: 1, Revived: 1, NewShare: leadkit.NewRate(1, 2), OfNew: leadkit.NewRate(1, 1), OfRevived: leadkit.NewRate(1, 1)}, r.Channels[0])
	assert.Contains(t, roundTrip(t, r), `"old_age":"1d"`)

	o, err := OldLeadNurture(tls, visits, created, "MQL", OldLeadNurtureOptions{From: from, To: month, OldAge: leadkit.Day, Order: classicOrder})
	require.NoError(t, err)
	assert.Equal(t, r.Earlier, o.OldLeads, "one definition of an old lead")
	assert.Equal(t, r.Earlier, o.Converted.Count)

	// Zero: created before From, so a is old.
	r, err = SourceAge(tls, visits, created, "MQL", SourceAgeOptions{From: from, To: month})
	require.NoError(t, err)
	assert.Equal(t, 0, r.New)
	assert.Equal(t, 2, r.Earlier)
	assert.Equal(t, 2, r.Channels[0].Revived)

	// A negative age is an error; accumulators of different ages do not
	// merge.
	_, err = NewSourceAgeAccumulator("MQL", SourceAgeOptions{From: from, OldAge: -1})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.ErrorContains(t, err, "old age -1ns is negative")
	x, err := NewSourceAgeAccumulator("MQL", SourceAgeOptions{From: from})
	require.NoError(t, err)
	y, err := NewSourceAgeAccumulator("MQL", SourceAgeOptions{From: from, OldAge: leadkit.Day})
	require.NoError(t, err)
	assert.ErrorIs(t, x.Merge(y), leadkit.ErrInvalid)

	so, err := ParseSourceAgeOptions([]byte("from: 2026-02-01T00:00:00Z\nold_age: 90d\n"))
	require.NoError(t, err)
	assert.Equal(t, 90*leadkit.Day, so.OldAge)
}
