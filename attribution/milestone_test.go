package attribution

import (
	"fmt"
	"math"
	"testing"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/journey"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMilestoneModels(t *testing.T) {
	tests := []struct {
		name  string
		model TimelineModel
		conv  string
		want  map[string]float64
		why   string
	}{
		{"u-shaped at lead creation", UShaped{}, "form_submitted", map[string]float64{"seo": 0.5, "email": 0.5},
			"no other touch: 40/40 re-normalised"},
		{"u-shaped at opportunity", UShaped{}, EventOpportunityCreated, map[string]float64{"seo": 0.4, "email": 0.4, "ads": 0.1, "events": 0.1},
			"20 split over ads and events"},
		{"w-shaped", WShaped{}, EventOpportunityCreated, map[string]float64{"seo": 0.3, "email": 0.3, "ads": 0.1, "events": 0.3},
			"opportunity role on the last touch before it (events)"},
		{"full path", FullPath{}, EventClosedWon, map[string]float64{"seo": 0.225, "email": 0.225, "ads": 0.05, "events": 0.225, "sdr": 0.05, "webinar": 0.225},
			"closed-won role on webinar; 10 split over ads and sdr"},
		{"full path without closed won", FullPath{}, EventOpportunityCreated,
			map[string]float64{"seo": 22.5 / 77.5, "email": 22.5 / 77.5, "events": 22.5 / 77.5, "ads": 10 / 77.5},
			"22.5 to seo, email, events and 10 to ads = 77.5, re-normalised"},
		{"custom", CustomRoles{Weights: RoleWeights{FirstTouch: 1, ClosedWon: 3}}, EventClosedWon, map[string]float64{"seo": 0.25, "webinar": 0.75},
			"only two roles weigh"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := tc.model.AttributeTimelines([]journey.Timeline{milestoneCase()}, Conversion{Types: []string{tc.conv}})
			require.NoError(t, err)
			for ch, w := range tc.want {
				assert.InDelta(t, w, r.Conversions[ch], 1e-12, "%s (%s)", ch, tc.why)
			}
			assert.InDelta(t, 1, r.TotalConversions(), 1e-12)
			for ch, v := range r.Conversions {
				if _, ok := tc.want[ch]; !ok {
					assert.Zero(t, v, ch)
				}
			}
		})
	}
}

func TestMilestoneEdgeRules(t *testing.T) {
	conv := Conversion{Types: []string{"mql"}}
	run := func(m TimelineModel, evs ...leadkit.Event) map[string]float64 {
		r, err := m.AttributeTimelines([]journey.Timeline{tl("x", evs...)}, conv)
		require.NoError(t, err)
		require.InDelta(t, 1, r.TotalConversions(), 1e-12)
		return r.Conversions
	}
	mql := func(d float64) leadkit.Event { return ev("x", "mql", "mql", "", d, nil) }

	// One touch holding first touch and lead creation: 40+40 add up, the
	// absent 20 is re-normalised away.
	got := run(UShaped{}, ev("x", "1", "form_submitted", "seo", 0, nil), mql(1))
	assert.InDelta(t, 1, got["seo"], 1e-12)

	// Same touch for both roles plus another touch: 80 vs 20.
	got = run(UShaped{}, ev("x", "1", "form_submitted", "seo", 0, nil), ev("x", "2", "page_view", "ads", 1, nil), mql(2))
	assert.InDelta(t, 0.8, got["seo"], 1e-12)
	assert.InDelta(t, 0.2, got["ads"], 1e-12)

	// A lead_created event without channel puts the role on the last touch
	// at or before it (email, not the later webinar form).
	got = run(UShaped{}, ev("x", "1", "page_view", "seo", 0, nil), ev("x", "2", "email_clicked", "email", 1, nil),
		ev("x", "3", EventLeadCreated, "", 2, nil), ev("x", "4", "form_submitted", "webinar", 3, nil), mql(4))
	assert.InDelta(t, 0.4, got["seo"], 1e-12)
	assert.InDelta(t, 0.4, got["email"], 1e-12)
	assert.InDelta(t, 0.2, got["webinar"], 1e-12)

	// No lead creation at all: first 40 and 20 over the others, re-normalised
	// by 60: 2/3, 1/6, 1/6.
	got = run(UShaped{}, ev("x", "1", "page_view", "seo", 0, nil), ev("x", "2", "page_view", "ads", 1, nil), ev("x", "3", "page_view", "email", 2, nil), mql(3))
	assert.InDelta(t, 2.0/3, got["seo"], 1e-12)
	assert.InDelta(t, 1.0/6, got["ads"], 1e-12)

	// Custom milestone types; a lead-creation event before the lookback
	// window has no touch left: the role is absent.
	m := UShaped{Milestones: Milestones{LeadCreated: []string{"signup"}}}
	got = run(m, ev("x", "1", "signup", "seo", 0, nil), ev("x", "2", "form_submitted", "ads", 1, nil), mql(2))
	assert.InDelta(t, 0.8, got["seo"], 1e-12)
	conv.Lookback = 1 * day
	got = run(m, ev("x", "1", "signup", "seo", 0, nil), ev("x", "2", "page_view", "ads", 1, nil), ev("x", "3", "page_view", "email", 1.5, nil), mql(2))
	// Window: ads (day 1), email: first touch = ads 40, others email 20.
	assert.InDelta(t, 40.0/60, got["ads"], 1e-12)
	assert.InDelta(t, 20.0/60, got["email"], 1e-12)
	conv.Lookback = 0

	// Nothing present weighs: equal split.
	got = run(CustomRoles{Weights: RoleWeights{LeadCreation: 1}}, ev("x", "1", "page_view", "seo", 0, nil), ev("x", "2", "page_view", "ads", 1, nil), mql(2))
	assert.InDelta(t, 0.5, got["seo"], 1e-12)

	// No touch: credited to NoTouch.
	got = run(WShaped{}, mql(1))
	assert.InDelta(t, 1, got[DefaultNoTouch], 1e-12)
}

func TestRoleWeightsValidate(t *testing.T) {
	require.NoError(t, UShapedWeights.Validate())
	require.NoError(t, WShapedWeights.Validate())
	require.NoError(t, FullPathWeights.Validate())
	for _, w := range []RoleWeights{{}, {FirstTouch: -1, Other: 1}, {Other: math.NaN()}, {ClosedWon: math.Inf(1)}} {
		err := w.Validate()
		assert.ErrorIs(t, err, leadkit.ErrInvalid, fmt.Sprintf("%+v", w))
		_, err = CustomRoles{Weights: w}.AttributeTimelines(nil, Conversion{Types: []string{"x"}})
		assert.ErrorIs(t, err, leadkit.ErrInvalid)
	}
}
