package leadkit_test

import (
	"encoding/json"
	"fmt"
	"math"
	"testing"

	"github.com/leadkit/leadkit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestNumber is the one number rule, tested once: stage facts, scoring
// custom fields, journey attributes and attribution values all use it.
func TestNumber(t *testing.T) {
	for _, v := range []any{int(5), int8(5), int16(5), int32(5), int64(5), uint(5), uint8(5), uint16(5), uint32(5), uint64(5), float32(5), float64(5), json.Number("5")} {
		f, err := leadkit.Number(v)
		require.NoError(t, err, "%T", v)
		assert.Equal(t, 5.0, f, "%T", v)
	}
	for v, msg := range map[any]string{
		"5":                   `want a number, got the string "5"`,
		true:                  "want a number, got bool",
		math.NaN():            "NaN is not a finite number",
		math.Inf(1):           "+Inf is not a finite number",
		float32(math.Inf(-1)): "-Inf is not a finite number",
		json.Number("1e999"):  `"1e999" is not a number`,
		json.Number("x"):      `"x" is not a JSON number`,
		// strconv reads these; JSON (and so PostgreSQL's jsonb) does not:
		// an event carrying one was stored in memory and failed the
		// whole batch in PostgreSQL.
		json.Number("0x1p4"): `"0x1p4" is not a JSON number`,
		json.Number("+5"):    `"+5" is not a JSON number`,
		json.Number(".5"):    `".5" is not a JSON number`,
		json.Number("5."):    `"5." is not a JSON number`,
		json.Number("05"):    `"05" is not a JSON number`,
		json.Number("Inf"):   `"Inf" is not a JSON number`,
		json.Number(`"5"`):   `is not a JSON number`,
	} {
		_, err := leadkit.Number(v)
		assert.ErrorIs(t, err, leadkit.ErrInvalid, "%T %v", v, v)
		assert.ErrorContains(t, err, msg, "%T %v", v, v)
	}
	_, err := leadkit.Number(nil)
	assert.ErrorContains(t, err, "got nothing")
	_, err = leadkit.Number([]int{1})
	assert.ErrorContains(t, err, "got []int")
}

func ExampleNumber() {
	for _, v := range []any{int16(7), json.Number("2.5"), "5", math.Inf(1)} {
		f, err := leadkit.Number(v)
		fmt.Println(f, err)
	}
	// Output:
	// 7 <nil>
	// 2.5 <nil>
	// 0 leadkit: invalid input: want a number, got the string "5"
	// 0 leadkit: invalid input: +Inf is not a finite number
}
