package journey

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/stage"
)

// Key names the event field an analysis groups by.
type Key string

// Event fields to group by.
const (
	KeyType     Key = "type"
	KeyChannel  Key = "channel"
	KeyCampaign Key = "campaign"
	KeyContent  Key = "content"
)

func (k Key) valid() bool {
	switch k {
	case KeyType, KeyChannel, KeyCampaign, KeyContent:
		return true
	}
	return false
}

// Of returns e's value of the field k names ("" for an unknown key).
func (k Key) Of(e leadkit.Event) string {
	switch k {
	case KeyType:
		return e.Type
	case KeyChannel:
		return e.Channel
	case KeyCampaign:
		return e.Campaign
	case KeyContent:
		return e.Content
	}
	return ""
}

// Touch is one touch of a lead: the marketing-relevant fields of an event.
type Touch struct {
	EventID  string    `json:"event_id"`
	Type     string    `json:"type"`
	Channel  string    `json:"channel,omitempty"`
	Campaign string    `json:"campaign,omitempty"`
	Content  string    `json:"content,omitempty"`
	Time     time.Time `json:"time,omitzero"`
}

func touchOf(e leadkit.Event) Touch {
	return Touch{EventID: e.ID, Type: e.Type, Channel: e.Channel, Campaign: e.Campaign, Content: e.Content, Time: e.Time}
}

// FirstTouch returns the lead's first touch (its source: channel, campaign
// and time): the earliest event, the first listed on a tie. Events without a
// time are ignored; ok is false when there is none. tl need not be sorted.
func FirstTouch(tl Timeline) (t Touch, ok bool) {
	for _, e := range tl.Events {
		if !e.Time.IsZero() && (!ok || e.Time.Before(t.Time)) {
			t, ok = touchOf(e), true
		}
	}
	return t, ok
}

// LastTouch returns the lead's latest touch at or before until (any time
// when until is zero), the last listed on a tie.
func LastTouch(tl Timeline, until time.Time) (t Touch, ok bool) {
	for _, e := range tl.Events {
		if e.Time.IsZero() || (!until.IsZero() && e.Time.After(until)) {
			continue
		}
		if !ok || !e.Time.Before(t.Time) {
			t, ok = touchOf(e), true
		}
	}
	return t, ok
}

// TouchCounts summarises a lead's touches.
type TouchCounts struct {
	Total      int            `json:"total"`
	First      Touch          `json:"first,omitzero"` // zero when Total is 0
	Last       Touch          `json:"last,omitzero"`  // zero when Total is 0
	ByType     map[string]int `json:"by_type"`
	ByChannel  map[string]int `json:"by_channel"`
	ByCampaign map[string]int `json:"by_campaign"`
	ByContent  map[string]int `json:"by_content"`
}

// CountTouches counts the lead's touches at or before until (all when until
// is zero) by type, channel, campaign and content (empty values are not
// counted under a key), with the first and last of them. Events without a
// time are ignored.
func CountTouches(tl Timeline, until time.Time) TouchCounts {
	c := TouchCounts{ByType: map[string]int{}, ByChannel: map[string]int{}, ByCampaign: map[string]int{}, ByContent: map[string]int{}}
	var kept []leadkit.Event
	for _, e := range tl.Events {
		if e.Time.IsZero() || (!until.IsZero() && e.Time.After(until)) {
			continue
		}
		kept = append(kept, e)
		c.Total++
		inc(c.ByType, e.Type)
		inc(c.ByChannel, e.Channel)
		inc(c.ByCampaign, e.Campaign)
		inc(c.ByContent, e.Content)
	}
	c.First, _ = FirstTouch(Timeline{Events: kept})
	c.Last, _ = LastTouch(Timeline{Events: kept}, time.Time{})
	return c
}

func inc(m map[string]int, k string) {
	if k != "" {
		m[k]++
	}
}

// TypeShare is how common one touch type was in a group of leads.
type TypeShare struct {
	Type    string  `json:"type"`
	Leads   int     `json:"leads"`    // leads with at least one such touch
	Share   float64 `json:"share"`    // Leads / leads in the group
	Touches int     `json:"touches"`  // such touches in the group
	PerLead float64 `json:"per_lead"` // Touches / leads in the group
}

// TouchMixResult is the distribution of touch types over the leads that
// reached a stage, counting the touches each had before converting.
type TouchMixResult struct {
	Stage string      `json:"stage"`
	Leads int         `json:"leads"`
	Types []TypeShare `json:"types"` // by Leads, then Touches, descending, then Type
}

// touchMix accumulates type shares over a group of leads.
type touchMix struct {
	leads   int
	leadsBy map[string]int
	touches map[string]int
	seen    map[string]bool
}

func newTouchMix() *touchMix {
	return &touchMix{leadsBy: map[string]int{}, touches: map[string]int{}, seen: map[string]bool{}}
}

// touchesUntil is the number of tl's events touchMix.add counts: those
// with a time at or before until.
func (tl *Timeline) touchesUntil(until time.Time) int {
	n := 0
	for _, e := range tl.Events {
		if !e.Time.IsZero() && !e.Time.After(until) {
			n++
		}
	}
	return n
}

// add counts one lead's events at or before until.
func (m *touchMix) add(tl *Timeline, until time.Time) {
	m.leads++
	if tl == nil {
		return
	}
	clear(m.seen)
	for _, e := range tl.Events {
		if e.Time.IsZero() || e.Time.After(until) {
			continue
		}
		m.touches[e.Type]++
		if !m.seen[e.Type] {
			m.seen[e.Type] = true
			m.leadsBy[e.Type]++
		}
	}
}

// merge adds o's counts to m.
func (m *touchMix) merge(o *touchMix) {
	m.leads += o.leads
	for k, n := range o.leadsBy {
		m.leadsBy[k] += n
	}
	for k, n := range o.touches {
		m.touches[k] += n
	}
}

func (m *touchMix) shares() []TypeShare {
	out := make([]TypeShare, 0, len(m.touches))
	for _, typ := range slices.Sorted(maps.Keys(m.touches)) {
		out = append(out, TypeShare{
			Type: typ, Leads: m.leadsBy[typ], Share: ratio(m.leadsBy[typ], m.leads),
			Touches: m.touches[typ], PerLead: ratio(m.touches[typ], m.leads),
		})
	}
	slices.SortStableFunc(out, func(a, b TypeShare) int {
		if c := cmp.Compare(b.Leads, a.Leads); c != 0 {
			return c
		}
		return cmp.Compare(b.Touches, a.Touches)
	})
	return out
}

// TouchMix answers "what did our MQLs do before converting": over the leads
// with an entry into stage, the share that had each touch type at or before
// their first entry (a touch at the very time of the entry, such as the
// form that made the lead an MQL, counts). Leads with entries but no
// timeline count in Leads with no touches. Only entries into stage count;
// pass [stage.Reach] to include the leads that skipped it.
func TouchMix(timelines []Timeline, entries []stage.Visit, stage string) (TouchMixResult, error) {
	if stage == "" {
		return TouchMixResult{}, fmt.Errorf("journey: touch mix: %w: empty stage", leadkit.ErrInvalid)
	}
	var errs errorList
	first := firstEntries(entries, stage, time.Time{}, time.Time{}, &errs)
	idx := indexTimelines(timelines)
	mix := newTouchMix()
	for _, lead := range slices.Sorted(maps.Keys(first)) {
		mix.add(idx[lead], first[lead])
	}
	return TouchMixResult{Stage: stage, Leads: mix.leads, Types: mix.shares()}, errs.err()
}

// firstEntries maps each lead to its first entry into stage with
// from <= At < to (zero bounds are open).
func firstEntries(entries []stage.Visit, stage string, from, to time.Time, errs *errorList) map[string]time.Time {
	out := map[string]time.Time{}
	for i, e := range entries {
		if err := validVisit(i, e); err != nil {
			errs.add(err)
			continue
		}
		if e.Stage != stage || (!from.IsZero() && e.At.Before(from)) || (!to.IsZero() && !e.At.Before(to)) {
			continue
		}
		if t, ok := out[e.LeadID]; !ok || e.At.Before(t) {
			out[e.LeadID] = e.At
		}
	}
	return out
}

func indexTimelines(timelines []Timeline) map[string]*Timeline {
	idx := make(map[string]*Timeline, len(timelines))
	for i := range timelines {
		idx[timelines[i].LeadID] = &timelines[i]
	}
	return idx
}
