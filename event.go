package leadkit

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/leadkit/leadkit/internal/text"
)

// Common event types. Event.Type is free text, so tenants may use their own
// names; these constants only give the usual touches one spelling.
const (
	EventPageView          = "page_view"
	EventFormSubmitted     = "form_submitted"
	EventDownload          = "download"
	EventWebinarRegistered = "webinar_registered"
	EventWebinarAttended   = "webinar_attended"
	EventOfflineEvent      = "offline_event"
	EventEmailOpened       = "email_opened"
	EventEmailClicked      = "email_clicked"
	EventSDRCall           = "sdr_call"
	EventSalesFollowUp     = "sales_follow_up"
	EventMeeting           = "meeting"
	EventUnsubscribed      = "unsubscribed"
)

// Event is something a lead or prospect did, or that happened to it: a form
// submitted, a whitepaper downloaded, a webinar registered for or attended,
// an offline event, an email clicked, an SDR call, a sales follow-up.
//
// ID is the idempotency key: stores keep one event per ID, so delivering the
// same event twice is harmless. LeadID names the subject (a lead, a prospect
// or a contact). Time should be UTC; stores convert it.
type Event struct {
	ID       string         `json:"id"`
	LeadID   string         `json:"lead_id"`
	Type     string         `json:"type"`
	Channel  string         `json:"channel,omitempty"`
	Campaign string         `json:"campaign,omitempty"`
	Content  string         `json:"content,omitempty"`
	Time     time.Time      `json:"time"`
	Attrs    map[string]any `json:"attrs,omitempty"`
}

// Validate reports whether e can be stored. It needs an ID, a LeadID, a
// Type and a Time in [MinTime, MaxTime); every string must be valid UTF-8
// without NUL bytes and within its cap (IDs [MaxIDBytes]; Type, Channel and
// Campaign [MaxNameBytes]; Content [MaxStringBytes]); Attrs must hold at
// most [MaxAttrs] keys whose values are nil, bools, strings, finite numbers
// (see [Number]), times in range, or lists and maps of those nested at most
// [MaxAttrDepth] deep with at most [MaxListItems] items each; and the
// whole event must be at most [MaxEventBytes] (see there how it is
// counted). The error wraps [ErrInvalid] and names the event and the field.
func (e Event) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: event %q: %s", ErrInvalid, text.Clip(e.ID, 64), fmt.Sprintf(format, args...))
	}
	for _, f := range []struct {
		name, v  string
		max      int
		required bool
	}{
		{"id", e.ID, MaxIDBytes, true},
		{"lead_id", e.LeadID, MaxIDBytes, true},
		{"type", e.Type, MaxNameBytes, true},
		{"channel", e.Channel, MaxNameBytes, false},
		{"campaign", e.Campaign, MaxNameBytes, false},
		{"content", e.Content, MaxStringBytes, false},
	} {
		if f.v == "" {
			if f.required {
				return bad("missing %s", f.name)
			}
			continue
		}
		if msg := CheckText(f.v, f.max); msg != "" {
			return bad("%s %s", f.name, msg)
		}
	}
	if e.Time.IsZero() {
		return bad("missing time")
	}
	if !ValidTime(e.Time) {
		return bad("time %s is outside %s", e.Time.UTC().Format(time.RFC3339), TimeRange)
	}
	if len(e.Attrs) > MaxAttrs {
		return bad("%d attributes, the limit is %d", len(e.Attrs), MaxAttrs)
	}
	left := MaxEventBytes - len(e.ID) - len(e.LeadID) - len(e.Type) - len(e.Channel) - len(e.Campaign) - len(e.Content) - valueBytes
	for k, v := range e.Attrs {
		left -= jsonLen(k)
		if k == "" {
			return bad("attribute with an empty name")
		}
		if msg := CheckText(k, MaxNameBytes); msg != "" {
			return bad("attribute name %s", msg)
		}
		if msg := checkValue(v, 1, &left); msg != "" {
			return bad("attribute %q: %s", text.Clip(k, 64), msg)
		}
		if left < 0 {
			return bad("the event is over %d bytes (strings as JSON writes them, plus %d per other value, list and map) at attribute %q", MaxEventBytes, valueBytes, text.Clip(k, 64))
		}
	}
	return nil
}

// valueBytes is what a value other than a string counts toward
// MaxEventBytes, and what a list or map counts besides its items.
const valueBytes = 8

// jsonLen is the length of s as encoding/json writes it: quoted, with
// control characters, quotes, backslashes, <, >, & and U+2028/U+2029
// escaped. Attribute strings count this toward MaxEventBytes, so that the
// cap bounds what a JSON store keeps (a string of control bytes is six
// times longer there).
func jsonLen(s string) int {
	n := 2 + len(s)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\n' || c == '\r' || c == '\t' || c == '\b' || c == '\f' || c == '"' || c == '\\':
			n++
		case c < 0x20 || c == '<' || c == '>' || c == '&':
			n += 5
		case c == 0xe2 && i+2 < len(s) && s[i+1] == 0x80 && (s[i+2] == 0xa8 || s[i+2] == 0xa9):
			n += 3 // \u2028 is 6 bytes for 3
		}
	}
	return n
}

// ValidateID checks an ID a caller asks for (a lead ID to read, a subject
// ID): not empty, at most [MaxIDBytes], valid UTF-8 without NUL bytes. The
// error wraps [ErrInvalid] and names what (e.g. "lead ID"). Stores call it
// on reads so that every backend refuses the same IDs it could never have
// stored.
func ValidateID(what, id string) error {
	if id == "" {
		return fmt.Errorf("%w: %s is empty", ErrInvalid, what)
	}
	if msg := CheckText(id, MaxIDBytes); msg != "" {
		return fmt.Errorf("%w: %s %s", ErrInvalid, what, msg)
	}
	return nil
}

// CheckText returns "" when s is valid UTF-8 without NUL bytes and at most
// max bytes long, else what is wrong with it ("is 5000 bytes, the limit is
// 4096"). Every package checks user strings with it, so every backend
// accepts the same ones.
func CheckText(s string, max int) string {
	if len(s) > max {
		return fmt.Sprintf("is %d bytes, the limit is %d", len(s), max)
	}
	// One pass for the usual short ASCII names and IDs, eight bytes at a
	// time; the rest of a string with other characters is checked by the
	// standard library.
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		const lo, hi = 0x0101010101010101, 0x8080808080808080
		if x&hi != 0 || (x-lo)&^x&hi != 0 {
			break // a byte >= 0x80 or a zero byte: the loop below says which
		}
	}
	for ; i < len(s); i++ {
		switch c := s[i]; {
		case c == 0:
			return "contains a NUL byte"
		case c >= utf8.RuneSelf:
			if !utf8.ValidString(s[i:]) {
				return "is not valid UTF-8"
			}
			if strings.IndexByte(s[i:], 0) >= 0 {
				return "contains a NUL byte"
			}
			return ""
		}
	}
	return ""
}

// checkValue checks one attribute value at nesting depth d, counting its
// size against left (the event's remaining MaxEventBytes). It stops early
// once left is negative; the caller reports that.
func checkValue(v any, d int, left *int) string {
	if d > MaxAttrDepth {
		return fmt.Sprintf("nested more than %d deep", MaxAttrDepth)
	}
	if *left < 0 {
		return ""
	}
	switch x := v.(type) {
	case nil, bool:
		*left -= valueBytes
		return ""
	case string:
		*left -= jsonLen(x)
		return CheckText(x, MaxStringBytes)
	case time.Time:
		*left -= valueBytes
		if !ValidTime(x) {
			return fmt.Sprintf("time outside %s", TimeRange)
		}
		return ""
	case []string:
		if len(x) > MaxListItems {
			return fmt.Sprintf("list has %d items, the limit is %d", len(x), MaxListItems)
		}
		*left -= valueBytes
		for i, s := range x {
			*left -= jsonLen(s)
			if msg := CheckText(s, MaxStringBytes); msg != "" {
				return fmt.Sprintf("item %d %s", i+1, msg)
			}
		}
		return ""
	case []any:
		if len(x) > MaxListItems {
			return fmt.Sprintf("list has %d items, the limit is %d", len(x), MaxListItems)
		}
		*left -= valueBytes
		for i, y := range x {
			if msg := checkValue(y, d+1, left); msg != "" {
				return fmt.Sprintf("item %d: %s", i+1, msg)
			}
		}
		return ""
	case map[string]any:
		if len(x) > MaxListItems {
			return fmt.Sprintf("map has %d keys, the limit is %d", len(x), MaxListItems)
		}
		*left -= valueBytes
		for k, y := range x {
			*left -= jsonLen(k)
			if msg := CheckText(k, MaxNameBytes); msg != "" {
				return fmt.Sprintf("key %s", msg)
			}
			if msg := checkValue(y, d+1, left); msg != "" {
				return fmt.Sprintf("key %q: %s", text.Clip(k, 64), msg)
			}
		}
		return ""
	}
	if IsNumber(v) {
		if n, ok := v.(json.Number); ok {
			*left -= max(len(n), valueBytes) // written as its text
		} else {
			*left -= valueBytes
		}
		if _, err := Number(v); err != nil {
			return fmt.Sprintf("%v is not a finite number", v)
		}
		return ""
	}
	return fmt.Sprintf("unsupported value of type %T (want a string, number, bool, time, list or map)", v)
}

// NormalizeAttrs returns a deep copy of attrs in the shapes a JSON store
// gives back, so every store backend returns the same values: numbers
// (any Go number type or json.Number) as float64, times as RFC 3339 text in
// UTC, lists as []any and maps as map[string]any; strings, bools and nil as
// they are. Integers beyond 2^53 lose precision, as in JSON. Stores
// normalize on write and copy on read, so no caller shares a stored value.
// attrs should have passed [Event.Validate]; nil and empty attrs are nil.
func NormalizeAttrs(attrs map[string]any) map[string]any {
	if len(attrs) == 0 {
		return nil
	}
	out := make(map[string]any, len(attrs))
	for k, v := range attrs {
		out[k] = normalizeValue(v)
	}
	return out
}

func normalizeValue(v any) any {
	switch x := v.(type) {
	case nil, bool, string:
		return x
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case []string:
		out := make([]any, len(x))
		for i, s := range x {
			out[i] = s
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, y := range x {
			out[i] = normalizeValue(y)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, y := range x {
			out[k] = normalizeValue(y)
		}
		return out
	}
	if f, err := Number(v); err == nil {
		return f
	}
	return v
}

// ValidateEvents validates every event (see [Event.Validate]) and joins the
// errors, each prefixed with the event's index, so one call reports every
// bad event of a batch.
func ValidateEvents(events []Event) error {
	var errs []error
	for i, e := range events {
		if err := e.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("event %d: %w", i, err))
		}
	}
	return errors.Join(errs...)
}

// ValidEvents returns the events that pass [Event.Validate], in order, and
// the errors of the others as [ValidateEvents] reports them: stores keep the
// good events of a batch and report the bad ones. events is not modified.
func ValidEvents(events []Event) ([]Event, error) {
	var errs []error
	valid := make([]Event, 0, len(events))
	for i, e := range events {
		if err := e.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("event %d: %w", i, err))
			continue
		}
		valid = append(valid, e)
	}
	return valid, errors.Join(errs...)
}

// SortEvents sorts events stably by time: the order of a lead's timeline,
// in which events with the same time keep their order.
func SortEvents(events []Event) {
	slices.SortStableFunc(events, func(a, b Event) int {
		return a.Time.Compare(b.Time)
	})
}
