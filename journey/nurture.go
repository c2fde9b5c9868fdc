package journey

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/stage"
)

// NurtureOptions tunes [NurturePower].
type NurtureOptions struct {
	// By is the field that names a piece of nurture: KeyContent (the
	// default) or KeyCampaign (any Key works).
	By Key `json:"by,omitempty"`
	// Types are the event types that count as a send (e.g. "email_opened",
	// "download"); empty means every type.
	Types []string `json:"types,omitempty"`
	// From and To bound the sends counted (From <= t < To; zero is open).
	From time.Time `json:"from,omitzero"`
	To   time.Time `json:"to,omitzero"`
	// Window, when positive, credits a touch only if the lead's first
	// entry into the stage came within Window after it (inclusive). Zero
	// means no limit; negative is an error. In JSON and YAML it is text
	// such as "30d" (see [leadkit.ParseDuration]).
	Window time.Duration `json:"window,omitempty"`
}

// ContentPower is the nurture power of one content or campaign.
type ContentPower struct {
	Key string `json:"key"`
	// Sent counts its touches in the period; Leads the distinct leads
	// touched.
	Sent  int `json:"sent"`
	Leads int `json:"leads"`
	// Converted counts the touched leads whose first entry into the stage
	// came at or after a touch of it in the period (and within
	// NurtureOptions.Window of that touch when it is set). A lead that
	// reached the stage before the touch is not credited, even if it
	// re-entered the stage later.
	Converted int `json:"converted"`
	// Power is Converted / Sent; Rate is Converted / Leads.
	Power float64 `json:"power"`
	Rate  float64 `json:"rate"`
}

// NurturePower measures the nurture power of content: for each content (or
// campaign) sent in a period, how many of the leads that reached stage had
// that touch before converting (see ContentPower.Converted), divided by the
// number of times it was sent. A lead converts at its first entry into the
// stage; pass [stage.Reach] to count leads that skipped it. The result is
// sorted by Power, then Converted, descending, then Key.
func NurturePower(timelines []Timeline, entries []stage.Visit, stage string, opts NurtureOptions) ([]ContentPower, error) {
	by := opts.By
	if by == "" {
		by = KeyContent
	}
	var errs errorList
	if stage == "" {
		errs.add(fmt.Errorf("journey: nurture power: %w: empty stage", leadkit.ErrInvalid))
	}
	if !by.valid() {
		errs.add(fmt.Errorf("journey: nurture power: %w: unknown key %q", leadkit.ErrInvalid, opts.By))
	}
	if opts.Window < 0 {
		errs.add(fmt.Errorf("journey: nurture power: %w: window %v is negative", leadkit.ErrInvalid, opts.Window))
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	first := firstEntries(entries, stage, time.Time{}, time.Time{}, &errs)
	stats := map[string]*ContentPower{}
	// Per lead: the keys it was sent, and for each the latest send at or
	// before its first entry into the stage.
	touched := map[string]bool{}
	lastBefore := map[string]time.Time{}
	for _, tl := range timelines {
		clear(touched)
		clear(lastBefore)
		reached, converted := first[tl.LeadID]
		for _, e := range tl.Events {
			key := by.Of(e)
			if key == "" || e.Time.IsZero() || (len(opts.Types) > 0 && !slices.Contains(opts.Types, e.Type)) ||
				(!opts.From.IsZero() && e.Time.Before(opts.From)) || (!opts.To.IsZero() && !e.Time.Before(opts.To)) {
				continue
			}
			s := stats[key]
			if s == nil {
				s = &ContentPower{Key: key}
				stats[key] = s
			}
			s.Sent++
			touched[key] = true
			if converted && !e.Time.After(reached) {
				if t, ok := lastBefore[key]; !ok || e.Time.After(t) {
					lastBefore[key] = e.Time
				}
			}
		}
		for key := range touched {
			s := stats[key]
			s.Leads++
			if t, ok := lastBefore[key]; ok && (opts.Window == 0 || reached.Sub(t) <= opts.Window) {
				s.Converted++
			}
		}
	}
	out := make([]ContentPower, 0, len(stats))
	for _, s := range stats {
		s.Power, s.Rate = ratio(s.Converted, s.Sent), ratio(s.Converted, s.Leads)
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b ContentPower) int {
		if c := cmp.Compare(b.Power, a.Power); c != 0 {
			return c
		}
		if c := cmp.Compare(b.Converted, a.Converted); c != 0 {
			return c
		}
		return cmp.Compare(a.Key, b.Key)
	})
	return out, errs.err()
}
