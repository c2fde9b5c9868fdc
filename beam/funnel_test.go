package beam_test

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/local"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/textio"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	lkbeam "github.com/leadkit/leadkit/beam"
	"github.com/leadkit/leadkit/sim"
	"github.com/leadkit/leadkit/stage"
)

// The tests run their pipelines on the Prism runner, started in this
// process (its job service on a loopback port, the SDK harness in
// loopback mode); -runner picks another.
func TestMain(m *testing.M) { ptest.MainWithDefault(m, "prism") }

func init() {
	register.Function1x2(resultJSON)
	register.Function1x2(rejectedJSON)
}

func resultJSON(r stage.FunnelResult) (string, error) {
	b, err := json.Marshal(r)
	return string(b), err
}

func rejectedJSON(r lkbeam.Rejected) (string, error) {
	b, err := json.Marshal(r)
	return string(b), err
}

// simVisits returns the stage visits of the simulated business of leads
// leads (seed 1), as stage's benchmarks make them: each lead's Raw visit
// at its creation, then one visit per stage change, the person who made
// the change owning the visit it ended.
func simVisits(t *testing.T, leads int) []stage.Visit {
	t.Helper()
	s, err := sim.New(sim.Config{Seed: 1, Leads: leads})
	require.NoError(t, err)
	index := map[string]int{}
	var byLead [][]stage.Visit
	for r := range s.Records() {
		switch r.Kind {
		case sim.KindLead:
			index[r.Lead.ID] = len(byLead)
			byLead = append(byLead, []stage.Visit{{LeadID: r.Lead.ID, Stage: sim.StageRaw, At: r.Time}})
		case sim.KindStage:
			c := r.Stage
			i, ok := index[c.LeadID]
			require.True(t, ok, "stage change of lead %q before its creation", c.LeadID)
			byLead[i][len(byLead[i])-1].Owner = c.Actor
			byLead[i] = append(byLead[i], stage.Visit{LeadID: c.LeadID, Stage: c.To, At: c.At})
		}
	}
	var out []stage.Visit
	for _, vs := range byLead {
		out = append(out, vs...)
	}
	return out
}

// TestStageFunnelOnPrism runs StageFunnel on Prism over a simulated
// business with a few malformed visits mixed in, the visits shuffled and
// split over several sources, and checks the result against stage.Funnel
// over the same visits in one process, byte for byte as JSON, and the
// malformed visits in the dead-letter output.
func TestStageFunnelOnPrism(t *testing.T) {
	visits := simVisits(t, 2000)
	require.Greater(t, len(visits), 3000)
	bad := []stage.Visit{
		{LeadID: "", Stage: sim.StageMQL, At: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)},
		{LeadID: visits[0].LeadID, Stage: "", At: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)},
		{LeadID: visits[0].LeadID, Stage: sim.StageSQL},
	}
	m, err := stage.New(stage.Classic(), stage.Options{})
	require.NoError(t, err)
	cases := []struct {
		name    string
		spec    stage.FunnelSpec
		sources int
		fanout  int
	}{
		{"classic, one source, fanout 1", m.FunnelSpec(stage.FunnelOptions{}), 1, 1},
		{"monthly cohorts by owner, 8 sources, fanout 16", m.FunnelSpec(stage.FunnelOptions{
			Cohort: leadkit.PeriodMonth, ByOwner: true, Now: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)}), 8, 16},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			all := append(append([]stage.Visit{}, visits...), bad...)
			want, err := stage.Funnel(c.spec, all)
			require.Error(t, err, "stage.Funnel skips and reports the malformed visits")
			assert.Len(t, strings.Split(err.Error(), "\n"), len(bad))
			wantJSON, err := json.Marshal(want)
			require.NoError(t, err)
			require.NotEmpty(t, want.Conversions)
			require.Equal(t, 2000, want.Stages[0].Reached)

			// Shuffled, then dealt round-robin over the sources: a lead's
			// visits arrive out of order, from several sources.
			rand.New(rand.NewPCG(7, uint64(c.sources))).Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
			dir := t.TempDir()
			p, s := beam.NewPipelineWithRoot()
			var sources []beam.PCollection
			for k := range c.sources {
				var part []stage.Visit
				for i := k; i < len(all); i += c.sources {
					part = append(part, all[i])
				}
				sources = append(sources, beam.CreateList(s, part))
			}
			result, rejected, err := lkbeam.StageFunnel(s, c.spec, beam.Flatten(s, sources...), lkbeam.FunnelOptions{Fanout: c.fanout})
			require.NoError(t, err)
			textio.Write(s, filepath.Join(dir, "result.json"), beam.ParDo(s, resultJSON, result))
			textio.Write(s, filepath.Join(dir, "rejected.jsonl"), beam.ParDo(s, rejectedJSON, rejected))
			start := time.Now()
			require.NoError(t, ptest.Run(p))
			t.Logf("pipeline of %d visits ran in %s", len(all), time.Since(start).Round(time.Millisecond))

			got, err := os.ReadFile(filepath.Join(dir, "result.json"))
			require.NoError(t, err)
			assert.Equal(t, string(wantJSON)+"\n", string(got), "one result, the in-memory one byte for byte")

			lines, err := os.ReadFile(filepath.Join(dir, "rejected.jsonl"))
			require.NoError(t, err)
			var dead []lkbeam.Rejected
			for _, line := range strings.Split(strings.TrimSpace(string(lines)), "\n") {
				var r lkbeam.Rejected
				require.NoError(t, json.Unmarshal([]byte(line), &r))
				dead = append(dead, r)
			}
			require.Len(t, dead, len(bad))
			sort.Slice(dead, func(i, j int) bool { return dead[i].Reason < dead[j].Reason })
			for _, r := range dead {
				assert.Contains(t, bad, r.Visit)
				assert.True(t, strings.HasPrefix(r.Reason, "stage: visit (lead "), r.Reason)
				assert.Contains(t, r.Reason, leadkit.ErrInvalid.Error())
			}
		})
	}
}

// TestStageFunnelRefusesBadSpec: a spec stage.NewFunnel refuses is an
// error when the pipeline is built, before anything runs.
func TestStageFunnelRefusesBadSpec(t *testing.T) {
	_, s := beam.NewPipelineWithRoot()
	visits := beam.CreateList(s, []stage.Visit{{LeadID: "a", Stage: "MQL", At: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)}})
	_, _, err := lkbeam.StageFunnel(s, stage.FunnelSpec{Stages: []string{"MQL"}}, visits, lkbeam.FunnelOptions{})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.Contains(t, err.Error(), "at least two stages")
}
