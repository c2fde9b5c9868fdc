package sim

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/spec"
)

// Config describes the simulated business and the effects planted in it.
// It is data: every field has a JSON tag, and the zero value is a working
// default business (see the field comments for each default). New
// validates it and reports every problem at once.
//
// Fields whose zero value is a meaningful setting (a share of 0, no golden
// path) are pointers or lists: nil means the default.
type Config struct {
	// Seed selects the data: the same Config gives the same records, in
	// the same order, on every machine.
	Seed uint64 `json:"seed"`
	// Leads is the number of leads created over the run (default 1000, at
	// most MaxLeads). Creation times are uniform over the run.
	Leads int `json:"leads,omitempty"`
	// Accounts is the number of companies the leads work for (default
	// Leads/4, at least 1).
	Accounts int `json:"accounts,omitempty"`
	// Start is the first instant of the run (default 2025-01-01 UTC); it
	// is moved to the first day of its month in UTC (the run's months are
	// calendar months, which costs and campaigns follow).
	Start time.Time `json:"start,omitzero"`
	// Months is the length of the run (default 12, at most MaxMonths).
	// Nothing is emitted at or after Start + Months.
	Months int `json:"months,omitempty"`

	// BaseRate is the probability that a lead with every effect at zero
	// (the reference seniority and size, no channel, no golden path)
	// reaches MQL (default 0.03; in (0, 1)).
	BaseRate float64 `json:"base_rate,omitempty"`
	// Channels are the marketing channels and their effects (nil:
	// DefaultChannels). A channel with LogOdds 0 is pure noise: its
	// touches do not change conversion.
	Channels []Channel `json:"channels,omitempty"`
	// Seniority levels of people, with their shares and effects (nil:
	// DefaultSeniority).
	Seniority []Level `json:"seniority,omitempty"`
	// Sizes are company-size bands with their shares and effects (nil:
	// DefaultSizes).
	Sizes []SizeBand `json:"sizes,omitempty"`
	// Golden is the planted golden path (nil: DefaultGolden, webinar
	// attended then download, log-odds ln 5). A non-nil value with no
	// items plants none.
	Golden *GoldenPath `json:"golden,omitempty"`

	// OldLeadShare is the planted share of first-time MQLs that come from
	// leads older than OldLeadAge when they qualify (nil: 0.4). The lead's
	// age at MQL is drawn uniformly from [OldLeadAge, 2*OldLeadAge) for
	// that share, from [0, OldLeadAge) for the rest, independently of
	// everything else, so the share holds in every month that starts at
	// least 2*OldLeadAge after Start.
	OldLeadShare *float64 `json:"old_lead_share,omitempty"`
	// OldLeadAge is the age from which a lead counts as old (default 90d).
	OldLeadAge leadkit.Duration `json:"old_lead_age,omitempty"`

	// FreeMailShare is the share of people whose main address is at a
	// free-mail provider (nil: 0.2).
	FreeMailShare *float64 `json:"free_mail_share,omitempty"`
	// NoPhoneShare is the share of people without a phone number (nil:
	// 0.35).
	NoPhoneShare *float64 `json:"no_phone_share,omitempty"`
	// DuplicateShare is the share of people who use a second, free-mail
	// address in the webinar and content channels: the pool sees two
	// prospects until something links them (a form filled in on the
	// website carries the browser's device ID with the address, so the
	// second address joins the person's visits; the main address joins
	// them only through a form of its own) (nil: 0.15).
	DuplicateShare *float64 `json:"duplicate_share,omitempty"`

	// SDRs is the size of the SDR team that calls every MQL (default: the
	// smallest team, at least one SDR, whose utilisation at the planned
	// MQL rate is at most 80%; the run starts empty and cuts conversions
	// past its end, so the realised utilisation, which Truth.SDR reports,
	// is lower: about 60% on a 12-month run of 200,000 leads).
	SDRs int `json:"sdrs,omitempty"`
	// CallsPerSDRPerDay is each SDR's capacity on a working day (default
	// 40). MQLs wait for the first free call slot; calls past the end of
	// the run are not made.
	CallsPerSDRPerDay int `json:"calls_per_sdr_per_day,omitempty"`
	// AcceptRate is the probability that an MQL called the day it
	// qualified is accepted (SAL) (default 0.6; in (0, 1)).
	AcceptRate float64 `json:"accept_rate,omitempty"`
	// WaitLogOdds is added to the log-odds of acceptance per working day
	// an MQL waited for its call (nil: -0.15; speed to lead matters).
	WaitLogOdds *float64 `json:"wait_log_odds,omitempty"`
	// SDRSkill plants each SDR's effect on acceptance: SDRSkill[i] is
	// added to the log-odds that an MQL the SDR named "sdr-<i+1>" calls is
	// accepted (a weak screener: -1). Calls go to the SDRs in turn. Missing entries are 0; more entries than SDRs is an error (with
	// SDRs automatic, the team has at least len(SDRSkill) SDRs).
	SDRSkill []float64 `json:"sdr_skill,omitempty"`
	// SalesReps is the number of account executives who work accepted
	// leads, named "ae-1", "ae-2"... (default 4, at most 10000); leads go to
	// them in turn by creation order.
	SalesReps int `json:"sales_reps,omitempty"`
	// SalesSkill[i] is added to the log-odds that an SAL of rep "ae-<i+1>"
	// becomes an SQL. Missing entries are 0; more entries than reps is an
	// error (with SalesReps 0, there are at least len(SalesSkill) reps).
	SalesSkill []float64 `json:"sales_skill,omitempty"`
	// RecycleRate is the probability that a rejected MQL is nurtured
	// (one to four emails over one to four months, by the channel named
	// ChannelEmail, or the first channel if none is) and qualifies again,
	// once (nil: 0.3).
	RecycleRate *float64 `json:"recycle_rate,omitempty"`
	// SQLRate, OpportunityRate and WinRate are the stage conversion
	// probabilities after SAL (defaults 0.5, 0.6 and 0.3; in (0, 1]).
	SQLRate         float64 `json:"sql_rate,omitempty"`
	OpportunityRate float64 `json:"opportunity_rate,omitempty"`
	WinRate         float64 `json:"win_rate,omitempty"`
	// DealSize is the median deal amount at the smallest size band
	// (default 20000); bigger bands multiply it by their DealFactor.
	DealSize float64 `json:"deal_size,omitempty"`
}

// ParseConfig reads a Config from JSON or YAML, refusing unknown keys (a
// misspelt "leeds" is an error, not a silent default) with errors
// wrapping leadkit.ErrInvalid; durations are text ("90d"). New validates
// the values.
func ParseConfig(data []byte) (Config, error) {
	var c Config
	if err := spec.Parse(data, &c); err != nil {
		return Config{}, spec.Prefixed("sim: config: ", err)
	}
	return c, nil
}

// Channel is a marketing channel: how often it touches a lead, what its
// touches are, what they do to conversion and what they cost.
type Channel struct {
	// Name is the event channel ("webinar").
	Name string `json:"name"`
	// Touches is the mean number of touches per lead (Poisson); each
	// channel's count is drawn independently, and drawn again (every
	// channel's) when a lead would have none, so the realised means are a
	// little higher (Truth counts them).
	Touches float64 `json:"touches"`
	// Types are the event types of its touches, drawn uniformly (repeat a
	// type to weigh it).
	Types []string `json:"types"`
	// LogOdds is added to a lead's conversion log-odds when the channel
	// touched it (once, however many touches). 0 makes it noise.
	LogOdds float64 `json:"log_odds"`
	// CostPerTouch and MonthlyCost make the channel's cost per month.
	CostPerTouch float64 `json:"cost_per_touch,omitempty"`
	MonthlyCost  float64 `json:"monthly_cost,omitempty"`
}

// Level is one value of a categorical profile field with its share of
// people and its effect on conversion log-odds.
type Level struct {
	Value   string  `json:"value"`
	Share   float64 `json:"share"`
	LogOdds float64 `json:"log_odds"`
}

// SizeBand is a company-size band: employees in [Min, Max], its share of
// accounts, its effect on conversion log-odds and the factor on deal size.
type SizeBand struct {
	Min        int     `json:"min"`
	Max        int     `json:"max"`
	Share      float64 `json:"share"`
	LogOdds    float64 `json:"log_odds"`
	DealFactor float64 `json:"deal_factor,omitempty"` // 0 means 1
}

// GoldenPath is a planted sequence of event types: a lead whose touches
// contain Items in this order (other touches between allowed) gets
// LogOdds added to its conversion log-odds.
type GoldenPath struct {
	Items   []string `json:"items"`
	LogOdds float64  `json:"log_odds"`
}

// Caps on a Config.
const (
	// MaxChannelNameBytes caps a channel's name: its campaigns are the
	// name and "-YYYY-MM", within leadkit.MaxNameBytes.
	MaxChannelNameBytes = leadkit.MaxNameBytes - len("-2006-01")
	// MaxLeads caps Config.Leads.
	MaxLeads = 50_000_000
	// MaxDealAmount caps a simulated deal's amount (the median deal is at
	// most 1e12: DealSize times the largest DealFactor), so that a deal
	// and a path table's values stay within attribution's caps.
	MaxDealAmount = 1e14
	// MinTouches is the least total of the channels' Touches: a lead has
	// at least one touch (its draw is repeated until it has one), so a
	// total near 0 would draw almost forever.
	MinTouches = 0.05
	// MaxMonths caps Config.Months.
	MaxMonths = 120
	// MaxChannels caps Config.Channels.
	MaxChannels = 64
	// MaxTypes caps the distinct event types of all channels.
	MaxTypes = 250
	// MaxGoldenItems caps GoldenPath.Items.
	MaxGoldenItems = 16
	// MaxLogOdds caps the absolute value of every effect.
	MaxLogOdds = 20
)

// Channel names of DefaultChannels.
const (
	ChannelWebsite       = "website"
	ChannelEmail         = "email"
	ChannelSocial        = "social"
	ChannelPaidSearch    = "paid_search"
	ChannelContent       = "content"
	ChannelWebinar       = "webinar"
	ChannelOfflineEvent  = "offline_event"
	ChannelPurchasedList = "purchased_list"
)

// salesTypes are the event types whose meaning the simulator owns (deals
// carry amounts, a hand-raise comes with an MQL), which no channel may
// send as a marketing touch. Sales activity types (calls, meetings,
// follow-ups) may: an outbound channel touches leads with them.
var salesTypes = []string{EventDealWon, EventDealLost, EventHandRaise}

// Channels of the sales team's own events (SDR calls; sales follow-ups,
// meetings and deals). No marketing channel may take these names.
const (
	ChannelSDR   = "sdr"
	ChannelSales = "sales"
)

// Event types the simulator emits besides the leadkit constants.
const (
	// EventDealWon closes a won deal; its "amount" attribute is the deal
	// amount.
	EventDealWon = "deal_won"
	// EventDealLost closes a lost deal; "amount" is what it would have been.
	EventDealLost = "deal_lost"
	// EventHandRaise is the lead asking for sales (a demo or contact-sales
	// request) at the instant it becomes an MQL, first time or again after
	// nurture. It has no channel: it is the conversion, not a touch, so
	// attribution and channel paths pass over it.
	EventHandRaise = "demo_requested"
)

// DefaultChannels is the default channel mix: seven channels that raise
// conversion and one, purchased_list, that is pure noise.
func DefaultChannels() []Channel {
	return []Channel{
		{Name: ChannelWebsite, Touches: 2, Types: []string{leadkit.EventPageView, leadkit.EventPageView, leadkit.EventFormSubmitted}, LogOdds: 0.2, CostPerTouch: 0.5, MonthlyCost: 2000},
		{Name: ChannelEmail, Touches: 1.5, Types: []string{leadkit.EventEmailOpened, leadkit.EventEmailOpened, leadkit.EventEmailClicked}, LogOdds: 0.3, CostPerTouch: 0.05, MonthlyCost: 500},
		{Name: ChannelSocial, Touches: 0.6, Types: []string{leadkit.EventPageView}, LogOdds: 0.25, CostPerTouch: 2, MonthlyCost: 1000},
		{Name: ChannelPaidSearch, Touches: 0.6, Types: []string{leadkit.EventPageView}, LogOdds: 0.3, CostPerTouch: 4},
		{Name: ChannelContent, Touches: 0.8, Types: []string{leadkit.EventDownload}, LogOdds: 0.4, CostPerTouch: 1, MonthlyCost: 3000},
		{Name: ChannelWebinar, Touches: 0.8, Types: []string{leadkit.EventWebinarRegistered, leadkit.EventWebinarAttended}, LogOdds: 0.5, CostPerTouch: 3, MonthlyCost: 4000},
		{Name: ChannelOfflineEvent, Touches: 0.4, Types: []string{leadkit.EventOfflineEvent}, LogOdds: 0.6, CostPerTouch: 40, MonthlyCost: 10000},
		{Name: ChannelPurchasedList, Touches: 0.3, Types: []string{leadkit.EventEmailOpened}, LogOdds: 0, CostPerTouch: 1.5, MonthlyCost: 1500},
	}
}

// DefaultSeniority is the default seniority mix; "individual" is the
// reference (log-odds 0).
func DefaultSeniority() []Level {
	return []Level{
		{Value: "individual", Share: 0.45, LogOdds: 0},
		{Value: "manager", Share: 0.30, LogOdds: 0.4},
		{Value: "director", Share: 0.15, LogOdds: 0.8},
		{Value: "vp", Share: 0.07, LogOdds: 1.2},
		{Value: "c_level", Share: 0.03, LogOdds: 1.5},
	}
}

// DefaultSizes is the default company-size mix; the smallest band is the
// reference.
func DefaultSizes() []SizeBand {
	return []SizeBand{
		{Min: 1, Max: 49, Share: 0.4, LogOdds: 0, DealFactor: 1},
		{Min: 50, Max: 249, Share: 0.3, LogOdds: 0.3, DealFactor: 1.6},
		{Min: 250, Max: 999, Share: 0.2, LogOdds: 0.6, DealFactor: 2.5},
		{Min: 1000, Max: 20000, Share: 0.1, LogOdds: 0.9, DealFactor: 4},
	}
}

// DefaultGolden is the default planted path: a webinar attended, then a
// download, multiplying the odds of conversion by 5.
func DefaultGolden() GoldenPath {
	return GoldenPath{Items: []string{leadkit.EventWebinarAttended, leadkit.EventDownload}, LogOdds: math.Log(5)}
}

func ptr[T any](v T) *T { return &v }

// withDefaults returns c with every default filled in; lists are copied.
func (c Config) withDefaults() Config {
	if c.Leads == 0 {
		c.Leads = 1000
	}
	if c.Accounts == 0 {
		c.Accounts = max(1, c.Leads/4)
	}
	if c.Start.IsZero() {
		c.Start = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	y, mo, _ := c.Start.UTC().Date()
	c.Start = time.Date(y, mo, 1, 0, 0, 0, 0, time.UTC)
	if c.Months == 0 {
		c.Months = 12
	}
	if c.BaseRate == 0 {
		c.BaseRate = 0.03
	}
	if c.Channels == nil {
		c.Channels = DefaultChannels()
	} else {
		c.Channels = clone(c.Channels)
	}
	if c.Seniority == nil {
		c.Seniority = DefaultSeniority()
	} else {
		c.Seniority = append([]Level(nil), c.Seniority...)
	}
	if c.Sizes == nil {
		c.Sizes = DefaultSizes()
	} else {
		c.Sizes = append([]SizeBand(nil), c.Sizes...)
	}
	if c.Golden == nil {
		c.Golden = ptr(DefaultGolden())
	} else {
		c.Golden = &GoldenPath{Items: append([]string(nil), c.Golden.Items...), LogOdds: c.Golden.LogOdds}
	}
	for _, f := range []struct {
		p   **float64
		def float64
	}{
		{&c.OldLeadShare, 0.4}, {&c.FreeMailShare, 0.2}, {&c.NoPhoneShare, 0.35},
		{&c.DuplicateShare, 0.15}, {&c.WaitLogOdds, -0.15}, {&c.RecycleRate, 0.3},
	} {
		if *f.p == nil {
			*f.p = ptr(f.def)
		} else {
			*f.p = ptr(**f.p)
		}
	}
	if c.OldLeadAge == 0 {
		c.OldLeadAge = leadkit.Duration(90 * 24 * time.Hour)
	}
	if c.CallsPerSDRPerDay == 0 {
		c.CallsPerSDRPerDay = 40
	}
	c.SDRSkill = append([]float64(nil), c.SDRSkill...)
	c.SalesSkill = append([]float64(nil), c.SalesSkill...)
	if c.SalesReps == 0 {
		c.SalesReps = max(4, len(c.SalesSkill))
	}
	if c.AcceptRate == 0 {
		c.AcceptRate = 0.6
	}
	if c.SQLRate == 0 {
		c.SQLRate = 0.5
	}
	if c.OpportunityRate == 0 {
		c.OpportunityRate = 0.6
	}
	if c.WinRate == 0 {
		c.WinRate = 0.3
	}
	if c.DealSize == 0 {
		c.DealSize = 20000
	}
	// SDRs is filled in by New, which knows the expected MQL rate.
	return c
}

func clone(chs []Channel) []Channel {
	out := make([]Channel, len(chs))
	for i, ch := range chs {
		ch.Types = append([]string(nil), ch.Types...)
		out[i] = ch
	}
	return out
}

// validate checks a Config with its defaults filled in and returns every
// problem, each wrapping leadkit.ErrInvalid.
func (c Config) validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("sim: config: %w: "+format, append([]any{leadkit.ErrInvalid}, args...)...))
	}
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	effect := func(what string, v float64) {
		if !finite(v) || math.Abs(v) > MaxLogOdds {
			bad("%s: log-odds %v, want a finite number within ±%d", what, v, MaxLogOdds)
		}
	}
	prob := func(what string, v float64, openLow, openHigh bool) {
		if !finite(v) || v < 0 || v > 1 || (openLow && v == 0) || (openHigh && v == 1) {
			bad("%s %v is not a probability", what, v)
		}
	}
	if c.Leads < 0 || c.Leads > MaxLeads {
		bad("leads %d, want 1 to %d", c.Leads, MaxLeads)
	}
	if c.Accounts < 0 {
		bad("accounts %d is negative", c.Accounts)
	}
	if c.Months < 0 || c.Months > MaxMonths {
		bad("months %d, want 1 to %d", c.Months, MaxMonths)
	}
	if !leadkit.ValidTime(c.Start) || !leadkit.ValidTime(c.Start.AddDate(0, c.Months+12, 0)) {
		bad("start %s: the run and the year after it (the simulator schedules sales steps up to a year ahead) must fall in %s", c.Start.Format(time.RFC3339), leadkit.TimeRange)
	}
	prob("base_rate", c.BaseRate, true, true)
	if len(c.Channels) == 0 || len(c.Channels) > MaxChannels {
		bad("%d channels, want 1 to %d", len(c.Channels), MaxChannels)
	}
	seen := map[string]bool{}
	types := map[string]bool{}
	total := 0.0
	for i, ch := range c.Channels {
		where := fmt.Sprintf("channel %d (%q)", i+1, ch.Name)
		if ch.Name == "" {
			bad("channel %d has no name", i+1)
		} else if msg := leadkit.CheckText(ch.Name, MaxChannelNameBytes); msg != "" {
			bad("channel %d name %s", i+1, msg)
		} else if strings.ContainsAny(ch.Name, ">;\"\r\n\t") || strings.TrimSpace(ch.Name) != ch.Name {
			bad("%s: a channel name has no >, ;, quote, line break or tab, and no space at either end (the path table writes paths as \"a > b\" in ;-separated columns)", where)
		} else if seen[ch.Name] {
			bad("%s named twice", where)
		} else if ch.Name == ChannelSDR || ch.Name == ChannelSales {
			bad("%s: the name is the sales team's own (its calls, follow-ups and deals)", where)
		}
		seen[ch.Name] = true
		if !finite(ch.Touches) || ch.Touches < 0 || ch.Touches > 100 {
			bad("%s: touches %v, want 0 to 100", where, ch.Touches)
		} else {
			total += ch.Touches
		}
		if len(ch.Types) == 0 {
			bad("%s has no event types", where)
		}
		for j, t := range ch.Types {
			if t == "" {
				bad("%s: type %d is empty", where, j+1)
			} else if msg := leadkit.CheckText(t, leadkit.MaxNameBytes); msg != "" {
				bad("%s: type %d %s", where, j+1, msg)
			} else if slices.Contains(salesTypes, t) {
				bad("%s: type %q is the simulator's own (deals and the hand-raise), not a marketing touch", where, t)
			}
			types[t] = true
		}
		effect(where, ch.LogOdds)
		if !finite(ch.CostPerTouch) || ch.CostPerTouch < 0 || !finite(ch.MonthlyCost) || ch.MonthlyCost < 0 {
			bad("%s: costs must be finite and not negative", where)
		}
	}
	if len(c.Channels) > 0 && total < MinTouches {
		bad("the channels' touches add up to %v, at least %v (every lead has a touch)", total, MinTouches)
	}
	if len(types) > MaxTypes {
		bad("%d event types, at most %d", len(types), MaxTypes)
	}
	checkShares := func(what string, n int, share func(int) float64) {
		if n == 0 {
			bad("%s: none given", what)
			return
		}
		sum := 0.0
		for i := range n {
			s := share(i)
			if !finite(s) || s < 0 {
				bad("%s %d: share %v is not a non-negative number", what, i+1, s)
				continue
			}
			sum += s
		}
		if sum <= 0 {
			bad("%s: the shares add up to 0", what)
		}
	}
	checkShares("seniority", len(c.Seniority), func(i int) float64 { return c.Seniority[i].Share })
	levels := map[string]bool{}
	for i, l := range c.Seniority {
		if l.Value == "" || leadkit.CheckText(l.Value, leadkit.MaxNameBytes) != "" {
			bad("seniority %d: value %q is not a name", i+1, l.Value)
		} else if levels[l.Value] {
			bad("seniority %d: %q given twice", i+1, l.Value)
		}
		levels[l.Value] = true
		effect(fmt.Sprintf("seniority %q", l.Value), l.LogOdds)
	}
	checkShares("size band", len(c.Sizes), func(i int) float64 { return c.Sizes[i].Share })
	for i, b := range c.Sizes {
		where := fmt.Sprintf("size band %d (%d-%d)", i+1, b.Min, b.Max)
		if b.Min < 1 || b.Max < b.Min || b.Max > 10_000_000 {
			bad("%s: want 1 <= min <= max <= 10000000", where)
		}
		if i > 0 && b.Min <= c.Sizes[i-1].Max {
			bad("%s overlaps the band before", where)
		}
		effect(where, b.LogOdds)
		if !finite(b.DealFactor) || b.DealFactor < 0 || b.DealFactor > 1000 {
			bad("%s: deal factor %v, want 0 to 1000", where, b.DealFactor)
		}
	}
	if g := c.Golden; g != nil {
		if len(g.Items) > MaxGoldenItems {
			bad("golden path: %d items, at most %d", len(g.Items), MaxGoldenItems)
		}
		for i, it := range g.Items {
			if !types[it] {
				bad("golden path: item %d (%q) is no channel's event type, so the path never occurs", i+1, it)
			}
		}
		effect("golden path", g.LogOdds)
	}
	prob("old_lead_share", *c.OldLeadShare, false, false)
	if c.OldLeadAge < 0 || time.Duration(c.OldLeadAge) > 5*365*24*time.Hour || (c.OldLeadAge > 0 && c.OldLeadAge < leadkit.Duration(time.Second)) {
		bad("old_lead_age %s, want 1s to 5 years (0: the default)", c.OldLeadAge)
	}
	prob("free_mail_share", *c.FreeMailShare, false, false)
	prob("no_phone_share", *c.NoPhoneShare, false, false)
	prob("duplicate_share", *c.DuplicateShare, false, false)
	if c.SDRs < 0 || c.SDRs > 100_000 {
		bad("sdrs %d, want 0 (automatic) to 100000", c.SDRs)
	}
	if c.CallsPerSDRPerDay < 0 || c.CallsPerSDRPerDay > 1000 {
		bad("calls_per_sdr_per_day %d, want 1 to 1000", c.CallsPerSDRPerDay)
	}
	prob("accept_rate", c.AcceptRate, true, true)
	if w := *c.WaitLogOdds; !finite(w) || math.Abs(w) > MaxLogOdds {
		bad("wait_log_odds %v, want a finite number within ±%d", w, MaxLogOdds)
	}
	if len(c.SDRSkill) > 100_000 || (c.SDRs > 0 && len(c.SDRSkill) > c.SDRs) {
		bad("sdr_skill has %d entries for %d SDRs", len(c.SDRSkill), c.SDRs)
	} else {
		for i, v := range c.SDRSkill {
			effect(fmt.Sprintf("sdr_skill[%d]", i), v)
		}
	}
	if c.SalesReps < 0 || c.SalesReps > 10_000 {
		bad("sales_reps %d, want 0 (default 4) to 10000", c.SalesReps)
	} else if len(c.SalesSkill) > c.SalesReps {
		bad("sales_skill has %d entries for %d sales reps", len(c.SalesSkill), c.SalesReps)
	} else {
		for i, v := range c.SalesSkill {
			effect(fmt.Sprintf("sales_skill[%d]", i), v)
		}
	}
	prob("recycle_rate", *c.RecycleRate, false, false)
	prob("sql_rate", c.SQLRate, true, false)
	prob("opportunity_rate", c.OpportunityRate, true, false)
	prob("win_rate", c.WinRate, true, false)
	if !finite(c.DealSize) || c.DealSize <= 0 || c.DealSize > 1e12 {
		bad("deal_size %v, want a positive amount up to 1e12", c.DealSize)
	} else if f := maxDealFactor(c.Sizes); c.DealSize*f > 1e12 {
		bad("deal_size %v times the largest deal factor %v is over 1e12 (a deal is at most MaxDealAmount)", c.DealSize, f)
	}
	return errors.Join(errs...)
}

// maxDealFactor is the largest deal factor of the size bands (0 is 1).
func maxDealFactor(sizes []SizeBand) float64 {
	f := 1.0
	for _, b := range sizes {
		f = max(f, b.DealFactor)
	}
	return f
}
