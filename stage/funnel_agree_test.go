package stage_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit/stage"
)

// TestFunnelOverVisitsAgreesWithMachine writes random stage histories into
// a stage store and compares Funnel over the same histories exported as
// visits (with the definition's funnel order) against Machine.Funnel, for
// every pair of funnel stages and a few longer subsets: a lead that entered
// a stage left out of the funnel must count as reaching the listed stage
// before it in both.
func TestFunnelOverVisitsAgreesWithMachine(t *testing.T) {
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
			var entries []stage.Visit
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
					// The documented conversion: one Visit per stage
					// change, sub-status changes left out.
					if e.Trigger != stage.TriggerSubStatus {
						entries = append(entries, stage.Visit{LeadID: key.ID, Stage: e.To, At: e.At})
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
					got, err := stage.Funnel(stage.FunnelSpec{Stages: sub, Order: order, From: cohort[0], To: cohort[1]}, entries)
					require.NoError(t, err)
					assert.Equal(t, want, got, "%v %v", sub, cohort)
					// Without the order only direct entries count:
					// the data must make that differ somewhere.
					plain, err := stage.Funnel(stage.FunnelSpec{Stages: sub, From: cohort[0], To: cohort[1]}, entries)
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

func TestFunnelOrderErrors(t *testing.T) {
	_, err := stage.Funnel(stage.FunnelSpec{Stages: []string{"SQL", "MQL", "Won"}, Order: []string{"MQL", "SAL", "SQL", "SQL"}}, nil)
	require.Error(t, err)
	for _, w := range []string{`stage "SQL" listed twice`, `stage "MQL" is listed out of order`, `stage "Won" is not in the order`} {
		assert.ErrorContains(t, err, w)
	}
}
