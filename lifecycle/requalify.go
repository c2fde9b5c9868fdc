package lifecycle

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/spec"
	"github.com/leadkit/leadkit/journey"
	"github.com/leadkit/leadkit/scoring"
	"github.com/leadkit/leadkit/stage"
)

// MaxTouchTypes caps Requalify.TouchTypes.
const MaxTouchTypes = journey.MaxTouchTypes

// Requalify is the policy that keeps a recycled or rejected lead from
// bouncing back at its next page view. While a lead is in one of the
// policy's Stages (entered at time R), the engine tries no automatic
// transition out of it until MinTouches touches came after R and Cooldown
// has passed since R; and the reset dimensions are read from a score of
// only the events after R (fit rules count in full, decay and windows
// apply as usual), so the points that qualified the lead the first time
// cannot qualify it again. Manual transitions (Fire) are not affected.
//
// The zero value is the default policy: in every stage of category
// recycled, every dimension with behavior rules, and every derived
// dimension that reads one (a total of fit and engagement), is reset: a
// recycled lead re-qualifies on what it does after the recycle. Off turns
// the policy off: a lead in a recycled stage re-qualifies as soon as its
// guard holds on its whole score.
//
// In JSON and YAML (ParseRequalify) the cooldown is text in leadkit's
// duration grammar ("30d", "2w").
type Requalify struct {
	// Off turns the policy off.
	Off bool `json:"off,omitempty"`
	// Stages the policy applies to; empty means every stage of category
	// recycled (stage.Recycled).
	Stages []string `json:"stages,omitempty"`
	// Reset lists the dimensions read from the events after the recycle
	// only (with the derived dimensions that read them, added by New);
	// empty means every dimension with behavior rules.
	Reset []string `json:"reset,omitempty"`
	// NoReset reads the whole score: only MinTouches and Cooldown hold
	// the lead.
	NoReset bool `json:"no_reset,omitempty"`
	// MinTouches is the number of touches after the recycle before an
	// automatic transition is tried again. At most scoring.MaxEvents.
	MinTouches int `json:"min_touches,omitempty"`
	// TouchTypes are the event types that count as touches; empty means
	// every event. At most MaxTouchTypes.
	TouchTypes []string `json:"touch_types,omitempty"`
	// Cooldown is how long after the recycle no automatic transition is
	// tried. At most leadkit.MaxDuration.
	Cooldown time.Duration `json:"cooldown,omitempty"`
}

// ParseRequalify reads a Requalify policy from JSON or YAML, refusing
// unknown keys.
func ParseRequalify(data []byte) (Requalify, error) {
	var r Requalify
	if err := spec.Parse(data, &r); err != nil {
		return Requalify{}, spec.Prefixed("lifecycle: requalify: ", err)
	}
	return r, nil
}

// MarshalJSON writes the cooldown as text ("30d").
func (r Requalify) MarshalJSON() ([]byte, error) { return spec.EncodeDurations(r) }

// UnmarshalJSON reads the cooldown as text ("30d", "2w"); a bare number
// and an unknown key are errors wrapping leadkit.ErrInvalid.
func (r *Requalify) UnmarshalJSON(b []byte) error {
	return spec.DecodeDurations(b, r, "lifecycle: requalify: ")
}

// requalify is a checked policy.
type requalify struct {
	stages     map[string]bool
	reset      []int // indexes of the reset dimensions in the model's order
	minTouches int
	touchTypes map[string]bool // nil: every event
	cooldown   time.Duration
}

func (r Requalify) compile(model *scoring.Model, def stage.Definition) (requalify, error) {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("lifecycle: requalify: %w: %s", leadkit.ErrInvalid, fmt.Sprintf(format, args...)))
	}
	out := requalify{stages: map[string]bool{}, minTouches: r.MinTouches, cooldown: r.Cooldown}
	var names []string
	for _, s := range def.Stages {
		names = append(names, s.Name)
	}
	if r.NoReset && len(r.Reset) > 0 {
		bad("reset and no_reset together")
	}
	if len(r.Stages) == 0 {
		for _, s := range def.Stages {
			if s.Category == stage.Recycled {
				out.stages[s.Name] = true
			}
		}
	}
	if len(r.Stages) > stage.MaxStages {
		bad("%d stages, at most %d", len(r.Stages), stage.MaxStages)
	} else {
		for _, s := range r.Stages {
			if _, ok := def.Stage(s); !ok {
				bad("stage %q is not a stage of %q%s", clip(s), clip(def.Name), hint(s, names))
				continue
			}
			out.stages[s] = true
		}
	}
	dims := model.Dimensions()
	reset := r.Reset
	switch {
	case len(reset) > len(dims):
		bad("%d reset dimensions, the model has %d", len(reset), len(dims))
		reset = nil
	case r.NoReset:
	case len(reset) == 0:
		reset = model.BehaviorDimensions()
	}
	for _, d := range reset {
		if !slices.Contains(dims, d) {
			bad("reset dimension %q is not a dimension of model %q%s", clip(d), clip(model.Name()), hint(d, dims))
		}
	}
	if !r.NoReset {
		for _, d := range model.Dependents(reset...) {
			out.reset = append(out.reset, slices.Index(dims, d))
		}
	}
	if r.MinTouches < 0 || r.MinTouches > scoring.MaxEvents {
		bad("min_touches %d, want 0 to %d", r.MinTouches, scoring.MaxEvents)
	}
	if r.Cooldown < 0 || r.Cooldown > leadkit.MaxDuration {
		bad("cooldown %s, want 0 to %s", leadkit.FormatDuration(r.Cooldown), leadkit.FormatDuration(leadkit.MaxDuration))
	}
	if len(r.TouchTypes) > MaxTouchTypes {
		bad("%d touch types, at most %d", len(r.TouchTypes), MaxTouchTypes)
	} else if len(r.TouchTypes) > 0 {
		out.touchTypes = map[string]bool{}
		for _, t := range r.TouchTypes {
			if msg := leadkit.CheckText(t, leadkit.MaxNameBytes); t == "" || msg != "" {
				bad("touch type %q %s", clip(t), msg)
				continue
			}
			out.touchTypes[t] = true
		}
	}
	if len(errs) > 0 {
		return requalify{}, errors.Join(errs...)
	}
	if r.Off {
		return requalify{stages: map[string]bool{}}, nil
	}
	return out, nil
}

// active reports whether the policy holds a lead in stage st.
func (q *requalify) active(st string) bool { return q.stages[st] }

// touch reports whether an event counts as a touch after a recycle.
func (q *requalify) touch(ev *leadkit.Event) bool {
	return q.touchTypes == nil || q.touchTypes[ev.Type]
}

// blocks reports whether the policy keeps a lead that entered a policy
// stage at from, with touches touches since, from moving on at t.
func (q *requalify) blocks(from time.Time, touches int, t time.Time) bool {
	return touches < q.minTouches || t.Sub(from) < q.cooldown
}
