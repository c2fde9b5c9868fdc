package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit/attribution"
	lkbeam "github.com/leadkit/leadkit/beam"
)

// The pipeline runs on Prism in this process, as `go run` does.
func TestMain(m *testing.M) { ptest.MainWithDefault(m, "prism") }

// TestExample runs the example on a small simulated business and checks
// what it found and wrote: both results equal to the in-memory ones, the
// two malformed lines as dead letters with their file, line and reason,
// and the printed report saying so.
func TestExample(t *testing.T) {
	in, out := t.TempDir(), t.TempDir()
	require.NoError(t, simulate(in, 300, 2))
	var buf bytes.Buffer
	rep, err := run(context.Background(), config{In: filepath.Join(in, "*.jsonl"), Out: out, Tenant: "acme"}, &buf)
	require.NoError(t, err)
	t.Log("\n" + buf.String())

	assert.True(t, rep.FunnelEqual, "funnel")
	assert.True(t, rep.MarkovEqual, "markov")
	assert.Greater(t, rep.Events, 1000)
	assert.Equal(t, 2, rep.RejectedLines)
	assert.Contains(t, buf.String(), "journey funnel: equal")
	assert.Contains(t, buf.String(), "markov attribution (conversions credited): equal")

	var dead []lkbeam.RejectedLine
	for _, l := range lines(filepath.Join(out, "rejected_lines.jsonl")) {
		var r lkbeam.RejectedLine
		require.NoError(t, json.Unmarshal([]byte(l), &r))
		dead = append(dead, r)
	}
	require.Len(t, dead, 2)
	assert.Equal(t, filepath.Join(in, "events-0.jsonl"), dead[0].File)
	assert.Equal(t, []int64{1, 3}, []int64{dead[0].Line, dead[1].Line}, "the blank line is skipped, and counted")
	assert.Contains(t, dead[0].Reason, "not a JSON event")
	assert.Contains(t, dead[1].Reason, "missing time")

	var f lkbeam.TenantFunnel
	require.Len(t, lines(filepath.Join(out, "funnel.jsonl")), 1)
	require.NoError(t, json.Unmarshal([]byte(lines(filepath.Join(out, "funnel.jsonl"))[0]), &f))
	assert.Equal(t, "acme", f.Tenant)
	assert.Equal(t, 300, f.Result.Leads)
	var m attribution.Result
	require.Len(t, lines(filepath.Join(out, "markov.jsonl")), 1)
	require.NoError(t, json.Unmarshal([]byte(lines(filepath.Join(out, "markov.jsonl"))[0]), &m))
	assert.Greater(t, m.TotalConversions(), 0.0)

	// The other dead letters are empty files: every stage wrote its own.
	for _, name := range []string{"rejected_events.jsonl", "rejected_timelines.jsonl", "uncut_timelines.jsonl", "rejected_paths.jsonl"} {
		b, err := os.ReadFile(filepath.Join(out, name))
		require.NoError(t, err, name)
		assert.Empty(t, strings.TrimSpace(string(b)), name)
	}
}
