package journey

import (
	"encoding/json"
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// TestGoldenReport pins the JSON form of a full analysis over 300 synthetic
// leads (funnel, stage funnel, golden paths). The numbers themselves are
// verified by the brute-force and hand-counted tests; this file guards the
// serialized shape and catches unintended changes. Refresh with -update.
func TestGoldenReport(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	tls := randomTimelines(rng, 300, 25)
	var entries []StageEntry
	for _, l := range tls {
		for _, e := range l.Events {
			if e.Type == "form_submitted" {
				entries = append(entries, StageEntry{LeadID: l.LeadID, Stage: "MQL", At: e.Time})
			}
			if e.Type == "meeting" {
				entries = append(entries, StageEntry{LeadID: l.LeadID, Stage: "SQL", At: e.Time})
			}
		}
	}
	funnel, err := Funnel(FunnelSpec{Steps: []Step{
		{Name: "visit", Types: []string{"page_view"}},
		{Name: "download", Types: []string{"download"}, When: `Content in ["c1", "c2"]`},
		{Name: "meeting", Types: []string{"meeting"}},
	}, Window: 7 * 24 * time.Hour, Bins: 5}, tls)
	require.NoError(t, err)
	stages, err := StageFunnel(StageFunnelSpec{Stages: []string{"MQL", "SQL"}, Cohort: PeriodMonth}, entries)
	require.NoError(t, err)
	conv, other, err := ConversionPaths(tls, entries, "SQL", KeyChannel)
	require.NoError(t, err)
	paths, err := GoldenPaths(conv, other, PatternOptions{MinSupport: 60, MaxLength: 3, CollapseRepeats: true})
	require.NoError(t, err)
	got, err := json.MarshalIndent(map[string]any{"funnel": funnel, "stage_funnel": stages, "golden_paths": paths}, "", "  ")
	require.NoError(t, err)
	path := filepath.Join("testdata", "report.golden.json")
	if *update {
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -update to create it")
	assert.JSONEq(t, string(want), string(got))
}
