package pool_test

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/pool"
)

func TestBadInput(t *testing.T) {
	p := rpool(t, pool.Policy{})
	for name, o := range map[string]pool.Observation{
		"nan":                 {Score: ptr(math.NaN())},
		"inf":                 {Score: ptr(math.Inf(-1))},
		"year 3000":           {At: time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)},
		"nul tag":             {Tags: []string{"a\x00"}},
		"bad utf8 person":     {Person: leadkit.Person{FirstName: "\xff"}},
		"bad utf8 custom key": {Company: leadkit.Company{Custom: map[string]any{"\xff": 1}}},
	} {
		o.ID = "x-" + name
		o.Identities = []pool.Identity{rem("a@x.co")}
		_, _, err := p.Upsert(rctx, o)
		assert.ErrorIs(t, err, leadkit.ErrInvalid, name)
	}
	f, _ := p.Store().Find(rctx, []string{"email:a@x.co"})
	assert.Empty(t, f)
	_, err := p.Erase(rctx, "nope", time.Time{})
	assert.ErrorIs(t, err, leadkit.ErrNotFound)
}
func ptr[T any](v T) *T { return &v }

func TestEraseTimeUnchecked(t *testing.T) {
	p := rpool(t, pool.Policy{})
	pr := rup(t, p, "o1", rt0, rem("a@x.co"))
	_, err := p.Erase(rctx, pr.ID, time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC))
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
}
