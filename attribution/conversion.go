package attribution

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/text"
	"github.com/leadkit/leadkit/journey"
)

// TouchKey says what a touch is credited to.
type TouchKey string

// Touch keys: the event field whose value names the credited item.
const (
	ByChannel  TouchKey = "channel" // Event.Channel (the default)
	ByCampaign TouchKey = "campaign"
	ByContent  TouchKey = "content"
)

// Validate reports whether k is one of the touch keys ("" means channel).
func (k TouchKey) Validate() error {
	switch k {
	case "", ByChannel, ByCampaign, ByContent:
		return nil
	}
	return fmt.Errorf("attribution: %w: touch key %q: want channel, campaign or content", leadkit.ErrInvalid, text.Clip(string(k), 32))
}

// UnmarshalText reads a touch key, refusing any other value (a typo such
// as "campain" would otherwise fail only when the conversion is used).
func (k *TouchKey) UnmarshalText(b []byte) error {
	v := TouchKey(b)
	if err := v.Validate(); err != nil {
		return err
	}
	*k = v
	return nil
}

// DefaultNoTouch is the channel name given to leads without any touch in
// their window (see [Conversion.NoTouch]).
const DefaultNoTouch = "(none)"

// Conversion says how a [journey.Timeline] is cut into a journey: which
// event is the conversion being credited, which events are touches and how
// far back they count.
//
// The rules:
//   - The conversion is the first event whose Type is in Types (and not after
//     AsOf). Later events, conversions included, are ignored: one timeline is
//     one journey.
//   - A touch is an event at or before the conversion event (in timeline
//     order) whose key field (Key: channel by default) is non-empty and, if
//     TouchTypes is set, whose Type is in TouchTypes. The conversion event
//     itself is a touch when it has a key (a form fill from a webinar).
//   - With a Lookback, only touches at most Lookback before the end of the
//     journey count (the bound included). The end is the conversion's time,
//     or for a lead that did not convert AsOf, or if AsOf is zero the time of
//     its last event. Every model then sees only the touches inside the
//     window: "first touch" ([FirstTouch], the first-touch role of the
//     milestone models, the first position of [PositionBased]) means the
//     first touch inside the window, not the lead's first touch ever.
//   - A lead with no touch left gets the single touch NoTouch, so that every
//     lead is counted: nothing is silently dropped.
//   - The conversion value is the number in the conversion event's Attrs
//     under ValueAttr, read by the number rule of every leadkit package
//     ([leadkit.Number]: any Go integer or float, or a json.Number; a string
//     such as "5" is not a number); with no ValueAttr the value is 0. A
//     missing, non-numeric, negative or infinite value, or one over
//     [MaxPathCount], is an error for that lead.
//   - A lead whose timeline cannot be used is reported
//     (*[TimelineError]) and left out: an event without a time or with a
//     time outside [leadkit.MinTime, leadkit.MaxTime), a touch key (the
//     channel, campaign or content) that is not valid UTF-8, holds a NUL
//     byte or is longer than [leadkit.MaxNameBytes], or more than
//     [MaxPathTouches] touches in the window (set a Lookback or
//     TouchTypes).
//
// In JSON and YAML the lookback is text in leadkit's duration grammar
// ("14d", "2w", "36h"; see [leadkit.ParseDuration]); a bare number and an
// unknown key are errors.
type Conversion struct {
	// Types are the event types that mark the conversion. Required.
	Types []string `json:"types"`
	// TouchTypes restricts touches to these event types; empty means every
	// event with a key.
	TouchTypes []string `json:"touch_types,omitempty"`
	// Key is the event field touches are credited to; "" means channel.
	Key TouchKey `json:"key,omitempty"`
	// Lookback bounds how old a touch may be; 0 means no bound. At most
	// [leadkit.MaxDuration].
	Lookback time.Duration `json:"lookback,omitempty"`
	// AsOf ignores events after it; zero means no bound.
	AsOf time.Time `json:"as_of,omitzero"`
	// ValueAttr names the conversion event attribute holding its value.
	ValueAttr string `json:"value_attr,omitempty"`
	// NoTouch names the touch of a lead without touches; "" means
	// [DefaultNoTouch].
	NoTouch string `json:"no_touch,omitempty"`
}

// Validate reports every problem of the specification at once.
func (c Conversion) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("attribution: conversion: %w: "+format, append([]any{leadkit.ErrInvalid}, args...)...))
	}
	if len(c.Types) == 0 {
		bad("no conversion event types")
	}
	if slices.Contains(c.Types, "") {
		bad("empty conversion event type")
	}
	for _, l := range []struct {
		name  string
		types []string
	}{{"types", c.Types}, {"touch_types", c.TouchTypes}} {
		if len(l.types) > leadkit.MaxListItems {
			bad("%d %s, at most %d", len(l.types), l.name, leadkit.MaxListItems)
			continue
		}
		for _, t := range l.types {
			if msg := leadkit.CheckText(t, leadkit.MaxNameBytes); msg != "" {
				bad("%s: event type %q %s", l.name, text.Clip(t, 32), msg)
			}
		}
	}
	for _, f := range []struct{ name, v string }{{"value_attr", c.ValueAttr}, {"no_touch", c.NoTouch}} {
		if msg := leadkit.CheckText(f.v, leadkit.MaxNameBytes); msg != "" {
			bad("%s %q %s", f.name, text.Clip(f.v, 32), msg)
		}
	}
	if c.Key.Validate() != nil {
		bad("unknown key %q (want channel, campaign or content)", text.Clip(string(c.Key), 32))
	}
	if c.Lookback < 0 || c.Lookback > leadkit.MaxDuration {
		bad("lookback %s, want 0 to %s", leadkit.FormatDuration(c.Lookback), leadkit.FormatDuration(leadkit.MaxDuration))
	}
	if !c.AsOf.IsZero() && !leadkit.ValidTime(c.AsOf) {
		bad("as_of %s is outside %s", c.AsOf.UTC().Format(time.RFC3339), leadkit.TimeRange)
	}
	return errors.Join(errs...)
}

// touch is one credited touch of a cut journey.
type touch struct {
	key   string
	time  time.Time
	event int // index in the (sorted) events
}

// journeyCut is a timeline cut at its conversion.
type journeyCut struct {
	touches   []touch
	converted bool
	value     float64
	end       time.Time       // conversion time, or end of the window
	events    []leadkit.Event // sorted events up to the conversion
	convIndex int             // index of the conversion event, or -1
}

// cut applies the Conversion rules to one timeline. touches reuses buf.
func (c Conversion) cut(tl journey.Timeline, buf []touch) (journeyCut, error) {
	evs := tl.Events
	for i, e := range evs {
		if e.Time.IsZero() {
			return journeyCut{}, &TimelineError{LeadID: tl.LeadID, Event: e.ID, Reason: fmt.Sprintf("event %d has no time", i)}
		}
		if !leadkit.ValidTime(e.Time) {
			return journeyCut{}, &TimelineError{LeadID: tl.LeadID, Event: e.ID,
				Reason: fmt.Sprintf("event %d: time %s is outside %s", i, e.Time.UTC().Format(time.RFC3339), leadkit.TimeRange)}
		}
	}
	if !slices.IsSortedFunc(evs, func(a, b leadkit.Event) int { return a.Time.Compare(b.Time) }) {
		evs = slices.Clone(evs)
		leadkit.SortEvents(evs)
	}
	if !c.AsOf.IsZero() {
		n := 0
		for n < len(evs) && !evs[n].Time.After(c.AsOf) {
			n++
		}
		evs = evs[:n]
	}
	j := journeyCut{convIndex: -1}
	last := len(evs) - 1
	for i, e := range evs {
		if slices.Contains(c.Types, e.Type) {
			j.converted, j.convIndex, last = true, i, i
			break
		}
	}
	switch {
	case j.converted:
		j.end = evs[last].Time
	case !c.AsOf.IsZero():
		j.end = c.AsOf
	case last >= 0:
		j.end = evs[last].Time
	}
	j.events = evs[:last+1]
	if j.converted && c.ValueAttr != "" {
		e := evs[last]
		v, err := numericAttr(e.Attrs, c.ValueAttr)
		if err != nil {
			return journeyCut{}, &TimelineError{LeadID: tl.LeadID, Event: e.ID, Reason: err.Error()}
		}
		j.value = v
	}
	touches := buf[:0]
	for i, e := range j.events {
		k := c.keyOf(e)
		if k == "" || (len(c.TouchTypes) > 0 && !slices.Contains(c.TouchTypes, e.Type)) {
			continue
		}
		if c.Lookback > 0 && j.end.Sub(e.Time) > c.Lookback {
			continue
		}
		if !channelOK(k) {
			return journeyCut{}, &TimelineError{LeadID: tl.LeadID, Event: e.ID, Reason: fmt.Sprintf("%s %s", c.keyName(), strings.TrimPrefix(badChannel(k), "channel "))}
		}
		if len(touches) == MaxPathTouches {
			return journeyCut{}, &TimelineError{LeadID: tl.LeadID,
				Reason: fmt.Sprintf("more than %d touches (MaxPathTouches): set a lookback or touch types", MaxPathTouches)}
		}
		touches = append(touches, touch{key: k, time: e.Time, event: i})
	}
	j.touches = touches
	return j, nil
}

func (c Conversion) keyOf(e leadkit.Event) string {
	switch c.Key {
	case ByCampaign:
		return e.Campaign
	case ByContent:
		return e.Content
	}
	return e.Channel
}

// keyName names the key field for error messages.
func (c Conversion) keyName() string {
	if c.Key == "" {
		return string(ByChannel)
	}
	return string(c.Key)
}

func (c Conversion) noTouch() string {
	if c.NoTouch == "" {
		return DefaultNoTouch
	}
	return c.NoTouch
}

// numericAttr reads the conversion value under name by [leadkit.Number].
func numericAttr(attrs map[string]any, name string) (float64, error) {
	raw, ok := attrs[name]
	if !ok {
		return 0, fmt.Errorf("value attribute %q missing", name)
	}
	v, err := leadkit.Number(raw)
	if err != nil {
		return 0, fmt.Errorf("value attribute %q: %s", name, strings.TrimPrefix(err.Error(), leadkit.ErrInvalid.Error()+": "))
	}
	if !countOK(v) {
		return 0, fmt.Errorf("value attribute %q: %s", name, badCount(v))
	}
	return v, nil
}

// PathsFromTimelines reduces event-level journeys to aggregated paths: each
// timeline is cut at its conversion by the rules of [Conversion] and its
// touches' keys become a path; identical paths are summed into one (in order
// of first appearance). A converted lead adds 1 conversion and its value, a
// lead that did not convert adds 1 null.
//
// A timeline that cannot be used (see [Conversion]) is reported in the
// error, an errors.Join of *[TimelineError]s (the first 20, then a count);
// the paths of the other timelines are still returned. A path whose leads
// sum to more than [MaxPathCount] (values near the cap on many leads) is
// reported and left out, so that every path returned is valid.
func PathsFromTimelines(timelines []journey.Timeline, conv Conversion) ([]Path, error) {
	if err := conv.Validate(); err != nil {
		return nil, err
	}
	var (
		paths []Path
		index = map[string]int{}
		key   []byte
		buf   []touch
		errs  errorList
	)
	for _, tl := range timelines {
		j, err := conv.cut(tl, buf)
		if err != nil {
			errs.add(err)
			continue
		}
		buf = j.touches
		key = key[:0]
		for _, t := range j.touches {
			key = append(key, t.key...)
			key = append(key, 0)
		}
		if len(j.touches) == 0 {
			key = append(key, conv.noTouch()...)
			key = append(key, 0)
		}
		i, ok := index[string(key)]
		if !ok {
			i = len(paths)
			index[string(key)] = i
			ch := make([]string, 0, max(1, len(j.touches)))
			for _, t := range j.touches {
				ch = append(ch, t.key)
			}
			if len(ch) == 0 {
				ch = append(ch, conv.noTouch())
			}
			paths = append(paths, Path{Channels: ch})
		}
		if j.converted {
			paths[i].Conversions++
			paths[i].Value += j.value
		} else {
			paths[i].Nulls++
		}
	}
	// A path sums the values of its leads: each is at most MaxPathCount,
	// their sum may not be. Such a path is reported and left out, so that
	// every path returned is valid.
	kept := paths[:0]
	for _, p := range paths {
		if !countOK(p.Value) || !countOK(p.Conversions) || !countOK(p.Nulls) {
			errs.add(fmt.Errorf("attribution: %w: the leads of path %q sum to %g conversions, %g value and %g nulls, over the cap of %g (MaxPathCount)", leadkit.ErrInvalid,
				text.Clip(p.String(), 64), p.Conversions, p.Value, p.Nulls, float64(MaxPathCount)))
			continue
		}
		kept = append(kept, p)
	}
	return kept, errs.err("timeline errors")
}
