package stage_test

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/stage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var ownerT0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func day(d float64) time.Time { return ownerT0.Add(time.Duration(d * float64(24*time.Hour))) }

// TestOwnedVisitsByActor: the owner of a stay is the first person who
// acted on the subject in it (a sub-status change or the manual change
// that moved it on); automatic changes are nobody's work.
func TestOwnedVisitsByActor(t *testing.T) {
	def, err := stage.Classic().InsertBetween(stage.Stage{Name: "TAL", Team: "sdr"}, "MQL", "SAL")
	require.NoError(t, err)
	for i := range def.Stages {
		if def.Stages[i].Name == "MQL" {
			def.Stages[i].Team = "sdr"
			def.Stages[i].SubStatuses = []string{"contacted"}
		}
	}
	m, clk := newMachine(t, def, stage.Options{})
	at := func(d float64) { clk.Advance(day(d).Sub(clk.Now())) }
	at(0)
	_, err = m.Start(ctx, stage.Lead("a"), stage.StartOptions{Actor: "web"})
	require.NoError(t, err)
	_, err = m.Start(ctx, stage.Lead("b"), stage.StartOptions{Actor: "web"})
	require.NoError(t, err)
	at(1)
	for _, id := range []string{"a", "b"} {
		_, _, err = m.Advance(ctx, stage.Lead(id), stage.Facts{"score": 120}, stage.Request{Actor: "scoring"})
		require.NoError(t, err)
	}
	at(2)
	_, err = m.SetSubStatus(ctx, stage.Lead("a"), "contacted", stage.Request{Actor: "sdr-ana"})
	require.NoError(t, err)
	at(3)
	_, err = m.Fire(ctx, stage.Lead("a"), "accept", stage.Request{Actor: "sdr-bo"}) // ana worked it first
	require.NoError(t, err)
	h, err := m.History(ctx, stage.Lead("a"))
	require.NoError(t, err)
	v, err := m.OwnedVisits(h, stage.OwnerActor)
	require.NoError(t, err)
	assert.Equal(t, []string{"Raw", "MQL", "TAL"}, stages(v))
	// Raw left by the scoring engine: nobody; MQL worked by ana; TAL not yet.
	assert.Equal(t, []string{"", "sdr-ana", ""}, owners(v))

	h, err = m.History(ctx, stage.Lead("b"))
	require.NoError(t, err)
	v, err = m.OwnedVisits(h, stage.OwnerTeam)
	require.NoError(t, err)
	raw, _ := def.Stage("Raw")
	require.NotEmpty(t, raw.Team)
	assert.Equal(t, []string{raw.Team, "sdr"}, owners(v))
	_, err = m.OwnedVisits(h, "boss")
	require.ErrorIs(t, err, leadkit.ErrInvalid)
}

func stages(v []stage.Visit) []string {
	var out []string
	for _, x := range v {
		out = append(out, x.Stage)
	}
	return out
}

func owners(v []stage.Visit) []string {
	var out []string
	for _, x := range v {
		out = append(out, x.Owner)
	}
	return out
}

// TestFunnelByOwnerHandCounted: five MQLs of two SDRs, counted by hand.
func TestFunnelByOwnerHandCounted(t *testing.T) {
	vis := func(lead string, steps ...any) []stage.Visit {
		var out []stage.Visit
		for i := 0; i < len(steps); i += 3 {
			out = append(out, stage.Visit{LeadID: lead, Stage: steps[i].(string), At: day(steps[i+1].(float64)), Owner: steps[i+2].(string)})
		}
		return out
	}
	var all []stage.Visit
	all = append(all, vis("l1", "MQL", 0.0, "ana", "SAL", 1.0, "")...)                         // ana: 1 day, converted
	all = append(all, vis("l2", "MQL", 0.0, "ana", "Recycled", 4.0, "")...)                    // ana: 4 days, SLA breached
	all = append(all, vis("l3", "MQL", 0.0, "bo", "SAL", 3.0, "cy", "SQL", 5.0, "")...)        // bo: 3 days; cy: SAL 2 days
	all = append(all, vis("l4", "MQL", 0.0, "bo")...)                                          // bo: open since day 0
	all = append(all, vis("l5", "SAL", 2.0, "cy")...)                                          // skipped MQL: nobody's MQL
	all = append(all, vis("l6", "SAL", 1.0, "dee", "Recycled", 2.0, "", "MQL", 9.0, "ana")...) // reached MQL on day 1 (skipped), re-entered later

	spec := stage.FunnelSpec{Stages: []string{"MQL", "SAL", "SQL"}, Order: []string{"Raw", "MQL", "SAL", "SQL"}, ByOwner: true,
		SLA: map[string]leadkit.Duration{"MQL": leadkit.Duration(48 * time.Hour)}, Now: day(10)}
	r, err := stage.Funnel(spec, all)
	require.NoError(t, err)
	require.Len(t, r.Owners, 2)
	mql := r.Owners[0]
	assert.Equal(t, "MQL", mql.From)
	assert.Equal(t, "SAL", mql.To)
	assert.Equal(t, 6, mql.Rate.Base)
	assert.Equal(t, 4, mql.Rate.Count) // l1, l3, l5, l6 reached SAL
	assert.Equal(t, leadkit.Duration(48*time.Hour), mql.SLA)
	byName := map[string]stage.OwnerStep{}
	for _, o := range mql.Owners {
		byName[o.Owner] = o
	}
	assert.Equal(t, []string{"", "ana", "bo"}, keys(mql.Owners))
	assert.Equal(t, 2, byName["ana"].Rate.Base)
	assert.Equal(t, 1, byName["ana"].Rate.Count)
	assert.Equal(t, leadkit.Duration(24*time.Hour), *byName["ana"].Median)
	assert.Equal(t, 2, byName["ana"].Breaches.Base) // l1 1d, l2 4d
	assert.Equal(t, 1, byName["ana"].Breaches.Count)
	assert.Equal(t, 2, byName["bo"].Rate.Base)
	assert.Equal(t, 1, byName["bo"].Rate.Count)
	assert.Equal(t, leadkit.Duration(72*time.Hour), *byName["bo"].Mean)
	assert.Equal(t, 2, byName["bo"].Breaches.Base) // l3 3d, l4 open 10d at Now
	assert.Equal(t, 2, byName["bo"].Breaches.Count)
	assert.Equal(t, 2, byName[""].Rate.Base) // l5, l6 skipped MQL on their way
	assert.Equal(t, 2, byName[""].Rate.Count)
	assert.Equal(t, 0, byName[""].Breaches.Base)
	assert.True(t, byName["ana"].Rate.Small)
	assert.False(t, byName["ana"].Below) // a small base is never flagged

	sal := r.Owners[1]
	assert.Equal(t, []string{"", "cy", "dee"}, keys(sal.Owners)) // l1's SAL visit has no owner
	assert.Equal(t, [2]int{1, 0}, [2]int{sal.Owners[0].Rate.Base, sal.Owners[0].Rate.Count})
	assert.Equal(t, [2]int{2, 1}, [2]int{sal.Owners[1].Rate.Base, sal.Owners[1].Rate.Count}) // l3, l5
	assert.Equal(t, leadkit.Duration(48*time.Hour), *sal.Owners[1].Median)
	assert.Equal(t, [2]int{1, 0}, [2]int{sal.Owners[2].Rate.Base, sal.Owners[2].Rate.Count}) // l6
	assert.Nil(t, sal.Owners[0].Breaches.Rate)                                               // SAL has no SLA: no data
}

func keys(o []stage.OwnerStep) []string {
	var out []string
	for _, x := range o {
		out = append(out, x.Owner)
	}
	return out
}

// randomOwnedVisits makes n leads' visits over the classic stages with
// random owners, times (ties included) and orders.
func randomOwnedVisits(r *rand.Rand, n int) [][]stage.Visit {
	names := []string{"Raw", "MQL", "SAL", "SQL", "Won", "Recycled"}
	who := []string{"", "ana", "bo", "cy"}
	out := make([][]stage.Visit, n)
	for i := range out {
		lead := fmt.Sprintf("l%d", i)
		for range 1 + r.IntN(5) {
			out[i] = append(out[i], stage.Visit{LeadID: lead, Stage: names[r.IntN(len(names))], At: day(float64(r.IntN(8)) / 2), Owner: who[r.IntN(len(who))]})
		}
	}
	return out
}

type ownerRef struct {
	base, conv, judged, breached int
	durs                         []time.Duration
}

// ownerFunnelByDefinition restates the funnel by owner for one lead at a
// time, straight from its documented meaning.
func ownerFunnelByDefinition(spec stage.FunnelSpec, leads [][]stage.Visit) map[[2]string]*ownerRef {
	out := map[[2]string]*ownerRef{}
	n := len(spec.Stages)
	for _, vs := range leads {
		first := make([]time.Time, n)
		firstAt := make([]int, n)
		for k := range n {
			firstAt[k] = -1
			for x, v := range vs {
				if v.Stage == spec.Stages[k] && (firstAt[k] < 0 || v.At.Before(first[k])) {
					first[k], firstAt[k] = v.At, x
				}
			}
		}
		reach := make([]time.Time, n)
		for k := range n {
			for j := k; j < n; j++ {
				if firstAt[j] >= 0 && (reach[k].IsZero() || first[j].Before(reach[k])) {
					reach[k] = first[j]
				}
			}
		}
		for i := range n - 1 {
			if reach[i].IsZero() {
				continue
			}
			owner, stay := "", -1
			if firstAt[i] >= 0 && first[i].Equal(reach[i]) {
				owner, stay = vs[firstAt[i]].Owner, firstAt[i]
			}
			key := [2]string{spec.Stages[i], owner}
			if out[key] == nil {
				out[key] = &ownerRef{}
			}
			ref := out[key]
			ref.base++
			if !reach[i+1].IsZero() {
				ref.conv++
				ref.durs = append(ref.durs, reach[i+1].Sub(reach[i]))
			}
			sla := time.Duration(spec.SLA[spec.Stages[i]])
			if sla == 0 || stay < 0 {
				continue
			}
			// The next visit; at the same instant, as listed when the list
			// is in time order, else in funnel order (the spec's stages,
			// then the others), then as listed.
			sorted := true
			for k := 1; k < len(vs); k++ {
				sorted = sorted && !vs[k].At.Before(vs[k-1].At)
			}
			rank := func(st string) int {
				if sorted {
					return 0
				}
				for i, name := range spec.Stages {
					if name == st {
						return i
					}
				}
				return len(spec.Stages)
			}
			var end time.Time
			for y, v := range vs {
				rs, rv := rank(vs[stay].Stage), rank(v.Stage)
				later := v.At.After(vs[stay].At) || (v.At.Equal(vs[stay].At) && (rv > rs || (rv == rs && y > stay)))
				if later && (end.IsZero() || v.At.Before(end)) {
					end = v.At
				}
			}
			if end.IsZero() {
				if spec.Now.IsZero() {
					continue
				}
				end = spec.Now
			}
			ref.judged++
			if end.Sub(vs[stay].At) > sla {
				ref.breached++
			}
		}
	}
	return out
}

func TestFunnelByOwnerAgreesWithDefinition(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 15))
	for round := range 200 {
		leads := randomOwnedVisits(r, 1+r.IntN(30))
		spec := stage.FunnelSpec{Stages: []string{"Raw", "MQL", "SAL", "SQL", "Won"}, ByOwner: true,
			SLA: map[string]leadkit.Duration{"MQL": leadkit.Duration(24 * time.Hour), "SAL": leadkit.Duration(36 * time.Hour)}}
		if round%2 == 0 {
			spec.Now = day(5)
		}
		var flat []stage.Visit
		for _, vs := range leads {
			flat = append(flat, vs...)
		}
		got, err := stage.Funnel(spec, flat)
		require.NoError(t, err)
		want := ownerFunnelByDefinition(spec, leads)
		seen := 0
		for i, step := range got.Owners {
			c, ok := got.Conversion(step.From, step.To)
			require.True(t, ok)
			base, conv := 0, 0
			for _, o := range step.Owners {
				ref := want[[2]string{step.From, o.Owner}]
				require.NotNil(t, ref, "round %d step %d owner %q", round, i, o.Owner)
				seen++
				assert.Equal(t, [4]int{ref.base, ref.conv, ref.judged, ref.breached},
					[4]int{o.Rate.Base, o.Rate.Count, o.Breaches.Base, o.Breaches.Count}, "round %d %s owner %q", round, step.From, o.Owner)
				slices.Sort(ref.durs)
				if len(ref.durs) > 0 {
					require.NotNil(t, o.Median)
					assert.Equal(t, leadkit.Duration(ref.durs[(len(ref.durs)-1)/2]+ref.durs[len(ref.durs)/2])/2, *o.Median)
				} else {
					assert.Nil(t, o.Median, "no conversions: no data")
					assert.Nil(t, o.Mean)
				}
				base += o.Rate.Base
				conv += o.Rate.Count
			}
			// The owners partition the step: their counts add up to the funnel's.
			assert.Equal(t, c.Base, base)
			assert.Equal(t, c.Converted, conv)
			assert.Equal(t, c.Base, step.Rate.Base)
		}
		assert.Equal(t, len(want), seen, "round %d: every owner of the definition is reported", round)
	}
}

func TestFunnelByOwnerMerge(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	leads := randomOwnedVisits(r, 300)
	spec := stage.FunnelSpec{Stages: []string{"Raw", "MQL", "SAL", "SQL", "Won"}, ByOwner: true,
		SLA: map[string]leadkit.Duration{"MQL": leadkit.Duration(24 * time.Hour)}, Now: day(4)}
	one, err := stage.NewFunnel(spec)
	require.NoError(t, err)
	shards := make([]*stage.FunnelAccumulator, 3)
	for i := range shards {
		shards[i], err = stage.NewFunnel(spec)
		require.NoError(t, err)
	}
	for i, vs := range leads {
		require.NoError(t, one.Add(vs))
		require.NoError(t, shards[i%3].Add(vs))
	}
	require.NoError(t, shards[0].Merge(shards[1]))
	require.NoError(t, shards[0].Merge(shards[2]))
	a, b := one.Result(), shards[0].Result()
	// Medians of merged durations are the same numbers in another order.
	assert.Equal(t, a, b)
	require.NotEmpty(t, a.Owners[1].Owners)

	other := spec
	other.SLA = nil
	o, err := stage.NewFunnel(other)
	require.NoError(t, err)
	require.ErrorIs(t, one.Merge(o), leadkit.ErrInvalid, "specs with different SLAs do not merge")
}

func TestFunnelByOwnerJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	var flat []stage.Visit
	for _, vs := range randomOwnedVisits(r, 50) {
		flat = append(flat, vs...)
	}
	spec := stage.FunnelSpec{Stages: []string{"MQL", "SAL", "SQL"}, ByOwner: true,
		SLA: map[string]leadkit.Duration{"MQL": leadkit.Duration(24 * time.Hour)}, Now: day(4)}
	b, err := json.Marshal(spec)
	require.NoError(t, err)
	back, err := stage.ParseFunnelSpec(b)
	require.NoError(t, err)
	assert.Equal(t, spec, back)
	res, err := stage.Funnel(spec, flat)
	require.NoError(t, err)
	b, err = json.Marshal(res)
	require.NoError(t, err)
	var r2 stage.FunnelResult
	require.NoError(t, json.Unmarshal(b, &r2))
	assert.Equal(t, res, r2)
}

func TestFunnelByOwnerBadInput(t *testing.T) {
	_, err := stage.NewFunnel(stage.FunnelSpec{Stages: []string{"MQL", "SAL"}, ByOwner: true,
		SLA: map[string]leadkit.Duration{"MQL": -1}})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.Contains(t, err.Error(), `stage "MQL": negative SLA`)
	f, err := stage.NewFunnel(stage.FunnelSpec{Stages: []string{"MQL", "SAL"}, ByOwner: true})
	require.NoError(t, err)
	long := string(make([]byte, leadkit.MaxIDBytes+1))
	err = f.Add([]stage.Visit{{LeadID: "a", Stage: "MQL", At: day(0), Owner: long}})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.Contains(t, err.Error(), "owner")
	res := f.Result()
	require.Len(t, res.Owners, 1)
	assert.Empty(t, res.Owners[0].Owners, "the refused visit counted nothing")
	assert.Nil(t, res.Owners[0].Rate.Rate, "no subjects: no data, not 0")
	m, _ := newMachine(t, stage.Classic(), stage.Options{})
	_, err = m.Funnel(ctx, stage.FunnelOptions{ByOwner: true, Owner: "boss"})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
}

// TestFunnelSLAChecked: an SLA must name a stage of the funnel (a typo
// such as "MQl" would drop it silently), be valid text and at most
// leadkit.MaxDuration; SLA and Now belong to a funnel by owner.
func TestFunnelSLAChecked(t *testing.T) {
	for name, sla := range map[string]map[string]leadkit.Duration{
		"typo":         {"MQl": leadkit.Duration(time.Hour)},
		"empty":        {"": leadkit.Duration(time.Hour)},
		"invalid utf8": {"M\xffQ\x00L": leadkit.Duration(time.Hour)},
		"too long":     {string(make([]byte, 10_000)): leadkit.Duration(time.Hour)},
		"over the cap": {"MQL": leadkit.Duration(math.MaxInt64)},
	} {
		_, err := stage.NewFunnel(stage.FunnelSpec{Stages: []string{"MQL", "SAL"}, ByOwner: true, SLA: sla})
		assert.ErrorIs(t, err, leadkit.ErrInvalid, name)
	}
	_, err := stage.NewFunnel(stage.FunnelSpec{Stages: []string{"MQL", "SAL"}, SLA: map[string]leadkit.Duration{"MQL": leadkit.Duration(time.Hour)}})
	assert.ErrorIs(t, err, leadkit.ErrInvalid, "SLA without by_owner")
	m, _ := newMachine(t, stage.Classic(), stage.Options{})
	_, err = m.Funnel(ctx, stage.FunnelOptions{Owner: stage.OwnerTeam})
	assert.ErrorIs(t, err, leadkit.ErrInvalid, "owner without by_owner")
}

// TestFunnelByOwnerSameInstantOrder: a list out of time order has lost
// the order of visits at one instant, which are taken in funnel order,
// whatever the list order: an MQL stay ended by a move to SAL at the same
// instant lasted nothing. A list in time order is taken as it stands: a
// correction from SQL back to MQL at one instant leaves the lead in MQL.
func TestFunnelByOwnerSameInstantOrder(t *testing.T) {
	a := []stage.Visit{
		{LeadID: "x", Stage: "SQL", At: day(5)},
		{LeadID: "x", Stage: "MQL", At: day(0), Owner: "ana"},
		{LeadID: "x", Stage: "SAL", At: day(0)},
	}
	b := []stage.Visit{a[0], a[2], a[1]}
	spec := stage.FunnelSpec{Stages: []string{"MQL", "SAL", "SQL"}, ByOwner: true,
		SLA: map[string]leadkit.Duration{"MQL": leadkit.Duration(24 * time.Hour)}}
	ra, err := stage.Funnel(spec, a)
	require.NoError(t, err)
	rb, err := stage.Funnel(spec, b)
	require.NoError(t, err)
	assert.Equal(t, ra, rb)
	assert.Equal(t, 0, rb.Owners[0].Owners[0].Breaches.Count)
	assert.Equal(t, 1, rb.Owners[0].Owners[0].Breaches.Base)
}

// TestFunnelByOwnerNoConversionsNoTimes: an owner none of whose subjects
// converted has no conversion time (null), not "0s"; nor has a gap
// without conversions.
func TestFunnelByOwnerNoConversionsNoTimes(t *testing.T) {
	r, err := stage.Funnel(stage.FunnelSpec{Stages: []string{"MQL", "SAL"}, ByOwner: true},
		[]stage.Visit{{LeadID: "x", Stage: "MQL", At: day(0), Owner: "cy"}})
	require.NoError(t, err)
	b, err := json.Marshal(r.Owners[0].Owners[0])
	require.NoError(t, err)
	assert.Contains(t, string(b), `"mean":null`)
	assert.Contains(t, string(b), `"median":null`)
	g, err := stage.Gaps(r, []stage.Target{{From: "MQL", To: "SAL", Rate: 0.5, CycleTime: leadkit.Duration(time.Hour)}})
	require.NoError(t, err)
	assert.Nil(t, g.Steps[0].Median)
	assert.Nil(t, g.Steps[0].CycleGap)
	assert.NotNil(t, g.Steps[0].TargetCycleTime)
}

func TestStayEndListOrder(t *testing.T) {
	// A history in time order: SQL then a correction back to MQL at the
	// same instant. SQL's stay ended then; MQL's has not.
	h := []stage.Visit{{LeadID: "x", Stage: "SQL", At: day(1)}, {LeadID: "x", Stage: "MQL", At: day(1)}}
	order := []string{"MQL", "SAL", "SQL"}
	assert.Equal(t, day(1), stage.StayEnd(h, 0, order))
	assert.True(t, stage.StayEnd(h, 1, order).IsZero())
	// Out of time order, the same-instant visits go in funnel order.
	u := []stage.Visit{{LeadID: "x", Stage: "SAL", At: day(3)}, {LeadID: "x", Stage: "SQL", At: day(1)}, {LeadID: "x", Stage: "MQL", At: day(1)}}
	assert.Equal(t, day(1), stage.StayEnd(u, 2, order), "MQL before SQL")
	assert.Equal(t, day(3), stage.StayEnd(u, 1, order))
}
