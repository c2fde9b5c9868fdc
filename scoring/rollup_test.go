package scoring

import (
	"testing"

	"github.com/leadkit/leadkit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRollUp(t *testing.T) {
	res := []Result{
		{LeadID: "1", AccountID: "a1", Dimensions: []DimensionScore{{Name: "fit", Score: 10}}},
		{LeadID: "2", AccountID: "a1", Dimensions: []DimensionScore{{Name: "fit", Score: 30}}},
		{LeadID: "3", AccountID: "a1", Dimensions: []DimensionScore{{Name: "fit", Score: 20}}},
		{LeadID: "4", AccountID: "a2", Dimensions: []DimensionScore{{Name: "fit", Score: 5}}},
		{LeadID: "5", Dimensions: []DimensionScore{{Name: "fit", Score: 99}}},
	}
	cases := []struct {
		agg    Aggregate
		a1, a2 float64
	}{
		{Aggregate{Method: RollSum}, 60, 5},
		{Aggregate{Method: RollMax}, 30, 5},
		{Aggregate{Method: RollAvgTop, N: 2}, 25, 5}, // (30+20)/2; a2 has one contact
	}
	for _, c := range cases {
		got, err := RollUp(res, "fit", c.agg)
		require.NoError(t, err)
		assert.Equal(t, []AccountScore{{AccountID: "a1", Score: c.a1, Contacts: 3}, {AccountID: "a2", Score: c.a2, Contacts: 1}}, got, c.agg.Method)
	}
	_, err := RollUp(res, "fit", Aggregate{Method: "median"})
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
	_, err = RollUp(res, "fit", Aggregate{Method: RollAvgTop})
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
	_, err = RollUp(res, "nope", Aggregate{Method: RollSum})
	assert.ErrorIs(t, err, leadkit.ErrNotFound)
}
