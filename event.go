package leadkit

import (
	"fmt"
	"time"
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

// Validate reports whether e can be stored: it needs an ID, a LeadID, a Type
// and a non-zero Time. The error wraps [ErrInvalid] and names the event and
// the field.
func (e Event) Validate() error {
	var field string
	switch {
	case e.ID == "":
		field = "id"
	case e.LeadID == "":
		field = "lead_id"
	case e.Type == "":
		field = "type"
	case e.Time.IsZero():
		field = "time"
	default:
		return nil
	}
	return fmt.Errorf("%w: event %q: missing %s", ErrInvalid, e.ID, field)
}
