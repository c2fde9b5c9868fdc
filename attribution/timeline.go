package attribution

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/leadkit/leadkit"
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

// DefaultNoTouch is the channel name given to leads without any touch in
// their window (see [Conversion.NoTouch]).
const DefaultNoTouch = "(none)"

// Milestone event types used when [Milestones] leaves a list empty.
const (
	EventLeadCreated        = "lead_created"
	EventOpportunityCreated = "opportunity_created"
	EventClosedWon          = "closed_won"
)

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
//     under ValueAttr (float, integer, json.Number or numeric string); with no
//     ValueAttr the value is 0. A missing, non-numeric, negative or NaN value
//     is an error for that lead.
type Conversion struct {
	// Types are the event types that mark the conversion. Required.
	Types []string `json:"types"`
	// TouchTypes restricts touches to these event types; empty means every
	// event with a key.
	TouchTypes []string `json:"touch_types,omitempty"`
	// Key is the event field touches are credited to; "" means channel.
	Key TouchKey `json:"key,omitempty"`
	// Lookback bounds how old a touch may be; 0 means no bound.
	Lookback time.Duration `json:"lookback,omitempty"`
	// AsOf ignores events after it; zero means no bound.
	AsOf time.Time `json:"as_of,omitempty"`
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
		errs = append(errs, fmt.Errorf("attribution: conversion: "+format+": %w", append(args, leadkit.ErrInvalid)...))
	}
	if len(c.Types) == 0 {
		bad("no conversion event types")
	}
	if slices.Contains(c.Types, "") {
		bad("empty conversion event type")
	}
	switch c.Key {
	case "", ByChannel, ByCampaign, ByContent:
	default:
		bad("unknown key %q (want channel, campaign or content)", c.Key)
	}
	if c.Lookback < 0 {
		bad("negative lookback %v", c.Lookback)
	}
	return errors.Join(errs...)
}

// TimelineError reports a timeline that could not be used: the lead and the
// reason. It wraps [leadkit.ErrInvalid].
type TimelineError struct {
	LeadID string
	// Event is the ID of the offending event, if any.
	Event  string
	Reason string
}

// Error implements the error interface.
func (e *TimelineError) Error() string {
	if e.Event != "" {
		return fmt.Sprintf("attribution: lead %q: event %q: %s", e.LeadID, e.Event, e.Reason)
	}
	return fmt.Sprintf("attribution: lead %q: %s", e.LeadID, e.Reason)
}

// Unwrap returns [leadkit.ErrInvalid].
func (e *TimelineError) Unwrap() error { return leadkit.ErrInvalid }

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

func (c Conversion) noTouch() string {
	if c.NoTouch == "" {
		return DefaultNoTouch
	}
	return c.NoTouch
}

func numericAttr(attrs map[string]any, name string) (float64, error) {
	raw, ok := attrs[name]
	if !ok {
		return 0, fmt.Errorf("value attribute %q missing", name)
	}
	var v float64
	switch x := raw.(type) {
	case float64:
		v = x
	case float32:
		v = float64(x)
	case int:
		v = float64(x)
	case int32:
		v = float64(x)
	case int64:
		v = float64(x)
	case uint:
		v = float64(x)
	case uint32:
		v = float64(x)
	case uint64:
		v = float64(x)
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return 0, fmt.Errorf("value attribute %q: %q is not a number", name, x)
		}
		v = f
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err != nil {
			return 0, fmt.Errorf("value attribute %q: %q is not a number", name, x)
		}
		v = f
	default:
		return 0, fmt.Errorf("value attribute %q: %T is not a number", name, raw)
	}
	if r := badCount(v); r != "" {
		return 0, fmt.Errorf("value attribute %q: %s", name, r)
	}
	return v, nil
}

// PathsFromTimelines reduces event-level journeys to aggregated paths: each
// timeline is cut at its conversion by the rules of [Conversion] and its
// touches' keys become a path; identical paths are summed into one (in order
// of first appearance). A converted lead adds 1 conversion and its value, a
// lead that did not convert adds 1 null.
//
// A timeline that cannot be used (an event without time, a bad value) is
// reported in the error, an errors.Join of *[TimelineError]s (the first 20,
// then a count); the paths of the other timelines are still returned.
func PathsFromTimelines(timelines []journey.Timeline, conv Conversion) ([]Path, error) {
	if err := conv.Validate(); err != nil {
		return nil, err
	}
	var (
		paths []Path
		index = map[string]int{}
		key   []byte
		buf   []touch
		errs  timelineErrors
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
	return paths, errs.err()
}

// timelineErrors collects per-lead errors, at most 20 one by one.
type timelineErrors struct {
	errs []error
	more int
}

func (t *timelineErrors) add(err error) {
	if len(t.errs) < maxPathErrors {
		t.errs = append(t.errs, err)
	} else {
		t.more++
	}
}

func (t *timelineErrors) err() error {
	if t.more > 0 {
		t.errs = append(t.errs, fmt.Errorf("attribution: %d more timeline errors: %w", t.more, leadkit.ErrInvalid))
	}
	return errors.Join(t.errs...)
}

// TimelineModel credits converted journeys from their event-level
// timelines, using touch times or milestones that paths do not carry.
// Timelines that did not convert get no credit. The result conserves
// credit: its conversions sum to the number of converted timelines used
// and its value to their total value. A timeline that cannot be used is
// reported in the error (as by [PathsFromTimelines]) and the result covers
// the others. Models are plain values, safe for concurrent use.
type TimelineModel interface {
	AttributeTimelines(timelines []journey.Timeline, conv Conversion) (Result, error)
}

var (
	_ TimelineModel = TimeDecay{}
	_ TimelineModel = UShaped{}
	_ TimelineModel = WShaped{}
	_ TimelineModel = FullPath{}
	_ TimelineModel = CustomRoles{}
)

// DefaultHalfLife is the half-life of [TimeDecay] when none is set.
const DefaultHalfLife = 7 * 24 * time.Hour

// TimeDecay weighs each touch by 2^(-dt/HalfLife), dt being the time from
// the touch to the conversion (continuous decay), and splits each
// conversion in proportion to the weights. Only the ratios of the weights
// matter, so they are computed relative to the latest touch,
// 2^(-(t_latest - t_i)/HalfLife), which cannot underflow for every touch
// at once: touches years old with a half-life of a day still split by their
// ages, not equally.
type TimeDecay struct {
	// HalfLife is the age at which a touch weighs half as much as one at
	// the conversion; 0 means 7 days.
	HalfLife time.Duration `json:"half_life,omitempty"`
}

// AttributeTimelines implements [TimelineModel].
func (m TimeDecay) AttributeTimelines(timelines []journey.Timeline, conv Conversion) (Result, error) {
	if m.HalfLife < 0 {
		return Result{}, fmt.Errorf("attribution: time decay: negative half-life %v: %w", m.HalfLife, leadkit.ErrInvalid)
	}
	h := m.HalfLife
	if h == 0 {
		h = DefaultHalfLife
	}
	return attributeTimelines(timelines, conv, func(j *journeyCut, w []float64) {
		latest := j.touches[0].time
		for _, t := range j.touches[1:] {
			if t.time.After(latest) {
				latest = t.time
			}
		}
		for i, t := range j.touches {
			dt := latest.Sub(t.time)
			w[i] = math.Exp2(-float64(dt) / float64(h))
		}
	})
}

// attributeTimelines cuts every timeline, asks weigh for the weights of the
// touches of each converted journey (w has one zeroed slot per touch),
// normalises them and credits the conversion and its value. Journeys with
// no touch credit NoTouch.
func attributeTimelines(timelines []journey.Timeline, conv Conversion, weigh func(j *journeyCut, w []float64)) (Result, error) {
	if err := conv.Validate(); err != nil {
		return Result{}, err
	}
	s := newCreditSheet()
	var (
		buf  []touch
		w    []float64
		errs timelineErrors
	)
	one := Path{Conversions: 1}
	for _, tl := range timelines {
		j, err := conv.cut(tl, buf)
		if err != nil {
			errs.add(err)
			continue
		}
		buf = j.touches
		if !j.converted {
			continue
		}
		one.Value = j.value
		if len(j.touches) == 0 {
			s.give(s.id(conv.noTouch()), 1, &one)
			continue
		}
		w = slices.Grow(w[:0], len(j.touches))[:len(j.touches)]
		clear(w)
		weigh(&j, w)
		var total float64
		for _, x := range w {
			total += x
		}
		if !(total > 0) || math.IsInf(total, 0) {
			// No usable weight: fall back to an equal split.
			for i := range w {
				w[i] = 1
			}
			total = float64(len(w))
		}
		for i, t := range j.touches {
			if w[i] == 0 {
				continue
			}
			s.give(s.id(t.key), w[i]/total, &one)
		}
	}
	return s.result(), errs.err()
}
