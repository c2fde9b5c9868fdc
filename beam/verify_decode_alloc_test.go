package beam

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit/lifecycle"
	"github.com/leadkit/leadkit/stage"
)

// A verify accumulator holds at most stage.MaxStages stages, as a stage
// machine does: more plans are refused when it is made and when it is
// decoded (each stage's accumulators take tens of KB to decode, so 4,000
// stages of crafted or foreign bytes once cost 300 MB); at the cap,
// decoding stays within 64 MB.
func TestVerifyAccumulatorDecodeAlloc(t *testing.T) {
	plans := []lifecycle.StagePlan{verifyCapPlan(true), verifyCapPlan(false)}
	var stages []lifecycle.StagePlan
	for range stage.MaxStages / 2 {
		stages = append(stages, plans...)
	}
	a, err := newVerifyAccumulator(stages)
	require.NoError(t, err)
	b, err := encodeVerifyAccumulator(a)
	require.NoError(t, err)
	alloc := allocOf(t, func() { _, err = decodeVerifyAccumulator(b) })
	require.NoError(t, err)
	t.Logf("%d bytes, %d stages: allocated %d KB", len(b), len(stages), alloc>>10)
	assert.Less(t, alloc, uint64(64<<20))

	_, err = newVerifyAccumulator(append(stages, plans[0]))
	require.ErrorContains(t, err, "(stage.MaxStages)")
	// The same bytes claiming one stage more.
	more := binary.AppendUvarint(nil, stage.MaxStages+1)
	_, n := binary.Uvarint(b)
	more = append(more, b[n:]...)
	more = append(more, b[len(b)-len(b)/len(stages):]...)
	_, err = decodeVerifyAccumulator(more)
	require.ErrorContains(t, err, "(stage.MaxStages)")
}
