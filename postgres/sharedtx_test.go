package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/lifecycle"
	"github.com/leadkit/leadkit/postgres"
)

// leadState is a minimal state whose Source names the tenant that wrote it.
func leadState(id, src string, v int64) lifecycle.LeadState {
	return lifecycle.LeadState{LeadID: id, Version: v, Lead: leadkit.Lead{ID: id, Source: src, CreatedAt: time.Unix(0, 0).UTC()}}
}

// Goroutines that interleave the calls of two tenants' stores on one
// *sql.Tx (unsupported: a unit of work is several statements, and another
// call's tenant setting may land between them) still never write into the
// other tenant: every statement names its store's tenant.
func TestInterleavedCallsWriteTheirTenant(t *testing.T) {
	ctx := context.Background()
	db, prefix := openDB(t)
	base, err := postgres.NewLifecycleStore(ctx, postgres.SQL(db), postgres.Options{TablePrefix: prefix})
	require.NoError(t, err)
	tx, err := db.BeginTx(ctx, nil)
	require.NoError(t, err)
	defer tx.Rollback() //nolint:errcheck
	inTx := base.With(postgres.SQL(tx))
	var wg sync.WaitGroup
	var mu sync.Mutex
	errs := map[string]int{}
	for _, tn := range []string{"acme", "globex"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, _ := inTx.ForTenant(tn)
			for i := range 300 {
				if err := s.Put(ctx, leadState(fmt.Sprintf("%s-L%d", tn, i), tn, 1)); err != nil {
					mu.Lock()
					errs[err.Error()]++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	t.Logf("errors: %v", errs)
	require.NoError(t, tx.Commit())
	for _, tn := range []string{"acme", "globex"} {
		s, _ := base.ForTenant(tn)
		wrong := 0
		require.NoError(t, s.Scan(ctx, func(st lifecycle.LeadState) error {
			if st.Lead.Source != tn {
				wrong++
			}
			return nil
		}))
		assert.Zero(t, wrong, "tenant %s holds states written by the other tenant's store", tn)
	}
}
