package attribution

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/journey"
)

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
//
// In JSON and YAML the half-life is text ("7d", "36h"; see
// [leadkit.ParseDuration]); a bare number and an unknown key are errors.
type TimeDecay struct {
	// HalfLife is the age at which a touch weighs half as much as one at
	// the conversion; 0 means 7 days. At most [leadkit.MaxDuration].
	HalfLife time.Duration `json:"half_life,omitempty"`
}

// AttributeTimelines implements [TimelineModel].
func (m TimeDecay) AttributeTimelines(timelines []journey.Timeline, conv Conversion) (Result, error) {
	if m.HalfLife < 0 || m.HalfLife > leadkit.MaxDuration {
		return Result{}, fmt.Errorf("attribution: time decay: %w: half-life %s, want 0 to %s", leadkit.ErrInvalid,
			leadkit.FormatDuration(m.HalfLife), leadkit.FormatDuration(leadkit.MaxDuration))
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
		errs errorList
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
	r, err := s.finalResult()
	if err != nil {
		return Result{}, errors.Join(err, errs.err("timeline errors"))
	}
	return r, errs.err("timeline errors")
}
