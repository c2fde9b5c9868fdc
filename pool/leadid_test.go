package pool_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit/pool"
)

func TestLeadIDUnchecked(t *testing.T) {
	p, err := pool.New(pool.Options{LeadID: func(pool.Prospect) string { return "" }, NewID: func() string { return "p1" }})
	require.NoError(t, err)
	pr, _, err := p.Upsert(rctx, pool.Observation{ID: "o", At: rt0, Identities: []pool.Identity{rem("a@x.co")}})
	require.NoError(t, err)
	g, ok, err := p.Qualify(rctx, pr.ID, rt0)
	assert.False(t, ok && g.LeadID == "", "graduated into a lead with no ID (err %v)", err)
	p2, _ := pool.New(pool.Options{LeadID: func(pool.Prospect) string { return strings.Repeat("\xff", 1<<20) }})
	pr, _, _ = p2.Upsert(rctx, pool.Observation{ID: "o", At: rt0, Identities: []pool.Identity{rem("a@x.co")}})
	_, ok, err = p2.Qualify(rctx, pr.ID, rt0.Add(time.Hour))
	assert.False(t, ok, "1 MiB invalid UTF-8 lead ID stored (err %v)", err)
}
