package sim_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/attribution"
	"github.com/leadkit/leadkit/sim"
)

// checkStream drains s, requiring time order, valid unique events, valid leads.
func checkStream(t *testing.T, s *sim.Sim) (n int) {
	t.Helper()
	ids := map[string]bool{}
	var last time.Time
	end := s.Config().Start.AddDate(0, s.Config().Months, 0)
	for r := range s.Records() {
		n++
		require.False(t, r.Time.Before(last), "time order")
		require.True(t, r.Time.Before(end), "inside the run")
		last = r.Time
		switch r.Kind {
		case sim.KindEvent:
			require.NoError(t, r.Event.Validate())
			require.False(t, ids[r.Event.ID], "dup id %s", r.Event.ID)
			ids[r.Event.ID] = true
		case sim.KindLead:
			require.NoError(t, r.Lead.Validate())
		}
	}
	return n
}

func runNoPanic(t *testing.T, cfg sim.Config) {
	t.Helper()
	s, err := sim.New(cfg)
	if err != nil {
		return // refusing is fine
	}
	func() {
		defer func() {
			if p := recover(); p != nil {
				t.Fatalf("New accepted %+v but Records panicked: %v", cfg.Start, p)
			}
		}()
		checkStream(t, s)
		s.Truth()
	}()
}

// A Start on any day of a month runs the month from its first day: the
// run's months are calendar months (a mid-month start once indexed past
// the last month's campaigns and panicked).
func TestStartAnyDayOfTheMonth(t *testing.T) {
	for _, start := range []time.Time{time.Date(2025, 1, 15, 0, 0, 0, 0, time.UTC), time.Date(2025, 1, 31, 13, 0, 0, 0, time.FixedZone("x", 3600))} {
		s, err := sim.New(sim.Config{Seed: 1, Leads: 300, Months: 3, Start: start})
		require.NoError(t, err)
		assert.Equal(t, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), s.Config().Start)
		runNoPanic(t, sim.Config{Seed: 1, Leads: 300, Months: 3, Start: start})
	}
}

// A run before 1970 books its SDR calls like any other (days before the
// epoch are negative: the calendar once started at day 0 and never
// reached them).
func TestSDRCallsBefore1970(t *testing.T) {
	s, err := sim.New(sim.Config{Seed: 1, Leads: 2000, Start: time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC)})
	require.NoError(t, err)
	checkStream(t, s)
	tr := s.Truth()
	mqls := 0
	for _, m := range tr.Months {
		mqls += m.MQLs
	}
	require.Greater(t, mqls, 20)
	assert.Greater(t, tr.SDR.Calls, mqls/2, "the MQLs of a 1960 run are called")
}

// Channel names the path table could not carry are refused, naming the
// channel; the longest allowed name still makes valid events (its
// campaigns add "-YYYY-MM").
func TestChannelNamesFitThePathTable(t *testing.T) {
	for _, name := range []string{"a;b", `say "hi"`, "x > y", "line\nbreak", " padded ", strings.Repeat("c", sim.MaxChannelNameBytes+1)} {
		chs := sim.DefaultChannels()
		chs[0].Name = name
		_, err := sim.New(sim.Config{Seed: 3, Leads: 300, Channels: chs})
		assert.ErrorIs(t, err, leadkit.ErrInvalid, "%q", name)
	}
	chs := sim.DefaultChannels()
	chs[1].Name = strings.Repeat("c", sim.MaxChannelNameBytes)
	s, err := sim.New(sim.Config{Seed: 1, Leads: 200, Channels: chs})
	require.NoError(t, err)
	checkStream(t, s)
	var buf bytes.Buffer
	require.NoError(t, s.WritePaths(&buf))
	_, err = attribution.ReadPaths(&buf, attribution.CSVOptions{})
	require.NoError(t, err)
}

// A channel mix that would rarely touch anyone is refused, not drawn
// again and again (a total of 1e-12 touches per lead hung New).
func TestTouchesTooFewRefused(t *testing.T) {
	chs := sim.DefaultChannels()[:1]
	chs[0].Touches = 1e-12
	golden := &sim.GoldenPath{Items: []string{leadkit.EventPageView}, LogOdds: 1}
	done := make(chan error, 1)
	go func() {
		_, err := sim.New(sim.Config{Seed: 1, Leads: 100, Channels: chs, Golden: golden})
		done <- err
	}()
	select {
	case err := <-done:
		assert.ErrorIs(t, err, leadkit.ErrInvalid)
		assert.ErrorContains(t, err, "at least 0.05")
	case <-time.After(10 * time.Second):
		t.Fatal("New did not return")
	}
	chs[0].Touches = sim.MinTouches
	s, err := sim.New(sim.Config{Seed: 1, Leads: 100, Channels: chs, Golden: golden})
	require.NoError(t, err)
	checkStream(t, s)
}

// The sales team's channels are not marketing's to name.
func TestSalesChannelNamesRefused(t *testing.T) {
	for _, name := range []string{sim.ChannelSDR, sim.ChannelSales} {
		chs := sim.DefaultChannels()
		chs[2].Name = name
		_, err := sim.New(sim.Config{Seed: 1, Leads: 100, Channels: chs})
		assert.ErrorIs(t, err, leadkit.ErrInvalid, name)
		assert.ErrorContains(t, err, "sales team's own", name)
	}
}

// Deals big enough to pass a path row's cap when they add up still make a
// table attribution.ReadPaths takes, with the same totals.
func TestWritePathsSplitsBigValues(t *testing.T) {
	one := 1.0
	cfg := sim.Config{Seed: 1, Leads: 5000, DealSize: 2.5e11,
		BaseRate: 0.9, AcceptRate: 0.9, SQLRate: 1, OpportunityRate: 1, WinRate: 1, RecycleRate: &one,
		Channels: []sim.Channel{{Name: "web", Touches: sim.MinTouches, Types: []string{leadkit.EventPageView}}},
		Golden:   &sim.GoldenPath{}}
	s, err := sim.New(cfg)
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, s.WritePaths(&buf))
	rows := strings.Count(buf.String(), "\n") - 1
	paths, err := attribution.ReadPaths(&buf, attribution.CSVOptions{})
	require.NoError(t, err)
	conv, value, _ := attribution.Totals(paths)
	assert.Equal(t, float64(s.Truth().Converted.Converted), conv)
	won := 0.0
	for r := range s.Records() {
		if r.Kind == sim.KindEvent && r.Event.Type == sim.EventDealWon {
			won += r.Event.Attrs["amount"].(float64)
		}
	}
	assert.Greater(t, won, 1e15, "the deals pass one row's cap")
	assert.InEpsilon(t, won, value, 1e-9)
	assert.Greater(t, rows, len(paths)-1, "the path took several rows")

	// A median deal over 1e12 with the largest band's factor is refused.
	cfg.DealSize = 5e11
	_, err = sim.New(cfg)
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.ErrorContains(t, err, "largest deal factor")
}

// The simulator's own event types (deals, the hand-raise) are no
// marketing touch, while sales activity types may be; an old-lead age
// under a second (truncated to 0, every lead old) is refused.
func TestReservedTypesAndTinyAgesRefused(t *testing.T) {
	for _, typ := range []string{sim.EventDealWon, sim.EventDealLost, sim.EventHandRaise} {
		chs := sim.DefaultChannels()
		chs[0].Types = append(chs[0].Types, typ)
		_, err := sim.New(sim.Config{Seed: 1, Leads: 100, Channels: chs})
		assert.ErrorIs(t, err, leadkit.ErrInvalid, typ)
		assert.ErrorContains(t, err, "simulator's own", typ)
	}
	chs := sim.DefaultChannels()
	chs = append(chs, sim.Channel{Name: "outbound", Touches: 1, Types: []string{leadkit.EventSDRCall, leadkit.EventMeeting, leadkit.EventSalesFollowUp}})
	s, err := sim.New(sim.Config{Seed: 1, Leads: 300, Channels: chs})
	require.NoError(t, err)
	checkStream(t, s)

	_, err = sim.New(sim.Config{Seed: 1, Leads: 100, OldLeadAge: leadkit.Duration(500 * time.Millisecond)})
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.ErrorContains(t, err, "old_lead_age")
	_, err = sim.New(sim.Config{Seed: 1, Leads: 100, OldLeadAge: leadkit.Duration(time.Second)})
	assert.NoError(t, err)
}
