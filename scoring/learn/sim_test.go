package learn_test

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/scoring"
	"github.com/leadkit/leadkit/scoring/learn"
	"github.com/leadkit/leadkit/sim"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// simExamples turns a simulated business into examples: each lead's
// profile and the touches of its first journey, cut off at its last
// touch; converted when that journey reached MQL. The hand-raise that
// comes with the MQL is the conversion itself, so it is left out, and
// so is everything after it. Only leads created at least twice the
// old-lead age before the end of the run are kept: their first journeys
// are complete (a journey ends within that age), so no conversion is
// cut by the end of the run.
//
// The cut-off is the last touch for both outcomes (not the MQL for the
// converted ones): a cut-off at the MQL would leave a gap after the last
// touch only for those that converted, and recency would learn the gap.
func simExamples(tb testing.TB, s *sim.Sim) []learn.Example {
	tb.Helper()
	cfg := s.Config()
	end := cfg.Start.AddDate(0, cfg.Months, 0)
	last := end.Add(-2 * time.Duration(cfg.OldLeadAge))
	var out []learn.Example
	idx := map[string]int{}
	done := map[string]bool{}
	for r := range s.Records() {
		switch r.Kind {
		case sim.KindLead:
			if r.Lead.CreatedAt.Before(last) {
				idx[r.Lead.ID] = len(out)
				out = append(out, learn.Example{Lead: *r.Lead})
			}
		case sim.KindEvent:
			i, ok := idx[r.Event.LeadID]
			if !ok || done[r.Event.LeadID] {
				continue
			}
			if r.Event.Type == sim.EventHandRaise {
				out[i].Converted = true
				done[r.Event.LeadID] = true
				continue
			}
			out[i].Events = append(out[i].Events, r.Event)
			out[i].CutOff = r.Event.Time
		}
	}
	kept := out[:0]
	for _, ex := range out {
		if len(ex.Events) > 0 {
			kept = append(kept, ex)
		}
	}
	require.NotEmpty(tb, kept)
	return kept
}

// trueLogOdds is the generating model's log-odds for an example: the
// planted base, seniority, size band, each channel that touched the lead
// and, when golden, the golden path if its touch types hold it in order.
func trueLogOdds(e sim.Effects, ex *learn.Example, golden bool) float64 {
	eta := e.BaseLogOdds
	for _, l := range e.Seniority {
		if l.Value == ex.Lead.Person.Seniority {
			eta += l.LogOdds
		}
	}
	for _, b := range e.Sizes {
		if ex.Lead.Company.Employees >= b.Min && ex.Lead.Company.Employees <= b.Max {
			eta += b.LogOdds
		}
	}
	var seen []string
	k := 0
	for _, ev := range ex.Events {
		if !slices.Contains(seen, ev.Channel) {
			seen = append(seen, ev.Channel)
			for _, c := range e.Channels {
				if c.Channel == ev.Channel {
					eta += c.LogOdds
				}
			}
		}
		if items := e.Golden.Items; golden && k < len(items) && ev.Type == items[k] {
			k++
		}
	}
	if golden && len(e.Golden.Items) > 0 && k == len(e.Golden.Items) {
		eta += e.Golden.LogOdds
	}
	return eta
}

// simFit fits a model with default options (but the hold-out share and
// seed given) on the examples of a simulated business, and returns the
// result, the examples and the held-out AUC of the true generating model
// (with its golden-path term, and without it).
func simFit(tb testing.TB, cfg sim.Config, opts learn.Options) (res learn.Result, ex []learn.Example, trueAUC, additiveAUC float64) {
	tb.Helper()
	s, err := sim.New(cfg)
	require.NoError(tb, err)
	ex = simExamples(tb, s)
	res, err = learn.Fit(ex, opts)
	require.NoError(tb, err)
	eff := s.Truth().Effects
	_, test := learn.Split(ex, opts.HoldOut, opts.Seed)
	require.Equal(tb, res.HoldOut.Examples, len(test))
	var full, additive []float64
	var ys []bool
	for _, i := range test {
		full = append(full, trueLogOdds(eff, &ex[i], true))
		additive = append(additive, trueLogOdds(eff, &ex[i], false))
		ys = append(ys, ex[i].Converted)
	}
	trueAUC, err = learn.AUC(full, ys)
	require.NoError(tb, err)
	additiveAUC, err = learn.AUC(additive, ys)
	require.NoError(tb, err)
	return res, ex, trueAUC, additiveAUC
}

// simLeads is the size of the simulated businesses of the recovery
// tests: 40,000 leads over a year, of which about 20,000 have a complete
// first journey (14,000 to train on, 6,000 held out).
const simLeads = 40_000

// TestRecoversPlantedEffects fits a model with default options on a
// simulated business without a golden path, where every planted effect
// is one a scorecard of independent rules can express: seniority, size
// band and each channel that touched the lead add to the log-odds. The
// learned points must follow the planted order, every channel with an
// effect must score its touched leads above its untouched ones, the
// noise channel less than any of them, and the held-out AUC must be
// within 0.02 of the generating model's on the same examples.
func TestRecoversPlantedEffects(t *testing.T) {
	res, _, trueAUC, _ := simFit(t, sim.Config{Seed: 7, Leads: simLeads, Golden: &sim.GoldenPath{}}, learn.Options{HoldOut: 0.3, Seed: 1})
	gap := trueAUC - res.Evaluation.AUC
	t.Logf("held-out AUC: learned %.4f, true model %.4f, gap %.4f (%d held out)", res.Evaluation.AUC, trueAUC, gap, res.HoldOut.Examples)
	assert.LessOrEqual(t, gap, 0.02, "the learned model's AUC is more than 0.02 below the true model's")
	assert.Empty(t, warningsOf(res, learn.WarnMismatch))

	truth := sim.DefaultSeniority()
	var prev float64
	for k, level := range truth {
		pts, ok := rulePoints(res, "person.seniority", strconv.Quote(level.Value))
		require.True(t, ok, "no rule for seniority %q", level.Value)
		if k > 0 {
			assert.Greater(t, pts, prev, "seniority %q (planted log-odds %g) does not score above %q", level.Value, level.LogOdds, truth[k-1].Value)
		}
		prev = pts
	}

	sizes := sim.DefaultSizes()
	for k, band := range sizes {
		mid := (band.Min + band.Max) / 2
		pts := fieldPoints(t, res, "company.employees", leadkit.Lead{Company: leadkit.Company{Employees: mid}})
		if k > 0 {
			assert.Greater(t, pts, prev, "size band %d-%d (planted log-odds %g) does not score above the band before", band.Min, band.Max, band.LogOdds)
		}
		prev = pts
	}

	noise := math.Inf(1)
	minPlanted := math.Inf(1)
	for _, ch := range sim.DefaultChannels() {
		f, ok := featureOf(res, "channel:"+ch.Name+" ever")
		if ch.LogOdds == 0 {
			if ok {
				noise = touchedGain(f)
			} else {
				noise = 0
			}
			continue
		}
		require.True(t, ok, "channel %s (planted log-odds %g) was dropped", ch.Name, ch.LogOdds)
		gain := touchedGain(f)
		assert.Positive(t, gain, "channel %s (planted log-odds %g): touched leads do not score above untouched ones", ch.Name, ch.LogOdds)
		minPlanted = min(minPlanted, gain)
	}
	assert.Less(t, noise, minPlanted, "the noise channel gains as much as a channel with an effect")
	t.Logf("touched-over-untouched points: smallest planted channel %g, noise channel %g", minPlanted, noise)

	// Channels among themselves: the planted order for every pair whose
	// planted difference is at least 3 standard errors of the learned
	// difference, from the rules' intervals (the learned gains' errors
	// are 0.05 to 0.07 in log-odds at this sample size, a difference's
	// 0.07 to 0.1: pairs about 0.25 to 0.3 apart; at seed 7, offline
	// events over website, e-mail, social and paid search, and webinars
	// over social). Closer pairs are within sampling error and not
	// asserted: over seeds 7 to 12 (touched-over-untouched points),
	// offline events (0.6) scored under webinars (0.5) at three seeds,
	// e-mail (0.3) under social (0.25) at one, while the pairs asserted
	// here were in order at all six. Learned gains are smaller than the
	// planted ones (offline events 0.40 for 0.6): path features holding
	// a channel's event types share its effect.
	channels := sim.DefaultChannels()
	gains := map[string][2]float64{}
	for _, ch := range channels {
		if f, ok := featureOf(res, "channel:"+ch.Name+" ever"); ok && ch.LogOdds > 0 {
			g, se := touchedEffect(f)
			gains[ch.Name] = [2]float64{g, se}
		}
	}
	asserted := 0
	for _, a := range channels {
		for _, b := range channels {
			ga, okA := gains[a.Name]
			gb, okB := gains[b.Name]
			if !okA || !okB || a.LogOdds <= b.LogOdds {
				continue
			}
			se := math.Hypot(ga[1], gb[1])
			if a.LogOdds-b.LogOdds < 3*se {
				t.Logf("not asserted: %s (%g) over %s (%g): planted difference %.2f, standard error %.3f; learned %.3f vs %.3f", a.Name, a.LogOdds, b.Name, b.LogOdds, a.LogOdds-b.LogOdds, se, ga[0], gb[0])
				continue
			}
			asserted++
			assert.Greater(t, ga[0], gb[0], "channel %s (planted %g) does not gain more than %s (planted %g): %.3f vs %.3f, standard error %.3f", a.Name, a.LogOdds, b.Name, b.LogOdds, ga[0], gb[0], se)
		}
	}
	t.Logf("channel pairs asserted in the planted order: %d", asserted)
	assert.GreaterOrEqual(t, asserted, 4)
}

// touchedEffect is what a count feature's touched bins add to the
// log-odds over its "0" bin (their support-weighted effect), with a
// standard error from the bins' 95% intervals taken as independent.
func touchedEffect(f learn.Feature) (gain, se float64) {
	var zero, sum, n, v0, v float64
	for _, r := range f.Rules {
		s := (r.Effect.High - r.Effect.Low) / (2 * 1.96)
		if r.Bin == "0" {
			zero, v0 = r.Effect.Value, s*s
			continue
		}
		w := float64(r.Support)
		sum += w * r.Effect.Value
		v += w * w * s * s
		n += w
	}
	return sum/n - zero, math.Sqrt(v/(n*n) + v0)
}

// TestGoldenPathGap fits the same business with the default golden path
// planted (a webinar attended, then a download: odds x5). The path is an
// interaction of two events in order, which no count rule can express;
// Fit's path features (ordered pairs of the most frequent event types,
// emitted as path rules) can. Without them the gap to the true model was
// 0.017 to 0.021 over seeds 7 to 9 (and 0.022 at 100,000 examples); with
// them it is -0.0002 to 0.0031, checked against a bound of 0.02. The
// learned model must also beat the true model without its golden term.
func TestGoldenPathGap(t *testing.T) {
	res, _, trueAUC, additiveAUC := simFit(t, sim.Config{Seed: 7, Leads: simLeads}, learn.Options{HoldOut: 0.3, Seed: 1})
	gap := trueAUC - res.Evaluation.AUC
	t.Logf("held-out AUC: learned %.4f, true model %.4f (gap %.4f), true model without the golden term %.4f", res.Evaluation.AUC, trueAUC, gap, additiveAUC)
	assert.LessOrEqual(t, gap, 0.02)
	assert.Greater(t, res.Evaluation.AUC, additiveAUC)
	assert.Contains(t, droppedFeatures(res, learn.DropDuplicate), "download ever")
}

// TestLearnsGoldenPath: the planted path (webinar_attended, then
// download) is among the kept path features, with a positive effect
// whose interval excludes 0, and is emitted as a path rule that gives
// the leads holding it more points than those that do not (the "not
// held" bin's points being in the base rule).
func TestLearnsGoldenPath(t *testing.T) {
	res, _, _, _ := simFit(t, sim.Config{Seed: 8, Leads: simLeads}, learn.Options{HoldOut: 0.3, Seed: 1})
	golden := sim.DefaultGolden().Items
	name := "path:" + strings.Join(golden, ">")
	f, ok := featureOf(res, name)
	require.True(t, ok, "%s was not kept (kept: %v)", name, keptPaths(res))
	assert.Equal(t, golden, f.Path)
	assert.Positive(t, f.Coefficient.Low, name)
	require.Len(t, f.Rules, 2)
	notHeld, held := f.Rules[0], f.Rules[1]
	assert.Equal(t, "0", notHeld.Bin)
	assert.True(t, notHeld.InBase)
	assert.Equal(t, "1", held.Bin)
	assert.False(t, held.InBase)
	assert.Positive(t, held.Effect.Low, "held: %+v", held)
	assert.Greater(t, held.Points, notHeld.Points)
	var rule *scoring.BehaviorRule
	for _, d := range res.Spec.Dimensions {
		for k := range d.Behavior {
			if d.Behavior[k].Name == held.Name {
				rule = &d.Behavior[k]
			}
			assert.NotEqual(t, notHeld.Name, d.Behavior[k].Name, "the not-held bin has no rule")
		}
	}
	require.NotNil(t, rule, "no rule %q in the spec", held.Name)
	assert.Equal(t, golden, rule.Sequence)
	assert.Equal(t, held.Points-notHeld.Points, rule.Points)
	t.Logf("%s: coefficient %.3f [%.3f, %.3f], held %+g points over not held; kept paths %v", name, f.Coefficient.Value, f.Coefficient.Low, f.Coefficient.High, rule.Points, keptPaths(res))
}

func keptPaths(res learn.Result) []string {
	var out []string
	for _, f := range res.Features {
		if len(f.Path) > 0 {
			out = append(out, f.Name)
		}
	}
	return out
}

func warningsOf(res learn.Result, kind learn.WarningKind) []learn.Warning {
	var out []learn.Warning
	for _, w := range res.Warnings {
		if w.Kind == kind {
			out = append(out, w)
		}
	}
	return out
}

func featureOf(res learn.Result, name string) (learn.Feature, bool) {
	for _, f := range res.Features {
		if f.Name == name {
			return f, true
		}
	}
	return learn.Feature{}, false
}

// rulePoints are the points of a feature's bin.
func rulePoints(res learn.Result, feature, bin string) (float64, bool) {
	f, ok := featureOf(res, feature)
	if !ok {
		return 0, false
	}
	for _, r := range f.Rules {
		if r.Bin == bin {
			return r.Points, true
		}
	}
	return 0, false
}

// touchedGain is the least points of a count feature's touched bins
// over its "0" bin.
func touchedGain(f learn.Feature) float64 {
	var zero float64
	least := math.Inf(1)
	for _, r := range f.Rules {
		if r.Bin == "0" {
			zero = r.Points
		} else {
			least = min(least, r.Points)
		}
	}
	return least - zero
}

// fieldPoints scores lead with the emitted fit rules of one field alone
// (compiled, so the rules themselves are what is measured).
func fieldPoints(tb testing.TB, res learn.Result, field string, lead leadkit.Lead) float64 {
	tb.Helper()
	dim := res.Spec.Dimensions[0]
	spec := scoring.ModelSpec{Name: "one field", Fields: res.Spec.Fields, Dimensions: []scoring.DimensionSpec{{Name: "f"}}}
	for _, r := range dim.Fit {
		if strings.HasPrefix(r.Name, field+" ") {
			spec.Dimensions[0].Fit = append(spec.Dimensions[0].Fit, r)
		}
	}
	require.NotEmpty(tb, spec.Dimensions[0].Fit, "no rules for %s", field)
	m, err := scoring.Compile(spec, scoring.Options{})
	require.NoError(tb, err)
	lead.ID = "x"
	r, err := m.Score(scoring.Input{Lead: lead, AsOf: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)})
	require.NoError(tb, err)
	return r.Dimensions[0].Score
}
