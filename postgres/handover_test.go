package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/pool"
)

// One writer moves prospect P1 from key k to key j while another creates
// P2 with keys j and k: the first deletes k's row then inserts j, the
// second inserts j then k. Apply's doc says writers never deadlock.
func TestPoolApplyKeyHandoverDeadlock(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newPool(t)
	var deadlocks, other atomic.Int64
	deadline := time.Now().Add(4 * time.Second)
	for round := 0; time.Now().Before(deadline); round++ {
		p1, p2 := fmt.Sprintf("r%04d-p1", round), fmt.Sprintf("r%04d-p2", round)
		k, j := fmt.Sprintf("k%04d@x.co", round), fmt.Sprintf("j%04d@x.co", round)
		require.NoError(t, s.Apply(ctx, pool.Mark{}, regProspect(p1, 1, k)))
		var wg sync.WaitGroup
		errs := make([]error, 2)
		wg.Add(2)
		go func() { defer wg.Done(); errs[0] = s.Apply(ctx, pool.Mark{}, regProspect(p1, 2, j)) }()
		go func() { defer wg.Done(); errs[1] = s.Apply(ctx, pool.Mark{}, regProspect(p2, 1, j, k)) }()
		wg.Wait()
		for _, err := range errs {
			var pe *pgconn.PgError
			switch {
			case err == nil:
			case errors.As(err, &pe) && pe.Code == "40P01":
				deadlocks.Add(1)
			case errors.Is(err, leadkit.ErrConflict):
			default:
				other.Add(1)
				t.Logf("unexpected: %v", err)
			}
		}
	}
	assert.Zero(t, deadlocks.Load(), "deadlocks between two Apply calls")
	assert.Zero(t, other.Load())
}
