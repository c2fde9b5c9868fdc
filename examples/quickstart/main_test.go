package main

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestQuickstart runs the demo and checks the facts it prints, each of
// which follows from its script by hand.
func TestQuickstart(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(&out))
	s := out.String()
	for _, want := range []string{
		`refused: stage: lead "cy" in pipeline "classic": transition "win" (Raw -> Won): does not leave from the current stage`,
		"ada  Mar 02 Raw -> Mar 05 MQL -> Mar 07 TAL -> Mar 08 SAL -> Mar 11 SQL -> Mar 16 Opportunity -> Mar 26 Won",
		"bo   Mar 02 Raw -> Mar 06 MQL -> Mar 09 TAL -> Mar 14 Recycled (not_ready)",
		"cy   Mar 02 Raw\n",
		"eli  Mar 04 Raw -> Mar 22 Disqualified (student)",
		"Mar 05: notify sales, ada is an MQL",
		// 5 leads; ada, bo, dee reached MQL; ada and bo TAL.
		"Raw          5        5        3/5 (60%)   4d",
		"MQL          3        3        2/3 (67%)   2d12h",
		"blocked by `grade in [\"A\", \"B\"]` (facts map[grade:C])",
		// dee has been an MQL since Mar 08 (SLA 2 days).
		"dee in MQL for 24d (SLA 2d)",
		// March MQLs: ada, bo, dee (new), fay (imported 2025, first time)
		// and gus (MQL in January, recycled, back in March): 5, of which
		// fay and gus were created before March; gus is the repeat.
		"5 MQLs: 2 created before March (40%); 4 first-time, 1 back again",
	} {
		assert.Contains(t, s, want)
	}
}
