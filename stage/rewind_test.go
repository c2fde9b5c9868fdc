package stage_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/stage"
)

// Rewind returns a record to what it was after an earlier entry (the
// record the machine returned then, sub-status changes included), takes
// the later entries out of the history and returns them; the next change
// reuses their versions. No hook runs.
func TestRewindRestoresTheRecordOfAnEarlierVersion(t *testing.T) {
	hooks := 0
	m, clk := newMachine(t, stage.Classic(), stage.Options{OnCommit: func(_ context.Context, _ stage.Change) { hooks++ }})
	l := stage.Lead("R")
	var seen []stage.Record
	rec, err := m.Start(ctx, l, stage.StartOptions{})
	require.NoError(t, err)
	seen = append(seen, rec)
	clk.Advance(time.Hour)
	rec, _, err = m.Advance(ctx, l, stage.Facts{"score": 150, "grade": "A"}, stage.Request{})
	require.NoError(t, err)
	seen = append(seen, rec)
	clk.Advance(time.Hour)
	rec, err = m.Fire(ctx, l, "accept", stage.Request{Actor: "sdr"})
	require.NoError(t, err)
	seen = append(seen, rec)
	clk.Advance(time.Hour)
	rec, err = m.SetSubStatus(ctx, l, "contacted", stage.Request{})
	require.NoError(t, err)
	seen = append(seen, rec)
	clk.Advance(time.Hour)
	rec, err = m.Fire(ctx, l, "qualify_sql", stage.Request{Actor: "ae"})
	require.NoError(t, err)
	seen = append(seen, rec)
	full, err := m.History(ctx, l)
	require.NoError(t, err)
	require.Len(t, full, 5)

	for keep := int64(4); keep >= 1; keep-- {
		calls := hooks
		got, removed, err := m.Rewind(ctx, l, keep, keep+1)
		require.NoError(t, err, "keep %d", keep)
		assert.Equal(t, seen[keep-1], got, "the record after version %d", keep)
		stored, err := m.Get(ctx, l)
		require.NoError(t, err)
		assert.Equal(t, got, stored)
		assert.Equal(t, full[keep:keep+1], removed)
		h, err := m.History(ctx, l)
		require.NoError(t, err)
		assert.Equal(t, full[:keep], h)
		assert.Equal(t, calls, hooks, "no hook runs on a rewind")
	}

	// The next change takes the freed version.
	rec, err = m.Fire(ctx, l, "disqualify", stage.Request{Reason: "duplicate"})
	require.NoError(t, err)
	assert.Equal(t, int64(2), rec.Version)

	// Back to nothing: the subject may start again.
	_, removed, err := m.Rewind(ctx, l, 0, 2)
	require.NoError(t, err)
	assert.Len(t, removed, 2)
	_, err = m.Get(ctx, l)
	assert.ErrorIs(t, err, leadkit.ErrNotFound)
	_, err = m.Start(ctx, l, stage.StartOptions{})
	require.NoError(t, err)
}

// A stale version conflicts and a bad range is invalid; neither writes.
func TestRewindRefusesStaleVersionsAndBadRanges(t *testing.T) {
	m, _ := newMachine(t, stage.Classic(), stage.Options{})
	l := stage.Lead("R")
	_, err := m.Start(ctx, l, stage.StartOptions{})
	require.NoError(t, err)
	_, _, err = m.Advance(ctx, l, stage.Facts{"score": 150, "grade": "A"}, stage.Request{})
	require.NoError(t, err)
	for _, c := range []struct {
		keep, version int64
		want          error
	}{{1, 1, leadkit.ErrInvalid}, {-1, 2, leadkit.ErrInvalid}, {3, 2, leadkit.ErrInvalid}, {0, 3, leadkit.ErrConflict}, {1, 3, leadkit.ErrConflict}} {
		_, _, err := m.Rewind(ctx, l, c.keep, c.version)
		assert.ErrorIs(t, err, c.want, "keep %d version %d", c.keep, c.version)
	}
	_, _, err = m.Rewind(ctx, stage.Lead("nobody"), 0, 1)
	assert.ErrorIs(t, err, leadkit.ErrConflict)
	h, err := m.History(ctx, l)
	require.NoError(t, err)
	assert.Len(t, h, 2)
}

// WithStore gives the same machine over another store; the original keeps
// its own.
func TestWithStore(t *testing.T) {
	m, _ := newMachine(t, stage.Classic(), stage.Options{})
	other := stage.NewMemoryStore()
	w := m.WithStore(other)
	_, err := w.Start(ctx, stage.Lead("W"), stage.StartOptions{})
	require.NoError(t, err)
	_, err = m.Get(ctx, stage.Lead("W"))
	assert.ErrorIs(t, err, leadkit.ErrNotFound)
	rec, err := other.Get(ctx, stage.Key{Pipeline: "classic", Subject: stage.Lead("W")})
	require.NoError(t, err)
	assert.Equal(t, "Raw", rec.Stage)
	assert.Same(t, other, w.Store())
}
