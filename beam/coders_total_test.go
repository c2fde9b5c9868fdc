package beam

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/journey"
	"github.com/leadkit/leadkit/pool"
)

type label string

type score float64

// oddValues are attribute values a Go program may put in an event or a
// custom field, valid or not: the coders must carry each, and what
// validation says of it must not change across a stage boundary.
func oddValues() map[string]any {
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	s := "x"
	shared := []any{"a"}
	for range 40 {
		shared = []any{shared, shared}
	}
	return map[string]any{
		"wide shared":        sharedWide(),
		"raw big number":     json.RawMessage("1e400"),
		"raw number":         json.RawMessage("1"),
		"bytes":              []byte("hi"),
		"map of ints":        map[string]int{"a": 1},
		"ints":               []int{1, 2},
		"named string":       label("vip"),
		"named number":       score(2.5),
		"pointer":            &s,
		"struct":             struct{ A int }{1},
		"empty struct":       struct{}{},
		"chan":               make(chan int),
		"func":               func() {},
		"nan":                math.NaN(),
		"infinity":           math.Inf(1),
		"big int":            int64(1) << 60,
		"json number":        json.Number("12.5"),
		"bad json number":    json.Number("1e400"),
		"not a json number":  json.Number("x"),
		"invalid text":       "\xff",
		"nul":                "a\x00b",
		"text":               "ok",
		"time":               at,
		"time with seconds":  at.In(time.FixedZone("odd", 30)),
		"far time":           time.Date(12000, 1, 1, 0, 0, 0, 0, time.UTC),
		"nil map":            map[string]any(nil),
		"list with bytes":    []any{"a", []byte("b")},
		"map with chan":      map[string]any{"c": make(chan int)},
		"strings":            []string{"a", "\xff"},
		"string map":         map[string]string{"a": "b"},
		"deep":               map[string]any{"a": map[string]any{"b": map[string]any{"c": map[string]any{"d": map[string]any{"e": 1.0}}}}},
		"shared":             shared,
		"nil":                nil,
		"bool":               true,
		"float32":            float32(1.5),
		"uint8":              uint8(7),
		"list of 1001 items": make([]any, leadkit.MaxListItems+1),
	}
}

// verdict is what validation says: "" for valid.
func verdict(err error) string {
	if err == nil {
		return ""
	}
	return "refused"
}

// Every odd value, as an event attribute, a lead's and a company's
// custom field and a prospect's: the coders encode it without an error,
// decode it, and validation says of what comes back what it said of what
// went in.
func TestCodersCarryAnyValue(t *testing.T) {
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	for name, v := range oddValues() {
		t.Run(name, func(t *testing.T) {
			e := leadkit.Event{ID: "e", LeadID: "l", Type: "t", Time: at, Attrs: map[string]any{"x": v, "ok": 1.0}}
			b, err := encodeEvent(e)
			require.NoError(t, err, "encode event")
			got, err := decodeEvent(b)
			require.NoError(t, err, "decode event")
			assert.Equal(t, verdict(e.Validate()), verdict(got.Validate()), "event: %v, then %v", e.Validate(), got.Validate())

			tb, err := encodeTimeline(journey.Timeline{LeadID: "l", Events: []leadkit.Event{e}})
			require.NoError(t, err, "encode timeline")
			tl, err := decodeTimeline(tb)
			require.NoError(t, err, "decode timeline")
			require.Len(t, tl.Events, 1)
			assert.Equal(t, verdict(e.Validate()), verdict(tl.Events[0].Validate()))

			jb, err := encodeTenantJourney(TenantJourney{Tenant: "acme", Journey: journey.LeadJourney{Timeline: journey.Timeline{LeadID: "l", Events: []leadkit.Event{e}}}})
			require.NoError(t, err, "encode journey")
			j, err := decodeTenantJourney(jb)
			require.NoError(t, err, "decode journey")
			require.Len(t, j.Journey.Events, 1)
			assert.Equal(t, verdict(e.Validate()), verdict(j.Journey.Events[0].Validate()))

			rb, err := encodeRejectedEvent(RejectedEvent{Tenant: "acme", Event: e, Reason: "r"})
			require.NoError(t, err, "encode dead letter")
			r, err := decodeRejectedEvent(rb)
			require.NoError(t, err, "decode dead letter")
			assert.Equal(t, e.ID, r.Event.ID)

			l := leadkit.Lead{ID: "l", Person: leadkit.Person{Custom: map[string]any{"x": v}}, Company: leadkit.Company{Custom: map[string]any{"y": v}}}
			lb, err := encodeLead(l)
			require.NoError(t, err, "encode lead")
			gl, err := decodeLead(lb)
			require.NoError(t, err, "decode lead")
			assert.Equal(t, verdict(l.Validate()), verdict(gl.Validate()), "lead: %v, then %v", l.Validate(), gl.Validate())

			p := pool.Prospect{ID: "p", Company: leadkit.Company{Custom: map[string]any{"y": v}}}
			pb, err := encodeProspect(p)
			require.NoError(t, err, "encode prospect")
			_, err = decodeProspect(pb)
			require.NoError(t, err, "decode prospect")
		})
	}
}

// A self-referencing attribute map is refused by validation (nested too
// deep); the coder carries it cut at that depth, never recursing without
// end (gob once overflowed the stack: a crash, not an error the pipeline
// can send to its dead letter). Run in a child process.
func TestCodersCutCycles(t *testing.T) {
	m := map[string]any{}
	m["self"] = m
	l := []any{nil}
	l[0] = l
	e := leadkit.Event{ID: "c", LeadID: "l", Type: "t", Time: verifyCapAt, Attrs: map[string]any{"m": m, "l": l}}
	if os.Getenv("LEADKIT_BEAM_CYCLE") == "1" {
		b, err := encodeEvent(e)
		if err != nil {
			fmt.Println("encode:", err)
			os.Exit(3)
		}
		got, err := decodeEvent(b)
		if err != nil || got.Validate() == nil {
			fmt.Println("decode:", err, "or valid")
			os.Exit(4)
		}
		return
	}
	require.Error(t, e.Validate())
	cmd := exec.Command(os.Args[0], "-test.run=^TestCodersCutCycles$")
	cmd.Env = append(os.Environ(), "LEADKIT_BEAM_CYCLE=1")
	out, err := cmd.CombinedOutput()
	assert.NoError(t, err, "encoding a cyclic attribute must neither fail nor crash: %.300s", out)
}
