package postgres_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
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
	"github.com/leadkit/leadkit/storetest"
)

func TestLifecycleStoreConformance(t *testing.T) {
	storetest.Lifecycle(t, func(t *testing.T) lifecycle.Store {
		db, prefix := openDB(t)
		s, err := postgres.NewLifecycleStore(context.Background(), postgres.SQL(db), postgres.Options{TablePrefix: prefix})
		require.NoError(t, err)
		return s
	})
}

// Four engines, each on its own connection pool (as four processes have),
// over the PostgreSQL pool, stage, journey and lead-state stores, two for
// each of two tenants, ingest differently shuffled deliveries of the same
// events (same IDs in both tenants) at once; each tenant's stage histories
// end as one engine's in memory, fed in time order.
func TestEnginesOverPostgres(t *testing.T) {
	ctx := context.Background()
	db, prefix := openDB(t)
	evs := engineEvents(0)
	tenants := []string{"acme", "globex"}
	engine := func(prospects pool.Store, stages stage.Store, events journey.Store, states lifecycle.Store) (*stage.Machine, *lifecycle.Engine) {
		return newEngine(t, prospects, stages, events, states)
	}
	wantM, want := engine(pool.NewMemoryStore(), stage.NewMemoryStore(), journey.NewMemoryStore(), lifecycle.NewMemoryStore())
	for _, ev := range evs {
		_, err := want.Ingest(ctx, ev)
		require.NoError(t, err)
	}

	machines := map[string]*stage.Machine{}
	var wg sync.WaitGroup
	for i := range 4 {
		o := postgres.Options{TablePrefix: prefix, Tenant: tenants[i%2]}
		pdb, err := sql.Open("pgx", os.Getenv("LEADKIT_PG_DSN"))
		require.NoError(t, err)
		t.Cleanup(func() { pdb.Close() })
		stages, err := postgres.NewStageStore(ctx, postgres.SQL(pdb), o)
		require.NoError(t, err)
		events, err := postgres.NewJourneyStore(ctx, postgres.SQL(pdb), o)
		require.NoError(t, err)
		states, err := postgres.NewLifecycleStore(ctx, postgres.SQL(pdb), o)
		require.NoError(t, err)
		prospects, err := postgres.NewPoolStore(ctx, postgres.SQL(pdb), o)
		require.NoError(t, err)
		m, e := engine(prospects, stages, events, states)
		require.Equal(t, o.Tenant, e.Tenant())
		machines[o.Tenant] = m
		sh := slices.Clone(evs)
		rand.New(rand.NewPCG(uint64(i), 9)).Shuffle(len(sh), func(a, b int) { sh[a], sh[b] = sh[b], sh[a] })
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < len(sh); k += 3 + i {
				_, err := e.Ingest(ctx, sh[k:min(k+3+i, len(sh))]...)
				assert.NoError(t, err)
			}
		}()
	}
	wg.Wait()
	_ = db
	for _, tenant := range tenants {
		mqls := 0
		for l := range 20 {
			id := fmt.Sprintf("L%02d", l)
			w, err := wantM.History(ctx, stage.Lead(id))
			require.NoError(t, err)
			g, err := machines[tenant].History(ctx, stage.Lead(id))
			require.NoError(t, err)
			require.Equal(t, len(w), len(g), "%s %s", tenant, id)
			for i := range w {
				assert.Equal(t, w[i].To, g[i].To, id)
				assert.True(t, w[i].At.Equal(g[i].At), "%s %s: %v vs %v", tenant, id, w[i].At, g[i].At)
				if w[i].To == "MQL" {
					mqls++
				}
			}
		}
		assert.Greater(t, mqls, 3, "leads reach MQL, so the comparison means something")
	}
}

// engineEvents are 20 leads' page views and webinars over a month, in
// time order, each time offset by up to 999 times jitter (0: none).
func engineEvents(jitter time.Duration) []leadkit.Event {
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	r := rand.New(rand.NewPCG(1, 2))
	var evs []leadkit.Event
	for l := range 20 {
		for j := range 4 + r.IntN(10) {
			typ := "page_view"
			if r.IntN(4) == 0 {
				typ = "webinar_attended"
			}
			at := base.Add(time.Duration(r.IntN(30*24))*time.Hour + time.Duration(j)*time.Second)
			if jitter > 0 {
				at = at.Add(time.Duration(r.IntN(1000)) * jitter)
			}
			evs = append(evs, leadkit.Event{ID: fmt.Sprintf("L%02d-%d", l, j), LeadID: fmt.Sprintf("L%02d", l), Type: typ, Time: at})
		}
	}
	slices.SortFunc(evs, func(a, b leadkit.Event) int { return a.Time.Compare(b.Time) })
	return evs
}

// newEngine is an engine over the given stores: a pool graduating after two
// touches, an engagement model (MQL at 100) and the classic stages.
func newEngine(t *testing.T, prospects pool.Store, stages stage.Store, events journey.Store, states lifecycle.Store) (*stage.Machine, *lifecycle.Engine) {
	t.Helper()
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
	m, err := stage.New(def, stage.Options{Store: stages})
	require.NoError(t, err)
	pl, err := pool.New(pool.Options{Store: prospects, Policy: pool.Policy{Conditions: []pool.Condition{{Name: "engaged", When: "prospect.touches_90d >= 2"}}}})
	require.NoError(t, err)
	e, err := lifecycle.New(pl, model, m, events, lifecycle.Options{States: states, Facts: map[string]string{"score": "engagement"}})
	require.NoError(t, err)
	return m, e
}
