package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestQuickstart runs the demo and checks what it prints, in order: ana
// graduates at her form fill, crosses the MQL threshold and becomes an MQL
// at the webinar, and an SDR moves her to TAL; bo stays a prospect.
func TestQuickstart(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(&out))
	s := out.String()

	// Each line comes after the one before it.
	inOrder := []string{
		"Mar 02 09:00  ana  page_view\n",
		"Mar 03 14:00  ana  whitepaper_download\n",
		"    -> 2026-03-03T14:00:00Z ana: graduated into Raw\n",
		"Mar 04 15:00  bo   webinar_attended\n",
		"Mar 05 16:00  ana  webinar_attended\n",
		"    -> 2026-03-05T16:00:00Z ana: reached mql (105)\n",
		"    -> 2026-03-05T16:00:00Z ana: Raw -> MQL (qualify)\n",
		"Mar 06 10:00  sam (SDR) accepts ana: now in TAL\n",
		`bo stays a prospect: condition "business email" is false, having read prospect.business_email = false`,
		"== ana's stages\n" +
			"Mar 03 14:00  Raw by lifecycle (start)\n" +
			"Mar 05 16:00  MQL by lifecycle (auto)\n" +
			"Mar 06 10:00  TAL by sam (SDR) (manual)\n",
		// 30 (vp) + 2 page views x 5 + whitepaper 25 + webinar 40 = 105.
		"== ana's score on Mar 06: 105 (fit band A, mql reached: true)\n" +
			"fit        senior     1 x = 30\n" +
			"engagement page view  2 x = 10\n" +
			"engagement whitepaper 1 x = 25\n" +
			"engagement webinar    1 x = 40\n",
	}
	rest := s
	for _, want := range inOrder {
		i := strings.Index(rest, want)
		if !assert.GreaterOrEqual(t, i, 0, "missing, or out of order: %q\nin output:\n%s", want, s) {
			return
		}
		rest = rest[i+len(want):]
	}

	// Only ana's three changes come out of Ingest: bo never graduates, and
	// the page view before the form fill changes nothing.
	assert.Equal(t, 3, strings.Count(s, "    -> "))
	assert.NotContains(t, s, "bo: graduated")

	// The output never depends on the wall clock.
	var again bytes.Buffer
	require.NoError(t, run(&again))
	assert.Equal(t, s, again.String())
}
