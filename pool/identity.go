package pool

import (
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/nyaruka/phonenumbers"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/text"
)

// IdentityKind is the kind of an identity: how a prospect was seen.
type IdentityKind string

// The identity kinds. Values are normalised by [Normalize].
const (
	// Email is an e-mail address, trimmed and lower-cased.
	Email IdentityKind = "email"
	// Phone is a phone number in E.164 form ("+8613800138000"), with
	// ";ext=N" appended when the input named an extension.
	Phone IdentityKind = "phone"
	// Social is an account at a social network or messenger, written
	// "provider:id" ("wechat:o6_bmjrPTlm6_2sgVt7hMZOPfL2M",
	// "linkedin:ACoAAB..."): the provider lower-cased, the id kept as is.
	Social IdentityKind = "social"
	// Device is a cookie or device ID, kept as is after trimming.
	Device IdentityKind = "device"
	// CRM is a record in another system, written "system:id"
	// ("salesforce:00Q5e000001AbCdEAK"): the system lower-cased, the id
	// kept as is.
	CRM IdentityKind = "crm"
	// Subject is the ID under which a system sends the person's events
	// (leadkit.Event.LeadID; the subject of package lifecycle), kept
	// exactly as given: it is an ID, not text to clean. A prospect has at
	// most one, and graduates into a lead of that ID by default (see
	// Options.LeadID), so events name one person the same way before and
	// after it becomes a lead.
	Subject IdentityKind = "subject"
)

// Valid reports whether k is one of the identity kinds.
func (k IdentityKind) Valid() bool {
	switch k {
	case Email, Phone, Social, Device, CRM, Subject:
		return true
	}
	return false
}

// Identity is one normalised way to recognise a prospect. Build it with
// [Normalize]. An identity whose value could not be normalised is kept,
// with Invalid saying why, so that nothing a prospect gave is lost; it is
// never used to match (see [Identity.Key]).
type Identity struct {
	Kind  IdentityKind `json:"kind"`
	Value string       `json:"value"`
	// Invalid is empty for a normalised value, else why the value could
	// not be normalised ("phone: not a valid number"); Value then holds
	// the input with surrounding white space removed.
	Invalid string `json:"invalid,omitempty"`
}

// Key returns the index key "kind:value" under which identities are
// resolved, and false for an identity that must not be used to match: an
// invalid one, one of an unknown kind or one with an empty value.
func (i Identity) Key() (string, bool) {
	if i.Invalid != "" || !i.Kind.Valid() || i.Value == "" {
		return "", false
	}
	return string(i.Kind) + ":" + i.Value, true
}

// ValidRegion reports whether region can be the default region of
// [Normalize]: an ISO 3166-1 alpha-2 code with phone numbering metadata
// ("US", "CN", "DE"; any case), or "" for none. Check a configured region
// with it once, up front.
func ValidRegion(region string) bool {
	return region == "" || phonenumbers.GetSupportedRegions()[strings.ToUpper(region)]
}

// Normalize returns value as an identity of the kind, normalised so that
// the same person given twice yields the same value:
//
//   - [Email]: trimmed and lower-cased; it must have one @, a non-empty
//     local part, a domain with a dot and no empty label, and no white
//     space or control characters.
//   - [Phone]: parsed by libphonenumber (github.com/nyaruka/phonenumbers)
//     and written in E.164; a number not in international form ("+...")
//     is read as dialled from defaultRegion (see [ValidRegion]; "" means
//     every number must be in international form). An extension is kept
//     as ";ext=N": it is a different line.
//   - [Social] and [CRM]: "provider:id" split at the first ':', both parts
//     trimmed and required, the provider lower-cased.
//   - [Device]: trimmed.
//   - [Subject]: kept exactly (an ID with surrounding white space is
//     flagged invalid, not trimmed into another ID).
//
// Every value must be valid UTF-8 without NUL bytes and at most
// [leadkit.MaxIDBytes] long. A value that fails is returned trimmed, with
// Invalid saying why; an unknown kind is flagged the same way. Normalize
// never panics, and a valid result normalises to itself.
func Normalize(kind IdentityKind, value string, defaultRegion string) Identity {
	id := Identity{Kind: kind, Value: strings.TrimSpace(value)}
	if kind == Subject && id.Value != value && id.Value != "" {
		id.Invalid = "subject: has surrounding white space"
		return id
	}
	if !kind.Valid() {
		id.Invalid = fmt.Sprintf("unknown identity kind %q", text.Clip(string(kind), 64))
		return id
	}
	if id.Value == "" {
		id.Invalid = string(kind) + ": is empty"
		return id
	}
	if msg := leadkit.CheckText(id.Value, leadkit.MaxIDBytes); msg != "" {
		id.Invalid = string(kind) + ": " + msg
		return id
	}
	var out, msg string
	switch kind {
	case Email:
		out, msg = normEmail(id.Value)
	case Phone:
		out, msg = normPhone(id.Value, defaultRegion)
	case Social:
		out, msg = normPair(id.Value, "provider")
	case CRM:
		out, msg = normPair(id.Value, "system")
	case Device, Subject:
		out = id.Value
	}
	if msg == "" {
		// Lower-casing can lengthen a value ("Ⱥ" is 2 bytes, "ⱥ" 3).
		msg = leadkit.CheckText(out, leadkit.MaxIDBytes)
	}
	if msg != "" {
		id.Invalid = string(kind) + ": " + msg
		return id
	}
	id.Value = out
	return id
}

// normEmail lower-cases an e-mail address and checks its shape. s is
// trimmed, valid UTF-8.
func normEmail(s string) (string, string) {
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return "", "contains white space or a control character"
		}
	}
	at := strings.IndexByte(s, '@')
	switch {
	case at < 0:
		return "", "no @"
	case strings.Count(s, "@") > 1:
		return "", "more than one @"
	case at == 0:
		return "", "empty local part"
	}
	domain := s[at+1:]
	if !strings.Contains(domain, ".") {
		return "", "the domain has no dot"
	}
	for _, label := range strings.Split(domain, ".") {
		if label == "" {
			return "", "the domain has an empty label"
		}
	}
	return strings.ToLower(s), ""
}

// normPhone writes a phone number in E.164. s is trimmed, valid UTF-8 and
// at most MaxIDBytes long.
func normPhone(s, region string) (string, string) {
	if !ValidRegion(region) {
		return "", fmt.Sprintf("default region %q is not an ISO 3166 alpha-2 code with phone numbering data", text.Clip(region, 64))
	}
	n, err := phonenumbers.Parse(s, strings.ToUpper(region))
	switch {
	case errors.Is(err, phonenumbers.ErrInvalidCountryCode) && region == "" && !strings.ContainsAny(s, "+\uff0b"):
		return "", "not in international form (+...) and no default region"
	case err != nil:
		return "", err.Error()
	}
	if !phonenumbers.IsValidNumber(n) {
		if region == "" {
			return "", "not a valid number"
		}
		return "", "not a valid number for region " + strings.ToUpper(region)
	}
	out := phonenumbers.Format(n, phonenumbers.E164)
	if ext := n.GetExtension(); ext != "" {
		out += ";ext=" + ext
	}
	return out, ""
}

// normPair normalises "name:id": both parts trimmed and required, the name
// lower-cased and free of white space. what names the first part in
// messages.
func normPair(s, what string) (string, string) {
	name, id, ok := strings.Cut(s, ":")
	if !ok {
		return "", "want " + what + ":id"
	}
	name, id = strings.TrimSpace(name), strings.TrimSpace(id)
	switch {
	case name == "":
		return "", "empty " + what
	case id == "":
		return "", "empty id"
	case strings.IndexFunc(name, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0:
		return "", what + " contains white space or a control character"
	}
	return strings.ToLower(name) + ":" + id, ""
}
