package postgres_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/journey"
	"github.com/leadkit/leadkit/lifecycle"
	"github.com/leadkit/leadkit/pool"
	"github.com/leadkit/leadkit/postgres"
	"github.com/leadkit/leadkit/stage"
)

// TestDiagnoseOverPostgres: the funnel diagnosis reads the same answer
// from the PostgreSQL stores as from the memory stores, for the same
// events and the same people's decisions.
func TestDiagnoseOverPostgres(t *testing.T) {
	ctx := context.Background()
	_, prefix := openDB(t)
	pdb, err := sql.Open("pgx", os.Getenv("LEADKIT_PG_DSN"))
	require.NoError(t, err)
	t.Cleanup(func() { pdb.Close() })
	o := postgres.Options{TablePrefix: prefix}
	stages, err := postgres.NewStageStore(ctx, postgres.SQL(pdb), o)
	require.NoError(t, err)
	events, err := postgres.NewJourneyStore(ctx, postgres.SQL(pdb), o)
	require.NoError(t, err)
	states, err := postgres.NewLifecycleStore(ctx, postgres.SQL(pdb), o)
	require.NoError(t, err)
	prospects, err := postgres.NewPoolStore(ctx, postgres.SQL(pdb), o)
	require.NoError(t, err)

	run := func(m *stage.Machine, e *lifecycle.Engine) lifecycle.Diagnosis {
		evs := engineEvents(0)
		_, err := e.Ingest(ctx, evs...)
		require.NoError(t, err)
		// Each MQL is called by one of two SDRs and accepted or recycled.
		for i, id := range []string{"L00", "L01", "L02", "L03", "L04", "L05", "L06", "L07", "L08", "L09", "L10", "L11", "L12", "L13", "L14", "L15", "L16", "L17", "L18", "L19"} {
			rec, err := m.Get(ctx, stage.Lead(id))
			if err != nil || rec.Stage != "MQL" {
				continue
			}
			at := rec.EnteredAt.Add(time.Duration(1+i) * time.Hour)
			_, err = e.Ingest(ctx, leadkit.Event{ID: id + "-call", LeadID: id, Type: leadkit.EventSDRCall, Time: at})
			require.NoError(t, err)
			sdr, move, reason := []string{"ana", "bo"}[i%2], "accept", ""
			if i%3 == 0 {
				move, reason = "recycle", "timing"
			}
			_, err = m.Fire(ctx, stage.Lead(id), move, stage.Request{Actor: sdr, Reason: reason, At: at})
			require.NoError(t, err)
		}
		d, err := e.Diagnose(ctx, lifecycle.DiagnoseOptions{Now: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)})
		require.NoError(t, err)
		return d
	}
	wm, we := newEngine(t, pool.NewMemoryStore(), stage.NewMemoryStore(), journey.NewMemoryStore(), lifecycle.NewMemoryStore())
	want := run(wm, we)
	gm, ge := newEngine(t, prospects, stages, events, states)
	got := run(gm, ge)
	step, ok := want.Step("MQL", "SAL")
	require.True(t, ok)
	require.GreaterOrEqual(t, len(step.Owners), 2, "the SDRs worked MQLs, so the comparison means something")
	wj, err := json.Marshal(want)
	require.NoError(t, err)
	gj, err := json.Marshal(got)
	require.NoError(t, err)
	assert.JSONEq(t, string(wj), string(gj))
}
