package postgres_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit/journey"
	"github.com/leadkit/leadkit/lifecycle"
	"github.com/leadkit/leadkit/pool"
	"github.com/leadkit/leadkit/postgres"
	"github.com/leadkit/leadkit/stage"
)

// One engine over the PostgreSQL stores, fed the same events as one in
// memory, in the same order and batches, with event times of nanosecond
// precision (what time.Now gives): the stage histories and states match.
func TestEngineNanosecondTimes(t *testing.T) {
	ctx := context.Background()
	db, prefix := openDB(t)
	o := postgres.Options{TablePrefix: prefix}
	evs := engineEvents(regNS)
	// late ones
	rand.New(rand.NewPCG(3, 4)).Shuffle(len(evs), func(a, b int) { evs[a], evs[b] = evs[b], evs[a] })
	engine := func(prospects pool.Store, stages stage.Store, events journey.Store, states lifecycle.Store) (*stage.Machine, *lifecycle.Engine, lifecycle.Store) {
		m, e := newEngine(t, prospects, stages, events, states)
		return m, e, states
	}
	wantM, want, wantS := engine(pool.NewMemoryStore(), stage.NewMemoryStore(), journey.NewMemoryStore(), lifecycle.NewMemoryStore())
	stages, err := postgres.NewStageStore(ctx, postgres.SQL(db), o)
	require.NoError(t, err)
	events, err := postgres.NewJourneyStore(ctx, postgres.SQL(db), o)
	require.NoError(t, err)
	states, err := postgres.NewLifecycleStore(ctx, postgres.SQL(db), o)
	require.NoError(t, err)
	prospects, err := postgres.NewPoolStore(ctx, postgres.SQL(db), o)
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
