package journey

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/sim"
	"github.com/leadkit/leadkit/stage"
)

// simInput reads a simulated business into the calculators' inputs, with
// the visits through stage.Reach over the classic order.
func simInput(t testing.TB, cfg sim.Config) (*sim.Sim, randInput) {
	t.Helper()
	s, err := sim.New(cfg)
	require.NoError(t, err)
	in := randInput{created: map[string]time.Time{}}
	idx := map[string]int{}
	for r := range s.Records() {
		switch r.Kind {
		case sim.KindLead:
			in.created[r.Lead.ID] = r.Lead.CreatedAt
		case sim.KindEvent:
			i, ok := idx[r.Event.LeadID]
			if !ok {
				i = len(in.timelines)
				idx[r.Event.LeadID] = i
				in.timelines = append(in.timelines, Timeline{LeadID: r.Event.LeadID})
			}
			in.timelines[i].Events = append(in.timelines[i].Events, r.Event)
		case sim.KindStage:
			in.visits = append(in.visits, stage.Visit{LeadID: r.Stage.LeadID, Stage: r.Stage.To, At: r.Stage.At})
		}
	}
	in.visits, err = stage.Reach(in.visits, classicOrder)
	require.NoError(t, err)
	return s, in
}

// On simulated data, the four small reports agree with what the
// simulator planted and with its Truth.
func TestSmallReportsOnSim(t *testing.T) {
	s, in := simInput(t, sim.Config{Seed: 31, Leads: 6000})
	tr := s.Truth()
	oldAge := time.Duration(tr.Effects.OldLeadAge)

	t.Run("source channels", func(t *testing.T) {
		for i, m := range tr.Months {
			r, err := SourceAge(in.timelines, in.visits, in.created, sim.StageMQL, SourceAgeOptions{From: m.Month, To: m.Month.AddDate(0, 1, 0)})
			require.NoError(t, err)
			require.Equal(t, m.MQLs, r.Leads, "month %d", i+1)
			require.Equal(t, m.Repeat, r.Repeat, "month %d", i+1)
			// Every lead's first touch is on a channel at its creation.
			assert.Zero(t, r.NewUnattributed, "month %d", i+1)
			news, revived, email := 0, 0, 0
			for _, c := range r.Channels {
				news += c.New
				revived += c.Revived
				if c.Key == sim.ChannelEmail {
					email = c.Revived
				}
			}
			assert.Equal(t, r.New, news, "month %d", i+1)
			assert.Equal(t, r.Earlier, revived+r.EarlierUnattributed, "month %d", i+1)
			// A recycled lead is nurtured by email and qualifies again:
			// email revived every repeat MQL (and maybe more).
			assert.GreaterOrEqual(t, email, m.Repeat, "month %d", i+1)
			t.Logf("month %d: %d MQLs, %d repeat, email revived %d", i+1, r.Leads, m.Repeat, email)
		}
	})

	t.Run("cycle instant", func(t *testing.T) {
		// A lead qualifies at an age drawn uniformly from [0, OldLeadAge)
		// for 1 - OldLeadShare of the leads: with a tenth of OldLeadAge as
		// the threshold, that share times 0.1 of the first MQLs are
		// "instant". Cohorts of leads created early enough are not cut
		// by the end of the run (journeys last under 2 x OldLeadAge).
		r, err := CycleTimes(in.timelines, in.visits, sim.StageMQL, CycleOptions{Start: FromCreated, Created: in.created, Cohort: leadkit.PeriodMonth, Instant: oldAge / 10})
		require.NoError(t, err)
		assert.Equal(t, r.Overall.N, r.Instants.Count+r.WithoutInstant.N)
		end := tr.Months[len(tr.Months)-1].Month.AddDate(0, 1, 0)
		instant, n := 0, 0
		for _, c := range r.Cohorts {
			if c.Start.AddDate(0, 1, 0).Add(2 * oldAge).After(end) {
				continue
			}
			instant += c.Instants.Count
			n += c.Instants.Base
		}
		require.Positive(t, n)
		p := (1 - tr.Effects.OldLeadShare) * 0.1
		se := math.Sqrt(p * (1 - p) / float64(n))
		share := float64(instant) / float64(n)
		t.Logf("instant share %.4f of %d, planted %.4f", share, n, p)
		assert.InDelta(t, p, share, 4*se)
	})

	t.Run("content phases", func(t *testing.T) {
		r, err := ContentPhases(in.timelines, in.visits, in.created, sim.StageMQL, ContentPhaseOptions{Order: classicOrder})
		require.NoError(t, err)
		assert.Zero(t, r.Unplaced)
		// Every lead's first touch comes at its creation.
		assert.Equal(t, tr.Leads, r.Acquisition.Leads)
		for _, c := range r.Content {
			switch {
			case c.Type && c.Key == leadkit.EventSDRCall:
				// The SDR calls the MQLs: sales enablement, every one.
				assert.Equal(t, tr.SDR.Calls, c.Sales.Touches)
				assert.Zero(t, c.Acquisition.Touches+c.Nurture.Touches)
			case c.Type && c.Key == sim.EventHandRaise:
				// The hand-raise is the MQL: a touch before it, followed
				// by it.
				assert.Equal(t, c.Nurture.Leads, c.Nurture.Converted.Count)
				assert.Zero(t, c.Sales.Touches)
			}
		}
		t.Logf("acquisition %+v\nnurture %+v\nsales %+v", r.Acquisition, r.Nurture, r.Sales)
	})

}

// The simulator recycles rejected MQLs through email nurture (one to four
// emails within 30 to 120 days) into MQL again, and a lead's first MQL
// comes before it is 2 x OldLeadAge old. So among the leads older than
// that at a month's start, those that converted in the month are recycled
// leads, every one touched by email in the 120 days before: OldLeadNurture
// must find all of them touched, against a minority of the others; and in
// the same business without recycling, no converters at all (no data, not
// NaN).
func TestOldLeadNurtureOnSim(t *testing.T) {
	zero := 0.0
	type sums struct{ conv, touched, other, otherTouched, repeats int }
	run := func(recycle *float64) sums {
		s, in := simInput(t, sim.Config{Seed: 32, Leads: 10000, RecycleRate: recycle})
		tr := s.Truth()
		js, err := Journeys(in.timelines, in.visits, in.created)
		require.NoError(t, err)
		var x sums
		for _, m := range tr.Months {
			a, err := NewOldLeadNurtureAccumulator(sim.StageMQL, OldLeadNurtureOptions{
				From: m.Month, To: m.Month.AddDate(0, 1, 0), Order: classicOrder,
				OldAge: 2 * time.Duration(tr.Effects.OldLeadAge), Lookback: 120 * leadkit.Day,
			})
			require.NoError(t, err)
			for _, j := range js {
				require.NoError(t, a.Add(j))
			}
			r := a.Result()
			noNaN(t, r)
			x.repeats += m.Repeat
			x.conv += r.Converted.Count
			x.other += r.OldLeads - r.Converted.Count
			for _, c := range r.Channels {
				if c.Key == sim.ChannelEmail {
					x.touched += c.Converted.Touched.Count
					x.otherTouched += c.NotConverted.Touched.Count
				}
			}
			if r.Converted.Count == 0 {
				assert.Nil(t, r.All.Converted.PerLead)
				assert.Nil(t, r.All.PerLeadRatio)
			}
		}
		return x
	}
	with := run(nil)
	t.Logf("with recycling: %d converters (of %d repeat MQLs), %d touched by email; others %d/%d", with.conv, with.repeats, with.touched, with.otherTouched, with.other)
	require.Greater(t, with.conv, 20)
	assert.LessOrEqual(t, with.conv, with.repeats, "the converters are recycled leads")
	assert.Equal(t, with.conv, with.touched, "every one nurtured by email")
	assert.Less(t, float64(with.otherTouched)/float64(with.other), 0.5)

	without := run(&zero)
	assert.Zero(t, without.conv)
	assert.Zero(t, without.repeats)
	assert.Positive(t, without.other)
}
