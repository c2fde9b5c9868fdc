package postgres_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit/pool"
	"github.com/leadkit/leadkit/postgres"
	"github.com/leadkit/leadkit/storetest"
)

func TestPoolStoreConformance(t *testing.T) {
	storetest.Pool(t, func(t *testing.T) pool.Store {
		db, prefix := openDB(t)
		s, err := postgres.NewPoolStore(context.Background(), db, postgres.Options{TablePrefix: prefix})
		require.NoError(t, err)
		return s
	})
}
