package learn_test

import (
	"testing"

	"github.com/leadkit/leadkit/scoring/learn"
	"github.com/stretchr/testify/assert"
)

func TestSplit(t *testing.T) {
	ex := history(1000, 11)
	// Leads seen twice: examples 0 and 1 are the same lead, so are 2 and
	// 3; examples without an ID are leads of their own.
	ex[1].Lead.ID = ex[0].Lead.ID
	ex[3].Lead.ID = ex[2].Lead.ID
	ex[10].Lead.ID, ex[11].Lead.ID = "", ""
	train, test := learn.Split(ex, 0.3, 1)
	assert.Equal(t, len(ex), len(train)+len(test))
	side := map[int]bool{}
	for _, i := range test {
		side[i] = true
	}
	assert.Equal(t, side[0], side[1], "one lead, one side")
	assert.Equal(t, side[2], side[3])

	pos, posTest := 0, 0
	for i, e := range ex {
		if e.Converted {
			pos++
			if side[i] {
				posTest++
			}
		}
	}
	assert.InDelta(t, 0.3, float64(len(test))/float64(len(ex)), 0.01)
	assert.InDelta(t, 0.3, float64(posTest)/float64(pos), 0.01, "stratified by outcome")

	again, _ := learn.Split(ex, 0.3, 1)
	assert.Equal(t, train, again)
	other, _ := learn.Split(ex, 0.3, 2)
	assert.NotEqual(t, train, other)
	for k := 1; k < len(test); k++ {
		assert.Less(t, test[k-1], test[k], "ascending")
	}

	// Two leads of a kind: one each side.
	two := history(4, 1)
	two[0].Converted, two[1].Converted, two[2].Converted, two[3].Converted = true, true, false, false
	tr, te := learn.Split(two, 0.3, 1)
	assert.Len(t, tr, 2)
	assert.Len(t, te, 2)
}
