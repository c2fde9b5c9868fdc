package journey_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit/journey"
	"github.com/leadkit/leadkit/stage"
)

// TestStageFunnelAgreesWithStageMachine writes random stage histories into
// a stage store and compares journey.StageFunnel (with the definition's
// funnel order) against stage.Machine.Funnel on the same histories, for
// every pair of funnel stages and a few longer subsets: a lead that entered
// a stage left out of the funnel must count as reaching the listed stage
// before it in both.
func TestStageFunnelAgreesWithStageMachine(t *testing.T) {
	ctx := context.Background()
	base := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	for _, def := range []stage.Definition{stage.Classic(), stage.Waterfall()} {
		t.Run(def.Name, func(t *testing.T) {
			store := stage.NewMemoryStore()
			m, err := stage.New(def, stage.Options{Store: store})
			require.NoError(t, err)
			var names []string
			for _, s := range def.Stages {
				names = append(names, s.Name)
			}
			rng := rand.New(rand.NewPCG(6, uint64(len(names))))
			var entries []journey.StageEntry
			for l := range 400 {
				key := stage.Key{Pipeline: m.Pipeline(), Subject: stage.Lead(fmt.Sprintf("L%03d", l))}
				at := base.Add(time.Duration(rng.IntN(60*24)) * time.Hour)
				prev := ""
				for v := int64(1); v <= int64(1+rng.IntN(5)); v++ {
					at = at.Add(time.Duration(1+rng.IntN(72)) * time.Hour)
					e := stage.Entry{Key: key, Version: v, From: prev, To: names[rng.IntN(len(names))], At: at, Trigger: stage.TriggerManual}
					if v == 1 {
						e.Trigger = stage.TriggerStart
					} else if rng.IntN(6) == 0 && prev != "" {
						e.To, e.SubStatus, e.Trigger = prev, "contacted", stage.TriggerSubStatus
					}
					rec := stage.Record{Key: key, Stage: e.To, SubStatus: e.SubStatus, EnteredAt: at, UpdatedAt: at, Version: v}
					require.NoError(t, store.Commit(ctx, rec, e))
					// The documented conversion: one StageEntry per stage
					// change, sub-status changes left out.
					if e.Trigger != stage.TriggerSubStatus {
						entries = append(entries, journey.StageEntry{LeadID: key.ID, Stage: e.To, At: e.At})
					}
					prev = e.To
				}
			}
			order := m.FunnelStages()
			var subsets [][]string
			for i := range order {
				for j := i + 1; j < len(order); j++ {
					subsets = append(subsets, []string{order[i], order[j]})
				}
			}
			subsets = append(subsets, order, []string{order[0], order[2], order[3]}, []string{order[1], order[3], order[len(order)-1]})
			from, to := base.Add(10*24*time.Hour), base.Add(50*24*time.Hour)
			implied := 0
			for _, sub := range subsets {
				for _, cohort := range [][2]time.Time{{}, {from, to}} {
					want, err := m.Funnel(ctx, stage.FunnelOptions{Stages: sub, From: cohort[0], To: cohort[1]})
					require.NoError(t, err)
					got, err := journey.StageFunnel(journey.StageFunnelSpec{Stages: sub, Order: order, From: cohort[0], To: cohort[1]}, entries)
					require.NoError(t, err)
					require.Len(t, got.Stages, len(want.Stages))
					for i, s := range want.Stages {
						assert.Equal(t, journey.StageCount{Stage: s.Stage, Entered: s.Entered, Reached: s.Reached, Skipped: s.Skipped}, got.Stages[i], "%v %v", sub, cohort)
					}
					require.Len(t, got.Conversions, len(want.Conversions))
					for i, c := range want.Conversions {
						assert.Equal(t, journey.StageConversion{From: c.From, To: c.To, Base: c.Base, Converted: c.Converted, Rate: c.Rate, Mean: time.Duration(c.Mean), Median: time.Duration(c.Median)},
							got.Conversions[i], "%v %v", sub, cohort)
					}
					// Without the order journey counts direct entries only:
					// the data must make that differ somewhere.
					plain, err := journey.StageFunnel(journey.StageFunnelSpec{Stages: sub, From: cohort[0], To: cohort[1]}, entries)
					require.NoError(t, err)
					if plain.Stages[0].Reached != got.Stages[0].Reached {
						implied++
					}
				}
			}
			assert.Greater(t, implied, 5, "skipped stages must matter in the data")
		})
	}
}

func TestStageFunnelOrderErrors(t *testing.T) {
	_, err := journey.StageFunnel(journey.StageFunnelSpec{Stages: []string{"SQL", "MQL", "Won"}, Order: []string{"MQL", "SAL", "SQL", "SQL"}}, nil)
	require.Error(t, err)
	for _, w := range []string{`stage "SQL" listed twice`, `stage "MQL" is listed out of order`, `stage "Won" is not in the order`} {
		assert.ErrorContains(t, err, w)
	}
}
