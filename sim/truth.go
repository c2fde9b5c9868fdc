package sim

import (
	"slices"
	"strings"
	"time"

	"github.com/leadkit/leadkit"
)

// Truth is what the simulation planted and what it realised: the effects
// as configured, and the rates the data actually shows, computed from the
// same records Records emits (conversions that would fall after the end
// of the run are not conversions here, as they are not in the data).
// Estimators are checked against it.
type Truth struct {
	Seed uint64 `json:"seed"`
	// Leads, Events, Observations and StageChanges count the records.
	Leads        int `json:"leads"`
	Events       int `json:"events"`
	Observations int `json:"observations"`
	StageChanges int `json:"stage_changes"`
	// Effects are the planted effects.
	Effects Effects `json:"effects"`
	// Converted is the share of leads whose first journey reached MQL.
	Converted Rate `json:"converted"`
	// Golden compares the leads whose first journey held the golden path
	// with the others.
	Golden GoldenTruth `json:"golden"`
	// Channels compares, per channel, the leads it touched in their first
	// journey with the others.
	Channels []ChannelTruth `json:"channels"`
	// NoiseChannels are the channels with no effect (log-odds 0).
	NoiseChannels []string `json:"noise_channels"`
	// Seniority and Sizes compare the leads of each seniority level and
	// company-size band (in the Config's order). Their rates rise with the
	// planted log-odds, but the log-odds between the rates are smaller
	// than planted: each rate averages over the other effects, and
	// conversions that would fall after the end of the run are cut.
	Seniority []LevelTruth `json:"seniority"`
	Sizes     []SizeTruth  `json:"sizes"`
	// Months are the run's months in order.
	Months []MonthTruth `json:"months"`
	// SDR is the call team's load.
	SDR SDRTruth `json:"sdr"`
	// Sales is each sales rep's planted skill and realised qualification:
	// the SALs it worked (Leads) and qualified into SQL (Converted).
	Sales []RepTruth `json:"sales"`
}

// Effects are the planted effects on a lead's conversion log-odds: the
// log-odds of MQL is BaseLogOdds plus the seniority's, the size band's,
// each touching channel's and, if the journey holds it, the golden path's.
type Effects struct {
	BaseLogOdds float64         `json:"base_log_odds"`
	Seniority   []Level         `json:"seniority"`
	Sizes       []SizeBand      `json:"sizes"`
	Channels    []ChannelEffect `json:"channels"`
	Golden      GoldenPath      `json:"golden"`
	// OldLeadShare of first-time MQLs come from leads at least OldLeadAge
	// old (in steady months; see MonthTruth.Steady).
	OldLeadShare float64          `json:"old_lead_share"`
	OldLeadAge   leadkit.Duration `json:"old_lead_age"`
}

// ChannelEffect is one channel's planted effect.
type ChannelEffect struct {
	Channel string  `json:"channel"`
	LogOdds float64 `json:"log_odds"`
}

// Rate is a count of conversions among leads.
type Rate struct {
	Leads     int     `json:"leads"`
	Converted int     `json:"converted"`
	Rate      float64 `json:"rate"` // Converted / Leads, 0 without leads
}

func (r *Rate) add(conv bool) {
	r.Leads++
	if conv {
		r.Converted++
	}
}

func (r *Rate) finish() {
	if r.Leads > 0 {
		r.Rate = float64(r.Converted) / float64(r.Leads)
	}
}

// GoldenTruth is the realised effect of the golden path.
type GoldenTruth struct {
	Items []string `json:"items"`
	// With and Without split the leads by whether their first journey's
	// touches (as emitted) held the items in order.
	With    Rate `json:"with"`
	Without Rate `json:"without"`
	// RateRatio is With.Rate / Without.Rate (0 if Without.Rate is 0):
	// the realised rates, not the path's own effect. The leads that took
	// the path were touched by its items' channels, which have effects of
	// their own (with the default channels, a golden path of log-odds 0
	// still shows a ratio near 1.7), and the planted odds multiplier is
	// not a rate multiplier (odds x5 is about rate x3.7 at the default
	// base rate).
	RateRatio float64 `json:"rate_ratio"`
}

// ChannelTruth is one channel's realised touches, conversion and cost.
type ChannelTruth struct {
	Channel   string  `json:"channel"`
	LogOdds   float64 `json:"log_odds"`
	Touches   int     `json:"touches"`
	Touched   Rate    `json:"touched"`
	Untouched Rate    `json:"untouched"`
	Cost      float64 `json:"cost"`
}

// LevelTruth is the realised conversion of one seniority level.
type LevelTruth struct {
	Value   string  `json:"value"`
	LogOdds float64 `json:"log_odds"`
	Rate
}

// SizeTruth is the realised conversion of one company-size band.
type SizeTruth struct {
	Min     int     `json:"min"`
	Max     int     `json:"max"`
	LogOdds float64 `json:"log_odds"`
	Rate
}

// MonthTruth is one month of the run.
type MonthTruth struct {
	Month time.Time `json:"month"`
	// Steady months start at least 2*OldLeadAge after the run: their old
	// MQLs are not cut short by the start of the run, so their old share
	// is the planted one.
	Steady bool `json:"steady"`
	// Leads were created in the month; Touches are marketing touches.
	Leads   int `json:"leads"`
	Touches int `json:"touches"`
	// MQLs counts the leads that entered MQL in the month, each once, at
	// its first entry in the month (as journey.SourceAge counts them):
	// FirstTime never had before, Repeat had in an earlier month. Old of
	// them were at least OldLeadAge old at that entry, FirstTimeOld of
	// the first-time ones.
	MQLs              int     `json:"mqls"`
	FirstTime         int     `json:"first_time"`
	Repeat            int     `json:"repeat"`
	Old               int     `json:"old"`
	FirstTimeOld      int     `json:"first_time_old"`
	OldShare          float64 `json:"old_share"`            // Old / MQLs
	FirstTimeOldShare float64 `json:"first_time_old_share"` // FirstTimeOld / FirstTime
	// Calls made by the SDR team; Won deals closed and their Revenue.
	Calls   int     `json:"calls"`
	Won     int     `json:"won"`
	Revenue float64 `json:"revenue"`
	// Costs per channel, in channel order.
	Costs []ChannelCost `json:"costs"`
}

// ChannelCost is a channel's spend in a month.
type ChannelCost struct {
	Channel string  `json:"channel"`
	Touches int     `json:"touches"`
	Cost    float64 `json:"cost"`
}

// SDRTruth is the call team's realised load.
type SDRTruth struct {
	SDRs        int `json:"sdrs"`
	CallsPerDay int `json:"calls_per_day"` // per SDR
	Calls       int `json:"calls"`
	// MeanWaitDays and MaxWaitDays are the working days from MQL to call.
	MeanWaitDays float64 `json:"mean_wait_days"`
	MaxWaitDays  int     `json:"max_wait_days"`
	// Utilisation is Calls over the team's capacity on the run's working
	// days (SDRs x CallsPerDay x weekdays).
	Utilisation float64 `json:"utilisation"`
	// Team is each SDR's planted skill and realised acceptance: the MQLs
	// it called (Leads) and accepted into SAL (Converted).
	Team []RepTruth `json:"team"`
}

// RepTruth is one SDR's or sales rep's planted effect and what it
// realised.
type RepTruth struct {
	Name    string  `json:"name"`
	LogOdds float64 `json:"log_odds"`
	Rate
}

// tally accumulates the Truth during a pass.
type tally struct {
	t        Truth
	waitSum  int
	workdays int       // weekdays of the run
	cpt      []float64 // cost per touch by channel
	paths    map[string]*pathCount
	key      strings.Builder
}

type pathCount struct {
	conv, nulls int
	value       float64
}

func newTally(s *Sim, paths bool) *tally {
	c := &s.cfg
	t := &tally{t: Truth{Seed: c.Seed}}
	e := &t.t.Effects
	e.BaseLogOdds = s.base
	e.Seniority = append([]Level(nil), c.Seniority...)
	e.Sizes = append([]SizeBand(nil), c.Sizes...)
	e.Golden = GoldenPath{Items: append([]string(nil), c.Golden.Items...), LogOdds: c.Golden.LogOdds}
	e.OldLeadShare, e.OldLeadAge = *c.OldLeadShare, c.OldLeadAge
	t.t.Golden.Items = e.Golden.Items
	for _, ch := range c.Channels {
		e.Channels = append(e.Channels, ChannelEffect{Channel: ch.Name, LogOdds: ch.LogOdds})
		t.t.Channels = append(t.t.Channels, ChannelTruth{Channel: ch.Name, LogOdds: ch.LogOdds})
		t.cpt = append(t.cpt, ch.CostPerTouch)
		if ch.LogOdds == 0 {
			t.t.NoiseChannels = append(t.t.NoiseChannels, ch.Name)
		}
	}
	steadyFrom := c.Start.Add(2 * time.Duration(c.OldLeadAge))
	for m := range c.Months {
		mt := MonthTruth{Month: c.Start.AddDate(0, m, 0)}
		mt.Steady = !mt.Month.Before(steadyFrom)
		for _, ch := range c.Channels {
			mt.Costs = append(mt.Costs, ChannelCost{Channel: ch.Name, Cost: ch.MonthlyCost})
		}
		t.t.Months = append(t.t.Months, mt)
	}
	for _, l := range c.Seniority {
		t.t.Seniority = append(t.t.Seniority, LevelTruth{Value: l.Value, LogOdds: l.LogOdds})
	}
	for _, b := range c.Sizes {
		t.t.Sizes = append(t.t.Sizes, SizeTruth{Min: b.Min, Max: b.Max, LogOdds: b.LogOdds})
	}
	t.t.SDR = SDRTruth{SDRs: c.SDRs, CallsPerDay: c.CallsPerSDRPerDay}
	for i, name := range s.sdrNames {
		t.t.SDR.Team = append(t.t.SDR.Team, RepTruth{Name: name, LogOdds: skill(c.SDRSkill, i)})
	}
	for i, name := range s.repNames {
		t.t.Sales = append(t.t.Sales, RepTruth{Name: name, LogOdds: skill(c.SalesSkill, i)})
	}
	t.workdays = workdays(floorDiv(s.start, 86400), floorDiv(s.end+86399, 86400))
	if paths {
		t.paths = map[string]*pathCount{}
	}
	return t
}

func (t *tally) record(s *Sim, r *Record) {
	switch r.Kind {
	case KindLead:
		t.t.Leads++
		t.t.Months[s.month(r.Time.Unix())].Leads++
	case KindEvent:
		t.t.Events++
	case KindObservation:
		t.t.Observations++
	case KindStage:
		t.t.StageChanges++
	}
}

func (t *tally) touch(ch, m int) {
	t.t.Channels[ch].Touches++
	t.t.Months[m].Touches++
	t.t.Months[m].Costs[ch].Touches++
}

// mql counts an entry into MQL at time at, month m.
// It runs before the lead's mqlAt and mqlMonth are set.
func (t *tally) mql(l *lead, at int64, m int) {
	if l.mqlAt != 0 && l.mqlMonth == m {
		return // counted at its first entry this month
	}
	mt := &t.t.Months[m]
	mt.MQLs++
	old := at-l.created >= int64(time.Duration(t.t.Effects.OldLeadAge)/time.Second)
	if old {
		mt.Old++
	}
	if l.mqlAt == 0 {
		mt.FirstTime++
		if old {
			mt.FirstTimeOld++
		}
	} else {
		mt.Repeat++
	}
}

func (t *tally) call(wait, m int) {
	t.t.SDR.Calls++
	t.t.Months[m].Calls++
	t.waitSum += wait
	t.t.SDR.MaxWaitDays = max(t.t.SDR.MaxWaitDays, wait)
}

// screen counts an SDR's decision on an MQL it called.
func (t *tally) screen(sdr int, accepted bool) { t.t.SDR.Team[sdr].add(accepted) }

// sale counts a sales rep's decision on an SAL.
func (t *tally) sale(rep int, qualified bool) { t.t.Sales[rep].add(qualified) }

func (t *tally) won(amount float64, m int) {
	t.t.Months[m].Won++
	t.t.Months[m].Revenue += amount
}

// lead counts a finished lead's first journey.
func (t *tally) lead(s *Sim, l *lead) {
	conv := l.firstDone
	t.t.Converted.add(conv)
	t.t.Seniority[l.sen].add(conv)
	t.t.Sizes[l.size].add(conv)
	if len(s.golden) > 0 {
		if l.gi == len(s.golden) {
			t.t.Golden.With.add(conv)
		} else {
			t.t.Golden.Without.add(conv)
		}
	}
	for i := range t.t.Channels {
		if l.mask&(1<<i) != 0 {
			t.t.Channels[i].Touched.add(conv)
		} else {
			t.t.Channels[i].Untouched.add(conv)
		}
	}
	if t.paths != nil && len(l.path) > 0 {
		t.key.Reset()
		for i, ch := range l.path {
			if i > 0 {
				t.key.WriteString(" > ")
			}
			t.key.WriteString(s.chans[ch].name)
		}
		p := t.paths[t.key.String()]
		if p == nil {
			p = &pathCount{}
			t.paths[t.key.String()] = p
		}
		if conv {
			p.conv++
			p.value += l.won
		} else {
			p.nulls++
		}
	}
}

func (t *tally) finish() Truth {
	tr := t.t
	tr.Converted.finish()
	for i := range tr.SDR.Team {
		tr.SDR.Team[i].finish()
	}
	for i := range tr.Sales {
		tr.Sales[i].finish()
	}
	tr.Golden.With.finish()
	tr.Golden.Without.finish()
	if tr.Golden.Without.Rate > 0 {
		tr.Golden.RateRatio = tr.Golden.With.Rate / tr.Golden.Without.Rate
	}
	for i := range tr.Channels {
		ch := &tr.Channels[i]
		ch.Touched.finish()
		ch.Untouched.finish()
	}
	for i := range tr.Seniority {
		tr.Seniority[i].finish()
	}
	for i := range tr.Sizes {
		tr.Sizes[i].finish()
	}
	for i := range tr.Months {
		m := &tr.Months[i]
		if m.MQLs > 0 {
			m.OldShare = float64(m.Old) / float64(m.MQLs)
		}
		if m.FirstTime > 0 {
			m.FirstTimeOldShare = float64(m.FirstTimeOld) / float64(m.FirstTime)
		}
		for j := range m.Costs {
			c := &m.Costs[j]
			c.Cost += float64(float64(c.Touches) * t.cpt[j]) // rounded: no fused multiply-add
			tr.Channels[j].Cost += c.Cost
		}
	}
	if tr.SDR.Calls > 0 {
		tr.SDR.MeanWaitDays = float64(t.waitSum) / float64(tr.SDR.Calls)
	}
	if capacity := tr.SDR.SDRs * tr.SDR.CallsPerDay * t.workdays; capacity > 0 {
		tr.SDR.Utilisation = float64(tr.SDR.Calls) / float64(capacity)
	}
	return tr
}

// clone returns a copy of t that shares no slice with it.
func (t Truth) clone() Truth {
	e := &t.Effects
	e.Seniority = slices.Clone(e.Seniority)
	e.Sizes = slices.Clone(e.Sizes)
	e.Channels = slices.Clone(e.Channels)
	e.Golden.Items = slices.Clone(e.Golden.Items)
	t.Golden.Items = slices.Clone(t.Golden.Items)
	t.Channels = slices.Clone(t.Channels)
	t.NoiseChannels = slices.Clone(t.NoiseChannels)
	t.Seniority = slices.Clone(t.Seniority)
	t.Sizes = slices.Clone(t.Sizes)
	t.SDR.Team = slices.Clone(t.SDR.Team)
	t.Sales = slices.Clone(t.Sales)
	t.Months = slices.Clone(t.Months)
	for i := range t.Months {
		t.Months[i].Costs = slices.Clone(t.Months[i].Costs)
	}
	return t
}
