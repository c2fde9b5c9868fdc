package journey

import (
	"encoding/json"
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/stage"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// TestGoldenReport pins the JSON form of a full analysis over 300 synthetic
// leads (funnel, stage funnel, golden paths). Some of its numbers are
// checked against independent computations first; the file guards the
// serialized shape and catches unintended changes. Refresh with -update.
func TestGoldenReport(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	tls := randomTimelines(rng, 300, 25)
	var entries []stage.Visit
	for _, l := range tls {
		for _, e := range l.Events {
			if e.Type == "form_submitted" {
				entries = append(entries, stage.Visit{LeadID: l.LeadID, Stage: "MQL", At: e.Time})
			}
			if e.Type == "meeting" {
				entries = append(entries, stage.Visit{LeadID: l.LeadID, Stage: "SQL", At: e.Time})
			}
		}
	}
	funnel, err := Funnel(FunnelSpec{Steps: []Step{
		{Name: "visit", Types: []string{"page_view"}},
		{Name: "download", Types: []string{"download"}, When: `event.content in ["c1", "c2"]`},
		{Name: "meeting", Types: []string{"meeting"}},
	}, Window: 7 * 24 * time.Hour, Bins: 5}, tls)
	require.NoError(t, err)
	stages, err := stage.Funnel(stage.FunnelSpec{Stages: []string{"MQL", "SQL"}, Cohort: leadkit.PeriodMonth}, entries)
	require.NoError(t, err)
	conv, other, err := ConversionPaths(tls, entries, "SQL", KeyChannel)
	require.NoError(t, err)
	paths, err := GoldenPaths(conv, other, PatternOptions{MinSupport: 60, MaxLength: 3, CollapseRepeats: true})
	require.NoError(t, err)
	// A few numbers of the report derived independently of the code
	// under test, so the golden file is not only what -update wrote.
	//
	// Funnel: per lead, the brute-force reference (every attempt followed
	// on its own) with the steps' conditions written out by hand.
	funnelSpec := FunnelSpec{Steps: []Step{{Name: "visit"}, {Name: "download"}, {Name: "meeting"}}, Window: 7 * 24 * time.Hour}
	mask := func(e leadkit.Event) uint64 {
		switch {
		case e.Type == "page_view":
			return 1
		case e.Type == "download" && (e.Content == "c1" || e.Content == "c2"):
			return 2
		case e.Type == "meeting":
			return 4
		}
		return 0
	}
	wantCounts := make([]int, 3)
	var wantConvert []time.Duration
	for _, l := range tls {
		for i := 1; i < len(l.Events); i++ {
			require.False(t, l.Events[i].Time.Equal(l.Events[i-1].Time), "bruteOrdered needs distinct times")
		}
		best := bruteOrdered(3, funnelSpec.Window, refEvents(l.Events, mask, false))
		for k := range best {
			wantCounts[k]++
		}
		if len(best) == 3 {
			wantConvert = append(wantConvert, best[2].Sub(best[0]))
		}
	}
	assert.Equal(t, wantCounts, counts(funnel))
	slices.Sort(wantConvert)
	require.Len(t, wantConvert, 14)
	assert.Equal(t, leadkit.Duration(wantConvert[6]+(wantConvert[7]-wantConvert[6])/2), funnel.TimeToConvert.Median, "median of 14: mean of the 7th and 8th")
	// Stage funnel: MQL is reached by every lead with an MQL or SQL entry
	// (SQL comes later), entered by those with an MQL entry.
	mql, sql, either := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, e := range entries {
		either[e.LeadID] = true
		if e.Stage == "MQL" {
			mql[e.LeadID] = true
		} else {
			sql[e.LeadID] = true
		}
	}
	assert.Equal(t, stage.FunnelStage{Stage: "MQL", Entered: len(mql), Reached: len(either), Skipped: len(either) - len(mql)}, stages.Stages[0])
	assert.Equal(t, len(sql), stages.Conversions[0].Converted)
	// Golden paths: the top pattern's supports by a subsequence scan of
	// the collapsed paths.
	collapse := func(p []string) []string {
		var out []string
		for i, it := range p {
			if i == 0 || it != p[i-1] {
				out = append(out, it)
			}
		}
		return out
	}
	support := func(seqs [][]string, pat []string) int {
		n := 0
		for _, s := range seqs {
			i := 0
			for _, it := range collapse(s) {
				if i < len(pat) && it == pat[i] {
					i++
				}
			}
			if i == len(pat) {
				n++
			}
		}
		return n
	}
	top := paths[0]
	assert.Equal(t, support(conv, top.Items), top.Converted)
	assert.Equal(t, support(other, top.Items), top.Other)
	base := float64(len(conv)) / float64(len(conv)+len(other))
	assert.InDelta(t, float64(top.Converted)/float64(top.Converted+top.Other)/base, top.Lift, 1e-12)

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
