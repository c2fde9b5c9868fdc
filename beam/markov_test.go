package beam_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/textio"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/attribution"
	lkbeam "github.com/leadkit/leadkit/beam"
	"github.com/leadkit/leadkit/sim"
)

func init() {
	register.Function1x2(markovResultJSON)
	register.Function1x1(rejectedPathLine)
}

func markovResultJSON(r attribution.Result) (string, error) {
	b, err := json.Marshal(r)
	return string(b), err
}

// rejectedPathLine renders a dead letter as text: its counts may be NaN,
// which JSON cannot carry.
func rejectedPathLine(r lkbeam.RejectedPath) string {
	return pathLine(r.Path) + "\t" + r.Reason
}

func pathLine(p attribution.Path) string {
	return fmt.Sprintf("%q %g %g %g", p.Channels, p.Conversions, p.Value, p.Nulls)
}

// simPaths returns the path table of the simulated business of leads
// leads (seed 1), as sim writes it and attribution reads it.
func simPaths(t *testing.T, leads int) []attribution.Path {
	t.Helper()
	s, err := sim.New(sim.Config{Seed: 1, Leads: leads})
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, s.WritePaths(&buf))
	paths, err := attribution.ReadPaths(&buf, attribution.CSVOptions{})
	require.NoError(t, err)
	return paths
}

// TestMarkovAttributionOnPrism runs MarkovAttribution on Prism over the
// paths of a simulated business with a few malformed paths mixed in, the
// paths shuffled and split over several sources, and checks the result
// against MarkovCounts over the same paths in one process, byte for byte
// as JSON (both numbered canonically: see MarkovAttribution), and the
// malformed paths in the dead-letter output.
func TestMarkovAttributionOnPrism(t *testing.T) {
	paths := simPaths(t, 2000)
	require.Greater(t, len(paths), 500)
	bad := []attribution.Path{
		{Channels: nil, Conversions: 1},
		{Channels: []string{"email", ""}, Nulls: 1},
		{Channels: []string{"email"}, Nulls: -1},
		{Channels: []string{"web\x00"}, Conversions: 1},
		{Channels: []string{"email"}, Value: 5},
		{Channels: []string{"email"}, Conversions: math.NaN()},
	}
	cases := []struct {
		name    string
		model   attribution.Markov
		sources int
		fanout  int
	}{
		{"order 1, one source, fanout 1", attribution.Markov{}, 1, 1},
		{"order 2, 8 sources, fanout 16", attribution.Markov{Order: 2}, 8, 16},
		{"order 3 keeping repeats, 3 sources, fanout 5", attribution.Markov{Order: 3, KeepRepeats: true}, 3, 5},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// The in-memory result: the library's counts over the paths in
			// one pass, numbered by name through their encoding (a solve
			// in another numbering differs in the last bits; that one is
			// checked to be within rounding).
			counts, err := attribution.NewMarkovCounts(c.model)
			require.NoError(t, err)
			require.NoError(t, counts.AddPaths(paths))
			enc, err := counts.MarshalBinary()
			require.NoError(t, err)
			var canonical attribution.MarkovCounts
			require.NoError(t, canonical.UnmarshalBinary(enc))
			want, err := canonical.Result()
			require.NoError(t, err)
			require.NotEmpty(t, want.Conversions)
			wantJSON, err := json.Marshal(want)
			require.NoError(t, err)
			direct, err := c.model.Attribute(paths)
			require.NoError(t, err)
			assert.InDelta(t, direct.ConversionProbability, want.ConversionProbability, 1e-12)
			for ch, v := range direct.Conversions {
				assert.InEpsilon(t, v, want.Conversions[ch], 1e-12, ch)
				assert.InEpsilon(t, direct.Value[ch], want.Value[ch], 1e-12, ch)
			}

			all := append(append([]attribution.Path{}, paths...), bad...)
			rand.New(rand.NewPCG(11, uint64(c.sources))).Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
			dir := t.TempDir()
			p, s := beam.NewPipelineWithRoot()
			var sources []beam.PCollection
			for k := range c.sources {
				var part []attribution.Path
				for i := k; i < len(all); i += c.sources {
					part = append(part, all[i])
				}
				sources = append(sources, beam.CreateList(s, part))
			}
			result, rejected, err := lkbeam.MarkovAttribution(s, c.model, beam.Flatten(s, sources...), lkbeam.MarkovOptions{Fanout: c.fanout})
			require.NoError(t, err)
			textio.Write(s, filepath.Join(dir, "result.json"), beam.ParDo(s, markovResultJSON, result))
			textio.Write(s, filepath.Join(dir, "rejected.txt"), beam.ParDo(s, rejectedPathLine, rejected))
			start := time.Now()
			require.NoError(t, ptest.Run(p))
			t.Logf("pipeline of %d paths ran in %s", len(all), time.Since(start).Round(time.Millisecond))

			got, err := os.ReadFile(filepath.Join(dir, "result.json"))
			require.NoError(t, err)
			assert.Equal(t, string(wantJSON)+"\n", string(got), "one result, the in-memory one byte for byte")

			lines, err := os.ReadFile(filepath.Join(dir, "rejected.txt"))
			require.NoError(t, err)
			dead := strings.Split(strings.TrimSpace(string(lines)), "\n")
			require.Len(t, dead, len(bad))
			var wantDead []string
			for _, b := range bad {
				wantDead = append(wantDead, pathLine(b))
			}
			var gotDead []string
			for _, line := range dead {
				path, reason, ok := strings.Cut(line, "\t")
				require.True(t, ok, line)
				gotDead = append(gotDead, path)
				assert.True(t, strings.HasPrefix(reason, "attribution: path 0: "), reason)
			}
			slices.Sort(wantDead)
			slices.Sort(gotDead)
			assert.Equal(t, wantDead, gotDead)
		})
	}
}

// TestMarkovAttributionRefusesBadModel: a model attribution.Markov
// refuses is an error when the pipeline is built, before anything runs.
func TestMarkovAttributionRefusesBadModel(t *testing.T) {
	_, s := beam.NewPipelineWithRoot()
	paths := beam.CreateList(s, []attribution.Path{{Channels: []string{"email"}, Conversions: 1}})
	_, _, err := lkbeam.MarkovAttribution(s, attribution.Markov{Order: attribution.MaxMarkovOrder + 1}, paths, lkbeam.MarkovOptions{})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.Contains(t, err.Error(), "order 11")
}
