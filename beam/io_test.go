package beam_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/x/beamx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	lkbeam "github.com/leadkit/leadkit/beam"
	"github.com/leadkit/leadkit/sim"
)

// jsonLines marshals each value, one line each, sorted: what WriteJSON
// writes for them.
func jsonLines[T any](t *testing.T, vs []T) []string {
	t.Helper()
	var out []string
	for _, v := range vs {
		b, err := json.Marshal(v)
		require.NoError(t, err)
		out = append(out, string(b))
	}
	slices.Sort(out)
	return out
}

// fileLines reads a file WriteJSON wrote, as its lines (nil when empty),
// checking that it ends in a newline.
func fileLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	if len(b) == 0 {
		return nil
	}
	require.True(t, bytes.HasSuffix(b, []byte("\n")), "%s ends in a newline", path)
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// TestReadEventsOnPrism writes the events of a simulated business as
// JSON lines into three files (one gzipped, one with CRLF line ends and
// no newline at the end) with malformed lines mixed in, reads them with
// ReadEvents on Prism, and checks that the events are the simulated ones
// (as JSON gives them back) and the dead letters exactly the malformed
// lines, by file, line and reason; both outputs are written with
// WriteJSON, sorted, and an empty output is an empty file.
func TestReadEventsOnPrism(t *testing.T) {
	s0, err := sim.New(sim.Config{Seed: 1, Leads: 300})
	require.NoError(t, err)
	events := slices.Collect(s0.Events())
	require.Greater(t, len(events), 1000)

	// What the events are after JSON: numbers float64, times UTC.
	var want []leadkit.Event
	for _, e := range events {
		b, err := json.Marshal(e)
		require.NoError(t, err)
		var back leadkit.Event
		require.NoError(t, json.Unmarshal(b, &back))
		want = append(want, back)
	}

	dir := t.TempDir()
	type badLine struct {
		file   string
		line   int64
		text   string
		reason string
	}
	huge := `{"id":"huge","lead_id":"l","type":"download","time":"2026-03-01T00:00:00Z","content":"` + strings.Repeat("x", lkbeam.MaxLineBytes) + `"}`
	bad := []badLine{
		{"a.jsonl", 2, `not json`, "leadkit: invalid input: not a JSON event: invalid character 'o' in literal null (expecting 'u')"},
		{"a.jsonl", 5, `{"id":"e","lead_id":"l","type":"t","time":"2026-03-01T00:00:00Z","chanel":"web"}`, `leadkit: invalid input: not a JSON event: json: unknown field "chanel"`},
		{"a.jsonl", 6, `{"id":"e","lead_id":"l","type":"t","time":"2026-03-01T00:00:00Z"} {}`, "leadkit: invalid input: data after the event"},
		{"b.jsonl.gz", 1, `{"id":"no-lead","type":"download","time":"2026-03-01T00:00:00Z"}`, `leadkit: invalid input: event "no-lead": missing lead_id`},
		{"b.jsonl.gz", 3, huge, fmt.Sprintf("leadkit: invalid input: line of %d bytes, over the limit of %d", len(huge), lkbeam.MaxLineBytes)},
		{"c.jsonl", 4, `{"id":"old","lead_id":"l","type":"t","time":"1066-10-14T00:00:00Z"}`, `leadkit: invalid input: event "old": time 1066-10-14T00:00:00Z is outside`},
	}
	// Three files: the events dealt round-robin, the bad lines and blank
	// ones put at their line numbers.
	files := map[string][]string{}
	at := func(name string, n int64, text string) {
		for int64(len(files[name])) < n-1 {
			files[name] = append(files[name], "")
		}
		files[name] = append(files[name], text)
	}
	placed := append([]badLine{{file: "a.jsonl", line: 3}, {file: "a.jsonl", line: 4, text: " \t "}}, bad...)
	slices.SortFunc(placed, func(a, b badLine) int { return int(a.line - b.line) })
	for _, b := range placed {
		at(b.file, b.line, b.text)
	}
	names := []string{"a.jsonl", "b.jsonl.gz", "c.jsonl"}
	for i, e := range events {
		b, err := json.Marshal(e)
		require.NoError(t, err)
		files[names[i%3]] = append(files[names[i%3]], string(b))
	}
	for name, lines := range files {
		var data []byte
		switch name {
		case "c.jsonl":
			data = []byte(strings.Join(lines, "\r\n")) // no end of line at the end
		default:
			data = []byte(strings.Join(lines, "\n") + "\n")
		}
		if strings.HasSuffix(name, ".gz") {
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			_, err := zw.Write(data)
			require.NoError(t, err)
			require.NoError(t, zw.Close())
			data = buf.Bytes()
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), data, 0o644))
	}

	out := t.TempDir()
	p, s := beam.NewPipelineWithRoot()
	got, rejected := lkbeam.ReadEvents(s, filepath.Join(dir, "*.jsonl*"))
	lkbeam.WriteJSON(s, filepath.Join(out, "events.jsonl"), got)
	lkbeam.WriteJSON(s, filepath.Join(out, "rejected.jsonl"), rejected)
	_, deadEvents, err := lkbeam.Timelines(s, "acme", got)
	require.NoError(t, err)
	lkbeam.WriteJSON(s, filepath.Join(out, "dead-events.jsonl"), deadEvents)
	start := time.Now()
	require.NoError(t, ptest.Run(p))
	t.Logf("pipeline of %d lines ran in %s", len(events)+len(bad)+2, time.Since(start).Round(time.Millisecond))

	assert.Equal(t, jsonLines(t, want), fileLines(t, filepath.Join(out, "events.jsonl")), "every event once, sorted")
	assert.Empty(t, fileLines(t, filepath.Join(out, "dead-events.jsonl")), "an empty output is an empty file")

	var dead []lkbeam.RejectedLine
	for _, l := range fileLines(t, filepath.Join(out, "rejected.jsonl")) {
		var r lkbeam.RejectedLine
		require.NoError(t, json.Unmarshal([]byte(l), &r))
		dead = append(dead, r)
	}
	require.Len(t, dead, len(bad))
	slices.SortFunc(dead, func(a, b lkbeam.RejectedLine) int {
		return strings.Compare(fmt.Sprintf("%s %04d", a.File, a.Line), fmt.Sprintf("%s %04d", b.File, b.Line))
	})
	for i, b := range bad {
		r := dead[i]
		assert.Equal(t, filepath.Join(dir, b.file), r.File)
		assert.Equal(t, b.line, r.Line, "%s", b.file)
		assert.True(t, strings.HasPrefix(r.Reason, b.reason), "%s:%d: %s", b.file, b.line, r.Reason)
		assert.Equal(t, b.text[:min(len(b.text), 256)], r.Text)
	}
}

// TestScanEventLines checks the line reader on its edges with a small
// cap: a line exactly at the cap (with and without its newline), one
// byte over, lines longer than the reader's buffer, blank lines and their
// numbers, CRLF.
func TestScanEventLines(t *testing.T) {
	ev := func(id string) string {
		return `{"id":"` + id + `","lead_id":"l","type":"t","time":"2026-03-01T00:00:00Z"}`
	}
	// An event line of n bytes: an event, then spaces (JSON allows them).
	pad := func(n int) string { return ev("e") + strings.Repeat(" ", n-len(ev("e"))) }
	type result struct {
		ids  []string
		dead []int64
	}
	scan := func(input string, max int) result {
		var r result
		err := lkbeam.ScanEventLines(strings.NewReader(input), "f", max, func(e leadkit.Event) error {
			r.ids = append(r.ids, e.ID)
			return nil
		}, func(rl lkbeam.RejectedLine) error {
			assert.Equal(t, "f", rl.File)
			assert.LessOrEqual(t, len(rl.Text), 256)
			r.dead = append(r.dead, rl.Line)
			return nil
		})
		require.NoError(t, err)
		return r
	}
	at100 := pad(100)
	cases := []struct {
		name  string
		input string
		max   int
		ids   int
		dead  []int64
	}{
		{"empty", "", 100, 0, nil},
		{"blank lines only", "\n \n\r\n\t", 100, 0, nil},
		{"at the cap, newline", at100 + "\n", 100, 1, nil},
		{"at the cap, no newline", at100, 100, 1, nil},
		{"at the cap, CRLF: the CR counts", at100 + "\r\n" + at100, 100, 1, []int64{1}},
		{"one over, newline", pad(101) + "\n" + at100 + "\n", 100, 1, []int64{1}},
		{"one over, no newline", at100 + "\n" + pad(101), 100, 1, []int64{2}},
		{"longer than the buffer", pad(200<<10) + "\n\n" + at100, 100, 1, []int64{1}},
		{"longer than the buffer, within the cap", pad(200<<10) + "\n\n" + pad(300<<10), 0, 2, nil},
		{"numbers count blank lines", "\n\n{\n\n" + at100 + "\n}", 100, 1, []int64{3, 6}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := scan(c.input, c.max)
			assert.Len(t, r.ids, c.ids)
			assert.Equal(t, c.dead, r.dead)
		})
	}

	// A callback's error stops the scan and is returned.
	stop := fmt.Errorf("stop")
	err := lkbeam.ScanEventLines(strings.NewReader(at100+"\n"+at100), "f", 0, func(leadkit.Event) error { return stop }, nil)
	assert.ErrorIs(t, err, stop)
}

// FuzzScanEventLines: on any input, the reader reports every line once at
// most, in order, events that pass Validate, dead letters with a reason
// and at most 256 bytes of text, and never more lines than the input has.
func FuzzScanEventLines(f *testing.F) {
	f.Add([]byte(`{"id":"e","lead_id":"l","type":"t","time":"2026-03-01T00:00:00Z"}`+"\n\nnot json\r\n{}"), 80)
	f.Add([]byte("\n\n\n"), 1)
	f.Add([]byte(`{"id":"e","lead_id":"l","type":"t","time":"2026-03-01T00:00:00Z","attrs":{"a":[1,"x",{"b":null}]}} {}`), 0)
	f.Fuzz(func(t *testing.T, data []byte, max int) {
		max = max % 512
		var last int64
		lines := int64(bytes.Count(data, []byte("\n")) + 1)
		err := lkbeam.ScanEventLines(bytes.NewReader(data), "f", max, func(e leadkit.Event) error {
			require.NoError(t, e.Validate())
			return nil
		}, func(r lkbeam.RejectedLine) error {
			require.Greater(t, r.Line, last)
			require.LessOrEqual(t, r.Line, lines)
			require.NotEmpty(t, r.Reason)
			require.LessOrEqual(t, len(r.Text), 256*3) // invalid bytes become U+FFFD
			last = r.Line
			return nil
		})
		require.NoError(t, err)
	})
}

// ExampleReadEvents reads a file of JSON-lines events, one of them
// malformed, makes the tenant's timelines and writes them and the dead
// letter as JSON lines. The pipeline runs on Prism, in this process.
func ExampleReadEvents() {
	dir, _ := os.MkdirTemp("", "leadkit-beam")
	defer os.RemoveAll(dir)
	os.WriteFile(filepath.Join(dir, "events.jsonl"), []byte(`{"id":"e2","lead_id":"l1","type":"form_submitted","time":"2026-03-02T10:00:00Z"}
{"id":"e1","lead_id":"l1","type":"download","channel":"web","time":"2026-03-01T09:00:00+01:00"}

{"id":"e3","lead_id":"l2","type":"page_view"
`), 0o644)

	p, s := beam.NewPipelineWithRoot()
	events, rejected := lkbeam.ReadEvents(s, filepath.Join(dir, "*.jsonl"))
	timelines, _, err := lkbeam.Timelines(s, "acme", events)
	if err != nil {
		panic(err)
	}
	lkbeam.WriteJSON(s, filepath.Join(dir, "timelines.jsonl"), timelines)
	lkbeam.WriteJSON(s, filepath.Join(dir, "rejected.jsonl"), beam.ParDo(s, lineOfRejected, rejected))
	if err := beamx.Run(context.Background(), p); err != nil {
		panic(err)
	}
	for _, name := range []string{"timelines.jsonl", "rejected.jsonl"} {
		b, _ := os.ReadFile(filepath.Join(dir, name))
		fmt.Print(string(b))
	}
	// Output:
	// {"tenant":"acme","timeline":{"lead_id":"l1","events":[{"id":"e1","lead_id":"l1","type":"download","channel":"web","time":"2026-03-01T08:00:00Z"},{"id":"e2","lead_id":"l1","type":"form_submitted","time":"2026-03-02T10:00:00Z"}]}}
	// {"line":4,"reason":"leadkit: invalid input: not a JSON event: unexpected EOF"}
}

// lineOfRejected keeps a dead letter's line number and reason (its file
// is in a temporary directory).
func lineOfRejected(r lkbeam.RejectedLine) lineReason {
	return lineReason{Line: r.Line, Reason: r.Reason}
}

type lineReason struct {
	Line   int64  `json:"line"`
	Reason string `json:"reason"`
}

func init() {
	register.Function1x1(lineOfRejected)
	beam.RegisterType(reflect.TypeFor[lineReason]())
}
