package postgres_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/journey"
	"github.com/leadkit/leadkit/lifecycle"
	"github.com/leadkit/leadkit/pool"
	"github.com/leadkit/leadkit/postgres"
	"github.com/leadkit/leadkit/scoring"
	"github.com/leadkit/leadkit/stage"
)

// One engine over the PostgreSQL stores, fed the same events as one in
// memory, in the same order and batches, with event times of nanosecond
// precision (what time.Now gives): the stage histories and states match.
func TestEngineNanosecondTimes(t *testing.T) {
	ctx := context.Background()
	db, prefix := openDB(t)
	o := postgres.Options{TablePrefix: prefix}
	model, err := scoring.Compile(scoring.ModelSpec{Name: "m", Dimensions: []scoring.DimensionSpec{{Name: "engagement",
		Behavior: []scoring.BehaviorRule{{Name: "visit", Types: []string{"page_view"}, Points: 10}, {Name: "webinar", Types: []string{"webinar_attended"}, Points: 45}}}},
		Thresholds: []scoring.ThresholdSpec{{Name: "mql", Dimension: "engagement", Value: 100}}}, scoring.Options{})
	require.NoError(t, err)
	def := stage.Classic()
	def.Facts = map[string]leadkit.FieldType{"score": leadkit.TypeNumber}
	for i := range def.Transitions {
		if def.Transitions[i].Name == "qualify" {
			def.Transitions[i].Guard = "score >= 100"
		}
	}
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	r := rand.New(rand.NewPCG(1, 2))
	var evs []leadkit.Event
	for l := range 20 {
		for j := range 4 + r.IntN(10) {
			typ := "page_view"
			if r.IntN(4) == 0 {
				typ = "webinar_attended"
			}
			evs = append(evs, leadkit.Event{ID: fmt.Sprintf("L%02d-%d", l, j), LeadID: fmt.Sprintf("L%02d", l), Type: typ,
				Time: base.Add(time.Duration(r.IntN(30*24))*time.Hour + time.Duration(j)*time.Second + time.Duration(r.IntN(1000))*regNS)})
		}
	}
	slices.SortFunc(evs, func(a, b leadkit.Event) int { return a.Time.Compare(b.Time) })
	// late ones
	r.Shuffle(len(evs), func(a, b int) { evs[a], evs[b] = evs[b], evs[a] })
	policy := pool.Policy{Conditions: []pool.Condition{{Name: "engaged", When: "prospect.touches_90d >= 2"}}}
	engine := func(prospects pool.Store, stages stage.Store, events journey.Store, states lifecycle.Store) (*stage.Machine, *lifecycle.Engine, lifecycle.Store) {
		m, err := stage.New(def, stage.Options{Store: stages})
		require.NoError(t, err)
		pl, err := pool.New(pool.Options{Store: prospects, Policy: policy})
		require.NoError(t, err)
		e, err := lifecycle.New(pl, model, m, events, lifecycle.Options{States: states, Facts: map[string]string{"score": "engagement"}})
		require.NoError(t, err)
		return m, e, states
	}
	wantM, want, wantS := engine(pool.NewMemoryStore(), stage.NewMemoryStore(), journey.NewMemoryStore(), lifecycle.NewMemoryStore())
	stages, err := postgres.NewStageStore(ctx, db, o)
	require.NoError(t, err)
	events, err := postgres.NewJourneyStore(ctx, db, o)
	require.NoError(t, err)
	states, err := postgres.NewLifecycleStore(ctx, db, o)
	require.NoError(t, err)
	prospects, err := postgres.NewPoolStore(ctx, db, o)
	require.NoError(t, err)
	var js journey.Store = events
	var ss stage.Store = stages
	var ls lifecycle.Store = states
	var ps pool.Store = prospects
	gotM, got, gotS := engine(ps, ss, js, ls)
	for k := 0; k < len(evs); k += 3 {
		_, err := want.Ingest(ctx, evs[k:min(k+3, len(evs))]...)
		require.NoError(t, err)
		_, err = got.Ingest(ctx, evs[k:min(k+3, len(evs))]...)
		require.NoError(t, err)
	}
	for l := range 20 {
		id := fmt.Sprintf("L%02d", l)
		w, err := wantM.History(ctx, stage.Lead(id))
		require.NoError(t, err)
		g, err := gotM.History(ctx, stage.Lead(id))
		require.NoError(t, err)
		if !assert.Equal(t, len(w), len(g), id) {
			continue
		}
		for i := range w {
			assert.Equal(t, w[i].To, g[i].To, id)
			assert.True(t, w[i].At.Truncate(time.Microsecond).Equal(g[i].At), "%s: %v vs %v", id, w[i].At, g[i].At)
		}
		ws, err1 := wantS.Get(ctx, id)
		gs, err2 := gotS.Get(ctx, id)
		if err1 == nil && err2 == nil {
			assert.Equal(t, ws.Events, gs.Events, "%s events counted", id)
			for i := range ws.Score.Rules {
				a, b := ws.Score.Rules[i], gs.Score.Rules[i]
				assert.Equal(t, [2]float64{float64(a.N), a.Value}, [2]float64{float64(b.N), b.Value}, "%s rule %d", id, i)
			}
			assert.True(t, ws.Score.Updated.Truncate(time.Microsecond).Equal(gs.Score.Updated.Truncate(time.Microsecond)), "%s score updated %v vs %v", id, ws.Score.Updated, gs.Score.Updated)
		} else {
			assert.Equal(t, err1 == nil, err2 == nil, "%s: %v / %v", id, err1, err2)
		}
	}
}

// regNS is the unit of the sub-microsecond offsets the events get.
const regNS = time.Nanosecond
