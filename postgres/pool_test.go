package postgres_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit/pool"
	"github.com/leadkit/leadkit/postgres"
	"github.com/leadkit/leadkit/storetest"
)

func TestPoolStoreConformance(t *testing.T) {
	storetest.Pool(t, func(t *testing.T) pool.Store {
		db, prefix := openDB(t)
		s, err := postgres.NewPoolStore(context.Background(), postgres.SQL(db), postgres.Options{TablePrefix: prefix})
		require.NoError(t, err)
		return s
	})
}

// Scan reads every prospect across pages (more than one page of 500), in
// ID order.
func TestPoolStoreScanPages(t *testing.T) {
	ctx := context.Background()
	db, prefix := openDB(t)
	s, err := postgres.NewPoolStore(ctx, postgres.SQL(db), postgres.Options{TablePrefix: prefix})
	require.NoError(t, err)
	var ps []pool.Prospect
	for i := range 1001 {
		ps = append(ps, pool.Prospect{ID: fmt.Sprintf("p%04d", i), Version: 1, Status: pool.StatusActive})
	}
	for i := 0; i < len(ps); i += 200 {
		require.NoError(t, s.Apply(ctx, pool.Mark{}, ps[i:min(i+200, len(ps))]...))
	}
	var ids []string
	require.NoError(t, s.Scan(ctx, func(p pool.Prospect) error { ids = append(ids, p.ID); return nil }))
	require.Len(t, ids, 1001)
	assert.True(t, slices.IsSorted(ids))
}
